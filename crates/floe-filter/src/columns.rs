//! The filter on columns: an [`Expr`] evaluated over a [`FlowBatch`] a
//! column at a time into a row mask (a byte per row, 1 where the flow
//! matches), each test a tight loop over one column that the compiler
//! vectorises: equality and ranges on the column's own width (ports as
//! `u16`, the protocol as `u8`), prefixes on IPv4 as `u32` and IPv6 as
//! `u128` under a mask, flag masks, times and counters, and the derived
//! values (duration, bps, pps, bpp) computed as the row path computes
//! them. `and`/`or`/`not` combine masks.
//!
//! And before any of that, [`Filter::on_stats`]: given what a block's
//! statistics say ([`BatchStats`]), whether no flow of it can match
//! ([`Verdict::Never`]: the block need not be decompressed), every flow
//! does ([`Verdict::Always`]: a count needs no column), or it depends.
//!
//! The row predicate ([`Filter::matches`]) is the oracle: every construct
//! answers the same through both, which the property tests of
//! `tests/columns.rs` and of floe-scan check on random filters over random
//! blocks, IPv4 and IPv6, with and without statistics.

use floe_flow::{AddrColumn, BatchStats, Col, ColSet, FlowBatch, MissingColumn};

use crate::expr::{time_key, AddrField, Cmp, Expr, Net, NumField};
use crate::Filter;

/// What a block's statistics say about a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No flow of the block matches.
    Never,
    /// Some may.
    Maybe,
    /// Every flow matches.
    Always,
}

impl Verdict {
    fn not(self) -> Verdict {
        match self {
            Verdict::Never => Verdict::Always,
            Verdict::Always => Verdict::Never,
            Verdict::Maybe => Verdict::Maybe,
        }
    }
}

/// Reusable buffers for [`Filter::select_with`] (a mask per nesting
/// level, values of derived fields).
#[derive(Default)]
pub struct Scratch {
    masks: Vec<Vec<u8>>,
    values: Vec<Vec<u64>>,
}

impl Scratch {
    fn mask(&mut self, n: usize) -> Vec<u8> {
        let mut m = self.masks.pop().unwrap_or_default();
        m.clear();
        m.resize(n, 0);
        m
    }

    fn values(&mut self) -> Vec<u64> {
        let mut v = self.values.pop().unwrap_or_default();
        v.clear();
        v
    }
}

impl Filter {
    /// The columns the filter reads.
    pub fn cols(&self) -> ColSet {
        let mut s = ColSet::NONE;
        for f in self.fields() {
            if let Some(c) = Col::of_field(f) {
                s = s.with(c);
            }
        }
        s
    }

    /// Sets `mask` to one byte per row of `b`: 1 where the flow matches,
    /// 0 where not (the same answer as [`Filter::matches`] on the row).
    pub fn select(&self, b: &FlowBatch, mask: &mut Vec<u8>) -> Result<(), MissingColumn> {
        self.select_with(b, mask, &mut Scratch::default())
    }

