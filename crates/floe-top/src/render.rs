//! Drawing the screen: a title, the totals and rates with a sparkline of
//! the window, the tabs, the table of the tab, the filter line and the
//! keys.

use floe_live::aggregate::Counts;
use floe_live::protocol::{Snapshot, Talker};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, Tabs};
use ratatui::Frame;

use crate::app::{App, Sort, Tab, TalkerKey};

/// 1234567 as 1.2M (powers of 1000).
pub fn human(v: f64) -> String {
    let units = ["", "k", "M", "G", "T", "P"];
    let mut v = v;
    let mut i = 0;
    while v.abs() >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0}")
    } else if v < 10.0 {
        format!("{v:.1}{}", units[i])
    } else {
        format!("{v:.0}{}", units[i])
    }
}

fn pick(c: &Counts, s: Sort) -> u64 {
    match s {
        Sort::Bytes => c.octets,
        Sort::Packets => c.packets,
        Sort::Flows => c.flows,
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &mut App) {
    let area = f.area();
    let [title, totals, spark, tabs, body, filter, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // Rows the table can show (border and header take 3).
    app.rows = body.height.saturating_sub(3) as usize;
    let snap = app.last.as_ref().and_then(|r| r.snapshot.as_ref());
    let view = if app.spread {
        "spread over the flows' time"
    } else {
        "by export time"
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                " floe top ",
                Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ),
            Span::raw(format!(
                " last {} s, {view}{} — {}",
                app.window.min(app.server_window),
                if app.scale {
                    ", scaled by sampling"
                } else {
                    ""
                },
                app.socket
            )),
        ])),
        title,
    );
    let total_line = match snap {
        Some(s) => {
            let mut spans = vec![
                Span::styled(
                    format!(" {}bit/s ", human(s.rates.bits_per_s)),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!(
                    " {}pkt/s  {} flows/s   in {} s: {}B, {} packets, {} flows",
                    human(s.rates.packets_per_s),
                    human(s.rates.flows_per_s),
                    s.seconds,
                    human(s.totals.octets as f64),
                    human(s.totals.packets as f64),
                    human(s.totals.flows as f64),
                )),
            ];
            if s.skipped_flows > 0 {
                let seen = s.totals.flows as f64 / (s.totals.flows + s.skipped_flows) as f64;
                spans.push(Span::styled(
                    format!("  (live view behind: {:.0}% of flows seen)", seen * 100.0),
                    Style::default().fg(Color::Yellow),
                ));
            }
            Line::from(spans)
        }
        None => Line::from(" waiting for floed..."),
    };
    f.render_widget(Paragraph::new(total_line), totals);
    if let Some(s) = snap {
        let data: Vec<u64> = s.series.iter().map(|p| p.octets as u64).collect();
        let width = spark.width as usize;
        let start = data.len().saturating_sub(width);
        f.render_widget(
            Sparkline::default()
                .data(&data[start..])
                .style(Style::default().fg(Color::Cyan)),
            spark,
        );
    }
    let titles: Vec<Line> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| Line::from(format!("{} {}", i + 1, t.title())))
        .collect();
    let selected = Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0);
    f.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        tabs,
    );
    match snap {
        Some(s) => table(f, app, s, body),
        None => f.render_widget(
            Paragraph::new(app.status.clone().unwrap_or_default())
                .block(Block::default().borders(Borders::ALL)),
            body,
        ),
    }
    let filter_line = match (&app.editing, &app.filter, &app.filter_error) {
        (Some(t), _, err) => {
            let mut spans = vec![
                Span::styled(" filter> ", Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(t.clone()),
                Span::styled("█", Style::default().add_modifier(Modifier::SLOW_BLINK)),
            ];
            if let Some(e) = err {
                spans.push(Span::styled(
                    format!("   {e}"),
                    Style::default().fg(Color::Red),
                ));
            }
            Line::from(spans)
        }
        (None, Some(flt), _) => {
            let since = snap
                .and_then(|s| s.since_ms)
                .map(|ms| {
                    format!(
                        " (counted since {} s ago)",
                        (snap.map_or(0, |s| s.to_ms) - ms) / 1000
                    )
                })
                .unwrap_or_default();
            Line::from(format!(" filter: {flt}{since}"))
        }
        (None, None, Some(e)) => Line::styled(format!(" {e}"), Style::default().fg(Color::Red)),
        (None, None, None) => match &app.status {
            Some(s) => Line::styled(format!(" {s}"), Style::default().fg(Color::Red)),
            None => Line::from(" no filter"),
        },
    };
    f.render_widget(Paragraph::new(filter_line), filter);
    f.render_widget(
        Paragraph::new(Line::styled(
            " q quit  1-6 tabs  s d p a A S D talkers  b k f sort  w window  / filter  n names  r DNS  x scale  e spread",
            Style::default().add_modifier(Modifier::DIM),
        )),
        keys,
    );
}

/// A row's cells: the key, then bytes, packets, flows, the rate of the
/// sorted column and its share.
fn row<'a>(
    key: String,
    c: &Counts,
    total: &Counts,
    sort: Sort,
    seconds: u32,
    extra: Option<String>,
) -> Row<'a> {
    let share = if pick(total, sort) > 0 {
        100.0 * pick(c, sort) as f64 / pick(total, sort) as f64
    } else {
        0.0
    };
    let rate = match sort {
        Sort::Bytes => format!(
            "{}bit/s",
            human(c.octets as f64 * 8.0 / f64::from(seconds.max(1)))
        ),
        Sort::Packets => format!(
            "{}pkt/s",
            human(c.packets as f64 / f64::from(seconds.max(1)))
        ),
        Sort::Flows => format!("{}/s", human(c.flows as f64 / f64::from(seconds.max(1)))),
    };
    let mut cells = vec![
        Cell::from(key),
        Cell::from(human(c.octets as f64)),
        Cell::from(human(c.packets as f64)),
        Cell::from(human(c.flows as f64)),
        Cell::from(rate),
        Cell::from(format!("{share:5.1}%")),
    ];
    if let Some(e) = extra {
        cells.push(Cell::from(e));
    }
    Row::new(cells)
}

