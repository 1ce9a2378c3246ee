//! What the floe integration tests share: the binary and a small tree.
#![allow(dead_code)] // each test file uses its own part

pub mod smtp;
pub mod web;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{StoreConfig, StoreWriter, Zone};

pub const FLOE: &str = env!("CARGO_BIN_EXE_floe");

/// Three hourly files, 10:00 to 13:00 UTC; flow i starts at 10:00 + 1 min * i
/// and lasts 30 s; 180 flows.
pub fn tree(root: &Path) -> Vec<Flow> {
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 3600;
    c.block_records = 20;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut all = Vec::new();
    for i in 0..180i64 {
        let f = Flow {
            start_ms: t0 + i * 60_000,
            end_ms: t0 + i * 60_000 + 30_000,
            src_addr: format!("10.0.0.{}", i % 250).parse().unwrap(),
            dst_addr: "192.0.2.1".parse().unwrap(),
            dst_port: 443,
            protocol: 6,
            packets: 1,
            octets: 100 + i as u64,
            ..Flow::default()
        };
        w.write(f.end_ms, std::slice::from_ref(&f)).unwrap();
        all.push(f);
    }
    w.close(t0 + 3 * 3_600_000).unwrap();
    all
}

/// Runs a python check on files; Err holds what it said.
pub fn python_check(script: &str, files: &[&Path], needs: &str) -> Result<(), String> {
    let out = Command::new(floe_test_support::python3())
        .args(["-c", script])
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 with {needs} is a test prerequisite (scripts/test checks it): {e}")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// html5lib's strict HTML5 parser accepts the page.
pub fn html5_valid(page: &Path) -> Result<(), String> {
    python_check(
        "import sys, html5lib; html5lib.HTMLParser(strict=True).parse(open(sys.argv[1], 'rb'))",
        &[page],
        "html5lib",
    )
}

/// The JSON document validates against the JSON Schema.
pub fn schema_valid(doc: &Path, schema: &Path) -> Result<(), String> {
    python_check(
        "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
        &[doc, schema],
        "jsonschema",
    )
}

/// Where the screenshots go.
pub fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pages")
}

/// page_check.py's measures of `page` at each view.
pub fn look(page: &Path, name: &str, views: &[&str]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/page_check.py");
    let out = Command::new(floe_test_support::python3())
        .arg(script)
        .arg(page)
        .arg(shots())
        .arg(name)
        .args(views)
        .output()
        .expect("python3 is a test prerequisite (scripts/test checks it)");
    assert!(
        out.status.success(),
        "page_check.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What every page must be at every width: no sideways scroll, no text
/// under 11 px, every chart drawn at least `min_chart` wide and a third
/// of that high.
pub fn reads_well(v: &Value, min_chart: u64) {
    let view = &v["view"];
    let width = v["width"].as_u64().unwrap();
    assert!(
        v["scroll_width"].as_u64().unwrap() <= width,
        "{view}: the page is {} px wide in a {width} px view: {}",
        v["scroll_width"],
        v["overflow"]
    );
    assert!(
        v["min_font"].as_f64().unwrap() >= 11.0,
        "{view}: text of {} px: {}",
        v["min_font"],
        v["min_font_at"]
    );
    for c in v["charts"].as_array().unwrap() {
        let (w, h) = (c["width"].as_u64().unwrap(), c["height"].as_u64().unwrap());
        assert!(
            w >= min_chart && h >= min_chart / 3,
            "{view}: a chart of {w}x{h}: {c}"
        );
        assert_eq!(c["loaded"], true, "{view}: {c}");
    }
}

/// A golden file of tests/golden.
pub fn golden(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// `got` equals the golden file `name` (FLOE_BLESS=1 writes it instead).
pub fn check_golden(name: &str, got: &str) {
    let path = golden(name);
    if std::env::var_os("FLOE_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with FLOE_BLESS=1 to create)", path.display()));
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{name}: output differs from the golden file at line {}\nwant: {:?}\ngot:  {:?}",
            first + 1,
            want.lines().nth(first),
            got.lines().nth(first)
        );
    }
}

/// The day of [`day_tree`]: 2026-11-22, UTC.
pub const DAY: &str = "2026-11-22";

