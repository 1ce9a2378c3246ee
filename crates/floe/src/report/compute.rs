//! Computing reports: every job's report in one pass over the flows,
//! spread over the reading threads and merged.

use floe_filter::Filter;
use floe_flow::Flow;
use floe_report::{Report, ReportOptions, ReportType};
use floe_store::Projection;

use crate::error::{CliError, Result};
use crate::read::{Selection, Summary};
use crate::read_parallel::read_parallel;
use crate::report::jobs::Job;

/// The fields reports and their filters read: only their columns are
/// decoded.
pub fn projection<'a>(
    reports: impl Iterator<Item = &'a Report>,
    filters: impl Iterator<Item = &'a Filter>,
) -> Result<Projection> {
    let mut names: Vec<&str> = Vec::new();
    for r in reports {
        names.extend(r.fields());
    }
    for f in filters {
        names.extend(f.fields());
    }
    Projection::of_fields(names).map_err(CliError::Usage)
}

/// The threads' reports as one, the smaller merged into the larger.
pub fn merged(mut reports: Vec<Report>) -> Result<Report> {
    reports.sort_by_key(|r| std::cmp::Reverse(r.keys()));
    let mut it = reports.into_iter();
    let mut base = it.next().expect("a report from every reading thread");
    for r in it {
        base.merge(r)?;
    }
    Ok(base)
}

/// Computes every job's report in one pass over the inputs of `sel`
/// (whose projection is set here), on `threads` threads.
pub fn compute(
    jobs: &mut [Job],
    sel: Selection,
    threads: Option<usize>,
    max_keys: usize,
) -> Result<Summary> {
    let kinds: Vec<ReportType> = jobs.iter().map(|j| j.report.kind.clone()).collect();
    let options: Vec<ReportOptions> = jobs.iter().map(|j| j.report.options).collect();
    let filters: Vec<Option<Filter>> = jobs.iter().map(|j| j.filter.clone()).collect();
    let sel = Selection {
        projection: projection(
            jobs.iter().map(|j| &j.report),
            jobs.iter().filter_map(|j| j.filter.as_ref()),
        )?,
        ..sel
    };
    let (states, summary) = read_parallel(
        &sel,
        threads,
        || {
            let reports: Vec<Report> = kinds
                .iter()
                .zip(&options)
                .map(|(k, o)| Report::with_options(k.clone(), max_keys, *o))
                .collect();
            (reports, Vec::new())
        },
        |(reports, kept): &mut (Vec<Report>, Vec<Flow>), flows| {
            for (r, filter) in reports.iter_mut().zip(&filters) {
                match filter {
                    Some(f) => {
                        kept.clear();
                        kept.extend(flows.iter().filter(|x| f.matches(x)).cloned());
                        r.add(kept)
                    }
                    None => r.add(flows),
                }?;
            }
            Ok(())
        },
    )?;
    // Per report, the threads' shares merged.
    let mut per_job: Vec<Vec<Report>> = (0..jobs.len()).map(|_| Vec::new()).collect();
    for (reports, _) in states {
        for (i, r) in reports.into_iter().enumerate() {
            per_job[i].push(r);
        }
    }
    for (j, reports) in jobs.iter_mut().zip(per_job) {
        j.report = merged(reports)?;
    }
    Ok(summary)
}
