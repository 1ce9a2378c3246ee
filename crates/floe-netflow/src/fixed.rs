//! The fixed-format versions: v1 (read here: netflow_parser 1.0.6 does not
//! read it), v5 and v7 (read by netflow_parser, whose records are mapped
//! to flows here). A fixed-format datagram is a header and whole records:
//! it is decoded whole or refused whole.

use std::net::IpAddr;

use floe_flow::Flow;
use netflow_parser::{NetflowPacket, NetflowParser};

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

/// The flow of a fixed-format (v5, v7) record; v5 and v7 records are
/// different types with the same field names.
macro_rules! fixed_record {
    ($r:expr, $exporter:expr, $export_ms:expr, $sys_up:expr) => {{
        let r = $r;
        Flow {
            start_ms: uptime_to_ms($export_ms, $sys_up, r.first),
            end_ms: uptime_to_ms($export_ms, $sys_up, r.last),
            exporter: $exporter,
            src_addr: IpAddr::V4(r.src_addr),
            dst_addr: IpAddr::V4(r.dst_addr),
            next_hop: IpAddr::V4(r.next_hop),
            src_port: r.src_port,
            dst_port: r.dst_port,
            protocol: r.protocol_number,
            tcp_flags: u16::from(r.tcp_flags),
            tos: r.tos,
            packets: u64::from(r.d_pkts),
            octets: u64::from(r.d_octets),
            input_if: u32::from(r.input),
            output_if: u32::from(r.output),
            src_as: u32::from(r.src_as),
            dst_as: u32::from(r.dst_as),
            src_mask: r.src_mask,
            dst_mask: r.dst_mask,
            ..Flow::default()
        }
    }};
}

/// netflow_parser's messages can embed the whole input as a byte list
/// (nom's `Error { input: [...], code }`): keep the words and the code, so
/// that a log line stays a line.
pub(crate) fn short_reason(s: &str) -> String {
    let mut out = match s.find("Error { input:") {
        Some(i) => {
            let code = s
                .rfind("code: ")
                .map(|j| s[j + 6..].trim_end_matches(['}', ' ']).to_string());
            format!(
                "{}{}",
                s[..i].trim_end(),
                code.map(|c| format!(" ({c})")).unwrap_or_default()
            )
        }
        None => s.to_string(),
    };
    if out.len() > 200 {
        let mut cut = 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Decodes a v1, v5 or v7 datagram from `from`, appending its flows.
pub(crate) fn decode(
    parser: &mut NetflowParser,
    from: IpAddr,
    version: u16,
    data: &[u8],
    out: &mut Vec<Flow>,
) -> Result<Fixed, Problem> {
    if version == 1 {
        return v1(from, data, out);
    }
    if data.len() < 24 {
        return Err(Problem::ShortHeader {
            version,
            len: data.len(),
        });
    }
    let result = parser.parse_bytes(data);
    let Some(packet) = result.packets.first() else {
        let reason = result
            .error
            .map(|e| short_reason(&e.to_string()))
            .unwrap_or_else(|| "no records".into());
        return Err(Problem::FixedFormat { version, reason });
    };
    let before = out.len();
    let (sequence, source_id) = match packet {
        NetflowPacket::V5(v5) => {
            let h = &v5.header;
            let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
            let source_id = u32::from(h.engine_type) << 8 | u32::from(h.engine_id);
            for r in &v5.flowsets {
                out.push(Flow {
                    source_id,
                    sampling_interval: u32::from(h.sampling_interval & 0x3fff),
                    engine_type: h.engine_type,
                    engine_id: h.engine_id,
                    ..fixed_record!(r, from, export_ms, h.sys_up_time)
                });
            }
            (h.flow_sequence, source_id)
        }
        NetflowPacket::V7(v7) => {
            let h = &v7.header;
            let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
            for r in &v7.flowsets {
                out.push(fixed_record!(r, from, export_ms, h.sys_up_time));
            }
            (h.flow_sequence, 0)
        }
        _ => {
            return Err(Problem::FixedFormat {
                version,
                reason: "not a v5 or v7 message".into(),
            })
        }
    };
    Ok(Fixed {
        records: (out.len() - before) as u64,
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
