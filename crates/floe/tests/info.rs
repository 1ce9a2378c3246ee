//! `floe info`: an open (tmp-) file's flows, packets and octets on the
//! same base as a closed file's; every exporter counter that is not zero
//! shown in the text too, with what it counts; `--json` is `--format json`.

use std::process::Command;

use floe_flow::time::utc_ms;
use floe_flow::{Counter, ExporterCounters, ExporterKey, Flow};
use floe_store::{StoreConfig, StoreWriter, Zone};

mod common;
use common::FLOE;

/// One closed hourly file and one still open, 40 flows each (2 packets,
/// 150 octets a flow), and counters of two exporters, one of them with
/// absurd times and undecoded sets.
fn store(root: &std::path::Path) {
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 3600;
    c.block_records = 20;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let flows = |at: i64| -> Vec<Flow> {
        (0..40)
            .map(|i| Flow {
                start_ms: at + i * 1_000,
                end_ms: at + i * 1_000 + 500,
                src_addr: "10.0.0.1".parse().unwrap(),
                dst_addr: "192.0.2.1".parse().unwrap(),
                protocol: 17,
                packets: 2,
                octets: 150,
                ..Flow::default()
            })
            .collect()
    };
    let key = |a: &str| ExporterKey {
        address: a.parse().unwrap(),
        source_id: 7,
    };
    let mut odd = ExporterCounters {
        datagrams: 12,
        flows: 80,
        ..ExporterCounters::default()
    };
    odd.extra[Counter::AbsurdTimes] = 3;
    odd.extra[Counter::UndecodedSets] = 5;
    w.write(t0 + 60_000, &flows(t0)).unwrap();
    w.add_counters(t0 + 60_000, key("192.0.2.8"), &odd).unwrap();
    let healthy = ExporterCounters {
        datagrams: 4,
        flows: 40,
        ..ExporterCounters::default()
    };
    w.add_counters(t0 + 60_000, key("192.0.2.9"), &healthy)
        .unwrap();
    // The next hour's file takes 40 flows and stays open.
    let t1 = t0 + 3_600_000;
    w.write(t1 + 60_000, &flows(t1)).unwrap();
    drop(w);
}

fn info(args: &[&str], root: &std::path::Path) -> String {
    let out = Command::new(FLOE)
        .arg("info")
        .args(args)
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_open_files_packets_and_octets_count_with_its_flows() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let text = info(&[], dir.path());
    assert!(text.contains("files 2 (1 open)"), "{text}");
    assert!(
        text.contains("flows 80  packets 160  octets 12000 "),
        "{text}"
    );
    let per_file = info(&["--files"], dir.path());
    let open = per_file.split("tmp-floe.").nth(1).unwrap();
    assert!(
        open.contains("flows 40  packets 80  octets 6000 "),
        "{per_file}"
    );
}

#[test]
fn every_nonzero_counter_is_shown_with_what_it_counts() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let text = info(&[], dir.path());
    let absurd = text
        .lines()
        .find(|l| l.trim_start().starts_with("absurd_times"))
        .unwrap_or_else(|| panic!("no absurd_times line in {text}"));
    assert_eq!(absurd.split_whitespace().nth(1), Some("3"), "{absurd}");
    assert!(absurd.contains(Counter::AbsurdTimes.meaning()), "{absurd}");
    assert!(text.contains("undecoded_sets"), "{text}");
    // Under the exporter that has them, and nothing for the healthy one.
    let odd = text.find("192.0.2.8 (7)").unwrap();
    let healthy = text.find("192.0.2.9 (7)").unwrap();
    let at = text.find("absurd_times").unwrap();
    assert!(odd < at && at < healthy, "{text}");
    assert_eq!(
        text.matches("_").count(),
        2,
        "only nonzero counters: {text}"
    );
    // JSON has them too, by the same names.
    let json: serde_json::Value = serde_json::from_str(&info(&["--json"], dir.path())).unwrap();
    let e = &json["entries"][0]["exporters"][0];
    assert_eq!(e["extra"]["absurd_times"], 3, "{json}");
    // --json is --format json.
    assert_eq!(
        info(&["--json"], dir.path()),
        info(&["--format", "json"], dir.path())
    );
    let out = Command::new(FLOE)
        .args(["info", "--json", "--format", "text"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "one meaning per spelling");
}

/// A running floed's last reasons per exporter (its stats file) are shown
/// under the exporter: "why are 113 datagrams from this router bad?"
#[test]
fn the_last_reasons_of_a_running_collector_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let now = floe_flow::time::utc_ms(2030, 1, 1, 0, 0, 0);
    let stats = serde_json::json!({
        "format": 1, "pid": 4242, "version": "0.1.0",
        "started_ms": 1_795_305_600_000i64, "updated_ms": now,
        "exporters": [{
            "address": "192.0.2.44", "source_id": 3, "templates": 2,
            "datagrams": 200, "flows": 2900, "lost_flows": 0, "sequence_resets": 0,
            "bad_datagrams": 113, "reordered_datagrams": 0,
            "extra": {"undecoded_sets": 4},
            "reasons": [
                {"kind": "set_past_end", "count": 113, "last_ms": now - 5000,
                 "last": "bad datagram from 192.0.2.44: set 256 at byte 1372 of 1400 bytes runs past the end of its message (28 bytes left)"},
                {"kind": "refused_template", "count": 4, "last_ms": now - 60000,
                 "last": "192.0.2.44 source id 3: data set at byte 52 is under template 301, which was refused: element 8 has length 16, its type takes 4 bytes"}
            ]
        }]
    });
    std::fs::write(
        dir.path().join(floe_store::STATS_FILE),
        serde_json::to_vec(&stats).unwrap(),
    )
    .unwrap();
    let text = info(&[], dir.path());
    let at = text.find("192.0.2.44 (3)").expect("the exporter");
    let reasons = &text[at..];
    assert!(reasons.contains("last reasons:"), "{text}");
    assert!(reasons.contains("113 x set_past_end"), "{text}");
    assert!(
        reasons.contains("runs past the end of its message"),
        "{text}"
    );
    assert!(reasons.contains("4 x refused_template"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&info(&["--json"], dir.path())).unwrap();
    assert_eq!(
        json["collectors"][0]["exporters"][0]["reasons"][0]["count"],
        113
    );
}

#[test]
fn a_collectors_shipping_to_clickhouse_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let now = floe_flow::time::utc_ms(2030, 1, 1, 0, 0, 0);
    let stats = serde_json::json!({
        "format": 1, "pid": 4242, "version": "0.1.0",
        "started_ms": 1_795_305_600_000i64, "updated_ms": now, "exporters": [],
        "clickhouse": {
            "target": "http://ch.example:8123/floe.flows", "up": false,
            "shipped_flows": 120000, "shipped_batches": 3, "backlog_flows": 56789,
            "backlog_files": 4, "lost_flows": 12, "checks": 1, "repairs": 0, "errors": 7,
            "last_error": "ClickHouse at http://ch.example:8123: Connection refused",
            "last_success_ms": now - 90_000, "oldest_unshipped_ms": now - 600_000
        }
    });
    std::fs::write(
        dir.path().join(floe_store::STATS_FILE),
        serde_json::to_vec(&stats).unwrap(),
    )
    .unwrap();
    let text = info(&[], dir.path());
    assert!(
        text.contains("clickhouse http://ch.example:8123/floe.flows: DOWN, 120000 flows shipped, backlog 56789 flows in 4 files, 12 lost"),
        "{text}"
    );
    assert!(
        text.contains("last error: ClickHouse at http://ch.example:8123: Connection refused"),
        "{text}"
    );
}
