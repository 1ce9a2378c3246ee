//! floed shipping to a real ClickHouse (Debian's 18.16 server, started by
//! the test on 127.0.0.1, legacy schema): what the table holds equals what
//! the store holds, per exporter and per block, after generated and corpus
//! traffic, after a kill -9 of floed in the middle of shipping, and after
//! the server is stopped (and killed) and started again mid-batch: nothing
//! missing, nothing twice. Expiry spares what is not shipped.

mod common;
// The ClickHouse tests' own helpers (sums and blocks of a store and of a
// table), shared rather than written again here.
#[path = "../../floe-clickhouse/tests/common/mod.rs"]
mod clickhouse_common;

use std::path::Path;
use std::time::{Duration, Instant};

use clickhouse_common::{store_blocks, sums, table_blocks, table_sums};
use common::{corpus_datagrams, now_ms, sample_flows, send_all, sender, stored_flows, Floed};
use floe_netflow::{V5Encoder, V9Encoder};
use floe_test_support::clickhouse::Server;

fn config(dir: &Path, url: &str, extra: &str) {
    std::fs::write(
        dir.join("floed.toml"),
        format!(
            "zone = \"UTC\"\nblock_records = 500\n{extra}\n[clickhouse]\nurl = \"{url}\"\ncollector = \"site-a\"\nbatch_size = 2000\nbatch_interval = \"300ms\"\ntimeout = \"10s\"\nretry_max = \"1s\"\n"
        ),
    )
    .unwrap();
}

fn count(ch: &Server) -> u64 {
    ch.query("SELECT count() FROM floe.flows FORMAT TabSeparated")
        .trim()
        .parse()
        .unwrap()
}

/// Waits until the table holds what the store holds (60 s at most).
fn wait_shipped(ch: &Server, dir: &Path, floed: &mut Floed) {
    // Blocks are written a second after their flows arrive at most
    // (--flush-interval 1s): wait for the store first.
    std::thread::sleep(Duration::from_millis(1500));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let want = store_blocks(&dir.join("flows"));
        let n: u64 = want.values().sum();
        if count(ch) == n && table_blocks(ch, "floe.flows") == want {
            return;
        }
        while let Ok(l) = floed.lines.try_recv() {
            floed.log.push(l);
        }
        assert!(
            Instant::now() < deadline,
            "ClickHouse has {} rows, the store {n} flows; floed's log:\n{}",
            count(ch),
            floed.log.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// v5 and v9 datagrams of `n` generated flows from two exporters.
fn traffic(n: usize, seed: u64) -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let now = now_ms();
    let boot = now - 3_600_000;
    let mut v5 = V5Encoder::new(boot);
    let v4: Vec<_> = sample_flows(n, seed)
        .into_iter()
        .filter(|f| !f.is_ipv6())
        .collect();
    let mut v9 = V9Encoder::new(boot, 7);
    let all = sample_flows(n, seed + 1);
    vec![
        (
            "127.0.0.2",
            v4.chunks(30).map(|c| v5.encode(c, now)).collect(),
        ),
        (
            "127.0.0.3",
            all.chunks(30).map(|c| v9.encode(c, now)).collect(),
        ),
    ]
}

fn send(floed: &Floed, t: &[(&str, Vec<Vec<u8>>)]) {
    for (ip, d) in t {
        send_all(&sender(ip), floed.addr, d);
    }
}

#[test]
fn ships_each_flow_once_across_kill_9_and_server_restarts() {
    let Some(mut ch) = Server::start() else {
        return;
    };
    clickhouse_common::init_legacy(&ch.url());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    config(dir, &ch.url(), "");
    let mut floed = Floed::start(dir, &[]);
    floed.wait_for("shipping to ClickHouse");

    // Generated traffic, and the corpus where it is.
    send(&floed, &traffic(3_000, 1));
    match corpus_datagrams() {
        Some(c) => send_all(&sender("127.0.0.5"), floed.addr, &c),
        None => floe_test_support::skip(
            "no ../shared/netflow-corpus beside the checkout: generated traffic only",
        ),
    }
    wait_shipped(&ch, dir, &mut floed);

    // kill -9 while it ships: what the store has, the table gets once.
    send(&floed, &traffic(10_000, 3));
    let before = count(&ch);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&ch) < before + 3_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = floed.child.kill();
    let _ = floed.child.wait();
    let mut floed = Floed::start(dir, &[]);
    wait_shipped(&ch, dir, &mut floed);

    // The server stopped in the middle of a batch, then killed: floed
    // retries, checks what landed, and catches up.
    send(&floed, &traffic(10_000, 5));
    let before = count(&ch);
    while count(&ch) < before + 3_000 && Instant::now() < deadline + Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    ch.stop();
    // Flows that arrive while the server is away: floed tries them, fails
    // and keeps them (whether the batches above were all shipped before
    // the stop is a race, and so was whether floed ever failed here).
    send(&floed, &traffic(2_000, 9));
    std::thread::sleep(Duration::from_millis(1500));
    ch.start_again();
    send(&floed, &traffic(5_000, 7));
    std::thread::sleep(Duration::from_millis(300));
    ch.kill();
    std::thread::sleep(Duration::from_millis(1500));
    ch.start_again();
    wait_shipped(&ch, dir, &mut floed);
    floed.wait_for("shipping to ClickHouse works again");

    // Per exporter and per block: nothing missing, nothing twice.
    assert_eq!(table_sums(&ch, "floe.flows"), sums(&stored_flows(dir).0));
    assert_eq!(
        table_blocks(&ch, "floe.flows"),
        store_blocks(&dir.join("flows"))
    );
    // The stats file (what floe info shows) says so.
    std::thread::sleep(Duration::from_millis(2500));
    let stats: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("flows").join(floe_store::STATS_FILE)).unwrap(),
    )
    .unwrap();
    let c = &stats["clickhouse"];
    assert_eq!(c["backlog_flows"], 0, "{c}");
    assert_eq!(c["up"], true, "{c}");
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));
    assert!(!log.iter().any(|l| l.contains(Server::PASSWORD)));
}

