//! flow-report's ascii output, for the scripts written against it
//! (flow-rptfmt, the how-to's perl and awk): comma-separated rows under a
//! `# recn:` line naming the columns (keys marked `*`), `# rec1:` totals
//! with `options +totals`, `#TALLY` lines, `# stop, hit record limit.`,
//! rates and percentages as C's `%f`, ports/protocols/AS numbers by name
//! with `+names`.
//!
//! Byte for byte as flow-report 0.68 prints these lines; the `+header`
//! block has its labels and order, with floe's version and times in UTC.
//! Rows are in floe's order (sorted, ties by key) where flow-report left
//! an unsorted report in hash order. A stat-definition's `time-series N`
//! gives one table whose first key column is the interval start (`time*`,
//! seconds since the epoch), each interval's rows in the output's sort and
//! record limit, where flow-report appended one whole report per interval.

use crate::key::Val;
use crate::kind::SummaryKind;
use crate::output::Output;
use crate::report::{Report, Row};
use crate::summary::Averages;
use crate::sym::Symbols;

/// C's `%f`.
fn f6(x: f64) -> String {
    format!("{x:.6}")
}

fn pct(part: f64, total: f64) -> f64 {
    if total == 0.0 {
        // C divides by zero here and prints nan or inf; a number is kinder
        // to the scripts.
        0.0
    } else {
        part / total * 100.0
    }
}

