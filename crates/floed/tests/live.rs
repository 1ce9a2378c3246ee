//! The live view and the metrics of a real floed on loopback: the live
//! socket's totals equal what was sent, the top talkers are the heavy
//! hitters, a scan from random sources keeps memory bounded, clients that
//! misbehave are dropped while floed goes on storing, and the metrics page
//! passes promtool and agrees with the stats file.

mod common;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{now_ms, send_all, sender, stored_flows, Floed};
use floe_flow::Flow;
use floe_live::{Client, Op, Request, Snapshot};
use floe_netflow::{V5Encoder, V9Encoder};

fn socket(dir: &Path) -> std::path::PathBuf {
    dir.join("flows/.floed-live.sock")
}

fn ask(dir: &Path, req: &Request) -> Snapshot {
    let mut c = Client::connect(&socket(dir)).unwrap();
    let r = c.ask(req).unwrap();
    assert!(r.ok, "{:?}", r.error);
    r.snapshot.unwrap()
}

/// Asks until `done` holds (10 s at most).
fn ask_until(dir: &Path, req: &Request, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = ask(dir, req);
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "never: {:?}, {} skipped",
            s.totals,
            s.skipped_flows
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn flows(n: usize, seed: u64) -> Vec<Flow> {
    let now = now_ms();
    let mix = floe_synth::Mix {
        day_start_ms: now - 60_000,
        span_ms: 55_000,
        ipv6_share: 0.2,
    };
    floe_synth::realistic_flows(n, seed, &mix)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn the_live_view_sees_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let sent = flows(6000, 11);
    let now = now_ms();
    let req = Request {
        window: Some(120),
        n: Some(5),
        ..Request::default()
    };
    // By default floed counts the talkers while clients look. Flows that
    // come before the first look are counted in the totals, not in the
    // talkers: heavy sources of 198.51.100.0/24, sent while only a
    // filtered view (which counts its own) watched.
    let tcp = Request {
        filter: Some("proto tcp".into()),
        ..req.clone()
    };
    assert_eq!(ask(dir.path(), &tcp).totals.flows, 0);
    let early: Vec<Flow> = (0..60u8)
        .map(|i| Flow {
            start_ms: now - 5000,
            end_ms: now - 4000,
            src_addr: IpAddr::from([198, 51, 100, i]),
            dst_addr: IpAddr::from([192, 0, 2, 1]),
            protocol: 6,
            dst_port: 443,
            packets: 10_000,
            octets: 1 << 30,
            ..Flow::default()
        })
        .collect();
    let mut early_v9 = V9Encoder::new(now - 3_600_000, 3);
    let d: Vec<Vec<u8>> = early.chunks(30).map(|c| early_v9.encode(c, now)).collect();
    send_all(&sender("127.0.0.36"), floed.addr, &d);
    let s = ask_until(dir.path(), &tcp, |s| s.totals.flows >= 60);
    assert_eq!(s.talkers.src.len(), 5);
    assert!(s
        .talkers
        .src
        .iter()
        .all(|t| t.key.starts_with("198.51.100.")));
    // The first look: the early flows' totals, no talkers, and since when
    // they are counted.
    let first = ask(dir.path(), &req);
    assert_eq!(first.totals.flows, 60);
    assert!(first.talkers.src.is_empty(), "{:?}", first.talkers.src);
    let since = first.talkers_since_ms.expect("the talkers' start");
    assert!(since > first.from_ms && since <= first.to_ms, "{since}");
    let mut v9 = V9Encoder::new(now - 3_600_000, 4);
    let d: Vec<Vec<u8>> = sent.chunks(30).map(|c| v9.encode(c, now)).collect();
    send_all(&sender("127.0.0.31"), floed.addr, &d);
    let early_octets = early.iter().map(|f| f.octets).sum::<u64>();
    let s = ask_until(dir.path(), &req, |s| {
        s.totals.flows >= 60 + sent.len() as u64
    });
    assert_eq!(s.talkers_since_ms, Some(since));
    assert_eq!(s.talkers.src.len(), 5, "{:?}", s.talkers.src);
    // Far heavier, the early sources are not among them.
    assert!(
        s.talkers
            .src
            .iter()
            .all(|t| !t.key.starts_with("198.51.100.")),
        "{:?}",
        s.talkers.src
    );
    assert_eq!(s.totals.flows, 60 + sent.len() as u64);
    assert_eq!(
        s.totals.packets,
        60 * 10_000 + sent.iter().map(|f| f.packets).sum::<u64>()
    );
    assert_eq!(
        s.totals.octets,
        early_octets + sent.iter().map(|f| f.octets).sum::<u64>()
    );
    assert_eq!(s.skipped_flows, 0);
    let by_proto: u64 = s.protocols.iter().map(|p| p.counts.flows).sum();
    assert_eq!(by_proto, 60 + sent.len() as u64);
    // The generator's heaviest sources by bytes are the live view's.
    let mut bytes: std::collections::HashMap<IpAddr, u64> = Default::default();
    for f in &sent {
        *bytes.entry(f.src_addr).or_default() += f.octets;
    }
    let mut want: Vec<(IpAddr, u64)> = bytes.into_iter().collect();
    want.sort_by_key(|w| std::cmp::Reverse(w.1));
    for (i, t) in s.talkers.src.iter().take(3).enumerate() {
        assert_eq!(
            t.key,
            want[i].0.to_string(),
            "rank {i}: {:?}",
            s.talkers.src
        );
        assert!(t.weight >= want[i].1 && t.weight - t.error <= want[i].1);
    }
    let e = s
        .exporters
        .iter()
        .find(|e| e.address == "127.0.0.31")
        .unwrap();
    assert_eq!((e.source_id, e.counts.flows), (4, sent.len() as u64));
    // Usage since the last check (pmacct's reset).
    let usage = |reset: bool| {
        ask(
            dir.path(),
            &Request {
                op: Op::Usage,
                client: Some("test".into()),
                reset,
                ..Request::default()
            },
        )
    };
    usage(true);
    let more = flows(300, 12);
    let mut v5 = V5Encoder::new(now - 3_600_000);
    let d: Vec<Vec<u8>> = more.chunks(30).map(|c| v5.encode(c, now_ms())).collect();
    send_all(&sender("127.0.0.32"), floed.addr, &d);
    let deadline = Instant::now() + Duration::from_secs(10);
    while usage(false).totals.flows < 300 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(usage(true).totals.flows, 300);
    assert_eq!(usage(false).totals.flows, 0);
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
    assert!(!socket(dir.path()).exists(), "the socket goes with floed");
}

#[test]
fn a_scan_keeps_memory_bounded_and_the_talkers_true() {
    let dir = tempfile::tempdir().unwrap();
    // Talkers counted from the start, whether anyone looks or not.
    std::fs::write(
        dir.path().join("floed.toml"),
        "zone = \"UTC\"\n[live]\ntalkers = \"always\"\n",
    )
    .unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let pid = floed.child.id();
    let now = now_ms();
    let mut v9 = V9Encoder::new(now - 3_600_000, 1);
    let mut x: u64 = 5;
    let mut scan = Vec::new();
    // 100 000 flows from random sources, and three heavy talkers.
    for i in 0..100_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        scan.push(Flow {
            start_ms: now - 5000,
            end_ms: now - 4000,
            src_addr: IpAddr::from((x as u32).to_be_bytes()),
            dst_addr: "192.0.2.80".parse().unwrap(),
            protocol: 6,
            tcp_flags: 0x02,
            dst_port: 22 + (i % 3) as u16,
            packets: 1,
            octets: 60,
            ..Flow::default()
        });
        if i % 1000 == 0 {
            for (k, big) in ["10.9.0.1", "10.9.0.2", "10.9.0.3"].iter().enumerate() {
                scan.push(Flow {
                    start_ms: now - 5000,
                    end_ms: now - 4000,
                    src_addr: big.parse().unwrap(),
                    dst_addr: "192.0.2.1".parse().unwrap(),
                    protocol: 6,
                    dst_port: 443,
                    packets: 1000,
                    octets: 1_000_000 * (3 - k as u64),
                    ..Flow::default()
                });
            }
        }
    }
    let d: Vec<Vec<u8>> = scan.chunks(30).map(|c| v9.encode(c, now)).collect();
    send_all(&sender("127.0.0.33"), floed.addr, &d);
    let req = Request {
        window: Some(120),
        n: Some(3),
        ..Request::default()
    };
    // In a debug build under a loaded test machine the live view may fall
    // behind and skip batches: it says how many, and still finds the
    // heavy hitters.
    let s = ask_until(dir.path(), &req, |s| {
        s.totals.flows + s.skipped_flows >= scan.len() as u64
    });
    let top: Vec<&str> = s.talkers.src.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(top, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
    assert_eq!(s.talkers_since_ms, None);
    assert_eq!(s.talkers.dst_flows[0].key, "192.0.2.80");
    let syn = s
        .flags
        .iter()
        .find(|f| f.flags == "syn_only")
        .unwrap()
        .counts
        .flows;
    assert!(syn + s.skipped_flows >= 100_000 && syn <= 100_000, "{syn}");
    // The stated cap: a live view of 300 s with 7 sketches of 512 entries
    // per 10 s slice, on top of the collector's own buffers.
    let rss = rss_kib(pid);
    assert!(rss < 160 * 1024, "floed RSS {rss} KiB after the scan");
    floed.stop();
}

#[test]
fn clients_that_misbehave_are_dropped_and_floed_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let path = socket(dir.path());
    // Garbage, then a line too long.
    let mut g = UnixStream::connect(&path).unwrap();
    g.write_all(b"hello\n{\"op\":\"explode\"}\n\xff\xfe\n")
        .unwrap();
    let mut answers = String::new();
    g.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 4096];
    let n = g.read(&mut buf).unwrap();
    answers.push_str(&String::from_utf8_lossy(&buf[..n]));
    assert!(answers.contains("\"ok\":false"), "{answers}");
    let mut long = UnixStream::connect(&path).unwrap();
    let _ = long.write_all(&vec![b'x'; 40_000]);
    // A client that asks and never reads its answers.
    let mut deaf = UnixStream::connect(&path).unwrap();
    deaf.set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let req = b"{\"op\":\"snapshot\",\"window\":300,\"n\":1000}\n";
    for _ in 0..2000 {
        if deaf.write_all(req).is_err() {
            break;
        }
    }
    // Meanwhile flows are stored.
    let now = now_ms();
    let mut v5 = V5Encoder::new(now - 3_600_000);
    let sent = flows(600, 3);
    let d: Vec<Vec<u8>> = sent.chunks(30).map(|c| v5.encode(c, now)).collect();
    send_all(&sender("127.0.0.34"), floed.addr, &d);
    // And a well-behaved client is still answered.
    let s = ask_until(
        dir.path(),
        &Request {
            window: Some(60),
            ..Request::default()
        },
        |s| s.totals.flows >= 600,
    );
    assert_eq!(s.totals.flows, 600);
    floed.wait_for("live socket: a client was dropped");
    drop((g, long, deaf));
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    let dropped = log
        .iter()
        .filter(|l| l.contains("a client was dropped"))
        .count();
    assert_eq!(dropped, 1, "said once");
    assert_eq!(stored_flows(dir.path()).0.len(), 600);
}

