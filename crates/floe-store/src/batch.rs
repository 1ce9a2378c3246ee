//! Decoding a block into columns ([`FlowBatch`]) rather than [`Flow`]
//! rows: each projected column's byte planes are untransposed straight
//! into a vector of the field's own width, times are resolved (start from
//! the block's base, end from the start), and each address field becomes
//! a family per flow with IPv4 values as `u32` and, when the block holds
//! any IPv6 address there, IPv6 values as `u128`. Nothing is built per
//! row, and the columns the projection leaves out are neither
//! decompressed nor written.
//!
//! The checks are the row decoder's (`codec.rs`: the same
//! `load_columns`), plus the families against the value counts before
//! any value is placed.
//!
//! [`Flow`]: floe_flow::Flow

use floe_flow::{AddrColumn, Col, FlowBatch};

use crate::codec::{col, unzigzag, BlockDecoder, Column};
use crate::error::BlockError;
use crate::format::BlockHeader;

/// The decoder's buffers for address values (dense, before they are
/// placed by family).
#[derive(Default)]
pub(crate) struct Scratch {
    v4: Vec<u32>,
    v6: Vec<u128>,
    times: Vec<u64>,
}

/// An unsigned integer a column untransposes into.
trait Lane: Copy + Default + std::ops::BitOrAssign {
    const BYTES: usize;
    fn from_byte(b: u8, shift: u32) -> Self;
    fn from_wide(v: u128) -> Self;
}

macro_rules! lane {
    ($($t:ty),*) => {$(
        impl Lane for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn from_byte(b: u8, shift: u32) -> Self {
                <$t>::from(b) << shift
            }
            #[inline(always)]
            fn from_wide(v: u128) -> Self {
                v as $t
            }
        }
    )*};
}
lane!(u8, u16, u32, u64, u128);

/// Appends `count` values of column `c` from value `from` on to `out`
/// (bytes past the lane's width are dropped, as the row decoder's casts
/// drop them).
fn unplane<T: Lane>(scratch: &[u8], c: &Column, from: usize, count: usize, out: &mut Vec<T>) {
    if c.constant {
        out.resize(out.len() + count, T::from_wide(c.value));
        return;
    }
    let at = out.len();
    let first = &scratch[c.at + from..][..count];
    out.extend(first.iter().map(|&b| T::from_byte(b, 0)));
    let dst = &mut out[at..];
    for b in 1..c.width.min(T::BYTES) {
        let plane = &scratch[c.at + b * c.count + from..][..count];
        let shift = 8 * b as u32;
        for (d, &byte) in dst.iter_mut().zip(plane) {
            *d |= T::from_byte(byte, shift);
        }
    }
}

impl BlockDecoder {
    /// Decodes a block body into `out` as columns: the fields of the
    /// decoder's projection ([`BlockDecoder::set_projection`]), the others
    /// left empty ([`FlowBatch::has`]). What is checked, and what a block
    /// can make the decoder allocate, are as for [`BlockDecoder::decode`].
    /// On error `out` holds no flows.
    pub fn decode_batch(
        &mut self,
        body: &[u8],
        out: &mut FlowBatch,
    ) -> Result<BlockHeader, BlockError> {
        let head =
            BlockHeader::decode(body).ok_or(BlockError::HeaderCutShort { len: body.len() })?;
        out.reset(0, floe_flow::ColSet::NONE);
        self.load_columns(body, &head)?;
        let n = head.records as usize;
        let mut cols = self.projection.cols();
        if cols.has(Col::End) {
            cols = cols.with(Col::Start);
        }
        out.reset(n, cols);
        let r = self.fill_batch_columns(&head, cols, out);
        if r.is_err() {
            out.reset(0, floe_flow::ColSet::NONE);
        }
        r.map(|()| head)
    }

