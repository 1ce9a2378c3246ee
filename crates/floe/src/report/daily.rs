//! `floe report --daily [--day DAY]`: the summary an operator wants each
//! morning, with no configuration: traffic per hour, top source and
//! destination addresses, top destination ports, top conversations,
//! protocols, and each exporter's health (flows, lost flows, resets, bad
//! datagrams, flows the disk could not take), for one day in the zone
//! (yesterday by default), as text or HTML, in one pass over the day's
//! files.
//!
//! The day's last flows are in the files of the periods after midnight
//! (flows are filed by the time they arrive), and a run soon after
//! midnight finds the latest of them still open: tmp- files are read too,
//! up to their last whole block (and one closed since it was listed is
//! read under its closed name).

use floe_flow::{Counter, ExporterCounters, ExporterKey, Flow};
use floe_report::{
    human, render_html_sections, render_text, HtmlReport, HtmlSection, HtmlTable, Report,
    ReportType, Sort,
};

use crate::error::{CliError, Result};
use crate::read::Selection;
use crate::read_parallel::read_parallel;
use crate::report::args::{Format, ReportArgs};
use crate::report::compute::merged;
use crate::report::deliver::{mailer, Delivery};
use crate::sources::{self, open_floe, Sources};
use crate::time::{day_window, now_ms};

/// The reports of the summary: title, type, sort, rows.
const REPORTS: &[(&str, &str, &str, Option<usize>)] = &[
    (
        "Top 15 source addresses by octets",
        "ip-source-address",
        "+octets",
        Some(15),
    ),
    (
        "Top 15 destination addresses by octets",
        "ip-destination-address",
        "+octets",
        Some(15),
    ),
    (
        "Top 15 destination ports by octets",
        "ip-destination-port",
        "+octets",
        Some(15),
    ),
    (
        "Top 15 conversations by octets",
        "ip-source/destination-address",
        "+octets",
        Some(15),
    ),
    ("Protocols", "ip-protocol", "+octets", None),
];

/// Flows, octets and packets of one hour.
#[derive(Clone, Copy, Default)]
struct Hour {
    flows: u64,
    octets: u64,
    packets: u64,
}

struct State {
    reports: Vec<Report>,
    hours: Vec<Hour>,
}

