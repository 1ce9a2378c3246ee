//! Flows column by column: what a query reads instead of [`Flow`] rows.
//!
//! A [`FlowBatch`] holds the flows of one block (or part of one) as one
//! vector per field: times, counters, ports and the other numbers in their
//! natural widths, and each address field as an [`AddrColumn`] (a family
//! per flow, the IPv4 values as `u32` and the IPv6 values as `u128`). Only
//! the fields a query asked for are there ([`FlowBatch::has`]); the others
//! are empty vectors, never zeros written for nothing. Filters select rows
//! of a batch, reports aggregate them, and nothing builds a [`Flow`] per
//! row on the way ([`FlowBatch::row`] does, for tests and for the rare
//! consumer that wants one).
//!
//! [`BatchStats`] is what is known about a block's values without
//! decompressing it (ranges, small value sets, the families of its
//! addresses): what a filter asks "can this block match at all?".
//!
//! Both are plain data defined here, in the crate every other floe crate
//! shares, so that the store (which fills them), the filter and the report
//! engine (which read them) need not know one another.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Flow;

/// Calls `$num!(Col, field)` for every numeric column of a [`FlowBatch`]
/// and `$addr!(Col, field)` for every address column: the one list of
/// its columns, for the functions that treat every column alike (a column
/// missed in one of them would leave the batch's lengths disagreeing).
/// Each field has the name of the [`Flow`] field it holds.
macro_rules! for_each_column {
    ($num:ident, $addr:ident) => {
        $num!(Col::Start, start_ms);
        $num!(Col::End, end_ms);
        $num!(Col::SourceId, source_id);
        $num!(Col::SrcPort, src_port);
        $num!(Col::DstPort, dst_port);
        $num!(Col::Protocol, protocol);
        $num!(Col::TcpFlags, tcp_flags);
        $num!(Col::Tos, tos);
        $num!(Col::Packets, packets);
        $num!(Col::Octets, octets);
        $num!(Col::InputIf, input_if);
        $num!(Col::OutputIf, output_if);
        $num!(Col::SrcAs, src_as);
        $num!(Col::DstAs, dst_as);
        $num!(Col::SrcMask, src_mask);
        $num!(Col::DstMask, dst_mask);
        $num!(Col::Sampling, sampling_interval);
        $num!(Col::EngineType, engine_type);
        $num!(Col::EngineId, engine_id);
        $addr!(Col::Exporter, exporter);
        $addr!(Col::SrcAddr, src_addr);
        $addr!(Col::DstAddr, dst_addr);
        $addr!(Col::NextHop, next_hop);
    };
}

mod append;
pub use append::FlowSource;

/// The fields of a flow as columns, in [`Flow`]'s order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Col {
    /// The [`Flow::start_ms`] column.
    Start,
    /// The [`Flow::end_ms`] column.
    End,
    /// The [`Flow::source_id`] column.
    SourceId,
    /// The [`Flow::src_port`] column.
    SrcPort,
    /// The [`Flow::dst_port`] column.
    DstPort,
    /// The [`Flow::protocol`] column.
    Protocol,
    /// The [`Flow::tcp_flags`] column.
    TcpFlags,
    /// The [`Flow::tos`] column.
    Tos,
    /// The [`Flow::packets`] column.
    Packets,
    /// The [`Flow::octets`] column.
    Octets,
    /// The [`Flow::input_if`] column.
    InputIf,
    /// The [`Flow::output_if`] column.
    OutputIf,
    /// The [`Flow::src_as`] column.
    SrcAs,
    /// The [`Flow::dst_as`] column.
    DstAs,
    /// The [`Flow::src_mask`] column.
    SrcMask,
    /// The [`Flow::dst_mask`] column.
    DstMask,
    /// The [`Flow::sampling_interval`] column.
    Sampling,
    /// The [`Flow::engine_type`] column.
    EngineType,
    /// The [`Flow::engine_id`] column.
    EngineId,
    /// The [`Flow::exporter`] column.
    Exporter,
    /// The [`Flow::src_addr`] column.
    SrcAddr,
    /// The [`Flow::dst_addr`] column.
    DstAddr,
    /// The [`Flow::next_hop`] column.
    NextHop,
}