/// A row of a tab's table: the key shown, its counts, an extra column.
type TableRow = (String, Counts, Option<String>);

fn table(f: &mut Frame, app: &App, s: &Snapshot, area: Rect) {
    let sort = app.sort;
    let names = &app.names;
    let total = s.totals;
    let mut extra_header = None;
    let (title, key_header, mut rows): (String, &str, Vec<TableRow>) = match app.tab {
        Tab::Talkers => {
            let list: &Vec<Talker> = match app.talkers {
                TalkerKey::Src => &s.talkers.src,
                TalkerKey::Dst => &s.talkers.dst,
                TalkerKey::Pair => &s.talkers.pair,
                TalkerKey::SrcAs => &s.talkers.src_as,
                TalkerKey::DstAs => &s.talkers.dst_as,
                TalkerKey::SrcByFlows => &s.talkers.src_flows,
                TalkerKey::DstByFlows => &s.talkers.dst_flows,
            };
            extra_header = Some("± error");
            let rows = list
                .iter()
                .map(|t| {
                    let key = match app.talkers {
                        TalkerKey::Pair => {
                            let (a, b) = t.key.split_once(' ').unwrap_or((&t.key, ""));
                            format!("{}  >  {}", names.address(a), names.address(b))
                        }
                        TalkerKey::SrcAs | TalkerKey::DstAs => names.asn(&t.key),
                        _ => names.address(&t.key),
                    };
                    let err = (t.error > 0).then(|| human(t.error as f64));
                    (key, t.counts, err)
                })
                .collect();
            // floed counts the talkers while clients look: a first look
            // sees them from its own time on.
            let since = s
                .talkers_counted_secs()
                .map(|secs| format!(" (counted since {secs} s ago)"))
                .unwrap_or_default();
            (
                format!("Top talkers: {}{since}", app.talkers.title()),
                app.talkers.title(),
                rows,
            )
        }
        Tab::Ports => (
            "TCP/UDP ports (the destination port when it is known, else the source port)".into(),
            "Port",
            s.ports
                .iter()
                .map(|p| {
                    let key = match p.port {
                        Some(port) => {
                            format!("{}/{}", names.protocol(p.protocol), names.port(port))
                        }
                        None => format!("{}/other", names.protocol(p.protocol)),
                    };
                    (key, p.counts, None)
                })
                .collect(),
        ),
        Tab::Protocols => (
            "IP protocols".into(),
            "Protocol",
            s.protocols
                .iter()
                .map(|p| (names.protocol(p.protocol), p.counts, None))
                .collect(),
        ),
        Tab::Sizes => (
            "Packet sizes (average bytes per packet of each flow)".into(),
            "Bytes/packet",
            s.sizes
                .iter()
                .map(|b| {
                    let key = match b.to {
                        Some(t) => format!("{:>5} - {t}", b.from),
                        None => format!("{:>5} +", b.from),
                    };
                    (key, b.counts, None)
                })
                .collect(),
        ),
        Tab::Flags => (
            "TCP flags (SYN without ACK: connection attempts and scans)".into(),
            "Flags",
            s.flags
                .iter()
                .map(|fl| {
                    let key = match fl.flags.as_str() {
                        "syn_only" => "SYN, no ACK",
                        "syn_ack" => "SYN+ACK",
                        "rst" => "RST",
                        "fin" => "FIN",
                        other => other,
                    };
                    (key.to_string(), fl.counts, None)
                })
                .collect(),
        ),
        Tab::Exporters => {
            extra_header = Some("delay avg/max");
            (
                "Exporters (delay: receive time minus flow end)".into(),
                "Exporter",
                s.exporters
                    .iter()
                    .map(|e| {
                        (
                            format!("{} /{}", names.address(&e.address), e.source_id),
                            e.counts,
                            Some(format!(
                                "{:.1}/{:.1} s",
                                e.delay_avg_ms as f64 / 1000.0,
                                e.delay_max_ms as f64 / 1000.0
                            )),
                        )
                    })
                    .collect(),
            )
        }
    };
    if !matches!(app.tab, Tab::Sizes) {
        rows.sort_by_key(|r| std::cmp::Reverse(pick(&r.1, sort)));
    }
    let sorted = |h: &'static str, s2: Sort| {
        if s2 == sort {
            format!("{h} ▼")
        } else {
            h.to_string()
        }
    };
    let mut header = vec![
        key_header.to_string(),
        sorted("Bytes", Sort::Bytes),
        sorted("Packets", Sort::Packets),
        sorted("Flows", Sort::Flows),
        "Rate".to_string(),
        "Share".to_string(),
    ];
    let mut widths = vec![
        Constraint::Min(20),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(11),
        Constraint::Length(7),
    ];
    if let Some(h) = extra_header {
        header.push(h.to_string());
        widths.push(Constraint::Length(13));
    }
    let body: Vec<Row> = rows
        .into_iter()
        .take(app.rows.max(1))
        .map(|(k, c, e)| row(k, &c, &total, sort, s.seconds, e))
        .collect();
    f.render_widget(
        Table::new(body, widths)
            .header(Row::new(header).style(Style::default().add_modifier(Modifier::BOLD)))
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