/// A server that stalls (stopped with SIGSTOP: the kernel takes the
/// insert, nothing answers) holds floed's stop for the shipper's bound
/// (12 s, floed's `ship::WAIT_AT_STOP`), not for the request timeout
/// (two minutes here, the default); the next start settles the batch
/// that was in flight: nothing missing, nothing twice.
#[test]
fn a_stalled_server_does_not_hold_the_stop() {
    let Some(ch) = Server::start() else {
        return;
    };
    clickhouse_common::init_legacy(&ch.url());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    config(dir, &ch.url(), "");
    let cfg = std::fs::read_to_string(dir.join("floed.toml")).unwrap();
    std::fs::write(
        dir.join("floed.toml"),
        cfg.replace("timeout = \"10s\"", "timeout = \"120s\""),
    )
    .unwrap();
    let mut floed = Floed::start(dir, &[]);
    floed.wait_for("shipping to ClickHouse");
    send(&floed, &traffic(2_000, 11));
    wait_shipped(&ch, dir, &mut floed);
    ch.pause();
    send(&floed, &traffic(2_000, 13));
    // Written within a second (--flush-interval 1s), batched within
    // 300 ms: an insert now waits on the stalled server.
    std::thread::sleep(Duration::from_millis(3000));
    let asked = Instant::now();
    let (code, log) = floed.stop_within(Duration::from_secs(40));
    let took = asked.elapsed();
    ch.resume();
    assert_eq!(code, 0, "{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains("floed stops without it")),
        "{}",
        log.join("\n")
    );
    assert!(took < Duration::from_secs(25), "{took:?}");
    let mut floed = Floed::start(dir, &[]);
    wait_shipped(&ch, dir, &mut floed);
    assert_eq!(table_sums(&ch, "floe.flows"), sums(&stored_flows(dir).0));
    assert_eq!(
        table_blocks(&ch, "floe.flows"),
        store_blocks(&dir.join("flows"))
    );
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));
}

#[test]
fn expiry_spares_files_not_shipped_unless_the_size_limit_forces_it() {
    // A ClickHouse that is not there: nothing ships.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    config(
        dir,
        &format!("http://127.0.0.1:{port}"),
        "[expire]\nmax_age = \"1s\"\n",
    );
    let mut floed = Floed::start(dir, &["--period", "2s"]);
    for seed in 0..3 {
        send(&floed, &traffic(1_000, 10 + seed));
        std::thread::sleep(Duration::from_millis(2200));
    }
    floed.wait_for("shipping to ClickHouse failed");
    let (_, files) = stored_flows(dir);
    assert!(
        files.len() >= 3,
        "files older than max_age are kept: {}",
        files.len()
    );
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
    // Now a size limit that the unshipped files exceed: the oldest go,
    // counted as lost to ClickHouse.
    config(
        dir,
        &format!("http://127.0.0.1:{port}"),
        "[expire]\nmax_size = \"20K\"\n",
    );
    let mut floed = Floed::start(dir, &["--period", "2s"]);
    send(&floed, &traffic(1_000, 20));
    floed.wait_for("removed (disk limit) before it was shipped");
    std::thread::sleep(Duration::from_millis(2500));
    let stats: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("flows").join(floe_store::STATS_FILE)).unwrap(),
    )
    .unwrap();
    assert!(
        stats["clickhouse"]["lost_flows"].as_u64().unwrap() > 0,
        "{stats}"
    );
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
}
