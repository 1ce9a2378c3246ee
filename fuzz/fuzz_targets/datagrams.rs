//! The datagram decoder with template state carried between datagrams: the
//! input is a run of datagrams, each `[exporter byte][u16 length][bytes]`,
//! fed in order to one decoder (so a template in one can be used, redefined
//! or withdrawn by the next), from up to four exporter addresses. A second
//! decoder takes the same datagrams into a batch of columns (as floed
//! decodes) and must give the same flows and the same outcomes.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::{Decoder, DecoderConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut flows = Vec::new();
    let mut columns_decoder = Decoder::new(DecoderConfig::default());
    let mut columns = floe_flow::FlowBatch::new();
    let mut rest = data;
    while rest.len() >= 3 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (rest[0] & 3)));
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let body = &rest[3..];
        let take = len.min(body.len());
        flows.clear();
        let outcome = decoder.decode(from, &body[..take], 1_795_000_000_000, &mut flows);
        // The batch goes on from the datagrams before (IPv6 rows then
        // IPv4 ones, or the reverse), cut back now and then.
        if columns.len() > 4096 {
            columns.truncate(columns.len() / 3);
        }
        let before = columns.len();
        let same = columns_decoder.decode(from, &body[..take], 1_795_000_000_000, &mut columns);
        assert_eq!(format!("{outcome:?}"), format!("{same:?}"));
        assert!(columns.is_well_formed());
        assert_eq!(columns.to_flows()[before..], flows[..]);
        // Counters account for every flow returned (a datagram's other
        // messages may be other streams').
        let side: u64 = decoder.drain_counters().iter().map(|(_, c)| c.flows).sum();
        assert_eq!(outcome.counters.flows + side, flows.len() as u64);
        let _ = decoder.drain_events().count();
        let _ = columns_decoder.drain_counters();
        let _ = columns_decoder.drain_events().count();
        rest = &body[take..];
    }
    decoder.tick(1_795_000_700_000);
    let _ = decoder.drain_counters();
});
