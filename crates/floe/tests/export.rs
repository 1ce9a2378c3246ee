//! `floe export --format parquet`: DuckDB reads the tree with hive
//! partitioning, and its counts, sums and top 10 are floe's.

mod common;

use std::path::Path;
use std::process::Command;

use common::FLOE;
use floe_store::{StoreConfig, StoreWriter, Zone};
use floe_test_support::run_ok;

/// Generated flows over two days' boundary, in 10-minute UTC files.
fn store(dir: &Path) -> usize {
    let t0 = floe_flow::time::utc_ms(2026, 11, 21, 23, 0, 0);
    let mix = floe_synth::Mix {
        ipv6_share: 0.2,
        day_start_ms: t0,
        span_ms: 2 * 3_600_000,
    };
    let flows = floe_synth::realistic_flows(20_000, 3, &mix);
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::Utc;
    c.block_records = 2_000;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut now = t0;
    for chunk in flows.chunks(500) {
        now = now.max(chunk.iter().map(|f| f.end_ms).max().unwrap());
        w.write(now, chunk).unwrap();
        w.tick(now).unwrap();
    }
    w.close(now + 1).unwrap();
    flows.len()
}

const DUCKDB: &str = r#"
import ipaddress, json, sys
import duckdb
root = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads=2")
src = "read_parquet('%s/**/*.parquet', hive_partitioning = true)" % root
n, packets, octets = con.execute("SELECT count(*), sum(packets), sum(octets) FROM " + src).fetchone()
days = con.execute("SELECT year, month, day, count(*) FROM " + src + " GROUP BY ALL ORDER BY ALL").fetchall()
day22 = con.execute("SELECT count(*) FROM " + src + " WHERE year = 2026 AND month = 11 AND day = 22").fetchone()[0]
def addr(b):
    a = ipaddress.IPv6Address(bytes(b))
    return str(a.ipv4_mapped) if a.ipv4_mapped else str(a)
top = con.execute("SELECT src_addr, sum(octets) AS o FROM " + src + " GROUP BY src_addr ORDER BY o DESC, hex(src_addr) LIMIT 10").fetchall()
types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM " + src + ")").fetchall())
print(json.dumps({"n": n, "packets": int(packets), "octets": int(octets),
                  "days": [list(map(int, d)) for d in days], "day22": day22,
                  "top": [[addr(a), int(o)] for a, o in top], "types": types}))
"#;

#[test]
fn duckdb_reads_the_parquet_tree_as_floe_reads_the_store() {
    let py = floe_test_support::python3();
    let has = Command::new(&py)
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        return floe_test_support::skip(format!(
            "{} has no duckdb module (tests/prerequisites.md: pip duckdb)",
            py.display()
        ));
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let n = store(&dir);
    let out = tmp.path().join("lake");
    let listed = run_ok(
        Command::new(FLOE)
            .args(["export", "-f", "parquet", "--out"])
            .arg(&out)
            .arg(&dir),
    );
    let files: Vec<&str> = listed.lines().collect();
    assert_eq!(
        files.len(),
        floe_store::walk(&dir).unwrap().len(),
        "one Parquet file per floe file"
    );
    assert!(files
        .iter()
        .all(|f| f.contains("/year=2026/month=11/day=2") && f.ends_with(".parquet")));
    let got = run_ok(Command::new(&py).args(["-c", DUCKDB]).arg(&out));
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    // Counts and sums: floe's summary.
    let summary = run_ok(
        Command::new(FLOE)
            .args([
                "report",
                "-r",
                "summary-counters",
                "-f",
                "json",
                "--zone",
                "UTC",
            ])
            .arg(&dir),
    );
    let s: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v["n"], n as u64);
    assert_eq!(v["octets"], s["totals"]["octets"], "{summary}");
    assert_eq!(v["packets"], s["totals"]["packets"], "{summary}");
    // Partitions: both days, pruned by the day's key.
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{v}");
    let day22 = run_ok(
        Command::new(FLOE)
            .args(["print", "-f", "csv", "--zone", "UTC", "--tmp"])
            .arg(dir.join("2026/2026-11/2026-11-22")),
    )
    .lines()
    .count()
        - 1;
    assert_eq!(v["day22"], day22 as u64);
    // The top 10 sources by octets.
    let report = run_ok(
        Command::new(FLOE)
            .args([
                "report",
                "-r",
                "ip-source-address",
                "-n",
                "10",
                "-f",
                "csv",
                "--zone",
                "UTC",
            ])
            .arg(&dir),
    );
    let floe_top: Vec<(String, u64)> = report
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0].to_string(), c[2].parse().unwrap())
        })
        .collect();
    let duck_top: Vec<(String, u64)> = v["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
        .collect();
    assert_eq!(duck_top, floe_top);
    // Times are timestamps, counters unsigned.
    assert_eq!(
        v["types"]["start_time"], "TIMESTAMP WITH TIME ZONE",
        "{}",
        v["types"]
    );
    assert_eq!(v["types"]["octets"], "UBIGINT");
    assert_eq!(v["types"]["src_port"], "USMALLINT");
}
