//! Distributions, count reports, prefixes, scaling, time series, rates,
//! summaries and flow-report's ascii layout, against numbers worked out by
//! hand from six flows.

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_report::flowtools::render_flow_tools;
use floe_report::sym::Symbols;
use floe_report::{AddrFormat, Output, Report, ReportOptions, ReportType, Row, Scale, Sort, Val};

#[allow(clippy::too_many_arguments)]
fn f(
    src: &str,
    src_mask: u8,
    dst: &str,
    dst_mask: u8,
    (sp, dp, proto): (u16, u16, u8),
    octets: u64,
    packets: u64,
    (start_min, start_sec, dur_ms): (i64, i64, i64),
) -> Flow {
    let start = utc_ms(2026, 11, 22, 10, 0, 0) + start_min * 60_000 + start_sec * 1000;
    Flow {
        src_addr: src.parse().unwrap(),
        dst_addr: dst.parse().unwrap(),
        src_mask,
        dst_mask,
        src_port: sp,
        dst_port: dp,
        protocol: proto,
        octets,
        packets,
        start_ms: start,
        end_ms: start + dur_ms,
        ..Flow::default()
    }
}

/// F1..F6 (F5 has no packets: an ignore).
fn flows() -> Vec<Flow> {
    let mut v = vec![
        // F1: 10 s at 10:00:00; 150 octets/packet; 1200 b/s, 1 p/s.
        f(
            "10.1.2.3",
            16,
            "192.0.2.1",
            24,
            (1000, 443, 6),
            1500,
            10,
            (0, 0, 10_000),
        ),
        // F2: 10:04:00 to 10:06:00, across the 10:05 boundary.
        f(
            "10.1.9.9",
            16,
            "192.0.2.1",
            24,
            (1001, 443, 6),
            500,
            5,
            (4, 0, 120_000),
        ),
        // F3: no duration.
        f(
            "10.2.0.1",
            24,
            "192.0.2.7",
            24,
            (53, 53, 17),
            100,
            1,
            (7, 0, 0),
        ),
        // F4: IPv6, 2 s; 12000 b/s.
        f(
            "2001:db8:1::5",
            48,
            "2001:db8:2::9",
            64,
            (443, 50000, 6),
            3000,
            2,
            (1, 0, 2000),
        ),
        // F5: no packets.
        f(
            "10.1.2.3",
            16,
            "192.0.2.99",
            24,
            (1002, 80, 6),
            40,
            0,
            (2, 0, 1000),
        ),
        // F6: 1 s at 10:09.
        f(
            "10.1.2.3",
            16,
            "192.0.2.7",
            24,
            (1003, 53, 17),
            10,
            1,
            (9, 0, 1000),
        ),
    ];
    v[0].sampling_interval = 100;
    v[3].sampling_interval = 10;
    v
}

fn run(kind: &str, options: ReportOptions) -> Report {
    let mut r = Report::with_options(ReportType::parse(kind).unwrap(), 1000, options);
    r.add(&flows()).unwrap();
    r
}

/// (key, flows, octets) rows.
fn rows(r: &Report, sort: &str) -> Vec<(String, u64, u64)> {
    r.rows(Sort::parse(sort).unwrap(), None)
        .into_iter()
        .map(|row| {
            let k: Vec<String> = row.key.iter().map(Val::to_string).collect();
            (k.join(" "), row.counters.flows, row.counters.octets)
        })
        .collect()
}

fn s(k: &str, flows: u64, octets: u64) -> (String, u64, u64) {
    (k.to_string(), flows, octets)
}

#[test]
fn distributions_key_each_flow_by_its_own_value() {
    let d = ReportOptions::default();
    let r = run("packet-size", d);
    assert_eq!(r.ignores, 1);
    assert_eq!(
        rows(&r, "-key"),
        [
            s("10", 1, 10),
            s("100", 2, 600),
            s("150", 1, 1500),
            s("1500", 1, 3000)
        ]
    );
    assert_eq!(
        rows(&run("bps", d), "-key"),
        [
            s("0", 1, 100),
            s("33", 1, 500),
            s("80", 1, 10),
            s("1200", 1, 1500),
            s("12000", 1, 3000)
        ]
    );
    assert_eq!(
        rows(&run("pps", d), "-key"),
        [s("0", 2, 600), s("1", 3, 4510)]
    );
    assert_eq!(
        rows(&run("duration", d), "+key"),
        [
            s("120000", 1, 500),
            s("10000", 1, 1500),
            s("2000", 1, 3000),
            s("1000", 1, 10),
            s("0", 1, 100)
        ]
    );
    assert_eq!(rows(&run("octets", d), "+key")[0], s("3000", 1, 3000));
    assert_eq!(
        rows(&run("packets", d), "-key"),
        [
            s("1", 2, 110),
            s("2", 1, 3000),
            s("5", 1, 500),
            s("10", 1, 1500)
        ]
    );
    // A distribution combines with other keys like any part.
    assert_eq!(
        rows(&run("ip-protocol/packet-size", d), "-key"),
        [
            s("6 100", 1, 500),
            s("6 150", 1, 1500),
            s("6 1500", 1, 3000),
            s("17 10", 1, 10),
            s("17 100", 1, 100)
        ]
    );
}