impl Col {
    /// Every column, in order.
    pub const ALL: [Col; 23] = [
        Col::Start,
        Col::End,
        Col::SourceId,
        Col::SrcPort,
        Col::DstPort,
        Col::Protocol,
        Col::TcpFlags,
        Col::Tos,
        Col::Packets,
        Col::Octets,
        Col::InputIf,
        Col::OutputIf,
        Col::SrcAs,
        Col::DstAs,
        Col::SrcMask,
        Col::DstMask,
        Col::Sampling,
        Col::EngineType,
        Col::EngineId,
        Col::Exporter,
        Col::SrcAddr,
        Col::DstAddr,
        Col::NextHop,
    ];

    /// The column of a catalog field (canonical name or alias).
    pub fn of_field(name: &str) -> Option<Col> {
        let f = crate::Field::by_name(name)?;
        Some(match f.name {
            "start-time" => Col::Start,
            "end-time" => Col::End,
            "ip-exporter-address" => Col::Exporter,
            "source-id" => Col::SourceId,
            "ip-source-address" => Col::SrcAddr,
            "ip-destination-address" => Col::DstAddr,
            "ip-next-hop-address" => Col::NextHop,
            "ip-source-port" => Col::SrcPort,
            "ip-destination-port" => Col::DstPort,
            "ip-protocol" => Col::Protocol,
            "ip-tcp-flags" => Col::TcpFlags,
            "ip-tos" => Col::Tos,
            "packets" => Col::Packets,
            "octets" => Col::Octets,
            "input-interface" => Col::InputIf,
            "output-interface" => Col::OutputIf,
            "source-as" => Col::SrcAs,
            "destination-as" => Col::DstAs,
            "source-mask" => Col::SrcMask,
            "destination-mask" => Col::DstMask,
            "sampling-interval" => Col::Sampling,
            "engine-type" => Col::EngineType,
            "engine-id" => Col::EngineId,
            _ => return None,
        })
    }

    /// True for the four address fields.
    pub fn is_address(self) -> bool {
        self >= Col::Exporter
    }
}

/// A set of columns (a projection), as a bit per [`Col`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ColSet(u32);

impl ColSet {
    /// No column.
    pub const NONE: ColSet = ColSet(0);
    /// Every column.
    pub const ALL: ColSet = ColSet((1 << 23) - 1);

    /// The set with `c` added.
    pub fn with(self, c: Col) -> ColSet {
        ColSet(self.0 | 1 << c as u32)
    }

    /// True when `c` is in the set.
    pub fn has(self, c: Col) -> bool {
        self.0 & (1 << c as u32) != 0
    }

    /// The columns in either set.
    pub fn union(self, o: ColSet) -> ColSet {
        ColSet(self.0 | o.0)
    }

    /// True when the set holds no column.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The columns of these catalog fields; an unknown name is returned
    /// as the error.
    pub fn of_fields<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<ColSet, &'a str> {
        names.into_iter().try_fold(ColSet::NONE, |s, n| {
            Col::of_field(n).map(|c| s.with(c)).ok_or(n)
        })
    }

    /// The columns in the set, in order.
    pub fn iter(self) -> impl Iterator<Item = Col> {
        Col::ALL.into_iter().filter(move |c| self.has(*c))
    }
}

/// A batch was asked for a column it does not hold (its reader's
/// projection left it out): a caller's bug, said rather than read as
/// zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingColumn(pub Col);

impl std::fmt::Display for MissingColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the flows were read without their {:?} column, which this query needs",
            self.0
        )
    }
}

impl std::error::Error for MissingColumn {}

/// One address field of a batch: the family of each flow's address (0
/// IPv4, 1 IPv6), its IPv4 value (0 where IPv6) and, when any address of
/// the batch is IPv6, its IPv6 value (0 where IPv4; `v6` is empty when
/// every address is IPv4). Addresses as integers whose big-endian bytes
/// are the address, so that a prefix is a mask and a comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrColumn {
    /// Per flow: 0 for IPv4, 1 for IPv6.
    pub family: Vec<u8>,
    /// Per flow: the IPv4 address as an integer, 0 where the address is IPv6.
    pub v4: Vec<u32>,
    /// Per flow: the IPv6 address as an integer, 0 where IPv4; empty while every
    /// address is IPv4.
    pub v6: Vec<u128>,
}

