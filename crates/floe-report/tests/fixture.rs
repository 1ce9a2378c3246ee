//! Report numbers against a hand-computed fixture.

use floe_flow::Flow;
use floe_report::{
    render_csv, render_json, render_text, Report, ReportError, ReportType, Show, Sort, Val,
};

fn f(src: &str, sp: u16, dst: &str, dp: u16, proto: u8, octets: u64, packets: u64) -> Flow {
    Flow {
        src_addr: src.parse().unwrap(),
        dst_addr: dst.parse().unwrap(),
        src_port: sp,
        dst_port: dp,
        protocol: proto,
        octets,
        packets,
        start_ms: 0,
        end_ms: 1000,
        ..Flow::default()
    }
}

fn flows() -> Vec<Flow> {
    vec![
        f("10.0.0.1", 1000, "10.0.0.2", 443, 6, 100, 1),
        f("10.0.0.1", 1001, "10.0.0.3", 80, 6, 200, 2),
        f("10.0.0.2", 443, "10.0.0.1", 1000, 6, 400, 4),
        f("2001:db8::1", 5353, "2001:db8::2", 53, 17, 800, 8),
        f("10.0.0.9", 0, "10.0.0.9", 0, 47, 0, 0),
    ]
}

fn report(kind: &str) -> Report {
    let mut r = Report::new(ReportType::parse(kind).unwrap(), 1000);
    r.add(&flows()).unwrap();
    r
}

fn keyed(r: &Report, sort: &str, records: Option<usize>) -> Vec<(String, u64, u64)> {
    r.rows(Sort::parse(sort).unwrap(), records)
        .into_iter()
        .map(|row| {
            let k: Vec<String> = row.key.iter().map(Val::to_string).collect();
            (k.join(" "), row.counters.flows, row.counters.octets)
        })
        .collect()
}

fn s(k: &str, fl: u64, oc: u64) -> (String, u64, u64) {
    (k.to_string(), fl, oc)
}

#[test]
fn totals_and_ignores() {
    let r = report("ip-source-address");
    assert_eq!(
        (r.totals.flows, r.totals.octets, r.totals.packets, r.ignores),
        (4, 1500, 15, 1)
    );
    // The flow without packets is an ignore, counted nowhere else (as
    // flow-report does).
    assert_eq!(r.totals.duration_ms, 4000);
}

#[test]
fn source_address_sorted_both_ways() {
    let r = report("ip-source-address");
    assert_eq!(
        keyed(&r, "+octets", None),
        vec![
            s("2001:db8::1", 1, 800),
            s("10.0.0.2", 1, 400),
            s("10.0.0.1", 2, 300),
        ]
    );
    assert_eq!(
        keyed(&r, "-octets", None),
        vec![
            s("10.0.0.1", 2, 300),
            s("10.0.0.2", 1, 400),
            s("2001:db8::1", 1, 800)
        ]
    );
    assert_eq!(keyed(&r, "+flows", Some(1)), vec![s("10.0.0.1", 2, 300)]);
    // Key order: IPv4 before IPv6, numerically.
    assert_eq!(keyed(&r, "-key", None)[0].0, "10.0.0.1");
}

#[test]
fn ip_address_counts_both_ends_once_each() {
    let r = report("ip-address");
    assert_eq!(
        keyed(&r, "+octets", None),
        vec![
            s("2001:db8::1", 1, 800),
            s("2001:db8::2", 1, 800),
            s("10.0.0.1", 3, 700),
            s("10.0.0.2", 2, 500),
            s("10.0.0.3", 1, 200),
        ]
    );
    let p = report("ip-port");
    assert_eq!(
        keyed(&p, "+octets", Some(4)),
        vec![
            s("53", 1, 800),
            s("5353", 1, 800),
            s("443", 2, 500),
            s("1000", 2, 500)
        ]
    );
}

