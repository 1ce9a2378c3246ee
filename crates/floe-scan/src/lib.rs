//! Scanning floe files for a query: the flows of a time window that a
//! filter keeps, handed over a block at a time as columns, on every core.
//!
//! This is the API the query layer (and `floe report`, `filter`, `cat`,
//! `print`) reads flows through:
//!
//! ```no_run
//! # use floe_scan::{Scan, Part};
//! # use floe_flow::ColSet;
//! # let files: Vec<floe_store::FlowFile> = Vec::new();
//! let scan = Scan {
//!     window: (i64::MIN, i64::MAX),                 // [from, to), UTC ms
//!     filter: floe_filter::Filter::parse("proto tcp and dst port 443").ok(),
//!     cols: ColSet::of_fields(["srcip", "octets"]).unwrap(),  // what `each` reads
//!     threads: 2,
//! };
//! // "scan these sources in this window with this projection and filter,
//! // give me selected column batches": each thread folds its parts into
//! // its own state, the caller merges the states.
//! let (states, stats) = scan.unordered(
//!     &files,
//!     || 0u64,
//!     |n: &mut u64, part: Part| -> Result<(), std::convert::Infallible> {
//!         *n += part.rows.len() as u64;
//!         Ok(())
//!     },
//!     |damage| eprintln!("{damage}"),
//! )?;
//! # Ok::<(), std::convert::Infallible>(())
//! ```
//!
//! With floe-report's `Report::add_batch(part.batch, part.rows)` as `each`
//! and `Report::merge` over the states, that is "aggregate by these keys
//! (optionally per time interval: a `time-series` key part and
//! `ReportOptions::interval_secs`) with these counters"; [`Scan::ordered`]
//! delivers the parts' results in file order for tools whose output
//! follows it; [`Scan::count`] counts.
//!
//! What a block costs, cheapest first: a block whose index entry is
//! outside the window is not touched; one whose statistics (column 31 of
//! the format, or its constant columns in older files) show that the
//! filter matches none of its flows is checked (its frame checksum) but not
//! decompressed; one the filter matches whole, inside the window, needs
//! only the columns `each` reads (none, for a count); the others decode
//! the columns of `cols`, the filter's and, at the window's edges, the
//! times, and are filtered column by column. A [`Part`]'s batch holds at
//! least `cols`.
//!
//! Like every floe library this crate never prints or exits: damaged
//! blocks go to the caller's `damage` callback (and are counted in
//! [`ScanStats`]), the rest is read; `each`'s errors stop the scan.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};

use floe_filter::{Filter, Scratch, Verdict};
use floe_flow::{BatchStats, Col, ColSet, FlowBatch};
use floe_store::{block_stats, BlockDecoder, FlowFile, Projection, StoreError};

/// What to read.
#[derive(Clone, Debug)]
pub struct Scan {
    /// The flows that overlap `[from, to)` count (`i64::MIN, i64::MAX` for
    /// all): `max(start, end) >= from` and `start < to`.
    pub window: (i64, i64),
    /// The flows kept (all without one).
    pub filter: Option<Filter>,
    /// The columns the consumer reads from each part's batch.
    pub cols: ColSet,
    /// Threads (1 reads on the caller's thread).
    pub threads: usize,
}

/// One block's flows that count: the rows of `batch` that are in the
/// window and match the filter.
pub struct Part<'a> {
    /// The block's decoded columns (only those the scan asked for).
    pub batch: &'a FlowBatch,
    /// Indices into the batch, ascending.
    pub rows: &'a [u32],
    /// The file (index into the files scanned) and block.
    pub file: usize,
    /// The block's index in that file.
    pub block: usize,
    /// The block's statistics (what was known before decoding).
    pub stats: &'a BatchStats,
}

