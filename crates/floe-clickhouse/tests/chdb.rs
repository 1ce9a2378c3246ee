//! The current ClickHouse (26, in process with chdb-core) runs the modern
//! schema, loads floe's RowBinary batches through the shipper, and
//! answers the SQL of a table of reports (every key kind, address
//! formats, scaling, sorts, windows, filters with every construct of the
//! language) exactly as floe's report engine answers them from the same
//! flows.

mod common;

use std::time::Duration;

use floe_clickhouse::query::{answer, compile, ReportQuery, Source};
use floe_clickhouse::{
    init, Client, Dialect, SchemaOptions, ShipOptions, Shipper, Step, Target, Timeouts,
};
use floe_filter::Filter;
use floe_flow::Flow;
use floe_report::{AddrFormat, Report, ReportOptions, ReportType, Scale, Sort};
use floe_test_support::clickhouse::Chdb;

/// Generated flows with every field varied: sampling, engines, source
/// ids, masks, flows without packets, both ends equal, long flows.
fn flows() -> Vec<Flow> {
    let mix = floe_synth::Mix {
        ipv6_share: 0.2,
        day_start_ms: common::START_MS,
        span_ms: 2 * 3_600_000,
    };
    let mut v = floe_synth::realistic_flows(30_000, 11, &mix);
    for (i, f) in v.iter_mut().enumerate() {
        if i % 7 == 0 {
            f.sampling_interval = 100;
        }
        if i % 11 == 0 {
            f.engine_type = 1;
            f.engine_id = (i % 3) as u8;
            f.source_id = (i % 5) as u32;
        }
        if i % 13 == 0 {
            f.src_mask = (i % 33) as u8;
            f.dst_mask = (i % 29) as u8;
        }
        if i % 97 == 0 {
            f.packets = 0;
        }
        if i % 101 == 0 {
            f.dst_addr = f.src_addr;
            f.dst_port = f.src_port;
        }
        if i % 151 == 0 {
            // A long flow spanning many intervals.
            f.start_ms -= 3_000_000;
        }
    }
    v
}

const H: i64 = 3_600_000;

