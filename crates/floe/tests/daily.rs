//! `floe report --daily`: the day is `--day` (yesterday without it), a
//! directory is never taken for the day, and the day's last flows count
//! even when the file that holds them is still open (a tmp- file) when the
//! report runs.

use std::path::Path;
use std::process::Command;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{walk, StoreConfig, StoreWriter, Zone};

mod common;
use common::FLOE;

fn flow(end_ms: i64, octets: u64) -> Flow {
    Flow {
        start_ms: end_ms - 5_000,
        end_ms,
        src_addr: "10.1.2.3".parse().unwrap(),
        dst_addr: "192.0.2.1".parse().unwrap(),
        dst_port: 443,
        protocol: 6,
        packets: 2,
        octets,
        ..Flow::default()
    }
}

/// 10-minute files in UTC: 60 flows in the last hour of 2026-11-22 (in
/// files closed by rotation), then 40 flows that ended at 23:59:50 but
/// arrived at 00:00:05, in the next day's first file, left open (a tmp-
/// file, as floed's is until 00:10).
fn store_with_open_last_period(root: &Path) {
    let t0 = utc_ms(2026, 11, 22, 23, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    c.block_records = 20;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    for i in 0..60i64 {
        let end = t0 + 10_000 + i * 59_000;
        w.write(end + 1_000, &[flow(end, 1_000)]).unwrap();
    }
    let late = utc_ms(2026, 11, 22, 23, 59, 50);
    let arrived = utc_ms(2026, 11, 23, 0, 0, 5);
    let flows: Vec<Flow> = (0..40).map(|_| flow(late, 10)).collect();
    w.write(arrived, &flows).unwrap();
    // Two whole blocks of 20 written; the writer goes without closing.
    drop(w);
}

fn daily(root: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(FLOE)
        .args(["report", "--daily", "--zone", "UTC"])
        .args(extra)
        .arg(root)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_days_last_period_counts_while_its_file_is_still_open() {
    let dir = tempfile::tempdir().unwrap();
    store_with_open_last_period(dir.path());
    let files = walk(dir.path()).unwrap();
    let last = files.last().unwrap();
    assert!(last.tmp, "the last period is still a tmp- file");
    let (code, text, err) = daily(dir.path(), &["--day", "2026-11-22"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("# 100 flows, "), "{text}");
    let hour = text.lines().find(|l| l.starts_with("23:00")).unwrap();
    assert_eq!(hour.split_whitespace().nth(1), Some("100"), "{hour}");
    // A plain report reads closed files only (unless --tmp): the open
    // file's 40 flows are what --daily adds.
    let plain = Command::new(FLOE)
        .args([
            "report",
            "-r",
            "ip-protocol",
            "--format",
            "csv",
            "--zone",
            "UTC",
        ])
        .args(["--day", "2026-11-22"])
        .arg(dir.path())
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&plain.stdout);
    assert!(csv.contains("\n6,60,"), "{csv}");
    // And when the file was closed (renamed) since: the same count.
    let closed = last.path.with_file_name(
        last.path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_start_matches("tmp-"),
    );
    std::fs::rename(&last.path, &closed).unwrap();
    let (code, text, err) = daily(dir.path(), &["--day", "2026-11-22"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("# 100 flows, "), "{text}");
}

#[test]
fn the_directory_is_never_taken_for_the_day_and_yesterday_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    // Flows of yesterday (UTC), so that --daily without --day finds them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let midnight = now - now.rem_euclid(86_400_000);
    let t0 = midnight - 86_400_000 + 12 * 3_600_000;
    let mut c = StoreConfig::new(dir.path().join("flows"));
    c.zone = Zone::Utc;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let flows: Vec<Flow> = (0..30).map(|i| flow(t0 + i * 1_000, 500)).collect();
    w.write(t0 + 60_000, &flows).unwrap();
    w.close(t0 + 120_000).unwrap();
    let (code, text, err) = daily(&dir.path().join("flows"), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("# 30 flows, "), "{text}");
    // --daily takes no value: what follows is a path.
    let out = Command::new(FLOE)
        .current_dir(dir.path())
        .args(["report", "--daily", "flows", "--zone", "UTC"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("# 30 flows, "));
    // The window flags other than --day do not go with --daily.
    let out = Command::new(FLOE)
        .args(["report", "--daily", "--last", "1h"])
        .arg(dir.path().join("flows"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The daily summary as its readers get it, text and HTML, against golden
/// files (tests/golden/daily.txt, daily.html; FLOE_BLESS=1 rewrites them;
/// the host's name is HOST there): a day of three exporters, one noisy,
/// one silent from 14:00, one healthy; names for numbers; the noisy and
/// the silent exporter first, with what their problems mean. The page is
/// valid HTML5.
#[test]
fn the_daily_summary_matches_its_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    common::day_tree(dir.path(), 3000);
    let host = floe_store::host_name();
    let run = |format: &str| {
        let mut args = vec!["--day", common::DAY, "--format"];
        args.extend(format.split(' '));
        let (code, out, err) = daily(dir.path(), &args);
        assert_eq!(code, Some(0), "{err}");
        out.replace(&format!(" on {host}"), " on HOST")
    };
    let text = run("text");
    common::check_golden("daily.txt", &text);
    let health = text.split("# Exporter health").nth(1).unwrap();
    let order: Vec<&str> = health
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("192.0.2."))
        .collect();
    assert_eq!(order, ["192.0.2.2", "192.0.2.3", "192.0.2.1"], "{health}");
    assert!(health.contains("  ! silent from 2026-11-22 14:00 to 24:00: "));
    assert!(
        text.contains("443 (https)") && text.contains("\nTCP "),
        "{text}"
    );
    // --numeric: numbers, for scripts.
    let numeric = run("text --numeric");
    assert!(
        !numeric.contains("(https)") && numeric.contains("\n6 "),
        "{numeric}"
    );
    let html = run("html");
    common::check_golden("daily.html", &html);
    let page = dir.path().join("daily.html");
    std::fs::write(&page, &html).unwrap();
    if let Err(e) = common::html5_valid(&page) {
        panic!("not valid HTML5: {e}");
    }
}
