//! Window tables: what a rule counts per key, fed one file at a time, and
//! the one pass over a file that feeds every rule.
//!
//! A file is read once for all the rules that want it, through floe-scan:
//! its blocks are decoded as columns (only the union of the columns those
//! rules read), spread over the threads, and each block goes to every
//! rule: the block's statistics tell which rules' filters match none of
//! its flows (those skip it), the others' filters select rows column by
//! column, and the keys are taken from the columns into that thread's
//! table for the rule; the threads' tables are then added to the rules'
//! window tables. [`AggSpec::feed`], row by row over `Flow`s, is the
//! reference the column path is tested against.

use std::net::IpAddr;
use std::sync::Mutex;

use floe_filter::{Scratch, Verdict};
use floe_flow::{BatchStats, Col, ColSet, Flow, FlowBatch};
use floe_report::{AddrFormat, AddrStyle, KeyPart};
use floe_scan::{Part, Scan};
use floe_store::{FlowFile, StoreError};

use crate::rules::{AggSpec, KeySpec, Source, Target};
use crate::value::{KVal, Key, MAX_PARTS};

/// The hash maps and sets of tables: foldhash (fast, and it spreads
/// addresses well; FxHash's collisions on address keys cost more than the
/// hashing saved). Fixed seeds: keys are our own flows' values, and the
/// tables are capped.
pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub type Set<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// Flows, packets and octets of a key. (A lost-flows table counts the
/// exporters' lost flows as its flows.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sums {
    /// Flows counted (for a lost-flows table: the flows the exporters lost).
    pub flows: u64,
    /// Packets, summed (saturating).
    pub packets: u64,
    /// Octets, summed (saturating).
    pub octets: u64,
}

impl Sums {
    #[inline]
    fn add_flow(&mut self, packets: u64, octets: u64) {
        self.flows += 1;
        self.packets = self.packets.saturating_add(packets);
        self.octets = self.octets.saturating_add(octets);
    }

    /// Adds another key's sums to these (saturating).
    pub fn merge(&mut self, o: &Sums) {
        self.flows = self.flows.saturating_add(o.flows);
        self.packets = self.packets.saturating_add(o.packets);
        self.octets = self.octets.saturating_add(o.octets);
    }
}

/// A key whose parts all fit 32 bits (numbers up to 2^32, IPv4
/// addresses and prefixes), packed into 32-bit lanes: most keys are, and
/// a table of them takes a third of the memory (and of the cache misses)
/// of one of [`Key`]s. Each part's lane of `meta` says what it is: 0
/// unused, 1 a number, 2 an IPv4 address, 3 an IPv4 prefix (its length in
/// the high byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Packed {
    // Two u64s rather than a u128: 24 bytes, not 32 (u128's alignment).
    lo: u64,
    hi: u64,
    meta: u64,
}

impl Packed {
    /// Packs the parts of `parts` (at most four), if they all fit.
    fn pack(parts: &[KVal]) -> Option<Packed> {
        let mut v: u128 = 0;
        let mut meta: u64 = 0;
        for (i, part) in parts.iter().enumerate().take(MAX_PARTS) {
            let (x, m): (u32, u16) = match *part {
                KVal::N(n) => (u32::try_from(n).ok()?, 1),
                KVal::A(IpAddr::V4(a)) => (u32::from(a), 2),
                KVal::P(IpAddr::V4(a), len) => (u32::from(a), 3 | u16::from(len) << 8),
                _ => return None,
            };
            v |= u128::from(x) << (32 * i);
            meta |= u64::from(m) << (16 * i);
        }
        Some(Packed::from_parts(v, meta))
    }

    fn from_parts(v: u128, meta: u64) -> Packed {
        Packed {
            lo: v as u64,
            hi: (v >> 64) as u64,
            meta,
        }
    }

    fn v(&self) -> u128 {
        u128::from(self.lo) | u128::from(self.hi) << 64
    }

    /// A key of one part in 8 bytes: its lane and its meta.
    fn one(&self) -> Option<u64> {
        (self.meta >> 16 == 0).then_some((self.lo & 0xffff_ffff) | (self.meta & 0xffff) << 32)
    }

    fn from_one(x: u64) -> Packed {
        Packed::from_parts(u128::from(x & 0xffff_ffff), x >> 32)
    }

    /// A key of at most two parts in 16 bytes: its lanes and their meta.
    fn two(&self) -> Option<u128> {
        (self.meta >> 32 == 0).then_some(u128::from(self.lo) | u128::from(self.meta) << 64)
    }

    fn from_two(x: u128) -> Packed {
        Packed::from_parts(x & u128::from(u64::MAX), (x >> 64) as u64)
    }

    fn unpack(&self) -> Key {
        let mut k = Key::EMPTY;
        for i in 0..MAX_PARTS {
            let m = (self.meta >> (16 * i)) as u16;
            let v = (self.v() >> (32 * i)) as u32;
            let part = match m & 0xff {
                1 => KVal::N(u64::from(v)),
                2 => KVal::A(IpAddr::V4(v.into())),
                3 => KVal::P(IpAddr::V4(v.into()), (m >> 8) as u8),
                _ => break,
            };
            k.set(i, part);
        }
        k
    }
}