    /// [`Filter::select`] with buffers kept between calls.
    pub fn select_with(
        &self,
        b: &FlowBatch,
        mask: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> Result<(), MissingColumn> {
        b.require(self.cols())?;
        mask.clear();
        mask.resize(b.len(), 0);
        eval(self.expr(), b, mask, scratch);
        Ok(())
    }

    /// What the statistics of a block say about this filter.
    pub fn on_stats(&self, s: &BatchStats) -> Verdict {
        if s.records == 0 {
            return Verdict::Never;
        }
        verdict(self.expr(), s)
    }
}

/// Indices of the rows whose mask byte is set, appended to `out`.
pub fn selected(mask: &[u8], out: &mut Vec<u32>) {
    out.reserve(mask.len());
    for (i, m) in mask.iter().enumerate() {
        if *m != 0 {
            out.push(i as u32);
        }
    }
}

/// Sets `out` (one byte per row) to the expression's value.
fn eval(e: &Expr, b: &FlowBatch, out: &mut [u8], sc: &mut Scratch) {
    match e {
        Expr::Any => out.fill(1),
        Expr::Not(x) => {
            eval(x, b, out, sc);
            out.iter_mut().for_each(|m| *m ^= 1);
        }
        Expr::And(v) | Expr::Or(v) => {
            let and = matches!(e, Expr::And(_));
            let Some((first, rest)) = v.split_first() else {
                out.fill(u8::from(and));
                return;
            };
            eval(first, b, out, sc);
            let mut t = sc.mask(out.len());
            for x in rest {
                eval(x, b, &mut t, sc);
                if and {
                    out.iter_mut().zip(&t).for_each(|(o, t)| *o &= t);
                } else {
                    out.iter_mut().zip(&t).for_each(|(o, t)| *o |= t);
                }
            }
            sc.masks.push(t);
        }
        Expr::Family(f) => {
            let (s, d) = (&b.src_addr.family, &b.dst_addr.family);
            let v6 = *f != 4;
            for ((o, s), d) in out.iter_mut().zip(s).zip(d) {
                *o = ((s | d) & 1) ^ u8::from(!v6);
            }
        }
        Expr::Addr(which, nets) => {
            let col = b.addr(match which {
                AddrField::Src => Col::SrcAddr,
                AddrField::Dst => Col::DstAddr,
                AddrField::NextHop => Col::NextHop,
                AddrField::Exporter => Col::Exporter,
            });
            out.fill(0);
            for n in nets {
                in_net(col, n, out);
            }
        }
        Expr::Num(field, cmp, v) => num(*field, *cmp, *v, b, out, sc),
        Expr::NumIn(field, ranges) => {
            let mut vals = sc.values();
            widen(*field, b, &mut vals);
            out.fill(0);
            for (lo, hi) in ranges {
                for (o, x) in out.iter_mut().zip(&vals) {
                    *o |= u8::from(*lo <= *x && *x <= *hi);
                }
            }
            sc.values.push(vals);
        }
        Expr::Flags(bits) => {
            let bits = *bits;
            for (o, f) in out.iter_mut().zip(&b.tcp_flags) {
                *o = u8::from(f & bits == bits);
            }
        }
        Expr::Masked(field, mask, want) => {
            let mut vals = sc.values();
            widen(*field, b, &mut vals);
            for (o, x) in out.iter_mut().zip(&vals) {
                *o = u8::from(x & mask == *want);
            }
            sc.values.push(vals);
        }
    }
}

/// ORs into `out` the rows whose address is in `n`.
fn in_net(col: &AddrColumn, n: &Net, out: &mut [u8]) {
    match n.addr {
        std::net::IpAddr::V4(a) => {
            let mask = if n.len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(n.len.min(32)))
            };
            let want = u32::from(a) & mask;
            for ((o, f), x) in out.iter_mut().zip(&col.family).zip(&col.v4) {
                *o |= u8::from(*f == 0 && x & mask == want);
            }
        }
        std::net::IpAddr::V6(a) => {
            if col.v6.is_empty() {
                return;
            }
            let mask = if n.len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(n.len.min(128)))
            };
            let want = u128::from(a) & mask;
            for ((o, f), x) in out.iter_mut().zip(&col.family).zip(&col.v6) {
                *o |= u8::from(*f == 1 && x & mask == want);
            }
        }
    }
}

/// Sets `out` to `x cmp v` for every value of a column of `T`s, compared
/// in `T`'s own width (a value past `T`'s range gives every row the same
/// answer).
fn compare<T>(xs: &[T], cmp: Cmp, v: u64, out: &mut [u8])
where
    T: Copy + PartialOrd + TryFrom<u64>,
{
    let Ok(v) = T::try_from(v) else {
        // v is larger than any value of the column.
        out.fill(u8::from(matches!(cmp, Cmp::Ne | Cmp::Lt | Cmp::Le)));
        return;
    };
    macro_rules! each {
        ($op:tt) => {
            for (o, x) in out.iter_mut().zip(xs) {
                *o = u8::from(*x $op v);
            }
        };
    }
    match cmp {
        Cmp::Eq => each!(==),
        Cmp::Ne => each!(!=),
        Cmp::Lt => each!(<),
        Cmp::Le => each!(<=),
        Cmp::Gt => each!(>),
        Cmp::Ge => each!(>=),
    }
}

