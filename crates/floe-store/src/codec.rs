//! The block codec: a run of flows to one block body and back.
//!
//! A block is stored column-wise. Every column is a vector of unsigned
//! little-endian integers of one width (1 to 16 bytes), chosen per block as
//! the fewest bytes that hold the block's largest value, and laid out as
//! byte planes (all the lowest bytes, then all the next bytes...), so that
//! the mostly-constant high bytes of counters, ports and addresses sit
//! together. Each column is then compressed on its own with zstd, or stored
//! as a single value when it is constant over the block.
//!
//! Why this layout: the same flows as fixed-width rows (natural field
//! widths, 16-byte addresses) compress markedly worse than these columns
//! at the same zstd level (`store-figures` in benches/ measures both).
//! The fixed-width decode is a byte-plane transpose, with no per-field
//! parsing as a general serializer would need. Compressing columns
//! separately costs a few bytes per column per block and lets a reader
//! decompress only the columns a query needs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floe_flow::{AddrColumn, ColSet, Flow, FlowBatch};

use crate::error::BlockError;
use crate::format::{
    BlockHeader, BLOCK_HEADER_LEN, CHUNK_HEADER_LEN, MAX_BLOCK_RECORDS, MAX_COLUMNS,
};
use crate::planes::PlaneCompressor;

/// Column ids, in the order they are written.
pub(crate) mod col {
    pub const START: u8 = 0;
    pub const END: u8 = 1;
    pub const SOURCE_ID: u8 = 2;
    pub const SRC_PORT: u8 = 3;
    pub const DST_PORT: u8 = 4;
    pub const PROTOCOL: u8 = 5;
    pub const TCP_FLAGS: u8 = 6;
    pub const TOS: u8 = 7;
    pub const PACKETS: u8 = 8;
    pub const OCTETS: u8 = 9;
    pub const INPUT_IF: u8 = 10;
    pub const OUTPUT_IF: u8 = 11;
    pub const SRC_AS: u8 = 12;
    pub const DST_AS: u8 = 13;
    pub const SRC_MASK: u8 = 14;
    pub const DST_MASK: u8 = 15;
    pub const SAMPLING: u8 = 16;
    pub const ENGINE_TYPE: u8 = 17;
    pub const ENGINE_ID: u8 = 18;
    /// Address fields take three columns each: family (0 = IPv4, 1 = IPv6)
    /// per flow, then the IPv4 values (u32, one per IPv4 flow), then the
    /// IPv6 values (u128, one per IPv6 flow).
    pub const EXPORTER: u8 = 19;
    pub const SRC_ADDR: u8 = 22;
    pub const DST_ADDR: u8 = 25;
    pub const NEXT_HOP: u8 = 28;
    /// Number of value columns this version writes.
    pub const COUNT: usize = 31;
    /// The block's statistics (`stats.rs`): not values, but what a reader
    /// may know of the values without decompressing them.
    pub const STATS: u8 = 31;
}

/// Chunk encodings.
pub(crate) const ENC_CONST: u8 = 0;
pub(crate) const ENC_ZSTD: u8 = 1;
pub(crate) const ENC_RAW: u8 = 2;

/// Rows assembled at a time when decoding (keeps the working set in L1).
const BATCH: usize = 128;

/// Encodes runs of flows into block bodies. Keeps its zstd context and
/// scratch buffers between blocks.
pub struct BlockEncoder {
    compressor: PlaneCompressor,
    /// A time column derived from the batch's (the start relative to the
    /// block's earliest, the end relative to the start).
    narrow: Vec<u64>,
    /// An address field's IPv6 values, apart from its IPv4 ones.
    wide: Vec<u128>,
    /// [`BlockEncoder::encode`]'s flows as columns.
    rows: FlowBatch,
    /// An address field's IPv4 values, when some of the field's values
    /// are IPv6.
    v4s: Vec<u32>,
    /// Byte planes of a column: the first `planes_len` bytes.
    planes: Vec<u8>,
    planes_len: usize,
    compressed: Vec<u8>,
    /// The statistics chunk being gathered (`stats.rs`).
    stats: crate::stats::StatsWriter,
    /// Whether blocks get their statistics chunk.
    statistics: bool,
}

impl BlockEncoder {
    /// A block encoder at zstd `level`; fails only when zstd cannot make a compression context.
    pub fn new(level: i32) -> std::io::Result<Self> {
        Ok(BlockEncoder {
            compressor: PlaneCompressor::new(level)?,
            narrow: Vec::new(),
            wide: Vec::new(),
            rows: FlowBatch::new(),
            v4s: Vec::new(),
            planes: Vec::new(),
            planes_len: 0,
            compressed: Vec::new(),
            stats: crate::stats::StatsWriter::default(),
            statistics: true,
        })
    }

    /// Writes blocks without their statistics chunk (column 31), as floe
    /// did before it existed: for tests that old files read the same, and
    /// for measuring what statistics cost.
    pub fn set_statistics(&mut self, on: bool) {
        self.statistics = on;
    }

