//! The rotating writer: flows in, a `YYYY/YYYY-MM/YYYY-MM-DD/` tree of
//! closed period files out.
//!
//! The writer never reads a clock: every call takes `now_ms`, the time the
//! flows were received, which decides the file (flows are filed by receive
//! time, as flow-capture does; blocks record the flows' own times). This
//! keeps rotation testable and lets the daemon own its clock.
//!
//! What a crash can lose: a block is written (one `write` call) when it has
//! `block_records` flows (or more: a batch of columns of at least that
//! many is written whole) or when its oldest flow has waited
//! `flush_interval_ms`, and the file is `fdatasync`ed at most every
//! `sync_interval_ms`. So kill -9 loses at most the flows not yet in a
//! written block (under `block_records`, and under `flush_interval_ms` of
//! traffic); a power loss at most `flush_interval_ms + sync_interval_ms` of
//! traffic. Everything in a written block survives and is recovered at the
//! next start.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use floe_flow::{Flow, FlowSource};

use crate::error::{Result, StoreError};
use crate::file_writer::{FileWriter, WriteOptions, DEFAULT_BLOCK_RECORDS, DEFAULT_LEVEL};
use crate::host::host_name;
use crate::layout::{dir_for, file_name, period_end, period_start, TMP_PREFIX};
use crate::meta::{ExporterCounters, ExporterKey, FileHeader, Period, Totals};
use crate::recover::{recover_file, sync_dir, unique_path, Recovered};
use crate::tree::walk;
use crate::zone::Zone;

/// Name of the lock file that keeps two writers out of one directory.
pub const LOCK_FILE: &str = ".floe.lock";

/// Name of the live counters a running collector keeps in its directory
/// (written by floed, shown by `floe info`).
pub const STATS_FILE: &str = ".floed-stats.json";

/// How a [`StoreWriter`] lays out and paces its files.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Root of the tree.
    pub dir: PathBuf,
    /// Rotation period in seconds; must divide a day (60, 300, 600, 3600...).
    pub period_secs: u32,
    /// Zone that aligns periods and names files.
    pub zone: Zone,
    /// flow-tools nesting level (-3..=3); 3 is `YYYY/YYYY-MM/YYYY-MM-DD`.
    pub nesting: i8,
    /// Flows per block.
    pub block_records: usize,
    /// Write a partial block once its oldest flow has waited this long.
    pub flush_interval_ms: i64,
    /// `fdatasync` the open file at most this often.
    pub sync_interval_ms: i64,
    /// zstd level.
    pub level: i32,
    /// Host name written in file headers.
    pub host: String,
    /// Software name written in file headers.
    pub writer: String,
}

