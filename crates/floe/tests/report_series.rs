//! `floe report -r time-series/KEY --series N`: the top N keys per
//! interval with the rest as "other", agreeing with the plain
//! `-r time-series/KEY` rows and `-r time-series` totals of the same
//! store; text, CSV, HTML; wrong uses refused with the reason.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{StoreConfig, StoreWriter, Zone};

mod common;
use common::FLOE;

/// Two hours of ten-minute files: 30 sources with skewed sizes, some
/// flows spanning interval boundaries.
fn store(root: &Path) -> i64 {
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    c.block_records = 50;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut x: u64 = 99;
    let mut at = t0;
    for i in 0..3000i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let start = t0 + i * 2_400;
        let src = (x % 30) as u8;
        let f = Flow {
            start_ms: start,
            end_ms: start + (x % 300_000) as i64,
            src_addr: std::net::IpAddr::from([10, 1, 0, src]),
            dst_addr: "192.0.2.1".parse().unwrap(),
            protocol: 6,
            dst_port: 443,
            packets: 1 + u64::from(src),
            octets: 100 * (1 + u64::from(src) * u64::from(src)) + (x >> 40) % 100,
            ..Flow::default()
        };
        at = at.max(f.end_ms);
        w.write(at, &[f]).unwrap();
    }
    w.close(at + 1_000_000).unwrap();
    t0
}

fn floe(args: &[&str]) -> std::process::Output {
    Command::new(FLOE).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = floe(args);
    assert!(
        o.status.success(),
        "floe {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// An interval start as the report's JSON writes it.
fn utc(ms: i64) -> String {
    floe_flow::time::format_utc_ms(ms).replace(".000Z", "Z")
}

fn num(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn series_agree_with_the_plain_time_series() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = store(dir.path());
    let d = dir.path().to_str().unwrap();
    let (from, to) = ("2026-11-22 10:00", "2026-11-22 12:00");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "report",
        "-r",
        "time-series/ip-source-address",
        "--interval",
        "600",
        "--series",
        "5",
        "--zone",
        "UTC",
        "-t",
        from,
        "-T",
        to,
        "-f",
        "json",
        d,
    ]))
    .unwrap();
    let a = &json["answer"];
    let starts: Vec<i64> = a["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(starts.len(), 12);
    assert_eq!(starts[0], t0);
    let series = a["series"].as_array().unwrap();
    assert_eq!(series.len(), 5);
    let labels: Vec<&str> = series
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();

    // The plain report's rows, per (key, interval start in seconds).
    let plain: serde_json::Value = serde_json::from_str(&ok(&[
        "report",
        "-r",
        "time-series/ip-source-address",
        "--interval",
        "600",
        "--zone",
        "UTC",
        "-t",
        from,
        "-T",
        to,
        "-f",
        "json",
        d,
    ]))
    .unwrap();
    let mut rows: HashMap<(String, String), u64> = HashMap::new();
    let mut by_key: HashMap<String, u64> = HashMap::new();
    for r in plain["rows"].as_array().unwrap() {
        let key = r["ip-source-address"].as_str().unwrap().to_string();
        *by_key.entry(key.clone()).or_default() += num(&r["octets"]);
        rows.insert(
            (key, r["time"].as_str().unwrap().to_string()),
            num(&r["octets"]),
        );
    }
    assert!(!rows.is_empty());
    // The ranking: by octets over the range, largest first.
    let mut ranked: Vec<(String, u64)> = by_key.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let want: Vec<&str> = ranked[..5].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(labels, want);
    for s in series {
        let label = s["label"].as_str().unwrap();
        for (i, v) in s["values"].as_array().unwrap().iter().enumerate() {
            let want = rows
                .get(&(label.to_string(), utc(starts[i])))
                .copied()
                .unwrap_or(0);
            assert_eq!(num(&v["octets"]), want, "{label} at {}", starts[i]);
        }
    }
    // Other is everything else: series plus other make the total, which
    // is the plain time series' total per interval.
    let totals: serde_json::Value = serde_json::from_str(&ok(&[
        "report",
        "-r",
        "time-series",
        "--interval",
        "600",
        "--zone",
        "UTC",
        "-t",
        from,
        "-T",
        to,
        "-f",
        "json",
        d,
    ]))
    .unwrap();
    let per: HashMap<String, u64> = totals["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["time"].as_str().unwrap().to_string(), num(&r["octets"])))
        .collect();
    let other = a["other"]["values"].as_array().unwrap();
    let total = a["total"]["values"].as_array().unwrap();
    for i in 0..starts.len() {
        let sum: u64 = series
            .iter()
            .map(|s| num(&s["values"][i]["octets"]))
            .sum::<u64>()
            + num(&other[i]["octets"]);
        assert_eq!(sum, num(&total[i]["octets"]), "interval {i}");
        assert_eq!(
            num(&total[i]["octets"]),
            per.get(&utc(starts[i])).copied().unwrap_or(0),
            "interval {i}"
        );
    }
    // The stats are of the values.
    let top = &series[0];
    let vals: Vec<u64> = top["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| num(&v["octets"]))
        .collect();
    assert_eq!(num(&top["stats"]["max"]), *vals.iter().max().unwrap());
    assert_eq!(num(&top["stats"]["total"]), vals.iter().sum::<u64>());
}

#[test]
fn text_csv_and_html() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let d = dir.path().to_str().unwrap();
    let base = [
        "report",
        "-r",
        "time-series/ip-source-address",
        "--interval",
        "1800",
        "--series",
        "2",
        "--sort",
        "+packets",
        "--zone",
        "UTC",
        "-t",
        "2026-11-22 10:00",
        "-T",
        "2026-11-22 12:00",
    ];
    let text = ok(&[&base[..], &[d]].concat());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("# time-series/ip-source-address"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("time (packets)") && lines[1].ends_with("other    total"),
        "{text}"
    );
    assert!(lines[2].starts_with("2026-11-22 10:00"), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("p95")), "{text}");

    let csv = ok(&[&base[..], &["-f", "csv", d]].concat());
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "interval_start,series,flows,packets,octets");
    // 4 intervals of 2 series, other and total.
    assert_eq!(rows.len(), 1 + 4 * 4, "{csv}");
    // The same two series in the table, the CSV and the page.
    let top: Vec<&str> = lines[1].split_whitespace().skip(2).take(2).collect();
    assert!(
        rows[1].starts_with(&format!("2026-11-22T10:00:00.000Z,{},", top[0])),
        "{csv}"
    );
    assert!(
        rows[2].starts_with(&format!("2026-11-22T10:00:00.000Z,{},", top[1])),
        "{csv}"
    );
    let first: Vec<u64> = lines[2]
        .split_whitespace()
        .skip(2)
        .map(|v| v.parse().unwrap())
        .collect();
    let csv_first: Vec<u64> = rows[1..5]
        .iter()
        .map(|r| r.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    assert_eq!(first, csv_first, "{text}\n{csv}");
    assert_eq!(first[0] + first[1] + first[2], first[3]);

    let html = ok(&[&base[..], &["-f", "html", d]].concat());
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains(&format!("<th>{}</th>", top[0])),
        "{html}"
    );
}

