//! The heaviest keys of a stream in bounded memory, whatever the stream
//! holds: weighted Misra-Gries (1982) with median purges, as Apache
//! DataSketches' frequent items sketch does, which gives what weighted
//! Space-Saving (Metwally, Agrawal and El Abbadi, 2005) with `k` entries
//! gives, at a fraction of its cost per key.
//!
//! Each key kept has a count: the weight added while it was kept, less
//! what purges took off. When more than `2k` keys are kept, a purge takes
//! the median count off every key and forgets those left with nothing;
//! the `offset`, the sum of the medians taken, is the most any key may
//! have weighed beyond its count (and all a key not kept may have
//! weighed). Each purge takes the median from at least `k + 1` keys, so
//! with a total weight `W` the offset is at most `W / (k + 1)`.
//!
//! An entry says `weight` = count + offset, never below the true weight,
//! and `error` = offset, the most the weight may overstate: weight - error
//! is never above the true weight, the error is below `W / k`, and every
//! key heavier than `W / k` is kept. Summaries of disjoint parts of a
//! stream merge by adding up the weights and errors of each key, plus the
//! offset of each part it is missing from; the bound then holds for the
//! merged weight.
//!
//! Memory is at most `2k + 1` keys, fixed when the sketch is made: a scan
//! from random addresses is purged away and grows nothing. Adding a key
//! costs one hash lookup (and, amortised, a few steps of the purges);
//! a heap-ordered Space-Saving costs a heap walk and three lookups for
//! each key it has to take in, which in flow traffic is most of them.

use std::collections::HashMap;
use std::hash::Hash;

/// What one entry knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weights {
    /// The ranking weight (bytes, or flows).
    pub weight: u64,
    /// Most the weight may overstate.
    pub error: u64,
    /// Flows seen for the key while it was in the summary (a lower
    /// bound).
    pub flows: u64,
    /// Packets seen for the key while it was in the summary (a lower bound).
    pub packets: u64,
    /// Bytes seen for the key while it was in the summary (a lower bound).
    pub octets: u64,
}

/// A count kept for a key.
#[derive(Clone, Copy, Debug, Default)]
struct Count {
    /// Weight counted while the key was kept, less the purges since.
    weight: u64,
    flows: u64,
    packets: u64,
    octets: u64,
}

/// A summary of the heaviest keys, bounded by `k`.
#[derive(Clone, Debug)]
pub struct HeavyHitters<K> {
    k: usize,
    counts: HashMap<K, Count, foldhash::fast::FixedState>,
    /// Weight taken off every kept key by the purges so far: what any key
    /// may have weighed beyond its count (and all of a key not kept).
    offset: u64,
    total: u64,
    /// Room for the purge's median.
    scratch: Vec<u64>,
}

impl<K: Copy + Eq + Hash> HeavyHitters<K> {
    /// A summary of the heaviest keys, bounded by `k` (at least 1): at most
    /// `2k + 1` keys are kept.
    pub fn new(k: usize) -> Self {
        let k = k.max(1);
        HeavyHitters {
            k,
            counts: HashMap::with_capacity_and_hasher(
                2 * k + 1,
                foldhash::fast::FixedState::default(),
            ),
            offset: 0,
            total: 0,
            scratch: Vec::new(),
        }
    }

    /// The total weight seen.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Adds `weight` to `key`, with the flow's counts.
    pub fn add(&mut self, key: K, weight: u64, flows: u64, packets: u64, octets: u64) {
        self.total = self.total.saturating_add(weight);
        let c = self.counts.entry(key).or_default();
        c.weight = c.weight.saturating_add(weight);
        c.flows += flows;
        c.packets = c.packets.saturating_add(packets);
        c.octets = c.octets.saturating_add(octets);
        if self.counts.len() > 2 * self.k {
            self.purge();
        }
    }

    /// Takes the median count off every key and forgets those left with
    /// nothing: at least `k + 1` keys lose the median each time, so the
    /// offset stays at most the total weight / (`k` + 1).
    fn purge(&mut self) {
        self.scratch.clear();
        self.scratch.extend(self.counts.values().map(|c| c.weight));
        let mid = self.scratch.len() / 2;
        let (_, median, _) = self.scratch.select_nth_unstable(mid);
        let median = *median;
        self.counts.retain(|_, c| {
            c.weight = c.weight.saturating_sub(median);
            c.weight > 0
        });
        self.offset = self.offset.saturating_add(median);
    }