#[test]
fn combined_keys_and_record_limits() {
    let r = report("ip-source-address/ip-destination-port");
    assert_eq!(
        r.kind.columns(),
        vec!["ip-source-address", "ip-destination-port"]
    );
    assert_eq!(
        keyed(&r, "+octets", Some(2)),
        vec![s("2001:db8::1 53", 1, 800), s("10.0.0.2 1000", 1, 400)]
    );
    let full = report("ip-source/destination-address/ip-source/destination-port");
    assert_eq!(full.kind.parts.len(), 4);
    assert_eq!(full.keys(), 4);
    assert_eq!(
        keyed(&full, "+octets", Some(1)),
        vec![s("2001:db8::1 2001:db8::2 5353 53", 1, 800)]
    );
    let proto = report("ip-protocol");
    assert_eq!(
        keyed(&proto, "+octets", None),
        vec![s("17", 1, 800), s("6", 3, 700)]
    );
    let io = report("input/output-interface");
    assert_eq!(
        io.kind.columns(),
        vec!["input-interface", "output-interface"]
    );
}

#[test]
fn outputs() {
    let r = report("ip-source-address");
    let rows = r.rows(Sort::parse("+octets").unwrap(), Some(3));
    let text = render_text(&r, &rows, "top sources", &Show::default());
    assert!(text.contains("# top sources"));
    assert!(
        text.contains("# Summary: 4 flows, 15 packets, 1.5 kB in all; ")
            && text.contains("; 1 flows without packets ignored\n"),
        "{text}"
    );
    assert!(
        text.contains("\nsource address  flows  flows%  packets  packets%  bytes  bytes%  bit/s"),
        "{text}"
    );
    // bytes% of the largest: 800 of 1500.
    assert!(
        text.lines()
            .any(|l| l.starts_with("2001:db8::1") && l.split_whitespace().nth(6) == Some("53.33")),
        "{text}"
    );
    let csv = render_csv(&r, &rows, &Show::default());
    assert_eq!(
        csv.lines().next(),
        Some("ip-source-address,flows,octets,packets,duration_ms,octets_pct,flows_pct")
    );
    assert_eq!(
        csv.lines().nth(1),
        Some("2001:db8::1,1,800,8,1000,53.3333,25.0000")
    );
    let j = render_json(
        &r,
        &rows,
        Sort::parse("+octets").unwrap(),
        Some(3),
        &Show::default(),
    );
    assert_eq!(j["report"], "ip-source-address");
    assert_eq!(j["totals"]["octets"], 1500);
    assert_eq!(j["totals"]["ignores"], 1);
    assert_eq!(j["rows"][1]["ip-source-address"], "10.0.0.2");
    assert_eq!(j["rows"].as_array().unwrap().len(), 3);
}

#[test]
fn errors_are_clear() {
    let e = ReportType::parse("ip-source-adress")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown report type") && e.contains("ip-source-address"),
        "{e}"
    );
    let e = ReportType::parse("ip-source-address/ip-bogus")
        .unwrap_err()
        .to_string();
    assert!(e.contains("at \"ip-bogus\""), "{e}");
    assert!(matches!(
        ReportType::parse("ip-source/destination-address/ip-source/destination-port/ip-protocol"),
        Err(ReportError::TooManyParts(_))
    ));
    assert!(Sort::parse("+bananas").is_err());
    let mut r = Report::new(ReportType::parse("ip-source-address").unwrap(), 2);
    let e = r.add(&flows()).unwrap_err();
    assert_eq!(e, ReportError::TooManyKeys(2));
    assert!(e.to_string().contains("raise --max-keys"));
}

