//! Exporters: each exporter's datagrams, flows, lost flows, sequence
//! resets, bad datagrams and other problems per day, from the files'
//! counters (and, when floed runs, its live counters and templates), so
//! that a silent router or a noisy one is seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use floe_flow::{ExporterCounters, ExporterKey};
use floe_store::FlowFile;
use maud::html;

use crate::app::{App, WebError};
use crate::graph::decode;
use crate::layout::{human, page as chrome};

type PerDay = BTreeMap<ExporterKey, BTreeMap<NaiveDate, ExporterCounters>>;

pub async fn page_handler(app: Arc<App>, days: u32) -> Result<Response, WebError> {
    let Some(root) = app.root.clone() else {
        return Err(WebError::Missing(
            "this page reads the store's files: start floe web with the store's directory too (floe web --clickhouse URL DIR)".into(),
        ));
    };
    let zone = app.zone.clone();
    let now = crate::now_ms();
    let since = now - i64::from(days) * 86_400_000;
    let (per, all_days, errors) = tokio::task::spawn_blocking(move || -> Result<_, WebError> {
        let files = floe_store::walk(&root).map_err(|e| WebError::Internal(e.to_string()))?;
        let mut per: PerDay = BTreeMap::new();
        let mut all_days = BTreeSet::new();
        let mut errors = Vec::new();
        for f in files.iter().filter(|f| f.start_ms >= since) {
            let day = zone.at(f.start_ms).date_naive();
            all_days.insert(day);
            match FlowFile::open(&f.path) {
                Ok(file) => {
                    for (k, c) in file.counters() {
                        per.entry(*k).or_default().entry(day).or_default().add(c);
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        Ok((per, all_days, errors))
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))??;
    let live: Option<serde_json::Value> = app
        .root
        .as_ref()
        .and_then(|r| std::fs::read(r.join(floe_store::STATS_FILE)).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    // Problems first: loss, bad datagrams, resets, undecoded parts, or
    // silence on a day the exporter had sent on before.
    let mut rows: Vec<(ExporterKey, Vec<String>, u64)> = per
        .iter()
        .map(|(k, by_day)| {
            let mut t = ExporterCounters::default();
            for c in by_day.values() {
                t.add(c);
            }
            // The problems as the reports name them (floe_report::health:
            // the same counters, the same words); silence is per day here.
            let health = floe_report::health::ExporterHealth {
                exporter: *k,
                counters: t.clone(),
                silences: Vec::new(),
            };
            let mut why: Vec<String> = health
                .problems(&floe_report::words::Utc)
                .into_iter()
                .map(|p| p.what)
                .collect();
            let first = by_day.keys().next().copied();
            let silent: Vec<String> = all_days
                .iter()
                .filter(|d| {
                    first.is_some_and(|f| **d > f)
                        && by_day.get(*d).is_none_or(|c| c.datagrams == 0)
                })
                .map(|d| d.format("%m-%d").to_string())
                .collect();
            if !silent.is_empty() {
                why.push(format!("silent on {}", silent.join(", ")));
            }
            (*k, why, t.datagrams)
        })
        .collect();
    rows.sort_by(|a, b| {
        b.1.is_empty()
            .cmp(&a.1.is_empty())
            .reverse()
            .then(b.2.cmp(&a.2))
    });
    let days_list: Vec<NaiveDate> = all_days.iter().rev().copied().collect();
    let title = format!("Exporters, last {days} days");
    Ok(chrome(&title, "/exporters", html! {
        h1 { (title) }
        @if let Some(l) = &live {
            p.muted { "floed " (l["version"].as_str().unwrap_or("?")) " is running (pid " (l["pid"]) "); its counters since start are in `floe info`." }
        }
        @for (k, why, _) in &rows {
            h2 { (k.address) " (source id " (k.source_id) ")"
                @if !why.is_empty() { " — " span.warn { (why.join("; ")) } }
            }
            div.scroll {
                table {
                    thead { tr { th { "day" } th { "datagrams" } th { "flows" } th { "lost flows" } th { "loss" } th { "resets" } th { "bad datagrams" } th { "other problems" } } }
                    tbody {
                        @for d in &days_list {
                            @let c = per.get(k).and_then(|m| m.get(d)).cloned().unwrap_or_default();
                            @let loss = if c.flows + c.lost_flows > 0 { 100.0 * c.lost_flows as f64 / (c.flows + c.lost_flows) as f64 } else { 0.0 };
                            tr {
                                td { (d.format("%Y-%m-%d %a")) }
                                td class=[(c.datagrams == 0).then_some("warn")] { (c.datagrams) }
                                td { (human(c.flows as f64)) }
                                td class=[(c.lost_flows > 0).then_some("warn")] { (c.lost_flows) }
                                td { (format!("{loss:.2}%")) }
                                td class=[(c.sequence_resets > 0).then_some("warn")] { (c.sequence_resets) }
                                td class=[(c.bad_datagrams > 0).then_some("warn")] { (c.bad_datagrams) }
                                td { (c.extra.nonzero().iter().map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(", ")) }
                            }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p { "No exporter in these days." } }
        @if !errors.is_empty() { p.error { (errors.len()) " files could not be read: " (errors.join("; ")) } }
    }).into_response())
}

pub async fn page(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let mut days = 7u32;
    for pair in raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "days" => {
                days = decode(v)
                    .and_then(|d| d.parse().ok())
                    .filter(|d| (1..=62).contains(d))
                    .ok_or_else(|| WebError::Bad(format!("days {v:?}: 1 to 62")))?
            }
            other => return Err(WebError::Bad(format!("unknown parameter {other:?}"))),
        }
    }
    page_handler(app, days).await
}