impl AddrColumn {
    /// The address of row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> IpAddr {
        if self.family[i] == 0 {
            IpAddr::V4(Ipv4Addr::from(self.v4[i]))
        } else {
            IpAddr::V6(Ipv6Addr::from(self.v6[i]))
        }
    }

    /// True when some address is IPv6.
    pub fn any_v6(&self) -> bool {
        !self.v6.is_empty()
    }

    /// Empties the column, keeping its allocations.
    pub fn clear(&mut self) {
        self.family.clear();
        self.v4.clear();
        self.v6.clear();
    }

    /// Appends the address `field` gives of each flow: one pass for the
    /// families and IPv4 values, and one for the IPv6 values only when
    /// the column has some.
    pub fn extend(&mut self, flows: &[Flow], field: impl Fn(&Flow) -> IpAddr) {
        let had_v6 = self.any_v6();
        let mut v6 = false;
        self.family.extend(flows.iter().map(|f| {
            let is_v6 = field(f).is_ipv6();
            v6 |= is_v6;
            u8::from(is_v6)
        }));
        self.v4.extend(flows.iter().map(|f| match field(f) {
            IpAddr::V4(a) => u32::from(a),
            IpAddr::V6(_) => 0,
        }));
        if v6 && !had_v6 {
            self.v6.resize(self.family.len() - flows.len(), 0);
        }
        if v6 || had_v6 {
            self.v6.extend(flows.iter().map(|f| match field(f) {
                IpAddr::V4(_) => 0,
                IpAddr::V6(a) => u128::from(a),
            }));
        }
    }

    /// Appends an address; the first IPv6 address fills `v6` with zeros for the
    /// IPv4 rows before it.
    pub fn push(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(a) => {
                self.family.push(0);
                self.v4.push(u32::from(a));
                if !self.v6.is_empty() {
                    self.v6.push(0);
                }
            }
            IpAddr::V6(a) => {
                if self.v6.is_empty() {
                    self.v6.resize(self.family.len(), 0);
                }
                self.family.push(1);
                self.v4.push(0);
                self.v6.push(u128::from(a));
            }
        }
    }
}

/// Rows laid out as columns at a time by [`FlowBatch::extend_from_flows`]:
/// 128 rows of 136 bytes fit the first cache of the cores we run on
/// (48 KiB) with room for the columns' ends.
const ROW_RUN: usize = 128;

