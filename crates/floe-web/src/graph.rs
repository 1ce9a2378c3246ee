//! The graph (FlowGraph, Akvorado's "visualize"): the top N keys of the
//! chosen kind per interval, the rest as "other", as a stacked area chart
//! (or lines), the table of series with minimum, maximum, average, 95th
//! percentile and total, and links to exactly that data as CSV and JSON.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use floe_query::{Answer, QueryError, Series};
use maud::{html, Markup};

use crate::app::{App, WebError};
use crate::layout::{bytes, human, page as chrome, when};
use crate::params::{key_name, Graph, GraphParams, Unit, KEYS};

/// Reads the query string (repeated `exporter`, exporters also as one
/// space- or comma-separated value).
pub fn params(raw: Option<&str>) -> Result<GraphParams, WebError> {
    let raw = raw.unwrap_or("");
    if raw.len() > 16 << 10 {
        return Err(WebError::Bad(
            "the query string is longer than 16 KiB".into(),
        ));
    }
    let mut p = GraphParams::default();
    for pair in raw.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v)
            .ok_or_else(|| WebError::Bad(format!("{k}: not valid percent-encoded UTF-8")))?;
        let set = |slot: &mut Option<String>| *slot = Some(v.clone());
        match decode(k).unwrap_or_default().as_str() {
            "key" => set(&mut p.key),
            "prefix" => set(&mut p.prefix),
            "filter" => set(&mut p.filter),
            "exporter" => p.exporter.extend(
                v.split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            "range" => set(&mut p.range),
            "from" => set(&mut p.from),
            "to" => set(&mut p.to),
            "interval" => set(&mut p.interval),
            "n" => set(&mut p.n),
            "unit" => set(&mut p.unit),
            "view" => set(&mut p.view),
            other => return Err(WebError::Bad(format!("unknown parameter {other:?}"))),
        }
    }
    Ok(p)
}

/// Percent-decoding, `+` as a space (what HTML forms send).
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn value(unit: Unit, v: u64, interval_ms: i64) -> String {
    human(unit.of(v, interval_ms))
}

/// The details link of a series.
fn details_link(g: &Graph, s: &Series, zone: &floe_store::Zone) -> String {
    let mut p = vec![
        ("key", g.query.key.clone()),
        ("value", s.key.join(" ")),
        ("from", when(g.query.from_ms, zone)),
        ("to", when(g.query.to_ms, zone)),
    ];
    if let Some(f) = &g.query.filter {
        p.push(("filter", f.clone()));
    }
    format!("/details?{}", crate::params::encode(&p))
}

