//! The rotating writer on real files: boundaries, names, nesting, the tmp
//! rename, DST changes, clock steps, SIGHUP-style rotation, the lock.

use std::path::Path;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::layout::parse_file_name;
use floe_store::{walk, FlowFile, StoreConfig, StoreError, StoreWriter, Zone};

fn cfg(dir: &Path, zone: &str, period: u32, nesting: i8) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::parse(zone).unwrap();
    c.period_secs = period;
    c.nesting = nesting;
    c.block_records = 100;
    c.host = "testhost".into();
    c
}

fn flow(t: i64, tag: u64) -> Flow {
    Flow {
        start_ms: t - 1000,
        end_ms: t,
        packets: tag,
        octets: tag * 100,
        ..Flow::default()
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap().to_string_lossy().into_owned()
}

#[test]
fn rotates_on_wall_clock_boundaries_with_tmp_then_closed_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let t0 = utc_ms(2026, 11, 22, 10, 3, 0);
    let (mut w, rec) = StoreWriter::open(cfg(root, "UTC", 600, 3), t0).unwrap();
    assert!(rec.is_empty());
    assert!(w.write(t0, &[flow(t0, 1)]).unwrap().is_none());
    let tmp = w.current_path().unwrap().to_path_buf();
    assert_eq!(
        rel(root, &tmp),
        "2026/2026-11/2026-11-22/tmp-floe.2026-11-22.100000+0000"
    );
    // Still inside 10:00-10:10.
    assert!(w
        .write(t0 + 419_999, &[flow(t0 + 419_999, 2)])
        .unwrap()
        .is_none());
    // 10:10:00 exactly belongs to the next period.
    let t1 = utc_ms(2026, 11, 22, 10, 10, 0);
    let closed = w
        .write(t1, &[flow(t1, 3)])
        .unwrap()
        .expect("rotation at 10:10");
    assert_eq!(
        rel(root, &closed.path),
        "2026/2026-11/2026-11-22/floe.2026-11-22.100000+0000"
    );
    assert!(!tmp.exists());
    assert_eq!(closed.totals.flows, 2);
    assert_eq!(closed.period.start_ms, utc_ms(2026, 11, 22, 10, 0, 0));
    assert_eq!(closed.period.end_ms, t1);
    let f = FlowFile::open(&closed.path).unwrap();
    assert!(f.is_closed());
    assert_eq!(f.header().host, "testhost");
    assert_eq!(f.header().zone, "UTC");
    assert_eq!(
        f.read_all().unwrap(),
        vec![flow(t0, 1), flow(t0 + 419_999, 2)]
    );
    // Rolling over midnight changes directory.
    let t2 = utc_ms(2026, 11, 23, 0, 0, 5);
    let closed = w.write(t2, &[flow(t2, 4)]).unwrap().unwrap();
    assert_eq!(closed.totals.flows, 1);
    let last = w.close(t2 + 1).unwrap().unwrap();
    assert_eq!(
        rel(root, &last.path),
        "2026/2026-11/2026-11-23/floe.2026-11-23.000000+0000"
    );
    let names: Vec<String> = walk(root)
        .unwrap()
        .iter()
        .map(|f| rel(root, &f.path))
        .collect();
    assert_eq!(
        names,
        [
            "2026/2026-11/2026-11-22/floe.2026-11-22.100000+0000",
            "2026/2026-11/2026-11-22/floe.2026-11-22.101000+0000",
            "2026/2026-11/2026-11-23/floe.2026-11-23.000000+0000",
        ]
    );
}

#[test]
fn every_nesting_level_places_files_as_flow_capture_does() {
    let t = utc_ms(2026, 11, 22, 10, 0, 0);
    for (nesting, expect) in [
        (0, "floe.2026-11-22.100000+0000"),
        (1, "2026/floe.2026-11-22.100000+0000"),
        (2, "2026/2026-11/floe.2026-11-22.100000+0000"),
        (3, "2026/2026-11/2026-11-22/floe.2026-11-22.100000+0000"),
        (-1, "2026-11-22/floe.2026-11-22.100000+0000"),
        (-2, "2026-11/2026-11-22/floe.2026-11-22.100000+0000"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, nesting), t).unwrap();
        w.write(t, &[flow(t, 1)]).unwrap();
        let c = w.close(t + 1).unwrap().unwrap();
        assert_eq!(rel(dir.path(), &c.path), expect, "nesting {nesting}");
    }
}

