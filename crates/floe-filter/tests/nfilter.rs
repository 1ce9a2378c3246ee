//! flow-tools filter files, unchanged: the how-to's nfilter.conf from the
//! shared examples, and a file using every other primitive type.

use std::collections::HashMap;
use std::path::Path;

use floe_filter::{Filter, FilterFile};
use floe_flow::time::utc_ms;
use floe_flow::Flow;

fn flow(src: &str, dst: &str, dport: u16) -> Flow {
    Flow {
        src_addr: src.parse().unwrap(),
        dst_addr: dst.parse().unwrap(),
        dst_port: dport,
        protocol: 6,
        ..Flow::default()
    }
}

#[test]
fn the_how_to_filter_file_runs_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/examples/flow-tools/nfilter.conf");
    if !path.exists() {
        floe_test_support::skip("no ../shared/examples/flow-tools beside the checkout");
        return;
    }
    let ff = FilterFile::load(&path, &HashMap::new(), 0).unwrap();
    assert_eq!(
        ff.definitions().collect::<Vec<_>>(),
        ["intif-src", "intif-dst", "intif-src-popular", "intif-ip1"]
    );
    let f = |d: &str| Filter::from_expr(ff.compile(d).unwrap());
    let inside_web = flow("192.168.0.10", "203.0.113.9", 443);
    let inside_odd = flow("192.168.0.77", "203.0.113.9", 6667);
    let outside = flow("203.0.113.9", "192.168.0.10", 22);
    assert!(f("intif-src").matches(&inside_web) && f("intif-src").matches(&inside_odd));
    assert!(!f("intif-src").matches(&outside));
    assert!(f("intif-dst").matches(&outside) && !f("intif-dst").matches(&inside_web));
    assert!(f("intif-src-popular").matches(&inside_web));
    assert!(
        !f("intif-src-popular").matches(&inside_odd),
        "6667 is not a popular port"
    );
    assert!(!f("intif-src-popular").matches(&outside));
    assert!(f("intif-ip1").matches(&inside_web) && !f("intif-ip1").matches(&inside_odd));
    for d in ff.definitions() {
        // Each compiles to an expression that prints and parses back.
        let e = f(d);
        assert_eq!(Filter::parse(&e.to_string()).unwrap(), e, "{d}");
    }
}

const FILE: &str = r#"
# every other primitive type
filter-primitive web
  type ip-port
  permit 80,443
  permit 8000-8999
filter-primitive not-dns
  type ip-port
  deny 53
  default permit
filter-primitive tcp
  type ip-protocol
  permit tcp
filter-primitive syn-only
  type ip-tcp-flags
  mask 0x12
  permit 0x02
filter-primitive ef
  type ip-tos
  mask 0xfc
  permit 0xb8
filter-primitive big
  type counter
  permit gt @{MIN:-1000000}
filter-primitive google
  type as
  permit 15169
filter-primitive nets
  type ip-address-prefix
  deny 10.1.2.0/24
  permit 10.0.0.0/8
filter-primitive hosts
  type ip-address-mask
  permit 198.51.100.0 255.255.255.0
filter-primitive uplink
  type ifindex
  permit 2
filter-primitive recent
  type time-date
  permit gt 600 seconds ago
filter-primitive fast
  type rate
  permit gt 1000000

filter-definition web-or-big
  match ip-destination-port web
  match ip-protocol tcp
  or
  match octets big
filter-definition no-dns
  match ip-destination-port not-dns
filter-definition scans
  match ip-tcp-flags syn-only
filter-definition voice
  match ip-tos ef
filter-definition ours
  match ip-source-address nets
filter-definition not-ours
  match ip-source-address nets
  invert
filter-definition to-google
  match destination-as google
  match dst-ip-addr hosts
  match output-interface uplink
filter-definition fresh
  match start-time recent
filter-definition quick
  match bps fast
"#;

