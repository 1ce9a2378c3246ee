//! criterion benchmarks of the store's hot paths: flows laid out as
//! columns (what the file writer does with the rows floed hands it), block
//! encode (column planes + zstd) and block decode (zstd + planes to
//! `Flow`s), one block of realistic flows, reported in records/s.
//!
//!     cargo bench -p floe-benches --bench store
#![forbid(unsafe_code)]

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use floe_benches::{realistic_flows, Mix};
use floe_store::{BlockDecoder, BlockEncoder, DEFAULT_BLOCK_RECORDS, DEFAULT_LEVEL};

fn block_codec(c: &mut Criterion) {
    let flows = realistic_flows(DEFAULT_BLOCK_RECORDS, 1, &Mix::default());
    let mut g = c.benchmark_group("block");
    g.throughput(Throughput::Elements(flows.len() as u64));
    // Rows laid out as columns a run at a time (the writer takes floed's
    // runs as they come: a decoded batch, up to 7680 flows; 256 is what it
    // stages when given flows one by one), with and without IPv6 flows.
    let v4_only = Mix {
        ipv6_share: 0.0,
        ..Mix::default()
    };
    let v4_flows = realistic_flows(DEFAULT_BLOCK_RECORDS, 1, &v4_only);
    let mut rows_to_columns = floe_flow::FlowBatch::new();
    for (name, rows) in [("20% IPv6", &flows), ("IPv4", &v4_flows)] {
        for run_len in [256, 7680] {
            g.bench_with_input(
                BenchmarkId::new("columns-from-rows", format!("{name}, runs of {run_len}")),
                rows,
                |b, rows| {
                    b.iter(|| {
                        rows_to_columns.reset(0, floe_flow::ColSet::ALL);
                        for run in rows.chunks(run_len) {
                            rows_to_columns.extend_from_flows(run);
                        }
                    })
                },
            );
        }
    }
    // The default level, and 3 for what a higher one costs.
    for level in [DEFAULT_LEVEL, 3] {
        let mut enc = BlockEncoder::new(level).expect("encoder");
        let mut body = Vec::new();
        g.bench_with_input(BenchmarkId::new("encode", level), &flows, |b, flows| {
            b.iter(|| {
                body.clear();
                enc.encode(flows, &mut body).expect("encode")
            })
        });
        // What the block statistics (column 31) cost the encoder.
        let mut bare = BlockEncoder::new(level).expect("encoder");
        bare.set_statistics(false);
        let mut bare_body = Vec::new();
        g.bench_with_input(
            BenchmarkId::new("encode-without-statistics", level),
            &flows,
            |b, flows| {
                b.iter(|| {
                    bare_body.clear();
                    bare.encode(flows, &mut bare_body).expect("encode")
                })
            },
        );
        let mut dec = BlockDecoder::new().expect("decoder");
        let mut out = Vec::with_capacity(flows.len());
        g.bench_with_input(BenchmarkId::new("decode", level), &body, |b, body| {
            b.iter(|| {
                out.clear();
                dec.decode(body, &mut out).expect("decode")
            })
        });
        // Into columns, every field (no Flow per row).
        let mut batch = floe_flow::FlowBatch::new();
        g.bench_with_input(
            BenchmarkId::new("decode-columns", level),
            &body,
            |b, body| b.iter(|| dec.decode_batch(body, &mut batch).expect("decode")),
        );
    }
    g.finish();
}

// The group function criterion_group! defines is public; inside a private
// module it is not part of the target's documented surface.
mod group {
    criterion::criterion_group!(benches, super::block_codec);
}
criterion_main!(group::benches);
