//! Days: the `floe report --daily` page of each day, browsable by date.
//! The page is the daily report's own (the same renderer the command line
//! and the mails use), computed by the hook the `floe` binary gives.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::html;

use crate::app::{App, DayError, WebError};
use crate::layout::page;

/// The days that have files, newest first.
pub async fn list(State(app): State<Arc<App>>) -> Result<Response, WebError> {
    let Some(root) = app.root.clone() else {
        return Err(WebError::Missing(
            "this page reads the store's files: start floe web with the store's directory too (floe web --clickhouse URL DIR)".into(),
        ));
    };
    let zone = app.zone.clone();
    let days = tokio::task::spawn_blocking(move || -> Result<Vec<NaiveDate>, WebError> {
        let files = floe_store::walk(&root).map_err(|e| WebError::Internal(e.to_string()))?;
        let set: BTreeSet<NaiveDate> = files
            .iter()
            .map(|f| zone.at(f.start_ms).date_naive())
            .collect();
        Ok(set.into_iter().rev().collect())
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok(page("Days", "/days", html! {
        h1 { "Days" }
        p.muted { "Each day's summary: traffic per hour, top addresses, ports, conversations, protocols and the exporters' health, as `floe report --daily` gives it." }
        @if days.is_empty() { p { "No floe files yet." } }
        ul {
            @for d in &days {
                li { a href=(format!("/days/{d}")) { (d.format("%Y-%m-%d, %A")) } }
            }
        }
    }).into_response())
}

/// One day's page.
pub async fn day(
    State(app): State<Arc<App>>,
    Path(day): Path<String>,
) -> Result<Response, WebError> {
    let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map_err(|_| WebError::Bad(format!("{day:?} is not a day: YYYY-MM-DD")))?;
    let (Some(root), Some(daily)) = (app.root.clone(), app.daily.clone()) else {
        return Err(WebError::Missing(
            "this page reads the store's files: start floe web with the store's directory too (floe web --clickhouse URL DIR)".into(),
        ));
    };
    let zone = app.zone.clone();
    let _permit = app.queries.acquire().await.map_err(|_| WebError::Busy)?;
    let html = tokio::task::spawn_blocking(move || daily(&root, date, &zone))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| match e {
            DayError::NoFlows(why) => WebError::Missing(why),
            DayError::Failed(why) => WebError::Internal(why),
        })?;
    let mut res = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    // The report's page carries its own stylesheet and no script.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"),
    );
    Ok(res)
}
