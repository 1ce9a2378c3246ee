//! Computing reports: every job's report in one pass over the flows, on
//! columns (floe-scan), spread over the reading threads and merged.

use floe_filter::{Filter, Scratch};
use floe_flow::{ColSet, FlowBatch};
use floe_report::{Report, ReportOptions, ReportType};
use floe_store::Projection;

use crate::error::{warn, CliError, Result};
use crate::read::{read, Next, Selection, Summary};
use crate::report::jobs::Job;
use crate::scan;

/// The columns reports and their filters read: only these are decoded.
pub fn columns<'a>(
    reports: impl Iterator<Item = &'a Report>,
    filters: impl Iterator<Item = &'a Filter>,
) -> ColSet {
    let mut cols = ColSet::NONE;
    for r in reports {
        cols = cols.union(r.cols());
    }
    for f in filters {
        cols = cols.union(f.cols());
    }
    cols
}

/// The threads' reports as one, the smaller merged into the larger, on
/// up to `threads` threads.
pub fn merged(mut reports: Vec<Report>, threads: usize) -> Result<Report> {
    reports.sort_by_key(|r| std::cmp::Reverse(r.keys()));
    let mut it = reports.into_iter();
    let mut base = it.next().expect("a report from every reading thread");
    for r in it {
        base.merge_on(r, threads)?;
    }
    base.use_threads(threads);
    Ok(base)
}

/// One thread's reports and buffers.
struct State {
    reports: Vec<Report>,
    mask: Vec<u8>,
    rows: Vec<u32>,
    scratch: Scratch,
}

impl State {
    /// Adds the rows `rows` of `batch` to every report, through its own
    /// filter (`filters[i]`, None when the scan applied it already).
    fn add(&mut self, filters: &[Option<Filter>], batch: &FlowBatch, rows: &[u32]) -> Result<()> {
        for (r, filter) in self.reports.iter_mut().zip(filters) {
            match filter {
                None => r.add_batch(batch, rows)?,
                Some(f) => {
                    f.select_with(batch, &mut self.mask, &mut self.scratch)
                        .map_err(|e| CliError::Usage(e.to_string()))?;
                    self.rows.clear();
                    self.rows
                        .extend(rows.iter().filter(|&&i| self.mask[i as usize] != 0));
                    r.add_batch(batch, &self.rows)?;
                }
            }
        }
        Ok(())
    }
}

/// Computes every job's report in one pass over the inputs of `sel`, on
/// `threads` threads.
pub fn compute(
    jobs: &mut [Job],
    sel: Selection,
    threads: Option<usize>,
    max_keys: usize,
) -> Result<Summary> {
    let kinds: Vec<ReportType> = jobs.iter().map(|j| j.report.kind.clone()).collect();
    let options: Vec<ReportOptions> = jobs.iter().map(|j| j.report.options).collect();
    let filters: Vec<Option<Filter>> = jobs.iter().map(|j| j.filter.clone()).collect();
    // One filter for every report (the one-liner's --filter): the scan
    // applies it, and skips the blocks it rules out.
    let shared = match filters.first() {
        Some(Some(f)) if filters.iter().all(|g| g.as_ref() == Some(f)) => Some(f.clone()),
        _ => None,
    };
    let own: Vec<Option<Filter>> = if shared.is_some() {
        vec![None; filters.len()]
    } else {
        filters.clone()
    };
    let cols = columns(
        jobs.iter().map(|j| &j.report),
        own.iter().filter_map(|f| f.as_ref()),
    );
    // Each thread's report is told its share of the files' flows when
    // every block is read (no window and no shared filter, which can skip
    // blocks unread): its tables then grow at once to what they will need.
    let init = |share: u64| State {
        reports: kinds
            .iter()
            .zip(&options)
            .map(|(k, o)| {
                let mut r = Report::with_options(k.clone(), max_keys, *o);
                r.expect_rows(share);
                r
            })
            .collect(),
        mask: Vec::new(),
        rows: Vec::new(),
        scratch: Scratch::default(),
    };
    let threads = scan::threads(threads);
    let (states, summary) = match scan::open_files(&sel) {
        Some((files, mut summary)) => {
            let progress = scan::progress(&sel);
            let s = scan::scan(&sel, shared.as_ref(), cols, threads);
            let share = if shared.is_none() && sel.window.is_all() {
                files.iter().map(|f| f.flows()).sum::<u64>() / threads as u64
            } else {
                0
            };
            let (states, stats) = s.unordered(
                &files,
                || init(share),
                |st: &mut State, part| {
                    progress.flows(part.rows.len());
                    st.add(&own, part.batch, part.rows)
                },
                warn,
            )?;
            summary.add(scan::summary(&stats));
            (states, summary)
        }
        None => {
            // A stream or flow-tools file among the inputs: rows, in order.
            let all = cols.union(shared.as_ref().map_or(ColSet::NONE, Filter::cols));
            let sel = Selection {
                projection: Projection::of_cols(all).with_times(),
                ..sel
            };
            let mut st = init(0);
            let mut batch = FlowBatch::new();
            let mut rows = Vec::new();
            let summary = read(&sel, |flows| {
                if let Some(f) = &shared {
                    flows.retain(|x| f.matches(x));
                }
                batch.fill_from(flows, all);
                rows.clear();
                rows.extend(0..flows.len() as u32);
                st.add(&own, &batch, &rows)?;
                Ok(Next::Continue)
            })?;
            (vec![st], summary)
        }
    };
    // Per report, the threads' shares merged.
    let mut per_job: Vec<Vec<Report>> = (0..jobs.len()).map(|_| Vec::new()).collect();
    for st in states {
        for (i, r) in st.reports.into_iter().enumerate() {
            per_job[i].push(r);
        }
    }
    for (j, reports) in jobs.iter_mut().zip(per_job) {
        j.report = merged(reports, threads)?;
    }
    Ok(summary)
}
