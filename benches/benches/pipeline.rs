//! criterion benchmark of floed's work per flow, without the sockets:
//! batches of 256 datagrams of 30 realistic flows (20% IPv6), NetFlow v5
//! and v9, decoded, stored (a real store in a temporary directory: the
//! block encoder, zstd and the file) and counted by the live view (its
//! talkers not counted, as while nobody looks), on one core, in flows/s.
//! Three ways: decoded into the store's columns and handed on a block's
//! flows at a time, as floed does (the writer encodes such a batch as it
//! is); decoded into columns and handed on a batch at a time, as floed
//! did before (the writer copies the batches into its block); decoded
//! into `Flow` rows and laid out as columns by the writer, as it did
//! before that. The ingest benchmark (`compare-ingest.py`) measures floed as a
//! whole, and is noisier: the sender shares the two cores.
//!
//!     cargo bench -p floe-benches --bench pipeline
#![forbid(unsafe_code)]

use criterion::{criterion_main, Criterion, Throughput};
use floe_benches::{realistic_flows, Mix};
use floe_flow::FlowBatch;
use floe_live::{LiveView, TalkerCounting, ViewConfig};
use floe_netflow::{Decoder, DecoderConfig, V5Encoder, V9Encoder};
use floe_store::{StoreConfig, StoreWriter, DEFAULT_BLOCK_RECORDS};

/// Datagrams in one of floed's batches.
const BATCH: usize = 256;

fn pipeline(c: &mut Criterion) {
    let now = 1_795_305_600_000 + 86_400_000;
    let flows = realistic_flows(30 * BATCH * 8, 1, &Mix::default());
    let exporter = "127.0.0.2".parse().unwrap();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(flows.len() as u64));
    g.sample_size(20);
    let mut v5 = V5Encoder::new(now - 86_400_000 * 3);
    let mut v9 = V9Encoder::new(now - 86_400_000 * 3, 1);
    v9.template_every = 1_000_000;
    let datagrams = [
        (
            "v5",
            flows
                .chunks(30)
                .map(|c| v5.encode(c, now))
                .collect::<Vec<_>>(),
        ),
        ("v9", flows.chunks(30).map(|c| v9.encode(c, now)).collect()),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (version, datagrams) in &datagrams {
        for (name, columns, held) in [
            ("into columns a block at a time", true, true),
            ("into columns", true, false),
            ("into rows", false, false),
        ] {
            let root = dir.path().join(format!("{version}-{columns}-{held}"));
            let mut cfg = StoreConfig::new(&root);
            cfg.host = "bench".into();
            let (mut store, _) = StoreWriter::open(cfg, now).expect("store");
            let mut view = LiveView::new(ViewConfig {
                talkers: TalkerCounting::WhileWatched,
                ..ViewConfig::default()
            });
            let mut dec = Decoder::new(DecoderConfig::default());
            let mut batch = FlowBatch::with_every_column();
            let mut rows = Vec::new();
            g.bench_function(format!("{version} {name}"), |b| {
                b.iter(|| {
                    for datagrams in datagrams.chunks(BATCH) {
                        if columns {
                            for d in datagrams {
                                dec.decode(exporter, d, now, &mut batch);
                            }
                            if held && batch.len() < DEFAULT_BLOCK_RECORDS {
                                continue;
                            }
                            store.write(now, &batch).expect("write");
                            view.record_batch(&batch, now);
                            batch.truncate(0);
                        } else {
                            rows.clear();
                            for d in datagrams {
                                dec.decode(exporter, d, now, &mut rows);
                            }
                            store.write(now, &rows).expect("write");
                            view.record(&rows, now);
                        }
                    }
                })
            });
            store.close(now).expect("close");
        }
    }
    g.finish();
}

// The group function criterion_group! defines is public; inside a private
// module it is not part of the target's documented surface.
mod group {
    criterion::criterion_group!(benches, super::pipeline);
}
criterion_main!(group::benches);
