//! The datagram decoder with template state carried between datagrams: the
//! input is a run of datagrams, each `[exporter byte][u16 length][bytes]`,
//! fed in order to one decoder (so a template in one can be used, redefined
//! or withdrawn by the next), from up to four exporter addresses.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::{Decoder, DecoderConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut flows = Vec::new();
    let mut rest = data;
    while rest.len() >= 3 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (rest[0] & 3)));
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let body = &rest[3..];
        let take = len.min(body.len());
        flows.clear();
        let outcome = decoder.decode(from, &body[..take], 1_795_000_000_000, &mut flows);
        // Counters never claim fewer flows than were returned.
        assert!(outcome.counters.flows >= flows.len() as u64 || outcome.key.is_none());
        let _ = decoder.drain_events().count();
        rest = &body[take..];
    }
    let _ = decoder.poll_pending();
});
