//! Reports as one self-contained HTML page: no external assets (it works
//! as an e-mail body and offline), a title per report, its totals, an
//! inline SVG bar chart of the top keys and the table. Text is escaped by
//! maud; the layout narrows to one column on a phone.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::kind::KeyPart;
use crate::render::{human, pct};
use crate::{Report, Row, Val};

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
.heat{overflow-x:auto}.heat td{font-size:.75rem;white-space:nowrap}\
@media (max-width:40rem){table{font-size:.8rem}th,td{padding:.15rem .25rem}}";

/// Width of the chart's drawing area, in SVG units.
const CHART_W: f64 = 600.0;
/// Bars shown in a chart.
const BARS: usize = 15;
/// Rows of a table on a page: a page is read, or mailed; a full
/// time-series table of every key would make it megabytes.
const TABLE_ROWS: usize = 500;

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

/// A time series' octets per interval as an area chart (rows in time
/// order), with the first and last interval and the peak labelled.
fn series_chart(points: &[(Val, u64)]) -> Markup {
    let (w, h, pad) = (CHART_W, 160.0, 30.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let n = points.len().max(2) as f64 - 1.0;
    let xy = |i: usize, v: u64| {
        (
            pad + i as f64 / n * (w - 2.0 * pad),
            h - pad - v as f64 / max as f64 * (h - 2.0 * pad),
        )
    };
    let mut line = String::new();
    for (i, (_, v)) in points.iter().enumerate() {
        let (x, y) = xy(i, *v);
        line += &format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
    }
    let (x0, _) = xy(0, 0);
    let (x1, base) = xy(points.len().saturating_sub(1), 0);
    let area = format!("{line} L{x1:.1},{base:.1} L{x0:.1},{base:.1} Z");
    let first = points.first().map(|p| p.0.to_string()).unwrap_or_default();
    let last = points.last().map(|p| p.0.to_string()).unwrap_or_default();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {h}")) role="img" {
            title { "octets per interval" }
            path d=(area) fill="#3b73b9" fill-opacity="0.35" stroke="none" {}
            path d=(line) fill="none" stroke="#3b73b9" stroke-width="1.5" {}
            line x1=(pad) y1=(base) x2=(w - pad) y2=(base) stroke="#999" {}
            text x=(pad) y=(h - 8.0) font-size="10" fill="#333" { (first) }
            text x=(w - pad) y=(h - 8.0) font-size="10" fill="#333" text-anchor="end" { (last) }
            text x=(pad) y=(pad - 8.0) font-size="10" fill="#333" { "peak " (human(max)) " octets" }
        }
    }
}

/// A heat map: one row per key (the top `BARS` by octets), one column
/// per interval, each cell shaded by its octets (like the IFSTAT monthly
/// pages' per-host per-day tables).
fn heat_map(rep: &Report, rows: &[Row], at: usize) -> Markup {
    let other = 1 - at;
    let mut times: Vec<Val> = rows.iter().map(|r| r.key[at]).collect();
    times.sort();
    times.dedup();
    let mut totals: std::collections::HashMap<Val, u64> = Default::default();
    let mut cells: std::collections::HashMap<(Val, Val), u64> = Default::default();
    for r in rows {
        *totals.entry(r.key[other]).or_default() += r.counters.octets;
        *cells.entry((r.key[other], r.key[at])).or_default() += r.counters.octets;
    }
    let mut keys: Vec<(Val, u64)> = totals.into_iter().collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    keys.truncate(BARS);
    let max = cells.values().copied().max().unwrap_or(0).max(1);
    let shade = |v: u64| {
        // White to the chart blue, by the cell's share of the largest.
        let t = v as f64 / max as f64;
        let c = |full: f64| (255.0 - t * (255.0 - full)).round() as u8;
        format!(
            "background:#{:02x}{:02x}{:02x}",
            c(59.0),
            c(115.0),
            c(185.0)
        )
    };
    let label = rep.kind.parts.get(other).map_or("key", |p| p.name());
    html! {
        div.heat {
            table {
                thead { tr {
                    th { (label) }
                    @for t in &times { th { (t.to_string()) } }
                } }
                tbody { @for (k, _) in &keys { tr {
                    td.key { (k.to_string()) }
                    @for t in &times {
                        @let v = cells.get(&(*k, *t)).copied().unwrap_or(0);
                        td style=(shade(v)) title=(v) { (human(v)) }
                    }
                } } }
            }
        }
    }
}

