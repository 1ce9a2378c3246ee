//! The real floed binary on 127.0.0.1, real UDP datagrams, real files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{corpus_datagrams, now_ms, sample_flows, send_all, sender, stored_flows, Floed};
use floe_flow::Flow;
use floe_netflow::{Decoder, DecoderConfig, V5Encoder, V9Encoder};
use floe_store::walk;

fn sorted(mut v: Vec<Flow>) -> Vec<Flow> {
    v.sort_by_key(|f| format!("{f:?}"));
    v
}

/// Datagrams from several exporters: v5 from 127.0.0.2, v9 from 127.0.0.3
/// and 127.0.0.4 with the same template ids (colliding), the corpus from
/// 127.0.0.5 where present. Returns (source ip, datagrams) per exporter.
fn exporters() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let now = now_ms();
    let boot = now - 3_600_000;
    let mut out = Vec::new();
    let mut v5 = V5Encoder::new(boot);
    let v4: Vec<Flow> = sample_flows(900, 1)
        .into_iter()
        .filter(|f| !f.is_ipv6())
        .collect();
    out.push((
        "127.0.0.2",
        v4.chunks(30).map(|c| v5.encode(c, now)).collect(),
    ));
    for (ip, seed) in [("127.0.0.3", 2), ("127.0.0.4", 3)] {
        let mut v9 = V9Encoder::new(boot, 7);
        let f = sample_flows(900, seed);
        out.push((ip, f.chunks(30).map(|c| v9.encode(c, now)).collect()));
    }
    if let Some(corpus) = corpus_datagrams() {
        out.push(("127.0.0.5", corpus));
    }
    out
}

#[test]
fn stores_every_flow_from_several_exporters_and_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let sent = exporters();
    if sent.len() < 4 {
        floe_test_support::skip(
            "no ../shared/netflow-corpus beside the checkout: generated traffic only, no corpus datagrams",
        );
    }
    // What floed must store: the same datagrams through an in-process
    // decoder, with the same source addresses.
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut expect = Vec::new();
    let mut bad_expected = 0;
    for (ip, dgrams) in &sent {
        let sock = sender(ip);
        send_all(&sock, floed.addr, dgrams);
        for d in dgrams {
            bad_expected += dec
                .decode(ip.parse().unwrap(), d, now_ms(), &mut expect)
                .counters
                .bad_datagrams;
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));
    let (flows, files) = stored_flows(dir.path());
    assert!(files.iter().all(|f| f.is_closed()));
    assert_eq!(flows.len(), expect.len());
    assert_eq!(sorted(flows), sorted(expect));
    // The trailers carry each exporter's counters.
    let mut datagrams = 0;
    let mut bad = 0;
    for f in &files {
        for (k, c) in f.counters() {
            datagrams += c.datagrams;
            bad += c.bad_datagrams;
            assert!(k.address.is_loopback());
        }
    }
    let total: usize = sent.iter().map(|(_, d)| d.len()).sum();
    assert_eq!(datagrams, total as u64);
    assert_eq!(bad, bad_expected);
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        assert!(
            log.iter()
                .any(|l| l.contains("new exporter") && l.contains(ip)),
            "no new-exporter line for {ip}"
        );
    }
    assert!(log
        .iter()
        .any(|l| l.contains("rotated") && l.contains("flows=")));
}

#[test]
fn garbage_is_counted_and_good_flows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let sock = sender("127.0.0.6");
    let now = now_ms();
    let mut v9 = V9Encoder::new(now - 3_600_000, 1);
    let flows = sample_flows(600, 9);
    let good: Vec<Vec<u8>> = flows.chunks(30).map(|c| v9.encode(c, now)).collect();
    let mut garbage = 0;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for g in &good {
        sock.send_to(g, floed.addr).unwrap();
        for kind in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let junk: Vec<u8> = match kind {
                0 => vec![],
                1 => (0..(x % 1400) as usize)
                    .map(|i| (x >> (i % 57)) as u8)
                    .collect(),
                2 => vec![0xff; 9000],
                _ => vec![0, 5, 0, 30, 1, 2, 3],
            };
            sock.send_to(&junk, floed.addr).unwrap();
            garbage += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    let (stored, files) = stored_flows(dir.path());
    assert_eq!(stored.len(), 600, "every good flow kept");
    let bad: u64 = files
        .iter()
        .flat_map(|f| f.counters())
        .map(|(_, c)| c.bad_datagrams)
        .sum();
    assert_eq!(bad, garbage);
    // Each reason (too short, unknown version...) at once, then at most
    // once a minute with how many since, here when floed stops.
    let warnings: Vec<&String> = log.iter().filter(|l| l.contains("bad datagram")).collect();
    assert!(
        (1..=8).contains(&warnings.len()),
        "rate-limited, never one line per datagram: {warnings:#?}"
    );
}