#[test]
fn no_floed_no_socket_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let e = Client::connect(&dir.path().join("nothing.sock"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("is floed running"), "{e}");
}

fn scrape(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn value(page: &str, name: &str, labels: &str) -> u64 {
    page.lines()
        .find(|l| {
            l.starts_with(&format!("{name}{{{labels}}} "))
                || (labels.is_empty() && l.starts_with(&format!("{name} ")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name}{{{labels}}} not in the page"))
}

#[test]
fn metrics_pass_promtool_and_agree_with_the_stats_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("floed.toml"),
        "zone = \"UTC\"\nmetrics_listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let line = floed.wait_for("metrics on http://");
    let addr = line
        .split("metrics on http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let now = now_ms();
    let mut v9 = V9Encoder::new(now - 3_600_000, 6);
    let sent = flows(900, 4);
    let d: Vec<Vec<u8>> = sent.chunks(30).map(|c| v9.encode(c, now)).collect();
    send_all(&sender("127.0.0.35"), floed.addr, &d);
    send_all(&sender("127.0.0.35"), floed.addr, &[vec![0xff; 40]]);
    let labels = "exporter=\"127.0.0.35\",source_id=\"6\"";
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats_path = dir.path().join("flows/.floed-stats.json");
    let page = loop {
        let p = scrape(&addr);
        let stats_ready =
            std::fs::read_to_string(&stats_path).is_ok_and(|t| t.contains("\"flows\": 900"));
        if p.contains(&format!("floed_exporter_flows_total{{{labels}}} 900")) && stats_ready {
            break p;
        }
        assert!(Instant::now() < deadline, "{p}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        value(&page, "floed_exporter_datagrams_total", labels),
        d.len() as u64
    );
    assert!(value(&page, "floed_datagrams_received_total", "") > d.len() as u64);
    assert_eq!(
        value(
            &page,
            "floed_exporter_bad_datagrams_total",
            "exporter=\"127.0.0.35\",source_id=\"0\""
        ),
        1
    );
    assert_eq!(value(&page, "floed_exporter_templates", labels), 2);
    // Nobody looked at the live view: its talkers are not counted, until
    // someone does.
    assert_eq!(value(&page, "floed_live_talkers_counted", ""), 0);
    ask(
        dir.path(),
        &Request {
            window: Some(60),
            ..Request::default()
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while value(&scrape(&addr), "floed_live_talkers_counted", "") != 1 {
        assert!(Instant::now() < deadline, "the gauge never said 1");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The stats file says the same.
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats_path).unwrap()).unwrap();
    let e = stats["exporters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "127.0.0.35" && e["source_id"] == 6)
        .unwrap();
    assert_eq!(e["flows"], 900);
    assert_eq!(e["datagrams"], d.len());
    // promtool, Prometheus' own checker.
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut p) => {
            p.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
            let out = p.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(e) => floe_test_support::skip(format!("promtool not found ({e})")),
    }
    // Anything else is refused.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /../../etc/passwd HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    floed.stop();
}

fn ping(path: &Path) -> bool {
    let mut c = Client::connect(path).unwrap();
    c.ask(&Request {
        op: Op::Ping,
        ..Request::default()
    })
    .unwrap()
    .ok
}

/// One exchange on a raw connection: `request` as written (maybe without
/// its newline), the write side shut, everything answered.
fn raw_exchange(path: &Path, request: &[u8]) -> String {
    let mut c = UnixStream::connect(path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(request).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

#[test]
fn a_last_request_without_newline_is_answered_and_leaving_early_is_no_fault() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let path = socket(dir.path());
    let out = raw_exchange(&path, b"{\"op\":\"ping\"}");
    assert!(out.contains("\"ok\":true"), "{out}");
    let out = raw_exchange(&path, b"{\"op\":\"ping\"}\n{\"op\":\"ping\"}");
    assert_eq!(out.matches("\"ok\":true").count(), 2, "{out}");
    // Clients that ask and go away before the answer (floe top quit,
    // a script killed): nothing wrong with them.
    for _ in 0..20 {
        let mut c = UnixStream::connect(&path).unwrap();
        c.write_all(b"{\"op\":\"snapshot\",\"window\":300,\"n\":1000}\n")
            .unwrap();
        drop(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(ping(&path));
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    assert!(
        !log.iter().any(|l| l.contains("a client was dropped")),
        "{}",
        log.join("\n")
    );
}

#[test]
fn clients_that_trickle_their_requests_do_not_hold_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let path = socket(dir.path());
    // As many clients as floed serves, each sending a byte now and then
    // and never a whole line (slowloris).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut trick = Vec::new();
    for _ in 0..16 {
        let (p, st) = (path.clone(), stop.clone());
        trick.push(std::thread::spawn(move || {
            let mut c = UnixStream::connect(&p).unwrap();
            let _ = c.write_all(b"{");
            let until = Instant::now() + Duration::from_secs(30);
            while !st.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < until {
                if c.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    // Within a while, a client that asks properly is answered again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut c = Client::connect(&path).unwrap();
        let r = c
            .ask(&Request {
                op: Op::Ping,
                ..Request::default()
            })
            .unwrap();
        if r.ok {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {:?}", r.error);
        std::thread::sleep(Duration::from_millis(500));
    }
    floed.wait_for("live socket: a client was dropped");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in trick {
        t.join().unwrap();
    }
    floed.stop();
}

#[test]
fn the_socket_is_0660_a_stale_one_is_replaced_and_anything_else_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("floed.toml"),
        "zone = \"UTC\"\n[live]\ngroup = \"nogroup\"\n",
    )
    .unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let path = socket(dir.path());
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), 65534, "the group asked for");
    // floed killed: its socket stays behind, and the next floed takes its
    // place.
    let mut floed = floed;
    floed.signal("KILL");
    floed.child.wait().unwrap();
    drop(floed);
    assert!(path.exists());
    let e = Client::connect(&path).err().unwrap();
    assert!(e.to_string().contains("floed is not running"), "{e}");
    let floed = Floed::start(dir.path(), &[]);
    assert!(ping(&path));
    // A second floed (another directory) told to use the same socket is
    // refused, and the first goes on.
    std::fs::write(
        dir.path().join("second.toml"),
        format!(
            "zone = \"UTC\"\n[live]\nsocket = {:?}\n",
            path.display().to_string()
        ),
    )
    .unwrap();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_floed"))
        .arg("--config")
        .arg(dir.path().join("second.toml"))
        .args(["--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("second"))
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another floed answers"), "{err}");
    assert!(Client::connect(&path).is_ok());
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
    // Something else where the socket goes: not touched.
    std::fs::write(&path, "mine").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_floed"))
        .arg("--config")
        .arg(dir.path().join("floed.toml"))
        .args(["--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("flows"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    // A group that does not exist is said.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(
        dir.path().join("floed.toml"),
        "zone = \"UTC\"\n[live]\ngroup = \"no-such-group-here\"\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_floed"))
        .arg("--config")
        .arg(dir.path().join("floed.toml"))
        .args(["--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("flows"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no such group"), "{err}");
}

#[test]
fn metrics_stay_answered_under_slow_and_idle_connections() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("floed.toml"),
        "zone = \"UTC\"\nmetrics_listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let line = floed.wait_for("metrics on http://");
    let addr = line
        .split("metrics on http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    // Connections that say nothing, and one that sends its request a byte
    // at a time (slowloris).
    let idle: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let a = addr.clone();
    let slow = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&a).unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        for b in b"GET /metrics HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".iter().cycle() {
            if Instant::now() > until || s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let page = scrape(&addr);
    assert!(page.contains("floed_datagrams_received_total"));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a scrape took {:?}",
        started.elapsed()
    );
    // Garbage is answered and closed.
    for junk in [
        &b"\x00\x01\x02\r\n\r\n"[..],
        b"POST /metrics HTTP/1.1\r\n\r\n",
        b"\r\n\r\n",
    ] {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(junk).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 4"), "{out}");
    }
    drop(idle);
    slow.join().unwrap();
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
}
