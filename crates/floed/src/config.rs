//! floed's configuration: a TOML file, overridden by command-line flags.
//!
//! Which file: `--config FILE` if given; else `/etc/floe/floed.toml` if it
//! exists; else the embedded quick-start configuration
//! ([`QUICK_START`]: loopback only, `./flows`), so that `floed` alone
//! starts a working collector without touching the system.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The live socket's name in the data directory, by default.
pub const LIVE_SOCKET: &str = ".floed-live.sock";

/// The system-wide configuration file.
pub const SYSTEM_CONFIG: &str = "/etc/floe/floed.toml";

/// The configuration used when no file is given or installed.
pub const QUICK_START: &str = r#"# floed's embedded quick-start configuration
listen = ["127.0.0.1:2055", "[::1]:2055"]
dir = "flows"
period = "10m"
zone = "local"
nesting = 3
"#;

/// The configuration file's contents; every key is optional.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// UDP addresses to listen on (IPv4 and IPv6).
    pub listen: Option<Vec<String>>,
    /// Root of the flow file tree.
    pub dir: Option<PathBuf>,
    /// Rotation period (`600`, `10m`, `1h`).
    pub period: Option<toml::Value>,
    /// `local`, `UTC` or an IANA zone name.
    pub zone: Option<String>,
    /// flow-tools nesting level, -3..3.
    pub nesting: Option<i8>,
    /// Socket receive buffer (`16M`).
    pub receive_buffer: Option<toml::Value>,
    /// Flows per block.
    pub block_records: Option<usize>,
    /// Longest a flow waits in memory before its block is written (`5s`).
    pub flush_interval: Option<toml::Value>,
    /// zstd level of the files (it tunes the entropy coder only; below 1
    /// is 1: see `floe_store`'s `planes.rs`).
    pub zstd_level: Option<i32>,
    /// Datagrams queued between the sockets and the decoder.
    pub queue_datagrams: Option<usize>,
    /// Command run with the path of each closed file.
    pub on_rotate: Option<String>,
    /// File to write the daemon's pid to.
    pub pidfile: Option<PathBuf>,
    /// Expiry of old files.
    pub expire: Option<ExpireConfig>,
    /// Decoder limits.
    pub limits: Option<LimitsConfig>,
    /// Networks exporters may send from (empty or absent: any).
    pub allow: Option<Vec<String>>,
    /// The live view and its socket.
    pub live: Option<LiveConfig>,
    /// Address of the Prometheus metrics listener (absent: off).
    pub metrics_listen: Option<String>,
    /// Shipping the flows written to ClickHouse.
    pub clickhouse: Option<ClickHouseConfig>,
    /// Exporting each closed file.
    pub export: Option<ExportConfig>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// `http[s]://[USER@]HOST[:PORT]` of ClickHouse's HTTP interface.
    pub url: Option<String>,
    pub database: Option<String>,
    pub table: Option<String>,
    /// File whose first line is the password (else the environment's
    /// FLOE_CLICKHOUSE_PASSWORD).
    pub password_file: Option<PathBuf>,
    /// The name of this collector in every row (default: the host name).
    pub collector: Option<String>,
    /// Flows per insert (default 50000).
    pub batch_size: Option<usize>,
    /// Longest a flow waits for its batch (default 5s).
    pub batch_interval: Option<toml::Value>,
    /// The tables were made with `floe clickhouse init --cluster NAME`.
    pub cluster: Option<String>,
    /// Longest one request may take (default 60s).
    pub timeout: Option<toml::Value>,
    /// Longest pause between tries when ClickHouse fails (default 60s;
    /// the pause doubles from 1 s up to it).
    pub retry_max: Option<toml::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// Write each closed file as Parquet under this directory
    /// (year=/month=/day= tree).
    pub parquet: Option<PathBuf>,
}

