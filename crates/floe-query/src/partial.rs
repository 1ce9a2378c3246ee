//! A partial answer: what one file's flows add up to per interval and
//! key, for one query shape; how partials are stored in the cache; and
//! how they merge into an [`Answer`].

use floe_report::{Report, Val};

use crate::answer::{Answer, Counts, Series};
use crate::error::QueryError;
use crate::query::Query;

/// Per (interval start in seconds, key) the counts of one file's flows.
/// The keys are laid end to end in one vector (`parts` values a row):
/// a file holds tens of thousands of rows, and a vector per key cost more
/// than the rest of the merge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial {
    /// Values per key.
    parts: usize,
    /// The keys, row after row.
    keys: Vec<Val>,
    /// Per row: the interval's start (seconds) and the counts.
    rows: Vec<(u64, Counts)>,
    /// Per row: its key's hash ([`key_hash`]), computed where the partial
    /// is made (on the thread that read its file) so that the merge
    /// hashes nothing.
    hashes: Vec<u64>,
}

impl Partial {
    /// The rows of a time-series report (its first key part is the
    /// interval), in no order.
    pub fn from_report(r: &Report) -> Partial {
        let mut p = Partial {
            parts: r.kind.parts.len().saturating_sub(1),
            ..Partial::default()
        };
        r.each_row(|key, counters| {
            let Some((Val::T(secs), rest)) = key.split_first() else {
                return;
            };
            if rest.len() != p.parts {
                return;
            }
            p.keys.extend_from_slice(rest);
            p.hashes.push(key_hash(rest));
            p.rows.push((
                *secs,
                Counts {
                    flows: counters.flows,
                    packets: counters.packets,
                    octets: counters.octets,
                },
            ));
        });
        p
    }

