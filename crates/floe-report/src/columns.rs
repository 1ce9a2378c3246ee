//! Aggregation on columns: a report fed a [`FlowBatch`] and the rows of it
//! that count (a filter's selection), with no [`floe_flow::Flow`] built
//! per row.
//!
//! One pass per column: the scaled octets and packets and the durations
//! of the selected rows, then the key, part by part, packed into 32-bit
//! lanes of a `u128` straight from the columns (an IPv4 address is its
//! `u32`, a port its `u16`...), with a flag for the rows whose key does not
//! pack (an IPv6 part, a number over 32 bits): those, and the reports
//! whose keys never pack (address prefixes, time series, both ends), take
//! the general path, which computes each part's [`Val`] from the columns
//! as the row path computes it from a flow. Totals are summed per batch.
//! The tables are the row path's (packed keys, 64 shards), and
//! [`Report::add`] stays the oracle the tests compare with.

// Rows are indexed in step across several column vectors.
#![allow(clippy::needless_range_loop)]

use floe_flow::{Col, ColSet, FlowBatch};

use crate::counters::{Sample, Scale};
use crate::error::ReportError;
use crate::key::{compact_key, Duo, Key, Single, Val, MAX_PARTS};
use crate::kind::KeyPart;
use crate::report::{pieces, pieces_into, AddrStyle, Report};

/// Per-batch buffers of a report (kept between batches).
#[derive(Default)]
pub(crate) struct BatchScratch {
    octets: Vec<u64>,
    packets: Vec<u64>,
    duration: Vec<u64>,
    keys: Vec<u128>,
    fits: Vec<u8>,
    singles: Vec<Single>,
    wide: WideKeys,
    cut: Vec<(u64, Sample)>,
    cut_keys: Vec<u128>,
    cut_samples: Vec<Sample>,
    /// The positions of the rows a table is given, and their keys.
    at: Vec<u32>,
    packed: Vec<u128>,
}

/// A batch's keys of several parts that do not pack into 32-bit lanes,
/// each in the smaller form that holds it, with their samples.
#[derive(Default)]
struct WideKeys {
    duos: Vec<Duo>,
    duo_samples: Vec<Sample>,
    wide: Vec<Key>,
    wide_samples: Vec<Sample>,
}

impl WideKeys {
    fn clear(&mut self) {
        self.duos.clear();
        self.duo_samples.clear();
        self.wide.clear();
        self.wide_samples.clear();
    }

    fn push(&mut self, key: Key, s: Sample) {
        match Duo::of(&key) {
            Some(d) => {
                self.duos.push(d);
                self.duo_samples.push(s);
            }
            None => {
                self.wide.push(key);
                self.wide_samples.push(s);
            }
        }
    }
}

impl KeyPart {
    /// The column a part's value comes from, when it is one column.
    fn col(&self) -> Option<Col> {
        Some(match self {
            KeyPart::SrcAddr => Col::SrcAddr,
            KeyPart::DstAddr => Col::DstAddr,
            KeyPart::NextHop => Col::NextHop,
            KeyPart::Exporter => Col::Exporter,
            KeyPart::SrcPort => Col::SrcPort,
            KeyPart::DstPort => Col::DstPort,
            KeyPart::Protocol => Col::Protocol,
            KeyPart::Tos => Col::Tos,
            KeyPart::InIf => Col::InputIf,
            KeyPart::OutIf => Col::OutputIf,
            KeyPart::SrcAs => Col::SrcAs,
            KeyPart::DstAs => Col::DstAs,
            KeyPart::EngineId => Col::EngineId,
            KeyPart::EngineType => Col::EngineType,
            _ => return None,
        })
    }

