//! A scan answers as the row path does (every flow decoded, the window and
//! the filter's row predicate applied to each): random filters and windows
//! over files of random blocks, IPv4 and IPv6, with block statistics and
//! without them (files as floe wrote them before statistics existed), on
//! one thread and two, in order and not; and reports fed the scan's
//! columns equal reports fed the flows.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use floe_filter::Filter;
use floe_flow::{ColSet, Flow};
use floe_report::{Report, ReportType, Sort};
use floe_scan::{Part, Scan};
use floe_store::{FileHeader, FileWriter, FlowFile, WriteOptions};
use proptest::prelude::*;

fn write(path: &Path, flows: &[Flow], block: usize, statistics: bool) -> FlowFile {
    let header = FileHeader {
        created_ms: 0,
        period: None,
        host: "t".into(),
        zone: "UTC".into(),
        writer: "scan test".into(),
    };
    let f = std::fs::File::create(path).unwrap();
    let mut w = FileWriter::new(
        f,
        path,
        &header,
        WriteOptions {
            block_records: block,
            level: 1,
        },
    )
    .unwrap();
    w.set_statistics(statistics);
    w.extend(flows).unwrap();
    w.finish(1).unwrap();
    FlowFile::open(path).unwrap()
}

/// Flows whose values come in runs (blocks of one protocol, one port, one
/// family...), so that statistics rule blocks out and in.
fn flows(seed: &[u64]) -> Vec<Flow> {
    let mut out = Vec::new();
    for (run, &r) in seed.iter().enumerate() {
        let len = 1 + (r % 300) as usize;
        let v6 = r % 5 == 0;
        let proto = [6u8, 17, 1, 47][(r >> 3) as usize % 4];
        for i in 0..len {
            let x = r
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(i as u64 * 7919);
            let start = 1_795_305_600_000 + (run as i64) * 600_000 + (x % 600_000) as i64;
            let addr = |k: u64| {
                if v6 {
                    IpAddr::V6(Ipv6Addr::new(
                        0x2001,
                        0xdb8,
                        (k % 4) as u16,
                        0,
                        0,
                        0,
                        0,
                        (k % 999) as u16,
                    ))
                } else {
                    IpAddr::V4(Ipv4Addr::from(
                        0x0a00_0000 | ((k % 4) << 16) as u32 | (k % 999) as u32,
                    ))
                }
            };
            out.push(Flow {
                start_ms: start,
                end_ms: start + (x % 90_000) as i64 - i64::from(x % 17 == 0) * 100,
                src_addr: addr(x),
                dst_addr: addr(x >> 9),
                next_hop: addr(1),
                exporter: "192.0.2.1".parse().unwrap(),
                src_port: [443u16, 80, 53, 40000][(x >> 5) as usize % 4],
                dst_port: if r % 3 == 0 { 443 } else { (x >> 11) as u16 },
                protocol: proto,
                tcp_flags: if proto == 6 {
                    [0x02u16, 0x12, 0x10, 0x18][(x >> 7) as usize % 4]
                } else {
                    0
                },
                tos: (r % 2) as u8 * 0x28,
                packets: x % 5,
                octets: (x % 5) * 700 + (x >> 40),
                src_as: (r % 3) as u32 * 15169,
                input_if: (r % 4) as u32,
                ..Flow::default()
            });
        }
    }
    out
}

const FILTERS: &[&str] = &[
    "",
    "proto tcp",
    "proto tcp and dst port 443",
    "udp or icmp",
    "not tcp",
    "ipv6",
    "ipv4 and src net 10.1.0.0/16",
    "dst net 2001:db8:2::/48",
    "src ip 10.0.0.5",
    "flags S and not flags A",
    "tos 0x28",
    "tos mask 0x20 = 0x20",
    "bytes > 2000",
    "packets = 0",
    "duration > 60s",
    "bps > 100k",
    "first >= 2026-11-22T01:00:00Z and last < 2026-11-22T02:00:00Z",
    "src as 15169 or in if 3",
    "dst port in [53, 443] and not src port 40000",
    "port 80 and (proto tcp or proto udp)",
];