#[test]
fn every_primitive_type_and_or_invert_default_deny_mask_and_variables() {
    let now = utc_ms(2026, 11, 22, 12, 0, 0);
    let ff = FilterFile::parse(FILE, "test.cfg", &HashMap::new(), now).unwrap();
    let m = |d: &str, f: &Flow| Filter::from_expr(ff.compile(d).unwrap()).matches(f);
    let mut f = flow("10.9.9.9", "198.51.100.7", 8080);
    f.octets = 10;
    assert!(m("web-or-big", &f));
    f.dst_port = 22;
    assert!(!m("web-or-big", &f));
    f.octets = 2_000_000;
    assert!(m("web-or-big", &f), "the or group");
    assert!(m("no-dns", &f));
    f.dst_port = 53;
    assert!(!m("no-dns", &f));
    f.tcp_flags = 0x02;
    assert!(m("scans", &f));
    f.tcp_flags = 0x12;
    assert!(!m("scans", &f), "SYN+ACK is not a scan");
    f.tcp_flags = 0x0a; // S and P: the mask ignores P
    assert!(m("scans", &f));
    f.tos = 0xb9; // EF with ECN bit
    assert!(m("voice", &f));
    assert!(m("ours", &f));
    f.src_addr = "10.1.2.3".parse().unwrap();
    assert!(!m("ours", &f), "the longer deny prefix wins");
    assert!(m("not-ours", &f));
    f.src_addr = "192.0.2.1".parse().unwrap();
    assert!(!m("ours", &f), "default deny");
    f.dst_as = 15169;
    f.output_if = 2;
    assert!(m("to-google", &f));
    f.output_if = 3;
    assert!(!m("to-google", &f));
    f.start_ms = now - 60_000;
    assert!(m("fresh", &f));
    f.start_ms = now - 3_600_000;
    assert!(!m("fresh", &f));
    f.end_ms = f.start_ms + 1000;
    f.octets = 1_000_000; // 8 Mb/s
    assert!(m("quick", &f));

    // Variables: @{MIN:-1000000} bound with -v MIN=10.
    let vars: HashMap<String, String> = [("MIN".to_string(), "10".to_string())].into();
    let ff2 = FilterFile::parse(FILE, "test.cfg", &vars, now).unwrap();
    let mut small = flow("10.0.0.1", "10.0.0.2", 22);
    small.octets = 11;
    assert!(Filter::from_expr(ff2.compile("web-or-big").unwrap()).matches(&small));
    assert!(!Filter::from_expr(ff.compile("web-or-big").unwrap()).matches(&small));
    for d in ff.definitions() {
        let e = Filter::from_expr(ff.compile(d).unwrap());
        assert_eq!(
            Filter::parse(&e.to_string()).unwrap(),
            e,
            "{d} printed as {e}"
        );
    }
}

#[test]
fn errors_name_file_line_and_the_valid_choices() {
    let cases = [
        ("filter-primitive p\n  type ip-prot\n", "test.cfg:2:3: unknown primitive type \"ip-prot\"; valid: as,"),
        ("filter-primitive p\n  type tag\n", "test.cfg:2:3: primitive type tag is not supported: floe stores no tags"),
        (
            "filter-primitive p\n  type ip-port\n  permit 80\nfilter-definition d\n  match ip-src-port p\n",
            "test.cfg:5: unknown match key \"ip-src-port\"; valid: ip-source-address,",
        ),
        (
            "filter-definition d\n  match ip-source-address nosuch\n",
            "test.cfg:2: no filter-primitive \"nosuch\"",
        ),
        (
            "filter-primitive p\n  type ip-port\n  permit 80\nfilter-definition d\n  match ip-source-address p\n",
            "test.cfg:5: match ip-source-address cannot use primitive p",
        ),
        ("  permit 80\n", "test.cfg:1:3: permit outside a filter-primitive"),
        ("filter-primitive p\n  type counter\n  permit gt @{LIMIT}\n", "test.cfg:3:1: variable LIMIT is not set"),
        ("filter-primitive p\n  type ip-port\n  default maybe\n", "test.cfg:3:3: default must be permit or deny"),
        ("frobnicate\n", "test.cfg:1:1: unknown statement \"frobnicate\"; valid: filter-primitive"),
        (
            "filter-primitive p\n  type ip-port\n  permit http\nfilter-definition d\n  match ip-destination-port p\n",
            "test.cfg:3: \"http\" is not a value",
        ),
    ];
    for (text, want) in cases {
        let e = FilterFile::parse(text, "test.cfg", &HashMap::new(), 0)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(want.split(": ").next().unwrap())
                && e.contains(want.split_once(": ").unwrap().1),
            "{e}\n wanted {want}"
        );
    }
}
