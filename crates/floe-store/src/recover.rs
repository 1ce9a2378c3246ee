//! Closing `tmp-` files left behind by a crash.
//!
//! A writer appends whole frames (a counters frame, then a block frame) in
//! one write each, so a file cut short by kill -9 or a power loss holds a
//! header, some whole frames, and perhaps the start of one more. Recovery
//! keeps every whole, checksummed frame, drops the torn tail, rebuilds the
//! trailer from the blocks found and the last counters frame, and renames
//! the file to its closed name. Nothing valid is overwritten or lost.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::file_writer::append_frame;
use crate::format::{encode_footer, KIND_TRAILER};
use crate::layout::TMP_PREFIX;
use crate::meta::{self, Totals, Trailer};
use crate::reader::{parse_header, scan_frames};

/// What recovering one file did.
#[derive(Debug)]
pub struct Recovered {
    /// The `tmp-` file found.
    pub from: PathBuf,
    /// Where it is now (closed name), or `None` when it held nothing at all
    /// (no complete header) and was removed.
    pub to: Option<PathBuf>,
    /// Whole blocks kept.
    pub blocks: usize,
    /// Flows in those blocks.
    pub flows: u64,
    /// Bytes of torn tail dropped.
    pub dropped_bytes: u64,
    /// Damage skipped inside the file.
    pub damage: Vec<String>,
}

/// Recovers one `tmp-` file: truncates its torn tail, writes a trailer,
/// syncs, and renames it to its closed name (never over an existing file).
pub fn recover_file(path: &Path, now_ms: i64) -> Result<Recovered> {
    let data = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
    let mut rec = Recovered {
        from: path.to_path_buf(),
        to: None,
        blocks: 0,
        flows: 0,
        dropped_bytes: 0,
        damage: Vec::new(),
    };
    let header_len = match parse_header(&data, path) {
        Ok((_, _, len)) => len,
        Err(StoreError::Truncated { .. }) => {
            // Crashed while writing the header: there is no flow to keep.
            std::fs::remove_file(path).map_err(|e| StoreError::io(path, e))?;
            rec.dropped_bytes = data.len() as u64;
            return Ok(rec);
        }
        Err(e) => {
            // Not something we can repair: keep it aside, untouched.
            let aside = unique_path(path.with_file_name(format!("{}.damaged", file_name(path))));
            std::fs::rename(path, &aside).map_err(|e| StoreError::io(path, e))?;
            rec.damage.push(e.to_string());
            rec.to = Some(aside);
            return Ok(rec);
        }
    };
    let scan = scan_frames(&data, header_len, path);
    rec.damage = scan.damage.iter().map(|e| e.to_string()).collect();
    rec.blocks = scan.blocks.len();
    rec.flows = scan.blocks.iter().map(|b| u64::from(b.records)).sum();
    rec.dropped_bytes = data.len() as u64 - scan.valid_end;
    drop(data);

    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    f.set_len(scan.valid_end)
        .map_err(|e| StoreError::io(path, e))?;
    f.seek(SeekFrom::Start(scan.valid_end))
        .map_err(|e| StoreError::io(path, e))?;
    let mut tail = Vec::new();
    if scan.trailer.is_none() {
        let mut totals = Totals::default();
        // Per-block sums are in the block headers; the scan added them up.
        for b in &scan.blocks {
            totals.add_block(b, 0, 0);
        }
        totals.packets = scan.packets;
        totals.octets = scan.octets;
        let trailer = Trailer {
            closed_ms: now_ms,
            recovered: true,
            totals,
            exporters: scan.counters.map(|c| c.exporters).unwrap_or_default(),
            blocks: scan.blocks,
        };
        let at = scan.valid_end;
        append_frame(&mut tail, KIND_TRAILER, &meta::encode(&trailer));
        tail.extend_from_slice(&encode_footer(at));
    } else {
        // Crashed between the trailer and the rename: only the footer may
        // be missing.
        tail.extend_from_slice(&encode_footer(scan.trailer_at));
    }
    f.write_all(&tail).map_err(|e| StoreError::io(path, e))?;
    f.sync_all().map_err(|e| StoreError::io(path, e))?;
    drop(f);

    let name = file_name(path);
    let closed = unique_path(path.with_file_name(name.strip_prefix(TMP_PREFIX).unwrap_or(&name)));
    std::fs::rename(path, &closed).map_err(|e| StoreError::io(path, e))?;
    sync_dir(closed.parent());
    rec.to = Some(closed);
    Ok(rec)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `path` if nothing is there, else `path.1`, `path.2`, ...
pub(crate) fn unique_path(path: PathBuf) -> PathBuf {
    if !path.exists() {
        return path;
    }
    let name = file_name(&path);
    (1u32..)
        .map(|i| path.with_file_name(format!("{name}.{i}")))
        .find(|p| !p.exists())
        .unwrap_or(path)
}

/// Makes a rename or a new file durable (best effort: some filesystems do
/// not support syncing directories).
pub(crate) fn sync_dir(dir: Option<&Path>) {
    if let Some(d) = dir {
        if let Ok(f) = File::open(d) {
            let _ = f.sync_all();
        }
    }
}