fn num(field: NumField, cmp: Cmp, v: u64, b: &FlowBatch, out: &mut [u8], sc: &mut Scratch) {
    match field {
        NumField::Protocol => compare(&b.protocol, cmp, v, out),
        NumField::SrcPort => compare(&b.src_port, cmp, v, out),
        NumField::DstPort => compare(&b.dst_port, cmp, v, out),
        NumField::SrcAs => compare(&b.src_as, cmp, v, out),
        NumField::DstAs => compare(&b.dst_as, cmp, v, out),
        NumField::InIf => compare(&b.input_if, cmp, v, out),
        NumField::OutIf => compare(&b.output_if, cmp, v, out),
        NumField::Tos => compare(&b.tos, cmp, v, out),
        NumField::Packets => compare(&b.packets, cmp, v, out),
        NumField::Bytes => compare(&b.octets, cmp, v, out),
        NumField::SrcMask | NumField::SrcPrefixLen => compare(&b.src_mask, cmp, v, out),
        NumField::DstMask | NumField::DstPrefixLen => compare(&b.dst_mask, cmp, v, out),
        NumField::EngineType => compare(&b.engine_type, cmp, v, out),
        NumField::EngineId => compare(&b.engine_id, cmp, v, out),
        NumField::SourceId => compare(&b.source_id, cmp, v, out),
        NumField::Sampling => compare(&b.sampling_interval, cmp, v, out),
        NumField::TcpFlags => compare(&b.tcp_flags, cmp, v, out),
        NumField::First | NumField::Last => {
            // Times compare as times: the key order is the time order.
            let t = crate::expr::time_of_key(v);
            let xs = if field == NumField::First {
                &b.start_ms
            } else {
                &b.end_ms
            };
            macro_rules! each {
                ($op:tt) => {
                    for (o, x) in out.iter_mut().zip(xs) {
                        *o = u8::from(*x $op t);
                    }
                };
            }
            match cmp {
                Cmp::Eq => each!(==),
                Cmp::Ne => each!(!=),
                Cmp::Lt => each!(<),
                Cmp::Le => each!(<=),
                Cmp::Gt => each!(>),
                Cmp::Ge => each!(>=),
            }
        }
        _ => {
            let mut vals = sc.values();
            widen(field, b, &mut vals);
            compare(&vals, cmp, v, out);
            sc.values.push(vals);
        }
    }
}

/// The field's values as the row path's [`NumField::value`] computes them.
fn widen(field: NumField, b: &FlowBatch, out: &mut Vec<u64>) {
    out.clear();
    macro_rules! w {
        ($v:ident) => {
            out.extend(b.$v.iter().map(|x| u64::from(*x)))
        };
    }
    let duration = |i: usize| b.end_ms[i].saturating_sub(b.start_ms[i]).max(0) as u64;
    let rate = |n: u64, d: u64| {
        let secs = d as f64 / 1000.0;
        if secs > 0.0 {
            (n as f64 / secs) as u64
        } else {
            n
        }
    };
    match field {
        NumField::Protocol => w!(protocol),
        NumField::SrcPort => w!(src_port),
        NumField::DstPort => w!(dst_port),
        NumField::SrcAs => w!(src_as),
        NumField::DstAs => w!(dst_as),
        NumField::InIf => w!(input_if),
        NumField::OutIf => w!(output_if),
        NumField::Tos => w!(tos),
        NumField::Packets => w!(packets),
        NumField::Bytes => w!(octets),
        NumField::SrcMask | NumField::SrcPrefixLen => w!(src_mask),
        NumField::DstMask | NumField::DstPrefixLen => w!(dst_mask),
        NumField::EngineType => w!(engine_type),
        NumField::EngineId => w!(engine_id),
        NumField::SourceId => w!(source_id),
        NumField::Sampling => w!(sampling_interval),
        NumField::TcpFlags => w!(tcp_flags),
        NumField::First => out.extend(b.start_ms.iter().map(|t| time_key(*t))),
        NumField::Last => out.extend(b.end_ms.iter().map(|t| time_key(*t))),
        NumField::Duration => out.extend((0..b.len()).map(duration)),
        NumField::Pps => out.extend((0..b.len()).map(|i| rate(b.packets[i], duration(i)))),
        NumField::Bps => {
            out.extend((0..b.len()).map(|i| rate(b.octets[i].saturating_mul(8), duration(i))))
        }
        NumField::Bpp => out.extend(
            b.octets
                .iter()
                .zip(&b.packets)
                .map(|(o, p)| o.checked_div(*p).unwrap_or(0)),
        ),
    }
}

