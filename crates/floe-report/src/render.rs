//! Renderers of a finished report: aligned text for people (names,
//! units, shares, rates and a summary line, as nfdump users expect of a
//! top-N), CSV and JSON for programs (numbers, with names in columns of
//! their own).

use crate::kind::KeyPart;
use crate::names::{self, Label};
use crate::output::Fields;
use crate::report::{Report, Row, Sort};
use crate::summary::Averages;
use crate::sym::Symbols;
use crate::words::{self, Clock, Utc};
use crate::Val;

/// `1234567` as `1.2 M` (powers of 1000), for text output.
pub fn human(n: u64) -> String {
    human_f(n as f64)
}

pub(crate) fn human_f(x: f64) -> String {
    const UNITS: [&str; 7] = ["", " k", " M", " G", " T", " P", " E"];
    let mut v = x;
    let mut u = 0;
    while v >= 999.95 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        if x.fract() == 0.0 {
            format!("{x}")
        } else if x >= 100.0 {
            format!("{x:.0}")
        } else if x >= 0.05 || x == 0.0 {
            format!("{x:.1}")
        } else {
            format!("{x:.3}")
        }
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

pub(crate) fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// A time series row's traffic as bits per second over its interval.
fn interval_bps(r: &Report, row: &Row) -> f64 {
    row.counters.octets as f64 * 8.0 / (r.options.interval_ms() as f64 / 1000.0)
}

/// How rows are shown: which columns, names for numbers, and the zone of
/// times.
#[derive(Clone, Copy)]
pub struct Show<'a> {
    /// Which columns.
    pub fields: Fields,
    /// Names of protocols, ports, ICMP types and (from the operator's
    /// file) ASes; None shows numbers (`--numeric`, for scripts).
    pub names: Option<&'a Symbols>,
    /// The zone times are shown in (text and HTML; CSV and JSON keep UTC).
    pub clock: &'a dyn Clock,
    /// Part of a page that says the data's range, the totals and what
    /// the rates are once, on top: text output leaves out its own lines
    /// about them.
    pub brief: bool,
}

impl Default for Show<'_> {
    fn default() -> Self {
        Show {
            fields: Fields::default(),
            names: None,
            clock: &Utc,
            brief: false,
        }
    }
}

impl Show<'_> {
    /// A row's key values as shown.
    pub fn labels(&self, r: &Report, row: &Row) -> Vec<Label> {
        names::labels(&r.kind, &row.key, self.names, self.clock)
    }

    /// A row's key as one piece of text: parts joined, a pair with an
    /// arrow (`10.0.0.1 → 192.0.2.1`).
    pub fn key_text(&self, r: &Report, row: &Row) -> String {
        join_key(
            r,
            &self
                .labels(r, row)
                .iter()
                .map(Label::text)
                .collect::<Vec<_>>(),
        )
    }
}

/// Key parts joined as read: a source/destination pair with an arrow, a
/// protocol and its port with a space (`TCP 443 (https)`), others with a
/// comma; the interval of a time series first.
pub(crate) fn join_key(r: &Report, parts: &[String]) -> String {
    if r.kind.both_ends || r.kind.count {
        return parts.join(", ");
    }
    let kinds: Vec<KeyPart> = r
        .kind
        .parts
        .iter()
        .copied()
        .filter(|p| *p != KeyPart::Interval)
        .collect();
    let sep = match kinds.as_slice() {
        [KeyPart::SrcAddr, KeyPart::DstAddr]
        | [KeyPart::SrcPort, KeyPart::DstPort]
        | [KeyPart::SrcAs, KeyPart::DstAs]
        | [KeyPart::InIf, KeyPart::OutIf] => " → ",
        [KeyPart::Protocol, KeyPart::SrcPort | KeyPart::DstPort] => " ",
        _ => ", ",
    };
    parts.join(sep)
}