#[test]
fn kill_9_then_restart_recovers_the_tmp_file_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let sock = sender("127.0.0.7");
    let now = now_ms();
    let mut v5 = V5Encoder::new(now - 3_600_000);
    let flows: Vec<Flow> = sample_flows(1200, 4)
        .into_iter()
        .filter(|f| !f.is_ipv6())
        .take(600)
        .collect();
    let dgrams: Vec<Vec<u8>> = flows.chunks(30).map(|c| v5.encode(c, now)).collect();
    send_all(&sock, floed.addr, &dgrams);
    // The 1 s flush interval writes the block; wait for it to be on disk.
    std::thread::sleep(Duration::from_millis(2500));
    floed.child.kill().unwrap(); // SIGKILL
    floed.child.wait().unwrap();
    let tmp: Vec<PathBuf> = walk(&dir.path().join("flows"))
        .unwrap()
        .into_iter()
        .filter(|f| f.tmp)
        .map(|f| f.path)
        .collect();
    assert_eq!(tmp.len(), 1, "the killed daemon leaves its tmp- file");

    let mut again = Floed::start(dir.path(), &[]);
    let rec = again.wait_for("recovered a file left by a crash");
    assert!(rec.contains("flows=600"), "{rec}");
    let more: Vec<Vec<u8>> = flows
        .chunks(30)
        .take(5)
        .map(|c| v5.encode(c, now))
        .collect();
    send_all(&sock, again.addr, &more);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, _) = again.stop();
    assert_eq!(code, 0);
    let (stored, files) = stored_flows(dir.path());
    assert!(files.iter().all(|f| f.is_closed()));
    assert_eq!(
        stored.len(),
        600 + 150,
        "recovered flows plus the new ones, none twice"
    );
    assert!(files
        .iter()
        .any(|f| f.trailer().is_some_and(|t| t.recovered)));
}

#[test]
fn sighup_rotates_and_short_periods_rotate_on_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let mut floed = Floed::start(dir.path(), &["--period", "2s"]);
    let sock = sender("127.0.0.8");
    let now = now_ms();
    let mut v5 = V5Encoder::new(now - 3_600_000);
    let flows: Vec<Flow> = sample_flows(200, 5)
        .into_iter()
        .filter(|f| !f.is_ipv6())
        .take(90)
        .collect();
    sock.send_to(&v5.encode(&flows[..30], now_ms()), floed.addr)
        .unwrap();
    floed.wait_for("rotated");
    floed.signal("HUP");
    floed.wait_for("SIGHUP");
    sock.send_to(&v5.encode(&flows[30..60], now_ms()), floed.addr)
        .unwrap();
    std::thread::sleep(Duration::from_millis(4500));
    floed.signal("USR1");
    floed.wait_for("exporter counters since start");
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    let rotations = log.iter().filter(|l| l.contains("rotated")).count();
    assert!(
        rotations >= 3,
        "2-second files: {rotations} rotations\n{}",
        log.join("\n")
    );
    let usr1 = log
        .iter()
        .find(|l| l.contains("exporter counters since start"))
        .unwrap();
    assert!(
        usr1.contains("127.0.0.8") && usr1.contains("flows=60"),
        "{usr1}"
    );
    let (stored, files) = stored_flows(dir.path());
    assert_eq!(stored.len(), 60);
    for f in &files {
        let p = f.header().period.unwrap();
        assert_eq!(p.end_ms - p.start_ms, 2000);
        assert_eq!(p.start_ms % 2000, 0);
    }
}