#[test]
fn dst_fall_back_loses_no_period_and_reuses_no_name() {
    // Europe/Amsterdam, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let start = utc_ms(2026, 10, 24, 23, 45, 0);
    let end = utc_ms(2026, 10, 25, 2, 15, 0);
    let (mut w, _) = StoreWriter::open(cfg(root, "Europe/Amsterdam", 600, 3), start).unwrap();
    let mut t = start;
    let mut sent = 0;
    while t < end {
        w.write(t, &[flow(t, sent)]).unwrap();
        sent += 1;
        t += 60_000;
    }
    w.close(end).unwrap();
    let files = walk(root).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // 23:40 UTC .. 02:10 UTC is 16 ten-minute periods: none lost, none merged.
    assert_eq!(files.len(), 16, "{names:#?}");
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), 16);
    assert!(names.contains(&"floe.2026-10-25.025000+0200".to_string()));
    assert!(names.contains(&"floe.2026-10-25.020000+0100".to_string()));
    assert!(names.contains(&"floe.2026-10-25.025000+0100".to_string()));
    // Consecutive, 10 minutes apart, in order.
    for pair in files.windows(2) {
        assert_eq!(pair[1].start_ms - pair[0].start_ms, 600_000);
    }
    let total: u64 = files
        .iter()
        .map(|f| FlowFile::open(&f.path).unwrap().flows())
        .sum();
    assert_eq!(total, sent);
    // The day directory follows local time: 23:40 UTC is 01:40 CEST on the 25th.
    assert!(files[0]
        .path
        .to_string_lossy()
        .contains("2026-10-25/floe.2026-10-25.014000+0200"));
}

#[test]
fn dst_spring_forward_daily_files_are_23_hours() {
    let dir = tempfile::tempdir().unwrap();
    let t = utc_ms(2026, 3, 29, 12, 0, 0);
    let (mut w, _) = StoreWriter::open(cfg(dir.path(), "Europe/Amsterdam", 86_400, 3), t).unwrap();
    w.write(t, &[flow(t, 1)]).unwrap();
    let p = w.current_period().unwrap();
    assert_eq!(p.end_ms - p.start_ms, 23 * 3_600_000);
    let c = w.close(t).unwrap().unwrap();
    assert!(c
        .path
        .ends_with("2026/2026-03/2026-03-29/floe.2026-03-29.000000+0100"));
}

#[test]
fn short_period_files_rotate_even_without_flows() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 2, 3), t0).unwrap();
    let mut closed = Vec::new();
    for s in 0..10 {
        if let Some(c) = w.tick(t0 + s * 1000).unwrap() {
            closed.push(c);
        }
    }
    closed.extend(w.close(t0 + 10_000).unwrap());
    assert_eq!(closed.len(), 5, "one file per 2 s period");
    for (i, c) in closed.iter().enumerate() {
        assert_eq!(c.period.start_ms, t0 + i as i64 * 2000);
        assert_eq!(c.totals.flows, 0);
        assert!(FlowFile::open(&c.path).unwrap().is_closed());
    }
}

#[test]
fn partial_blocks_are_written_after_the_flush_interval_and_tmp_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = utc_ms(2026, 11, 22, 10, 0, 0);
    let mut c = cfg(dir.path(), "UTC", 600, 3);
    c.flush_interval_ms = 2_000;
    let (mut w, _) = StoreWriter::open(c, t0).unwrap();
    w.write(t0, &[flow(t0, 1), flow(t0, 2)]).unwrap();
    let tmp = w.current_path().unwrap().to_path_buf();
    assert_eq!(FlowFile::open(&tmp).unwrap().flows(), 0, "not flushed yet");
    w.tick(t0 + 1_999).unwrap();
    assert_eq!(FlowFile::open(&tmp).unwrap().flows(), 0);
    w.tick(t0 + 2_000).unwrap();
    let f = FlowFile::open(&tmp).unwrap();
    assert!(!f.is_closed());
    assert_eq!(f.read_all().unwrap(), vec![flow(t0, 1), flow(t0, 2)]);
    w.close(t0 + 3_000).unwrap();
}

