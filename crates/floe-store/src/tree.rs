//! Finding floe files in a directory tree, in time order, by name alone.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::layout::{parse_file_name, parse_flow_tools_name};

/// A floe file found in a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Period start from the name, UTC ms.
    pub start_ms: i64,
    /// Start of the next file in the tree (the best estimate of this file's
    /// period end that needs no I/O); `i64::MAX` for the newest file.
    pub next_start_ms: i64,
    /// `tmp-` file: still being written, or left by a crash.
    pub tmp: bool,
    /// Collision suffix of the name (`.1`, `.2`...), 0 when none.
    pub serial: u32,
    /// Size in bytes when listed.
    pub size: u64,
    /// A flow-tools file (`ft-v05...`), listed only by [`walk_readable`].
    pub flow_tools: bool,
}

impl TreeFile {
    /// The best estimate of the end of this file's period that needs no
    /// I/O: the next file's start, but never more than a day after its own
    /// start (periods divide a day), so a gap in the tree (a collector that
    /// was down) does not stretch a file over it.
    pub fn end_estimate_ms(&self) -> i64 {
        self.next_start_ms
            .min(self.start_ms.saturating_add(86_400_000))
    }
}

/// Every floe file under `root` (closed and `tmp-`), oldest first. Other
/// files are ignored. A missing root is an error; unreadable subdirectories
/// are errors too, since silently skipping them would hide data.
pub fn walk(root: &Path) -> Result<Vec<TreeFile>> {
    walk_files(root, false)
}

/// Like [`walk`], and also lists flow-tools files (`ft-vNN...`,
/// `tmp-vNN...`) for the tools that read them. The writer, recovery and
/// expiry never see flow-tools files: they use [`walk`].
pub fn walk_readable(root: &Path) -> Result<Vec<TreeFile>> {
    walk_files(root, true)
}

fn walk_files(root: &Path, flow_tools: bool) -> Result<Vec<TreeFile>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            let ft = entry
                .file_type()
                .map_err(|e| StoreError::io(entry.path(), e))?;
            if ft.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let name = entry.file_name();
            let name = name.to_str().unwrap_or("");
            let (info, is_ft) = match parse_file_name(name) {
                Some(i) => (i, false),
                None => match parse_flow_tools_name(name).filter(|_| flow_tools) {
                    Some(i) => (i, true),
                    None => continue,
                },
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(TreeFile {
                path: entry.path(),
                start_ms: info.start_ms,
                next_start_ms: i64::MAX,
                tmp: info.tmp,
                serial: info.serial,
                size,
                flow_tools: is_ft,
            });
        }
    }
    sort_files(&mut out);
    Ok(out)
}

/// Sorts files by period start (then serial, then path) and fills in each
/// file's `next_start_ms`.
pub fn sort_files(files: &mut [TreeFile]) {
    files.sort_by(|a, b| (a.start_ms, a.serial, &a.path).cmp(&(b.start_ms, b.serial, &b.path)));
    let mut next = i64::MAX;
    for f in files.iter_mut().rev() {
        f.next_start_ms = next;
        if f.start_ms < next {
            next = f.start_ms;
        }
    }
    // Files sharing a start (serials) share the next distinct start.
    for i in (0..files.len().saturating_sub(1)).rev() {
        if files[i].start_ms == files[i + 1].start_ms {
            files[i].next_start_ms = files[i + 1].next_start_ms;
        }
    }
}

/// The files whose names say they may hold flows overlapping
/// `[from_ms, to_ms)`.
///
/// Files are filed by receive time while the window is about flow time, so
/// `slack_ms` widens the window on both sides: a flow that started before
/// its file's period (long flows, exporters' active timeouts) or that an
/// exporter with a skewed clock stamped outside it is found when it is
/// within `slack_ms` of the file's period. Readers then check each file's
/// block index and each flow's own times, so the answer stays exact; the
/// slack only decides which files are opened.
pub fn select(files: &[TreeFile], from_ms: i64, to_ms: i64, slack_ms: i64) -> Vec<&TreeFile> {
    let lo = from_ms.saturating_sub(slack_ms);
    let hi = to_ms.saturating_add(slack_ms);
    files
        .iter()
        .filter(|f| f.start_ms < hi && f.end_estimate_ms() > lo)
        .collect()
}
