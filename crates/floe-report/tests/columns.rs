//! Reports fed columns answer exactly as reports fed flows: every kind of
//! key (addresses, ports, numbers, distributions, both ends, counts,
//! time series, summaries), address formats, scales and rates, IPv4 and
//! IPv6, every row or a selection of them, one batch or several.

use floe_flow::{Flow, FlowBatch};
use floe_report::{AddrFormat, Report, ReportOptions, ReportType, Scale, Sort};
use floe_synth::{realistic_flows, Mix};

const KINDS: &[&str] = &[
    "ip-source-address",
    "ip-destination-address",
    "ip-source/destination-address",
    "ip-source/destination-address/ip-destination-port",
    "ip-source-address/ip-source-port/ip-protocol/ip-tos",
    "ip-next-hop-address/ip-exporter-address",
    "ip-source-port",
    "ip-destination-port/ip-protocol",
    "input/output-interface",
    "source/destination-as",
    "engine-id/engine-type",
    "packet-size",
    "octets",
    "packets",
    "bps",
    "pps",
    "duration",
    "time-series",
    "ip-protocol/time-series",
    "time-series/ip-source-address",
    "ip-destination-address/ip-source-port/time-series",
    "ip-address",
    "ip-port",
    "ip-source-address-destination-count",
    "ip-destination-address-source-count",
    "summary-counters",
    "summary-detail",
];

fn flows() -> Vec<Flow> {
    let mut fl = realistic_flows(4000, 11, &Mix::default());
    for (i, f) in fl.iter_mut().enumerate() {
        // Some ignores, sampling, masks, numbers past 32 bits, IPv6 next
        // hops and exporters, clocks gone backwards.
        if i % 97 == 0 {
            f.packets = 0;
        }
        f.sampling_interval = (i % 3) as u32 * 50;
        f.src_mask = (i % 33) as u8;
        f.dst_mask = (i % 129) as u8;
        if i % 211 == 0 {
            f.octets = 1 << 40;
        }
        if i % 5 == 0 {
            f.next_hop = "2001:db8::1".parse().unwrap();
        }
        if i % 7 == 0 {
            f.exporter = "2001:db8::99".parse().unwrap();
        }
        if i % 89 == 0 {
            f.end_ms = f.start_ms - 500;
        }
        f.tos = (i % 4) as u8;
        f.engine_id = (i % 2) as u8;
        f.input_if = (i % 5) as u32;
    }
    fl
}

fn options() -> Vec<ReportOptions> {
    let mut v = vec![ReportOptions::default()];
    v.push(ReportOptions {
        scale: Scale::Factor(100),
        rates: true,
        ..ReportOptions::default()
    });
    v.push(ReportOptions {
        scale: Scale::Sampling,
        src_format: AddrFormat::parse("prefix-mask").unwrap(),
        dst_format: AddrFormat::parse("prefix-len/24,48").unwrap(),
        interval_secs: 60,
        ..ReportOptions::default()
    });
    v
}

fn same(a: &Report, b: &Report, what: &str) {
    assert_eq!(a.totals, b.totals, "{what}: totals");
    assert_eq!(a.ignores, b.ignores, "{what}: ignores");
    assert_eq!(
        (a.first_ms, a.last_ms),
        (b.first_ms, b.last_ms),
        "{what}: span"
    );
    assert_eq!(a.summary, b.summary, "{what}: summary");
    assert_eq!(a.keys(), b.keys(), "{what}: keys");
    for sort in ["+octets", "-flows", "+key", "+avg-bps"] {
        let s = Sort::parse(sort).unwrap();
        assert_eq!(a.rows(s, None), b.rows(s, None), "{what}: rows by {sort}");
    }
}