    /// Appends the block body for `flows` (block header then column chunks)
    /// to `out` and returns the block header: the flows are laid out as
    /// columns (a [`FlowBatch`]) and encoded by [`BlockEncoder::encode_batch`].
    pub fn encode(&mut self, flows: &[Flow], out: &mut Vec<u8>) -> std::io::Result<BlockHeader> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.fill_from(flows, ColSet::ALL);
        let head = self.encode_batch(&rows, out);
        self.rows = rows;
        head
    }

    /// Appends the block body for the flows of `batch`, which must hold
    /// every column, to `out` and returns the block header.
    ///
    /// Every pass reads one column's vector from start to end: whether it
    /// varies and how wide its values are, then its byte planes. (Gathering
    /// a column from 136-byte [`Flow`] rows read a cache line per flow per
    /// column, and a block of rows is larger than a core's L2 cache.)
    pub fn encode_batch(
        &mut self,
        batch: &FlowBatch,
        out: &mut Vec<u8>,
    ) -> std::io::Result<BlockHeader> {
        let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
        batch
            .require(ColSet::ALL)
            .map_err(|e| invalid(e.to_string()))?;
        if !batch.lengths_agree() {
            // A block of such columns would be written and not read back.
            return Err(invalid(format!(
                "a batch of {} flows with columns of other lengths",
                batch.len()
            )));
        }
        let n = batch.len();
        let times = Times::of(&batch.start_ms, &batch.end_ms);
        let sum = |v: &[u64]| v.iter().fold(0u64, |a, x| a.saturating_add(*x));
        let head = BlockHeader {
            records: n as u32,
            columns: col::COUNT as u16 + u16::from(self.statistics),
            min_start_ms: times.start.0,
            max_end_ms: times.max_end,
            packets: sum(&batch.packets),
            octets: sum(&batch.octets),
        };
        out.extend_from_slice(&head.encode());
        self.stats.on = self.statistics;
        self.stats.begin(&crate::stats::Times {
            start: times.start,
            end: times.end,
        });

        // Times: the start relative to the block's earliest, the end
        // relative to the start (zigzag: an exporter may send an end
        // before the start).
        let mut derived = std::mem::take(&mut self.narrow);
        derived.clear();
        derived.extend(
            batch
                .start_ms
                .iter()
                .map(|s| s.wrapping_sub(head.min_start_ms) as u64),
        );
        let started = self.lanes(col::START, &derived, false, out);
        derived.clear();
        derived.extend(
            batch
                .start_ms
                .iter()
                .zip(&batch.end_ms)
                .map(|(s, e)| zigzag(e.wrapping_sub(*s))),
        );
        let ended = started.and_then(|()| self.lanes(col::END, &derived, false, out));
        self.narrow = derived;
        ended?;

        self.lanes(col::SOURCE_ID, &batch.source_id, true, out)?;
        self.lanes(col::SRC_PORT, &batch.src_port, true, out)?;
        self.lanes(col::DST_PORT, &batch.dst_port, true, out)?;
        self.lanes(col::PROTOCOL, &batch.protocol, true, out)?;
        self.lanes(col::TCP_FLAGS, &batch.tcp_flags, true, out)?;
        self.lanes(col::TOS, &batch.tos, true, out)?;
        self.lanes(col::PACKETS, &batch.packets, true, out)?;
        self.lanes(col::OCTETS, &batch.octets, true, out)?;
        self.lanes(col::INPUT_IF, &batch.input_if, true, out)?;
        self.lanes(col::OUTPUT_IF, &batch.output_if, true, out)?;
        self.lanes(col::SRC_AS, &batch.src_as, true, out)?;
        self.lanes(col::DST_AS, &batch.dst_as, true, out)?;
        self.lanes(col::SRC_MASK, &batch.src_mask, true, out)?;
        self.lanes(col::DST_MASK, &batch.dst_mask, true, out)?;
        self.lanes(col::SAMPLING, &batch.sampling_interval, true, out)?;
        self.lanes(col::ENGINE_TYPE, &batch.engine_type, true, out)?;
        self.lanes(col::ENGINE_ID, &batch.engine_id, true, out)?;

        self.address(col::EXPORTER, &batch.exporter, out)?;
        self.address(col::SRC_ADDR, &batch.src_addr, out)?;
        self.address(col::DST_ADDR, &batch.dst_addr, out)?;
        self.address(col::NEXT_HOP, &batch.next_hop, out)?;
        // Last: a reader walks the chunk headers anyway (the frame's
        // checksum has read every byte of the block by then).
        if self.statistics {
            self.stats.finish(out);
        }
        Ok(head)
    }

    /// Writes one column of values that fit 64 bits: the value when it is
    /// constant, else its byte planes (and its statistics when `stats`).
    fn lanes<T: Lane>(
        &mut self,
        id: u8,
        values: &[T],
        stats: bool,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let first = values.first().copied().unwrap_or_default();
        let (or, diff) = crate::column_loops::or_and_diff(values);
        let (first, or, diff) = (first.wide(), or.wide(), diff.wide());
        if diff == 0 {
            return self.write_chunk(
                id,
                values.len(),
                width_of(first),
                Some(u128::from(first)),
                out,
            );
        }
        if stats {
            self.stats.scalar(id, values, or);
        }
        let width = width_of(or);
        let n = values.len();
        crate::column_loops::byte_planes(values, self.planes(n * width));
        self.write_chunk(id, n, width, None, out)
    }

    /// Writes an address field's three columns: the family of each flow,
    /// the IPv4 values of the IPv4 flows, the IPv6 values of the IPv6 ones.
    fn address(&mut self, id: u8, a: &AddrColumn, out: &mut Vec<u8>) -> std::io::Result<()> {
        let n = a.family.len();
        let differs = |v: &[u32]| v.iter().fold(0, |d, x| d | (x ^ v[0])) != 0;
        let varies = n > 0
            && (a.family.iter().fold(0, |d, x| d | (x ^ a.family[0])) != 0
                || differs(&a.v4)
                || a.v6.iter().any(|x| *x != a.v6[0]));
        if !varies {
            // The same address in every flow (or no flow).
            let (fam, v4, v6) = match (n > 0).then(|| a.get(0)) {
                Some(IpAddr::V4(x)) => (0, (n, u128::from(u32::from(x))), (0, 0)),
                Some(IpAddr::V6(x)) => (1, (0, 0), (n, u128::from(x))),
                None => (0, (0, 0), (0, 0)),
            };
            self.write_chunk(id, n, 1, Some(fam), out)?;
            self.write_chunk(id + 1, v4.0, width_of_wide(v4.1), Some(v4.1), out)?;
            return self.write_chunk(id + 2, v6.0, width_of_wide(v6.1), Some(v6.1), out);
        }
        self.lanes(id, &a.family, false, out)?;
        let mut v4 = std::mem::take(&mut self.v4s);
        let mut v6 = std::mem::take(&mut self.wide);
        let (v4_values, v6_values) = if a.any_v6() {
            // Each family's values apart, without a branch per address
            // (the families of a mix alternate unpredictably): every
            // value is stored at its family's next slot, and only its
            // family's count moves on. The scratch vectors keep their
            // length between blocks: every slot read is written first, so
            // zeroing them for each column was wasted.
            if v4.len() < n {
                v4.resize(n, 0);
            }
            if v6.len() < n {
                v6.resize(n, 0);
            }
            let (mut k4, mut k6) = (0, 0);
            for ((f, x4), x6) in a.family.iter().zip(&a.v4).zip(&a.v6) {
                v4[k4] = *x4;
                v6[k6] = *x6;
                let is_v6 = usize::from(*f & 1);
                k6 += is_v6;
                k4 += 1 - is_v6;
            }
            (&v4[..k4], &v6[..k6])
        } else {
            (&a.v4[..], &v6[..0])
        };
        self.stats.v4(id + 1, v4_values);
        let written = self.lanes(id + 1, v4_values, false, out).and_then(|()| {
            self.stats.v6(id + 2, v6_values);
            self.write_wide_values(id + 2, v6_values, out)
        });
        self.v4s = v4;
        self.wide = v6;
        written
    }

    /// Writes IPv6 values as one column chunk.
    fn write_wide_values(
        &mut self,
        id: u8,
        values: &[u128],
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let n = values.len();
        let width = width_of_wide(values.iter().fold(0u128, |acc, v| acc | v));
        let first = values.first().copied().unwrap_or(0);
        if values.iter().all(|v| *v == first) {
            return self.write_chunk(id, n, width, Some(first), out);
        }
        crate::column_loops::wide_byte_planes(values, self.planes(n * width));
        self.write_chunk(id, n, width, None, out)
    }

    /// The first `len` bytes of the planes buffer, for a column's planes
    /// (which [`write_chunk`](Self::write_chunk) then stores). The buffer
    /// keeps its length between columns and is zeroed only where it
    /// grows: every byte of a column's planes is written before it is
    /// read, so zeroing them first was a pass over them for nothing.
    fn planes(&mut self, len: usize) -> &mut [u8] {
        if self.planes.len() < len {
            self.planes.resize(len, 0);
        }
        self.planes_len = len;
        &mut self.planes[..len]
    }

    /// Appends one column chunk of `n` values, `width` bytes each: the
    /// value when constant, else the planes last made by
    /// [`planes`](Self::planes) compressed (or raw when compression does
    /// not pay).
    fn write_chunk(
        &mut self,
        id: u8,
        n: usize,
        width: usize,
        constant: Option<u128>,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let chunk_at = out.len();
        out.extend_from_slice(&[0u8; CHUNK_HEADER_LEN]);
        let enc = if let Some(v) = constant {
            out.extend_from_slice(&v.to_le_bytes()[..width]);
            ENC_CONST
        } else {
            debug_assert_eq!(self.planes_len, n * width, "the planes of column {id}");
            let planes = &self.planes[..self.planes_len];
            // Each plane (one byte of every value) zstd blocks of its own,
            // entropy-coded with no match search (see `planes.rs`).
            let written = self.compressor.compress(planes, n, &mut self.compressed)?;
            if written >= planes.len() {
                out.extend_from_slice(planes);
                ENC_RAW
            } else {
                out.extend_from_slice(&self.compressed);
                ENC_ZSTD
            }
        };
        let stored = (out.len() - chunk_at - CHUNK_HEADER_LEN) as u32;
        let h = &mut out[chunk_at..chunk_at + CHUNK_HEADER_LEN];
        h[0] = id;
        h[1] = enc;
        h[2] = width as u8;
        h[4..8].copy_from_slice(&(n as u32).to_le_bytes());
        h[8..12].copy_from_slice(&stored.to_le_bytes());
        Ok(())
    }
}

