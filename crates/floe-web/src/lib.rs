//! `floe web`: the flows of a store in a browser, from one binary, with
//! no external assets and no internet.
//!
//! Pages (server-rendered HTML, maud; a little vendored JavaScript, uPlot,
//! for the chart):
//!
//! * **Graph** (FlowGraph, Akvorado's "visualize"): the top N keys of a
//!   kind per interval plus "other", stacked or as lines, the table of
//!   series (min, max, average, 95th percentile, total), CSV and JSON of
//!   exactly that data; everything in the URL ([`params`]). `/` is the
//!   top 10 source addresses by bits/s over the last 24 hours.
//! * **Details** of a key: its top peers, ports, protocols, exporters and
//!   interfaces, and a drill-down into the graph's filter.
//! * **Hosts by month** (IFSTAT): a network's hosts with their month in
//!   and out, and per host the month as days by 10-minute cells.
//! * **Days**: `floe report --daily`'s page of each day.
//! * **Exporters**: each exporter's health per day, problems first.
//! * **Live**: the last minute from floed's live socket, as server-sent
//!   events.
//! * **Alerts**: `floe alert`'s open alerts, rules and latest events,
//!   from its state file beside the store.
//!
//! Every answer comes from the query layer ([`floe_query`]), so the pages
//! show what `floe report` computes, and the local store's per-file
//! partial answers are cached. [`WebConfig::backend`] replaces the local
//! store (`floe web --clickhouse URL`: floe-clickhouse's backend); the
//! days, exporters and live pages read the store's directory when one is
//! given, and say they need one when not.
//!
//! Safety: it binds where told (the binary binds 127.0.0.1 unless asked
//! otherwise, and then requires users or an explicit choice not to), is
//! read-only but for its cache, maps no request path to the file system
//! (assets are embedded, days are dates), compiles filters with floe's
//! parser with `@include` refused, runs at most a few queries at once,
//! each with a time limit, and sends a Content-Security-Policy that
//! allows nothing from elsewhere. Errors are HTTP statuses with the
//! reason (400 for a bad parameter, with the filter's line and column).
#![forbid(unsafe_code)]

mod alerts;
mod app;
mod assets;
pub mod auth;
mod days;
mod details;
mod exporters;
mod graph;
mod hosts;
mod layout;
mod live;
pub mod params;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use app::{router, App, DailyPage, DayError, WebError};
use floe_query::{Backend, Cache, LocalStore};
use floe_store::Zone;

/// How `floe web` runs.
pub struct WebConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The store (for the local backend, days and exporters).
    pub root: Option<PathBuf>,
    /// Another backend than the local store (ClickHouse...).
    pub backend: Option<Box<dyn Backend>>,
    /// Where partial answers are kept, and how much.
    pub cache: Option<(PathBuf, u64)>,
    /// The zone pages show times in and read typed times in.
    pub zone: Zone,
    /// The users who may log in; `None` asks for no login.
    pub users: Option<auth::Users>,
    /// floed's live socket, for the live page.
    pub live_socket: Option<PathBuf>,
    /// Computes a day's daily page (the `floe` binary gives it).
    pub daily: Option<DailyPage>,
    /// Queries at once, and each one's time limit.
    pub concurrent: usize,
    /// How long one query may take.
    pub time_limit: Duration,
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why not.
        source: std::io::Error,
    },
    /// The runtime or the server failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The configuration names neither a store nor a backend.
    #[error("no store and no backend to answer from")]
    NoBackend,
}

/// Now, UTC ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The application for a configuration (for tests and embedding).
pub fn app(cfg: WebConfig) -> Result<Arc<App>, ServeError> {
    let backend: Box<dyn Backend> = match (cfg.backend, &cfg.root) {
        (Some(b), _) => b,
        (None, Some(root)) => {
            let mut store = LocalStore::new(root)
                .with_filter_options(
                    floe_filter::Options::default()
                        .without_includes()
                        .with_zone(floe_query::ZoneClock(cfg.zone.clone())),
                )
                .with_time_limit(cfg.time_limit)
                .with_max_keys(2_000_000);
            if let Some((dir, bytes)) = &cfg.cache {
                store = store.with_cache(Cache::new(dir, *bytes));
            }
            Box::new(store)
        }
        (None, None) => return Err(ServeError::NoBackend),
    };
    let mut app = App::new(
        backend,
        cfg.root,
        cfg.zone,
        cfg.users,
        cfg.concurrent,
        cfg.time_limit,
    );
    app.live_socket = cfg.live_socket;
    app.daily = cfg.daily;
    Ok(Arc::new(app))
}

/// How long a stop waits for the responses in flight: a live page's
/// event stream lasts as long as the page is open (an hour at most), and
/// a stop that waited for it would wait until systemd's `TimeoutStopSec`
/// killed the server; the browser reconnects to the next server. A query
/// still running past it (they may run up to `--time-limit`) is cut too.
pub const DRAIN_AT_STOP: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves until SIGINT or SIGTERM, then for [`DRAIN_AT_STOP`] at most
/// while the responses in flight end; `ready` is told the address bound.
pub fn serve(cfg: WebConfig, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let listen = cfg.listen;
    let app = app(cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let served = rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| ServeError::Bind {
                    addr: listen,
                    source: e,
                })?;
        // Registered before the address is said, so that a SIGTERM
        // right after it is a stop, not the default action's death.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        ready(listener.local_addr()?);
        let (stopping, stop) = tokio::sync::watch::channel(false);
        let server = axum::serve(listener, router(app)).with_graceful_shutdown({
            let mut stop = stop.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        });
        let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
        let signal = async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        tokio::select! {
            r = &mut server => return r.map_err(ServeError::from),
            _ = signal => {}
        }
        let _ = stopping.send(true);
        // Past the drain, what is still in flight is cut.
        if let Ok(r) = tokio::time::timeout(DRAIN_AT_STOP, &mut server).await {
            r?;
        }
        Ok(())
    });
    // Tasks still running (those responses) are dropped, not waited for.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    served
}