fn form(
    g: &Graph,
    raw: &GraphParams,
    filter_error: Option<&str>,
    zone: &floe_store::Zone,
) -> Markup {
    let q = &g.query;
    let shift = |by: i64| {
        let mut moved = g.clone();
        moved.query.from_ms += by;
        moved.query.to_ms += by;
        format!("/graph?{}", moved.url(true, zone))
    };
    let span = q.to_ms - q.from_ms;
    let preset = |r: &str| {
        let mut p = g.clone();
        p.range = r.to_string();
        let mut url = p.url(false, zone);
        if !url.contains("range=") {
            url = url
                .split('&')
                .filter(|kv| !kv.starts_with("from=") && !kv.starts_with("to="))
                .collect::<Vec<_>>()
                .join("&")
                + &format!("&range={r}");
        }
        format!("/graph?{url}")
    };
    html! {
        form.q method="get" action="/graph" {
            label { "Key"
                select name="key" {
                    @for (k, name) in KEYS {
                        option value=(k) selected[*k == q.key] { (name) }
                    }
                    @if !KEYS.iter().any(|(k, _)| *k == q.key) {
                        option value=(q.key) selected { (q.key) }
                    }
                }
            }
            label { "Prefix" input name="prefix" size="3" placeholder="/24" value=[g.prefix.map(|p| p.to_string())]; }
            label { "Filter"
                input name="filter" placeholder="proto tcp and dst port 443" value=[raw.filter.as_deref()];
            }
            label { "Exporters" input name="exporter" placeholder="any" value=(q.exporters.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")); }
            label { "From" input name="from" size="16" value=(when(q.from_ms, zone)); }
            label { "To" input name="to" size="16" value=(when(q.to_ms, zone)); }
            label { "Interval"
                select name="interval" {
                    @for (v, name) in [("auto", "auto"), ("1m", "1 min"), ("10m", "10 min"), ("1h", "1 hour"), ("1d", "1 day")] {
                        option value=(v) selected[g.interval == v] { (name) }
                    }
                }
            }
            label { "Top" input name="n" size="3" value=(q.top); }
            label { "Unit"
                select name="unit" {
                    @for u in [Unit::Bits, Unit::Packets, Unit::Flows, Unit::Bytes] {
                        option value=(u.name()) selected[u == g.unit] { (u.label()) }
                    }
                }
            }
            label { "View"
                select name="view" {
                    option value="stack" selected[g.stacked] { "stacked" }
                    option value="lines" selected[!g.stacked] { "lines" }
                }
            }
            button type="submit" { "Show" }
        }
        @if let Some(e) = filter_error {
            p.error { (e) }
        }
        p.presets {
            "Last: "
            @for r in ["1h", "6h", "24h", "7d", "30d"] { a href=(preset(r)) { (r) } }
            a href=(preset("month")) { "this month" }
            span.steps {
                a href=(shift(-span)) title="the period before" { "◀ earlier" }
                a href=(shift(span)) title="the period after" { "later ▶" }
            }
        }
    }
}

fn table(g: &Graph, a: &Answer, zone: &floe_store::Zone) -> Markup {
    let unit = g.unit;
    let iv = a.interval_ms;
    let row = |label: Markup, s: &Series| {
        html! {
            tr {
                td { (label) }
                td.x { (value(unit, s.stats.min, iv)) }
                td { (value(unit, s.stats.max, iv)) }
                td { (value(unit, s.stats.avg as u64, iv)) }
                td.x { (value(unit, s.stats.p95, iv)) }
                td { (bytes(s.totals.octets)) }
                td.x { (human(s.totals.packets as f64)) }
                td.x { (human(s.totals.flows as f64)) }
            }
        }
    };
    html! {
        div.scroll {
            table.series {
                thead { tr {
                    th { (a.columns.join(" / ")) }
                    th.x { "min" } th { "max" } th { "average" } th.x { "95th pct" }
                    th { "bytes" } th.x { "packets" } th.x { "flows" }
                } }
                tbody {
                    @for (i, s) in a.series.iter().enumerate() {
                        (row(html! {
                            span class=(format!("sw s{}", i % 14)) {}
                            a href=(details_link(g, s, zone)) data-series=(i) { (s.shown()) }
                        }, s))
                    }
                    @if let Some(o) = &a.other {
                        (row(html! { span.sw.so {} "other" }, o))
                    }
                    (row(html! { strong { "total" } }, &a.total))
                }
            }
        }
        p.muted {
            "Values in " (unit.label()) " per " (crate::layout::interval_words(iv)) " interval (min, max, average, 95th percentile over the intervals); "
            "bytes, packets and flows in all. "
            @if a.stats.backend == "local" {
                (crate::layout::count(a.stats.files as u64, "file")) ", " (a.stats.cached) " answered from the cache, "
                (a.stats.flows_read) " flows read."
            } @else {
                (crate::layout::backend_words(&a.stats.backend))
            }
        }
        @if !a.stats.errors.is_empty() {
            p.error { (crate::layout::count(a.stats.errors.len() as u64, "file")) " could not be read: " (a.stats.errors.join("; ")) }
        }
    }
}

/// The graph page.
pub async fn page(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let p = params(raw.as_deref())?;
    let g = p.graph(crate::now_ms(), &app.zone)?;
    let zone = &app.zone;
    let title = format!(
        "Top {} {} by {}, {} to {} ({})",
        g.query.top,
        key_name(&g.query.key, g.query.top),
        g.unit.label(),
        when(g.query.from_ms, zone),
        when(g.query.to_ms, zone),
        zone.name()
    );
    let url = g.url(true, zone);
    match app.answer(g.query.clone()).await {
        Ok(a) => Ok(chrome(
            &title,
            "/graph",
            html! {
                h1 { (title) }
                (form(&g, &p, None, zone))
                div #chart data-src=(format!("/api/graph.json?{url}")) { "Drawing the chart…" }
                (table(&g, &a, zone))
                p.links {
                    a href=(format!("/api/graph.csv?{url}")) { "CSV of this graph" }
                    a href=(format!("/api/graph.json?{url}")) { "JSON of this graph" }
                    a href=(format!("/graph?{url}")) { "Link to this graph" }
                }
            },
        )
        .into_response()),
        Err(WebError::Query(
            e @ (QueryError::Filter(_) | QueryError::Invalid(_) | QueryError::Report(_)),
        )) => {
            let msg = e.to_string();
            Ok((
                StatusCode::BAD_REQUEST,
                chrome(
                    &title,
                    "/graph",
                    html! {
                        h1 { (title) }
                        (form(&g, &p, Some(&msg), zone))
                    },
                ),
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}

/// What the JSON link gives: the query, how the page shows it, and the
/// answer (values per interval as flows, packets and bytes).
pub async fn json(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let p = params(raw.as_deref())?;
        let g = p.graph(crate::now_ms(), &app.zone)?;
        let a = app.answer(g.query.clone()).await?;
        Ok::<_, WebError>((g, a))
    }
    .await;
    match result {
        Ok((g, a)) => {
            let doc = serde_json::json!({
                "query": g.query,
                "unit": g.unit.name(),
                "label": g.unit.label(),
                "stacked": g.stacked,
                "answer": &*a,
            });
            (
                [(header::CONTENT_TYPE, "application/json")],
                doc.to_string(),
            )
                .into_response()
        }
        Err(e) => (
            e.status(),
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": e.to_string() }).to_string(),
        )
            .into_response(),
    }
}

/// The same as CSV: one row per interval and series.
pub async fn csv(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let p = params(raw.as_deref())?;
    let g = p.graph(crate::now_ms(), &app.zone)?;
    let a = app.answer(g.query.clone()).await?;
    let out = floe_query::render::csv(&a);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"floe-graph.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
