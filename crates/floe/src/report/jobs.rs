//! The reports a run computes: from the one-liner flags (`-r TYPE`, the
//! sort, fields and options given), or from a flow-tools configuration's
//! stat-definitions (whose meaning is `floe_report::statcfg`'s), with
//! their filters compiled.

use floe_filter::{Expr, Filter, FilterFile};
use floe_report::statcfg::StatConfig;
use floe_report::{AddrFormat, Fields, KeyPart, Output, Report, ReportOptions, ReportType, Scale};

use crate::args::Columns;
use crate::error::{warn, CliError, Result};
use crate::report::args::ReportArgs;
use crate::time::now_ms;

/// One report to compute: its title, type, filter and outputs.
pub struct Job {
    /// Where it comes from, for a configuration's report: `stat-report
    /// NAME (TYPE), stat-definition DEF` (shown after its title in words).
    pub origin: Option<String>,
    /// The stat-report's name (flow-tools header).
    pub name: String,
    /// The report being computed.
    pub report: Report,
    /// The flows it counts (all without one).
    pub filter: Option<Filter>,
    /// How it is shown.
    pub outputs: Vec<Output>,
    /// Rows per interval (a stat-definition's time-series).
    pub per_interval: bool,
}

/// The one-liner's reports, one per `-r TYPE`, and the page's title.
pub fn one_liners(a: &ReportArgs) -> Result<(Vec<Job>, String)> {
    let options = crate::filter::options(&a.window)?;
    let filter = a
        .filter
        .as_deref()
        .map(|t| Filter::parse_with(t, &options))
        .transpose()?;
    let mut jobs = Vec::new();
    for name in &a.kinds {
        let kind = ReportType::parse(name)?;
        let series = kind.parts.contains(&KeyPart::Interval);
        let sort = a
            .sort
            .as_deref()
            .unwrap_or(if series { "-key" } else { "+octets" });
        let mut out = Output::new(sort)?;
        out.records = a.records.records;
        out.tally = a.tally.filter(|t| *t > 0);
        match &a.fields.fields {
            None => {}
            Some(Columns::Only(names)) => {
                out.fields = Fields::none();
                for n in names {
                    out.fields.set(&n.to_ascii_lowercase(), true)?;
                }
            }
            Some(Columns::Change(changes)) => {
                for (on, n) in changes {
                    out.fields.set(n, *on)?;
                }
            }
        }
        if let Some(o) = &a.options {
            out.options.apply(o)?;
        }
        let addr = |f: &Option<String>| -> Result<AddrFormat> {
            Ok(f.as_deref()
                .map(AddrFormat::parse)
                .transpose()?
                .unwrap_or_default())
        };
        let options = ReportOptions {
            src_format: addr(&a.src_format)?,
            dst_format: addr(&a.dst_format)?,
            scale: a
                .scale
                .as_deref()
                .map(Scale::parse)
                .transpose()?
                .unwrap_or_default(),
            interval_secs: a.interval.max(1),
            rates: out.needs_rates(),
        };
        jobs.push(Job {
            origin: None,
            name: kind.name.clone(),
            report: Report::with_options(kind, a.max_keys, options),
            filter: filter.clone(),
            outputs: vec![out],
            per_interval: false,
        });
    }
    let page = page_title(&jobs);
    Ok((jobs, page))
}

/// The reports of a flow-tools configuration's stat-definitions (`-S`, or
/// every one with --all-reports), every one in one pass, and the page's
/// title.
pub fn from_config(a: &ReportArgs) -> Result<(Vec<Job>, String)> {
    let vars = a.vars.map();
    let path = a
        .stat_config
        .as_deref()
        .ok_or_else(|| CliError::Usage("no stat-config".into()))?;
    let cfg = StatConfig::load(path, &vars)?;
    if let (Some(from), Some(to)) = (&cfg.include_filter_moved_from, &cfg.include_filter) {
        warn(format!(
            "include-filter {} not found; using {}",
            from.display(),
            to.display()
        ));
    }
    let all: Vec<String> = cfg
        .definition_names()
        .into_iter()
        .map(String::from)
        .collect();
    let definitions = if a.all_reports { &all } else { &a.definitions };
    if definitions.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: name the stat-definitions to run with -S NAME, or --all-reports; defined: {}",
            cfg.file,
            all.join(", ")
        )));
    }
    let plan = cfg.plan(definitions)?;
    let options = crate::filter::options(&a.window)?;
    let filters = cfg
        .include_filter
        .as_ref()
        .map(|p| FilterFile::load_with(p, &vars, now_ms(), &options))
        .transpose()?;
    let mut jobs = Vec::new();
    for p in plan {
        // plan() refuses named filters without a filter file.
        let filter = match &filters {
            Some(ff) if !p.filters.is_empty() => {
                let mut exprs = p
                    .filters
                    .iter()
                    .map(|n| ff.compile(n))
                    .collect::<Result<Vec<Expr>, _>>()?;
                Some(Filter::from_expr(if exprs.len() == 1 {
                    exprs.swap_remove(0)
                } else {
                    Expr::And(exprs)
                }))
            }
            _ => None,
        };
        jobs.push(Job {
            origin: Some(p.title),
            name: p.name,
            report: Report::with_options(p.kind, a.max_keys, p.options),
            filter,
            outputs: p.outputs,
            per_interval: p.per_interval,
        });
    }
    let page = match page_title(&jobs) {
        t if jobs.len() == 1 => t,
        t => format!("{t} ({}: {})", cfg.file, definitions.join(", ")),
    };
    Ok((jobs, page))
}

impl Job {
    /// The title of one of its outputs, in words ("Top 15 source
    /// addresses by bytes"), and a configuration's report's origin.
    pub fn title(&self, o: &Output) -> String {
        let k = &self.report.kind;
        let secs = self.report.options.interval_secs;
        let words = if self.per_interval {
            let t = floe_report::words::title(k, o.sort, None, secs);
            match o.records {
                Some(n) => format!("{t}, top {n} per interval"),
                None => t,
            }
        } else {
            floe_report::words::title(k, o.sort, o.records, secs)
        };
        match &self.origin {
            Some(origin) => format!("{words} — {origin}"),
            None => words,
        }
    }
}

/// A page of these reports: the one report's title, or how many there
/// are and of what.
fn page_title(jobs: &[Job]) -> String {
    match jobs {
        [j] => match j.outputs.as_slice() {
            [o] => j.title(o),
            _ => format!("{} outputs of one report", j.outputs.len()),
        },
        _ => {
            // A few short titles say more than a count.
            let titles: Vec<String> = jobs
                .iter()
                .flat_map(|j| j.outputs.iter().map(|o| j.title(o)))
                .collect();
            let all = titles.join("; ");
            if all.chars().count() <= 80 {
                all
            } else {
                format!("{} flow reports", titles.len())
            }
        }
    }
}
