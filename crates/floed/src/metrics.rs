//! floed's health in the Prometheus text format, on an optional HTTP
//! listener (`metrics_listen`, off by default).
//!
//! One small blocking server is enough: a scrape every few seconds asks
//! for one page. It answers at most [`MAX_CONNECTIONS`] connections at
//! once, each on its own thread, reads at most 8 KiB of request within two
//! seconds (however it trickles in), gives the answer two seconds to be
//! read, answers `GET /metrics` and nothing else,
//! and never touches the disk (the kernel's socket drop counts come from
//! `/proc/net/udp`). Exporters are labelled by address and source id; the
//! [`MAX_EXPORTERS`] busiest are listed one by one and the rest summed
//! under `exporter="other"`, so a flood of made-up sources cannot make the
//! page grow without bound.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_flow::{Counter, ExporterCounters};

use crate::receive::ReceiveStats;
use crate::shared::Shared;

/// Exporter streams listed one by one.
pub const MAX_EXPORTERS: usize = 500;

/// What the page is made of besides the shared state.
pub struct Sources {
    pub shared: Arc<Shared>,
    pub receive: Arc<ReceiveStats>,
    /// (listen address, socket inode) of each UDP socket.
    pub sockets: Vec<(String, u64)>,
    pub started_ms: i64,
}

/// Connections answered at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 32;
/// How long a request's head may take to arrive, and its answer to be
/// read.
const DEADLINE: Duration = Duration::from_secs(2);

