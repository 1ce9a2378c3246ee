//! The expression language, table-driven: every test, every operator, IPv4
//! and IPv6, precedence, and the syntax errors that must be rejected (with
//! where). Every accepted expression also prints and re-parses to the same
//! predicate.

use floe_filter::Filter;
use floe_flow::time::utc_ms;
use floe_flow::Flow;

fn flows() -> Vec<Flow> {
    let t = utc_ms(2026, 11, 22, 10, 0, 0);
    let f = |_tag: u8| Flow {
        start_ms: t,
        end_ms: t + 1000,
        exporter: "192.0.2.1".parse().unwrap(),
        ..Flow::default()
    };
    vec![
        // 0: web client -> server, TCP 443, 1.5 MB, 10 s
        Flow {
            src_addr: "10.1.2.3".parse().unwrap(),
            dst_addr: "198.51.100.7".parse().unwrap(),
            src_port: 51000,
            dst_port: 443,
            protocol: 6,
            tcp_flags: 0x1b, // F S P A
            packets: 1200,
            octets: 1_500_000,
            input_if: 1,
            output_if: 2,
            src_as: 0,
            dst_as: 15169,
            end_ms: t + 10_000,
            src_mask: 16,
            dst_mask: 24,
            ..f(0)
        },
        // 1: DNS over UDP, small
        Flow {
            src_addr: "10.1.9.9".parse().unwrap(),
            dst_addr: "192.168.1.10".parse().unwrap(),
            src_port: 40000,
            dst_port: 53,
            protocol: 17,
            packets: 1,
            octets: 70,
            input_if: 1,
            output_if: 3,
            ..f(1)
        },
        // 2: ICMP echo, IPv4, from outside
        Flow {
            src_addr: "203.0.113.5".parse().unwrap(),
            dst_addr: "10.1.2.3".parse().unwrap(),
            dst_port: 0x0800,
            protocol: 1,
            packets: 3,
            octets: 252,
            input_if: 2,
            output_if: 1,
            src_as: 64500,
            tos: 0x28,
            ..f(2)
        },
        // 3: IPv6 HTTP, 2 MB, 2 s, next hop, SYN only
        Flow {
            src_addr: "2001:db8:1::10".parse().unwrap(),
            dst_addr: "2001:db8:ff::80".parse().unwrap(),
            next_hop: "2001:db8::1".parse().unwrap(),
            src_port: 33000,
            dst_port: 80,
            protocol: 6,
            tcp_flags: 0x02,
            packets: 2000,
            octets: 2_000_000,
            input_if: 7,
            output_if: 8,
            end_ms: t + 2000,
            exporter: "2001:db8::99".parse().unwrap(),
            start_ms: t,
            ..Flow::default()
        },
        // 4: server -> client reply on 443 (src port 443), late start
        Flow {
            src_addr: "198.51.100.7".parse().unwrap(),
            dst_addr: "10.1.2.3".parse().unwrap(),
            src_port: 443,
            dst_port: 51000,
            protocol: 6,
            tcp_flags: 0x18,
            packets: 900,
            octets: 1_200_000,
            start_ms: t + 3_600_000,
            end_ms: t + 3_600_500,
            src_as: 15169,
            engine_type: 1,
            engine_id: 2,
            sampling_interval: 100,
            ..f(4)
        },
        // 5: GRE, zero packets (a broken exporter's record)
        Flow {
            src_addr: "10.9.0.1".parse().unwrap(),
            dst_addr: "10.9.0.2".parse().unwrap(),
            protocol: 47,
            source_id: 7,
            ..f(5)
        },
    ]
}