#[test]
fn check_config_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "listen = [\"0.0.0.0:2055\"]\nperiod = \"10 parsecs\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floed"))
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("unknown unit"),
        "{err}"
    );
    std::fs::write(&bad, "listen = [\"0.0.0.0:2055\"\nperiod = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floed"))
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2:"), "{err}");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("floed.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_floed"))
        .args(["--check-config", "--config"])
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the shipped example must be valid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn templates_survive_a_restart_and_on_rotate_expiry_and_pidfile_work() {
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("floed.pid");
    let marker = dir.path().join("rotated.txt");
    // The on-rotate command appends each closed file's path to a list.
    std::fs::write(
        dir.path().join("floed.toml"),
        format!(
            "zone = \"UTC\"\non_rotate = \"echo >> {}\"\n[expire]\nmax_age = \"1h\"\n",
            marker.display()
        ),
    )
    .unwrap();
    // An old file the expiry must remove: a closed file from 2020.
    let old_dir = dir.path().join("flows/2020/2020-01/2020-01-01");
    std::fs::create_dir_all(&old_dir).unwrap();
    let (mut w, _) = floe_store::StoreWriter::open(
        {
            let mut c = floe_store::StoreConfig::new(dir.path().join("flows"));
            c.zone = floe_store::Zone::Utc;
            c
        },
        1_577_836_800_000,
    )
    .unwrap();
    w.write(1_577_836_800_000, &[Flow::default()]).unwrap();
    w.close(1_577_836_900_000).unwrap();
    assert!(old_dir.join("floe.2020-01-01.000000+0000").exists());

    let floed = Floed::start(
        dir.path(),
        &["--pidfile", pid.to_str().unwrap(), "--period", "2s"],
    );
    assert_eq!(
        std::fs::read_to_string(&pid).unwrap().trim(),
        floed.child.id().to_string(),
        "pidfile holds the daemon's pid"
    );
    let sock = sender("127.0.0.9");
    let now = now_ms();
    let mut v9 = V9Encoder::new(now - 3_600_000, 42);
    v9.template_every = 1_000_000; // templates in the first datagram only
    let flows = sample_flows(120, 11);
    sock.send_to(&v9.encode(&flows[..30], now), floed.addr)
        .unwrap();
    std::thread::sleep(Duration::from_millis(6500)); // > 5 s template save interval
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));
    assert!(!pid.exists(), "pidfile removed at exit");
    assert!(
        !old_dir.exists(),
        "expired by age, with its empty directories"
    );
    let listed = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(
        listed.lines().count() >= 2,
        "on-rotate ran for each closed file: {listed:?}"
    );
    assert!(
        listed.lines().all(|p| Path::new(p.trim()).exists()),
        "{listed}"
    );

    // Restart: the exporter sends data only; the persisted templates decode it.
    let floed = Floed::start(dir.path(), &[]);
    sock.send_to(&v9.encode(&flows[30..60], now), floed.addr)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
    let (stored, _) = stored_flows(dir.path());
    assert_eq!(
        stored.len(),
        60,
        "30 before the restart, 30 decoded with persisted templates"
    );
}

#[test]
fn the_allow_list_drops_and_counts_other_sources_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("floed.toml");
    std::fs::write(
        &cfg,
        "zone = \"UTC\"\nallow = [\"127.0.0.2/32\", \"::1\"]\n",
    )
    .unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    assert!(floed
        .log
        .iter()
        .any(|l| l.contains("allow=127.0.0.2/32, ::1/128")));
    let now = now_ms();
    let v4: Vec<Flow> = sample_flows(600, 21)
        .into_iter()
        .filter(|f| !f.is_ipv6())
        .collect();
    let mut allowed = V5Encoder::new(now - 3_600_000);
    let mut other = V5Encoder::new(now - 3_600_000);
    let good: Vec<Vec<u8>> = v4.chunks(30).map(|c| allowed.encode(c, now)).collect();
    let denied: Vec<Vec<u8>> = v4.chunks(30).map(|c| other.encode(c, now)).collect();
    send_all(&sender("127.0.0.2"), floed.addr, &good);
    send_all(&sender("127.0.0.3"), floed.addr, &denied);
    // Let the receiver read them all before the list changes.
    std::thread::sleep(Duration::from_millis(500));
    // Reload with 127.0.0.3 allowed too: its next datagrams are stored.
    // (The live view's window changes too: that one waits for a restart,
    // and the log says so.)
    std::fs::write(
        &cfg,
        "zone = \"UTC\"\nallow = [\"127.0.0.2/32\", \"127.0.0.3\"]\n[live]\nwindow = \"10m\"\n",
    )
    .unwrap();
    floed.signal("HUP");
    floed.wait_for("allow list reloaded");
    floed.wait_for("[live] changes take effect at the next restart");
    let mut late = V5Encoder::new(now - 3_600_000);
    let after: Vec<Vec<u8>> = v4[..60].chunks(30).map(|c| late.encode(c, now)).collect();
    send_all(&sender("127.0.0.3"), floed.addr, &after);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    let (stored, files) = stored_flows(dir.path());
    let from = |ip: &str| {
        stored
            .iter()
            .filter(|f| f.exporter == ip.parse::<std::net::IpAddr>().unwrap())
            .count()
    };
    assert_eq!(from("127.0.0.2"), v4.len(), "every allowed flow stored");
    assert_eq!(
        from("127.0.0.3"),
        60,
        "only what came after the reload; log:\n{}",
        log.join("\n")
    );
    let denied_count = common::extra_counter(&files, "127.0.0.3", "denied_datagrams");
    assert_eq!(denied_count, denied.len() as u64);
    let lines = log
        .iter()
        .filter(|l| l.contains("not in the allow list"))
        .count();
    assert!((1..=2).contains(&lines), "logged, rate-limited: {lines}");
    // A bad network in the file is refused by --check-config with its name.
    std::fs::write(&cfg, "allow = [\"10.0.0.1/8\"]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floed"))
        .arg("--config")
        .arg(&cfg)
        .arg("--check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 10.0.0.0/8"));
}

