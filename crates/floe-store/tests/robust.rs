//! Damaged files and streams never panic the readers: every read either
//! returns flows or an error naming the file and offset.

use std::path::Path;

use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, FlowFile, StreamReader, WriteOptions};
use proptest::prelude::*;

/// The header of every file these tests write.
fn header() -> FileHeader {
    FileHeader {
        created_ms: 1,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "robust".into(),
    }
}

fn file_bytes() -> Vec<u8> {
    let header = header();
    let mut w = FileWriter::new(
        Vec::new(),
        Path::new("<mem>"),
        &header,
        WriteOptions {
            block_records: 7,
            level: 1,
        },
    )
    .unwrap();
    for i in 0..40u64 {
        w.push(Flow {
            start_ms: i as i64 * 1000,
            end_ms: i as i64 * 1000 + 5,
            src_addr: if i % 3 == 0 {
                "2001:db8::1".parse().unwrap()
            } else {
                "10.0.0.1".parse().unwrap()
            },
            packets: i,
            octets: i * 99,
            ..Flow::default()
        })
        .unwrap();
    }
    w.finish(2).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn mutated_files_and_streams_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut b = file_bytes();
        for (at, x) in &flips {
            let i = at.index(b.len());
            b[i] ^= x | 1;
        }
        if truncate {
            let n = cut.index(b.len());
            b.truncate(n);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &b).unwrap();
        if let Ok(f) = FlowFile::open(&path) {
            let mut dec = floe_store::BlockDecoder::new().unwrap();
            let mut out = Vec::new();
            for i in 0..f.blocks().len() {
                if let Err(e) = f.read_block(i, &mut dec, &mut out) {
                    prop_assert!(e.to_string().contains("offset"), "{e}");
                }
            }
        }
        if let Ok(mut r) = StreamReader::new(&b[..], "<fuzz>") {
            let mut out = Vec::new();
            for _ in 0..1000 {
                match r.next_event(&mut out) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}

/// A writer that refuses every write while `failing` is set.
struct Flaky {
    out: Vec<u8>,
    failing: std::rc::Rc<std::cell::Cell<bool>>,
}

impl std::io::Write for Flaky {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.failing.get() {
            return Err(std::io::Error::other("disk full"));
        }
        self.out.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A batch of a block's flows or more is encoded as it is; when writing
/// it fails, its flows are pending (none lost, none written), and the
/// next write stores them before what follows, in order.
#[test]
fn a_whole_batch_that_cannot_be_written_stays_pending() {
    let header = header();
    let failing = std::rc::Rc::new(std::cell::Cell::new(false));
    let out = Flaky {
        out: Vec::new(),
        failing: failing.clone(),
    };
    let opts = WriteOptions {
        block_records: 50,
        level: 1,
    };
    let mut w = FileWriter::new(out, Path::new("<mem>"), &header, opts).unwrap();
    let flows: Vec<Flow> = (0..200u64)
        .map(|i| Flow {
            start_ms: i as i64,
            end_ms: i as i64 + 5,
            octets: i,
            ..Flow::default()
        })
        .collect();
    let batch = |r: std::ops::Range<usize>| floe_flow::FlowBatch::from_flows(&flows[r]);
    assert!(matches!(
        w.fill_block_from(&batch(0..60), 0),
        (60, Ok(true))
    ));
    assert_eq!(w.pending(), 0);
    let written = w.bytes_written();
    failing.set(true);
    let (taken, r) = w.fill_block_from(&batch(60..130), 0);
    assert_eq!(taken, 70);
    assert!(r.is_err());
    assert_eq!(w.pending(), 70, "the batch's flows are pending");
    assert_eq!(w.bytes_written(), written, "nothing counted as written");
    failing.set(false);
    // Pending flows, then a whole batch: one block of both.
    assert!(matches!(
        w.fill_block_from(&batch(130..200), 0),
        (70, Ok(true))
    ));
    assert_eq!(w.pending(), 0);
    let (flaky, _) = w.finish(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, &flaky.out).unwrap();
    let f = FlowFile::open(&path).unwrap();
    assert_eq!(f.read_all().unwrap(), flows);
    let sizes: Vec<u32> = f.blocks().iter().map(|b| b.records).collect();
    assert_eq!(sizes, [60, 140]);
}
