//! `floe report`: stat-reports over flows, as text, CSV, JSON, HTML or
//! flow-report's own layout; one-liners with -t, or flow-tools stat.cfg
//! files with -s/-S, every report in one pass.

use clap::{Args, ValueEnum};
use floe_filter::Filter;
use floe_report::flowtools::render_flow_tools;
use floe_report::sym::Symbols;
use floe_report::{
    render_csv, render_html, render_json, render_text, AddrFormat, HtmlReport, KeyPart, Output,
    Report, ReportOptions, ReportType, Row, Scale, Show,
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
    /// flow-report's ascii layout (# recn: lines, comma-separated rows).
    FlowTools,
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
/// engine-id, engine-type, and the distributions packet-size, octets,
/// packets, bps, pps, duration, and time-series, joined with /; and
/// ip-address, ip-port (both ends), ip-source-address-destination-count,
/// ip-destination-address-source-count, summary-counters, summary-detail.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Report type (flow-tools name); repeat for several reports in one pass.
    #[arg(
        short = 't',
        long = "type",
        value_name = "TYPE",
        required_unless_present_any = ["stat_config", "daily"]
    )]
    kinds: Vec<String>,
    /// The daily summary of one day (default: yesterday): traffic per hour,
    /// top addresses, ports and conversations, protocols, exporter health.
    #[arg(
        long,
        value_name = "DAY",
        num_args = 0..=1,
        default_missing_value = "yesterday",
        conflicts_with_all = ["kinds", "stat_config"]
    )]
    daily: Option<String>,
    /// flow-tools report configuration (stat-report / stat-definition), as flow-report -s.
    #[arg(short = 's', long = "stat-config", value_name = "FILE")]
    stat_config: Option<std::path::PathBuf>,
    /// stat-definition(s) of the configuration to run, as flow-report -S.
    #[arg(
        short = 'S',
        long = "stat-definition",
        value_name = "NAME",
        requires = "stat_config"
    )]
    definitions: Vec<String>,
    /// Every stat-definition of the configuration, in its order.
    #[arg(long, requires = "stat_config", conflicts_with = "definitions")]
    all_reports: bool,
    /// Variable binding for the configuration's @{NAME:-default} words.
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// +FIELD largest first, -FIELD smallest first: flows, octets, packets,
    /// duration, key, key1..key4, avg-bps, min-bps, max-bps, avg-pps,
    /// min-pps, max-pps, count [default: +octets; time series -key].
    #[arg(long, value_name = "SORT", allow_hyphen_values = true)]
    sort: Option<String>,
    /// Columns on or off, as flow-tools' fields: e.g. +avg-bps,+max-pps,-duration.
    #[arg(long, value_name = "+NAME,-NAME", allow_hyphen_values = true)]
    fields: Option<String>,
    /// flow-tools output options: +header, +xheader, +totals, +percent-total, +names.
    #[arg(long, value_name = "+NAME,-NAME", allow_hyphen_values = true)]
    options: Option<String>,
    /// A #TALLY line of running percentages every N rows (flow-tools format).
    #[arg(long, value_name = "N")]
    tally: Option<u64>,
    /// Octets and packets times N, or times each flow's sampling interval (`sampling`).
    #[arg(long, value_name = "N|sampling")]
    scale: Option<String>,
    /// Source addresses as address, prefix-mask (the network, by the flow's
    /// mask), prefix-len (the address and its mask length), or the network
    /// of a fixed /V4[,V6] length (prefix-mask/24).
    #[arg(long, value_name = "FORMAT")]
    src_format: Option<String>,
    /// Destination addresses, as --src-format.
    #[arg(long, value_name = "FORMAT")]
    dst_format: Option<String>,
    /// Interval of time-series reports, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    interval: u64,
    /// Directory of flow-tools symbol files (ip-prot.sym, tcp-port.sym,
    /// asn.sym) for +names; floe's own are used for files not there.
    #[arg(long, value_name = "DIR")]
    symbols: Option<std::path::PathBuf>,
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
    /// The stat-report's name (flow-tools header).
    name: String,
    report: Report,
    filter: Option<Filter>,
    outputs: Vec<Output>,
    /// Rows per interval (a stat-definition's time-series).
    per_interval: bool,
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
    let mut jobs = Vec::new();
    for name in &a.kinds {
        let kind = ReportType::parse(name).map_err(|e| e.to_string())?;
        let series = kind.parts.contains(&KeyPart::Interval);
        let sort = a
            .sort
            .as_deref()
            .unwrap_or(if series { "-key" } else { "+octets" });
        let mut out = Output::new(sort).map_err(|e| e.to_string())?;
        out.records = a.records;
        out.tally = a.tally.filter(|t| *t > 0);
        if let Some(f) = &a.fields {
            out.fields.apply(f).map_err(|e| e.to_string())?;
        }
        if let Some(o) = &a.options {
            out.options.apply(o).map_err(|e| e.to_string())?;
        }
        let options = ReportOptions {
            src_format: a
                .src_format
                .as_deref()
                .map(AddrFormat::parse)
                .transpose()
                .map_err(|e| e.to_string())?
                .unwrap_or_default(),
            dst_format: a
                .dst_format
                .as_deref()
                .map(AddrFormat::parse)
                .transpose()
                .map_err(|e| e.to_string())?
                .unwrap_or_default(),
            scale: a
                .scale
                .as_deref()
                .map(Scale::parse)
                .transpose()
                .map_err(|e| e.to_string())?
                .unwrap_or_default(),
            interval_secs: a.interval.max(1),
            rates: out.needs_rates(),
        };
        let filter = a
            .filter
            .as_deref()
            .map(Filter::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        jobs.push(Job {
            title: format!("{} sorted {}", kind.name, out.sort.name()),
            name: kind.name.clone(),
            report: Report::with_options(kind, a.max_keys, options),
            filter,
            outputs: vec![out],
            per_interval: false,
        });
    }
    let titles: Vec<&str> = jobs.iter().map(|j| j.title.as_str()).collect();
    let page_title = format!("floe report: {}", titles.join(", "));
    run_jobs(&a, jobs, &page_title)
}

