//! The server's state, routes and the rules every request goes through:
//! authentication when configured, security headers (a
//! Content-Security-Policy that allows nothing from elsewhere), a limit
//! on queries running at once and a time limit on each, and errors as
//! HTTP statuses with the reason.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use floe_query::{Answer, Backend, Query, QueryError};
use floe_store::Zone;
use tokio::sync::Semaphore;

use crate::auth::Users;

/// A day's daily page as HTML, for the store under a directory, in a zone.
pub type DailyPage = Arc<
    dyn Fn(&std::path::Path, chrono::NaiveDate, &Zone) -> Result<String, DayError> + Send + Sync,
>;

/// Why a day's page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DayError {
    /// The store has no flows that day (404).
    #[error("{0}")]
    NoFlows(String),
    /// Anything else (500).
    #[error("{0}")]
    Failed(String),
}

/// Everything a request may use.
pub struct App {
    /// What answers the queries.
    pub backend: Box<dyn Backend>,
    /// The store's directory (days, exporters pages), when local.
    pub root: Option<PathBuf>,
    /// floed's live socket, for the live page.
    pub live_socket: Option<PathBuf>,
    /// Live streams open at once.
    pub streams: Arc<Semaphore>,
    /// Computes a day's daily page (the `floe` binary gives it).
    pub daily: Option<DailyPage>,
    /// The zone pages show times in and read typed times in.
    pub zone: Zone,
    /// The users who may log in; `None` asks for no login.
    pub users: Option<Users>,
    /// Queries running at once.
    pub queries: Semaphore,
    /// How long one query may take.
    pub time_limit: Duration,
    answers: Mutex<AnswerCache>,
    logins: Logins,
}

/// Credentials checked lately, so that a page's stylesheet, scripts and
/// JSON do not each pay for an argon2 hash (about 20 MiB and tens of
/// milliseconds each), and checks bounded so that wrong passwords cannot
/// take the server's threads or memory.
struct Logins {
    /// Keys a per-process random hash of the `Authorization` header: the
    /// password itself is not kept.
    keys: std::hash::RandomState,
    /// Hash -> when it was checked.
    seen: Mutex<HashMap<u64, Instant>>,
    /// Hashes computed at once.
    checking: Semaphore,
}

/// How long a checked login is trusted without hashing again.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Logins remembered.
const LOGINS: usize = 256;

/// Recent answers for ranges that no longer change: a graph asked again
/// (a reload, a cron job) is answered without touching the store.
struct AnswerCache {
    map: HashMap<String, (Instant, Arc<Answer>)>,
    order: VecDeque<String>,
}

/// Answers kept.
const ANSWERS: usize = 64;
/// How long one is kept.
const ANSWER_TTL: Duration = Duration::from_secs(600);
/// Ranges ending this long ago are closed: every file of theirs is.
const CLOSED_AFTER_MS: i64 = 20 * 60_000;

impl App {
    /// The state for answering from `backend`, with at most `concurrent`
    /// queries running at once (at least one), each within `time_limit`;
    /// no live socket and no daily pages until set.
    pub fn new(
        backend: Box<dyn Backend>,
        root: Option<PathBuf>,
        zone: Zone,
        users: Option<Users>,
        concurrent: usize,
        time_limit: Duration,
    ) -> App {
        App {
            backend,
            root,
            live_socket: None,
            streams: crate::live::streams(),
            daily: None,
            zone,
            users,
            queries: Semaphore::new(concurrent.max(1)),
            time_limit,
            answers: Mutex::new(AnswerCache {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
            logins: Logins {
                keys: std::hash::RandomState::new(),
                seen: Mutex::new(HashMap::new()),
                checking: Semaphore::new(2),
            },
        }
    }

    /// Whether an `Authorization` header names a user with the right
    /// password (hashed on a blocking thread, two at most at once);
    /// `Err(Busy)` when others' checks keep it waiting.
    async fn login(self: &Arc<Self>, header: &str) -> Result<bool, WebError> {
        use std::hash::BuildHasher;
        let Some(users) = &self.users else {
            return Ok(true);
        };
        if users.is_empty() {
            return Ok(false);
        }
        let digest = self.logins.keys.hash_one(header);
        if let Ok(seen) = self.logins.seen.lock() {
            if seen.get(&digest).is_some_and(|t| t.elapsed() < LOGIN_TTL) {
                return Ok(true);
            }
        }
        let _permit = tokio::time::timeout(Duration::from_secs(10), self.logins.checking.acquire())
            .await
            .map_err(|_| WebError::Busy)?
            .map_err(|_| WebError::Busy)?;
        let app = self.clone();
        let given = header.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            app.users
                .as_ref()
                .is_some_and(|u| u.check(Some(&given)).is_some())
        })
        .await
        .unwrap_or(false);
        if ok {
            if let Ok(mut seen) = self.logins.seen.lock() {
                if seen.len() >= LOGINS {
                    seen.retain(|_, t| t.elapsed() < LOGIN_TTL);
                    if seen.len() >= LOGINS {
                        seen.clear();
                    }
                }
                seen.insert(digest, Instant::now());
            }
        }
        Ok(ok)
    }