#[test]
fn clock_steps_back_keep_the_open_file_and_hup_rotation_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = utc_ms(2026, 11, 22, 10, 5, 0);
    let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, 0), t0).unwrap();
    w.write(t0, &[flow(t0, 1)]).unwrap();
    // The clock goes back an hour: same file, nothing closed.
    assert!(w.write(t0 - 3_600_000, &[flow(t0, 2)]).unwrap().is_none());
    // SIGHUP: close now, reopen the same period under a new name.
    let a = w.rotate(t0 + 10).unwrap().unwrap();
    w.write(t0 + 20, &[flow(t0, 3)]).unwrap();
    let b = w.rotate(t0 + 30).unwrap().unwrap();
    w.write(t0 + 40, &[flow(t0, 4)]).unwrap();
    let c = w.close(t0 + 50).unwrap().unwrap();
    let names: Vec<String> = [&a, &b, &c]
        .iter()
        .map(|c| c.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "floe.2026-11-22.100000+0000",
            "floe.2026-11-22.100000+0000.1",
            "floe.2026-11-22.100000+0000.2"
        ]
    );
    assert_eq!(FlowFile::open(&a.path).unwrap().flows(), 2);
    assert_eq!(FlowFile::open(&b.path).unwrap().flows(), 1);
    let files = walk(dir.path()).unwrap();
    assert_eq!(
        files.iter().map(|f| f.serial).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(parse_file_name(&names[2]).is_some());
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = utc_ms(2026, 11, 22, 10, 0, 0);
    let (_w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, 3), t).unwrap();
    match StoreWriter::open(cfg(dir.path(), "UTC", 600, 3), t) {
        Err(e @ StoreError::Locked { .. }) => {
            assert!(e.to_string().contains("another floe writer"))
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("two writers in one directory"),
    }
}

#[test]
fn bad_configs_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path(), "UTC", 700, 3);
    let e = StoreWriter::open(c.clone(), 0).err().unwrap().to_string();
    assert!(e.contains("does not divide a day"), "{e}");
    c.period_secs = 600;
    c.nesting = 5;
    let e = StoreWriter::open(c, 0).err().unwrap().to_string();
    assert!(e.contains("nesting"), "{e}");
}

#[test]
fn clock_jumps_forward_then_back_lose_no_flow_and_overwrite_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = utc_ms(2026, 11, 22, 10, 5, 0);
    let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, 0), t0).unwrap();
    w.write(t0, &[flow(t0, 1)]).unwrap();
    // The clock jumps three hours ahead: the 10:00 file is closed, the
    // 13:00 one opened; the periods in between simply have no file.
    let jump = t0 + 3 * 3_600_000;
    let closed = w.write(jump, &[flow(t0, 2)]).unwrap().unwrap();
    assert!(closed.path.ends_with("floe.2026-11-22.100000+0000"));
    // And back to 10:06 (an NTP step): the open 13:00 file keeps taking
    // flows; the closed 10:00 file is never reopened or overwritten.
    assert!(w.write(t0 + 60_000, &[flow(t0, 3)]).unwrap().is_none());
    let last = w.close(jump + 1000).unwrap().unwrap();
    assert!(last.path.ends_with("floe.2026-11-22.130000+0000"));
    assert_eq!(FlowFile::open(&closed.path).unwrap().flows(), 1);
    assert_eq!(FlowFile::open(&last.path).unwrap().flows(), 2);
    let names: Vec<String> = walk(dir.path())
        .unwrap()
        .iter()
        .map(|f| rel(dir.path(), &f.path))
        .collect();
    assert_eq!(
        names,
        ["floe.2026-11-22.100000+0000", "floe.2026-11-22.130000+0000"]
    );
}