    /// The part's value for row `i` of a batch (before any prefix
    /// format), as [`KeyPart::value`] gives it for the row's flow.
    fn value_in(&self, b: &FlowBatch, i: usize, s: &Sample) -> Val {
        let per_second = |n: u64| {
            if s.duration_ms == 0 {
                0
            } else {
                (u128::from(n) * 1000 / u128::from(s.duration_ms)) as u64
            }
        };
        let ip = |c: &floe_flow::AddrColumn| {
            if c.family[i] == 0 {
                Val::V4(c.v4[i])
            } else {
                Val::V6(c.v6[i])
            }
        };
        match self {
            KeyPart::SrcAddr => ip(&b.src_addr),
            KeyPart::DstAddr => ip(&b.dst_addr),
            KeyPart::NextHop => ip(&b.next_hop),
            KeyPart::Exporter => ip(&b.exporter),
            KeyPart::SrcPort => Val::N(b.src_port[i].into()),
            KeyPart::DstPort => Val::N(b.dst_port[i].into()),
            KeyPart::Protocol => Val::N(b.protocol[i].into()),
            KeyPart::Tos => Val::N(b.tos[i].into()),
            KeyPart::InIf => Val::N(b.input_if[i].into()),
            KeyPart::OutIf => Val::N(b.output_if[i].into()),
            KeyPart::SrcAs => Val::N(b.src_as[i].into()),
            KeyPart::DstAs => Val::N(b.dst_as[i].into()),
            KeyPart::EngineId => Val::N(b.engine_id[i].into()),
            KeyPart::EngineType => Val::N(b.engine_type[i].into()),
            KeyPart::PacketSize => Val::N(s.octets / s.packets.max(1)),
            KeyPart::Octets => Val::N(s.octets),
            KeyPart::Packets => Val::N(s.packets),
            KeyPart::Bps => Val::N(per_second(s.octets.saturating_mul(8))),
            KeyPart::Pps => Val::N(per_second(s.packets)),
            KeyPart::Duration => Val::N(s.duration_ms),
            KeyPart::Interval => Val::T(b.start_ms[i].div_euclid(1000).max(0) as u64),
        }
    }
}

impl Report {
    /// The columns the report reads (its [`Report::fields`]).
    pub fn cols(&self) -> ColSet {
        self.fields()
            .into_iter()
            .filter_map(Col::of_field)
            .fold(ColSet::NONE, |s, c| s.with(c))
    }

    /// Adds the rows `rows` of a batch (indices into it, in any order; a
    /// filter's selection, or every row). The same as [`Report::add`] of
    /// those rows' flows, without building them. The batch must hold the
    /// report's columns ([`Report::cols`]). A report told its rows
    /// ([`Report::expect_rows`]) counts the whole batch as seen: give it
    /// each batch once.
    pub fn add_batch(&mut self, b: &FlowBatch, rows: &[u32]) -> Result<(), ReportError> {
        b.require(self.cols())
            .map_err(|e| ReportError::MissingColumn(e.to_string()))?;
        let mut sc = std::mem::take(&mut self.scratch);
        let r = self.add_batch_with(b, rows, &mut sc);
        self.scratch = sc;
        r
    }

