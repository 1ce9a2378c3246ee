//! Per-exporter counters since floed started: what the stats file shows
//! and SIGUSR1 logs. Owned by the decode thread, which merges each batch's
//! counters once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

use floe_flow::{ExporterCounters, ExporterKey};

use crate::receive::ReceiveStats;

/// Exporter streams whose since-start counters are kept one by one; the
/// counters of any further ones (a flood of made-up source ids) are summed
/// under [`OTHER_EXPORTERS`], so this map cannot grow without bound.
pub const SINCE_START_EXPORTERS: usize = 4096;

/// The key the counters of streams beyond [`SINCE_START_EXPORTERS`] are
/// summed under.
pub const OTHER_EXPORTERS: ExporterKey = ExporterKey {
    address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    source_id: u32::MAX,
};

/// Counters since start, bounded.
#[derive(Default)]
pub struct SinceStart {
    pub exporters: HashMap<ExporterKey, ExporterCounters>,
}

impl SinceStart {
    /// Adds a batch's counters.
    pub fn merge<'a>(
        &mut self,
        counts: impl IntoIterator<Item = (&'a ExporterKey, &'a ExporterCounters)>,
    ) {
        for (key, c) in counts {
            let key = if self.exporters.contains_key(key)
                || self.exporters.len() < SINCE_START_EXPORTERS
            {
                *key
            } else {
                OTHER_EXPORTERS
            };
            self.exporters.entry(key).or_default().add(c);
        }
    }

    /// Logs the counters: the busiest streams one line each, the rest
    /// summed in one line (a flood of made-up source ids must not become
    /// a flood of lines).
    pub fn log(&self, receive: &ReceiveStats, templates: &[(ExporterKey, usize)]) {
        tracing::info!(
            datagrams = receive.datagrams.load(Ordering::Relaxed),
            bytes = receive.bytes.load(Ordering::Relaxed),
            queue_drops = receive.queue_drops.load(Ordering::Relaxed),
            queue_waits = receive.queue_waits.load(Ordering::Relaxed),
            "received since start"
        );
        let templates: HashMap<ExporterKey, usize> = templates.iter().copied().collect();
        const LISTED: usize = 64;
        let exporters = &self.exporters;
        let mut keys: Vec<_> = exporters.keys().copied().collect();
        keys.sort_by_key(|k| (std::cmp::Reverse(exporters[k].datagrams), *k));
        if keys.len() > LISTED {
            let mut rest = ExporterCounters::default();
            for k in &keys[LISTED..] {
                rest.add(&exporters[k]);
            }
            tracing::info!(
                streams = keys.len() - LISTED,
                datagrams = rest.datagrams,
                flows = rest.flows,
                lost_flows = rest.lost_flows,
                bad_datagrams = rest.bad_datagrams,
                "exporter counters since start of the other, less busy streams"
            );
            keys.truncate(LISTED);
        }
        for k in keys {
            let c = &exporters[&k];
            let extra: Vec<String> = c
                .extra
                .nonzero()
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            tracing::info!(
                exporter = %k.address,
                source_id = k.source_id,
                datagrams = c.datagrams,
                flows = c.flows,
                lost_flows = c.lost_flows,
                sequence_resets = c.sequence_resets,
                bad_datagrams = c.bad_datagrams,
                reordered = c.reordered_datagrams,
                templates = templates.get(&k).copied().unwrap_or(0),
                extra = %extra.join(" "),
                "exporter counters since start"
            );
        }
    }
}
