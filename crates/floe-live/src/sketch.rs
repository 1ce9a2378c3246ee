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
//! A batch of keys, each once with its summed weight, is added in one
//! step ([`add_batch`](HeavyHitters::add_batch)). A batch of more than `k`
//! keys that may not fit is first cut on its own: its `(k + 1)`-th largest
//! weight is taken off every key of the batch (and added to the offset),
//! so at most `k` of them go on. Those kept take their weight; when the
//! new ones do not all fit in `2k` keys, one purge takes the `(k + 1)`-th
//! largest count among the kept and the new keys off all of them, and
//! only the new keys left with something are taken in. Either way at
//! least `k + 1` keys lose what is added to the offset, so it stays at
//! most `W / (k + 1)` and everything above holds; a key's weight summed
//! before it is added is the same weight as its flows added one by one.
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

/// Room a batch's purge works in, shared by the sketches it is added to.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// The counts the purge chooses from.
    weights: Vec<u64>,
    /// Per key of the batch, in its order: whether the sketch kept it.
    kept: Vec<bool>,
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

    /// Adds a batch: each key at most once, with its summed weight and
    /// counts, as `(key, weight, flows, packets, octets)`. While the batch
    /// fits, the same as adding its keys one by one; else at most two
    /// purges for the batch (see the module's documentation).
    pub fn add_batch<I>(&mut self, items: I, scratch: &mut Scratch)
    where
        I: Iterator<Item = (K, u64, u64, u64, u64)> + Clone,
    {
        let mut n = 0usize;
        for i in items.clone() {
            self.total = self.total.saturating_add(i.1);
            n += 1;
        }
        if n <= self.k || self.counts.len() + n <= 2 * self.k {
            self.merge_batch(items, scratch);
            return;
        }
        // More keys than k that may not fit: the batch alone is cut to
        // its k heaviest first, by its (k + 1)-th largest weight, so that
        // only those are looked up.
        scratch.weights.clear();
        scratch.weights.extend(items.clone().map(|i| i.1));
        let (_, cut, _) = scratch.weights.select_nth_unstable(n - (self.k + 1));
        let cut = *cut;
        self.offset = self.offset.saturating_add(cut);
        self.merge_batch(
            items
                .filter(move |i| i.1 > cut)
                .map(move |(key, weight, flows, packets, octets)| {
                    (key, weight - cut, flows, packets, octets)
                }),
            scratch,
        );
    }

    /// Adds a batch of at most k keys, or one whose keys fit, its total
    /// counted already.
    fn merge_batch<I>(&mut self, items: I, scratch: &mut Scratch)
    where
        I: Iterator<Item = (K, u64, u64, u64, u64)> + Clone,
    {
        scratch.kept.clear();
        let mut new = 0usize;
        for (key, weight, flows, packets, octets) in items.clone() {
            let kept = match self.counts.get_mut(&key) {
                Some(c) => {
                    c.weight = c.weight.saturating_add(weight);
                    c.flows += flows;
                    c.packets = c.packets.saturating_add(packets);
                    c.octets = c.octets.saturating_add(octets);
                    true
                }
                None => {
                    new += 1;
                    false
                }
            };
            scratch.kept.push(kept);
        }
        if new == 0 {
            return;
        }
        let fits = self.counts.len() + new <= 2 * self.k;
        let cut = if fits {
            0
        } else {
            // The (k + 1)-th largest of the kept and the new counts: at
            // least k + 1 keys lose it all, at most k stay above it.
            scratch.weights.clear();
            scratch
                .weights
                .extend(self.counts.values().map(|c| c.weight));
            scratch.weights.extend(
                items
                    .clone()
                    .zip(&scratch.kept)
                    .filter(|(_, kept)| !**kept)
                    .map(|(i, _)| i.1),
            );
            let i = scratch.weights.len() - (self.k + 1);
            let (_, cut, _) = scratch.weights.select_nth_unstable(i);
            let cut = *cut;
            self.counts.retain(|_, c| {
                c.weight = c.weight.saturating_sub(cut);
                c.weight > 0
            });
            self.offset = self.offset.saturating_add(cut);
            cut
        };
        for ((key, weight, flows, packets, octets), kept) in items.zip(&scratch.kept) {
            if !*kept && (fits || weight > cut) {
                self.counts.insert(
                    key,
                    Count {
                        weight: weight - cut,
                        flows,
                        packets,
                        octets,
                    },
                );
            }
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

        /// Keys added a batch at a time, each batch summed per key first:
        /// the same bound, at most `2k + 1` keys, and while the keys fit
        /// (at most 2k in all, k in a batch) the same entries as adding
        /// them one by one.
        #[test]
        fn batches_keep_the_error_bound(
            batches in prop::collection::vec(
                prop::collection::vec((0u16..300, 0u64..1000), 0..400),
                1..30,
            ),
            k in 1usize..200,
        ) {
            let mut s = HeavyHitters::new(k);
            let mut one = HeavyHitters::new(k);
            let mut scratch = Scratch::default();
            let mut truth: HashMap<u16, u64> = HashMap::new();
            let mut batch: HashMap<u16, (u64, u64)> = HashMap::new();
            let mut small = true;
            for b in &batches {
                batch.clear();
                for (key, w) in b {
                    let e = batch.entry(*key).or_default();
                    e.0 += w;
                    e.1 += 1;
                    *truth.entry(*key).or_default() += w;
                    one.add(*key, *w, 1, 1, *w);
                }
                small &= batch.len() <= k;
                s.add_batch(batch.iter().map(|(k, (w, n))| (*k, *w, *n, *n, *w)), &mut scratch);
                prop_assert!(s.entries().len() <= 2 * k + 1);
            }
            let total: u64 = truth.values().sum();
            prop_assert_eq!(s.total(), total);
            let bound = total / (k as u64 + 1);
            prop_assert!(s.floor() <= bound);
            for (key, w) in s.entries() {
                let t = truth[&key];
                prop_assert!(w.weight >= t && w.weight <= t + bound);
                prop_assert!(w.weight - w.error <= t);
            }
            for (key, t) in &truth {
                if *t > bound {
                    prop_assert!(s.entries().iter().any(|e| e.0 == *key));
                }
            }
            if small && truth.len() <= 2 * k {
                let mut a = s.entries();
                let mut b = one.entries();
                a.sort_by_key(|e| e.0);
                b.sort_by_key(|e| e.0);
                prop_assert_eq!(a, b);
            }
        }
    }
}