/// The unsigned integers a column holds in a [`FlowBatch`], read as u64
/// (all but IPv6 addresses: a u64 is shifted and compared in one
/// instruction, a u128 in several with a branch). Folds over a column
/// (OR, XOR, AND, min, max) run in the column's own type and are widened
/// once: a vector register holds 16 bytes but only two u64s, and x86-64's
/// baseline has no u64 minimum or maximum.
pub(crate) trait Lane:
    Copy
    + Default
    + Ord
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::BitAnd<Output = Self>
{
    /// Every bit set.
    const ONES: Self;
    fn wide(self) -> u64;
}

macro_rules! lane {
    ($($t:ty),*) => {$(
        impl Lane for $t {
            const ONES: Self = <$t>::MAX;
            #[inline(always)]
            fn wide(self) -> u64 {
                u64::from(self)
            }
        }
    )*};
}
lane!(u8, u16, u32, u64);

/// A block's times: the header's and the statistics' figures.
struct Times {
    /// Smallest and largest start.
    start: (i64, i64),
    /// Smallest and largest end, as sent.
    end: (i64, i64),
    /// Largest of each flow's end and start (the header's end).
    max_end: i64,
}

impl Times {
    fn of(start: &[i64], end: &[i64]) -> Times {
        let (Some(s0), Some(e0)) = (start.first(), end.first()) else {
            return Times {
                start: (0, 0),
                end: (0, 0),
                max_end: 0,
            };
        };
        let (start, end, max_end) = start.iter().zip(end).fold(
            ((*s0, *s0), (*e0, *e0), (*e0).max(*s0)),
            |(s, e, m), (a, b)| {
                (
                    (s.0.min(*a), s.1.max(*a)),
                    (e.0.min(*b), e.1.max(*b)),
                    m.max(*b.max(a)),
                )
            },
        );
        Times {
            start,
            end,
            max_end,
        }
    }
}

/// Bytes that hold every value whose OR is `or` (at least one).
fn width_of(or: u64) -> usize {
    (8 - (or.leading_zeros() / 8) as usize).max(1)
}

