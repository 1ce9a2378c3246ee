//! What the floe integration tests share: the binary and a small tree.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Fraction of the screenshot's pixels that are not white, and whether the
/// chart's bar colour is there.
pub fn png_ink(path: &Path) -> (f64, bool) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let (mut ink, mut bar, mut n) = (0usize, false, 0usize);
    for p in pixels.chunks(px) {
        n += 1;
        if p[..3] != [255, 255, 255] {
            ink += 1;
        }
        // #3b73b9, give or take antialiasing.
        if p[0].abs_diff(0x3b) < 8 && p[1].abs_diff(0x73) < 8 && p[2].abs_diff(0xb9) < 8 {
            bar = true;
        }
    }
    (ink as f64 / n as f64, bar)
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

/// Renders a page with headless Chromium at `size` ("W,H"); the PNG's path.
pub fn screenshot(page: &Path, name: &str, size: &str) -> std::path::PathBuf {
    let shot = page.with_file_name(format!("{name}.png"));
    let status = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--window-size={size}"),
            &format!("--screenshot={}", shot.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("chromium is a test prerequisite (scripts/test checks it)");
    assert!(status.success(), "chromium failed for {name}");
    shot
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
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut port = None;
        let mut log = Vec::new();
        while Instant::now() < deadline {
            let Some(Ok(l)) = lines.next() else { break };
            if let Some(p) = l.split("listening on udp 127.0.0.1:").nth(1) {
                port = p.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            let ready = l.contains("ready");
            log.push(l);
            if ready {
                break;
            }
        }
        // The rest of the log is not needed; keep the pipe drained.
        std::thread::spawn(move || for _ in lines {});
        let port = port.unwrap_or_else(|| panic!("floed did not start:\n{}", log.join("\n")));
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
