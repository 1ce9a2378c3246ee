//! The decode and write threads, and the rate-limited logging of decoder
//! events.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floe_flow::{Counter, ExporterCounters, ExporterKey, Flow};
use floe_netflow::{DecodeEvent, Decoder, FileTemplateStore};
use floe_store::{ClosedFile, ExpirePolicy, StoreWriter};

use crate::pool::{Pool, Reuse};
use crate::receive::{now_ms, Batch};

/// What the decoder hands the writer.
pub enum WriterMsg {
    Flows {
        received_ms: i64,
        flows: Vec<Flow>,
        counters: Vec<(ExporterKey, ExporterCounters)>,
    },
    /// Close the current file now (SIGHUP).
    Rotate,
}

/// Settings that a reload may change while running.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub on_rotate: Option<String>,
    pub expire: ExpirePolicy,
}

/// State the threads share with the main thread (for SIGUSR1 and the stats
/// file).
#[derive(Default)]
pub struct Shared {
    /// Per-exporter counters since start.
    pub exporters: Mutex<HashMap<ExporterKey, ExporterCounters>>,
    /// Templates known per exporter stream.
    pub templates: Mutex<Vec<(ExporterKey, usize)>>,
    /// Datagrams dropped at the receive queue, by source address.
    pub queue_drops: Mutex<HashMap<IpAddr, u64>>,
    /// Networks exporters may send from (reloaded by SIGHUP).
    pub allow: std::sync::RwLock<crate::allow::AllowList>,
    /// Datagrams dropped because their source is not allowed, by source.
    pub denied: Mutex<HashMap<IpAddr, u64>>,
    pub live: Mutex<Live>,
    /// Set when writing fails, cleared when it works again.
    pub write_failing: AtomicBool,
    /// Batches handed back by the decoder for the receivers to reuse.
    pub batches: Pool<Batch>,
    /// Flow vectors handed back by the writer for the decoder to reuse.
    pub flow_vecs: Pool<FlowVec>,
}

/// A batch's flows, handed from the decoder to the writer and back.
pub struct FlowVec(pub Vec<Flow>);

impl FlowVec {
    /// Capacity a spare keeps (a full batch of 256 datagrams of 30 flows).
    const CAPACITY: usize = 256 * 30;
}

impl Reuse for FlowVec {
    fn fresh() -> Self {
        FlowVec(Vec::with_capacity(Self::CAPACITY))
    }

    fn reset(&mut self) {
        self.0.clear();
        self.0.shrink_to(Self::CAPACITY);
    }
}

/// Logs an event kind at once the first time, then at most once a minute
/// with how many happened in between: never one line per datagram.
pub struct RateLimited {
    every: Duration,
    last: HashMap<&'static str, Instant>,
    pending: HashMap<&'static str, (u64, String)>,
}

