//! cat, filter and print read floe files on several threads (decoding,
//! filtering and encoding or formatting there) and keep the files' order:
//! the same bytes out whatever `--threads`; `filter --count-only` counts
//! what `filter` keeps, from files (where block statistics decide what
//! they can) and from a stream; reports agree whatever the threads.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::FLOE;
use floe_filter::Filter;
use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, StreamReader, WriteOptions};
use floe_synth::{realistic_flows, Mix};

/// 6 000 realistic flows over a day, in three files of 200-flow blocks
/// (`floe.1`, `floe.2`, `floe.3` in `root`, read in that order); returned
/// in file order.
fn store(root: &Path) -> Vec<Flow> {
    let flows = realistic_flows(6_000, 5, &Mix::default());
    let header = FileHeader {
        created_ms: 0,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "threads test".into(),
    };
    for (i, part) in flows.chunks(2_000).enumerate() {
        let path = root.join(format!("floe.{}", i + 1));
        let f = std::fs::File::create(&path).unwrap();
        let opts = WriteOptions {
            block_records: 200,
            level: 1,
        };
        let mut w = FileWriter::new(f, &path, &header, opts).unwrap();
        w.extend(part).unwrap();
        w.finish(0).unwrap();
    }
    flows
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let args: Vec<String> = args
        .iter()
        .flat_map(|a| match a.strip_prefix("FILES=") {
            Some(dir) => (1..=3).map(|i| format!("{dir}/floe.{i}")).collect(),
            None => vec![a.to_string()],
        })
        .collect();
    let mut child = Command::new(FLOE)
        .args(&args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(b) = stdin {
        child.stdin.take().unwrap().write_all(b).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn flows_of(stream: &[u8]) -> Vec<Flow> {
    let mut r = StreamReader::new(stream, "<stdout>").unwrap();
    let (mut all, mut buf) = (Vec::new(), Vec::new());
    while r.next_block(&mut buf).unwrap() {
        all.append(&mut buf);
    }
    all
}

#[test]
fn the_same_output_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let all = store(dir.path());
    // (`run` puts the three files for FILES.)
    let d = dir.path().to_str().unwrap();
    let d = &*Box::leak(format!("FILES={d}").into_boxed_str());
    // In file order: files by period, flows by arrival.
    let cat = flows_of(&run(&["cat", "--threads", "1", d], None));
    assert_eq!(cat.len(), all.len());
    let window = [
        "-t",
        "2026-11-22 06:00",
        "-T",
        "2026-11-22 09:30",
        "--zone",
        "UTC",
    ];
    let (from, to) = (
        1_795_305_600_000 + 6 * 3_600_000,
        1_795_305_600_000 + 9 * 3_600_000 + 1_800_000,
    );
    for expr in [
        "any",
        "proto tcp and dst port 443",
        "ipv6",
        "src net 10.0.0.0/8 and bytes > 1000",
        "dst port 1",
    ] {
        let f = Filter::parse(expr).unwrap();
        let want: Vec<Flow> = cat.iter().filter(|x| f.matches(x)).cloned().collect();
        let in_window: Vec<Flow> = want
            .iter()
            .filter(|x| x.overlaps(from, to))
            .cloned()
            .collect();
        for threads in ["1", "3"] {
            let got = flows_of(&run(&["filter", expr, "--threads", threads, d], None));
            assert_eq!(got, want, "{expr} on {threads} threads");
            let got = flows_of(&run(
                &[&["filter", expr, "--threads", threads, d][..], &window].concat(),
                None,
            ));
            assert_eq!(got, in_window, "{expr} in the window on {threads} threads");
            let n = run(
                &["filter", "--count-only", expr, "--threads", threads, d],
                None,
            );
            assert_eq!(
                String::from_utf8_lossy(&n),
                format!("{}\n", want.len()),
                "{expr}"
            );
            let n = run(
                &[
                    &["filter", "--count-only", expr, "--threads", threads, d][..],
                    &window,
                ]
                .concat(),
                None,
            );
            assert_eq!(
                String::from_utf8_lossy(&n),
                format!("{}\n", in_window.len()),
                "{expr}"
            );
        }
        // From a stream: the row reader, the same count.
        let stream = run(&["cat", d], None);
        let n = run(&["filter", "--count-only", expr, "-"], Some(&stream));
        assert_eq!(
            String::from_utf8_lossy(&n),
            format!("{}\n", want.len()),
            "{expr} from a stream"
        );
    }
    for format in ["csv", "flow-tools-5", "table"] {
        let one = run(
            &["print", "-f", format, "--zone", "UTC", "--threads", "1", d],
            None,
        );
        let two = run(
            &["print", "-f", format, "--zone", "UTC", "--threads", "2", d],
            None,
        );
        assert!(one == two, "print -f {format}");
        let cut = run(
            &[
                "print",
                "-f",
                format,
                "--zone",
                "UTC",
                "--threads",
                "2",
                "--records",
                "1234",
                d,
            ],
            None,
        );
        let lines = String::from_utf8_lossy(&cut).lines().count();
        let header = usize::from(matches!(format, "csv" | "table"))
            + usize::from(format == "flow-tools-5") * 2;
        assert!(
            lines >= 1234 && lines <= 1234 + header,
            "{format}: {lines} lines"
        );
        assert!(one.starts_with(&cut), "{format}: the first 1234 records");
    }
    for kind in [
        "ip-source-address",
        "ip-source/destination-address/ip-destination-port",
        "summary-counters",
    ] {
        let one = run(
            &[
                "report",
                "-r",
                kind,
                "-f",
                "csv",
                "--threads",
                "1",
                "--filter",
                "proto tcp",
                d,
            ],
            None,
        );
        let two = run(
            &[
                "report",
                "-r",
                kind,
                "-f",
                "csv",
                "--threads",
                "2",
                "--filter",
                "proto tcp",
                d,
            ],
            None,
        );
        assert!(one == two, "report {kind}");
    }
}
