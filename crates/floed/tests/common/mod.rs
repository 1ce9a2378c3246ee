//! What the floed end-to-end tests share: a floed child process on
//! 127.0.0.1 with its log, loopback senders, and reading the stored flows.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use floe_flow::Flow;
use floe_store::{walk, FlowFile};

pub struct Floed {
    pub child: Child,
    pub lines: Receiver<String>,
    pub log: Vec<String>,
    pub addr: SocketAddr,
}

impl Floed {
    pub fn start(dir: &Path, extra: &[&str]) -> Floed {
        Floed::start_via(dir, extra, &[])
    }

    /// Starts floed through a command prefix (e.g. setpriv to drop root).
    pub fn start_via(dir: &Path, extra: &[&str], prefix: &[&str]) -> Floed {
        let cfg = dir.join("floed.toml");
        if !cfg.exists() {
            std::fs::write(&cfg, "zone = \"UTC\"\n").unwrap();
        }
        let bin = env!("CARGO_BIN_EXE_floed");
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = cmd
            .arg("--config")
            .arg(&cfg)
            .args(["--listen", "127.0.0.1:0", "--flush-interval", "1s", "--dir"])
            .arg(dir.join("flows"))
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut f = Floed {
            child,
            lines: rx,
            log: Vec::new(),
            addr: "127.0.0.1:0".parse().unwrap(),
        };
        let line = f.wait_for("listening on udp 127.0.0.1:");
        let port = line.split("listening on udp 127.0.0.1:").nth(1).unwrap();
        let port: u16 = port.split_whitespace().next().unwrap().parse().unwrap();
        f.addr = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
        f.wait_for("ready");
        f
    }

    /// Waits (10 s at most) for a log line containing `pat`.
    pub fn wait_for(&mut self, pat: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Some(l) = self.log.iter().find(|l| l.contains(pat)) {
            return l.clone();
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.log.push(l.clone());
                    if l.contains(pat) {
                        return l;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("floed never logged {pat:?}; log:\n{}", self.log.join("\n"));
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// SIGTERM, and the exit status within 5 s.
    pub fn stop(self) -> (i32, Vec<String>) {
        self.stop_within(Duration::from_secs(5))
    }

    /// SIGTERM; the exit code and the whole log once floed ended, which
    /// it must within `within`.
    pub fn stop_within(mut self, within: Duration) -> (i32, Vec<String>) {
        self.signal("TERM");
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.log.push(l);
                }
                return (s.code().unwrap_or(-1), std::mem::take(&mut self.log));
            }
            assert!(
                Instant::now() < deadline,
                "floed did not stop within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A test that fails before it stops its floed does not leave the daemon
/// running.
impl Drop for Floed {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn sender(ip: &str) -> UdpSocket {
    UdpSocket::bind(format!("{ip}:0")).unwrap()
}

/// Sends datagrams, pausing a little every few so that the kernel buffer
/// never overflows on a slow test machine.
pub fn send_all(sock: &UdpSocket, to: SocketAddr, dgrams: &[Vec<u8>]) {
    for (i, d) in dgrams.iter().enumerate() {
        sock.send_to(d, to).unwrap();
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

pub fn stored_flows(dir: &Path) -> (Vec<Flow>, Vec<FlowFile>) {
    let mut flows = Vec::new();
    let mut files = Vec::new();
    for f in walk(&dir.join("flows")).unwrap() {
        let file = FlowFile::open(&f.path).unwrap();
        flows.extend(file.read_all().unwrap());
        files.push(file);
    }
    (flows, files)
}

pub fn sample_flows(n: usize, seed: u64) -> Vec<Flow> {
    let now = now_ms();
    let mix = floe_synth::Mix {
        day_start_ms: now - 60_000,
        span_ms: 60_000,
        ipv6_share: 0.2,
    };
    floe_synth::realistic_flows(n, seed, &mix)
}

/// One of the `extra` counters of an exporter address, summed over files.
pub fn extra_counter(files: &[FlowFile], ip: &str, name: &str) -> u64 {
    let ip: std::net::IpAddr = ip.parse().unwrap();
    files
        .iter()
        .flat_map(|f| f.counters())
        .filter(|(k, _)| k.address == ip)
        .map(|(_, c)| c.extra.by_name(name))
        .sum()
}

/// Every datagram of the shared corpus's converted captures, in manifest
/// order (templates usually come before their data there); None when the
/// corpus is not beside the checkout.
pub fn corpus_datagrams() -> Option<Vec<Vec<u8>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/netflow-corpus");
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).ok()?;
    let mut out = Vec::new();
    for line in manifest.lines().skip(1) {
        let path = line.split('\t').next()?;
        if !path.contains("/_pcap/") {
            continue;
        }
        let bytes = std::fs::read(root.join(path)).ok()?;
        for d in floe_netflow::pcap::udp_datagrams(&bytes).ok()? {
            out.push(d.payload);
        }
    }
    Some(out)
}
