//! The v9/IPFIX framing alone: the first byte picks the version (even: v9,
//! odd: IPFIX), the rest is the datagram. Every set framed lies inside the
//! datagram, after the one before it, and the decoder given the same bytes
//! accounts for every flow it returns.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::framing::{items, Item};
use floe_netflow::{Decoder, DecoderConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, datagram)) = data.split_first() else {
        return;
    };
    let version = if pick % 2 == 0 { 9 } else { 10 };
    let mut at = 0;
    for item in items(datagram, version) {
        match item {
            Item::Set { offset, body, .. } => {
                assert!(offset >= at && body.start == offset + 4);
                assert!(body.start <= body.end && body.end <= datagram.len());
                at = body.end;
            }
            Item::Padding { offset, len } => {
                assert!(offset >= at && offset + len <= datagram.len());
                assert!(datagram[offset..offset + len].iter().all(|b| *b == 0));
                at = offset + len;
            }
            Item::Message(h) => assert!(h.offset >= at && h.offset < datagram.len()),
            Item::Problem(p) => {
                let _ = (p.kind(), p.to_string());
            }
        }
    }
    // The datagram with a proper version field, through the decoder.
    let mut d = datagram.to_vec();
    if d.len() >= 2 {
        d[0] = 0;
        d[1] = version as u8;
    }
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut flows = Vec::new();
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let o = dec.decode(from, &d, 0, &mut flows);
    let side: u64 = dec.drain_counters().iter().map(|(_, c)| c.flows).sum();
    assert_eq!(o.counters.flows + side, flows.len() as u64);
    let (_, report) = Decoder::new(DecoderConfig::default()).decode_explained(from, &d, 0, &mut Vec::new());
    assert_eq!(report.flows, flows.len() as u64);
});