/// What a row shows besides its key: its counters, their shares of the
/// totals, and rates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// The row's flows.
    pub flows: u64,
    /// Its packets.
    pub packets: u64,
    /// Its octets.
    pub octets: u64,
    /// Its share of the report's flows, in percent.
    pub flows_pct: f64,
    /// Its share of the packets, in percent.
    pub packets_pct: f64,
    /// Its share of the octets, in percent.
    pub octets_pct: f64,
    /// Bits and packets per second: over the row's interval in a time
    /// series, else over the span of the data (first flow's start to
    /// last flow's end); None when that span is empty.
    pub bps: Option<f64>,
    /// Packets per second, over the same span as `bps`.
    pub pps: Option<f64>,
    /// Bytes per packet.
    pub bpp: f64,
}

impl Figures {
    /// The figures of `row` in report `r`.
    pub fn of(r: &Report, row: &Row) -> Figures {
        let c = &row.counters;
        let t = &r.totals;
        let secs = if r.kind.parts.contains(&KeyPart::Interval) {
            r.options.interval_ms() as f64 / 1000.0
        } else {
            r.span_ms() as f64 / 1000.0
        };
        let per = |n: f64| (secs > 0.0).then(|| n / secs);
        Figures {
            flows: c.flows,
            packets: c.packets,
            octets: c.octets,
            flows_pct: pct(c.flows, t.flows),
            packets_pct: pct(c.packets, t.packets),
            octets_pct: pct(c.octets, t.octets),
            bps: per(c.octets as f64 * 8.0),
            pps: per(c.packets as f64),
            bpp: if c.packets == 0 {
                0.0
            } else {
                c.octets as f64 / c.packets as f64
            },
        }
    }
}

impl Report {
    /// Milliseconds from the first flow's start to the last flow's end.
    pub fn span_ms(&self) -> u64 {
        if self.last_ms > self.first_ms {
            (self.last_ms - self.first_ms) as u64
        } else {
            0
        }
    }
}

/// The rate columns an output shows: (name, value of a row).
type RateColumn = (&'static str, fn(&crate::Rates) -> f64);

fn rate_columns(f: &Fields) -> Vec<RateColumn> {
    let all: [(bool, RateColumn); 6] = [
        (f.avg_bps, ("avg-bps", |r| r.avg_bps())),
        (f.min_bps, ("min-bps", |r| r.min_bps)),
        (f.max_bps, ("max-bps", |r| r.max_bps)),
        (f.avg_pps, ("avg-pps", |r| r.avg_pps())),
        (f.min_pps, ("min-pps", |r| r.min_pps)),
        (f.max_pps, ("max-pps", |r| r.max_pps)),
    ];
    all.into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| c)
        .collect()
}

/// A rate column's heading in words: `avg bit/s of its flows`.
fn rate_words(name: &str) -> String {
    let (which, what) = name.split_once('-').unwrap_or(("avg", name));
    let unit = if what == "bps" { "bit/s" } else { "packets/s" };
    format!("{which} {unit}/flow")
}

/// The summary of a summary-detail report (the distributions).
fn detail(r: &Report) -> Option<&crate::Summary> {
    r.summary
        .as_deref()
        .filter(|s| s.kind == crate::SummaryKind::Detail)
}

