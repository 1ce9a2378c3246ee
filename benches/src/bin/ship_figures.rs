//! Shipping and export figures: how fast a store's flows go into a local
//! ClickHouse (Debian's 18.16 server, started here on 127.0.0.1 with a
//! temporary data directory, legacy schema with its materialized views)
//! and how much CPU that costs floe per million flows; and how fast the
//! same store is exported as Parquet, and its size.
//!
//! `cargo run --release -p floe-benches --bin ship-figures -- [FLOWS]`
//! (default 2 000 000 flows). Prints a markdown table.

use std::time::{Duration, Instant};

use floe_clickhouse::{
    init, Client, SchemaOptions, ShipOptions, Shipper, Step, Target, Timeouts, Variant,
};
use floe_store::{StoreConfig, StoreWriter, Zone};
use floe_test_support::clickhouse::Server;

/// CPU seconds (user + system) of this process so far.
fn cpu_secs() -> f64 {
    // SAFETY: rusage is plain data (integers and timevals); all zeros is a
    // valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// CPU seconds of another process, from /proc.
fn proc_cpu(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // SAFETY: sysconf takes and returns plain integers.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (n(11) + n(12)) / tick
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let t0 = 1_795_305_600_000; // 2026-11-22 00:00 UTC
    let flows = floe_synth::realistic_flows(
        n,
        1,
        &floe_synth::Mix {
            ipv6_share: 0.2,
            day_start_ms: t0,
            span_ms: 6 * 3_600_000,
        },
    );
    let mut c = StoreConfig::new(&dir);
    c.zone = Zone::Utc;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut now = t0;
    for chunk in flows.chunks(8192) {
        now = now.max(chunk.iter().map(|f| f.end_ms).max().unwrap());
        w.write(now, chunk).unwrap();
        w.tick(now).unwrap();
    }
    w.close(now + 1).unwrap();
    drop(flows);
    let store_bytes: u64 = floe_store::walk(&dir).unwrap().iter().map(|f| f.size).sum();

    let Some(ch) = Server::start() else {
        eprintln!("clickhouse-server is not installed: apt-get install clickhouse-server");
        std::process::exit(2);
    };
    let server_pid = ch_pid(&ch);
    let target = Target::parse(&ch.url(), "floe", "flows").unwrap();
    init(
        &Client::new(target.clone(), Timeouts::default()),
        &SchemaOptions {
            variant: Variant::Legacy,
            ..SchemaOptions::default()
        },
    )
    .unwrap();
    let mut o = ShipOptions::new(target, "bench");
    o.batch_interval = Duration::ZERO;
    o.state_path = Some(tmp.path().join("state.json"));
    let mut s = Shipper::open(&dir, o).unwrap();
    let (cpu0, srv0, start) = (cpu_secs(), proc_cpu(server_pid), Instant::now());
    let mut shipped = 0;
    while !s.finished() {
        match s.step(true).unwrap() {
            Step::Sent(k) => shipped += k,
            _ => break,
        }
    }
    let (secs, cpu, srv) = (
        start.elapsed().as_secs_f64(),
        cpu_secs() - cpu0,
        proc_cpu(server_pid) - srv0,
    );
    assert_eq!(shipped, n as u64);
    let rows: u64 = ch
        .query("SELECT count() FROM floe.flows FORMAT TabSeparated")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(rows, n as u64);
    let disk: u64 = ch
        .query("SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'floe' AND table = 'flows' FORMAT TabSeparated")
        .trim()
        .parse()
        .unwrap_or(0);

    let out = tmp.path().join("lake");
    let (pcpu0, pstart) = (cpu_secs(), Instant::now());
    let mut pq_bytes = 0;
    for f in floe_store::walk(&dir).unwrap() {
        pq_bytes +=
            floe_parquet::export_file(&f.path, &out, &floe_parquet::ExportOptions::default())
                .unwrap()
                .bytes;
    }
    let (psecs, pcpu) = (pstart.elapsed().as_secs_f64(), cpu_secs() - pcpu0);

    let m = n as f64 / 1e6;
    println!("| {n} flows (20% IPv6) | rate | CPU s per M flows | size |");
    println!("|---|---|---|---|");
    println!(
        "| floe store (zstd level 1) | | | {:.1} bytes/flow |",
        store_bytes as f64 / n as f64
    );
    println!(
        "| ship to ClickHouse 18.16 (legacy schema, views; batches of 50 000, gzip RowBinary over HTTP) | {:.2} M flows/s | floe {:.2}, clickhouse-server {:.2} | {:.1} bytes/flow in `flows` |",
        m / secs,
        cpu / m,
        srv / m,
        disk as f64 / n as f64
    );
    println!(
        "| export as Parquet (zstd 3, a row group per block) | {:.2} M flows/s | {:.2} | {:.1} bytes/flow |",
        m / psecs,
        pcpu / m,
        pq_bytes as f64 / n as f64
    );
}

/// The server's pid (its log directory's stdout holds no pid: ask /proc for
/// the process listening on its port).
fn ch_pid(ch: &Server) -> u32 {
    let dir = ch.dir().to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(&dir) {
            return pid;
        }
    }
    0
}
