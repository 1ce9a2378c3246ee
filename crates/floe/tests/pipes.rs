//! The real floe binaries in pipes, on a tree written by the store.

use std::path::Path;
use std::process::{Command, Stdio};

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{walk, FlowFile, StoreConfig, StoreWriter, Zone};
use floe_test_support::run_ok;

mod common;
use common::{html5_valid, look, reads_well, schema_valid, tree, FLOE};

/// Runs `floe cat ARGS | floe print PRINT_ARGS` and returns (cat status,
/// print stdout, cat stderr).
fn cat_print(cat: &[&str], print: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(FLOE)
        .arg("cat")
        .args(cat)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let p = Command::new(FLOE)
        .arg("print")
        .args(print)
        .stdin(c.stdout.take().unwrap())
        .output()
        .unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(
        p.status.success(),
        "print: {}",
        String::from_utf8_lossy(&p.stderr)
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(p.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn cat_print_with_a_window_that_cuts_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let all = tree(dir.path());
    let root = dir.path().to_str().unwrap();
    // 10:45 to 11:15 (UTC): flows overlapping it, per flow.
    let (code, csv, err) = cat_print(
        &[
            root,
            "--zone",
            "UTC",
            "-t",
            "2026-11-22 10:45",
            "-T",
            "2026-11-22 11:15",
        ],
        &["-f", "csv", "--fields", "start-time,octets"],
    );
    assert_eq!(code, 0, "{err}");
    let from = utc_ms(2026, 11, 22, 10, 45, 0);
    let to = utc_ms(2026, 11, 22, 11, 15, 0);
    let want: Vec<String> = all
        .iter()
        .filter(|f| f.overlaps(from, to))
        .map(|f| {
            format!(
                "{},{}",
                floe_flow::time::format_utc_ms(f.start_ms),
                f.octets
            )
        })
        .collect();
    let got: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(csv.lines().next(), Some("start-time,octets"));
    assert_eq!(got, want);
    assert_eq!(
        got.len(),
        30,
        "10:45 to 11:14; the 10:44 flow ended at 10:44:30"
    );
}

#[test]
fn a_corrupt_file_is_named_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let all = tree(dir.path());
    let files = walk(dir.path()).unwrap();
    assert_eq!(files.len(), 3);
    let middle = &files[1].path;
    let f = FlowFile::open(middle).unwrap();
    let victim = f.blocks()[1];
    drop(f);
    let mut bytes = std::fs::read(middle).unwrap();
    bytes[victim.offset as usize + 50] ^= 0xff;
    std::fs::write(middle, bytes).unwrap();
    let (code, csv, err) = cat_print(
        &[dir.path().to_str().unwrap()],
        &["-f", "csv", "--fields", "octets"],
    );
    assert_eq!(code, 1, "exit status says something could not be read");
    assert!(err.contains(&middle.display().to_string()), "{err}");
    assert!(err.contains(&format!("offset {}", victim.offset)), "{err}");
    assert_eq!(
        csv.lines().count() - 1,
        all.len() - victim.records as usize,
        "every other block read"
    );
}

#[test]
fn cat_to_a_file_and_print_formats() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let out = dir.path().join("selected.floe");
    let s = Command::new(FLOE)
        .args(["cat", "--zone", "UTC", "--day", "2026-11-22", "-o"])
        .arg(&out)
        .arg(dir.path().join("2026"))
        .status()
        .unwrap();
    assert!(s.success());
    let f = FlowFile::open(&out).unwrap();
    assert!(f.is_closed());
    assert_eq!(f.flows(), 180);
    // NDJSON: one object per flow with catalog names as keys.
    let j = Command::new(FLOE)
        .args(["print", "-f", "json", "-n", "2"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8(j.stdout).unwrap();
    assert_eq!(text.lines().count(), 2);
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(v["ip-destination-port"], 443);
    assert_eq!(v["ip-source-address"], "10.0.0.0");
    // Unknown fields are refused with the valid ones listed.
    let bad = Command::new(FLOE)
        .args(["print", "--fields", "srcip,nonsense"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("valid fields: start-time"));
}

#[test]
fn broken_pipe_exits_quietly_with_success() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let script = format!(
        "{FLOE} print {} | head -n 1 > /dev/null; echo ${{PIPESTATUS[0]}}",
        dir.path().display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cat_filter_print_keeps_exactly_the_matching_flows() {
    let dir = tempfile::tempdir().unwrap();
    let all = tree(dir.path());
    let expr = "proto tcp and dst port 443 and (src net 10.0.0.0/28 or bytes > 250)";
    let want = all
        .iter()
        .filter(|f| floe_filter::Filter::parse(expr).unwrap().matches(f))
        .count();
    assert!(want > 0 && want < all.len());
    let mut cat = Command::new(FLOE)
        .arg("cat")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut filter = Command::new(FLOE)
        .args(["filter", expr])
        .stdin(cat.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let print = Command::new(FLOE)
        .args(["print", "-f", "csv", "--fields", "srcip,octets"])
        .stdin(filter.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(cat.wait().unwrap().success());
    assert!(filter.wait().unwrap().success());
    let text = String::from_utf8(print.stdout).unwrap();
    assert_eq!(text.lines().count() - 1, want);
    // --explain shows the compiled filter, which parses back to itself.
    let ex = Command::new(FLOE)
        .args(["filter", "--explain", expr])
        .output()
        .unwrap();
    let shown = String::from_utf8(ex.stdout).unwrap();
    assert_eq!(
        floe_filter::Filter::parse(shown.trim()).unwrap(),
        floe_filter::Filter::parse(expr).unwrap()
    );
    // A syntax error: exit status 2, with the column.
    let bad = Command::new(FLOE)
        .args(["filter", "proto tcp and dst prot 443"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("column 19"));
}

#[test]
fn flow_tools_filter_files_run_through_floe_filter() {
    let dir = tempfile::tempdir().unwrap();
    let all = tree(dir.path());
    let cfg = dir.path().join("filter.cfg");
    std::fs::write(
        &cfg,
        "filter-primitive low\n  type ip-address-prefix\n  permit 10.0.0.0/@{LEN:-28}\n\
         filter-primitive cheap\n  type counter\n  permit lt 150\n\
         filter-definition low-cheap\n  match ip-source-address low\n  match octets cheap\n",
    )
    .unwrap();
    let run = |vars: &[&str]| {
        let mut c = Command::new(FLOE);
        c.args(["filter", "--file"])
            .arg(&cfg)
            .args(["-F", "low-cheap"]);
        for v in vars {
            c.args(["-v", v]);
        }
        let mut filter = c
            .arg(dir.path().join("2026"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let print = Command::new(FLOE)
            .args(["print", "-f", "csv"])
            .stdin(filter.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(filter.wait().unwrap().success());
        String::from_utf8(print.stdout).unwrap().lines().count() - 1
    };
    let net = |len: u32| {
        all.iter()
            .filter(|f| match f.src_addr {
                std::net::IpAddr::V4(a) => {
                    u32::from(a) >> (32 - len) == 0x0a00_0000 >> (32 - len) && f.octets < 150
                }
                _ => false,
            })
            .count()
    };
    assert_eq!(run(&[]), net(28));
    assert_eq!(run(&["LEN=24"]), net(24));
    assert!(net(24) > net(28));
}

/// `floe print --format csv` is the JSON export flattened, as
/// schemas/flow-csv.md says: same column names in the same order, every
/// cell the text of the JSON value.
#[test]
fn print_csv_cells_are_the_json_values() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let print = |format: &str| {
        run_ok(
            Command::new(FLOE)
                .args(["print", "-f", format, "--fields", "all", "-n", "40"])
                .arg(dir.path()),
        )
    };
    let csv = print("csv");
    let json = print("json");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/flow.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let in_schema: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(header, in_schema, "--fields all is the schema's order");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 40);
    for (row, obj) in rows.iter().zip(json.lines()) {
        assert!(!row.contains('"'), "no cell needs quoting here: {row}");
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(obj).unwrap();
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), header.len());
        for (name, cell) in header.iter().zip(cells) {
            let want = match &obj[*name] {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            assert_eq!(cell, want, "{name}");
        }
    }
}

#[test]
fn print_json_follows_the_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/flow.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let props = schema["properties"].as_object().unwrap();
    // The schema and the catalog name the same fields.
    let catalog: Vec<&str> = floe_flow::FIELDS.iter().map(|f| f.name).collect();
    let mut in_schema: Vec<&str> = props.keys().map(String::as_str).collect();
    let mut sorted_catalog = catalog.clone();
    in_schema.sort();
    sorted_catalog.sort();
    assert_eq!(in_schema, sorted_catalog);
    // Real output validates: every key known, every value of its type.
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let out = Command::new(FLOE)
        .args(["print", "-f", "json", "--fields", "all", "-n", "50"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 50);
    for line in text.lines() {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        assert_eq!(obj.len(), catalog.len());
        for (k, v) in &obj {
            let p = &props[k];
            match p["type"].as_str().unwrap() {
                "integer" => assert!(v.is_u64(), "{k}: {v}"),
                "string" => {
                    let s = v.as_str().unwrap();
                    if p.get("pattern").is_some() {
                        assert!(
                            s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T',
                            "{k}: {s}"
                        );
                    } else {
                        assert!(s.parse::<std::net::IpAddr>().is_ok(), "{k}: {s}");
                    }
                }
                other => panic!("unexpected type {other}"),
            }
        }
    }
}

#[test]
fn report_from_a_tree_and_from_a_pipe_agree_with_a_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    let all = tree(dir.path());
    // Hand count: octets per source address, top 3.
    let mut by_src: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for f in &all {
        let e = by_src.entry(f.src_addr.to_string()).or_default();
        e.0 += 1;
        e.1 += f.octets;
    }
    let mut want: Vec<(String, u64, u64)> =
        by_src.into_iter().map(|(k, (n, o))| (k, n, o)).collect();
    want.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    want.truncate(3);
    let direct = Command::new(FLOE)
        .args([
            "report",
            "-r",
            "ip-source-address",
            "--sort",
            "+octets",
            "--records",
            "3",
            "-f",
            "json",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        direct.status.success(),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&direct.stdout).unwrap();
    let got: Vec<(String, u64, u64)> = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ip-source-address"].as_str().unwrap().to_string(),
                r["flows"].as_u64().unwrap(),
                r["octets"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(j["totals"]["flows"], all.len() as u64);
    // The same through a pipe, with a filter and a window.
    let mut cat = Command::new(FLOE)
        .arg("cat")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let piped = Command::new(FLOE)
        .args([
            "report",
            "-r",
            "ip-destination-port",
            "--filter",
            "bytes > 200",
            "-f",
            "csv",
            "--zone",
            "UTC",
        ])
        .args(["--start", "2026-11-22 11:00", "--end", "2026-11-22 12:00"])
        .stdin(cat.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(cat.wait().unwrap().success());
    let text = String::from_utf8(piped.stdout).unwrap();
    let from = utc_ms(2026, 11, 22, 11, 0, 0);
    let to = utc_ms(2026, 11, 22, 12, 0, 0);
    let n = all
        .iter()
        .filter(|f| f.overlaps(from, to) && f.octets > 200)
        .count();
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("443,{n},")),
        "{text}"
    );
}

#[test]
fn the_how_to_report_files_run_unchanged() {
    let examples =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/examples/flow-tools");
    if !examples.exists() {
        floe_test_support::skip("no ../shared/examples/flow-tools beside the checkout");
        return;
    }
    // A tree with traffic from the how-to's internal network too.
    let dir = tempfile::tempdir().unwrap();
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(dir.path().join("flows"));
    c.zone = Zone::Utc;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let ports = [80u16, 443, 22, 6667, 53, 8080, 25];
    let flows: Vec<Flow> = (0..600u64)
        .map(|i| Flow {
            start_ms: t0 + i as i64 * 100,
            end_ms: t0 + i as i64 * 100 + 50,
            src_addr: format!("192.168.{}.{}", i % 2, 1 + i % 9).parse().unwrap(),
            dst_addr: format!("203.0.113.{}", i % 5).parse().unwrap(),
            src_port: 40000 + (i % 13) as u16,
            dst_port: ports[i as usize % ports.len()],
            protocol: 6,
            packets: 1 + i % 4,
            octets: 100 + (i * 37) % 900,
            ..Flow::default()
        })
        .collect();
    w.write(t0 + 60_000, &flows).unwrap();
    w.close(t0 + 120_000).unwrap();
    let root = dir.path().join("flows");
    let report = |args: &[&str]| {
        run_ok(
            Command::new(FLOE)
                .arg("report")
                .args(args)
                .arg(&root)
                .args(["-f", "csv"]),
        )
    };
    // report.cfg: 17 reports, sort +octets, records 15, no filter.
    let cfg = examples.join("report.cfg");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let defs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("stat-definition "))
        .map(str::trim)
        .collect();
    assert_eq!(defs.len(), 17);
    for d in &defs {
        let via_cfg = report(&["-s", cfg.to_str().unwrap(), "-S", d]);
        let ty = text
            .split(&format!("stat-report {d}\n"))
            .nth(1)
            .and_then(|s| s.lines().next())
            .and_then(|l| l.trim().strip_prefix("type "))
            .unwrap();
        let direct = report(&["-r", ty, "--sort", "+octets", "--records", "15"]);
        let body: Vec<&str> = via_cfg.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(body.join("\n") + "\n", direct, "{d}");
        assert!(body.len() > 1, "{d} is empty");
    }
    // reports.conf: three filtered reports; its include-filter names
    // /etc/nfilter.conf, found here beside the config.
    let work = tempfile::tempdir().unwrap();
    for f in ["reports.conf", "nfilter.conf"] {
        std::fs::copy(examples.join(f), work.path().join(f)).unwrap();
    }
    let rc = work.path().join("reports.conf");
    let popular = "dst port in [80, 443, 20, 21, 22, 25, 53, 110, 143]";
    for (d, ty, expr) in [
        (
            "srcip-dstprt",
            "ip-source-address/ip-destination-port",
            "src net 192.168.0.0/24".to_string(),
        ),
        (
            "dstip-dstprt",
            "ip-destination-address/ip-destination-port",
            "dst net 192.168.0.0/24".to_string(),
        ),
        (
            "srcip-dstprt-pop",
            "ip-source-address/ip-destination-port",
            format!("src net 192.168.0.0/24 and {popular}"),
        ),
    ] {
        let via_cfg = report(&["-s", rc.to_str().unwrap(), "-S", d]);
        let direct = report(&[
            "-r",
            ty,
            "--sort",
            "+octets",
            "--records",
            "15",
            "--filter",
            &expr,
        ]);
        let body: Vec<&str> = via_cfg.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(body.join("\n") + "\n", direct, "{d}");
    }
    let pop = report(&["-s", rc.to_str().unwrap(), "-S", "srcip-dstprt-pop"]);
    assert!(pop.lines().count() > 2 && !pop.contains(",6667,"), "{pop}");
}

#[test]
fn progress_bar_only_when_stderr_is_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let out = dir.path().join("all.floe");
    // Not a terminal: nothing on stderr.
    let piped = Command::new(FLOE)
        .args(["cat", "-o"])
        .arg(&out)
        .arg(dir.path().join("2026"))
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert_eq!(String::from_utf8_lossy(&piped.stderr), "");
    // A terminal (script(1) runs the command on a pseudo-terminal): the bar
    // is drawn with the flows read, then cleared.
    let Ok(script) = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{FLOE} cat -o {} {}",
            dir.path().join("again.floe").display(),
            dir.path().join("2026").display()
        ))
        .arg("/dev/null")
        .output()
    else {
        floe_test_support::skip("script(1) not installed: the terminal progress bar not checked");
        return;
    };
    let shown = String::from_utf8_lossy(&script.stdout);
    assert!(script.status.success(), "{shown}");
    assert!(shown.contains(" flows"), "no progress bar drawn: {shown:?}");
    assert_eq!(
        FlowFile::open(dir.path().join("again.floe"))
            .unwrap()
            .flows(),
        180
    );
}

/// Flips, cuts and zero-fills three files of a four-file tree: cat, filter,
/// report and info each name every damaged file with an offset, read the
/// rest, and exit 1.
#[test]
fn damaged_files_are_named_by_every_tool_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(dir.path());
    c.zone = Zone::Utc;
    c.period_secs = 3600;
    c.block_records = 20;
    // Full blocks only (the minute between flows would flush each one).
    c.flush_interval_ms = 10 * 3_600_000;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    for i in 0..240i64 {
        let f = Flow {
            start_ms: t0 + i * 60_000,
            end_ms: t0 + i * 60_000 + 1_000,
            src_addr: format!("10.0.{}.{}", i / 60, i % 60).parse().unwrap(),
            dst_addr: "192.0.2.1".parse().unwrap(),
            dst_port: 443,
            protocol: 6,
            packets: 1,
            octets: 100,
            ..Flow::default()
        };
        w.write(f.end_ms, std::slice::from_ref(&f)).unwrap();
    }
    w.close(t0 + 4 * 3_600_000).unwrap();
    let files: Vec<std::path::PathBuf> = walk(dir.path())
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(files.len(), 4);
    let block = |p: &Path, i: usize| FlowFile::open(p).unwrap().blocks()[i];
    // File 0: a flipped byte inside its second block.
    let b = block(&files[0], 1);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[b.offset as usize + 40] ^= 0x55;
    std::fs::write(&files[0], bytes).unwrap();
    // File 1: cut in the middle of its third block (trailer gone).
    let b = block(&files[1], 2);
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..b.offset as usize + b.len as usize / 2]).unwrap();
    // File 2: 300 zero bytes over its first block.
    let b = block(&files[2], 0);
    let mut bytes = std::fs::read(&files[2]).unwrap();
    for x in &mut bytes[b.offset as usize..b.offset as usize + 300] {
        *x = 0;
    }
    std::fs::write(&files[2], bytes).unwrap();
    let tree = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(FLOE).args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let names_all = |text: &str| {
        for f in &files[..3] {
            let named = text
                .lines()
                .any(|l| l.contains(&f.display().to_string()) && l.contains("offset"));
            assert!(
                named,
                "{} not named with an offset in:\n{text}",
                f.display()
            );
        }
    };
    // Intact: file 3 whole (60 flows), file 0 but one block (40), file 1's
    // first two blocks (40), file 2 but its first block (40).
    let intact = 60 + 40 + 40 + 40;
    let (code, out, err) = run(&["print", "-f", "csv", "--fields", "octets", tree]);
    assert_eq!(code, Some(1));
    names_all(&err);
    assert_eq!(out.lines().count() - 1, intact);
    let (code, out, err) = run(&["report", "-r", "ip-protocol", "--format", "csv", tree]);
    assert_eq!(code, Some(1));
    names_all(&err);
    assert!(out.contains(&format!("6,{intact},")), "{out}");
    let filtered = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{FLOE} filter 'proto tcp' {tree} 2>{0}/filter.err | {FLOE} print -f csv | tail -n +2 | wc -l; exit ${{PIPESTATUS[0]}}",
            dir.path().display()
        ))
        .output()
        .unwrap();
    assert_eq!(filtered.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&filtered.stdout).trim(),
        intact.to_string()
    );
    names_all(&std::fs::read_to_string(dir.path().join("filter.err")).unwrap());
    // info sees the cut and zeroed files from their structure; with --check
    // it reads every block and finds the flipped byte too.
    let (code, out, _) = run(&["info", "--files", tree]);
    assert_eq!(code, Some(1));
    assert!(out.contains("damaged"), "{out}");
    let (code, out, _) = run(&["info", "--files", "--check", tree]);
    assert_eq!(code, Some(1));
    names_all(&out);
}

