//! Faults: a full disk, a data directory that turns read-only, and kill -9
//! at random moments under load. The real floed, real datagrams on
//! loopback, real files.
//!
//! The disk tests need a small file system of their own: they mount a
//! tmpfs with a size limit, which takes root. Without root (a user's
//! clone) they are recorded as skipped (scripts/test names them at the
//! end) and pass; CI runs as root.

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{extra_counter as counter, now_ms, send_all, sender, stored_flows, Floed};
use floe_flow::Flow;
use floe_netflow::V5Encoder;
use floe_store::{walk, FlowFile};

/// A tmpfs mounted for the test, unmounted when dropped (even on panic).
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .ok()?
            .success();
        ok.then(|| Tmpfs { at: at.into() })
    }

    fn resize(&self, size: &str) {
        self.remount(&format!("size={size}"));
    }

    fn remount(&self, opts: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.at)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount {opts}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// `n` IPv4 flows, each with a unique id in its octets (id * 1000 + 7), so
/// that duplicates and losses can be told flow by flow; the other fields
/// are scrambled so that the flows do not compress to nothing.
fn numbered(first_id: u64, n: u64) -> Vec<Flow> {
    let now = now_ms();
    (first_id..first_id + n)
        .map(|id| {
            // SplitMix64's finaliser: a multiple of the id alone would
            // make byte planes zstd squeezes to 3 bytes a flow.
            let mut h = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
            h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            h ^= h >> 31;
            Flow {
                start_ms: now - 5_000 - (h % 4_000) as i64,
                end_ms: now - (h >> 40) as i64 % 1_000,
                src_addr: IpAddr::from(((h >> 32) as u32 | 0x0a00_0000).to_be_bytes()),
                dst_addr: IpAddr::from((h as u32).to_be_bytes()),
                src_port: (h >> 16) as u16,
                dst_port: (h >> 48) as u16,
                protocol: 6,
                packets: 1 + (h >> 56),
                octets: id * 1000 + 7,
                ..Flow::default()
            }
        })
        .collect()
}

fn v5(flows: &[Flow]) -> Vec<Vec<u8>> {
    let now = now_ms();
    let mut enc = V5Encoder::new(now - 3_600_000);
    flows.chunks(30).map(|c| enc.encode(c, now)).collect()
}

fn from(stored: &[Flow], ip: &str) -> usize {
    let ip: IpAddr = ip.parse().unwrap();
    stored.iter().filter(|f| f.exporter == ip).count()
}

#[test]
fn a_full_disk_loses_only_what_does_not_fit_counts_it_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("flows"), "256k") else {
        floe_test_support::skip(
            "cannot mount a tmpfs (it takes root): the full-disk checks not run",
        );
        return;
    };
    let mut floed = Floed::start(dir.path(), &[]);
    // 1. Room: 3 000 flows from 127.0.0.2, all stored.
    send_all(&sender("127.0.0.2"), floed.addr, &v5(&numbered(0, 3_000)));
    std::thread::sleep(Duration::from_millis(1500));
    // 2. 60 000 flows from 127.0.0.3 fill the 256 KiB file system.
    let phase2 = numbered(100_000, 60_000);
    send_all(&sender("127.0.0.3"), floed.addr, &v5(&phase2));
    std::thread::sleep(Duration::from_millis(2500));
    floed.wait_for("cannot write flows");
    // 3. Space returns; 3 000 flows from 127.0.0.4 are stored.
    fs.resize("64m");
    send_all(
        &sender("127.0.0.4"),
        floed.addr,
        &v5(&numbered(200_000, 3_000)),
    );
    floed.wait_for("writing works again");
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));

    let (stored, files) = stored_flows(dir.path());
    for f in &files {
        assert!(f.damage().is_empty(), "{:?}", f.damage());
        assert!(f.is_closed());
    }
    assert_eq!(
        from(&stored, "127.0.0.2"),
        3_000,
        "stored before the disk filled"
    );
    assert_eq!(
        from(&stored, "127.0.0.4"),
        3_000,
        "stored after space returned"
    );
    // Every flow of the full-disk phase is either stored or counted.
    let kept = from(&stored, "127.0.0.3") as u64;
    let counted = counter(&files, "127.0.0.3", "unwritten_flows");
    assert!(kept < phase2.len() as u64, "the disk did fill");
    assert_eq!(
        kept + counted,
        phase2.len() as u64,
        "stored {kept}, counted {counted}"
    );
    // Nothing stored twice.
    let ids: HashSet<u64> = stored.iter().map(|f| f.octets).collect();
    assert_eq!(ids.len(), stored.len(), "a flow stored twice");
    // Logged, never once per block.
    let warnings = log
        .iter()
        .filter(|l| l.contains("cannot write flows"))
        .count();
    assert!((1..=4).contains(&warnings), "{warnings} warnings");
}

