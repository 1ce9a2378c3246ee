//! Crash recovery, damage, versions and expiry, on real files.

use std::path::{Path, PathBuf};

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{
    expire, recover_file, walk, ExpirePolicy, ExporterCounters, ExporterKey, FileHeader,
    FileWriter, FlowFile, StoreConfig, StoreError, StoreWriter, WriteOptions, Zone,
};

fn flow(i: u64) -> Flow {
    Flow {
        start_ms: 1_700_000_000_000 + i as i64,
        end_ms: 1_700_000_000_500 + i as i64,
        src_addr: format!("10.0.{}.{}", i / 250 % 250, i % 250)
            .parse()
            .unwrap(),
        dst_port: 443,
        protocol: 6,
        packets: i + 1,
        octets: (i + 1) * 64,
        ..Flow::default()
    }
}

fn key() -> ExporterKey {
    ExporterKey {
        address: "192.0.2.9".parse().unwrap(),
        source_id: 5,
    }
}

/// A file as a crash leaves it: header, `blocks` whole blocks of 10 flows
/// each with a counters frame before it, no trailer. Returns the bytes and
/// the offset where the last block's frame begins.
fn crashed_file(blocks: u64) -> (Vec<u8>, usize) {
    let header = FileHeader {
        created_ms: 1,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "test".into(),
    };
    let opts = WriteOptions {
        block_records: 10,
        level: 3,
    };
    let mut w = FileWriter::new(Vec::new(), Path::new("<mem>"), &header, opts).unwrap();
    let mut last_start = 0;
    for b in 0..blocks {
        w.add_counters(
            key(),
            &ExporterCounters {
                datagrams: 2,
                flows: 10,
                ..Default::default()
            },
        );
        last_start = w.bytes_written() as usize;
        for i in 0..10 {
            w.push(flow(b * 10 + i)).unwrap();
        }
    }
    // The bytes so far, without finishing (no trailer): what kill -9 leaves.
    let bytes = w.get_ref().clone();
    (bytes, last_start)
}

#[test]
fn recovery_keeps_every_whole_block_for_every_cut_of_the_last_one() {
    let (bytes, last_start) = crashed_file(3);
    let dir = tempfile::tempdir().unwrap();
    // The counters frame precedes the last block's frame; cutting anywhere
    // from the start of that counters frame to the end must keep exactly
    // the first two blocks (or all three at the very end).
    for cut in last_start..=bytes.len() {
        let path = dir.path().join("tmp-floe.2026-11-22.100000+0000");
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let rec = recover_file(&path, 99).unwrap();
        let to = rec.to.clone().expect("recovered file");
        assert_eq!(to, dir.path().join("floe.2026-11-22.100000+0000"));
        assert!(!path.exists());
        let f = FlowFile::open(&to).unwrap();
        assert!(f.is_closed(), "cut {cut}");
        let t = f.trailer().unwrap();
        assert!(t.recovered);
        let want_blocks = if cut == bytes.len() { 3 } else { 2 };
        assert_eq!(f.blocks().len(), want_blocks, "cut {cut}");
        let flows = f.read_all().unwrap();
        let want: Vec<Flow> = (0..want_blocks as u64 * 10).map(flow).collect();
        assert_eq!(flows, want, "cut {cut}");
        assert_eq!(t.totals.flows, want.len() as u64);
        assert_eq!(
            t.totals.packets,
            want.iter().map(|f| f.packets).sum::<u64>()
        );
        // Counters come from the last whole counters frame: never more
        // than what was written, never counted twice.
        let c = &t.exporters[0].1;
        assert!(
            c.datagrams == 2 * want_blocks as u64 || c.datagrams == 2 * (want_blocks as u64 + 1)
        );
        std::fs::remove_file(&to).unwrap();
    }
}