/// Shipping to ClickHouse, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ClickHouse {
    /// The URL without credentials' password (a password in the URL is
    /// refused: it would show in `--check-config` and logs).
    pub url: String,
    pub database: String,
    pub table: String,
    pub password_file: Option<PathBuf>,
    pub collector: String,
    pub batch_size: usize,
    pub batch_interval_ms: u64,
    pub cluster: Option<String>,
    pub timeout_secs: u64,
    pub retry_max_ms: u64,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// Keep the live view (default true).
    pub enabled: Option<bool>,
    /// The Unix socket `floe top` reads (default `DIR/.floed-live.sock`).
    pub socket: Option<PathBuf>,
    /// Group the socket belongs to (mode 0660), e.g. `floe`.
    pub group: Option<String>,
    /// How much the view keeps (`5m`; at most `1h`).
    pub window: Option<toml::Value>,
    /// Ports counted one by one besides those below 1024.
    pub ports: Option<Vec<u16>>,
    /// When the talkers are counted: `while-watched` (the default) or
    /// `always`.
    pub talkers: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpireConfig {
    /// Keep the tree under this size (`500G`).
    pub max_size: Option<toml::Value>,
    /// Remove files older than this (`90d`).
    pub max_age: Option<toml::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_exporters: Option<usize>,
    pub max_templates_per_exporter: Option<usize>,
    pub max_templates: Option<usize>,
    pub early_data_bytes: Option<toml::Value>,
    pub max_template_fields: Option<usize>,
    /// How long data may wait for its template (`10m`).
    pub early_data_ttl: Option<toml::Value>,
}

/// The configuration in force, every value resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where it came from (a path, or "embedded quick-start").
    pub source: String,
    pub listen: Vec<SocketAddr>,
    pub dir: PathBuf,
    pub period_secs: u32,
    pub zone: String,
    pub nesting: i8,
    pub receive_buffer: usize,
    pub block_records: usize,
    pub flush_interval_ms: i64,
    pub zstd_level: i32,
    pub queue_datagrams: usize,
    pub on_rotate: Option<String>,
    pub pidfile: Option<PathBuf>,
    pub expire_max_bytes: Option<u64>,
    pub expire_max_age_secs: Option<u64>,
    pub max_exporters: usize,
    pub max_templates_per_exporter: usize,
    pub max_templates: usize,
    pub early_data_bytes: usize,
    pub max_template_fields: usize,
    pub early_data_ttl_secs: u64,
    pub allow: crate::allow::AllowList,
    /// The live socket, when the live view is on.
    pub live_socket: Option<PathBuf>,
    pub live_group: Option<String>,
    pub live_window_secs: u32,
    pub live_ports: Vec<u16>,
    pub live_talkers: floe_live::TalkerCounting,
    pub metrics_listen: Option<SocketAddr>,
    /// Shipping to ClickHouse, when on.
    pub clickhouse: Option<ClickHouse>,
    /// Each closed file exported as Parquet under this directory.
    pub export_parquet: Option<PathBuf>,
}

/// The `[clickhouse]` section resolved and checked.
fn clickhouse(c: &ClickHouseConfig) -> Result<Option<ClickHouse>, String> {
    let Some(url) = &c.url else {
        return Ok(None);
    };
    let database = c.database.clone().unwrap_or_else(|| "floe".into());
    let table = c.table.clone().unwrap_or_else(|| "flows".into());
    let t = floe_clickhouse::Target::parse(url, &database, &table)
        .map_err(|e| format!("clickhouse.url: {e}"))?;
    if t.password.is_some() {
        return Err(
            "clickhouse.url: no password in the URL (it would show in logs): use password_file or FLOE_CLICKHOUSE_PASSWORD"
                .into(),
        );
    }
    let batch_size = c
        .batch_size
        .unwrap_or(floe_clickhouse::ship::DEFAULT_BATCH_FLOWS);
    if batch_size == 0 || batch_size > floe_clickhouse::ship::MAX_BATCH_FLOWS {
        return Err(format!(
            "clickhouse.batch_size: {batch_size}; use 1 to {}",
            floe_clickhouse::ship::MAX_BATCH_FLOWS
        ));
    }
    let ms = |v: &Option<toml::Value>, what: &str, default: u64| -> Result<u64, String> {
        Ok(match v {
            None => default,
            Some(toml::Value::String(s)) if s.trim().ends_with("ms") => s
                .trim()
                .trim_end_matches("ms")
                .trim()
                .parse()
                .map_err(|_| format!("{what}: {s:?} is not a duration"))?,
            Some(v) => parse_secs(v, what)? * 1000,
        })
    };
    Ok(Some(ClickHouse {
        url: url.clone(),
        database,
        table,
        password_file: c.password_file.clone(),
        collector: c.collector.clone().unwrap_or_else(floe_store::host_name),
        batch_size,
        batch_interval_ms: ms(&c.batch_interval, "clickhouse.batch_interval", 5_000)?,
        cluster: c.cluster.clone(),
        timeout_secs: (ms(&c.timeout, "clickhouse.timeout", 60_000)? / 1000).max(1),
        retry_max_ms: ms(&c.retry_max, "clickhouse.retry_max", 60_000)?.max(100),
    }))
}

