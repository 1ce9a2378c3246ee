//! The fixed-format versions, v1, v5 and v7, read here: a header and
//! whole records at fixed offsets, decoded whole or refused whole.
//!
//! Why not netflow_parser's v5 and v7 (which the collector used until
//! 2026-12): it builds a vector of records per datagram and a list of
//! packets per call, and maps each protocol number to an enum, and the
//! records were then mapped to flows again. Each record is loaded here
//! straight into a [`Flow`], which roughly halves the v5 decode bench
//! (`cargo bench -p floe-benches --bench decode`). netflow_parser stays the
//! second opinion: [`crate::oracle::fixed`] maps its records, and the tests
//! hold this reader to it, on the corpus and on random datagrams. It does
//! not read v1, which was read here already.

use std::net::{IpAddr, Ipv4Addr};

use floe_flow::Flow;

use crate::events::Problem;
use crate::record::uptime_to_ms;

/// What a fixed-format datagram gave.
pub(crate) struct Fixed {
    pub records: u64,
    /// Flow sequence number (v5, v7; v1 has none).
    pub sequence: Option<u32>,
    /// v5: `engine_type << 8 | engine_id`; others 0.
    pub source_id: u32,
}

/// The v5 and v7 header's size, which both versions share.
const HEADER: usize = 24;