/// A line of a summary, as (label, value).
type Fact = (&'static str, String);

/// The facts of a summary report, in words and units, with real
/// averages (flow-report's integer divisions are only in its own layout,
/// `--format flow-tools`).
pub fn summary_facts(r: &Report) -> Vec<Fact> {
    let t = &r.totals;
    let a = Averages::of(t, r.first_ms, r.last_ms);
    vec![
        ("Flows", words::count(t.flows, "")),
        (
            "Bytes",
            format!("{} ({})", words::bytes(t.octets), t.octets),
        ),
        ("Packets", words::count(t.packets, "")),
        ("Flows without packets (ignored)", r.ignores.to_string()),
        ("Total time of the flows", words::duration(t.duration_ms)),
        ("Span of the data", words::duration(a.span_ms)),
        (
            "Average flow duration",
            if a.flow_time < 1000.0 {
                format!("{:.2} ms", a.flow_time)
            } else {
                format!("{:.2} s", a.flow_time / 1000.0)
            },
        ),
        ("Average packet size", format!("{:.2} bytes", a.packet_size)),
        ("Average flow size", format!("{:.2} bytes", a.flow_size)),
        (
            "Average packets per flow",
            format!("{:.2}", a.packets_per_flow),
        ),
        ("Flows per second", format!("{:.4}", a.flows_per_second)),
        (
            "Bit rate",
            words::bits_per_second(a.octets_per_second * 8.0),
        ),
        ("Packets per second", format!("{:.4}", a.packets_per_second)),
    ]
}

/// The note under a summary: where flow-report's own figures are.
pub const SUMMARY_NOTE: &str = "Averages are real divisions; flow-report divides integers \
(5.97 bytes per flow is 5.0000 there), and --format flow-tools keeps its figures.";

/// The summary reports as text: totals, averages and (detail) the four
/// distributions as fractions of flows, in rows of 15 buckets.
fn summary_text(r: &Report, title: &str, show: &Show) -> String {
    let mut s = format!("# {title}\n");
    if let Some(range) = words::data_range(show.clock, r.first_ms, r.last_ms) {
        s += &format!("# {range}\n");
    }
    for (k, v) in summary_facts(r) {
        s += &format!("{:<34}{v}\n", format!("{k}:"));
    }
    s += &format!("# {SUMMARY_NOTE}\n");
    if let Some(sum) = detail(r) {
        let flows = r.totals.flows.max(1) as f64;
        for (name, d) in sum.distributions() {
            s += &format!("\n# {name}, as fractions of the flows\n");
            for chunk in d.buckets().chunks(15) {
                let w: Vec<usize> = chunk.iter().map(|(l, _)| l.len().max(4)).collect();
                let labels: Vec<String> = chunk
                    .iter()
                    .zip(&w)
                    .map(|((l, _), w)| format!("{l:>w$}"))
                    .collect();
                let fr: Vec<String> = chunk
                    .iter()
                    .zip(&w)
                    .map(|((_, c), w)| {
                        let x = format!("{:.3}", *c as f64 / flows);
                        format!("{:>w$}", x.trim_start_matches('0'))
                    })
                    .collect();
                s += &labels.join(" ");
                s.push('\n');
                s += &fr.join(" ");
                s += "\n\n";
            }
        }
    }
    s
}

/// The line after a report's rows: totals and average rates over the
/// data's span (nfdump's summary line).
pub fn summary_line(r: &Report) -> String {
    let t = &r.totals;
    let a = Averages::of(t, r.first_ms, r.last_ms);
    let mut s = format!(
        "{} flows, {} packets, {} in all",
        t.flows,
        t.packets,
        words::bytes(t.octets)
    );
    if a.span_ms > 0 {
        s += &format!(
            "; {}, {} packets/s, {:.0} bytes/packet on average over {}",
            words::bits_per_second(a.octets_per_second * 8.0),
            human_f(a.packets_per_second),
            a.packet_size,
            words::duration(a.span_ms)
        );
    }
    if r.ignores > 0 {
        s += &format!("; {} flows without packets ignored", r.ignores);
    }
    s
}

/// How many rows a report has, in words: `11 396 source addresses`, or
/// for a time series `3 protocols over 24 intervals of hour` (its keys
/// are (interval, key) pairs: counted apart, over the rows given).
pub(crate) fn rows_count(r: &Report, rows: &[Row], sep: &str) -> String {
    if r.kind.count {
        // Its keys are the (address, peer) pairs counted.
        return format!(
            "{} {} and {} pairs",
            words::count(r.keys() as u64, sep),
            words::part(r.kind.parts[0]).0,
            words::part(r.kind.parts[1]).0
        );
    }
    let Some(at) = r.kind.parts.iter().position(|p| *p == KeyPart::Interval) else {
        return format!(
            "{} {}",
            words::count(r.keys() as u64, sep),
            words::rows_noun(&r.kind)
        );
    };
    let mut keys = std::collections::HashSet::new();
    let mut times = std::collections::HashSet::new();
    for row in rows {
        let mut k = row.key.clone();
        if at < k.len() {
            times.insert(k.remove(at));
        }
        keys.insert(k);
    }
    let mut s = String::new();
    if r.kind.parts.len() > 1 {
        let noun = words::rows_noun(&crate::ReportType {
            parts: r
                .kind
                .parts
                .iter()
                .copied()
                .filter(|p| *p != KeyPart::Interval)
                .collect(),
            ..r.kind.clone()
        });
        s += &format!("{} {noun} over ", words::count(keys.len() as u64, sep));
    }
    s + &format!(
        "{} intervals of {}",
        words::count(times.len() as u64, sep),
        words::interval((r.options.interval_ms() / 1000) as u64)
    )
}

/// The name of a count report's count column in words.
pub(crate) fn count_words(r: &Report) -> Option<&'static str> {
    r.kind.count_column().map(|c| {
        if c.starts_with("ip-source") {
            "sources"
        } else {
            "destinations"
        }
    })
}

