//! Capture files as `floe decode` and `floe send` read them: the first
//! byte picks what the rest is given behind (nothing, a classic pcap file
//! header with a link type, or a pcapng section and interface), so that
//! mutations reach the packet records, the link layers, IP (fragments
//! included) and UDP rather than the magic number.
#![no_main]

use floe_netflow::pcap::udp_datagrams;
use libfuzzer_sys::fuzz_target;

const LINKS: [u8; 6] = [0, 1, 101, 113, 228, 229];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(pick >> 2) % LINKS.len()];
    let file = match pick % 3 {
        0 => rest.to_vec(),
        1 => {
            let mut f = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
            f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
            f.extend_from_slice(&[link, 0, 0, 0]);
            f.extend_from_slice(rest);
            f
        }
        _ => {
            let mut f = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
            f.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
            f.extend_from_slice(&[28, 0, 0, 0]);
            f.extend_from_slice(&[1, 0, 0, 0, 20, 0, 0, 0, link, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
            f.extend_from_slice(rest);
            f
        }
    };
    if let Ok(datagrams) = udp_datagrams(&file) {
        // A datagram never claims more bytes than the file holds.
        let total: usize = datagrams.iter().map(|d| d.payload.len()).sum();
        assert!(total <= file.len() * 2 + 65_536);
    }
});
