//! The fixed-format versions, v1, v5 and v7, read here: a header and
//! whole records at fixed offsets, decoded whole or refused whole.
//!
//! Why not netflow_parser's v5 and v7 (which the collector used until
//! 2026-12): it builds a vector of records per datagram and a list of
//! packets per call, and maps each protocol number to an enum, and the
//! records were then mapped to flows again. Each record is loaded here
//! straight into a [`Flow`] (or, for floed, v5 and v7 records a field at
//! a time into a batch's columns), which roughly halves the v5 decode bench
//! (`cargo bench -p floe-benches --bench decode`). netflow_parser stays the
//! second opinion: [`crate::oracle::fixed`] maps its records, and the tests
//! hold this reader to it, on the corpus and on random datagrams. It does
//! not read v1, which was read here already.

use std::net::{IpAddr, Ipv4Addr};

use floe_flow::{Flow, FlowBatch};

use crate::events::Problem;
use crate::out::{FlowOut, Target};
use crate::record::uptime_to_ms;

/// What a fixed-format datagram gave.
pub(crate) struct Fixed {
    pub records: u64,
    /// Flow sequence number (v5, v7; v1 has none).
    pub sequence: Option<u32>,
    /// v5: `engine_type << 8 | engine_id`; others 0.
    pub source_id: u32,
}

/// Where a fixed-format version's records are, and how many it may
/// announce (Cisco's limits, which netflow_parser holds to as well).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub header: usize,
    pub record: usize,
    pub most: usize,
}

const V1: Layout = Layout {
    header: 16,
    record: 48,
    most: 24,
};

/// The layout of v1, v5 or v7.
pub(crate) fn layout(version: u16) -> Option<Layout> {
    match version {
        1 => Some(V1),
        5 => Some(Layout {
            header: 24,
            record: 48,
            most: 30,
        }),
        7 => Some(Layout {
            header: 24,
            record: 52,
            most: 28,
        }),
        _ => None,
    }
}

/// The header's uptime and export time, ms, at the same places in every
/// fixed-format version.
fn clock(data: &[u8]) -> (u32, i64) {
    let (sys_up, secs, nsecs) = (be32(data, 4), be32(data, 8), be32(data, 12));
    (
        sys_up,
        i64::from(secs) * 1000 + i64::from(nsecs / 1_000_000),
    )
}

/// The fields every fixed-format record has at the same place: its first
/// 36 bytes, the protocol and the ToS (the TCP flags are not: byte 40 in
/// v1, 37 in v5 and v7).
// Inlined: called once per record, and a call per record doubled the
// cost of decoding v5 into rows (decode bench).
#[inline(always)]
fn common_fields(r: &[u8], from: IpAddr, (sys_up, export_ms): (u32, i64)) -> Flow {
    Flow {
        start_ms: uptime_to_ms(export_ms, sys_up, be32(r, 24)),
        end_ms: uptime_to_ms(export_ms, sys_up, be32(r, 28)),
        exporter: from,
        src_addr: ip(r, 0),
        dst_addr: ip(r, 4),
        next_hop: ip(r, 8),
        input_if: u32::from(be16(r, 12)),
        output_if: u32::from(be16(r, 14)),
        packets: u64::from(be32(r, 16)),
        octets: u64::from(be32(r, 20)),
        src_port: be16(r, 32),
        dst_port: be16(r, 34),
        protocol: r[38],
        tos: r[39],
        ..Flow::default()
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn ip(b: &[u8], at: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]))
}

/// Decodes a v1, v5 or v7 datagram from `from`, appending its flows. The
/// bytes after the records announced are not read (the collector never
/// took flows from them: netflow_parser read them as more messages, and
/// only its first was used).
pub(crate) fn decode<O: FlowOut>(
    from: IpAddr,
    version: u16,
    data: &[u8],
    out: &mut O,
) -> Result<Fixed, Problem> {
    if version == 1 {
        return v1(from, data, out);
    }
    let Some(Layout {
        header,
        record,
        most,
    }) = layout(version)
    else {
        return Err(Problem::UnknownVersion { version });
    };
    if data.len() < header {
        return Err(Problem::ShortHeader {
            version,
            len: data.len(),
        });
    }
    let count = usize::from(be16(data, 2));
    if count == 0 || count > most || data.len() < header + record * count {
        return Err(Problem::FixedCount {
            version,
            count,
            most,
            len: data.len(),
        });
    }
    let (time, sequence) = (clock(data), be32(data, 16));
    // v7's last header bytes are reserved.
    let (engine_type, engine_id, sampling) = if version == 5 {
        (data[20], data[21], u32::from(be16(data, 22) & 0x3fff))
    } else {
        (0, 0, 0)
    };
    let source_id = u32::from(engine_type) << 8 | u32::from(engine_id);
    // v5's and v7's records agree on their first 46 bytes.
    let records = data[header..header + record * count].chunks_exact(record);
    let out = match out.target() {
        Target::Rows(rows) => rows,
        Target::Columns(b) => {
            let base = Flow {
                exporter: from,
                source_id,
                sampling_interval: sampling,
                engine_type,
                engine_id,
                ..Flow::default()
            };
            columns(b, records, &base, time);
            return Ok(Fixed {
                records: count as u64,
                sequence: Some(sequence),
                source_id,
            });
        }
    };
    out.extend(records.map(|r| Flow {
        source_id,
        tcp_flags: u16::from(r[37]),
        src_as: u32::from(be16(r, 40)),
        dst_as: u32::from(be16(r, 42)),
        src_mask: r[44],
        dst_mask: r[45],
        sampling_interval: sampling,
        engine_type,
        engine_id,
        ..common_fields(r, from, time)
    }));
    Ok(Fixed {
        records: count as u64,
        sequence: Some(sequence),
        source_id,
    })
}