#[test]
fn count_reports_count_distinct_peers() {
    let d = ReportOptions::default();
    let r = run("ip-source-address-destination-count", d);
    assert_eq!(r.kind.columns(), ["ip-source-address"]);
    assert_eq!(r.kind.count_column(), Some("ip-destination-address-count"));
    let got: Vec<(String, Option<u64>, u64, u64)> = r
        .rows(Sort::parse("+count").unwrap(), None)
        .into_iter()
        .map(|x| {
            (
                x.key[0].to_string(),
                x.count,
                x.counters.flows,
                x.counters.octets,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("10.1.2.3".into(), Some(2), 2, 1510),
            ("10.1.9.9".into(), Some(1), 1, 500),
            ("10.2.0.1".into(), Some(1), 1, 100),
            ("2001:db8:1::5".into(), Some(1), 1, 3000),
        ]
    );
    let r = run("ip-destination-address-source-count", d);
    let got: Vec<(String, Option<u64>)> = r
        .rows(Sort::parse("+count").unwrap(), Some(2))
        .into_iter()
        .map(|x| (x.key[0].to_string(), x.count))
        .collect();
    assert_eq!(
        got,
        [("192.0.2.1".into(), Some(2)), ("192.0.2.7".into(), Some(2))]
    );
}

#[test]
fn prefixes_by_the_flows_mask_or_a_fixed_length() {
    // prefix-mask: the network by the flow's own mask (flow-report).
    let by_mask = ReportOptions {
        src_format: AddrFormat::parse("prefix-mask").unwrap(),
        ..ReportOptions::default()
    };
    assert_eq!(
        rows(&run("ip-source-address", by_mask), "+octets"),
        [
            s("2001:db8:1::/48", 1, 3000),
            s("10.1.0.0/16", 3, 2010),
            s("10.2.0.0/24", 1, 100)
        ]
    );
    // prefix-len: the address with its mask length, host bits kept.
    let len = ReportOptions {
        src_format: AddrFormat::parse("prefix-len").unwrap(),
        dst_format: AddrFormat::parse("prefix-mask").unwrap(),
        ..ReportOptions::default()
    };
    assert_eq!(
        rows(&run("ip-source-address", len), "+octets"),
        [
            s("2001:db8:1::5/48", 1, 3000),
            s("10.1.2.3/16", 2, 1510),
            s("10.1.9.9/16", 1, 500),
            s("10.2.0.1/24", 1, 100)
        ]
    );
    assert_eq!(
        rows(&run("ip-destination-address", len), "-key"),
        [s("192.0.2.0/24", 4, 2110), s("2001:db8:2::/64", 1, 3000)]
    );
    let fixed = ReportOptions {
        src_format: AddrFormat::parse("prefix-len/8,32").unwrap(),
        ..ReportOptions::default()
    };
    assert_eq!(
        rows(&run("ip-source/destination-address", fixed), "+octets")[..2],
        [
            s("2001:db8::/32 2001:db8:2::9", 1, 3000),
            s("10.0.0.0/8 192.0.2.1", 2, 2000)
        ]
    );
}

#[test]
fn scaling_by_a_factor_or_the_sampling_interval() {
    let ten = run(
        "ip-protocol",
        ReportOptions {
            scale: Scale::parse("10").unwrap(),
            ..ReportOptions::default()
        },
    );
    assert_eq!(
        (ten.totals.octets, ten.totals.packets, ten.totals.flows),
        (51100, 190, 5)
    );
    let sampled = run(
        "ip-protocol",
        ReportOptions {
            scale: Scale::Sampling,
            ..ReportOptions::default()
        },
    );
    // F1 x100, F4 x10, the others announced no interval (x1).
    assert_eq!(
        rows(&sampled, "+octets"),
        [s("6", 3, 150_000 + 500 + 30_000), s("17", 2, 110)]
    );
    assert!(Scale::parse("x").is_err());
}

#[test]
fn a_time_series_shares_flows_across_the_boundary() {
    let r = run(
        "time-series",
        ReportOptions {
            interval_secs: 300,
            ..ReportOptions::default()
        },
    );
    let t = |m: u32| Val::T((utc_ms(2026, 11, 22, 10, m, 0) / 1000) as u64).to_string();
    assert_eq!(t(5), "2026-11-22T10:05:00Z");
    // 10:00: F1, F2 (its first minute: 250 octets, 3 of its 5 packets)
    // and F4; 10:05: F2's second minute (active there too), F3 and F6.
    assert_eq!(
        rows(&r, "-key"),
        [s(&t(0), 3, 1500 + 250 + 3000), s(&t(5), 3, 250 + 100 + 10)]
    );
    let packets: Vec<u64> = r
        .rows(Sort::parse("-key").unwrap(), None)
        .iter()
        .map(|x| x.counters.packets)
        .collect();
    assert_eq!(packets, [10 + 3 + 2, 2 + 1 + 1]);
    assert_eq!(r.totals.octets, 5110);
    let by_proto = run(
        "time-series/ip-protocol",
        ReportOptions {
            interval_secs: 300,
            ..ReportOptions::default()
        },
    );
    assert_eq!(
        rows(&by_proto, "-key"),
        [
            s(&format!("{} 6", t(0)), 3, 4750),
            s(&format!("{} 6", t(5)), 1, 250),
            s(&format!("{} 17", t(5)), 2, 110)
        ]
    );
}

#[test]
fn rates_average_the_flows_that_lasted() {
    let r = run(
        "ip-protocol",
        ReportOptions {
            rates: true,
            ..ReportOptions::default()
        },
    );
    let got = r.rows(Sort::parse("+max-bps").unwrap(), None);
    let tcp = got[0].rates.unwrap();
    assert_eq!(got[0].key, [Val::N(6)]);
    assert_eq!(tcp.recs, 3);
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-6, "{a} != {b}");
    close(
        tcp.avg_bps(),
        (1200.0 + 500.0 * 8.0 / 120.0 + 12000.0) / 3.0,
    );
    close(tcp.min_bps, 500.0 * 8.0 / 120.0);
    close(tcp.max_bps, 12000.0);
    close(tcp.max_pps, 1.0);
    // udp: F3 has no duration, so only F6 has a rate.
    let udp = got[1].rates.unwrap();
    assert_eq!(udp.recs, 1);
    close(udp.avg_bps(), 80.0);
    assert_eq!(r.total_rates.recs, 4);
    close(r.total_rates.max_bps, 12000.0);
    // Sorting by a key part other than the first.
    let k2 = run(
        "ip-source-address/ip-destination-port",
        ReportOptions::default(),
    );
    let ports: Vec<String> = rows(&k2, "-key2").iter().map(|x| x.0.clone()).collect();
    assert_eq!(
        ports,
        [
            "10.1.2.3 53",
            "10.2.0.1 53",
            "10.1.2.3 443",
            "10.1.9.9 443",
            "2001:db8:1::5 50000"
        ]
    );
}