#[test]
fn stat_config_errors_name_file_line_and_what() {
    use floe_report::statcfg::StatConfig;
    use std::collections::HashMap;
    use std::path::Path;
    let p = Path::new("stat.cfg");
    let v = HashMap::new();
    let e = StatConfig::parse(
        "stat-report a\n  type ip-source-address\n  output\n    tally x\n",
        p,
        &v,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "stat.cfg:4: tally \"x\" is not a number");
    let e = StatConfig::parse("stat-report a\n  type ip-protocol\n  tag-mask 1 2\n", p, &v)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "stat.cfg:3: tag-mask: floe has no flow tags or mask definitions"
    );
    let e = StatConfig::parse(
        "stat-report a\n  type ip-protocol\n  output\n    fields +flows,-bogus\n",
        p,
        &v,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("stat.cfg:4: unknown field \"bogus\"; valid: key, flows"),
        "{e}"
    );
    let e = StatConfig::parse(
        "stat-report a\n  type ip-protocol\n  ip-source-address-format prefix-len/40\n",
        p,
        &v,
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("stat.cfg:3: address format"),
        "{e}"
    );
    let e = StatConfig::parse("stat-report a\n  type ip-sauce-address\n", p, &v).unwrap_err();
    assert!(
        e.to_string().starts_with("stat.cfg:2: unknown report type"),
        "{e}"
    );
    let e = StatConfig::parse(
        "stat-report a\n  type ip-protocol\nstat-definition d\n  report b\n",
        p,
        &v,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("names report \"b\"; defined: a"),
        "{e}"
    );
    let e = StatConfig::parse("  records 15\n", p, &v).unwrap_err();
    assert_eq!(e.to_string(), "stat.cfg:1: records outside a stat-report");
    let ok = StatConfig::parse(
        "stat-report a\n  type ip-protocol\n  output\n    sort -flows\n    records @{N:-3}\nstat-definition d\n  report a\n",
        p,
        &v,
    )
    .unwrap();
    assert_eq!(ok.report("a").unwrap().outputs[0].records, Some(3));
    assert!(!ok.report("a").unwrap().outputs[0].sort.largest_first);
    assert!(ok
        .definition("zz")
        .unwrap_err()
        .to_string()
        .contains("defined: d"));
}