/// A v5 or v7 datagram's records into columns, at the places
/// [`common_fields`] and [`decode`] read.
fn columns(
    b: &mut FlowBatch,
    records: std::slice::ChunksExact<'_, u8>,
    base: &Flow,
    (sys_up, export_ms): (u32, i64),
) {
    let n = records.len();
    let first = b.grow(n, base);
    let to = first + n;
    // One pass over the records, each field stored into its column's run:
    // a datagram holds at most 30 records, too few to pay for setting up
    // a loop per column (18 of them; the decode bench measures both).
    let start = &mut b.start_ms[first..to];
    let end = &mut b.end_ms[first..to];
    let src = &mut b.src_addr.v4[first..to];
    let dst = &mut b.dst_addr.v4[first..to];
    let hop = &mut b.next_hop.v4[first..to];
    let input = &mut b.input_if[first..to];
    let output = &mut b.output_if[first..to];
    let packets = &mut b.packets[first..to];
    let octets = &mut b.octets[first..to];
    let sport = &mut b.src_port[first..to];
    let dport = &mut b.dst_port[first..to];
    let flags = &mut b.tcp_flags[first..to];
    let proto = &mut b.protocol[first..to];
    let tos = &mut b.tos[first..to];
    let sas = &mut b.src_as[first..to];
    let das = &mut b.dst_as[first..to];
    let smask = &mut b.src_mask[first..to];
    let dmask = &mut b.dst_mask[first..to];
    for (i, r) in records.enumerate() {
        start[i] = uptime_to_ms(export_ms, sys_up, be32(r, 24));
        end[i] = uptime_to_ms(export_ms, sys_up, be32(r, 28));
        src[i] = be32(r, 0);
        dst[i] = be32(r, 4);
        hop[i] = be32(r, 8);
        input[i] = u32::from(be16(r, 12));
        output[i] = u32::from(be16(r, 14));
        packets[i] = u64::from(be32(r, 16));
        octets[i] = u64::from(be32(r, 20));
        sport[i] = be16(r, 32);
        dport[i] = be16(r, 34);
        flags[i] = u16::from(r[37]);
        proto[i] = r[38];
        tos[i] = r[39];
        sas[i] = u32::from(be16(r, 40));
        das[i] = u32::from(be16(r, 42));
        smask[i] = r[44];
        dmask[i] = r[45];
    }
}

