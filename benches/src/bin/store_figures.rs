//! Prints the store's figures: write and read records/s and bytes per flow
//! on disk, per zstd level, for realistic flows (IPv4 only and the 20% IPv6
//! mix). Run in release mode:
//!
//!     cargo run --release -p floe-benches --bin store-figures -- [FLOWS]
//!
//! Write is measured on one core (encode, compress, write to a file); read
//! (mmap, decompress, decode to `Flow`s) on one core and on all cores.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Instant;

use floe_benches::{realistic_flows, Mix};
use floe_store::{BlockDecoder, FileHeader, FileWriter, FlowFile, WriteOptions};
use rayon::prelude::*;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000_000);
    let dir = std::env::temp_dir().join(format!("floe-store-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("flows: {n}, cores: {}", rayon::current_num_threads());
    println!("| set | level | bytes/flow | write rec/s (1 core) | read rec/s (1 core) | read rec/s (all cores) |");
    println!("|---|---|---|---|---|---|");
    for (set, share) in [("IPv4", 0.0), ("20% IPv6", 0.2)] {
        let mix = Mix {
            ipv6_share: share,
            ..Mix::default()
        };
        let flows = realistic_flows(n, 42, &mix);
        for level in [1, 3, 6, 9] {
            let path = dir.join(format!("f-{level}"));
            let (w_rate, size) = write(&flows, &path, level);
            let r1 = read(&path, 1, n);
            let rall = read(&path, rayon::current_num_threads(), n);
            println!(
                "| {set} | {level} | {:.1} | {:.2} M | {:.1} M | {:.1} M |",
                size as f64 / n as f64,
                w_rate / 1e6,
                r1 / 1e6,
                rall / 1e6
            );
            let _ = std::fs::remove_file(&path);
        }
    }
    // What the block statistics (column 31) add on disk.
    for (set, share) in [("IPv4", 0.0), ("20% IPv6", 0.2)] {
        let mix = Mix {
            ipv6_share: share,
            ..Mix::default()
        };
        let flows = realistic_flows(n, 42, &mix);
        let with = dir.join("stats-on");
        let without = dir.join("stats-off");
        let (_, on) = write(&flows, &with, floe_store::DEFAULT_LEVEL);
        let (_, off) = write_with(&flows, &without, floe_store::DEFAULT_LEVEL, false);
        println!(
            "block statistics, {set}: {:.2} of {:.2} bytes/flow ({:.1}%)",
            (on - off) as f64 / n as f64,
            on as f64 / n as f64,
            100.0 * (on - off) as f64 / off as f64
        );
        let _ = std::fs::remove_file(&with);
        let _ = std::fs::remove_file(&without);
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The layout choice: the same flows, same blocks, same zstd level, as
    // fixed-width rows (each field at its natural width, addresses 16 bytes
    // so that a row holds IPv4 or IPv6).
    for (set, share) in [("IPv4", 0.0), ("20% IPv6", 0.2)] {
        let mix = Mix {
            ipv6_share: share,
            ..Mix::default()
        };
        let flows = realistic_flows(n.min(1_000_000), 42, &mix);
        let rows: usize = flows
            .chunks(floe_store::DEFAULT_BLOCK_RECORDS)
            .map(|c| {
                zstd::bulk::compress(&row_layout(c), floe_store::DEFAULT_LEVEL)
                    .expect("zstd")
                    .len()
            })
            .sum();
        println!(
            "row-wise layout, {set}, level {}: {:.1} bytes/flow",
            floe_store::DEFAULT_LEVEL,
            rows as f64 / flows.len() as f64
        );
    }
}

fn row_layout(flows: &[floe_flow::Flow]) -> Vec<u8> {
    fn addr(out: &mut Vec<u8>, a: std::net::IpAddr) {
        match a {
            std::net::IpAddr::V4(v) => out.extend_from_slice(&v.to_ipv6_mapped().octets()),
            std::net::IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
        }
    }
    let mut out = Vec::with_capacity(flows.len() * 132);
    for f in flows {
        out.extend_from_slice(&f.start_ms.to_le_bytes());
        out.extend_from_slice(&f.end_ms.to_le_bytes());
        for a in [f.exporter, f.src_addr, f.dst_addr, f.next_hop] {
            addr(&mut out, a);
        }
        out.extend_from_slice(&f.source_id.to_le_bytes());
        out.extend_from_slice(&f.src_port.to_le_bytes());
        out.extend_from_slice(&f.dst_port.to_le_bytes());
        out.push(f.protocol);
        out.extend_from_slice(&f.tcp_flags.to_le_bytes());
        out.push(f.tos);
        out.extend_from_slice(&f.packets.to_le_bytes());
        out.extend_from_slice(&f.octets.to_le_bytes());
        out.extend_from_slice(&f.input_if.to_le_bytes());
        out.extend_from_slice(&f.output_if.to_le_bytes());
        out.extend_from_slice(&f.src_as.to_le_bytes());
        out.extend_from_slice(&f.dst_as.to_le_bytes());
        out.push(f.src_mask);
        out.push(f.dst_mask);
        out.extend_from_slice(&f.sampling_interval.to_le_bytes());
        out.push(f.engine_type);
        out.push(f.engine_id);
    }
    out
}

fn write(flows: &[floe_flow::Flow], path: &Path, level: i32) -> (f64, u64) {
    write_with(flows, path, level, true)
}

fn write_with(flows: &[floe_flow::Flow], path: &Path, level: i32, statistics: bool) -> (f64, u64) {
    let header = FileHeader {
        created_ms: 0,
        period: None,
        host: "bench".into(),
        zone: "UTC".into(),
        writer: "store-figures".into(),
    };
    let t = Instant::now();
    let file = std::fs::File::create(path).expect("create");
    let mut w = FileWriter::new(
        file,
        path,
        &header,
        WriteOptions {
            block_records: floe_store::DEFAULT_BLOCK_RECORDS,
            level,
        },
    )
    .expect("writer");
    w.set_statistics(statistics);
    for f in flows {
        w.push(f.clone()).expect("push");
    }
    w.finish(0).expect("finish");
    let secs = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(path).expect("stat").len();
    (flows.len() as f64 / secs, size)
}

fn read(path: &Path, threads: usize, n: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    // Best of three, so that a cold page cache does not count.
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let file = FlowFile::open(path).expect("open");
        let total: usize = pool.install(|| {
            (0..file.blocks().len())
                .into_par_iter()
                .map_init(
                    || (BlockDecoder::new().expect("decoder"), Vec::new()),
                    |(dec, buf), i| {
                        buf.clear();
                        file.read_block(i, dec, buf).expect("block");
                        // Touch the flows so the work is not optimized away.
                        buf.iter().map(|f| f.octets as usize & 1).sum::<usize>() + buf.len()
                    },
                )
                .sum()
        });
        assert!(total >= n);
        best = best.max(n as f64 / t.elapsed().as_secs_f64());
    }
    best
}
