//! Filling a [`FlowBatch`] without [`Flow`] rows: room made for flows
//! whose fields share a default ([`FlowBatch::grow`], which a decoder then
//! overwrites column by column), a run of another batch appended
//! ([`FlowBatch::extend_from_batch`]), and [`FlowSource`], what a writer
//! takes flows from whether they come as rows or as columns.
//!
//! Why: floed decodes datagrams straight into the columns its store
//! encodes. Rows in between cost a 136-byte [`Flow`] written per flow by
//! the decoder and read again to lay it out as columns.

use std::net::IpAddr;

use super::{AddrColumn, Col, FlowBatch, ROW_RUN};
use crate::Flow;

impl AddrColumn {
    /// Appends `n` copies of `a`.
    pub fn grow(&mut self, n: usize, a: IpAddr) {
        let len = self.family.len();
        match a {
            IpAddr::V4(x) => {
                self.family.resize(len + n, 0);
                self.v4.resize(len + n, u32::from(x));
                if !self.v6.is_empty() {
                    self.v6.resize(len + n, 0);
                }
            }
            IpAddr::V6(x) => {
                if self.v6.is_empty() {
                    self.v6.resize(len, 0);
                }
                self.family.resize(len + n, 1);
                self.v4.resize(len + n, 0);
                self.v6.resize(len + n, u128::from(x));
            }
        }
    }

    /// Makes room for IPv6 values (zeros for the rows so far), as the
    /// first IPv6 address pushed does; returns the IPv6 values.
    pub fn v6_mut(&mut self) -> &mut Vec<u128> {
        if self.v6.is_empty() {
            self.v6.resize(self.family.len(), 0);
        }
        &mut self.v6
    }

    /// Appends rows `from..to` of `src`.
    pub fn extend_from(&mut self, src: &AddrColumn, from: usize, to: usize) {
        let had = self.family.len();
        self.family.extend_from_slice(&src.family[from..to]);
        self.v4.extend_from_slice(&src.v4[from..to]);
        if src.any_v6() {
            if self.v6.is_empty() {
                self.v6.resize(had, 0);
            }
            self.v6.extend_from_slice(&src.v6[from..to]);
        } else if self.any_v6() {
            self.v6.resize(had + (to - from), 0);
        }
    }
}

impl FlowBatch {
    /// An empty batch of every column, for flows to be appended to.
    pub fn with_every_column() -> FlowBatch {
        let mut b = FlowBatch::new();
        b.reset(0, super::ColSet::ALL);
        b
    }