    /// Answers a query on a blocking thread, within the limits.
    pub async fn answer(self: &Arc<Self>, q: Query) -> Result<Arc<Answer>, WebError> {
        let key = serde_json::to_string(&q).unwrap_or_default();
        let closed = q.to_ms < crate::now_ms() - CLOSED_AFTER_MS;
        if closed {
            if let Ok(c) = self.answers.lock() {
                if let Some((at, a)) = c.map.get(&key) {
                    if at.elapsed() < ANSWER_TTL {
                        // Answered without reading a flow or a file: the
                        // stats say so, as for a day wholly in the cache.
                        let mut again = Answer::clone(a);
                        again.stats.cached = again.stats.files;
                        again.stats.flows_read = 0;
                        return Ok(Arc::new(again));
                    }
                }
            }
        }
        let _permit = tokio::time::timeout(Duration::from_secs(5), self.queries.acquire())
            .await
            .map_err(|_| WebError::Busy)?
            .map_err(|_| WebError::Busy)?;
        let app = self.clone();
        let job = tokio::task::spawn_blocking(move || app.backend.answer(&q));
        let answer = tokio::time::timeout(self.time_limit + Duration::from_secs(2), job)
            .await
            .map_err(|_| WebError::Query(QueryError::TimedOut(self.time_limit.as_secs())))?
            .map_err(|e| WebError::Internal(e.to_string()))?
            .map_err(WebError::Query)?;
        let answer = Arc::new(answer);
        if closed {
            if let Ok(mut c) = self.answers.lock() {
                if c.map
                    .insert(key.clone(), (Instant::now(), answer.clone()))
                    .is_none()
                {
                    c.order.push_back(key);
                }
                while c.order.len() > ANSWERS {
                    if let Some(old) = c.order.pop_front() {
                        c.map.remove(&old);
                    }
                }
            }
        }
        Ok(answer)
    }
}

/// What a request can fail with, and its status.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A parameter that cannot be used (400).
    #[error("{0}")]
    Bad(String),
    /// The query layer's error (400 when the query is to blame, 503 when
    /// it timed out, 500 otherwise).
    #[error(transparent)]
    Query(QueryError),
    /// No such page (404).
    #[error("not found")]
    NotFound,
    /// Not there, and why (404).
    #[error("{0}")]
    Missing(String),
    /// Too many queries at once (503).
    #[error("the server is busy with other queries; try again in a moment")]
    Busy,
    /// Something failed on the server's side (500).
    #[error("{0}")]
    Internal(String),
}

impl From<crate::params::BadParam> for WebError {
    fn from(e: crate::params::BadParam) -> Self {
        WebError::Bad(e.0)
    }
}

impl WebError {
    /// The HTTP status the error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Bad(_) => StatusCode::BAD_REQUEST,
            WebError::Query(e) if e.is_invalid() => StatusCode::BAD_REQUEST,
            WebError::Query(QueryError::TimedOut(_)) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Query(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::NotFound | WebError::Missing(_) => StatusCode::NOT_FOUND,
            WebError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let page = crate::layout::page(
            "Error",
            "",
            maud::html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error { (self.to_string()) }
                p { a href="/" { "Back to the graph" } }
            },
        );
        (status, page).into_response()
    }
}

/// Security headers on every response.
async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page may carry a stricter or its own policy (the daily page).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Basic authentication, when users are configured.
async fn auth(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if app.users.is_some() {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 1024);
        let ok = match given {
            Some(h) => match app.login(h).await {
                Ok(ok) => ok,
                Err(e) => return e.into_response(),
            },
            None => false,
        };
        if !ok {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"floe\", charset=\"UTF-8\"",
                )
                .body(Body::from("authentication required\n"))
                .unwrap_or_default();
        }
    }
    next.run(req).await
}

async fn not_found() -> WebError {
    WebError::NotFound
}

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match crate::assets::get(&name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.kind),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.body,
        )
            .into_response(),
        None => WebError::NotFound.into_response(),
    }
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(crate::graph::page))
        .route("/graph", get(crate::graph::page))
        .route("/api/graph.json", get(crate::graph::json))
        .route("/api/graph.csv", get(crate::graph::csv))
        .route("/details", get(crate::details::page))
        .route("/hosts", get(crate::hosts::list))
        .route("/hosts/host", get(crate::hosts::host))
        .route("/days", get(crate::days::list))
        .route("/days/{day}", get(crate::days::day))
        .route("/exporters", get(crate::exporters::page))
        .route("/live", get(crate::live::page))
        .route("/alerts", get(crate::alerts::page))
        .route("/api/live", get(crate::live::events))
        .route("/static/{name}", get(asset))
        // Asked by browsers on pages that name no icon (the daily page).
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth))
        .layer(axum::middleware::from_fn(headers))
        .with_state(app)
}
