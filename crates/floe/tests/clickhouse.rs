//! floe and ClickHouse end to end with the real binary: `floe clickhouse
//! init`, `floe ship` of a store (floe and flow-tools files), and `floe
//! report --clickhouse` giving the very output `floe report` gives from
//! the files, on ClickHouse 26 (chdb-core) with the modern schema and on
//! Debian's 18.16 server with the legacy one; names and filters with
//! quotes, backslashes and SQL in them change no query.

mod common;

use std::path::Path;
use std::process::Command;

use common::FLOE;
use floe_flow::Flow;
use floe_store::{StoreConfig, StoreWriter, Zone};
use floe_test_support::clickhouse::{Chdb, Server};
use floe_test_support::run_ok;

/// A store of generated flows (10-minute UTC files) over two hours.
fn store(dir: &Path, n: usize) -> Vec<Flow> {
    let t0 = floe_flow::time::utc_ms(2026, 11, 22, 10, 0, 0);
    let mix = floe_synth::Mix {
        ipv6_share: 0.2,
        day_start_ms: t0,
        span_ms: 2 * 3_600_000,
    };
    let mut flows = floe_synth::realistic_flows(n, 5, &mix);
    for (i, f) in flows.iter_mut().enumerate() {
        if i % 50 == 0 {
            f.packets = 0;
        }
        if i % 9 == 0 {
            f.sampling_interval = 10;
        }
    }
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::Utc;
    c.block_records = 1_000;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut now = t0;
    for chunk in flows.chunks(300) {
        now = now.max(chunk.iter().map(|f| f.end_ms).max().unwrap());
        w.write(now, chunk).unwrap();
        w.tick(now).unwrap();
    }
    w.close(now + 1).unwrap();
    flows
}

fn floe(args: &[&str]) -> String {
    run_ok(Command::new(FLOE).args(args))
}

/// `floe report ARGS DIR` and `floe report ARGS --clickhouse URL` print the
/// same, for each report.
fn same_reports(dir: &Path, url: &str, reports: &[&[&str]]) {
    let d = dir.to_str().unwrap();
    for args in reports {
        let mut local = vec!["report"];
        local.extend_from_slice(args);
        local.push(d);
        let mut remote = vec!["report", "--clickhouse", url];
        remote.extend_from_slice(args);
        let (a, b) = (floe(&local), floe(&remote));
        assert!(!a.trim().is_empty(), "{args:?}");
        assert_eq!(
            a, b,
            "floe report {args:?}: from the files, then from ClickHouse"
        );
    }
}

const REPORTS: &[&[&str]] = &[
    &["-r", "ip-source-address", "-n", "10", "--zone", "UTC"],
    &[
        "-r",
        "ip-destination-port/ip-protocol",
        "-n",
        "20",
        "--sort",
        "+flows",
        "--zone",
        "UTC",
    ],
    &[
        "-r",
        "ip-address",
        "-n",
        "10",
        "-f",
        "json",
        "--zone",
        "UTC",
    ],
    &[
        "-r",
        "time-series",
        "--interval",
        "600",
        "--zone",
        "UTC",
        "-f",
        "csv",
    ],
    &[
        "-r",
        "ip-protocol",
        "-t",
        "2026-11-22 11:00",
        "-T",
        "2026-11-22 12:00",
        "--zone",
        "UTC",
    ],
    &[
        "-r",
        "source-as",
        "--scale",
        "sampling",
        "-n",
        "5",
        "--filter",
        "proto tcp and not dst port 443",
        "--zone",
        "UTC",
    ],
    &[
        "-r",
        "ip-source-address-destination-count",
        "-n",
        "5",
        "--zone",
        "UTC",
        "-f",
        "flow-tools",
    ],
    &["-r", "summary-detail", "--zone", "UTC"],
    &[
        "-r",
        "ip-source-address",
        "--src-format",
        "prefix-mask/24,48",
        "-n",
        "8",
        "--zone",
        "UTC",
        "-f",
        "csv",
    ],
];

#[test]
fn clickhouse_26_answers_floe_report_as_the_files_do() {
    let Some(ch) = Chdb::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let flows = store(&dir, 20_000);
    // flow-tools files in the tree are shipped too.
    let ft = tmp.path().join("ft");
    let writer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/flowtools_writer.py");
    run_ok(
        Command::new(floe_test_support::python3())
            .arg(&writer)
            .arg(&ft),
    );
    let mut ft_flows = 0;
    let archive = ft.join("archive");
    for e in floe_store::walk_readable(&archive).unwrap() {
        // (The archive has a file cut short on purpose: not that one.)
        let read = floe_netflow::flowtools::read(&std::fs::read(&e.path).unwrap()).unwrap();
        if read.truncated.is_some() {
            continue;
        }
        ft_flows += read.flows.len();
        let to = dir.join(e.path.strip_prefix(&archive).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&e.path, &to).unwrap();
    }
    assert!(ft_flows > 0);
    let all = flows.len() + ft_flows;
    let url = ch.url();
    floe(&["clickhouse", "init", &url]);
    let out = Command::new(FLOE)
        .args([
            "ship",
            dir.to_str().unwrap(),
            "--clickhouse",
            &url,
            "--batch",
            "3000",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&format!("{all} flows shipped")), "{said}");
    // Again: nothing new.
    let out = Command::new(FLOE)
        .args(["ship", dir.to_str().unwrap(), "--clickhouse", &url])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("0 flows shipped to") && said.contains(&format!("({all} in all")),
        "{said}"
    );
    same_reports(&dir, &url, REPORTS);
    // A report read from a consolidated table says the same.
    let sql = floe(&["report", "--clickhouse", &url, "-r", "ip-protocol", "--sql"]);
    assert!(sql.contains("`floe`.`flows_1h`"), "{sql}");
    same_reports(
        &dir,
        &url,
        &[&["-r", "ip-protocol/input-interface", "--zone", "UTC"]],
    );
}