    /// Appends `n` flows equal to `fill` (in the columns the batch holds)
    /// and returns the row of the first: the caller overwrites the fields
    /// that differ, a column at a time.
    pub fn grow(&mut self, n: usize, fill: &Flow) -> usize {
        let first = self.len;
        let to = first + n;
        let cols = self.cols;
        self.len = to;
        macro_rules! fill {
            ($c:expr, $v:ident, $f:ident) => {
                if cols.has($c) {
                    self.$v.resize(to, fill.$f);
                }
            };
        }
        fill!(Col::Start, start_ms, start_ms);
        fill!(Col::End, end_ms, end_ms);
        fill!(Col::SourceId, source_id, source_id);
        fill!(Col::SrcPort, src_port, src_port);
        fill!(Col::DstPort, dst_port, dst_port);
        fill!(Col::Protocol, protocol, protocol);
        fill!(Col::TcpFlags, tcp_flags, tcp_flags);
        fill!(Col::Tos, tos, tos);
        fill!(Col::Packets, packets, packets);
        fill!(Col::Octets, octets, octets);
        fill!(Col::InputIf, input_if, input_if);
        fill!(Col::OutputIf, output_if, output_if);
        fill!(Col::SrcAs, src_as, src_as);
        fill!(Col::DstAs, dst_as, dst_as);
        fill!(Col::SrcMask, src_mask, src_mask);
        fill!(Col::DstMask, dst_mask, dst_mask);
        fill!(Col::Sampling, sampling_interval, sampling_interval);
        fill!(Col::EngineType, engine_type, engine_type);
        fill!(Col::EngineId, engine_id, engine_id);
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                if cols.has($c) {
                    self.$v.grow(n, fill.$v);
                }
            };
        }
        addr!(Col::Exporter, exporter);
        addr!(Col::SrcAddr, src_addr);
        addr!(Col::DstAddr, dst_addr);
        addr!(Col::NextHop, next_hop);
        first
    }

    /// Gives the batch every column it lacks, its rows so far as the row
    /// reader gives a missing column (zeros, 0.0.0.0 for addresses).
    pub fn hold_every_column(&mut self) {
        let missing = self.cols;
        if missing == super::ColSet::ALL {
            return;
        }
        let len = self.len;
        let zero = Flow::default();
        macro_rules! add {
            ($c:expr, $v:ident) => {
                if !missing.has($c) {
                    self.$v.clear();
                    self.$v.resize(len, zero.$v);
                }
            };
        }
        add!(Col::Start, start_ms);
        add!(Col::End, end_ms);
        add!(Col::SourceId, source_id);
        add!(Col::SrcPort, src_port);
        add!(Col::DstPort, dst_port);
        add!(Col::Protocol, protocol);
        add!(Col::TcpFlags, tcp_flags);
        add!(Col::Tos, tos);
        add!(Col::Packets, packets);
        add!(Col::Octets, octets);
        add!(Col::InputIf, input_if);
        add!(Col::OutputIf, output_if);
        add!(Col::SrcAs, src_as);
        add!(Col::DstAs, dst_as);
        add!(Col::SrcMask, src_mask);
        add!(Col::DstMask, dst_mask);
        add!(Col::Sampling, sampling_interval);
        add!(Col::EngineType, engine_type);
        add!(Col::EngineId, engine_id);
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                if !missing.has($c) {
                    self.$v.clear();
                    self.$v.grow(len, zero.$v);
                }
            };
        }
        addr!(Col::Exporter, exporter);
        addr!(Col::SrcAddr, src_addr);
        addr!(Col::DstAddr, dst_addr);
        addr!(Col::NextHop, next_hop);
        self.cols = super::ColSet::ALL;
    }

    /// Appends one flow (the columns the batch holds).
    pub fn push_flow(&mut self, f: &Flow) {
        self.extend_from_flows(std::slice::from_ref(f));
    }

    /// Drops the rows from `len` on.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        self.len = len;
        macro_rules! cut {
            ($($v:ident),*) => {
                $(self.$v.truncate(len);)*
            };
        }
        cut!(
            start_ms,
            end_ms,
            source_id,
            src_port,
            dst_port,
            protocol,
            tcp_flags,
            tos,
            packets,
            octets,
            input_if,
            output_if,
            src_as,
            dst_as,
            src_mask,
            dst_mask,
            sampling_interval,
            engine_type,
            engine_id
        );
        for a in [
            &mut self.exporter,
            &mut self.src_addr,
            &mut self.dst_addr,
            &mut self.next_hop,
        ] {
            a.family.truncate(len);
            a.v4.truncate(len);
            a.v6.truncate(len);
        }
    }

    /// Appends rows `from..to` of `src`, the columns this batch holds
    /// (a column `src` lacks is appended as the row reader gives it: zeros,
    /// 0.0.0.0 for addresses).
    pub fn extend_from_batch(&mut self, src: &FlowBatch, from: usize, to: usize) {
        let to = to.min(src.len);
        let from = from.min(to);
        let cols = self.cols;
        let n = to - from;
        let zero = Flow::default();
        let start = self.len;
        self.len += n;
        let end = self.len;
        macro_rules! copy {
            ($c:expr, $v:ident) => {
                if cols.has($c) {
                    if src.cols.has($c) {
                        self.$v.extend_from_slice(&src.$v[from..to]);
                    } else {
                        self.$v.resize(end, zero.$v);
                    }
                }
            };
        }
        copy!(Col::Start, start_ms);
        copy!(Col::End, end_ms);
        copy!(Col::SourceId, source_id);
        copy!(Col::SrcPort, src_port);
        copy!(Col::DstPort, dst_port);
        copy!(Col::Protocol, protocol);
        copy!(Col::TcpFlags, tcp_flags);
        copy!(Col::Tos, tos);
        copy!(Col::Packets, packets);
        copy!(Col::Octets, octets);
        copy!(Col::InputIf, input_if);
        copy!(Col::OutputIf, output_if);
        copy!(Col::SrcAs, src_as);
        copy!(Col::DstAs, dst_as);
        copy!(Col::SrcMask, src_mask);
        copy!(Col::DstMask, dst_mask);
        copy!(Col::Sampling, sampling_interval);
        copy!(Col::EngineType, engine_type);
        copy!(Col::EngineId, engine_id);
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                if cols.has($c) {
                    if src.cols.has($c) {
                        self.$v.extend_from(&src.$v, from, to);
                    } else {
                        self.$v.grow(n, zero.$v);
                    }
                }
            };
        }
        addr!(Col::Exporter, exporter);
        addr!(Col::SrcAddr, src_addr);
        addr!(Col::DstAddr, dst_addr);
        addr!(Col::NextHop, next_hop);
        debug_assert_eq!(start + n, end);
    }

    /// Rows `from..to` as [`Flow`]s appended to `out` (see
    /// [`FlowBatch::row`] for the fields it lacks), a column at a time
    /// over runs of [`ROW_RUN`] rows: a run's rows stay in the first cache
    /// across the column passes, where a pass per column over a batch of
    /// floed's (a megabyte of rows) read them from memory each time.
    pub fn rows_to(&self, from: usize, to: usize, out: &mut Vec<Flow>) {
        let to = to.min(self.len);
        let mut at = from.min(to);
        while at < to {
            let end = (at + ROW_RUN).min(to);
            self.run_to(at, end, out);
            at = end;
        }
    }

    /// [`FlowBatch::rows_to`] of one run.
    fn run_to(&self, from: usize, to: usize, out: &mut Vec<Flow>) {
        let first = out.len();
        out.resize(first + (to - from), Flow::default());
        let rows = &mut out[first..];
        let c = self.cols;
        macro_rules! put {
            ($col:expr, $v:ident, $f:ident) => {
                if c.has($col) {
                    for (r, v) in rows.iter_mut().zip(&self.$v[from..to]) {
                        r.$f = *v;
                    }
                }
            };
        }
        put!(Col::Start, start_ms, start_ms);
        put!(Col::End, end_ms, end_ms);
        put!(Col::SourceId, source_id, source_id);
        put!(Col::SrcPort, src_port, src_port);
        put!(Col::DstPort, dst_port, dst_port);
        put!(Col::Protocol, protocol, protocol);
        put!(Col::TcpFlags, tcp_flags, tcp_flags);
        put!(Col::Tos, tos, tos);
        put!(Col::Packets, packets, packets);
        put!(Col::Octets, octets, octets);
        put!(Col::InputIf, input_if, input_if);
        put!(Col::OutputIf, output_if, output_if);
        put!(Col::SrcAs, src_as, src_as);
        put!(Col::DstAs, dst_as, dst_as);
        put!(Col::SrcMask, src_mask, src_mask);
        put!(Col::DstMask, dst_mask, dst_mask);
        put!(Col::Sampling, sampling_interval, sampling_interval);
        put!(Col::EngineType, engine_type, engine_type);
        put!(Col::EngineId, engine_id, engine_id);
        macro_rules! addr {
            ($col:expr, $v:ident) => {
                if c.has($col) {
                    let a = &self.$v;
                    if a.any_v6() {
                        let fams = &a.family[from..to];
                        let v4s = &a.v4[from..to];
                        let v6s = &a.v6[from..to];
                        for (((r, f), x4), x6) in rows.iter_mut().zip(fams).zip(v4s).zip(v6s) {
                            r.$v = if *f == 0 {
                                IpAddr::V4((*x4).into())
                            } else {
                                IpAddr::V6((*x6).into())
                            };
                        }
                    } else {
                        for (r, v) in rows.iter_mut().zip(&a.v4[from..to]) {
                            r.$v = IpAddr::V4((*v).into());
                        }
                    }
                }
            };
        }
        addr!(Col::Exporter, exporter);
        addr!(Col::SrcAddr, src_addr);
        addr!(Col::DstAddr, dst_addr);
        addr!(Col::NextHop, next_hop);
    }
}