/// The report as aligned text for people: names for numbers, units,
/// shares of flows, packets and bytes, bit/s, packets/s and bytes per
/// packet, and a summary line.
pub fn render_text(r: &Report, rows: &[Row], title: &str, show: &Show) -> String {
    if r.summary.is_some() {
        return summary_text(r, title, show);
    }
    let series = r.kind.parts.contains(&KeyPart::Interval);
    let rates = rate_columns(&show.fields);
    let mut out = format!("# {title}\n");
    let mut line = match words::data_range(show.clock, r.first_ms, r.last_ms) {
        Some(_) if show.brief => "# ".to_string(),
        Some(range) => format!("# {range}; "),
        None => "# no flows; ".to_string(),
    };
    line += &rows_count(r, rows, "");
    if rows.len() < r.keys() && !series && !r.kind.count {
        line += &format!(", {} shown", rows.len());
    }
    out += &line;
    out.push('\n');
    if show.brief {
    } else if series {
        out += &format!(
            "# per {}: flows active in the interval, its bytes and packets (a flow's are shared \
             among the intervals it spans, by time), bit/s and packets/s over the interval\n",
            words::interval(r.options.interval_ms() as u64 / 1000)
        );
    } else {
        out += "# bit/s and packets/s are averages over the span of the data\n";
    }
    // Columns: key part headings, then numbers.
    let mut heads: Vec<String> = if r.kind.both_ends || r.kind.count {
        vec![words::key_heading(&r.kind)]
    } else {
        r.kind
            .parts
            .iter()
            .map(|p| words::part(*p).0.to_string())
            .collect()
    };
    let n_keys = heads.len();
    if let Some(c) = count_words(r) {
        heads.push(c.into());
    }
    for h in ["flows", "flows%", "packets", "packets%", "bytes", "bytes%"] {
        heads.push(h.into());
    }
    heads.extend(["bit/s", "packets/s", "bytes/packet"].map(String::from));
    heads.extend(rates.iter().map(|(n, _)| rate_words(n)));
    let mut table: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells: Vec<String> = show.labels(r, row).iter().map(Label::text).collect();
        if r.kind.count {
            cells.push(row.count.unwrap_or(0).to_string());
        }
        let f = Figures::of(r, row);
        cells.push(f.flows.to_string());
        cells.push(format!("{:.2}", f.flows_pct));
        cells.push(human(f.packets));
        cells.push(format!("{:.2}", f.packets_pct));
        cells.push(human(f.octets));
        cells.push(format!("{:.2}", f.octets_pct));
        cells.push(f.bps.map_or("-".into(), human_f));
        cells.push(f.pps.map_or("-".into(), human_f));
        cells.push(format!("{:.0}", f.bpp));
        let rt = row.rates.unwrap_or_default();
        for (_, get) in &rates {
            cells.push(human_f(get(&rt)));
        }
        table.push(cells);
    }
    let widths: Vec<usize> = heads
        .iter()
        .enumerate()
        .map(|(i, h)| {
            table
                .iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(h.chars().count())
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let s: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = w.saturating_sub(c.chars().count());
                if i < n_keys {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        s.join("  ").trim_end().to_string() + "\n"
    };
    out += &line(&heads);
    for cells in &table {
        out += &line(cells);
    }
    if !show.brief {
        out += &format!("# Summary: {}\n", summary_line(r));
    }
    out
}

/// The CSV and JSON name of a key column's name column.
fn name_column(col: &str) -> String {
    format!("{col}-name")
}

/// For each key column: whether it has a name column (names on, and a
/// part with names).
fn name_columns(r: &Report, show: &Show) -> Vec<bool> {
    let Some(sym) = show.names else {
        return vec![false; r.kind.columns().len()];
    };
    let parts: Vec<KeyPart> = if r.kind.both_ends || r.kind.count {
        vec![r.kind.parts[0]]
    } else {
        r.kind.parts.clone()
    };
    parts.iter().map(|p| names::named(*p, sym)).collect()
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The report as CSV: key columns (catalog names; numbers), the count of
/// a count report, then flows, octets, packets, duration_ms, octets_pct,
/// flows_pct, the rates the fields ask for, and last, unless names are
/// off, a name column for each key column with names (`ip-protocol-name`:
/// `TCP`): after the others, so that scripts that read columns by
/// position read what they always did.
pub fn render_csv(r: &Report, rows: &[Row], show: &Show) -> String {
    if r.summary.is_some() {
        let t = &r.totals;
        let mut out = String::from("name,value\n");
        for (k, v) in [
            ("ignores", r.ignores),
            ("flows", t.flows),
            ("octets", t.octets),
            ("packets", t.packets),
            ("duration_ms", t.duration_ms),
        ] {
            out += &format!("{k},{v}\n");
        }
        for (name, d) in detail(r).iter().flat_map(|s| s.distributions()) {
            let short = name.split(' ').next().unwrap_or(name).to_lowercase();
            for (label, c) in d.buckets() {
                out += &format!("{short}:{label},{c}\n");
            }
        }
        return out;
    }
    let rates = rate_columns(&show.fields);
    let named = name_columns(r, show);
    let cols = r.kind.columns();
    let mut out = cols.join(",");
    if let Some(c) = r.kind.count_column() {
        out += ",";
        out += c;
    }
    out.push_str(",flows,octets,packets,duration_ms,octets_pct,flows_pct");
    let series = r.kind.parts.contains(&KeyPart::Interval);
    if series {
        out.push_str(",bps");
    }
    for (n, _) in &rates {
        out += ",";
        out += n;
    }
    for (c, n) in cols.iter().zip(&named) {
        if *n {
            out += ",";
            out += &name_column(c);
        }
    }
    out.push('\n');
    for row in rows {
        let labels = names::labels(&r.kind, &row.key, show.names, &Utc);
        let key: Vec<String> = row.key.iter().map(Val::to_string).collect();
        let c = row.counters;
        out += &key.join(",");
        if r.kind.count {
            out += &format!(",{}", row.count.unwrap_or(0));
        }
        out.push_str(&format!(
            ",{},{},{},{},{:.4},{:.4}",
            c.flows,
            c.octets,
            c.packets,
            c.duration_ms,
            pct(c.octets, r.totals.octets),
            pct(c.flows, r.totals.flows)
        ));
        if series {
            out += &format!(",{:.3}", interval_bps(r, row));
        }
        let rt = row.rates.unwrap_or_default();
        for (_, get) in &rates {
            out += &format!(",{:.3}", get(&rt));
        }
        for (l, n) in labels.iter().zip(&named) {
            if *n {
                out += ",";
                out += &csv_cell(&l.column().unwrap_or_default());
            }
        }
        out.push('\n');
    }
    out
}

fn rates_json(r: &crate::Rates) -> serde_json::Value {
    serde_json::json!({
        "flows_with_duration": r.recs,
        "avg_bps": r.avg_bps(), "min_bps": r.min_bps, "max_bps": r.max_bps,
        "avg_pps": r.avg_pps(), "min_pps": r.min_pps, "max_pps": r.max_pps,
    })
}

/// The report as one JSON document: type, totals and rows (or, for the
/// summaries, the real averages and distributions). Key values are
/// numbers and strings as in CSV; a value with a name has it beside it
/// (`"ip-protocol": 6, "ip-protocol-name": "TCP"`) unless names are off.
pub fn render_json(
    r: &Report,
    rows: &[Row],
    sort: Sort,
    records: Option<usize>,
    show: &Show,
) -> serde_json::Value {
    let cols = r.kind.columns();
    let count_col = r.kind.count_column();
    let named = name_columns(r, show);
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut o = serde_json::Map::new();
            let labels = names::labels(&r.kind, &row.key, show.names, &Utc);
            for (((c, v), l), n) in cols.iter().zip(&row.key).zip(&labels).zip(&named) {
                let val = match v {
                    Val::N(n) => serde_json::Value::from(*n),
                    other => serde_json::Value::from(other.to_string()),
                };
                o.insert(c.to_string(), val);
                if let (true, Some(name)) = (*n, l.column()) {
                    o.insert(name_column(c), name.into());
                }
            }
            if let (Some(name), Some(n)) = (count_col, row.count) {
                o.insert(name.into(), n.into());
            }
            let c = row.counters;
            o.insert("flows".into(), c.flows.into());
            o.insert("octets".into(), c.octets.into());
            o.insert("packets".into(), c.packets.into());
            o.insert("duration_ms".into(), c.duration_ms.into());
            o.insert("octets_pct".into(), pct(c.octets, r.totals.octets).into());
            if let Some(rt) = &row.rates {
                o.insert("rates".into(), rates_json(rt));
            }
            if r.kind.parts.contains(&KeyPart::Interval) {
                o.insert("bps".into(), interval_bps(r, row).into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let mut doc = serde_json::json!({
        "report": r.kind.name,
        "sort": sort.name(),
        "records": records,
        "totals": {
            "flows": r.totals.flows,
            "octets": r.totals.octets,
            "packets": r.totals.packets,
            "duration_ms": r.totals.duration_ms,
            "ignores": r.ignores,
            "keys": r.keys(),
        },
        "rows": rows,
    });
    if r.options.rates {
        doc["totals"]["rates"] = rates_json(&r.total_rates);
    }
    if let Some(sum) = &r.summary {
        let a = Averages::of(&r.totals, r.first_ms, r.last_ms);
        let mut dists = serde_json::Map::new();
        for (key, (_, d)) in ["packet_size", "packets", "octets", "duration_ms"]
            .iter()
            .zip(sum.distributions())
        {
            let b: Vec<serde_json::Value> = d
                .buckets()
                .into_iter()
                .map(|(label, flows)| serde_json::json!({ "bucket": label, "flows": flows }))
                .collect();
            dists.insert(key.to_string(), b.into());
        }
        doc["summary"] = serde_json::json!({
            "span_secs": a.time_real,
            "avg_flow_time_ms": a.flow_time,
            "avg_packet_size": a.packet_size,
            "avg_flow_size": a.flow_size,
            "avg_packets_per_flow": a.packets_per_flow,
            "flows_per_second": a.flows_per_second,
            "octets_per_second": a.octets_per_second,
            "packets_per_second": a.packets_per_second,
            "distributions": if sum.kind == crate::SummaryKind::Detail {
                serde_json::Value::Object(dists)
            } else {
                serde_json::Value::Null
            },
        });
    }
    doc
}