#[test]
fn summary_detail_buckets_as_flow_report() {
    let r = run("summary-detail", ReportOptions::default());
    assert!(r.rows(Sort::parse("+octets").unwrap(), None).is_empty());
    let sum = r.summary.as_ref().unwrap();
    let nonzero = |d: &floe_report::Distribution| -> Vec<(String, u64)> {
        d.buckets().into_iter().filter(|b| b.1 > 0).collect()
    };
    // Octets per packet: 150, 100, 100, 1500, 10.
    assert_eq!(
        nonzero(&sum.packet_size),
        [
            ("32".into(), 1),
            ("128".into(), 2),
            ("160".into(), 1),
            ("1536".into(), 1)
        ]
    );
    // Packets per flow: 10, 5, 1, 2, 1.
    assert_eq!(
        nonzero(&sum.packets),
        [
            ("1".into(), 2),
            ("2".into(), 1),
            ("8".into(), 1),
            ("12".into(), 1)
        ]
    );
    // Flow time: 10 s, 120 s (past the last bound), 0, 2 s, 1 s.
    assert_eq!(
        nonzero(&sum.time),
        [
            ("10".into(), 1),
            ("1000".into(), 1),
            ("2000".into(), 1),
            ("10000".into(), 1),
            (">30000".into(), 1)
        ]
    );
    // 5 flows, 5110 octets, 19 packets, 133000 ms; 10:00:00 to 10:09:01.
    // flow-report divides integers (its layout keeps that); the others
    // show real averages.
    let a = floe_report::Averages::flow_report(&r.totals, r.first_ms, r.last_ms);
    assert_eq!(a.time_real, 541);
    assert_eq!(a.flow_time, 26600.0);
    assert_eq!(a.packet_size, 268.0);
    assert_eq!(a.flow_size, 1022.0);
    assert_eq!(a.packets_per_flow, 3.0);
    let real = floe_report::Averages::of(&r.totals, r.first_ms, r.last_ms);
    assert_eq!(real.time_real, 541);
    assert!(
        (real.packet_size - 268.947).abs() < 0.001,
        "{}",
        real.packet_size
    );
    assert_eq!(real.packets_per_flow, 3.8);
}