impl RateLimited {
    pub fn new(every: Duration) -> Self {
        RateLimited {
            every,
            last: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    pub fn note(&mut self, kind: &'static str, example: String) {
        let p = self.pending.entry(kind).or_insert((0, String::new()));
        p.0 += 1;
        p.1 = example;
        if self
            .last
            .get(kind)
            .is_none_or(|t| t.elapsed() >= self.every)
        {
            self.flush_kind(kind);
        }
    }

    /// Logs every kind whose interval has passed.
    pub fn flush(&mut self, force: bool) {
        let kinds: Vec<&'static str> = self.pending.keys().copied().collect();
        for k in kinds {
            if force || self.last.get(k).is_none_or(|t| t.elapsed() >= self.every) {
                self.flush_kind(k);
            }
        }
    }

    fn flush_kind(&mut self, kind: &'static str) {
        if let Some((n, example)) = self.pending.remove(kind) {
            if n > 0 {
                tracing::warn!(
                    kind,
                    count = n,
                    "{example}{}",
                    if n > 1 {
                        format!(" ({n} such events since the last report)")
                    } else {
                        String::new()
                    }
                );
            }
            self.last.insert(kind, Instant::now());
        }
    }
}

/// A budget of informational lines (new exporters and templates) per
/// minute: a flood of made-up source ids or template ids (a broken or
/// hostile exporter) must not turn into a flood of log lines. Beyond the
/// budget they are summed up through the rate limiter.
pub struct InfoBudget {
    per_minute: u32,
    used: u32,
    since: Instant,
}

impl InfoBudget {
    pub fn new(per_minute: u32) -> Self {
        InfoBudget {
            per_minute,
            used: 0,
            since: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        if self.since.elapsed() >= Duration::from_secs(60) {
            self.since = Instant::now();
            self.used = 0;
        }
        self.used += 1;
        self.used <= self.per_minute
    }
}

/// Logs one decoder event: informational ones (new exporters, templates)
/// once each within the budget, problems through the rate limiter.
fn log_event(
    e: &DecodeEvent,
    limiter: &mut RateLimited,
    budget: &mut InfoBudget,
    sampling_seen: &mut HashMap<(ExporterKey, Option<u64>), u32>,
) {
    let informational = matches!(
        e,
        DecodeEvent::NewExporter { .. }
            | DecodeEvent::TemplateLearned { .. }
            | DecodeEvent::TemplateRedefined { .. }
            | DecodeEvent::TemplateWithdrawn { .. }
    );
    if informational && !budget.allow() {
        limiter.note(
            "informational_flood",
            format!(
                "more than {} new exporters and templates this minute, not logged one by one (a flood of source or template ids?); latest: {}",
                budget.per_minute,
                e.name()
            ),
        );
        return;
    }
    match e {
        DecodeEvent::NewExporter { key, version } => {
            tracing::info!(exporter = %key.address, source_id = key.source_id, version, "new exporter")
        }
        DecodeEvent::TemplateLearned {
            key,
            template_id,
            fields,
            options,
        } => tracing::info!(
            exporter = %key.address, source_id = key.source_id, template_id, fields, options, "new template"
        ),
        DecodeEvent::TemplateRedefined {
            key,
            template_id,
            fields,
        } => tracing::info!(
            exporter = %key.address, source_id = key.source_id, template_id, fields, "template redefined"
        ),
        DecodeEvent::TemplateWithdrawn { key, template_id } => {
            tracing::info!(exporter = %key.address, source_id = key.source_id, template_id, "template withdrawn")
        }
        DecodeEvent::Sampling {
            key,
            sampler_id,
            interval,
        } => {
            if sampling_seen.insert((*key, *sampler_id), *interval) != Some(*interval) {
                tracing::info!(exporter = %key.address, source_id = key.source_id, sampler_id, interval, "sampling interval announced");
            }
        }
        DecodeEvent::SequenceGap {
            key,
            lost,
            unit_is_datagram,
        } => limiter.note(
            e.name(),
            format!(
                "sequence gap from {} source id {}: {lost} {} lost",
                key.address,
                key.source_id,
                if *unit_is_datagram {
                    "datagrams"
                } else {
                    "flows"
                }
            ),
        ),
        DecodeEvent::SequenceReset { key, expected, got } => limiter.note(
            e.name(),
            format!(
                "sequence reset by {} source id {}: expected {expected}, got {got}",
                key.address, key.source_id
            ),
        ),
        DecodeEvent::BadDatagram { from, reason } => {
            limiter.note(e.name(), format!("bad datagram from {from}: {reason}"))
        }
        DecodeEvent::MalformedTail { key, reason } => limiter.note(
            e.name(),
            format!(
                "undecodable bytes after the messages of a datagram from {}: {reason}",
                key.address
            ),
        ),
        DecodeEvent::UndecodedSet { key, set_id, bytes } => limiter.note(
            e.name(),
            format!(
                "{} source id {}: set {set_id} of {bytes} bytes could not be decoded into records",
                key.address, key.source_id
            ),
        ),
        DecodeEvent::EarlyDataDropped { key, sets } => limiter.note(
            e.name(),
            format!(
                "{} source id {}: {sets} data sets expired waiting for their template",
                key.address, key.source_id
            ),
        ),
        DecodeEvent::ExporterLimit { from } => limiter.note(
            e.name(),
            format!("datagram from {from} dropped: exporter limit reached"),
        ),
        DecodeEvent::ExporterForgotten { key, templates } => limiter.note(
            e.name(),
            format!(
                "forgot {} source id {} (heard from least recently; {templates} templates) to stay within the exporter and template limits",
                key.address, key.source_id
            ),
        ),
    }
}

/// Exporter streams whose since-start counters are kept one by one; the
/// counters of any further ones (a flood of made-up source ids) are summed
/// under [`OTHER_EXPORTERS`], so this map cannot grow without bound.
pub const SINCE_START_EXPORTERS: usize = 4096;

/// The key the counters of streams beyond [`SINCE_START_EXPORTERS`] are
/// summed under.
pub const OTHER_EXPORTERS: ExporterKey = ExporterKey {
    address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    source_id: u32::MAX,
};

fn merge_since_start(
    into: &mut HashMap<ExporterKey, ExporterCounters>,
    key: ExporterKey,
    c: &ExporterCounters,
) {
    let key = if into.contains_key(&key) || into.len() < SINCE_START_EXPORTERS {
        key
    } else {
        OTHER_EXPORTERS
    };
    merge(into, key, c);
}

fn merge(
    into: &mut HashMap<ExporterKey, ExporterCounters>,
    key: ExporterKey,
    c: &ExporterCounters,
) {
    into.entry(key).or_default().add(c);
}

/// The decode thread: batches in, flows and counters out to the writer.
/// Flows whose times cannot be right: ending more than a day after they
/// were received, more than 30 days before, or starting after they end.
/// They are stored as the exporter sent them (the times may still mean
/// something to someone) and counted per exporter as `absurd_times`.
fn absurd_times(flows: &[Flow], received_ms: i64) -> u64 {
    const FUTURE_MS: i64 = 86_400_000;
    const PAST_MS: i64 = 30 * 86_400_000;
    flows
        .iter()
        .filter(|f| {
            f.end_ms > received_ms.saturating_add(FUTURE_MS)
                || f.end_ms < received_ms.saturating_sub(PAST_MS)
                || f.start_ms > f.end_ms
        })
        .count() as u64
}

pub fn run_decoder(
    rx: Receiver<Batch>,
    tx: SyncSender<WriterMsg>,
    mut decoder: Decoder,
    templates: Arc<FileTemplateStore>,
    shared: Arc<Shared>,
    stats: crate::stats::StatsFile,
) {
    let mut last_stats = Instant::now();
    let mut limiter = RateLimited::new(Duration::from_secs(60));
    let mut budget = InfoBudget::new(200);
    let mut sampling_seen = HashMap::new();
    let mut last_poll = Instant::now();
    let mut last_save = Instant::now();
    let mut since_poll: HashMap<ExporterKey, ExporterCounters> = HashMap::new();
    loop {
        let batch = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(b) => Some(b),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(b) = batch {
            let FlowVec(mut flows) = shared.flow_vecs.take();
            let mut counters: HashMap<ExporterKey, ExporterCounters> = HashMap::new();
            for (from, at, len) in &b.items {
                let data = &b.data[*at as usize..(*at + *len) as usize];
                let first = flows.len();
                let o = decoder.decode(*from, data, b.received_ms, &mut flows);
                if let Some(k) = o.key {
                    merge(&mut counters, k, &o.counters);
                    let odd = absurd_times(&flows[first..], b.received_ms);
                    if odd > 0 {
                        let mut c = ExporterCounters::default();
                        c.extra[Counter::AbsurdTimes] = odd;
                        merge(&mut counters, k, &c);
                        limiter.note(
                            "absurd_times",
                            format!(
                                "{odd} flows from {} with times far from the receive time (exporter clock?); stored as sent",
                                k.address
                            ),
                        );
                    }
                }
            }
            let received_ms = b.received_ms;
            shared.batches.give(b);
            for e in decoder.drain_events() {
                log_event(&e, &mut limiter, &mut budget, &mut sampling_seen);
            }
            let counters: Vec<(ExporterKey, ExporterCounters)> = counters.into_iter().collect();
            for (k, c) in &counters {
                merge(&mut since_poll, *k, c);
            }
            if tx
                .send(WriterMsg::Flows {
                    received_ms,
                    flows,
                    counters,
                })
                .is_err()
            {
                break;
            }
        }
        if last_poll.elapsed() >= Duration::from_secs(1) {
            last_poll = Instant::now();
            let mut extra = decoder.poll_pending();
            let drops: Vec<(IpAddr, u64)> = shared
                .queue_drops
                .lock()
                .map(|mut m| m.drain().collect())
                .unwrap_or_default();
            for (addr, n) in drops {
                let mut c = ExporterCounters::default();
                c.extra[Counter::QueueDrops] = n;
                extra.push((
                    ExporterKey {
                        address: addr,
                        source_id: 0,
                    },
                    c,
                ));
                limiter.note(
                    "queue_full",
                    format!("receive queue full: {n} datagrams from {addr} dropped"),
                );
            }
            let denied: Vec<(IpAddr, u64)> = shared
                .denied
                .lock()
                .map(|mut m| m.drain().collect())
                .unwrap_or_default();
            for (addr, n) in denied {
                let mut c = ExporterCounters::default();
                c.extra[Counter::DeniedDatagrams] = n;
                extra.push((
                    ExporterKey {
                        address: addr,
                        source_id: 0,
                    },
                    c,
                ));
                limiter.note(
                    "denied",
                    format!("{n} datagrams from {addr}, which is not in the allow list, dropped"),
                );
            }
            for e in decoder.drain_events() {
                log_event(&e, &mut limiter, &mut budget, &mut sampling_seen);
            }
            for (k, c) in &extra {
                merge(&mut since_poll, *k, c);
            }
            if !extra.is_empty() {
                let _ = tx.send(WriterMsg::Flows {
                    received_ms: now_ms(),
                    flows: Vec::new(),
                    counters: extra,
                });
            }
            if let Ok(mut all) = shared.exporters.lock() {
                for (k, c) in since_poll.drain() {
                    merge_since_start(&mut all, k, &c);
                }
            }
            if let Ok(mut t) = shared.templates.lock() {
                *t = decoder.templates_known();
            }
            limiter.flush(false);
        }
        if last_stats.elapsed() >= Duration::from_secs(2) {
            last_stats = Instant::now();
            let known = decoder.templates_known();
            let written = shared
                .exporters
                .lock()
                .map(|all| stats.write(now_ms(), &all, &known));
            if let Ok(Err(e)) = written {
                limiter.note("stats_file", format!("cannot write the stats file: {e}"));
            }
        }
        if last_save.elapsed() >= Duration::from_secs(5) {
            last_save = Instant::now();
            if let Err(e) = templates.save() {
                limiter.note(
                    "template_save",
                    format!(
                        "cannot save templates to {}: {e}",
                        templates.path().display()
                    ),
                );
            }
        }
    }
    if let Ok(mut all) = shared.exporters.lock() {
        for (k, c) in since_poll.drain() {
            merge_since_start(&mut all, k, &c);
        }
    }
    if let Err(e) = templates.save() {
        tracing::warn!(error = %e, path = %templates.path().display(), "cannot save templates");
    }
    stats.remove();
    limiter.flush(true);
}

/// The write thread: owns the store writer; rotation, fsync, the
/// on-rotate command and expiry happen here, never on the receive path.
pub fn run_writer(rx: Receiver<WriterMsg>, mut store: StoreWriter, shared: Arc<Shared>) {
    let mut limiter = RateLimited::new(Duration::from_secs(60));
    let mut children: Vec<Child> = Vec::new();
    let mut expiring: Option<std::thread::JoinHandle<()>> = None;
    let root = store.config().dir.clone();
    loop {
        let msg = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let now = now_ms();
        let mut closed = Vec::new();
        let mut failed = None;
        match msg {
            Some(WriterMsg::Flows {
                received_ms,
                mut flows,
                counters,
            }) => {
                match store.write_owned(received_ms, &mut flows) {
                    Ok(c) => closed.extend(c),
                    Err(e) => failed = Some(e.to_string()),
                }
                shared.flow_vecs.give(FlowVec(flows));
                for (k, c) in counters {
                    match store.add_counters(received_ms, k, &c) {
                        Ok(c) => closed.extend(c),
                        Err(e) => failed = Some(e.to_string()),
                    }
                }
            }
            Some(WriterMsg::Rotate) => match store.rotate(now) {
                Ok(c) => closed.extend(c),
                Err(e) => failed = Some(e.to_string()),
            },
            None => {}
        }
        match store.tick(now) {
            Ok(c) => closed.extend(c),
            Err(e) => failed = Some(e.to_string()),
        }
        let unwritten = store.unwritten();
        match failed {
            Some(e) => {
                shared.write_failing.store(true, Ordering::Relaxed);
                limiter.note(
                    "write_failed",
                    format!("cannot write flows: {e} ({unwritten} flows not stored so far)"),
                );
            }
            None if !store.failing() && shared.write_failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(unwritten, "writing works again");
            }
            None => {}
        }
        for c in closed {
            after_rotation(&c, &shared, &mut children, &mut expiring, &root);
        }
        children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        limiter.flush(false);
    }
    match store.close(now_ms()) {
        Ok(Some(c)) => log_rotation(&c),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "closing the last file failed"),
    }
    for mut c in children {
        let _ = c.wait();
    }
    if let Some(h) = expiring {
        let _ = h.join();
    }
    limiter.flush(true);
}

fn log_rotation(c: &ClosedFile) {
    let (lost, bad, datagrams) = c.exporters.iter().fold((0, 0, 0), |a, (_, x)| {
        (a.0 + x.lost_flows, a.1 + x.bad_datagrams, a.2 + x.datagrams)
    });
    tracing::info!(
        file = %c.path.display(),
        flows = c.totals.flows,
        datagrams,
        lost_flows = lost,
        bad_datagrams = bad,
        bytes = c.bytes,
        "rotated"
    );
}

fn after_rotation(
    c: &ClosedFile,
    shared: &Shared,
    children: &mut Vec<Child>,
    expiring: &mut Option<std::thread::JoinHandle<()>>,
    root: &std::path::Path,
) {
    log_rotation(c);
    let live = shared.live.lock().map(|l| l.clone()).unwrap_or_default();
    if let Some(cmd) = &live.on_rotate {
        // Like flow-capture -R: the program gets the closed file's path. It
        // runs through sh so that the setting may carry arguments; we never
        // wait for it here.
        match Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{cmd} \"$1\""))
            .arg("floed-on-rotate")
            .arg(&c.path)
            .spawn()
        {
            Ok(child) => children.push(child),
            Err(e) => tracing::warn!(command = %cmd, error = %e, "on-rotate command did not start"),
        }
    }
    let policy = live.expire;
    if policy.max_bytes.is_some() || policy.max_age_secs.is_some() {
        if expiring.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let root: PathBuf = root.to_path_buf();
        *expiring = Some(std::thread::spawn(move || {
            match floe_store::expire(&root, &policy, now_ms()) {
                Ok(x) if !x.removed.is_empty() => tracing::info!(
                    files = x.removed.len(),
                    bytes = x.bytes,
                    remaining_bytes = x.remaining_bytes,
                    "expired old files"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expiry failed"),
            }
        }));
    }
}
