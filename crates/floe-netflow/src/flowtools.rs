//! flow-tools files (flow-capture's `ft-v05.2026-11-22.101500+0100` and
//! the `tmp-` file still being written) to floe [`Flow`]s, so that an
//! archive can be reported on or converted without flow-tools installed.
//!
//! The format, as flow-tools 0.68 writes it (stream version 3):
//!
//! * 4 bytes: magic `0xCF 0x10`, byte order (1 little endian, 2 big
//!   endian), stream version (3);
//! * u32 `head_off`: where the records start;
//! * TLVs up to `head_off`: u16 type, u16 length, value (export version,
//!   aggregation method and version, exporter address, capture start/end,
//!   header flags, flow counts, host name, comments...);
//! * the records, fixed-size C structs (`fts3rec_v1`, `_v5`, `_v6`, `_v7`,
//!   `_v8_1`..`_v8_14`), as one zlib stream when the header flags say
//!   compressed.
//!
//! Every integer, the header's included, is in the file's byte order;
//! addresses are u32 integers too. Times are rebuilt from each record's
//! `unix_secs`/`unix_nsecs`/`sysUpTime` and its `First`/`Last` uptimes, as
//! flow-print does.
//!
//! What does not map: a v8 aggregate record stands for `dFlows` flows and
//! becomes one floe flow with the aggregate's packets and octets (the flow
//! count is lost; [`FtFile::aggregated_flows`] still says how many it
//! stood for); v6 encapsulation sizes and peer next hop, v7 `router_sc` and
//! v8 `extra_pkts`/`marked_tos` have no floe field and are dropped. Stream
//! version 1 files (flow-tools before 0.50, 2001) are refused by name.
//!
//! A file cut short (a crashed flow-capture, a copy in progress) yields its
//! whole records and says how it was cut in [`FtFile::truncated`].

use std::net::{IpAddr, Ipv4Addr};

use floe_flow::Flow;

use crate::record::uptime_to_ms;

/// Why a flow-tools file cannot be read at all. Offsets are from the start
/// of the file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FtError {
    /// The file does not start with the flow-tools magic.
    #[error("not a flow-tools file (no 0xCF10 magic)")]
    NotFlowTools,
    /// The header's byte order byte is neither 1 nor 2.
    #[error("byte order {0} is neither 1 (little endian) nor 2 (big endian)")]
    ByteOrder(u8),
    /// A stream version other than 3.
    #[error("flow-tools stream version {0} is not supported (only version 3, flow-tools 0.50 and later)")]
    StreamVersion(u8),
    /// The file ends inside its header, at this offset.
    #[error("header cut short at offset {0}")]
    HeaderTruncated(usize),
    /// A header TLV that cannot be read.
    #[error("header TLV at offset {at}: {what}")]
    BadTlv {
        /// Its offset.
        at: usize,
        /// What is wrong with it.
        what: String,
    },
    /// Records of an export version (or v8 aggregation) floe does not read.
    #[error("export version {version} (aggregation method {method}) is not one floe reads: 1, 5, 6, 7 and 8.1 to 8.14")]
    ExportVersion {
        /// The export version.
        version: u16,
        /// The v8 aggregation method (0 for other versions).
        method: u8,
    },
}

/// The header of a flow-tools file: what flow-capture recorded about the
/// capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FtHeader {
    /// The records are big-endian.
    pub big_endian: bool,
    /// NetFlow export version of the records (1, 5, 6, 7 or 8).
    pub export_version: u16,
    /// v8 only: the aggregation method (1..14).
    pub agg_method: u8,
    /// v8 only: the aggregation method's version.
    pub agg_version: u8,
    /// The records are zlib-compressed.
    pub compressed: bool,
    /// The capture finished and the file was closed (not a `tmp-` file).
    pub complete: bool,
    /// The exporter the capture was made from, when one was recorded.
    pub exporter: Option<Ipv4Addr>,
    /// Capture start, Unix seconds.
    pub cap_start: Option<u32>,
    /// Capture end, Unix seconds.
    pub cap_end: Option<u32>,
    /// Flows flow-capture counted for the file.
    pub flows: Option<u32>,
    /// Flows flow-capture counted as lost.
    pub lost_flows: Option<u32>,
    /// Datagrams that arrived out of order.
    pub misordered: Option<u32>,
    /// Datagrams flow-capture could not read.
    pub corrupt_packets: Option<u32>,
    /// Times the exporter's sequence numbering started again.
    pub sequence_resets: Option<u32>,
    /// The host flow-capture ran on.
    pub hostname: Option<String>,
    /// The comment given to flow-capture.
    pub comments: Option<String>,
}

