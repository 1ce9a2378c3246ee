//! Block statistics: what a reader may know of a block's values without
//! decompressing any of them, so that a block a filter cannot match is
//! skipped whole.
//!
//! The encoder writes them as one more column chunk, id 31, after the
//! value columns (`schemas/floe-file-format.md`, "Block statistics"): a
//! raw chunk of width 1 whose bytes are entries `id, kind, len, bytes`:
//! the smallest and largest value of each column that varies (the flow
//! start and end as times), the set of values present for the one-byte
//! columns (protocol, ToS, masks, engine), and the OR and AND of the TCP
//! flags and ToS. Constant columns need no entry: their chunk header holds
//! the value. Readers before this chunk skip it (an unknown column id), and
//! blocks written before it are read the same, with what their constant
//! columns and address counts tell ([`block_stats`]).
//!
//! Cost, measured by `cargo bench -p floe-benches --bench store` (README):
//! the encoder computes each entry over the column it has just gathered,
//! contiguous, where min/max/or/and vectorise; times come from the one pass
//! it already makes over the flows.

use floe_flow::{AddrStats, BatchStats, NumStats};

use crate::codec::{col, is_value_column, max_width, unzigzag, Lane, ENC_CONST, ENC_RAW};
use crate::error::BlockError;
use crate::format::{BlockHeader, BLOCK_HEADER_LEN};

/// Entry kinds.
const RANGE: u8 = 1;
const SET: u8 = 2;
const BITS: u8 = 3;

/// The flows' smallest and largest start and end, from the encoder's pass.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Times {
    pub start: (i64, i64),
    pub end: (i64, i64),
}

/// Gathers a block's statistics chunk while its columns are written.
#[derive(Default)]
pub(crate) struct StatsWriter {
    bytes: Vec<u8>,
    /// False: gather nothing (a writer without statistics).
    pub on: bool,
}

/// One-byte columns whose set of values is kept.
fn keeps_set(id: u8) -> bool {
    matches!(
        id,
        col::PROTOCOL
            | col::TOS
            | col::SRC_MASK
            | col::DST_MASK
            | col::ENGINE_TYPE
            | col::ENGINE_ID
    )
}

impl StatsWriter {
    pub fn begin(&mut self, t: &Times) {
        self.bytes.clear();
        if !self.on {
            return;
        }
        self.pair(
            col::START,
            t.start.0 as u64 as u128,
            t.start.1 as u64 as u128,
            8,
            RANGE,
        );
        self.pair(
            col::END,
            t.end.0 as u64 as u128,
            t.end.1 as u64 as u128,
            8,
            RANGE,
        );
    }

    fn pair(&mut self, id: u8, a: u128, b: u128, width: usize, kind: u8) {
        self.bytes.extend_from_slice(&[id, kind, (2 * width) as u8]);
        self.bytes.extend_from_slice(&a.to_le_bytes()[..width]);
        self.bytes.extend_from_slice(&b.to_le_bytes()[..width]);
    }

    /// A scalar column that varies, gathered in `values` (`or` is the OR of
    /// them, which the encoder knows already).
    pub fn scalar<T: Lane>(&mut self, id: u8, values: &[T], or: u64) {
        // The time columns' lanes hold what is derived from the times, not
        // the times, whose ranges `begin` wrote: the encoder passes them
        // without statistics, and this keeps a caller that did not from
        // writing a wrong range.
        if id <= col::END || !self.on {
            return;
        }
        let (lo, hi) = min_max(values);
        let width = width_of(hi);
        self.pair(id, lo.into(), hi.into(), width, RANGE);
        if keeps_set(id) && hi < 256 {
            let mut seen = [0u8; 256];
            for v in values {
                seen[v.wide() as u8 as usize] = 1;
            }
            let mut set = [0u8; 32];
            for (v, s) in seen.iter().enumerate() {
                set[v / 8] |= s << (v % 8);
            }
            self.bytes.extend_from_slice(&[id, SET, 32]);
            self.bytes.extend_from_slice(&set);
        }
        if matches!(id, col::TCP_FLAGS | col::TOS) {
            let and = match values {
                [] => u64::MAX,
                _ => values.iter().fold(T::ONES, |a, v| a & *v).wide(),
            };
            self.pair(id, or.into(), and.into(), width_of(or), BITS);
        }
    }

    /// An address field's IPv4 values (as u64s), when the field varies.
    pub fn v4<T: Lane>(&mut self, id: u8, values: &[T]) {
        if self.on && !values.is_empty() {
            let (lo, hi) = min_max(values);
            self.pair(id, lo.into(), hi.into(), 4, RANGE);
        }
    }

    /// An address field's IPv6 values, when the field varies.
    pub fn v6(&mut self, id: u8, values: &[u128]) {
        if !self.on {
            return;
        }
        if let Some(first) = values.first() {
            let (lo, hi) = values
                .iter()
                .fold((*first, *first), |(l, h), v| (l.min(*v), h.max(*v)));
            self.pair(id, lo, hi, 16, RANGE);
        }
    }