impl StoreConfig {
    /// The defaults: 10-minute files, local zone, nesting 3.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            dir: dir.into(),
            period_secs: 600,
            zone: Zone::Local,
            nesting: 3,
            block_records: DEFAULT_BLOCK_RECORDS,
            flush_interval_ms: 5_000,
            sync_interval_ms: 10_000,
            level: DEFAULT_LEVEL,
            host: host_name(),
            writer: format!("floe {}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Checks the settings a writer cannot work with (a period that does not divide
    /// a day, a nesting out of range...), before anything is opened.
    pub fn validate(&self) -> Result<()> {
        if self.period_secs == 0 || 86_400 % self.period_secs != 0 {
            return Err(StoreError::Config(format!(
                "period {} s does not divide a day; use e.g. 60, 300, 600, 900, 3600 or 86400",
                self.period_secs
            )));
        }
        if !(-3..=3).contains(&self.nesting) {
            return Err(StoreError::Config(format!(
                "nesting {} is not one of flow-tools' levels -3..3",
                self.nesting
            )));
        }
        if self.block_records == 0 || self.block_records > crate::format::MAX_BLOCK_RECORDS as usize
        {
            return Err(StoreError::Config(format!(
                "block_records {} must be between 1 and {}",
                self.block_records,
                crate::format::MAX_BLOCK_RECORDS
            )));
        }
        if !(zstd::compression_level_range()).contains(&self.level) {
            return Err(StoreError::Config(format!(
                "zstd level {} is outside {:?}",
                self.level,
                zstd::compression_level_range()
            )));
        }
        Ok(())
    }
}

/// A file the writer closed.
#[derive(Clone, Debug)]
pub struct ClosedFile {
    /// Where the file is now (its closed name).
    pub path: PathBuf,
    /// The receive-time period the file covers.
    pub period: Period,
    /// Totals over its flows.
    pub totals: Totals,
    /// Each exporter's counters for the period.
    pub exporters: Vec<(ExporterKey, ExporterCounters)>,
    /// The file's size.
    pub bytes: u64,
}

struct Current {
    w: FileWriter<File>,
    tmp_path: PathBuf,
    period: Period,
    /// Receive time of the oldest flow not yet in a block.
    pending_since: Option<i64>,
    last_sync_ms: i64,
}

/// Writes flows into rotated period files under one directory.
///
/// A block that cannot be written (disk full, read-only file system, I/O
/// error) is cut back off the file, its flows are dropped and counted
/// (`unwritten_flows` in the exporters' counters of the file being written,
/// and [`StoreWriter::unwritten`]), and the error is returned; the writer
/// goes on with the next block. So memory stays bounded by one block while
/// the disk is full, closed files are never touched, and writing resumes by
/// itself when space returns.
pub struct StoreWriter {
    cfg: StoreConfig,
    cur: Option<Current>,
    _lock: File,
    unwritten: u64,
    /// A write failed and no frame has been written since.
    failing: bool,
    /// Files finished (trailer written and synced) whose rename from
    /// `tmp-` failed (a directory turned read-only): retried every tick.
    unrenamed: Vec<(PathBuf, ClosedFile)>,
}

impl StoreWriter {
    /// Takes the directory's lock, closes any `tmp-` files a crash left
    /// behind (see [`crate::recover`]), and returns the writer and what was
    /// recovered.
    pub fn open(cfg: StoreConfig, now_ms: i64) -> Result<(StoreWriter, Vec<Recovered>)> {
        cfg.validate()?;
        std::fs::create_dir_all(&cfg.dir).map_err(|e| StoreError::io(&cfg.dir, e))?;
        let lock_path = cfg.dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Locked {
                path: cfg.dir.clone(),
                lock: lock_path,
            });
        }
        let mut recovered = Vec::new();
        for f in walk(&cfg.dir)?.into_iter().filter(|f| f.tmp) {
            recovered.push(recover_file(&f.path, now_ms)?);
        }
        Ok((
            StoreWriter {
                cfg,
                cur: None,
                _lock: lock,
                unwritten: 0,
                failing: false,
                unrenamed: Vec::new(),
            },
            recovered,
        ))
    }

    /// The configuration the writer was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// Flows dropped since start because their block could not be written.
    pub fn unwritten(&self) -> u64 {
        self.unwritten
    }

    /// True from a failed write until a frame is written again.
    pub fn failing(&self) -> bool {
        self.failing
    }

    /// The `tmp-` file being written, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.cur.as_ref().map(|c| c.tmp_path.as_path())
    }

    /// The period of the file being written, if any.
    pub fn current_period(&self) -> Option<Period> {
        self.cur.as_ref().map(|c| c.period)
    }

    /// Stores flows received at `now_ms`. Returns the file closed by a
    /// rotation this caused, if any.
    pub fn write<S: FlowSource + ?Sized>(
        &mut self,
        now_ms: i64,
        flows: &S,
    ) -> Result<Option<ClosedFile>> {
        if !flows.well_formed() {
            self.unwritten += flows.flow_count() as u64;
            return Err(StoreError::BadBatch {
                flows: flows.flow_count(),
            });
        }
        // No file to write to (the new period's cannot be created): the
        // flows are counted as unwritten.
        let closed = match self.ensure_period(now_ms) {
            Ok(c) => c,
            Err(e) => {
                self.unwritten += flows.flow_count() as u64;
                self.failing = true;
                return Err(e);
            }
        };
        let mut failed = None;
        let mut before = u64::MAX;
        if let Some(cur) = self.cur.as_mut() {
            before = cur.w.bytes_written();
            let mut at = 0;
            while at < flows.flow_count() {
                let (taken, written) = cur.w.fill_block_checked(flows, at);
                at += taken;
                match written {
                    // The block holds everything pending so far: what
                    // follows waits from now.
                    Ok(true) => cur.pending_since = None,
                    Ok(false) => {}
                    Err(e) => {
                        self.unwritten += drop_failed_block(cur, &e);
                        failed.get_or_insert(e);
                    }
                }
            }
            if cur.w.pending() == 0 {
                cur.pending_since = None;
            } else if cur.pending_since.is_none() {
                cur.pending_since = Some(now_ms);
            }
        }
        if let Some(e) = failed {
            self.failing = true;
            return Err(e);
        }
        if self
            .cur
            .as_ref()
            .is_some_and(|c| c.w.bytes_written() > before)
        {
            self.failing = false;
        }
        self.pace(now_ms)?;
        Ok(closed)
    }

    /// Like [`StoreWriter::write`], then empties `flows` (keeping its
    /// capacity) for the caller to fill again.
    pub fn write_owned(
        &mut self,
        now_ms: i64,
        flows: &mut Vec<Flow>,
    ) -> Result<Option<ClosedFile>> {
        let r = self.write(now_ms, flows);
        flows.clear();
        r
    }

    /// Adds to one exporter's counters in the current file.
    pub fn add_counters(
        &mut self,
        now_ms: i64,
        key: ExporterKey,
        delta: &ExporterCounters,
    ) -> Result<Option<ClosedFile>> {
        let closed = self.ensure_period(now_ms)?;
        if let Some(cur) = self.cur.as_mut() {
            cur.w.add_counters(key, delta);
        }
        Ok(closed)
    }

    /// Call at least once a second: rotates at period boundaries (creating
    /// the new period's file even when no flow arrives, so that every period
    /// has its file), writes partial blocks that have waited long enough,
    /// and syncs.
    pub fn tick(&mut self, now_ms: i64) -> Result<Option<ClosedFile>> {
        if let Some(c) = self.retry_rename() {
            return Ok(Some(c));
        }
        let closed = self.ensure_period(now_ms)?;
        self.pace(now_ms)?;
        Ok(closed)
    }

    /// Renames one finished file whose rename failed before, if it now can.
    fn retry_rename(&mut self) -> Option<ClosedFile> {
        let (tmp, _) = self.unrenamed.first()?;
        let name = tmp
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = unique_path(tmp.with_file_name(name.trim_start_matches(TMP_PREFIX)));
        std::fs::rename(tmp, &target).ok()?;
        sync_dir(target.parent());
        let (_, mut closed) = self.unrenamed.remove(0);
        closed.path = target;
        self.failing = !self.unrenamed.is_empty();
        Some(closed)
    }

    /// Closes the current file: see [`close`]; a failed rename is kept for
    /// [`StoreWriter::tick`] to retry.
    fn close_current(&mut self, cur: Current, now_ms: i64) -> Result<ClosedFile> {
        match close(cur, now_ms) {
            Ok(c) => {
                // A trailer and a rename went through: writing works.
                self.failing = false;
                Ok(c)
            }
            Err(CloseError::Rename { tmp, closed, error }) => {
                self.unrenamed.push((tmp, *closed));
                self.failing = true;
                Err(error)
            }
            Err(CloseError::Other(e)) => Err(e),
        }
    }

    /// Closes the current file now (SIGHUP); the next write opens a new one
    /// for the same period, with a `.1` suffix if needed.
    pub fn rotate(&mut self, now_ms: i64) -> Result<Option<ClosedFile>> {
        match self.cur.take() {
            Some(cur) => self.close_current(cur, now_ms).map(Some),
            None => Ok(None),
        }
    }

    /// Writes everything pending, closes the current file, and releases the
    /// directory.
    pub fn close(mut self, now_ms: i64) -> Result<Option<ClosedFile>> {
        // Files whose rename failed get a last chance; any left stay as
        // finished tmp- files, which the next start renames.
        while self.retry_rename().is_some() {}
        self.rotate(now_ms)
    }

    /// Writes a partial block if its oldest flow waited long enough, and
    /// syncs if the last sync is old enough.
    fn pace(&mut self, now_ms: i64) -> Result<()> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(());
        };
        if cur
            .pending_since
            .is_some_and(|t| now_ms - t >= self.cfg.flush_interval_ms)
        {
            cur.pending_since = None;
            if let Err(e) = cur.w.flush_block() {
                self.unwritten += drop_failed_block(cur, &e);
                self.failing = true;
                return Err(e);
            }
            self.failing = false;
        }
        if now_ms - cur.last_sync_ms >= self.cfg.sync_interval_ms {
            cur.w
                .get_ref()
                .sync_data()
                .map_err(|e| StoreError::io(&cur.tmp_path, e))?;
            cur.last_sync_ms = now_ms;
        }
        Ok(())
    }

    /// Makes sure the open file is the one for `now_ms`, rotating if its
    /// period is over. A clock that went back (now before the open period)
    /// keeps the open file: nothing is overwritten and no period is reopened.
    fn ensure_period(&mut self, now_ms: i64) -> Result<Option<ClosedFile>> {
        let mut closed = None;
        if let Some(cur) = &self.cur {
            if now_ms >= cur.period.end_ms {
                if let Some(c) = self.cur.take() {
                    closed = Some(self.close_current(c, now_ms)?);
                }
            }
        }
        if self.cur.is_none() {
            self.cur = Some(self.create(now_ms)?);
        }
        Ok(closed)
    }

    fn create(&self, now_ms: i64) -> Result<Current> {
        let c = &self.cfg;
        let start = period_start(&c.zone, c.period_secs, now_ms);
        let period = Period {
            start_ms: start,
            end_ms: period_end(&c.zone, c.period_secs, start),
        };
        let dir = dir_for(&c.dir, &c.zone, c.nesting, start);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        // The closed name decides the serial, so that the tmp file and the
        // file it becomes share it.
        let closed = unique_path(dir.join(file_name(&c.zone, start)));
        let closed_name = closed
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp_path = unique_path(dir.join(format!("{TMP_PREFIX}{closed_name}")));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .map_err(|e| StoreError::io(&tmp_path, e))?;
        let header = FileHeader {
            created_ms: now_ms,
            period: Some(period),
            host: c.host.clone(),
            zone: c.zone.name(),
            writer: c.writer.clone(),
        };
        let w = FileWriter::new(
            file,
            &tmp_path,
            &header,
            WriteOptions {
                block_records: c.block_records,
                level: c.level,
            },
        )?;
        sync_dir(Some(&dir));
        Ok(Current {
            w,
            tmp_path,
            period,
            pending_since: None,
            last_sync_ms: now_ms,
        })
    }
}