/// A flow-tools file read into flows.
#[derive(Clone, Debug, Default)]
pub struct FtFile {
    /// What the file header says.
    pub header: FtHeader,
    /// The records, as floe flows.
    pub flows: Vec<Flow>,
    /// For v8 aggregates: the flows the records stood for (sum of dFlows).
    pub aggregated_flows: u64,
    /// How the file was cut short, if it was: its whole records are in
    /// `flows`.
    pub truncated: Option<String>,
}

/// True when `bytes` start like a flow-tools file.
pub fn is_flow_tools(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0xCF && bytes[1] == 0x10
}

const TLV_EX_VER: u16 = 0x2;
const TLV_AGG_VER: u16 = 0x3;
const TLV_AGG_METHOD: u16 = 0x4;
const TLV_EXPORTER_IP: u16 = 0x5;
const TLV_CAP_START: u16 = 0x6;
const TLV_CAP_END: u16 = 0x7;
const TLV_HEADER_FLAGS: u16 = 0x8;
const TLV_FLOW_COUNT: u16 = 0xA;
const TLV_FLOW_LOST: u16 = 0xB;
const TLV_FLOW_MISORDERED: u16 = 0xC;
const TLV_PKT_CORRUPT: u16 = 0xD;
const TLV_SEQ_RESET: u16 = 0xE;
const TLV_CAP_HOSTNAME: u16 = 0xF;
const TLV_COMMENTS: u16 = 0x10;
const FLAG_DONE: u32 = 0x1;
const FLAG_COMPRESS: u32 = 0x2;

/// Integers in the file's byte order.
#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        if self.big {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }
}

/// Where each field sits in one record layout (`None`: not in it).
#[derive(Clone, Copy, Default)]
struct Layout {
    size: usize,
    sys_up: usize,
    exaddr: usize,
    dflows: Option<usize>,
    dpkts: usize,
    doctets: usize,
    first: usize,
    last: usize,
    srcaddr: Option<usize>,
    dstaddr: Option<usize>,
    nexthop: Option<usize>,
    input: Option<usize>,
    output: Option<usize>,
    srcport: Option<usize>,
    dstport: Option<usize>,
    prot: Option<usize>,
    tos: Option<usize>,
    tcp_flags: Option<usize>,
    engine_type: Option<usize>,
    engine_id: Option<usize>,
    src_mask: Option<usize>,
    dst_mask: Option<usize>,
    src_as: Option<usize>,
    dst_as: Option<usize>,
}

/// `fts3rec_v5`'s first 56 bytes, shared by v1, v5, v6 and v7.
const V5_BASE: Layout = Layout {
    size: 64,
    sys_up: 8,
    exaddr: 12,
    dflows: None,
    dpkts: 32,
    doctets: 36,
    first: 40,
    last: 44,
    srcaddr: Some(16),
    dstaddr: Some(20),
    nexthop: Some(24),
    input: Some(28),
    output: Some(30),
    srcport: Some(48),
    dstport: Some(50),
    prot: Some(52),
    tos: Some(53),
    tcp_flags: Some(54),
    engine_type: Some(56),
    engine_id: Some(57),
    src_mask: Some(58),
    dst_mask: Some(59),
    src_as: Some(60),
    dst_as: Some(62),
};

/// The header fields of every v8 record: times and counters.
const fn v8(size: usize, dflows: bool, sys_up: usize, exaddr: usize) -> Layout {
    let c = if dflows { 4 } else { 0 };
    Layout {
        size,
        sys_up,
        exaddr,
        dflows: if dflows { Some(16) } else { None },
        dpkts: 16 + c,
        doctets: 20 + c,
        first: 24 + c,
        last: 28 + c,
        srcaddr: None,
        dstaddr: None,
        nexthop: None,
        input: None,
        output: None,
        srcport: None,
        dstport: None,
        prot: None,
        tos: None,
        tcp_flags: None,
        engine_type: None,
        engine_id: None,
        src_mask: None,
        dst_mask: None,
        src_as: None,
        dst_as: None,
    }
}

