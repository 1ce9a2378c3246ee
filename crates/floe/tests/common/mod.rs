//! What the floe integration tests share: the binary and a small tree.
#![allow(dead_code)] // each test file uses its own part

use std::path::Path;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{StoreConfig, StoreWriter, Zone};

pub const FLOE: &str = env!("CARGO_BIN_EXE_floe");

/// Three hourly files, 10:00 to 13:00 UTC; flow i starts at 10:00 + 1 min * i
/// and lasts 30 s; 180 flows.
pub fn tree(root: &Path) -> Vec<Flow> {
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 3600;
    c.block_records = 20;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut all = Vec::new();
    for i in 0..180i64 {
        let f = Flow {
            start_ms: t0 + i * 60_000,
            end_ms: t0 + i * 60_000 + 30_000,
            src_addr: format!("10.0.0.{}", i % 250).parse().unwrap(),
            dst_addr: "192.0.2.1".parse().unwrap(),
            dst_port: 443,
            protocol: 6,
            packets: 1,
            octets: 100 + i as u64,
            ..Flow::default()
        };
        w.write(f.end_ms, std::slice::from_ref(&f)).unwrap();
        all.push(f);
    }
    w.close(t0 + 3 * 3_600_000).unwrap();
    all
}