#[test]
fn kill_9_at_random_moments_under_load_loses_no_finished_block_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("floed.toml");
    std::fs::write(&cfg, "zone = \"UTC\"\nblock_records = 500\n").unwrap();
    let mut sent_ids = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..6u64 {
        let floed = Floed::start(dir.path(), &["--period", "2s"]);
        if round > 0 {
            // The previous run's tmp- file was recovered at start.
            assert!(
                floed.log.iter().any(|l| l.contains("recovered")),
                "{}",
                floed.log.join("\n")
            );
        }
        let sock = sender("127.0.0.2");
        // Send for a random 0.3 to 1.5 s, then kill -9 without warning.
        let until = std::time::Instant::now() + Duration::from_millis(300 + next() % 1200);
        while std::time::Instant::now() < until {
            let batch = numbered(sent_ids, 300);
            sent_ids += 300;
            send_all(&sock, floed.addr, &v5(&batch));
            std::thread::sleep(Duration::from_millis(5));
        }
        floed.signal("KILL");
        let mut floed = floed;
        let _ = floed.child.wait();
        // Closed files are intact whatever the moment of the kill.
        for f in walk(&dir.path().join("flows"))
            .unwrap()
            .iter()
            .filter(|f| !f.tmp)
        {
            let file = FlowFile::open(&f.path).unwrap();
            assert!(
                file.damage().is_empty() && file.is_closed(),
                "{}",
                f.path.display()
            );
        }
    }
    // A last clean run recovers the last tmp- file and leaves none.
    let floed = Floed::start(dir.path(), &["--period", "2s"]);
    let (code, _) = floed.stop();
    assert_eq!(code, 0);
    let tree = walk(&dir.path().join("flows")).unwrap();
    assert!(tree.iter().all(|f| !f.tmp), "a tmp- file was left behind");
    let (stored, files) = stored_flows(dir.path());
    for f in &files {
        assert!(f.damage().is_empty());
    }
    let ids: Vec<u64> = stored.iter().map(|f| f.octets).collect();
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a flow stored twice");
    assert!(ids.iter().all(|&o| o % 1000 == 7 && o / 1000 < sent_ids));
    // A kill loses at most what was not yet in a written block: with
    // 1-second flushes and 500-flow blocks, most flows survive.
    assert!(
        stored.len() as u64 * 2 > sent_ids,
        "only {} of {sent_ids} flows survived six kills",
        stored.len()
    );
    eprintln!("{} of {sent_ids} flows survived six kill -9s", stored.len());
}

