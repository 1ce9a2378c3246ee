//! Renderers of a finished report: aligned text with human units, CSV,
//! and JSON.

use crate::{Report, Row, Sort, Val};

/// `1234567` as `1.2 M` (powers of 1000), for text output.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 7] = ["", " k", " M", " G", " T", " P", " E"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        n.to_string()
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

/// The report as aligned text with human units and percentages of the total.
pub fn render_text(r: &Report, rows: &[Row], title: &str) -> String {
    let cols = r.kind.columns();
    let mut out = format!(
        "# {title}\n# {} flows, {} octets, {} packets in all; {} keys\n",
        r.totals.flows,
        human(r.totals.octets),
        human(r.totals.packets),
        r.keys()
    );
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|row| row.key[i].to_string().len())
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    let mut head: Vec<String> = cols
        .iter()
        .zip(&widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    head.extend(
        ["flows", "octets", "packets", "octets%"]
            .iter()
            .map(|h| format!("{h:>10}")),
    );
    out.push_str(head.join("  ").trim_end());
    out.push('\n');
    for row in rows {
        let mut cells: Vec<String> = row
            .key
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{:<w$}", v.to_string()))
            .collect();
        cells.push(format!("{:>10}", row.counters.flows));
        cells.push(format!("{:>10}", human(row.counters.octets)));
        cells.push(format!("{:>10}", human(row.counters.packets)));
        cells.push(format!(
            "{:>10.2}",
            pct(row.counters.octets, r.totals.octets)
        ));
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The report as CSV: key columns (catalog names), then flows, octets,
/// packets, duration_ms, octets_pct, flows_pct.
pub fn render_csv(r: &Report, rows: &[Row]) -> String {
    let mut out = r.kind.columns().join(",");
    out.push_str(",flows,octets,packets,duration_ms,octets_pct,flows_pct\n");
    for row in rows {
        let key: Vec<String> = row.key.iter().map(Val::to_string).collect();
        let c = row.counters;
        out.push_str(&format!(
            "{},{},{},{},{},{:.4},{:.4}\n",
            key.join(","),
            c.flows,
            c.octets,
            c.packets,
            c.duration_ms,
            pct(c.octets, r.totals.octets),
            pct(c.flows, r.totals.flows)
        ));
    }
    out
}

/// The report as one JSON document: type, totals and rows.
pub fn render_json(
    r: &Report,
    rows: &[Row],
    sort: Sort,
    records: Option<usize>,
) -> serde_json::Value {
    let cols = r.kind.columns();
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
            let c = row.counters;
            o.insert("flows".into(), c.flows.into());
            o.insert("octets".into(), c.octets.into());
            o.insert("packets".into(), c.packets.into());
            o.insert("duration_ms".into(), c.duration_ms.into());
            o.insert("octets_pct".into(), pct(c.octets, r.totals.octets).into());
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({
        "report": r.kind.name,
        "sort": format!("{}{:?}", if sort.largest_first { "+" } else { "-" }, sort.field).to_lowercase(),
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
    })
}
