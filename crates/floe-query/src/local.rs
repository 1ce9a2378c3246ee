//! The local backend: the store's files, read with what `floe report`
//! does well (projection: only the columns the key and the filter read;
//! the report engine's packed keys; both cores), each closed file's
//! partial answer kept in the cache.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use floe_filter::{Filter, Options};
use floe_report::{Report, ReportOptions};
use floe_scan::Scan;
use floe_store::{FlowFile, TreeFile};

use crate::answer::{Answer, AnswerStats};
use crate::cache::Cache;
use crate::error::QueryError;
use crate::partial::{merge, Partial};
use crate::query::{Compiled, Query};
use crate::Backend;

/// How far (in time) a file's period may be from the range and still be
/// read: flows are filed by arrival, and long flows start earlier.
const SLACK_MS: i64 = 3_600_000;

/// Flows from a store directory.
pub struct LocalStore {
    root: PathBuf,
    cache: Option<Cache>,
    threads: usize,
    max_keys: usize,
    filter_options: Options,
    time_limit: Option<Duration>,
}

impl LocalStore {
    /// The store under `root`, no cache, one thread per core.
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            root: root.into(),
            cache: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            max_keys: 5_000_000,
            filter_options: Options::default(),
            time_limit: None,
        }
    }

    /// Keeps partial answers in `cache`.
    pub fn with_cache(mut self, cache: Cache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Reads on `threads` threads (at least one), a file each at a time.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Most distinct keys one file's partial may hold.
    pub fn with_max_keys(mut self, n: usize) -> Self {
        self.max_keys = n.max(1);
        self
    }

    /// How filters compile (zone of their times; `@include` allowed or
    /// not: refuse it for filters from browsers).
    pub fn with_filter_options(mut self, o: Options) -> Self {
        self.filter_options = o;
        self
    }

    /// A query taking longer stops with [`QueryError::TimedOut`].
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cache of per-file partial answers, if one is used.
    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    /// The files the range needs, oldest first.
    fn files(&self, q: &Query) -> Result<Vec<TreeFile>, QueryError> {
        let all = floe_store::walk(&self.root).map_err(|e| QueryError::Tree {
            path: self.root.clone(),
            source: e,
        })?;
        Ok(floe_store::select(&all, q.from_ms, q.to_ms, SLACK_MS)
            .into_iter()
            .cloned()
            .collect())
    }
}

/// What a file's partial depends on besides the file: the shape of the
/// query (never its range: a partial holds every interval of the file).
fn shape(q: &Query, c: &Compiled) -> String {
    format!(
        "key={}|interval={}|src={:?}|dst={:?}|filter={}",
        c.kind.name,
        q.interval_ms,
        q.src_format.as_deref().unwrap_or(""),
        q.dst_format.as_deref().unwrap_or(""),
        c.filter_text.as_deref().unwrap_or("")
    )
}

struct Work<'a> {
    q: &'a Query,
    c: &'a Compiled,
    filter: Option<Filter>,
    options: ReportOptions,
    deadline: Option<Instant>,
    flows_read: AtomicU64,
    cached: AtomicUsize,
    /// Reports done with, cleared, their tables' room kept for the next
    /// file (files of a store are of alike size).
    spare: Mutex<Vec<Report>>,
}

