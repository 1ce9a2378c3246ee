//! The answer: per interval, the top-N series, the rest as "other", and
//! the total; each series with its minimum, maximum, average, 95th
//! percentile and total.

use serde::{Deserialize, Serialize};

use crate::query::Measure;

/// Flows, packets and bytes of one interval (a flow spanning intervals
/// is shared among them in proportion to its time in each, rounded so
/// that no interval shows bytes without packets or flows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Flows (each counted in every interval it is active in).
    pub flows: u64,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub octets: u64,
}

impl Counts {
    /// Adds `o`'s counts (packets and bytes saturate rather than wrap).
    pub fn add(&mut self, o: &Counts) {
        self.flows += o.flows;
        self.packets = self.packets.saturating_add(o.packets);
        self.octets = self.octets.saturating_add(o.octets);
    }

    /// The count of measure `m`.
    pub fn get(&self, m: Measure) -> u64 {
        match m {
            Measure::Octets => self.octets,
            Measure::Packets => self.packets,
            Measure::Flows => self.flows,
        }
    }

    /// These less `o` (never below zero).
    pub fn minus(&self, o: &Counts) -> Counts {
        self.sub(o)
    }

    fn sub(&self, o: &Counts) -> Counts {
        Counts {
            flows: self.flows.saturating_sub(o.flows),
            packets: self.packets.saturating_sub(o.packets),
            octets: self.octets.saturating_sub(o.octets),
        }
    }
}

/// A series' figures over its intervals, of the query's measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The smallest interval's value.
    pub min: u64,
    /// The largest interval's value.
    pub max: u64,
    /// The mean over all intervals of the range, empty ones included.
    pub avg: f64,
    /// The value 95% of the intervals are at or below (nearest rank).
    pub p95: u64,
    /// The sum over the range.
    pub total: u64,
}

impl Stats {
    /// The figures of `values`, one per interval.
    pub fn of(values: &[u64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let rank = ((0.95 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let total: u64 = values.iter().fold(0u64, |a, v| a.saturating_add(*v));
        Stats {
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            avg: total as f64 / values.len() as f64,
            p95: sorted[rank - 1],
            total,
        }
    }
}

/// One series: a key's values per interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The key as shown (`10.0.0.1`, `443`, `10.0.0.0/24 192.0.2.1`);
    /// "other" and "total" for those series.
    pub label: String,
    /// The key's parts as shown, one per part of the key.
    pub key: Vec<String>,
    /// The key as people read it, where a part has a name (`TCP`, `443
    /// (https)`, `8.0 (echo request)`): legends and tables for people
    /// show it; CSV and scripts keep [`Series::label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One per interval of the answer, in time order.
    pub values: Vec<Counts>,
    /// Of the query's measure.
    pub stats: Stats,
    /// All three over the range.
    pub totals: Counts,
}

impl Series {
    /// What a person reads: the name where there is one, else the label.
    pub fn shown(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.label)
    }

    pub(crate) fn new(label: String, key: Vec<String>, values: Vec<Counts>, m: Measure) -> Series {
        let of: Vec<u64> = values.iter().map(|c| c.get(m)).collect();
        let mut totals = Counts::default();
        for v in &values {
            totals.add(v);
        }
        Series {
            label,
            key,
            name: None,
            stats: Stats::of(&of),
            values,
            totals,
        }
    }

    /// A series known only by its totals (no values per interval).
    pub(crate) fn totals_only(
        label: String,
        key: Vec<String>,
        totals: Counts,
        m: Measure,
    ) -> Series {
        Series {
            label,
            key,
            name: None,
            values: Vec::new(),
            stats: Stats {
                total: totals.get(m),
                ..Stats::default()
            },
            totals,
        }
    }

    pub(crate) fn minus(&self, label: &str, parts: &[&Series], m: Measure) -> Series {
        let values = self
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut used = Counts::default();
                for p in parts {
                    used.add(&p.values[i]);
                }
                v.sub(&used)
            })
            .collect();
        Series::new(label.into(), Vec::new(), values, m)
    }
}

/// What a backend answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The range asked, `[from_ms, to_ms)`, UTC ms.
    pub from_ms: i64,
    /// The end of the range (excluded), UTC ms.
    pub to_ms: i64,
    /// The length of an interval, ms.
    pub interval_ms: i64,
    /// What the series are ranked and their statistics computed by.
    pub measure: Measure,
    /// The start of each interval (UTC ms).
    pub starts: Vec<i64>,
    /// The key's part names (`ip-source-address`...).
    pub columns: Vec<String>,
    /// The top series, largest first.
    pub series: Vec<Series>,
    /// Everything else (absent when every key is a series).
    pub other: Option<Series>,
    /// Every flow of the range, series or not.
    pub total: Series,
    /// How it was answered.
    pub stats: AnswerStats,
}

/// How the answer was found (what a cache saved).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerStats {
    /// The backend that answered (`local`, `clickhouse`).
    pub backend: String,
    /// Files the range needed.
    pub files: usize,
    /// Of those, answered from the cache (no flow read).
    pub cached: usize,
    /// Flows read.
    pub flows_read: u64,
    /// Files that could not be read whole (named in `errors`).
    pub errors: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let s = Stats::of(&[
            5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
        ]);
        assert_eq!((s.min, s.max, s.total, s.p95), (1, 20, 210, 19));
        assert!((s.avg - 10.5).abs() < 1e-9);
        assert_eq!(Stats::of(&[]), Stats::default());
        assert_eq!(Stats::of(&[4]).p95, 4);
    }
}