#[test]
fn reports_answered_by_clickhouse_26_equal_floes() {
    let Some(ch) = Chdb::start() else { return };
    let target = Target::parse(&ch.url(), "floe", "flows").unwrap();
    let client = Client::new(target.clone(), Timeouts::default());
    let schema = SchemaOptions::default();
    init(&client, &schema).unwrap();
    assert_eq!(
        floe_clickhouse::detect_dialect(&client).unwrap(),
        Dialect::Modern
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let all = flows();
    common::write_store(&dir, &all, 2_000);
    let mut o = ShipOptions::new(target, "test-collector");
    o.batch_flows = 10_000;
    o.batch_interval = Duration::ZERO;
    o.state_path = Some(tmp.path().join("state.json"));
    let mut s = Shipper::open(&dir, o).unwrap();
    while !s.finished() {
        if let Step::Idle = s.step(true).unwrap() {
            break;
        }
    }
    drop(s);
    assert_eq!(common::table_sums(&ch, "floe.flows"), common::sums(&all));
    assert_eq!(
        common::table_blocks(&ch, "floe.flows"),
        common::store_blocks(&dir)
    );

    let windows = [
        (i64::MIN, i64::MAX),
        // Aligned on hours: consolidated tables can answer.
        (common::START_MS + H, common::START_MS + 2 * H),
        // Not aligned.
        (common::START_MS + 1_234_567, common::START_MS + 5_000_000),
    ];
    let prefix = |s: &str| AddrFormat::parse(s).unwrap();
    // (type, filter, sort, records, options)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<usize>,
        ReportOptions,
    );
    let cases: Vec<Case> = vec![
        (
            "ip-source-address",
            None,
            "+octets",
            Some(15),
            ReportOptions::default(),
        ),
        (
            "ip-destination-address",
            Some("proto tcp and dst port 443"),
            "+flows",
            Some(10),
            ReportOptions::default(),
        ),
        (
            "ip-source/destination-address",
            Some("not ipv6"),
            "+packets",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "ip-address",
            None,
            "+octets",
            Some(10),
            ReportOptions::default(),
        ),
        (
            "ip-port",
            Some("udp"),
            "-key",
            Some(25),
            ReportOptions::default(),
        ),
        (
            "ip-source-port",
            Some("src port 1024-65535"),
            "+flows",
            Some(10),
            ReportOptions::default(),
        ),
        (
            "ip-destination-port",
            Some("dst port in [53, 80, 443, 8000-9000]"),
            "+octets",
            None,
            ReportOptions::default(),
        ),
        (
            "ip-protocol",
            None,
            "+octets",
            None,
            ReportOptions::default(),
        ),
        (
            "ip-tos",
            Some("tos mask 0x20 = 0x20 or tos 0"),
            "+flows",
            None,
            ReportOptions::default(),
        ),
        (
            "input/output-interface",
            Some("in if 3 or out if > 5"),
            "+octets",
            None,
            ReportOptions::default(),
        ),
        (
            "source/destination-as",
            Some("src as 15169 or dst as in [13335, 16509]"),
            "+octets",
            Some(30),
            ReportOptions::default(),
        ),
        (
            "ip-next-hop-address",
            Some("next-hop 192.0.2.250 or next-hop 2001:db8::/32"),
            "+octets",
            None,
            ReportOptions::default(),
        ),
        (
            "ip-exporter-address",
            Some("exporter 192.0.2.1 or exporter in [192.0.2.3]"),
            "+flows",
            None,
            ReportOptions::default(),
        ),
        (
            "engine-type/engine-id",
            Some("engine-type 1 and engine-id != 2"),
            "+key",
            None,
            ReportOptions::default(),
        ),
        (
            "packet-size",
            Some("bpp > 500"),
            "+flows",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "octets",
            Some("bytes >= 1000 and bytes < 1M"),
            "+flows",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "packets",
            Some("packets in [1-3, 10]"),
            "-key",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "bps",
            Some("bps > 10k and duration > 1s"),
            "+flows",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "pps",
            Some("pps < 100"),
            "+key",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "duration",
            Some("duration >= 500"),
            "-flows",
            Some(20),
            ReportOptions::default(),
        ),
        (
            "time-series",
            None,
            "-key",
            None,
            ReportOptions {
                interval_secs: 300,
                ..ReportOptions::default()
            },
        ),
        (
            "time-series/ip-protocol",
            Some("flags S and flags mask 0x12 = 0x12"),
            "-key",
            None,
            ReportOptions {
                interval_secs: 600,
                ..ReportOptions::default()
            },
        ),
        (
            "ip-source-address-destination-count",
            None,
            "+count",
            Some(15),
            ReportOptions::default(),
        ),
        (
            "ip-destination-address-source-count",
            Some("src net 10.0.0.0/8"),
            "+octets",
            Some(15),
            ReportOptions::default(),
        ),
        (
            "ip-source-address",
            Some("src net 10.1.0.0/16 or src net 2001:db8:100::/40"),
            "+octets",
            Some(15),
            ReportOptions {
                src_format: prefix("prefix-mask"),
                ..ReportOptions::default()
            },
        ),
        (
            "ip-source/destination-address",
            None,
            "+octets",
            Some(15),
            ReportOptions {
                src_format: prefix("prefix-len"),
                dst_format: prefix("prefix-mask/24,48"),
                ..ReportOptions::default()
            },
        ),
        (
            "ip-destination-address",
            Some("ipv6 and dst mask > 8"),
            "+flows",
            Some(15),
            ReportOptions {
                dst_format: prefix("prefix-len/20,36"),
                ..ReportOptions::default()
            },
        ),
        (
            "ip-protocol/ip-destination-port",
            Some("sampling 100 or source-id 3"),
            "+octets",
            Some(10),
            ReportOptions {
                scale: Scale::Sampling,
                ..ReportOptions::default()
            },
        ),
        (
            "source-as",
            None,
            "+packets",
            Some(5),
            ReportOptions {
                scale: Scale::Factor(10),
                ..ReportOptions::default()
            },
        ),
        (
            "ip-protocol",
            Some("first >= 2026-11-21 23:30 and last < 2026-11-22 00:45"),
            "+avg-bps",
            None,
            ReportOptions {
                rates: true,
                ..ReportOptions::default()
            },
        ),
        (
            "ip-source-port",
            Some("(tcp or udp) and not (src port 443 or dst port 443)"),
            "+max-pps",
            Some(10),
            ReportOptions {
                rates: true,
                ..ReportOptions::default()
            },
        ),
        (
            "summary-counters",
            Some("any"),
            "+octets",
            None,
            ReportOptions::default(),
        ),
        (
            "summary-detail",
            None,
            "+octets",
            None,
            ReportOptions::default(),
        ),
        (
            "ip-exporter-address/ip-protocol",
            Some("exporter 192.0.2.2 and proto in [6, 17]"),
            "+octets",
            Some(5),
            ReportOptions::default(),
        ),
        (
            "input-interface",
            Some("sampling 0"),
            "-key",
            None,
            ReportOptions {
                scale: Scale::Sampling,
                ..ReportOptions::default()
            },
        ),
        (
            "ip-source-address",
            Some("src net 10.0.0.0/8"),
            "+octets",
            Some(10),
            ReportOptions::default(),
        ),
    ];
    let mut consolidated = 0;
    let mut hosts = 0;
    for (i, (type_name, filter, sort, records, options)) in cases.iter().enumerate() {
        // Every window for a few cases, one (in turn) for the others: the
        // test stays a few tens of seconds.
        let some: Vec<(i64, i64)> = if i < 4 {
            windows.to_vec()
        } else {
            vec![windows[i % 3]]
        };
        for window in some {
            let kind = ReportType::parse(type_name).unwrap();
            let sort = Sort::parse(sort).unwrap();
            let mut options = *options;
            options.rates |= sort.needs_rates();
            let filter = filter.map(|f| Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}")));
            let mut local = Report::with_options(kind.clone(), usize::MAX, options);
            let kept: Vec<Flow> = all
                .iter()
                .filter(|f| f.overlaps(window.0, window.1))
                .filter(|f| filter.as_ref().is_none_or(|x| x.matches(f)))
                .cloned()
                .collect();
            local.add(&kept).unwrap();
            let q = ReportQuery {
                kind: kind.clone(),
                options,
                filter: filter.as_ref().map(|f| f.expr().clone()),
                window,
                order: Some((sort, *records)),
            };
            let what = format!("{type_name} {filter:?} {} {window:?}", sort.name());
            for use_consolidated in [false, true] {
                let c = compile(&q, "floe", "flows", Dialect::Modern, use_consolidated).unwrap();
                if use_consolidated && c.source == Source::Flows {
                    continue;
                }
                match c.source {
                    Source::Consolidated(..) => consolidated += 1,
                    Source::Hosts(_) => hosts += 1,
                    Source::Flows => {}
                }
                let got = answer(&client, &q, &c)
                    .unwrap_or_else(|e| panic!("{what}: {e}\n{}", c.statements().join("\n;\n")));
                let what = format!("{what} from {:?}", c.source);
                same(&local, &got, sort, *records, &what);
            }
        }
    }
    assert!(consolidated >= 6 && hosts >= 2, "{consolidated} {hosts}");
}