#[test]
fn quotes_backslashes_and_sql_in_names_and_filters_change_no_query() {
    let Some(ch) = Chdb::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    store(&dir, 2_000);
    let url = ch.url();
    floe(&["clickhouse", "init", &url]);
    // A collector name that would end a literal and run a statement.
    let evil = "x'); DROP TABLE floe.flows; -- \\' \" `";
    let out = Command::new(FLOE)
        .args([
            "ship",
            dir.to_str().unwrap(),
            "--clickhouse",
            &url,
            "--collector",
            evil,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = ch.query("SELECT DISTINCT collector FROM floe.flows FORMAT TSVRaw");
    assert_eq!(names.trim_end_matches('\n'), evil);
    // Filters with quotes, backslashes and SQL are floe's language or
    // refused by it: nothing of their text reaches a query.
    for f in [
        "proto tcp' OR 1=1 --",
        "dst port 443; DROP TABLE floe.flows",
        "src net 10.0.0.0/8 \\' or exporter 1.2.3.4",
        "proto tcp or 1=1",
    ] {
        let o = Command::new(FLOE)
            .args([
                "report",
                "--clickhouse",
                &url,
                "-r",
                "ip-protocol",
                "--filter",
                f,
            ])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A database name with SQL in it is one quoted name.
    let o = Command::new(FLOE)
        .args([
            "report",
            "--clickhouse",
            &url,
            "-r",
            "ip-protocol",
            "--database",
            "floe`.flows; DROP TABLE floe.flows; --",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no table"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let sql = floe(&[
        "report",
        "--clickhouse",
        &url,
        "-r",
        "ip-protocol",
        "--sql",
        "--database",
        "a`b\\c'd",
    ]);
    assert!(sql.contains("FROM `a\\`b\\\\c'd`.`flows`"), "{sql}");
    // The table is whole.
    let n = ch.query("SELECT count() FROM floe.flows FORMAT TSV");
    assert_eq!(n.trim(), "2000");
}

#[test]
fn clickhouse_18_16_with_the_legacy_schema_answers_as_the_files_do() {
    let Some(ch) = Server::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    store(&dir, 10_000);
    let url = ch.url();
    // The schema as printed is the schema applied.
    let ddl = floe(&["clickhouse", "schema", "--legacy"]);
    assert!(ddl.contains("FixedString(16)") && !ddl.contains("LowCardinality("));
    floe(&["clickhouse", "init", &url, "--legacy"]);
    // The user floe has a password with quotes and a backslash, read from a file.
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, format!("{}\n", Server::PASSWORD)).unwrap();
    let floe_url = url.replace("http://", "http://floe@");
    let out = Command::new(FLOE)
        .args(["ship", dir.to_str().unwrap(), "--clickhouse", &floe_url])
        .args(["--password-file", pw.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong password is refused, and never shown.
    let out = Command::new(FLOE)
        .args(["report", "--clickhouse", &floe_url, "-r", "ip-protocol"])
        .env("FLOE_CLICKHOUSE_PASSWORD", "wrong-secret")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        !said.contains("wrong-secret") && !said.contains("s3cr3t"),
        "{said}"
    );
    same_reports(
        &dir,
        &url,
        &[
            &["-r", "ip-source-address", "-n", "10", "--zone", "UTC"],
            &[
                "-r",
                "ip-source/destination-address",
                "--dst-format",
                "prefix-len",
                "-n",
                "10",
                "--zone",
                "UTC",
            ],
            &[
                "-r",
                "time-series/ip-protocol",
                "--interval",
                "900",
                "-f",
                "csv",
                "--zone",
                "UTC",
            ],
            // Minutes: 18.16 computed Int64 % 60000 wrongly (a flow lost
            // its last interval) until the divisor was typed Int64.
            &[
                "-r",
                "time-series/ip-protocol",
                "--interval",
                "60",
                "-f",
                "csv",
                "--zone",
                "UTC",
            ],
            &[
                "-r",
                "ip-port",
                "-n",
                "10",
                "--filter",
                "ipv6 or src net 10.1.0.0/16",
                "--zone",
                "UTC",
            ],
            &["-r", "ip-exporter-address", "--zone", "UTC"],
            // Fixed prefixes: on 18.16 a shift by `32 - UInt64` (Int64)
            // had no common type with UInt64 until it was made UInt64.
            &[
                "-r",
                "ip-source-address",
                "--src-format",
                "prefix-mask/24,48",
                "-n",
                "8",
                "--zone",
                "UTC",
            ],
        ],
    );
}