pub fn run(a: &ReportArgs) -> Result<()> {
    let format = a.format.get();
    if !matches!(format, Format::Text | Format::Html) {
        return Err(CliError::Usage(
            "--daily is text or html (--format text, --format html)".into(),
        ));
    }
    let max_keys = a.max_keys;
    let zone = a.window.zone()?;
    let day = a.window.day.as_deref().unwrap_or("yesterday");
    let window = day_window(day, &zone, now_ms())?;
    let (from, to) = (window.from, window.to);
    let n_hours = ((to - from + 3_599_999) / 3_600_000).max(1) as usize;
    let day_name = zone.at(from).format("%Y-%m-%d").to_string();
    let host = floe_store::host_name();
    let title = format!("{day_name} daily flow summary on {host}");
    let mailer = mailer(a, &title, from)?;
    let sources = sources::list(&a.input, window, true)?;
    let kinds: Vec<ReportType> = REPORTS
        .iter()
        .map(|(_, k, _, _)| ReportType::parse(k))
        .collect::<Result<_, _>>()?;
    let projection = floe_store::Projection::of_fields([
        "ip-source-address",
        "ip-destination-address",
        "ip-destination-port",
        "ip-protocol",
        "octets",
        "packets",
    ])
    .map_err(CliError::Usage)?;
    let sel = Selection {
        sources: &sources,
        window,
        projection,
    };
    let (states, summary) = read_parallel(
        &sel,
        a.threads,
        || State {
            reports: kinds
                .iter()
                .map(|k| Report::new(k.clone(), max_keys))
                .collect(),
            hours: vec![Hour::default(); n_hours],
        },
        |s: &mut State, flows: &mut Vec<Flow>| {
            for r in &mut s.reports {
                r.add(flows)?;
            }
            for f in flows.iter() {
                // Counted in the hour it started (or the first hour).
                let i = ((f.start_ms.max(from) - from) / 3_600_000) as usize;
                let h = &mut s.hours[i.min(n_hours - 1)];
                h.flows += 1;
                h.octets = h.octets.saturating_add(f.octets);
                h.packets = h.packets.saturating_add(f.packets);
            }
            Ok(())
        },
    )?;
    summary.something_read(&sources, window, &zone)?;
    let mut hours = vec![Hour::default(); n_hours];
    let mut per_report: Vec<Vec<Report>> = kinds.iter().map(|_| Vec::new()).collect();
    for s in states {
        for (h, x) in hours.iter_mut().zip(&s.hours) {
            h.flows += x.flows;
            h.octets = h.octets.saturating_add(x.octets);
            h.packets = h.packets.saturating_add(x.packets);
        }
        for (i, r) in s.reports.into_iter().enumerate() {
            per_report[i].push(r);
        }
    }
    let reports: Vec<Report> = per_report.into_iter().map(merged).collect::<Result<_>>()?;
    let health = exporter_health(&sources);
    let hour_label = |i: usize| {
        zone.at(from + i as i64 * 3_600_000)
            .format("%H:%M")
            .to_string()
    };
    let rows: Vec<Vec<floe_report::Row>> = reports
        .iter()
        .zip(REPORTS)
        .map(|(r, (_, _, sort, records))| Sort::parse(sort).map(|s| r.rows(s, *records)))
        .collect::<Result<_, _>>()?;
    let hour_rows: Vec<Vec<String>> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            vec![
                hour_label(i),
                h.flows.to_string(),
                human(h.octets),
                human(h.packets),
            ]
        })
        .collect();
    let health_rows: Vec<Vec<String>> = health
        .iter()
        .map(|(k, c)| {
            vec![
                format!("{} ({})", k.address, k.source_id),
                c.flows.to_string(),
                c.lost_flows.to_string(),
                c.sequence_resets.to_string(),
                c.bad_datagrams.to_string(),
                c.extra[Counter::UnwrittenFlows].to_string(),
            ]
        })
        .collect();
    let totals = &reports[0].totals;
    let subtitle = format!(
        "{} flows, {} octets, {} packets; {} to {} ({})",
        totals.flows,
        human(totals.octets),
        human(totals.packets),
        zone.at(from).format("%Y-%m-%d %H:%M"),
        zone.at(to).format("%Y-%m-%d %H:%M"),
        zone.name()
    );
    let delivery = Delivery {
        format,
        output: &a.output,
        mailer,
    };
    delivery.deliver(|format| {
        if format == Format::Html {
            let mut sections = vec![HtmlSection::Table(HtmlTable {
                title: "Traffic per hour",
                columns: ["hour", "flows", "octets", "packets"]
                    .map(String::from)
                    .to_vec(),
                rows: hour_rows.clone(),
                bars: hours
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (hour_label(i), h.octets))
                    .collect(),
            })];
            for ((r, rows), (t, _, _, _)) in reports.iter().zip(&rows).zip(REPORTS) {
                sections.push(HtmlSection::Report(HtmlReport {
                    title: t,
                    report: r,
                    rows,
                }));
            }
            sections.push(HtmlSection::Table(HtmlTable {
                title: "Exporter health",
                columns: [
                    "exporter (source id)",
                    "flows",
                    "lost flows",
                    "resets",
                    "bad datagrams",
                    "unwritten flows",
                ]
                .map(String::from)
                .to_vec(),
                rows: health_rows.clone(),
                bars: Vec::new(),
            }));
            render_html_sections(&title, &subtitle, &sections)
        } else {
            let mut s = format!("# {title}\n# {subtitle}\n\n# Traffic per hour\n");
            s.push_str(&format!(
                "{:<6} {:>12} {:>12} {:>12}\n",
                "hour", "flows", "octets", "packets"
            ));
            for r in &hour_rows {
                s.push_str(&format!(
                    "{:<6} {:>12} {:>12} {:>12}\n",
                    r[0], r[1], r[2], r[3]
                ));
            }
            for ((r, rows), (t, _, _, _)) in reports.iter().zip(&rows).zip(REPORTS) {
                s.push('\n');
                s.push_str(&render_text(r, rows, t, &floe_report::Show::default()));
            }
            s.push_str("\n# Exporter health\n");
            s.push_str(&format!(
                "{:<40} {:>12} {:>10} {:>7} {:>8} {:>10}\n",
                "exporter (source id)", "flows", "lost", "resets", "bad", "unwritten"
            ));
            for r in &health_rows {
                s.push_str(&format!(
                    "{:<40} {:>12} {:>10} {:>7} {:>8} {:>10}\n",
                    r[0], r[1], r[2], r[3], r[4], r[5]
                ));
            }
            s
        }
    })?;
    summary.all_read()
}

/// Every exporter's counters summed over the day's floe files.
fn exporter_health(sources: &Sources) -> Vec<(ExporterKey, ExporterCounters)> {
    let mut all: std::collections::BTreeMap<ExporterKey, ExporterCounters> = Default::default();
    for p in sources.floe_files() {
        if let Ok(f) = open_floe(p) {
            for (k, c) in f.counters() {
                all.entry(*k).or_default().add(c);
            }
        }
    }
    all.into_iter().collect()
}
