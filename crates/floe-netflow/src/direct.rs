//! The compiled-template path: data templates compiled straight to
//! [`Flow`] fields, loaded into rows or into a batch's columns.
//!
//! A template fixes every field's offset and length, and [`Record`]'s rules
//! (first occurrence wins, octets from IE 1 before 85 before 23, the most
//! precise absolute time, the address family...) depend, for most
//! templates, on which elements the template has, not on the values. So
//! they are applied once, here, when the template is compiled: each record
//! is then a handful of loads at fixed offsets, into a [`Flow`] row or a
//! [`FlowBatch`]'s columns (floed's).
//!
//! Why: with the step walker of [`crate::walker`] building a [`Record`] per
//! record, decoding took a large share of floed's CPU under v9 load (perf:
//! `Plan::records`, `Record::set`, `Record::finish` and `record::num` on
//! top), CPU the ingest target needs. Compiled, a core decodes several
//! times as many v9 flows, and more again with the loads applied field by
//! field over a set's records rather than record by record (see
//! [`Direct::flows`]) and one load per usual width: `cargo bench -p
//! floe-benches --bench decode` measures it.
//!
//! Templates whose outcome does depend on values (both address families,
//! an `ipVersion` element, NSEL counters to add up, sampler ids, a boot time
//! in the record, variable-length or odd-length fields) are not compiled
//! here and keep the step walker; `direct_matches_the_record_rules` (a
//! proptest) and the corpus test check that both give the same flows.
//!
//! [`Record`]: crate::record::Record

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floe_flow::{AddrColumn, Flow, FlowBatch};

use crate::out::{FlowOut, Target};
use crate::record::{be_u64, ntp_bytes_ms, sat_i64, uptime_to_ms, Context, Times};

/// Where a field's bytes go: first the flow fields loaded as they are,
/// then the elements combined per record (see [`Dest::per_record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Dest {
    Octets,
    Packets,
    Protocol,
    Tos,
    TcpFlags,
    SrcPort,
    DstPort,
    Src,
    Dst,
    NextHop,
    SrcMask,
    DstMask,
    InputIf,
    OutputIf,
    SrcAs,
    DstAs,
    Sampling,
    IcmpTypeCode,
    IcmpType,
    IcmpCode,
    UpFirst,
    UpLast,
    StartSecs,
    EndSecs,
    StartMillis,
    EndMillis,
    StartNtp,
    EndNtp,
    StartDeltaMicros,
    EndDeltaMicros,
    DurationMillis,
    DurationMicros,
}

impl Dest {
    /// Elements combined per record (times, ICMP type and code) rather
    /// than loaded into one field: the variants from `IcmpTypeCode` on,
    /// which is why the enum lists the field loads first.
    fn per_record(self) -> bool {
        self as u8 >= Dest::IcmpTypeCode as u8
    }
}

#[derive(Clone, Copy, Debug)]
struct Op {
    at: usize,
    len: usize,
    dest: Dest,
}

/// A data template compiled to direct loads.
#[derive(Clone, Debug)]
pub(crate) struct Direct {
    /// Bytes per record (every field has a fixed length).
    rec_len: usize,
    /// Loads into flow fields, applied one field at a time over all the
    /// records of a set.
    field_ops: Vec<Op>,
    /// Times and ICMP elements, which combine per record.
    record_ops: Vec<Op>,
    v6: bool,
    /// Records carry an address or a counter (else they are options-like
    /// data, counted and not stored).
    is_flow: bool,
    has_icmp: bool,
    /// The first and last uptimes' places, when they are the template's
    /// only per-record elements (v9's usual templates): under a v9
    /// header's uptime each time is then one subtraction from the export
    /// time, the answer [`Times::resolve`] reaches per record after
    /// checking every other case.
    uptimes_only: Option<(Op, Op)>,
}

