//! netflow_parser's decoding of whole v9/IPFIX datagrams, mapped to flows
//! by the same record rules, and of v5/v7 datagrams ([`fixed`]): the
//! second opinion the tests hold floe's own framing, template reading,
//! record paths and fixed-format reader to (the corpus test decodes every
//! corpus file both ways). Not used by the collector.
//!
//! It keeps, per exporter stream, netflow_parser's parser (its templates
//! and early-data queue), the sampling intervals and the boot time that
//! options records announce; nothing else (no sequence accounting, no
//! limits beyond netflow_parser's own).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use floe_flow::Flow;
use netflow_parser::variable_versions::field_value::FieldValue;
use netflow_parser::variable_versions::ipfix::lookup::{IANAIPFixField, IPFixField};
use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::v9::lookup::V9Field;
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::variable_versions::PendingFlowsConfig;
use netflow_parser::{NetflowPacket, NetflowParser};

use crate::record::{uptime_to_ms, Context, Record};

struct State {
    parser: NetflowParser,
    sampling: Option<u32>,
    samplers: HashMap<u64, u32>,
    sys_init_ms: Option<i64>,
}

/// What netflow_parser makes of a datagram.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OracleOutcome {
    /// Options data records read.
    pub options_records: u64,
    /// netflow_parser returned no message and an error.
    pub failed: bool,
}

/// Decodes datagrams with netflow_parser, per exporter stream.
#[derive(Default)]
pub struct Oracle {
    streams: HashMap<(IpAddr, u16, u32), State>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
        .unwrap_or(0)
}

