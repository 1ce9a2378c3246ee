//! What the tests of `floe web` share: a store of designed flows (the
//! tests compute what every page must show from the same flows), the real
//! `floe web` binary on a port of its choosing, and a small blocking HTTP
//! client that sends the request line exactly as given (so that traversal
//! attempts reach the server unnormalised).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_flow::{ExporterCounters, ExporterKey, Flow};
use floe_store::{StoreConfig, StoreWriter, Zone};

use super::FLOE;

/// Sources in the store: 10.1.0.1 sends the most, 10.1.0.12 the least.
pub const SOURCES: u32 = 12;
/// Hours of flows.
pub const HOURS: i64 = 3;
/// The exporter whose counters show lost flows.
pub const LOSSY: &str = "192.0.2.2";
/// The flows it lost.
pub const LOST: u64 = 7;

/// The source address of source `i` (0-based).
pub fn src(i: u32) -> IpAddr {
    IpAddr::from([10, 1, 0, i as u8 + 1])
}

pub fn dst(i: u32) -> IpAddr {
    IpAddr::from([198, 51, 100, (i % 3) as u8 + 1])
}

pub fn dst_port(i: u32) -> u16 {
    [443, 80, 22, 53][i as usize % 4]
}

pub fn exporter(i: u32) -> IpAddr {
    if i.is_multiple_of(2) {
        "192.0.2.1".parse().unwrap()
    } else {
        LOSSY.parse().unwrap()
    }
}

/// A store of 10-minute files (UTC) over `HOURS` hours that ended at
/// least an hour ago (so every file is closed and the range is one the
/// server treats as closed), within one calendar month.
pub struct Store {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub from_ms: i64,
    pub to_ms: i64,
    pub flows: Vec<Flow>,
}

fn month_start(ms: i64) -> i64 {
    let (y, m, _) = floe_flow::time::civil_from_days(ms.div_euclid(86_400_000));
    floe_flow::time::utc_ms(y, m, 1, 0, 0, 0)
}

/// `YYYY-MM-DD HH:MM` of UTC ms, as the pages take times (the server runs
/// with `--zone UTC`).
pub fn minute(ms: i64) -> String {
    let t = floe_flow::time::format_utc_ms(ms);
    format!("{} {}", &t[..10], &t[11..16])
}

/// `YYYY-MM-DD` of UTC ms.
pub fn day(ms: i64) -> String {
    floe_flow::time::format_utc_ms(ms)[..10].to_string()
}

/// `YYYY-MM` of UTC ms.
pub fn month(ms: i64) -> String {
    floe_flow::time::format_utc_ms(ms)[..7].to_string()
}

impl Store {
    /// The designed store plus, in a `long` subdirectory, a 25-minute
    /// flow from 10.1.0.200 starting 7 minutes past each hour (shared
    /// among the intervals it spans).
    pub fn with_long_flows() -> Store {
        let s = Store::new();
        let mut c = StoreConfig::new(s.root.join("long"));
        c.zone = Zone::Utc;
        let (mut w, _) = StoreWriter::open(c, s.from_ms).unwrap();
        for h in 0..HOURS {
            let start = s.from_ms + h * 3_600_000 + 7 * 60_000;
            let f = Flow {
                start_ms: start,
                end_ms: start + 25 * 60_000,
                exporter: exporter(1),
                src_addr: "10.1.0.200".parse().unwrap(),
                dst_addr: dst(2),
                dst_port: 443,
                protocol: 6,
                packets: 9000 + h as u64,
                octets: 7_000_000 + h as u64 * 13,
                ..Flow::default()
            };
            w.write(f.end_ms + 1000, std::slice::from_ref(&f)).unwrap();
        }
        w.close(s.to_ms).unwrap();
        s
    }

    /// Every minute, each source sends one flow of 20 s to one of three
    /// destinations, on one of four ports, through one of two exporters;
    /// source i's flows carry (12 - i) kB plus the minute, so the ranking
    /// is known and the values change from interval to interval.
    pub fn new() -> Store {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let mut to = now.div_euclid(3_600_000) * 3_600_000 - 3_600_000;
        if month_start(to - 1) > to - HOURS * 3_600_000 {
            to = month_start(to - 1);
        }
        Store::at(to - HOURS * 3_600_000)
    }