    /// A partial of `rows` (interval start in seconds, key, counts); every
    /// key has `parts` values (rows with another number are left out).
    pub fn from_rows(
        parts: usize,
        rows: impl IntoIterator<Item = (u64, Vec<Val>, Counts)>,
    ) -> Partial {
        let mut p = Partial {
            parts,
            ..Partial::default()
        };
        for (secs, key, c) in rows {
            if key.len() == parts {
                p.hashes.push(key_hash(&key));
                p.keys.extend(key);
                p.rows.push((secs, c));
            }
        }
        p
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the partial holds no row (no flow of the file counted).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`: interval start (seconds), key, counts.
    pub fn row(&self, i: usize) -> (u64, &[Val], &Counts) {
        let (secs, c) = &self.rows[i];
        (*secs, self.key(i), c)
    }

    fn key(&self, i: usize) -> &[Val] {
        &self.keys[i * self.parts..(i + 1) * self.parts]
    }

    /// The bytes the cache keeps (zstd-compressed by the caller): the
    /// rows and the parts of a key, then per row the change of its
    /// interval from the row before (zigzag), its key's values and its
    /// counts, numbers as LEB128 varints (a fraction of fixed widths'
    /// bytes, which the compressor then went through at length).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.rows.len() as u64).to_le_bytes());
        out.push(self.parts as u8);
        let mut prev = 0u64;
        for i in 0..self.len() {
            let (secs, key, c) = self.row(i);
            let d = secs.wrapping_sub(prev) as i64;
            prev = secs;
            varint(((d << 1) ^ (d >> 63)) as u64, out);
            for v in key {
                encode_val(v, out);
            }
            for x in [c.flows, c.packets, c.octets] {
                varint(x, out);
            }
        }
    }

    /// Reads what [`Partial::encode`] wrote; `None` for anything else
    /// (a damaged entry is a cache miss, never trusted).
    pub fn decode(b: &[u8]) -> Option<Partial> {
        let mut c = Cursor { b, at: 0 };
        let n = c.u64()? as usize;
        // Each row takes at least 4 bytes: no count beyond what is here.
        if n > b.len() / 4 + 1 {
            return None;
        }
        let parts = usize::from(c.u8()?);
        if parts > floe_report::MAX_PARTS {
            return None;
        }
        let mut p = Partial {
            parts,
            keys: Vec::with_capacity(n * parts),
            rows: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        };
        let mut prev = 0u64;
        for _ in 0..n {
            let z = c.varint()?;
            let d = (z >> 1) as i64 ^ -((z & 1) as i64);
            let secs = prev.wrapping_add(d as u64);
            prev = secs;
            for _ in 0..parts {
                p.keys.push(decode_val(&mut c)?);
            }
            p.hashes.push(key_hash(&p.keys[p.keys.len() - parts..]));
            let counts = Counts {
                flows: c.varint()?,
                packets: c.varint()?,
                octets: c.varint()?,
            };
            p.rows.push((secs, counts));
        }
        (c.at == b.len()).then_some(p)
    }
}

/// `x` as LEB128: seven bits a byte, low first, the top bit set on all
/// but the last.
fn varint(mut x: u64, out: &mut Vec<u8>) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    /// A LEB128 number of at most 64 bits (longer or wider: `None`).
    fn varint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return None;
            }
            x |= bits << shift;
            if b & 0x80 == 0 {
                return Some(x);
            }
        }
        None
    }
    fn u128(&mut self) -> Option<u128> {
        self.take(16)
            .map(|b| u128::from_le_bytes(b.try_into().unwrap_or([0; 16])))
    }
}

fn encode_val(v: &Val, out: &mut Vec<u8>) {
    match *v {
        Val::N(n) => {
            out.push(0);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Val::V4(a) => {
            out.push(1);
            out.extend_from_slice(&a.to_le_bytes());
        }
        Val::V6(a) => {
            out.push(2);
            out.extend_from_slice(&a.to_le_bytes());
        }
        Val::P4 { addr, len } => {
            out.push(3);
            out.extend_from_slice(&addr.to_le_bytes());
            out.push(len);
        }
        Val::P6 { addr, len } => {
            out.push(4);
            out.extend_from_slice(&addr.to_le_bytes());
            out.push(len);
        }
        Val::T(t) => {
            out.push(5);
            out.extend_from_slice(&t.to_le_bytes());
        }
    }
}

fn decode_val(c: &mut Cursor) -> Option<Val> {
    Some(match c.u8()? {
        0 => Val::N(c.u64()?),
        1 => Val::V4(u32::from_le_bytes(c.take(4)?.try_into().ok()?)),
        2 => Val::V6(c.u128()?),
        3 => Val::P4 {
            addr: u32::from_le_bytes(c.take(4)?.try_into().ok()?),
            len: c.u8()?,
        },
        4 => Val::P6 {
            addr: c.u128()?,
            len: c.u8()?,
        },
        5 => Val::T(c.u64()?),
        _ => return None,
    })
}

/// A key as people read it (`TCP`, `443 (https)`), when one of its parts
/// has a name: from the symbol tables floe ships, as reports show keys.
fn names(parts: &[floe_report::KeyPart], key: &[Val]) -> Option<String> {
    use floe_report::names::{label, Label};
    static SYMBOLS: std::sync::OnceLock<floe_report::sym::Symbols> = std::sync::OnceLock::new();
    let symbols = SYMBOLS.get_or_init(floe_report::sym::Symbols::builtin);
    let proto = parts
        .iter()
        .position(|p| *p == floe_report::KeyPart::Protocol)
        .and_then(|i| match key.get(i) {
            Some(Val::N(n)) => u8::try_from(*n).ok(),
            _ => None,
        });
    let labels: Vec<Label> = parts
        .iter()
        .zip(key)
        .map(|(p, v)| label(*p, v, proto, Some(symbols), &floe_report::words::Utc))
        .collect();
    let named = labels
        .iter()
        .any(|l| l.name.is_some() || l.value != l.text());
    named.then(|| labels.iter().map(Label::text).collect::<Vec<_>>().join(" "))
}

/// A key's hash: the same for equal keys in every partial, stable across
/// runs (the merge shards keys by it; a collision costs a comparison,
/// never a wrong answer).
pub(crate) fn key_hash(key: &[Val]) -> u64 {
    let fold = |a: u64, b: u64| {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    };
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for v in key {
        let (tag, x, len) = match *v {
            Val::N(n) => (0u64, u128::from(n), 0u8),
            Val::V4(a) => (1, u128::from(a), 0),
            Val::V6(a) => (2, a, 0),
            Val::P4 { addr, len } => (3, u128::from(addr), len),
            Val::P6 { addr, len } => (4, addr, len),
            Val::T(t) => (5, u128::from(t), 0),
        };
        h = fold(h ^ x as u64, 0x9E37_79B9_7F4A_7C15);
        h = fold(
            h ^ (x >> 64) as u64 ^ (tag << 8 | u64::from(len)) << 48,
            0xBF58_476D_1CE4_E5B9,
        );
    }
    h
}

/// Distinct keys, each given an id in the order they came: open
/// addressing over borrowed keys, with the hash's high half beside the id
/// in each slot so that a probe compares keys only when hashes match.
struct KeyIds<'a> {
    /// 0 empty; else the hash's high 32 bits and the id + 1.
    slots: Vec<u64>,
    keys: Vec<&'a [Val]>,
    hashes: Vec<u64>,
}

impl<'a> KeyIds<'a> {
    fn new() -> KeyIds<'a> {
        KeyIds {
            slots: vec![0; 16],
            keys: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// The slot of `key` (hash `h`): where it is, or the empty slot where
    /// it goes.
    #[inline(always)]
    fn probe(&self, h: u64, key: &[Val]) -> usize {
        let mask = self.slots.len() - 1;
        let high = h & !0xFFFF_FFFF;
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 || (s & !0xFFFF_FFFF == high && self.keys[(s as u32 - 1) as usize] == key) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn get(&self, h: u64, key: &[Val]) -> Option<usize> {
        match self.slots[self.probe(h, key)] {
            0 => None,
            s => Some((s as u32 - 1) as usize),
        }
    }

    /// The id of `key`, a new one if it is new.
    #[inline(always)]
    fn id(&mut self, h: u64, key: &'a [Val]) -> usize {
        let i = self.probe(h, key);
        match self.slots[i] {
            0 => {
                let id = self.keys.len();
                self.slots[i] = (h & !0xFFFF_FFFF) | (id as u64 + 1);
                self.keys.push(key);
                self.hashes.push(h);
                if self.keys.len() * 2 > self.slots.len() {
                    self.grow();
                }
                id
            }
            s => (s as u32 - 1) as usize,
        }
    }

    fn grow(&mut self) {
        self.slots = vec![0; self.slots.len() * 2];
        let mask = self.slots.len() - 1;
        for (id, h) in self.hashes.iter().enumerate() {
            let mut i = *h as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (h & !0xFFFF_FFFF) | (id as u64 + 1);
        }
    }
}

/// Of `shards`, the one that keeps keys of hash `h` (by its high bits;
/// [`KeyIds`] places by the low ones).
fn shard_of(h: u64, shards: usize) -> usize {
    (((h >> 32) * shards as u64) >> 32) as usize
}

/// The answer to `q` from the partial answers of its files (or of a
/// backend's rows): the top series, other and the total per interval,
/// with their statistics; `columns` names the key's parts. On one thread
/// per core (at most 8).
pub fn merge(q: &Query, columns: Vec<String>, partials: &[Partial]) -> Result<Answer, QueryError> {
    let rows: usize = partials.iter().map(Partial::len).sum();
    // Threads only for work worth starting them.
    let threads = if rows < 50_000 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    merge_on(q, columns, partials, threads)
}

/// [`merge`] on `threads` threads: intervals outside the range dropped,
/// keys ranked by the measure's total, the first `top` (or the keys
/// `only` names) as series, the rest as "other". The keys are shared out
/// among the threads by hash, each thread reading every row and keeping
/// its own keys: first the totals per key (to rank them), then the
/// chosen series' values interval by interval. No key is copied and
/// nothing is held per key but its total.
pub(crate) fn merge_on(
    q: &Query,
    columns: Vec<String>,
    partials: &[Partial],
    threads: usize,
) -> Result<Answer, QueryError> {
    let starts = q.starts();
    let n = starts.len();
    let first = q.from_ms.div_euclid(q.interval_ms);
    let slot = |secs: u64| -> Option<usize> {
        let ms = i64::try_from(secs).ok()?.checked_mul(1000)?;
        let i = ms.div_euclid(q.interval_ms) - first;
        (0..n as i64).contains(&i).then_some(i as usize)
    };
    let m = q.measure;
    let shards = threads.max(1);
    // The rows of shard `t`, in range: (interval, key, hash, counts).
    let rows_of = move |t: usize| {
        partials.iter().flat_map(move |p| {
            p.hashes
                .iter()
                .enumerate()
                .filter(move |(_, h)| shards == 1 || shard_of(**h, shards) == t)
                .filter_map(move |(r, h)| {
                    let (secs, c) = &p.rows[r];
                    Some((slot(*secs)?, p.key(r), *h, c))
                })
        })
    };
    let label = |k: &[Val]| k.iter().map(Val::to_string).collect::<Vec<_>>();
    // Largest first; ties by key, so answers are deterministic.
    let order = |x: &(&[Val], Counts), y: &(&[Val], Counts)| {
        y.1.get(m).cmp(&x.1.get(m)).then_with(|| x.0.cmp(y.0))
    };
    let top = |v: &mut Vec<(&[Val], Counts)>| {
        let keep = if q.top == 0 {
            v.len()
        } else {
            q.top.min(v.len())
        };
        if keep > 0 && keep < v.len() {
            v.select_nth_unstable_by(keep - 1, order);
        }
        v.truncate(keep);
    };
    let width = partials
        .iter()
        .find(|p| !p.is_empty())
        .map_or(0, |p| p.parts);
    if partials.iter().any(|p| !p.is_empty() && p.parts != width) {
        return Err(QueryError::Invalid(
            "partial answers of keys of different widths".into(),
        ));
    }
    // Pass one, per shard: the totals per key and per interval; the
    // shard's candidates (its own top).
    let pass_one = |t: usize| {
        let (flat, sums, total) = match width {
            0 => key_totals::<0>(partials, t, shards, &slot, n),
            1 => key_totals::<1>(partials, t, shards, &slot, n),
            2 => key_totals::<2>(partials, t, shards, &slot, n),
            3 => key_totals::<3>(partials, t, shards, &slot, n),
            _ => key_totals::<4>(partials, t, shards, &slot, n),
        };
        (flat, sums, total)
    };
    let per_shard = on_shards(shards, pass_one);
    let mut total = vec![Counts::default(); n];
    let mut ranked: Vec<(&[Val], Counts)> = Vec::new();
    for (flat, sums, t) in &per_shard {
        for (a, b) in total.iter_mut().zip(t) {
            a.add(b);
        }
        let mut keys: Vec<(&[Val], Counts)> = sums
            .iter()
            .enumerate()
            .map(|(i, c)| (&flat[i * width..(i + 1) * width], *c))
            .filter(|(k, _)| q.only.is_empty() || q.only.contains(&label(k).join(" ")))
            .collect();
        top(&mut keys);
        ranked.extend(keys);
    }
    top(&mut ranked);
    ranked.sort_unstable_by(order);
    let series: Vec<Series> = if q.values {
        // Pass two, per shard: the values of the shard's series.
        let pass_two = |t: usize| {
            let mut ids = KeyIds::new();
            let mut which = Vec::new();
            for (s, (k, _)) in ranked.iter().enumerate() {
                let h = key_hash(k);
                if shards == 1 || shard_of(h, shards) == t {
                    ids.id(h, k);
                    which.push(s);
                }
            }
            let mut values = vec![vec![Counts::default(); n]; which.len()];
            if !which.is_empty() {
                for (i, key, h, c) in rows_of(t) {
                    if let Some(id) = ids.get(h, key) {
                        values[id][i].add(c);
                    }
                }
            }
            which.into_iter().zip(values).collect::<Vec<_>>()
        };
        let mut values = vec![Vec::new(); ranked.len()];
        for (s, v) in on_shards(shards, pass_two).into_iter().flatten() {
            values[s] = v;
        }
        ranked
            .iter()
            .zip(values)
            .map(|((k, _), v)| {
                let parts = label(k);
                Series::new(parts.join(" "), parts, v, m)
            })
            .collect()
    } else {
        ranked
            .iter()
            .map(|(k, sum)| {
                let parts = label(k);
                Series::totals_only(parts.join(" "), parts, *sum, m)
            })
            .collect()
    };
    let mut series = series;
    if let Ok(c) = q.compile() {
        let parts = c.kind.parts.get(1..).unwrap_or_default();
        for (s, (k, _)) in series.iter_mut().zip(&ranked) {
            s.name = names(parts, k);
        }
    }
    Ok(answer(q, m, starts, columns, series, total))
}

/// The answer of the ranked `series` among `total` (per interval, or as
/// totals only): the rest of the total folded into "other".
fn answer(
    q: &Query,
    m: crate::Measure,
    starts: Vec<i64>,
    columns: Vec<String>,
    series: Vec<Series>,
    total: Vec<Counts>,
) -> Answer {
    let total = Series::new("total".into(), Vec::new(), total, m);
    let mut shown = Counts::default();
    for s in &series {
        shown.add(&s.totals);
    }
    let rest = total.totals.get(m) > shown.get(m) || total.totals.flows > shown.flows;
    let other = rest.then(|| {
        if q.values {
            total.minus("other", &series.iter().collect::<Vec<_>>(), m)
        } else {
            Series::totals_only("other".into(), Vec::new(), total.totals.minus(&shown), m)
        }
    });
    Answer {
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        interval_ms: q.interval_ms,
        measure: m,
        starts,
        columns,
        series,
        other,
        total,
        stats: Default::default(),
    }
}

/// A slot of [`key_totals`]'s table: a key inline (so that a probe reads
/// one cache line, not the partial the key came from) and its total.
#[derive(Clone, Copy)]
struct Slot<const W: usize> {
    /// 0: empty; else the key's hash with its lowest bit set.
    mark: u64,
    sum: Counts,
    key: [Val; W],
}

/// Keys ahead whose slots are fetched: the table outgrows the caches, and
/// the misses overlap instead of following one another.
const AHEAD: usize = 8;

/// Pass one of the merge for the keys of shard `t` (of `shards`), keys
/// of `W` parts: the keys laid end to end, their totals, and the totals
/// per interval of the shard's rows in range.
fn key_totals<const W: usize>(
    partials: &[Partial],
    t: usize,
    shards: usize,
    slot: &impl Fn(u64) -> Option<usize>,
    n: usize,
) -> (Vec<Val>, Vec<Counts>, Vec<Counts>) {
    let vacant = Slot {
        mark: 0,
        sum: Counts::default(),
        key: [Val::N(0); W],
    };
    let mut slots = vec![vacant; 16];
    let mut len = 0usize;
    let mut total = vec![Counts::default(); n];
    let mine = |h: u64| shards == 1 || shard_of(h, shards) == t;
    for p in partials {
        let hashes = &p.hashes;
        for (r, &h) in hashes.iter().enumerate() {
            if let Some(&a) = hashes.get(r + AHEAD) {
                if mine(a) {
                    floe_report::prefetch(&slots[(a | 1) as usize & (slots.len() - 1)]);
                }
            }
            if !mine(h) {
                continue;
            }
            let (secs, c) = &p.rows[r];
            let Some(i) = slot(*secs) else { continue };
            total[i].add(c);
            let key = p.key(r);
            let mark = h | 1;
            let mask = slots.len() - 1;
            let mut at = mark as usize & mask;
            loop {
                let s = &mut slots[at];
                if s.mark == mark && s.key[..] == *key {
                    s.sum.add(c);
                    break;
                }
                if s.mark == 0 {
                    s.mark = mark;
                    s.key.copy_from_slice(key);
                    s.sum.add(c);
                    len += 1;
                    if len * 10 > slots.len() * 7 {
                        let grown = vec![vacant; slots.len() * 2];
                        let old = std::mem::replace(&mut slots, grown);
                        let mask = slots.len() - 1;
                        for s in old.into_iter().filter(|s| s.mark != 0) {
                            let mut at = s.mark as usize & mask;
                            while slots[at].mark != 0 {
                                at = (at + 1) & mask;
                            }
                            slots[at] = s;
                        }
                    }
                    break;
                }
                at = (at + 1) & mask;
            }
        }
    }
    let mut flat = Vec::with_capacity(len * W);
    let mut sums = Vec::with_capacity(len);
    for s in slots.iter().filter(|s| s.mark != 0) {
        flat.extend_from_slice(&s.key);
        sums.push(s.sum);
    }
    (flat, sums, total)
}

/// `work(t)` for every shard `t`, each on its own thread (on the
/// caller's when there is one).
fn on_shards<T: Send>(shards: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if shards <= 1 {
        return vec![work(0)];
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..shards)
            .map(|t| {
                s.spawn({
                    let work = &work;
                    move || work(t)
                })
            })
            .collect();
        let mut out = vec![work(0)];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("a merge thread panicked")),
        );
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Measure;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The merge as it was first written (one thread, a HashMap over the
    /// keys): what the merge must answer.
    fn reference_merge(
        q: &Query,
        columns: Vec<String>,
        partials: &[Partial],
    ) -> Result<Answer, QueryError> {
        let starts = q.starts();
        let n = starts.len();
        let first = q.from_ms.div_euclid(q.interval_ms);
        let slot = |secs: u64| -> Option<usize> {
            let ms = i64::try_from(secs).ok()?.checked_mul(1000)?;
            let i = ms.div_euclid(q.interval_ms) - first;
            (0..n as i64).contains(&i).then_some(i as usize)
        };
        let m = q.measure;
        let rows = || {
            partials
                .iter()
                .flat_map(|p| (0..p.len()).map(move |i| p.row(i)))
                .filter_map(|(secs, key, c)| Some((slot(secs)?, key, c)))
        };
        // Pass one: each distinct key gets an id and its total; each row
        // remembers its key's id, so that pass two hashes nothing.
        let mut ids: HashMap<&[Val], (u32, Counts), foldhash::fast::RandomState> =
            HashMap::default();
        let mut row_ids: Vec<u32> = Vec::with_capacity(partials.iter().map(Partial::len).sum());
        let mut total = vec![Counts::default(); n];
        for (i, key, c) in rows() {
            total[i].add(c);
            let next = ids.len() as u32;
            let e = ids.entry(key).or_insert((next, Counts::default()));
            e.1.add(c);
            row_ids.push(e.0);
        }
        let mut keys: Vec<(&[Val], Counts)> = vec![(&[], Counts::default()); ids.len()];
        for (k, (id, c)) in ids {
            keys[id as usize] = (k, c);
        }
        let label = |k: &[Val]| k.iter().map(Val::to_string).collect::<Vec<_>>();
        let mut ranked: Vec<u32> = (0..keys.len() as u32)
            .filter(|&id| {
                q.only.is_empty() || q.only.contains(&label(keys[id as usize].0).join(" "))
            })
            .collect();
        // Largest first; ties by key, so answers are deterministic.
        let order = |a: &u32, b: &u32| {
            let (x, y) = (&keys[*a as usize], &keys[*b as usize]);
            y.1.get(m).cmp(&x.1.get(m)).then_with(|| x.0.cmp(y.0))
        };
        let keep = if q.top == 0 {
            ranked.len()
        } else {
            q.top.min(ranked.len())
        };
        if keep > 0 && keep < ranked.len() {
            ranked.select_nth_unstable_by(keep - 1, order);
        }
        ranked.truncate(keep);
        ranked.sort_unstable_by(order);
        let ids_by_label: HashMap<String, u32> = ranked
            .iter()
            .map(|id| (label(keys[*id as usize].0).join(" "), *id))
            .collect();
        let series: Vec<Series> = if q.values {
            const NONE: u32 = u32::MAX;
            let mut series_of = vec![NONE; keys.len()];
            for (s, id) in ranked.iter().enumerate() {
                series_of[*id as usize] = s as u32;
            }
            let mut values = vec![vec![Counts::default(); n]; ranked.len()];
            for ((i, _, c), id) in rows().zip(&row_ids) {
                let s = series_of[*id as usize];
                if s != NONE {
                    values[s as usize][i].add(c);
                }
            }
            ranked
                .iter()
                .zip(values)
                .map(|(id, v)| {
                    let parts = label(keys[*id as usize].0);
                    Series::new(parts.join(" "), parts, v, m)
                })
                .collect()
        } else {
            ranked
                .iter()
                .map(|id| {
                    let (k, sum) = &keys[*id as usize];
                    let parts = label(k);
                    Series::totals_only(parts.join(" "), parts, *sum, m)
                })
                .collect()
        };
        let mut series = series;
        if let Ok(c) = q.compile() {
            let parts = c.kind.parts.get(1..).unwrap_or_default();
            for s in &mut series {
                if let Some(id) = ids_by_label.get(s.label.as_str()) {
                    s.name = names(parts, keys[*id as usize].0);
                }
            }
        }
        Ok(answer(q, m, starts, columns, series, total))
    }

    fn val() -> impl Strategy<Value = Val> {
        prop_oneof![
            any::<u64>().prop_map(Val::N),
            any::<u32>().prop_map(Val::V4),
            any::<u128>().prop_map(Val::V6),
            (any::<u32>(), 0u8..=32).prop_map(|(addr, len)| Val::P4 { addr, len }),
            (any::<u128>(), 0u8..=128).prop_map(|(addr, len)| Val::P6 { addr, len }),
        ]
    }

    /// Keys from a small pool (so that partials share them), as one or
    /// two parts; counts small enough to tie.
    fn partials() -> impl Strategy<Value = (usize, Vec<Partial>)> {
        let key = |parts: usize| {
            prop::collection::vec(
                prop_oneof![
                    (0u32..12).prop_map(|a| Val::V4(0x0a00_0000 + a)),
                    (0u128..6).prop_map(|a| Val::V6((0x2001_0db8u128 << 96) + a)),
                ],
                parts,
            )
        };
        (1usize..=2).prop_flat_map(move |parts| {
            let row = (0u64..8, key(parts), (0u64..4, 0u64..6, 0u64..9));
            (
                Just(parts),
                prop::collection::vec(prop::collection::vec(row, 0..40), 0..6).prop_map(
                    move |ps| {
                        ps.into_iter()
                            .map(|rows| {
                                Partial::from_rows(
                                    parts,
                                    rows.into_iter().map(|(i, k, (f, pk, o))| {
                                        (
                                            1_795_305_600 + i * 300,
                                            k,
                                            Counts {
                                                flows: f,
                                                packets: pk,
                                                octets: o,
                                            },
                                        )
                                    }),
                                )
                            })
                            .collect()
                    },
                ),
            )
        })
    }

    proptest! {
        #[test]
        fn partials_round_trip_and_garbage_is_refused(
            rows in prop::collection::vec((any::<u64>(), prop::collection::vec(val(), 1..4), any::<(u64, u64, u64)>()), 0..50),
            cut in any::<usize>(),
        ) {
            let parts = rows.first().map_or(0, |r| r.1.len());
            let p = Partial::from_rows(
                parts,
                rows.into_iter()
                    .map(|(s, k, (f, pk, o))| (s, k, Counts { flows: f, packets: pk, octets: o })),
            );
            let mut b = Vec::new();
            p.encode(&mut b);
            prop_assert_eq!(Partial::decode(&b), Some(p));
            if !b.is_empty() {
                let c = cut % b.len();
                prop_assert!(Partial::decode(&b[..c]).is_none() || c == b.len());
            }
        }
    }

    proptest! {
        #[test]
        fn the_merge_answers_as_the_reference(
            (parts, ps) in partials(),
            threads in 1usize..4,
            top in 0usize..5,
            measure in prop_oneof![Just(Measure::Octets), Just(Measure::Packets), Just(Measure::Flows)],
            edges in (0i64..3, 5i64..9),
            values in any::<bool>(),
            only in prop::collection::vec(0u32..12, 0..3),
        ) {
            let day = 1_795_305_600_000i64;
            let q = Query {
                from_ms: day + edges.0 * 300_000,
                to_ms: day + edges.1 * 300_000,
                interval_ms: 300_000,
                key: if parts == 1 {
                    "ip-source-address".into()
                } else {
                    "ip-source-address/ip-destination-address".into()
                },
                src_format: None,
                dst_format: None,
                filter: None,
                exporters: Vec::new(),
                measure,
                top,
                only: if parts == 1 {
                    only.iter().map(|a| Val::V4(0x0a00_0000 + a).to_string()).collect()
                } else {
                    Vec::new()
                },
                values,
            };
            let cols = vec!["a".to_string(); parts];
            let want = reference_merge(&q, cols.clone(), &ps).unwrap();
            let got = merge_on(&q, cols.clone(), &ps, threads).unwrap();
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(&merge(&q, cols, &ps).unwrap(), &want);
        }
    }
}