impl Oracle {
    /// Decodes a v5, v7, v9 or IPFIX datagram from `from`, appending its
    /// flows.
    pub fn decode(&mut self, from: IpAddr, data: &[u8], out: &mut Vec<Flow>) -> OracleOutcome {
        let version = data
            .get(0..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .unwrap_or(0);
        let domain = match version {
            5 | 7 => {
                return OracleOutcome {
                    options_records: 0,
                    failed: fixed(from, data, out).is_none(),
                }
            }
            9 => be32(data, 16),
            10 => be32(data, 12),
            _ => return OracleOutcome::default(),
        };
        let st = self
            .streams
            .entry((from, version, domain))
            .or_insert_with(|| State {
                // Data before its template is held, as floe does.
                parser: NetflowParser::builder()
                    .with_pending_flows(PendingFlowsConfig::with_ttl(
                        64,
                        std::time::Duration::from_secs(600),
                    ))
                    .build()
                    .unwrap_or_default(),
                sampling: None,
                samplers: HashMap::new(),
                sys_init_ms: None,
            });
        let result = st.parser.parse_bytes(data);
        let mut o = OracleOutcome {
            failed: result.packets.is_empty() && result.error.is_some(),
            ..OracleOutcome::default()
        };
        for packet in &result.packets {
            packet_flows(st, from, domain, packet, out, &mut o.options_records);
        }
        o
    }
}

fn packet_flows(
    st: &mut State,
    exporter: IpAddr,
    source_id: u32,
    packet: &NetflowPacket,
    out: &mut Vec<Flow>,
    options: &mut u64,
) {
    let flow = |st: &State, r: Record, ctx: Context, out: &mut Vec<Flow>| {
        if !r.is_flow() {
            return;
        }
        let mut cx = ctx;
        if let Some(v) = r.sampler_id.and_then(|id| st.samplers.get(&id)) {
            cx.sampling = Some(*v);
        }
        out.push(r.finish(&cx).0);
    };
    match packet {
        NetflowPacket::V9(v9) => {
            let h = &v9.header;
            for fs in &v9.flowsets {
                let ctx = Context {
                    exporter,
                    source_id,
                    export_ms: i64::from(h.unix_secs) * 1000,
                    sys_uptime_ms: Some(h.sys_up_time),
                    sys_init_ms: None,
                    sampling: st.sampling,
                };
                match &fs.body {
                    V9Body::Data(d) => {
                        for rec in &d.fields {
                            flow(st, v9_record(rec), ctx, out);
                        }
                    }
                    V9Body::OptionsData(d) => {
                        *options += d.fields.len() as u64;
                        for rec in &d.fields {
                            options_record(st, v9_record(&rec.options_fields));
                        }
                    }
                    _ => {}
                }
            }
        }
        NetflowPacket::IPFix(ipfix) => {
            let h = &ipfix.header;
            let export_ms = i64::from(h.export_time) * 1000;
            for fs in &ipfix.flowsets {
                let ctx = Context {
                    exporter,
                    source_id,
                    export_ms,
                    sys_uptime_ms: None,
                    sys_init_ms: st.sys_init_ms,
                    sampling: st.sampling,
                };
                match &fs.body {
                    IpfixBody::Data(d) => {
                        for rec in &d.fields {
                            flow(st, ipfix_record(rec, export_ms), ctx, out);
                        }
                    }
                    IpfixBody::OptionsData(d) => {
                        *options += d.fields.len() as u64;
                        for rec in &d.fields {
                            options_record(st, ipfix_record(rec, export_ms));
                        }
                    }
                    IpfixBody::V9Data(d) => {
                        for rec in &d.fields {
                            flow(st, v9_record(rec), ctx, out);
                        }
                    }
                    IpfixBody::V9OptionsData(d) => {
                        *options += d.fields.len() as u64;
                        for rec in &d.fields {
                            options_record(st, v9_record(&rec.options_fields));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn options_record(st: &mut State, r: Record) {
    if let Some(v) = r.sampling() {
        match r.sampler_id {
            Some(id) => {
                st.samplers.insert(id, v);
            }
            None => st.sampling = Some(v),
        }
    }
    if let Some(t) = r.sys_init_ms {
        st.sys_init_ms = Some(t);
    }
}

/// IANA element numbers of the parser's named IPFIX elements.
static IANA_NUMBERS: LazyLock<HashMap<IANAIPFixField, u16>> = LazyLock::new(|| {
    (0..=u16::MAX)
        .filter_map(|n| match IANAIPFixField::from(n) {
            IANAIPFixField::Unknown(_) => None,
            f => Some((f, n)),
        })
        .collect()
});

fn ipfix_ie(f: &IPFixField) -> Option<u16> {
    match f {
        IPFixField::IANA(IANAIPFixField::Unknown(n)) => Some(*n),
        IPFixField::IANA(x) => IANA_NUMBERS.get(x).copied(),
        _ => None,
    }
}

fn ipfix_record(rec: &[(IPFixField, FieldValue)], export_ms: i64) -> Record {
    let mut r = Record::default();
    for (f, v) in rec {
        if let Some(ie) = ipfix_ie(f) {
            if ie == 158 || ie == 159 {
                r.set_delta_micros(ie, v, export_ms);
            } else {
                r.set(ie, v);
            }
        }
    }
    r
}

fn v9_record(rec: &[(V9Field, FieldValue)]) -> Record {
    let mut r = Record::default();
    for (f, v) in rec {
        r.set(u16::from(*f), v);
    }
    r
}

/// The flow of a v5 or v7 record; netflow_parser's v5 and v7 records are
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

/// netflow_parser's reading of a v5 or v7 datagram from `from`: its first
/// message's flows appended to `out`, with its flow sequence number; `None`
/// when it reads no v5 or v7 message.
pub fn fixed(from: IpAddr, data: &[u8], out: &mut Vec<Flow>) -> Option<u32> {
    let result = NetflowParser::default().parse_bytes(data);
    match result.packets.first()? {
        NetflowPacket::V5(v5) => {
            let h = &v5.header;
            let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
            for r in &v5.flowsets {
                out.push(Flow {
                    source_id: u32::from(h.engine_type) << 8 | u32::from(h.engine_id),
                    sampling_interval: u32::from(h.sampling_interval & 0x3fff),
                    engine_type: h.engine_type,
                    engine_id: h.engine_id,
                    ..fixed_record!(r, from, export_ms, h.sys_up_time)
                });
            }
            Some(h.flow_sequence)
        }
        NetflowPacket::V7(v7) => {
            let h = &v7.header;
            let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
            for r in &v7.flowsets {
                out.push(fixed_record!(r, from, export_ms, h.sys_up_time));
            }
            Some(h.flow_sequence)
        }
        _ => None,
    }
}
