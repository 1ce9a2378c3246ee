//! floed: the floe collector daemon.
//!
//! Receives NetFlow v1/v5/v7/v9 and IPFIX over UDP, decodes it with
//! per-exporter template state (floe-netflow), and stores every flow in
//! rotated, compressed files (floe-store). Threads: one receiver per socket
//! (reads only: `receive.rs`), one decoder (`decode.rs`), one writer
//! (compression, rotation, fsync: `write.rs`; the on-rotate command and
//! expiry: `children.rs`), and the main thread for signals:
//!
//! * SIGHUP: close the current file and reload the configuration;
//! * SIGTERM / SIGINT: flush, close the file, exit 0;
//! * SIGUSR1: log the per-exporter counters since start.

mod allow;
mod batch;
mod children;
mod config;
mod decode;
mod events;
mod live;
mod live_socket;
mod metrics;
mod mmsg;
mod pool;
mod receive;
mod shared;
mod ship;
mod since_start;
mod stats;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use floe_netflow::{Decoder, DecoderConfig, FileTemplateStore};
use floe_store::{ExpirePolicy, StoreConfig, StoreWriter, Zone};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use crate::config::{Config, Overrides};
use crate::receive::{now_ms, ReceiveStats};
use crate::shared::{Live, Shared};
use crate::write::WriterMsg;

/// The floe NetFlow/IPFIX collector.
///
/// Listens for NetFlow v1/v5/v7/v9 and IPFIX on UDP and stores every flow in
/// 10-minute zstd files under DIR/YYYY/YYYY-MM/YYYY-MM-DD/.
///
/// Configuration: --config FILE, else /etc/floe/floed.toml if present, else
/// an embedded quick-start configuration (127.0.0.1:2055 and [::1]:2055,
/// ./flows). Flags override the file.
///
/// Example: floed --listen 0.0.0.0:2055 --dir /var/lib/floe --period 10m
#[derive(Parser, Debug)]
#[command(name = "floed", version, about, long_about)]
struct Args {
    /// Configuration file (TOML).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration, print it, and exit.
    #[arg(long)]
    check_config: bool,
    /// UDP address to listen on (repeat for several; overrides the file).
    #[arg(short, long, value_name = "ADDR:PORT")]
    listen: Vec<String>,
    /// Root directory of the flow files.
    #[arg(short, long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Rotation period (e.g. 10m, 1h, 2s).
    #[arg(long, value_name = "DURATION")]
    period: Option<String>,
    /// Time zone naming the files: local, UTC, or an IANA name.
    #[arg(long, value_name = "ZONE")]
    zone: Option<String>,
    /// flow-tools nesting level (-3..3; 3 is YYYY/YYYY-MM/YYYY-MM-DD).
    #[arg(short = 'N', long, value_name = "LEVEL", allow_hyphen_values = true)]
    nesting: Option<i8>,
    /// Socket receive buffer (e.g. 16M).
    #[arg(long, value_name = "SIZE")]
    receive_buffer: Option<String>,
    /// Longest a flow waits in memory before it is written (e.g. 5s).
    #[arg(long, value_name = "DURATION")]
    flush_interval: Option<String>,
    /// Command run with the path of each closed file (like flow-capture -R).
    #[arg(long, value_name = "COMMAND")]
    on_rotate: Option<String>,
    /// Write the daemon's pid to this file.
    #[arg(long, value_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// Accept datagrams only from this network (repeat; e.g. 10.0.0.0/8).
    #[arg(long, value_name = "NET")]
    allow: Vec<String>,
    /// Print the man page (roff) and exit.
    #[arg(long, hide = true)]
    man_page: bool,
    /// Print a shell completion script (bash, zsh, fish...) and exit.
    #[arg(long, hide = true, value_name = "SHELL")]
    completions: Option<clap_complete::Shell>,
}

impl Args {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            dir: self.dir.clone(),
            period: self.period.clone(),
            zone: self.zone.clone(),
            nesting: self.nesting,
            receive_buffer: self.receive_buffer.clone(),
            flush_interval: self.flush_interval.clone(),
            on_rotate: self.on_rotate.clone(),
            pidfile: self.pidfile.clone(),
            allow: self.allow.clone(),
        }
    }
}

fn load(args: &Args) -> Result<Config, String> {
    let (file, source) = config::load_file(args.config.as_deref())?;
    config::resolve(file, source, &args.overrides())
}