/// floed writes the columns it decoded into: runs of a [`FlowBatch`]
/// (IPv6 among IPv4, addresses that vary) read back as the same flows
/// as the same flows written as rows. Rows fill blocks of exactly the
/// block size. A batch of fewer flows than a block fills the pending
/// block and leaves the rest pending (one crosses a block here); a batch
/// of a block's flows or more joins the flows pending in one larger
/// block, or is a block of its own, encoded from its columns as they
/// are: no block is cut short but the last.
#[test]
fn columns_written_read_back_as_the_rows_would() {
    use floe_flow::FlowBatch;
    let t0 = utc_ms(2026, 11, 22, 10, 3, 0);
    let flows: Vec<Flow> = (0..580u64)
        .map(|i| Flow {
            src_addr: if i % 7 == 3 {
                format!("2001:db8::{i:x}").parse().unwrap()
            } else {
                format!("10.0.{}.{}", i / 256, i % 256).parse().unwrap()
            },
            dst_port: i as u16,
            ..flow(t0 - i as i64, i)
        })
        .collect();
    let runs = [30, 90, 130, 50, 150, 130];
    let mut files = Vec::new();
    for as_columns in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, 3), t0).unwrap();
        let mut at = 0;
        for len in runs {
            let run = &flows[at..at + len];
            at += len;
            if as_columns {
                w.write(t0, &FlowBatch::from_flows(run)).unwrap();
            } else {
                w.write(t0, run).unwrap();
            }
        }
        assert_eq!(at, flows.len());
        let closed = w.close(t0 + 1).unwrap().unwrap();
        assert_eq!(closed.totals.flows, 580);
        let f = FlowFile::open(&closed.path).unwrap();
        assert_eq!(f.read_all().unwrap(), flows);
        let sizes: Vec<u32> = f.blocks().iter().map(|b| b.records).collect();
        files.push((sizes, dir));
    }
    assert_eq!(files[0].0, [100, 100, 100, 100, 100, 80]);
    // 30 pending; 70 of the 90 fill the block, 20 pending; the 130 join
    // them; 50 pending, the 150 join them; the last 130, with IPv6
    // addresses among them, a block of its own.
    assert_eq!(files[1].0, [100, 150, 200, 130]);
}

/// Batches of a block's flows or more, one after another, are each a
/// block of their own; after flows were left pending, the next such batch
/// joins them in one block and those after it are blocks of their own
/// again. Every flow reads back in order.
#[test]
fn whole_batches_are_blocks_of_their_own() {
    use floe_flow::FlowBatch;
    let t0 = utc_ms(2026, 11, 22, 10, 3, 0);
    let flows: Vec<Flow> = (0..1000u64).map(|i| flow(t0 - i as i64, i)).collect();
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, 3), t0).unwrap();
    let mut at = 0;
    for len in [100, 130, 40, 10, 150, 100, 99, 371] {
        w.write(t0, &FlowBatch::from_flows(&flows[at..at + len]))
            .unwrap();
        at += len;
    }
    assert_eq!(at, flows.len());
    let closed = w.close(t0 + 1).unwrap().unwrap();
    let f = FlowFile::open(&closed.path).unwrap();
    assert_eq!(f.read_all().unwrap(), flows);
    let sizes: Vec<u32> = f.blocks().iter().map(|b| b.records).collect();
    // 100 and 130 alone; 40 and 10 pending, 150 joins them; 100 alone;
    // 99 pending, 371 joins it.
    assert_eq!(sizes, [100, 130, 200, 100, 470]);
}

/// A batch whose columns disagree in length is refused whole and counted
/// as unwritten, the flows written before it stay, and writing goes on.
#[test]
fn a_malformed_batch_is_refused_and_counted_not_a_panic() {
    use floe_flow::FlowBatch;
    let t0 = utc_ms(2026, 11, 22, 10, 3, 0);
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = StoreWriter::open(cfg(dir.path(), "UTC", 600, 3), t0).unwrap();
    w.write(t0, &[flow(t0, 1)]).unwrap();
    let mut bad = FlowBatch::from_flows(&[flow(t0, 2), flow(t0, 3)]);
    bad.octets.pop();
    let e = w.write(t0, &bad).unwrap_err();
    assert!(matches!(e, StoreError::BadBatch { flows: 2 }), "{e}");
    assert_eq!(w.unwritten(), 2);
    let mut says_v6 = FlowBatch::from_flows(&[flow(t0, 4)]);
    says_v6.src_addr.family[0] = 1;
    assert!(w.write(t0, &says_v6).is_err());
    w.write(t0, &FlowBatch::from_flows(&[flow(t0, 5)])).unwrap();
    let closed = w.close(t0 + 1).unwrap().unwrap();
    let f = FlowFile::open(&closed.path).unwrap();
    assert_eq!(f.read_all().unwrap(), vec![flow(t0, 1), flow(t0, 5)]);
}