    fn add_batch_with(
        &mut self,
        b: &FlowBatch,
        rows: &[u32],
        sc: &mut BatchScratch,
    ) -> Result<(), ReportError> {
        let m = rows.len();
        // Rows before any filter: a filter's share is taken to stay the
        // same, as the tables' shares are.
        self.look_ahead();
        self.rows_seen += b.len() as u64;
        // Scaled counters and durations of the selected rows.
        sc.octets.clear();
        sc.packets.clear();
        sc.duration.clear();
        match self.options.scale {
            Scale::None => {
                sc.octets.extend(rows.iter().map(|&i| b.octets[i as usize]));
                sc.packets
                    .extend(rows.iter().map(|&i| b.packets[i as usize]));
            }
            Scale::Factor(f) => {
                sc.octets
                    .extend(rows.iter().map(|&i| b.octets[i as usize].saturating_mul(f)));
                sc.packets.extend(
                    rows.iter()
                        .map(|&i| b.packets[i as usize].saturating_mul(f)),
                );
            }
            Scale::Sampling => {
                let f = |i: u32| u64::from(b.sampling_interval[i as usize].max(1));
                sc.octets.extend(
                    rows.iter()
                        .map(|&i| b.octets[i as usize].saturating_mul(f(i))),
                );
                sc.packets.extend(
                    rows.iter()
                        .map(|&i| b.packets[i as usize].saturating_mul(f(i))),
                );
            }
        }
        sc.duration.extend(rows.iter().map(|&i| {
            let i = i as usize;
            b.end_ms[i].saturating_sub(b.start_ms[i]).max(0) as u64
        }));
        // Totals, ignores and the time span, per batch.
        let (mut flows, mut octets, mut packets, mut duration) = (0u64, 0u128, 0u128, 0u128);
        let (mut first, mut last) = (self.first_ms, self.last_ms);
        for j in 0..m {
            let p = sc.packets[j];
            if p == 0 {
                continue;
            }
            let i = rows[j] as usize;
            flows += 1;
            octets += u128::from(sc.octets[j]);
            packets += u128::from(p);
            duration += u128::from(sc.duration[j]);
            first = first.min(b.start_ms[i]);
            last = last.max(b.end_ms[i]);
        }
        self.ignores += m as u64 - flows;
        let sat = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        self.totals.flows += flows;
        self.totals.octets = self.totals.octets.saturating_add(sat(octets));
        self.totals.packets = self.totals.packets.saturating_add(sat(packets));
        self.totals.duration_ms = self.totals.duration_ms.saturating_add(sat(duration));
        self.first_ms = first;
        self.last_ms = last;
        let sample = |j: usize| Sample {
            flows: 1,
            octets: sc.octets[j],
            packets: sc.packets[j],
            duration_ms: sc.duration[j],
        };
        if self.options.rates {
            for j in (0..m).filter(|j| sc.packets[*j] != 0) {
                self.total_rates.add(&sample(j));
            }
        }
        if let Some(sum) = &mut self.summary {
            for j in (0..m).filter(|j| sc.packets[*j] != 0) {
                sum.add(&sample(j));
            }
            return Ok(());
        }
        let parts = self.kind.parts.clone();
        // A time series packs too: a flow inside one interval has that
        // interval's start (seconds, 32 bits until 2106) as its lane; the
        // flows that span intervals are cut into pieces the general way.
        let packable = !self.kind.both_ends
            && parts.len() <= MAX_PARTS
            && parts.iter().all(|p| {
                *p == KeyPart::Interval
                    || p.col().is_some()
                        && match p {
                            KeyPart::SrcAddr => self.options.src_format.style == AddrStyle::Address,
                            KeyPart::DstAddr => self.options.dst_format.style == AddrStyle::Address,
                            _ => true,
                        }
            });
        if !packable {
            for j in 0..m {
                if sc.packets[j] != 0 {
                    self.add_general(b, rows[j] as usize, &sample(j))?;
                }
            }
            return Ok(());
        }
        // Keys packed into 32-bit lanes, part by part.
        sc.keys.clear();
        sc.keys.resize(m, 0);
        sc.fits.clear();
        sc.fits.resize(m, 1);
        for (k, p) in parts.iter().enumerate() {
            let shift = 32 * k as u32;
            macro_rules! lane {
                ($v:expr) => {{
                    let v = &$v;
                    for (key, &i) in sc.keys.iter_mut().zip(rows) {
                        *key |= u128::from(v[i as usize]) << shift;
                    }
                }};
            }
            match p {
                KeyPart::SrcAddr | KeyPart::DstAddr | KeyPart::NextHop | KeyPart::Exporter => {
                    let c = b.addr(p.col().unwrap_or(Col::SrcAddr));
                    for ((key, fit), &i) in sc.keys.iter_mut().zip(sc.fits.iter_mut()).zip(rows) {
                        let i = i as usize;
                        *key |= u128::from(c.v4[i]) << shift;
                        *fit &= 1 ^ c.family[i];
                    }
                }
                KeyPart::SrcPort => lane!(b.src_port),
                KeyPart::DstPort => lane!(b.dst_port),
                KeyPart::Protocol => lane!(b.protocol),
                KeyPart::Tos => lane!(b.tos),
                KeyPart::InIf => lane!(b.input_if),
                KeyPart::OutIf => lane!(b.output_if),
                KeyPart::SrcAs => lane!(b.src_as),
                KeyPart::DstAs => lane!(b.dst_as),
                KeyPart::EngineId => lane!(b.engine_id),
                KeyPart::EngineType => lane!(b.engine_type),
                KeyPart::Interval => {
                    // As `pieces` finds the intervals of a flow.
                    let every = self.options.interval_ms();
                    for (((key, fit), &i), &d) in sc
                        .keys
                        .iter_mut()
                        .zip(sc.fits.iter_mut())
                        .zip(rows)
                        .zip(&sc.duration)
                    {
                        let start = b.start_ms[i as usize];
                        let end = start.saturating_add(d as i64);
                        let first = start.div_euclid(every);
                        let last = (end - 1).max(start).div_euclid(every);
                        match u32::try_from((first * every / 1000).max(0)) {
                            Ok(secs) if last == first => *key |= u128::from(secs) << shift,
                            _ => *fit = 0,
                        }
                    }
                }
                _ => unreachable!("only column parts and intervals pack"),
            }
        }
        if !self.options.rates {
            // Packed keys in one pass over the table, slots fetched ahead;
            // the rows whose key does not pack, after.
            // Only the rows that count go to the table, their keys side by
            // side: it then hashes and fetches ahead no key it would skip
            // (the IPv6 rows' and the empty flows').
            let room = self.room();
            sc.at.clear();
            sc.packed.clear();
            for j in 0..m {
                if sc.packets[j] != 0 && sc.fits[j] != 0 {
                    sc.at.push(j as u32);
                    sc.packed.push(sc.keys[j]);
                }
            }
            let at = &sc.at;
            let done =
                self.compact
                    .bump_many(&sc.packed, |_| false, |k| sample(at[k] as usize), room);
            self.capped(done)?;
            if parts.len() == 1 && parts[0].is_address() {
                // One-part IPv6 keys, packed as the row path packs them,
                // in one pass too.
                let c = b.addr(parts[0].col().unwrap_or(Col::SrcAddr));
                sc.at.clear();
                sc.singles.clear();
                for (j, &i) in rows.iter().enumerate() {
                    if sc.packets[j] != 0 && sc.fits[j] == 0 {
                        sc.at.push(j as u32);
                        sc.singles.push(Single::pack(&Val::V6(c.v6[i as usize])));
                    }
                }
                let room = self.room();
                let at = &sc.at;
                let done =
                    self.single
                        .bump_many(&sc.singles, |_| false, |k| sample(at[k] as usize), room);
                self.capped(done)?;
                return Ok(());
            }
            // Keys of several parts with an IPv6 part: wide keys, in one
            // pass too; flows spanning intervals cut into their pieces,
            // each piece's key packed as the row's would be.
            sc.wide.clear();
            sc.cut_keys.clear();
            sc.cut_samples.clear();
            let every = self.options.interval_ms();
            for j in 0..m {
                if sc.packets[j] == 0 || sc.fits[j] == 1 {
                    continue;
                }
                let i = rows[j] as usize;
                let mut k = [Val::N(0); MAX_PARTS];
                let mut one = true;
                for (v, p) in k.iter_mut().zip(&parts) {
                    *v = if *p == KeyPart::Interval {
                        // As `pieces` finds the intervals of a flow.
                        let start = b.start_ms[i];
                        let end = start.saturating_add(sc.duration[j] as i64);
                        let first = start.div_euclid(every);
                        one &= (end - 1).max(start).div_euclid(every) == first;
                        Val::T((first * every / 1000).max(0) as u64)
                    } else {
                        p.value_in(b, i, &sample(j))
                    };
                }
                // (A one-part key is never wide: `bump` keeps it single.)
                match self.interval_at {
                    _ if self.width == 1 => self.add_general(b, i, &sample(j))?,
                    Some(at) if !one => {
                        pieces_into(b.start_ms[i], &sample(j), every, &mut sc.cut);
                        for (start, piece) in &sc.cut {
                            k[at] = Val::T(*start);
                            let vals = &k[..self.width];
                            if let Some(c) = compact_key(vals) {
                                sc.cut_keys.push(c);
                                sc.cut_samples.push(*piece);
                            } else {
                                sc.wide.push(Key::pack(vals), *piece);
                            }
                        }
                    }
                    _ => sc.wide.push(Key::pack(&k[..self.width]), sample(j)),
                }
            }
            let room = self.room();
            let cut = &sc.cut_samples;
            let done = self
                .compact
                .bump_many(&sc.cut_keys, |_| false, |x| cut[x], room);
            self.capped(done)?;
            let room = self.room();
            let duo = &sc.wide.duo_samples;
            let done = self
                .duo
                .bump_many(&sc.wide.duos, |_| false, |x| duo[x], room);
            self.capped(done)?;
            let room = self.room();
            let wide = &sc.wide.wide_samples;
            let done = self
                .wide
                .bump_many(&sc.wide.wide, |_| false, |x| wide[x], room);
            self.capped(done)?;
            return Ok(());
        }
        for j in 0..m {
            if sc.packets[j] == 0 {
                continue;
            }
            let s = sample(j);
            if sc.fits[j] == 0 {
                self.add_general(b, rows[j] as usize, &s)?;
                continue;
            }
            let key = sc.keys[j];
            let full = self.keys() >= self.max_keys;
            if let Some(r) = &mut self.rates {
                r.compact.bump(key, false, |x| x.add(&s));
            }
            if !self.compact.bump(key, full, &s) {
                return Err(ReportError::TooManyKeys(self.max_keys));
            }
        }
        Ok(())
    }