/// The elements [`Record`](crate::record::Record) maps, each with the slot
/// it fills (elements sharing a slot: the first occurrence wins) and, for
/// times, the precision rank (the highest wins).
pub(crate) fn slot(ie: u16) -> Option<(&'static str, u8)> {
    Some(match ie {
        1 => ("octets", 0),
        85 => ("octets_total", 0),
        23 => ("octets_post", 0),
        2 => ("packets", 0),
        86 => ("packets_total", 0),
        24 => ("packets_post", 0),
        4 => ("protocol", 0),
        5 => ("tos", 0),
        6 => ("tcp_flags", 0),
        7 | 180 | 182 => ("src_port", 0),
        11 | 181 | 183 => ("dst_port", 0),
        8 => ("src4", 0),
        12 => ("dst4", 0),
        15 => ("nh4", 0),
        18 => ("bgp_nh4", 0),
        27 => ("src6", 0),
        28 => ("dst6", 0),
        62 => ("nh6", 0),
        63 => ("bgp_nh6", 0),
        9 => ("src_mask4", 0),
        13 => ("dst_mask4", 0),
        29 => ("src_mask6", 0),
        30 => ("dst_mask6", 0),
        10 => ("input_if", 0),
        14 => ("output_if", 0),
        16 => ("src_as", 0),
        17 => ("dst_as", 0),
        32 | 139 => ("icmp_type_code", 0),
        176 | 178 => ("icmp_type", 0),
        177 | 179 => ("icmp_code", 0),
        34 | 50 => ("sampling", 0),
        22 => ("up_first", 0),
        21 => ("up_last", 0),
        150 => ("abs_start", 1),
        151 => ("abs_end", 1),
        158 => ("abs_start", 2),
        159 => ("abs_end", 2),
        152 => ("abs_start", 3),
        153 => ("abs_end", 3),
        154 => ("abs_start", 4),
        155 => ("abs_end", 4),
        156 => ("abs_start", 5),
        157 => ("abs_end", 5),
        161 | 162 => ("duration", 0),
        _ => return None,
    })
}

/// The occurrence of an element a slot takes its value from.
#[derive(Clone, Copy, Debug)]
struct Occurrence {
    slot: &'static str,
    rank: u8,
    at: usize,
    len: usize,
    ie: u16,
}

/// Elements whose value decides something per record, or that need the
/// decoder's state, or that combine into a sampling interval (RFC 7014's
/// packet windows, n out of a population): templates with them keep the
/// step walker.
pub(crate) const VALUE_DEPENDENT: &[u16] =
    &[60, 231, 232, 298, 299, 48, 302, 160, 305, 306, 309, 310];

