//! The shipper's state file: how far each file of a store has been shipped
//! to one table, and the batch whose insert may be under way.
//!
//! JSON, rewritten whole to a temporary name, synced and renamed over the
//! old one (then the directory synced), so that a crash or a power loss
//! leaves the old state or the new one, never a mix. It is small: files
//! older than the oldest one not wholly shipped are summed up by one
//! position in the tree's order (`done_before`), so a year of shipped
//! files takes one line. It is read back checked: a file that is not
//! this format is an error naming it, never a reason to ship again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClickHouseError, Result};

/// The state file's format.
pub const FORMAT: u32 = 1;

/// The longest state file read (it is a few KiB in practice).
const MAX_STATE: u64 = 64 << 20;

/// A file's place in the tree's order (period start, serial, then path).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// The start of the file's period (ms since the epoch).
    pub start_ms: i64,
    /// The file's serial within its period.
    pub serial: u32,
    /// The path under the store's root, with `tmp-` taken off the name.
    pub key: String,
}

/// How far one file has been shipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProgress {
    /// The start of the file's period (ms since the epoch), as in its
    /// [`Position`].
    pub start_ms: i64,
    /// The file's serial within its period, as in its [`Position`].
    pub serial: u32,
    /// The file's identity (from its header: see `ship::file_id`).
    pub file_id: u64,
    /// Where the next block to ship starts (the end of the last shipped
    /// block's frame), or the next chunk of a flow-tools file.
    pub next_offset: u64,
    /// Blocks of the file shipped so far.
    pub blocks: u64,
    /// Flows of the file shipped so far.
    pub flows: u64,
    /// Every block of the closed file is shipped.
    pub done: bool,
}

/// A block sent in the batch whose outcome is not known yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentBlock {
    /// The file's key (its path under the store's root, as in
    /// [`Position::key`]).
    pub key: String,
    /// The file's identity (see [`FileProgress::file_id`]).
    pub file_id: u64,
    /// The block's offset (its identity in the table).
    pub block: u64,
    /// Where the block's frame ends.
    pub end_offset: u64,
    /// The flows in the block.
    pub records: u32,
}

/// The batch being inserted: written before the insert is sent, cleared
/// when its outcome is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// The insert's `query_id`, to find it among the server's running
    /// queries after a restart.
    pub query_id: String,
    /// The blocks in the batch, in the order sent.
    pub blocks: Vec<SentBlock>,
    /// The rows' `time` range (seconds), for the check to read few parts.
    pub time_from: u32,
    /// The end of that range (inclusive).
    pub time_to: u32,
}

/// The state of shipping one store to one table, as kept in the state
/// file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The file's format ([`FORMAT`]).
    pub format: u32,
    /// The table shipped to (`http://host:port/db.table`).
    pub target: String,
    /// The collector's name in the rows shipped (a state is read back
    /// for the same name only).
    pub collector: String,
    /// Every file before this position is shipped (or was given up).
    pub done_before: Option<Position>,
    /// Files at or after `done_before` that are partly or wholly shipped.
    pub files: BTreeMap<String, FileProgress>,
    /// The batch whose insert may be under way, if any: its outcome is
    /// checked before anything else is sent.
    pub in_flight: Option<InFlight>,
    /// Flows shipped to this table, ever.
    pub shipped_flows: u64,
    /// Batches that went in, ever.
    pub shipped_batches: u64,
    /// Flows removed from the store before they were shipped.
    pub lost_flows: u64,
}

impl State {
    /// A state with nothing shipped yet, for `target` (as
    /// [`crate::Target::describe`] puts it) and the collector named
    /// `collector`.
    pub fn new(target: &str, collector: &str) -> State {
        State {
            format: FORMAT,
            target: target.to_string(),
            collector: collector.to_string(),
            done_before: None,
            files: BTreeMap::new(),
            in_flight: None,
            shipped_flows: 0,
            shipped_batches: 0,
            lost_flows: 0,
        }
    }