    fn weights(&self, c: &Count) -> Weights {
        Weights {
            weight: c.weight.saturating_add(self.offset),
            error: self.offset,
            flows: c.flows,
            packets: c.packets,
            octets: c.octets,
        }
    }

    /// The entries, heaviest first.
    pub fn top(&self, n: usize) -> Vec<(K, Weights)> {
        let mut v = self.entries();
        v.sort_by_key(|e| std::cmp::Reverse(e.1.weight));
        v.truncate(n);
        v
    }

    /// Entries, unordered.
    pub fn entries(&self) -> Vec<(K, Weights)> {
        self.counts
            .iter()
            .map(|(k, c)| (*k, self.weights(c)))
            .collect()
    }

    /// The most a key missing from the summary may weigh: the offset.
    pub fn floor(&self) -> u64 {
        self.offset
    }

    /// Merges summaries of disjoint parts of a stream into the heaviest `k`
    /// entries. Estimates and errors of the same key add up, and a key
    /// missing from a part may have weighed up to that part's
    /// [`floor`](Self::floor) there: it is added to its estimate and its
    /// error (mergeable summaries, Agarwal et al. 2012). So a merged
    /// estimate is still never below the true weight, overstates it by at
    /// most its error, and the error is below the merged weight / `k`.
    pub fn merge<'a>(
        k: usize,
        parts: impl IntoIterator<Item = &'a HeavyHitters<K>>,
    ) -> Vec<(K, Weights)>
    where
        K: 'a,
    {
        let mut sum: HashMap<K, (Weights, u64), foldhash::fast::FixedState> = HashMap::default();
        let mut floors = 0u64;
        for p in parts {
            let floor = p.floor();
            floors = floors.saturating_add(floor);
            for (key, c) in &p.counts {
                let w = p.weights(c);
                let (e, present) = sum.entry(*key).or_default();
                e.weight = e.weight.saturating_add(w.weight);
                e.error = e.error.saturating_add(w.error);
                e.flows += w.flows;
                e.packets = e.packets.saturating_add(w.packets);
                e.octets = e.octets.saturating_add(w.octets);
                *present = present.saturating_add(floor);
            }
        }
        let mut v: Vec<(K, Weights)> = sum
            .into_iter()
            .map(|(key, (mut w, present))| {
                // What the key may have weighed in the parts it is missing from.
                let missing = floors.saturating_sub(present);
                w.weight = w.weight.saturating_add(missing);
                w.error = w.error.saturating_add(missing);
                (key, w)
            })
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.1.weight));
        v.truncate(k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn heavy_hitters_survive_a_scan() {
        let mut s = HeavyHitters::new(64);
        let mut x: u64 = 7;
        for i in 0..200_000u64 {
            // Three heavy keys among a scan of random ones.
            if i % 10 == 0 {
                s.add(1u64 << 40 | (i / 10 % 3), 1000, 1, 1, 1000);
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.add(x % 1_000_000, 10, 1, 1, 10);
        }
        assert!(s.entries().len() <= 2 * 64 + 1);
        let top: Vec<u64> = s.top(3).into_iter().map(|e| e.0).collect();
        for k in 0..3 {
            assert!(top.contains(&(1u64 << 40 | k)), "{top:?}");
        }
    }

    proptest! {
        /// Every estimate is within [true, true + W/k], and every key
        /// heavier than W/k is kept.
        #[test]
        fn the_error_bound_holds(
            keys in prop::collection::vec((0u16..300, 1u64..1000), 1..3000),
            k in 1usize..50,
        ) {
            let mut s = HeavyHitters::new(k);
            let mut truth: HashMap<u16, u64> = HashMap::new();
            for (key, w) in &keys {
                s.add(*key, *w, 1, 1, *w);
                *truth.entry(*key).or_default() += w;
            }
            let total: u64 = truth.values().sum();
            let bound = total / k as u64;
            for (key, w) in s.entries() {
                let t = truth[&key];
                prop_assert!(w.weight >= t && w.weight <= t + bound + 1);
                prop_assert!(w.weight - w.error <= t);
            }
            for (key, t) in &truth {
                if *t > bound {
                    prop_assert!(s.entries().iter().any(|e| e.0 == *key));
                    prop_assert!(s.entries().len() <= 2 * k + 1);
                }
            }
        }
    }
}
