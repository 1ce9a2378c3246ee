//! `floe web`: the store in a browser (see the floe-web crate): the graph
//! of top keys over time, details, hosts by month, daily pages, exporters
//! and the live view. It binds 127.0.0.1 unless told otherwise; anywhere
//! else it wants users (`--auth FILE`) or an explicit `--no-auth`. With
//! `--clickhouse URL` the graphs, details and hosts pages are answered by
//! ClickHouse (floe-clickhouse's backend of the query layer).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use floe_store::Zone;

use crate::clickhouse::{ClickHouseUrl, TableArgs};
use crate::error::{warn, CliError, Result};

/// Serve the store's flows to a browser: graphs of the top keys over
/// time, details, hosts by month, daily pages, exporters, live.
///
/// Example: floe web /var/lib/floe        (then open http://127.0.0.1:8080/)
///
/// Users: floe web --add-user NAME --auth /etc/floe/web-users (the
/// password is read from the first line of standard input), then
/// floe web --listen 0.0.0.0:8080 --auth /etc/floe/web-users /var/lib/floe
///
/// From ClickHouse (floe ship's or floed's tables): floe web --clickhouse
/// http://floe@clickhouse:8123 --password-file /etc/floe/clickhouse.password
#[derive(Args, Debug)]
pub struct WebArgs {
    /// The store's directory (with --clickhouse: optional, for the days,
    /// exporters and live pages, which read the store).
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Users and password hashes (HTTP basic authentication).
    #[arg(long, value_name = "FILE")]
    auth: Option<PathBuf>,
    /// Serve beyond this host without authentication (on purpose).
    #[arg(long, conflicts_with = "auth")]
    no_auth: bool,
    /// Add (or change) a user in the --auth file and exit; the password is
    /// the first line of standard input.
    #[arg(long, value_name = "NAME", requires = "auth")]
    add_user: Option<String>,
    /// Directory of cached partial answers [default: DIR/.floe-cache].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Most the cache may hold (e.g. 500M, 2G).
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    cache_size: String,
    /// Zone for times given and shown: local, UTC or an IANA name.
    #[arg(long, default_value = "local", value_name = "ZONE")]
    zone: String,
    /// floed's live socket [default: DIR/.floed-live.sock].
    #[arg(long, value_name = "PATH")]
    live_socket: Option<PathBuf>,
    /// Queries answered at once (more wait, then get 503).
    #[arg(long, value_name = "N", default_value_t = 2)]
    max_queries: usize,
    /// Longest a query may take, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    time_limit: u64,
    /// Answer the graphs, details and hosts pages from ClickHouse (floe
    /// ship's or floed's tables) instead of the store's files.
    #[command(flatten)]
    clickhouse: ClickHouseUrl,
    #[command(flatten)]
    ch: TableArgs,
}

fn size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| CliError::Usage(format!("--cache-size {s:?}: a size like 500M or 2G")))?;
    let scale = match unit {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(CliError::Usage(format!("--cache-size {s:?}: K, M, G or T"))),
    };
    Ok(n.saturating_mul(scale))
}

/// The daily page of `day`, as `floe report --daily --format html` makes
/// it (the same code, through the same command line).
fn daily(
    dir: &Path,
    day: chrono::NaiveDate,
    zone: &Zone,
) -> std::result::Result<String, floe_web::DayError> {
    use clap::Parser;
    use floe_web::DayError;
    // Each request its own file: two asking for the same day at once must
    // not read (or remove) each other's.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!(
        "floe-web-daily-{}-{n}-{day}.html",
        std::process::id(),
    ));
    let args = [
        "floe".into(),
        "report".into(),
        "--daily".into(),
        "--day".into(),
        day.to_string(),
        "--format".into(),
        "html".into(),
        "--zone".into(),
        zone.name(),
        "-o".into(),
        tmp.display().to_string(),
        dir.display().to_string(),
    ];
    let cli = crate::Cli::try_parse_from(args).map_err(|e| DayError::Failed(e.to_string()))?;
    let result = crate::run_command(cli.command);
    let page = std::fs::read_to_string(&tmp);
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => page.map_err(|e| DayError::Failed(e.to_string())),
        Err(e @ CliError::NoFlows(_)) => Err(DayError::NoFlows(e.to_string())),
        // Not the store's path: the page may be served beyond this host.
        Err(CliError::NoFiles { .. }) => Err(DayError::NoFlows(format!("no flows on {day}"))),
        Err(e) => Err(DayError::Failed(e.to_string())),
    }
}