    /// Appends the chunk (raw, width 1, one value per byte).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let n = self.bytes.len() as u32;
        out.extend_from_slice(&[col::STATS, ENC_RAW, 1, 0]);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&self.bytes);
    }
}

/// Smallest and largest (`column_loops`: built for AVX2 too).
fn min_max<T: Lane>(values: &[T]) -> (u64, u64) {
    let (lo, hi) = crate::column_loops::min_max(values);
    (lo.wide(), hi.wide())
}

fn width_of(v: u64) -> usize {
    (8 - (v.leading_zeros() / 8) as usize).max(1)
}

/// The largest value a column's field holds (a wider stored value is
/// truncated on decoding, so no range is believed past it).
fn field_max(id: u8) -> u64 {
    match id {
        col::SRC_PORT | col::DST_PORT | col::TCP_FLAGS => u16::MAX.into(),
        col::PROTOCOL
        | col::TOS
        | col::SRC_MASK
        | col::DST_MASK
        | col::ENGINE_TYPE
        | col::ENGINE_ID => u8::MAX.into(),
        col::PACKETS | col::OCTETS => u64::MAX,
        _ => u32::MAX.into(),
    }
}

/// The statistics of a block body, reading only its header and chunk
/// headers (and the statistics chunk when there is one): nothing is
/// decompressed. Every size is checked against the body as the decoder
/// checks it, so a hostile body gets an error, never a panic or an
/// allocation.
pub fn block_stats(body: &[u8]) -> Result<BatchStats, BlockError> {
    let head = BlockHeader::decode(body).ok_or(BlockError::HeaderCutShort { len: body.len() })?;
    crate::codec::check_block(body, &head)?;
    let mut s = BatchStats {
        records: head.records,
        min_start_ms: head.min_start_ms,
        max_end_ms: head.max_end_ms,
        ..BatchStats::default()
    };
    let mut constants: [Option<u128>; col::COUNT] = [None; col::COUNT];
    let mut at = BLOCK_HEADER_LEN;
    let mut entries: Option<&[u8]> = None;
    for _ in 0..head.columns {
        let c = crate::codec::read_chunk(body, at)?;
        let (id, enc, w, count, data) = (c.id, c.enc, c.width, c.count, c.data);
        let stored = c.stored as usize;
        at = c.next;
        if id == col::STATS {
            if enc != ENC_RAW || w != 1 || count as usize != stored {
                return Err(BlockError::Stats {
                    what: format!(
                        "chunk of encoding {enc}, width {w}, {count} values in {stored} bytes"
                    ),
                });
            }
            entries = Some(data);
            continue;
        }
        if usize::from(id) >= col::COUNT {
            continue;
        }
        if is_value_column(id) && count <= head.records {
            let k = usize::from((id - col::EXPORTER) / 3);
            if (id - col::EXPORTER) % 3 == 1 {
                s.addrs[k].v4_count = count;
            } else {
                s.addrs[k].v6_count = count;
            }
        }
        let width = usize::from(w);
        if enc == ENC_CONST && width >= 1 && width <= max_width(id) && data.len() == width {
            let mut v = [0u8; 16];
            v[..width].copy_from_slice(data);
            constants[usize::from(id)] = Some(u128::from_le_bytes(v));
        }
    }
    // Constant columns: exact.
    for id in col::SOURCE_ID..=col::ENGINE_ID {
        if let Some(v) = constants[usize::from(id)] {
            s.nums[usize::from(id)] = NumStats::constant(v as u64 & field_max(id));
        }
    }
    if let Some(c0) = constants[usize::from(col::START)] {
        let start = head.min_start_ms.wrapping_add(c0 as u64 as i64);
        s.start = Some((start, start));
        if let Some(c1) = constants[usize::from(col::END)] {
            let end = start.wrapping_add(unzigzag(c1 as u64));
            s.end = Some((end, end));
        }
    }
    for k in 0..4u8 {
        let first = col::EXPORTER + 3 * k;
        let a: &mut AddrStats = &mut s.addrs[usize::from(k)];
        if let Some(v) = constants[usize::from(first + 1)] {
            let v = v as u32;
            a.v4 = (a.v4_count > 0).then_some((v, v));
        }
        if let Some(v) = constants[usize::from(first + 2)] {
            a.v6 = (a.v6_count > 0).then_some((v, v));
        }
    }
    if let Some(mut e) = entries {
        while !e.is_empty() {
            let bad = |what: &str| BlockError::Stats {
                what: what.to_string(),
            };
            if e.len() < 3 {
                return Err(bad("an entry is cut short"));
            }
            let (id, kind, len) = (e[0], e[1], usize::from(e[2]));
            let v = e
                .get(3..3 + len)
                .ok_or_else(|| bad("an entry is longer than the chunk"))?;
            e = &e[3 + len..];
            match kind {
                RANGE | BITS => {
                    if len == 0 || len % 2 != 0 || len > 32 {
                        return Err(bad("a range of an odd or too large length"));
                    }
                    let w = len / 2;
                    let mut lo = [0u8; 16];
                    let mut hi = [0u8; 16];
                    lo[..w].copy_from_slice(&v[..w]);
                    hi[..w].copy_from_slice(&v[w..]);
                    let (lo, hi) = (u128::from_le_bytes(lo), u128::from_le_bytes(hi));
                    apply(&mut s, id, kind, lo, hi, w);
                }
                SET => {
                    if len != 32 {
                        return Err(bad("a value set that is not 32 bytes"));
                    }
                    if keeps_set(id) {
                        let mut set = [0u64; 4];
                        for (i, b) in v.iter().enumerate() {
                            set[i / 8] |= u64::from(*b) << (8 * (i % 8));
                        }
                        s.nums[usize::from(id)].set = Some(set);
                    }
                }
                // A kind a later writer added.
                _ => {}
            }
        }
    }
    Ok(s)
}