/// The flows the row path keeps: every flow, the window, the filter.
fn by_rows(all: &[Flow], window: (i64, i64), f: &Option<Filter>) -> Vec<Flow> {
    all.iter()
        .filter(|x| x.overlaps(window.0, window.1))
        .filter(|x| f.as_ref().is_none_or(|f| f.matches(x)))
        .cloned()
        .collect()
}

/// Checks one case; returns the blocks skipped and read whole without a
/// column (with statistics, one thread).
fn check(
    seed: &[u64],
    filter: &str,
    window: (i64, i64),
    block: usize,
) -> Result<(u64, u64), TestCaseError> {
    let mut decided = (0, 0);
    let dir = tempfile::tempdir().unwrap();
    let all = flows(seed);
    let f = if filter.is_empty() {
        None
    } else {
        Some(Filter::parse(filter).unwrap())
    };
    let want = by_rows(&all, window, &f);
    let in_window = all
        .iter()
        .filter(|x| x.overlaps(window.0, window.1))
        .count() as u64;
    for statistics in [true, false] {
        let file = write(
            &dir.path().join(format!("f{statistics}")),
            &all,
            block,
            statistics,
        );
        let files = [file];
        for threads in [1, 2] {
            let scan = Scan {
                window,
                filter: f.clone(),
                cols: ColSet::ALL,
                threads,
            };
            // In order: the same flows in the same order.
            let mut got = Vec::new();
            let stats = scan
                .ordered(
                    &files,
                    |p: Part| -> Result<Vec<Flow>, ()> {
                        Ok(p.rows.iter().map(|&i| p.batch.row(i as usize)).collect())
                    },
                    |v| {
                        got.extend(v);
                        Ok(true)
                    },
                    |e| panic!("{e}"),
                )
                .unwrap();
            prop_assert_eq!(
                &got,
                &want,
                "{} stats {} threads {}",
                filter,
                statistics,
                threads
            );
            prop_assert_eq!(stats.matched, want.len() as u64);
            prop_assert_eq!(stats.in_window, in_window, "in window: {}", filter);
            // A count reads no more than it needs, and counts the same.
            let c = scan.count(&files, |e| panic!("{e}"));
            prop_assert_eq!(c.matched, want.len() as u64, "count: {}", filter);
            prop_assert_eq!(c.in_window, in_window);
            if statistics && threads == 1 {
                decided = (c.skipped, c.undecoded);
            }
            if !statistics {
                // Without statistics only constant columns decide.
                prop_assert!(c.skipped <= files[0].blocks().len() as u64);
            }
            // Not in order, only the report's columns: the same report.
            let kind = ReportType::parse("ip-source-address/ip-destination-port").unwrap();
            let mut row_report = Report::new(kind.clone(), 1 << 20);
            row_report.add(&want).unwrap();
            let r = Report::new(kind.clone(), 1 << 20);
            let cols = Scan {
                cols: r.cols(),
                ..scan.clone()
            };
            let (reports, _) = cols
                .unordered(
                    &files,
                    || Report::new(kind.clone(), 1 << 20),
                    |r, p| r.add_batch(p.batch, p.rows),
                    |e| panic!("{e}"),
                )
                .unwrap();
            let mut it = reports.into_iter();
            let mut merged = it.next().unwrap();
            for r in it {
                merged.merge(r).unwrap();
            }
            let s = Sort::parse("+octets").unwrap();
            prop_assert_eq!(merged.rows(s, None), row_report.rows(s, None));
            prop_assert_eq!(merged.totals, row_report.totals);
        }
    }
    Ok(decided)
}