/// One table's counts over a window.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// By the table's key (the group key, or the key alerts list): keys
    /// of one packed part as 8 bytes (most keys: an address, a port),
    /// other packed keys, keys that do not pack.
    one: Map<u64, Sums>,
    small: Map<Packed, Sums>,
    /// Keys of one IPv6 address (a fifth of the traffic, often), and the
    /// rest.
    v6: Map<u128, Sums>,
    wide: Map<Key, Sums>,
    /// Everything the filter kept.
    pub total: Sums,
    /// Distinct (group key, value) pairs, packed as a key of one more
    /// part: two packed parts as 16 bytes (a key and its value), other
    /// packed ones, those that do not pack.
    pairs_two: Set<u128>,
    pairs_small: Set<Packed>,
    /// An IPv6 address and an IPv6 address (or the empty key and one).
    pairs_v6: Set<(u128, u128)>,
    pairs_wide: Set<(Key, KVal)>,
    /// Keys and pairs not kept because the table was full.
    pub overflow: u64,
    /// A small cache in front of `one` while a file is fed: flows of
    /// popular keys (traffic is heavily skewed) add up here, in the CPU's
    /// cache, and reach the large table once per eviction rather than
    /// once per flow. Empty between files ([`Table::settle`]).
    hot: Vec<(u64, Sums)>,
}

/// Slots of the cache in front of a table (32 bytes each).
const HOT: usize = 4096;
/// No key: one-part keys use 48 bits.
const NO_KEY: u64 = u64::MAX;

impl Table {
    /// Keys counted.
    pub fn len(&self) -> usize {
        self.one.len() + self.small.len() + self.v6.len() + self.wide.len()
    }

    /// Whether the table counts no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct pairs counted.
    pub fn pairs_len(&self) -> usize {
        self.pairs_two.len() + self.pairs_small.len() + self.pairs_v6.len() + self.pairs_wide.len()
    }

