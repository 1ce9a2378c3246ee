//! Reading the selected floe files on several threads, for the tools
//! whose result does not depend on the order of the flows (reports): each
//! thread keeps its own state, and the caller merges them.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use floe_flow::Flow;

use crate::error::{warn, CliError, Result};
use crate::progress::Progress;
use crate::read::{keep_window, read, Next, Selection, Summary, CHUNK};
use crate::sources::{open_floe, Source};

/// Reads the inputs on `threads` threads (default: one per core, at most
/// 8), each with its own state from `init`, and returns the states (for
/// the caller to merge) and how the read went. Blocks are handed out one
/// at a time, so the cores share the work whatever the file sizes; the
/// order in which flows reach `each` is not the file order. Streams and
/// flow-tools files are read on one thread, in order ([`read`]).
pub fn read_parallel<S: Send>(
    sel: &Selection,
    threads: Option<usize>,
    init: impl Fn() -> S + Sync,
    each: impl Fn(&mut S, &mut Vec<Flow>) -> Result<()> + Sync,
) -> Result<(Vec<S>, Summary)> {
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1);
    let floe_files_only = sel
        .sources
        .list
        .iter()
        .all(|s| matches!(s, Source::File(_)));
    if threads < 2 || !floe_files_only {
        let mut state = init();
        let summary = read(sel, |flows| {
            each(&mut state, flows)?;
            Ok(Next::Continue)
        })?;
        return Ok((vec![state], summary));
    }
    let window = sel.window;
    let mut summary = Summary::default();
    let mut files = Vec::new();
    for path in sel.sources.floe_files() {
        match open_floe(path) {
            Ok(f) => {
                for d in f.damage() {
                    warn(d);
                    summary.damaged += 1;
                }
                files.push(f);
            }
            Err(e) => {
                warn(e);
                summary.damaged += 1;
            }
        }
    }
    let jobs: Vec<(usize, usize)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.blocks_overlapping(window.from, window.to)
                .map(move |b| (i, b))
        })
        .collect();
    let progress = Progress::new(&sel.sources.list);
    let next = AtomicUsize::new(0);
    let damaged = AtomicUsize::new(0);
    let flows = AtomicU64::new(0);
    let work = || -> Result<S> {
        let mut state = init();
        let mut dec = floe_store::BlockDecoder::new().map_err(CliError::Decompressor)?;
        dec.set_projection(sel.projection);
        let mut buf = Vec::new();
        let mut failed = None;
        while let Some(&(fi, b)) = jobs.get(next.fetch_add(1, Relaxed)) {
            let read = files[fi].read_block_chunked(b, &mut dec, &mut buf, CHUNK, |chunk| {
                keep_window(chunk, window);
                progress.flows(chunk.len());
                flows.fetch_add(chunk.len() as u64, Relaxed);
                if let Err(e) = each(&mut state, chunk) {
                    failed = Some(e);
                }
                failed.is_none()
            });
            if let Some(e) = failed {
                // Stop the other threads too.
                next.store(jobs.len(), Relaxed);
                return Err(e);
            }
            if let Err(e) = read {
                warn(e);
                damaged.fetch_add(1, Relaxed);
            }
            progress.fraction(jobs.len());
        }
        Ok(state)
    };
    let states = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads).map(|_| sc.spawn(work)).collect();
        handles
            .into_iter()
            // A panic is a bug: it goes on as one.
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<S>>>()
    })?;
    summary.add(Summary {
        flows: flows.into_inner(),
        damaged: damaged.into_inner(),
    });
    Ok((states, summary))
}