/// `chmod -R` on a tree (directories and files).
fn chmod_tree(root: &Path, mode: &str) {
    let ok = Command::new("chmod")
        .args(["-R", mode])
        .arg(root)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn a_data_directory_that_turns_read_only_loses_only_what_arrives_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let flows_dir = dir.path().join("flows");
    std::fs::create_dir_all(&flows_dir).unwrap();
    // Permissions only bind an unprivileged process: as root, floed runs as
    // nobody (as the systemd unit runs it, unprivileged).
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let prefix: &[&str] = if root {
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
    } else {
        &[]
    };
    chmod_tree(dir.path(), "a+rwX");
    let mut floed = Floed::start_via(dir.path(), &["--period", "2s"], prefix);
    send_all(&sender("127.0.0.2"), floed.addr, &v5(&numbered(0, 3_000)));
    std::thread::sleep(Duration::from_millis(2500));
    // Read-only: the open file is finished but cannot be renamed at the
    // next rotation, and no new file can be made.
    chmod_tree(&flows_dir, "a-w");
    // The open file takes flows until its period ends (its descriptor is
    // still writable); the rotation is where the failure shows.
    floed.wait_for("cannot write flows");
    let lost = numbered(100_000, 3_000);
    send_all(&sender("127.0.0.3"), floed.addr, &v5(&lost));
    std::thread::sleep(Duration::from_millis(1500));
    // Writable again: the finished file gets its name, writing resumes.
    chmod_tree(&flows_dir, "a+rwX");
    send_all(
        &sender("127.0.0.4"),
        floed.addr,
        &v5(&numbered(200_000, 3_000)),
    );
    floed.wait_for("writing works again");
    std::thread::sleep(Duration::from_millis(2500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0, "{}", log.join("\n"));
    let tree = walk(&flows_dir).unwrap();
    assert!(tree.iter().all(|f| !f.tmp), "a tmp- file was left behind");
    let (stored, files) = stored_flows(dir.path());
    for f in &files {
        assert!(f.damage().is_empty() && f.is_closed());
    }
    assert_eq!(from(&stored, "127.0.0.2"), 3_000, "stored before");
    assert_eq!(from(&stored, "127.0.0.4"), 3_000, "stored after");
    // What arrived while read-only is not stored, and floed said how much.
    assert_eq!(from(&stored, "127.0.0.3"), 0);
    let said = log
        .iter()
        .filter(|l| l.contains("writing works again"))
        .any(|l| l.contains(&format!("unwritten={}", lost.len())));
    assert!(said, "{}", log.join("\n"));
}

#[test]
fn an_exporter_clock_years_off_is_stored_as_sent_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path(), &[]);
    let now = now_ms();
    let ten_years = 10 * 365 * 86_400_000i64;
    // A router whose clock says 2016: its v5 export time and flow times are
    // ten years back. Another, on time, is not counted.
    let mut off = V5Encoder::new(now - ten_years - 3_600_000);
    let old: Vec<Flow> = numbered(0, 600)
        .into_iter()
        .map(|mut f| {
            f.start_ms -= ten_years;
            f.end_ms -= ten_years;
            f
        })
        .collect();
    let dgrams: Vec<Vec<u8>> = old
        .chunks(30)
        .map(|c| off.encode(c, now - ten_years))
        .collect();
    send_all(&sender("127.0.0.2"), floed.addr, &dgrams);
    send_all(&sender("127.0.0.3"), floed.addr, &v5(&numbered(1_000, 600)));
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    let (stored, files) = stored_flows(dir.path());
    assert_eq!(from(&stored, "127.0.0.2"), 600, "stored as sent");
    assert!(stored
        .iter()
        .filter(|f| f.exporter == "127.0.0.2".parse::<IpAddr>().unwrap())
        .all(|f| f.end_ms < now - ten_years + 86_400_000));
    assert_eq!(counter(&files, "127.0.0.2", "absurd_times"), 600);
    assert_eq!(counter(&files, "127.0.0.3", "absurd_times"), 0);
    let lines = log
        .iter()
        .filter(|l| l.contains("far from the receive time"))
        .count();
    // The first at once, the rest summed up in one line (at the latest
    // when floed stops): never a line per datagram.
    assert!((1..=2).contains(&lines), "{lines} lines");
}