fn live(c: &Config) -> Live {
    Live {
        on_rotate: c.on_rotate.clone(),
        expire: ExpirePolicy {
            max_bytes: c.expire_max_bytes,
            max_age_secs: c.expire_max_age_secs,
        },
        export_parquet: c.export_parquet.clone(),
        shipping: c.clickhouse.is_some(),
    }
}

/// The shipper for `[clickhouse]`, with the password from its file or the
/// environment (never logged), and the target's name for logs.
fn open_shipper(
    c: &config::ClickHouse,
    dir: &std::path::Path,
) -> Result<(floe_clickhouse::Shipper, String), String> {
    let mut target =
        floe_clickhouse::Target::parse(&c.url, &c.database, &c.table).map_err(|e| e.to_string())?;
    target.password = match &c.password_file {
        Some(f) => Some(floe_clickhouse::Secret::new(
            std::fs::read_to_string(f)
                .map_err(|e| format!("clickhouse.password_file {}: {e}", f.display()))?
                .lines()
                .next()
                .unwrap_or(""),
        )),
        None => std::env::var("FLOE_CLICKHOUSE_PASSWORD")
            .ok()
            .map(floe_clickhouse::Secret::new),
    };
    let describe = target.describe();
    let mut o = floe_clickhouse::ShipOptions::new(target, &c.collector);
    o.batch_flows = c.batch_size;
    o.batch_interval = Duration::from_millis(c.batch_interval_ms);
    o.follow_open = true;
    o.cluster = c.cluster.clone();
    o.timeouts = floe_clickhouse::Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(c.timeout_secs),
    };
    let s = floe_clickhouse::Shipper::open(dir, o).map_err(|e| e.to_string())?;
    Ok((s, describe))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.man_page || args.completions.is_some() {
        use clap::CommandFactory;
        let mut cmd = Args::command();
        let mut out = std::io::stdout();
        let written = match args.completions {
            Some(shell) => {
                clap_complete::generate(shell, &mut cmd, "floed", &mut out);
                Ok(())
            }
            None => clap_mangen::Man::new(cmd).section("8").render(&mut out),
        };
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("floed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLOED_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .init();
    let cfg = match load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("floed: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        println!("{}: configuration is valid", cfg.source);
        println!("{cfg:#?}");
        return ExitCode::SUCCESS;
    }
    match run(args, cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args, cfg: Config) -> Result<(), String> {
    // First: a stop asked while floed starts (its threads, sockets and
    // store) is kept for the loop below, rather than ending floed by the
    // signal's default action with nothing closed.
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM, SIGUSR1])
        .map_err(|e| e.to_string())?;
    let zone = Zone::parse(&cfg.zone)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %cfg.source,
        dir = %cfg.dir.display(),
        zone = %zone.name(),
        period_secs = cfg.period_secs,
        allow = %cfg.allow.describe(),
        "floed starting"
    );
    let mut store_cfg = StoreConfig::new(&cfg.dir);
    store_cfg.period_secs = cfg.period_secs;
    store_cfg.zone = zone;
    store_cfg.nesting = cfg.nesting;
    store_cfg.block_records = cfg.block_records;
    store_cfg.flush_interval_ms = cfg.flush_interval_ms;
    store_cfg.level = cfg.zstd_level;
    store_cfg.writer = format!("floed {}", env!("CARGO_PKG_VERSION"));
    let (store, recovered) = StoreWriter::open(store_cfg, now_ms()).map_err(|e| e.to_string())?;
    for r in &recovered {
        tracing::warn!(
            from = %r.from.display(),
            to = %r.to.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(removed: no whole header)".into()),
            blocks = r.blocks,
            flows = r.flows,
            dropped_bytes = r.dropped_bytes,
            damage = r.damage.len(),
            "recovered a file left by a crash"
        );
    }
    let template_path = cfg.dir.join(".floe-templates");
    let (templates, skipped) = FileTemplateStore::open(&template_path)
        .map_err(|e| format!("{}: {e}", template_path.display()))?;
    tracing::info!(templates = templates.len(), damaged = skipped, path = %template_path.display(), "templates loaded");

    let stop = Arc::new(AtomicBool::new(false));
    let rstats = Arc::new(ReceiveStats::default());
    let shared = Arc::new(Shared::default());
    if let Ok(mut l) = shared.live.lock() {
        *l = live(&cfg);
    }
    if let Ok(mut a) = shared.allow.write() {
        *a = cfg.allow.clone();
    }
    let (btx, brx) = sync_channel(cfg.queue_datagrams / 256 + 1);
    let (wtx, wrx) = sync_channel::<WriterMsg>(8);

    let mut receivers = Vec::new();
    let mut sockets = Vec::new();
    for addr in &cfg.listen {
        let (sock, granted) = receive::bind(*addr, cfg.receive_buffer)
            .map_err(|e| format!("cannot listen on udp {addr}: {e}"))?;
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        sockets.push((local.to_string(), receive::inode(&sock)));
        let nap = receive::nap_for(granted);
        tracing::info!(
            address = %local,
            receive_buffer_asked = cfg.receive_buffer,
            receive_buffer_granted = granted,
            poll_interval_us = nap.map_or(0, |n| n.as_micros() as u64),
            "listening on udp {local}"
        );
        if granted < cfg.receive_buffer {
            tracing::warn!(
                address = %local,
                "the kernel granted a {granted}-byte receive buffer for {} asked; raise net.core.rmem_max",
                cfg.receive_buffer
            );
        }
        let (tx, stop, stats, shared) = (btx.clone(), stop.clone(), rstats.clone(), shared.clone());
        receivers.push(
            std::thread::Builder::new()
                .name(format!("recv {local}"))
                .spawn(move || receive::run(sock, nap, tx, stop, stats, shared))
                .map_err(|e| e.to_string())?,
        );
    }
    drop(btx);
    let decoder = Decoder::new(DecoderConfig {
        max_exporters: cfg.max_exporters,
        max_templates_per_exporter: cfg.max_templates_per_exporter,
        max_templates_total: cfg.max_templates,
        max_template_fields: cfg.max_template_fields,
        pending_bytes: cfg.early_data_bytes,
        pending_ttl: Duration::from_secs(cfg.early_data_ttl_secs),
        ..DecoderConfig::default()
    })
    .with_template_store(templates.clone());
    let decode = decode::DecodeThread {
        rx: brx,
        tx: wtx.clone(),
        decoder,
        templates,
        shared: shared.clone(),
        receive: rstats.clone(),
        stats: stats::StatsFile::new(&cfg.dir, now_ms()),
        hand_on_flows: cfg.block_records.min(decode::HELD_FLOWS_MOST),
        hold: decode::HOLD,
    };
    let decode_thread = std::thread::Builder::new()
        .name("decode".into())
        .spawn(move || decode.run())
        .map_err(|e| e.to_string())?;
    let mut helpers = Vec::new();
    let live_tx = match &cfg.live_socket {
        Some(path) => {
            let view = Arc::new(std::sync::Mutex::new(floe_live::LiveView::new(
                floe_live::ViewConfig {
                    window: floe_live::aggregate::WindowConfig {
                        seconds: cfg.live_window_secs,
                        ..Default::default()
                    },
                    ports: if cfg.live_ports.is_empty() {
                        floe_live::ViewConfig::default().ports
                    } else {
                        cfg.live_ports.clone()
                    },
                    talkers: cfg.live_talkers,
                },
            )));
            let listener = live_socket::bind(path, cfg.live_group.as_deref())?;
            tracing::info!(socket = %path.display(), window_secs = cfg.live_window_secs, "live view on {}", path.display());
            let (ltx, lrx) = live::queue();
            let (v, sh) = (view.clone(), shared.clone());
            helpers.push(
                std::thread::Builder::new()
                    .name("live".into())
                    .spawn(move || live::run(lrx, v, sh))
                    .map_err(|e| e.to_string())?,
            );
            let (p, st) = (path.clone(), stop.clone());
            helpers.push(
                std::thread::Builder::new()
                    .name("live socket".into())
                    .spawn(move || live_socket::serve(listener, p, view, st))
                    .map_err(|e| e.to_string())?,
            );
            Some(ltx)
        }
        None => None,
    };
    if let Some(addr) = cfg.metrics_listen {
        let listener =
            std::net::TcpListener::bind(addr).map_err(|e| format!("metrics_listen {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        if !local.ip().is_loopback() {
            tracing::warn!(address = %local, "metrics served beyond this host, without authentication");
        }
        tracing::info!(address = %local, "metrics on http://{local}/metrics");
        let src = metrics::Sources {
            shared: shared.clone(),
            receive: rstats.clone(),
            sockets: sockets.clone(),
            started_ms: now_ms(),
        };
        let st = stop.clone();
        helpers.push(
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || metrics::serve(listener, src, st))
                .map_err(|e| e.to_string())?,
        );
    }
    {
        // The tree's size, for the metrics, counted once off every hot path.
        let (root, sh) = (cfg.dir.clone(), shared.clone());
        let _ = std::thread::Builder::new()
            .name("store size".into())
            .spawn(move || {
                let bytes: u64 = floe_store::walk(&root)
                    .map(|files| {
                        files
                            .iter()
                            .filter_map(|f| std::fs::metadata(&f.path).ok())
                            .map(|m| m.len())
                            .sum()
                    })
                    .unwrap_or(0);
                sh.store.bytes_on_disk.fetch_add(bytes, Ordering::Relaxed);
            });
    }
    let wshared = shared.clone();
    // Shipping to ClickHouse: its own thread, reading what the write
    // thread wrote.
    let ship_stop = Arc::new(AtomicBool::new(false));
    let ship_thread = match &cfg.clickhouse {
        Some(c) => {
            let (shipper, target) = open_shipper(c, &cfg.dir)?;
            tracing::info!(
                target = %target,
                collector = %c.collector,
                batch_size = c.batch_size,
                batch_interval_ms = c.batch_interval_ms,
                state = %shipper.state_path().display(),
                "shipping to ClickHouse"
            );
            let (sh, st) = (shared.clone(), ship_stop.clone());
            let max_pause = Duration::from_millis(c.retry_max_ms);
            Some(
                std::thread::Builder::new()
                    .name("clickhouse".into())
                    .spawn(move || ship::run(shipper, target, max_pause, sh, st))
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let write_thread = std::thread::Builder::new()
        .name("write".into())
        .spawn(move || write::run(wrx, store, wshared, live_tx))
        .map_err(|e| e.to_string())?;

    if let Some(p) = &cfg.pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    tracing::info!("ready");

    let mut current = cfg;
    'signals: loop {
        for sig in signals.wait() {
            match sig {
                SIGHUP => {
                    tracing::info!(
                        "SIGHUP: closing the current file and reloading the configuration"
                    );
                    let _ = wtx.send(WriterMsg::Rotate);
                    match load(&args) {
                        Ok(new) => {
                            if new.listen != current.listen
                                || new.dir != current.dir
                                || new.period_secs != current.period_secs
                            {
                                tracing::warn!("listen addresses, directory and period changes take effect at the next restart");
                            }
                            // The view's thread, window and socket are set
                            // up once, at the start.
                            if (
                                &new.live_socket,
                                &new.live_group,
                                new.live_window_secs,
                                &new.live_ports,
                                new.live_talkers,
                            ) != (
                                &current.live_socket,
                                &current.live_group,
                                current.live_window_secs,
                                &current.live_ports,
                                current.live_talkers,
                            ) {
                                tracing::warn!("[live] changes take effect at the next restart");
                            }
                            if let Ok(mut l) = shared.live.lock() {
                                *l = live(&new);
                            }
                            if new.allow != current.allow {
                                // Said once in force: a sender that reads
                                // the log must not race the new list.
                                if let Ok(mut a) = shared.allow.write() {
                                    *a = new.allow.clone();
                                }
                                tracing::info!(allow = %new.allow.describe(), "allow list reloaded");
                            }
                            current = new;
                        }
                        Err(e) => {
                            tracing::error!("reload failed, keeping the running configuration: {e}")
                        }
                    }
                }
                SIGUSR1 => shared.log_counters.store(true, Ordering::Relaxed),
                _ => {
                    tracing::info!(signal = sig, "stopping");
                    break 'signals;
                }
            }
        }
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    stop.store(true, Ordering::Relaxed);
    for r in receivers {
        let _ = r.join();
    }
    let _ = decode_thread.join();
    drop(wtx);
    let _ = write_thread.join();
    // The shipper's last round, after the last file was closed.
    ship_stop.store(true, Ordering::Relaxed);
    if let Some(t) = ship_thread {
        let deadline = std::time::Instant::now() + ship::WAIT_AT_STOP;
        while !t.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if t.is_finished() {
            let _ = t.join();
        } else {
            tracing::warn!(
                waited_secs = ship::WAIT_AT_STOP.as_secs(),
                "the ClickHouse shipper is still waiting for the server; floed stops without it (its state names the batch in flight, which the next start settles)"
            );
        }
    }
    for h in helpers {
        let _ = h.join();
    }
    if let Some(p) = &current.pidfile {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("stopped");
    Ok(())
}
