//! Who exported a flow, and how healthy that export stream is.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::{Index, IndexMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Identifies one exporter's export stream: its address and the v9 source
/// id / IPFIX observation domain (v5: `engine_type << 8 | engine_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExporterKey {
    /// The address datagrams came from.
    pub address: IpAddr,
    /// v9 source id, IPFIX observation domain, v5 engine type and id.
    pub source_id: u32,
}

/// Health counters of one exporter over one file (or since a collector
/// started).
///
/// The six counters every file has are fields; the others are
/// [`Counter`]s in [`ExtraCounters`], stored by name (files keep them as a
/// map from name to value, so that a writer can add counters without a
/// format change and a reader keeps the names it does not know).
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
    /// Datagrams that could not be decoded at all.
    pub bad_datagrams: u64,
    /// Datagrams that arrived late or twice (sequence went backwards).
    pub reordered_datagrams: u64,
    /// The further counters, by name.
    pub extra: ExtraCounters,
}

impl ExporterCounters {
    /// Adds `other` to these counters, field by field.
    pub fn add(&mut self, other: &ExporterCounters) {
        self.datagrams += other.datagrams;
        self.flows += other.flows;
        self.lost_flows += other.lost_flows;
        self.sequence_resets += other.sequence_resets;
        self.bad_datagrams += other.bad_datagrams;
        self.reordered_datagrams += other.reordered_datagrams;
        self.extra.add(&other.extra);
    }

    /// Whether every counter is zero.
    pub fn is_zero(&self) -> bool {
        *self == ExporterCounters::default()
    }
}

macro_rules! counters {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $name:literal, )+) => {
        /// A named per-exporter counter beyond the six every file has.
        ///
        /// The name is what files, JSON output and `floe info` show; it
        /// never changes once written.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Counter {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl Counter {
            /// Every counter, in declaration order.
            pub const ALL: &'static [Counter] = &[$(Counter::$variant),+];

            /// The counter's stable name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Counter::$variant => $name,)+
                }
            }

            /// What the counter counts, in a sentence.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Counter::$variant => concat!($($doc),+).trim_ascii(),)+
                }
            }
        }
    };
}

counters! {
    /// v9 datagrams missing from the sequence (v9 counts datagrams; the
    /// lost flows are estimated from the stream's flows per datagram).
    LostDatagrams = "lost_datagrams",
    /// Flows counted lost earlier that arrived late after all.
    LateRecoveredFlows = "late_recovered_flows",
    /// Flows with uptime timestamps and no uptime in their message,
    /// anchored at the export time.
    UptimeUnanchored = "uptime_unanchored",
    /// Sets that could not be decoded (malformed, too long, unknown
    /// content); the sets around them were.
    UndecodedSets = "undecoded_sets",
    /// Bytes after the last whole message or set that are neither a set
    /// nor padding.
    MalformedTails = "malformed_tails",
    /// Datagrams that ended in padding (zero bytes after the last set).
    PaddedDatagrams = "padded_datagrams",
    /// Data sets that arrived before their template and expired before it
    /// came.
    EarlyDataExpired = "early_data_expired",
    /// Templates refused: field lengths that do not fit the element, ids
    /// below 256, zero-length fields, scope counts beyond the fields, more
    /// fields than allowed.
    TemplatesRefused = "templates_refused",
    /// Templates forgotten to stay under the per-exporter or total limit.
    TemplatesForgotten = "templates_forgotten",
    /// Datagrams from a new exporter stream dropped: too many streams.
    DroppedExporterLimit = "dropped_exporter_limit",
    /// Flows whose start or end is implausibly far from their arrival.
    AbsurdTimes = "absurd_times",
    /// Datagrams dropped because the collector's receive queue stayed full
    /// (floed waits 2 s for room first).
    QueueDrops = "queue_drops",
    /// Datagrams dropped because their source is not allowed.
    DeniedDatagrams = "denied_datagrams",
    /// Flows decoded but not stored: the disk refused their block.
    UnwrittenFlows = "unwritten_flows",
}

impl Counter {
    /// The counter a stored name stands for (including names earlier
    /// versions wrote for it).
    pub fn from_name(name: &str) -> Option<Counter> {
        match name {
            // Written before the early-data counter was its own (by time).
            "early_data_dropped" => Some(Counter::EarlyDataExpired),
            _ => Counter::ALL.iter().copied().find(|c| c.name() == name),
        }
    }
}

const COUNTERS: usize = Counter::ALL.len();

/// The [`Counter`]s of one exporter, and any counters a newer writer
/// stored that this version does not know (kept by name, added up, shown).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraCounters {
    values: [u64; COUNTERS],
    unknown: BTreeMap<String, u64>,
}

impl ExtraCounters {
    /// Adds `other` counter by counter.
    pub fn add(&mut self, other: &ExtraCounters) {
        for (a, b) in self.values.iter_mut().zip(other.values) {
            *a += b;
        }
        for (k, v) in &other.unknown {
            *self.unknown.entry(k.clone()).or_default() += v;
        }
    }

    /// The counters that are not zero, by name, in name order (known and
    /// unknown alike).
    pub fn nonzero(&self) -> Vec<(&str, u64)> {
        let mut out: Vec<(&str, u64)> = Counter::ALL
            .iter()
            .map(|c| (c.name(), self[*c]))
            .chain(self.unknown.iter().map(|(k, v)| (k.as_str(), *v)))
            .filter(|(_, v)| *v > 0)
            .collect();
        out.sort_unstable();
        out
    }

    /// A counter by its stored name (0 when absent or unknown).
    pub fn by_name(&self, name: &str) -> u64 {
        match Counter::from_name(name) {
            Some(c) => self[c],
            None => self.unknown.get(name).copied().unwrap_or(0),
        }
    }
}

impl Index<Counter> for ExtraCounters {
    type Output = u64;

    fn index(&self, c: Counter) -> &u64 {
        &self.values[c as usize]
    }
}

impl IndexMut<Counter> for ExtraCounters {
    fn index_mut(&mut self, c: Counter) -> &mut u64 {
        &mut self.values[c as usize]
    }
}

// On disk and in JSON: a map from name to value, nonzero counters only,
// in ascending name order (what the format specification says of maps).
impl Serialize for ExtraCounters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<&str, u64> = self.nonzero().into_iter().collect();
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ExtraCounters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, u64>::deserialize(d)?;
        let mut out = ExtraCounters::default();
        for (k, v) in map {
            match Counter::from_name(&k) {
                Some(c) => out[c] = out[c].saturating_add(v),
                None => {
                    out.unknown.insert(k, v);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for c in Counter::ALL {
            assert_eq!(Counter::from_name(c.name()), Some(*c));
            assert!(!c.meaning().is_empty());
        }
        let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Counter::ALL.len());
    }

    #[test]
    fn unknown_and_old_names_are_kept() {
        let json = r#"{"queue_drops":3,"early_data_dropped":2,"from_the_future":7}"#;
        let e: ExtraCounters = serde_json::from_str(json).unwrap();
        assert_eq!(e[Counter::QueueDrops], 3);
        assert_eq!(e[Counter::EarlyDataExpired], 2);
        assert_eq!(e.by_name("from_the_future"), 7);
        let mut sum = e.clone();
        sum.add(&e);
        assert_eq!(sum.by_name("from_the_future"), 14);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"early_data_expired":2,"from_the_future":7,"queue_drops":3}"#
        );
    }
}
