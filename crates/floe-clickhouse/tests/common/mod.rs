//! What the ClickHouse tests share: a store of generated flows, and its
//! counts and sums per exporter as the files hold them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use floe_flow::Flow;
use floe_store::{StoreConfig, StoreWriter, Zone};
use floe_synth::{realistic_flows, Mix};

/// 2026-11-21 23:00 UTC: generated flows cross midnight, so batches span
/// two days' partitions.
pub const START_MS: i64 = 1_795_302_000_000;

/// Writes `n` generated flows into a store at `dir` (10-minute UTC files,
/// blocks of `block` flows), received when they end; returns them.
pub fn make_store(dir: &Path, n: usize, seed: u64, block: usize) -> Vec<Flow> {
    let mix = Mix {
        ipv6_share: 0.2,
        day_start_ms: START_MS,
        span_ms: 2 * 3_600_000,
    };
    let flows = realistic_flows(n, seed, &mix);
    write_store(dir, &flows, block);
    flows
}

pub fn write_store(dir: &Path, flows: &[Flow], block: usize) {
    let mut cfg = StoreConfig::new(dir);
    cfg.zone = Zone::parse("UTC").unwrap();
    cfg.block_records = block;
    cfg.host = "test-collector".into();
    let (mut w, _) = StoreWriter::open(cfg, START_MS).unwrap();
    let mut now = START_MS;
    for chunk in flows.chunks(500) {
        now = now.max(chunk.iter().map(|f| f.end_ms).max().unwrap());
        w.write(now, chunk).unwrap();
        w.tick(now).unwrap();
    }
    w.close(now + 1).unwrap();
}

/// Per exporter (as ClickHouse prints an IPv4-mapped address): flows,
/// packets, octets.
pub fn sums(flows: &[Flow]) -> BTreeMap<String, (u64, u64, u64)> {
    let mut out = BTreeMap::new();
    for f in flows {
        let k = match f.exporter {
            IpAddr::V4(a) => a.to_ipv6_mapped().to_string(),
            IpAddr::V6(a) => a.to_string(),
        };
        let e = out.entry(k).or_insert((0, 0, 0));
        e.0 += 1;
        e.1 += f.packets;
        e.2 += f.octets;
    }
    out
}

/// The same from the table.
/// A server the tests can ask.
pub trait Ask {
    fn ask(&self, sql: &str) -> String;
}

impl Ask for floe_test_support::clickhouse::Server {
    fn ask(&self, sql: &str) -> String {
        self.query(sql)
    }
}

impl Ask for floe_test_support::clickhouse::Chdb {
    fn ask(&self, sql: &str) -> String {
        self.query(sql)
    }
}

/// The same from the table.
pub fn table_sums(ch: &dyn Ask, table: &str) -> BTreeMap<String, (u64, u64, u64)> {
    let text = ch.ask(&format!(
        "SELECT IPv6NumToString(exporter), count(), sum(packets), sum(octets) FROM {table} GROUP BY exporter FORMAT TabSeparated"
    ));
    text.lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (
                c[0].to_string(),
                (
                    c[1].parse().unwrap(),
                    c[2].parse().unwrap(),
                    c[3].parse().unwrap(),
                ),
            )
        })
        .collect()
}

/// Every block of every file of the store, (file_id, block offset) ->
/// flows, as the files hold them.
pub fn store_blocks(dir: &Path) -> BTreeMap<(u64, u64), u64> {
    let mut out = BTreeMap::new();
    for f in floe_store::walk(dir).unwrap() {
        let ff = floe_store::FlowFile::open(&f.path).unwrap();
        let id = floe_clickhouse::ship::file_id(ff.header());
        for b in ff.blocks() {
            out.insert((id, b.offset), u64::from(b.records));
        }
    }
    out
}

/// The same from the table: each block's rows. Equal to
/// [`store_blocks`]: nothing missing, nothing twice.
pub fn table_blocks(ch: &dyn Ask, table: &str) -> BTreeMap<(u64, u64), u64> {
    ch.ask(&format!(
        "SELECT file_id, block, count() FROM {table} GROUP BY file_id, block FORMAT TabSeparated"
    ))
    .lines()
    .map(|l| {
        let c: Vec<u64> = l.split('\t').map(|x| x.parse().unwrap()).collect();
        ((c[0], c[1]), c[2])
    })
    .collect()
}

/// Makes floe's tables on `url` with the legacy schema (what Debian's
/// 18.16 server takes); returns the client and the schema options used.
pub fn init_legacy(url: &str) -> (floe_clickhouse::Client, floe_clickhouse::SchemaOptions) {
    let client = floe_clickhouse::Client::new(
        floe_clickhouse::Target::parse(url, "floe", "flows").unwrap(),
        floe_clickhouse::Timeouts::default(),
    );
    let schema = floe_clickhouse::SchemaOptions {
        variant: floe_clickhouse::Variant::Legacy,
        ..floe_clickhouse::SchemaOptions::default()
    };
    floe_clickhouse::init(&client, &schema).unwrap();
    (client, schema)
}