/// A run of stat-definitions: each definition's reports in order, its
/// filter before the report's, and its time-series making a keyed report a
/// time series (refused, by name, where a key has no room for it).
#[test]
fn stat_config_plans_what_definitions_run() {
    use floe_report::statcfg::StatConfig;
    use floe_report::KeyPart;
    use std::collections::HashMap;
    use std::path::Path;
    let dir = std::env::temp_dir().join(format!("floe-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let filters = dir.join("filter.cfg");
    std::fs::write(&filters, "").unwrap();
    let text = format!(
        "include-filter {}\nstat-report a\n  type ip-protocol\n  filter tcp\nstat-report b\n  type ip-address\n\
         stat-report c\n  type time-series\nstat-definition d\n  filter inside\n  time-series 600\n  report a\n  report c\n\
         stat-definition e\n  report a\n  report b\nstat-definition f\n  time-series 60\n  report b\n",
        filters.display()
    );
    let cfg = StatConfig::parse(&text, Path::new("stat.cfg"), &HashMap::new()).unwrap();
    assert_eq!(cfg.definition_names(), ["d", "e", "f"]);
    let plan = cfg.plan(&["d", "e"]).unwrap();
    let names: Vec<(&str, &str)> = plan
        .iter()
        .map(|p| (p.name.as_str(), p.title.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("a", "stat-report a (ip-protocol), stat-definition d"),
            ("c", "stat-report c (time-series), stat-definition d"),
            ("a", "stat-report a (ip-protocol), stat-definition e"),
            ("b", "stat-report b (ip-address), stat-definition e"),
        ]
    );
    assert_eq!(plan[0].filters, ["inside", "tcp"]);
    assert_eq!(plan[0].kind.parts, [KeyPart::Interval, KeyPart::Protocol]);
    assert_eq!(plan[0].options.interval_secs, 600);
    assert!(plan[0].per_interval && !plan[2].per_interval);
    assert_eq!(plan[1].kind.parts, [KeyPart::Interval], "already a series");
    assert_eq!(plan[2].kind.parts, [KeyPart::Protocol]);
    let e = cfg.plan(&["f"]).unwrap_err().to_string();
    assert_eq!(
        e,
        "stat.cfg: stat-definition f: time-series applies to keyed reports, not ip-address"
    );
    assert!(cfg
        .plan(&["nope"])
        .unwrap_err()
        .to_string()
        .contains("defined: d, e, f"));
    // A filter with no filter file to find it in.
    let cfg = StatConfig::parse(
        "stat-report a\n  type ip-protocol\n  filter tcp\nstat-definition d\n  report a\n",
        Path::new("stat.cfg"),
        &HashMap::new(),
    )
    .unwrap();
    assert_eq!(
        cfg.plan(&["d"]).unwrap_err().to_string(),
        "stat.cfg: filter tcp is used but no include-filter names a filter file"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reports computed on two halves of the flows and merged (as the reading
/// threads do) equal the report on all of them, for every sort; keys mix
/// IPv4 (packed table) and IPv6 (wide table), and sort IPv4 first.
#[test]
fn merged_halves_equal_the_whole_and_families_sort_together() {
    let mut all = flows();
    for i in 0..40u16 {
        let v6 = format!("2001:db8::{:x}", i % 7);
        let v4 = format!("10.9.0.{}", i % 5);
        let (src, dst) = if i % 3 == 0 {
            (v6.as_str(), "::1")
        } else {
            (v4.as_str(), "10.0.0.1")
        };
        all.push(f(
            src,
            1000 + i % 4,
            dst,
            443,
            6,
            100 * u64::from(i) + 7,
            1 + u64::from(i % 3),
        ));
    }
    for kind in [
        "ip-source-address",
        "ip-address",
        "ip-source-address/ip-source-port",
        "ip-port",
    ] {
        let t = ReportType::parse(kind).unwrap();
        let mut whole = Report::new(t.clone(), 1000);
        whole.add(&all).unwrap();
        let (a, b) = all.split_at(all.len() / 3);
        let mut left = Report::new(t.clone(), 1000);
        left.add(a).unwrap();
        let mut right = Report::new(t.clone(), 1000);
        right.add(b).unwrap();
        left.merge(right).unwrap();
        assert_eq!(left.totals, whole.totals, "{kind}");
        assert_eq!(left.keys(), whole.keys(), "{kind}");
        for sort in ["+octets", "-octets", "+flows", "+key", "-key"] {
            let s = Sort::parse(sort).unwrap();
            assert_eq!(left.rows(s, None), whole.rows(s, None), "{kind} {sort}");
            assert_eq!(
                left.rows(s, Some(3)),
                whole.rows(s, Some(3)),
                "{kind} {sort} top 3"
            );
        }
        // Ascending by key: every IPv4 address before every IPv6 one.
        if kind.contains("address") {
            let rows = whole.rows(Sort::parse("-key").unwrap(), None);
            let first_v6 = rows
                .iter()
                .position(|r| matches!(r.key[0], Val::V6(_)))
                .unwrap();
            assert!(
                rows[first_v6..]
                    .iter()
                    .all(|r| matches!(r.key[0], Val::V6(_))),
                "{kind}"
            );
            assert!(
                rows[..first_v6]
                    .iter()
                    .all(|r| matches!(r.key[0], Val::V4(_))),
                "{kind}"
            );
        }
    }
    // The cap holds across a merge: each half fits, together they do not.
    let t = ReportType::parse("ip-source-address").unwrap();
    let (x, y) = all.split_at(all.len() / 2);
    let keys = |flows: &[Flow]| {
        let mut r = Report::new(t.clone(), 1000);
        r.add(flows).unwrap();
        r.keys()
    };
    let cap = keys(x).max(keys(y));
    assert!(keys(&all) > cap);
    let mut a = Report::new(t.clone(), cap);
    a.add(x).unwrap();
    let mut b = Report::new(t.clone(), cap);
    b.add(y).unwrap();
    assert_eq!(a.merge(b), Err(ReportError::TooManyKeys(cap)));
}