/// Flows as columns; see the module's documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowBatch {
    len: usize,
    cols: ColSet,
    /// [`Flow::start_ms`] of each flow; empty unless the batch holds the column.
    pub start_ms: Vec<i64>,
    /// [`Flow::end_ms`] of each flow; empty unless the batch holds the column.
    pub end_ms: Vec<i64>,
    /// [`Flow::source_id`] of each flow; empty unless the batch holds the column.
    pub source_id: Vec<u32>,
    /// [`Flow::src_port`] of each flow; empty unless the batch holds the column.
    pub src_port: Vec<u16>,
    /// [`Flow::dst_port`] of each flow; empty unless the batch holds the column.
    pub dst_port: Vec<u16>,
    /// [`Flow::protocol`] of each flow; empty unless the batch holds the column.
    pub protocol: Vec<u8>,
    /// [`Flow::tcp_flags`] of each flow; empty unless the batch holds the column.
    pub tcp_flags: Vec<u16>,
    /// [`Flow::tos`] of each flow; empty unless the batch holds the column.
    pub tos: Vec<u8>,
    /// [`Flow::packets`] of each flow; empty unless the batch holds the column.
    pub packets: Vec<u64>,
    /// [`Flow::octets`] of each flow; empty unless the batch holds the column.
    pub octets: Vec<u64>,
    /// [`Flow::input_if`] of each flow; empty unless the batch holds the column.
    pub input_if: Vec<u32>,
    /// [`Flow::output_if`] of each flow; empty unless the batch holds the column.
    pub output_if: Vec<u32>,
    /// [`Flow::src_as`] of each flow; empty unless the batch holds the column.
    pub src_as: Vec<u32>,
    /// [`Flow::dst_as`] of each flow; empty unless the batch holds the column.
    pub dst_as: Vec<u32>,
    /// [`Flow::src_mask`] of each flow; empty unless the batch holds the column.
    pub src_mask: Vec<u8>,
    /// [`Flow::dst_mask`] of each flow; empty unless the batch holds the column.
    pub dst_mask: Vec<u8>,
    /// [`Flow::sampling_interval`] of each flow; empty unless the batch holds the
    /// column.
    pub sampling_interval: Vec<u32>,
    /// [`Flow::engine_type`] of each flow; empty unless the batch holds the column.
    pub engine_type: Vec<u8>,
    /// [`Flow::engine_id`] of each flow; empty unless the batch holds the column.
    pub engine_id: Vec<u8>,
    /// [`Flow::exporter`] of each flow; empty unless the batch holds the column.
    pub exporter: AddrColumn,
    /// [`Flow::src_addr`] of each flow; empty unless the batch holds the column.
    pub src_addr: AddrColumn,
    /// [`Flow::dst_addr`] of each flow; empty unless the batch holds the column.
    pub dst_addr: AddrColumn,
    /// [`Flow::next_hop`] of each flow; empty unless the batch holds the column.
    pub next_hop: AddrColumn,
}

