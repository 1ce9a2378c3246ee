//! Removing the oldest closed files to stay under a size and/or age limit.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::tree::walk;

/// Limits on what a store keeps. `None` means no limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpirePolicy {
    /// Keep the store's files under this many bytes in all.
    pub max_bytes: Option<u64>,
    /// Remove files whose period ended more than this long ago.
    pub max_age_secs: Option<u64>,
}

/// What an expiry run removed.
#[derive(Debug, Default)]
pub struct Expired {
    pub removed: Vec<PathBuf>,
    pub bytes: u64,
    /// Directories left empty and removed.
    pub dirs: Vec<PathBuf>,
    /// Bytes the store holds after the run.
    pub remaining_bytes: u64,
}

/// Applies `policy` to the store at `root`: removes closed files, oldest
/// first, while the store is over its size limit or a file is over its age
/// limit, then removes directories left empty (never `root` itself).
/// `tmp-` files count toward the size but are never removed.
pub fn expire(root: &Path, policy: &ExpirePolicy, now_ms: i64) -> Result<Expired> {
    let files = walk(root)?;
    let mut total: u64 = files.iter().map(|f| f.size).sum();
    let mut out = Expired::default();
    let age_limit = policy
        .max_age_secs
        .map(|s| now_ms.saturating_sub(s.saturating_mul(1000) as i64));
    for f in files.iter().filter(|f| !f.tmp) {
        let too_big = policy.max_bytes.is_some_and(|m| total > m);
        let too_old = age_limit.is_some_and(|lim| f.end_estimate_ms() <= lim);
        if !(too_big || too_old) {
            continue;
        }
        match std::fs::remove_file(&f.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&f.path, e)),
        }
        total -= f.size;
        out.bytes += f.size;
        out.removed.push(f.path.clone());
        let mut dir = f.path.parent();
        while let Some(d) = dir {
            if d == root || !d.starts_with(root) {
                break;
            }
            // Fails (and stops) when the directory is not empty.
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            out.dirs.push(d.to_path_buf());
            dir = d.parent();
        }
    }
    out.remaining_bytes = total;
    Ok(out)
}