/// The fields reports and their filters read: only their columns are
/// decoded.
fn projection<'a>(
    reports: impl Iterator<Item = &'a Report>,
    filters: impl Iterator<Item = &'a Filter>,
) -> Result<floe_store::Projection, String> {
    let mut names: Vec<&str> = Vec::new();
    for r in reports {
        names.extend(r.fields());
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
    let all: Vec<String> = cfg.definitions.iter().map(|d| d.name.clone()).collect();
    let definitions = if a.all_reports { &all } else { &a.definitions };
    if definitions.is_empty() {
        return Err(format!(
            "{}: name the stat-definitions to run with -S NAME, or --all-reports; defined: {}",
            cfg.file,
            all.join(", ")
        ));
    }
    let mut jobs = Vec::new();
    for d in definitions {
        let def = cfg.definition(d).map_err(|e| e.to_string())?;
        for r in &def.reports {
            let sr = cfg
                .report(r)
                .ok_or(format!("{}: no stat-report {r}", cfg.file))?;
            let mut kind = sr.kind.clone();
            let mut options = sr.options;
            if let Some(secs) = def
                .time_series
                .filter(|_| kind.parts.contains(&KeyPart::Interval))
            {
                // The report is a time series already: the definition sets its interval.
                options.interval_secs = secs;
            } else if let Some(secs) = def.time_series {
                if kind.both_ends || kind.count || kind.summary.is_some() {
                    return Err(format!(
                        "{}: stat-definition {}: time-series applies to keyed reports, not {}",
                        cfg.file, def.name, kind.name
                    ));
                }
                if kind.parts.len() >= floe_report::MAX_PARTS {
                    return Err(format!(
                        "{}: stat-definition {}: {} has no room for a time-series key (at most {} parts)",
                        cfg.file, def.name, kind.name, floe_report::MAX_PARTS
                    ));
                }
                kind.parts.insert(0, KeyPart::Interval);
                options.interval_secs = secs;
            }
            jobs.push(Job {
                title: format!(
                    "stat-report {} ({}), stat-definition {}",
                    sr.name, sr.kind.name, def.name
                ),
                name: sr.name.clone(),
                report: Report::with_options(kind, a.max_keys, options),
                filter: combine(named(&def.filter)?, named(&sr.filter)?),
                outputs: sr.outputs.clone(),
                per_interval: def.time_series.is_some(),
            });
        }
    }
    let page_title = format!("floe report: {}", definitions.join(", "));
    run_jobs(&a, jobs, &page_title)
}

/// Computes every job's report in one pass over the flows, then shows
/// each of their outputs.
fn run_jobs(a: &ReportArgs, mut jobs: Vec<Job>, page_title: &str) -> Result<i32, String> {
    let window = a.input.window(crate::now_ms())?;
    let sources = input::sources(&a.input, window)?;
    let kinds: Vec<ReportType> = jobs.iter().map(|j| j.report.kind.clone()).collect();
    let options: Vec<ReportOptions> = jobs.iter().map(|j| j.report.options).collect();
    let projection = projection(
        jobs.iter().map(|j| &j.report),
        jobs.iter().filter_map(|j| j.filter.as_ref()),
    )?;
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
                .zip(&options)
                .map(|(k, o)| Report::with_options(k.clone(), a.max_keys, *o))
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
    let symbols = match &a.symbols {
        Some(dir) => Symbols::load(dir).map_err(|e| e.to_string())?,
        None => Symbols::builtin(),
    };
    let now_ms = crate::now_ms();
    let zone = a.input.zone()?;
    let titled = a.stat_config.is_some();
    // Every output of every report: (job, output, rows). Outputs with a
    // path go there; the others make up the page.
    let mut shown = Vec::new();
    for j in &jobs {
        for o in &j.outputs {
            let rows = if j.per_interval {
                per_interval(&j.report, o)
            } else {
                j.report.rows(o.sort, o.records)
            };
            match &o.path {
                Some(path) => {
                    let text = render_one(a.format, titled, j, o, &rows, &symbols, now_ms);
                    let at = o.time.at(now_ms, j.report.first_ms, j.report.last_ms);
                    write_path(path, &zone.strftime(at, path)?, &text)?;
                }
                None => shown.push((j, o, rows)),
            }
        }
    }
    let out = Delivery {
        format: a.format,
        mail: &a.mail,
        input: &a.input,
        window,
        errors,
        subject: page_title,
    };
    out.deliver(|format| match format {
        Format::Json => {
            let mut docs: Vec<serde_json::Value> = shown
                .iter()
                .map(|(j, o, rows)| render_json(&j.report, rows, o.sort, o.records))
                .collect();
            // A one-liner gives one document; a configuration an array.
            let doc = match docs.len() {
                1 if a.stat_config.is_none() => docs.remove(0),
                _ => serde_json::Value::Array(docs),
            };
            format!("{doc:#}\n")
        }
        Format::Html => {
            let sections: Vec<HtmlReport> = shown
                .iter()
                .map(|(j, _, rows)| HtmlReport {
                    title: &j.title,
                    report: &j.report,
                    rows,
                })
                .collect();
            render_html(page_title, &window_text(window), &sections)
        }
        f => shown
            .iter()
            .map(|(j, o, rows)| render_one(f, titled, j, o, rows, &symbols, now_ms))
            .collect::<Vec<_>>()
            .join(if f == Format::Text { "\n" } else { "" }),
    })
}

/// One output as text, CSV, JSON or flow-tools (HTML pages gather all).
fn render_one(
    format: Format,
    titled: bool,
    j: &Job,
    o: &Output,
    rows: &[Row],
    symbols: &Symbols,
    now_ms: i64,
) -> String {
    let show = Show {
        fields: o.fields,
        names: o.options.names.then_some(symbols),
    };
    match format {
        Format::Text => render_text(&j.report, rows, &j.title, &show),
        // A configuration's reports each under a title line; a one-liner's
        // CSV is only the table.
        Format::Csv if titled => format!("# {}\n{}", j.title, render_csv(&j.report, rows, &show)),
        Format::Csv => render_csv(&j.report, rows, &show),
        Format::Json => format!("{:#}\n", render_json(&j.report, rows, o.sort, o.records)),
        Format::Html => render_html(
            &j.title,
            "",
            &[HtmlReport {
                title: &j.title,
                report: &j.report,
                rows,
            }],
        ),
        // A definition's time series: one report per interval, as
        // flow-report appends them (the header and totals once, first).
        Format::FlowTools if j.per_interval => {
            let mut out = String::new();
            let mut o = o.clone();
            for group in rows.chunk_by(|a, b| a.key[0] == b.key[0]) {
                out += &render_flow_tools(
                    &j.report,
                    group,
                    &o,
                    &j.name,
                    Some(symbols),
                    now_ms.div_euclid(1000),
                );
                o.options.header = false;
                o.options.totals = false;
            }
            out
        }
        Format::FlowTools => render_flow_tools(
            &j.report,
            rows,
            o,
            &j.name,
            Some(symbols),
            now_ms.div_euclid(1000),
        ),
    }
}

/// A stat-definition's time series: each interval's rows in the output's
/// sort, at most `records` of them per interval, intervals in time order
/// (what flow-report prints, one report per interval).
fn per_interval(r: &Report, o: &Output) -> Vec<Row> {
    let mut rows = r.rows(o.sort, None);
    rows.sort_by(|a, b| a.key[0].cmp(&b.key[0]));
    let mut out = Vec::with_capacity(rows.len());
    let mut run = 0;
    for (i, row) in rows.iter().enumerate() {
        run = if i > 0 && rows[i - 1].key[0] == row.key[0] {
            run + 1
        } else {
            0
        };
        if o.records.is_none_or(|n| run < n) {
            out.push(row.clone());
        }
    }
    out
}

/// An output's `path`: a file (its directories made), or with a leading
/// `|` a command run by sh with the output on its standard input.
fn write_path(template: &str, path: &str, text: &str) -> Result<(), String> {
    if let Some(cmd) = path.strip_prefix('|') {
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", cmd]);
        return crate::pipe::pipe_into(sh, &format!("path {template}: {cmd}"), text.as_bytes());
    }
    let p = std::path::Path::new(path);
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("path {template}: {}: {e}", dir.display()))?;
    }
    std::fs::write(p, text).map_err(|e| format!("path {template}: {path}: {e}"))
}

/// Where a finished report goes: stdout in the asked format, or a mail
/// with a plain part (text, or the asked CSV/JSON/flow-tools layout) and
/// the HTML page.
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
            Format::Text | Format::Html => Format::Text,
            other => other,
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