/// `floe info DIR` shows a running collector's live counters from the
/// stats file floed keeps in its data directory (the file floed writes is
/// checked in floed's own tests).
#[test]
fn info_shows_a_running_collectors_live_counters() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let stats = serde_json::json!({
        "format": 1, "pid": 4242, "version": "0.1.0",
        "started_ms": now - 3_600_000, "updated_ms": now - 1_000,
        "exporters": [{
            "address": "192.0.2.9", "source_id": 7, "templates": 3,
            "datagrams": 1234, "flows": 37020, "lost_flows": 60,
            "sequence_resets": 1, "bad_datagrams": 2, "reordered_datagrams": 0,
            "extra": {}
        }]
    });
    std::fs::write(dir.path().join(".floed-stats.json"), stats.to_string()).unwrap();
    let out = Command::new(FLOE)
        .arg("info")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("collector: floed 0.1.0 (pid 4242)"), "{text}");
    let line = text.lines().find(|l| l.contains("192.0.2.9 (7)")).unwrap();
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cols[2..], ["1234", "37020", "60", "1", "2", "3"], "{line}");
    assert!(!text.contains("stale"));
    let json = Command::new(FLOE)
        .args(["info", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["collectors"][0]["exporters"][0]["flows"], 37020);
    assert_eq!(v["entries"][0]["flows"], 180);
}