    /// Keys the report may still take.
    fn room(&self) -> usize {
        self.max_keys.saturating_sub(self.keys())
    }

    /// A table's batch update as the report's: stopped at the cap, it had
    /// too many keys.
    fn capped(&self, done: Result<(), usize>) -> Result<(), ReportError> {
        done.map_err(|_| ReportError::TooManyKeys(self.max_keys))
    }

    /// One row the general way (what [`Report::add`] does after the
    /// totals): keys of [`Val`]s, both ends, time-series pieces.
    fn add_general(&mut self, b: &FlowBatch, i: usize, s: &Sample) -> Result<(), ReportError> {
        let value = |p: KeyPart| {
            let v = p.value_in(b, i, s);
            match p {
                KeyPart::SrcAddr => self.options.src_format.apply(v, b.src_mask_at(i)),
                KeyPart::DstAddr => self.options.dst_format.apply(v, b.dst_mask_at(i)),
                _ => v,
            }
        };
        let key = |end: Option<KeyPart>| {
            let mut k = [Val::N(0); MAX_PARTS];
            match end {
                Some(e) => k[0] = value(e),
                None => {
                    for (slot, p) in k.iter_mut().zip(&self.kind.parts) {
                        *slot = value(*p);
                    }
                }
            }
            k
        };
        if let Some(at) = self.interval_at {
            let mut k = key(None);
            for (start, piece) in pieces(b.start_ms[i], s, self.options.interval_ms()) {
                k[at] = Val::T(start);
                self.bump(&k, &piece)?;
            }
            return Ok(());
        }
        if self.kind.both_ends {
            let ends = if self.kind.parts[0].is_address() {
                [KeyPart::SrcAddr, KeyPart::DstAddr]
            } else {
                [KeyPart::SrcPort, KeyPart::DstPort]
            };
            let a = key(Some(ends[0]));
            let z = key(Some(ends[1]));
            self.bump(&a, s)?;
            if a != z {
                self.bump(&z, s)?;
            }
            return Ok(());
        }
        let k = key(None);
        self.bump(&k, s)
    }
}

/// A flow's masks from a batch that may not hold them (a report reads
/// them only for prefix formats by the flow's own mask).
trait Masks {
    fn src_mask_at(&self, i: usize) -> u8;
    fn dst_mask_at(&self, i: usize) -> u8;
}

impl Masks for FlowBatch {
    fn src_mask_at(&self, i: usize) -> u8 {
        self.src_mask.get(i).copied().unwrap_or(0)
    }

    fn dst_mask_at(&self, i: usize) -> u8 {
        self.dst_mask.get(i).copied().unwrap_or(0)
    }
}
