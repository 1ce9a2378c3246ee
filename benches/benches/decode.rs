//! criterion benchmarks of datagram decoding: NetFlow v5 and v9 datagrams
//! of 30 realistic flows each, through floe-netflow's Decoder (template
//! lookup, record mapping, sequence accounting), in flows/s, into rows
//! and into columns (as floed decodes).
//!
//!     cargo bench -p floe-benches --bench decode
#![forbid(unsafe_code)]

use criterion::{criterion_main, Criterion, Throughput};
use floe_benches::{realistic_flows, Mix};
use floe_flow::FlowBatch;
use floe_netflow::{Decoder, DecoderConfig, V5Encoder, V9Encoder};

fn decode(c: &mut Criterion) {
    let now = 1_795_305_600_000 + 86_400_000;
    let mix = Mix {
        ipv6_share: 0.0,
        ..Mix::default()
    };
    let flows = realistic_flows(30 * 1000, 1, &mix);
    let exporter = "127.0.0.2".parse().unwrap();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(flows.len() as u64));

    let mut v5 = V5Encoder::new(now - 86_400_000 * 3);
    let v5_dgrams: Vec<Vec<u8>> = flows.chunks(30).map(|c| v5.encode(c, now)).collect();
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut out = Vec::with_capacity(flows.len());
    g.bench_function("v5 30 flows/datagram", |b| {
        b.iter(|| {
            out.clear();
            for d in &v5_dgrams {
                dec.decode(exporter, d, now, &mut out);
            }
            out.len()
        })
    });
    // Into columns, as floed decodes.
    let mut cols = FlowBatch::with_every_column();
    g.bench_function("v5 30 flows/datagram into columns", |b| {
        b.iter(|| {
            cols.truncate(0);
            for d in &v5_dgrams {
                dec.decode(exporter, d, now, &mut cols);
            }
            cols.len()
        })
    });

    let mut v9 = V9Encoder::new(now - 86_400_000 * 3, 1);
    v9.template_every = 1_000_000;
    let v9_dgrams: Vec<Vec<u8>> = flows.chunks(30).map(|c| v9.encode(c, now)).collect();
    let mut dec = Decoder::new(DecoderConfig::default());
    g.bench_function("v9 30 flows/datagram", |b| {
        b.iter(|| {
            out.clear();
            for d in &v9_dgrams {
                dec.decode(exporter, d, now, &mut out);
            }
            out.len()
        })
    });
    g.bench_function("v9 30 flows/datagram into columns", |b| {
        b.iter(|| {
            cols.truncate(0);
            for d in &v9_dgrams {
                dec.decode(exporter, d, now, &mut cols);
            }
            cols.len()
        })
    });
    g.finish();
}

// The group function criterion_group! defines is public; inside a private
// module it is not part of the target's documented surface.
mod group {
    criterion::criterion_group!(benches, super::decode);
}
criterion_main!(group::benches);