/// (expression, indexes of the flows it must match)
const CASES: &[(&str, &[usize])] = &[
    ("", &[0, 1, 2, 3, 4, 5]),
    ("any", &[0, 1, 2, 3, 4, 5]),
    ("not any", &[]),
    ("proto tcp", &[0, 3, 4]),
    ("PROTO TCP", &[0, 3, 4]),
    ("proto 6", &[0, 3, 4]),
    ("proto udp", &[1]),
    ("proto icmp", &[2]),
    ("proto gre", &[5]),
    ("proto 47", &[5]),
    ("tcp", &[0, 3, 4]),
    ("udp or icmp", &[1, 2]),
    ("proto in [udp, icmp]", &[1, 2]),
    ("proto in [6 17]", &[0, 1, 3, 4]),
    ("ipv4", &[0, 1, 2, 4, 5]),
    ("ipv6", &[3]),
    ("inet6", &[3]),
    ("ip 10.1.2.3", &[0, 2, 4]),
    ("host 10.1.2.3", &[0, 2, 4]),
    ("src ip 10.1.2.3", &[0]),
    ("dst ip 10.1.2.3", &[2, 4]),
    ("src host 198.51.100.7", &[4]),
    ("net 10.1.0.0/16", &[0, 1, 2, 4]),
    ("src net 10.0.0.0/8", &[0, 1, 5]),
    ("dst net 10.0.0.0/8", &[2, 4, 5]),
    ("src net 10.1.0.0 255.255.0.0", &[0, 1]),
    ("net 192.168.0.0/16", &[1]),
    ("net 0.0.0.0/0", &[0, 1, 2, 4, 5]),
    ("net 2001:db8::/32", &[3]),
    ("src net 2001:db8:1::/48", &[3]),
    ("dst net 2001:db8:1::/48", &[]),
    ("dst ip 2001:db8:ff::80", &[3]),
    ("ip in [10.1.9.9, 203.0.113.0/24]", &[1, 2]),
    ("src ip in [198.51.100.7 10.9.0.1]", &[4, 5]),
    ("not dst ip 192.168.1.10", &[0, 2, 3, 4, 5]),
    ("port 443", &[0, 4]),
    ("dst port 443", &[0]),
    ("src port 443", &[4]),
    ("port https", &[0, 4]),
    ("dst port domain", &[1]),
    ("dst port = 53", &[1]),
    ("dst port == 53", &[1]),
    ("dst port eq 53", &[1]),
    ("dst port != 53", &[0, 2, 3, 4, 5]),
    ("dst port > 1024", &[2, 4]),
    ("dst port gt 1024", &[2, 4]),
    ("dst port >= 443", &[0, 2, 4]),
    ("dst port < 80", &[1, 5]),
    ("dst port <= 80", &[1, 3, 5]),
    ("dst port lt 80", &[1, 5]),
    ("dst port 50000-52000", &[4]),
    ("port 1-100", &[1, 3]),
    ("dst port in [53, 80, 443]", &[0, 1, 3]),
    ("dst port in [1-100, 443]", &[0, 1, 3]),
    ("src port in [33000 40000]", &[1, 3]),
    ("as 15169", &[0, 4]),
    ("src as 15169", &[4]),
    ("dst as 15169", &[0]),
    ("src as > 60000", &[2]),
    ("as in [64500, 15169]", &[0, 2, 4]),
    ("in if 1", &[0, 1]),
    ("out if 1", &[2]),
    ("if 2", &[0, 2]),
    ("in if in [7, 2]", &[2, 3]),
    ("next-hop 2001:db8::1", &[3]),
    ("nexthop 0.0.0.0", &[0, 1, 2, 4, 5]),
    ("exporter 192.0.2.0/24", &[0, 1, 2, 4, 5]),
    ("router 2001:db8::99", &[3]),
    ("flags S", &[0, 3]),
    ("flags SA", &[0]),
    ("flags A", &[0, 4]),
    ("flags AP", &[0, 4]),
    ("flags F", &[0]),
    ("flags S and not flags A", &[3]),
    ("flags 0x10", &[0, 4]),
    ("tos 0x28", &[2]),
    ("tos 40", &[2]),
    ("tos > 0", &[2]),
    ("packets > 1000", &[0, 3]),
    ("packets >= 900", &[0, 3, 4]),
    ("packets = 0", &[5]),
    ("bytes > 1M", &[0, 3, 4]),
    ("bytes > 1.5M", &[3]),
    ("bytes >= 1.5M", &[0, 3]),
    ("bytes < 1k", &[1, 2, 5]),
    ("bytes > 1G", &[]),
    ("octets 70", &[1]),
    ("duration > 5s", &[0]),
    ("duration > 1000", &[0, 3]),
    ("duration >= 1s", &[0, 1, 2, 3, 5]),
    ("duration < 1s", &[4]),
    ("duration > 1m", &[]),
    ("bps > 1M", &[0, 3, 4]),
    ("bps > 10M", &[4]),
    ("pps > 500", &[3, 4]),
    ("pps < 2", &[1, 5]),
    ("bpp > 1000", &[0, 4]),
    ("bpp = 0", &[5]),
    ("bpp < 100", &[1, 2, 5]),
    ("first >= 2026-11-22T11:00:00", &[4]),
    ("first < 2026-11-22T11:00:00Z", &[0, 1, 2, 3, 5]),
    ("last > 2026-11-22T10:00:05", &[0, 4]),
    ("first >= 2026-11-22T11:00:00+01:00", &[0, 1, 2, 3, 4, 5]),
    ("first < 2026-11-22", &[]),
    ("engine-type 1 and engine-id 2", &[4]),
    ("source-id 7", &[5]),
    ("sampling 100", &[4]),
    ("src mask 16", &[0]),
    ("mask 24", &[0]),
    ("proto tcp and dst port 443", &[0]),
    ("proto tcp && dst port 443", &[0]),
    ("proto tcp and (dst port 443 or dst port 80)", &[0, 3]),
    ("proto tcp and dst port 443 or dst port 80", &[0, 3]),
    ("dst port 80 or proto tcp and dst port 443", &[0, 3]),
    ("(dst port 80 or proto tcp) and dst port 443", &[0]),
    ("not proto tcp", &[1, 2, 5]),
    ("! proto tcp", &[1, 2, 5]),
    ("not not proto tcp", &[0, 3, 4]),
    ("not proto tcp and not proto udp", &[2, 5]),
    ("not (proto tcp or proto udp)", &[2, 5]),
    ("proto udp || proto icmp", &[1, 2]),
    ("proto tcp and (dst port 443 or dst port 80) and src net 10.0.0.0/8 and not dst ip 192.168.1.10 and bytes > 1M and duration > 1s", &[0]),
    ("proto tcp # web only\n and dst port 443", &[0]),
    ("((((proto tcp))))", &[0, 3, 4]),
    ("ipv4 and tcp and src port 443 and flags A", &[4]),
];