/// The same report: rows, totals, ignores, span, keys, summary (rates to
/// the last digits floating-point sums may differ in).
fn same(local: &Report, got: &Report, sort: Sort, records: Option<usize>, what: &str) {
    assert_eq!(local.totals, got.totals, "totals of {what}");
    assert_eq!(local.ignores, got.ignores, "ignores of {what}");
    assert_eq!(
        (local.first_ms, local.last_ms),
        (got.first_ms, got.last_ms),
        "span of {what}"
    );
    assert_eq!(local.keys(), got.keys(), "keys of {what}");
    assert_eq!(local.summary, got.summary, "summary of {what}");
    let (a, b) = (local.rows(sort, records), got.rows(sort, records));
    assert_eq!(a.len(), b.len(), "rows of {what}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.key, y.key, "keys of {what}");
        assert_eq!(x.counters, y.counters, "counters of {:?} in {what}", x.key);
        assert_eq!(x.count, y.count, "count of {:?} in {what}", x.key);
        match (&x.rates, &y.rates) {
            (Some(r), Some(s)) => {
                assert_eq!(r.recs, s.recs, "rates of {what}");
                for (u, v) in [
                    (r.avg_bps(), s.avg_bps()),
                    (r.min_bps, s.min_bps),
                    (r.max_bps, s.max_bps),
                    (r.avg_pps(), s.avg_pps()),
                    (r.min_pps, s.min_pps),
                    (r.max_pps, s.max_pps),
                ] {
                    assert!(
                        (u - v).abs() <= 1e-9 * u.abs().max(1.0),
                        "rates of {what}: {u} {v}"
                    );
                }
            }
            (None, None) => {}
            other => panic!("rates of {what}: {other:?}"),
        }
    }
}
