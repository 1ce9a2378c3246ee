//! The UDP datagrams of a capture file, with their source address,
//! destination port and capture time: enough to replay or decode captured
//! exports (`floe decode`, `floe send`).
//!
//! Both capture formats users hand over are read: tcpdump's classic pcap
//! and pcapng, which Wireshark and dumpcap write by default. Link types:
//! Ethernet (VLAN tags too), Linux cooked (v1 and v2, what `tcpdump -i any`
//! writes), BSD loopback and raw IP. What the frames hold is read by
//! `ip.rs`: IPv4 or IPv6, fragments put back together (exports larger
//! than the MTU arrive so); packets other than UDP (TCP, BMP...) are passed
//! over.

use std::net::IpAddr;

use crate::ip::Reassembly;

/// One UDP datagram from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The sender's address.
    pub src: IpAddr,
    /// The sender's UDP port.
    pub src_port: u16,
    /// The UDP port it was sent to.
    pub dst_port: u16,
    /// Capture time, Unix ms.
    pub time_ms: i64,
    /// The UDP payload (IP fragments reassembled).
    pub payload: Vec<u8>,
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// Not a capture file: the magic number found.
    #[error("not a pcap or pcapng capture (unknown magic {0:#010x})")]
    Magic(u32),
    /// The capture ends inside a record, at this offset.
    #[error("capture cut short at byte offset {0}")]
    Truncated(usize),
    /// A link type floe cannot take datagrams from.
    #[error("link type {0} is not supported (Ethernet, Linux cooked, loopback and raw IP are)")]
    LinkType(u32),
    /// A damaged pcapng block, at this offset.
    #[error("pcapng block at byte offset {0} is damaged")]
    Block(usize),
}

/// The magic numbers of classic pcap, read little-endian: (magic, file in
/// little-endian, nanosecond timestamps).
const PCAP_MAGICS: [(u32, bool, bool); 4] = [
    (0xa1b2_c3d4, true, false),
    (0xa1b2_3c4d, true, true),
    (0xd4c3_b2a1, false, false),
    (0x4d3c_b2a1, false, true),
];

/// The type of pcapng's section header block (a palindrome: the same in
/// either byte order).
const PCAPNG_SECTION: u32 = 0x0a0d_0d0a;

/// Whether `b` starts like a capture file this module reads.
pub fn is_capture(b: &[u8]) -> bool {
    b.get(0..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .is_some_and(|m| m == PCAPNG_SECTION || PCAP_MAGICS.iter().any(|p| p.0 == m))
}

/// Reads every UDP datagram of a capture held in memory.
pub fn udp_datagrams(b: &[u8]) -> Result<Vec<Datagram>, PcapError> {
    let magic = b
        .get(0..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .ok_or(PcapError::Truncated(0))?;
    let mut ip = Reassembly::default();
    let mut out = Vec::new();
    let mut each = |link: u32, time_ms: i64, frame: &[u8]| {
        if let Some(d) = link_payload(link, frame).and_then(|p| ip.datagram(p, time_ms)) {
            out.push(d);
        }
    };
    if magic == PCAPNG_SECTION {
        pcapng(b, &mut each)?;
    } else {
        let &(_, le, nanos) = PCAP_MAGICS
            .iter()
            .find(|p| p.0 == magic)
            .ok_or(PcapError::Magic(magic))?;
        classic(b, le, nanos, &mut each)?;
    }
    Ok(out)
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(s)
    } else {
        u16::from_be_bytes(s)
    })
}

fn supported(link: u32) -> Result<u32, PcapError> {
    match link {
        0 | 1 | 101 | 108 | 113 | 228 | 229 | 276 => Ok(link),
        other => Err(PcapError::LinkType(other)),
    }
}

/// Classic pcap: a 24-byte file header, then per packet a 16-byte record
/// header (seconds, fraction, captured length, original length) and the
/// captured bytes.
fn classic(
    b: &[u8],
    le: bool,
    nanos: bool,
    each: &mut impl FnMut(u32, i64, &[u8]),
) -> Result<(), PcapError> {
    let link = supported(u32_at(b, 20, le).ok_or(PcapError::Truncated(20))?)?;
    let mut at = 24;
    while at < b.len() {
        let (Some(sec), Some(frac), Some(incl)) = (
            u32_at(b, at, le),
            u32_at(b, at + 4, le),
            u32_at(b, at + 8, le),
        ) else {
            return Err(PcapError::Truncated(at));
        };
        let end = (at + 16)
            .checked_add(incl as usize)
            .ok_or(PcapError::Truncated(at))?;
        let data = b.get(at + 16..end).ok_or(PcapError::Truncated(at))?;
        at = end;
        let time_ms =
            i64::from(sec) * 1000 + i64::from(if nanos { frac / 1_000_000 } else { frac / 1000 });
        each(link, time_ms, data);
    }
    Ok(())
}