/// `--format html`: one self-contained, valid HTML5 page (html5lib's strict
/// parser), text escaped, and headless Chromium renders it, on a desktop
/// and a phone width, with a bar chart per report that fits the phone.
#[test]
fn html_reports_are_valid_escaped_and_render_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let cfg = dir.path().join("stat.cfg");
    std::fs::write(
        &cfg,
        "stat-report talkers<b>&co\n  type ip-source-address\n  output\n    sort +octets\n    records 10\n\nstat-report ports\n  type ip-destination-port\n  output\n    sort +flows\n\nstat-definition daily\n  report talkers<b>&co\n  report ports\n",
    )
    .unwrap();
    let out = Command::new(FLOE)
        .args(["report", "-s"])
        .arg(&cfg)
        .args(["-S", "daily", "--format", "html"])
        .arg(dir.path().join("2026"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("talkers&lt;b&gt;&amp;co"), "name not escaped");
    assert!(!page.contains("<b>&co"));
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "external asset"
    );
    assert_eq!(
        page.matches("<th class=\"bar\">").count(),
        2,
        "a bar chart per report"
    );
    assert!(
        page.contains("<td class=\"k\">10.0.0.179<"),
        "the top talker"
    );
    // Names for numbers: the port is https.
    assert!(
        page.contains("443 <span class=\"nm\">https</span>"),
        "{page}"
    );
    let html = dir.path().join("report.html");
    std::fs::write(&html, &page).unwrap();
    // Valid HTML5.
    if let Err(e) = html5_valid(&html) {
        panic!("not valid HTML5: {e}");
    }
    // Rendered, bars drawn, nothing wider than the screen: desktop and
    // phone widths.
    for v in look(&html, "talkers", &["1024", "390"]) {
        reads_well(&v, 300);
        assert!(v["bars"]["count"].as_u64().unwrap() >= 11, "{v}");
    }
}