/// A range or bits entry into the statistics (entries of unknown columns,
/// or too wide for their field, are ignored).
fn apply(s: &mut BatchStats, id: u8, kind: u8, lo: u128, hi: u128, w: usize) {
    match id {
        col::START | col::END if kind == RANGE && w == 8 => {
            let r = Some((lo as u64 as i64, hi as u64 as i64));
            if id == col::START {
                s.start = r;
            } else {
                s.end = r;
            }
        }
        col::SOURCE_ID..=col::ENGINE_ID => {
            let max = u128::from(field_max(id));
            if lo > max || hi > max {
                return;
            }
            let n = &mut s.nums[usize::from(id)];
            if kind == RANGE {
                n.range = Some((lo as u64, hi as u64));
            } else {
                n.bits = Some((lo as u64, hi as u64));
            }
        }
        _ if kind == RANGE && usize::from(id) < col::COUNT && is_value_column(id) => {
            let k = usize::from((id - col::EXPORTER) / 3);
            if (id - col::EXPORTER) % 3 == 1 {
                if w <= 4 && s.addrs[k].v4_count > 0 {
                    s.addrs[k].v4 = Some((lo as u32, hi as u32));
                }
            } else if s.addrs[k].v6_count > 0 {
                s.addrs[k].v6 = Some((lo, hi));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_flow::Col;

    /// The column of a [`Col`] numeric field.
    fn id_of(c: Col) -> u8 {
        c as u8
    }
    use crate::codec::{BlockDecoder, BlockEncoder};
    use floe_flow::Flow;
    use std::net::IpAddr;

    fn flows(n: u64) -> Vec<Flow> {
        (0..n)
            .map(|i| Flow {
                start_ms: 1_700_000_000_000 + (i as i64 * 37) % 5000,
                end_ms: 1_700_000_000_000 + (i as i64 * 37) % 5000 + (i as i64 % 300) - 20,
                src_addr: if i % 5 == 0 {
                    format!("2001:db8::{i:x}").parse().unwrap()
                } else {
                    IpAddr::from([10, 0, (i / 256) as u8, i as u8])
                },
                dst_addr: IpAddr::from([198, 51, 100, (i % 7) as u8]),
                src_port: (i * 7919 % 65536) as u16,
                dst_port: 443,
                protocol: [6, 17, 1][i as usize % 3],
                tcp_flags: 0x10 | (i % 4) as u16,
                tos: (i % 2) as u8 * 4,
                packets: 1 + i,
                octets: i * 1000,
                src_mask: 24,
                ..Flow::default()
            })
            .collect()
    }

    /// The statistics read back are the flows' own, exactly, for the
    /// columns the encoder keeps them for.
    #[test]
    fn statistics_read_back_are_the_flows_own() {
        let fl = flows(3000);
        let mut body = Vec::new();
        BlockEncoder::new(1)
            .unwrap()
            .encode(&fl, &mut body)
            .unwrap();
        let got = block_stats(&body).unwrap();
        let want = BatchStats::of_flows(&fl);
        assert_eq!(got.start, want.start);
        assert_eq!(got.end, want.end);
        assert_eq!(got.records, 3000);
        for c in Col::ALL {
            if c < Col::SourceId || c.is_address() {
                continue;
            }
            let (g, w) = (got.num(c), want.num(c));
            assert_eq!(g.range, w.range, "{c:?}");
            if keeps_set(id_of(c)) {
                assert_eq!(g.set, w.set, "{c:?}");
            }
            if matches!(c, Col::TcpFlags | Col::Tos) {
                assert_eq!(g.bits, w.bits, "{c:?}");
            }
        }
        for c in [Col::SrcAddr, Col::DstAddr, Col::Exporter, Col::NextHop] {
            assert_eq!(got.addr(c), want.addr(c), "{c:?}");
        }
        // And the block decodes as before.
        let mut out = Vec::new();
        BlockDecoder::new()
            .unwrap()
            .decode(&body, &mut out)
            .unwrap();
        assert_eq!(out, fl);
    }
}
