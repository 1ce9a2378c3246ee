//! Usage since the last run, with running totals per key (pmacct's
//! reset, the iptables accounting script's mail): what `floe usage
//! --since-last` reports. The state records the files counted, not a
//! time, so a file that arrives late (an import, a collector catching
//! up) counts in the next run rather than never.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use floe_filter::Filter;
use floe_store::{FlowFile, TreeFile};
use serde::{Deserialize, Serialize};

use crate::agg::{feed_file, Map, Sums, Table};
use crate::engine::file_id;
use crate::error::AlertError;
use crate::rules::{AggSpec, KeySpec, Source};
use crate::value::Key;
use crate::window::WindowKind;

/// The format's name and version.
pub const USAGE_FORMAT: &str = "floe-usage-state 1";

/// What `floe usage` keeps between runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UsageState {
    /// [`USAGE_FORMAT`]: recognises the file and its version.
    pub format: String,
    /// The key and filter the totals are for.
    pub by: Option<String>,
    /// The filter, as written.
    pub filter: Option<String>,
    /// Runs so far, when the first and the last were (UTC ms).
    pub runs: u64,
    /// When the first run was (UTC ms).
    pub first_run_ms: Option<i64>,
    /// When the last run was (UTC ms).
    pub last_run_ms: Option<i64>,
    /// Files counted (those still in the store).
    pub seen: BTreeSet<String>,
    /// Running total of everything counted.
    pub total: Sums,
    /// Running totals per key.
    pub totals: Vec<(Key, Sums)>,
}

/// One key's usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRow {
    /// The key.
    pub key: Key,
    /// Since the previous run.
    pub since: Sums,
    /// Since the state was made.
    pub total: Sums,
}

/// A usage run's answer.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    /// One row per key.
    pub rows: Vec<UsageRow>,
    /// Everything since the previous run.
    pub since: Sums,
    /// Everything since the state was made.
    pub total: Sums,
    /// Files counted now.
    pub files: usize,
    /// When the previous run was, if any, and the first (the totals'
    /// start).
    pub previous_ms: Option<i64>,
    /// When the first run was (UTC ms).
    pub first_ms: Option<i64>,
    /// Damaged files and blocks (the rest was counted).
    pub warnings: Vec<String>,
    /// The key's column names.
    pub columns: Vec<String>,
}

impl UsageState {
    /// Reads the state; a fresh one when there is none.
    pub fn load(path: &Path) -> Result<UsageState, AlertError> {
        let fail = |message: String| AlertError::State {
            path: path.to_path_buf(),
            message,
        };
        let len = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(UsageState {
                    format: USAGE_FORMAT.into(),
                    ..UsageState::default()
                })
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        if len > crate::state::MAX_STATE_BYTES {
            return Err(fail(format!("{len} bytes: not a usage state")));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let s: UsageState = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        if s.format != USAGE_FORMAT {
            return Err(fail(format!(
                "format {:?}, this floe writes {USAGE_FORMAT:?}",
                s.format
            )));
        }
        Ok(s)
    }

    /// Replaces the state file, atomically.
    pub fn save(&self, path: &Path) -> Result<(), AlertError> {
        // The alert state's atomic write, for this document.
        let fail = |e: String| AlertError::State {
            path: path.to_path_buf(),
            message: e,
        };
        let bytes = serde_json::to_vec(self).map_err(|e| fail(e.to_string()))?;
        write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".partial");
    let tmp: PathBuf = path.with_file_name(name);
    let mut f = std::fs::File::create(&tmp)?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// The table usage counts into: flows the filter keeps, by the key.
pub fn usage_spec(key: Option<KeySpec>, filter: Option<(String, Filter)>) -> AggSpec {
    let (filter_text, filter) = match filter {
        Some((t, f)) => (Some(t), Some(f)),
        None => (None, None),
    };
    AggSpec {
        filter_text,
        filter,
        source: Source::Sums,
        key,
        pairs_by_key: false,
        window: WindowKind::File,
        rule: "usage".into(),
        signature: String::new(),
    }
}

/// Counts the closed files of `files` not counted before, adds them to the
/// totals, and forgets files no longer in `all` (expired).
pub fn run(
    state: &mut UsageState,
    spec: &AggSpec,
    files: &[TreeFile],
    all: &[TreeFile],
    max_keys: usize,
    threads: usize,
    now_ms: i64,
) -> Result<Usage, AlertError> {
    let mut since: Map<Key, Sums> = Map::default();
    let mut since_total = Sums::default();
    let mut out = Usage {
        previous_ms: state.last_run_ms,
        columns: spec
            .key
            .as_ref()
            .map(|k| k.columns.clone())
            .unwrap_or_default(),
        ..Usage::default()
    };
    for f in files.iter().filter(|f| !f.tmp && !f.flow_tools) {
        let id = file_id(f);
        if state.seen.contains(&id) {
            continue;
        }
        let file = match FlowFile::open(&f.path) {
            Ok(x) => x,
            Err(e) => {
                // Not marked seen: counted when it can be read.
                out.warnings.push(e.to_string());
                continue;
            }
        };
        let mut t = Table::default();
        let damage = feed_file(&file, &[spec], vec![&mut t], max_keys, threads)?;
        out.warnings.extend(damage.iter().map(|d| d.to_string()));
        if t.overflow > 0 {
            out.warnings.push(format!(
                "{}: more than {max_keys} keys; {} not counted",
                f.path.display(),
                t.overflow
            ));
        }
        since_total.merge(&t.total);
        for (k, s) in t.sums() {
            let e = since.entry(k);
            if let std::collections::hash_map::Entry::Vacant(_) = e {
                if since.len() >= max_keys {
                    continue;
                }
            }
            since.entry(k).or_default().merge(&s);
        }
        state.seen.insert(id);
        out.files += 1;
    }
    let mut totals: Map<Key, Sums> = state.totals.drain(..).collect();
    for (k, s) in &since {
        totals.entry(*k).or_default().merge(s);
    }
    state.total.merge(&since_total);
    let present: BTreeSet<String> = all.iter().map(file_id).collect();
    state.seen.retain(|n| present.contains(n));
    state.runs += 1;
    state.last_run_ms = Some(now_ms);
    state.first_run_ms.get_or_insert(now_ms);
    out.first_ms = state.first_run_ms;
    let mut rows: Vec<UsageRow> = totals
        .iter()
        .map(|(k, t)| UsageRow {
            key: *k,
            since: since.get(k).copied().unwrap_or_default(),
            total: *t,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.since
            .octets
            .cmp(&a.since.octets)
            .then(b.total.octets.cmp(&a.total.octets))
            .then(a.key.cmp(&b.key))
    });
    let mut stored: Vec<(Key, Sums)> = totals.into_iter().collect();
    stored.sort_by_key(|a| a.0);
    state.totals = stored;
    out.rows = rows;
    out.since = since_total;
    out.total = state.total;
    Ok(out)
}
