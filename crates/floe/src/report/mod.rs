//! `floe report`: stat-reports over flows, as text, CSV, JSON, HTML or
//! flow-report's own layout; one-liners with -r, or flow-tools stat.cfg
//! files with -s/-S, every report in one pass; and the daily summary.
//!
//! A run checks everything it can before reading (types, options, filters,
//! the mail's addresses and server), reads once, and delivers only a whole
//! report: an input that cannot be read, or no flows in the window, and
//! nothing is printed, written or mailed.

pub mod args;
mod compute;
mod daily;
mod deliver;
mod jobs;
mod render;
mod series;

use floe_report::sym::Symbols;
use floe_report::ReportType;

use crate::error::{CliError, Result};
use crate::read::Selection;
use crate::sources;
use crate::time::now_ms;
use args::ReportArgs;
use deliver::{mailer, write_path, Delivery};
use render::{render_all, render_one, render_pages, rows, titled, Style};

/// `-t` is the window's start in every floe tool; a report type there
/// (what `-t` meant in `floe report` before) gets a message that says so.
fn report_type_in_start(a: &ReportArgs) -> Result<()> {
    match &a.window.start {
        Some(t) if ReportType::parse(t).is_ok() => Err(CliError::Usage(format!(
            "-t is the start of the time window in every floe tool; the report type is -r (--type): floe report -r {t}"
        ))),
        _ => Ok(()),
    }
}

pub fn run(a: ReportArgs) -> Result<()> {
    report_type_in_start(&a)?;
    if a.kinds.is_empty() && a.stat_config.is_none() && !a.daily {
        return Err(CliError::Usage(
            "which report? -r TYPE (e.g. -r ip-source-address), -s FILE -S NAME, or --daily".into(),
        ));
    }
    if a.daily {
        if a.clickhouse.url.is_some() {
            return Err(CliError::Usage(
                "--daily reads the store's files; with --clickhouse, ask for its reports with -r"
                    .into(),
            ));
        }
        return daily::run(&a);
    }
    if let Some(top) = a.series {
        return series::run(&a, top);
    }
    let (mut jobs, page_title) = if a.stat_config.is_some() {
        jobs::from_config(&a)?
    } else {
        jobs::one_liners(&a)?
    };
    let format = a.format.get();
    let zone = a.window.zone()?;
    let window = a.window.window_now()?;
    let symbols = match &a.symbols {
        Some(dir) => Symbols::load(dir)?,
        None => Symbols::builtin(),
    };
    let clock = crate::time::ZoneClock(&zone);
    // The subject says the window; a report of every flow read is
    // dated when it is computed.
    let subject = titled(&page_title, &clock, window, i64::MAX, i64::MIN);
    let mailer = mailer(&a, &subject, window.from)?;
    let summary = match &a.clickhouse.url {
        Some(url) => {
            if !ask_clickhouse(&a, url, &mut jobs, window)? {
                return Ok(());
            }
            if jobs
                .iter()
                .all(|j| j.report.totals.flows == 0 && j.report.ignores == 0)
            {
                return Err(CliError::NoFlows(window.describe(&zone)));
            }
            None
        }
        None => {
            let sources = sources::list(&a.input, window, a.input.tmp.tmp)?;
            let sel = Selection {
                sources: &sources,
                window,
                projection: floe_store::Projection::ALL,
            };
            let summary = compute::compute(&mut jobs, sel, a.threads.threads, a.max_keys)?;
            summary.something_read(&sources, window, &zone)?;
            Some(summary)
        }
    };
    let style = Style {
        titled: a.stat_config.is_some(),
        symbols: &symbols,
        names: !a.numeric.numeric,
        clock: &clock,
        now_ms: now_ms(),
    };
    // Every output of every report: (job, output, rows). Outputs with a
    // path go there; the others make up the page.
    let mut shown = Vec::new();
    for j in &jobs {
        for o in &j.outputs {
            let rows = rows(j, o);
            match &o.path {
                Some(path) => {
                    let text = render_one(format, &style, j, o, &rows, window);
                    let at = o.time.at(style.now_ms, j.report.first_ms, j.report.last_ms);
                    let filled = zone.strftime(at, path).map_err(CliError::Usage)?;
                    write_path(path, &filled, &text)?;
                }
                None => shown.push((j, o, rows)),
            }
        }
    }
    let delivery = Delivery {
        format,
        output: &a.output,
        mailer,
    };
    delivery.deliver(
        |f| render_all(f, &style, &shown, &page_title, window),
        || {
            render_pages(
                &style,
                &shown,
                &page_title,
                window,
                floe_report::Target::Mail,
            )
        },
    )?;
    match summary {
        Some(s) => s.all_read(),
        None => Ok(()),
    }
}

/// Every job's report answered by ClickHouse (see floe-clickhouse's
/// `query`); with `--sql`, the statements printed instead (false: nothing
/// more to do).
fn ask_clickhouse(
    a: &ReportArgs,
    url: &str,
    jobs: &mut [jobs::Job],
    window: crate::time::Window,
) -> Result<bool> {
    use floe_clickhouse::query::{answer, compile, ReportQuery};
    if !a.input.paths.is_empty() {
        return Err(CliError::Usage(format!(
            "--clickhouse answers from ClickHouse's tables; give no PATH ({})",
            a.input.paths[0].display()
        )));
    }
    let client = a.ch.client(url)?;
    let dialect = if a.sql {
        floe_clickhouse::detect_dialect(&client).unwrap_or(floe_clickhouse::Dialect::Modern)
    } else {
        floe_clickhouse::detect_dialect(&client)?
    };
    let mut text = String::new();
    for j in jobs.iter_mut() {
        let order = match (&j.outputs[..], j.per_interval) {
            ([o], false) => Some((o.sort, o.records)),
            _ => None,
        };
        let q = ReportQuery {
            kind: j.report.kind.clone(),
            options: j.report.options,
            filter: j.filter.as_ref().map(|f| f.expr().clone()),
            window: (window.from, window.to),
            order,
        };
        let c = compile(&q, &a.ch.database, &a.ch.table, dialect, !a.no_consolidated)?;
        if a.sql {
            text.push_str(&format!("-- {}\n", j.name));
            for st in c.statements() {
                text.push_str(st);
                text.push_str(";\n");
            }
            continue;
        }
        j.report = answer(&client, &q, &c)?;
    }
    if a.sql {
        let mut out = crate::out::Out::open(a.output.output.as_deref())?;
        out.text(&text)?;
        out.finish()?;
        return Ok(false);
    }
    Ok(true)
}
