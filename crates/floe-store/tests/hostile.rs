//! Hostile input: blocks and metadata whose checksums hold but whose counts
//! and sizes lie. Random bytes never pass the frame checksums, so these
//! build frames with valid ones around crafted bodies. Every read must end
//! in flows or a typed error naming the offset, and no number read from
//! the input may make the reader allocate beyond what the input's own size
//! and one block of the largest size the format allows can justify. The
//! allocations are measured by a counting allocator, per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use floe_flow::Flow;
use floe_store::format::{
    encode_file_header, encode_footer, encode_frame, BlockHeader, BLOCK_HEADER_LEN,
    CHUNK_HEADER_LEN, FRAME_HEADER_LEN, KIND_BLOCK, KIND_COUNTERS, KIND_TRAILER, MAX_BLOCK_RECORDS,
    MAX_HEADER_META,
};
use floe_store::{
    BlockDecoder, BlockEncoder, BlockError, FileHeader, FileWriter, FlowFile, StoreError,
    StreamReader, WriteOptions,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Counting allocator: bytes live and the peak, per thread.

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grow(n: usize) {
    let _ = LIVE.try_with(|l| {
        let now = l.get() + n;
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn shrink(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrink(layout.size());
            grow(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result and the most it had allocated at once
/// (on this thread) beyond what was live before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Building streams and files around crafted bodies.

fn header() -> FileHeader {
    FileHeader {
        created_ms: 1,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "hostile".into(),
    }
}

fn flow(i: u64) -> Flow {
    Flow {
        start_ms: 1_700_000_000_000 + i as i64 * 7,
        end_ms: 1_700_000_000_000 + i as i64 * 7 + (i as i64 % 50),
        src_addr: if i.is_multiple_of(4) {
            format!("2001:db8::{i:x}").parse().unwrap()
        } else {
            format!("10.0.{}.{}", i / 256 % 256, i % 256)
                .parse()
                .unwrap()
        },
        dst_addr: "192.0.2.7".parse().unwrap(),
        // Skewed, as ports are: entropy coding compresses them.
        src_port: 32_768 + (i % 97) as u16 * 3,
        dst_port: 443,
        protocol: 6,
        packets: i % 17 + 1,
        octets: (i % 17 + 1) * 1400,
        exporter: "198.51.100.1".parse().unwrap(),
        ..Flow::default()
    }
}

/// A valid block body for `flows`.
fn block(flows: &[Flow]) -> Vec<u8> {
    let mut body = Vec::new();
    BlockEncoder::new(1)
        .unwrap()
        .encode(flows, &mut body)
        .unwrap();
    body
}

/// Where each column chunk header of a block body is: (offset, id).
fn chunks(body: &[u8]) -> Vec<(usize, u8)> {
    let columns = BlockHeader::decode(body).unwrap().columns;
    let mut at = BLOCK_HEADER_LEN;
    let mut out = Vec::new();
    for _ in 0..columns {
        let h = &body[at..at + CHUNK_HEADER_LEN];
        out.push((at, h[0]));
        at += CHUNK_HEADER_LEN + u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
    }
    out
}

/// The chunk header of column `id`.
fn chunk_of(body: &[u8], id: u8) -> usize {
    chunks(body).into_iter().find(|c| c.1 == id).unwrap().0
}

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A closed file or complete stream: the header, these frames (kind,
/// body) with valid checksums, a trailer indexing the blocks (as their
/// headers say, however absurd) and the footer.
fn stream(frames: &[(u8, &[u8])]) -> Vec<u8> {
    let mut s = encode_file_header(&header());
    let mut index = Vec::new();
    for (kind, body) in frames {
        let frame = encode_frame(*kind, 0, body);
        if let (KIND_BLOCK, Some(h)) = (*kind, BlockHeader::decode(body)) {
            index.push((s.len() as u64, frame.len() as u32, h));
        }
        s.extend(frame);
    }
    // Times, flag, totals, no exporters, then the block index.
    let mut trailer = vec![0u8; 8 + 1 + 40 + 8];
    trailer.extend_from_slice(&(index.len() as u64).to_le_bytes());
    for (offset, len, h) in index {
        trailer.extend_from_slice(&offset.to_le_bytes());
        trailer.extend_from_slice(&len.to_le_bytes());
        trailer.extend_from_slice(&h.records.to_le_bytes());
        trailer.extend_from_slice(&h.min_start_ms.to_le_bytes());
        trailer.extend_from_slice(&h.max_end_ms.to_le_bytes());
    }
    let trailer_at = s.len() as u64;
    s.extend(encode_frame(KIND_TRAILER, 0, &trailer));
    s.extend(encode_footer(trailer_at));
    s
}

/// Reads a stream as `floe print` does, block by block; the flows read or
/// the first error.
fn read_stream(bytes: &[u8]) -> Result<usize, StoreError> {
    let mut r = StreamReader::new(bytes, "<stdin>")?;
    let (mut flows, mut n) = (Vec::new(), 0);
    loop {
        flows.clear();
        match r.next_block(&mut flows) {
            Ok(true) => n += flows.len(),
            Ok(false) => return Ok(n),
            Err(e) => return Err(e),
        }
    }
}

/// Reads a file as `floe print` does (mapped, blocks in chunks); the
/// flows read and the errors met.
fn read_file(bytes: &[u8]) -> (usize, Vec<StoreError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.floe");
    std::fs::write(&path, bytes).unwrap();
    let f = match FlowFile::open(&path) {
        Ok(f) => f,
        Err(e) => return (0, vec![e]),
    };
    // Damage found by the scan of a file without a trailer, then the
    // blocks' errors.
    let mut errors: Vec<StoreError> = f
        .damage()
        .iter()
        .map(|d| StoreError::Corrupt {
            path: path.clone(),
            offset: 0,
            what: d.to_string(),
        })
        .collect();
    let mut dec = BlockDecoder::new().unwrap();
    // The column reader meets the same errors (and never panics).
    let mut batch = floe_flow::FlowBatch::new();
    for i in 0..f.blocks().len() {
        let col = f.with_block(i, |body| {
            floe_store::block_stats(body).and_then(|_| dec.decode_batch(body, &mut batch))
        });
        if let Ok(Ok(_)) = col {
            assert!(batch.len() <= floe_store::format::MAX_BLOCK_RECORDS as usize);
        }
    }
    let (mut buf, mut n) = (Vec::new(), 0);
    for i in f.blocks_overlapping(i64::MIN, i64::MAX).collect::<Vec<_>>() {
        if let Err(e) = f.read_block_chunked(i, &mut dec, &mut buf, 4096, |b| {
            n += b.len();
            true
        }) {
            errors.push(e);
        }
    }
    (n, errors)
}

/// The block error of a failed read, checking that it names the frame.
fn block_error(e: StoreError, frame_at: u64) -> BlockError {
    match e {
        StoreError::Block { offset, source, .. } => {
            assert_eq!(offset, frame_at, "{source}");
            source
        }
        other => panic!("not a block error: {other}"),
    }
}

/// A one-flow block (every column constant) made to claim `n` flows, with
/// every column's value count to match.
fn constant_block_claiming(n: u32) -> Vec<u8> {
    let mut body = block(&[flow(1)]);
    set_u32(&mut body, 0, n);
    for (at, id) in chunks(&body) {
        // Value columns of the family the flow does not use stay empty.
        let empty = id >= 19 && (id - 19) % 3 == 2;
        if !empty {
            set_u32(&mut body, at + 4, n);
        }
    }
    body
}

// ---------------------------------------------------------------------------

/// The report of issue 16: a block header claiming 2^32-1 flows, every
/// column constant, valid checksums. `floe print` aborted allocating
/// 584 GB; the reader now refuses it before allocating anything for it.
#[test]
fn block_claiming_u32_max_flows_is_refused_before_allocating() {
    let body = constant_block_claiming(u32::MAX);
    let s = stream(&[(KIND_BLOCK, &body)]);
    let at = encode_file_header(&header()).len() as u64;

    let (r, peak) = peak_during(|| read_stream(&s));
    let e = r.unwrap_err();
    let text = e.to_string();
    assert_eq!(
        block_error(e, at),
        BlockError::TooManyFlows {
            claimed: u32::MAX,
            max: MAX_BLOCK_RECORDS
        }
    );
    assert!(
        text.contains(&format!("<stdin>: corrupt block at byte offset {at}"))
            && text.contains("block claims 4294967295 flows; a block holds at most 1048576"),
        "{text}"
    );
    assert!(peak < 2 * MIB, "stream read allocated {peak} bytes");

    let (r, peak) = peak_during(|| read_file(&s));
    let (n, errors) = r;
    assert_eq!(n, 0);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("4294967295 flows"),
        "{}",
        errors[0]
    );
    assert!(peak < 2 * MIB, "file read allocated {peak} bytes");

    // One more than the limit is refused too.
    let body = constant_block_claiming(MAX_BLOCK_RECORDS + 1);
    let e = read_stream(&stream(&[(KIND_BLOCK, &body)])).unwrap_err();
    assert!(matches!(
        block_error(e, at),
        BlockError::TooManyFlows { .. }
    ));
}

/// The limit is the writer's largest block: such a block of constant
/// columns (a few hundred bytes) decodes, within one block's worth of
/// memory.
#[test]
fn a_block_of_the_largest_size_decodes_within_one_blocks_worth() {
    let body = constant_block_claiming(MAX_BLOCK_RECORDS);
    let s = stream(&[(KIND_BLOCK, &body)]);
    let (r, peak) = peak_during(|| read_stream(&s));
    assert_eq!(r.unwrap(), MAX_BLOCK_RECORDS as usize);
    let block_worth = MAX_BLOCK_RECORDS as usize * std::mem::size_of::<Flow>();
    assert!(
        peak < block_worth + 2 * MIB,
        "{peak} bytes for a block of {block_worth}"
    );
}

/// Every count and size a column chunk states, wrong in each way: a typed
/// error, and nothing allocated for what the chunk claims.
#[test]
fn column_counts_sizes_and_widths_are_checked_against_the_block() {
    let flows: Vec<Flow> = (0..3000).map(flow).collect();
    let good = block(&flows);
    let n = flows.len() as u32;
    // Sanity: the good block reads, and which columns are which.
    assert_eq!(read_stream(&stream(&[(KIND_BLOCK, &good)])).unwrap(), 3000);
    let enc = |id: u8| good[chunk_of(&good, id) + 1];
    assert_eq!(enc(3), 1, "source ports are zstd");
    assert_eq!(enc(5), 0, "protocol is constant");

    type Patch = Box<dyn Fn(&mut Vec<u8>)>;
    type Case = (&'static str, Patch, fn(&BlockError) -> bool);
    let mut pos = [0usize; 256];
    for (offset, id) in chunks(&good) {
        pos[usize::from(id)] = offset;
    }
    let at = move |id: u8| pos[usize::from(id)];
    let cases: Vec<Case> = vec![
        (
            "a per-flow column with fewer values than flows",
            Box::new(move |b| set_u32(b, at(3) + 4, n - 1)),
            |e| matches!(e, BlockError::Count { id: 3, .. }),
        ),
        (
            "a per-flow column claiming 2^32-1 values",
            Box::new(move |b| set_u32(b, at(5) + 4, u32::MAX)),
            |e| matches!(e, BlockError::Count { id: 5, .. }),
        ),
        (
            "IPv4 values more than the flows",
            Box::new(move |b| set_u32(b, at(23) + 4, n + 1)),
            |e| matches!(e, BlockError::Count { id: 23, .. }),
        ),
        (
            "IPv4 values fewer than the family column uses",
            Box::new(move |b| {
                // Source addresses are mixed: make their IPv4 column
                // constant and too short.
                let c = at(23);
                let k = u32::from_le_bytes(b[c + 4..c + 8].try_into().unwrap());
                set_u32(b, c + 4, k - 1);
            }),
            |e| {
                matches!(
                    e,
                    BlockError::AddressShort { family: 22, .. }
                        | BlockError::ZstdDeclared { id: 23, .. }
                        | BlockError::RawSize { id: 23, .. }
                )
            },
        ),
        (
            "stored bytes past the end of the block",
            Box::new(move |b| set_u32(b, at(3) + 8, u32::MAX)),
            |e| matches!(e, BlockError::ChunkCutShort { id: 3, .. }),
        ),
        ("width 0", Box::new(move |b| b[at(5) + 2] = 0), |e| {
            matches!(
                e,
                BlockError::Width {
                    id: 5,
                    width: 0,
                    ..
                }
            )
        }),
        ("width 17", Box::new(move |b| b[at(21) + 2] = 17), |e| {
            matches!(
                e,
                BlockError::Width {
                    id: 21,
                    width: 17,
                    ..
                }
            )
        }),
        (
            "a scalar column 9 bytes wide",
            Box::new(move |b| b[at(9) + 2] = 9),
            |e| {
                matches!(
                    e,
                    BlockError::Width {
                        id: 9,
                        width: 9,
                        ..
                    }
                )
            },
        ),
        (
            "a zstd frame declaring another size than its column's",
            Box::new(move |b| b[at(3) + 2] += 1),
            |e| matches!(e, BlockError::ZstdDeclared { id: 3, .. }),
        ),
        (
            "a constant whose stored bytes are not one value",
            Box::new(move |b| b[at(5) + 2] = 2),
            |e| matches!(e, BlockError::ConstantSize { id: 5, .. }),
        ),
        (
            "an unknown encoding",
            Box::new(move |b| b[at(5) + 1] = 9),
            |e| matches!(e, BlockError::Encoding { id: 5, encoding: 9 }),
        ),
        ("a column twice", Box::new(move |b| b[at(6)] = 5), |e| {
            matches!(e, BlockError::DuplicateColumn { id: 5 })
        }),
        ("a column missing", Box::new(move |b| b[at(6)] = 200), |e| {
            matches!(e, BlockError::Missing { id: 6 })
        }),
        (
            "more columns than the body can hold",
            Box::new(|b| b[4..6].copy_from_slice(&u16::MAX.to_le_bytes())),
            |e| matches!(e, BlockError::TooManyColumns { claimed: 65535, .. }),
        ),
        (
            "an address family that is neither 0 nor 1",
            Box::new(move |b| {
                // Destination addresses are one constant IPv4 address.
                let c = at(25);
                assert_eq!(b[c + 1], 0);
                b[c + 12] = 7;
            }),
            |e| matches!(e, BlockError::Family { id: 25, value: 7 }),
        ),
        (
            "a header cut short",
            Box::new(|b| b.truncate(BLOCK_HEADER_LEN - 1)),
            |e| matches!(e, BlockError::HeaderCutShort { .. }),
        ),
    ];
    let frame_at = encode_file_header(&header()).len() as u64;
    for (what, patch, expected) in cases {
        let mut body = good.clone();
        patch(&mut body);
        // The column decoder refuses it too.
        let mut batch = floe_flow::FlowBatch::new();
        let col = BlockDecoder::new().unwrap().decode_batch(&body, &mut batch);
        assert!(
            col.is_err() && batch.is_empty(),
            "{what}: decoded into columns"
        );
        let s = stream(&[(KIND_BLOCK, &body)]);
        let (r, peak) = peak_during(|| read_stream(&s));
        let e = match r {
            Err(StoreError::Corrupt { what: w, .. }) if what == "a header cut short" => {
                assert!(w.contains("block header cut short"), "{w}");
                continue;
            }
            Err(e) => block_error(e, frame_at),
            Ok(n) => panic!("{what}: read {n} flows"),
        };
        assert!(expected(&e), "{what}: {e:?}");
        // The good block decodes with about 0.6 MiB of planes and flows.
        assert!(peak < 3 * MIB, "{what}: {peak} bytes");
        let (_, errors) = read_file(&s);
        assert!(!errors.is_empty(), "{what}: the file read");
    }
}

/// A zstd frame that does not state its size and holds more than its
/// column: decompression stops at the column's size.
#[test]
fn zstd_frames_decompress_into_their_columns_size_and_no_more() {
    let flows: Vec<Flow> = (0..3000).map(flow).collect();
    let good = block(&flows);
    let at = chunk_of(&good, 3);
    let stored = u32::from_le_bytes(good[at + 8..at + 12].try_into().unwrap()) as usize;
    // 64 MiB of zeros, no content size in the frame header.
    let mut c = zstd::bulk::Compressor::new(19).unwrap();
    c.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(false))
        .unwrap();
    let bomb = c.compress(&vec![0u8; 64 * MIB]).unwrap();
    assert!(matches!(
        zstd::zstd_safe::get_frame_content_size(&bomb),
        Ok(None)
    ));
    let mut body = good[..at + CHUNK_HEADER_LEN].to_vec();
    set_u32(&mut body, at + 8, bomb.len() as u32);
    body.extend_from_slice(&bomb);
    body.extend_from_slice(&good[at + CHUNK_HEADER_LEN + stored..]);
    let s = stream(&[(KIND_BLOCK, &body)]);
    let (r, peak) = peak_during(|| read_stream(&s));
    let e = block_error(r.unwrap_err(), encode_file_header(&header()).len() as u64);
    assert!(matches!(e, BlockError::Zstd { id: 3, .. }), "{e:?}");
    assert!(peak < 4 * MIB, "{peak} bytes");
}

/// Lengths in the file header and the metadata frames are checked against
/// the bytes there are before anything is allocated for them.
#[test]
fn metadata_lengths_are_checked_against_the_bytes_they_come_in() {
    // A header claiming more metadata than a header holds.
    let mut s = encode_file_header(&header());
    set_u32(&mut s, 12, MAX_HEADER_META + 1);
    let (r, peak) = peak_during(|| StreamReader::new(&s[..], "<stdin>").map(|_| ()));
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("byte offset 12") && e.contains("header metadata claims"),
        "{e}"
    );
    assert!(peak < MIB / 4, "{peak}");

    // A frame claiming 256 MiB on a stream of a hundred bytes.
    let mut s = encode_file_header(&header());
    let fh = floe_store::format::FrameHeader {
        kind: KIND_BLOCK,
        flags: 0,
        body_len: 256 << 20,
        body_crc: 0,
    };
    s.extend_from_slice(&fh.encode());
    s.extend_from_slice(&[0u8; 64]);
    let (r, peak) = peak_during(|| read_stream(&s));
    assert!(matches!(r, Err(StoreError::Truncated { .. })), "{r:?}");
    assert!(peak < 2 * MIB, "{peak}");

    // A counters frame whose first exporter's counter name claims 60 MiB.
    let mut body = Vec::new();
    body.extend_from_slice(&1u64.to_le_bytes()); // one exporter
    body.extend_from_slice(&0u32.to_le_bytes()); // IPv4
    body.extend_from_slice(&[192, 0, 2, 1]);
    body.extend_from_slice(&0u32.to_le_bytes()); // source id
    body.extend_from_slice(&[0u8; 48]); // six counters
    body.extend_from_slice(&1u64.to_le_bytes()); // one extra counter
    body.extend_from_slice(&(60u64 << 20).to_le_bytes()); // its name's length
    body.extend_from_slice(b"abc");
    let s = stream(&[(KIND_COUNTERS, &body)]);
    let mut r = StreamReader::new(&s[..], "<stdin>").unwrap();
    let (r, peak) = peak_during(|| r.next_event(&mut Vec::new()).map(|_| ()));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("claims more than it holds"), "{e}");
    assert!(peak < MIB / 4, "{peak}");

    // A trailer whose block index claims 2^40 entries.
    let mut body = vec![0u8; 8 + 1 + 40];
    body.extend_from_slice(&0u64.to_le_bytes()); // no exporters
    body.extend_from_slice(&(1u64 << 40).to_le_bytes());
    body.extend_from_slice(&[0u8; 64]);
    let s = stream(&[(KIND_TRAILER, &body)]);
    let mut r = StreamReader::new(&s[..], "<stdin>").unwrap();
    let (r, peak) = peak_during(|| r.next_event(&mut Vec::new()).map(|_| ()));
    assert!(r.is_err());
    assert!(peak < 2 * MIB, "{peak}");
}

/// A closed file whose trailer's index says a block holds 2^32-1 flows:
/// the index is not believed, the file is scanned, and its flows read.
#[test]
fn an_index_entry_claiming_too_many_flows_is_not_believed() {
    let mut w = FileWriter::new(
        Vec::new(),
        Path::new("<mem>"),
        &header(),
        WriteOptions {
            block_records: 100,
            level: 1,
        },
    )
    .unwrap();
    let flows: Vec<Flow> = (0..250).map(flow).collect();
    w.extend_from_slice(&flows).unwrap();
    let mut bytes = w.finish(2).unwrap().0;
    // The trailer frame ends where the 24-byte footer starts; its last
    // 32 bytes are the last index entry, whose flow count is at +12.
    let foot = bytes.len() - 24;
    let trailer_at = u64::from_le_bytes(bytes[foot..foot + 8].try_into().unwrap()) as usize;
    let body_at = trailer_at + FRAME_HEADER_LEN;
    set_u32(&mut bytes, foot - 32 + 12, u32::MAX);
    let frame = encode_frame(KIND_TRAILER, 0, &bytes[body_at..foot]);
    bytes[trailer_at..foot].copy_from_slice(&frame);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.floe");
    std::fs::write(&path, &bytes).unwrap();
    let f = FlowFile::open(&path).unwrap();
    assert_eq!(f.flows(), 250, "the index came from a scan");
    let (all, peak) = peak_during(|| f.read_all().unwrap());
    assert_eq!(all, flows);
    assert!(peak < 2 * MIB, "{peak}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    /// Random changes to the numbers of a valid block (its flow count,
    /// column count, and each chunk's id, encoding, width, value count and
    /// stored size) and to its bytes, with the checksums made valid again:
    /// never a panic, and never more memory than decoding the block as it
    /// was (plus the body and a margin).
    #[test]
    fn mutated_blocks_with_valid_checksums_never_panic_or_overallocate(
        n in 1usize..600,
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), 0usize..8, any::<u32>(), 0usize..4),
            1..6,
        ),
    ) {
        let flows: Vec<Flow> = (0..n as u64).map(flow).collect();
        let mut body = block(&flows);
        let good_len = body.len();
        let cols = chunks(&body);
        for (which, field, value, shape) in &edits {
            // Values that matter most often: 0, 1, just off, extremes.
            let v = match shape {
                0 => *value,
                1 => value % 4,
                2 => (n as u32).wrapping_add(value % 3).wrapping_sub(1),
                _ => u32::MAX - value % 2,
            };
            let (at, _) = cols[which.index(cols.len())];
            match field {
                0 => set_u32(&mut body, 0, v),
                1 => body[4..6].copy_from_slice(&(v as u16).to_le_bytes()),
                2 => body[at] = v as u8,
                3 => body[at + 1] = v as u8,
                4 => body[at + 2] = v as u8,
                5 => set_u32(&mut body, at + 4, v),
                6 => set_u32(&mut body, at + 8, v),
                _ => {
                    let i = which.index(body.len());
                    body[i] ^= v as u8 | 1;
                }
            }
        }
        let s = stream(&[(KIND_BLOCK, &body)]);
        let (_, peak) = peak_during(|| read_stream(&s));
        let (_, good_peak) = peak_during(|| read_stream(&stream(&[(KIND_BLOCK, &block(&flows))])));
        prop_assert!(
            peak <= good_peak + 2 * good_len + MIB,
            "{} bytes against {} for the block as it was", peak, good_peak
        );
        let _ = read_file(&s);
        // Into columns, and its statistics: no more either.
        let (_, col_peak) = peak_during(|| {
            let mut dec = BlockDecoder::new().unwrap();
            let mut batch = floe_flow::FlowBatch::new();
            let _ = floe_store::block_stats(&body);
            dec.decode_batch(&body, &mut batch).map(|_| batch.len())
        });
        let (_, good_col_peak) = peak_during(|| {
            let mut dec = BlockDecoder::new().unwrap();
            let mut batch = floe_flow::FlowBatch::new();
            dec.decode_batch(&block(&flows), &mut batch).map(|_| batch.len())
        });
        prop_assert!(
            col_peak <= good_col_peak + 2 * good_len + MIB,
            "columns: {} bytes against {} for the block as it was", col_peak, good_col_peak
        );
    }
}
