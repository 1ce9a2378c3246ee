//! The live page: what floed decoded in the last minute, from its live
//! socket (the one `floe top` reads), pushed to the browser once a second
//! as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use floe_live::{Client, Request};
use maud::html;

use crate::app::{App, WebError};
use crate::layout::page as chrome;

/// Live streams served at once.
const STREAMS: usize = 8;
/// How long one stream lasts (the browser reconnects).
const STREAM_FOR: Duration = Duration::from_secs(3600);

/// floed's live socket, when it is there now (floed may start or stop
/// while the server runs); else why not (404).
fn socket(app: &App) -> Result<&std::path::Path, WebError> {
    let Some(path) = app.live_socket.as_deref() else {
        return Err(WebError::Missing(
            "no live view: this server was started without floed's live socket".into(),
        ));
    };
    // Only its name: the page may be served beyond this host.
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(path),
        Err(_) => Err(WebError::Missing(format!(
            "no live view: floed's live socket ({name}) is not there; is floed running on this store (or with another --live-socket)?"
        ))),
    }
}

pub async fn page(State(app): State<Arc<App>>) -> Result<Response, WebError> {
    socket(&app)?;
    Ok(chrome("Live", "/live", html! {
        h1 { "Live: the last minute" }
        div #live data-src="/api/live" {
            p.status { "Waiting for floed…" }
            p.since.muted {}
            table {
                thead { tr { th { "source" } th { "bytes" } th { "packets" } th { "flows" } } }
                tbody {}
            }
        }
        p.muted { "Top sources by bytes over the last 60 s, from floed's live view; `floe top` shows more." }
    }).into_response())
}

fn snapshot(app: &App) -> String {
    let r = match &app.live_socket {
        Some(path) => Client::connect(path).and_then(|mut c| {
            c.ask(&Request {
                window: Some(60),
                n: Some(10),
                ..Request::default()
            })
        }),
        None => return "{\"ok\":false,\"error\":\"no live socket\"}".into(),
    };
    match (r, &app.live_socket) {
        (Ok(resp), _) => serde_json::to_string(&resp).unwrap_or_default(),
        (Err(e), Some(path)) => {
            serde_json::json!({ "ok": false, "error": said(&e.to_string(), path) }).to_string()
        }
        (Err(e), None) => serde_json::json!({ "ok": false, "error": e.to_string() }).to_string(),
    }
}

/// Why the live view could not be asked, naming the socket by its name
/// only (the page may be served beyond this host, as [`socket`] says).
fn said(why: &str, path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    why.replace(&path.display().to_string(), &name)
}

pub async fn events(State(app): State<Arc<App>>) -> Result<Response, WebError> {
    socket(&app)?;
    let permit = app
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| WebError::Busy)?;
    let started = Instant::now();
    let stream = futures_util::stream::unfold(
        (app, permit, true),
        move |(app, permit, first)| async move {
            if started.elapsed() > STREAM_FOR {
                return None;
            }
            if !first {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let a = app.clone();
            let data = tokio::task::spawn_blocking(move || snapshot(&a))
                .await
                .unwrap_or_default();
            Some((
                Ok::<_, Infallible>(Event::default().data(data)),
                (app, permit, false),
            ))
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

pub fn streams() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(STREAMS))
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_name_the_socket_not_where_it_is() {
        let path = std::path::Path::new("/srv/secret/flows/.floed-live.sock");
        let e = floe_live::ClientError::Refused {
            path: path.to_path_buf(),
        };
        let s = super::said(&e.to_string(), path);
        assert!(!s.contains("/srv/secret"), "{s}");
        assert!(s.starts_with(".floed-live.sock: nobody answers"), "{s}");
    }
}
