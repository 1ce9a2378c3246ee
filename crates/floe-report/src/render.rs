//! Renderers of a finished report: aligned text with human units, CSV,
//! and JSON.

use crate::kind::KeyPart;
use crate::output::Fields;
use crate::report::{Report, Row, Sort};
use crate::summary::Averages;
use crate::sym::Symbols;
use crate::Val;

/// `1234567` as `1.2 M` (powers of 1000), for text output.
pub fn human(n: u64) -> String {
    human_f(n as f64)
}

fn human_f(x: f64) -> String {
    const UNITS: [&str; 7] = ["", " k", " M", " G", " T", " P", " E"];
    let mut v = x;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        if x.fract() == 0.0 {
            format!("{x}")
        } else {
            format!("{x:.1}")
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

/// How rows are shown: which columns, and names for numbers.
#[derive(Clone, Copy, Default)]
pub struct Show<'a> {
    pub fields: Fields,
    pub names: Option<&'a Symbols>,
}

impl Show<'_> {
    /// A key value as shown.
    pub fn key(&self, part: KeyPart, v: &Val) -> String {
        match self.names {
            Some(s) => s.show(part, v),
            None => v.to_string(),
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

/// The summary of a summary-detail report (the distributions).
fn detail(r: &Report) -> Option<&crate::Summary> {
    r.summary
        .as_deref()
        .filter(|s| s.kind == crate::SummaryKind::Detail)
}

/// The summary reports as text: totals, averages and (detail) the four
/// distributions as fractions of flows, in rows of 15 buckets.
fn summary_text(r: &Report, title: &str) -> String {
    let t = &r.totals;
    let a = Averages::of(t, r.first_ms, r.last_ms);
    let mut s = format!("# {title}\n");
    let lines: [(&str, String); 13] = [
        ("Ignores", r.ignores.to_string()),
        ("Total Flows", t.flows.to_string()),
        ("Total Octets", t.octets.to_string()),
        ("Total Packets", t.packets.to_string()),
        (
            "Total Time (1/1000 secs) (flows)",
            t.duration_ms.to_string(),
        ),
        ("Duration of data (realtime)", a.time_real.to_string()),
        (
            "Average flow time (1/1000 secs)",
            format!("{:.4}", a.flow_time),
        ),
        (
            "Average packet size (octets)",
            format!("{:.4}", a.packet_size),
        ),
        ("Average flow size (octets)", format!("{:.4}", a.flow_size)),
        (
            "Average packets per flow",
            format!("{:.4}", a.packets_per_flow),
        ),
        (
            "Average flows / second",
            format!("{:.4}", a.flows_per_second),
        ),
        (
            "Average bits / second",
            human_f(a.octets_per_second * 8.0) + "b/s",
        ),
        (
            "Average packets / second",
            format!("{:.4}", a.packets_per_second),
        ),
    ];
    for (k, v) in lines {
        s += &format!("{:<34}{v}\n", format!("{k}:"));
    }
    if let Some(sum) = detail(r) {
        let flows = t.flows.max(1) as f64;
        for (name, d) in sum.distributions() {
            s += &format!("\n# {name}\n");
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

/// The report as aligned text with human units and percentages of the total.
pub fn render_text(r: &Report, rows: &[Row], title: &str, show: &Show) -> String {
    if r.summary.is_some() {
        return summary_text(r, title);
    }
    let mut cols: Vec<String> = r.kind.columns().iter().map(|c| c.to_string()).collect();
    let counts = r.kind.count_column();
    let rates = rate_columns(&show.fields);
    let mut out = format!(
        "# {title}\n# {} flows, {} octets, {} packets in all; {} keys",
        r.totals.flows,
        human(r.totals.octets),
        human(r.totals.packets),
        r.keys()
    );
    if r.ignores > 0 {
        out += &format!("; {} flows without packets ignored", r.ignores);
    }
    out.push('\n');
    if r.first_ms <= r.last_ms {
        out += &format!(
            "# flows from {} to {}\n",
            floe_flow::time::format_utc_ms(r.first_ms),
            floe_flow::time::format_utc_ms(r.last_ms)
        );
    }
    let keys: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            r.kind
                .parts
                .iter()
                .zip(&row.key)
                .map(|(p, v)| show.key(*p, v))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            keys.iter()
                .map(|k| k[i].len())
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    let mut head: Vec<String> = cols
        .iter_mut()
        .zip(&widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    let mut numeric: Vec<&str> = Vec::new();
    if let Some(c) = counts {
        numeric.push(c);
    }
    numeric.extend(["flows", "octets", "packets", "octets%"]);
    let series = r.kind.parts.contains(&KeyPart::Interval);
    if series {
        numeric.push("bps");
    }
    numeric.extend(rates.iter().map(|(n, _)| *n));
    let num_w: Vec<usize> = numeric.iter().map(|n| n.len().max(10)).collect();
    head.extend(numeric.iter().zip(&num_w).map(|(h, w)| format!("{h:>w$}")));
    out.push_str(head.join("  ").trim_end());
    out.push('\n');
    for (row, key) in rows.iter().zip(&keys) {
        let mut cells: Vec<String> = key
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        let mut nums: Vec<String> = Vec::new();
        if counts.is_some() {
            nums.push(row.count.unwrap_or(0).to_string());
        }
        nums.push(row.counters.flows.to_string());
        nums.push(human(row.counters.octets));
        nums.push(human(row.counters.packets));
        nums.push(format!("{:.2}", pct(row.counters.octets, r.totals.octets)));
        if series {
            nums.push(human_f(interval_bps(r, row)) + "b/s");
        }
        let rt = row.rates.unwrap_or_default();
        for (name, get) in &rates {
            let unit = if name.ends_with("bps") { "b/s" } else { "p/s" };
            nums.push(human_f(get(&rt)) + unit);
        }
        cells.extend(nums.iter().zip(&num_w).map(|(v, w)| format!("{v:>w$}")));
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The report as CSV: key columns (catalog names), the count of a count
/// report, then flows, octets, packets, duration_ms, octets_pct,
/// flows_pct, and the rates the fields ask for.
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
    let mut out = r.kind.columns().join(",");
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
    out.push('\n');
    for row in rows {
        let key: Vec<String> = r
            .kind
            .parts
            .iter()
            .zip(&row.key)
            .map(|(p, v)| show.key(*p, v))
            .collect();
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
/// summaries, the averages and distributions).
pub fn render_json(
    r: &Report,
    rows: &[Row],
    sort: Sort,
    records: Option<usize>,
) -> serde_json::Value {
    let cols = r.kind.columns();
    let count_col = r.kind.count_column();
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut o = serde_json::Map::new();
            for (c, v) in cols.iter().zip(&row.key) {
                let val = match v {
                    Val::N(n) => serde_json::Value::from(*n),
                    other => serde_json::Value::from(other.to_string()),
                };
                o.insert(c.to_string(), val);
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