/// How a scan went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Flows in the window, before the filter.
    pub in_window: u64,
    /// Flows in the window that the filter kept.
    pub matched: u64,
    /// Blocks read for their flows (not counting `skipped` ones).
    pub blocks: u64,
    /// Blocks the filter can never match, by their statistics: no column
    /// of theirs beyond the times is decoded.
    pub skipped: u64,
    /// Blocks read whole without decoding a column.
    pub undecoded: u64,
    /// Blocks found damaged.
    pub damaged: u64,
}

impl ScanStats {
    fn add(&mut self, o: &ScanStats) {
        self.in_window += o.in_window;
        self.matched += o.matched;
        self.blocks += o.blocks;
        self.skipped += o.skipped;
        self.undecoded += o.undecoded;
        self.damaged += o.damaged;
    }
}

/// A thread's reading state: its decoder and buffers.
struct Reader {
    dec: BlockDecoder,
    batch: FlowBatch,
    mask: Vec<u8>,
    window_mask: Vec<u8>,
    rows: Vec<u32>,
    scratch: Scratch,
    stats: ScanStats,
    /// Only counting: no rows are listed and nothing is handed over.
    count_only: bool,
}

impl Reader {
    fn new() -> Result<Reader, StoreError> {
        Ok(Reader {
            dec: BlockDecoder::new().map_err(|source| StoreError::Io {
                path: "<zstd>".into(),
                source,
            })?,
            batch: FlowBatch::new(),
            mask: Vec::new(),
            window_mask: Vec::new(),
            rows: Vec::new(),
            scratch: Scratch::default(),
            stats: ScanStats::default(),
            count_only: false,
        })
    }

    /// Reads block `b` of `file` for `scan` and hands its part to `each`
    /// (not called when no flow of the block counts). The outer error is
    /// the block's (damage), the inner `each`'s.
    fn block<T, E>(
        &mut self,
        scan: &Scan,
        files: &[FlowFile],
        (fi, b): (usize, usize),
        each: &mut dyn FnMut(Part) -> Result<T, E>,
    ) -> Result<Option<Result<T, E>>, StoreError> {
        let file = &files[fi];
        let entry = file.blocks()[b];
        let (from, to) = scan.window;
        let whole = (from == i64::MIN || entry.min_start_ms >= from)
            && (to == i64::MAX || entry.max_end_ms < to);
        let r = file.with_block(b, |body| -> Result<_, floe_store::BlockError> {
            let stats = block_stats(body)?;
            let verdict = scan
                .filter
                .as_ref()
                .map_or(Verdict::Always, |f| f.on_stats(&stats));
            if verdict == Verdict::Never {
                self.stats.skipped += 1;
                if whole {
                    self.stats.in_window += u64::from(stats.records);
                } else {
                    // Only the times, to count the flows in the window.
                    self.dec.set_projection(Projection::of_cols(times()));
                    self.dec.decode_batch(body, &mut self.batch)?;
                    window_mask(&self.batch, scan.window, &mut self.window_mask);
                    self.stats.in_window +=
                        self.window_mask.iter().map(|m| u64::from(*m)).sum::<u64>();
                }
                return Ok(None);
            }
            let mut need = scan.cols;
            if verdict == Verdict::Maybe {
                need = need.union(scan.filter.as_ref().map_or(ColSet::NONE, Filter::cols));
            }
            if !whole {
                need = need.union(times());
            }
            self.stats.blocks += 1;
            if need.is_empty() {
                self.stats.undecoded += 1;
                self.batch.reset(stats.records as usize, ColSet::NONE);
            } else {
                self.dec.set_projection(Projection::of_cols(need));
                self.dec.decode_batch(body, &mut self.batch)?;
            }
            let n = self.batch.len();
            let in_window = if whole {
                n as u64
            } else {
                window_mask(&self.batch, scan.window, &mut self.window_mask);
                self.window_mask.iter().map(|m| u64::from(*m)).sum()
            };
            self.stats.in_window += in_window;
            self.rows.clear();
            let sum = |m: &[u8]| m.iter().map(|x| u64::from(*x)).sum::<u64>();
            match (verdict, whole) {
                (Verdict::Always, true) if self.count_only => self.stats.matched += n as u64,
                (Verdict::Always, false) if self.count_only => self.stats.matched += in_window,
                (Verdict::Always, true) => self.rows.extend(0..n as u32),
                (Verdict::Always, false) => {
                    floe_filter::selected(&self.window_mask, &mut self.rows)
                }
                _ => {
                    let f = scan
                        .filter
                        .as_ref()
                        .expect("a verdict other than always has a filter");
                    f.select_with(&self.batch, &mut self.mask, &mut self.scratch)
                        .expect("the filter's columns were decoded");
                    if !whole {
                        for (m, w) in self.mask.iter_mut().zip(&self.window_mask) {
                            *m &= w;
                        }
                    }
                    if self.count_only {
                        self.stats.matched += sum(&self.mask);
                    } else {
                        floe_filter::selected(&self.mask, &mut self.rows);
                    }
                }
            }
            Ok(Some(stats))
        })?;
        let stats = match r {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(None),
            Err(e) => return Err(file.block_error(b, e)),
        };
        if self.count_only {
            return Ok(None);
        }
        self.stats.matched += self.rows.len() as u64;
        if self.rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(each(Part {
            batch: &self.batch,
            rows: &self.rows,
            file: fi,
            block: b,
            stats: &stats,
        })))
    }
}

