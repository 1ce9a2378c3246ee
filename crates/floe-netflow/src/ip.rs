//! IP packets of a capture to UDP datagrams, IP fragments put back
//! together.
//!
//! Why reassemble: an export larger than the link's MTU (IPFIX allows
//! 64 KiB; template sets of many templates grow past 1500 bytes) leaves the
//! exporter as IP fragments, and only the first carries the UDP header.
//! Read one by one, the first fragment was a datagram cut short and each
//! later one a "datagram" whose first bytes were taken for a UDP header.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::pcap::Datagram;

/// Fragments of one IP datagram: (source, destination, id, protocol).
type Key = (IpAddr, IpAddr, u32, u8);

/// Incomplete datagrams kept at once; beyond, the oldest is given up (a
/// capture of lost fragments must not keep them all).
const MAX_PENDING: usize = 256;

/// Fragments one datagram may come in: a 64 KiB datagram over the smallest
/// MTU IPv4 allows takes about 120. Beyond, the datagram is given up: each
/// fragment is checked against all the others, so a capture of endless
/// fragments of one datagram must not be followed to the end.
const MAX_PARTS: usize = 1024;

#[derive(Default)]
struct Pending {
    /// (offset in the datagram's payload, bytes)
    parts: Vec<(usize, Vec<u8>)>,
    /// The payload's length, known once the last fragment came.
    total: Option<usize>,
    /// Arrival order, to give up the oldest.
    since: u64,
}

/// UDP datagrams out of IP packets, reassembling fragments.
#[derive(Default)]
pub(crate) struct Reassembly {
    pending: HashMap<Key, Pending>,
    clock: u64,
}

/// What an IP header says of its packet.
struct Packet<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    /// (id, offset of this payload, more fragments follow), for fragments.
    fragment: Option<(u32, usize, bool)>,
    payload: &'a [u8],
}

impl Reassembly {
    /// The UDP datagram an IP packet completes, if it does.
    pub fn datagram(&mut self, ip: &[u8], time_ms: i64) -> Option<Datagram> {
        let p = packet(ip)?;
        match p.fragment {
            None | Some((_, 0, false)) => udp(p.src, p.proto, p.payload, time_ms),
            Some((id, offset, more)) => {
                let whole = self.add((p.src, p.dst, id, p.proto), offset, more, p.payload)?;
                udp(p.src, p.proto, &whole, time_ms)
            }
        }
    }

    /// Keeps a fragment; returns the payload it completes.
    fn add(&mut self, key: Key, offset: usize, more: bool, bytes: &[u8]) -> Option<Vec<u8>> {
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.since)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.pending.remove(&k);
            }
        }
        self.clock += 1;
        let since = self.clock;
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            since,
            ..Pending::default()
        });
        if !more {
            p.total = Some(offset + bytes.len());
        }
        p.parts.push((offset, bytes.to_vec()));
        if p.parts.len() > MAX_PARTS {
            self.pending.remove(&key);
            return None;
        }
        let total = p.total?;
        // Complete when the parts cover 0..total without a hole.
        p.parts.sort_by_key(|(at, _)| *at);
        let mut covered = 0;
        for (at, b) in &p.parts {
            if *at > covered {
                return None;
            }
            covered = covered.max(at + b.len());
        }
        if covered < total {
            return None;
        }
        let p = self.pending.remove(&key)?;
        let mut whole = vec![0; total];
        for (at, b) in p.parts {
            let end = (at + b.len()).min(total);
            if at < end {
                whole[at..end].copy_from_slice(&b[..end - at]);
            }
        }
        Some(whole)
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The IPv4 or IPv6 header of a packet (IPv6 extension headers before the
/// fragment header or the payload are stepped over).
fn packet(ip: &[u8]) -> Option<Packet<'_>> {
    match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            let id = u32::from(be16(ip, 4)?);
            let flags_offset = be16(ip, 6)?;
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let offset = usize::from(flags_offset & 0x1fff) * 8;
            let more = flags_offset & 0x2000 != 0;
            Some(Packet {
                src: IpAddr::from(src),
                dst: IpAddr::from(dst),
                proto: *ip.get(9)?,
                fragment: (offset > 0 || more).then_some((id, offset, more)),
                payload: ip.get(ihl..total.min(ip.len()))?,
            })
        }
        6 => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let plen = usize::from(be16(ip, 4)?);
            let mut next = *ip.get(6)?;
            let mut rest = ip.get(40..(40 + plen).min(ip.len()))?;
            let mut fragment = None;
            loop {
                match next {
                    // Hop-by-hop, routing, destination options.
                    0 | 43 | 60 => {
                        let len = (usize::from(*rest.get(1)?) + 1) * 8;
                        next = *rest.first()?;
                        rest = rest.get(len..)?;
                    }
                    44 => {
                        let v = be16(rest, 2)?;
                        let id = u32::from_be_bytes(rest.get(4..8)?.try_into().ok()?);
                        let (offset, more) = (usize::from(v & 0xfff8), v & 1 == 1);
                        fragment = (offset > 0 || more).then_some((id, offset, more));
                        next = *rest.first()?;
                        rest = rest.get(8..)?;
                        // Only the first fragment has the headers after it.
                        if offset > 0 {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            Some(Packet {
                src: IpAddr::from(src),
                dst: IpAddr::from(dst),
                proto: next,
                fragment,
                payload: rest,
            })
        }
        _ => None,
    }
}

/// The datagram of a UDP packet (the rest of the IP payload).
fn udp(src: IpAddr, proto: u8, l4: &[u8], time_ms: i64) -> Option<Datagram> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_of_endless_fragments_is_given_up() {
        let mut r = Reassembly::default();
        let key = (
            IpAddr::from([192, 0, 2, 1]),
            IpAddr::from([192, 0, 2, 2]),
            7,
            17,
        );
        // The last fragment, then the same middle one again and again: the
        // first bytes never come.
        assert!(r.add(key, 1480, false, &[1; 100]).is_none());
        for _ in 0..MAX_PARTS {
            assert!(r.add(key, 8, true, &[2; 8]).is_none());
        }
        assert!(r.pending.is_empty());
        // What comes after starts afresh.
        assert!(r.add(key, 8, false, &[3; 8]).is_none());
        assert_eq!(
            r.add(key, 0, true, &[4; 8]),
            Some([[4; 8], [3; 8]].concat())
        );
        assert!(r.pending.is_empty());
    }
}
