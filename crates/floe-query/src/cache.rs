//! The cache of partial answers: closed floe files never change, so what
//! one adds up to for a query shape (key, interval, filter, formats) is
//! kept on disk and reused, FlowGraph's cache made exact.
//!
//! An entry is a file named by a hash of the floe file's identity (its
//! path under the store, size and closing time) and the shape; inside, the
//! identity and shape in full (checked on read: a hash collision is a
//! miss, never a wrong answer), then the zstd-compressed partial. Entries
//! are written to a temporary name and renamed, so a reader never sees
//! half of one; the least recently used go first when the cache outgrows
//! its size; the directory may be deleted at any time. The open `tmp-`
//! file of the current period is never cached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::partial::Partial;

const MAGIC: &[u8; 8] = b"FLOEQC2\n";
/// The largest entry read back.
const MAX_ENTRY: u64 = 512 << 20;

/// A bounded directory of partial answers.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes written since the size was last checked.
    since_check: AtomicU64,
}

/// FNV-1a, 64 bits, from two starting points: a stable name (std's and
/// foldhash's hashes may change between versions or runs).
fn name_of(text: &str) -> String {
    let h = |mut x: u64| {
        for b in text.as_bytes() {
            x ^= u64::from(*b);
            x = x.wrapping_mul(0x0100_0000_01b3);
        }
        x
    };
    format!(
        "{:016x}{:016x}",
        h(0xcbf2_9ce4_8422_2325),
        h(0x8422_2325_cbf2_9ce4)
    )
}

impl Cache {
    /// A cache in `dir` (made when first written) of at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Cache {
        Cache {
            dir: dir.into(),
            max_bytes: max_bytes.max(1 << 20),
            since_check: AtomicU64::new(0),
        }
    }

    /// The directory the partial answers are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.part", name_of(id)))
    }

    /// The partial kept for `id` (file identity and shape), if any.
    pub fn get(&self, id: &str) -> Option<Partial> {
        let path = self.path(id);
        let f = std::fs::File::open(&path).ok()?;
        if f.metadata().ok()?.len() > MAX_ENTRY {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let n = usize::try_from(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?)).ok()?;
        let stored_id = rest.get(4..4 + n)?;
        if stored_id != id.as_bytes() {
            return None;
        }
        let raw = zstd::stream::decode_all(rest.get(4 + n..)?).ok()?;
        let p = Partial::decode(&raw)?;
        // Used now: the least recently used go first.
        let _ = f.set_modified(SystemTime::now());
        Some(p)
    }

    /// Keeps `p` for `id`. A cache that cannot be written is no error: the
    /// next query computes again.
    pub fn put(&self, id: &str, p: &Partial) {
        let _ = self.try_put(id, p);
    }

    fn try_put(&self, id: &str, p: &Partial) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut raw = Vec::new();
        p.encode(&mut raw);
        let packed = zstd::bulk::compress(&raw, 1)?;
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&(id.len() as u32).to_le_bytes());
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&packed);
        let path = self.path(id);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
        }
        std::fs::rename(&tmp, &path)?;
        let written = self
            .since_check
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        if written + body.len() as u64 > self.max_bytes / 16 {
            self.since_check.store(0, Ordering::Relaxed);
            self.trim()?;
        }
        Ok(())
    }

    /// Removes the least recently used entries while the cache is over
    /// its size.
    pub fn trim(&self) -> std::io::Result<()> {
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        if total <= self.max_bytes {
            return Ok(());
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes * 3 / 4 {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
        Ok(())
    }

    /// Bytes the cache holds.
    pub fn bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Counts;
    use floe_report::Val;

    fn partial(n: u64) -> Partial {
        Partial::from_rows(
            1,
            (0..n).map(|i| {
                (
                    i * 60,
                    vec![Val::V4(i as u32 * 7919)],
                    Counts {
                        flows: i,
                        packets: i * 2,
                        octets: i * 100,
                    },
                )
            }),
        )
    }

    #[test]
    fn kept_checked_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::new(dir.path().join("cache"), 1 << 20);
        assert!(c.get("a").is_none());
        c.put("a", &partial(10));
        assert_eq!(c.get("a"), Some(partial(10)));
        // The same hash name with another id inside is a miss.
        std::fs::copy(c.path("a"), c.path("b")).unwrap();
        assert!(c.get("b").is_none());
        // Damage is a miss.
        std::fs::write(c.path("a"), b"FLOEQC2\n\x01\x00\x00\x00ajunk").unwrap();
        assert!(c.get("a").is_none());
        // Bounded: 100 entries of ~200 KB raw into 1 MB.
        for i in 0..60 {
            c.put(&format!("k{i}"), &partial(5000 + i));
        }
        c.trim().unwrap();
        assert!(c.bytes() <= 1 << 20, "{}", c.bytes());
        assert!(c.get("k59").is_some(), "the newest stays");
    }
}
