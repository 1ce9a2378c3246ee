//! The flow-tools file reader (header TLVs, both byte orders, zlib, every
//! record layout) on arbitrary bytes.
#![no_main]

use floe_netflow::flowtools;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = flowtools::read(data);
});
