//! The state file: what a run leaves for the next, so that a restart
//! neither repeats nor misses an alert. JSON (for people, scripts and the
//! web page), replaced atomically: written beside itself, synced, renamed,
//! the directory synced. A lock file beside it keeps two runs (on_rotate
//! commands that overlap, a timer and a hand run) from interleaving.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agg::Sums;
use crate::error::AlertError;
use crate::event::Event;
use crate::value::{KVal, Key};

/// The format's name and version, first in the file.
pub const FORMAT: &str = "floe-alert-state 1";

/// The state file's name in the store's directory, unless told otherwise
/// (`floe web` shows this one).
pub const STATE_FILE: &str = ".floe-alert.state";

/// Most events kept in the state file's history.
pub const HISTORY: usize = 500;

/// Largest state file read (a bound on what a damaged or foreign file can
/// make a run allocate).
pub const MAX_STATE_BYTES: u64 = 1 << 30;

/// The whole state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// [`FORMAT`]: recognises the file and its version.
    pub format: String,
    /// The rules file the state is for (informative).
    pub rules: String,
    /// When a run last saved it (UTC ms).
    pub updated_ms: i64,
    /// Window tables, by their signature.
    pub aggs: BTreeMap<String, AggState>,
    /// Per-key states of each check, by `rule[check]`.
    pub checks: BTreeMap<String, CheckState>,
    /// The latest events, oldest first.
    pub events: VecDeque<Event>,
    /// The store's files dealt with (those still there).
    pub files: Vec<String>,
}

/// A window table between runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AggState {
    /// Files starting before this are not counted (their window closed).
    pub from: Option<i64>,
    /// The open window, `[start, end)` UTC ms.
    pub window: Option<(i64, i64)>,
    /// End of the last window closed (a window starting there continues a
    /// streak; any other start is a gap).
    pub last_end: Option<i64>,
    /// Windows closed so far.
    pub closed: u64,
    /// Files counted in the open window.
    pub seen: Vec<String>,
    /// Everything the filter kept in the open window.
    pub total: Sums,
    /// Each key's sums in the open window.
    pub sums: Vec<(Key, Sums)>,
    /// Each key's distinct values in the open window (distinct counts).
    pub pairs: Vec<(Key, Vec<KVal>)>,
    /// Keys and pairs not kept because the table was full.
    pub overflow: u64,
}

/// One check's memory between runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckState {
    /// The check's definition; a changed definition starts afresh.
    pub signature: String,
    /// Where each key stands.
    pub keys: Vec<(Key, KeyState)>,
    /// Past windows' values, for averages.
    pub history: Vec<Bucket>,
    /// Keys seen with traffic, and the window count when last seen (for
    /// `below`: a key with no traffic is in no table).
    pub known: Vec<(Key, u64)>,
}

/// Where one key of a check stands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyState {
    /// Closed windows in a row where the condition held...
    pub streak: u32,
    /// ... the last of which ended here.
    pub streak_end: i64,
    /// The window (start) in which it last fired.
    pub fired_window: Option<i64>,
    /// Windows of silence left after firing.
    pub hold: u32,
    /// The alert while it is open.
    pub open: Option<Open>,
}

/// An open alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Open {
    /// When it fired: the end of the file that fired it (UTC ms).
    pub since_ms: i64,
    /// The value it fired with.
    pub value: f64,
    /// The start of the window it fired in (UTC ms).
    pub window_start: i64,
}

/// The values of the windows that started in one bucket of time.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Bucket {
    /// The bucket's start (UTC ms).
    pub start: i64,
    /// Windows that started in it.
    pub windows: u32,
    /// Per key, its values over those windows, summed (keys with none left
    /// out).
    pub values: Vec<(Key, f64)>,
}

impl State {
    /// A fresh state for this rules file.
    pub fn new(rules: &Path) -> State {
        State {
            format: FORMAT.into(),
            rules: rules.display().to_string(),
            ..State::default()
        }
    }

    /// Reads a state file; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<State>, AlertError> {
        let fail = |message: String| AlertError::State {
            path: path.to_path_buf(),
            message,
        };
        let len = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e.to_string())),
        };
        if len > MAX_STATE_BYTES {
            return Err(fail(format!(
                "{len} bytes; a state file is at most {MAX_STATE_BYTES}"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| {
            fail(format!(
                "{e}; move it away to start afresh (alerts already sent may be sent again)"
            ))
        })?;
        if state.format != FORMAT {
            return Err(fail(format!(
                "format {:?}, this floe writes {FORMAT:?}",
                state.format
            )));
        }
        Ok(Some(state))
    }

    /// Replaces the state file with this state, atomically.
    pub fn save(&self, path: &Path) -> Result<(), AlertError> {
        let fail = |e: String| AlertError::State {
            path: path.to_path_buf(),
            message: e,
        };
        let bytes = serde_json::to_vec(self).map_err(|e| fail(e.to_string()))?;
        crate::usage::write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
    }

    /// Adds events to the history, keeping the latest [`HISTORY`].
    pub fn remember(&mut self, events: &[Event]) {
        self.events.extend(events.iter().cloned());
        while self.events.len() > HISTORY {
            self.events.pop_front();
        }
    }
}

/// `path` with `suffix` added to its name, hidden.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// The lock of a state file, held while it lives.
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Waits for the lock of the state file `path` (a `.lock` file beside
    /// it): a second run waits for the first to finish, then reads what it
    /// left.
    pub fn acquire(path: &Path) -> Result<StateLock, AlertError> {
        let lock = sibling(path, ".lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(|e| AlertError::State {
                path: lock.clone(),
                message: e.to_string(),
            })?;
        f.lock().map_err(|e| AlertError::State {
            path: lock,
            message: e.to_string(),
        })?;
        Ok(StateLock { _file: f })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_and_refuses_what_is_not_a_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("alert.state");
        assert!(State::load(&p).unwrap().is_none());
        let mut s = State::new(Path::new("rules.toml"));
        s.aggs.insert(
            "x".into(),
            AggState {
                window: Some((1, 2)),
                sums: vec![(Key::EMPTY, Sums::default())],
                ..AggState::default()
            },
        );
        s.save(&p).unwrap();
        let back = State::load(&p).unwrap().unwrap();
        assert_eq!(back.aggs["x"].window, Some((1, 2)));
        std::fs::write(&p, b"{\"format\": \"something else\"}").unwrap();
        assert!(State::load(&p).is_err());
        std::fs::write(&p, b"\x00garbage").unwrap();
        let e = State::load(&p).unwrap_err().to_string();
        assert!(e.contains("alert.state"), "{e}");
        let _l = StateLock::acquire(&p).unwrap();
    }
}
