//! `floe top` against a real floed on loopback: one snapshot for scripts
//! (JSON, CSV, text), the usage since the last check, clear messages when
//! floed is not there or the socket is not ours to read, and the screen
//! in a real terminal (tmux): tabs, sorting and the filter typed in place.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use floe_test_support::run_ok;

mod common;
use common::{Floed, FLOE};

fn send(port: u16, count: u32, version: &str) {
    run_ok(Command::new(FLOE).args([
        "send",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--count",
        &count.to_string(),
        "--rate",
        "20000",
        "--netflow-version",
        version,
    ]));
}

fn once(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(FLOE)
        .args(["top", "--once"])
        .args(extra)
        .arg(dir.join("flows"))
        .output()
        .unwrap()
}

/// Asks until the live view has seen `n` flows (10 s at most).
fn json_when(dir: &Path, n: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = once(dir, &["--format", "json", "--window", "5m"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        if v["totals"]["flows"].as_u64() >= Some(n) {
            return v;
        }
        assert!(Instant::now() < deadline, "{v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn one_snapshot_for_scripts_and_usage_since_the_last_check() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path());
    // floed counts the talkers while someone looks: a first look starts
    // them, says so on stderr, and since when in the answer.
    let o = once(dir.path(), &["--format", "csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, b"key,octets,packets,flows,weight,error\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("floe top: floed was not counting talkers")
            && err.contains("[live] talkers = \"always\""),
        "{err}"
    );
    let first = json_when(dir.path(), 0);
    assert_eq!(first["talkers"]["src"].as_array().unwrap().len(), 0);
    let since = first["talkers_since_ms"].as_i64().expect("since");
    send(floed.port, 3000, "9");
    let v = json_when(dir.path(), 3000);
    assert_eq!(v["totals"]["flows"], 3000);
    assert!(v["talkers"]["src"].as_array().unwrap().len() >= 5);
    assert_eq!(v["talkers_since_ms"].as_i64(), Some(since));
    // CSV of the destinations.
    let o = once(dir.path(), &["--format", "csv", "--key", "dst", "-n", "3"]);
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "key,octets,packets,flows,weight,error");
    assert_eq!(lines.len(), 4, "{text}");
    // Text.
    let o = once(dir.path(), &[]);
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "said once only");
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("3000 flows"), "{text}");
    let said = text.lines().nth(1).unwrap();
    assert!(
        said.starts_with("talkers counted since ") && said.ends_with("while clients ask)"),
        "{text}"
    );
    // The talkers' header names them as --key does.
    let header = text.lines().nth(2).unwrap();
    assert!(
        header.starts_with("src ") && header.contains("bytes"),
        "{text}"
    );
    let o = once(dir.path(), &["--key", "dst-flows"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.lines().nth(2).unwrap().starts_with("dst-flows "),
        "{text}"
    );
    // Usage since the last check: the first --reset starts counting.
    let reset = |dir: &Path| {
        let o = once(dir, &["--reset", "--client", "cron", "--format", "json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["totals"]["flows"].as_u64().unwrap()
    };
    assert_eq!(reset(dir.path()), 0);
    send(floed.port, 500, "10");
    let deadline = Instant::now() + Duration::from_secs(10);
    while json_when(dir.path(), 0)["totals"]["flows"].as_u64() < Some(3500) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(reset(dir.path()), 500);
    assert_eq!(reset(dir.path()), 0);
    // A filter that does not compile is refused before asking.
    let o = once(dir.path(), &["--filter", "proto tcp and"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("column"));
    floed.stop();
}

#[test]
fn no_floed_or_no_permission_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(FLOE)
        .args(["top", "--once"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is floed running"), "{err}");
    // A socket left behind by a floed that died.
    let path = dir.path().join(".floed-live.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let o = Command::new(FLOE)
        .args(["top", "--once"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("floed is not running"), "{err}");
    // Not ours to read: a socket floed made (mode 0660) asked by nobody.
    let floed = Floed::start(dir.path());
    let sock = dir.path().join("flows/.floed-live.sock");
    let nobody = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(FLOE)
        .args(["top", "--once"])
        .arg(&sock)
        .output();
    match nobody {
        Ok(o) if unsafe_is_root() => {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(err.contains("permission denied"), "{err}");
        }
        _ => floe_test_support::skip("dropping to another user needs root and setpriv"),
    }
    floed.stop();
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// tmux, or a skip.
fn tmux(args: &[&str]) -> Option<String> {
    let o = Command::new("tmux").args(args).output().ok()?;
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn screen_until(session: &str, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = tmux(&["capture-pane", "-p", "-t", session]).unwrap_or_default();
        if s.contains(what) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what:?} never on the screen:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_screen_in_a_real_terminal() {
    if tmux(&["-V"]).is_none() {
        floe_test_support::skip("tmux not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path());
    send(floed.port, 2000, "9");
    json_when(dir.path(), 2000);
    let session = format!("floe-top-{}", std::process::id());
    let cmd = format!("{FLOE} top {}", dir.path().join("flows").display());
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "40",
        &cmd,
    ])
    .unwrap();
    let s = screen_until(&session, "Top talkers: Source");
    assert!(s.contains("floe top") && s.contains("1 Talkers"), "{s}");
    // The talkers started with the first look (json_when's, above).
    assert!(s.contains("Top talkers: Source (counted since "), "{s}");
    tmux(&["send-keys", "-t", &session, "2"]);
    screen_until(&session, "TCP/443 (https)");
    tmux(&["send-keys", "-t", &session, "f"]);
    screen_until(&session, "Flows ▼");
    // A filter typed in place: a bad one is said there, a good one applies.
    tmux(&["send-keys", "-t", &session, "/", "proto tcp and", "Enter"]);
    screen_until(&session, "column");
    tmux(&["send-keys", "-t", &session, "C-u", "proto udp", "Enter"]);
    screen_until(&session, "filter: proto udp");
    tmux(&["send-keys", "-t", &session, "6"]);
    screen_until(&session, "Exporters");
    tmux(&["send-keys", "-t", &session, "q"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tmux(&["has-session", "-t", &session]).is_some()
        && Command::new("tmux")
            .args(["has-session", "-t", &session])
            .status()
            .is_ok_and(|s| s.success())
    {
        assert!(Instant::now() < deadline, "q did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
    floed.stop();
}
