//! Filling a [`FlowBatch`] without [`Flow`] rows: room made for flows
//! whose fields share a default ([`FlowBatch::grow`], which a decoder then
//! overwrites column by column), a run of another batch appended
//! ([`FlowBatch::extend_from_batch`]), a batch cut back or shrunk, and
//! [`FlowSource`], what a writer takes flows from whether they come as rows
//! or as columns.
//!
//! Why: floed decodes datagrams straight into the columns its store
//! encodes. Rows in between cost a 136-byte [`Flow`] written per flow by
//! the decoder and read again to lay it out as columns.

use std::net::IpAddr;

use super::{AddrColumn, Col, FlowBatch};
use crate::Flow;

impl AddrColumn {
    /// Appends `n` copies of `a`.
    pub fn grow(&mut self, n: usize, a: IpAddr) {
        if n == 0 {
            return;
        }
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
        // IPv6 values only where the rows have an IPv6 address: a column
        // of IPv4 rows keeps none.
        if src.any_v6() && src.family[from..to].contains(&1) {
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
        self.fill_rows(first + n, fill);
        first
    }

    /// Makes the batch `to` rows long: every column it holds that is
    /// shorter gets `fill`'s value in its missing rows. For a decoder
    /// that appends the fields it reads column by column and then fills
    /// the others: each column's new rows are written once (filling them
    /// all first and overwriting most, as [`FlowBatch::grow`] lets a
    /// caller do, writes a batch's memory twice). Columns longer than `to`
    /// are left as they are (the batch is then not well formed).
    pub fn fill_rows(&mut self, to: usize, fill: &Flow) {
        let cols = self.cols;
        self.len = to;
        macro_rules! num {
            ($c:expr, $v:ident) => {
                if cols.has($c) && self.$v.len() < to {
                    self.$v.resize(to, fill.$v);
                }
            };
        }
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                if cols.has($c) && self.$v.family.len() < to {
                    let n = to - self.$v.family.len();
                    self.$v.grow(n, fill.$v);
                }
            };
        }
        for_each_column!(num, addr);
    }

    /// Gives the batch every column it lacks, its rows so far as the row
    /// reader gives a missing column (zeros, 0.0.0.0 for addresses).
    pub fn hold_every_column(&mut self) {
        let held = self.cols;
        if held == super::ColSet::ALL {
            return;
        }
        let len = self.len;
        let zero = Flow::default();
        macro_rules! num {
            ($c:expr, $v:ident) => {
                if !held.has($c) {
                    self.$v.clear();
                    self.$v.resize(len, zero.$v);
                }
            };
        }
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                if !held.has($c) {
                    self.$v.clear();
                    self.$v.grow(len, zero.$v);
                }
            };
        }
        for_each_column!(num, addr);
        self.cols = super::ColSet::ALL;
    }

    /// Appends one flow, the columns the batch holds only (the others stay
    /// empty: see [`FlowBatch::hold_every_column`]).
    pub fn push_row(&mut self, f: &Flow) {
        self.extend_from_flows(std::slice::from_ref(f));
    }

    /// Drops the rows from `len` on. An address column left with IPv4
    /// rows only drops its IPv6 values, as one that never had any.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        self.len = len;
        macro_rules! num {
            ($c:expr, $v:ident) => {
                self.$v.truncate(len);
            };
        }
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                let a = &mut self.$v;
                a.family.truncate(len);
                a.v4.truncate(len);
                a.v6.truncate(len);
                if !a.family.contains(&1) {
                    a.v6.clear();
                }
            };
        }
        for_each_column!(num, addr);
    }

    /// Frees the room of every column beyond `rows` rows (a spare batch
    /// of floed's after a burst of small records: room is kept between
    /// batches, not all the room the largest one took).
    pub fn shrink_to(&mut self, rows: usize) {
        macro_rules! num {
            ($c:expr, $v:ident) => {
                self.$v.shrink_to(rows);
            };
        }
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                self.$v.family.shrink_to(rows);
                self.$v.v4.shrink_to(rows);
                self.$v.v6.shrink_to(rows);
            };
        }
        for_each_column!(num, addr);
    }

    /// True when the batch is as its fillers leave it
    /// ([`FlowBatch::lengths_agree`]), every address family is 0 or 1,
    /// and no address column says IPv6 where it holds no IPv6 values:
    /// what a consumer may index without checking.
    pub fn is_well_formed(&self) -> bool {
        // A family is 0 or 1 (a reader takes anything but 0 for IPv6),
        // and IPv6 only where there are IPv6 values.
        let fits = |a: &AddrColumn| {
            a.family.iter().fold(0, |m, f| m | f) <= if a.v6.is_empty() { 0 } else { 1 }
        };
        self.lengths_agree()
            && fits(&self.exporter)
            && fits(&self.src_addr)
            && fits(&self.dst_addr)
            && fits(&self.next_hop)
    }

    /// Appends rows `from..to` of `src` (clamped to its rows), the columns
    /// this batch holds (a column `src` lacks is appended as the row reader
    /// gives it: zeros, 0.0.0.0 for addresses). `src` must be well formed
    /// ([`FlowBatch::is_well_formed`]).
    pub fn extend_from_batch(&mut self, src: &FlowBatch, from: usize, to: usize) {
        let to = to.min(src.len);
        let from = from.min(to);
        let cols = self.cols;
        let n = to - from;
        let zero = Flow::default();
        self.len += n;
        let end = self.len;
        macro_rules! num {
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
        for_each_column!(num, addr);
    }
}

