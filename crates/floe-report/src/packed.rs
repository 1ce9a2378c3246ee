//! The tables of packed keys (`u128`, four 32-bit lanes; and one-part
//! keys that do not pack, [`Single`]) and their counters: open addressing
//! with linear probing, a key and its counters side by side in one slot
//! (40 to 112 bytes), in 64 shards that grow one at a time
//! (as [`crate::table::Table`]'s do, for the same reason: no doubling of
//! the whole table). Its batch update computes every key's slot first and
//! asks the processor for slots a few keys ahead while it updates the
//! current one, so that the cache misses of a table far larger than the
//! caches overlap instead of following one another: that wait was most
//! of a large top-N report's time.

use crate::counters::{Counters, Sample};
use crate::key::Single;

/// A key a [`PackedTable`] holds.
pub(crate) trait SlotKey: Copy + Eq {
    /// The key no slot can hold: it marks empty slots (a key equal to it
    /// is kept aside).
    const EMPTY: Self;
    fn hash(&self) -> u64;
    /// The same key (cheap when not: probes compare many keys).
    #[inline(always)]
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    /// An empty slot's key.
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.same(&Self::EMPTY)
    }
}

impl SlotKey for u128 {
    const EMPTY: u128 = u128::MAX;
    #[inline(always)]
    fn hash(&self) -> u64 {
        mix(*self)
    }
}

impl SlotKey for u64 {
    const EMPTY: u64 = u64::MAX;
    #[inline(always)]
    fn hash(&self) -> u64 {
        // As the same key's in a u128 (its upper lanes zero).
        mix(u128::from(*self))
    }
}

impl SlotKey for crate::key::Key {
    const EMPTY: crate::key::Key = crate::key::Key::EMPTY;
    #[inline(always)]
    fn same(&self, o: &Self) -> bool {
        // The first parts first: a derived comparison of 80 bytes was a
        // call to memcmp per probe (a third of a 3-part report's time).
        self.vals[0] == o.vals[0]
            && self.vals[1] == o.vals[1]
            && self.vals[2] == o.vals[2]
            && self.vals[3] == o.vals[3]
            && self.kinds == o.kinds
            && self.lens == o.lens
    }
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.kinds[0] == 255
    }
    #[inline(always)]
    fn hash(&self) -> u64 {
        let mut x = 0u128;
        for (i, v) in self.vals.iter().enumerate() {
            x = x.rotate_left(29) ^ v.wrapping_mul(0x9E37_79B9_7F4A_7C15 + i as u128);
        }
        let tags =
            u32::from_le_bytes(self.kinds) as u128 | (u32::from_le_bytes(self.lens) as u128) << 32;
        mix(x ^ tags.rotate_left(64))
    }
}

impl SlotKey for crate::key::Duo {
    const EMPTY: crate::key::Duo = crate::key::Duo::EMPTY;
    #[inline(always)]
    fn same(&self, o: &Self) -> bool {
        // Word by word, as `Key`'s.
        self.wide[0] == o.wide[0]
            && self.wide[1] == o.wide[1]
            && self.narrow == o.narrow
            && self.tags == o.tags
    }
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.tags as u8 == 255
    }
    #[inline(always)]
    fn hash(&self) -> u64 {
        let rest = u128::from(self.narrow) | u128::from(self.tags) << 64;
        let x = self.wide[0].wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ self.wide[1]
                .wrapping_mul(0x9E37_79B9_7F4A_7C16)
                .rotate_left(29)
            ^ rest.wrapping_mul(0x9E37_79B9_7F4A_7C17).rotate_left(58);
        mix(x)
    }
}

impl SlotKey for Single {
    const EMPTY: Single = Single::EMPTY;
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.kind == 255
    }
    #[inline(always)]
    fn hash(&self) -> u64 {
        mix(self.val ^ (u128::from(self.kind) << 120) ^ (u128::from(self.len) << 112))
    }
}

const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
/// Slots a shard starts with.
const FIRST: usize = 16;
/// Keys ahead whose slots are fetched.
const AHEAD: usize = 10;

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot<K> {
    key: K,
    c: Counters,
}

impl<K: SlotKey> Slot<K> {
    const VACANT: Slot<K> = Slot {
        key: K::EMPTY,
        c: Counters {
            flows: 0,
            octets: 0,
            packets: 0,
            duration_ms: 0,
        },
    };
}

