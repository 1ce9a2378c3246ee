//! `floe web` in a real browser: headless Chromium (Debian's
//! `/usr/bin/chromium`) driven by Playwright's Python package
//! (`tests/browser/web_browser.py`) over a store of generated flows: the
//! graph draws, follows a change of key, a click on a series opens its
//! details, the drill-down filters the graph, a host's month shows its
//! cells; no console error; the screenshots at desktop and phone widths
//! are not blank and show the chart. Without Playwright or Chromium the
//! check is recorded as skipped (scripts/test installs both).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use floe_test_support::{python3, skip};

mod common;
use common::web::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Pixels of a screenshot: (width, height, RGB rows).
fn pixels(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
    let n = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(n)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, px)
}

/// How far the pixels of a region are from one colour: their luminance's
/// standard deviation, and the share that is not the page's white.
fn spread(px: &[[u8; 3]]) -> (f64, f64) {
    let lum: Vec<f64> = px
        .iter()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    let ink = px.iter().filter(|p| **p != [255, 255, 255]).count();
    (var.sqrt(), ink as f64 / px.len() as f64)
}

/// The first series' fill: #0072B2 at 80% over white.
fn is_first_series(p: &[u8; 3]) -> bool {
    let want = [51u8, 142, 193];
    p.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 12)
}

/// The Python that has Playwright, when it and Chromium are there (else
/// the reason is recorded as a skip).
fn browser_python() -> Option<std::path::PathBuf> {
    let py = python3();
    let has = Command::new(&py)
        .args(["-c", "import playwright.sync_api"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        skip(format!(
            "Playwright is not importable by {} (pip playwright; scripts/test installs it)",
            py.display()
        ));
        return None;
    }
    if !Path::new(CHROMIUM).exists() {
        skip(format!(
            "{CHROMIUM} is absent (Debian package chromium; scripts/test installs it)"
        ));
        return None;
    }
    Some(py)
}

/// Runs `tests/browser/SCRIPT` with its JSON argument, handing each line
/// it prints before its report (its last line, a JSON object) to
/// `on_line`, and returns the report; fails the test with what the script
/// and the server said when the script fails or takes more than 5 minutes.
fn run_script(
    py: &Path,
    script: &str,
    args: &serde_json::Value,
    web: &Web,
    mut on_line: impl FnMut(&str),
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let mut child = Command::new(py)
        .arg(&script)
        .arg(args.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut e = String::new();
        let _ = stderr.read_to_string(&mut e);
        e
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut said = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if !line.starts_with('{') {
                    on_line(&line);
                }
                said.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} took more than 5 minutes; it said:\n{}",
                    script.display(),
                    said.join("\n")
                );
            }
        }
    }
    let status = child.wait().unwrap();
    let errs = err_reader.join().unwrap();
    let last = said.last().cloned().unwrap_or_default();
    assert!(
        status.success(),
        "{} ({status}):\n{}\n{errs}\nserver:\n{}",
        script.display(),
        said.join("\n"),
        web.log()
    );
    serde_json::from_str(last.trim())
        .unwrap_or_else(|e| panic!("the script printed no report ({e}): {last}\n{errs}"))
}

#[test]
fn the_live_page_works_in_a_real_browser() {
    let Some(py) = browser_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let floed = common::Floed::start(dir.path());
    let web = Web::start(&dir.path().join("flows"), &[]);
    let out = dir.path().join("shots");
    std::fs::create_dir_all(&out).unwrap();
    let args = serde_json::json!({ "url": web.url(), "out": out, "chromium": CHROMIUM });
    // The page's first snapshot is on the screen ("ready"): only now are
    // flows sent, so that every source is counted (the first look starts
    // the talkers).
    let report = run_script(&py, "live_browser.py", &args, &web, |line| {
        if line == "ready" {
            floe_test_support::run_ok(Command::new(common::FLOE).args([
                "send",
                "--to",
                &format!("127.0.0.1:{}", floed.port),
                "--count",
                "300",
            ]));
        }
    });
    assert_eq!(
        report["errors"],
        serde_json::json!([]),
        "console errors or failed requests"
    );
    let saw = &report["saw"];
    assert_eq!(saw["rows_before"], 0, "{report}");
    let since = saw["since"].as_str().unwrap();
    assert!(
        since.ends_with("s ago (floed counts them while someone looks)."),
        "{since}"
    );
    assert!(
        saw["status"]
            .as_str()
            .unwrap()
            .contains("flows/s over the last 60 s"),
        "{report}"
    );
    // Addresses, as the live view lists them, and their counts: whole
    // numbers below 1000 ("7", not "7.0"), else with a unit ("2.11M").
    let rows = saw["rows"].as_array().unwrap();
    assert!(rows.len() >= 5 && rows.len() <= 10, "{report}");
    for r in rows {
        let cells: Vec<&str> = r
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cells.len(), 4, "{cells:?}");
        assert!(cells[0].parse::<std::net::IpAddr>().is_ok(), "{cells:?}");
        for c in &cells[1..] {
            let whole = c.parse::<u64>().is_ok_and(|v| v < 1000);
            let scaled =
                c.ends_with(['k', 'M', 'G', 'T', 'P']) && c[..c.len() - 1].parse::<f64>().is_ok();
            assert!(whole || scaled, "{cells:?}");
        }
    }
    let (w, h, px) = pixels(Path::new(report["shots"][0]["file"].as_str().unwrap()));
    assert_eq!((w, h), (1280, 800));
    let (sd, ink) = spread(&px);
    assert!(
        sd > 10.0 && ink > 0.02,
        "the live page looks blank: sd {sd:.1}, ink {ink:.3}"
    );
    floed.stop();
}

