//! Faults: a full disk, a data directory that turns read-only, and kill -9
//! at random moments under load. The real floed, real datagrams on
//! loopback, real files.
//!
//! The disk tests need a small file system of their own: they mount a
//! tmpfs with a size limit, which takes root. Without root (a user's
//! clone) they say so in one line and pass; CI runs as root.

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{now_ms, send_all, sender, stored_flows, Floed};
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

fn counter(files: &[FlowFile], ip: &str, name: &str) -> u64 {
    let ip: IpAddr = ip.parse().unwrap();
    files
        .iter()
        .flat_map(|f| f.counters())
        .filter(|(k, _)| k.address == ip)
        .filter_map(|(_, c)| c.extra.get(name).copied())
        .sum()
}

#[test]
fn a_full_disk_loses_only_what_does_not_fit_counts_it_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("flows"), "256k") else {
        eprintln!("cannot mount a tmpfs (not root?): disk-full and read-only checks not run");
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