#[test]
fn crash_during_the_header_leaves_nothing_behind() {
    let (bytes, _) = crashed_file(1);
    let dir = tempfile::tempdir().unwrap();
    for cut in [0, 3, 8, 20] {
        let path = dir.path().join("tmp-floe.2026-11-22.100000+0000");
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let rec = recover_file(&path, 1).unwrap();
        assert!(rec.to.is_none());
        assert!(!path.exists());
    }
}

#[test]
fn writer_recovers_leftovers_on_start_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.block_records = 10;
    let (mut w, _) = StoreWriter::open(c.clone(), t0).unwrap();
    let flows: Vec<Flow> = (0..25).map(flow).collect();
    w.write(t0, &flows).unwrap();
    w.add_counters(
        t0,
        key(),
        &ExporterCounters {
            datagrams: 7,
            ..Default::default()
        },
    )
    .unwrap();
    let tmp = w.current_path().unwrap().to_path_buf();
    // What kill -9 leaves on disk is the tree as it is now: copy it to a
    // second store directory and start a writer there.
    let crashed = tempfile::tempdir().unwrap();
    let rel = tmp.strip_prefix(root).unwrap();
    std::fs::create_dir_all(crashed.path().join(rel.parent().unwrap())).unwrap();
    std::fs::copy(&tmp, crashed.path().join(rel)).unwrap();
    drop(w);
    let root = crashed.path();
    c.dir = root.to_path_buf();
    let t1 = t0 + 120_000;
    let (mut w2, recovered) = StoreWriter::open(c.clone(), t1).unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(
        recovered[0].flows, 20,
        "two whole blocks of 10; 5 pending flows are the loss"
    );
    w2.write(t1, &[flow(99)]).unwrap();
    w2.close(t1 + 1).unwrap();
    let files = walk(root).unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| !f.tmp));
}

#[test]
fn damaged_block_is_reported_with_file_and_offset_and_others_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let header = FileHeader {
        created_ms: 1,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "test".into(),
    };
    let opts = WriteOptions {
        block_records: 10,
        level: 3,
    };
    let mut w = FileWriter::new(Vec::new(), &path, &header, opts).unwrap();
    for i in 0..50 {
        w.push(flow(i)).unwrap();
    }
    let mut bytes = w.finish(2).unwrap().0;
    let f = {
        std::fs::write(&path, &bytes).unwrap();
        FlowFile::open(&path).unwrap()
    };
    let victim = f.blocks()[2];
    drop(f);
    bytes[victim.offset as usize + 60] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let f = FlowFile::open(&path).unwrap();
    let mut dec = floe_store::BlockDecoder::new().unwrap();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in 0..f.blocks().len() {
        if let Err(e) = f.read_block(i, &mut dec, &mut out) {
            errors.push(e);
        }
    }
    assert_eq!(errors.len(), 1);
    let msg = errors[0].to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("offset {}", victim.offset)), "{msg}");
    assert!(errors[0].is_damage());
    assert_eq!(out.len(), 40);

    // The same damage in a file without a trailer: the scan skips the bad
    // block and finds the ones after it.
    let (mut crashed, _) = crashed_file(4);
    let tmp = dir.path().join("tmp-floe.2026-11-22.100000+0000");
    std::fs::write(&tmp, &crashed).unwrap();
    let second = FlowFile::open(&tmp).unwrap().blocks()[1];
    crashed[second.offset as usize + 40] ^= 0xff;
    std::fs::write(&tmp, &crashed).unwrap();
    let f = FlowFile::open(&tmp).unwrap();
    assert_eq!(f.blocks().len(), 3);
    assert_eq!(f.damage().len(), 1);
    assert!(f.damage()[0]
        .to_string()
        .contains(&format!("offset {}", second.offset)));
    let rec = recover_file(&tmp, 5).unwrap();
    assert_eq!(rec.flows, 30);
    assert_eq!(rec.damage.len(), 1);
}