impl Work<'_> {
    /// One file's partial: from the cache, or read on the caller's thread
    /// through floe-scan (blocks the filter rules out by their statistics
    /// are not decompressed; only the key's and the filter's columns are).
    fn partial(&self, store: &LocalStore, f: &TreeFile) -> Result<Partial, QueryError> {
        let file = FlowFile::open(&f.path)?;
        let closed = file.trailer().map(|t| t.closed_ms);
        let id = closed.map(|at| {
            let rel = f.path.strip_prefix(&store.root).unwrap_or(&f.path);
            format!(
                "{}|{}|{}|{}",
                rel.display(),
                f.size,
                at,
                shape(self.q, self.c)
            )
        });
        if let (Some(cache), Some(id)) = (&store.cache, &id) {
            if let Some(p) = cache.get(id) {
                self.cached.fetch_add(1, Ordering::Relaxed);
                return Ok(p);
            }
        }
        let fresh = || Report::with_options(self.c.kind.clone(), store.max_keys, self.options);
        let new_report = || {
            self.spare
                .lock()
                .ok()
                .and_then(|mut s| s.pop())
                .unwrap_or_else(fresh)
        };
        let empty = fresh();
        let scan = Scan {
            // A closed file is read whole (its partial is kept for any
            // range); an open one only where the range is.
            window: if id.is_some() {
                (i64::MIN, i64::MAX)
            } else {
                (self.q.from_ms, self.q.to_ms)
            },
            filter: self.filter.clone(),
            cols: empty.cols(),
            threads: 1,
        };
        let damage: Mutex<Option<floe_store::StoreError>> = Mutex::new(None);
        let (reports, stats) = scan.unordered(
            std::slice::from_ref(&file),
            new_report,
            |r: &mut Report, part| -> Result<(), QueryError> {
                if self.deadline.is_some_and(|d| Instant::now() > d) {
                    return Err(QueryError::TimedOut(
                        store.time_limit.map_or(0, |t| t.as_secs()),
                    ));
                }
                r.add_batch(part.batch, part.rows)?;
                Ok(())
            },
            |e| {
                if let Ok(mut d) = damage.lock() {
                    d.get_or_insert(e);
                }
            },
        )?;
        self.flows_read
            .fetch_add(stats.in_window, Ordering::Relaxed);
        // A damaged file is answered from what could be read, said among
        // the answer's errors, and never cached.
        if let Some(e) = damage.into_inner().ok().flatten() {
            return Err(QueryError::Store(e));
        }
        let p = match reports.as_slice() {
            [one] => Partial::from_report(one),
            _ => Partial::from_report(&empty),
        };
        if let Ok(mut spare) = self.spare.lock() {
            for mut r in reports {
                r.clear();
                spare.push(r);
            }
        }
        if let (Some(cache), Some(id)) = (&store.cache, &id) {
            cache.put(id, &p);
        }
        Ok(p)
    }
}

impl Backend for LocalStore {
    fn name(&self) -> &str {
        "local"
    }

    fn answer(&self, q: &Query) -> Result<Answer, QueryError> {
        let c = q.compile()?;
        let filter = match &c.filter_text {
            Some(t) => Some(Filter::parse_with(t, &self.filter_options)?),
            None => None,
        };
        let options = ReportOptions {
            src_format: c.src_format,
            dst_format: c.dst_format,
            interval_secs: (q.interval_ms / 1000) as u64,
            ..ReportOptions::default()
        };
        let files = self.files(q)?;
        let work = Work {
            q,
            c: &c,
            filter,
            options,
            deadline: self.time_limit.map(|t| Instant::now() + t),
            flows_read: AtomicU64::new(0),
            cached: AtomicUsize::new(0),
            spare: Mutex::new(Vec::new()),
        };
        let next = AtomicUsize::new(0);
        let partials: Mutex<Vec<Partial>> = Mutex::new(Vec::with_capacity(files.len()));
        let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let fatal: Mutex<Option<QueryError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..self.threads.min(files.len()).max(1) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { return };
                    match work.partial(self, f) {
                        Ok(p) => {
                            if let Ok(mut v) = partials.lock() {
                                v.push(p);
                            }
                        }
                        Err(e @ (QueryError::TimedOut(_) | QueryError::Report(_))) => {
                            if let Ok(mut f) = fatal.lock() {
                                f.get_or_insert(e);
                            }
                            next.store(usize::MAX / 2, Ordering::Relaxed);
                            return;
                        }
                        Err(e) => {
                            if let Ok(mut v) = errors.lock() {
                                v.push(e.to_string());
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = fatal.into_inner().ok().flatten() {
            return Err(e);
        }
        let partials = partials.into_inner().unwrap_or_default();
        let columns = c
            .kind
            .columns()
            .into_iter()
            .skip(1)
            .map(str::to_string)
            .collect();
        let mut answer = merge(q, columns, &partials)?;
        answer.stats = AnswerStats {
            backend: self.name().to_string(),
            files: files.len(),
            cached: work.cached.load(Ordering::Relaxed),
            flows_read: work.flows_read.load(Ordering::Relaxed),
            errors: errors.into_inner().unwrap_or_default(),
        };
        Ok(answer)
    }
}