impl Direct {
    /// Compiles a template's (element, length, enterprise) list, or `None`
    /// when its flows depend on values (see the module docs).
    pub fn compile(fields: &[(u16, u16, bool)]) -> Option<Direct> {
        // The occurrence each slot keeps.
        let mut chosen: Vec<Occurrence> = Vec::new();
        let mut at = 0usize;
        for &(ie, len, enterprise) in fields {
            if len == 65_535 {
                return None;
            }
            let len = usize::from(len);
            let here = at;
            at += len;
            if enterprise {
                continue;
            }
            if VALUE_DEPENDENT.contains(&ie) {
                return None;
            }
            let Some((name, rank)) = slot(ie) else {
                continue;
            };
            let valid = match ie {
                8 | 12 | 15 | 18 => len == 4,
                27 | 28 | 62 | 63 => len == 16,
                154..=157 => len == 8,
                _ => (1..=8).contains(&len),
            };
            if !valid {
                return None;
            }
            let o = Occurrence {
                slot: name,
                rank,
                at: here,
                len,
                ie,
            };
            match chosen.iter_mut().find(|c| c.slot == name) {
                Some(c) if rank > c.rank => *c = o,
                Some(_) => {}
                None => chosen.push(o),
            }
        }
        if at == 0 {
            return None;
        }
        let has = |n: &str| chosen.iter().any(|c| c.slot == n);
        let (v4, v6) = (has("src4") || has("dst4"), has("src6") || has("dst6"));
        let v6 = match (v4, v6) {
            (true, true) => return None,
            // Record's rule for all-zero addresses picks IPv6 only when
            // the source is IPv6; a template with only an IPv6
            // destination is left to it.
            (false, true) if !has("src6") => return None,
            (false, true) => true,
            _ => false,
        };
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| chosen.iter().find(|c| c.slot == *n))
                .copied()
        };
        let mut ops = Vec::new();
        let mut op = |c: Option<Occurrence>, dest: Dest| {
            if let Some(c) = c {
                ops.push(Op {
                    at: c.at,
                    len: c.len,
                    dest,
                });
            }
        };
        let (src, dst, nh, bgp, smask, dmask) = if v6 {
            ("src6", "dst6", "nh6", "bgp_nh6", "src_mask6", "dst_mask6")
        } else {
            ("src4", "dst4", "nh4", "bgp_nh4", "src_mask4", "dst_mask4")
        };
        let octets = first(&["octets", "octets_total", "octets_post"]);
        let packets = first(&["packets", "packets_total", "packets_post"]);
        let is_flow = octets.is_some()
            || packets.is_some()
            || ["src4", "dst4", "src6", "dst6"].iter().any(|n| has(n));
        op(octets, Dest::Octets);
        op(packets, Dest::Packets);
        op(first(&["protocol"]), Dest::Protocol);
        op(first(&["tos"]), Dest::Tos);
        op(first(&["tcp_flags"]), Dest::TcpFlags);
        op(first(&["src_port"]), Dest::SrcPort);
        op(first(&["dst_port"]), Dest::DstPort);
        op(first(&[src]), Dest::Src);
        op(first(&[dst]), Dest::Dst);
        op(first(&[nh, bgp]), Dest::NextHop);
        op(first(&[smask]), Dest::SrcMask);
        op(first(&[dmask]), Dest::DstMask);
        op(first(&["input_if"]), Dest::InputIf);
        op(first(&["output_if"]), Dest::OutputIf);
        op(first(&["src_as"]), Dest::SrcAs);
        op(first(&["dst_as"]), Dest::DstAs);
        op(first(&["sampling"]), Dest::Sampling);
        op(first(&["icmp_type_code"]), Dest::IcmpTypeCode);
        op(first(&["icmp_type"]), Dest::IcmpType);
        op(first(&["icmp_code"]), Dest::IcmpCode);
        op(first(&["up_first"]), Dest::UpFirst);
        op(first(&["up_last"]), Dest::UpLast);
        for slot in ["abs_start", "abs_end"] {
            if let Some(c) = first(&[slot]) {
                let dest = match c.ie {
                    150 => Dest::StartSecs,
                    151 => Dest::EndSecs,
                    152 => Dest::StartMillis,
                    153 => Dest::EndMillis,
                    158 => Dest::StartDeltaMicros,
                    159 => Dest::EndDeltaMicros,
                    154 | 156 => Dest::StartNtp,
                    _ => Dest::EndNtp,
                };
                op(Some(c), dest);
            }
        }
        if let Some(c) = first(&["duration"]) {
            let d = if c.ie == 161 {
                Dest::DurationMillis
            } else {
                Dest::DurationMicros
            };
            op(Some(c), d);
        }
        let has_icmp = has("icmp_type_code") || has("icmp_type") || has("icmp_code");
        let (record_ops, field_ops): (Vec<Op>, Vec<Op>) =
            ops.into_iter().partition(|o: &Op| o.dest.per_record());
        let uptimes_only = match record_ops[..] {
            [a, b] if a.dest == Dest::UpFirst && b.dest == Dest::UpLast => Some((a, b)),
            _ => None,
        };
        Some(Direct {
            rec_len: at,
            field_ops,
            record_ops,
            v6,
            is_flow,
            has_icmp,
            uptimes_only,
        })
    }

    /// Appends the flows of a data set body to `out`; returns the number of
    /// records and how many had their uptimes anchored at the export time.
    ///
    /// Field by field over the set's records rather than record by record
    /// over the fields: each loop then has one destination and one width,
    /// and the per-field dispatch that took a third of the time (perf, v9
    /// decode bench) happens once per set.
    pub fn flows<O: FlowOut>(&self, body: &[u8], ctx: &Context, out: &mut O) -> (u32, u64) {
        match out.target() {
            Target::Rows(rows) => self.rows(body, ctx, rows),
            Target::Columns(batch) => self.columns(body, ctx, batch),
        }
    }

    /// What every flow of a set starts from: the fields the records do
    /// not carry.
    fn base(&self, ctx: &Context) -> Flow {
        let unspec = if self.v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            floe_flow::UNSPECIFIED_V4
        };
        Flow {
            exporter: ctx.exporter,
            source_id: ctx.source_id,
            src_addr: unspec,
            dst_addr: unspec,
            next_hop: unspec,
            sampling_interval: ctx.sampling.unwrap_or(0),
            ..Flow::default()
        }
    }

    /// [`Direct::flows`] into columns: each field's loop appends to one
    /// column, then the columns no field loads get the set's base, and
    /// the per-record times are written into their rows. Every column's
    /// new rows are written once: a batch of floed's holds a block's
    /// flows, larger than a core's cache, and filling every column with
    /// the base before overwriting most of it was a second pass over
    /// that memory (perf: a quarter of floed's decode thread).
    fn columns(&self, body: &[u8], ctx: &Context, b: &mut FlowBatch) -> (u32, u64) {
        let records = body.chunks_exact(self.rec_len);
        let n = records.len();
        if !self.is_flow {
            return (n as u32, 0);
        }
        let first = b.len();
        for op in &self.field_ops {
            let (at, len, recs) = (op.at, op.len, records.clone());
            match op.dest {
                Dest::Octets => load(&mut b.octets, recs, at, len, |v| v),
                Dest::Packets => load(&mut b.packets, recs, at, len, |v| v),
                Dest::Protocol => load(&mut b.protocol, recs, at, len, |v| v as u8),
                Dest::Tos => load(&mut b.tos, recs, at, len, |v| v as u8),
                Dest::TcpFlags => load(&mut b.tcp_flags, recs, at, len, |v| v as u16),
                Dest::SrcPort => load(&mut b.src_port, recs, at, len, |v| v as u16),
                Dest::DstPort => load(&mut b.dst_port, recs, at, len, |v| v as u16),
                Dest::Src => load_address(&mut b.src_addr, recs, at, len),
                Dest::Dst => load_address(&mut b.dst_addr, recs, at, len),
                Dest::NextHop => load_address(&mut b.next_hop, recs, at, len),
                Dest::SrcMask => load(&mut b.src_mask, recs, at, len, |v| v as u8),
                Dest::DstMask => load(&mut b.dst_mask, recs, at, len, |v| v as u8),
                Dest::InputIf => load(&mut b.input_if, recs, at, len, |v| v as u32),
                Dest::OutputIf => load(&mut b.output_if, recs, at, len, |v| v as u32),
                Dest::SrcAs => load(&mut b.src_as, recs, at, len, |v| v as u32),
                Dest::DstAs => load(&mut b.dst_as, recs, at, len, |v| v as u32),
                Dest::Sampling => load(&mut b.sampling_interval, recs, at, len, |v| v as u32),
                // Per record, below.
                _ => {}
            }
        }
        let uptimes = self.uptimes_only.zip(ctx.sys_uptime_ms);
        if let Some(((up_first, up_last), sys_up)) = uptimes {
            let time = |v: u64| uptime_to_ms(ctx.export_ms, sys_up, v as u32);
            let (at, len) = (up_first.at, up_first.len);
            load(&mut b.start_ms, records.clone(), at, len, time);
            let (at, len) = (up_last.at, up_last.len);
            load(&mut b.end_ms, records.clone(), at, len, time);
        }
        b.fill_rows(first + n, &self.base(ctx));
        if uptimes.is_some() {
            return (n as u32, 0);
        }
        let mut unanchored = 0;
        for (row, rec) in (first..).zip(records) {
            let (t, icmp) = self.record_times(rec, ctx);
            if let Some(port) =
                icmp.filter(|_| matches!(b.protocol[row], 1 | 58) && b.dst_port[row] == 0)
            {
                b.dst_port[row] = port;
            }
            let (s, e, u) = t.resolve(ctx, None);
            b.start_ms[row] = s;
            b.end_ms[row] = e;
            unanchored += u64::from(u);
        }
        (n as u32, unanchored)
    }

    /// The per-record elements of a record: its times, and the ICMP type
    /// and code as a destination port when the template has them.
    fn record_times(&self, rec: &[u8], ctx: &Context) -> (Times, Option<u16>) {
        let mut t = Times::default();
        let (mut icmp_tc, mut icmp_t, mut icmp_c) = (None, 0u8, 0u8);
        for op in &self.record_ops {
            let b = &rec[op.at..op.at + op.len];
            let n = || be_u64(b);
            match op.dest {
                Dest::IcmpTypeCode => icmp_tc = Some(n() as u16),
                Dest::IcmpType => icmp_t = n() as u8,
                Dest::IcmpCode => icmp_c = n() as u8,
                Dest::UpFirst => t.up_first = Some(n() as u32),
                Dest::UpLast => t.up_last = Some(n() as u32),
                Dest::StartSecs => t.abs_start = Some(sat_i64(n()).saturating_mul(1000)),
                Dest::EndSecs => t.abs_end = Some(sat_i64(n()).saturating_mul(1000)),
                Dest::StartMillis => t.abs_start = Some(sat_i64(n())),
                Dest::EndMillis => t.abs_end = Some(sat_i64(n())),
                Dest::StartNtp => t.abs_start = Some(ntp_bytes_ms(b)),
                Dest::EndNtp => t.abs_end = Some(ntp_bytes_ms(b)),
                Dest::StartDeltaMicros => {
                    t.abs_start = Some(ctx.export_ms.saturating_sub(sat_i64(n() / 1000)))
                }
                Dest::EndDeltaMicros => {
                    t.abs_end = Some(ctx.export_ms.saturating_sub(sat_i64(n() / 1000)))
                }
                Dest::DurationMillis => t.duration_ms = Some(n()),
                Dest::DurationMicros => t.duration_ms = Some(n() / 1000),
                // Field loads, above.
                _ => {}
            }
        }
        let icmp = self
            .has_icmp
            .then(|| icmp_tc.unwrap_or_else(|| u16::from(icmp_t) << 8 | u16::from(icmp_c)));
        (t, icmp)
    }

    /// [`Direct::flows`] into rows.
    fn rows(&self, body: &[u8], ctx: &Context, out: &mut Vec<Flow>) -> (u32, u64) {
        let records = body.chunks_exact(self.rec_len);
        let n = records.len();
        if !self.is_flow {
            return (n as u32, 0);
        }
        let base = self.base(ctx);
        let first = out.len();
        out.resize(first + n, base);
        let flows = &mut out[first..];
        for op in &self.field_ops {
            let (at, len) = (op.at, op.len);
            macro_rules! each {
                (|$f:ident, $b:ident| $e:expr) => {
                    for ($f, rec) in flows.iter_mut().zip(records.clone()) {
                        let $b = &rec[at..at + len];
                        $e;
                    }
                };
            }
            match op.dest {
                Dest::Octets => each!(|f, b| f.octets = be_u64(b)),
                Dest::Packets => each!(|f, b| f.packets = be_u64(b)),
                Dest::Protocol => each!(|f, b| f.protocol = be_u64(b) as u8),
                Dest::Tos => each!(|f, b| f.tos = be_u64(b) as u8),
                Dest::TcpFlags => each!(|f, b| f.tcp_flags = be_u64(b) as u16),
                Dest::SrcPort => each!(|f, b| f.src_port = be_u64(b) as u16),
                Dest::DstPort => each!(|f, b| f.dst_port = be_u64(b) as u16),
                Dest::Src => each!(|f, b| f.src_addr = address(b)),
                Dest::Dst => each!(|f, b| f.dst_addr = address(b)),
                Dest::NextHop => each!(|f, b| f.next_hop = address(b)),
                Dest::SrcMask => each!(|f, b| f.src_mask = be_u64(b) as u8),
                Dest::DstMask => each!(|f, b| f.dst_mask = be_u64(b) as u8),
                Dest::InputIf => each!(|f, b| f.input_if = be_u64(b) as u32),
                Dest::OutputIf => each!(|f, b| f.output_if = be_u64(b) as u32),
                Dest::SrcAs => each!(|f, b| f.src_as = be_u64(b) as u32),
                Dest::DstAs => each!(|f, b| f.dst_as = be_u64(b) as u32),
                Dest::Sampling => each!(|f, b| f.sampling_interval = be_u64(b) as u32),
                // Per record, below.
                _ => {}
            }
        }
        if let (Some((first, last)), Some(sys_up)) = (self.uptimes_only, ctx.sys_uptime_ms) {
            let uptime = |rec: &[u8], op: Op| be_u64(&rec[op.at..op.at + op.len]) as u32;
            for (f, rec) in flows.iter_mut().zip(records) {
                f.start_ms = uptime_to_ms(ctx.export_ms, sys_up, uptime(rec, first));
                f.end_ms = uptime_to_ms(ctx.export_ms, sys_up, uptime(rec, last));
            }
            return (n as u32, 0);
        }
        let mut unanchored = 0;
        for (f, rec) in flows.iter_mut().zip(records) {
            let (t, icmp) = self.record_times(rec, ctx);
            if let Some(port) = icmp.filter(|_| matches!(f.protocol, 1 | 58) && f.dst_port == 0) {
                f.dst_port = port;
            }
            let (s, e, u) = t.resolve(ctx, None);
            f.start_ms = s;
            f.end_ms = e;
            unanchored += u64::from(u);
        }
        (n as u32, unanchored)
    }
}

