//! `floe report --daily [--day DAY]`: the summary an operator wants each
//! morning, with no configuration: traffic per hour (stacked by protocol
//! family), top source and destination addresses, top destination ports
//! and conversations, protocols, and each exporter's health (problems
//! first, with what they mean), for one day in the zone (yesterday by
//! default), as text or HTML, in one pass over the day's files.
//!
//! The day's last flows are in the files of the periods after midnight
//! (flows are filed by the time they arrive), and a run soon after
//! midnight finds the latest of them still open: tmp- files are read too,
//! up to their last whole block (and one closed since it was listed is
//! read under its closed name).

use floe_flow::Flow;
use floe_report::chart::{self, Area, Layer};
use floe_report::health::{ExporterHealth, HealthBuilder};
use floe_report::sym::Symbols;
use floe_report::words::{self, Clock};
use floe_report::{
    human, render_page, render_text, HtmlHealth, HtmlReport, HtmlSection, HtmlSeries, Page,
    PageHead, Report, ReportType, Row, Show, Sort, Target,
};

use crate::error::{CliError, Result};
use crate::read::Selection;
use crate::read_parallel::read_parallel;
use crate::report::args::{Format, ReportArgs};
use crate::report::compute::merged;
use crate::report::deliver::{mailer, Delivery};
use crate::sources::{self, open_floe, Sources};
use crate::time::{day_window, now_ms, ZoneClock};

/// The reports of the summary: type, sort, rows, and a title of its own
/// (else the type's in words). Destination ports are keyed with their
/// protocol: TCP 443 and UDP 443 apart, and ICMP's type and code (which
/// NetFlow puts in the destination port) named as such.
const REPORTS: &[(&str, &str, Option<usize>, Option<&str>)] = &[
    ("ip-source-address", "+octets", Some(15), None),
    ("ip-destination-address", "+octets", Some(15), None),
    (
        "ip-protocol/ip-destination-port",
        "+octets",
        Some(15),
        Some("Top 15 destination ports by bytes"),
    ),
    ("ip-source/destination-address", "+octets", Some(15), None),
    ("ip-protocol", "+octets", None, None),
];

/// Flows, octets and packets of one hour, and its octets by protocol
/// family.
#[derive(Clone, Copy, Default)]
struct Hour {
    flows: u64,
    octets: u64,
    packets: u64,
    families: [u64; 4],
}

impl Hour {
    fn add(&mut self, o: &Hour) {
        self.flows += o.flows;
        self.octets = self.octets.saturating_add(o.octets);
        self.packets = self.packets.saturating_add(o.packets);
        for (a, b) in self.families.iter_mut().zip(o.families) {
            *a = a.saturating_add(b);
        }
    }
}

struct State {
    reports: Vec<Report>,
    hours: Vec<Hour>,
}

/// Everything the summary shows, computed.
struct Daily<'a> {
    title: String,
    clock: &'a dyn Clock,
    from: i64,
    to: i64,
    hours: Vec<Hour>,
    reports: Vec<(String, Report, Vec<Row>, Sort)>,
    health: Vec<ExporterHealth>,
    symbols: Option<&'a Symbols>,
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
    let clock = ZoneClock(&zone);
    let day = a.window.day.as_deref().unwrap_or("yesterday");
    let window = day_window(day, &zone, now_ms())?;
    let (from, to) = (window.from, window.to);
    let n_hours = ((to - from + 3_599_999) / 3_600_000).max(1) as usize;
    let day_name = zone.at(from).format("%Y-%m-%d").to_string();
    let host = floe_store::host_name();
    let title = format!("{day_name} daily flow summary on {host}");
    let symbols = match &a.symbols {
        Some(dir) => Symbols::load(dir)?,
        None => Symbols::builtin(),
    };
    let mailer = mailer(a, &title, from)?;
    let sources = sources::list(&a.input, window, true)?;
    let kinds: Vec<ReportType> = REPORTS
        .iter()
        .map(|(k, _, _, _)| ReportType::parse(k))
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
        a.threads.threads,
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
                let fam = &mut h.families[chart::family(f.protocol)];
                *fam = fam.saturating_add(f.octets);
            }
            Ok(())
        },
    )?;
    summary.something_read(&sources, window, &zone)?;
    let mut hours = vec![Hour::default(); n_hours];
    let mut per_report: Vec<Vec<Report>> = kinds.iter().map(|_| Vec::new()).collect();
    for s in states {
        for (h, x) in hours.iter_mut().zip(&s.hours) {
            h.add(x);
        }
        for (i, r) in s.reports.into_iter().enumerate() {
            per_report[i].push(r);
        }
    }
    let mut reports = Vec::new();
    for ((r, (_, sort, records, title)), kind) in per_report.into_iter().zip(REPORTS).zip(&kinds) {
        let r = merged(r, crate::scan::threads(a.threads.threads))?;
        let sort = Sort::parse(sort)?;
        let rows = r.rows(sort, *records);
        let t = title.map_or_else(|| words::title(kind, sort, *records, 0), String::from);
        reports.push((t, r, rows, sort));
    }
    let d = Daily {
        title,
        clock: &clock,
        from,
        to,
        hours,
        reports,
        health: exporter_health(&sources, &clock),
        symbols: (!a.numeric.numeric).then_some(&symbols),
    };
    let delivery = Delivery {
        format,
        output: &a.output,
        mailer,
    };
    delivery.deliver(
        |format| match format {
            Format::Html => d.page(Target::Page).html,
            _ => d.text(),
        },
        || d.page(Target::Mail),
    )?;
    summary.all_read()
}

