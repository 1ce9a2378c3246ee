//! The local backend over a store written here: answers equal the report
//! engine's on the same flows, top N plus other add up to the total, the
//! cache answers without reading flows (never for an open file), and bad
//! queries say what is wrong.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use floe_flow::Flow;
use floe_query::{Backend, Cache, LocalStore, Measure, Query, QueryError};
use floe_report::{Report, ReportOptions, ReportType, Sort, Val};
use floe_store::{StoreConfig, StoreWriter, Zone};

const T0: i64 = 1_795_305_600_000; // 2026-11-22 00:00 UTC

fn flows() -> Vec<Flow> {
    let mut out = Vec::new();
    let mut x: u64 = 17;
    for i in 0..6000i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let start = T0 + i * 600 + (x % 500) as i64;
        out.push(Flow {
            start_ms: start,
            // Some flows span interval boundaries.
            end_ms: start + (x % 400_000) as i64,
            exporter: if i % 3 == 0 { "192.0.2.1" } else { "192.0.2.2" }
                .parse()
                .unwrap(),
            src_addr: IpAddr::from([10, 0, (x >> 8) as u8 % 4, (x >> 16) as u8 % 40]),
            dst_addr: IpAddr::from([192, 0, 2, (x >> 24) as u8 % 8]),
            protocol: if x.is_multiple_of(5) { 17 } else { 6 },
            dst_port: [443, 80, 53, 22][(x >> 32) as usize % 4],
            packets: 1 + (x >> 40) % 50,
            octets: 60 + (x >> 20) % 100_000,
            ..Flow::default()
        });
    }
    out
}

/// Ten-minute files over an hour; the last one left open.
fn store(root: &Path, fs: &[Flow]) {
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    c.block_records = 300;
    c.flush_interval_ms = 1;
    let (mut w, _) = StoreWriter::open(c, T0).unwrap();
    let mut at = T0;
    for chunk in fs.chunks(100) {
        // Filed by the flows' end, as floed files them by arrival.
        at = at.max(chunk.iter().map(|f| f.end_ms).max().unwrap());
        w.write(at, chunk).unwrap();
    }
    // Write what waits, and leave the last period open (a tmp- file).
    w.tick(at + 2).unwrap();
    drop(w);
}

fn query(key: &str, interval_min: i64, top: usize) -> Query {
    Query {
        from_ms: T0,
        to_ms: T0 + 3_600_000,
        interval_ms: interval_min * 60_000,
        key: key.into(),
        src_format: None,
        dst_format: None,
        filter: None,
        exporters: Vec::new(),
        measure: Measure::Octets,
        top,
        only: Vec::new(),
        values: true,
    }
}

/// The report engine over all the flows, for the same time series.
fn expected(fs: &[Flow], q: &Query) -> HashMap<(i64, String), (u64, u64, u64)> {
    let kind = ReportType::parse(&format!("time-series/{}", q.key)).unwrap();
    let mut r = Report::with_options(
        kind,
        1 << 20,
        ReportOptions {
            interval_secs: (q.interval_ms / 1000) as u64,
            ..ReportOptions::default()
        },
    );
    let kept: Vec<Flow> = match &q.filter {
        Some(t) => {
            let f = floe_filter::Filter::parse(t).unwrap();
            fs.iter().filter(|x| f.matches(x)).cloned().collect()
        }
        None => fs.to_vec(),
    };
    r.add(&kept).unwrap();
    r.rows(Sort::parse("-key").unwrap(), None)
        .into_iter()
        .filter_map(|row| {
            let Val::T(s) = row.key[0] else { return None };
            let ms = s as i64 * 1000;
            (ms >= q.from_ms && ms < q.to_ms).then(|| {
                let key: Vec<String> = row.key[1..].iter().map(Val::to_string).collect();
                (
                    (ms, key.join(" ")),
                    (
                        row.counters.flows,
                        row.counters.packets,
                        row.counters.octets,
                    ),
                )
            })
        })
        .collect()
}

fn check(a: &floe_query::Answer, want: &HashMap<(i64, String), (u64, u64, u64)>) {
    for s in &a.series {
        for (i, v) in s.values.iter().enumerate() {
            let w = want
                .get(&(a.starts[i], s.label.clone()))
                .copied()
                .unwrap_or_default();
            assert_eq!(
                (v.flows, v.packets, v.octets),
                w,
                "{} at {}",
                s.label,
                a.starts[i]
            );
        }
    }
    // Series, other and total add up, interval by interval.
    for i in 0..a.starts.len() {
        let mut sum = a.other.as_ref().map_or(0, |o| o.values[i].octets);
        for s in &a.series {
            sum += s.values[i].octets;
        }
        assert_eq!(sum, a.total.values[i].octets, "interval {i}");
        let all: u64 = want
            .iter()
            .filter(|((t, _), _)| *t == a.starts[i])
            .map(|(_, v)| v.2)
            .sum();
        assert_eq!(a.total.values[i].octets, all);
    }
}

