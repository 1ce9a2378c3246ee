//! Hosts by month (IFSTAT): for a network, the hosts with their month's
//! totals in and out; per host, the calendar month as a table of days by
//! 10-minute (or hourly) cells coloured by rate, in and out, with the day
//! totals, the month's 95th percentile and peak, to spot what runs after
//! hours.
//!
//! Both come from two queries over the month, 10-minute intervals, keyed
//! by destination (in) and source (out) address within the network: each
//! 10-minute file's partial answer (its hosts' traffic) is kept in the
//! query cache, so a month already seen reads no flow.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Timelike};
use floe_query::{Answer, Measure, Query, Series, Stats};
use maud::html;

use crate::app::{App, WebError};
use crate::graph::decode;
use crate::layout::{bytes, count, human, page};
use crate::params::month_of;

const CELL_MS: i64 = 600_000;
/// Most hosts the list shows.
pub const MAX_ROWS: usize = 2000;

struct Params {
    net: Option<String>,
    month: Option<String>,
    addr: Option<IpAddr>,
    hourly: bool,
}

fn params(raw: Option<&str>) -> Result<Params, WebError> {
    let mut p = Params {
        net: None,
        month: None,
        addr: None,
        hourly: false,
    };
    for pair in raw.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v)
            .ok_or_else(|| WebError::Bad(format!("{k}: not valid percent-encoded UTF-8")))?;
        match k {
            "net" => p.net = Some(v).filter(|n| !n.trim().is_empty()),
            "month" => p.month = Some(v).filter(|m| !m.trim().is_empty()),
            "addr" => {
                p.addr = Some(
                    v.trim()
                        .parse()
                        .map_err(|_| WebError::Bad(format!("addr {v:?}: an address")))?,
                )
            }
            "cells" => {
                p.hourly = match v.as_str() {
                    "10m" => false,
                    "1h" => true,
                    _ => return Err(WebError::Bad(format!("cells {v:?}: 10m or 1h"))),
                }
            }
            other => return Err(WebError::Bad(format!("unknown parameter {other:?}"))),
        }
    }
    Ok(p)
}

/// A network as `ADDR/LEN`, checked (at most 65536 IPv4 hosts).
fn network(net: &str) -> Result<String, WebError> {
    let (a, len) = net
        .trim()
        .split_once('/')
        .ok_or_else(|| WebError::Bad(format!("net {net:?}: a network such as 10.0.0.0/24")))?;
    let addr: IpAddr = a
        .parse()
        .map_err(|_| WebError::Bad(format!("net {net:?}: {a:?} is not an address")))?;
    let len: u8 = len
        .parse()
        .map_err(|_| WebError::Bad(format!("net {net:?}: {len:?} is not a prefix length")))?;
    let (min, max) = if addr.is_ipv4() { (16, 32) } else { (112, 128) };
    if !(min..=max).contains(&len) {
        return Err(WebError::Bad(format!(
            "net {net:?}: from /{min} to /{max} (at most 65536 hosts)"
        )));
    }
    Ok(format!("{addr}/{len}"))
}

/// The month's range from `YYYY-MM`, or the current month.
fn month(m: Option<&str>, zone: &floe_store::Zone) -> Result<(i64, i64, String), WebError> {
    let at = match m {
        Some(m) => {
            let d = NaiveDate::parse_from_str(&format!("{}-01", m.trim()), "%Y-%m-%d")
                .map_err(|_| WebError::Bad(format!("month {m:?}: YYYY-MM")))?;
            zone.from_local(d.and_hms_opt(12, 0, 0).unwrap_or_default())
        }
        None => crate::now_ms(),
    };
    let (from, to) = month_of(at, zone);
    let name = zone.at(from).format("%Y-%m").to_string();
    Ok((from, to, name))
}