/// flow-report's layout, worked out line by line from its source
/// (ftstat.c: recn_dump, STD_DUMP_TOTALS, CHASH_STD_OUT/STDP_OUT).
#[test]
fn flow_report_ascii_layout() {
    let kind = "ip-source-address/ip-destination-port";
    let r = run(kind, ReportOptions::default());
    let mut o = Output::new("+octets").unwrap();
    o.records = Some(3);
    o.options.apply("+totals").unwrap();
    let rows: Vec<Row> = r.rows(o.sort, o.records);
    let text = render_flow_tools(&r, &rows, &o, "top", None, 0);
    assert_eq!(
        text,
        "# rec1: records,ignores,flows,octets,packets,duration\n\
         5,1,5,5110,19,133000\n\
         # recn: ip-source-address*,ip-destination-port*,flows,octets,packets,duration\n\
         2001:db8:1::5,50000,1,3000,2,2000\n\
         10.1.2.3,443,1,1500,10,10000\n\
         10.1.9.9,443,1,500,5,120000\n\
         # stop, hit record limit.\n"
    );
    // Percentages, a tally every 2 rows, names, fields off and on.
    let p = run(
        "ip-protocol",
        ReportOptions {
            rates: true,
            ..ReportOptions::default()
        },
    );
    let mut o = Output::new("+octets").unwrap();
    o.options.apply("+percent-total,+names").unwrap();
    o.fields.apply("-duration,+avg-bps").unwrap();
    o.tally = Some(1);
    let rows = p.rows(o.sort, None);
    let text = render_flow_tools(&p, &rows, &o, "proto", Some(&Symbols::builtin()), 0);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "# recn: ip-protocol*,flows,octets,packets,avg-bps"
    );
    // tcp: 3 of 5 flows, 5000 of 5110 octets, 17 of 19 packets; its
    // average rate against the whole input's.
    let all_avg = (1200.0 + 500.0 * 8.0 / 120.0 + 12000.0 + 80.0) / 4.0;
    let tcp_avg = (1200.0 + 500.0 * 8.0 / 120.0 + 12000.0) / 3.0;
    assert_eq!(
        lines[1],
        format!(
            "tcp,60.000000,{:.6},{:.6},{:.6}",
            5000.0 / 5110.0 * 100.0,
            17.0 / 19.0 * 100.0,
            tcp_avg / all_avg * 100.0
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "#TALLY %recs=50.000 %flows=60.000 %octets={:.3} %packets={:.3} %avg-bps={:.3} %avg-pps={:.3}",
            5000.0 / 5110.0 * 100.0,
            17.0 / 19.0 * 100.0,
            tcp_avg / all_avg * 100.0,
            (2.0 + 5.0 / 120.0) / 3.0 / ((2.0 + 5.0 / 120.0 + 1.0) / 4.0) * 100.0
        )
    );
    assert!(lines[3].starts_with("udp,40.000000,"), "{text}");
    assert_eq!(lines.len(), 4);
    // The header block.
    let mut o = Output::new("-flows").unwrap();
    o.options.apply("+header").unwrap();
    let text = render_flow_tools(&p, &p.rows(o.sort, None), &o, "proto", None, 1_795_000_000);
    assert!(
        text.starts_with(
            "#  --- ---- ---- Report Information --- --- ---\n#\n#  build-version:        floe "
        ),
        "{text}"
    );
    for l in [
        "#  name:                 proto\n",
        "#  type:                 ip-protocol\n",
        "#  options:              +header\n",
        "#  fields:               +key,+flows,+octets,+packets,+duration\n",
        "#  records:              0\n",
        "#  first-flow:           1795341600 Sun Nov 22 10:00:00 2026\n",
        "#  now:                  1795000000 Wed Nov 18 11:06:40 2026\n",
    ] {
        assert!(text.contains(l), "{l:?} not in {text}");
    }
}

#[test]
fn summary_in_flow_reports_layout() {
    let r = run("summary-detail", ReportOptions::default());
    let o = Output::new("+octets").unwrap();
    let text = render_flow_tools(&r, &[], &o, "sum", None, 0);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "# rec1: records,ignores,flows,octets,packets,duration"
    );
    assert_eq!(lines[1], "0,1,5,5110,19,133000");
    assert!(lines[2]
        .starts_with("# rec2: time_real,aflowtime,aps,afs,apf,fps,fps_real,psize32,psize64,"));
    assert!(lines[2].ends_with(",ftime28000,ftime30000,ftime_other"));
    let vals: Vec<&str> = lines[3].split(',').collect();
    assert_eq!(vals.len(), lines[2].split(',').count());
    assert_eq!(
        &vals[..5],
        [
            "541",
            "26600.000000",
            "268.000000",
            "1022.000000",
            "3.000000"
        ]
    );
    // psize32: 1 of 5 flows.
    assert_eq!(vals[7], "0.200000");
}
