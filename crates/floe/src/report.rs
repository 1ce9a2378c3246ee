//! `floe report`: a stat-report over flows, as text, CSV or JSON.

use clap::{Args, ValueEnum};
use floe_filter::Filter;
use floe_report::{
    render_csv, render_html, render_json, render_text, HtmlReport, Report, ReportType, Sort,
};

use crate::input::{self, InputArgs};
use crate::mail::MailArgs;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
    /// One self-contained page (tables and SVG charts; no external assets).
    Html,
}

/// Compute a stat-report (flow-tools report names).
///
/// Example: floe report -t ip-source-address/ip-destination-port --sort +octets --records 15 /var/lib/floe --day yesterday
///
/// (Here -t is the report type; the window is --start/--end, --last or --day.)
///
/// Types: any combination of ip-source-address, ip-destination-address,
/// ip-source/destination-address, ip-source-port, ip-destination-port,
/// ip-source/destination-port, ip-protocol, ip-tos, ip-next-hop-address,
/// ip-exporter-address, input-interface, output-interface,
/// input/output-interface, source-as, destination-as, source/destination-as,
/// engine-id, engine-type joined with /; and ip-address, ip-port (both ends).
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Report type (flow-tools name).
    #[arg(
        short = 't',
        long = "type",
        value_name = "TYPE",
        required_unless_present_any = ["stat_config", "daily"]
    )]
    kind: Option<String>,
    /// The daily summary of one day (default: yesterday): traffic per hour,
    /// top addresses, ports and conversations, protocols, exporter health.
    #[arg(
        long,
        value_name = "DAY",
        num_args = 0..=1,
        default_missing_value = "yesterday",
        conflicts_with_all = ["kind", "stat_config"]
    )]
    daily: Option<String>,
    /// flow-tools report configuration (stat-report / stat-definition), as flow-report -s.
    #[arg(
        short = 's',
        long = "stat-config",
        value_name = "FILE",
        requires = "definitions"
    )]
    stat_config: Option<std::path::PathBuf>,
    /// stat-definition(s) of the configuration to run, as flow-report -S.
    #[arg(short = 'S', long = "stat-definition", value_name = "NAME")]
    definitions: Vec<String>,
    /// Variable binding for the configuration's @{NAME:-default} words.
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// +FIELD largest first, -FIELD smallest first: flows, octets, packets, duration, key.
    #[arg(
        long,
        default_value = "+octets",
        value_name = "SORT",
        allow_hyphen_values = true
    )]
    sort: String,
    /// Show at most this many rows.
    #[arg(long, value_name = "N")]
    records: Option<usize>,
    /// Only flows that match this filter expression.
    #[arg(long, value_name = "EXPRESSION")]
    filter: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Most distinct keys held in memory before the report stops with an error.
    #[arg(long, default_value_t = 5_000_000, value_name = "N")]
    max_keys: usize,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    mail: MailArgs,
}

/// One report to compute: its title, type, filter and outputs.
struct Job {
    title: String,
    report: Report,
    filter: Option<Filter>,
    outputs: Vec<(Sort, Option<usize>)>,
}

pub fn run(a: ReportArgs) -> Result<i32, String> {
    if let Some(day) = &a.daily {
        return match a.format {
            Format::Text | Format::Html => {
                crate::daily::run(day, &a.input, a.format, &a.mail, a.max_keys)
            }
            _ => Err("--daily is text or html".into()),
        };
    }
    if a.stat_config.is_some() {
        return run_config(a);
    }
    let kind = ReportType::parse(a.kind.as_deref().unwrap_or("")).map_err(|e| e.to_string())?;
    let sort = Sort::parse(&a.sort).map_err(|e| e.to_string())?;
    let filter = a
        .filter
        .as_deref()
        .map(Filter::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    let window = a.input.window(crate::now_ms())?;
    let sources = input::sources(&a.input, window)?;
    let projection = projection(std::slice::from_ref(&kind), filter.iter())?;
    let (reports, errors) = input::read_parallel(
        "report",
        &sources,
        window,
        projection,
        a.input.threads,
        || Report::new(kind.clone(), a.max_keys),
        |report, flows| {
            if let Some(f) = &filter {
                flows.retain(|x| f.matches(x));
            }
            report.add(flows).map_err(|e| e.to_string())
        },
    )?;
    let report = merged(reports)?;
    let rows = report.rows(sort, a.records);
    let title = format!("{} sorted {}", report.kind.name, a.sort);
    let page_title = format!("floe report: {title}");
    let out = Delivery {
        format: a.format,
        mail: &a.mail,
        input: &a.input,
        window,
        errors,
        subject: &page_title,
    };
    out.deliver(|format| match format {
        Format::Text => render_text(&report, &rows, &title),
        Format::Csv => render_csv(&report, &rows),
        Format::Json => format!("{:#}\n", render_json(&report, &rows, sort, a.records)),
        Format::Html => render_html(
            &page_title,
            &window_text(window),
            &[HtmlReport {
                title: &title,
                report: &report,
                rows: &rows,
            }],
        ),
    })
}

/// Where a finished report goes: stdout in the asked format, or a mail
/// with a plain part (text, or the asked CSV/JSON) and the HTML page.
pub(crate) struct Delivery<'a> {
    pub format: Format,
    pub mail: &'a MailArgs,
    pub input: &'a InputArgs,
    pub window: (i64, i64),
    /// How many inputs could not be read (the exit status says so).
    pub errors: usize,
    /// The subject when --subject is not given.
    pub subject: &'a str,
}

