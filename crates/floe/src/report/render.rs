//! Showing computed reports: each output of each job as text, CSV, JSON
//! or flow-report's layout, and all of them as one document (one JSON
//! array, one HTML page).

use floe_report::flowtools::render_flow_tools;
use floe_report::sym::Symbols;
use floe_report::{
    render_csv, render_html, render_json, render_text, HtmlReport, Output, Report, Row, Show,
};

use crate::report::args::Format;
use crate::report::jobs::Job;
use crate::time::Window;

/// The time window as a line for the page, in UTC.
pub fn window_text(window: Window) -> String {
    let t = |ms: i64| floe_flow::time::format_utc_ms(ms);
    match (window.from, window.to) {
        (i64::MIN, i64::MAX) => "all flows read".into(),
        (from, i64::MAX) => format!("flows from {}", t(from)),
        (i64::MIN, to) => format!("flows until {}", t(to)),
        (from, to) => format!("flows from {} to {}", t(from), t(to)),
    }
}

/// What one rendering needs besides the rows.
pub struct Style<'a> {
    /// A configuration's reports each carry a title line in CSV.
    pub titled: bool,
    /// Names of ports, protocols and AS numbers.
    pub symbols: &'a Symbols,
    /// flow-report's header shows when it ran.
    pub now_ms: i64,
}

/// One output as text, CSV, JSON or flow-tools (HTML pages gather all).
pub fn render_one(format: Format, style: &Style, j: &Job, o: &Output, rows: &[Row]) -> String {
    let show = Show {
        fields: o.fields,
        names: o.options.names.then_some(style.symbols),
    };
    let now_s = style.now_ms.div_euclid(1000);
    match format {
        Format::Text => render_text(&j.report, rows, &j.title, &show),
        // A configuration's reports each under a title line; a one-liner's
        // CSV is only the table.
        Format::Csv if style.titled => {
            format!("# {}\n{}", j.title, render_csv(&j.report, rows, &show))
        }
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
                .map(|(j, o, rows)| render_json(&j.report, rows, o.sort, o.records))
                .collect();
            // A one-liner gives one document; a configuration an array.
            let doc = match docs.len() {
                1 if !style.titled => docs.remove(0),
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
            .map(|(j, o, rows)| render_one(f, style, j, o, rows))
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