impl FlowBatch {
    /// An empty batch holding no column.
    pub fn new() -> FlowBatch {
        FlowBatch::default()
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the batch holds no flow.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The columns the batch holds.
    pub fn cols(&self) -> ColSet {
        self.cols
    }

    /// True when the batch holds column `c`.
    pub fn has(&self, c: Col) -> bool {
        self.cols.has(c)
    }

    /// Ok when the batch holds every column of `need`, else the first it
    /// lacks.
    pub fn require(&self, need: ColSet) -> Result<(), MissingColumn> {
        match need.iter().find(|c| !self.cols.has(*c)) {
            Some(c) => Err(MissingColumn(c)),
            None => Ok(()),
        }
    }

    /// Empties every column and sets what the batch will hold: `len` flows
    /// of the columns `cols`, which the filler then pushes (each column
    /// must end up `len` long). For the store's decoder and for tests.
    pub fn reset(&mut self, len: usize, cols: ColSet) {
        self.len = len;
        self.cols = cols;
        self.start_ms.clear();
        self.end_ms.clear();
        self.source_id.clear();
        self.src_port.clear();
        self.dst_port.clear();
        self.protocol.clear();
        self.tcp_flags.clear();
        self.tos.clear();
        self.packets.clear();
        self.octets.clear();
        self.input_if.clear();
        self.output_if.clear();
        self.src_as.clear();
        self.dst_as.clear();
        self.src_mask.clear();
        self.dst_mask.clear();
        self.sampling_interval.clear();
        self.engine_type.clear();
        self.engine_id.clear();
        self.exporter.clear();
        self.src_addr.clear();
        self.dst_addr.clear();
        self.next_hop.clear();
    }

    /// True when every column the batch holds is [`FlowBatch::len`] long
    /// (an address field's IPv6 values: that long, or none at all), as the
    /// batch's fillers leave it; a writer checks before it encodes.
    pub fn lengths_agree(&self) -> bool {
        let n = self.len;
        let c = self.cols;
        let ok = |col: Col, len: usize| !c.has(col) || len == n;
        let addr = |col: Col, a: &AddrColumn| {
            !c.has(col)
                || (a.family.len() == n && a.v4.len() == n && (a.v6.is_empty() || a.v6.len() == n))
        };
        ok(Col::Start, self.start_ms.len())
            && ok(Col::End, self.end_ms.len())
            && ok(Col::SourceId, self.source_id.len())
            && ok(Col::SrcPort, self.src_port.len())
            && ok(Col::DstPort, self.dst_port.len())
            && ok(Col::Protocol, self.protocol.len())
            && ok(Col::TcpFlags, self.tcp_flags.len())
            && ok(Col::Tos, self.tos.len())
            && ok(Col::Packets, self.packets.len())
            && ok(Col::Octets, self.octets.len())
            && ok(Col::InputIf, self.input_if.len())
            && ok(Col::OutputIf, self.output_if.len())
            && ok(Col::SrcAs, self.src_as.len())
            && ok(Col::DstAs, self.dst_as.len())
            && ok(Col::SrcMask, self.src_mask.len())
            && ok(Col::DstMask, self.dst_mask.len())
            && ok(Col::Sampling, self.sampling_interval.len())
            && ok(Col::EngineType, self.engine_type.len())
            && ok(Col::EngineId, self.engine_id.len())
            && addr(Col::Exporter, &self.exporter)
            && addr(Col::SrcAddr, &self.src_addr)
            && addr(Col::DstAddr, &self.dst_addr)
            && addr(Col::NextHop, &self.next_hop)
    }

    /// The address column of an address field.
    pub fn addr(&self, c: Col) -> &AddrColumn {
        match c {
            Col::Exporter => &self.exporter,
            Col::SrcAddr => &self.src_addr,
            Col::DstAddr => &self.dst_addr,
            _ => &self.next_hop,
        }
    }

    /// The batch of `flows`, every column.
    pub fn from_flows(flows: &[Flow]) -> FlowBatch {
        let mut b = FlowBatch::new();
        b.fill_from(flows, ColSet::ALL);
        b
    }

    /// Refills the batch from `flows`, keeping only the columns of `cols`.
    pub fn fill_from(&mut self, flows: &[Flow], cols: ColSet) {
        self.reset(0, cols);
        self.extend_from_flows(flows);
    }

    /// Appends `flows`, the columns the batch holds, a column at a time
    /// over runs of [`ROW_RUN`] rows: a run's rows stay in the core's first
    /// cache across its column passes, so each pass is a tight loop over
    /// rows already loaded, with no room to clear first. (One pass over all
    /// the rows, storing each row's fields to every column, cost the store's
    /// writer 1.7 to 2 times as much: it wrote every column twice, once to
    /// make room; and a pass per column over a whole batch read each row's
    /// cache lines again for every column.)
    pub fn extend_from_flows(&mut self, flows: &[Flow]) {
        for run in flows.chunks(ROW_RUN) {
            self.extend_run(run);
        }
    }

    /// [`FlowBatch::extend_from_flows`] of a run of rows.
    fn extend_run(&mut self, flows: &[Flow]) {
        let cols = self.cols;
        self.len += flows.len();
        macro_rules! fill {
            ($c:expr, $v:ident) => {
                if cols.has($c) {
                    self.$v.extend(flows.iter().map(|f| f.$v));
                }
            };
        }
        macro_rules! addr {
            ($c:expr, $v:ident) => {
                if cols.has($c) {
                    self.$v.extend(flows, |f| f.$v);
                }
            };
        }
        for_each_column!(fill, addr);
    }

    /// Row `i` as a [`Flow`], the fields the batch lacks zero (0.0.0.0
    /// for addresses), as the row reader gives them.
    pub fn row(&self, i: usize) -> Flow {
        let c = self.cols;
        macro_rules! v {
            ($col:expr, $v:ident) => {
                if c.has($col) {
                    self.$v[i]
                } else {
                    Default::default()
                }
            };
        }
        macro_rules! a {
            ($col:expr, $v:ident) => {
                if c.has($col) {
                    self.$v.get(i)
                } else {
                    crate::UNSPECIFIED_V4
                }
            };
        }
        Flow {
            start_ms: v!(Col::Start, start_ms),
            end_ms: v!(Col::End, end_ms),
            exporter: a!(Col::Exporter, exporter),
            source_id: v!(Col::SourceId, source_id),
            src_addr: a!(Col::SrcAddr, src_addr),
            dst_addr: a!(Col::DstAddr, dst_addr),
            next_hop: a!(Col::NextHop, next_hop),
            src_port: v!(Col::SrcPort, src_port),
            dst_port: v!(Col::DstPort, dst_port),
            protocol: v!(Col::Protocol, protocol),
            tcp_flags: v!(Col::TcpFlags, tcp_flags),
            tos: v!(Col::Tos, tos),
            packets: v!(Col::Packets, packets),
            octets: v!(Col::Octets, octets),
            input_if: v!(Col::InputIf, input_if),
            output_if: v!(Col::OutputIf, output_if),
            src_as: v!(Col::SrcAs, src_as),
            dst_as: v!(Col::DstAs, dst_as),
            src_mask: v!(Col::SrcMask, src_mask),
            dst_mask: v!(Col::DstMask, dst_mask),
            sampling_interval: v!(Col::Sampling, sampling_interval),
            engine_type: v!(Col::EngineType, engine_type),
            engine_id: v!(Col::EngineId, engine_id),
        }
    }

    /// The rows as [`Flow`]s (see [`FlowBatch::row`]).
    pub fn to_flows(&self) -> Vec<Flow> {
        (0..self.len).map(|i| self.row(i)).collect()
    }

    /// Appends the selected rows as [`Flow`]s to `out`.
    pub fn rows_into(&self, sel: &[u32], out: &mut Vec<Flow>) {
        out.extend(sel.iter().map(|&i| self.row(i as usize)));
    }
}

/// What is known, without decompressing, about the values of one numeric
/// column of a block. Every part is optional: a block written before
/// statistics existed knows only its constant columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NumStats {
    /// The smallest and largest value.
    pub range: Option<(u64, u64)>,
    /// For one-byte columns: the values present, a bit per value 0..=255.
    pub set: Option<[u64; 4]>,
    /// The OR and the AND of every value (bits set somewhere, bits set
    /// everywhere).
    pub bits: Option<(u64, u64)>,
}