impl Delivery<'_> {
    pub fn deliver(&self, render: impl Fn(Format) -> String) -> Result<i32, String> {
        if !self.mail.wanted() {
            return write_out(&render(self.format), self.errors);
        }
        let plain = render(match self.format {
            Format::Csv | Format::Json => self.format,
            Format::Text | Format::Html => Format::Text,
        });
        // The subject's date is the window's start: a report run after
        // midnight on yesterday's flows is dated yesterday.
        let at = match self.window.0 {
            i64::MIN => crate::now_ms(),
            from => from,
        };
        let subject = crate::mail::subject(
            self.mail.subject.as_deref().unwrap_or(self.subject),
            &self.input.zone()?,
            at,
            &floe_store::host_name(),
        )?;
        crate::mail::send(self.mail, &subject, plain, render(Format::Html))?;
        Ok(i32::from(self.errors > 0))
    }
}

/// The fields reports and their filters read: only their columns are
/// decoded.
fn projection<'a>(
    kinds: &[ReportType],
    filters: impl Iterator<Item = &'a Filter>,
) -> Result<floe_store::Projection, String> {
    let mut names: Vec<&str> = vec!["octets", "packets"];
    for k in kinds {
        names.extend(k.parts.iter().map(|p| p.name()));
        if k.both_ends {
            names.extend(k.parts.iter().map(|p| p.other_end().name()));
        }
    }
    for f in filters {
        names.extend(f.fields());
    }
    floe_store::Projection::of_fields(names)
}

/// The time window as a line for the page, in UTC.
fn window_text(window: (i64, i64)) -> String {
    let t = |ms: i64| floe_flow::time::format_utc_ms(ms);
    match window {
        (i64::MIN, i64::MAX) => "all flows read".into(),
        (from, i64::MAX) => format!("flows from {}", t(from)),
        (i64::MIN, to) => format!("flows until {}", t(to)),
        (from, to) => format!("flows from {} to {}", t(from), t(to)),
    }
}

/// Writes a finished report to stdout; the exit status says whether some
/// input could not be read. A reader that went away (`| head`) is not an
/// error.
pub(crate) fn write_out(out: &str, errors: usize) -> Result<i32, String> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.to_string()),
        Ok(()) => Ok(i32::from(errors > 0)),
    }
}

/// The threads' reports as one, the smaller merged into the larger.
pub(crate) fn merged(mut reports: Vec<Report>) -> Result<Report, String> {
    reports.sort_by_key(|r| std::cmp::Reverse(r.keys()));
    let mut it = reports.into_iter();
    let mut base = it.next().ok_or("no report")?;
    for r in it {
        base.merge(r).map_err(|e| e.to_string())?;
    }
    Ok(base)
}

fn combine(a: Option<Filter>, b: Option<Filter>) -> Option<Filter> {
    match (a, b) {
        (Some(x), Some(y)) => Some(Filter::from_expr(floe_filter::Expr::And(vec![
            x.expr().clone(),
            y.expr().clone(),
        ]))),
        (x, y) => x.or(y),
    }
}

