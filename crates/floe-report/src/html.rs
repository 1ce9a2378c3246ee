//! Reports as one self-contained HTML page, for a browser, a phone, a
//! printer and a mail client: no external assets, every text escaped
//! (maud).
//!
//! What the page holds:
//!
//! * A title and the time window in words, the data's time range, and
//!   the figures that matter, on top.
//! * A top-N as a table whose middle column is the bar chart: one row per
//!   key, its bar with the number on it, the columns that add to it
//!   (shares, the other counters, rates) beside. The chart and the table
//!   are one, aligned, made of table cells: they draw in Gmail and
//!   Outlook, which drop SVG, and keep their text readable at any width.
//!   Below 600 px wide the side columns fold into a line under the key.
//! * Traffic over time as a stacked area chart (one layer per protocol
//!   family or per top key, with the rest as "other"), with a heat map of
//!   keys by interval as a second view when there are many keys. Its
//!   shapes are inline SVG on a page ([`Target::Page`]) and a PNG image
//!   in a mail ([`Target::Mail`]; the image goes in the message as a
//!   `cid:` part, [`Image`]); its scale, times and legend are HTML text.
//! * Exporter health with the exporters that need attention first, in
//!   the warning colour, with what went wrong and what it means.
//!
//! Colours carry meaning (sources blue, destinations green, protocol
//! families, problems vermillion) from a palette colour-blind readers
//! tell apart ([`crate::chart`]); every colour has its words beside it,
//! and bars print (`print-color-adjust: exact`). No text is smaller than
//! 12 px. The functions take report data and return HTML: no I/O, for
//! the command line and a web server alike.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::chart::{self, Area, Colour, Layer};
use crate::health::ExporterHealth;
use crate::kind::KeyPart;
use crate::names::Label;
use crate::render::{
    count_words, join_key, rows_count, summary_facts, Figures, Show, SUMMARY_NOTE,
};
use crate::report::{Report, Row, Sort, SortField};
use crate::words;
use crate::Val;

/// Where the page goes: a browser, or a mail client (charts as PNG
/// images in `cid:` parts instead of inline SVG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A web page: charts as inline SVG.
    Page,
    /// A mail: charts as PNG parts.
    Mail,
}

/// An image a mail's HTML shows as `cid:CID`, to go in the message as an
/// inline part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The content id, without the angle brackets: `chart1@floe`.
    pub cid: String,
    /// The image.
    pub png: Vec<u8>,
}

/// A rendered page and the images it refers to (none on a web page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The HTML document.
    pub html: String,
    /// The images it shows as `cid:` parts (for mail).
    pub images: Vec<Image>,
}

/// One report on the page.
pub struct HtmlReport<'a> {
    /// The section's heading.
    pub title: &'a str,
    /// The report the rows come from (totals, window).
    pub report: &'a Report,
    /// The rows shown.
    pub rows: &'a [Row],
    /// The sort of the rows: the bars show what they are sorted by.
    pub sort: Sort,
}

/// Traffic over time that is not a report (a daily summary's hours).
pub struct HtmlSeries<'a> {
    /// The section's heading.
    pub title: &'a str,
    /// What the values are, for the scale: `bit/s`.
    pub unit: fn(f64) -> String,
    /// The chart.
    pub area: Area,
    /// Time labels spread evenly under the chart, first at its left
    /// edge, last at its right edge (3 or 5 read best).
    pub ticks: Vec<String>,
    /// The start of each point's interval, for the peak's caption.
    pub points: Vec<String>,
    /// A sentence under the chart.
    pub note: String,
    /// A table of the figures per point, folded under the chart:
    /// (headings, rows).
    pub details: Option<(Vec<String>, Vec<Vec<String>>)>,
}

/// Exporter health.
pub struct HtmlHealth<'a> {
    /// The section's heading.
    pub title: &'a str,
    /// The exporters, as the table lists them.
    pub exporters: &'a [ExporterHealth],
    /// Sentences under the table.
    pub note: String,
}