/// [`width_of`] for 128-bit values.
fn width_of_wide(or: u128) -> usize {
    (16 - (or.leading_zeros() / 8) as usize).max(1)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Where one decoded column's planes are.
#[derive(Clone, Copy, Default)]
pub(crate) struct Column {
    pub present: bool,
    pub constant: bool,
    pub value: u128,
    pub width: usize,
    pub count: usize,
    /// Offset of the planes in the decoder's scratch buffer.
    pub at: usize,
}

/// The flow fields a reader needs. The columns of the others are neither
/// decompressed nor decoded, and those fields keep their default values
/// (zero, 0.0.0.0) in the decoded flows. Start and end times are always
/// decoded: time windows need them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Projection(u32);

impl Projection {
    /// Every field.
    pub const ALL: Projection = Projection(u32::MAX);

    /// The fields named (catalog names or aliases), plus the times.
    pub fn of_fields<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Projection, String> {
        let mut m = (1u32 << col::START) | (1 << col::END);
        for n in names {
            let field =
                floe_flow::Field::by_name(n).ok_or_else(|| format!("no flow field {n:?}"))?;
            let address = |first: u8| 7u32 << first;
            m |= match field.name {
                "start-time" => 1 << col::START,
                "end-time" => 1 << col::END,
                "ip-exporter-address" => address(col::EXPORTER),
                "source-id" => 1 << col::SOURCE_ID,
                "ip-source-address" => address(col::SRC_ADDR),
                "ip-destination-address" => address(col::DST_ADDR),
                "ip-next-hop-address" => address(col::NEXT_HOP),
                "ip-source-port" => 1 << col::SRC_PORT,
                "ip-destination-port" => 1 << col::DST_PORT,
                "ip-protocol" => 1 << col::PROTOCOL,
                "ip-tcp-flags" => 1 << col::TCP_FLAGS,
                "ip-tos" => 1 << col::TOS,
                "packets" => 1 << col::PACKETS,
                "octets" => 1 << col::OCTETS,
                "input-interface" => 1 << col::INPUT_IF,
                "output-interface" => 1 << col::OUTPUT_IF,
                "source-as" => 1 << col::SRC_AS,
                "destination-as" => 1 << col::DST_AS,
                "source-mask" => 1 << col::SRC_MASK,
                "destination-mask" => 1 << col::DST_MASK,
                "sampling-interval" => 1 << col::SAMPLING,
                "engine-type" => 1 << col::ENGINE_TYPE,
                "engine-id" => 1 << col::ENGINE_ID,
                other => return Err(format!("flow field {other:?} has no column")),
            };
        }
        Ok(Projection(m))
    }

    /// Exactly the fields of `cols` (times only when asked: a count over
    /// a window that holds whole blocks needs none). The end time needs
    /// the start column (it is stored relative to it).
    pub fn of_cols(cols: floe_flow::ColSet) -> Projection {
        let mut m = 0u32;
        for c in cols.iter() {
            let id = c as u8;
            m |= if c.is_address() {
                let first = col::EXPORTER + 3 * (id - floe_flow::Col::Exporter as u8);
                7 << first
            } else if c == floe_flow::Col::End {
                (1 << col::START) | (1 << col::END)
            } else {
                1 << id
            };
        }
        Projection(m)
    }

    /// The fields decoded, as columns of a [`floe_flow::FlowBatch`].
    pub fn cols(self) -> floe_flow::ColSet {
        floe_flow::Col::ALL
            .into_iter()
            .filter(|c| {
                let id = *c as u8;
                if c.is_address() {
                    self.has(col::EXPORTER + 3 * (id - floe_flow::Col::Exporter as u8))
                } else {
                    self.has(id)
                }
            })
            .fold(floe_flow::ColSet::NONE, |s, c| s.with(c))
    }

    /// The same fields and the times.
    pub fn with_times(self) -> Projection {
        Projection(self.0 | (1 << col::START) | (1 << col::END))
    }

    pub(crate) fn has(self, id: u8) -> bool {
        // (The statistics chunk, id 31, is never decompressed.)
        id >= 32 || self.0 & (1 << id) != 0
    }
}

/// Decodes block bodies back into flows. Keeps its zstd context and
/// scratch buffers between blocks.
pub struct BlockDecoder {
    pub(crate) projection: Projection,
    decompressor: zstd::bulk::Decompressor<'static>,
    pub(crate) scratch: Vec<u8>,
    pub(crate) columns: [Column; col::COUNT],
    batch: Box<[[u64; BATCH]; col::COUNT]>,
    /// Column decoding's scratch (`batch.rs`).
    pub(crate) wide_scratch: crate::batch::Scratch,
}

impl BlockDecoder {
    /// A block decoder with its own zstd context and column buffers, reused from block to block.
    pub fn new() -> std::io::Result<Self> {
        Ok(BlockDecoder {
            projection: Projection::ALL,
            decompressor: zstd::bulk::Decompressor::new()?,
            scratch: Vec::new(),
            columns: [Column::default(); col::COUNT],
            batch: Box::new([[0u64; BATCH]; col::COUNT]),
            wide_scratch: Default::default(),
        })
    }

    /// Decodes only these fields from now on (see [`Projection`]).
    pub fn set_projection(&mut self, p: Projection) {
        self.projection = p;
    }

    /// Decodes a block body, appending its flows to `out`. On error, `out`
    /// is left as it was and the error says what is wrong (the caller adds
    /// the file and offset).
    ///
    /// Nothing the body states is trusted before it is checked: the flow
    /// count against [`MAX_BLOCK_RECORDS`], each column's value count,
    /// width and stored size against the block and the bytes it holds, a
    /// zstd frame's declared size against its column's, and decompression
    /// is bounded to that size. What a block can make the decoder allocate
    /// is at most one block of the largest size the format allows.
    pub fn decode(&mut self, body: &[u8], out: &mut Vec<Flow>) -> Result<BlockHeader, BlockError> {
        self.decode_chunked(body, out, usize::MAX, |_| true)
    }

    /// Decodes a block body `chunk` flows at a time: `out` (cleared first)
    /// receives up to `chunk` flows and is handed to `each`, which returns
    /// false to stop early. Readers that stream blocks through use this to
    /// hold a fraction of a block's flows at once. The columns are checked
    /// as they are read, so a chunk is only delivered from a block whose
    /// frame checksum held; a column inconsistency found after some chunks
    /// were delivered is still returned as an error.
    pub fn decode_chunked(
        &mut self,
        body: &[u8],
        out: &mut Vec<Flow>,
        chunk: usize,
        mut each: impl FnMut(&mut Vec<Flow>) -> bool,
    ) -> Result<BlockHeader, BlockError> {
        let head =
            BlockHeader::decode(body).ok_or(BlockError::HeaderCutShort { len: body.len() })?;
        let n = head.records as usize;
        self.load_columns(body, &head)?;
        let base = head.min_start_ms;
        let chunked = chunk != usize::MAX;
        if chunked {
            out.clear();
        }
        out.reserve(n.min(chunk));
        let start_len = out.len();
        // Cursors into the IPv4 / IPv6 value columns of the 4 address fields.
        let mut cursors = [[0usize; 2]; 4];
        let mut i0 = 0;
        while i0 < n {
            let len = BATCH.min(n - i0);
            for id in 0..=col::ENGINE_ID {
                self.fill_batch(id, i0, len);
            }
            let mut addrs = [[UNSPEC; BATCH]; 4];
            for (k, first_col) in [col::EXPORTER, col::SRC_ADDR, col::DST_ADDR, col::NEXT_HOP]
                .into_iter()
                .enumerate()
            {
                if !self.projection.has(first_col) {
                    continue;
                }
                if let Err(e) =
                    self.fill_addresses(first_col, i0, len, &mut cursors[k], &mut addrs[k])
                {
                    out.truncate(start_len);
                    return Err(e);
                }
            }
            let b = &self.batch;
            for j in 0..len {
                let start_ms = base.wrapping_add(b[col::START as usize][j] as i64);
                out.push(Flow {
                    start_ms,
                    end_ms: start_ms.wrapping_add(unzigzag(b[col::END as usize][j])),
                    exporter: addrs[0][j],
                    source_id: b[col::SOURCE_ID as usize][j] as u32,
                    src_addr: addrs[1][j],
                    dst_addr: addrs[2][j],
                    next_hop: addrs[3][j],
                    src_port: b[col::SRC_PORT as usize][j] as u16,
                    dst_port: b[col::DST_PORT as usize][j] as u16,
                    protocol: b[col::PROTOCOL as usize][j] as u8,
                    tcp_flags: b[col::TCP_FLAGS as usize][j] as u16,
                    tos: b[col::TOS as usize][j] as u8,
                    packets: b[col::PACKETS as usize][j],
                    octets: b[col::OCTETS as usize][j],
                    input_if: b[col::INPUT_IF as usize][j] as u32,
                    output_if: b[col::OUTPUT_IF as usize][j] as u32,
                    src_as: b[col::SRC_AS as usize][j] as u32,
                    dst_as: b[col::DST_AS as usize][j] as u32,
                    src_mask: b[col::SRC_MASK as usize][j] as u8,
                    dst_mask: b[col::DST_MASK as usize][j] as u8,
                    sampling_interval: b[col::SAMPLING as usize][j] as u32,
                    engine_type: b[col::ENGINE_TYPE as usize][j] as u8,
                    engine_id: b[col::ENGINE_ID as usize][j] as u8,
                });
            }
            i0 += len;
            if chunked && (out.len() >= chunk || i0 >= n) {
                let go_on = each(out);
                out.clear();
                if !go_on {
                    return Ok(head);
                }
            }
        }
        for (k, first_col) in [col::EXPORTER, col::SRC_ADDR, col::DST_ADDR, col::NEXT_HOP]
            .into_iter()
            .enumerate()
            .filter(|(_, c)| self.projection.has(*c))
        {
            let v4 = self.columns[first_col as usize + 1].count;
            let v6 = self.columns[first_col as usize + 2].count;
            if cursors[k] != [v4, v6] {
                out.truncate(start_len);
                return Err(BlockError::AddressCount {
                    family: first_col,
                    have4: v4,
                    have6: v6,
                    used4: cursors[k][0],
                    used6: cursors[k][1],
                });
            }
        }
        Ok(head)
    }

    /// Reads every chunk header, decompresses the planes into scratch, and
    /// checks that each column has the right number of values. Every count
    /// and size is checked before the scratch buffer grows for it.
    pub(crate) fn load_columns(
        &mut self,
        body: &[u8],
        head: &BlockHeader,
    ) -> Result<(), BlockError> {
        check_block(body, head)?;
        let n = head.records as usize;
        self.columns = [Column::default(); col::COUNT];
        self.scratch.clear();
        let mut seen = [false; MAX_COLUMNS];
        let mut at = BLOCK_HEADER_LEN;
        for _ in 0..head.columns {
            let c = read_chunk(body, at)?;
            let (id, enc, w, data) = (c.id, c.enc, c.width, c.data);
            let (count32, stored32) = (c.count, c.stored);
            at = c.next;
            if std::mem::replace(&mut seen[usize::from(id)], true) {
                return Err(BlockError::DuplicateColumn { id });
            }
            if usize::from(id) >= col::COUNT {
                // A column a later format version added: not ours to read.
                continue;
            }
            let width = usize::from(w);
            if width == 0 || width > max_width(id) {
                return Err(BlockError::Width {
                    id,
                    width: w,
                    max: max_width(id),
                });
            }
            // Per-flow columns hold one value a flow; an address field's
            // value columns one a flow of their family (checked against
            // the family column as the flows are rebuilt).
            let count = count32 as usize;
            if (is_value_column(id) && count > n) || (!is_value_column(id) && count != n) {
                return Err(BlockError::Count {
                    id,
                    count: count32,
                    records: head.records,
                });
            }
            let mut c = Column {
                present: true,
                width,
                count,
                ..Column::default()
            };
            if !self.projection.has(id) {
                // Not needed: reads as a constant zero, never decompressed.
                c.constant = true;
                self.columns[usize::from(id)] = c;
                continue;
            }
            // At most 2^20 values of 16 bytes: no overflow.
            let raw = count * width;
            match enc {
                ENC_CONST => {
                    if data.len() != width {
                        return Err(BlockError::ConstantSize {
                            id,
                            stored: stored32,
                            width: w,
                        });
                    }
                    let mut v = [0u8; 16];
                    v[..width].copy_from_slice(data);
                    c.constant = true;
                    c.value = u128::from_le_bytes(v);
                }
                ENC_RAW => {
                    if data.len() != raw {
                        return Err(BlockError::RawSize {
                            id,
                            stored: stored32,
                            count: count32,
                            width: w,
                            expected: raw as u64,
                        });
                    }
                    c.at = self.scratch.len();
                    self.scratch.extend_from_slice(data);
                }
                ENC_ZSTD => {
                    // A frame that states its size must state this one;
                    // either way it decompresses into exactly `raw` bytes
                    // and no more.
                    match zstd::zstd_safe::get_frame_content_size(data) {
                        Ok(Some(declared)) if declared != raw as u64 => {
                            return Err(BlockError::ZstdDeclared {
                                id,
                                declared,
                                count: count32,
                                width: w,
                                expected: raw as u64,
                            })
                        }
                        Ok(_) => {}
                        Err(e) => {
                            return Err(BlockError::Zstd {
                                id,
                                expected: raw as u64,
                                message: e.to_string(),
                            })
                        }
                    }
                    c.at = self.scratch.len();
                    self.scratch.resize(c.at + raw, 0);
                    let got = self
                        .decompressor
                        .decompress_to_buffer(data, &mut self.scratch[c.at..])
                        .map_err(|e| BlockError::Zstd {
                            id,
                            expected: raw as u64,
                            message: e.to_string(),
                        })?;
                    if got != raw {
                        return Err(BlockError::ZstdSize {
                            id,
                            got: got as u64,
                            expected: raw as u64,
                        });
                    }
                }
                other => {
                    return Err(BlockError::Encoding {
                        id,
                        encoding: other,
                    })
                }
            }
            self.columns[usize::from(id)] = c;
        }
        if let Some(id) = self.columns.iter().position(|c| !c.present) {
            return Err(BlockError::Missing { id: id as u8 });
        }
        Ok(())
    }

    /// Untransposes rows `i0..i0+len` of scalar column `id` into the batch.
    fn fill_batch(&mut self, id: u8, i0: usize, len: usize) {
        let c = self.columns[usize::from(id)];
        let dst = &mut self.batch[usize::from(id)][..len];
        if c.constant {
            dst.fill(c.value as u64);
            return;
        }
        dst.fill(0);
        for b in 0..c.width.min(8) {
            let plane = &self.scratch[c.at + b * c.count + i0..][..len];
            let shift = 8 * b as u32;
            for (d, &byte) in dst.iter_mut().zip(plane) {
                *d |= u64::from(byte) << shift;
            }
        }
    }

    fn fill_addresses(
        &mut self,
        first_col: u8,
        i0: usize,
        len: usize,
        cursor: &mut [usize; 2],
        out: &mut [IpAddr; BATCH],
    ) -> Result<(), BlockError> {
        self.fill_batch(first_col, i0, len);
        let fam = self.batch[usize::from(first_col)];
        let (v4c, v6c) = (first_col + 1, first_col + 2);
        let all_v4 = fam[..len].iter().all(|f| *f == 0);
        if all_v4 {
            let c = self.columns[usize::from(v4c)];
            if cursor[0] + len > c.count {
                return Err(BlockError::AddressShort {
                    family: first_col,
                    v4: v4c,
                    v6: v6c,
                });
            }
            if c.constant {
                out[..len].fill(IpAddr::V4(Ipv4Addr::from(c.value as u32)));
            } else {
                let mut vals = [0u64; BATCH];
                for b in 0..c.width.min(4) {
                    let plane = &self.scratch[c.at + b * c.count + cursor[0]..][..len];
                    for (d, &byte) in vals.iter_mut().zip(plane) {
                        *d |= u64::from(byte) << (8 * b);
                    }
                }
                for (o, v) in out[..len].iter_mut().zip(vals) {
                    *o = IpAddr::V4(Ipv4Addr::from(v as u32));
                }
            }
            cursor[0] += len;
            return Ok(());
        }
        // Mixed batch: untranspose this batch's share of each value column
        // in bulk, then hand the values out in family order.
        let mut k = [0usize; 2];
        for f in &fam[..len] {
            match f {
                0 => k[0] += 1,
                1 => k[1] += 1,
                other => {
                    return Err(BlockError::Family {
                        id: first_col,
                        value: *other,
                    })
                }
            }
        }
        let c4 = self.columns[usize::from(v4c)];
        let c6 = self.columns[usize::from(v6c)];
        if cursor[0] + k[0] > c4.count || cursor[1] + k[1] > c6.count {
            return Err(BlockError::AddressShort {
                family: first_col,
                v4: v4c,
                v6: v6c,
            });
        }
        let mut v4 = [0u32; BATCH];
        let mut v6 = [[0u8; 16]; BATCH];
        untranspose(
            &self.scratch,
            &c4,
            cursor[0],
            &mut v4[..k[0]],
            |d, byte, b| *d |= u32::from(byte) << (8 * b),
        );
        // Plane b holds byte b of the little-endian u128, i.e. octet 15-b.
        untranspose(
            &self.scratch,
            &c6,
            cursor[1],
            &mut v6[..k[1]],
            |d, byte, b| d[15 - b] = byte,
        );
        if c4.constant {
            v4.fill(c4.value as u32);
        }
        if c6.constant {
            v6.fill(c6.value.to_be_bytes());
        }
        let (mut a, mut b) = (0, 0);
        for (o, f) in out[..len].iter_mut().zip(&fam[..len]) {
            *o = if *f == 0 {
                a += 1;
                IpAddr::V4(Ipv4Addr::from(v4[a - 1]))
            } else {
                b += 1;
                IpAddr::V6(Ipv6Addr::from(v6[b - 1]))
            };
        }
        cursor[0] += k[0];
        cursor[1] += k[1];
        Ok(())
    }
}

/// ORs bytes `from..from+dst.len()` of each plane of column `c` into `dst`
/// (nothing for a constant column, which the caller fills).
fn untranspose<T>(
    scratch: &[u8],
    c: &Column,
    from: usize,
    dst: &mut [T],
    or: impl Fn(&mut T, u8, usize),
) {
    if c.constant {
        return;
    }
    for b in 0..c.width {
        let plane = &scratch[c.at + b * c.count + from..][..dst.len()];
        for (d, &byte) in dst.iter_mut().zip(plane) {
            or(d, byte, b);
        }
    }
}

/// True for the columns that hold an address field's IPv4 or IPv6 values
/// (one per flow of that family, not one per flow).
pub(crate) fn is_value_column(id: u8) -> bool {
    id >= col::EXPORTER && !(id - col::EXPORTER).is_multiple_of(3)
}

/// The widest a column's values can be.
pub(crate) fn max_width(id: u8) -> usize {
    if id < col::EXPORTER {
        return 8;
    }
    match (id - col::EXPORTER) % 3 {
        0 => 1,
        1 => 4,
        _ => 16,
    }
}

const UNSPEC: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// A block's claims checked against what its body can hold, before
/// anything is sized by them: at most [`MAX_BLOCK_RECORDS`] flows, and no
/// more column chunks than the body has room for headers.
pub(crate) fn check_block(body: &[u8], head: &BlockHeader) -> Result<(), BlockError> {
    if head.records > MAX_BLOCK_RECORDS {
        return Err(BlockError::TooManyFlows {
            claimed: head.records,
            max: MAX_BLOCK_RECORDS,
        });
    }
    let fit = (body.len().saturating_sub(BLOCK_HEADER_LEN) / CHUNK_HEADER_LEN).min(MAX_COLUMNS);
    if usize::from(head.columns) > fit {
        return Err(BlockError::TooManyColumns {
            claimed: head.columns,
            body: body.len(),
            fit,
        });
    }
    Ok(())
}

/// One column chunk of a block body: its header and its bytes.
pub(crate) struct Chunk<'a> {
    /// The column's id.
    pub id: u8,
    /// Its encoding.
    pub enc: u8,
    /// Its value width in bytes.
    pub width: u8,
    /// Values the chunk claims to hold.
    pub count: u32,
    /// Bytes stored after the chunk header.
    pub stored: u32,
    /// Those bytes.
    pub data: &'a [u8],
    /// Where the next chunk header starts.
    pub next: usize,
}

