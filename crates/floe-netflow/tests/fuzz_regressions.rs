//! Inputs the fuzz targets found (fuzz/README.md), replayed the way the
//! target feeds them: each must decode or be counted as bad, never panic
//! (tests build with overflow checks, as the fuzz targets do). A file per
//! input under tests/fuzz-regressions/TARGET/, named for what it broke.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use floe_netflow::{flowtools, Decoder, DecoderConfig};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Vec<u8>)> = rd
        .map_while(Result::ok)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The datagrams target's framing: `[exporter byte][u16 length][bytes]`...
fn replay_datagrams(data: &[u8]) -> usize {
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut flows = Vec::new();
    let mut all = 0;
    let mut rest = data;
    while rest.len() >= 3 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (rest[0] & 3)));
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let body = &rest[3..];
        let take = len.min(body.len());
        flows.clear();
        decoder.decode(from, &body[..take], 1_795_000_000_000, &mut flows);
        all += flows.len();
        let _ = decoder.drain_events().count();
        rest = &body[take..];
    }
    all
}

#[test]
fn datagram_inputs_found_by_fuzzing() {
    let found = inputs("datagrams");
    assert!(!found.is_empty(), "the regression inputs are checked in");
    for (name, data) in found {
        let flows = replay_datagrams(&data);
        eprintln!("{name}: {flows} flows, no panic");
    }
}

#[test]
fn flow_tools_file_inputs_found_by_fuzzing() {
    for (name, data) in inputs("flow_tools_file") {
        let r = flowtools::read(&data);
        eprintln!("{name}: {:?}", r.map(|f| f.flows.len()));
    }
}