/// The record layout of an export version / aggregation method, from
/// flow-tools' `fts3rec_*` structs.
fn layout(version: u16, method: u8) -> Option<Layout> {
    let s = Some;
    Some(match (version, method) {
        (1, _) => Layout {
            size: 60,
            engine_type: None,
            engine_id: None,
            src_mask: None,
            dst_mask: None,
            src_as: None,
            dst_as: None,
            ..V5_BASE
        },
        (5, _) => V5_BASE,
        (6, _) => Layout {
            size: 72,
            ..V5_BASE
        },
        (7, _) => Layout {
            size: 68,
            ..V5_BASE
        },
        (8, 1) => Layout {
            src_as: s(36),
            dst_as: s(38),
            input: s(40),
            output: s(42),
            engine_type: s(44),
            engine_id: s(45),
            ..v8(48, true, 8, 12)
        },
        (8, 2) => Layout {
            prot: s(36),
            srcport: s(40),
            dstport: s(42),
            engine_type: s(44),
            engine_id: s(45),
            ..v8(48, true, 8, 12)
        },
        (8, 3) => Layout {
            srcaddr: s(36),
            src_mask: s(40),
            src_as: s(42),
            input: s(44),
            engine_type: s(46),
            engine_id: s(47),
            ..v8(48, true, 12, 8)
        },
        (8, 4) => Layout {
            dstaddr: s(36),
            dst_mask: s(40),
            engine_type: s(42),
            engine_id: s(43),
            dst_as: s(44),
            output: s(46),
            ..v8(48, true, 8, 12)
        },
        (8, 5) => Layout {
            srcaddr: s(36),
            dstaddr: s(40),
            dst_mask: s(44),
            src_mask: s(45),
            engine_type: s(46),
            engine_id: s(47),
            src_as: s(48),
            dst_as: s(50),
            input: s(52),
            output: s(54),
            ..v8(56, true, 8, 12)
        },
        (8, 6) => Layout {
            dstaddr: s(32),
            output: s(44),
            tos: s(48),
            engine_type: s(50),
            engine_id: s(51),
            ..v8(52, false, 8, 12)
        },
        (8, 7) => Layout {
            dstaddr: s(32),
            srcaddr: s(36),
            output: s(48),
            input: s(50),
            tos: s(52),
            engine_type: s(54),
            engine_id: s(55),
            ..v8(56, false, 8, 12)
        },
        (8, 8) => Layout {
            dstaddr: s(32),
            srcaddr: s(36),
            dstport: s(48),
            srcport: s(50),
            output: s(52),
            input: s(54),
            tos: s(56),
            engine_type: s(58),
            engine_id: s(59),
            prot: s(60),
            ..v8(64, false, 8, 12)
        },
        (8, 9) => Layout {
            src_as: s(36),
            dst_as: s(38),
            input: s(40),
            output: s(42),
            engine_type: s(44),
            engine_id: s(45),
            tos: s(46),
            ..v8(48, true, 8, 12)
        },
        (8, 10) => Layout {
            srcport: s(36),
            dstport: s(38),
            input: s(40),
            output: s(42),
            engine_type: s(44),
            engine_id: s(45),
            prot: s(46),
            tos: s(47),
            ..v8(48, true, 8, 12)
        },
        (8, 11) => Layout {
            srcaddr: s(36),
            src_mask: s(40),
            tos: s(41),
            src_as: s(42),
            input: s(44),
            engine_type: s(46),
            engine_id: s(47),
            ..v8(48, true, 12, 8)
        },
        (8, 12) => Layout {
            dstaddr: s(36),
            output: s(40),
            dst_as: s(42),
            dst_mask: s(44),
            tos: s(45),
            engine_type: s(46),
            engine_id: s(47),
            ..v8(48, true, 12, 8)
        },
        (8, 13) => Layout {
            srcaddr: s(36),
            dstaddr: s(40),
            src_as: s(44),
            dst_as: s(46),
            input: s(48),
            output: s(50),
            dst_mask: s(52),
            src_mask: s(53),
            engine_type: s(54),
            engine_id: s(55),
            tos: s(56),
            ..v8(60, true, 8, 12)
        },
        (8, 14) => Layout {
            srcaddr: s(36),
            dstaddr: s(40),
            srcport: s(44),
            dstport: s(46),
            input: s(48),
            output: s(50),
            dst_mask: s(52),
            src_mask: s(53),
            engine_type: s(54),
            engine_id: s(55),
            tos: s(56),
            prot: s(57),
            ..v8(60, true, 8, 12)
        },
        _ => return None,
    })
}