#[test]
fn wrong_uses_say_why() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let d = dir.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["-r", "ip-source-address", "--series", "3", d],
            "time series of a key",
        ),
        (&["-r", "time-series", "--series", "3", d], "needs a key"),
        (
            &[
                "-r",
                "time-series/ip-source-address",
                "--series",
                "3",
                "--sort",
                "+duration",
                d,
            ],
            "+octets, +packets or +flows",
        ),
        (
            &[
                "-r",
                "time-series/ip-source-address",
                "--series",
                "3",
                "-f",
                "flow-tools",
                d,
            ],
            "flow-report's layout",
        ),
        (
            &[
                "-r",
                "time-series/ip-source-address",
                "--series",
                "3",
                "--filter",
                "proto tcp and",
                d,
            ],
            "column",
        ),
        (
            &[
                "-r",
                "time-series/ip-source-address",
                "--series",
                "3",
                "-t",
                "2016-01-01",
                "-T",
                "2026-01-01",
                d,
            ],
            "range",
        ),
        (
            &[
                "-r",
                "time-series/ip-source-address",
                "--series",
                "3",
                "/no/such/dir",
            ],
            "store",
        ),
    ];
    for (args, says) in cases {
        let o = floe(&[&["report"][..], args].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A window with no flows is "nothing to report" (3), not an error.
    let o = floe(&[
        "report",
        "-r",
        "time-series/ip-source-address",
        "--series",
        "3",
        "--zone",
        "UTC",
        "-t",
        "2026-11-23 10:00",
        "-T",
        "2026-11-23 11:00",
        d,
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Keys people read get their names (the protocol, the port's service) in
/// the text and the page; CSV keeps the numbers, JSON has both; --numeric
/// shows numbers everywhere.
#[test]
fn series_are_named_for_people_and_numbered_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let d = dir.path().to_str().unwrap();
    let base = |key: &str| {
        vec![
            "report".to_string(),
            "-r".into(),
            format!("time-series/{key}"),
            "--interval".into(),
            "3600".into(),
            "--series".into(),
            "3".into(),
            "--zone".into(),
            "UTC".into(),
            "-t".into(),
            "2026-11-22 10:00".into(),
            "-T".into(),
            "2026-11-22 12:00".into(),
        ]
    };
    let run = |key: &str, more: &[&str]| {
        let mut a = base(key);
        a.extend(more.iter().map(|s| s.to_string()));
        a.push(d.to_string());
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let head = |t: &str| t.lines().nth(1).unwrap().to_string();
    let text = run("ip-protocol", &[]);
    assert!(head(&text).split_whitespace().any(|w| w == "TCP"), "{text}");
    let numeric = run("ip-protocol", &["--numeric"]);
    assert!(
        head(&numeric).split_whitespace().any(|w| w == "6"),
        "{numeric}"
    );
    assert!(!numeric.contains("TCP"), "{numeric}");
    let ports = run("ip-destination-port", &[]);
    assert!(head(&ports).contains("443 (https)"), "{ports}");
    let csv = run("ip-protocol", &["-f", "csv"]);
    assert!(csv.lines().nth(1).unwrap().contains(",6,"), "{csv}");
    assert!(!csv.contains("TCP"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&run("ip-protocol", &["-f", "json"])).unwrap();
    let s = &json["answer"]["series"][0];
    assert_eq!(
        (s["label"].as_str(), s["name"].as_str()),
        (Some("6"), Some("TCP")),
        "{json}"
    );
    let html = run("ip-protocol", &["-f", "html"]);
    assert!(html.contains("<th>TCP</th>"), "{html}");
}