/// A day of realistic flows (floe-synth's, thinned to a daily rhythm:
/// quiet at night, busy in the afternoon) in 10-minute UTC files, from
/// three exporters: 192.0.2.1 healthy, 192.0.2.2 noisy (bad datagrams,
/// lost flows, a sequence reset, undecoded sets), 192.0.2.3 silent from
/// 14:00 on. Returns the flows written.
pub fn day_tree(root: &Path, n: usize) -> Vec<Flow> {
    use floe_flow::{Counter, ExporterCounters, ExporterKey};
    let t0 = utc_ms(2026, 11, 22, 0, 0, 0);
    let mix = floe_synth::Mix {
        ipv6_share: 0.2,
        day_start_ms: t0,
        span_ms: 86_400_000,
    };
    let mut rng = floe_synth::Rng::seed_from_u64(7);
    let silent_from = t0 + 14 * 3_600_000;
    let exporters = ["192.0.2.1", "192.0.2.2", "192.0.2.3"];
    let mut flows: Vec<Flow> = floe_synth::realistic_flows(n, 19, &mix)
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            // Half from the first, a third from the second, the rest
            // from the third.
            f.exporter = exporters[[0, 0, 0, 1, 1, 2][i % 6]].parse().unwrap();
            f
        })
        .filter(|f| {
            let hour = ((f.end_ms - t0) / 3_600_000) as f64;
            // 15% at 03:00 to 100% at 15:00.
            let keep = 0.575 - 0.425 * ((hour - 3.0) / 12.0 * std::f64::consts::PI).cos();
            rng.unit() < keep
        })
        .filter(|f| !(f.exporter.to_string() == "192.0.2.3" && f.end_ms >= silent_from))
        .collect();
    flows.sort_by_key(|f| f.end_ms);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let key = |a: &str| ExporterKey {
        address: a.parse().unwrap(),
        source_id: 0,
    };
    for minute in flows.chunk_by(|a, b| a.end_ms / 60_000 == b.end_ms / 60_000) {
        let now = minute[0].end_ms / 60_000 * 60_000 + 59_000;
        w.write(now, minute).unwrap();
        for exporter in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
            let n = minute
                .iter()
                .filter(|f| f.exporter.to_string() == exporter)
                .count() as u64;
            if n == 0 {
                continue;
            }
            let mut d = ExporterCounters {
                datagrams: n.div_ceil(30),
                flows: n,
                ..ExporterCounters::default()
            };
            if exporter == "192.0.2.2" {
                d.bad_datagrams = 35;
                d.datagrams += 35;
                d.lost_flows = n.div_ceil(10);
                d.extra[Counter::UndecodedSets] = 1;
                if now / 60_000 % 1440 == 6 * 60 {
                    d.sequence_resets = 1;
                }
            }
            w.add_counters(now, key(exporter), &d).unwrap();
        }
    }
    w.close(t0 + 86_400_000 + 600_000).unwrap();
    flows
}

/// floed, next to floe in the target directory (built by the workspace's
/// tests; built here when this package's tests run alone).
pub fn floed_binary() -> PathBuf {
    let dir = Path::new(FLOE).parent().unwrap();
    let bin = dir.join("floed");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut c = Command::new(cargo);
        c.args(["build", "-p", "floed"]);
        if dir.ends_with("release") {
            c.arg("--release");
        }
        assert!(c.status().unwrap().success(), "cannot build floed");
    }
    bin
}

/// floed on 127.0.0.1, killed when dropped.
pub struct Floed {
    pub child: Child,
    pub port: u16,
}

impl Floed {
    pub fn start(dir: &Path) -> Floed {
        let cfg = dir.join("floed.toml");
        std::fs::write(&cfg, "zone = \"UTC\"\n").unwrap();
        let mut child = Command::new(floed_binary())
            .arg("--config")
            .arg(&cfg)
            .args(["--listen", "127.0.0.1:0", "--flush-interval", "1s", "--dir"])
            .arg(dir.join("flows"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read on a thread of its own, so that a floed that stays up
        // without saying it is ready fails the test at the deadline
        // instead of holding it for ever; the rest of the log is drained
        // there too.
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut port = None;
        let mut log = Vec::new();
        while let Ok(l) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if let Some(p) = l.split("listening on udp 127.0.0.1:").nth(1) {
                port = p.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            let ready = l.contains("ready");
            log.push(l);
            if ready {
                break;
            }
        }
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("floed did not start:\n{}", log.join("\n"));
        };
        Floed { child, port }
    }

    pub fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "floed did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Floed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