impl NumStats {
    /// Every value is `v`.
    pub fn constant(v: u64) -> NumStats {
        let mut set = None;
        if v < 256 {
            let mut s = [0u64; 4];
            s[(v >> 6) as usize] |= 1 << (v & 63);
            set = Some(s);
        }
        NumStats {
            range: Some((v, v)),
            set,
            bits: Some((v, v)),
        }
    }

    /// True when `v` (< 256) may be among the values.
    pub fn may_hold(&self, v: u64) -> bool {
        if let Some((lo, hi)) = self.range {
            if v < lo || v > hi {
                return false;
            }
        }
        match self.set {
            Some(s) if v < 256 => s[(v >> 6) as usize] & (1 << (v & 63)) != 0,
            Some(_) => false,
            None => true,
        }
    }
}

/// What is known about one address field of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddrStats {
    /// Flows whose address is IPv4 (always known, like `v6_count`: the
    /// value columns' lengths).
    pub v4_count: u32,
    /// Flows whose address is IPv6.
    pub v6_count: u32,
    /// Smallest and largest IPv4 value.
    pub v4: Option<(u32, u32)>,
    /// Smallest and largest IPv6 value.
    pub v6: Option<(u128, u128)>,
}

/// What is known about a block's values without decompressing it; see the
/// module's documentation. Numeric columns are indexed by [`Col`] (the
/// time and address slots unused: times and addresses have their own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchStats {
    /// Flows in the block.
    pub records: u32,
    /// Smallest and largest flow start.
    pub start: Option<(i64, i64)>,
    /// Smallest and largest flow end.
    pub end: Option<(i64, i64)>,
    /// The smallest flow start of the block (from its header, so always
    /// known).
    pub min_start_ms: i64,
    /// The largest max(start, end) of the block (from its header).
    pub max_end_ms: i64,
    /// What is known of each numeric column, indexed by [`Col`].
    pub nums: [NumStats; 19],
    /// What is known of each address column: exporter, source, destination, next
    /// hop.
    pub addrs: [AddrStats; 4],
}

impl Default for BatchStats {
    fn default() -> Self {
        BatchStats {
            records: 0,
            start: None,
            end: None,
            min_start_ms: i64::MIN,
            max_end_ms: i64::MAX,
            nums: [NumStats::default(); 19],
            addrs: [AddrStats::default(); 4],
        }
    }
}