/// After a failed write: cuts the file back to its last whole frame so
/// that the next write starts on a frame boundary, drops the flows of the
/// block that could not be written and counts them per exporter in the
/// file's counters (written with the next frame that fits). Returns how
/// many were dropped.
fn drop_failed_block(cur: &mut Current, _e: &StoreError) -> u64 {
    let good = cur.w.bytes_written();
    let f = cur.w.get_ref();
    let _ = f.set_len(good);
    let mut handle: &File = f;
    let _ = handle.seek(SeekFrom::Start(good));
    let dropped = cur.w.take_pending();
    let mut per: BTreeMap<ExporterKey, u64> = BTreeMap::new();
    for f in &dropped {
        *per.entry(ExporterKey {
            address: f.exporter,
            source_id: f.source_id,
        })
        .or_default() += 1;
    }
    for (k, n) in per {
        let mut c = ExporterCounters::default();
        c.extra[floe_flow::Counter::UnwrittenFlows] = n;
        cur.w.add_counters(k, &c);
    }
    cur.pending_since = None;
    dropped.len() as u64
}

/// Why closing failed: the file is finished but could not be renamed (it
/// is whole and can be renamed later), or it could not be finished.
enum CloseError {
    Rename {
        tmp: PathBuf,
        closed: Box<ClosedFile>,
        error: StoreError,
    },
    Other(StoreError),
}

/// Writes the last block, the trailer and the footer, syncs, and renames
/// the `tmp-` file to its final name.
fn close(cur: Current, now_ms: i64) -> std::result::Result<ClosedFile, CloseError> {
    let Current {
        w,
        tmp_path,
        period,
        ..
    } = cur;
    let (file, trailer) = w.finish(now_ms).map_err(CloseError::Other)?;
    file.sync_all()
        .map_err(|e| CloseError::Other(StoreError::io(&tmp_path, e)))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    let name = tmp_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = unique_path(tmp_path.with_file_name(name.trim_start_matches(TMP_PREFIX)));
    let mut closed = ClosedFile {
        path: target.clone(),
        period,
        totals: trailer.totals,
        exporters: trailer.exporters,
        bytes,
    };
    if let Err(e) = std::fs::rename(&tmp_path, &target) {
        closed.path = tmp_path.clone();
        return Err(CloseError::Rename {
            error: StoreError::io(&tmp_path, e),
            tmp: tmp_path,
            closed: Box::new(closed),
        });
    }
    sync_dir(target.parent());
    Ok(closed)
}