/// Runs stat-definitions of a flow-tools report configuration, every
/// report in one pass over the flows.
fn run_config(a: ReportArgs) -> Result<i32, String> {
    let vars = input::parse_vars(&a.vars)?;
    let path = a.stat_config.clone().unwrap_or_default();
    let cfg = floe_report::statcfg::StatConfig::load(&path, &vars).map_err(|e| e.to_string())?;
    if let (Some(from), Some(to)) = (&cfg.include_filter_moved_from, &cfg.include_filter) {
        eprintln!(
            "floe report: include-filter {} not found; using {}",
            from.display(),
            to.display()
        );
    }
    let filters = cfg
        .include_filter
        .as_ref()
        .map(|p| floe_filter::FilterFile::load(p, &vars, crate::now_ms()))
        .transpose()
        .map_err(|e| e.to_string())?;
    let named = |name: &Option<String>| -> Result<Option<Filter>, String> {
        match name {
            None => Ok(None),
            Some(n) => {
                let ff = filters.as_ref().ok_or(format!(
                    "{}: filter {n} is used but no include-filter names a filter file",
                    cfg.file
                ))?;
                ff.compile(n)
                    .map(|e| Some(Filter::from_expr(e)))
                    .map_err(|e| e.to_string())
            }
        }
    };
    let mut jobs = Vec::new();
    for d in &a.definitions {
        let def = cfg.definition(d).map_err(|e| e.to_string())?;
        for r in &def.reports {
            let sr = cfg
                .report(r)
                .ok_or(format!("{}: no stat-report {r}", cfg.file))?;
            jobs.push(Job {
                title: format!(
                    "stat-report {} ({}), stat-definition {}",
                    sr.name, sr.kind.name, def.name
                ),
                report: Report::new(sr.kind.clone(), a.max_keys),
                filter: combine(named(&def.filter)?, named(&sr.filter)?),
                outputs: sr.outputs.iter().map(|o| (o.sort, o.records)).collect(),
            });
        }
    }
    let window = a.input.window(crate::now_ms())?;
    let sources = input::sources(&a.input, window)?;
    let kinds: Vec<ReportType> = jobs.iter().map(|j| j.report.kind.clone()).collect();
    let projection = projection(&kinds, jobs.iter().filter_map(|j| j.filter.as_ref()))?;
    let filters: Vec<Option<Filter>> = jobs.iter().map(|j| j.filter.clone()).collect();
    let (states, errors) = input::read_parallel(
        "report",
        &sources,
        window,
        projection,
        a.input.threads,
        || {
            let reports: Vec<Report> = kinds
                .iter()
                .map(|k| Report::new(k.clone(), a.max_keys))
                .collect();
            (reports, Vec::new())
        },
        |(reports, kept): &mut (Vec<Report>, Vec<floe_flow::Flow>), flows| {
            for (r, filter) in reports.iter_mut().zip(&filters) {
                match filter {
                    Some(f) => {
                        kept.clear();
                        kept.extend(flows.iter().filter(|x| f.matches(x)).cloned());
                        r.add(kept)
                    }
                    None => r.add(flows),
                }
                .map_err(|e| e.to_string())?;
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
    // Every output block of every report: (job, sort, records, rows).
    let outputs: Vec<(&Job, Sort, Option<usize>, Vec<floe_report::Row>)> = jobs
        .iter()
        .flat_map(|j| {
            j.outputs
                .iter()
                .map(move |(sort, records)| (j, *sort, *records, j.report.rows(*sort, *records)))
        })
        .collect();
    let page_title = format!("floe report: {}", a.definitions.join(", "));
    let out = Delivery {
        format: a.format,
        mail: &a.mail,
        input: &a.input,
        window,
        errors,
        subject: &page_title,
    };
    out.deliver(|format| match format {
        Format::Text => outputs
            .iter()
            .map(|(j, _, _, rows)| render_text(&j.report, rows, &j.title) + "\n")
            .collect(),
        Format::Csv => outputs
            .iter()
            .map(|(j, _, _, rows)| format!("# {}\n{}", j.title, render_csv(&j.report, rows)))
            .collect(),
        Format::Json => {
            let docs = outputs
                .iter()
                .map(|(j, sort, records, rows)| render_json(&j.report, rows, *sort, *records))
                .collect();
            format!("{:#}\n", serde_json::Value::Array(docs))
        }
        Format::Html => {
            let sections: Vec<HtmlReport> = outputs
                .iter()
                .map(|(j, _, _, rows)| HtmlReport {
                    title: &j.title,
                    report: &j.report,
                    rows,
                })
                .collect();
            render_html(&page_title, &window_text(window), &sections)
        }
    })
}
