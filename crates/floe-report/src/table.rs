//! The aggregation table: counters per key in 64 shards, each its own
//! hash table.
//!
//! Why shards: a hash table grows by allocating one twice its size and
//! moving every entry, so a single table peaks at 1.5 times its final size
//! while it grows. Shards grow one at a time, each 1/64 of the whole, so the
//! peak is the final size; and merging another thread's table frees each of
//! its shards as soon as it is merged. The price is some time in the
//! largest reports (more, smaller reallocations); `compare-query.sh` in
//! benches/ measures peaks and times.

use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::counters::Accumulate;

const SHARDS: usize = 64;

pub(crate) struct Table<K, V> {
    shards: Vec<FxHashMap<K, V>>,
    len: usize,
}

impl<K: Hash + Eq, V: Accumulate> Table<K, V> {
    pub fn new() -> Self {
        Table {
            shards: (0..SHARDS).map(|_| FxHashMap::default()).collect(),
            len: 0,
        }
    }

    /// The shard of a key: the top bits of its hash remixed, so that the
    /// bits each shard's own table uses (its low bits for the bucket, its
    /// top 7 for the control byte) stay spread within a shard.
    fn shard(key: &K) -> usize {
        let h = FxBuildHasher.hash_one(key);
        (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 6)) as usize
    }

    /// Updates the value of `key`; false when the key is new and `full`.
    pub fn bump(&mut self, key: K, full: bool, update: impl FnOnce(&mut V)) -> bool {
        // One lookup whether the key is there or not (a new key was
        // looked up twice, and most keys of a 3-part report are new).
        match self.shards[Self::shard(&key)].entry(key) {
            Entry::Occupied(mut e) => {
                update(e.get_mut());
                true
            }
            Entry::Vacant(_) if full => false,
            Entry::Vacant(e) => {
                let mut v = V::default();
                update(&mut v);
                e.insert(v);
                self.len += 1;
                true
            }
        }
    }

    /// Adds every key of `other`, freeing its shards one by one.
    pub fn merge(&mut self, other: Table<K, V>) {
        for (mine, theirs) in self.shards.iter_mut().zip(other.shards) {
            for (k, v) in theirs {
                match mine.entry(k) {
                    Entry::Occupied(mut e) => e.get_mut().merge_from(&v),
                    Entry::Vacant(e) => {
                        e.insert(v);
                        self.len += 1;
                    }
                }
            }
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[Self::shard(key)].get(key)
    }
}
