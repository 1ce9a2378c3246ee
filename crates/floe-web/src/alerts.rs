//! Alerts: what `floe alert` keeps beside the store (its state file,
//! `DIR/.floe-alert.state`): the alerts open now, each check's keys on a
//! streak or on hold, and the latest events, newest first. Read only.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use floe_alert::{EventState, State as AlertState};
use floe_store::Zone;
use maud::{html, Markup};

use crate::app::{App, WebError};
use crate::layout::{human, page as chrome, when};

/// Events listed.
const EVENTS: usize = 200;

pub async fn page(State(app): State<Arc<App>>) -> Result<Response, WebError> {
    let Some(root) = app.root.clone() else {
        return Err(WebError::NotFound);
    };
    let path = root.join(floe_alert::STATE_FILE);
    let shown = path.display().to_string();
    let state = tokio::task::spawn_blocking(move || AlertState::load(&path))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(chrome("Alerts", "/alerts", body(state.as_ref(), &shown, &app.zone)).into_response())
}

/// The page's body for a state (none yet: says how to make one).
pub fn body(state: Option<&AlertState>, path: &str, zone: &Zone) -> Markup {
    let Some(s) = state else {
        return html! {
            h1 { "Alerts" }
            p { "No alert state at " code { (path) } " yet: "
                code { "floe alert --rules FILE DIR" } " makes it (README, Alerts and usage)." }
        };
    };
    let mut open = Vec::new();
    let mut checks = Vec::new();
    for (id, c) in &s.checks {
        let n_open = c.keys.iter().filter(|(_, k)| k.open.is_some()).count();
        let streak = c.keys.iter().filter(|(_, k)| k.streak > 0).count();
        let hold = c.keys.iter().filter(|(_, k)| k.hold > 0).count();
        checks.push((id, n_open, streak, hold, c.known.len()));
        for (key, k) in &c.keys {
            if let Some(o) = &k.open {
                open.push((id, key, o));
            }
        }
    }
    open.sort_by_key(|o| std::cmp::Reverse(o.2.since_ms));
    html! {
        h1 { "Alerts" }
        p.muted { "State of " code { (path) } " for the rules " code { (s.rules) }
            ", saved " (when(s.updated_ms, zone)) "." }
        h2 { "Open (" (open.len()) ")" }
        @if open.is_empty() {
            p { "None." }
        } @else {
            div.scroll { table {
                thead { tr { th { "rule" } th { "key" } th { "since" } th { "value" } } }
                tbody { @for (id, key, o) in &open {
                    tr { td { (id) } td { (key.to_text()) } td { (when(o.since_ms, zone)) } td { (human(o.value)) } }
                } }
            } }
        }
        h2 { "Rules" }
        div.scroll { table {
            thead { tr { th { "rule[check]" } th { "open" } th { "keys on a streak" } th { "keys on hold" } th { "keys remembered" } } }
            tbody { @for (id, n, st, h, k) in &checks {
                tr { td { (id) } td class=[(*n > 0).then_some("warn")] { (n) } td { (st) } td { (h) } td { (k) } }
            } }
        } }
        h2 { "Latest events" }
        @if s.events.is_empty() {
            p { "None yet." }
        } @else {
            div.scroll { table {
                thead { tr { th { "at" } th { "" } th { "rule" } th { "key" } th { "value" } th { "condition" } th { "window" } } }
                tbody { @for e in s.events.iter().rev().take(EVENTS) {
                    tr {
                        td { (when(e.at_ms, zone)) }
                        td class=[(e.state == EventState::Firing).then_some("warn")] { (e.state.name()) }
                        td { (e.title()) }
                        td { (e.key_text()) }
                        td { (human(e.value)) " " (e.metric) }
                        td { (e.condition) }
                        td { (e.window) " " (when(e.window_start, zone)) }
                    }
                } }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_how_to_start_and_shows_what_there_is() {
        let none = body(None, "/x/.floe-alert.state", &Zone::Utc).into_string();
        assert!(none.contains("floe alert --rules FILE DIR"), "{none}");
        let mut s = AlertState::new(std::path::Path::new("/etc/floe/alerts.toml"));
        let key = floe_alert::Key::from_parts(&[floe_alert::KVal::A("10.0.0.5".parse().unwrap())]);
        let mut c = floe_alert::CheckState::default();
        c.keys.push((
            key,
            floe_alert::KeyState {
                streak: 2,
                open: Some(floe_alert::Open {
                    since_ms: 1_795_341_600_000,
                    value: 500.0,
                    window_start: 1_795_341_000_000,
                }),
                ..floe_alert::KeyState::default()
            },
        ));
        s.checks.insert("scan[ports]".into(), c);
        let page = body(Some(&s), "/x/.floe-alert.state", &Zone::Utc).into_string();
        assert!(page.contains("Open (1)"), "{page}");
        assert!(page.contains("<td>10.0.0.5</td>"), "{page}");
        assert!(page.contains("2026-11-22 10:00"), "{page}");
        assert!(page.contains("scan[ports]"), "{page}");
    }
}
