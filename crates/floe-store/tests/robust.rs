//! Damaged files and streams never panic the readers: every read either
//! returns flows or an error naming the file and offset.

use std::path::Path;

use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, FlowFile, StreamReader, WriteOptions};
use proptest::prelude::*;

fn file_bytes() -> Vec<u8> {
    let header = FileHeader {
        created_ms: 1,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "robust".into(),
    };
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