#[test]
fn answers_equal_the_report_engine_and_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let fs = flows();
    store(dir.path(), &fs);
    let backend = LocalStore::new(dir.path()).with_threads(2);
    for (key, interval, top) in [
        ("ip-source-address", 10, 5),
        ("ip-destination-port", 5, 0),
        ("ip-source-address/ip-destination-address", 60, 10),
        ("ip-protocol", 1, 1),
    ] {
        let q = query(key, interval, top);
        let a = backend.answer(&q).unwrap();
        let want = expected(&fs, &q);
        assert_eq!(a.starts.len(), (60 / interval) as usize);
        if top > 0 {
            assert_eq!(a.series.len(), top, "{key}");
            assert!(a.other.is_some(), "{key}");
        }
        check(&a, &want);
        // Ranked by the total of the measure.
        for w in a.series.windows(2) {
            assert!(w[0].stats.total >= w[1].stats.total);
        }
        assert_eq!(a.columns.len(), key.split('/').count());
    }
    // Filters and exporters.
    let mut q = query("ip-destination-port", 10, 3);
    q.filter = Some("proto tcp".into());
    q.exporters = vec!["192.0.2.1".parse().unwrap()];
    let a = backend.answer(&q).unwrap();
    let mut want_q = q.clone();
    want_q.filter = Some("proto tcp and exporter 192.0.2.1".into());
    check(&a, &expected(&fs, &want_q));
    assert!(a
        .series
        .iter()
        .all(|s| s.label != "53" || a.series.len() < 4));
}

#[test]
fn the_cache_answers_closed_files_without_reading_flows() {
    let dir = tempfile::tempdir().unwrap();
    let fs = flows();
    store(dir.path(), &fs);
    let cache_dir = dir.path().join(".cache");
    let backend = LocalStore::new(dir.path()).with_cache(Cache::new(&cache_dir, 64 << 20));
    let q = query("ip-source-address", 10, 5);
    let cold = backend.answer(&q).unwrap();
    assert_eq!(cold.stats.cached, 0);
    assert!(cold.stats.flows_read > 0);
    let warm = backend.answer(&q).unwrap();
    let open_files = std::fs::read_dir(dir.path().join("2026/2026-11/2026-11-22"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("tmp-")
        })
        .count();
    assert_eq!(open_files, 1, "the last period is still open");
    assert_eq!(warm.stats.cached, warm.stats.files - open_files);
    // Only the open file's flows were read.
    assert!(warm.stats.flows_read < cold.stats.flows_read / 2);
    assert_eq!(warm.series, cold.series);
    assert_eq!(warm.total, cold.total);
    // Another range over the same files: still from the cache.
    let mut q2 = q.clone();
    q2.from_ms += 1_200_000;
    let part = backend.answer(&q2).unwrap();
    assert!(part.stats.cached > 0);
    check(&part, &expected(&fs, &q2));
    // The cache can go at any time.
    std::fs::remove_dir_all(&cache_dir).unwrap();
    assert_eq!(backend.answer(&q).unwrap().series, cold.series);
}

#[test]
fn bad_queries_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalStore::new(dir.path());
    let mut ten_years = query("ip-source-address", 60, 5);
    ten_years.to_ms = ten_years.from_ms + 3650 * 86_400_000;
    let cases = [
        (ten_years, "days at once"),
        (query("ip-source-address", 0, 5), "whole minutes"),
        (query("no-such-key", 10, 5), "no-such-key"),
        (query("summary-detail", 10, 5), "not a key a graph can have"),
        (query("ip-source-address", 10, 5000), "at most 200"),
        (
            Query {
                filter: Some("proto tcp and".into()),
                ..query("ip-protocol", 10, 5)
            },
            "column",
        ),
        (
            Query {
                interval_ms: 60_000,
                to_ms: T0 + 30 * 86_400_000,
                ..query("ip-protocol", 1, 5)
            },
            "intervals",
        ),
    ];
    for (q, says) in cases {
        let e = backend.answer(&q).unwrap_err();
        assert!(e.is_invalid(), "{e}");
        assert!(e.to_string().contains(says), "{e} should say {says:?}");
    }
    // A filter from a browser may not read files.
    let strict = LocalStore::new(dir.path())
        .with_filter_options(floe_filter::Options::default().without_includes());
    let e = strict
        .answer(&Query {
            filter: Some("@include /etc/passwd".into()),
            ..query("ip-protocol", 10, 5)
        })
        .unwrap_err();
    assert!(matches!(e, QueryError::Filter(_)), "{e}");
    assert!(e.to_string().contains("@include is not allowed"), "{e}");
}