/// pcapng: blocks of (type, total length, body, total length), in the
/// byte order the section header's magic gives; interfaces (their link
/// type and timestamp resolution) are described before the packets that
/// name them, and numbered from 0 in each section.
fn pcapng(b: &[u8], each: &mut impl FnMut(u32, i64, &[u8])) -> Result<(), PcapError> {
    // (link type, timestamp units per second) of each interface.
    let mut interfaces: Vec<(u32, u64)> = Vec::new();
    let mut le = true;
    let mut at = 0;
    while at < b.len() {
        if b.len() - at < 12 {
            return Err(PcapError::Truncated(at));
        }
        let kind = u32_at(b, at, le).ok_or(PcapError::Truncated(at))?;
        if kind == PCAPNG_SECTION {
            le = match u32_at(b, at + 8, true) {
                Some(0x1a2b_3c4d) => true,
                Some(0x4d3c_2b1a) => false,
                _ => return Err(PcapError::Block(at)),
            };
            interfaces.clear();
        }
        let len = u32_at(b, at + 4, le).ok_or(PcapError::Truncated(at))? as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(PcapError::Block(at));
        }
        let block = b
            .get(at..at.checked_add(len).ok_or(PcapError::Block(at))?)
            .ok_or(PcapError::Truncated(at))?;
        let body = &block[8..len - 4];
        match kind {
            // Interface description: link type, then options.
            1 => {
                let link = u32::from(u16_at(body, 0, le).ok_or(PcapError::Block(at))?);
                let units = body
                    .get(8..)
                    .and_then(|o| tsresol(o, le))
                    .unwrap_or(1_000_000);
                interfaces.push((link, units));
            }
            // Enhanced packet: interface, timestamp (high, low), captured
            // and original lengths, the bytes.
            6 => {
                let iface = u32_at(body, 0, le).ok_or(PcapError::Block(at))? as usize;
                let &(link, units) = interfaces.get(iface).ok_or(PcapError::Block(at))?;
                let high = u32_at(body, 4, le).ok_or(PcapError::Block(at))?;
                let low = u32_at(body, 8, le).ok_or(PcapError::Block(at))?;
                let incl = u32_at(body, 12, le).ok_or(PcapError::Block(at))? as usize;
                let data = body
                    .get(20..20usize.saturating_add(incl))
                    .ok_or(PcapError::Block(at))?;
                let ts = u64::from(high) << 32 | u64::from(low);
                let time_ms =
                    i64::try_from(u128::from(ts) * 1000 / u128::from(units)).unwrap_or(i64::MAX);
                each(supported(link)?, time_ms, data);
            }
            // Simple packet: the original length, the bytes; no time.
            3 => {
                let &(link, _) = interfaces.first().ok_or(PcapError::Block(at))?;
                let orig = u32_at(body, 0, le).ok_or(PcapError::Block(at))? as usize;
                let data = &body[4..body.len().min(4usize.saturating_add(orig))];
                each(supported(link)?, 0, data);
            }
            // Section header, statistics, name resolution, custom...
            _ => {}
        }
        at += len;
    }
    Ok(())
}

/// The `if_tsresol` option of an interface description, as timestamp
/// units per second (a power of 10, or of 2 when the high bit is set).
fn tsresol(mut options: &[u8], le: bool) -> Option<u64> {
    while options.len() >= 4 {
        let code = u16_at(options, 0, le)?;
        let len = usize::from(u16_at(options, 2, le)?);
        if code == 0 {
            return None;
        }
        if code == 9 && len >= 1 {
            let r = *options.get(4)?;
            let exp = u32::from(r & 0x7f);
            return if r & 0x80 == 0 {
                10u64.checked_pow(exp)
            } else {
                1u64.checked_shl(exp)
            };
        }
        options = options.get(4 + len.next_multiple_of(4)..)?;
    }
    None
}

/// The IP packet a link-layer frame carries.
fn link_payload(link: u32, f: &[u8]) -> Option<&[u8]> {
    match link {
        1 => ethernet_payload(f),
        // BSD loopback: a 4-byte address family (host byte order).
        0 | 108 => f.get(4..),
        // Linux cooked capture, v1 (16 bytes) and v2 (20 bytes).
        113 => f.get(16..),
        276 => f.get(20..),
        _ => Some(f),
    }
}

fn ethernet_payload(f: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    loop {
        let ty = u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]);
        match ty {
            0x8100 | 0x88a8 => at += 4,
            0x0800 | 0x86dd => return f.get(at + 2..),
            _ => return None,
        }
    }
}
