//! Writes N realistic flows (floe-synth, fixed seed, 20% IPv6) as one
//! closed 10-minute file of a store tree, as floed would have written a
//! busy period, plus some exporter counters: the input of
//! `benches/alert-bench.sh`.
//!
//!     cargo run --release -p floe-benches --bin period-file -- DIR [FLOWS]

use std::path::PathBuf;

use floe_benches::{realistic_flows, Mix};
use floe_flow::{ExporterCounters, ExporterKey};
use floe_store::{StoreConfig, StoreWriter, Zone};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: period-file DIR [FLOWS]"));
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // 2026-11-22 10:00 UTC, a 10-minute period.
    let start = 1_795_341_600_000;
    let mix = Mix {
        ipv6_share: 0.2,
        day_start_ms: start,
        span_ms: 599_000,
    };
    let flows = realistic_flows(n, 42, &mix);
    let mut c = StoreConfig::new(&dir);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    let (mut w, _) = StoreWriter::open(c, start).expect("store");
    for chunk in flows.chunks(16_384) {
        w.write(start + 1000, chunk).expect("write");
    }
    for e in 1..=3u8 {
        let key = ExporterKey {
            address: std::net::IpAddr::V4([192, 0, 2, e].into()),
            source_id: 0,
        };
        let c = ExporterCounters {
            lost_flows: u64::from(e) * 10,
            ..ExporterCounters::default()
        };
        w.add_counters(start + 2000, key, &c).expect("counters");
    }
    w.close(start + 600_000).expect("close");
}