/// A unit-suffixed number: `16M` bytes, `10m` minutes...
fn parse_scaled(v: &toml::Value, what: &str, units: &[(&str, u64)]) -> Result<u64, String> {
    let text = match v {
        toml::Value::Integer(i) if *i >= 0 => return Ok(*i as u64),
        toml::Value::String(s) => s.trim().to_string(),
        other => {
            return Err(format!(
                "{what}: expected a number or a string like \"10m\", found {other}"
            ))
        }
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{what}: {text:?} does not start with a number"))?;
    let unit = unit.trim();
    let scale = units
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            let valid: Vec<&str> = units
                .iter()
                .map(|(u, _)| *u)
                .filter(|u| !u.is_empty())
                .collect();
            format!(
                "{what}: unknown unit {unit:?} in {text:?}; use one of {}",
                valid.join(", ")
            )
        })?;
    Ok((n * scale as f64).round() as u64)
}

/// Durations in seconds: `90`, `90s`, `10m`, `2h`, `90d`, `1w`.
pub fn parse_secs(v: &toml::Value, what: &str) -> Result<u64, String> {
    parse_scaled(
        v,
        what,
        &[
            ("", 1),
            ("s", 1),
            ("m", 60),
            ("h", 3600),
            ("d", 86_400),
            ("w", 604_800),
        ],
    )
}

/// Sizes in bytes: `4096`, `16K`, `16M`, `500G`, `2T` (powers of 1024).
pub fn parse_bytes(v: &toml::Value, what: &str) -> Result<u64, String> {
    parse_scaled(
        v,
        what,
        &[
            ("", 1),
            ("B", 1),
            ("K", 1 << 10),
            ("k", 1 << 10),
            ("M", 1 << 20),
            ("G", 1 << 30),
            ("T", 1 << 40),
        ],
    )
}

/// Parses a configuration file's text. Errors name the file, and the line
/// and column where TOML can tell.
pub fn parse_file(text: &str, source: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        format!("{source}{at}: {}", e.message())
    })
}

/// Reads the file the flags point at (or the system file, or the embedded
/// one) and returns it with its source name.
pub fn load_file(explicit: Option<&Path>) -> Result<(FileConfig, String), String> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Path::new(SYSTEM_CONFIG)
            .exists()
            .then(|| PathBuf::from(SYSTEM_CONFIG)),
    };
    match path {
        Some(p) => {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{name}: {e}"))?;
            Ok((parse_file(&text, &name)?, name))
        }
        None => Ok((
            parse_file(QUICK_START, "embedded quick-start")?,
            "embedded quick-start".into(),
        )),
    }
}

/// Overrides from the command line (each `None` keeps the file's value).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Vec<String>,
    pub dir: Option<PathBuf>,
    pub period: Option<String>,
    pub zone: Option<String>,
    pub nesting: Option<i8>,
    pub receive_buffer: Option<String>,
    pub flush_interval: Option<String>,
    pub on_rotate: Option<String>,
    pub pidfile: Option<PathBuf>,
    pub allow: Vec<String>,
}

