//! The floe stream reader (header, frames, blocks, counters, trailer,
//! concatenated streams) on arbitrary bytes: every outcome is flows or an
//! error, never a panic or an endless loop.
#![no_main]

use floe_store::StreamReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = StreamReader::new(data, "<fuzz>") else {
        return;
    };
    let mut flows = Vec::new();
    // Each event consumes input, so this ends; the bound is a backstop.
    for _ in 0..100_000 {
        flows.clear();
        match r.next_event(&mut flows) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