#[test]
fn the_pages_work_in_a_real_browser() {
    let Some(py) = browser_python() else { return };
    let s = Store::new();
    let web = Web::start(&s.root, &[]);
    let out = s.dir.path().join("shots");
    std::fs::create_dir_all(&out).unwrap();
    // What the pages must show, from the flows.
    let by_src = s.totals_by(|_| true, |f| f.src_addr.to_string());
    // Ports as the page names them: with their service names.
    let symbols = floe_report::sym::Symbols::builtin();
    let by_port = s.totals_by(
        |_| true,
        |f| match symbols.port(f.dst_port) {
            Some(name) => format!("{} ({name})", f.dst_port),
            None => f.dst_port.to_string(),
        },
    );
    let top = &by_src[0].0;
    let top_flow = s
        .flows
        .iter()
        .find(|f| f.src_addr.to_string() == *top)
        .unwrap();
    let args = serde_json::json!({
        "url": web.url(),
        "out": out,
        "chromium": CHROMIUM,
        "from": minute(s.from_ms),
        "to": minute(s.to_ms),
        "month": month(s.from_ms),
        "net": "10.1.0.0/24",
        "top_src": by_src.iter().take(10).map(|x| x.0.clone()).collect::<Vec<_>>(),
        "top_port": by_port.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
        "top_src_peer": top_flow.dst_addr.to_string(),
        "top_src_port": match symbols.port(top_flow.dst_port) {
            Some(name) => format!("{} ({name})", top_flow.dst_port),
            None => top_flow.dst_port.to_string(),
        },
        // One 10-minute cell per 10 minutes of flows.
        "hot_cells": HOURS * 6,
    });
    let report = run_script(&py, "web_browser.py", &args, &web, |_| {});
    assert_eq!(
        report["errors"],
        serde_json::json!([]),
        "console errors or failed requests"
    );

    // The screenshots: the window's size, not blank, and where the chart
    // is, the chart (the first series' colour, and more than one colour).
    let shots = report["shots"].as_array().unwrap();
    let names: Vec<&str> = shots.iter().map(|x| x["name"].as_str().unwrap()).collect();
    for want in [
        "graph-desktop",
        "graph-phone",
        "details-desktop",
        "host-desktop",
        "host-phone",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    for shot in shots {
        let name = shot["name"].as_str().unwrap();
        let (w, h, px) = pixels(Path::new(shot["file"].as_str().unwrap()));
        assert_eq!(
            (u64::from(w), u64::from(h)),
            (
                shot["width"].as_u64().unwrap(),
                shot["height"].as_u64().unwrap()
            ),
            "{name}"
        );
        let (sd, ink) = spread(&px);
        assert!(
            sd > 10.0 && ink > 0.02,
            "{name} looks blank: sd {sd:.1}, ink {ink:.3}"
        );
        let Some(b) = shot["chart"].as_object() else {
            continue;
        };
        let f = |k: &str| b[k].as_f64().unwrap().max(0.0) as u32;
        let (x0, y0) = (f("x"), f("y"));
        let (x1, y1) = ((x0 + f("width")).min(w), (y0 + f("height")).min(h));
        assert!(x1 > x0 + 100 && y1 > y0 + 100, "{name}: chart box {b:?}");
        let region: Vec<[u8; 3]> = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| px[(y * w + x) as usize])
            .collect();
        let (sd, ink) = spread(&region);
        let first = region.iter().filter(|p| is_first_series(p)).count();
        assert!(
            sd > 10.0 && ink > 0.2 && first > region.len() / 50,
            "{name}: the chart's region does not show the stacked series: sd {sd:.1}, ink {ink:.3}, first series' pixels {first} of {}",
            region.len()
        );
    }
}