/// A version's record size and most records a datagram may announce
/// (Cisco's limits, which netflow_parser holds to as well).
fn layout(version: u16) -> (usize, usize) {
    if version == 5 {
        (48, 30)
    } else {
        (52, 28)
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
/// bytes after the records announced are not read (netflow_parser did
/// not either).
pub(crate) fn decode(
    from: IpAddr,
    version: u16,
    data: &[u8],
    out: &mut Vec<Flow>,
) -> Result<Fixed, Problem> {
    if version == 1 {
        return v1(from, data, out);
    }
    if data.len() < HEADER {
        return Err(Problem::ShortHeader {
            version,
            len: data.len(),
        });
    }
    let (size, most) = layout(version);
    let count = usize::from(be16(data, 2));
    if count == 0 || count > most || data.len() < HEADER + size * count {
        return Err(Problem::FixedCount {
            version,
            count,
            most,
            len: data.len(),
        });
    }
    let (sys_up, secs, nsecs, sequence) =
        (be32(data, 4), be32(data, 8), be32(data, 12), be32(data, 16));
    let export_ms = i64::from(secs) * 1000 + i64::from(nsecs / 1_000_000);
    // v7's last header bytes are reserved.
    let (engine_type, engine_id, sampling) = if version == 5 {
        (data[20], data[21], u32::from(be16(data, 22) & 0x3fff))
    } else {
        (0, 0, 0)
    };
    let source_id = u32::from(engine_type) << 8 | u32::from(engine_id);
    // v5's and v7's records agree on their first 46 bytes.
    let records = data[HEADER..HEADER + size * count].chunks_exact(size);
    out.extend(records.map(|r| Flow {
        start_ms: uptime_to_ms(export_ms, sys_up, be32(r, 24)),
        end_ms: uptime_to_ms(export_ms, sys_up, be32(r, 28)),
        exporter: from,
        source_id,
        src_addr: ip(r, 0),
        dst_addr: ip(r, 4),
        next_hop: ip(r, 8),
        input_if: u32::from(be16(r, 12)),
        output_if: u32::from(be16(r, 14)),
        packets: u64::from(be32(r, 16)),
        octets: u64::from(be32(r, 20)),
        src_port: be16(r, 32),
        dst_port: be16(r, 34),
        tcp_flags: u16::from(r[37]),
        protocol: r[38],
        tos: r[39],
        src_as: u32::from(be16(r, 40)),
        dst_as: u32::from(be16(r, 42)),
        src_mask: r[44],
        dst_mask: r[45],
        sampling_interval: sampling,
        engine_type,
        engine_id,
    }));
    Ok(Fixed {
        records: count as u64,
        sequence: Some(sequence),
        source_id,
    })
}

/// NetFlow v1: a 16-byte header and 48-byte records, no sequence numbers,
/// no engine ids.
fn v1(from: IpAddr, data: &[u8], out: &mut Vec<Flow>) -> Result<Fixed, Problem> {
    let count = data
        .get(2..4)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .unwrap_or(0);
    if data.len() < 16 || data.len() < 16 + 48 * count || count == 0 || count > 24 {
        return Err(Problem::V1Count {
            count,
            len: data.len(),
        });
    }
    let be32 = |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let be16 = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    let (sys_up, secs, nsecs) = (be32(4), be32(8), be32(12));
    let export_ms = i64::from(secs) * 1000 + i64::from(nsecs / 1_000_000);
    let at_time = |up: u32| uptime_to_ms(export_ms, sys_up, up);
    for i in 0..count {
        let r = 16 + 48 * i;
        let ip = |at: usize| IpAddr::from([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        out.push(Flow {
            start_ms: at_time(be32(r + 24)),
            end_ms: at_time(be32(r + 28)),
            exporter: from,
            source_id: 0,
            src_addr: ip(r),
            dst_addr: ip(r + 4),
            next_hop: ip(r + 8),
            input_if: u32::from(be16(r + 12)),
            output_if: u32::from(be16(r + 14)),
            packets: u64::from(be32(r + 16)),
            octets: u64::from(be32(r + 20)),
            src_port: be16(r + 32),
            dst_port: be16(r + 34),
            protocol: data[r + 38],
            tos: data[r + 39],
            tcp_flags: u16::from(data[r + 40]),
            ..Flow::default()
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

    /// A v5 or v7 datagram: a header whose count may be anything, records
    /// of random bytes, cut or lengthened at random.
    fn datagram() -> impl Strategy<Value = (u16, Vec<u8>)> {
        (
            prop_oneof![Just(5u16), Just(7u16)],
            0u16..=32,
            0usize..=32,
            any::<[u8; 20]>(),
            prop::collection::vec(any::<u8>(), 0..=52 * 32),
            -60isize..=60,
        )
            .prop_map(|(version, count, records, header, body, cut)| {
                let size = if version == 5 { 48 } else { 52 };
                let mut d = version.to_be_bytes().to_vec();
                d.extend(count.to_be_bytes());
                d.extend(header);
                let want = (records * size).min(body.len());
                d.extend(&body[..want]);
                let len = (d.len() as isize + cut).max(0) as usize;
                d.resize(len, 0xa5);
                (version, d)
            })
    }

    proptest! {
        /// Every datagram reads as netflow_parser reads it: the same flows
        /// and sequence number, or refused by both.
        #[test]
        fn reads_as_netflow_parser_does((version, d) in datagram()) {
            let from = IpAddr::from([192, 0, 2, 7]);
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            let got = decode(from, version, &d, &mut ours);
            let want = crate::oracle::fixed(from, &d, &mut theirs);
            match (got, want) {
                (Ok(f), Some(seq)) => {
                    prop_assert_eq!(f.sequence, Some(seq));
                    prop_assert_eq!(f.records as usize, ours.len());
                    prop_assert_eq!(ours, theirs);
                }
                (Err(p), None) => {
                    prop_assert!(ours.is_empty());
                    let text = p.to_string();
                    prop_assert!(text.starts_with(&format!("v{version} datagram of {} bytes", d.len())), "{}", text);
                }
                (got, want) => prop_assert!(false, "ours {:?}, netflow_parser's {:?}", got.map(|f| f.records).map_err(|p| p.to_string()), want),
            }
        }
    }

    #[test]
    fn a_count_the_datagram_does_not_hold_is_refused_with_it() {
        let mut d = vec![0, 5, 0, 3];
        d.resize(24 + 48 * 2, 0);
        let p = decode(IpAddr::from([192, 0, 2, 7]), 5, &d, &mut Vec::new())
            .err()
            .expect("refused");
        assert_eq!(
            p.to_string(),
            "v5 datagram of 120 bytes does not hold its header and 3 records (1 to 30)"
        );
        assert_eq!(p.kind(), "fixed_format");
        d[3] = 29;
        d.resize(24 + 52 * 29, 0);
        d[1] = 7;
        let p = decode(IpAddr::from([192, 0, 2, 7]), 7, &d, &mut Vec::new())
            .err()
            .expect("refused");
        assert_eq!(
            p.to_string(),
            "v7 datagram of 1532 bytes does not hold its header and 29 records (1 to 28)"
        );
    }
}
