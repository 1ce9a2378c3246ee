//! Captures as users make them of their exporters' datagrams, for `floe
//! decode` and `floe send`: tcpdump's pcap, Wireshark's pcapng, and UDP
//! datagrams larger than the link's MTU, which arrive as IP fragments.

use std::net::IpAddr;

use floe_netflow::pcap::{udp_datagrams, Datagram};

const SRC: [u8; 4] = [192, 0, 2, 1];
const DST: [u8; 4] = [192, 0, 2, 2];

/// An Ethernet frame holding an IPv4 packet with the given fragment id,
/// offset (bytes, a multiple of 8) and more-fragments flag.
fn ipv4_frame(id: u16, offset: usize, more: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + payload.len()) as u16;
    let flags_offset = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&flags_offset.to_be_bytes());
    f.extend_from_slice(&[64, 17, 0, 0]);
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&DST);
    f.extend_from_slice(payload);
    f
}

/// An Ethernet frame holding an IPv6 packet, fragmented when `frag` gives
/// (id, offset, more).
fn ipv6_frame(frag: Option<(u32, usize, bool)>, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0; 12];
    f.extend_from_slice(&[0x86, 0xdd]);
    let ext = if frag.is_some() { 8 } else { 0 };
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&((payload.len() + ext) as u16).to_be_bytes());
    f.push(if frag.is_some() { 44 } else { 17 });
    f.push(64);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    f.extend_from_slice(&[0; 11]);
    f.push(1);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    f.extend_from_slice(&[0; 11]);
    f.push(2);
    if let Some((id, offset, more)) = frag {
        f.extend_from_slice(&[17, 0]);
        f.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

fn udp(payload: &[u8]) -> Vec<u8> {
    let mut u = 50_000u16.to_be_bytes().to_vec();
    u.extend_from_slice(&2055u16.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// A classic pcap (little-endian, microseconds, Ethernet) of `frames`.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut b = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65_535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&(1_795_305_600 + i as u32).to_le_bytes());
        b.extend_from_slice(&250_000u32.to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    b
}

fn exports(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// The payloads' lengths, and whether they are `want`.
fn payloads_are(d: &[Datagram], want: &[&[u8]]) -> (Vec<usize>, bool) {
    let lens = d.iter().map(|d| d.payload.len()).collect();
    let same = d.len() == want.len() && d.iter().zip(want).all(|(d, w)| d.payload == *w);
    (lens, same)
}

#[test]
fn udp_datagrams_cut_into_ip_fragments_are_put_back_together() {
    let big = exports(3000);
    let whole = udp(&big);
    // Fragments of 1480 bytes (a 1500-byte MTU), the last one first, as
    // Linux sends them, with an unfragmented datagram in between.
    let small = exports(100);
    let frames = vec![
        ipv4_frame(7, 2960, false, &whole[2960..]),
        ipv4_frame(9, 0, false, &udp(&small)),
        ipv4_frame(7, 0, true, &whole[..1480]),
        ipv4_frame(7, 1480, true, &whole[1480..2960]),
    ];
    let got = udp_datagrams(&pcap(&frames)).unwrap();
    assert_eq!(payloads_are(&got, &[&small, &big]), (vec![100, 3000], true));
    assert_eq!(got[1].src, IpAddr::from(SRC));
    assert_eq!((got[1].src_port, got[1].dst_port), (50_000, 2055));
    // A fragment whose others never came gives nothing (and no garbage:
    // the bytes of a later fragment are not a UDP header).
    let frames = vec![ipv4_frame(8, 1480, false, &whole[1480..])];
    assert!(udp_datagrams(&pcap(&frames)).unwrap().is_empty());
    // IPv6 fragments (a fragment extension header).
    let frames = vec![
        ipv6_frame(Some((5, 0, true)), &whole[..1448]),
        ipv6_frame(None, &udp(&small)),
        ipv6_frame(Some((5, 1448, false)), &whole[1448..]),
    ];
    let got = udp_datagrams(&pcap(&frames)).unwrap();
    assert_eq!(payloads_are(&got, &[&small, &big]), (vec![100, 3000], true));
    assert_eq!(got[1].src, "2001:db8::1".parse::<IpAddr>().unwrap());
}

/// A pcapng file: a section header, one Ethernet interface (with the given
/// timestamp resolution option, if any) and one enhanced packet block per
/// frame.
fn pcapng(tsresol: Option<u8>, frames: &[Vec<u8>]) -> Vec<u8> {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let len = (12 + body.len()) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut out = block(0x0a0d_0d0a, &shb);
    let mut idb = 1u16.to_le_bytes().to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&0u32.to_le_bytes());
    if let Some(r) = tsresol {
        idb.extend_from_slice(&9u16.to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&[r, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
    }
    out.extend(block(1, &idb));
    let units_per_sec: u64 = match tsresol {
        None => 1_000_000,
        Some(r) => 10u64.pow(u32::from(r)),
    };
    for (i, f) in frames.iter().enumerate() {
        let ts = (1_795_305_600 + i as u64) * units_per_sec + units_per_sec / 4;
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(f);
        out.extend(block(6, &epb));
    }
    out
}

#[test]
fn pcapng_captures_are_read_as_pcap_ones() {
    let frames: Vec<Vec<u8>> = (1..4)
        .map(|n| ipv4_frame(n as u16, 0, false, &udp(&exports(n * 10 + 1))))
        .collect();
    let classic = udp_datagrams(&pcap(&frames)).unwrap();
    assert_eq!(classic.len(), 3);
    for tsresol in [None, Some(6), Some(9)] {
        let got = udp_datagrams(&pcapng(tsresol, &frames)).unwrap();
        assert_eq!(got, classic, "if_tsresol {tsresol:?}");
    }
    assert_eq!(classic[1].time_ms, 1_795_305_601_250);
}