/// The summaries: the counters and averages as a table, each
/// distribution as bars of flows per bucket.
fn summary_section(r: &HtmlReport, sum: &crate::Summary) -> Markup {
    let rep = r.report;
    let t = &rep.totals;
    let a = crate::Averages::of(t, rep.first_ms, rep.last_ms);
    let facts: [(&str, String); 10] = [
        ("flows", t.flows.to_string()),
        ("octets", human(t.octets)),
        ("packets", human(t.packets)),
        ("flows without packets (ignored)", rep.ignores.to_string()),
        ("average flow time", format!("{:.1} ms", a.flow_time)),
        (
            "average packet size",
            format!("{:.0} octets", a.packet_size),
        ),
        ("average flow size", format!("{:.0} octets", a.flow_size)),
        (
            "average packets per flow",
            format!("{:.1}", a.packets_per_flow),
        ),
        ("flows per second", format!("{:.2}", a.flows_per_second)),
        ("bits per second", human((a.octets_per_second * 8.0) as u64)),
    ];
    html! {
        section {
            h2 { (r.title) }
            table { tbody { @for (k, v) in &facts { tr { td.key { (k) } td { (v) } } } } }
            @if sum.kind == crate::SummaryKind::Detail {
                @for (name, d) in sum.distributions() {
                    h3 { (name) }
                    (bars(&d.buckets()))
                }
            }
        }
    }
}

fn section(r: &HtmlReport) -> Markup {
    let rep = r.report;
    if let Some(sum) = &rep.summary {
        return summary_section(r, sum);
    }
    let cols = rep.kind.columns();
    let series_at = rep.kind.parts.iter().position(|p| *p == KeyPart::Interval);
    let graph = match (series_at, rep.kind.parts.len()) {
        (Some(_), 1) => {
            let mut points: Vec<(Val, u64)> = r
                .rows
                .iter()
                .map(|x| (x.key[0], x.counters.octets))
                .collect();
            points.sort();
            series_chart(&points)
        }
        (Some(at), 2) => heat_map(rep, r.rows, at),
        _ => chart(r.rows),
    };
    html! {
        section {
            h2 { (r.title) }
            p.totals {
                (rep.totals.flows) " flows, " (human(rep.totals.octets)) " octets, "
                (human(rep.totals.packets)) " packets in all; " (rep.keys()) " keys"
            }
            @if !r.rows.is_empty() { (graph) }
            table {
                thead { tr {
                    @for c in &cols { th { (c) } }
                    @if let Some(c) = rep.kind.count_column() { th { (c) } }
                    th { "flows" } th { "octets" } th { "packets" } th { "octets %" }
                } }
                tbody {
                    @for row in &r.rows[..r.rows.len().min(TABLE_ROWS)] { tr {
                        @for v in &row.key { td.key { (v.to_string()) } }
                        @if let Some(n) = row.count { td { (n) } }
                        td { (row.counters.flows) }
                        td title=(row.counters.octets) { (human(row.counters.octets)) }
                        td title=(row.counters.packets) { (human(row.counters.packets)) }
                        td { (format!("{:.2}", pct(row.counters.octets, rep.totals.octets))) }
                    } }
                    @if r.rows.len() > TABLE_ROWS {
                        tr { td.key colspan=(cols.len() + 4) {
                            "… and " (r.rows.len() - TABLE_ROWS) " more rows (limit them with records or --records)"
                        } }
                    }
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