/// Appends a field of `len` bytes at `at` of every record to `dst`, one
/// load per value for the usual widths.
#[inline]
pub(crate) fn load<T>(
    dst: &mut Vec<T>,
    records: std::slice::ChunksExact<'_, u8>,
    at: usize,
    len: usize,
    conv: impl Fn(u64) -> T,
) {
    // `extend` from a mapped `ChunksExact` (whose length is exact)
    // reserves once and writes each value once.
    macro_rules! each {
        ($n:literal, $t:ty) => {
            dst.extend(records.map(|r| {
                let mut a = [0u8; $n];
                a.copy_from_slice(&r[at..at + $n]);
                conv(<$t>::from_be_bytes(a) as u64)
            }))
        };
    }
    match len {
        1 => each!(1, u8),
        2 => each!(2, u16),
        4 => each!(4, u32),
        8 => each!(8, u64),
        _ => dst.extend(records.map(|r| conv(be_u64(&r[at..at + len])))),
    }
}

/// Appends an address field of every record to `a`, as [`address`]
/// reads one: 16 bytes IPv6, 4 bytes IPv4, any other length 0.0.0.0.
pub(crate) fn load_address(
    a: &mut AddrColumn,
    records: std::slice::ChunksExact<'_, u8>,
    at: usize,
    len: usize,
) {
    let n = records.len();
    let to = a.family.len() + n;
    if len == 16 {
        a.v6_mut().extend(records.map(|r| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&r[at..at + 16]);
            u128::from_be_bytes(o)
        }));
        a.family.resize(to, 1);
        a.v4.resize(to, 0);
        return;
    }
    if len == 4 {
        load(&mut a.v4, records, at, 4, |v| v as u32);
    } else {
        a.v4.resize(to, 0);
    }
    a.family.resize(to, 0);
    if a.any_v6() {
        a.v6.resize(to, 0);
    }
}

