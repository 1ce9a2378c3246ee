//! Reports as one self-contained HTML page: no external assets (it works
//! as an e-mail body and offline), a title per report, its totals, an
//! inline SVG bar chart of the top keys and the table. Text is escaped by
//! maud; the layout narrows to one column on a phone.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::render::{human, pct};
use crate::{Report, Row};

/// One report on the page.
pub struct HtmlReport<'a> {
    pub title: &'a str,
    pub report: &'a Report,
    pub rows: &'a [Row],
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td.key{text-align:left;font-family:ui-monospace,monospace}\
.totals{color:#555;font-size:.9rem}svg{width:100%;height:auto;max-width:40rem}\
@media (max-width:40rem){table{font-size:.8rem}th,td{padding:.15rem .25rem}}";

/// Width of the chart's drawing area, in SVG units.
const CHART_W: f64 = 600.0;
/// Bars shown in a chart.
const BARS: usize = 15;

fn key_text(r: &Row) -> String {
    r.key
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A horizontal bar chart of the rows' octets (the first `BARS`).
fn chart(rows: &[Row]) -> Markup {
    let shown = &rows[..rows.len().min(BARS)];
    let max = shown
        .iter()
        .map(|r| r.counters.octets)
        .max()
        .unwrap_or(0)
        .max(1);
    let bar_h = 18.0;
    let label_w = 230.0;
    let height = bar_h * shown.len() as f64 + 4.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {} {height}", CHART_W + label_w)) role="img" {
            title { "octets per key" }
            @for (i, r) in shown.iter().enumerate() {
                @let y = i as f64 * bar_h + 2.0;
                @let w = (r.counters.octets as f64 / max as f64 * (CHART_W - 70.0)).max(1.0);
                text x=(label_w - 6.0) y=(y + 13.0) text-anchor="end" font-size="12" font-family="monospace" { (key_text(r)) }
                rect x=(label_w) y=(y) width=(format!("{w:.1}")) height=(bar_h - 4.0) fill="#3b73b9" {}
                text x=(label_w + w + 4.0) y=(y + 13.0) font-size="11" fill="#333" { (human(r.counters.octets)) }
            }
        }
    }
}

fn section(r: &HtmlReport) -> Markup {
    let rep = r.report;
    let cols = rep.kind.columns();
    html! {
        section {
            h2 { (r.title) }
            p.totals {
                (rep.totals.flows) " flows, " (human(rep.totals.octets)) " octets, "
                (human(rep.totals.packets)) " packets in all; " (rep.keys()) " keys"
            }
            @if !r.rows.is_empty() { (chart(r.rows)) }
            table {
                thead { tr {
                    @for c in &cols { th { (c) } }
                    th { "flows" } th { "octets" } th { "packets" } th { "octets %" }
                } }
                tbody {
                    @for row in r.rows { tr {
                        @for v in &row.key { td.key { (v.to_string()) } }
                        td { (row.counters.flows) }
                        td title=(row.counters.octets) { (human(row.counters.octets)) }
                        td title=(row.counters.packets) { (human(row.counters.packets)) }
                        td { (format!("{:.2}", pct(row.counters.octets, rep.totals.octets))) }
                    } }
                }
            }
        }
    }
}

/// A table that is not a report (a daily summary's hours, exporters'
/// health), with an optional bar per row.
pub struct HtmlTable<'a> {
    pub title: &'a str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// (label, value) bars drawn above the table.
    pub bars: Vec<(String, u64)>,
}

/// One section of a page.
pub enum HtmlSection<'a> {
    Report(HtmlReport<'a>),
    Table(HtmlTable<'a>),
}

fn bars(items: &[(String, u64)]) -> Markup {
    let max = items.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let bar_h = 16.0;
    let label_w = 120.0;
    let height = bar_h * items.len() as f64 + 4.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {} {height}", CHART_W + label_w)) role="img" {
            @for (i, (label, v)) in items.iter().enumerate() {
                @let y = i as f64 * bar_h + 2.0;
                @let w = (*v as f64 / max as f64 * (CHART_W - 70.0)).max(if *v > 0 { 1.0 } else { 0.0 });
                text x=(label_w - 6.0) y=(y + 12.0) text-anchor="end" font-size="11" font-family="monospace" { (label) }
                rect x=(label_w) y=(y) width=(format!("{w:.1}")) height=(bar_h - 4.0) fill="#3b73b9" {}
                text x=(label_w + w + 4.0) y=(y + 12.0) font-size="10" fill="#333" { (human(*v)) }
            }
        }
    }
}

fn table_section(t: &HtmlTable) -> Markup {
    html! {
        section {
            h2 { (t.title) }
            @if !t.bars.is_empty() { (bars(&t.bars)) }
            table {
                thead { tr { @for c in &t.columns { th { (c) } } } }
                tbody { @for r in &t.rows { tr {
                    @for (i, v) in r.iter().enumerate() {
                        @if i == 0 { td.key { (v) } } @else { td { (v) } }
                    }
                } } }
            }
        }
    }
}

/// The page: `title`, a line under it (time window, host...), the reports.
pub fn render_html(title: &str, subtitle: &str, reports: &[HtmlReport]) -> String {
    let sections: Vec<HtmlSection> = reports
        .iter()
        .map(|r| {
            HtmlSection::Report(HtmlReport {
                title: r.title,
                report: r.report,
                rows: r.rows,
            })
        })
        .collect();
    render_html_sections(title, subtitle, &sections)
}

/// A page of reports and tables, in order.
pub fn render_html_sections(title: &str, subtitle: &str, sections: &[HtmlSection]) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                p.totals { (subtitle) }
                @for s in sections {
                    @match s {
                        HtmlSection::Report(r) => (section(r)),
                        HtmlSection::Table(t) => (table_section(t)),
                    }
                }
            }
        }
    };
    page.into_string()
}