    /// Every key with its sums.
    pub fn sums(&self) -> impl Iterator<Item = (Key, Sums)> + '_ {
        self.one
            .iter()
            .map(|(k, s)| (Packed::from_one(*k).unpack(), *s))
            .chain(self.small.iter().map(|(k, s)| (k.unpack(), *s)))
            .chain(self.v6.iter().map(|(k, s)| (v6_key(*k), *s)))
            .chain(self.wide.iter().map(|(k, s)| (*k, *s)))
    }

    /// The keys whose sums pass `keep`, unpacked (the others are not).
    pub fn sums_where(&self, keep: impl Fn(&Sums) -> bool) -> Vec<(Key, Sums)> {
        let mut out = Vec::new();
        out.extend(
            self.one
                .iter()
                .filter(|(_, s)| keep(s))
                .map(|(k, s)| (Packed::from_one(*k).unpack(), *s)),
        );
        out.extend(
            self.small
                .iter()
                .filter(|(_, s)| keep(s))
                .map(|(k, s)| (k.unpack(), *s)),
        );
        out.extend(
            self.v6
                .iter()
                .filter(|(_, s)| keep(s))
                .map(|(k, s)| (v6_key(*k), *s)),
        );
        out.extend(
            self.wide
                .iter()
                .filter(|(_, s)| keep(s))
                .map(|(k, s)| (*k, *s)),
        );
        out
    }

    /// A key's sums.
    pub fn get(&self, k: &Key) -> Option<Sums> {
        match Packed::pack(k.parts()) {
            Some(p) => match p.one() {
                Some(x) => self.one.get(&x).copied(),
                None => self.small.get(&p).copied(),
            },
            None => match v6_of(k.parts()) {
                Some(a) => self.v6.get(&a).copied(),
                None => self.wide.get(k).copied(),
            },
        }
    }

    /// Every distinct pair.
    pub fn pairs(&self) -> impl Iterator<Item = (Key, KVal)> + '_ {
        self.pairs_two
            .iter()
            .map(|p| split_last(Packed::from_two(*p).unpack()))
            .chain(self.pairs_small.iter().map(|p| split_last(p.unpack())))
            .chain(self.pairs_v6.iter().map(|(k, v)| {
                let key = if *k == NO_V6 { Key::EMPTY } else { v6_key(*k) };
                (key, KVal::A(IpAddr::V6((*v).into())))
            }))
            .chain(self.pairs_wide.iter().copied())
    }

    /// Adds to a key's sums, at most `max` keys.
    pub fn add(&mut self, k: &Key, s: &Sums, max: usize) {
        self.bump_parts(k.parts(), max, |e| e.merge(s));
    }

    /// Adds a flow to the key of these parts, through the cache for
    /// one-part keys.
    #[inline]
    fn add_flow_parts(&mut self, parts: &[KVal], max: usize, packets: u64, octets: u64) {
        if let Some(x) = Packed::pack(parts).and_then(|p| p.one()) {
            if self.hot.is_empty() {
                self.hot = vec![(NO_KEY, Sums::default()); HOT];
            }
            let slot = (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize % HOT;
            let (k, s) = self.hot[slot];
            if k != x {
                if k != NO_KEY {
                    let full = self.len() >= max;
                    if !bump(&mut self.one, k, full, |e| e.merge(&s)) {
                        self.overflow += 1;
                    }
                }
                self.hot[slot] = (x, Sums::default());
            }
            self.hot[slot].1.add_flow(packets, octets);
            return;
        }
        self.bump_parts(parts, max, |e| e.add_flow(packets, octets));
    }

    /// Empties the cache into the table: what every reader of the table
    /// expects (done after each file).
    pub fn settle(&mut self, max: usize) {
        let hot = std::mem::take(&mut self.hot);
        for (k, s) in hot.into_iter().filter(|(k, _)| *k != NO_KEY) {
            let full = self.len() >= max;
            if !bump(&mut self.one, k, full, |e| e.merge(&s)) {
                self.overflow += 1;
            }
        }
    }

    /// Changes the sums of the key of these parts (created unless the
    /// table holds `max` keys).
    #[inline]
    fn bump_parts(&mut self, parts: &[KVal], max: usize, f: impl FnOnce(&mut Sums)) {
        let full = self.len() >= max;
        let done = match Packed::pack(parts) {
            Some(p) => match p.one() {
                Some(x) => bump(&mut self.one, x, full, f),
                None => bump(&mut self.small, p, full, f),
            },
            None => match v6_of(parts) {
                Some(a) => bump(&mut self.v6, a, full, f),
                None => bump(&mut self.wide, Key::from_parts(parts), full, f),
            },
        };
        if !done {
            self.overflow += 1;
        }
    }

    /// Adds a distinct pair, at most `max` pairs.
    pub fn add_pair(&mut self, k: &Key, v: KVal, max: usize) {
        let mut parts = [KVal::N(0); MAX_PARTS + 1];
        let n = k.parts().len();
        parts[..n].copy_from_slice(k.parts());
        parts[n] = v;
        self.add_pair_parts(&parts[..=n], max);
    }

    /// Adds the pair whose key is all of `parts` but the last, and whose
    /// value is the last.
    #[inline]
    fn add_pair_parts(&mut self, parts: &[KVal], max: usize) {
        let full = self.pairs_len() >= max;
        let packed = if parts.len() <= MAX_PARTS {
            Packed::pack(parts)
        } else {
            None
        };
        let done = match packed {
            Some(p) => match p.two() {
                Some(x) => insert(&mut self.pairs_two, x, full),
                None => insert(&mut self.pairs_small, p, full),
            },
            None => match parts.split_last() {
                Some((KVal::A(IpAddr::V6(v)), [])) => {
                    insert(&mut self.pairs_v6, (NO_V6, u128::from(*v)), full)
                }
                Some((KVal::A(IpAddr::V6(v)), k)) if v6_of(k).is_some() => {
                    let a = v6_of(k).unwrap_or_default();
                    insert(&mut self.pairs_v6, (a, u128::from(*v)), full)
                }
                Some((v, k)) => insert(&mut self.pairs_wide, (Key::from_parts(k), *v), full),
                None => true,
            },
        };
        if !done {
            self.overflow += 1;
        }
    }

    /// Adds `other` (a file's counters) to this one; at most `max` keys
    /// and `max` pairs are kept.
    pub fn merge(&mut self, mut other: Table, max: usize) {
        other.settle(max);
        if self.is_empty() && self.pairs_len() == 0 && self.total == Sums::default() {
            // A new window: the other table as it is.
            let overflow = self.overflow;
            *self = other;
            self.overflow = self.overflow.saturating_add(overflow);
            return;
        }
        self.total.merge(&other.total);
        self.overflow = self.overflow.saturating_add(other.overflow);
        // Both tables keep a key the same way: entry by entry, unpacked
        // into nothing.
        let mut lost = 0u64;
        macro_rules! sums {
            ($m:ident) => {
                for (k, s) in other.$m {
                    let full = self.len() >= max;
                    if !bump(&mut self.$m, k, full, |e| e.merge(&s)) {
                        lost += 1;
                    }
                }
            };
        }
        sums!(one);
        sums!(small);
        sums!(v6);
        sums!(wide);
        macro_rules! pairs {
            ($m:ident) => {
                for x in other.$m {
                    let full = self.pairs_len() >= max;
                    if !insert(&mut self.$m, x, full) {
                        lost += 1;
                    }
                }
            };
        }
        pairs!(pairs_two);
        pairs!(pairs_small);
        pairs!(pairs_v6);
        pairs!(pairs_wide);
        self.overflow = self.overflow.saturating_add(lost);
    }

    /// Distinct counts per group key.
    pub fn distinct_counts(&self) -> Map<Key, u64> {
        let mut small: Map<Packed, u64> = Map::default();
        let packed = self
            .pairs_two
            .iter()
            .map(|x| Packed::from_two(*x))
            .chain(self.pairs_small.iter().copied());
        for p in packed {
            // The pair's last part is the value: the key is the rest.
            let last = (0..MAX_PARTS)
                .rev()
                .find(|i| (p.meta >> (16 * i)) & 0xff != 0)
                .unwrap_or(0);
            let key = Packed::from_parts(
                p.v() & !(u128::from(u32::MAX) << (32 * last)),
                p.meta & !(0xffffu64 << (16 * last)),
            );
            *small.entry(key).or_default() += 1;
        }
        let mut out: Map<Key, u64> = small.into_iter().map(|(k, n)| (k.unpack(), n)).collect();
        let mut v6: Map<u128, u64> = Map::default();
        for (k, _) in &self.pairs_v6 {
            *v6.entry(*k).or_default() += 1;
        }
        for (k, n) in v6 {
            let key = if k == NO_V6 { Key::EMPTY } else { v6_key(k) };
            *out.entry(key).or_default() += n;
        }
        for (k, _) in &self.pairs_wide {
            *out.entry(*k).or_default() += 1;
        }
        out
    }
}