impl Daily<'_> {
    fn totals(&self) -> &floe_report::Counters {
        &self.reports[0].1.totals
    }

    fn first_last(&self) -> (i64, i64) {
        let r = &self.reports[0].1;
        (r.first_ms, r.last_ms)
    }

    fn hour_label(&self, i: usize) -> String {
        let ms = self.from + i as i64 * 3_600_000;
        if ms >= self.to {
            return "24:00".into();
        }
        words::Civil::at(self.clock, ms).time(false)
    }

    fn window_line(&self) -> String {
        format!(
            "{} ({})",
            words::span(self.clock, self.from, self.to, false),
            self.clock.label()
        )
    }

    fn show(&self) -> Show<'_> {
        Show {
            fields: Default::default(),
            names: self.symbols,
            clock: self.clock,
            brief: true,
        }
    }

    /// The busiest hour: (index, hour).
    fn busiest(&self) -> Option<(usize, &Hour)> {
        self.hours
            .iter()
            .enumerate()
            .filter(|(_, h)| h.octets > 0)
            .max_by_key(|(i, h)| (h.octets, std::cmp::Reverse(*i)))
    }

    fn hour_bps(h: &Hour) -> f64 {
        h.octets as f64 * 8.0 / 3600.0
    }

    /// Exporters with problems.
    fn troubled(&self) -> usize {
        self.health
            .iter()
            .filter(|e| !e.problems(self.clock).is_empty())
            .count()
    }

    /// Flows received (the exporters' counters) against the day's flows,
    /// in a sentence.
    fn received_note(&self) -> String {
        let received: u64 = self.health.iter().map(|e| e.counters.flows).sum();
        format!(
            "“Flows received” counts what the exporters sent in the files read for this day \
             ({} flows in all): flows are filed as they arrive, so these files run past \
             midnight. The day's figures count the {} flows whose times fall within the day \
             (and flows with packets only); the two differ by the flows that arrived after \
             midnight or began the day before.",
            words::count(received, "\u{202f}"),
            words::count(self.totals().flows, "\u{202f}")
        )
    }

    fn area(&self) -> Area {
        Area {
            layers: chart::FAMILIES
                .iter()
                .enumerate()
                .map(|(i, (name, colour))| Layer {
                    label: (*name).into(),
                    colour: *colour,
                    values: self
                        .hours
                        .iter()
                        .map(|h| h.families[i] as f64 * 8.0 / 3600.0)
                        .collect(),
                })
                .filter(|l| l.values.iter().any(|v| *v > 0.0))
                .collect(),
        }
    }

    fn page(&self, target: Target) -> Page {
        let t = self.totals();
        let (first, last) = self.first_last();
        let mut lines = vec![self.window_line()];
        if let Some(r) = words::data_range(self.clock, first, last) {
            lines.push(words::capitalise(&r));
        }
        let span_s = ((self.to - self.from) / 1000).max(1) as f64;
        let mut facts = vec![
            (words::count(t.flows, "\u{202f}"), "flows".to_string()),
            (words::bytes(t.octets), "in all".to_string()),
            (words::count(t.packets, "\u{202f}"), "packets".to_string()),
            (
                words::bits_per_second(t.octets as f64 * 8.0 / span_s),
                "on average over the day".to_string(),
            ),
        ];
        if let Some((i, h)) = self.busiest() {
            facts.push((
                words::bits_per_second(Self::hour_bps(h)),
                format!(
                    "in the busiest hour, {}–{}",
                    self.hour_label(i),
                    self.hour_label(i + 1)
                ),
            ));
        }
        let troubled = self.troubled();
        if troubled > 0 {
            facts.push((
                format!("⚠ {troubled}"),
                format!(
                    "of {} exporters {} attention",
                    self.health.len(),
                    if troubled == 1 { "needs" } else { "need" }
                ),
            ));
        }
        let n = self.hours.len();
        let ticks: Vec<String> = [0.0, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|f| self.hour_label((n as f64 * f).round() as usize))
            .collect();
        let details_rows: Vec<Vec<String>> = self
            .hours
            .iter()
            .enumerate()
            .map(|(i, h)| {
                vec![
                    format!("{}–{}", self.hour_label(i), self.hour_label(i + 1)),
                    words::count(h.flows, "\u{202f}"),
                    words::count(h.packets, "\u{202f}"),
                    words::bytes(h.octets),
                    words::bits_per_second(Self::hour_bps(h)),
                ]
            })
            .collect();
        let hours = HtmlSection::Series(HtmlSeries {
            title: "Traffic per hour, by protocol",
            unit: words::bits_per_second,
            area: self.area(),
            ticks,
            points: (0..n)
                .map(|i| format!("{}–{}", self.hour_label(i), self.hour_label(i + 1)))
                .collect(),
            note: "Bits per second, averaged over each hour; each flow counts in the hour it \
                   started."
                .into(),
            details: Some((
                ["hour", "flows", "packets", "bytes", "bit/s"]
                    .map(String::from)
                    .to_vec(),
                details_rows,
            )),
        });
        let health = || {
            HtmlSection::Health(HtmlHealth {
                title: "Exporter health",
                exporters: &self.health,
                note: self.received_note(),
            })
        };
        // Exporters that need attention come before the traffic.
        let mut sections = Vec::new();
        if troubled > 0 {
            sections.push(health());
        }
        sections.push(hours);
        for (title, r, rows, sort) in &self.reports {
            sections.push(HtmlSection::Report(HtmlReport {
                title,
                report: r,
                rows,
                sort: *sort,
            }));
        }
        if troubled == 0 {
            sections.push(health());
        }
        let head = PageHead {
            title: &self.title,
            lines,
            facts,
            legend: true,
            range: Some((first, last, t.flows)),
        };
        render_page(&head, &sections, &self.show(), target)
    }

    fn text(&self) -> String {
        let t = self.totals();
        let (first, last) = self.first_last();
        let mut s = format!("# {}\n# {}", self.title, self.window_line());
        if let Some(r) = words::data_range(self.clock, first, last) {
            s += &format!("; {r}");
        }
        s += &format!(
            "\n# {} flows, {} packets, {} in all",
            t.flows,
            t.packets,
            words::bytes(t.octets)
        );
        if let Some((i, h)) = self.busiest() {
            s += &format!(
                "; busiest hour {}–{} ({})",
                self.hour_label(i),
                self.hour_label(i + 1),
                words::bits_per_second(Self::hour_bps(h))
            );
        }
        s.push('\n');
        let troubled = self.troubled();
        if troubled > 0 {
            s += &format!(
                "# ! {troubled} of {} exporters {} attention: see Exporter health\n",
                self.health.len(),
                if troubled == 1 { "needs" } else { "need" }
            );
        }
        s += "# bit/s and packets/s: averages over the span of the day's data\n";
        s += "\n# Traffic per hour (each flow counts in the hour it started; bytes by protocol family)\n";
        s += &format!(
            "{:<6} {:>10} {:>10} {:>10} {:>12} {:>6} {:>6} {:>6} {:>6}\n",
            "hour", "flows", "packets", "bytes", "bit/s", "TCP%", "UDP%", "ICMP%", "other%"
        );
        for (i, h) in self.hours.iter().enumerate() {
            let share = |f: usize| format!("{:.0}", floe_report_pct(h.families[f], h.octets));
            s += &format!(
                "{:<6} {:>10} {:>10} {:>10} {:>12} {:>6} {:>6} {:>6} {:>6}\n",
                self.hour_label(i),
                h.flows,
                human(h.packets),
                human(h.octets),
                human_rate(Self::hour_bps(h)),
                share(0),
                share(1),
                share(2),
                share(3)
            );
        }
        let show = self.show();
        for (title, r, rows, _) in &self.reports {
            s.push('\n');
            s += &render_text(r, rows, title, &show);
        }
        s += &self.health_text();
        s
    }

    fn health_text(&self) -> String {
        let troubled = self.troubled();
        let mut s = format!("\n# Exporter health: {} exporters", self.health.len());
        if troubled > 0 {
            s += &format!(
                ", {troubled} {} attention (listed first, marked !)",
                if troubled == 1 { "needs" } else { "need" }
            );
        }
        s.push('\n');
        let w = self
            .health
            .iter()
            .map(|e| e.name().len())
            .max()
            .unwrap_or(0)
            .max(8);
        s += &format!(
            "{:<w$}  {:>10}  {:>14}  {:>10}  {:>7}\n",
            "exporter", "datagrams", "flows received", "lost flows", "loss%"
        );
        for e in &self.health {
            let c = &e.counters;
            s += &format!(
                "{:<w$}  {:>10}  {:>14}  {:>10}  {:>7.2}\n",
                e.name(),
                c.datagrams,
                c.flows,
                c.lost_flows,
                e.loss_pct()
            );
            for p in e.problems(self.clock) {
                s += &format!("  ! {}: {}\n", p.what, p.why);
            }
        }
        s += &format!("# {}\n", self.received_note());
        s
    }
}

fn floe_report_pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

fn human_rate(x: f64) -> String {
    human(x.round() as u64)
}

/// Every exporter's counters summed over the day's floe files, with its
/// silences, problems first.
fn exporter_health(sources: &Sources, clock: &dyn Clock) -> Vec<ExporterHealth> {
    let mut b = HealthBuilder::default();
    for p in sources.floe_files() {
        if let Ok(f) = open_floe(p) {
            let period = f.header().period.map(|p| (p.start_ms, p.end_ms));
            b.add_file(period, f.counters());
        }
    }
    b.finish(clock)
}
