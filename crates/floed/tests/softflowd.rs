//! A real exporter: softflowd (Debian) reads a capture this test writes and
//! exports NetFlow v5 and v9 to floed on 127.0.0.1; the stored flows are
//! exactly the ones in the capture (per direction: addresses, ports,
//! protocol, packets, IP octets, first and last packet times, as softflowd
//! defines them).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use floe_store::{walk, FlowFile};

mod common;
use common::Floed;

type Key = (Ipv4Addr, Ipv4Addr, u16, u16, u8);

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Expect {
    packets: u64,
    octets: u64,
    first_ms: i64,
    last_ms: i64,
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s >> 16) + (s & 0xffff);
    }
    !(s as u16)
}

/// Writes a capture of TCP and UDP conversations (some two-way) and
/// returns what each direction should become as a flow.
fn write_capture(path: &Path) -> BTreeMap<Key, Expect> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let t0: i64 = 1_795_305_600_000;
    let mut expect: BTreeMap<Key, Expect> = BTreeMap::new();
    let mut packets = Vec::new();
    for i in 0..80u16 {
        let client = Ipv4Addr::new(10, 1, (i / 50) as u8, 1 + (i % 50) as u8);
        let server = Ipv4Addr::new(192, 0, 2, 1 + (i % 7) as u8);
        let (proto, sport, dport) = match i % 4 {
            0 | 1 => (6u8, 40_000 + i, 443u16),
            2 => (6, 40_000 + i, 80),
            _ => (17, 50_000 + i, 53),
        };
        let two_way = i % 3 == 0;
        for k in 0..(2 + i % 5) {
            let ms = t0 + i64::from(i) * 700 + i64::from(k) * 130;
            packets.push((
                ms,
                client,
                server,
                sport,
                dport,
                proto,
                60 + usize::from(i % 40) * 10,
            ));
            if two_way {
                packets.push((
                    ms + 20,
                    server,
                    client,
                    dport,
                    sport,
                    proto,
                    1000 + usize::from(k) * 7,
                ));
            }
        }
    }
    packets.sort_by_key(|p| p.0);
    for (ms, src, dst, sport, dport, proto, size) in packets {
        let payload = vec![0x61u8; size];
        let mut l4 = Vec::new();
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        if proto == 6 {
            l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            l4.extend_from_slice(&((8 + size) as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        l4.extend_from_slice(&payload);
        let total = 20 + l4.len();
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let c = checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&l4);
        out.extend_from_slice(&((ms / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(((ms % 1000) * 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
        let e = expect.entry((src, dst, sport, dport, proto)).or_default();
        if e.packets == 0 {
            e.first_ms = ms;
        }
        e.packets += 1;
        e.octets += total as u64;
        e.last_ms = ms;
    }
    std::fs::write(path, out).unwrap();
    // softflowd tracks a two-way conversation as one flow and exports both
    // directions with the conversation's first and last packet times.
    let keys: Vec<Key> = expect.keys().copied().collect();
    for k in keys {
        let rev = (k.1, k.0, k.3, k.2, k.4);
        if let Some(r) = expect.get(&rev).copied() {
            let e = expect.get_mut(&k).unwrap();
            e.first_ms = e.first_ms.min(r.first_ms);
            e.last_ms = e.last_ms.max(r.last_ms);
        }
    }
    expect
}

fn run_version(version: &str) {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("traffic.pcap");
    let expect = write_capture(&capture);
    std::fs::write(dir.path().join("floed.toml"), "zone = \"UTC\"\n").unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let port = floed.addr.port();
    let status = Command::new("softflowd")
        .args(["-r"])
        .arg(&capture)
        .args(["-n", &format!("127.0.0.1:{port}"), "-v", version, "-d"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect(
            "softflowd is needed for this test (Debian package softflowd; scripts/test installs it)",
        );
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));
    let mut got: BTreeMap<Key, Expect> = BTreeMap::new();
    for f in walk(&dir.path().join("flows")).unwrap() {
        for flow in FlowFile::open(&f.path).unwrap().read_all().unwrap() {
            let (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) = (flow.src_addr, flow.dst_addr)
            else {
                panic!("softflowd exported a non-IPv4 flow: {flow:?}");
            };
            let key = (s, d, flow.src_port, flow.dst_port, flow.protocol);
            let old = got.insert(
                key,
                Expect {
                    packets: flow.packets,
                    octets: flow.octets,
                    first_ms: flow.start_ms,
                    last_ms: flow.end_ms,
                },
            );
            assert!(old.is_none(), "flow {key:?} stored twice");
        }
    }
    assert_eq!(
        got.len(),
        expect.len(),
        "v{version}: flows stored vs in the capture"
    );
    for (k, e) in &expect {
        let g = got
            .get(k)
            .unwrap_or_else(|| panic!("v{version}: flow {k:?} missing"));
        assert_eq!(
            (g.packets, g.octets),
            (e.packets, e.octets),
            "v{version}: counters of {k:?}"
        );
        // softflowd keeps ms; v5 headers carry ns, v9 whole seconds plus
        // the uptime in ms, so allow the second v9 loses, and a few ms
        // more: softflowd truncates each uptime to ms on its side, and a
        // CI run (2026-12-07) found a start 1002 ms early, which the same
        // floed stored within the second in every other run (where in
        // softflowd the extra 2 ms come from was not traced).
        let slack = if version == "9" { 1010 } else { 1 };
        assert!(
            (g.first_ms - e.first_ms).abs() <= slack,
            "v{version}: start of {k:?}: {} vs {}",
            g.first_ms,
            e.first_ms
        );
        assert!(
            (g.last_ms - e.last_ms).abs() <= slack,
            "v{version}: end of {k:?}: {} vs {}",
            g.last_ms,
            e.last_ms
        );
    }
}

#[test]
fn softflowd_v5_export_is_stored_exactly() {
    run_version("5");
}

#[test]
fn softflowd_v9_export_is_stored_exactly() {
    run_version("9");
}