/// Merges file and flags, checks every value, and resolves defaults.
pub fn resolve(file: FileConfig, source: String, o: &Overrides) -> Result<Config, String> {
    let e = |m: String| format!("{source}: {m}");
    let listen_text: Vec<String> = if o.listen.is_empty() {
        file.listen
            .clone()
            .unwrap_or_else(|| vec!["0.0.0.0:2055".into()])
    } else {
        o.listen.clone()
    };
    if listen_text.is_empty() {
        return Err(e("listen: at least one address is needed".into()));
    }
    let mut listen = Vec::new();
    for l in &listen_text {
        listen.push(l.parse::<SocketAddr>().map_err(|_| {
            e(format!(
                "listen: {l:?} is not an address:port (e.g. 0.0.0.0:2055 or [::]:2055)"
            ))
        })?);
    }
    let s = |v: Option<&String>| v.map(|x| toml::Value::String(x.clone()));
    let period = s(o.period.as_ref())
        .or(file.period.clone())
        .map(|v| parse_secs(&v, "period"))
        .transpose()
        .map_err(e)?
        .unwrap_or(600);
    if period == 0 || 86_400 % period != 0 {
        return Err(e(format!(
            "period: {period} s does not divide a day; use e.g. 1m, 5m, 10m, 15m, 1h or 1d"
        )));
    }
    let zone = o
        .zone
        .clone()
        .or(file.zone.clone())
        .unwrap_or_else(|| "local".into());
    floe_store::Zone::parse(&zone).map_err(|m| e(format!("zone: {m}")))?;
    let nesting = o.nesting.or(file.nesting).unwrap_or(3);
    if !(-3..=3).contains(&nesting) {
        return Err(e(format!("nesting: {nesting} is not one of -3..3")));
    }
    let receive_buffer = s(o.receive_buffer.as_ref())
        .or(file.receive_buffer.clone())
        .map(|v| parse_bytes(&v, "receive_buffer"))
        .transpose()
        .map_err(e)?
        .unwrap_or(16 << 20) as usize;
    let flush_interval_ms = s(o.flush_interval.as_ref())
        .or(file.flush_interval.clone())
        .map(|v| parse_secs(&v, "flush_interval"))
        .transpose()
        .map_err(e)?
        .unwrap_or(5)
        .max(1) as i64
        * 1000;
    let zstd_level = file.zstd_level.unwrap_or(floe_store::DEFAULT_LEVEL);
    if !(-7..=22).contains(&zstd_level) {
        return Err(e(format!("zstd_level: {zstd_level} is outside -7..22")));
    }
    let block_records = file
        .block_records
        .unwrap_or(floe_store::DEFAULT_BLOCK_RECORDS);
    if block_records == 0 || block_records > 1 << 20 {
        return Err(e(format!(
            "block_records: {block_records} must be 1..1048576"
        )));
    }
    let expire = file.expire.clone().unwrap_or_default();
    let limits = file.limits.clone().unwrap_or_default();
    let allow_text = if o.allow.is_empty() {
        file.allow.clone().unwrap_or_default()
    } else {
        o.allow.clone()
    };
    let allow = crate::allow::AllowList::parse(&allow_text).map_err(e)?;
    let d = floe_netflow::DecoderConfig::default();
    let dir = o
        .dir
        .clone()
        .or(file.dir.clone())
        .unwrap_or_else(|| PathBuf::from("/var/lib/floe"));
    let live = file.live.clone().unwrap_or_default();
    let live_window_secs = live
        .window
        .as_ref()
        .map(|v| parse_secs(v, "live.window"))
        .transpose()
        .map_err(e)?
        .unwrap_or(300);
    if !(10..=3600).contains(&live_window_secs) {
        return Err(e(format!(
            "live.window: {live_window_secs} s; use 10 s to 1 h"
        )));
    }
    let live_talkers = match live.talkers.as_deref() {
        None | Some("while-watched") => floe_live::TalkerCounting::WhileWatched,
        Some("always") => floe_live::TalkerCounting::Always,
        Some(other) => {
            return Err(e(format!(
                "live.talkers: {other:?}; use \"while-watched\" or \"always\""
            )))
        }
    };
    let metrics_listen = file
        .metrics_listen
        .as_ref()
        .map(|m| {
            m.parse::<SocketAddr>().map_err(|_| {
                e(format!(
                    "metrics_listen: {m:?} is not an address:port (e.g. 127.0.0.1:9155)"
                ))
            })
        })
        .transpose()?;
    Ok(Config {
        source: source.clone(),
        listen,
        dir: dir.clone(),
        period_secs: period as u32,
        zone,
        nesting,
        receive_buffer,
        block_records,
        flush_interval_ms,
        zstd_level,
        queue_datagrams: file.queue_datagrams.unwrap_or(32_768).max(64),
        on_rotate: o.on_rotate.clone().or(file.on_rotate.clone()),
        pidfile: o.pidfile.clone().or(file.pidfile.clone()),
        expire_max_bytes: expire
            .max_size
            .map(|v| parse_bytes(&v, "expire.max_size"))
            .transpose()
            .map_err(e)?,
        expire_max_age_secs: expire
            .max_age
            .map(|v| parse_secs(&v, "expire.max_age"))
            .transpose()
            .map_err(e)?,
        max_exporters: limits.max_exporters.unwrap_or(d.max_exporters),
        max_templates_per_exporter: limits
            .max_templates_per_exporter
            .unwrap_or(d.max_templates_per_exporter),
        max_templates: limits.max_templates.unwrap_or(d.max_templates_total),
        early_data_bytes: limits
            .early_data_bytes
            .as_ref()
            .map(|v| parse_bytes(v, "limits.early_data_bytes"))
            .transpose()
            .map_err(e)?
            .unwrap_or(d.pending_bytes as u64) as usize,
        max_template_fields: limits.max_template_fields.unwrap_or(d.max_template_fields),
        early_data_ttl_secs: limits
            .early_data_ttl
            .map(|v| parse_secs(&v, "limits.early_data_ttl"))
            .transpose()
            .map_err(e)?
            .unwrap_or(d.pending_ttl.as_secs()),
        allow,
        live_socket: live
            .enabled
            .unwrap_or(true)
            .then(|| live.socket.clone().unwrap_or_else(|| dir.join(LIVE_SOCKET))),
        live_group: live.group.clone(),
        live_window_secs: live_window_secs as u32,
        live_ports: live.ports.clone().unwrap_or_default(),
        live_talkers,
        metrics_listen,
        clickhouse: file
            .clickhouse
            .as_ref()
            .map(clickhouse)
            .transpose()
            .map_err(e)?
            .flatten(),
        export_parquet: file.export.as_ref().and_then(|x| x.parquet.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        let v = |s: &str| toml::Value::String(s.into());
        assert_eq!(parse_secs(&v("10m"), "p"), Ok(600));
        assert_eq!(parse_secs(&toml::Value::Integer(600), "p"), Ok(600));
        assert_eq!(parse_secs(&v("90d"), "p"), Ok(90 * 86_400));
        assert_eq!(parse_bytes(&v("16M"), "b"), Ok(16 << 20));
        assert_eq!(parse_bytes(&v("1.5G"), "b"), Ok(1_610_612_736));
        let err = parse_secs(&v("10 fortnights"), "period").unwrap_err();
        assert!(
            err.contains("unknown unit") && err.contains("s, m, h, d, w"),
            "{err}"
        );
    }

    #[test]
    fn quick_start_is_loopback_under_flows() {
        let f = parse_file(QUICK_START, "q").unwrap();
        let c = resolve(f, "q".into(), &Overrides::default()).unwrap();
        assert_eq!(
            c.listen,
            vec![
                "127.0.0.1:2055".parse().unwrap(),
                "[::1]:2055".parse().unwrap()
            ]
        );
        assert_eq!(c.dir, PathBuf::from("flows"));
        assert_eq!(
            (c.period_secs, c.nesting, c.zone.as_str()),
            (600, 3, "local")
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse_file("listen = [\"a\"]\nperiod = \n", "/etc/floe/floed.toml").unwrap_err();
        assert!(e.starts_with("/etc/floe/floed.toml:2:"), "{e}");
        let e = parse_file("lisen = []\n", "f.toml").unwrap_err();
        assert!(e.starts_with("f.toml:1:1") && e.contains("listen"), "{e}");
        let f = parse_file("period = \"7m\"\n", "f.toml").unwrap();
        let e = resolve(f, "f.toml".into(), &Overrides::default()).unwrap_err();
        assert!(e.contains("does not divide a day"), "{e}");
        let f = parse_file("listen = [\"nowhere\"]\n", "f.toml").unwrap();
        assert!(resolve(f, "f.toml".into(), &Overrides::default())
            .unwrap_err()
            .contains("not an address"));
    }

    #[test]
    fn talkers_are_counted_while_watched_unless_always() {
        let talkers = |text: &str| {
            let f = parse_file(text, "f").unwrap();
            resolve(f, "f".into(), &Overrides::default()).map(|c| c.live_talkers)
        };
        use floe_live::TalkerCounting::*;
        assert_eq!(talkers(""), Ok(WhileWatched));
        assert_eq!(
            talkers("[live]\ntalkers = \"while-watched\"\n"),
            Ok(WhileWatched)
        );
        assert_eq!(talkers("[live]\ntalkers = \"always\"\n"), Ok(Always));
        let e = talkers("[live]\ntalkers = \"sometimes\"\n").unwrap_err();
        assert!(
            e.contains("live.talkers") && e.contains("\"sometimes\"") && e.contains("always"),
            "{e}"
        );
    }

    #[test]
    fn flags_override_the_file() {
        let f = parse_file(
            "listen = [\"0.0.0.0:2055\"]\nperiod = \"1h\"\ndir = \"/x\"\n",
            "f",
        )
        .unwrap();
        let o = Overrides {
            listen: vec!["127.0.0.1:9995".into()],
            period: Some("2s".into()),
            ..Overrides::default()
        };
        let c = resolve(f, "f".into(), &o).unwrap();
        assert_eq!(c.listen, vec!["127.0.0.1:9995".parse().unwrap()]);
        assert_eq!(c.period_secs, 2);
        assert_eq!(c.dir, PathBuf::from("/x"));
    }

    #[test]
    fn clickhouse_defaults_and_no_password_in_the_url() {
        let f = parse_file("[clickhouse]\nurl = \"http://floe@ch.example\"\n", "f").unwrap();
        let c = resolve(f, "f".into(), &Overrides::default())
            .unwrap()
            .clickhouse
            .unwrap();
        assert_eq!(c.url, "http://floe@ch.example");
        assert_eq!((c.database.as_str(), c.table.as_str()), ("floe", "flows"));
        assert_eq!(
            (c.batch_size, c.batch_interval_ms, c.timeout_secs),
            (50_000, 5_000, 60)
        );
        assert_eq!(c.retry_max_ms, 60_000);
        let f = parse_file("[clickhouse]\nurl = \"http://u:secret@h\"\n", "f").unwrap();
        let e = resolve(f, "f".into(), &Overrides::default()).unwrap_err();
        assert!(
            e.contains("no password in the URL") && !e.contains("secret"),
            "{e}"
        );
        let f = parse_file("[clickhouse]\nurl = \"h:8123\"\n", "f").unwrap();
        assert!(resolve(f, "f".into(), &Overrides::default()).is_err());
        let f = parse_file(
            "[clickhouse]\nurl = \"http://h\"\nbatch_interval = \"250ms\"\n",
            "f",
        )
        .unwrap();
        let c = resolve(f, "f".into(), &Overrides::default())
            .unwrap()
            .clickhouse
            .unwrap();
        assert_eq!(c.batch_interval_ms, 250);
        let f = parse_file("", "f").unwrap();
        assert!(resolve(f, "f".into(), &Overrides::default())
            .unwrap()
            .clickhouse
            .is_none());
    }
}