/// One section of a page.
pub enum HtmlSection<'a> {
    /// A report table with bars.
    Report(HtmlReport<'a>),
    /// A chart over time.
    Series(HtmlSeries<'a>),
    /// The exporters' health.
    Health(HtmlHealth<'a>),
    /// A heading and paragraphs.
    Text(&'a str, Vec<String>),
}

/// The top of a page.
pub struct PageHead<'a> {
    /// The page title.
    pub title: &'a str,
    /// Lines under the title: the window in words, the data's range.
    pub lines: Vec<String>,
    /// The key figures, as (value, what): ("180", "flows").
    pub facts: Vec<(String, String)>,
    /// Show what the colours mean.
    pub legend: bool,
    /// The data's range (first flow's start, last flow's end) and flows
    /// that `lines` and `facts` state for the whole page; sections with
    /// the same do not repeat them.
    pub range: Option<(i64, i64, u64)>,
}

const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
margin:0 auto;max-width:66rem;padding:12px 16px;color:#1a1a1a;background:#fff}\
h1{font-size:22px;line-height:1.25;margin:8px 0 6px}\
h2{font-size:18px;line-height:1.3;margin:30px 0 6px;padding-top:10px;border-top:1px solid #ddd}\
h3{font-size:15px;margin:18px 0 4px}\
p{margin:4px 0}.when{color:#333;font-size:14px}.note{color:#444;font-size:13px;margin-top:6px}\
.facts{font-size:15px;margin:10px 0}.facts b{font-size:17px}\
.legend{font-size:13px;color:#333}.sw{font-size:16px}\
table{border-collapse:collapse;width:100%;font-size:14px}\
th{font-weight:600;font-size:13px;text-align:right;color:#333;border-bottom:1px solid #999;padding:4px 6px;vertical-align:bottom}\
td{padding:3px 6px;text-align:right;border-bottom:1px solid #e4e4e4;vertical-align:middle;font-variant-numeric:tabular-nums;white-space:nowrap}\
th.k,td.k{text-align:left}\
td.k{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;overflow-wrap:anywhere;word-break:break-word;white-space:normal;min-width:9.5em}\
.nm{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#444}\
th.bar,td.bar{width:42%;text-align:left}\
table.b{width:100%;border-collapse:collapse}table.b td{padding:0 5px;border:0;height:22px;font-size:13px;white-space:nowrap;text-align:left}\
table.b td.f{text-align:right}\
.more{display:none;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#444;font-size:12px;margin-top:2px}\
tr.bad td{background:#fdeee4}tr.bad td.k{border-left:4px solid #d55e00}tr.lead td{border-bottom:0}\
.warn{color:#a63c00;font-weight:600}.ok{color:#2c6e49}\
table.kv{max-width:40rem}.why{color:#333;font-size:13px;white-space:normal;text-align:left;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}\
tr.bad td.why{border-left:4px solid #d55e00;padding:2px 6px 6px 10px}tr.bad td.why div{margin:2px 0}\
.chart{display:block;width:100%;max-width:960px;height:auto;aspect-ratio:640/200;border:0}\
table.ticks{max-width:960px;font-size:12px;color:#333}table.ticks td{border:0;padding:2px 0}\
.heat td{padding:0;height:18px;border:1px solid #fff}.heat td.k{padding:0 6px 0 0;font-size:12px;white-space:normal}\
.heat th{font-size:12px;font-weight:normal;text-align:left;padding:2px 0}\
details{margin-top:8px}summary{cursor:pointer;color:#0a5a8c;font-size:14px}\
@media (max-width:600px){body{padding:8px}h1{font-size:20px}.x{display:none}.more{display:block}\
th.bar,td.bar{width:48%}td.k{font-size:12px}}\
@media print{body{max-width:none;padding:0;font-size:11pt}\
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}\
h2{break-after:avoid}tr{break-inside:avoid}th.bar,td.bar{width:30%}summary{display:none}details>table{display:table}\
@page{size:A4;margin:14mm}}";

/// Rows of a table on a page: a page is read, or mailed; a full
/// time-series table of every key would make it megabytes.
const TABLE_ROWS: usize = 500;
/// Layers of a stacked area chart (the rest are "other"); more keys than
/// this add a heat map.
const LAYERS: usize = 6;
/// Keys of a heat map, and its columns (intervals are grouped to fit a
/// phone).
const HEAT_KEYS: usize = 15;
const HEAT_COLUMNS: usize = 24;

/// What the page is being rendered for, and the images of a mail.
struct Ctx<'a> {
    show: &'a Show<'a>,
    target: Target,
    images: Vec<Image>,
    /// The page's data range and flows, said once on top: a section
    /// says its own only when they differ.
    page: Option<(i64, i64, u64)>,
    /// The page's title: a lone section under the same title has no
    /// heading of its own.
    title: String,
    lone: bool,
}

impl Ctx<'_> {
    /// A chart: inline SVG on a page, an image part in a mail.
    fn chart(&mut self, area: &Area, alt: &str) -> Markup {
        match self.target {
            Target::Page => PreEscaped(area.svg(alt)),
            Target::Mail => {
                let cid = format!("chart{}@floe", self.images.len() + 1);
                self.images.push(Image {
                    cid: cid.clone(),
                    png: area.png(),
                });
                html! {
                    img.chart src=(format!("cid:{cid}")) width=(chart::WIDTH) height=(chart::HEIGHT) alt=(alt);
                }
            }
        }
    }
}

/// A key cell: values with their names in a lighter face, parts joined.
fn key_markup(r: &Report, labels: &[Label]) -> Markup {
    let pieces: Vec<Markup> = labels
        .iter()
        .map(|l| match (&l.name, l.replaces) {
            (Some(n), true) => html! { (n) },
            (Some(n), false) => html! { (l.value) " " span.nm { (n) } },
            (None, _) => html! { (l.value) },
        })
        .collect();
    let sep = join_key(r, &["".into(), "".into()]);
    html! {
        @for (i, p) in pieces.iter().enumerate() {
            @if i > 0 { (sep) }
            (p)
        }
    }
}

/// One row of a table of bars.
struct BarRow {
    key: Markup,
    /// The details line that replaces the side columns on a phone.
    more: String,
    value: f64,
    /// The number on the bar.
    label: String,
    colour: Colour,
    /// The side columns.
    side: Vec<String>,
    bad: bool,
}

/// A table whose second column is a bar per row, with its number on it
/// (inside a long bar, after a short one), scaled to the largest.
fn bars_table(key_head: &str, bar_head: &str, side_heads: &[String], rows: &[BarRow]) -> Markup {
    let max = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    html! {
        table {
            thead { tr {
                th.k { (key_head) }
                th.bar { (bar_head) }
                @for h in side_heads { th.x { (h) } }
            } }
            tbody { @for r in rows {
                @let pct = if max > 0.0 { (r.value / max * 100.0).clamp(0.0, 100.0) } else { 0.0 };
                @let w = if r.value > 0.0 { pct.max(0.5) } else { 0.0 };
                @let inside = w >= 50.0;
                @let c = r.colour.hex();
                @let ink = r.colour.text().hex();
                tr class=[r.bad.then_some("bad")] {
                    td.k { (r.key) @if !r.more.is_empty() { div.more { (r.more) } } }
                    td.bar {
                        table.b role="presentation" { tr {
                            @if w > 0.0 {
                                td.f width=(format!("{w:.1}%")) bgcolor=(c)
                                    style=(format!("width:{w:.1}%;background:{c};color:{ink}")) {
                                    @if inside { (r.label) }
                                }
                            }
                            @if w < 100.0 {
                                td {
                                    @if !inside { (r.label) }
                                }
                            }
                        } }
                    }
                    @for s in &r.side { td.x { (s) } }
                }
            } }
        }
    }
}

/// What a report's bars measure: its sort's counter (bytes when sorted by
/// key; flows for a distribution).
#[derive(Clone, Copy, PartialEq)]
enum Measure {
    Flows,
    Packets,
    Bytes,
    Duration,
    Count,
    Rate(SortField),
}

impl Measure {
    fn of(r: &Report, sort: Sort) -> Measure {
        let distribution = matches!(
            r.kind.parts.as_slice(),
            [KeyPart::PacketSize
                | KeyPart::Octets
                | KeyPart::Packets
                | KeyPart::Bps
                | KeyPart::Pps
                | KeyPart::Duration]
        );
        match sort.field {
            SortField::Flows => Measure::Flows,
            SortField::Packets => Measure::Packets,
            SortField::Octets => Measure::Bytes,
            SortField::Duration => Measure::Duration,
            SortField::Count => Measure::Count,
            SortField::Key(_) if distribution => Measure::Flows,
            SortField::Key(_) if r.kind.count => Measure::Count,
            SortField::Key(_) => Measure::Bytes,
            f => Measure::Rate(f),
        }
    }

    fn heading(self, r: &Report) -> String {
        match self {
            Measure::Flows => "flows".into(),
            Measure::Packets => "packets".into(),
            Measure::Bytes => "bytes".into(),
            Measure::Duration => "total flow time".into(),
            Measure::Count => count_words(r).unwrap_or("count").into(),
            Measure::Rate(f) => words::measure(f).into(),
        }
    }

    fn value(self, row: &Row) -> f64 {
        let c = &row.counters;
        let rt = row.rates.unwrap_or_default();
        match self {
            Measure::Flows => c.flows as f64,
            Measure::Packets => c.packets as f64,
            Measure::Bytes => c.octets as f64,
            Measure::Duration => c.duration_ms as f64,
            Measure::Count => row.count.unwrap_or(0) as f64,
            Measure::Rate(SortField::AvgBps) => rt.avg_bps(),
            Measure::Rate(SortField::MinBps) => rt.min_bps,
            Measure::Rate(SortField::MaxBps) => rt.max_bps,
            Measure::Rate(SortField::AvgPps) => rt.avg_pps(),
            Measure::Rate(SortField::MinPps) => rt.min_pps,
            Measure::Rate(_) => rt.max_pps,
        }
    }

    fn show(self, v: f64) -> String {
        match self {
            Measure::Flows | Measure::Packets | Measure::Count => words::count(v as u64, NNBSP),
            Measure::Bytes => words::bytes(v as u64),
            Measure::Duration => words::duration(v as u64),
            Measure::Rate(SortField::AvgBps | SortField::MinBps | SortField::MaxBps) => {
                words::bits_per_second(v)
            }
            Measure::Rate(_) => words::per_second(v, "p/s"),
        }
    }
}

/// The narrow no-break space that groups digits (`49 996`).
const NNBSP: &str = "\u{202f}";

/// The colour of a report's bars: by direction, or by protocol family
/// row by row.
fn bar_colour(r: &Report, row: &Row) -> Colour {
    let parts = &r.kind.parts;
    if let Some(i) = parts.iter().position(|p| *p == KeyPart::Protocol) {
        if parts.len() == 1 {
            if let Some(Val::N(p)) = row.key.get(i) {
                return chart::protocol_colour(*p);
            }
        }
    }
    if r.kind.both_ends || r.kind.count {
        return match parts[0] {
            KeyPart::SrcAddr | KeyPart::SrcPort if r.kind.count => chart::SOURCE,
            KeyPart::DstAddr | KeyPart::DstPort if r.kind.count => chart::DESTINATION,
            _ => chart::NEUTRAL,
        };
    }
    let src = parts.iter().any(|p| {
        matches!(
            p,
            KeyPart::SrcAddr | KeyPart::SrcPort | KeyPart::SrcAs | KeyPart::InIf
        )
    });
    let dst = parts.iter().any(|p| {
        matches!(
            p,
            KeyPart::DstAddr | KeyPart::DstPort | KeyPart::DstAs | KeyPart::OutIf
        )
    });
    match (src, dst) {
        (true, false) => chart::SOURCE,
        (false, true) => chart::DESTINATION,
        _ => chart::NEUTRAL,
    }
}

/// A keyed report (a top-N, a distribution, a count) as a table of bars.
fn keyed(ctx: &Ctx, h: &HtmlReport) -> Markup {
    let r = h.report;
    let m = Measure::of(r, h.sort);
    let total = match m {
        Measure::Flows => Some(r.totals.flows),
        Measure::Packets => Some(r.totals.packets),
        Measure::Bytes => Some(r.totals.octets),
        Measure::Duration => Some(r.totals.duration_ms),
        _ => None,
    };
    let mut side: Vec<String> = Vec::new();
    if total.is_some() {
        side.push("share".into());
    }
    if m == Measure::Count {
        side.push("bytes".into());
    }
    for (mm, name) in [
        (Measure::Flows, "flows"),
        (Measure::Packets, "packets"),
        (Measure::Bytes, "bytes"),
    ] {
        if m != mm && !(m == Measure::Count && mm == Measure::Bytes) {
            side.push(name.into());
        }
    }
    side.push("bit/s".into());
    side.push("bytes/packet".into());
    let shown = &h.rows[..h.rows.len().min(TABLE_ROWS)];
    let rows: Vec<BarRow> = shown
        .iter()
        .map(|row| {
            let f = Figures::of(r, row);
            let v = m.value(row);
            let mut cells: Vec<String> = Vec::new();
            let mut more: Vec<String> = Vec::new();
            if let Some(t) = total {
                let s = words::percent(v as u64, t);
                more.push(format!("{s} of {}", m.heading(r)));
                cells.push(s);
            }
            if m == Measure::Count {
                cells.push(words::bytes(f.octets));
                more.push(words::bytes(f.octets));
            }
            for (mm, text) in [
                (Measure::Flows, plural(f.flows, "flow", "flows")),
                (Measure::Packets, plural(f.packets, "packet", "packets")),
                (Measure::Bytes, words::bytes(f.octets)),
            ] {
                if m != mm && !(m == Measure::Count && mm == Measure::Bytes) {
                    let n = text.split(' ').next().unwrap_or("").to_string();
                    cells.push(if mm == Measure::Bytes {
                        text.clone()
                    } else {
                        n
                    });
                    more.push(text);
                }
            }
            let bps = f.bps.map_or("–".into(), words::bits_per_second);
            cells.push(bps.clone());
            more.push(bps);
            cells.push(format!("{:.0}", f.bpp));
            BarRow {
                key: key_markup(r, &ctx.show.labels(r, row)),
                more: more.join(" · "),
                value: v,
                label: m.show(v),
                colour: bar_colour(r, row),
                side: cells,
                bad: false,
            }
        })
        .collect();
    html! {
        (bars_table(&words::key_heading(&r.kind), &m.heading(r), &side, &rows))
        @if h.rows.len() > TABLE_ROWS {
            p.note { "… and " (h.rows.len() - TABLE_ROWS) " more rows (limit them with --records)." }
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        words::count(n, NNBSP),
        if n == 1 { one } else { many }
    )
}

/// Labels under a chart at 0, 25, 50, 75 and 100 % of its width (or 0,
/// 50 and 100 %: cells sized so that each label sits where it belongs).
fn ticks(labels: &[String]) -> Markup {
    let widths: &[f64] = match labels.len() {
        5 => &[12.5, 25.0, 25.0, 25.0, 12.5],
        3 => &[33.3, 33.4, 33.3],
        2 => &[50.0, 50.0],
        _ => &[100.0],
    };
    let n = widths.len();
    html! {
        table.ticks role="presentation" { tr {
            @for (i, (l, w)) in labels.iter().zip(widths).enumerate() {
                @let align = if i == 0 { "left" } else if i + 1 == n { "right" } else { "center" };
                td width=(format!("{w}%")) style=(format!("text-align:{align}")) { (l) }
            }
        } }
    }
}

/// Where ticks go over `n` points: 5 labels, or 3 when they are long.
fn tick_fractions(long: bool) -> &'static [f64] {
    if long {
        &[0.0, 0.5, 1.0]
    } else {
        &[0.0, 0.25, 0.5, 0.75, 1.0]
    }
}

/// A legend of an area's layers: a coloured square and the name.
fn legend(area: &Area) -> Markup {
    html! {
        p.legend {
            @for (i, l) in area.layers.iter().enumerate() {
                @if i > 0 { " \u{a0} " }
                span.sw style=(format!("color:{}", l.colour.hex())) { "■" } " " (l.label)
            }
        }
    }
}

/// The scale and the peak, in a sentence.
fn scale_note(area: &Area, unit: fn(f64) -> String, points: &[String]) -> String {
    let (top, step) = area.scale();
    let totals = area.totals();
    let (peak_at, peak) =
        totals
            .iter()
            .enumerate()
            .fold((0, 0.0), |a, (i, v)| if *v > a.1 { (i, *v) } else { a });
    let mut s = format!("Lines every {}, up to {}", unit(step), unit(top));
    if peak > 0.0 {
        s += &format!(
            "; the peak is {} at {}",
            unit(peak),
            points.get(peak_at).map_or("", String::as_str)
        );
    }
    s + "."
}

fn series_section(ctx: &mut Ctx, s: &HtmlSeries) -> Markup {
    let alt = format!("{}: {}", s.title, scale_note(&s.area, s.unit, &s.points));
    let chart = ctx.chart(&s.area, &alt);
    html! {
        section {
            h2 { (s.title) }
            @if s.area.layers.len() > 1 { (legend(&s.area)) }
            (chart)
            (ticks(&s.ticks))
            p.note { (scale_note(&s.area, s.unit, &s.points)) " " (s.note) }
            @if let Some((heads, rows)) = &s.details {
                details {
                    summary { "The figures, interval by interval" }
                    table {
                        thead { tr { @for (i, h) in heads.iter().enumerate() {
                            @if i == 0 { th.k { (h) } } @else { th { (h) } }
                        } } }
                        tbody { @for r in rows { tr { @for (i, v) in r.iter().enumerate() {
                            @if i == 0 { td.k { (v) } } @else { td { (v) } }
                        } } } }
                    }
                }
            }
        }
    }
}

/// A time series report: its intervals from the first to the last (the
/// empty ones as 0), as bit/s stacked by key.
fn series_report(ctx: &mut Ctx, h: &HtmlReport, at: usize) -> Markup {
    let r = h.report;
    let step_s = (r.options.interval_ms() / 1000) as u64;
    let times: Vec<u64> = h
        .rows
        .iter()
        .filter_map(|row| match row.key.get(at) {
            Some(Val::T(t)) => Some(*t),
            _ => None,
        })
        .collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return html! {};
    };
    let n = ((last - first) / step_s + 1).min(100_000) as usize;
    let index = |t: u64| ((t - first) / step_s) as usize;
    let bps = |octets: u64| octets as f64 * 8.0 / step_s as f64;
    let other_parts = r.kind.parts.len() > 1;
    // Keys (the parts besides the time) by bytes.
    let key_of = |row: &Row| -> Vec<Val> {
        row.key
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, v)| *v)
            .collect()
    };
    let mut totals: std::collections::HashMap<Vec<Val>, (u64, usize)> = Default::default();
    for (i, row) in h.rows.iter().enumerate() {
        let e = totals.entry(key_of(row)).or_insert((0, i));
        e.0 += row.counters.octets;
    }
    let mut keys: Vec<(Vec<Val>, u64, usize)> =
        totals.into_iter().map(|(k, (o, i))| (k, o, i)).collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let label_of = |row: &Row| -> String {
        let labels = ctx.show.labels(r, row);
        let parts: Vec<String> = labels
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, l)| l.text())
            .collect();
        join_key(r, &parts)
    };
    let proto_only = r.kind.parts.len() == 2 && r.kind.parts.contains(&KeyPart::Protocol);
    let mut layers: Vec<Layer> = Vec::new();
    if !other_parts {
        let mut v = vec![0.0; n];
        for row in h.rows {
            if let Some(Val::T(t)) = row.key.get(at) {
                v[index(*t).min(n - 1)] += bps(row.counters.octets);
            }
        }
        layers.push(Layer {
            label: "all traffic".into(),
            colour: chart::NEUTRAL,
            values: v,
        });
    } else if proto_only {
        // By protocol family.
        let mut fam = vec![vec![0.0; n]; chart::FAMILIES.len()];
        for row in h.rows {
            let p = row.key.iter().find_map(|v| match v {
                Val::N(p) => Some(*p),
                _ => None,
            });
            if let (Some(Val::T(t)), Some(p)) = (row.key.get(at), p) {
                fam[chart::family(p as u8)][index(*t).min(n - 1)] += bps(row.counters.octets);
            }
        }
        for ((name, colour), v) in chart::FAMILIES.iter().zip(fam) {
            if v.iter().any(|x| *x > 0.0) {
                layers.push(Layer {
                    label: (*name).into(),
                    colour: *colour,
                    values: v,
                });
            }
        }
    } else {
        let top: Vec<&Vec<Val>> = keys.iter().take(LAYERS).map(|k| &k.0).collect();
        let mut vs = vec![vec![0.0; n]; top.len() + 1];
        for row in h.rows {
            let k = key_of(row);
            let li = top.iter().position(|t| **t == k).unwrap_or(top.len());
            if let Some(Val::T(t)) = row.key.get(at) {
                vs[li][index(*t).min(n - 1)] += bps(row.counters.octets);
            }
        }
        for (i, v) in vs.into_iter().enumerate() {
            if i < top.len() {
                layers.push(Layer {
                    label: label_of(&h.rows[keys[i].2]),
                    colour: chart::SERIES[i % chart::SERIES.len()],
                    values: v,
                });
            } else if v.iter().any(|x| *x > 0.0) {
                layers.push(Layer {
                    label: "other".into(),
                    colour: chart::OTHER,
                    values: v,
                });
            }
        }
    }
    let area = Area { layers };
    let start_ms = *first as i64 * 1000;
    let end_ms = (*last + step_s) as i64 * 1000;
    let clock = ctx.show.clock;
    let one_day =
        words::Civil::at(clock, start_ms).days == words::Civil::at(clock, end_ms - 1).days;
    let at_time = |ms: i64| {
        if one_day {
            words::Civil::at(clock, ms).time(false)
        } else {
            words::datetime(clock, ms)
        }
    };
    let tick_labels: Vec<String> = tick_fractions(!one_day)
        .iter()
        .map(|f| {
            let ms = start_ms + ((end_ms - start_ms) as f64 * f) as i64;
            if one_day && ms == end_ms && words::Civil::at(clock, ms).time(false) == "00:00" {
                "24:00".into()
            } else {
                at_time(ms)
            }
        })
        .collect();
    let points: Vec<String> = (0..n)
        .map(|i| at_time(start_ms + i as i64 * step_s as i64 * 1000))
        .collect();
    let note = format!(
        "Bits per second, averaged over each {} (a flow's bytes are shared among the intervals it spans, by time).",
        words::interval(step_s)
    );
    let alt = format!(
        "{}: {}",
        h.title,
        scale_note(&area, words::bits_per_second, &points)
    );
    let chart_markup = ctx.chart(&area, &alt);
    // One key: the figures per interval, folded. Several: the keys'
    // totals as bars (the legend's colours), and a heat map when there
    // are more keys than layers.
    let details = if other_parts {
        None
    } else {
        let mut rows: Vec<&Row> = h.rows.iter().collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        Some(rows)
    };
    let key_rows: Vec<BarRow> = if other_parts {
        keys.iter()
            .take(HEAT_KEYS)
            .enumerate()
            .map(|(i, (k, octets, at_row))| {
                let row = &h.rows[*at_row];
                let colour = if proto_only {
                    match k.first() {
                        Some(Val::N(p)) => chart::protocol_colour(*p),
                        _ => chart::OTHER,
                    }
                } else if i < LAYERS {
                    chart::SERIES[i % chart::SERIES.len()]
                } else {
                    chart::OTHER
                };
                BarRow {
                    key: html! { (label_of(row)) },
                    more: format!("{} of the bytes", words::percent(*octets, r.totals.octets)),
                    value: *octets as f64,
                    label: words::bytes(*octets),
                    colour,
                    side: vec![words::percent(*octets, r.totals.octets)],
                    bad: false,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let heat = (other_parts && keys.len() > LAYERS).then(|| {
        heat_map(
            ctx,
            h,
            at,
            &keys
                .iter()
                .take(HEAT_KEYS)
                .map(|k| k.0.clone())
                .collect::<Vec<_>>(),
            (*first, n, step_s),
            &label_of,
        )
    });
    let scale = scale_note(&area, words::bits_per_second, &points);
    let key_head = words::key_heading(&crate::ReportType {
        parts: r
            .kind
            .parts
            .iter()
            .copied()
            .filter(|p| *p != KeyPart::Interval)
            .collect(),
        ..r.kind.clone()
    });
    html! {
        @if area.layers.len() > 1 { (legend(&area)) }
        (chart_markup)
        (ticks(&tick_labels))
        p.note { (scale) " " (note) }
        @if other_parts {
            h3 { "Each " (key_head) " over the whole time" }
            (bars_table(&key_head, "bytes", &["share".to_string()], &key_rows))
            @if keys.len() > HEAT_KEYS {
                p.note { "… and " (keys.len() - HEAT_KEYS) " more." }
            }
        }
        @if let Some(hm) = heat { (hm) }
        @if let Some(rows) = details {
            details {
                summary { "The figures, interval by interval" }
                table {
                    thead { tr { th.k { "interval" } th { "flows active" } th { "packets" } th { "bytes" } th { "bit/s" } } }
                    tbody { @for row in rows.iter().take(TABLE_ROWS) { tr {
                        td.k { (ctx.show.labels(r, row).first().map(Label::text).unwrap_or_default()) }
                        td { (words::count(row.counters.flows, NNBSP)) }
                        td { (words::count(row.counters.packets, NNBSP)) }
                        td { (words::bytes(row.counters.octets)) }
                        td { (words::bits_per_second(bps(row.counters.octets))) }
                    } } }
                }
            }
        }
    }
}

/// A heat map: a row per key (the top ones by bytes), a column per
/// interval (grouped to at most `HEAT_COLUMNS`), each cell shaded by
/// its bytes, its figure in its tooltip.
fn heat_map(
    ctx: &Ctx,
    h: &HtmlReport,
    at: usize,
    keys: &[Vec<Val>],
    (first, n, step_s): (u64, usize, u64),
    label_of: &dyn Fn(&Row) -> String,
) -> Markup {
    let per = n.div_ceil(HEAT_COLUMNS).max(1);
    let cols = n.div_ceil(per);
    let mut cells = vec![vec![0u64; cols]; keys.len()];
    let mut names = vec![String::new(); keys.len()];
    for row in h.rows {
        let k: Vec<Val> = row
            .key
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, v)| *v)
            .collect();
        let Some(ki) = keys.iter().position(|x| *x == k) else {
            continue;
        };
        if names[ki].is_empty() {
            names[ki] = label_of(row);
        }
        if let Some(Val::T(t)) = row.key.get(at) {
            let c = (((t - first) / step_s) as usize / per).min(cols - 1);
            cells[ki][c] += row.counters.octets;
        }
    }
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1);
    let clock = ctx.show.clock;
    let col_ms = (per as u64 * step_s * 1000) as i64;
    let start_ms = first as i64 * 1000;
    // Column headings: a time every few columns.
    let every = cols.div_ceil(4).max(1);
    let groups: Vec<(usize, String)> = (0..cols)
        .step_by(every)
        .map(|c| {
            (
                every.min(cols - c),
                words::Civil::at(clock, start_ms + c as i64 * col_ms).time(false),
            )
        })
        .collect();
    html! {
        h3 { "Second view: each key by time" }
        p.note {
            "Each cell is " (words::interval(per as u64 * step_s)) "; darker is more bytes (the darkest: "
            (words::bytes(max)) "). The figures are in the cells' tooltips."
        }
        table.heat {
            thead { tr {
                th { }
                @for (span, label) in &groups { th colspan=(span) { (label) } }
            } }
            tbody { @for (ki, row) in cells.iter().enumerate() { tr {
                td.k { (names[ki]) }
                @for v in row {
                    @let c = chart::SOURCE.tint(*v as f64 / max as f64);
                    td bgcolor=(c.hex()) style=(format!("background:{}", c.hex())) title=(words::bytes(*v)) { }
                }
            } } }
        }
    }
}

/// The summaries: the figures in words, then (detail) each distribution
/// as bars of flows per bucket.
fn summary_section(r: &HtmlReport, sum: &crate::Summary) -> Markup {
    let rep = r.report;
    let facts = summary_facts(rep);
    let flows = rep.totals.flows;
    html! {
        table.kv {
            tbody { @for (k, v) in &facts { tr { td.k style="font-family:inherit" { (k) } td { (v) } } } }
        }
        p.note { (SUMMARY_NOTE) }
        @if sum.kind == crate::SummaryKind::Detail {
            @for (name, d) in sum.distributions() {
                h3 { (name) }
                @let rows: Vec<BarRow> = d.buckets().into_iter().map(|(label, c)| BarRow {
                    key: html! { (label) },
                    more: String::new(),
                    value: c as f64,
                    label: words::count(c, NNBSP),
                    colour: chart::NEUTRAL,
                    side: vec![words::percent(c, flows)],
                    bad: false,
                }).collect();
                (bars_table("up to", "flows", &["share".to_string()], &rows))
            }
        }
    }
}

fn report_section(ctx: &mut Ctx, r: &HtmlReport) -> Markup {
    let rep = r.report;
    let body = if let Some(sum) = &rep.summary {
        summary_section(r, sum)
    } else if r.rows.is_empty() {
        html! { p.note { "No flows." } }
    } else {
        match rep.kind.parts.iter().position(|p| *p == KeyPart::Interval) {
            Some(at) => series_report(ctx, r, at),
            None => keyed(ctx, r),
        }
    };
    let clock = ctx.show.clock;
    let mut lines = Vec::new();
    let same = ctx.page == Some((rep.first_ms, rep.last_ms, rep.totals.flows));
    if !same {
        if let Some(range) = words::data_range(clock, rep.first_ms, rep.last_ms) {
            lines.push(words::capitalise(&range));
        }
    }
    if rep.summary.is_none() {
        let mut l = if same {
            String::new()
        } else {
            format!(
                "{} flows, {} packets, {} in all; ",
                words::count(rep.totals.flows, NNBSP),
                words::count(rep.totals.packets, NNBSP),
                words::bytes(rep.totals.octets),
            )
        };
        l += &rows_count(rep, r.rows, NNBSP);
        if r.rows.len() < rep.keys()
            && !rep.kind.parts.contains(&KeyPart::Interval)
            && !rep.kind.count
        {
            l += &format!(", {} shown", r.rows.len());
        }
        if rep.ignores > 0 {
            l += &format!("; {} flows without packets ignored", rep.ignores);
        }
        lines.push(l + ".");
    }
    let heading = !(ctx.lone && ctx.title.starts_with(r.title));
    html! {
        section {
            @if heading { h2 { (r.title) } }
            @for l in &lines { p.note { (l) } }
            (body)
        }
    }
}

fn health_section(ctx: &Ctx, h: &HtmlHealth) -> Markup {
    let clock = ctx.show.clock;
    let bad = h
        .exporters
        .iter()
        .filter(|e| !e.problems(clock).is_empty())
        .count();
    html! {
        section {
            h2 { (h.title) }
            @if h.exporters.is_empty() {
                p.note { "No exporter counters in the files read." }
            } @else if bad == 0 {
                p.ok { "All " (h.exporters.len()) " exporters healthy: no lost flows, bad datagrams, sequence resets, undecoded sets or silence." }
            } @else {
                p.warn {
                    "⚠ " (bad) " of " (h.exporters.len()) " exporters "
                    (if bad == 1 { "needs" } else { "need" }) " attention (listed first)."
                }
            }
            @if !h.exporters.is_empty() {
                table {
                    thead { tr {
                        th.k { "exporter" }
                        th { "flows received" }
                        th.x { "datagrams" }
                        th.x { "lost flows" }
                        th.x { "loss" }
                    } }
                    tbody { @for e in h.exporters {
                        @let problems = e.problems(clock);
                        @let c = &e.counters;
                        @let bad = !problems.is_empty();
                        tr class=[bad.then_some("bad lead")] {
                            td.k {
                                (e.name())
                                @if bad { " " span.warn { "⚠" } } @else { " " span.ok.nm { "healthy" } }
                                div.more {
                                    (words::count(c.datagrams, NNBSP)) " datagrams · "
                                    (words::count(c.lost_flows, NNBSP)) " lost flows ("
                                    (format!("{:.2}", e.loss_pct())) "\u{a0}%)"
                                }
                            }
                            td { (words::count(c.flows, NNBSP)) }
                            td.x { (words::count(c.datagrams, NNBSP)) }
                            td.x { (words::count(c.lost_flows, NNBSP)) }
                            td.x { (format!("{:.2}\u{a0}%", e.loss_pct())) }
                        }
                        @if bad {
                            tr.bad { td.why colspan="5" {
                                @for p in &problems {
                                    div { span.warn { "⚠ " (p.what) } ": " (p.why) "." }
                                }
                            } }
                        }
                    } }
                }
            }
            @if !h.note.is_empty() { p.note { (h.note) } }
        }
    }
}

/// A page of sections, for a browser or a mail.
pub fn render_page(head: &PageHead, sections: &[HtmlSection], show: &Show, target: Target) -> Page {
    let mut ctx = Ctx {
        show,
        target,
        images: Vec::new(),
        page: head.range,
        title: head.title.to_string(),
        lone: sections.len() == 1,
    };
    let body: Vec<Markup> = sections
        .iter()
        .map(|s| match s {
            HtmlSection::Report(r) => report_section(&mut ctx, r),
            HtmlSection::Series(x) => series_section(&mut ctx, x),
            HtmlSection::Health(x) => health_section(&ctx, x),
            HtmlSection::Text(title, paragraphs) => html! {
                section {
                    h2 { (title) }
                    @for p in paragraphs { p { (p) } }
                }
            },
        })
        .collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (head.title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (head.title) }
                @for l in &head.lines { p.when { (l) } }
                @if !head.facts.is_empty() {
                    p.facts {
                        @for (i, (v, what)) in head.facts.iter().enumerate() {
                            @if i > 0 { " · " }
                            b { (v) } " " (what)
                        }
                    }
                }
                @if head.legend {
                    p.legend {
                        "Colours: "
                        span.sw style=(format!("color:{}", chart::SOURCE.hex())) { "■" } " sources (sent), "
                        span.sw style=(format!("color:{}", chart::DESTINATION.hex())) { "■" } " destinations (received), "
                        @for (name, c) in chart::FAMILIES {
                            span.sw style=(format!("color:{}", c.hex())) { "■" } " " (name) ", "
                        }
                        span.sw style=(format!("color:{}", chart::WARNING.hex())) { "■" } " needs attention."
                    }
                }
                @for b in &body { (b) }
            }
        }
    };
    Page {
        html: page.into_string(),
        images: ctx.images,
    }
}

/// A page of reports (a web page: charts inline), under a title and
/// lines (the window, the data's range).
pub fn render_html(title: &str, lines: &[String], reports: &[HtmlReport], show: &Show) -> String {
    let sections: Vec<HtmlSection> = reports
        .iter()
        .map(|r| {
            HtmlSection::Report(HtmlReport {
                title: r.title,
                report: r.report,
                rows: r.rows,
                sort: r.sort,
            })
        })
        .collect();
    let head = PageHead {
        title,
        lines: lines.to_vec(),
        facts: Vec::new(),
        legend: false,
        range: None,
    };
    render_page(&head, &sections, show, Target::Page).html
}
