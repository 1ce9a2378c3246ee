//! Removing the oldest closed files to stay under a size and/or age limit.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::tree::{walk, TreeFile};

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
    /// The files removed, oldest first.
    pub removed: Vec<PathBuf>,
    /// Their total size.
    pub bytes: u64,
    /// Directories left empty and removed.
    pub dirs: Vec<PathBuf>,
    /// Bytes the store holds after the run.
    pub remaining_bytes: u64,
    /// Files `keep` asked to spare that the size limit removed anyway.
    pub forced: Vec<PathBuf>,
}

/// Applies `policy` to the store at `root`: removes closed files, oldest
/// first, while the store is over its size limit or a file is over its age
/// limit, then removes directories left empty (never `root` itself).
/// `tmp-` files count toward the size but are never removed.
pub fn expire(root: &Path, policy: &ExpirePolicy, now_ms: i64) -> Result<Expired> {
    expire_keeping(root, policy, now_ms, |_| false)
}

/// Like [`expire`], sparing the files `keep` names (files not yet shipped
/// elsewhere, say): the age limit never removes them, and the size limit
/// removes them only when removing every other candidate was not enough,
/// oldest first; those are listed in [`Expired::forced`].
pub fn expire_keeping(
    root: &Path,
    policy: &ExpirePolicy,
    now_ms: i64,
    keep: impl Fn(&TreeFile) -> bool,
) -> Result<Expired> {
    let files = walk(root)?;
    let mut total: u64 = files.iter().map(|f| f.size).sum();
    let mut out = Expired::default();
    let age_limit = policy
        .max_age_secs
        .map(|s| now_ms.saturating_sub(s.saturating_mul(1000) as i64));
    let closed: Vec<&TreeFile> = files.iter().filter(|f| !f.tmp).collect();
    let kept: Vec<bool> = closed.iter().map(|f| keep(f)).collect();
    let mut gone = vec![false; closed.len()];
    for (i, f) in closed.iter().enumerate() {
        if kept[i] {
            continue;
        }
        let too_big = policy.max_bytes.is_some_and(|m| total > m);
        let too_old = age_limit.is_some_and(|lim| f.end_estimate_ms() <= lim);
        if too_big || too_old {
            remove(root, f, &mut out)?;
            total -= f.size;
            gone[i] = true;
        }
    }
    for (i, f) in closed.iter().enumerate() {
        if policy.max_bytes.is_none_or(|m| total <= m) {
            break;
        }
        if gone[i] {
            continue;
        }
        remove(root, f, &mut out)?;
        total -= f.size;
        if kept[i] {
            out.forced.push(f.path.clone());
        }
    }
    out.remaining_bytes = total;
    Ok(out)
}

/// Removes one file and the directories it leaves empty.
fn remove(root: &Path, f: &TreeFile, out: &mut Expired) -> Result<()> {
    match std::fs::remove_file(&f.path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(&f.path, e)),
    }
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_files_go_last_and_only_for_size() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("2026/2026-11/2026-11-22");
        std::fs::create_dir_all(&d).unwrap();
        for h in 10..16 {
            std::fs::write(
                d.join(format!("floe.2026-11-22.{h}0000+0000")),
                vec![0u8; 100],
            )
            .unwrap();
        }
        let now = floe_flow::time::utc_ms(2026, 11, 23, 0, 0, 0);
        let keep = |f: &TreeFile| {
            let p = f.path.to_string_lossy();
            ["130000", "140000", "150000"].iter().any(|h| p.contains(h))
        };
        // Age: everything is a day old; the kept three stay.
        let policy = ExpirePolicy {
            max_bytes: None,
            max_age_secs: Some(3600),
        };
        let x = expire_keeping(dir.path(), &policy, now, keep).unwrap();
        assert_eq!(
            (x.removed.len(), x.forced.len(), x.remaining_bytes),
            (3, 0, 300)
        );
        // Size: 150 bytes allowed; the oldest kept files go, named as forced.
        let policy = ExpirePolicy {
            max_bytes: Some(150),
            max_age_secs: None,
        };
        let x = expire_keeping(dir.path(), &policy, now, keep).unwrap();
        assert_eq!(x.forced.len(), 2, "{x:?}");
        assert!(x.forced[0].ends_with("floe.2026-11-22.130000+0000"));
        assert_eq!(x.remaining_bytes, 100);
    }
}