    fn fill_batch_columns(
        &mut self,
        head: &BlockHeader,
        cols: floe_flow::ColSet,
        out: &mut FlowBatch,
    ) -> Result<(), BlockError> {
        let n = head.records as usize;
        let s = &self.scratch[..];
        let c = &self.columns;
        let column = |id: u8| &c[usize::from(id)];
        if cols.has(Col::Start) {
            let t = &mut self.wide_scratch.times;
            t.clear();
            unplane::<u64>(s, column(col::START), 0, n, t);
            let base = head.min_start_ms;
            out.start_ms
                .extend(t.iter().map(|v| base.wrapping_add(*v as i64)));
            if cols.has(Col::End) {
                t.clear();
                unplane::<u64>(s, column(col::END), 0, n, t);
                out.end_ms.extend(
                    out.start_ms
                        .iter()
                        .zip(t.iter())
                        .map(|(st, d)| st.wrapping_add(unzigzag(*d))),
                );
            }
        }
        macro_rules! scalar {
            ($c:expr, $id:expr, $v:ident) => {
                if cols.has($c) {
                    unplane(s, column($id), 0, n, &mut out.$v);
                }
            };
        }
        scalar!(Col::SourceId, col::SOURCE_ID, source_id);
        scalar!(Col::SrcPort, col::SRC_PORT, src_port);
        scalar!(Col::DstPort, col::DST_PORT, dst_port);
        scalar!(Col::Protocol, col::PROTOCOL, protocol);
        scalar!(Col::TcpFlags, col::TCP_FLAGS, tcp_flags);
        scalar!(Col::Tos, col::TOS, tos);
        scalar!(Col::Packets, col::PACKETS, packets);
        scalar!(Col::Octets, col::OCTETS, octets);
        scalar!(Col::InputIf, col::INPUT_IF, input_if);
        scalar!(Col::OutputIf, col::OUTPUT_IF, output_if);
        scalar!(Col::SrcAs, col::SRC_AS, src_as);
        scalar!(Col::DstAs, col::DST_AS, dst_as);
        scalar!(Col::SrcMask, col::SRC_MASK, src_mask);
        scalar!(Col::DstMask, col::DST_MASK, dst_mask);
        scalar!(Col::Sampling, col::SAMPLING, sampling_interval);
        scalar!(Col::EngineType, col::ENGINE_TYPE, engine_type);
        scalar!(Col::EngineId, col::ENGINE_ID, engine_id);
        for (c, first, dst) in [
            (Col::Exporter, col::EXPORTER, &mut out.exporter),
            (Col::SrcAddr, col::SRC_ADDR, &mut out.src_addr),
            (Col::DstAddr, col::DST_ADDR, &mut out.dst_addr),
            (Col::NextHop, col::NEXT_HOP, &mut out.next_hop),
        ] {
            if cols.has(c) {
                let three = [*column(first), *column(first + 1), *column(first + 2)];
                addresses(s, &three, first, n, &mut self.wide_scratch, dst)?;
            }
        }
        Ok(())
    }
}