#[test]
fn column_reports_are_row_reports() {
    let fl = flows();
    let batch = FlowBatch::from_flows(&fl);
    let every: Vec<u32> = (0..fl.len() as u32).collect();
    let some: Vec<u32> = every.iter().copied().filter(|i| i % 3 != 1).collect();
    let chosen: Vec<Flow> = some.iter().map(|i| fl[*i as usize].clone()).collect();
    for kind in KINDS {
        for (k, opts) in options().into_iter().enumerate() {
            let t = ReportType::parse(kind).unwrap();
            let new = || Report::with_options(t.clone(), 1_000_000, opts);
            let mut rows = new();
            rows.add(&fl).unwrap();
            let mut cols = new();
            cols.add_batch(&batch, &every).unwrap();
            same(&rows, &cols, &format!("{kind}, options {k}"));
            // A selection, over several batches of only the report's
            // columns, by a report that counted other flows and was
            // cleared.
            let mut rows = new();
            rows.add(&chosen).unwrap();
            cols.clear();
            let need = cols.cols();
            for part in fl.chunks(1000) {
                let mut b = FlowBatch::new();
                b.fill_from(part, need);
                let sel: Vec<u32> = (0..part.len() as u32)
                    .filter(|i| some.binary_search(&(i + offset(&fl, part))).is_ok())
                    .collect();
                cols.add_batch(&b, &sel).unwrap();
            }
            same(
                &rows,
                &cols,
                &format!("{kind}, options {k}, selected, in batches"),
            );
        }
    }
}

/// Index of `part`'s first flow in `all`.
fn offset(all: &[Flow], part: &[Flow]) -> u32 {
    ((part.as_ptr() as usize - all.as_ptr() as usize) / std::mem::size_of::<Flow>()) as u32
}

#[test]
fn a_batch_without_the_reports_columns_is_an_error() {
    let fl = flows();
    let mut b = FlowBatch::new();
    b.fill_from(&fl, floe_flow::ColSet::of_fields(["octets"]).unwrap());
    let mut r = Report::new(ReportType::parse("ip-source-address").unwrap(), 10);
    assert!(r.add_batch(&b, &[0]).is_err());
}

#[test]
fn the_key_cap_holds_on_columns_too() {
    let fl = flows();
    let b = FlowBatch::from_flows(&fl);
    let every: Vec<u32> = (0..fl.len() as u32).collect();
    let mut r = Report::new(
        ReportType::parse("ip-source-address/ip-source-port").unwrap(),
        100,
    );
    assert!(matches!(
        r.add_batch(&b, &every),
        Err(floe_report::ReportError::TooManyKeys(100))
    ));
}

/// Keys of several parts with IPv6 in them are kept in two forms (two
/// wide and two narrow lanes when they fit, all four parts whole when
/// not): whichever a key takes, its counts are a plain map's.
#[test]
fn multi_part_keys_with_ipv6_count_as_a_plain_map_does() {
    use std::collections::HashMap;
    use std::net::IpAddr;
    let mut fl = realistic_flows(
        6000,
        5,
        &Mix {
            ipv6_share: 0.5,
            ..Mix::default()
        },
    );
    // Zero and small values take no lane or a narrow one, even in IPv6.
    let odd: [IpAddr; 4] = [
        "::".parse().unwrap(),
        "::1".parse().unwrap(),
        "0.0.0.0".parse().unwrap(),
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
    ];
    for (i, f) in fl.iter_mut().enumerate() {
        if i % 13 == 0 {
            f.src_addr = odd[i % 4];
        }
        if i % 17 == 0 {
            f.dst_addr = odd[(i / 17) % 4];
        }
        if i % 5 == 0 {
            f.dst_port = 0;
            f.src_port = 0;
        }
        f.tos = (i % 3) as u8;
    }
    let batch = FlowBatch::from_flows(&fl);
    let every: Vec<u32> = (0..fl.len() as u32).collect();
    type Parts = fn(&Flow) -> Vec<String>;
    let kinds: [(&str, Parts); 2] = [
        ("ip-source/destination-address/ip-destination-port", |f| {
            vec![
                f.src_addr.to_string(),
                f.dst_addr.to_string(),
                f.dst_port.to_string(),
            ]
        }),
        ("ip-source-address/ip-source-port/ip-protocol/ip-tos", |f| {
            vec![
                f.src_addr.to_string(),
                f.src_port.to_string(),
                f.protocol.to_string(),
                f.tos.to_string(),
            ]
        }),
    ];
    for (kind, parts) in kinds {
        let mut want: HashMap<Vec<String>, (u64, u64)> = HashMap::new();
        for f in fl.iter().filter(|f| f.packets > 0) {
            let e = want.entry(parts(f)).or_default();
            e.0 += 1;
            e.1 += f.octets;
        }
        let t = ReportType::parse(kind).unwrap();
        let mut by_rows = Report::new(t.clone(), 1_000_000);
        by_rows.add(&fl).unwrap();
        let mut by_cols = Report::new(t, 1_000_000);
        by_cols.add_batch(&batch, &every).unwrap();
        for r in [by_rows, by_cols] {
            let got: HashMap<Vec<String>, (u64, u64)> = r
                .rows(Sort::parse("+octets").unwrap(), None)
                .into_iter()
                .map(|row| {
                    let key = row.key.iter().map(|v| v.to_string()).collect();
                    (key, (row.counters.flows, row.counters.octets))
                })
                .collect();
            assert_eq!(got.len(), want.len(), "{kind}: keys");
            assert_eq!(got, want, "{kind}");
        }
    }
}