/// `Thu Dec  1 00:00:01 2011` (ctime), UTC.
fn ctime(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = floe_flow::time::civil_from_days(days);
    format!(
        "{} {} {d:>2} {:02}:{:02}:{:02} {y}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m as usize).saturating_sub(1).min(11)],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn header(r: &Report, o: &Output, name: &str, now_secs: i64) -> String {
    let secs = |ms: i64| {
        if ms == i64::MIN || ms == i64::MAX {
            0
        } else {
            ms.div_euclid(1000)
        }
    };
    let (first, last) = (secs(r.first_ms), secs(r.last_ms));
    let mut fields = Vec::new();
    let fl = &o.fields;
    for (on, n) in [
        (fl.key, "+key"),
        (fl.flows, "+flows"),
        (fl.octets, "+octets"),
        (fl.packets, "+packets"),
        (fl.duration, "+duration"),
        (fl.avg_bps, "+avg-bps"),
        (fl.min_bps, "+min-bps"),
        (fl.max_bps, "+max-bps"),
        (fl.avg_pps, "+avg-pps"),
        (fl.min_pps, "+min-pps"),
        (fl.max_pps, "+max-pps"),
        (fl.count && r.kind.count, "+count"),
        (fl.frecs, "+frecs"),
    ] {
        if on {
            fields.push(n);
        }
    }
    let line = |label: &str, v: String| format!("#  {:<22}{v}\n", format!("{label}:"));
    let mut s = String::from("#  --- ---- ---- Report Information --- --- ---\n#\n");
    s += &line(
        "build-version",
        format!("floe {}", env!("CARGO_PKG_VERSION")),
    );
    s += &line("name", name.to_string());
    s += &line("type", r.kind.name.clone());
    s += &line("options", o.options.names());
    s += &line("fields", fields.join(","));
    s += &line("records", o.records.unwrap_or(0).to_string());
    s += &line("first-flow", format!("{first} {}", ctime(first)));
    s += &line("last-flow", format!("{last} {}", ctime(last)));
    s += &line("now", format!("{now_secs} {}", ctime(now_secs)));
    s += "#\n";
    s
}

fn totals(r: &Report) -> String {
    let t = &r.totals;
    let mut s = String::new();
    if r.options.rates {
        s += "# rec1: records,ignores,flows,octets,packets,duration,avg_bps,min_bps,max_bps,avg_pps,min_pps,max_pps\n";
    } else {
        s += "# rec1: records,ignores,flows,octets,packets,duration\n";
    }
    s += &format!(
        "{},{},{},{},{},{}",
        r.keys(),
        r.ignores,
        t.flows,
        t.octets,
        t.packets,
        t.duration_ms
    );
    if r.options.rates {
        let x = &r.total_rates;
        for v in [
            x.avg_bps(),
            x.min_bps,
            x.max_bps,
            x.avg_pps(),
            x.min_pps,
            x.max_pps,
        ] {
            s += ",";
            s += &f6(v);
        }
    }
    s.push('\n');
    s
}

/// summary-detail's `# rec2:` line and values (flow-report's layout).
fn summary_detail(r: &Report) -> String {
    let Some(sum) = &r.summary else {
        return String::new();
    };
    let a = Averages::flow_report(&r.totals, r.first_ms, r.last_ms);
    let names = |prefix: &str, d: &crate::summary::Distribution| -> Vec<String> {
        let mut v: Vec<String> = d.bounds.iter().map(|b| format!("{prefix}{b}")).collect();
        if d.other.is_some() {
            v.push(format!("{prefix}_other"));
        }
        v
    };
    let mut cols: Vec<String> = [
        "time_real",
        "aflowtime",
        "aps",
        "afs",
        "apf",
        "fps",
        "fps_real",
    ]
    .map(String::from)
    .to_vec();
    cols.extend(names("psize", &sum.packet_size));
    cols.extend(names("fpsize", &sum.packets));
    cols.extend(names("fosize", &sum.octets));
    cols.extend(names("ftime", &sum.time));
    let flows = r.totals.flows.max(1) as f64;
    let fps_real = if a.time_real == 0 {
        0.0
    } else {
        r.totals.flows as f64 / a.time_real as f64
    };
    let mut vals = vec![
        a.time_real.to_string(),
        f6(a.flow_time),
        f6(a.packet_size),
        f6(a.flow_size),
        f6(a.packets_per_flow),
        f6(a.flows_per_second),
        f6(fps_real),
    ];
    for (_, d) in sum.distributions() {
        vals.extend(d.buckets().iter().map(|(_, c)| f6(*c as f64 / flows)));
    }
    format!("# rec2: {}\n{}\n", cols.join(","), vals.join(","))
}

/// One output of a report in flow-report's layout. `name` is the
/// stat-report's name (the header's), `now_secs` the header's "now".
pub fn render_flow_tools(
    r: &Report,
    rows: &[Row],
    o: &Output,
    name: &str,
    symbols: Option<&Symbols>,
    now_secs: i64,
) -> String {
    let mut s = String::new();
    if o.options.header {
        s += &header(r, o, name, now_secs);
    }
    if let Some(kind) = r.kind.summary {
        s += &totals(r);
        if kind == SummaryKind::Detail {
            s += &summary_detail(r);
        }
        return s;
    }
    if o.options.totals {
        s += &totals(r);
    }
    let f = &o.fields;
    let show_count = f.count && r.kind.count;
    // The recn line.
    let mut cols: Vec<String> = Vec::new();
    if f.key {
        cols.extend(r.kind.columns().iter().map(|c| format!("{c}*")));
    }
    if show_count {
        cols.extend(r.kind.count_column().map(String::from));
    }
    for (on, n) in [
        (f.flows, "flows"),
        (f.octets, "octets"),
        (f.packets, "packets"),
        (f.duration, "duration"),
        (f.avg_bps, "avg-bps"),
        (f.min_bps, "min-bps"),
        (f.max_bps, "max-bps"),
        (f.avg_pps, "avg-pps"),
        (f.min_pps, "min-pps"),
        (f.max_pps, "max-pps"),
        (f.frecs, "frecs"),
    ] {
        if on {
            cols.push(n.to_string());
        }
    }
    s += &format!("# recn: {}\n", cols.join(","));
    let names = if o.options.names { symbols } else { None };
    let t = &r.totals;
    let tr = &r.total_rates;
    let total_keys = r.keys().max(1) as f64;
    let (mut rt_flows, mut rt_octets, mut rt_packets) = (0u64, 0u64, 0u64);
    let (mut rt_bps, mut rt_pps, mut rt_frecs) = (0f64, 0f64, 0u64);
    for (i, row) in rows.iter().enumerate() {
        if let Some(n) = o.tally.filter(|n| *n > 0) {
            if i > 0 && (i as u64).is_multiple_of(n) {
                let mut line = format!(
                    "#TALLY %recs={:.3} %flows={:.3} %octets={:.3} %packets={:.3}",
                    i as f64 / total_keys * 100.0,
                    pct(rt_flows as f64, t.flows as f64),
                    pct(rt_octets as f64, t.octets as f64),
                    pct(rt_packets as f64, t.packets as f64)
                );
                if r.options.rates {
                    let avg = |sum: f64| {
                        if rt_frecs == 0 {
                            0.0
                        } else {
                            sum / rt_frecs as f64
                        }
                    };
                    line += &format!(
                        " %avg-bps={:.3} %avg-pps={:.3}",
                        pct(avg(rt_bps), tr.avg_bps()),
                        pct(avg(rt_pps), tr.avg_pps())
                    );
                }
                s += &line;
                s.push('\n');
            }
        }
        let c = &row.counters;
        let rates = row.rates.unwrap_or_default();
        rt_flows += c.flows;
        rt_octets = rt_octets.saturating_add(c.octets);
        rt_packets = rt_packets.saturating_add(c.packets);
        rt_frecs += rates.recs;
        rt_bps += rates.avg_bps() * rates.recs as f64;
        rt_pps += rates.avg_pps() * rates.recs as f64;
        let mut cells: Vec<String> = Vec::new();
        if f.key {
            for (part, v) in r.kind.parts.iter().zip(&row.key) {
                cells.push(match (names, v) {
                    (Some(sym), Val::N(_)) => sym.show(*part, v),
                    _ => v.flow_tools(),
                });
            }
        }
        if show_count {
            cells.push(row.count.unwrap_or(0).to_string());
        }
        let counter = |on: bool, v: u64, total: u64, cells: &mut Vec<String>| {
            if on {
                cells.push(if o.options.percent_total {
                    f6(pct(v as f64, total as f64))
                } else {
                    v.to_string()
                });
            }
        };
        counter(f.flows, c.flows, t.flows, &mut cells);
        counter(f.octets, c.octets, t.octets, &mut cells);
        counter(f.packets, c.packets, t.packets, &mut cells);
        counter(f.duration, c.duration_ms, t.duration_ms, &mut cells);
        for (on, v, total) in [
            (f.avg_bps, rates.avg_bps(), tr.avg_bps()),
            (f.min_bps, rates.min_bps, tr.min_bps),
            (f.max_bps, rates.max_bps, tr.max_bps),
            (f.avg_pps, rates.avg_pps(), tr.avg_pps()),
            (f.min_pps, rates.min_pps, tr.min_pps),
            (f.max_pps, rates.max_pps, tr.max_pps),
        ] {
            if on {
                cells.push(f6(if o.options.percent_total {
                    pct(v, total)
                } else {
                    v
                }));
            }
        }
        if f.frecs {
            cells.push(rates.recs.to_string());
        }
        s += &cells.join(",");
        s.push('\n');
        if o.records == Some(i + 1) {
            s += "# stop, hit record limit.\n";
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_layout() {
        // flow-tools' manual example: 1322715601 is Thu Dec  1 05:00:01 2011 UTC.
        assert_eq!(ctime(1_322_715_601), "Thu Dec  1 05:00:01 2011");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime(1_795_000_000), "Wed Nov 18 11:06:40 2026");
    }
}
