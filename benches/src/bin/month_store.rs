//! Writes a store of `DAYS` days of ten-minute files holding `FLOWS`
//! realistic flows, filed by their end time as floed files them by
//! arrival (for the web benchmark's month of a host):
//!
//!     cargo run --release -p floe-benches --bin month-store -- DIR [FLOWS] [DAYS]
//!
//! Prints the first day's start (UTC ms) and the busiest client address.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::IpAddr;

use floe_benches::{realistic_flows, Mix};
use floe_store::{StoreConfig, StoreWriter, Zone};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: month-store DIR [FLOWS] [DAYS]");
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_000_000);
    let days: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let mix = Mix {
        ipv6_share: 0.2,
        day_start_ms: 1_793_491_200_000, // 2026-11-01T00:00:00Z
        span_ms: days * 86_400_000,
    };
    let mut flows = realistic_flows(n, 11, &mix);
    flows.sort_by_key(|f| f.end_ms);
    let mut c = StoreConfig::new(&dir);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    let (mut w, _) = StoreWriter::open(c, mix.day_start_ms).expect("store");
    let mut bytes: HashMap<IpAddr, u64> = HashMap::new();
    for chunk in flows.chunks(1000) {
        let at = chunk.last().map_or(mix.day_start_ms, |f| f.end_ms);
        w.write(at, chunk).expect("write");
        for f in chunk {
            *bytes.entry(f.src_addr).or_default() += f.octets;
        }
    }
    w.close(mix.day_start_ms + mix.span_ms + 1_000)
        .expect("close");
    let top = bytes
        .iter()
        .filter(|(a, _)| a.is_ipv4())
        .max_by_key(|(_, b)| **b)
        .map(|(a, _)| *a);
    println!(
        "{} {}",
        mix.day_start_ms,
        top.map_or(String::new(), |a| a.to_string())
    );
}
