//! Reading floe files through floe-scan (columns, block statistics, both
//! cores) for the tools that can: reports, `filter`, `cat`, `print`. A
//! run whose inputs include a stream on stdin or a flow-tools file reads
//! everything in order with the row reader ([`crate::read`]) instead.

use floe_flow::ColSet;
use floe_scan::{Scan, ScanStats};
use floe_store::FlowFile;

use crate::error::warn;
use crate::progress::Progress;
use crate::read::{Selection, Summary};
use crate::sources::{open_floe, Source};

/// Threads a read uses: as asked, else one per core (at most 8).
pub fn threads(asked: Option<usize>) -> usize {
    asked
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1)
}

/// The inputs of `sel` opened, when every one is a floe file; damage found
/// while opening is said on stderr and counted in the summary.
pub fn open_files(sel: &Selection) -> Option<(Vec<FlowFile>, Summary)> {
    if !sel
        .sources
        .list
        .iter()
        .all(|s| matches!(s, Source::File(_)))
    {
        return None;
    }
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
    Some((files, summary))
}

/// The scan of `sel`'s window with `filter`, for a consumer of `cols`.
pub fn scan(
    sel: &Selection,
    filter: Option<&floe_filter::Filter>,
    cols: ColSet,
    threads: usize,
) -> Scan {
    Scan {
        window: (sel.window.from, sel.window.to),
        filter: filter.cloned(),
        cols,
        threads,
    }
}

/// A scan's figures as the tools' read summary.
pub fn summary(stats: &ScanStats) -> Summary {
    Summary {
        flows: stats.in_window,
        damaged: stats.damaged as usize,
    }
}

/// The progress bar of a scan of `sel` (files only; the bar counts flows).
pub fn progress(sel: &Selection) -> Progress {
    Progress::new(&sel.sources.list)
}
