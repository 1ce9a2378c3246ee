//! Who exported a flow, and how healthy that export stream is.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Identifies one exporter's export stream: its address and the v9 source
/// id / IPFIX observation domain (v5: `engine_type << 8 | engine_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExporterKey {
    pub address: IpAddr,
    pub source_id: u32,
}

/// Health counters of one exporter over one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExporterCounters {
    /// Datagrams received from this exporter.
    pub datagrams: u64,
    /// Flows decoded and stored.
    pub flows: u64,
    /// Flows the exporter sent that never arrived (from sequence numbers).
    pub lost_flows: u64,
    /// Times the exporter's sequence numbering restarted.
    pub sequence_resets: u64,
    /// Datagrams that could not be decoded.
    pub bad_datagrams: u64,
    /// Datagrams that arrived late or twice (sequence went backwards).
    pub reordered_datagrams: u64,
    /// Further named counters, so that later writers can add some without a
    /// format change.
    pub extra: BTreeMap<String, u64>,
}

impl ExporterCounters {
    pub fn add(&mut self, other: &ExporterCounters) {
        self.datagrams += other.datagrams;
        self.flows += other.flows;
        self.lost_flows += other.lost_flows;
        self.sequence_resets += other.sequence_resets;
        self.bad_datagrams += other.bad_datagrams;
        self.reordered_datagrams += other.reordered_datagrams;
        for (k, v) in &other.extra {
            *self.extra.entry(k.clone()).or_default() += v;
        }
    }
}