/// The empty key among the IPv6 pairs' keys: the address ffff...ffff, a
/// multicast address no flow is keyed by.
const NO_V6: u128 = u128::MAX;

/// The address of a key of one IPv6 address.
#[inline]
fn v6_of(parts: &[KVal]) -> Option<u128> {
    match parts {
        [KVal::A(IpAddr::V6(a))] if u128::from(*a) != NO_V6 => Some(u128::from(*a)),
        _ => None,
    }
}

fn v6_key(a: u128) -> Key {
    Key::from_parts(&[KVal::A(IpAddr::V6(a.into()))])
}

/// Inserts into a set unless it is `full` and the value new; false when
/// it could not.
#[inline]
fn insert<K: std::hash::Hash + Eq>(set: &mut Set<K>, k: K, full: bool) -> bool {
    if full && !set.contains(&k) {
        return false;
    }
    set.insert(k);
    true
}

/// A pair's key and value from the key of one more part it was packed as.
fn split_last(k: Key) -> (Key, KVal) {
    let parts = k.parts();
    match parts.split_last() {
        Some((v, rest)) => (Key::from_parts(rest), *v),
        None => (Key::EMPTY, KVal::N(0)),
    }
}

/// Adds to `k`'s entry (created unless `full`); false when it could not.
#[inline]
fn bump<K: std::hash::Hash + Eq>(
    m: &mut Map<K, Sums>,
    k: K,
    full: bool,
    f: impl FnOnce(&mut Sums),
) -> bool {
    match m.entry(k) {
        std::collections::hash_map::Entry::Occupied(mut e) => {
            f(e.get_mut());
            true
        }
        std::collections::hash_map::Entry::Vacant(e) if !full => {
            f(e.insert(Sums::default()));
            true
        }
        std::collections::hash_map::Entry::Vacant(_) => false,
    }
}

/// A key part's value for a flow.
fn part(p: KeyPart, f: &Flow, src: &AddrFormat, dst: &AddrFormat) -> KVal {
    match p {
        KeyPart::SrcAddr => addr(f.src_addr, f.src_mask, src),
        KeyPart::DstAddr => addr(f.dst_addr, f.dst_mask, dst),
        KeyPart::NextHop => KVal::A(f.next_hop),
        KeyPart::Exporter => KVal::A(f.exporter),
        KeyPart::SrcPort => KVal::N(f.src_port.into()),
        KeyPart::DstPort => KVal::N(f.dst_port.into()),
        KeyPart::Protocol => KVal::N(f.protocol.into()),
        KeyPart::Tos => KVal::N(f.tos.into()),
        KeyPart::InIf => KVal::N(f.input_if.into()),
        KeyPart::OutIf => KVal::N(f.output_if.into()),
        KeyPart::SrcAs => KVal::N(f.src_as.into()),
        KeyPart::DstAs => KVal::N(f.dst_as.into()),
        KeyPart::EngineId => KVal::N(f.engine_id.into()),
        KeyPart::EngineType => KVal::N(f.engine_type.into()),
        // Refused as group keys when the rules are read.
        _ => KVal::N(0),
    }
}

/// A key part's value for row `i` of a batch: [`part`] of the row's flow.
#[inline]
fn part_in(p: KeyPart, b: &FlowBatch, i: usize, src: &AddrFormat, dst: &AddrFormat) -> KVal {
    // Masks are decoded only for the formats that use them.
    let mask = |m: &[u8]| m.get(i).copied().unwrap_or(0);
    match p {
        KeyPart::SrcAddr => addr(b.src_addr.get(i), mask(&b.src_mask), src),
        KeyPart::DstAddr => addr(b.dst_addr.get(i), mask(&b.dst_mask), dst),
        KeyPart::NextHop => KVal::A(b.next_hop.get(i)),
        KeyPart::Exporter => KVal::A(b.exporter.get(i)),
        KeyPart::SrcPort => KVal::N(b.src_port[i].into()),
        KeyPart::DstPort => KVal::N(b.dst_port[i].into()),
        KeyPart::Protocol => KVal::N(b.protocol[i].into()),
        KeyPart::Tos => KVal::N(b.tos[i].into()),
        KeyPart::InIf => KVal::N(b.input_if[i].into()),
        KeyPart::OutIf => KVal::N(b.output_if[i].into()),
        KeyPart::SrcAs => KVal::N(b.src_as[i].into()),
        KeyPart::DstAs => KVal::N(b.dst_as[i].into()),
        KeyPart::EngineId => KVal::N(b.engine_id[i].into()),
        KeyPart::EngineType => KVal::N(b.engine_type[i].into()),
        _ => KVal::N(0),
    }
}