/// Flows a writer takes a run at a time into its batch of columns:
/// [`Flow`] rows or a [`FlowBatch`].
pub trait FlowSource {
    /// Number of flows.
    fn flow_count(&self) -> usize;
    /// Appends flows `from..to` to `batch`.
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch);
}

impl FlowSource for [Flow] {
    fn flow_count(&self) -> usize {
        self.len()
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        batch.extend_from_flows(&self[from..to]);
    }
}

impl FlowSource for Vec<Flow> {
    fn flow_count(&self) -> usize {
        self.len()
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        batch.extend_from_flows(&self[from..to]);
    }
}

impl<const N: usize> FlowSource for [Flow; N] {
    fn flow_count(&self) -> usize {
        N
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        batch.extend_from_flows(&self[from..to]);
    }
}

impl FlowSource for FlowBatch {
    fn flow_count(&self) -> usize {
        self.len()
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        batch.extend_from_batch(self, from, to);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::ColSet;

    fn flow(i: u64, v6: bool) -> Flow {
        let a = |x: u64| -> IpAddr {
            if v6 {
                format!("2001:db8::{x:x}").parse().unwrap()
            } else {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + x as u32))
            }
        };
        Flow {
            start_ms: 1_000 + i as i64,
            end_ms: 2_000 + i as i64,
            exporter: a(1),
            source_id: 7,
            src_addr: a(i),
            dst_addr: a(i + 1),
            next_hop: a(0),
            src_port: i as u16,
            dst_port: 443,
            protocol: 6,
            tcp_flags: 0x12,
            tos: 3,
            packets: i,
            octets: i * 100,
            input_if: 1,
            output_if: 2,
            src_as: 64_500,
            dst_as: i as u32,
            src_mask: 24,
            dst_mask: 16,
            sampling_interval: 10,
            engine_type: 1,
            engine_id: 2,
        }
    }

    /// IPv6 rows in the middle, so that a column's IPv6 values start late
    /// in one batch and early in another.
    fn flows() -> Vec<Flow> {
        (0..40).map(|i| flow(i, (13..20).contains(&i))).collect()
    }

    #[test]
    fn runs_of_a_batch_append_as_their_rows_would() {
        let rows = flows();
        let src = FlowBatch::from_flows(&rows);
        for cut in [0, 5, 13, 16, 20, 40] {
            let mut a = FlowBatch::from_flows(&rows[..3]);
            a.extend_from_batch(&src, 0, cut);
            a.extend_from_batch(&src, cut, 40);
            let mut b = FlowBatch::from_flows(&rows[..3]);
            b.extend_from_flows(&rows);
            assert_eq!(a.to_flows(), b.to_flows(), "cut at {cut}");
            assert!(a.lengths_agree());
        }
    }

    #[test]
    fn a_column_the_source_lacks_appends_as_the_row_reader_gives_it() {
        let rows = flows();
        let mut src = FlowBatch::new();
        let cols = Col::ALL
            .into_iter()
            .filter(|c| !matches!(c, Col::Octets | Col::DstAddr))
            .fold(ColSet::default(), ColSet::with);
        src.fill_from(&rows, cols);
        let mut all = FlowBatch::with_every_column();
        all.extend_from_batch(&src, 0, rows.len());
        assert!(all.lengths_agree());
        for (i, f) in rows.iter().enumerate() {
            let g = all.row(i);
            assert_eq!(g.octets, 0);
            assert_eq!(g.dst_addr, crate::UNSPECIFIED_V4);
            assert_eq!(g.src_addr, f.src_addr);
        }
    }

    #[test]
    fn grown_rows_are_the_fill_and_overwrites_land_in_their_row() {
        let mut b = FlowBatch::from_flows(&flows()[..4]);
        let fill = flow(99, true);
        let first = b.grow(3, &fill);
        assert_eq!(first, 4);
        b.octets[first + 1] = 5;
        b.src_addr.v6_mut()[first + 2] = 9;
        assert!(b.lengths_agree());
        assert_eq!(b.row(4), fill);
        assert_eq!(b.row(5).octets, 5);
        assert_eq!(b.row(6).src_addr, "::9".parse::<IpAddr>().unwrap());
        assert_eq!(b.row(3), flows()[3]);
        b.truncate(4);
        assert!(b.lengths_agree());
        assert_eq!(b.to_flows(), flows()[..4].to_vec());
    }

    #[test]
    fn rows_come_back_from_any_run() {
        let rows = flows();
        let b = FlowBatch::from_flows(&rows);
        let mut out = vec![flow(1, false)];
        b.rows_to(10, 25, &mut out);
        assert_eq!(out[1..], rows[10..25]);
        // Across runs of ROW_RUN rows, IPv6 here and there.
        let long: Vec<Flow> = (0..300).map(|i| flow(i, i % 5 == 0)).collect();
        out.clear();
        FlowBatch::from_flows(&long).rows_to(5, 290, &mut out);
        assert_eq!(out, long[5..290]);
        let v4 = FlowBatch::from_flows(&rows[..10]);
        out.clear();
        v4.rows_to(0, 99, &mut out);
        assert_eq!(out, rows[..10]);
    }

    #[test]
    fn sources_of_rows_and_of_columns_append_alike() {
        let rows = flows();
        let cols = FlowBatch::from_flows(&rows);
        let (mut a, mut b) = (
            FlowBatch::with_every_column(),
            FlowBatch::with_every_column(),
        );
        FlowSource::append_to(&rows[..], 7, 30, &mut a);
        cols.append_to(7, 30, &mut b);
        assert_eq!(a, b);
        assert_eq!(rows.flow_count(), cols.flow_count());
    }
}