/// The column of a plain numeric field (None for derived values).
fn plain_col(f: NumField) -> Option<Col> {
    Some(match f {
        NumField::Protocol => Col::Protocol,
        NumField::SrcPort => Col::SrcPort,
        NumField::DstPort => Col::DstPort,
        NumField::SrcAs => Col::SrcAs,
        NumField::DstAs => Col::DstAs,
        NumField::InIf => Col::InputIf,
        NumField::OutIf => Col::OutputIf,
        NumField::Tos => Col::Tos,
        NumField::Packets => Col::Packets,
        NumField::Bytes => Col::Octets,
        NumField::SrcMask | NumField::SrcPrefixLen => Col::SrcMask,
        NumField::DstMask | NumField::DstPrefixLen => Col::DstMask,
        NumField::EngineType => Col::EngineType,
        NumField::EngineId => Col::EngineId,
        NumField::SourceId => Col::SourceId,
        NumField::Sampling => Col::Sampling,
        NumField::TcpFlags => Col::TcpFlags,
        _ => return None,
    })
}

/// The smallest and largest value of a field over a block, when known.
fn range_of(f: NumField, s: &BatchStats) -> Option<(u64, u64)> {
    match f {
        // Without statistics the block header still bounds the starts.
        NumField::First => Some(s.start.map_or(
            (time_key(s.min_start_ms), time_key(s.max_end_ms)),
            |(a, b)| (time_key(a), time_key(b)),
        )),
        NumField::Last => s.end.map(|(a, b)| (time_key(a), time_key(b))),
        other => plain_col(other).and_then(|c| s.num(c).range),
    }
}

/// Combines verdicts: all must hold (`and`) or one (`or`).
fn combine(vs: impl Iterator<Item = Verdict>, and: bool) -> Verdict {
    let (stop, rest) = if and {
        (Verdict::Never, Verdict::Always)
    } else {
        (Verdict::Always, Verdict::Never)
    };
    let mut all = true;
    for v in vs {
        if v == stop {
            return stop;
        }
        all &= v == rest;
    }
    if all {
        rest
    } else {
        Verdict::Maybe
    }
}

