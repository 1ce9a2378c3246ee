//! The UDP datagrams of a classic libpcap capture (Ethernet, Linux cooked
//! or raw IP link types; IPv4 or IPv6; VLAN tags), with their source
//! address, destination port and capture time: enough to replay or decode
//! captured exports. Non-UDP packets (TCP, BMP...) are passed over.

use std::net::IpAddr;

/// One UDP datagram from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// Capture time, Unix ms.
    pub time_ms: i64,
    pub payload: Vec<u8>,
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("not a libpcap capture (unknown magic {0:#010x})")]
    Magic(u32),
    #[error("capture cut short at byte offset {0}")]
    Truncated(usize),
    #[error("link type {0} is not supported (Ethernet, Linux cooked and raw IP are)")]
    LinkType(u32),
}

/// Reads every UDP datagram of a capture held in memory.
pub fn udp_datagrams(b: &[u8]) -> Result<Vec<Datagram>, PcapError> {
    let magic = b
        .get(0..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .ok_or(PcapError::Truncated(0))?;
    let (le, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        m => return Err(PcapError::Magic(m)),
    };
    let u32_at = |at: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let link = u32_at(20).ok_or(PcapError::Truncated(20))?;
    if !matches!(link, 1 | 101 | 113 | 228 | 229) {
        return Err(PcapError::LinkType(link));
    }
    let mut out = Vec::new();
    let mut at = 24;
    while at < b.len() {
        let (Some(sec), Some(frac), Some(incl)) = (u32_at(at), u32_at(at + 4), u32_at(at + 8))
        else {
            return Err(PcapError::Truncated(at));
        };
        let data = b
            .get(at + 16..at + 16 + incl as usize)
            .ok_or(PcapError::Truncated(at))?;
        at += 16 + incl as usize;
        let time_ms =
            i64::from(sec) * 1000 + i64::from(if nanos { frac / 1_000_000 } else { frac / 1000 });
        let ip = match link {
            1 => ethernet_payload(data),
            113 => data.get(16..),
            _ => Some(data),
        };
        if let Some(d) = ip.and_then(|ip| udp(ip, time_ms)) {
            out.push(d);
        }
    }
    Ok(out)
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

fn udp(ip: &[u8], time_ms: i64) -> Option<Datagram> {
    let (src, proto, l4) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            (
                IpAddr::from(src),
                *ip.get(9)?,
                ip.get(ihl..total.min(ip.len()))?,
            )
        }
        6 => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let plen = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            (
                IpAddr::from(src),
                *ip.get(6)?,
                ip.get(40..(40 + plen).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    if proto != 17 || l4.len() < 8 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
    Some(Datagram {
        src,
        src_port: u16::from_be_bytes([l4[0], l4[1]]),
        dst_port: u16::from_be_bytes([l4[2], l4[3]]),
        time_ms,
        payload: l4.get(8..len.min(l4.len()))?.to_vec(),
    })
}
