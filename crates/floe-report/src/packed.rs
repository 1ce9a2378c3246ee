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
pub(crate) const SHARDS: usize = 1 << SHARD_BITS;
/// Slots a shard starts with.
const FIRST: usize = 16;
/// Keys ahead whose slots are fetched.
const AHEAD: usize = 10;
/// Bytes a merge frees between two returns of free memory to the system.
const GIVE_BACK: usize = 32 << 20;
/// Keys of the other table from which a merge takes more than one thread.
const PARALLEL_MERGE: usize = 1 << 16;

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
    /// Keys moved by growths, for the tests of growth.
    #[cfg(test)]
    moved: usize,
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

    /// Room for one more key, growing at once to room for `expected`
    /// keys (and a tenth) when that is over half as many again as it holds: a table of mostly new keys (a 3-part report's)
    /// then moves its keys once or twice instead of at every growth by
    /// half, which had been a third of that report's time, in the moves
    /// and in the fresh pages each growth faults in.
    fn reserve_expecting(&mut self, expected: usize) {
        if !self.slots.is_empty() && (self.len + 1) * 100 <= self.slots.len() * 72 {
            return;
        }
        // A tenth more than expected: the shards do not fill quite evenly,
        // and a shard past its room at the end would grow once more.
        let wanted = expected + expected / 10;
        if wanted * 2 > self.len * 3 {
            self.grow_to(wanted * 100 / 72 + 1);
        } else {
            self.reserve_for(1);
        }
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
        if n != self.slots.len() {
            self.grow_to(n);
        }
    }

    /// Moves the keys to `n` slots.
    fn grow_to(&mut self, n: usize) {
        let grown = vec![Slot::VACANT; n];
        let old = std::mem::replace(&mut self.slots, grown);
        #[cfg(test)]
        {
            self.moved += self.len;
        }
        for s in old.into_iter().filter(|s| !s.key.is_empty()) {
            let i = self.find(s.key, s.key.hash());
            self.slots[i] = s;
        }
    }

    /// Adds the keys of `theirs` (the same shard of another table), whose
    /// slots it frees; returns the number of keys new here and the bytes
    /// freed (theirs, and its own slots if it grew).
    fn absorb(&mut self, theirs: &mut Shard<K>) -> (usize, usize) {
        let size = std::mem::size_of::<Slot<K>>();
        let mut freed = theirs.slots.capacity() * size;
        // Room for both shards' keys, no more: nothing is added after a
        // merge (growing by half as often as needed had left the merged
        // 3-part report's table 57% full).
        if (self.len + theirs.len) * 100 > self.slots.len() * 72 {
            freed += self.slots.capacity() * size;
            self.grow_to((self.len + theirs.len) * 100 / 72 + 1);
        }
        let before = self.len;
        for s in std::mem::take(&mut theirs.slots) {
            if s.key.is_empty() {
                continue;
            }
            let i = self.find(s.key, s.key.hash());
            let slot = &mut self.slots[i];
            if slot.key.is_empty() {
                slot.key = s.key;
                self.len += 1;
            }
            slot.c.merge(&s.c);
        }
        (self.len - before, freed)
    }
}

/// Merges every shard of `theirs` into the same of `mine`; returns the
/// keys new in `mine`. The freed memory goes back to the system every
/// [`GIVE_BACK`] bytes and at the end: per shard, a top-sources merge
/// made eleven thousand system calls and faulted the pages in again.
fn absorb_all<K: SlotKey>(mine: &mut [Shard<K>], theirs: &mut [Shard<K>]) -> usize {
    let (mut added, mut freed) = (0, 0);
    for (m, t) in mine.iter_mut().zip(theirs) {
        let (a, f) = m.absorb(t);
        added += a;
        freed += f;
        if freed >= GIVE_BACK {
            give_back_freed();
            freed = 0;
        }
    }
    if freed > 0 {
        give_back_freed();
    }
    added
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
    outlook: Outlook,
}