fn verdict(e: &Expr, s: &BatchStats) -> Verdict {
    match e {
        Expr::Any => Verdict::Always,
        Expr::Not(x) => verdict(x, s).not(),
        Expr::And(v) => combine(v.iter().map(|x| verdict(x, s)), true),
        Expr::Or(v) => combine(v.iter().map(|x| verdict(x, s)), false),
        Expr::Family(f) => {
            let (src, dst) = (s.addr(Col::SrcAddr), s.addr(Col::DstAddr));
            // IPv4 flows: both ends IPv4.
            let v4 = if src.v6_count == 0 && dst.v6_count == 0 {
                Verdict::Always
            } else if src.v4_count == 0 || dst.v4_count == 0 {
                Verdict::Never
            } else {
                Verdict::Maybe
            };
            if *f == 4 {
                v4
            } else {
                v4.not()
            }
        }
        Expr::Addr(which, nets) => {
            let a = s.addr(match which {
                AddrField::Src => Col::SrcAddr,
                AddrField::Dst => Col::DstAddr,
                AddrField::NextHop => Col::NextHop,
                AddrField::Exporter => Col::Exporter,
            });
            combine(
                nets.iter().map(|n| match n.addr {
                    std::net::IpAddr::V4(x) => {
                        let m = u32::MAX
                            .checked_shl(32 - u32::from(n.len.min(32)))
                            .unwrap_or(0);
                        let lo = u32::from(x) & m;
                        net_verdict(a.v4_count, a.v6_count, a.v4, lo, lo | !m)
                    }
                    std::net::IpAddr::V6(x) => {
                        let m = u128::MAX
                            .checked_shl(128 - u32::from(n.len.min(128)))
                            .unwrap_or(0);
                        let lo = u128::from(x) & m;
                        net_verdict(a.v6_count, a.v4_count, a.v6, lo, lo | !m)
                    }
                }),
                false,
            )
        }
        Expr::Num(field, cmp, v) => {
            let v = *v;
            let eq = |set_miss: bool| -> Verdict {
                match range_of(*field, s) {
                    _ if set_miss => Verdict::Never,
                    Some((lo, hi)) if v < lo || v > hi => Verdict::Never,
                    Some((lo, hi)) if lo == v && hi == v => Verdict::Always,
                    _ => Verdict::Maybe,
                }
            };
            let set_miss = plain_col(*field).is_some_and(|c| {
                let n = s.num(c);
                n.set.is_some() && !n.may_hold(v)
            });
            match cmp {
                Cmp::Eq => eq(set_miss),
                Cmp::Ne => eq(set_miss).not(),
                _ => match range_of(*field, s) {
                    None => Verdict::Maybe,
                    Some((lo, hi)) => {
                        let (all, none) = match cmp {
                            Cmp::Lt => (hi < v, lo >= v),
                            Cmp::Le => (hi <= v, lo > v),
                            Cmp::Gt => (lo > v, hi <= v),
                            _ => (lo >= v, hi < v),
                        };
                        if all {
                            Verdict::Always
                        } else if none {
                            Verdict::Never
                        } else {
                            Verdict::Maybe
                        }
                    }
                },
            }
        }
        Expr::NumIn(field, ranges) => match range_of(*field, s) {
            None => Verdict::Maybe,
            Some((lo, hi)) => combine(
                ranges.iter().map(|(a, b)| {
                    if lo >= *a && hi <= *b {
                        Verdict::Always
                    } else if hi < *a || lo > *b {
                        Verdict::Never
                    } else {
                        Verdict::Maybe
                    }
                }),
                false,
            ),
        },
        Expr::Flags(bits) => match s.num(Col::TcpFlags).bits {
            Some((or, and)) => {
                let bits = u64::from(*bits);
                if or & bits != bits {
                    Verdict::Never
                } else if and & bits == bits {
                    Verdict::Always
                } else {
                    Verdict::Maybe
                }
            }
            None => Verdict::Maybe,
        },
        Expr::Masked(field, mask, want) => {
            let bits = plain_col(*field).and_then(|c| s.num(c).bits);
            match bits {
                _ if want & !mask != 0 => Verdict::Never,
                Some((or, and)) => {
                    // Bits known to be 1 everywhere, and 0 everywhere.
                    let (ones, zeros) = (and, !or);
                    let known = (ones | zeros) & mask;
                    if (want & zeros & mask) != 0 || (!want & ones & mask) != 0 {
                        Verdict::Never
                    } else if known == *mask {
                        Verdict::Always
                    } else {
                        Verdict::Maybe
                    }
                }
                None => Verdict::Maybe,
            }
        }
    }
}

/// Whether a block's addresses of one family (`count` of them, `range`
/// their smallest and largest, `others` of the other family) fall in
/// `[lo, hi]`.
fn net_verdict<T: PartialOrd + Copy>(
    count: u32,
    others: u32,
    range: Option<(T, T)>,
    lo: T,
    hi: T,
) -> Verdict {
    if count == 0 {
        return Verdict::Never;
    }
    match range {
        Some((a, b)) if b < lo || a > hi => Verdict::Never,
        Some((a, b)) if others == 0 && a >= lo && b <= hi => Verdict::Always,
        _ => Verdict::Maybe,
    }
}