/// Serves `/metrics` until `stop`. Each connection is answered on a thread
/// of its own within [`DEADLINE`] each way, so that connections that say
/// nothing, or a byte at a time (slowloris), do not hold up a scrape.
pub fn serve(listener: TcpListener, src: Sources, stop: Arc<AtomicBool>) {
    let _ = listener.set_nonblocking(true);
    let src = Arc::new(src);
    let busy = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((s, _)) => {
                if busy.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                    busy.fetch_sub(1, Ordering::AcqRel);
                    drop(s);
                    continue;
                }
                let (src, n) = (src.clone(), busy.clone());
                let spawned = std::thread::Builder::new()
                    .name("metrics client".into())
                    .stack_size(256 << 10)
                    .spawn(move || {
                        answer(s, &src);
                        n.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    busy.fetch_sub(1, Ordering::AcqRel);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Writes `bytes` by `deadline` however slowly the client reads.
fn write_by(s: &mut TcpStream, mut bytes: &[u8], deadline: Instant) {
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_write_timeout(Some(left)).is_err() {
            return;
        }
        match s.write(bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn answer(mut s: TcpStream, src: &Sources) {
    let _ = s.set_nonblocking(false);
    let deadline = Instant::now() + DEADLINE;
    let mut buf = [0u8; 8192];
    let mut n = 0;
    // Read the request head (up to the blank line), bounded in size and
    // in time.
    while n < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match s.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if buf[..n].windows(4).any(|w| w == b"\r\n\r\n")
                    || buf[..n].windows(2).any(|w| w == b"\n\n")
                {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
    let head = String::from_utf8_lossy(&buf[..n]);
    let first = head.lines().next().unwrap_or("");
    let mut parts = first.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body, kind) = if method != "GET" {
        (
            "405 Method Not Allowed",
            "only GET\n".to_string(),
            "text/plain",
        )
    } else if path == "/metrics" || path.starts_with("/metrics?") {
        (
            "200 OK",
            render(src),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    } else {
        (
            "404 Not Found",
            "floed serves /metrics\n".to_string(),
            "text/plain",
        )
    };
    let page = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The answer gets its own two seconds to be read.
    write_by(&mut s, page.as_bytes(), Instant::now() + DEADLINE);
}

/// Drops the kernel counted on each of our UDP sockets, from
/// `/proc/net/udp` and `/proc/net/udp6` (the last column, by inode).
fn socket_drops(sockets: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut by_inode = std::collections::HashMap::new();
    for f in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 13 {
                if let (Ok(inode), Ok(drops)) = (cols[9].parse::<u64>(), cols[12].parse::<u64>()) {
                    by_inode.insert(inode, drops);
                }
            }
        }
    }
    sockets
        .iter()
        .map(|(addr, inode)| (addr.clone(), by_inode.get(inode).copied().unwrap_or(0)))
        .collect()
}

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The page.
pub fn render(src: &Sources) -> String {
    let mut o = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, rows: &[(String, u64)]| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} {kind}");
        for (labels, v) in rows {
            if labels.is_empty() {
                let _ = writeln!(o, "{name} {v}");
            } else {
                let _ = writeln!(o, "{name}{{{labels}}} {v}");
            }
        }
    };
    let r = &src.receive;
    let g = |a: &std::sync::atomic::AtomicU64| vec![(String::new(), a.load(Ordering::Relaxed))];
    metric(
        "floed_build_info",
        "gauge",
        "floed's version.",
        &[(format!("version=\"{}\"", env!("CARGO_PKG_VERSION")), 1)],
    );
    metric(
        "floed_start_time_seconds",
        "gauge",
        "When floed started, seconds since 1970.",
        &[(String::new(), (src.started_ms / 1000) as u64)],
    );
    metric(
        "floed_datagrams_received_total",
        "counter",
        "Datagrams read from the sockets.",
        &g(&r.datagrams),
    );
    metric(
        "floed_bytes_received_total",
        "counter",
        "Bytes of the datagrams read from the sockets.",
        &g(&r.bytes),
    );
    metric(
        "floed_queue_drops_total",
        "counter",
        "Datagrams dropped because the decode queue stayed full (2 s).",
        &g(&r.queue_drops),
    );
    metric(
        "floed_queue_waits_total",
        "counter",
        "Batches of datagrams that found the decode queue full and waited for room.",
        &g(&r.queue_waits),
    );
    let drops: Vec<(String, u64)> = socket_drops(&src.sockets)
        .into_iter()
        .map(|(a, v)| (format!("listen=\"{}\"", label(&a)), v))
        .collect();
    metric(
        "floed_socket_drops_total",
        "counter",
        "Datagrams the kernel dropped on a socket (its receive buffer was full).",
        &drops,
    );
    let st = &src.shared.store;
    metric(
        "floed_files_written_total",
        "counter",
        "Flow files closed.",
        &g(&st.files_written),
    );
    metric(
        "floed_write_errors_total",
        "counter",
        "Failed writes of flow blocks.",
        &g(&st.write_errors),
    );
    metric(
        "floed_store_bytes",
        "gauge",
        "Bytes of flow files under the data directory.",
        &g(&st.bytes_on_disk),
    );
    metric(
        "floed_expired_files_total",
        "counter",
        "Flow files removed by expiry.",
        &g(&st.files_expired),
    );
    metric(
        "floed_expired_bytes_total",
        "counter",
        "Bytes of flow files removed by expiry.",
        &g(&st.bytes_expired),
    );
    metric(
        "floed_live_skipped_flows_total",
        "counter",
        "Flows stored that the live view could not look at (it was behind).",
        &g(&src.shared.live_skipped_total),
    );
    metric(
        "floed_live_talkers_counted",
        "gauge",
        "1 while the live view counts the talkers of every flow (by default while clients look at it).",
        &[(
            String::new(),
            u64::from(src.shared.live_talkers_counted.load(Ordering::Relaxed)),
        )],
    );

    // Shipping to ClickHouse, when on.
    if let Some(c) = src.shared.clickhouse.lock().ok().and_then(|c| c.clone()) {
        let one = |v: u64| vec![(String::new(), v)];
        metric(
            "floed_clickhouse_up",
            "gauge",
            "1 when the last insert or check in ClickHouse worked.",
            &one(u64::from(c.up)),
        );
        metric(
            "floed_clickhouse_shipped_flows_total",
            "counter",
            "Flows inserted into ClickHouse (by this store's shipper, since its state began).",
            &one(c.shipped_flows),
        );
        metric(
            "floed_clickhouse_batches_total",
            "counter",
            "Inserts into ClickHouse that succeeded.",
            &one(c.shipped_batches),
        );
        metric(
            "floed_clickhouse_errors_total",
            "counter",
            "Inserts or checks that failed since start (retried).",
            &one(c.errors),
        );
        metric(
            "floed_clickhouse_backlog_flows",
            "gauge",
            "Flows written to the store and not yet in ClickHouse.",
            &one(c.backlog_flows),
        );
        metric(
            "floed_clickhouse_backlog_files",
            "gauge",
            "Files of the store not wholly shipped to ClickHouse.",
            &one(c.backlog_files),
        );
        metric(
            "floed_clickhouse_lost_flows_total",
            "counter",
            "Flows removed from the store (disk limit) before they were shipped.",
            &one(c.lost_flows),
        );
        metric(
            "floed_clickhouse_checks_total",
            "counter",
            "Inserts whose outcome was unknown, checked in ClickHouse since start.",
            &one(c.checks),
        );
        metric(
            "floed_clickhouse_repairs_total",
            "counter",
            "Checked inserts found in part and deleted before sending again, since start.",
            &one(c.repairs),
        );
        metric(
            "floed_clickhouse_last_success_seconds",
            "gauge",
            "When an insert last succeeded, seconds since 1970 (0: not since start).",
            &one(c.last_success_ms.map_or(0, |m| (m / 1000) as u64)),
        );
    }

    // Per exporter: the busiest one by one, the rest as "other".
    let exporters = src
        .shared
        .exporters
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    let mut list: Vec<(String, ExporterCounters, usize)> = Vec::new();
    let mut sorted: Vec<&(floe_flow::ExporterKey, ExporterCounters, usize)> =
        exporters.iter().collect();
    sorted.sort_by_key(|(k, c, _)| (std::cmp::Reverse(c.datagrams), *k));
    let mut other = (ExporterCounters::default(), 0usize, false);
    for (i, (k, c, t)) in sorted.into_iter().enumerate() {
        if i < MAX_EXPORTERS {
            list.push((
                format!(
                    "exporter=\"{}\",source_id=\"{}\"",
                    label(&k.address.to_string()),
                    k.source_id
                ),
                c.clone(),
                *t,
            ));
        } else {
            other.0.add(c);
            other.1 += t;
            other.2 = true;
        }
    }
    if other.2 {
        list.push(("exporter=\"other\",source_id=\"\"".into(), other.0, other.1));
    }
    let per = |f: &dyn Fn(&ExporterCounters) -> u64| -> Vec<(String, u64)> {
        list.iter().map(|(l, c, _)| (l.clone(), f(c))).collect()
    };
    metric(
        "floed_exporter_datagrams_total",
        "counter",
        "Datagrams received per exporter stream.",
        &per(&|c| c.datagrams),
    );
    metric(
        "floed_exporter_flows_total",
        "counter",
        "Flows decoded per exporter stream.",
        &per(&|c| c.flows),
    );
    metric(
        "floed_exporter_lost_flows_total",
        "counter",
        "Flows the exporter sent that never arrived (from sequence numbers).",
        &per(&|c| c.lost_flows),
    );
    metric(
        "floed_exporter_sequence_resets_total",
        "counter",
        "Times the exporter's sequence numbering restarted.",
        &per(&|c| c.sequence_resets),
    );
    metric(
        "floed_exporter_bad_datagrams_total",
        "counter",
        "Datagrams nothing could be decoded from.",
        &per(&|c| c.bad_datagrams),
    );
    metric(
        "floed_exporter_reordered_datagrams_total",
        "counter",
        "Datagrams that arrived late or twice.",
        &per(&|c| c.reordered_datagrams),
    );
    for counter in Counter::ALL {
        metric(
            &format!("floed_exporter_{}_total", counter.name()),
            "counter",
            counter.meaning(),
            &per(&|c| c.extra[*counter]),
        );
    }
    let templates: Vec<(String, u64)> = list
        .iter()
        .map(|(l, _, t)| (l.clone(), *t as u64))
        .collect();
    metric(
        "floed_exporter_templates",
        "gauge",
        "Templates known per exporter stream.",
        &templates,
    );
    o
}