#[test]
fn newer_versions_and_foreign_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, _) = crashed_file(1);
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    let path = dir.path().join("new");
    std::fs::write(&path, &bytes).unwrap();
    let e = FlowFile::open(&path).err().unwrap();
    assert!(matches!(
        e,
        StoreError::UnsupportedVersion {
            version: 2,
            supported: 1,
            ..
        }
    ));
    let msg = e.to_string();
    assert!(
        msg.contains("new") && msg.contains("version 2") && msg.contains("upgrade"),
        "{msg}"
    );

    let other = dir.path().join("text.txt");
    std::fs::write(&other, "hello world, this is not a flow file").unwrap();
    let e = FlowFile::open(&other).err().unwrap();
    assert!(matches!(e, StoreError::NotFloe { .. }), "{e}");
    assert!(e.to_string().contains("not a floe file"));
}

fn make_tree(root: &Path, periods: i64) -> Vec<PathBuf> {
    let t0 = utc_ms(2026, 11, 20, 0, 0, 0);
    let mut c = StoreConfig::new(root);
    c.zone = Zone::Utc;
    c.period_secs = 3600;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    let mut paths = Vec::new();
    for h in 0..periods {
        let t = t0 + h * 3_600_000;
        let flows: Vec<Flow> = (0..200).map(|i| flow(i * (h as u64 + 1))).collect();
        if let Some(c) = w.write(t, &flows).unwrap() {
            paths.push(c.path);
        }
    }
    paths.extend(w.close(t0 + periods * 3_600_000).unwrap().map(|c| c.path));
    paths
}

#[test]
fn expiry_by_age_removes_old_files_and_empty_days() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let paths = make_tree(root, 72); // three days of hourly files
    assert_eq!(paths.len(), 72);
    let now = utc_ms(2026, 11, 23, 0, 0, 0);
    let policy = ExpirePolicy {
        max_age_secs: Some(86_400),
        max_bytes: None,
    };
    let out = expire(root, &policy, now).unwrap();
    // Files whose period ended by 2026-11-22 00:00 go: the 20th and 21st.
    assert_eq!(out.removed.len(), 48);
    assert!(!root.join("2026/2026-11/2026-11-20").exists());
    assert!(!root.join("2026/2026-11/2026-11-21").exists());
    assert!(root.join("2026/2026-11/2026-11-22").exists());
    assert_eq!(walk(root).unwrap().len(), 24);
    assert!(root.exists());
}

#[test]
fn expiry_by_size_removes_oldest_first_until_under_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(root, 10);
    let files = walk(root).unwrap();
    let total: u64 = files.iter().map(|f| f.size).sum();
    let cap = total / 2;
    let out = expire(
        root,
        &ExpirePolicy {
            max_bytes: Some(cap),
            max_age_secs: None,
        },
        0,
    )
    .unwrap();
    assert!(out.remaining_bytes <= cap);
    let left = walk(root).unwrap();
    let left_total: u64 = left.iter().map(|f| f.size).sum();
    assert_eq!(left_total, out.remaining_bytes);
    // Oldest went first: what is left is the newest files, contiguous.
    assert_eq!(left.last().unwrap().path, files.last().unwrap().path);
    assert_eq!(left.len() + out.removed.len(), files.len());
    assert_eq!(out.removed[0], files[0].path);
    // One file more would have fitted only if it took us over the cap.
    let next_bigger = left_total + files[out.removed.len() - 1].size;
    assert!(next_bigger > cap);
}

#[test]
fn tree_selection_by_name_uses_next_file_as_period_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(root, 5);
    let files = walk(root).unwrap();
    let t0 = utc_ms(2026, 11, 20, 0, 0, 0);
    // 02:30-02:40 selects the 02:00 file only, with no slack.
    let sel = floe_store::select(&files, t0 + 9_000_000, t0 + 9_600_000, 0);
    assert_eq!(sel.len(), 1);
    assert_eq!(sel[0].start_ms, t0 + 2 * 3_600_000);
    // With an hour of slack the neighbours come in.
    let sel = floe_store::select(&files, t0 + 9_000_000, t0 + 9_600_000, 3_600_000);
    assert_eq!(sel.len(), 3);
}