fn times() -> ColSet {
    ColSet::NONE.with(Col::Start).with(Col::End)
}

/// One byte per row: 1 when the flow overlaps the window.
fn window_mask(b: &FlowBatch, (from, to): (i64, i64), out: &mut Vec<u8>) {
    out.clear();
    out.extend(
        b.start_ms
            .iter()
            .zip(&b.end_ms)
            .map(|(s, e)| u8::from((*e).max(*s) >= from && *s < to)),
    );
}

impl Scan {
    /// Every block of `files` that may hold flows of the window, in order.
    pub fn blocks(&self, files: &[FlowFile]) -> Vec<(usize, usize)> {
        files
            .iter()
            .enumerate()
            .flat_map(|(i, f)| {
                f.blocks_overlapping(self.window.0, self.window.1)
                    .map(move |b| (i, b))
            })
            .collect()
    }

    /// Reads the blocks on [`Scan::threads`] threads, each folding its
    /// parts into its own state from `init`; returns the states (for the
    /// caller to merge) and how the scan went. Blocks are handed out one
    /// at a time, so the threads share the work whatever the files; the
    /// order in which parts reach `each` is not the file order. The first
    /// error of `each` stops every thread and is returned.
    pub fn unordered<S: Send, E: Send>(
        &self,
        files: &[FlowFile],
        init: impl Fn() -> S + Sync,
        each: impl Fn(&mut S, Part) -> Result<(), E> + Sync,
        damage: impl Fn(StoreError) + Sync,
    ) -> Result<(Vec<S>, ScanStats), E> {
        self.run_unordered(files, false, init, each, damage)
    }