/// The chunk whose header starts at `at` of `body`, its stored bytes
/// checked to fit in what is left of the body.
pub(crate) fn read_chunk(body: &[u8], at: usize) -> Result<Chunk<'_>, BlockError> {
    let h = body
        .get(at..)
        .and_then(|rest| rest.get(..CHUNK_HEADER_LEN))
        .ok_or(BlockError::ChunkHeaderCutShort { at })?;
    let (id, enc, width) = (h[0], h[1], h[2]);
    let count = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    let stored = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    let data_at = at + CHUNK_HEADER_LEN;
    let left = body.len() - data_at;
    if stored as usize > left {
        return Err(BlockError::ChunkCutShort {
            id,
            at: data_at,
            stored,
            left,
        });
    }
    let next = data_at + stored as usize;
    Ok(Chunk {
        id,
        enc,
        width,
        count,
        stored,
        data: &body[data_at..next],
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(i: u64) -> Flow {
        Flow {
            start_ms: 1_700_000_000_000 + (i as i64 * 37) % 5000,
            end_ms: 1_700_000_000_000 + (i as i64 * 37) % 5000 + (i as i64 % 300),
            exporter: "192.0.2.1".parse().unwrap(),
            source_id: 3,
            src_addr: if i.is_multiple_of(5) {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16))
            } else {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32))
            },
            dst_addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, (i % 7) as u8)),
            src_port: (i * 7919 % 65536) as u16,
            dst_port: 443,
            protocol: 6,
            packets: i,
            octets: i * 1000,
            ..Flow::default()
        }
    }

    #[test]
    fn round_trip_mixed_block() {
        let flows: Vec<Flow> = (0..1000).map(sample).collect();
        let mut enc = BlockEncoder::new(3).unwrap();
        let mut body = Vec::new();
        let head = enc.encode(&flows, &mut body).unwrap();
        assert_eq!(head.records, 1000);
        let mut dec = BlockDecoder::new().unwrap();
        let mut out = Vec::new();
        dec.decode(&body, &mut out).unwrap();
        assert_eq!(out, flows);
    }

    /// Blocks where each kind of column is constant, varies, or holds one
    /// flow, and every address field IPv4, IPv6 or mixed, decode to what
    /// was encoded with the header's figures right; the same flows
    /// appended to a batch in runs (as a file writer does) encode to the
    /// very same bytes; a batch without every column is refused.
    /// An encoder that keeps its buffers from block to block writes what
    /// a new one writes: nothing of a larger block before (wider values,
    /// more IPv6 addresses) shows in a smaller one.
    #[test]
    fn a_reused_encoder_writes_what_a_new_one_writes() {
        let wide = |i: u64| Flow {
            src_addr: IpAddr::V6(Ipv6Addr::from(u128::MAX - u128::from(i))),
            dst_addr: if i.is_multiple_of(2) {
                IpAddr::V6(Ipv6Addr::from(u128::from(i) << 100))
            } else {
                IpAddr::V4(Ipv4Addr::from(u32::MAX - i as u32))
            },
            octets: u64::MAX - i,
            packets: i << 40,
            src_as: u32::MAX - i as u32,
            ..sample(i)
        };
        let blocks: Vec<Vec<Flow>> = vec![
            (0..3000).map(wide).collect(),
            (0..700).map(sample).collect(),
            (0..40).map(wide).collect(),
            (5..17).map(sample).collect(),
            (0..1).map(wide).collect(),
        ];
        let mut reused = BlockEncoder::new(3).unwrap();
        for flows in &blocks {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            reused.encode(flows, &mut a).unwrap();
            BlockEncoder::new(3).unwrap().encode(flows, &mut b).unwrap();
            assert_eq!(a, b, "a block of {} flows", flows.len());
        }
    }

    #[test]
    fn constant_and_varying_columns_round_trip() {
        let v6 = |i: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 7, i));
        let cases: Vec<Vec<Flow>> = vec![
            vec![],
            vec![sample(4)],
            // Every column constant, all addresses IPv6 and the same.
            (0..300)
                .map(|_| Flow {
                    exporter: v6(1),
                    src_addr: v6(2),
                    dst_addr: v6(3),
                    next_hop: v6(4),
                    ..sample(9)
                })
                .collect(),
            // Same start, varying end; a constant IPv6 exporter, next hops
            // that switch family; sampling and engine varying.
            (0..700u64)
                .map(|i| Flow {
                    start_ms: 42,
                    end_ms: 42 + (i as i64 % 11) - 5,
                    exporter: v6(9),
                    next_hop: if i % 3 == 0 {
                        v6(i as u16)
                    } else {
                        sample(i).dst_addr
                    },
                    sampling_interval: (i % 4) as u32,
                    engine_type: (i % 2) as u8,
                    engine_id: 200,
                    tcp_flags: 0x1ff,
                    ..sample(i)
                })
                .collect(),
        ];
        let mut enc = BlockEncoder::new(crate::DEFAULT_LEVEL).unwrap();
        let mut dec = BlockDecoder::new().unwrap();
        for flows in cases {
            let mut body = Vec::new();
            let head = enc.encode(&flows, &mut body).unwrap();
            let mut out = Vec::new();
            let decoded = dec.decode(&body, &mut out).unwrap();
            assert_eq!(out, flows);
            assert_eq!(decoded, head);
            let mut batch = FlowBatch::new();
            batch.reset(0, ColSet::ALL);
            for run in flows.chunks(97) {
                batch.extend_from_flows(run);
            }
            let mut again = Vec::new();
            assert_eq!(enc.encode_batch(&batch, &mut again).unwrap(), head);
            assert!(again == body, "{} flows in runs", flows.len());
            assert_eq!(head.records as usize, flows.len());
            assert_eq!(head.octets, flows.iter().map(|f| f.octets).sum::<u64>());
            assert_eq!(head.packets, flows.iter().map(|f| f.packets).sum::<u64>());
            if let Some(min) = flows.iter().map(|f| f.start_ms).min() {
                assert_eq!(head.min_start_ms, min);
                let max = flows.iter().map(|f| f.end_ms.max(f.start_ms)).max();
                assert_eq!(Some(head.max_end_ms), max);
            }
        }
        let mut some = FlowBatch::new();
        let all_but_tos = floe_flow::Col::ALL
            .iter()
            .filter(|c| **c != floe_flow::Col::Tos);
        some.fill_from(
            &[sample(1)],
            all_but_tos.fold(ColSet::NONE, |s, c| s.with(*c)),
        );
        let e = enc.encode_batch(&some, &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        // Every column, one a value too long: refused, not written.
        let mut long = FlowBatch::from_flows(&[sample(1), sample(2)]);
        long.tos.push(3);
        let e = enc.encode_batch(&long, &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let mut short_v6 = FlowBatch::from_flows(&[sample(5), sample(6)]);
        short_v6.src_addr.v6.pop();
        assert!(enc.encode_batch(&short_v6, &mut Vec::new()).is_err());
    }

    #[test]
    fn chunked_decode_delivers_the_same_flows_in_chunks_and_can_stop() {
        let flows: Vec<Flow> = (0..1000).map(sample).collect();
        let mut enc = BlockEncoder::new(1).unwrap();
        let mut body = Vec::new();
        enc.encode(&flows, &mut body).unwrap();
        let mut dec = BlockDecoder::new().unwrap();
        for chunk in [1, 100, 128, 300, 1000, 5000] {
            let mut buf = vec![Flow::default(); 3];
            let mut got = Vec::new();
            let mut sizes = Vec::new();
            dec.decode_chunked(&body, &mut buf, chunk, |b| {
                sizes.push(b.len());
                got.extend_from_slice(b);
                true
            })
            .unwrap();
            assert_eq!(got, flows, "chunk {chunk}");
            // Every chunk but the last is at least `chunk` and less than
            // `chunk` plus one decoding batch.
            for s in &sizes[..sizes.len() - 1] {
                assert!(
                    *s >= chunk && *s < chunk + BATCH,
                    "chunk {chunk}: {sizes:?}"
                );
            }
        }
        let mut calls = 0;
        dec.decode_chunked(&body, &mut Vec::new(), 200, |_| {
            calls += 1;
            calls < 2
        })
        .unwrap();
        assert_eq!(calls, 2);
    }

    #[test]
    fn projection_decodes_the_named_fields_and_zeroes_the_rest() {
        let mut flows: Vec<Flow> = (0..700).map(sample).collect();
        for (i, f) in flows.iter_mut().enumerate() {
            f.next_hop = if i % 3 == 0 {
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i as u16))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, i as u8))
            };
            f.src_as = i as u32 * 11;
            f.tcp_flags = (i % 64) as u16;
        }
        let mut enc = BlockEncoder::new(1).unwrap();
        let mut body = Vec::new();
        enc.encode(&flows, &mut body).unwrap();
        let mut dec = BlockDecoder::new().unwrap();
        dec.set_projection(Projection::of_fields(["srcip", "octets", "source-as"]).unwrap());
        let mut out = Vec::new();
        dec.decode(&body, &mut out).unwrap();
        assert_eq!(out.len(), flows.len());
        for (got, want) in out.iter().zip(&flows) {
            let expect = Flow {
                start_ms: want.start_ms,
                end_ms: want.end_ms,
                src_addr: want.src_addr,
                octets: want.octets,
                src_as: want.src_as,
                ..Flow::default()
            };
            assert_eq!(*got, expect);
        }
        // Back to every field with the same decoder.
        dec.set_projection(Projection::ALL);
        out.clear();
        dec.decode(&body, &mut out).unwrap();
        assert_eq!(out, flows);
        assert!(Projection::of_fields(["nonsense"]).is_err());
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 12345, -98765] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn damaged_body_is_an_error_not_a_panic() {
        let flows: Vec<Flow> = (0..300).map(sample).collect();
        let mut enc = BlockEncoder::new(3).unwrap();
        let mut body = Vec::new();
        enc.encode(&flows, &mut body).unwrap();
        let mut dec = BlockDecoder::new().unwrap();
        for cut in (0..body.len()).step_by(7) {
            let mut out = Vec::new();
            assert!(dec.decode(&body[..cut], &mut out).is_err(), "cut at {cut}");
            assert!(out.is_empty());
        }
        for at in (0..body.len()).step_by(3) {
            let mut bad = body.clone();
            bad[at] ^= 0x5a;
            let mut out = Vec::new();
            // Flipped bytes may or may not decode (the frame CRC catches them
            // in files); they must never panic.
            let _ = dec.decode(&bad, &mut out);
        }
    }
}