    /// Reads the state at `path`, or a new one when there is none.
    pub fn load(path: &Path, target: &str, collector: &str) -> Result<State> {
        let f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State::new(target, collector))
            }
            Err(e) => return Err(ClickHouseError::local(path, e)),
        };
        let len = f
            .metadata()
            .map_err(|e| ClickHouseError::local(path, e))?
            .len();
        if len > MAX_STATE {
            return Err(ClickHouseError::local(
                path,
                format!("{len} bytes is not a shipper state file"),
            ));
        }
        let s: State = serde_json::from_reader(std::io::BufReader::new(f)).map_err(|e| {
            ClickHouseError::local(path, format!("not a floe shipper state file: {e}"))
        })?;
        if s.format != FORMAT {
            return Err(ClickHouseError::local(
                path,
                format!("state format {} is not {FORMAT}", s.format),
            ));
        }
        if s.target != target || s.collector != collector {
            return Err(ClickHouseError::local(
                path,
                format!(
                    "this state is for {} as collector {:?}, not {target} as {collector:?}",
                    s.target, s.collector
                ),
            ));
        }
        Ok(s)
    }

    /// Writes the state durably: temporary file, fsync, rename, directory
    /// fsync.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec(self).map_err(|e| ClickHouseError::local(path, e))?;
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| ClickHouseError::local(&tmp, e))?;
        f.write_all(&text)
            .and_then(|_| f.sync_data())
            .map_err(|e| ClickHouseError::local(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| ClickHouseError::local(path, e))?;
        if let Some(d) = path.parent() {
            if let Ok(d) = std::fs::File::open(if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// True when the file at `pos` is wholly shipped.
    pub fn is_done(&self, pos: &Position) -> bool {
        self.done_before.as_ref().is_some_and(|d| pos < d)
            || self.files.get(&pos.key).is_some_and(|p| p.done)
    }

    /// The progress of a file by identity (for a file renamed since).
    pub fn by_id(&self, file_id: u64) -> Option<(&String, &FileProgress)> {
        self.files.iter().find(|(_, p)| p.file_id == file_id)
    }

    /// Moves `done_before` past the done files that come before every
    /// file not done (`pending`: the positions of the files still to
    /// ship), dropping their entries.
    pub fn compact(&mut self, oldest_pending: Option<&Position>) {
        let mut done: Vec<Position> = self
            .files
            .iter()
            .filter(|(_, p)| p.done)
            .map(|(k, p)| Position {
                start_ms: p.start_ms,
                serial: p.serial,
                key: k.clone(),
            })
            .filter(|pos| oldest_pending.is_none_or(|o| pos < o))
            .collect();
        done.sort();
        if let Some(last) = done.last() {
            // Just past the last one: the smallest position greater than it.
            let mut next = last.clone();
            next.key.push('\0');
            if self.done_before.as_ref().is_none_or(|d| &next > d) {
                self.done_before = Some(next);
            }
            for p in &done {
                self.files.remove(&p.key);
            }
        }
    }
}

/// The state file's name for a target, in the store's root:
/// `.floe-ship-HOST_PORT-DB-TABLE.json` (anything but letters, digits, `.`
/// and `-` as `_`).
pub fn default_path(root: &Path, target: &crate::Target) -> PathBuf {
    let host = target
        .url
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(&target.url);
    let raw = format!("{host}-{}-{}", target.database, target.table);
    let safe: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    root.join(format!(".floe-ship-{safe}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(start_ms: i64, key: &str) -> Position {
        Position {
            start_ms,
            serial: 0,
            key: key.into(),
        }
    }

    #[test]
    fn saves_loads_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut s = State::load(&path, "t", "c").unwrap();
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            s.files.insert(
                k.to_string(),
                FileProgress {
                    start_ms: i as i64,
                    done: i != 1,
                    ..FileProgress::default()
                },
            );
        }
        s.compact(Some(&pos(1, "b")));
        assert!(s.is_done(&pos(0, "a")) && !s.is_done(&pos(1, "b")) && s.is_done(&pos(2, "c")));
        assert_eq!(s.files.len(), 2, "a is summed up by done_before");
        s.save(&path).unwrap();
        let back = State::load(&path, "t", "c").unwrap();
        assert_eq!(back, s);
        assert!(State::load(&path, "other", "c").is_err());
        std::fs::write(&path, "{\"format\": 1").unwrap();
        let e = State::load(&path, "t", "c").unwrap_err().to_string();
        assert!(
            e.contains("s.json") && e.contains("not a floe shipper state file"),
            "{e}"
        );
    }
}
