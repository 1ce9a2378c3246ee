//! `floe filter --zone` applies to the times written in the expression
//! (and in flow-tools filter files), not only to the window.

mod common;

use std::process::Command;

use common::{tree, FLOE};
use floe_store::StreamReader;

/// Flows `floe filter ARGS DIR` keeps.
fn kept(args: &[&str], dir: &std::path::Path) -> usize {
    let out = Command::new(FLOE)
        .arg("filter")
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = StreamReader::new(&out.stdout[..], "<stdout>").unwrap();
    let (mut flows, mut n) = (Vec::new(), 0);
    while r.next_block(&mut flows).unwrap() {
        n += flows.len();
        flows.clear();
    }
    n
}

#[test]
fn times_in_the_expression_are_read_in_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    // 180 flows, one a minute from 10:00 UTC on 2026-11-22.
    let all = tree(dir.path());
    assert_eq!(all.len(), 180);
    let expr = "start >= 2026-11-22 11:00";
    // 11:00 UTC: the last 120; 11:00 in Paris (UTC+1) is 10:00 UTC: all;
    // in New York (UTC-5) 16:00 UTC: none.
    assert_eq!(kept(&["--zone", "UTC", expr], dir.path()), 120);
    assert_eq!(kept(&["--zone", "Europe/Paris", expr], dir.path()), 180);
    assert_eq!(kept(&["--zone", "America/New_York", expr], dir.path()), 0);
    // A time with an offset means the same in every zone.
    let fixed = "start >= 2026-11-22T11:30:00+01:00";
    assert_eq!(kept(&["--zone", "UTC", fixed], dir.path()), 150);
    assert_eq!(kept(&["--zone", "Asia/Tokyo", fixed], dir.path()), 150);
    // flow-tools filter files' time-date primitives too.
    let cfg = dir.path().join("time.cfg");
    std::fs::write(
        &cfg,
        "filter-primitive late\n  type time-date\n  permit ge 2026-11-22 11:00:00\n\
         filter-definition late\n  match start-time late\n",
    )
    .unwrap();
    let file = ["--file", cfg.to_str().unwrap(), "-F", "late"];
    let with = |zone: &'static str| [&["--zone", zone][..], &file[..]].concat();
    assert_eq!(kept(&with("UTC"), dir.path()), 120);
    assert_eq!(kept(&with("Europe/Paris"), dir.path()), 180);
}

/// Flows `floe report -r summary-counters --filter EXPR` counts.
fn reported(zone: &str, expr: &str, dir: &std::path::Path) -> u64 {
    let out = Command::new(FLOE)
        .args([
            "report",
            "-r",
            "summary-counters",
            "-f",
            "json",
            "--zone",
            zone,
        ])
        .args(["--filter", expr])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["totals"]["flows"].as_u64().unwrap()
}

#[test]
fn report_filters_read_times_in_the_zone_too() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let expr = "start >= 2026-11-22 11:00";
    assert_eq!(reported("UTC", expr, dir.path()), 120);
    assert_eq!(reported("Europe/Paris", expr, dir.path()), 180);
}