/// `floe send --span 24h` spreads the generated flows over the past day
/// (what a day-long data set for benchmarks needs), received here on a
/// loopback socket and decoded.
#[test]
fn send_spreads_flows_over_the_span() {
    // 600 v9 flows sent to a socket here and decoded.
    let send = |extra: &[&str]| -> Vec<Flow> {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let to = sock.local_addr().unwrap().to_string();
        let s = Command::new(FLOE)
            .args([
                "send",
                "--netflow-version",
                "9",
                "--count",
                "600",
                "--rate",
                "0",
                "--span",
                "24h",
                "--to",
                &to,
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
        let mut dec = floe_netflow::Decoder::new(floe_netflow::DecoderConfig::default());
        let mut flows = Vec::new();
        let mut buf = vec![0u8; 65536];
        while flows.len() < 600 {
            let (n, from) = sock.recv_from(&mut buf).expect("all 600 flows arrive");
            dec.decode(from.ip(), &buf[..n], 0, &mut flows);
        }
        flows
    };
    let flows = send(&[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // --until: the same flows twice, whenever they are sent.
    let until = (now / 1000 - 7200).to_string();
    let a = send(&["--until", &until]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = send(&["--until", &until]);
    let times = |v: &[Flow]| v.iter().map(|f| (f.start_ms, f.end_ms)).collect::<Vec<_>>();
    assert_eq!(times(&a), times(&b));
    assert!(a.iter().all(|f| f.start_ms <= (now / 1000 - 7200) * 1000));
    let oldest = flows.iter().map(|f| f.end_ms).min().unwrap();
    let newest = flows.iter().map(|f| f.end_ms).max().unwrap();
    assert!(
        newest <= now + 1_000 && newest > now - 3_600_000,
        "{newest} vs {now}"
    );
    assert!(
        now - oldest > 20 * 3_600_000,
        "oldest only {} h back",
        (now - oldest) / 3_600_000
    );
    assert!(now - oldest <= 24 * 3_600_000 + 1_000);
}

/// `floe report --daily --day DAY`: hours, the top reports and exporter health of
/// one day, as text and as a valid HTML page, with no configuration.
#[test]
fn the_daily_summary_needs_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let run = |format: &str| {
        run_ok(
            Command::new(FLOE)
                .args([
                    "report",
                    "--daily",
                    "--day",
                    "2026-11-22",
                    "--zone",
                    "UTC",
                    "--format",
                    format,
                ])
                .arg(dir.path()),
        )
    };
    let text = run("text");
    assert!(text.contains("2026-11-22 daily flow summary on "), "{text}");
    assert!(text.contains("# 180 flows"), "{text}");
    // 180 flows, one a minute from 10:00: 60 in each of three hours.
    let hour = |h: &str| {
        text.lines()
            .find(|l| l.starts_with(h))
            .unwrap_or_else(|| panic!("no {h} line"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(hour("09:00"), "0");
    assert_eq!(hour("10:00"), "60");
    assert_eq!(hour("11:00"), "60");
    assert_eq!(hour("12:00"), "60");
    assert_eq!(hour("23:00"), "0");
    for section in [
        "# 2026-11-22 00:00 to 24:00 (UTC)",
        "# Top 15 source addresses by bytes\n",
        "# Top 15 destination ports by bytes",
        "# Top 15 conversations (source → destination address) by bytes",
        "# Protocols by bytes",
        "# Exporter health",
    ] {
        assert!(text.contains(section), "missing {section}");
    }
    // The top source is the last flow's (octets grow with the minute).
    let after = text.split("# Top 15 source addresses").nth(1).unwrap();
    let first_row = after.lines().nth(3).unwrap();
    assert!(first_row.starts_with("10.0.0.179 "), "{first_row}");
    let page = run("html");
    let html = dir.path().join("daily.html");
    std::fs::write(&html, &page).unwrap();
    assert!(page.contains("Traffic per hour") && page.contains("Exporter health"));
    assert_eq!(page.matches("<svg").count(), 1, "the hours' chart");
    assert_eq!(
        page.matches("<th class=\"bar\">").count(),
        5,
        "five reports"
    );
    if let Err(e) = html5_valid(&html) {
        panic!("{e}");
    }
}

/// `floe report --format json` validates against schemas/report.schema.json
/// (with python's jsonschema), for one report, a both-ends report and a
/// stat-config run (an array).
#[test]
fn report_json_follows_the_published_schema() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/report.schema.json");
    let cfg = dir.path().join("stat.cfg");
    std::fs::write(
        &cfg,
        "stat-report a\n  type ip-address\n  output\n    sort +octets\n    records 3\n    sort -flows\n\nstat-definition d\n  report a\n",
    )
    .unwrap();
    let cases: [Vec<String>; 3] = [
        vec![
            "-r".into(),
            "ip-source-address/ip-destination-port".into(),
            "--records".into(),
            "5".into(),
        ],
        vec!["-r".into(), "ip-port".into()],
        vec![
            "-s".into(),
            cfg.display().to_string(),
            "-S".into(),
            "d".into(),
        ],
    ];
    for args in cases {
        let out = Command::new(FLOE)
            .arg("report")
            .args(&args)
            .args(["--format", "json"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        let doc = dir.path().join("report.json");
        std::fs::write(&doc, &out.stdout).unwrap();
        if let Err(e) = schema_valid(&doc, &schema) {
            panic!("{args:?}: {e}");
        }
    }
    // And a document that breaks it is refused (the check can fail).
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"report":"x","sort":"octets","records":null,"totals":{},"rows":[]}"#,
    )
    .unwrap();
    assert!(schema_valid(&bad, &schema).is_err());
}
