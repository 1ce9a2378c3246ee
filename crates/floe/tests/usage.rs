//! `floe usage --since-last` for real: usage since the previous run and
//! running totals per key, over a store that grows between runs, with a
//! file that arrives late (counted in the next run, once).

use std::path::Path;
use std::process::{Command, Output};

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{StoreConfig, StoreWriter, Zone};

const FLOE: &str = env!("CARGO_BIN_EXE_floe");

/// One closed 10-minute file at `start`: `n` flows from each host given,
/// `octets` each, to 192.0.2.1; `serial` files are the `.N` ones.
fn file(dir: &Path, start: i64, hosts: &[(&str, u64)], n: u64) {
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    let (mut w, _) = StoreWriter::open(c, start).unwrap();
    let mut flows = Vec::new();
    for (h, octets) in hosts {
        for _ in 0..n {
            flows.push(Flow {
                start_ms: start,
                end_ms: start + 1000,
                src_addr: h.parse().unwrap(),
                dst_addr: "192.0.2.1".parse().unwrap(),
                protocol: 6,
                packets: 2,
                octets: *octets,
                ..Flow::default()
            });
        }
    }
    w.write(start + 1000, &flows).unwrap();
    w.close(start + 600_000).unwrap();
}

fn usage(state: &Path, dir: &Path, extra: &[&str]) -> Output {
    Command::new(FLOE)
        .arg("usage")
        .arg("--since-last")
        .arg(state)
        .args(extra)
        .arg(dir)
        .output()
        .unwrap()
}

fn csv(state: &Path, dir: &Path) -> Vec<String> {
    let out = usage(state, dir, &["--by", "ip-source-address", "-f", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn usage_since_the_last_run_with_running_totals_and_late_files() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    let state = root.path().join("usage.state");
    let t = |m: u32| utc_ms(2026, 11, 22, 10, m, 0);
    file(&store, t(0), &[("10.0.0.1", 1000), ("10.0.0.2", 10)], 3);
    file(&store, t(10), &[("10.0.0.1", 1000)], 2);
    // The first run counts what is there.
    assert_eq!(
        csv(&state, &store),
        [
            "ip-source-address,octets,packets,flows,total-octets,total-packets,total-flows",
            "10.0.0.1,5000,10,5,5000,10,5",
            "10.0.0.2,30,6,3,30,6,3",
        ]
    );
    // Nothing new: nothing since, the totals stay.
    assert_eq!(
        csv(&state, &store)[1..],
        ["10.0.0.1,0,0,0,5000,10,5", "10.0.0.2,0,0,0,30,6,3"]
    );
    // A new file, and one of 10:00 that arrives late (a second file of
    // that period): both count now, once.
    file(&store, t(20), &[("10.0.0.3", 7)], 1);
    std::fs::copy(
        store.join("2026/2026-11/2026-11-22/floe.2026-11-22.100000+0000"),
        store.join("2026/2026-11/2026-11-22/floe.2026-11-22.100000+0000.1"),
    )
    .unwrap();
    assert_eq!(
        csv(&state, &store)[1..],
        [
            "10.0.0.1,3000,6,3,8000,16,8",
            "10.0.0.2,30,6,3,60,12,6",
            "10.0.0.3,7,2,1,7,2,1",
        ]
    );
    assert_eq!(
        csv(&state, &store)[1..],
        [
            "10.0.0.1,0,0,0,8000,16,8",
            "10.0.0.2,0,0,0,60,12,6",
            "10.0.0.3,0,0,0,7,2,1",
        ]
    );
    // The state is for one key: another is refused, nothing changes.
    let out = usage(&state, &store, &["--by", "ip-destination-address"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ip-source-address"));
    // Text and JSON say the same.
    let out = usage(&state, &store, &["--by", "ip-source-address", "-f", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["total"]["octets"], 8067);
    assert_eq!(doc["since"]["octets"], 0);
    assert_eq!(doc["rows"][0]["key"][0], "10.0.0.1");
    let out = usage(&state, &store, &["--by", "ip-source-address"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Usage since "), "{text}");
    assert!(
        text.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.first() == Some(&"10.0.0.1") && w[w.len() - 3..] == ["8000", "16", "8"]
        }),
        "{text}"
    );
    // Without a key: the totals alone, in a state of their own.
    let other = root.path().join("all.state");
    let out = usage(
        &other,
        &store,
        &["-f", "csv", "--filter", "src host 10.0.0.1"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "key,octets,packets,flows,total-octets,total-packets,total-flows\ntotal,8000,16,8,8000,16,8\n"
    );
}