#[test]
fn a_large_report_merged_and_ranked_on_two_threads_answers_as_on_one() {
    // Enough flows for every path that takes threads or looks ahead: more
    // keys than a merge or a ranking splits (2^16, 2^18), mostly new (the
    // 3-part report's tables grow to the size the rows to come need).
    let fl = realistic_flows(
        320_000,
        9,
        &Mix {
            ipv6_share: 0.3,
            ..Mix::default()
        },
    );
    let batch = FlowBatch::from_flows(&fl);
    let half = fl.len() / 2;
    let rows: Vec<u32> = (0..fl.len() as u32).collect();
    // Batches of 4096 flows, each given once, as the scan gives blocks.
    let batches: Vec<(usize, FlowBatch)> = (0..fl.len())
        .step_by(4096)
        .map(|at| {
            (
                at,
                FlowBatch::from_flows(&fl[at..(at + 4096).min(fl.len())]),
            )
        })
        .collect();
    for kind in [
        "ip-source/destination-address/ip-destination-port",
        "ip-source-address",
    ] {
        let t = ReportType::parse(kind).unwrap();
        let mut one = Report::new(t.clone(), usize::MAX);
        one.add_batch(&batch, &rows).unwrap();
        // Two threads' shares, each told its rows.
        let share = |range: std::ops::Range<usize>| {
            let mut r = Report::new(t.clone(), usize::MAX);
            r.expect_rows(range.len() as u64);
            for (_, b) in batches.iter().filter(|(at, _)| range.contains(at)) {
                let every: Vec<u32> = (0..b.len() as u32).collect();
                r.add_batch(b, &every).unwrap();
            }
            r
        };
        let mut two = share(0..half);
        two.merge_on(share(half..fl.len()), 2).unwrap();
        two.use_threads(2);
        assert_eq!(two.keys(), one.keys(), "{kind}: keys");
        assert!(two.keys() > 1 << 18 || kind == "ip-source-address");
        let key = |r: &floe_report::Row| r.key.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        for (sort, records) in [
            ("+octets", Some(20)),
            ("+flows", Some(50)),
            ("-packets", None),
        ] {
            let sort = Sort::parse(sort).unwrap();
            let (a, b) = (one.rows(sort, records), two.rows(sort, records));
            assert_eq!(a.len(), b.len(), "{kind} {sort:?}");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(key(x), key(y), "{kind} {sort:?}");
                assert_eq!(x.counters, y.counters, "{kind} {sort:?}");
            }
        }
    }
}