/// An address as a format keys it (flow-tools' address, prefix-len and
/// prefix-mask; a fixed length always cuts).
pub fn addr(a: IpAddr, mask: u8, fmt: &AddrFormat) -> KVal {
    if fmt.style == AddrStyle::Address {
        return KVal::A(a);
    }
    let cut = fmt.style == AddrStyle::PrefixMask || fmt.fixed.is_some();
    match a {
        IpAddr::V4(v) => {
            let len = fmt.fixed.map_or(mask, |x| x.0).min(32);
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            let x = if cut { u32::from(v) & m } else { u32::from(v) };
            KVal::P(IpAddr::V4(x.into()), len)
        }
        IpAddr::V6(v) => {
            let len = fmt.fixed.map_or(mask, |x| x.1).min(128);
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            let x = if cut {
                u128::from(v) & m
            } else {
                u128::from(v)
            };
            KVal::P(IpAddr::V6(x.into()), len)
        }
    }
}

/// The parts of the keys a flow counts under, into `out`: one key, or
/// two for `ip-address`/`ip-port` (one when both ends are equal).
/// Returns how many keys, and how many parts each has.
fn keys_of(spec: &KeySpec, f: &Flow, out: &mut [[KVal; MAX_PARTS + 1]; 2]) -> (usize, usize) {
    let (s, d) = (&spec.src_format, &spec.dst_format);
    if spec.both_ends {
        let p = spec.parts[0];
        let a = part(p, f, s, d);
        let b = part(p.other_end(), f, s, d);
        out[0][0] = a;
        if a == b {
            return (1, 1);
        }
        out[1][0] = b;
        return (2, 1);
    }
    let n = spec.parts.len().min(MAX_PARTS);
    for (slot, p) in out[0].iter_mut().zip(&spec.parts[..n]) {
        *slot = part(*p, f, s, d);
    }
    (1, n)
}

/// [`keys_of`] for row `i` of a batch.
#[inline]
fn keys_in(
    spec: &KeySpec,
    b: &FlowBatch,
    i: usize,
    out: &mut [[KVal; MAX_PARTS + 1]; 2],
) -> (usize, usize) {
    let (s, d) = (&spec.src_format, &spec.dst_format);
    if spec.both_ends {
        let p = spec.parts[0];
        let a = part_in(p, b, i, s, d);
        let o = part_in(p.other_end(), b, i, s, d);
        out[0][0] = a;
        if a == o {
            return (1, 1);
        }
        out[1][0] = o;
        return (2, 1);
    }
    let n = spec.parts.len().min(MAX_PARTS);
    for (slot, p) in out[0].iter_mut().zip(&spec.parts[..n]) {
        *slot = part_in(*p, b, i, s, d);
    }
    (1, n)
}

/// [`target`] for row `i` of a batch.
#[inline]
fn target_in(t: Target, b: &FlowBatch, i: usize) -> KVal {
    match t {
        Target::DstHost => KVal::A(b.dst_addr.get(i)),
        Target::DstPort => KVal::N(b.dst_port[i].into()),
        Target::SrcHost => KVal::A(b.src_addr.get(i)),
    }
}

/// A thread's buffers for [`AggSpec::feed_batch`].
#[derive(Default)]
pub struct BatchScratch {
    mask: Vec<u8>,
    rows: Vec<u32>,
    filter: Scratch,
}

/// The distinct value a flow brings.
fn target(t: Target, f: &Flow) -> KVal {
    match t {
        Target::DstHost => KVal::A(f.dst_addr),
        Target::DstPort => KVal::N(f.dst_port.into()),
        Target::SrcHost => KVal::A(f.src_addr),
    }
}

impl AggSpec {
    /// Adds the flows the filter keeps to `t`, at most `max` keys.
    /// A guess at the cost per flow, to share tables out among threads.
    pub fn weight(&self) -> u32 {
        let mut w: u32 = 1;
        if let Some(k) = &self.key {
            w += if k.both_ends { 4 } else { 2 };
        }
        if matches!(self.source, Source::Distinct(_)) {
            w += 3;
        }
        if self.filter.is_some() {
            // Filters keep a part of the flows.
            w = w.div_ceil(2) + 1;
        }
        w
    }

    /// The columns the table reads (its filter's, its key's, its
    /// counters).
    pub fn cols(&self) -> ColSet {
        self.fields()
            .into_iter()
            .filter_map(Col::of_field)
            .fold(ColSet::NONE, ColSet::with)
    }