/// (expression, what the message must contain, column)
const ERRORS: &[(&str, &str, usize)] = &[
    ("proto", "expected a value", 6),
    ("proto tpc", "is not a protocol", 7),
    ("proto 300", "is not a protocol", 7),
    ("port 70000", "is not a port", 6),
    ("dst port in [1, 2", "\",\" or \"]\"", 18),
    ("dst port in 1, 2", "\"[\" to open a list", 13),
    ("src net 10.0.0.0/33", "prefix length must be 0..32", 9),
    ("src net 2001:db8::/129", "prefix length must be 0..128", 9),
    ("ip 10.0.0", "is not an IPv4 or IPv6 address", 4),
    ("bytes > lots", "is not a number", 9),
    ("duration > 5 parsecs", "\"and\", \"or\" or the end", 14),
    ("duration > 5y", "is not a duration", 12),
    ("first > yesterdayish", "is not a time", 9),
    ("flags SX", "is not a TCP flag letter", 7),
    ("proto tcp and", "a filter test", 14),
    ("proto tcp or or proto udp", "unknown filter test", 14),
    ("(proto tcp", "\")\"", 11),
    ("proto tcp)", "\"and\", \"or\" or the end", 10),
    ("dst prot 80", "unknown filter test \"prot\"", 5),
    ("frobnicate 3", "valid: any, ipv4", 1),
    ("src proto tcp", "unknown filter test \"proto\"", 5),
    ("in 3", "\"if\" after \"in\"", 4),
    ("dst port 90-80", "range \"90-80\" is empty", 10),
    ("not", "a filter test", 4),
    ("proto tcp\nand dst port x", "is not a port", 14),
];