/// Flows a writer takes a run at a time into its batch of columns:
/// [`Flow`] rows or a [`FlowBatch`].
pub trait FlowSource {
    /// Number of flows.
    fn flow_count(&self) -> usize;
    /// Appends flows `from..to` to `batch`, the range clamped to the flows
    /// there are.
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch);
    /// Whether the flows can be taken as they are (a batch of columns
    /// whose lengths disagree cannot: a writer refuses it whole).
    fn well_formed(&self) -> bool {
        true
    }
    /// The flows as a batch of columns, when they are one (a writer may
    /// then encode them as they are, without copying them first).
    fn as_batch(&self) -> Option<&FlowBatch> {
        None
    }
}

/// `from..to` clamped to `0..len`.
fn clamp(from: usize, to: usize, len: usize) -> std::ops::Range<usize> {
    let to = to.min(len);
    from.min(to)..to
}

impl FlowSource for [Flow] {
    fn flow_count(&self) -> usize {
        self.len()
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        batch.extend_from_flows(&self[clamp(from, to, self.len())]);
    }
}

impl FlowSource for Vec<Flow> {
    fn flow_count(&self) -> usize {
        self.len()
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        self[..].append_to(from, to, batch);
    }
}

impl<const N: usize> FlowSource for [Flow; N] {
    fn flow_count(&self) -> usize {
        N
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        self[..].append_to(from, to, batch);
    }
}

impl FlowSource for FlowBatch {
    fn flow_count(&self) -> usize {
        self.len()
    }
    fn append_to(&self, from: usize, to: usize, batch: &mut FlowBatch) {
        batch.extend_from_batch(self, from, to);
    }
    fn well_formed(&self) -> bool {
        self.is_well_formed()
    }
    fn as_batch(&self) -> Option<&FlowBatch> {
        Some(self)
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

    /// Columns appended to by hand keep their values, the others get the
    /// fill's (an address column an IPv6 fill, after IPv4 rows); the rows
    /// before are untouched.
    #[test]
    fn filled_rows_keep_the_appended_columns_and_fill_the_rest() {
        let mut b = FlowBatch::from_flows(&flows()[..4]);
        let fill = flow(99, true);
        b.octets.extend([7, 8]);
        b.dst_addr.family.extend([0, 0]);
        b.dst_addr.v4.extend([1, 2]);
        b.fill_rows(6, &fill);
        assert!(b.lengths_agree());
        assert_eq!(b.len(), 6);
        assert_eq!(b.to_flows()[..4], flows()[..4]);
        for (i, row) in [4, 5].into_iter().enumerate() {
            let want = Flow {
                octets: 7 + i as u64,
                dst_addr: IpAddr::V4(Ipv4Addr::from(1 + i as u32)),
                ..fill.clone()
            };
            assert_eq!(b.row(row), want);
        }
    }

    #[test]
    fn truncated_columns_of_ipv4_only_drop_their_ipv6_values() {
        let rows = flows();
        let mut b = FlowBatch::from_flows(&rows);
        b.truncate(20);
        assert!(b.src_addr.any_v6());
        b.truncate(13);
        assert!(!b.src_addr.any_v6());
        assert_eq!(b, FlowBatch::from_flows(&rows[..13]));
        assert!(b.is_well_formed());
    }

    #[test]
    fn a_batch_saying_ipv6_without_its_values_is_not_well_formed() {
        let mut b = FlowBatch::from_flows(&flows()[..5]);
        assert!(b.is_well_formed());
        b.dst_addr.family[2] = 1;
        assert!(b.lengths_agree());
        assert!(!b.is_well_formed());
        assert!(!FlowSource::well_formed(&b));
        let mut c = FlowBatch::from_flows(&flows()[..5]);
        c.octets.pop();
        assert!(!c.is_well_formed());
        // A family neither 0 nor 1, with IPv6 values or without.
        let mut d = FlowBatch::from_flows(&flows()[..5]);
        d.exporter.family[1] = 2;
        assert!(!d.exporter.any_v6() && !d.is_well_formed());
        let mut e = FlowBatch::from_flows(&flows());
        assert!(e.src_addr.any_v6() && e.is_well_formed());
        e.src_addr.family[0] = 3;
        assert!(!e.is_well_formed());
    }

    #[test]
    fn shrunk_batches_keep_their_rows_and_less_room() {
        let rows = flows();
        let mut b = FlowBatch::from_flows(&rows);
        b.truncate(0);
        b.shrink_to(4);
        assert!(b.octets.capacity() < 40);
        assert!(b.src_addr.v4.capacity() < 40);
        b.extend_from_flows(&rows);
        assert_eq!(b.to_flows(), rows);
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
        // Ranges past the end are clamped alike.
        let (mut a, mut b) = (
            FlowBatch::with_every_column(),
            FlowBatch::with_every_column(),
        );
        FlowSource::append_to(&rows[..], 30, 99, &mut a);
        cols.append_to(30, 99, &mut b);
        FlowSource::append_to(&rows[..], 99, 5, &mut a);
        cols.append_to(99, 5, &mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10);
    }
}