fn address(b: &[u8]) -> IpAddr {
    match <[u8; 16]>::try_from(b) {
        Ok(o) => IpAddr::V6(Ipv6Addr::from(o)),
        Err(_) => match <[u8; 4]>::try_from(b) {
            Ok(o) => IpAddr::V4(Ipv4Addr::from(o)),
            Err(_) => floe_flow::UNSPECIFIED_V4,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::walker::Plan;

    /// Elements the record rules map, the usual widths they come in, and
    /// some odd ones (which must send the template to the step walker).
    const ELEMENTS: &[(u16, &[u16])] = &[
        (1, &[4, 8, 3]),
        (2, &[4, 8]),
        (85, &[8]),
        (86, &[8]),
        (23, &[4, 8]),
        (24, &[4]),
        (4, &[1]),
        (5, &[1]),
        (6, &[1, 2]),
        (7, &[2]),
        (11, &[2]),
        (180, &[2]),
        (183, &[2]),
        (8, &[4, 16]),
        (12, &[4]),
        (15, &[4]),
        (18, &[4]),
        (27, &[16]),
        (28, &[16, 4]),
        (62, &[16]),
        (63, &[16]),
        (9, &[1]),
        (13, &[1]),
        (29, &[1]),
        (30, &[1]),
        (10, &[2, 4]),
        (14, &[2, 4]),
        (16, &[2, 4]),
        (17, &[4]),
        (32, &[2]),
        (139, &[2]),
        (176, &[1]),
        (177, &[1]),
        (34, &[4]),
        (305, &[2]),
        (22, &[4]),
        (21, &[4]),
        (150, &[4]),
        (151, &[4]),
        (152, &[8]),
        (153, &[8]),
        (154, &[8]),
        (155, &[8]),
        (156, &[8]),
        (157, &[8, 4]),
        (158, &[4]),
        (159, &[4]),
        (161, &[4]),
        (162, &[4]),
        (60, &[1]),
        (231, &[8]),
        (48, &[1]),
        (160, &[8]),
        (99, &[4]),
        (0, &[0, 9]),
    ];

    fn template() -> impl Strategy<Value = Vec<(u16, u16, bool)>> {
        prop::collection::vec(
            (0..ELEMENTS.len(), 0usize..3, prop::bool::weighted(0.05)),
            1..24,
        )
        .prop_map(|picks| {
            picks
                .into_iter()
                .map(|(i, w, enterprise)| {
                    let (ie, widths) = ELEMENTS[i];
                    (ie, widths[w % widths.len()], enterprise)
                })
                .collect()
        })
    }

    fn context(v9: bool, sampling: Option<u32>, init: Option<i64>) -> Context {
        Context {
            exporter: "192.0.2.1".parse().unwrap_or(floe_flow::UNSPECIFIED_V4),
            source_id: 7,
            export_ms: 1_795_305_600_000,
            sys_uptime_ms: v9.then_some(86_400_000),
            sys_init_ms: init,
            sampling,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The direct path gives exactly the step walker's flows (which the
        /// corpus test holds to netflow_parser's), for random templates
        /// with repeated elements, both families, every time element, and
        /// random bytes (zero addresses, ICMP with and without type/code).
        #[test]
        fn direct_matches_the_record_rules(
            fields in template(),
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            zero_mask in any::<u64>(),
            v9 in any::<bool>(),
            sampling in prop::option::of(1u32..1000),
            init in prop::option::of(1_795_000_000_000i64..1_795_300_000_000),
        ) {
            let Some(plan) = Plan::compile(&fields, false) else { return Ok(()) };
            // Zero some bytes so that zero addresses and ICMP protocol
            // numbers come up often.
            let body: Vec<u8> = bytes
                .iter()
                .enumerate()
                .map(|(i, b)| if zero_mask >> (i % 64) & 1 == 1 { 0 } else if i % 7 == 0 { 1 } else { *b })
                .collect();
            let ctx = context(v9, sampling, init);
            let samplers = HashMap::new();
            let mut direct = Vec::new();
            let mut walked = Vec::new();
            let a = plan.flows(&body, &ctx, &samplers, &mut direct);
            let b = plan.clone().without_direct().flows(&body, &ctx, &samplers, &mut walked);
            prop_assert_eq!((a.records, a.unanchored, a.cut_short), (b.records, b.unanchored, b.cut_short));
            // Into columns, after an IPv6 row (so that a column's IPv6
            // values exist before the set's rows), the same flows.
            let mut cols = FlowBatch::with_every_column();
            cols.push_row(&Flow { src_addr: "2001:db8::1".parse().unwrap(), ..Flow::default() });
            prop_assert!(cols.src_addr.any_v6());
            let c = plan.flows(&body, &ctx, &samplers, &mut cols);
            prop_assert_eq!((c.records, c.unanchored), (a.records, a.unanchored));
            prop_assert!(cols.lengths_agree());
            prop_assert_eq!(&cols.to_flows()[1..], &direct[..]);
            prop_assert_eq!(direct, walked);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Templates whose only times are v9's first and last uptimes (the
        /// usual ones, which take the uptimes-only loop) give the step
        /// walker's flows too, in any order, with or without a v9 header
        /// uptime.
        #[test]
        fn uptimes_only_templates_match_the_record_rules(
            fields in Just(vec![
                (1u16, 8u16, false), (2, 4, false), (4, 1, false), (6, 1, false), (7, 2, false),
                (11, 2, false), (8, 4, false), (12, 4, false), (10, 2, false), (22, 4, false),
                (21, 4, false),
            ]).prop_shuffle(),
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            v9 in any::<bool>(),
        ) {
            let Some(plan) = Plan::compile(&fields, false) else {
                return Err(TestCaseError::fail("the usual v9 template is compiled"));
            };
            let ctx = context(v9, None, None);
            let samplers = HashMap::new();
            let (mut direct, mut walked) = (Vec::new(), Vec::new());
            let a = plan.flows(&bytes, &ctx, &samplers, &mut direct);
            let b = plan.clone().without_direct().flows(&bytes, &ctx, &samplers, &mut walked);
            prop_assert!(a.compiled);
            prop_assert_eq!((a.records, a.unanchored), (b.records, b.unanchored));
            prop_assert_eq!(direct, walked);
        }
    }

    #[test]
    fn value_dependent_templates_are_not_compiled() {
        let v4 = [(8, 4, false), (12, 4, false), (1, 4, false)];
        assert!(Direct::compile(&v4).is_some());
        for extra in [
            (27, 16, false),
            (60, 1, false),
            (48, 1, false),
            (1, 65_535, false),
        ] {
            let mut t = v4.to_vec();
            t.push(extra);
            assert!(Direct::compile(&t).is_none(), "{extra:?}");
        }
        // An IPv6 destination without a source: Record's zero-address rule
        // depends on the value.
        assert!(Direct::compile(&[(28, 16, false), (1, 4, false)]).is_none());
        assert!(Direct::compile(&[(27, 16, false), (28, 16, false)]).is_some());
        // Odd lengths of addresses and timestamps.
        assert!(Direct::compile(&[(8, 16, false)]).is_none());
        assert!(Direct::compile(&[(154, 4, false)]).is_none());
        // Enterprise elements of any length are stepped over.
        assert!(Direct::compile(&[(8, 4, false), (60, 65_000, true)]).is_some());
    }
}
