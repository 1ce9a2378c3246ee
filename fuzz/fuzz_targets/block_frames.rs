//! Hostile frame bodies behind valid checksums. Random bytes never pass a
//! frame's CRCs, so the `stream_reader` and `file_reader` targets rarely
//! get past them into the block decoder or the metadata; this target takes
//! the input (after one control byte) as the *body* of a frame and wraps it
//! in a valid file header and frame header, so every mutation reaches the
//! code that reads block headers, column chunks and metadata. The result
//! is read as `floe print` reads it: as a stream (`StreamReader`, stdin)
//! and as a file (`FlowFile`, blocks decoded in chunks, as `input.rs`).
//!
//! Control byte:
//! * bits 0-1: the body is a block (0, 1), a counters frame (2), or a
//!   trailer (3; then a valid block comes first, for its index to point at);
//! * bit 2: closed (a trailer indexing the blocks as their headers say,
//!   and the footer) or cut short (no trailer: the scan path);
//! * bit 3: decode only two fields (a projection) rather than every one;
//! * bit 4: the frame is marked skippable.
//!
//! Every outcome is flows or an error; a block never yields more flows
//! than a block holds, and libFuzzer's malloc limit catches an allocation
//! the input dictates.
#![no_main]

use std::sync::OnceLock;

use floe_flow::Flow;
use floe_store::format::{
    encode_file_header, encode_footer, encode_frame, BlockHeader, FLAG_SKIPPABLE, KIND_BLOCK,
    KIND_COUNTERS, KIND_TRAILER, MAX_BLOCK_RECORDS,
};
use floe_store::{BlockDecoder, BlockEncoder, FileHeader, FlowFile, Projection, StreamReader};
use libfuzzer_sys::fuzz_target;

fn header() -> &'static [u8] {
    static H: OnceLock<Vec<u8>> = OnceLock::new();
    H.get_or_init(|| {
        encode_file_header(&FileHeader {
            created_ms: 1,
            period: None,
            host: "fuzz".into(),
            zone: "UTC".into(),
            writer: "fuzz".into(),
        })
    })
}

/// A small valid block, for trailers and counters to come after.
fn valid_block() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        let flows: Vec<Flow> = (0..40u64)
            .map(|i| Flow {
                start_ms: 1_800_000_000_000 + i as i64 * 10,
                end_ms: 1_800_000_000_000 + i as i64 * 10 + 5,
                src_addr: if i % 3 == 0 {
                    "2001:db8::1".parse().unwrap()
                } else {
                    "10.0.0.1".parse().unwrap()
                },
                src_port: i as u16,
                packets: i,
                octets: i * 100,
                ..Flow::default()
            })
            .collect();
        let mut body = Vec::new();
        if let Ok(mut e) = BlockEncoder::new(1) {
            let _ = e.encode(&flows, &mut body);
        }
        body
    })
}

/// The bytes to read: header, frames, and for a closed file a trailer
/// indexing the block frames and the footer.
fn assemble(control: u8, body: &[u8]) -> Vec<u8> {
    let mut out = header().to_vec();
    let flags = if control & 16 != 0 { FLAG_SKIPPABLE } else { 0 };
    let mut frames: Vec<(u8, u8, &[u8])> = Vec::new();
    match control & 3 {
        0 | 1 => frames.push((KIND_BLOCK, flags, body)),
        2 => {
            frames.push((KIND_COUNTERS, flags, body));
            frames.push((KIND_BLOCK, 0, valid_block()));
        }
        _ => {
            frames.push((KIND_BLOCK, 0, valid_block()));
            frames.push((KIND_TRAILER, flags, body));
        }
    }
    let mut index = Vec::new();
    let mut trailer_at = None;
    for (kind, flags, body) in frames {
        if kind == KIND_TRAILER {
            trailer_at = Some(out.len() as u64);
        }
        let frame = encode_frame(kind, flags, body);
        if let (KIND_BLOCK, Some(h)) = (kind, BlockHeader::decode(body)) {
            index.push((out.len() as u64, frame.len() as u32, h));
        }
        out.extend(frame);
    }
    if control & 4 != 0 && trailer_at.is_none() {
        let mut t = vec![0u8; 8 + 1 + 40 + 8];
        t.extend_from_slice(&(index.len() as u64).to_le_bytes());
        for (offset, len, h) in index {
            t.extend_from_slice(&offset.to_le_bytes());
            t.extend_from_slice(&len.to_le_bytes());
            t.extend_from_slice(&h.records.to_le_bytes());
            t.extend_from_slice(&h.min_start_ms.to_le_bytes());
            t.extend_from_slice(&h.max_end_ms.to_le_bytes());
        }
        trailer_at = Some(out.len() as u64);
        out.extend(encode_frame(KIND_TRAILER, 0, &t));
    }
    if let Some(at) = trailer_at {
        out.extend(encode_footer(at));
    }
    out
}

fn projection(control: u8) -> Projection {
    if control & 8 != 0 {
        Projection::of_fields(["srcip", "octets"]).unwrap_or(Projection::ALL)
    } else {
        Projection::ALL
    }
}

fn read_stream(bytes: &[u8]) {
    let Ok(mut r) = StreamReader::new(bytes, "<fuzz>") else {
        return;
    };
    let mut flows = Vec::new();
    // Each call consumes input, so this ends; the bound is a backstop.
    for _ in 0..64 {
        flows.clear();
        match r.next_block(&mut flows) {
            Ok(true) => assert!(flows.len() <= MAX_BLOCK_RECORDS as usize),
            Ok(false) | Err(_) => break,
        }
    }
}

fn read_file(bytes: &[u8], projection: Projection) {
    let dir = std::env::temp_dir().join(format!("floe-fuzz-frames-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input.floe");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let Ok(file) = FlowFile::open(&path) else {
        return;
    };
    let _ = file.damage().len();
    let _ = file.flows();
    let Ok(mut dec) = BlockDecoder::new() else {
        return;
    };
    dec.set_projection(projection);
    let mut buf = Vec::new();
    for i in file.blocks_overlapping(i64::MIN, i64::MAX).collect::<Vec<_>>() {
        let mut n = 0;
        let _ = file.read_block_chunked(i, &mut dec, &mut buf, 4096, |b| {
            n += b.len();
            true
        });
        assert!(n <= MAX_BLOCK_RECORDS as usize);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, body)) = data.split_first() else {
        return;
    };
    let bytes = assemble(control, body);
    read_stream(&bytes);
    read_file(&bytes, projection(control));
});