/// NetFlow v1: a 16-byte header and 48-byte records, no sequence numbers,
/// no engine ids (rare: decoded as rows, pushed one at a time into
/// columns).
fn v1<O: FlowOut>(from: IpAddr, data: &[u8], out: &mut O) -> Result<Fixed, Problem> {
    let Layout {
        header,
        record,
        most,
    } = V1;
    let count = data.get(2..4).map_or(0, |_| usize::from(be16(data, 2)));
    if data.len() < header + record * count || count == 0 || count > most {
        return Err(Problem::V1Count {
            count,
            len: data.len(),
        });
    }
    let time = clock(data);
    let records = data[header..header + record * count].chunks_exact(record);
    for r in records {
        out.push_flow(Flow {
            tcp_flags: u16::from(r[40]),
            ..common_fields(r, from, time)
        });
    }
    Ok(Fixed {
        records: count as u64,
        sequence: None,
        source_id: 0,
    })
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;

    const FROM: [u8; 4] = [192, 0, 2, 7];

    /// A v5 or v7 datagram of `records` records of `fill` (the header's
    /// count says `count`), `cut` bytes longer or shorter.
    fn datagram(version: u16, count: u16, records: usize, fill: &[u8], cut: isize) -> Vec<u8> {
        let size = if version == 5 { 48 } else { 52 };
        let mut d = version.to_be_bytes().to_vec();
        d.extend(count.to_be_bytes());
        d.extend(fill.iter().cycle().take(20 + records * size));
        let len = (d.len() as isize + cut).max(0) as usize;
        d.resize(len, 0xa5);
        d
    }

    /// Datagrams around every boundary: counts at and beside the limits,
    /// as many records as announced or one more or less, lengths at and
    /// beside a whole number of records; and anything in between.
    fn arb_datagram() -> impl Strategy<Value = (u16, Vec<u8>)> {
        let version = prop_oneof![Just(5u16), Just(7u16)];
        version
            .prop_flat_map(|version| {
                let most = if version == 5 { 30u16 } else { 28 };
                let count = prop_oneof![
                    Just(0u16),
                    Just(1),
                    Just(most - 1),
                    Just(most),
                    Just(most + 1),
                    0u16..=40,
                ];
                let records = prop_oneof![Just(0isize), Just(-1), Just(1), -40isize..=40];
                let cut = prop_oneof![Just(0isize), Just(-1), Just(1), -60isize..=60];
                (
                    Just(version),
                    count,
                    records,
                    prop::collection::vec(any::<u8>(), 1..=64),
                    cut,
                )
            })
            .prop_map(|(version, count, extra, fill, cut)| {
                let records = (isize::from(count as i16) + extra).max(0) as usize;
                (version, datagram(version, count, records, &fill, cut))
            })
    }

    /// Our reading of a datagram: its flows and sequence number, or our
    /// refusal's text.
    type Ours = Result<(Vec<Flow>, Option<u32>), String>;

    /// Ours and netflow_parser's reading of a datagram.
    fn both(version: u16, d: &[u8]) -> (Ours, Option<(Vec<Flow>, u32)>) {
        let from = IpAddr::from(FROM);
        let mut ours = Vec::new();
        let got = decode(from, version, d, &mut ours)
            .map(|f| {
                assert_eq!(f.records as usize, ours.len());
                (ours, f.sequence)
            })
            .map_err(|p| p.to_string());
        let mut theirs = Vec::new();
        let want = crate::oracle::fixed(from, d, &mut theirs).map(|seq| (theirs, seq));
        (got, want)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// Every datagram reads as netflow_parser reads it: the same flows
        /// and sequence number, or refused by both.
        #[test]
        fn reads_as_netflow_parser_does((version, d) in arb_datagram()) {
            match both(version, &d) {
                (Ok((ours, seq)), Some((theirs, their_seq))) => {
                    prop_assert_eq!(seq, Some(their_seq));
                    prop_assert_eq!(ours, theirs);
                }
                (Err(text), None) => {
                    let named = format!("v{version} datagram of {} bytes", d.len());
                    prop_assert!(text.starts_with(&named), "{}", text);
                }
                (got, want) => prop_assert!(
                    false,
                    "ours {:?}, netflow_parser's {:?}",
                    got.map(|f| f.0.len()),
                    want.map(|f| f.0.len())
                ),
            }
        }
    }

    #[test]
    fn the_limits_and_whole_lengths_are_read_as_netflow_parser_reads_them() {
        for (version, most) in [(5u16, 30u16), (7, 28)] {
            let fill = [1u8, 2, 3, 250, 7];
            for (count, records, cut, read) in [
                (most, usize::from(most), 0, true),
                (1, 1, 0, true),
                (1, 1, 3, true),
                (most + 1, usize::from(most) + 1, 0, false),
                (0, 1, 0, false),
                (2, 2, -1, false),
            ] {
                let d = datagram(version, count, records, &fill, cut);
                let (got, want) = both(version, &d);
                assert_eq!(
                    got.is_ok(),
                    read,
                    "v{version}, {count} records, cut {cut}: {got:?}"
                );
                assert_eq!(
                    want.is_some(),
                    read,
                    "v{version}, {count} records, cut {cut}"
                );
                if let (Ok((ours, _)), Some((theirs, _))) = (got, want) {
                    assert_eq!(ours.len(), usize::from(count));
                    assert_eq!(ours, theirs);
                }
            }
        }
    }

    #[test]
    fn a_refusal_names_the_count_and_the_length() {
        let refusal = |version, count, records| {
            let d = datagram(version, count, records, &[0], 0);
            both(version, &d).0.expect_err("refused")
        };
        assert_eq!(
            refusal(5, 3, 2),
            "v5 datagram of 120 bytes does not hold its header and 3 records"
        );
        assert_eq!(
            refusal(7, 29, 29),
            "v7 datagram of 1532 bytes announces 29 records, not 1 to 28"
        );
        assert_eq!(
            refusal(5, 0, 0),
            "v5 datagram of 24 bytes announces 0 records, not 1 to 30"
        );
        let d = datagram(5, 0, 0, &[0], 0);
        let p = decode(IpAddr::from(FROM), 5, &d, &mut Vec::new()).err();
        assert_eq!(p.map(|p| p.kind()), Some("fixed_format"));
    }
}
