//! Space-Saving (Metwally, Agrawal and El Abbadi, 2005), weighted: the
//! heaviest keys of a stream in a fixed number of entries, whatever the
//! stream holds.
//!
//! Each entry keeps a key, its estimated weight and the most that estimate
//! can overstate (`error`). A key not in the summary takes the place of
//! the lightest entry and inherits its weight as error. With `k` entries
//! and a total weight `W`, every estimate overstates the true weight by at
//! most `W / k`, and every key heavier than `W / k` is in the summary.
//! Summaries of disjoint parts of a stream merge by adding the estimates of
//! the same keys and keeping the heaviest `k`; the bound then holds for the
//! merged weight.
//!
//! Memory is `k` entries plus an index, fixed when the sketch is made: a
//! scan from random addresses replaces light entries and grows nothing.

use std::collections::HashMap;
use std::hash::Hash;

/// What one entry knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weights {
    /// The ranking weight (bytes, or flows).
    pub weight: u64,
    /// Most the weight may overstate.
    pub error: u64,
    /// Flows, packets and bytes seen for the key while it was in the
    /// summary (lower bounds).
    pub flows: u64,
    pub packets: u64,
    pub octets: u64,
}

/// A weighted Space-Saving summary of at most `k` keys.
#[derive(Clone, Debug)]
pub struct SpaceSaving<K> {
    k: usize,
    /// Entries as a min-heap on weight.
    heap: Vec<(K, Weights)>,
    index: HashMap<K, usize, foldhash::fast::FixedState>,
    total: u64,
}

impl<K: Copy + Eq + Hash> SpaceSaving<K> {
    /// A summary of at most `k` (at least 1) keys.
    pub fn new(k: usize) -> Self {
        let k = k.max(1);
        SpaceSaving {
            k,
            heap: Vec::with_capacity(k),
            index: HashMap::with_capacity_and_hasher(k, foldhash::fast::FixedState::default()),
            total: 0,
        }
    }

    /// The total weight seen.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Adds `weight` to `key`, with the flow's counts.
    pub fn add(&mut self, key: K, weight: u64, flows: u64, packets: u64, octets: u64) {
        self.total = self.total.saturating_add(weight);
        let at = match self.index.get(&key) {
            Some(&i) => i,
            None if self.heap.len() < self.k => {
                self.heap.push((key, Weights::default()));
                let i = self.heap.len() - 1;
                self.index.insert(key, i);
                self.sift_up(i);
                // sift_up only moves a zero weight to the top, fine.
                self.index[&key]
            }
            None => {
                // Replace the lightest: the new key inherits its weight as
                // error.
                let (old, w) = self.heap[0];
                self.index.remove(&old);
                self.heap[0] = (
                    key,
                    Weights {
                        weight: w.weight,
                        error: w.weight,
                        ..Weights::default()
                    },
                );
                self.index.insert(key, 0);
                0
            }
        };
        let e = &mut self.heap[at].1;
        e.weight = e.weight.saturating_add(weight);
        e.flows += flows;
        e.packets = e.packets.saturating_add(packets);
        e.octets = e.octets.saturating_add(octets);
        self.sift_down(at);
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.index.insert(self.heap[a].0, a);
        self.index.insert(self.heap[b].0, b);
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].1.weight <= self.heap[i].1.weight {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut least = i;
            if l < self.heap.len() && self.heap[l].1.weight < self.heap[least].1.weight {
                least = l;
            }
            if r < self.heap.len() && self.heap[r].1.weight < self.heap[least].1.weight {
                least = r;
            }
            if least == i {
                return;
            }
            self.swap(i, least);
            i = least;
        }
    }

    /// The entries, heaviest first.
    pub fn top(&self, n: usize) -> Vec<(K, Weights)> {
        let mut v = self.heap.clone();
        v.sort_by_key(|e| std::cmp::Reverse(e.1.weight));
        v.truncate(n);
        v
    }

    /// Entries, unordered.
    pub fn entries(&self) -> &[(K, Weights)] {
        &self.heap
    }

    /// The most a key missing from the summary may weigh: the lightest
    /// entry's weight once the summary is full (keys have been evicted),
    /// none before (every key seen is there, exactly).
    pub fn floor(&self) -> u64 {
        if self.heap.len() < self.k {
            0
        } else {
            self.heap.first().map_or(0, |e| e.1.weight)
        }
    }

    /// Merges summaries of disjoint parts of a stream into the heaviest `k`
    /// entries. Estimates and errors of the same key add up, and a key
    /// missing from a full part may have weighed up to that part's
    /// [`floor`](Self::floor) there: it is added to its estimate and its
    /// error (mergeable summaries, Agarwal et al. 2012). So a merged
    /// estimate is still never below the true weight, overstates it by at
    /// most its error, and the error is at most the merged weight / `k`.
    pub fn merge<'a>(
        k: usize,
        parts: impl IntoIterator<Item = &'a SpaceSaving<K>>,
    ) -> Vec<(K, Weights)>
    where
        K: 'a,
    {
        let mut sum: HashMap<K, (Weights, u64), foldhash::fast::FixedState> = HashMap::default();
        let mut floors = 0u64;
        for p in parts {
            let floor = p.floor();
            floors = floors.saturating_add(floor);
            for (key, w) in &p.heap {
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
        let mut s = SpaceSaving::new(64);
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
        assert_eq!(s.entries().len(), 64);
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
            let mut s = SpaceSaving::new(k);
            let mut truth: HashMap<u16, u64> = HashMap::new();
            for (key, w) in &keys {
                s.add(*key, *w, 1, 1, *w);
                *truth.entry(*key).or_default() += w;
            }
            let total: u64 = truth.values().sum();
            let bound = total / k as u64;
            for (key, w) in s.entries() {
                let t = truth[key];
                prop_assert!(w.weight >= t && w.weight <= t + bound + 1);
                prop_assert!(w.weight - w.error <= t);
            }
            for (key, t) in &truth {
                if *t > bound {
                    prop_assert!(s.entries().iter().any(|e| e.0 == *key));
                }
            }
        }
    }
}
