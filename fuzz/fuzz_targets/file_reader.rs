//! The mmap file reader (footer, trailer, block index, scan and resync of
//! damaged files) and block decoding on arbitrary bytes written to a file.
#![no_main]

use floe_store::{BlockDecoder, FlowFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("floe-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input.floe");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(file) = FlowFile::open(&path) else {
        return;
    };
    let _ = file.damage();
    let mut dec = match BlockDecoder::new() {
        Ok(d) => d,
        Err(_) => return,
    };
    let mut flows = Vec::new();
    for i in file.blocks_overlapping(i64::MIN, i64::MAX).collect::<Vec<_>>() {
        flows.clear();
        let _ = file.read_block(i, &mut dec, &mut flows);
    }
});