/// Places an address field's values by family into `out`: its family
/// column `three[0]`, IPv4 values `three[1]`, IPv6 values `three[2]`.
fn addresses(
    s: &[u8],
    three: &[Column; 3],
    first: u8,
    n: usize,
    scratch: &mut Scratch,
    out: &mut AddrColumn,
) -> Result<(), BlockError> {
    let [fam, c4, c6] = three;
    unplane::<u8>(s, fam, 0, n, &mut out.family);
    let (mut ones, mut worst) = (0usize, 0u8);
    for f in &out.family {
        ones += usize::from(*f & 1);
        worst = worst.max(*f);
    }
    if worst > 1 {
        let value = out
            .family
            .iter()
            .find(|f| **f > 1)
            .copied()
            .unwrap_or(worst);
        return Err(BlockError::Family {
            id: first,
            value: u64::from(value),
        });
    }
    let zeros = n - ones;
    if c4.count < zeros || c6.count < ones {
        return Err(BlockError::AddressShort {
            family: first,
            v4: first + 1,
            v6: first + 2,
        });
    }
    if c4.count != zeros || c6.count != ones {
        return Err(BlockError::AddressCount {
            family: first,
            have4: c4.count,
            have6: c6.count,
            used4: zeros,
            used6: ones,
        });
    }
    if ones == 0 {
        // Every address IPv4 (most blocks of most networks): the values
        // are the rows.
        unplane::<u32>(s, c4, 0, n, &mut out.v4);
        return Ok(());
    }
    scratch.v4.clear();
    scratch.v6.clear();
    unplane::<u32>(s, c4, 0, zeros, &mut scratch.v4);
    unplane::<u128>(s, c6, 0, ones, &mut scratch.v6);
    out.v4.reserve(n);
    out.v6.reserve(n);
    let (mut a, mut b) = (0, 0);
    for f in &out.family {
        if *f == 0 {
            out.v4.push(scratch.v4[a]);
            out.v6.push(0);
            a += 1;
        } else {
            out.v4.push(0);
            out.v6.push(scratch.v6[b]);
            b += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{BlockEncoder, Projection};
    use floe_flow::{ColSet, Flow};
    use std::net::IpAddr;

    fn flows(n: u64, v6_every: u64) -> Vec<Flow> {
        (0..n)
            .map(|i| Flow {
                start_ms: 1_700_000_000_000 + (i as i64 * 37) % 5000,
                end_ms: 1_700_000_000_000 + (i as i64 * 37) % 5000 + (i as i64 % 300) - 7,
                exporter: "192.0.2.1".parse().unwrap(),
                src_addr: if v6_every > 0 && i % v6_every == 0 {
                    format!("2001:db8::{i:x}").parse().unwrap()
                } else {
                    IpAddr::from([10, 0, (i / 256) as u8, i as u8])
                },
                dst_addr: IpAddr::from([198, 51, 100, (i % 7) as u8]),
                next_hop: if i % 2 == 0 {
                    "fe80::1".parse().unwrap()
                } else {
                    "192.0.2.254".parse().unwrap()
                },
                src_port: (i * 7919 % 65536) as u16,
                dst_port: 443,
                protocol: [6, 17][i as usize % 2],
                tcp_flags: (i % 512) as u16,
                packets: 1 + i,
                octets: i * 1000 + (1 << 40) * (i % 3),
                src_as: i as u32 * 77_777,
                sampling_interval: 100,
                ..Flow::default()
            })
            .collect()
    }

    /// Every projection decodes to the columns of the row decoder's flows.
    #[test]
    fn columns_are_the_rows_fields() {
        let mut dec = BlockDecoder::new().unwrap();
        let mut enc = BlockEncoder::new(1).unwrap();
        for (n, v6) in [(0, 0), (1, 0), (1, 1), (700, 0), (700, 5), (3000, 1)] {
            let fl = flows(n, v6);
            let mut body = Vec::new();
            enc.encode(&fl, &mut body).unwrap();
            let all: Vec<ColSet> = vec![
                ColSet::ALL,
                ColSet::NONE,
                ColSet::of_fields(["srcip", "octets"]).unwrap(),
                ColSet::of_fields(["end-time", "dstport", "proto", "nexthop"]).unwrap(),
                ColSet::of_fields(["start-time", "tcp-flags", "exporter", "dstip"]).unwrap(),
            ];
            for cols in all {
                dec.set_projection(Projection::of_cols(cols));
                let mut b = FlowBatch::new();
                dec.decode_batch(&body, &mut b).unwrap();
                let mut want = FlowBatch::new();
                let mut cols = cols;
                if cols.has(Col::End) {
                    cols = cols.with(Col::Start);
                }
                want.fill_from(&fl, cols);
                assert_eq!(b, want, "{n} flows, {cols:?}");
            }
        }
    }

    #[test]
    fn damaged_bodies_are_errors_and_leave_no_flows() {
        let fl = flows(300, 3);
        let mut body = Vec::new();
        BlockEncoder::new(1)
            .unwrap()
            .encode(&fl, &mut body)
            .unwrap();
        let mut dec = BlockDecoder::new().unwrap();
        let mut b = FlowBatch::new();
        for cut in (0..body.len()).step_by(11) {
            assert!(dec.decode_batch(&body[..cut], &mut b).is_err(), "cut {cut}");
            assert!(b.is_empty());
        }
        for at in (0..body.len()).step_by(5) {
            let mut bad = body.clone();
            bad[at] ^= 0x5a;
            let _ = dec.decode_batch(&bad, &mut b);
            let _ = crate::stats::block_stats(&bad);
        }
    }
}