/// The in and out answers of a network over a month: every host's
/// totals (`host` none), or one host's 10-minute values.
async fn answers(
    app: &Arc<App>,
    net: &str,
    from: i64,
    to: i64,
    host: Option<&str>,
) -> Result<(Arc<Answer>, Arc<Answer>), WebError> {
    let q = |key: &str, dir: &str| Query {
        from_ms: from,
        to_ms: to,
        interval_ms: CELL_MS,
        key: key.into(),
        src_format: None,
        dst_format: None,
        filter: Some(format!("{dir} net {net}")),
        exporters: Vec::new(),
        measure: Measure::Octets,
        top: 0,
        only: host.map(|h| vec![h.to_string()]).unwrap_or_default(),
        values: host.is_some(),
    };
    let inbound = app.answer(q("ip-destination-address", "dst")).await?;
    let outbound = app.answer(q("ip-source-address", "src")).await?;
    Ok((inbound, outbound))
}

fn bps(octets: u64, ms: i64) -> f64 {
    octets as f64 * 8.0 / (ms as f64 / 1000.0)
}

/// The list of hosts.
pub async fn list(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let p = params(raw.as_deref())?;
    let zone = &app.zone;
    let (from, to, name) = month(p.month.as_deref(), zone)?;
    let form = html! {
        form.q method="get" action="/hosts" {
            label { "Network" input name="net" placeholder="10.0.0.0/24" value=[p.net.as_deref()]; }
            label { "Month" input name="month" placeholder="YYYY-MM" value=(name); }
            button type="submit" { "Show" }
        }
    };
    let Some(net) = &p.net else {
        return Ok(page("Hosts by month", "/hosts", html! {
            h1 { "Hosts by month" }
            (form)
            p.muted { "A network (at most 65536 hosts) shows its hosts' traffic in and out over a calendar month, and per host the month as a table of 10-minute cells." }
        }).into_response());
    };
    let net = network(net)?;
    let (inbound, outbound) = answers(&app, &net, from, to, None).await?;
    let mut hosts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for s in &inbound.series {
        hosts.entry(s.label.clone()).or_default().0 += s.totals.octets;
    }
    for s in &outbound.series {
        hosts.entry(s.label.clone()).or_default().1 += s.totals.octets;
    }
    let mut rows: Vec<(String, u64, u64)> =
        hosts.into_iter().map(|(h, (i, o))| (h, i, o)).collect();
    rows.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(&b.0)));
    // A /16 may have 65536 hosts: the page lists the largest.
    let seen = rows.len();
    rows.truncate(MAX_ROWS);
    let left_out = seen - rows.len();
    let title = format!("Hosts of {net} in {name}");
    Ok(page(&title, "/hosts", html! {
        h1 { (title) }
        (form)
        table {
            thead { tr { th { "host" } th { "in (bytes)" } th { "out (bytes)" } th { "total" } } }
            tbody {
                @for (h, i, o) in &rows {
                    tr {
                        td { a href=(format!("/hosts/host?{}", crate::params::encode(&[("addr", h.clone()), ("net", net.clone()), ("month", name.clone())]))) { (h) } }
                        td { (bytes(*i)) }
                        td { (bytes(*o)) }
                        td { (bytes(*i + *o)) }
                    }
                }
            }
        }
        @if left_out > 0 {
            p.warn { "The " (MAX_ROWS) " hosts with the most traffic are shown; " (left_out) " more with less are left out (a smaller network shows them)." }
        }
        p.muted {
            (count(seen as u64, "host")) " with traffic; "
            @if inbound.stats.backend == "local" {
                (count(inbound.stats.files as u64, "file")) ", " (count((inbound.stats.cached + outbound.stats.cached) as u64, "partial answer")) " from the cache."
            } @else {
                (crate::layout::backend_words(&inbound.stats.backend))
            }
        }
    }).into_response())
}

/// The colour class of a rate: 0 for none, else 1..9 on a log scale of
/// the month's peak.
fn class(v: f64, peak: f64) -> usize {
    if v <= 0.0 || peak <= 0.0 {
        return 0;
    }
    let r = (v.max(1.0).ln() / peak.max(2.0).ln()).clamp(0.0, 1.0);
    1 + (r * 8.0).round() as usize
}