pub fn run(a: WebArgs) -> Result<()> {
    if let (Some(name), Some(file)) = (&a.add_user, &a.auth) {
        let mut password = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut password)
            .map_err(|e| CliError::Usage(format!("reading the password: {e}")))?;
        let password = password.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            return Err(CliError::Usage(
                "the password is the first line of standard input, and it is empty".into(),
            ));
        }
        floe_web::auth::add_user(file, name, password)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        warn(format!("user {name} written to {}", file.display()));
        return Ok(());
    }
    let dir = match (&a.dir, &a.clickhouse.url) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(_)) => None,
        (None, None) => {
            return Err(CliError::Usage(
                "the store's directory is needed: floe web DIR (or floe web --clickhouse URL)"
                    .into(),
            ))
        }
    };
    if let Some(d) = dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(CliError::NoSuchPath {
            path: d.clone(),
            hint: String::new(),
        });
    }
    let users = match &a.auth {
        Some(f) => {
            let u = floe_web::auth::Users::load(f).map_err(|e| CliError::Usage(e.to_string()))?;
            if u.is_empty() {
                return Err(CliError::Usage(format!(
                    "{}: no user in it, so nobody could log in: add one with floe web --add-user NAME --auth {}",
                    f.display(),
                    f.display()
                )));
            }
            Some(u)
        }
        None => None,
    };
    let users_said = match (&a.auth, &users) {
        (Some(f), Some(u)) => Some(format!(
            "HTTP basic authentication: {} from {}",
            match u.len() {
                1 => "1 user".to_string(),
                n => format!("{n} users"),
            },
            f.display()
        )),
        _ => None,
    };
    if !a.listen.ip().is_loopback() && users.is_none() && !a.no_auth {
        return Err(CliError::Usage(format!(
            "--listen {}: beyond this host the pages need users (--auth FILE) or, on purpose, --no-auth",
            a.listen
        )));
    }
    let zone = Zone::parse(&a.zone).map_err(CliError::Usage)?;
    let time_limit = Duration::from_secs(a.time_limit.clamp(1, 3600));
    // Looked for at each request: floed may start after this server.
    let live_socket = a
        .live_socket
        .clone()
        .or_else(|| dir.as_ref().map(|d| d.join(".floed-live.sock")));
    let cache_dir = a
        .cache
        .clone()
        .or_else(|| dir.as_ref().map(|d| d.join(".floe-cache")));
    let backend: Option<Box<dyn floe_query::Backend>> = match &a.clickhouse.url {
        Some(url) => Some(Box::new(clickhouse_backend(&a.ch, url, &zone, time_limit)?)),
        None => None,
    };
    let cache = match (&backend, cache_dir) {
        (None, Some(d)) => Some((d, size(&a.cache_size)?)),
        _ => None,
    };
    let cfg = floe_web::WebConfig {
        listen: a.listen,
        root: dir,
        backend,
        cache,
        zone,
        users,
        live_socket,
        daily: Some(Arc::new(daily)),
        concurrent: a.max_queries,
        time_limit,
    };
    let no_auth = a.no_auth;
    floe_web::serve(cfg, |addr| {
        // How it guards the pages, then where it serves them (the last
        // line scripts wait for).
        if let Some(said) = users_said {
            warn(said);
        } else if no_auth && !addr.ip().is_loopback() {
            warn("without authentication (--no-auth), on purpose");
        }
        warn(format!("serving http://{addr}/"));
    })
    .map_err(|e| CliError::Usage(e.to_string()))
}

/// The ClickHouse backend of `--clickhouse URL`: floe's tables there
/// (--database, --table), the password from --password-file or the
/// environment, filters compiled as for the local store (the zone's wall
/// clock, no `@include`), each query stopped by the server at the time
/// limit. The server is asked once now so that a wrong URL, password or
/// table is said at start; when it is down, the pages say so until it
/// is back.
fn clickhouse_backend(
    ch: &TableArgs,
    url: &str,
    zone: &Zone,
    time_limit: Duration,
) -> Result<floe_clickhouse::ClickHouseBackend> {
    let backend = floe_clickhouse::ClickHouseBackend::new(ch.client(url)?)
        .with_filter_options(
            floe_filter::Options::default()
                .without_includes()
                .with_zone(floe_query::ZoneClock(zone.clone())),
        )
        .with_time_limit(time_limit);
    match backend.dialect() {
        Ok(_) => {}
        Err(e) if e.is_transport() => warn(format!("{e}; the pages will say so until it answers")),
        Err(e) => return Err(e.into()),
    }
    warn(format!(
        "answering from ClickHouse at {} ({}.{})",
        backend.client().target().url,
        ch.database,
        ch.table
    ));
    Ok(backend)
}