#[test]
fn a_running_floed_keeps_a_live_stats_file() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let now = now_ms();
    let mut v9 = V9Encoder::new(now - 3_600_000, 3);
    let d: Vec<Vec<u8>> = sample_flows(300, 5)
        .chunks(30)
        .map(|c| v9.encode(c, now))
        .collect();
    send_all(&sender("127.0.0.7"), floed.addr, &d);
    let path = dir.path().join("flows/.floed-stats.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let doc = loop {
        let doc: Option<serde_json::Value> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let has = doc.as_ref().is_some_and(|d| {
            d["exporters"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|e| e["address"] == "127.0.0.7" && e["flows"] == 300)
            })
        });
        if has {
            break doc.unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no live stats: {doc:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let e = doc["exporters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "127.0.0.7")
        .unwrap();
    assert_eq!(e["source_id"], 3);
    assert_eq!(e["datagrams"], d.len());
    assert_eq!(
        e["templates"], 2,
        "the v9 encoder's IPv4 and IPv6 templates"
    );
    assert_eq!(doc["pid"], floed.child.id());
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
    assert!(!path.exists(), "removed when floed stops");
}

/// An on-rotate command that does not end (a copy to a host that does
/// not answer) holds floed's stop for a few seconds at most
/// (ON_ROTATE_WAIT_AT_STOP, 3 s): floed says so, leaves it running and
/// stops with its files closed.
#[test]
fn a_stuck_on_rotate_command_does_not_hold_the_stop() {
    /// Ends the command however the test ends.
    struct KillOnDrop(Option<i32>);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if let Some(pid) = self.0 {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("command.pid");
    std::fs::write(
        dir.path().join("floed.toml"),
        format!(
            "zone = \"UTC\"\non_rotate = \"echo $$ > {}; exec sleep 60; true\"\n",
            started.display()
        ),
    )
    .unwrap();
    let mut floed = Floed::start(dir.path(), &["--period", "2s"]);
    let sock = sender("127.0.0.1");
    let now = now_ms();
    let mut v9 = V9Encoder::new(now - 3_600_000, 7);
    sock.send_to(&v9.encode(&sample_flows(10, 3), now), floed.addr)
        .unwrap();
    floed.wait_for("rotated");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let said = std::fs::read_to_string(&started).unwrap_or_default();
        if let Ok(pid) = said.trim().parse::<i32>() {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut command = KillOnDrop(Some(pid));
    // Well before the command's 60 s, with room for a loaded machine.
    let (code, log) = floed.stop_within(Duration::from_secs(20));
    assert_eq!(code, 0, "{}", log.join("\n"));
    assert!(
        log.iter()
            .any(|l| l.contains("on-rotate command still runs at stop")),
        "{}",
        log.join("\n")
    );
    // Still there to be ended: floed left it running.
    command.0 = None;
    assert!(Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success());
    assert_eq!(stored_flows(dir.path()).0.len(), 10);
}