impl BatchStats {
    /// The statistics of a numeric column.
    pub fn num(&self, c: Col) -> &NumStats {
        &self.nums[(c as usize).min(18)]
    }

    /// The statistics of an address field.
    pub fn addr(&self, c: Col) -> &AddrStats {
        &self.addrs[(c as usize).saturating_sub(Col::Exporter as usize).min(3)]
    }

    /// Exact statistics of `flows` (what a writer records), for tests and
    /// for writers.
    pub fn of_flows(flows: &[Flow]) -> BatchStats {
        let mut s = BatchStats {
            records: flows.len() as u32,
            ..BatchStats::default()
        };
        if flows.is_empty() {
            return s;
        }
        let span = |v: &mut Option<(i64, i64)>, x: i64| {
            *v = Some(v.map_or((x, x), |(a, b)| (a.min(x), b.max(x))));
        };
        for f in flows {
            span(&mut s.start, f.start_ms);
            span(&mut s.end, f.end_ms);
        }
        s.min_start_ms = s.start.map_or(0, |x| x.0);
        s.max_end_ms = flows
            .iter()
            .map(|f| f.end_ms.max(f.start_ms))
            .max()
            .unwrap_or(0);
        for c in Col::ALL {
            if c < Col::SourceId || c.is_address() {
                continue;
            }
            let vals = flows.iter().map(|f| num_of(f, c));
            let mut n = NumStats {
                range: Some((
                    vals.clone().min().unwrap_or(0),
                    vals.clone().max().unwrap_or(0),
                )),
                bits: Some((
                    vals.clone().fold(0, |a, v| a | v),
                    vals.clone().fold(u64::MAX, |a, v| a & v),
                )),
                set: None,
            };
            if n.range.is_some_and(|r| r.1 < 256) {
                let mut set = [0u64; 4];
                for v in vals {
                    set[(v >> 6) as usize] |= 1 << (v & 63);
                }
                n.set = Some(set);
            }
            s.nums[c as usize] = n;
        }
        for (k, c) in [Col::Exporter, Col::SrcAddr, Col::DstAddr, Col::NextHop]
            .into_iter()
            .enumerate()
        {
            let a = &mut s.addrs[k];
            for f in flows {
                match addr_of(f, c) {
                    IpAddr::V4(x) => {
                        let x = u32::from(x);
                        a.v4_count += 1;
                        a.v4 = Some(a.v4.map_or((x, x), |(l, h)| (l.min(x), h.max(x))));
                    }
                    IpAddr::V6(x) => {
                        let x = u128::from(x);
                        a.v6_count += 1;
                        a.v6 = Some(a.v6.map_or((x, x), |(l, h)| (l.min(x), h.max(x))));
                    }
                }
            }
        }
        s
    }
}

/// A numeric field of a flow by column (0 for times and addresses).
pub fn num_of(f: &Flow, c: Col) -> u64 {
    match c {
        Col::SourceId => f.source_id.into(),
        Col::SrcPort => f.src_port.into(),
        Col::DstPort => f.dst_port.into(),
        Col::Protocol => f.protocol.into(),
        Col::TcpFlags => f.tcp_flags.into(),
        Col::Tos => f.tos.into(),
        Col::Packets => f.packets,
        Col::Octets => f.octets,
        Col::InputIf => f.input_if.into(),
        Col::OutputIf => f.output_if.into(),
        Col::SrcAs => f.src_as.into(),
        Col::DstAs => f.dst_as.into(),
        Col::SrcMask => f.src_mask.into(),
        Col::DstMask => f.dst_mask.into(),
        Col::Sampling => f.sampling_interval.into(),
        Col::EngineType => f.engine_type.into(),
        Col::EngineId => f.engine_id.into(),
        _ => 0,
    }
}