/// Reads the header: returns it and where the records start.
fn read_header(b: &[u8]) -> Result<(FtHeader, Order, usize), FtError> {
    if !is_flow_tools(b) {
        return Err(FtError::NotFlowTools);
    }
    if b.len() < 8 {
        return Err(FtError::HeaderTruncated(b.len()));
    }
    let order = match b[2] {
        1 => Order { big: false },
        2 => Order { big: true },
        other => return Err(FtError::ByteOrder(other)),
    };
    if b[3] != 3 {
        return Err(FtError::StreamVersion(b[3]));
    }
    let head_off = order.u32(b, 4) as usize;
    if head_off > b.len() {
        return Err(FtError::HeaderTruncated(b.len()));
    }
    if head_off < 8 {
        return Err(FtError::BadTlv {
            at: 4,
            what: format!("records would start at {head_off}, inside the fixed header"),
        });
    }
    let mut h = FtHeader {
        big_endian: order.big,
        ..FtHeader::default()
    };
    let mut at = 8;
    // flow-tools may pad the TLV area with fewer than 4 bytes.
    while at + 4 <= head_off {
        let t = order.u16(b, at);
        let len = order.u16(b, at + 2) as usize;
        let v = at + 4;
        if v + len > head_off {
            return Err(FtError::BadTlv {
                at,
                what: format!("type {t} length {len} runs past the header's end ({head_off})"),
            });
        }
        let val = &b[v..v + len];
        let need = |n: usize| -> Result<(), FtError> {
            if len < n {
                Err(FtError::BadTlv {
                    at,
                    what: format!("type {t} needs {n} bytes, has {len}"),
                })
            } else {
                Ok(())
            }
        };
        let text = || {
            let end = val.iter().position(|&c| c == 0).unwrap_or(val.len());
            String::from_utf8_lossy(&val[..end]).into_owned()
        };
        match t {
            TLV_EX_VER => {
                need(2)?;
                h.export_version = order.u16(val, 0);
            }
            TLV_AGG_VER => {
                need(1)?;
                h.agg_version = val[0];
            }
            TLV_AGG_METHOD => {
                need(1)?;
                h.agg_method = val[0];
            }
            TLV_EXPORTER_IP => {
                need(4)?;
                h.exporter = Some(Ipv4Addr::from(order.u32(val, 0)));
            }
            TLV_CAP_START | TLV_CAP_END | TLV_HEADER_FLAGS | TLV_FLOW_COUNT | TLV_FLOW_LOST
            | TLV_FLOW_MISORDERED | TLV_PKT_CORRUPT | TLV_SEQ_RESET => {
                need(4)?;
                let n = order.u32(val, 0);
                match t {
                    TLV_CAP_START => h.cap_start = Some(n),
                    TLV_CAP_END => h.cap_end = Some(n),
                    TLV_HEADER_FLAGS => {
                        h.compressed = n & FLAG_COMPRESS != 0;
                        h.complete = n & FLAG_DONE != 0;
                    }
                    TLV_FLOW_COUNT => h.flows = Some(n),
                    TLV_FLOW_LOST => h.lost_flows = Some(n),
                    TLV_FLOW_MISORDERED => h.misordered = Some(n),
                    TLV_PKT_CORRUPT => h.corrupt_packets = Some(n),
                    _ => h.sequence_resets = Some(n),
                }
            }
            TLV_CAP_HOSTNAME => h.hostname = Some(text()),
            TLV_COMMENTS => h.comments = Some(text()),
            // Vendor, rotation schedule, interface names and aliases,
            // interrupt, and types from later versions: nothing to map.
            _ => {}
        }
        at = v + len;
    }
    Ok((h, order, head_off))
}

/// Reads a whole flow-tools file.
pub fn read(bytes: &[u8]) -> Result<FtFile, FtError> {
    let (header, order, head_off) = read_header(bytes)?;
    let lay = layout(header.export_version, header.agg_method).ok_or(FtError::ExportVersion {
        version: header.export_version,
        method: header.agg_method,
    })?;
    let mut truncated = None;
    let inflated;
    let data: &[u8] = if header.compressed {
        let (out, problem) = inflate(&bytes[head_off..]);
        truncated = problem;
        inflated = out;
        &inflated
    } else {
        &bytes[head_off..]
    };
    let whole = data.len() / lay.size;
    let rest = data.len() % lay.size;
    if rest != 0 && truncated.is_none() {
        truncated = Some(format!(
            "last record cut short: {rest} of {} bytes",
            lay.size
        ));
    }
    // A cut on a record boundary shows only against the count flow-capture
    // writes into the header when it closes the file.
    if let Some(announced) = header.flows.filter(|&m| (m as usize) > whole) {
        if truncated.is_none() {
            truncated = Some(format!(
                "{whole} whole records of the {announced} its header announces"
            ));
        }
    }
    let mut file = FtFile {
        flows: Vec::with_capacity(whole),
        ..FtFile::default()
    };
    for r in data.chunks_exact(lay.size) {
        let (flow, dflows) = record(r, &lay, order, header.exporter);
        file.aggregated_flows += dflows;
        file.flows.push(flow);
    }
    file.header = header;
    file.truncated = truncated;
    Ok(file)
}