/// One calendar table: a row per day, a cell per 10 minutes (or hour).
fn calendar(
    series: Option<&Series>,
    starts: &[i64],
    zone: &floe_store::Zone,
    from: i64,
    to: i64,
    hourly: bool,
) -> maud::Markup {
    let per_day = if hourly { 24 } else { 144 };
    let cell_ms = if hourly { 3_600_000 } else { CELL_MS };
    let mut days: BTreeMap<NaiveDate, Vec<u64>> = BTreeMap::new();
    let mut d = zone.at(from).date_naive();
    let last = zone.at(to - 1).date_naive();
    while d <= last {
        days.insert(d, vec![0; per_day]);
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    let mut rates = Vec::new();
    if let Some(s) = series {
        for (i, t) in starts.iter().enumerate() {
            let local = zone.at(*t);
            let minute = local.hour() as usize * 60 + local.minute() as usize;
            let cell = if hourly { minute / 60 } else { minute / 10 };
            if let Some(row) = days.get_mut(&local.date_naive()) {
                if let Some(c) = row.get_mut(cell.min(per_day - 1)) {
                    *c += s.values[i].octets;
                }
            }
            rates.push(s.values[i].octets);
        }
    }
    let stats = Stats::of(&rates);
    let peak = bps(stats.max, CELL_MS);
    let p95 = bps(stats.p95, CELL_MS);
    html! {
        p.muted { "95th percentile " (human(p95)) "bit/s, peak " (human(peak)) "bit/s (10-minute rates)" }
        div.scroll {
            table.cal {
                thead { tr {
                    th {}
                    @for h in 0..24 {
                        th colspan=(if hourly { 1 } else { 6 }) { (format!("{h:02}")) }
                    }
                    th { "day" }
                } }
                tbody {
                    @for (day, cells) in &days {
                        tr {
                            td.d { (day.format("%a %d")) }
                            @for v in cells {
                                @let r = bps(*v, cell_ms);
                                td class=(format!("c c{}", class(r, peak))) title=(format!("{}bit/s", human(r))) {}
                            }
                            td.t { (bytes(cells.iter().sum::<u64>())) }
                        }
                    }
                }
            }
        }
    }
}

/// One host's month.
pub async fn host(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let p = params(raw.as_deref())?;
    let zone = &app.zone;
    let addr = p
        .addr
        .ok_or_else(|| WebError::Bad("addr: the host".into()))?;
    let net = match &p.net {
        Some(n) => network(n)?,
        None => network(&if addr.is_ipv4() {
            format!("{addr}/32")
        } else {
            format!("{addr}/128")
        })?,
    };
    let (from, to, name) = month(p.month.as_deref(), zone)?;
    let key = addr.to_string();
    let (inbound, outbound) = answers(&app, &net, from, to, Some(&key)).await?;
    let find = |a: &Answer| a.series.iter().find(|s| s.label == key).cloned();
    let (i, o) = (find(&inbound), find(&outbound));
    let prev = zone.at(from - 1).format("%Y-%m").to_string();
    let next = zone.at(to).format("%Y-%m").to_string();
    let link = |m: &str, hourly: bool| {
        format!(
            "/hosts/host?{}",
            crate::params::encode(&[
                ("addr", key.clone()),
                ("net", net.clone()),
                ("month", m.to_string()),
                ("cells", if hourly { "1h" } else { "10m" }.into()),
            ])
        )
    };
    let title = format!("{key} in {name} ({})", zone.name());
    Ok(page(&title, "/hosts", html! {
        h1 { (title) }
        p.steps {
            a href=(link(&prev, p.hourly)) { "◀ " (prev) }
            a href=(link(&next, p.hourly)) { (next) " ▶" }
            @if p.hourly { a href=(link(&name, false)) { "10-minute cells" } } @else { a href=(link(&name, true)) { "hourly cells" } }
            a href=(format!("/details?{}", crate::params::encode(&[("key", "ip-source-address".into()), ("value", key.clone()), ("from", crate::layout::when(from, zone)), ("to", crate::layout::when(to, zone))]))) { "details" }
        }
        h2 { "In (to " (key) "): " (bytes(i.as_ref().map_or(0, |s| s.totals.octets))) }
        (calendar(i.as_ref(), &inbound.starts, zone, from, to, p.hourly))
        h2 { "Out (from " (key) "): " (bytes(o.as_ref().map_or(0, |s| s.totals.octets))) }
        (calendar(o.as_ref(), &outbound.starts, zone, from, to, p.hourly))
    }).into_response())
}