    /// Adds the rows `rows` of a batch that the filter keeps to `t`, at
    /// most `max` keys: the same as [`AggSpec::feed`] of those rows'
    /// flows, without building them. `stats` are the block's: a filter
    /// they show matches no flow costs nothing more. The batch holds
    /// [`AggSpec::cols`].
    pub fn feed_batch(
        &self,
        b: &FlowBatch,
        rows: &[u32],
        stats: &BatchStats,
        t: &mut Table,
        max: usize,
        sc: &mut BatchScratch,
    ) {
        let rows: &[u32] = match &self.filter {
            None => rows,
            Some(flt) => match flt.on_stats(stats) {
                Verdict::Never => return,
                Verdict::Always => rows,
                Verdict::Maybe => {
                    if flt.select_with(b, &mut sc.mask, &mut sc.filter).is_err() {
                        // Columns missing: the flows, row by row.
                        let flows: Vec<Flow> = rows.iter().map(|&i| b.row(i as usize)).collect();
                        self.feed(&flows, t, max);
                        return;
                    }
                    sc.rows.clear();
                    let mask = &sc.mask;
                    sc.rows
                        .extend(rows.iter().copied().filter(|&i| mask[i as usize] != 0));
                    &sc.rows
                }
            },
        };
        let distinct = match self.source {
            Source::Distinct(x) => Some(x),
            _ => None,
        };
        let sums = !(distinct.is_some() && self.pairs_by_key);
        let mut parts = [[KVal::N(0); MAX_PARTS + 1]; 2];
        for &r in rows {
            let i = r as usize;
            let (packets, octets) = (b.packets[i], b.octets[i]);
            t.total.add_flow(packets, octets);
            let (n, width) = match &self.key {
                Some(spec) => keys_in(spec, b, i, &mut parts),
                None => (1, 0),
            };
            for kp in parts.iter_mut().take(n) {
                if sums {
                    t.add_flow_parts(&kp[..width], max, packets, octets);
                }
                if let Some(x) = distinct {
                    let w = if self.pairs_by_key { width } else { 0 };
                    kp[w] = target_in(x, b, i);
                    t.add_pair_parts(&kp[..=w], max);
                }
            }
        }
    }

    /// Adds the flows the filter keeps to `t`, at most `max` keys, row by
    /// row (the reference for [`AggSpec::feed_batch`]).
    pub fn feed(&self, flows: &[Flow], t: &mut Table, max: usize) {
        let distinct = match self.source {
            Source::Distinct(x) => Some(x),
            _ => None,
        };
        // A distinct count by key needs no sums by key (the counts are
        // what alerts list): one table lookup a flow, not two.
        let sums = !(distinct.is_some() && self.pairs_by_key);
        let mut parts = [[KVal::N(0); MAX_PARTS + 1]; 2];
        for f in flows {
            if let Some(flt) = &self.filter {
                if !flt.matches(f) {
                    continue;
                }
            }
            t.total.add_flow(f.packets, f.octets);
            let (n, width) = match &self.key {
                Some(spec) => keys_of(spec, f, &mut parts),
                None => (1, 0),
            };
            for kp in parts.iter_mut().take(n) {
                if sums {
                    t.add_flow_parts(&kp[..width], max, f.packets, f.octets);
                }
                if let Some(x) = distinct {
                    // Without a group key the pairs are the empty key's.
                    let w = if self.pairs_by_key { width } else { 0 };
                    kp[w] = target(x, f);
                    t.add_pair_parts(&kp[..=w], max);
                }
            }
        }
    }

    /// A file's exporter counters as a table (lost flows).
    pub fn counters(&self, file: &FlowFile) -> Table {
        let mut t = Table::default();
        for (k, c) in file.counters() {
            let key = match &self.key {
                Some(_) => Key::from_parts(&[KVal::A(k.address)]),
                None => Key::EMPTY,
            };
            let s = Sums {
                flows: c.lost_flows,
                ..Sums::default()
            };
            t.total.merge(&s);
            t.add(&key, &s, usize::MAX);
        }
        t
    }
}