    fn run_unordered<S: Send, E: Send>(
        &self,
        files: &[FlowFile],
        count_only: bool,
        init: impl Fn() -> S + Sync,
        each: impl Fn(&mut S, Part) -> Result<(), E> + Sync,
        damage: impl Fn(StoreError) + Sync,
    ) -> Result<(Vec<S>, ScanStats), E> {
        let jobs = self.blocks(files);
        let next = AtomicUsize::new(0);
        let work = || -> Result<(S, ScanStats), E> {
            let mut state = init();
            let mut r = match Reader::new() {
                Ok(r) => r,
                Err(e) => {
                    damage(e);
                    return Ok((state, ScanStats::default()));
                }
            };
            r.count_only = count_only;
            while let Some(&job) = jobs.get(next.fetch_add(1, Relaxed)) {
                let mut call = |p: Part| each(&mut state, p);
                match r.block(self, files, job, &mut call) {
                    Ok(Some(Err(e))) => {
                        next.store(jobs.len(), Relaxed);
                        return Err(e);
                    }
                    Ok(_) => {}
                    Err(d) => {
                        r.stats.damaged += 1;
                        damage(d);
                    }
                }
            }
            Ok((state, r.stats))
        };
        let threads = self.threads.clamp(1, jobs.len().max(1));
        let results: Vec<Result<(S, ScanStats), E>> = if threads == 1 {
            vec![work()]
        } else {
            std::thread::scope(|sc| {
                let handles: Vec<_> = (0..threads).map(|_| sc.spawn(work)).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        let mut states = Vec::new();
        let mut stats = ScanStats::default();
        for r in results {
            let (s, st) = r?;
            states.push(s);
            stats.add(&st);
        }
        Ok((states, stats))
    }

    /// Counts the flows of the window the filter keeps (`matched`),
    /// reading no column it can do without and listing no row.
    pub fn count(&self, files: &[FlowFile], damage: impl Fn(StoreError) + Sync) -> ScanStats {
        let scan = Scan {
            cols: ColSet::NONE,
            ..self.clone()
        };
        let r: Result<_, std::convert::Infallible> =
            scan.run_unordered(files, true, || (), |_, _| Ok(()), damage);
        match r {
            Ok((_, stats)) => stats,
            Err(never) => match never {},
        }
    }

    /// Reads the blocks on [`Scan::threads`] threads, `map` turning each
    /// part into a `T` on the reading threads (decoding, filtering and
    /// whatever `map` does happen in parallel), and hands the `T`s to
    /// `deliver` on the caller's thread in file order. At most a few
    /// blocks per thread are read ahead of the one being delivered, so
    /// memory stays bounded. `deliver` returns false to stop (`--records`).
    /// The first error of `map` or `deliver` stops the scan and is
    /// returned.
    pub fn ordered<T: Send, E: Send>(
        &self,
        files: &[FlowFile],
        map: impl Fn(Part) -> Result<T, E> + Sync,
        mut deliver: impl FnMut(T) -> Result<bool, E>,
        damage: impl Fn(StoreError) + Sync,
    ) -> Result<ScanStats, E> {
        let jobs = self.blocks(files);
        let threads = self.threads.clamp(1, jobs.len().max(1));
        if threads == 1 {
            let mut r = match Reader::new() {
                Ok(r) => r,
                Err(e) => {
                    damage(e);
                    return Ok(ScanStats::default());
                }
            };
            for &job in &jobs {
                let mut call = |p: Part| map(p);
                match r.block(self, files, job, &mut call) {
                    Ok(Some(t)) => {
                        if !deliver(t?)? {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(d) => {
                        r.stats.damaged += 1;
                        damage(d);
                    }
                }
            }
            return Ok(r.stats);
        }
        // Jobs are taken in order; a thread waits before reading a job
        // more than `ahead` past the next one to deliver.
        let ahead = 2 * threads;
        let next = AtomicUsize::new(0);
        let progress = Progress::default();
        // Finished jobs, by index: None for a job with nothing to deliver.
        type Done<T, E> = (usize, Option<Result<T, E>>);
        let (tx, rx) = std::sync::mpsc::channel::<Done<T, E>>();
        let stats = Mutex::new(ScanStats::default());
        let damaged = AtomicU64::new(0);
        let result = std::thread::scope(|sc| -> Result<(), E> {
            // However this closure ends (an early stop, an error, a panic
            // of `deliver`), the readers are told to stop, or the scope
            // would wait for ever for readers waiting for room.
            let _stop_readers = StopWhenDropped {
                progress: &progress,
                only_on_panic: false,
            };
            for _ in 0..threads {
                let tx = tx.clone();
                let (jobs, next, progress, map, damage, stats, damaged) =
                    (&jobs, &next, &progress, &map, &damage, &stats, &damaged);
                sc.spawn(move || {
                    // A reader that panics holds a job that will never be
                    // delivered: the others stop rather than wait for it
                    // (and the scope passes the panic on).
                    let _on_panic = StopWhenDropped {
                        progress,
                        only_on_panic: true,
                    };
                    // A reader that cannot start has taken no job: the
                    // others read them all (and if none can, the channel
                    // ends with nothing delivered), as on one thread.
                    let mut r = match Reader::new() {
                        Ok(r) => r,
                        Err(e) => {
                            damage(e);
                            return;
                        }
                    };
                    loop {
                        let j = next.fetch_add(1, Relaxed);
                        if j >= jobs.len() || !progress.room_for(j, ahead) {
                            break;
                        }
                        let mut call = |p: Part| map(p);
                        let out = match r.block(self, files, jobs[j], &mut call) {
                            Ok(t) => t,
                            Err(e) => {
                                damaged.fetch_add(1, Relaxed);
                                damage(e);
                                None
                            }
                        };
                        if tx.send((j, out)).is_err() {
                            break;
                        }
                    }
                    stats
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .add(&r.stats);
                });
            }
            drop(tx);
            let mut pending: std::collections::BTreeMap<usize, Option<Result<T, E>>> =
                Default::default();
            let mut want = 0usize;
            for (j, out) in rx.iter() {
                pending.insert(j, out);
                while let Some(out) = pending.remove(&want) {
                    want += 1;
                    progress.set_delivered(want);
                    match out {
                        None => {}
                        Some(Err(e)) => return Err(e),
                        Some(Ok(t)) => match deliver(t) {
                            Ok(true) => {}
                            Ok(false) => return Ok(()),
                            Err(e) => return Err(e),
                        },
                    }
                }
            }
            Ok(())
        });
        result?;
        let mut s = stats.into_inner().unwrap_or_else(|p| p.into_inner());
        s.damaged = s.damaged.max(damaged.into_inner());
        Ok(s)
    }
}

/// How far an ordered scan has delivered, and whether it stops: what its
/// reading threads wait on before reading ahead.
#[derive(Default)]
struct Progress {
    delivered: Mutex<usize>,
    stop: AtomicBool,
    moved: Condvar,
}

impl Progress {
    /// Waits until job `j` is fewer than `ahead` past the next to deliver;
    /// false when the scan stops instead.
    fn room_for(&self, j: usize, ahead: usize) -> bool {
        let mut d = self.delivered.lock().unwrap_or_else(|p| p.into_inner());
        while j >= *d + ahead && !self.stop.load(Relaxed) {
            d = self.moved.wait(d).unwrap_or_else(|p| p.into_inner());
        }
        !self.stop.load(Relaxed)
    }

    /// `n` jobs are delivered.
    fn set_delivered(&self, n: usize) {
        *self.delivered.lock().unwrap_or_else(|p| p.into_inner()) = n;
        self.moved.notify_all();
    }

    /// Stops the scan: every reader waiting for room wakes and ends. The
    /// stop is set under the lock the readers check it under: set outside
    /// it, it could fall between a reader's check and its wait, and that
    /// reader would sleep through the one notification and hold the scope
    /// open for good (one `floe print -n 1` in about a hundred did).
    fn stop(&self) {
        let held = self.delivered.lock().unwrap_or_else(|p| p.into_inner());
        self.stop.store(true, Relaxed);
        drop(held);
        self.moved.notify_all();
    }
}

/// Stops a scan when dropped (when unwinding from a panic only, if
/// `only_on_panic`).
struct StopWhenDropped<'a> {
    progress: &'a Progress,
    only_on_panic: bool,
}

impl Drop for StopWhenDropped<'_> {
    fn drop(&mut self) {
        if !self.only_on_panic || std::thread::panicking() {
            self.progress.stop();
        }
    }
}