/// What a table expects of the rest of its rows: their number, per row
/// seen, and the rate of new keys among the latest rows seen.
#[derive(Clone, Copy, Default)]
struct Outlook {
    /// Rows to come per row seen (0: none known).
    left_per_seen: f64,
    /// Rows offered to the table.
    seen: u64,
    /// Rows seen and keys held when the current window began.
    since: (u64, usize),
    /// New keys per row in the window before it.
    last_rate: Option<f64>,
}

/// Rows a window of the new-key rate holds at least.
const WINDOW: u64 = 1 << 16;

impl<K: SlotKey> PackedTable<K> {
    pub fn new() -> PackedTable<K> {
        PackedTable {
            shards: (0..SHARDS)
                .map(|_| Shard {
                    slots: Vec::new(),
                    len: 0,
                    #[cfg(test)]
                    moved: 0,
                })
                .collect(),
            empty_key: None,
            len: 0,
            hashes: Vec::new(),
            outlook: Outlook::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Tells the table that `left_per_seen` rows are to come for each row
    /// it has been offered so far (the report's rows to come over its
    /// rows seen: a table's share of the rows is taken to stay the same).
    pub fn expect(&mut self, left_per_seen: f64) {
        self.outlook.left_per_seen = left_per_seen;
    }

    /// Keys a shard is expected to hold at the end: the latest rate of
    /// new keys over the rows to come, shared evenly by the shards (0:
    /// nothing known, too few rows yet to say, or too few new keys).
    fn expected_per_shard(&self) -> usize {
        let o = &self.outlook;
        let (seen_then, len_then) = o.since;
        let rows = o.seen - seen_then;
        // Not before a sixteenth of the rows: a few rows may say little
        // of the rest.
        if o.left_per_seen <= 0.0 || o.left_per_seen > 15.0 {
            return 0;
        }
        let rate = if rows >= WINDOW {
            (self.len - len_then) as f64 / rows as f64
        } else {
            match o.last_rate {
                Some(r) => r,
                None => return 0,
            }
        };
        // Only a table of mostly new keys says: a lower rate falls as the
        // table fills (a few sources send most flows), and projected it
        // had doubled the top sources' table (a power law fitted to the
        // latest window, as Heaps' law has it, still took a quarter more
        // memory and saved no time).
        if rate < 0.5 {
            return 0;
        }
        let more = rate * o.seen as f64 * o.left_per_seen;
        ((self.len as f64 + more) / SHARDS as f64) as usize
    }

    /// Counts `rows` more rows offered; a window of at least an eighth of
    /// the rows before it closes with its rate (the rate of new keys
    /// falls as a table fills: the latest says the most of the rest).
    fn offered(&mut self, rows: usize) {
        let o = &mut self.outlook;
        o.seen += rows as u64;
        let (seen_then, len_then) = o.since;
        let n = o.seen - seen_then;
        if n >= WINDOW.max(seen_then / 8) {
            o.last_rate = Some((self.len - len_then) as f64 / n as f64);
            o.since = (o.seen, self.len);
        }
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
        self.outlook = Outlook::default();
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
        // Never past the report's cap (`room` more keys): a projection
        // is a guess, and the cap bounds what a report may hold.
        let expected = self
            .expected_per_shard()
            .min(self.len.saturating_add(room).div_ceil(SHARDS));
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
            shard.reserve_expecting(expected);
            let i = shard.find(key, h);
            shard.slots[i].key = key;
            shard.slots[i].c.add(&s);
            shard.len += 1;
            self.len += 1;
        }
        self.hashes = hashes;
        self.offered(match r {
            Ok(()) => keys.len(),
            Err(j) => j,
        });
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

    /// Adds every key of `other`, freeing its shards one by one, on up to
    /// `threads` threads: the two tables share their shards' bounds (a
    /// key's shard is its hash's top bits), so each thread merges shards
    /// of its own. (Serial, the merge of two 3-part reports of about five
    /// million keys each was a quarter of the report's wall time.)
    pub fn merge(&mut self, mut other: PackedTable<K>, threads: usize)
    where
        K: Send,
    {
        if let Some((_, c)) = other.empty_key.take() {
            self.bump_with(K::EMPTY, false, |x| x.merge(&c));
        }
        let mut theirs = std::mem::take(&mut other.shards);
        let threads = threads.clamp(1, SHARDS);
        let added: usize = if threads == 1 || other.len < PARALLEL_MERGE {
            absorb_all(&mut self.shards, &mut theirs)
        } else {
            let per = SHARDS.div_ceil(threads);
            std::thread::scope(|scope| {
                let parts: Vec<_> = self
                    .shards
                    .chunks_mut(per)
                    .zip(theirs.chunks_mut(per))
                    .map(|(mine, t)| scope.spawn(move || absorb_all(mine, t)))
                    .collect();
                parts
                    .into_iter()
                    .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .sum()
            })
        };
        self.len += added;
        // Keys no rows brought: the rate of new keys would count them.
        self.outlook = Outlook::default();
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Counters)> {
        self.iter_part(0, 1)
    }

    /// The keys of part `part` of `parts` of the shards (the key kept
    /// aside is in part 0's).
    pub fn iter_part(&self, part: usize, parts: usize) -> impl Iterator<Item = (&K, &Counters)> {
        let per = SHARDS.div_ceil(parts.max(1));
        self.shards
            .iter()
            .skip(part * per)
            .take(per)
            .flat_map(|s| s.slots.iter())
            .filter(|s| !s.key.is_empty())
            .map(|s| (&s.key, &s.c))
            .chain(
                self.empty_key
                    .as_ref()
                    .filter(|_| part == 0)
                    .map(|(k, c)| (k, c)),
            )
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

    /// As [`PackedTable::expect`].
    pub fn expect(&mut self, left_per_seen: f64) {
        match self {
            CompactTable::Two(t, _) => t.expect(left_per_seen),
            CompactTable::Four(t) => t.expect(left_per_seen),
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
    pub fn merge(&mut self, other: CompactTable, threads: usize) {
        match (self, other) {
            (CompactTable::Two(a, _), CompactTable::Two(b, _)) => a.merge(b, threads),
            (CompactTable::Four(a), CompactTable::Four(b)) => a.merge(b, threads),
            _ => unreachable!("reports of one type have compact tables of one width"),
        }
    }

    /// As [`PackedTable::iter_part`].
    pub fn iter_part(&self, part: usize, parts: usize) -> impl Iterator<Item = (u128, &Counters)> {
        let (two, four) = match self {
            CompactTable::Two(t, _) => (Some(t), None),
            CompactTable::Four(t) => (None, Some(t)),
        };
        two.into_iter()
            .flat_map(move |t| t.iter_part(part, parts).map(|(k, c)| (u128::from(*k), c)))
            .chain(
                four.into_iter()
                    .flat_map(move |t| t.iter_part(part, parts).map(|(k, c)| (*k, c))),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u64) -> Sample {
        Sample {
            flows: 1,
            octets: n,
            packets: 1,
            duration_ms: 0,
        }
    }

    /// `n` keys, nine in ten new, in batches of 4096 as a report gives
    /// them, the table told (as a report tells it) the rows to come per
    /// row seen when `told`; returns it and the keys its growths moved.
    fn filled(n: u64, told: Option<u64>) -> (PackedTable<u64>, usize) {
        filled_with(n, told, |i| if i % 10 == 9 { i / 7 } else { i }, usize::MAX)
    }

    /// As `filled`, keys `key(i)`, and at most `cap` of them (the rows
    /// past the cap's stop not given).
    fn filled_with(
        n: u64,
        told: Option<u64>,
        key: fn(u64) -> u64,
        cap: usize,
    ) -> (PackedTable<u64>, usize) {
        let mut t = PackedTable::new();
        let keys: Vec<u64> = (0..n).map(key).collect();
        let mut seen = 0u64;
        for batch in keys.chunks(4096) {
            if let Some(rows) = told.filter(|_| seen > 0) {
                t.expect(rows.saturating_sub(seen) as f64 / seen as f64);
            }
            let room = cap.saturating_sub(t.len());
            if t.bump_many(batch, |_| false, |j| sample(batch[j]), room)
                .is_err()
            {
                break;
            }
            seen += batch.len() as u64;
        }
        let moved = t.shards.iter().map(|s| s.moved).sum();
        (t, moved)
    }

    fn slots<K>(t: &PackedTable<K>) -> usize {
        t.shards.iter().map(|s| s.slots.len()).sum()
    }

    #[test]
    fn a_table_told_its_rows_grows_once_to_what_they_need() {
        let n = 600_000;
        let (blind, moved_blind) = filled(n, None);
        let (told, moved_told) = filled(n, Some(n));
        assert_eq!(told.len(), blind.len());
        for (k, c) in blind.iter() {
            assert_eq!(told.get(k), Some(c), "key {k}");
        }
        // Growing by half moves every key about twice; told, a shard
        // jumps to its final size once the rate of new keys is known.
        assert!(moved_blind > told.len(), "{moved_blind} moved blind");
        assert!(moved_told * 2 < told.len(), "{moved_told} moved when told");
        // And no bigger than the keys need: at most 72% full, at least
        // 55% (a tenth to spare, and the shards' unevenness).
        let load = told.len() as f64 / slots(&told) as f64;
        assert!((0.55..=0.72).contains(&load), "load {load}");
        // Told too many rows (flows counted but never given), a table
        // that never sees a sixteenth of them grows by half, as blind;
        // told too few, it grows by half again past what it was told.
        let (over, moved_over) = filled(n, Some(n * 20));
        let (under, moved_under) = filled(n, Some(n / 3));
        for t in [&over, &under] {
            assert_eq!(t.len(), blind.len());
            assert!(blind.iter().all(|(k, c)| t.get(k) == Some(c)));
        }
        assert_eq!((slots(&over), moved_over), (slots(&blind), moved_blind));
        assert!(
            moved_under > moved_told,
            "{moved_under} moved when told too few"
        );
        // Never past the cap: a table that may hold 100 k keys more is
        // not grown for the 540 k it would otherwise expect.
        let (capped, _) = filled_with(n, Some(n), |i| i, 100_000);
        assert_eq!(capped.len(), 100_000);
        assert!(
            slots(&capped) * 72 <= 100_000 * 100 * 3 / 2,
            "{} slots",
            slots(&capped)
        );
        // A table of mostly old keys grows by half, told or not: its rate
        // of new keys falls as it fills, and a projection would overshoot.
        let few_new = |i: u64| if i.is_multiple_of(4) { i } else { i % 5000 };
        let (blind, moved_blind) = filled_with(n, None, few_new, usize::MAX);
        let (told, moved_told) = filled_with(n, Some(n), few_new, usize::MAX);
        assert_eq!((slots(&told), moved_told), (slots(&blind), moved_blind));
    }

    #[test]
    fn a_merge_on_several_threads_is_the_merge_on_one() {
        // Past PARALLEL_MERGE keys, with keys in both tables and in one.
        let (a, _) = filled(200_000, None);
        let keys: Vec<u64> = (150_000..400_000).chain([u64::MAX]).collect();
        let mut b = PackedTable::new();
        b.bump_many(&keys, |_| false, |j| sample(j as u64), usize::MAX)
            .unwrap();
        assert!(b.len() > PARALLEL_MERGE);
        let copy = |t: &PackedTable<u64>| {
            let mut c = PackedTable::new();
            for (k, x) in t.iter() {
                c.bump_with(*k, false, |y| y.merge(x));
            }
            c
        };
        let (mut one, mut two) = (copy(&a), copy(&a));
        one.merge(copy(&b), 1);
        two.merge(b, 2);
        let all: std::collections::HashSet<u64> = a
            .iter()
            .map(|(k, _)| *k)
            .chain(keys.iter().copied())
            .collect();
        assert_eq!(one.len(), all.len());
        assert_eq!(two.len(), all.len());
        for (k, c) in one.iter() {
            assert_eq!(two.get(k), Some(c), "key {k}");
        }
    }

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
        a.merge(b, 2);
        assert_eq!(a.iter().count(), a.len());
        assert_eq!(a.len(), want.len().max(n));
        // The cap: no new key past `room`.
        let mut c = PackedTable::new();
        assert_eq!(c.bump_many(&keys, |_| false, |_| s(1), 10), Err(10));
        assert_eq!(c.len(), 10);
    }
}
