//! An answer as text: CSV (one row per interval and series, what the web
//! page's download and `floe report --series --format csv` give) and a
//! table (intervals down, series across, what `floe report --series`
//! prints). One renderer, so the page and the report cannot drift.

use std::fmt::Write as _;

use crate::answer::{Answer, Series};

/// The series in the order they are shown: the top ones, "other", then
/// "total".
pub fn shown(a: &Answer) -> Vec<&Series> {
    let mut all: Vec<&Series> = a.series.iter().collect();
    if let Some(o) = &a.other {
        all.push(o);
    }
    all.push(&a.total);
    all
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `interval_start,series,flows,packets,octets`, one row per interval and
/// series (other and total included), times as RFC 3339 UTC. Series
/// known by their totals only (no values) are left out.
pub fn csv(a: &Answer) -> String {
    let mut out = String::from("interval_start,series,flows,packets,octets\n");
    let all = shown(a);
    for (i, t) in a.starts.iter().enumerate() {
        for s in &all {
            let Some(v) = s.values.get(i) else { continue };
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                floe_flow::time::format_utc_ms(*t),
                quote(&s.label),
                v.flows,
                v.packets,
                v.octets
            );
        }
    }
    out
}

/// A table of the measure: one line per interval (its start as `time`
/// shows it), one column per series, then lines with each series'
/// minimum, maximum, average, 95th percentile and total.
pub fn table(a: &Answer, time: &dyn Fn(i64) -> String) -> String {
    let all = shown(a);
    let mut head = vec![format!("time ({})", a.measure.name())];
    head.extend(all.iter().map(|s| s.shown().to_string()));
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(a.starts.len() + 5);
    for (i, t) in a.starts.iter().enumerate() {
        let mut r = vec![time(*t)];
        r.extend(all.iter().map(|s| {
            s.values
                .get(i)
                .map_or(String::new(), |v| v.get(a.measure).to_string())
        }));
        rows.push(r);
    }
    let stat = |name: &str, f: &dyn Fn(&Series) -> String| {
        let mut r = vec![name.to_string()];
        r.extend(all.iter().map(|s| f(s)));
        r
    };
    rows.push(stat("min", &|s| s.stats.min.to_string()));
    rows.push(stat("max", &|s| s.stats.max.to_string()));
    rows.push(stat("avg", &|s| format!("{:.1}", s.stats.avg)));
    rows.push(stat("p95", &|s| s.stats.p95.to_string()));
    rows.push(stat("total", &|s| s.stats.total.to_string()));
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
            if i == 0 {
                let _ = write!(out, "{c:<w$}");
            } else {
                let _ = write!(out, "  {c:>w$}");
            }
        }
        out.push('\n');
    };
    line(&mut out, &head);
    for (i, r) in rows.iter().enumerate() {
        if i == a.starts.len() {
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            line(&mut out, &rule);
        }
        line(&mut out, r);
    }
    out
}

/// The table as a small self-contained page (what a mailed report
/// carries; the web page draws the chart).
pub fn html(a: &Answer, time: &dyn Fn(i64) -> String, title: &str) -> String {
    let all = shown(a);
    let page = maud::html! {
        (maud::DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { "body{font-family:sans-serif}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}td{text-align:right;font-variant-numeric:tabular-nums}" }
            }
            body {
                h1 { (title) " (" (a.measure.name()) ")" }
                table {
                    tr { th { "time" } @for s in &all { th { (s.shown()) } } }
                    @for (i, t) in a.starts.iter().enumerate() {
                        tr {
                            th { (time(*t)) }
                            @for s in &all {
                                td { (s.values.get(i).map_or(0, |v| v.get(a.measure))) }
                            }
                        }
                    }
                    @for (name, f) in [
                        ("min", (|s: &Series| s.stats.min.to_string()) as fn(&Series) -> String),
                        ("max", |s| s.stats.max.to_string()),
                        ("avg", |s| format!("{:.1}", s.stats.avg)),
                        ("p95", |s| s.stats.p95.to_string()),
                        ("total", |s| s.stats.total.to_string()),
                    ] {
                        tr { th { (name) } @for s in &all { td { (f(s)) } } }
                    }
                }
            }
        }
    };
    page.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Counts;
    use crate::query::Measure;

    fn answer() -> Answer {
        let c = |o| Counts {
            flows: 1,
            packets: 2,
            octets: o,
        };
        let a = Series::new(
            "10.0.0.1".into(),
            vec!["10.0.0.1".into()],
            vec![c(100), c(300)],
            Measure::Octets,
        );
        let t = Series::new(
            "total".into(),
            vec![],
            vec![c(150), c(400)],
            Measure::Octets,
        );
        let o = t.minus("other", &[&a], Measure::Octets);
        Answer {
            interval_ms: 600_000,
            starts: vec![0, 600_000],
            series: vec![a],
            other: Some(o),
            total: t,
            ..Answer::default()
        }
    }

    #[test]
    fn csv_rows() {
        let text = csv(&answer());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[1], "1970-01-01T00:00:00.000Z,10.0.0.1,1,2,100");
        assert_eq!(lines[2], "1970-01-01T00:00:00.000Z,other,0,0,50");
        assert_eq!(lines[6], "1970-01-01T00:10:00.000Z,total,1,2,400");
    }

    #[test]
    fn table_columns() {
        let text = table(&answer(), &|t| t.to_string());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("time (octets)"), "{text}");
        assert!(lines[0].ends_with("10.0.0.1  other  total"), "{text}");
        assert!(
            lines[2].starts_with("600000") && lines[2].ends_with("300    100    400"),
            "{text}"
        );
        assert!(lines[3].starts_with("------"));
        assert!(
            lines.last().unwrap().starts_with("total")
                && lines.last().unwrap().ends_with("400    150    550"),
            "{text}"
        );
        assert_eq!(quote("a,b\"c"), "\"a,b\"\"c\"");
    }
}