struct Shard<K> {
    slots: Vec<Slot<K>>,
    len: usize,
}

impl<K: SlotKey> Shard<K> {
    /// The slot of `key` (hash `h`): where it is, or the empty slot where
    /// it goes.
    #[inline(always)]
    fn find(&self, key: K, h: u64) -> usize {
        let n = self.slots.len();
        let mut i = home(h, n);
        loop {
            let k = &self.slots[i].key;
            if k.same(&key) || k.is_empty() {
                return i;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Room for one more key: at most 72% full, growing by half. (Sizes
    /// are not powers of two: the 64 shards fill evenly and would all
    /// double at once, leaving the whole table under half full; growing
    /// by half keeps it 48% to 72% full; fuller, linear probing made a
    /// 3-part report of mostly new keys several times slower.)
    fn reserve(&mut self) {
        self.reserve_for(1);
    }

    /// Room for `more` keys, in one growth (by half, as often as needed).
    /// A merge asks for all of the other shard's keys first: they come in
    /// the order of their slots, which is the order of their hashes, and
    /// added one by one to a table that grew only when full they packed
    /// the part of it they reached first far beyond its average load
    /// (most of a merge's time went to those probes).
    fn reserve_for(&mut self, more: usize) {
        if self.slots.is_empty() {
            self.slots = vec![Slot::VACANT; FIRST];
        }
        let mut n = self.slots.len();
        while (self.len + more) * 100 > n * 72 {
            n = n * 3 / 2;
        }
        if n == self.slots.len() {
            return;
        }
        let grown = vec![Slot::VACANT; n];
        let old = std::mem::replace(&mut self.slots, grown);
        for s in old.into_iter().filter(|s| !s.key.is_empty()) {
            let i = self.find(s.key, s.key.hash());
            self.slots[i] = s;
        }
    }
}

/// A key's hash: the folded 128-bit product of its halves mixed (its top
/// bits pick the shard, its low bits the slot).
#[inline(always)]
fn mix(key: u128) -> u64 {
    let x = (key as u64) ^ ((key >> 64) as u64).rotate_left(23);
    let p = u128::from(x ^ 0x243F_6A88_85A3_08D3) * 0x9E37_79B9_7F4A_7C15;
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline(always)]
fn shard_of(h: u64) -> usize {
    (h >> (64 - SHARD_BITS)) as usize
}

/// A key's first slot among `n`: the hash's bits below the shard's scaled
/// to `n` (a multiplication, not a division).
#[inline(always)]
fn home(h: u64, n: usize) -> usize {
    ((u128::from(h << SHARD_BITS) * n as u128) >> 64) as usize
}

/// Returns the pages of freed memory to the system. A merge frees the
/// other thread's shards as it grows this one's: the freed blocks are of
/// other sizes and in the other thread's arena, so glibc's allocator
/// kept them unused but resident, and a 3-part report's peak memory was
/// its merge (a fifth above the merged table).
fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's
    // arenas; it touches nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks for the cache line at `p` (a hint: never faults, whatever the
/// address): for other crates' tables too, whose crates forbid `unsafe`.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Packed keys and their counters.
pub(crate) struct PackedTable<K> {
    shards: Vec<Shard<K>>,
    /// The counters of the key equal to [`SlotKey::EMPTY`], if it came.
    empty_key: Option<(K, Counters)>,
    len: usize,
    hashes: Vec<u64>,
}

impl<K: SlotKey> PackedTable<K> {
    pub fn new() -> PackedTable<K> {
        PackedTable {
            shards: (0..SHARDS)
                .map(|_| Shard {
                    slots: Vec::new(),
                    len: 0,
                })
                .collect(),
            empty_key: None,
            len: 0,
            hashes: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// No key, the slots kept.
    pub fn clear(&mut self) {
        for s in &mut self.shards {
            if s.len > 0 {
                s.slots.fill(Slot::VACANT);
                s.len = 0;
            }
        }
        self.empty_key = None;
        self.len = 0;
    }

    /// Adds `s` to `key`'s counters; false when the key is new and `full`.
    pub fn bump(&mut self, key: K, full: bool, s: &Sample) -> bool {
        self.bump_with(key, full, |c| c.add(s))
    }

    fn bump_with(&mut self, key: K, full: bool, update: impl FnOnce(&mut Counters)) -> bool {
        if key.is_empty() {
            if self.empty_key.is_none() {
                if full {
                    return false;
                }
                self.len += 1;
            }
            update(
                &mut self
                    .empty_key
                    .get_or_insert((K::EMPTY, Counters::default()))
                    .1,
            );
            return true;
        }
        let h = key.hash();
        let shard = &mut self.shards[shard_of(h)];
        if !shard.slots.is_empty() {
            let i = shard.find(key, h);
            if shard.slots[i].key.same(&key) {
                update(&mut shard.slots[i].c);
                return true;
            }
        }
        if full {
            return false;
        }
        shard.reserve();
        let i = shard.find(key, h);
        shard.slots[i].key = key;
        update(&mut shard.slots[i].c);
        shard.len += 1;
        self.len += 1;
        true
    }

    /// Adds `samples(j)` to the counters of `keys[j]` for every `j` where
    /// `skip(j)` is false, fetching slots ahead. Stops with `Err(j)` at the
    /// first new key past `room` new keys (the report's cap).
    pub fn bump_many(
        &mut self,
        keys: &[K],
        skip: impl Fn(usize) -> bool,
        sample: impl Fn(usize) -> Sample,
        mut room: usize,
    ) -> Result<(), usize> {
        let mut hashes = std::mem::take(&mut self.hashes);
        hashes.clear();
        hashes.extend(keys.iter().map(|k| k.hash()));
        let ahead = |t: &PackedTable<K>, h: u64| {
            let s = &t.shards[shard_of(h)];
            if !s.slots.is_empty() {
                // Its first and last byte: a slot of 48 or 80 bytes
                // straddles two cache lines as often as not, and the
                // counters' line was then a miss of its own.
                let slot = &s.slots[home(h, s.slots.len())];
                prefetch(slot);
                prefetch(
                    (slot as *const Slot<K>)
                        .cast::<u8>()
                        .wrapping_add(std::mem::size_of::<Slot<K>>() - 1),
                );
            }
        };
        for &h in hashes.iter().take(AHEAD) {
            ahead(self, h);
        }
        let mut r = Ok(());
        for j in 0..keys.len() {
            if let Some(&h) = hashes.get(j + AHEAD) {
                ahead(self, h);
            }
            if skip(j) {
                continue;
            }
            let (key, h) = (keys[j], hashes[j]);
            let s = sample(j);
            if key.is_empty() {
                let new = self.empty_key.is_none();
                if !self.bump_with(key, new && room == 0, |c| c.add(&s)) {
                    r = Err(j);
                    break;
                }
                room -= usize::from(new);
                continue;
            }
            let shard = &mut self.shards[shard_of(h)];
            if !shard.slots.is_empty() {
                let i = shard.find(key, h);
                if shard.slots[i].key.same(&key) {
                    shard.slots[i].c.add(&s);
                    continue;
                }
            }
            if room == 0 {
                r = Err(j);
                break;
            }
            room -= 1;
            shard.reserve();
            let i = shard.find(key, h);
            shard.slots[i].key = key;
            shard.slots[i].c.add(&s);
            shard.len += 1;
            self.len += 1;
        }
        self.hashes = hashes;
        r
    }

    #[cfg(test)]
    pub fn get(&self, key: &K) -> Option<&Counters> {
        if key.is_empty() {
            return self.empty_key.as_ref().map(|e| &e.1);
        }
        let h = key.hash();
        let s = &self.shards[shard_of(h)];
        if s.slots.is_empty() {
            return None;
        }
        let i = s.find(*key, h);
        (s.slots[i].key == *key).then_some(&s.slots[i].c)
    }

    /// Adds every key of `other`, freeing its shards one by one.
    pub fn merge(&mut self, mut other: PackedTable<K>) {
        if let Some((_, c)) = other.empty_key.take() {
            self.bump_with(K::EMPTY, false, |x| x.merge(&c));
        }
        for (i, theirs) in other.shards.iter_mut().enumerate() {
            self.shards[i].reserve_for(theirs.len);
            let slots = std::mem::take(&mut theirs.slots);
            for s in slots.into_iter().filter(|s| !s.key.is_empty()) {
                self.bump_with(s.key, false, |x| x.merge(&s.c));
            }
            give_back_freed();
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &Counters)> {
        self.shards
            .iter()
            .flat_map(|s| s.slots.iter())
            .filter(|s| !s.key.is_empty())
            .map(|s| (&s.key, &s.c))
            .chain(self.empty_key.as_ref().map(|(k, c)| (k, c)))
    }
}

/// The table of compact keys (four 32-bit lanes, as `u128`s): keys of
/// at most two lanes (one-part keys, pairs of IPv4 addresses...) held in
/// 8 bytes, so that their slots take 40 bytes instead of 48 (a slot a
/// cache line less often split in two, and a sixth less memory).
pub(crate) enum CompactTable {
    /// Keys of at most two lanes, and the keys of a batch narrowed.
    Two(PackedTable<u64>, Vec<u64>),
    Four(PackedTable<u128>),
}

impl CompactTable {
    /// The table for keys of `width` parts.
    pub fn new(width: usize) -> CompactTable {
        if width <= 2 {
            CompactTable::Two(PackedTable::new(), Vec::new())
        } else {
            CompactTable::Four(PackedTable::new())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            CompactTable::Two(t, _) => t.len(),
            CompactTable::Four(t) => t.len(),
        }
    }

    pub fn clear(&mut self) {
        match self {
            CompactTable::Two(t, _) => t.clear(),
            CompactTable::Four(t) => t.clear(),
        }
    }

    /// As [`PackedTable::bump`].
    pub fn bump(&mut self, key: u128, full: bool, s: &Sample) -> bool {
        match self {
            CompactTable::Two(t, _) => {
                debug_assert!(key >> 64 == 0, "a key of two lanes");
                t.bump(key as u64, full, s)
            }
            CompactTable::Four(t) => t.bump(key, full, s),
        }
    }

    /// As [`PackedTable::bump_many`].
    pub fn bump_many(
        &mut self,
        keys: &[u128],
        skip: impl Fn(usize) -> bool,
        sample: impl Fn(usize) -> Sample,
        room: usize,
    ) -> Result<(), usize> {
        match self {
            CompactTable::Two(t, narrow) => {
                debug_assert!(keys.iter().all(|k| k >> 64 == 0), "keys of two lanes");
                narrow.clear();
                narrow.extend(keys.iter().map(|&k| k as u64));
                t.bump_many(narrow, skip, sample, room)
            }
            CompactTable::Four(t) => t.bump_many(keys, skip, sample, room),
        }
    }

    /// Adds every key of `other` (a table for keys of the same width).
    pub fn merge(&mut self, other: CompactTable) {
        match (self, other) {
            (CompactTable::Two(a, _), CompactTable::Two(b, _)) => a.merge(b),
            (CompactTable::Four(a), CompactTable::Four(b)) => a.merge(b),
            _ => unreachable!("reports of one type have compact tables of one width"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u128, &Counters)> {
        let (two, four) = match self {
            CompactTable::Two(t, _) => (Some(t), None),
            CompactTable::Four(t) => (None, Some(t)),
        };
        two.into_iter()
            .flat_map(|t| t.iter().map(|(k, c)| (u128::from(*k), c)))
            .chain(
                four.into_iter()
                    .flat_map(|t| t.iter().map(|(k, c)| (*k, c))),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_kind_count_and_merge() {
        let s = |n| Sample {
            flows: 1,
            octets: n,
            packets: 1,
            duration_ms: 0,
        };
        let mut a = PackedTable::new();
        let keys: Vec<u128> = (0..5000u128)
            .map(|i| ((i % 1700) << 64) | (i % 3))
            .chain([u128::MAX, 0, u128::MAX])
            .collect();
        a.bump_many(&keys, |j| j % 7 == 3, |j| s(j as u64), usize::MAX)
            .unwrap();
        let mut want = std::collections::HashMap::new();
        for (j, k) in keys.iter().enumerate().filter(|(j, _)| j % 7 != 3) {
            *want.entry(*k).or_insert(0u64) += j as u64;
        }
        assert_eq!(a.len(), want.len());
        for (k, o) in &want {
            assert_eq!(a.get(k).unwrap().octets, *o);
        }
        let mut b = PackedTable::new();
        for k in &keys {
            assert!(b.bump(*k, false, &s(1)));
        }
        let n = b.len();
        assert!(!b.bump(12345 << 80, true, &s(1)));
        a.merge(b);
        assert_eq!(a.iter().count(), a.len());
        assert_eq!(a.len(), want.len().max(n));
        // The cap: no new key past `room`.
        let mut c = PackedTable::new();
        assert_eq!(c.bump_many(&keys, |_| false, |_| s(1), 10), Err(10));
        assert_eq!(c.len(), 10);
    }
}
