//! `floe X | head -1`: a reader that goes away is a quiet success for
//! every subcommand that prints, in every format: exit status 0, nothing
//! on stderr. Each output here is larger than a pipe's buffer, so the
//! writer meets the closed pipe for real.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use floe_flow::time::utc_ms;
use floe_flow::{Counter, ExporterCounters, ExporterKey, Flow};
use floe_store::{FileHeader, FileWriter, StoreConfig, StoreWriter, WriteOptions, Zone};

mod common;
use common::FLOE;

/// 40 000 flows over two hours, each from its own source address (so that
/// a report by source has as many rows).
fn big_tree(root: &Path) {
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 3600;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let flows: Vec<Flow> = (0..40_000i64)
        .map(|i| Flow {
            start_ms: t0 + i * 170,
            end_ms: t0 + i * 170 + 1_000,
            src_addr: std::net::IpAddr::V4((0x0a00_0000 + i as u32).into()),
            dst_addr: "192.0.2.1".parse().unwrap(),
            src_port: 40_000 + (i % 20_000) as u16,
            dst_port: 443,
            protocol: 6,
            packets: 1 + i as u64 % 7,
            octets: 100 + i as u64,
            ..Flow::default()
        })
        .collect();
    for chunk in flows.chunks(4096) {
        w.write(chunk[chunk.len() - 1].end_ms, chunk).unwrap();
    }
    w.close(t0 + 2 * 3_600_000).unwrap();
}

/// A file whose counters name 3000 exporters, each with extra counters:
/// `floe info` shows several lines for each.
fn many_exporters(path: &Path) {
    let header = FileHeader {
        created_ms: 0,
        period: None,
        host: "test".into(),
        zone: "UTC".into(),
        writer: "test".into(),
    };
    let out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = FileWriter::new(out, path, &header, WriteOptions::default()).unwrap();
    for i in 0..3000u32 {
        let mut c = ExporterCounters {
            datagrams: 10,
            flows: 300,
            ..ExporterCounters::default()
        };
        c.extra[Counter::AbsurdTimes] = 1;
        c.extra[Counter::UndecodedSets] = 2;
        w.add_counters(
            ExporterKey {
                address: std::net::IpAddr::V4((0xc000_0000 + i).into()),
                source_id: i,
            },
            &c,
        );
    }
    w.finish(0).unwrap();
}

/// Runs floe with `args`, reads the first line (or the first bytes, for a
/// binary stream) of its output, closes the pipe, and returns the exit
/// status and stderr.
fn first_line_then_close(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(FLOE)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::with_capacity(64, child.stdout.take().unwrap());
    let mut first = String::new();
    let binary =
        matches!(args.first(), Some(&"cat") | Some(&"filter")) && !args.contains(&"--explain");
    if binary {
        let mut b = [0u8; 16];
        stdout.read_exact(&mut b).unwrap();
        first = format!("{b:?}");
    } else {
        stdout.read_line(&mut first).unwrap();
    }
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), first, err)
}

/// Runs floe with `args` writing into a pipe whose reader is already gone
/// (outputs too small to fill a pipe meet the closed pipe this way, with
/// no race); returns the exit status and stderr.
fn into_a_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(FLOE)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_that_prints_stops_quietly_when_its_reader_goes() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    big_tree(&tree);
    let tree = tree.to_str().unwrap();
    let counters = dir.path().join("counters.floe");
    many_exporters(&counters);
    let counters = counters.to_str().unwrap();
    // A filter that prints back as hundreds of kilobytes.
    let long_filter = dir.path().join("long.filter");
    let text = (1..20_000)
        .map(|p| format!("src port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    std::fs::write(&long_filter, text).unwrap();
    let long_filter = long_filter.to_str().unwrap();
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["cat", tree],
        vec!["filter", "proto tcp", tree],
        vec!["filter", "--explain", "--file", long_filter],
        vec!["info", counters],
        vec!["info", "--json", counters],
        vec!["info", "--format", "json", counters],
        vec!["info", "--files", counters, tree],
        vec!["generate", "man"],
        vec!["generate", "completions", "bash"],
        vec!["generate", "completions", "zsh"],
        vec!["generate", "completions", "fish"],
        vec!["--help"],
        vec!["report", "--help"],
        vec![
            "report",
            "--daily",
            "--day",
            "2026-11-22",
            "--zone",
            "UTC",
            tree,
        ],
    ];
    for f in ["table", "csv", "json", "flow-tools-3", "flow-tools-5"] {
        cases.push(vec!["print", "--format", f, tree]);
    }
    for f in ["text", "csv", "json", "html", "flow-tools"] {
        cases.push(vec![
            "report",
            "-r",
            "ip-source-address",
            "--format",
            f,
            tree,
        ]);
    }
    for args in &cases {
        let (code, first, err) = first_line_then_close(args);
        assert!(!first.is_empty(), "floe {args:?} printed nothing");
        assert_eq!(code, Some(0), "floe {args:?}: {err}");
        assert_eq!(err, "", "floe {args:?} said something");
        let (code, err) = into_a_closed_pipe(args);
        assert_eq!(code, Some(0), "floe {args:?} into a closed pipe: {err}");
        assert_eq!(err, "", "floe {args:?} into a closed pipe said something");
    }
}

/// `head` in a shell pipeline, as users run it.
#[test]
fn in_a_shell_pipeline_too() {
    let dir = tempfile::tempdir().unwrap();
    big_tree(dir.path());
    for sub in ["print", "info", "report -r ip-source-address"] {
        let script = format!(
            "{FLOE} {sub} {} | head -n 1 > /dev/null; echo ${{PIPESTATUS[0]}}",
            dir.path().display()
        );
        let out = Command::new("bash").args(["-c", &script]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{sub}");
        assert!(
            out.stderr.is_empty(),
            "{sub}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