/// Inflates the zlib stream of records: what it holds, and what went wrong
/// if it ended before its end marker or is damaged. (flate2's reader
/// reports a stream cut short as a clean end, so the stream's own end
/// marker is what is checked.)
fn inflate(input: &[u8]) -> (Vec<u8>, Option<String>) {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(input.len().saturating_mul(4).min(1 << 26));
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1 << 16));
        }
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let at = (d.total_in() as usize).min(input.len());
        match d.decompress_vec(&input[at..], &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return (out, None),
            Ok(_) if d.total_in() == in_before && d.total_out() == out_before => {
                return (
                    out,
                    Some(format!(
                        "the compressed records stop after {} of their bytes",
                        input.len()
                    )),
                )
            }
            Ok(_) => {}
            Err(e) => {
                let n = out.len();
                return (
                    out,
                    Some(format!(
                        "compressed records damaged at byte {} of the stream ({e}) after {n} bytes",
                        d.total_in()
                    )),
                );
            }
        }
    }
}

/// One record to a flow, and the flows it stands for (1 unless a v8
/// aggregate).
fn record(r: &[u8], l: &Layout, o: Order, header_exporter: Option<Ipv4Addr>) -> (Flow, u64) {
    let u8_at = |at: Option<usize>| at.map_or(0, |a| r[a]);
    let u16_at = |at: Option<usize>| at.map_or(0, |a| o.u16(r, a));
    let addr = |at: Option<usize>| IpAddr::V4(Ipv4Addr::from(at.map_or(0, |a| o.u32(r, a))));
    let export_ms = i64::from(o.u32(r, 0)) * 1000 + i64::from(o.u32(r, 4) / 1_000_000);
    let sys_up = o.u32(r, l.sys_up);
    let exaddr = o.u32(r, l.exaddr);
    let exporter = if exaddr == 0 {
        header_exporter.unwrap_or(Ipv4Addr::UNSPECIFIED)
    } else {
        Ipv4Addr::from(exaddr)
    };
    let flow = Flow {
        start_ms: uptime_to_ms(export_ms, sys_up, o.u32(r, l.first)),
        end_ms: uptime_to_ms(export_ms, sys_up, o.u32(r, l.last)),
        exporter: IpAddr::V4(exporter),
        source_id: (u32::from(u8_at(l.engine_type)) << 8) | u32::from(u8_at(l.engine_id)),
        src_addr: addr(l.srcaddr),
        dst_addr: addr(l.dstaddr),
        next_hop: addr(l.nexthop),
        src_port: u16_at(l.srcport),
        dst_port: u16_at(l.dstport),
        protocol: u8_at(l.prot),
        tcp_flags: u16::from(u8_at(l.tcp_flags)),
        tos: u8_at(l.tos),
        packets: u64::from(o.u32(r, l.dpkts)),
        octets: u64::from(o.u32(r, l.doctets)),
        input_if: u32::from(u16_at(l.input)),
        output_if: u32::from(u16_at(l.output)),
        src_as: u32::from(u16_at(l.src_as)),
        dst_as: u32::from(u16_at(l.dst_as)),
        src_mask: u8_at(l.src_mask),
        dst_mask: u8_at(l.dst_mask),
        sampling_interval: 0,
        engine_type: u8_at(l.engine_type),
        engine_id: u8_at(l.engine_id),
    };
    let dflows = l.dflows.map_or(1, |a| u64::from(o.u32(r, a)));
    (flow, dflows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_their_records() {
        let mut n = 0;
        for (v, m) in [(1, 0), (5, 0), (6, 0), (7, 0)]
            .into_iter()
            .chain((1..=14).map(|m| (8, m)))
        {
            let l = layout(v, m).unwrap();
            let fields = [
                Some(l.sys_up),
                Some(l.exaddr),
                l.dflows,
                Some(l.dpkts),
                Some(l.doctets),
                Some(l.first),
                Some(l.last),
                l.srcaddr,
                l.dstaddr,
                l.nexthop,
            ];
            for f in fields.into_iter().flatten() {
                assert!(f + 4 <= l.size, "v{v}.{m}: u32 at {f} past {}", l.size);
            }
            for f in [l.input, l.output, l.srcport, l.dstport, l.src_as, l.dst_as]
                .into_iter()
                .flatten()
            {
                assert!(f + 2 <= l.size, "v{v}.{m}");
            }
            assert_eq!(l.size % 4, 0, "v{v}.{m}");
            n += 1;
        }
        assert_eq!(n, 18);
        assert!(layout(8, 15).is_none());
        assert!(layout(9, 0).is_none());
    }

    /// A little-endian v5 file with `n` records of patterned bytes.
    fn v5_file(n: usize, compressed: bool) -> Vec<u8> {
        let mut tlvs = Vec::new();
        for (t, v) in [
            (TLV_EX_VER, 5u32.to_le_bytes()[..2].to_vec()),
            (
                TLV_HEADER_FLAGS,
                (FLAG_DONE | if compressed { FLAG_COMPRESS } else { 0 })
                    .to_le_bytes()
                    .to_vec(),
            ),
            (TLV_CAP_HOSTNAME, b"r1\0".to_vec()),
            (TLV_FLOW_COUNT, (n as u32).to_le_bytes().to_vec()),
        ] {
            tlvs.extend_from_slice(&t.to_le_bytes());
            tlvs.extend_from_slice(&(v.len() as u16).to_le_bytes());
            tlvs.extend_from_slice(&v);
        }
        let mut out = vec![0xCF, 0x10, 1, 3];
        out.extend_from_slice(&(8 + tlvs.len() as u32).to_le_bytes());
        out.extend_from_slice(&tlvs);
        let records: Vec<u8> = (0..n * 64).map(|i| (i * 7 % 251) as u8).collect();
        if compressed {
            use std::io::Write;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&records).unwrap();
            out.extend_from_slice(&z.finish().unwrap());
        } else {
            out.extend_from_slice(&records);
        }
        out
    }

    #[test]
    fn cut_anywhere_gives_whole_records_and_never_panics() {
        for compressed in [false, true] {
            let file = v5_file(5, compressed);
            let full = read(&file).unwrap();
            assert_eq!(full.flows.len(), 5);
            assert!(full.truncated.is_none());
            assert_eq!(full.header.hostname.as_deref(), Some("r1"));
            for cut in 0..file.len() {
                if let Ok(f) = read(&file[..cut]) {
                    assert!(f.flows.len() <= 5);
                    assert_eq!(f.flows[..], full.flows[..f.flows.len()]);
                    assert!(
                        f.truncated.is_some(),
                        "cut {cut} compressed {compressed}: {} flows",
                        f.flows.len()
                    );
                }
            }
        }
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let file = v5_file(3, true);
        for i in 0..file.len() {
            for bit in [0x01u8, 0x80] {
                let mut f = file.clone();
                f[i] ^= bit;
                let _ = read(&f);
            }
        }
    }

    #[test]
    fn header_errors_name_what_is_wrong() {
        assert_eq!(read(b"hello").unwrap_err(), FtError::NotFlowTools);
        assert_eq!(
            read(&[0xCF, 0x10, 3, 3, 0, 0, 0, 0]).unwrap_err(),
            FtError::ByteOrder(3)
        );
        assert_eq!(
            read(&[0xCF, 0x10, 1, 1, 0, 0, 0, 0]).unwrap_err(),
            FtError::StreamVersion(1)
        );
        assert_eq!(
            read(&[0xCF, 0x10, 1, 3, 200, 0, 0, 0]).unwrap_err(),
            FtError::HeaderTruncated(8)
        );
        // A TLV longer than the header.
        let b = [0xCF, 0x10, 1, 3, 12, 0, 0, 0, 2, 0, 9, 0];
        assert!(matches!(
            read(&b).unwrap_err(),
            FtError::BadTlv { at: 8, .. }
        ));
        // Export version 9 has no flow-tools record layout.
        let b = [0xCF, 0x10, 1, 3, 14, 0, 0, 0, 2, 0, 2, 0, 9, 0];
        assert_eq!(
            read(&b).unwrap_err(),
            FtError::ExportVersion {
                version: 9,
                method: 0
            }
        );
    }
}