#[test]
fn every_case_matches_exactly_the_expected_flows_and_round_trips() {
    let fl = flows();
    let mut checked = 0;
    for (text, want) in CASES {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let got: Vec<usize> = (0..fl.len()).filter(|&i| f.matches(&fl[i])).collect();
        assert_eq!(&got, want, "{text:?} (compiled as {f})");
        let again = Filter::parse(&f.to_string())
            .unwrap_or_else(|e| panic!("{text:?} printed as {f}: {e}"));
        assert_eq!(again, f, "{text:?} printed as {f}");
        checked += 1;
    }
    assert!(checked > 100);
}

type Getter = fn(&Flow) -> u64;
type Test = fn(u64, u64) -> bool;

#[test]
fn generated_comparisons_agree_with_direct_evaluation() {
    // Every numeric test with every operator and several values: several
    // hundred more cases, checked against the flows' own numbers.
    let fl = flows();
    let fields: &[(&str, Getter)] = &[
        ("src port", |f| f.src_port.into()),
        ("dst port", |f| f.dst_port.into()),
        ("packets", |f| f.packets),
        ("bytes", |f| f.octets),
        ("tos", |f| f.tos.into()),
        ("in if", |f| f.input_if.into()),
        ("out if", |f| f.output_if.into()),
        ("src as", |f| f.src_as.into()),
        ("dst as", |f| f.dst_as.into()),
        ("proto", |f| f.protocol.into()),
        ("duration", |f| f.duration_ms()),
    ];
    let ops: &[(&str, Test)] = &[
        ("=", |a, b| a == b),
        ("!=", |a, b| a != b),
        ("<", |a, b| a < b),
        ("<=", |a, b| a <= b),
        (">", |a, b| a > b),
        (">=", |a, b| a >= b),
        ("eq", |a, b| a == b),
        ("gt", |a, b| a > b),
        ("le", |a, b| a <= b),
    ];
    let values = [0u64, 1, 6, 53, 443, 1000, 2000, 51000];
    let mut n = 0;
    for (name, get) in fields {
        for (op, test) in ops {
            for v in values {
                // Values out of the field's range are refused (see
                // out_of_range_numbers_are_refused_with_the_range).
                if matches!(*name, "proto" | "tos") && v > 255
                    || name.ends_with("port") && v > 65535
                {
                    continue;
                }
                let text = format!("{name} {op} {v}");
                let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                for flow in &fl {
                    assert_eq!(f.matches(flow), test(get(flow), v), "{text} on {flow:?}");
                }
                assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
                n += 1;
            }
        }
    }
    assert!(n > 500, "{n}");
}

#[test]
fn syntax_errors_say_where_and_what() {
    for (text, needle, col) in ERRORS {
        let e = Filter::parse(text).expect_err(text);
        let msg = e.to_string();
        assert!(msg.contains(needle), "{text:?}: {msg}");
        assert_eq!(e.col, *col, "{text:?}: {msg}");
    }
    let e = Filter::parse("proto tcp\nand dst port x").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().starts_with("filter line 2, column 14:"));
}