    /// The same flows from `from_ms` on (a whole hour).
    pub fn at(from_ms: i64) -> Store {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("flows");
        let to_ms = from_ms + HOURS * 3_600_000;
        let mut c = StoreConfig::new(&root);
        c.zone = Zone::Utc;
        c.period_secs = 600;
        c.block_records = 500;
        let (mut w, _) = StoreWriter::open(c, from_ms).unwrap();
        let mut flows = Vec::new();
        for m in 0..HOURS * 60 {
            let mut batch = Vec::new();
            for i in 0..SOURCES {
                let start = from_ms + m * 60_000 + i64::from(i) * 1000;
                batch.push(Flow {
                    start_ms: start,
                    end_ms: start + 20_000,
                    exporter: exporter(i),
                    src_addr: src(i),
                    dst_addr: dst(i),
                    src_port: 40_000 + i as u16,
                    dst_port: dst_port(i),
                    protocol: if dst_port(i) == 53 { 17 } else { 6 },
                    packets: 10 + u64::from(i),
                    octets: u64::from(SOURCES - i) * 1000 + m as u64,
                    input_if: 1 + i % 2,
                    output_if: 7,
                    src_as: 64_500 + i % 3,
                    dst_as: 64_496,
                    ..Flow::default()
                });
            }
            let at = from_ms + m * 60_000 + 40_000;
            w.write(at, &batch).unwrap();
            for e in ["192.0.2.1", LOSSY] {
                let mine = batch.iter().filter(|f| f.exporter.to_string() == e).count() as u64;
                let delta = ExporterCounters {
                    datagrams: 1,
                    flows: mine,
                    // The lossy exporter lost flows once, in the second hour.
                    lost_flows: if e == LOSSY && m == 61 { LOST } else { 0 },
                    ..ExporterCounters::default()
                };
                let key = ExporterKey {
                    address: e.parse().unwrap(),
                    source_id: 0,
                };
                w.add_counters(at, key, &delta).unwrap();
            }
            flows.extend(batch);
        }
        w.close(to_ms).unwrap();
        Store {
            dir,
            root,
            from_ms,
            to_ms,
            flows,
        }
    }

    /// The flows matching `keep`, summed by `key`: (key, flows, packets,
    /// octets), largest octets first.
    pub fn totals_by(
        &self,
        keep: impl Fn(&Flow) -> bool,
        key: impl Fn(&Flow) -> String,
    ) -> Vec<(String, u64, u64, u64)> {
        let mut by: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for f in self.flows.iter().filter(|f| keep(f)) {
            let e = by.entry(key(f)).or_default();
            e.0 += 1;
            e.1 += f.packets;
            e.2 += f.octets;
        }
        let mut v: Vec<_> = by.into_iter().map(|(k, (a, b, c))| (k, a, b, c)).collect();
        v.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
        v
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `a=b&c=d`, encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The page's `<title>`.
    pub fn title(&self) -> String {
        let b = &self.body;
        let at = b.find("<title>").map(|i| i + 7).unwrap_or(0);
        let end = b[at..].find("</title>").map_or(at, |e| at + e);
        b[at..end].to_string()
    }
}

/// `GET target` (sent exactly as given) with `headers`.
pub fn get_at(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("GET {target}: {e}"));
    parse(&raw).unwrap_or_else(|| {
        panic!(
            "GET {target}: not an HTTP response: {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// The status, headers and body (chunks joined) of a response.
pub fn parse(raw: &[u8]) -> Option<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = std::str::from_utf8(&rest[..nl]).ok()?;
            let n = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(rest.get(nl + 2..nl + 2 + n)?);
            rest = rest.get(nl + 4 + n..)?;
        }
        body = out;
    }
    Some(Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `floe web` running on 127.0.0.1, killed when dropped.
pub struct Web {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Web {
    /// `floe web --listen 127.0.0.1:0 --zone UTC ARGS... DIR`; panics with
    /// its log when it does not say where it listens.
    pub fn start(root: &Path, args: &[&str]) -> Web {
        let mut all = vec!["--listen", "127.0.0.1:0", "--zone", "UTC"];
        all.extend_from_slice(args);
        Web::try_start(root, &all).unwrap_or_else(|log| panic!("floe web did not start:\n{log}"))
    }

    /// `floe web ARGS... DIR`: the server, or what it said before it
    /// stopped.
    pub fn try_start(root: &Path, args: &[&str]) -> Result<Web, String> {
        let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        all.push(root.as_os_str());
        Web::spawn(&all)
    }

    /// `floe web --listen 127.0.0.1:0 --zone UTC ARGS...` (no store
    /// directory: `--clickhouse URL` alone).
    pub fn start_without_dir(args: &[&str]) -> Web {
        let mut all = vec!["--listen", "127.0.0.1:0", "--zone", "UTC"];
        all.extend_from_slice(args);
        let all: Vec<&std::ffi::OsStr> = all.iter().map(std::ffi::OsStr::new).collect();
        Web::spawn(&all).unwrap_or_else(|log| panic!("floe web did not start:\n{log}"))
    }

    /// `floe web ARGS...`.
    fn spawn(args: &[&std::ffi::OsStr]) -> Result<Web, String> {
        let mut child = Command::new(FLOE)
            .arg("web")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let keep = log.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                let addr = l
                    .split("serving http://")
                    .nth(1)
                    .map(|a| a.trim_end_matches('/').parse::<SocketAddr>().ok());
                keep.lock().unwrap().push(l);
                if let Some(a) = addr {
                    let _ = tx.send(a);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(addr)) => Ok(Web { child, addr, log }),
            _ => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                // Let the reader take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                let said = log.lock().unwrap().join("\n");
                Err(format!("{said}\n({status})"))
            }
        }
    }

    pub fn get(&self, target: &str) -> Resp {
        get_at(self.addr, target, &[])
    }

    pub fn get_with(&self, target: &str, headers: &[(&str, &str)]) -> Resp {
        get_at(self.addr, target, headers)
    }

    /// What it said on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM; the exit status and how long it took, or None when
    /// it had not ended within `within`.
    pub fn terminate(&mut self, within: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let asked = std::time::Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        while asked.elapsed() < within {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some((s, asked.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