#[test]
fn every_filter_reads_the_same_through_a_scan() {
    let seed: Vec<u64> = (0..40u64)
        .map(|i| i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ i)
        .collect();
    let day = 1_795_305_600_000;
    let (mut skipped, mut whole) = (0, 0);
    for filter in FILTERS {
        for window in [
            (i64::MIN, i64::MAX),
            (day + 3_600_000, day + 7_200_000 + 1234),
        ] {
            let (s, w) = check(&seed, filter, window, 200).unwrap();
            skipped += s;
            whole += w;
        }
    }
    // Blocks were skipped by their statistics, and counted without a column.
    assert!(
        skipped > 20 && whole > 20,
        "skipped {skipped}, whole {whole}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn random_files_filters_and_windows(
        seed in prop::collection::vec(any::<u64>(), 1..30),
        which in 0usize..20,
        from in 0i64..20,
        len in 1i64..20,
        block in prop::sample::select(vec![1usize, 7, 100, 1000, 16384]),
    ) {
        let day = 1_795_305_600_000;
        let window = if from == 0 {
            (i64::MIN, i64::MAX)
        } else {
            (day + from * 600_000, day + (from + len) * 600_000)
        };
        check(&seed, FILTERS[which], window, block)?;
    }
}

/// A reader that stops after the first part (`--records 1`, `head`) ends
/// the scan every time: the reading threads waiting for room to read ahead
/// are woken however the stop falls between their check and their wait.
/// Before the stop was set under the lock they wait on, one `floe print
/// -n 1` in about a hundred hung for good.
#[test]
fn stopping_early_on_two_threads_never_hangs() {
    const RUNS: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let all = flows(&(1..40).collect::<Vec<u64>>());
    let files = [write(&dir.path().join("f"), &all, 4, true)];
    // Scans finished so far: a scan that does not end stops the count,
    // however slow the machine (a whole run takes about 8 s here).
    let ended = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = ended.clone();
    let scans = std::thread::spawn(move || {
        let scan = Scan {
            window: (i64::MIN, i64::MAX),
            filter: None,
            cols: ColSet::ALL,
            threads: 2,
        };
        for run in 0..RUNS {
            // The stop comes after 1 to 3 parts, each delivered in 0 to
            // 40 µs (writing a line), so that the stop falls at every
            // point of a woken reader's check.
            let stop_after = 1 + run % 3;
            let spend = std::time::Duration::from_nanos(run.wrapping_mul(7919) % 40_000);
            let mut seen = 0;
            scan.ordered(
                &files,
                |p: Part| -> Result<usize, ()> { Ok(p.rows.len()) },
                |_| {
                    seen += 1;
                    let t = std::time::Instant::now();
                    while t.elapsed() < spend {
                        std::hint::spin_loop();
                    }
                    Ok(seen < stop_after)
                },
                |e| panic!("{e}"),
            )
            .unwrap();
            assert_eq!(seen, stop_after);
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let (mut last, mut since) = (0, std::time::Instant::now());
    loop {
        let now = ended.load(std::sync::atomic::Ordering::Relaxed);
        if now == RUNS || scans.is_finished() {
            // Its own failure, if any, is the test's.
            scans.join().unwrap();
            break;
        }
        if now != last {
            (last, since) = (now, std::time::Instant::now());
        }
        assert!(
            since.elapsed() < std::time::Duration::from_secs(30),
            "scan {now} of {RUNS}, stopped early, did not end within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A panic while an ordered scan runs, in a reading thread's `map` or in
/// `deliver`, ends the scan with that panic: the other readers, waiting
/// for room to read ahead of a job that will never come, are stopped
/// rather than left to hold the scan open for ever.
#[test]
fn a_panic_in_an_ordered_scan_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let all = flows(&(1..40).collect::<Vec<u64>>());
    for panic_in_map in [true, false] {
        let files = [write(
            &dir.path().join(format!("f{panic_in_map}")),
            &all,
            4,
            true,
        )];
        assert!(files[0].blocks().len() > 50);
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let scan = Scan {
                window: (i64::MIN, i64::MAX),
                filter: None,
                cols: ColSet::ALL,
                threads: 2,
            };
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                scan.ordered(
                    &files,
                    |p: Part| -> Result<usize, ()> {
                        let n = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        assert!(!(panic_in_map && n == 3), "a reader's panic");
                        Ok(p.rows.len())
                    },
                    |_| {
                        assert!(panic_in_map, "deliver's panic");
                        Ok(true)
                    },
                    |e| panic!("{e}"),
                )
            }));
            done.send(ended.is_err()).unwrap();
        });
        let panicked = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the scan did not end (panic in map: {panic_in_map})"));
        assert!(panicked, "panic in map: {panic_in_map}");
    }
}
