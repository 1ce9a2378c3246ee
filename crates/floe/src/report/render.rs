//! Showing computed reports: each output of each job as text, CSV, JSON
//! or flow-report's layout, and all of them as one document (one JSON
//! array, one HTML page, for a browser or a mail).

use floe_report::flowtools::render_flow_tools;
use floe_report::sym::Symbols;
use floe_report::words::{self, Clock};
use floe_report::{
    render_csv, render_json, render_page, render_text, HtmlReport, HtmlSection, Output, Page,
    PageHead, Report, Row, Show, Target,
};

use crate::report::args::Format;
use crate::report::jobs::Job;
use crate::time::Window;

/// What one rendering needs besides the rows.
pub struct Style<'a> {
    /// A configuration's reports each carry a title line in CSV.
    pub titled: bool,
    /// Names of ports, protocols and AS numbers.
    pub symbols: &'a Symbols,
    /// Names for people (off with --numeric).
    pub names: bool,
    /// The zone times are shown in.
    pub clock: &'a dyn Clock,
    /// flow-report's header shows when it ran.
    pub now_ms: i64,
}

impl Style<'_> {
    fn show(&self, o: &Output) -> Show<'_> {
        Show {
            fields: o.fields,
            names: self.names.then_some(self.symbols),
            clock: self.clock,
            brief: false,
        }
    }
}

/// The page's title and the window in words: `Top 15 source addresses
/// by bytes, 2026-12-05 00:00 to 24:00 (UTC)`; without a window, the
/// data's own range is the one to say.
pub fn titled(
    title: &str,
    clock: &dyn Clock,
    window: Window,
    first_ms: i64,
    last_ms: i64,
) -> String {
    let w = words::window(clock, window.from, window.to).or_else(|| {
        (first_ms <= last_ms).then(|| {
            format!(
                "{} ({})",
                words::span(clock, first_ms, last_ms, false),
                clock.label()
            )
        })
    });
    match w {
        Some(w) => format!("{title}, {w}"),
        None => title.to_string(),
    }
}

/// One output's title with the window.
fn output_title(style: &Style, j: &Job, o: &Output, window: Window) -> String {
    titled(
        &j.title(o),
        style.clock,
        window,
        j.report.first_ms,
        j.report.last_ms,
    )
}

/// One output as text, CSV, JSON or flow-tools (HTML pages gather all).
pub fn render_one(
    format: Format,
    style: &Style,
    j: &Job,
    o: &Output,
    rows: &[Row],
    window: Window,
) -> String {
    let show = style.show(o);
    let now_s = style.now_ms.div_euclid(1000);
    match format {
        Format::Text => render_text(&j.report, rows, &output_title(style, j, o, window), &show),
        // A configuration's reports each under a title line; a one-liner's
        // CSV is only the table.
        Format::Csv if style.titled => {
            format!("# {}\n{}", j.title(o), render_csv(&j.report, rows, &show))
        }
        Format::Csv => render_csv(&j.report, rows, &show),
        Format::Json => format!(
            "{:#}\n",
            render_json(&j.report, rows, o.sort, o.records, &show)
        ),
        Format::Html => {
            render_pages(
                style,
                &[(j, o, rows.to_vec())],
                &j.title(o),
                window,
                Target::Page,
            )
            .html
        }
        // A definition's time series: one report per interval, as
        // flow-report appends them (the header and totals once, first).
        Format::FlowTools if j.per_interval => {
            let mut out = String::new();
            let mut o = o.clone();
            for group in rows.chunk_by(|a, b| a.key[0] == b.key[0]) {
                out +=
                    &render_flow_tools(&j.report, group, &o, &j.name, Some(style.symbols), now_s);
                o.options.header = false;
                o.options.totals = false;
            }
            out
        }
        Format::FlowTools => {
            render_flow_tools(&j.report, rows, o, &j.name, Some(style.symbols), now_s)
        }
    }
}

/// The outputs as one HTML page: the page's title with the window, the
/// data's range, then each output under its title in words.
pub fn render_pages(
    style: &Style,
    shown: &[(&Job, &Output, Vec<Row>)],
    page_title: &str,
    window: Window,
    target: Target,
) -> Page {
    let first = shown.iter().map(|s| s.0.report.first_ms).min().unwrap_or(0);
    let last = shown.iter().map(|s| s.0.report.last_ms).max().unwrap_or(-1);
    let title = titled(page_title, style.clock, window, first, last);
    let titles: Vec<String> = shown.iter().map(|(j, o, _)| j.title(o)).collect();
    let sections: Vec<HtmlSection> = shown
        .iter()
        .zip(&titles)
        .map(|((j, o, rows), t)| {
            HtmlSection::Report(HtmlReport {
                title: t,
                report: &j.report,
                rows,
                sort: o.sort,
            })
        })
        .collect();
    let mut lines = Vec::new();
    if let Some(range) = words::data_range(style.clock, first, last) {
        lines.push(words::capitalise(&range));
    }
    // When every report covers the same flows, the page says their
    // range once.
    let same = shown
        .iter()
        .map(|(j, _, _)| (j.report.first_ms, j.report.last_ms, j.report.totals.flows))
        .reduce(|a, b| if a == b { a } else { (0, -1, u64::MAX) });
    let flows = same.map_or(u64::MAX, |s| s.2);
    let head = PageHead {
        title: &title,
        lines,
        facts: Vec::new(),
        legend: false,
        range: Some((first, last, flows)),
    };
    // Names (or numbers) and the zone are the page's; the fields of the
    // first output.
    let show = Show {
        fields: shown.first().map(|s| s.1.fields).unwrap_or_default(),
        names: style.names.then_some(style.symbols),
        clock: style.clock,
        brief: false,
    };
    render_page(&head, &sections, &show, target)
}

/// The outputs shown together, as one document: a JSON array (one
/// document for a one-liner's one report), one HTML page, or the outputs
/// one after the other.
pub fn render_all(
    format: Format,
    style: &Style,
    shown: &[(&Job, &Output, Vec<Row>)],
    page_title: &str,
    window: Window,
) -> String {
    match format {
        Format::Json => {
            let mut docs: Vec<serde_json::Value> = shown
                .iter()
                .map(|(j, o, rows)| render_json(&j.report, rows, o.sort, o.records, &style.show(o)))
                .collect();
            // A one-liner gives one document; a configuration an array.
            let doc = match docs.len() {
                1 if !style.titled => docs.remove(0),
                _ => serde_json::Value::Array(docs),
            };
            format!("{doc:#}\n")
        }
        Format::Html => render_pages(style, shown, page_title, window, Target::Page).html,
        f => shown
            .iter()
            .map(|(j, o, rows)| render_one(f, style, j, o, rows, window))
            .collect::<Vec<_>>()
            .join(if f == Format::Text { "\n" } else { "" }),
    }
}

/// A stat-definition's time series: each interval's rows in the output's
/// sort, at most `records` of them per interval, intervals in time order
/// (what flow-report prints, one report per interval).
pub fn per_interval(r: &Report, o: &Output) -> Vec<Row> {
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

/// The rows an output shows.
pub fn rows(j: &Job, o: &Output) -> Vec<Row> {
    if j.per_interval {
        per_interval(&j.report, o)
    } else {
        j.report.rows(o.sort, o.records)
    }
}