#[test]
fn include_reads_a_file_relative_to_the_including_one() {
    let dir = std::env::temp_dir().join(format!("floe-filter-include-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nets.flt"),
        "# our networks\nsrc net 10.1.0.0/16 or src net 2001:db8:1::/48\n",
    )
    .unwrap();
    std::fs::write(dir.join("main.flt"), "proto tcp and @include nets.flt\n").unwrap();
    std::fs::write(dir.join("bad.flt"), "proto tcp and\n  dst port seventy\n").unwrap();
    let f = Filter::from_file(&dir.join("main.flt")).unwrap();
    let got: Vec<usize> = (0..flows().len())
        .filter(|&i| f.matches(&flows()[i]))
        .collect();
    assert_eq!(got, vec![0, 3]);
    let e = Filter::from_file(&dir.join("bad.flt"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.flt:2:12:") && e.contains("is not a port"),
        "{e}"
    );
    std::fs::write(dir.join("loop.flt"), "@include loop.flt").unwrap();
    let e = Filter::from_file(&dir.join("loop.flt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested more than 16"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `flow` with only the named fields kept and every other one at its
/// default: what a reader that decodes only those columns hands over.
fn projected(flow: &Flow, fields: &[&str]) -> Flow {
    let mut p = Flow {
        start_ms: flow.start_ms,
        end_ms: flow.end_ms,
        ..Flow::default()
    };
    for name in fields {
        match *name {
            "start-time" | "end-time" => {}
            "ip-exporter-address" => p.exporter = flow.exporter,
            "source-id" => p.source_id = flow.source_id,
            "ip-source-address" => p.src_addr = flow.src_addr,
            "ip-destination-address" => p.dst_addr = flow.dst_addr,
            "ip-next-hop-address" => p.next_hop = flow.next_hop,
            "ip-source-port" => p.src_port = flow.src_port,
            "ip-destination-port" => p.dst_port = flow.dst_port,
            "ip-protocol" => p.protocol = flow.protocol,
            "ip-tcp-flags" => p.tcp_flags = flow.tcp_flags,
            "ip-tos" => p.tos = flow.tos,
            "packets" => p.packets = flow.packets,
            "octets" => p.octets = flow.octets,
            "input-interface" => p.input_if = flow.input_if,
            "output-interface" => p.output_if = flow.output_if,
            "source-as" => p.src_as = flow.src_as,
            "destination-as" => p.dst_as = flow.dst_as,
            "source-mask" => p.src_mask = flow.src_mask,
            "destination-mask" => p.dst_mask = flow.dst_mask,
            "sampling-interval" => p.sampling_interval = flow.sampling_interval,
            "engine-type" => p.engine_type = flow.engine_type,
            "engine-id" => p.engine_id = flow.engine_id,
            other => panic!("Filter::fields named {other:?}, not a catalog field"),
        }
    }
    p
}

/// Readers decode only the columns a filter reads (Filter::fields): for
/// every case of the table, the filter gives the same answer on a flow
/// holding only those fields as on the whole flow.
#[test]
fn a_filter_needs_only_the_fields_it_names() {
    let flows = flows();
    for (text, _) in CASES {
        let f = Filter::parse(text).unwrap();
        let fields = f.fields();
        for (i, flow) in flows.iter().enumerate() {
            assert_eq!(
                f.matches(&projected(flow, &fields)),
                f.matches(flow),
                "{text:?} on flow {i} with only {fields:?}"
            );
        }
    }
}

/// Inputs the filter_expression fuzz target found: each must print as text
/// that parses back to the same filter.
#[test]
fn fuzz_regressions_print_and_parse_back() {
    for text in [
        "flags 0",
        "flags 0#x\0\u{8}10",
        "flags 0x200",
        "flags 0x3ff",
        "flags SA",
        "last > 9999-12-31T23:59:59",
        "first < 0000-01-01T00:00",
    ] {
        let f = Filter::parse(text).unwrap();
        let printed = f.to_string();
        assert_eq!(
            Filter::parse(&printed).as_ref(),
            Ok(&f),
            "{text:?} printed as {printed:?}"
        );
    }
    assert!(Filter::parse("last +22026-1-22T1:00:05").is_err());
    let e = Filter::parse("flags 65536").unwrap_err();
    assert!(e.to_string().contains("more than 16 bits"), "{e}");
}