/// Counts `file` once into the tables of `specs` (in the same order):
/// lost flows from its counters, everything else from its flows, read
/// through floe-scan on `threads` threads: each thread counts the blocks
/// it reads into tables of its own, added to `tables` at the end. Returns
/// the damaged blocks met (the others are counted).
pub fn feed_file(
    file: &FlowFile,
    specs: &[&AggSpec],
    tables: Vec<&mut Table>,
    max: usize,
    threads: usize,
) -> Result<Vec<StoreError>, StoreError> {
    let mut work: Vec<(&AggSpec, &mut Table)> = Vec::new();
    for (spec, t) in specs.iter().zip(tables) {
        if spec.reads_flows() {
            work.push((spec, t));
        } else {
            t.merge(spec.counters(file), max);
        }
    }
    if work.is_empty() || file.blocks().is_empty() {
        return Ok(Vec::new());
    }
    let cols = work
        .iter()
        .fold(ColSet::NONE, |c, (s, _)| c.union(s.cols()));
    let scan = Scan {
        // Every flow of the file: files are windows' units.
        window: (i64::MIN, i64::MAX),
        // Each rule's filter is its own (evaluated per block below).
        filter: None,
        cols,
        threads: threads.clamp(1, 16),
    };
    let specs: Vec<&AggSpec> = work.iter().map(|(s, _)| *s).collect();
    let damage: Mutex<Vec<StoreError>> = Mutex::new(Vec::new());
    let (states, _) = scan
        .unordered(
            std::slice::from_ref(file),
            || {
                (
                    (0..specs.len())
                        .map(|_| Table::default())
                        .collect::<Vec<_>>(),
                    BatchScratch::default(),
                )
            },
            |(tables, sc): &mut (Vec<Table>, BatchScratch), p: Part| {
                for (spec, t) in specs.iter().zip(tables.iter_mut()) {
                    spec.feed_batch(p.batch, p.rows, p.stats, t, max, sc);
                }
                Ok::<(), std::convert::Infallible>(())
            },
            |e| {
                if let Ok(mut d) = damage.lock() {
                    d.push(e);
                }
            },
        )
        .unwrap_or_else(|e| match e {});
    for (tables, _) in states {
        for ((_, window), t) in work.iter_mut().zip(tables) {
            window.merge(t, max);
        }
    }
    for (_, window) in work.iter_mut() {
        window.settle(max);
    }
    let mut damage = damage.into_inner().unwrap_or_default();
    damage.sort_by_key(|e| e.to_string());
    Ok(damage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(text: &str) -> AggSpec {
        let s = crate::rules::parse(text, Path::new("t.toml"), &floe_store::Zone::Utc).unwrap();
        s.aggs[0].clone()
    }

    fn flow(src: &str, dst: &str, port: u16, octets: u64) -> Flow {
        Flow {
            src_addr: src.parse().unwrap(),
            dst_addr: dst.parse().unwrap(),
            dst_port: port,
            protocol: 6,
            packets: 1,
            octets,
            ..Flow::default()
        }
    }

    #[test]
    fn both_ends_count_once_each() {
        let a = spec("[[rule]]\nname=\"q\"\npreset=\"quota\"\nlimit=1\n");
        let mut t = Table::default();
        a.feed(
            &[
                flow("10.0.0.1", "10.0.0.2", 80, 100),
                flow("10.0.0.1", "10.0.0.1", 80, 7),
            ],
            &mut t,
            100,
        );
        t.settle(100);
        let k = |s: &str| Key::from_parts(&[KVal::A(s.parse().unwrap())]);
        assert_eq!(t.get(&k("10.0.0.1")).unwrap().octets, 107);
        assert_eq!(t.get(&k("10.0.0.2")).unwrap().octets, 100);
        assert_eq!(t.total.octets, 107);
    }

    /// The cache in front of the table changes nothing: the same sums as
    /// counting flow by flow, with many keys fighting for its slots.
    #[test]
    fn the_cache_adds_up_exactly() {
        let a =
            spec("[[rule]]\nname=\"s\"\nmetric=\"octets\"\nby=\"ip-source-address\"\nabove=1\n");
        let mut rng = floe_synth::Rng::seed_from_u64(3);
        let flows: Vec<Flow> = (0..20_000)
            .map(|_| {
                let h = rng.range(0, 3000);
                flow(
                    &format!("10.0.{}.{}", h / 256, h % 256),
                    "192.0.2.1",
                    80,
                    rng.range(1, 1000) as u64,
                )
            })
            .collect();
        let mut want: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        for f in &flows {
            let e = want.entry(f.src_addr.to_string()).or_default();
            e.0 += 1;
            e.1 += f.octets;
        }
        let mut t = Table::default();
        for chunk in flows.chunks(777) {
            a.feed(chunk, &mut t, 1_000_000);
        }
        t.settle(1_000_000);
        let got: std::collections::BTreeMap<String, (u64, u64)> = t
            .sums()
            .map(|(k, s)| (k.to_text(), (s.flows, s.octets)))
            .collect();
        assert_eq!(got, want);
        // Capped: the keys beyond the cap are counted as overflow.
        let mut capped = Table::default();
        a.feed(&flows, &mut capped, 100);
        capped.settle(100);
        assert_eq!(capped.len(), 100);
        assert!(capped.overflow > 0);
    }

    #[test]
    fn every_kind_of_key_comes_back_as_it_went_in() {
        let a = |s: &str| KVal::A(s.parse().unwrap());
        let keys = [
            Key::EMPTY,
            Key::from_parts(&[KVal::N(0)]),
            Key::from_parts(&[KVal::N(u64::from(u32::MAX))]),
            Key::from_parts(&[KVal::N(1 << 40)]),
            Key::from_parts(&[a("10.0.0.1")]),
            Key::from_parts(&[KVal::P("10.0.0.0".parse().unwrap(), 24)]),
            Key::from_parts(&[a("2001:db8::1")]),
            Key::from_parts(&[a("10.0.0.1"), KVal::N(443)]),
            Key::from_parts(&[a("10.0.0.1"), a("10.0.0.2"), KVal::N(6), KVal::N(80)]),
            Key::from_parts(&[a("10.0.0.1"), a("2001:db8::2")]),
        ];
        let mut t = Table::default();
        let one = Sums {
            flows: 1,
            packets: 2,
            octets: 3,
        };
        for (i, k) in keys.iter().enumerate() {
            for _ in 0..=i {
                t.add(k, &one, 100);
            }
            t.add_pair(k, KVal::N(7), 100);
            t.add_pair(k, a("192.0.2.1"), 100);
            t.add_pair(k, KVal::N(7), 100);
            t.add_pair(k, a("2001:db8::99"), 100);
            t.add_pair(k, a("2001:db8::99"), 100);
        }
        assert_eq!(t.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).map(|s| s.flows), Some(i as u64 + 1), "{k:?}");
        }
        let mut back: Vec<Key> = t.sums().map(|(k, _)| k).collect();
        back.sort();
        let mut want = keys.to_vec();
        want.sort();
        assert_eq!(back, want);
        let counts = t.distinct_counts();
        assert_eq!(counts.len(), keys.len());
        assert!(counts.values().all(|n| *n == 3), "{counts:?}");
        let mut pairs: Vec<(Key, KVal)> = t.pairs().collect();
        pairs.sort();
        assert_eq!(pairs.len(), 3 * keys.len());
        assert!(pairs.iter().all(|(k, _)| keys.contains(k)));
    }

    /// The column path counts what the row path counts, for every kind
    /// of table: filters, keys of one end or both, prefixes by mask,
    /// several parts, distinct counts with and without a key.
    #[test]
    fn columns_count_what_rows_count() {
        let mut flows = floe_synth::realistic_flows(
            5000,
            11,
            &floe_synth::Mix {
                ipv6_share: 0.3,
                day_start_ms: 0,
                span_ms: 600_000,
            },
        );
        for (n, f) in flows.iter_mut().enumerate() {
            f.src_mask = (n % 33) as u8;
            f.dst_mask = (n % 25) as u8;
        }
        let rules = [
            "metric=\"octets\"\nabove=1\n",
            "metric=\"flows\"\nfilter=\"proto tcp and dst port 443\"\nby=\"ip-source-address\"\nabove=1\n",
            "preset=\"quota\"\nlimit=1\n",
            "preset=\"syn-scan\"\n",
            "preset=\"udp-amplification\"\n",
            "metric=\"packets\"\nby=\"ip-source-address/ip-destination-port\"\nabove=1\nsrc_format=\"prefix-len\"\n",
            "metric=\"octets\"\nby=\"ip-destination-address\"\nabove=1\ndst_format=\"prefix-mask\"\nfilter=\"not proto udp\"\n",
            "metric=\"sources\"\nabove=1\nfilter=\"dst port 53\"\n",
            "metric=\"destination-hosts\"\nby=\"ip-exporter-address\"\nabove=1\n",
            "metric=\"octets\"\nby=\"input-interface/ip-protocol\"\nabove=1\nfilter=\"src net 10.0.0.0/8 or src as 64500\"\n",
        ];
        let sorted = |t: &Table| {
            let mut s: Vec<(Key, Sums)> = t.sums().collect();
            s.sort_by_key(|a| a.0);
            let mut p: Vec<(Key, KVal)> = t.pairs().collect();
            p.sort();
            (s, p, t.total, t.overflow)
        };
        for r in rules {
            let a = spec(&format!("[[rule]]\nname=\"r\"\n{r}"));
            let mut rows = Table::default();
            a.feed(&flows, &mut rows, 1_000_000);
            rows.settle(1_000_000);
            let mut cols = Table::default();
            let mut sc = BatchScratch::default();
            for chunk in flows.chunks(700) {
                let b = FlowBatch::from_flows(chunk);
                let stats = BatchStats::of_flows(chunk);
                // Every other row: the rows a scan hands over are a part.
                let all: Vec<u32> = (0..chunk.len() as u32).collect();
                let (even, odd): (Vec<u32>, Vec<u32>) = all.iter().partition(|i| *i % 2 == 0);
                a.feed_batch(&b, &even, &stats, &mut cols, 1_000_000, &mut sc);
                a.feed_batch(&b, &odd, &stats, &mut cols, 1_000_000, &mut sc);
            }
            cols.settle(1_000_000);
            assert_eq!(sorted(&cols), sorted(&rows), "{r}");
            // Tables of two threads, merged: the same again.
            let (mut one, mut two) = (Table::default(), Table::default());
            let half = flows.len() / 3;
            a.feed(&flows[..half], &mut one, 1_000_000);
            a.feed(&flows[half..], &mut two, 1_000_000);
            let mut merged = Table::default();
            merged.merge(one, 1_000_000);
            merged.merge(two, 1_000_000);
            assert_eq!(sorted(&merged), sorted(&rows), "{r}");
            assert!(rows.total.flows > 0, "{r}");
        }
    }

    #[test]
    fn distinct_pairs_and_the_cap() {
        let a = spec("[[rule]]\nname=\"s\"\nmetric=\"destination-ports\"\nby=\"ip-source-address\"\nabove=1\nsrc_format=\"prefix-mask/24\"\n");
        let mut t = Table::default();
        let flows: Vec<Flow> = (0..10)
            .map(|p| flow("10.0.0.7", "192.0.2.1", p, 1))
            .chain([flow("10.0.0.9", "192.0.2.1", 3, 1)])
            .collect();
        a.feed(&flows, &mut t, 100);
        t.settle(100);
        let c = t.distinct_counts();
        let net = Key::from_parts(&[KVal::P("10.0.0.0".parse().unwrap(), 24)]);
        assert_eq!(c[&net], 10);
        let mut small = Table::default();
        a.feed(&flows, &mut small, 4);
        small.settle(4);
        assert_eq!(small.pairs_len(), 4);
        assert!(small.overflow > 0);
    }
}