/// floed's peak resident memory (VmHWM), KiB.
fn peak_rss_kib(floed: &Floed) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", floed.child.id())).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// A v9 datagram of ten made-up templates of `fields` fields each.
fn template_spray(seq: u32, source_id: u32, ids: [u16; 10], fields: u16) -> Vec<u8> {
    const IES: [u16; 10] = [1, 2, 4, 7, 8, 11, 12, 10, 14, 21];
    let mut set = Vec::new();
    for id in ids {
        set.extend_from_slice(&id.to_be_bytes());
        set.extend_from_slice(&fields.to_be_bytes());
        for j in 0..fields {
            set.extend_from_slice(&IES[usize::from(j) % IES.len()].to_be_bytes());
            set.extend_from_slice(&4u16.to_be_bytes());
        }
    }
    let mut d = Vec::new();
    d.extend_from_slice(&9u16.to_be_bytes());
    d.extend_from_slice(&10u16.to_be_bytes());
    d.extend_from_slice(&1000u32.to_be_bytes());
    d.extend_from_slice(&((now_ms() / 1000) as u32).to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&source_id.to_be_bytes());
    d.extend_from_slice(&0u16.to_be_bytes());
    d.extend_from_slice(&(4 + set.len() as u16).to_be_bytes());
    d.extend_from_slice(&set);
    d
}

#[test]
fn a_flood_of_template_and_source_ids_stays_under_the_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let now = now_ms();
    // A real exporter before, during and after the flood.
    let mut real = floe_netflow::V9Encoder::new(now - 3_600_000, 7);
    let real_flows = numbered(0, 3_000);
    let mut real_dgrams = real_flows.chunks(30).map(|c| real.encode(c, now_ms()));
    let real_sock = sender("127.0.0.2");
    let spray = sender("127.0.0.9");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // 20 000 datagrams: 200 000 templates of 100 fields under random ids
    // from random source ids (the limits keep 16 384 templates, 2 048
    // streams), paced so that the decoder keeps up (this is about memory;
    // drops under overload are counted elsewhere).
    for i in 0..20_000u32 {
        let ids: [u16; 10] = std::array::from_fn(|_| 256 + (rand() % 65_000) as u16);
        spray
            .send_to(&template_spray(i, rand() as u32, ids, 100), floed.addr)
            .unwrap();
        if i % 200 == 0 {
            if let Some(d) = real_dgrams.next() {
                real_sock.send_to(&d, floed.addr).unwrap();
            }
        }
        if i % 10 == 9 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    for d in real_dgrams {
        real_sock.send_to(&d, floed.addr).unwrap();
    }
    std::thread::sleep(Duration::from_millis(2000));
    let peak_mib = peak_rss_kib(&floed) / 1024;
    floed.wait_for("exporter_forgotten");
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    eprintln!("peak RSS under the flood: {peak_mib} MiB");
    assert!(
        peak_mib < 256,
        "floed grew to {peak_mib} MiB under a template flood"
    );
    // The real exporter goes on being decoded: its flows are stored, or,
    // where the flood outran the decoder (a debug build on two cores),
    // dropped at the queue and counted as lost by its sequence numbers:
    // none unaccounted for.
    let (stored, files) = stored_flows(dir.path());
    let real_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let sum = |f: &dyn Fn(&floe_flow::ExporterCounters) -> u64| -> u64 {
        files
            .iter()
            .flat_map(|file| file.counters())
            .filter(|(k, _)| k.address == real_ip)
            .map(|(_, c)| f(c))
            .sum()
    };
    let decoded = sum(&|c| c.datagrams);
    let dropped = sum(&|c| c.extra[floe_flow::Counter::QueueDrops]);
    let kept = from(&stored, "127.0.0.2") as u64;
    assert!(kept > 0);
    assert_eq!(
        decoded + dropped,
        100,
        "decoded {decoded}, dropped {dropped}"
    );
    assert_eq!(
        kept,
        decoded * 30,
        "every decoded datagram's 30 flows stored"
    );
    // The flood is summed up in the log, not a line per template.
    assert!(log.len() < 600, "{} log lines", log.len());
}