/// An address field of a flow by column.
pub fn addr_of(f: &Flow, c: Col) -> IpAddr {
    match c {
        Col::Exporter => f.exporter,
        Col::SrcAddr => f.src_addr,
        Col::DstAddr => f.dst_addr,
        _ => f.next_hop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_columns() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let flows: Vec<Flow> = (0..10u16)
            .map(|i| Flow {
                start_ms: i64::from(i) * 10,
                end_ms: i64::from(i) * 10 + 5,
                src_addr: if i % 3 == 0 {
                    v6
                } else {
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8))
                },
                dst_port: i,
                octets: u64::from(i) * 100,
                ..Flow::default()
            })
            .collect();
        let b = FlowBatch::from_flows(&flows);
        assert_eq!(b.to_flows(), flows);
        assert_eq!(b.src_addr.v6.len(), flows.len());
        let mut only = FlowBatch::new();
        only.fill_from(&flows, ColSet::NONE.with(Col::DstPort));
        assert_eq!(only.row(4).dst_port, 4);
        assert_eq!(only.row(4).octets, 0);
        assert!(only.require(ColSet::NONE.with(Col::Octets)).is_err());
        let s = BatchStats::of_flows(&flows);
        assert_eq!(s.num(Col::DstPort).range, Some((0, 9)));
        assert_eq!(s.addr(Col::SrcAddr).v6_count, 4);
        assert!(s.num(Col::DstPort).may_hold(9) && !s.num(Col::DstPort).may_hold(10));
    }

    /// Flows appended in runs read back as the rows they were, whichever
    /// run (or piece of a run, [`ROW_RUN`] rows at a time) brings a field's
    /// first IPv6 address (IPv6 values are kept only for fields that have
    /// some), every column or a projection's few.
    #[test]
    fn runs_appended_read_back_as_their_rows() {
        let v6 = |i: u32| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16));
        let v4 = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        // Flow i: IPv6 source from flow 140 on (in the second piece of a
        // long run), IPv6 destination on every seventh flow, IPv6 next hop
        // only at flow 295 (in the third).
        let flows: Vec<Flow> = (0..300u32)
            .map(|i| Flow {
                start_ms: i64::from(i) * 3,
                end_ms: i64::from(i) * 3 - 1,
                source_id: i % 2,
                src_port: i as u16,
                dst_port: 443,
                protocol: 6,
                tcp_flags: i as u16 % 64,
                tos: 1,
                packets: u64::from(i),
                octets: u64::from(i) << 33,
                input_if: i,
                output_if: i + 1,
                src_as: 64_512 + i,
                dst_as: 7,
                src_mask: 24,
                dst_mask: (i % 33) as u8,
                sampling_interval: 1000,
                engine_type: 1,
                engine_id: 2,
                exporter: v4(1),
                src_addr: if i >= 140 { v6(i) } else { v4(i) },
                dst_addr: if i % 7 == 0 { v6(i) } else { v4(i + 1) },
                next_hop: if i == 295 { v6(1) } else { v4(0) },
            })
            .collect();
        for runs in [
            vec![300],
            vec![140, 160],
            vec![1, 139, 1, 154, 5],
            vec![295, 5],
            vec![127, 2, 171],
        ] {
            let mut b = FlowBatch::new();
            b.reset(0, ColSet::ALL);
            let mut at = 0;
            for n in &runs {
                b.extend_from_flows(&flows[at..at + n]);
                at += n;
            }
            assert_eq!(b.to_flows(), flows, "runs {runs:?}");
            assert!(!b.exporter.any_v6(), "runs {runs:?}: no IPv6 exporter");
            assert_eq!(b.next_hop.v6.len(), flows.len(), "runs {runs:?}");
            assert_eq!(b.src_addr.v6.len(), flows.len(), "runs {runs:?}");
            let mut some = FlowBatch::new();
            let cols = ColSet::NONE.with(Col::SrcAddr).with(Col::Octets);
            some.reset(0, cols);
            at = 0;
            for n in &runs {
                some.extend_from_flows(&flows[at..at + n]);
                at += n;
            }
            for (i, f) in flows.iter().enumerate() {
                assert_eq!(
                    (some.row(i).src_addr, some.row(i).octets),
                    (f.src_addr, f.octets)
                );
            }
        }
    }
}
