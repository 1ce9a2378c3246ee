//! floed's typed events, and the one place that logs and counts them.
//!
//! Every notable thing (the decoder's events, a full receive queue, a
//! denied source, absurd flow times, a failed write...) is an [`Event`];
//! [`Emitter::emit`] bumps the exporter counter that goes with it, keeps
//! it among the exporter's recent reasons (the stats file shows them), and
//! logs it: news once each within a budget per minute, problems at most
//! once a minute per exporter and kind of reason with how many happened in
//! between. A message is
//! formatted only when a line is written, never for an event the rate
//! limiter holds back.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use floe_flow::{Counter, ExporterCounters, ExporterKey};
use floe_netflow::DecodeEvent;

/// Per-exporter counters being gathered (a batch's, say).
pub type Counts = HashMap<ExporterKey, ExporterCounters>;

/// Something floed noticed.
#[derive(Clone, Debug)]
pub enum Event {
    /// From the decoder (which counted it already).
    Decode(DecodeEvent),
    /// The receive queue was full: datagrams from `from` dropped.
    QueueFull { from: IpAddr, datagrams: u64 },
    /// Datagrams from a source outside the allow list dropped.
    Denied { from: IpAddr, datagrams: u64 },
    /// Flows whose times cannot be right, stored as sent.
    AbsurdTimes { key: ExporterKey, flows: u64 },
    /// Flows could not be written.
    WriteFailed { error: String, unwritten: u64 },
    /// The template file could not be saved.
    TemplateSaveFailed { path: PathBuf, error: String },
    /// The live stats file could not be written.
    StatsFileFailed { error: String },
    /// More news than the budget allows this minute.
    NewsFlood {
        per_minute: u32,
        latest: &'static str,
    },
}

impl Event {
    /// A short stable name, for rate limiting and reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Decode(e) => e.name(),
            Event::QueueFull { .. } => "queue_full",
            Event::Denied { .. } => "denied",
            Event::AbsurdTimes { .. } => "absurd_times",
            Event::WriteFailed { .. } => "write_failed",
            Event::TemplateSaveFailed { .. } => "template_save_failed",
            Event::StatsFileFailed { .. } => "stats_file_failed",
            Event::NewsFlood { .. } => "news_flood",
        }
    }

    /// The exporter counter the event bumps here (the decoder's events are
    /// counted where the decoder emits them).
    fn counter(&self) -> Option<(ExporterKey, Counter, u64)> {
        let by_source = |from: &IpAddr| ExporterKey {
            address: *from,
            source_id: 0,
        };
        match self {
            Event::QueueFull { from, datagrams } => {
                Some((by_source(from), Counter::QueueDrops, *datagrams))
            }
            Event::Denied { from, datagrams } => {
                Some((by_source(from), Counter::DeniedDatagrams, *datagrams))
            }
            Event::AbsurdTimes { key, flows } => Some((*key, Counter::AbsurdTimes, *flows)),
            _ => None,
        }
    }

    /// The kind of reason it is (finer than [`Event::kind`] for the
    /// decoder's problems: which problem).
    fn reason_kind(&self) -> &'static str {
        match self {
            Event::Decode(d) => d.reason_kind().unwrap_or(self.kind()),
            _ => self.kind(),
        }
    }

    /// The exporter whose recent reasons the event joins, if it is a
    /// problem of one exporter.
    fn reason_of(&self) -> Option<ExporterKey> {
        match self {
            Event::Decode(e) => e.reason_kind().map(|_| e.key()),
            Event::QueueFull { from, .. } | Event::Denied { from, .. } => Some(ExporterKey {
                address: *from,
                source_id: 0,
            }),
            Event::AbsurdTimes { key, .. } => Some(*key),
            _ => None,
        }
    }

    fn is_news(&self) -> bool {
        matches!(self, Event::Decode(e) if e.is_informational())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Decode(e) => e.fmt(f),
            Event::QueueFull { from, datagrams } => {
                write!(f, "receive queue full: {datagrams} datagrams from {from} dropped")
            }
            Event::Denied { from, datagrams } => write!(
                f,
                "{datagrams} datagrams from {from}, which is not in the allow list, dropped"
            ),
            Event::AbsurdTimes { key, flows } => write!(
                f,
                "{flows} flows from {} with times far from the receive time (exporter clock?); stored as sent",
                key.address
            ),
            Event::WriteFailed { error, unwritten } => write!(
                f,
                "cannot write flows: {error} ({unwritten} flows not stored so far)"
            ),
            Event::TemplateSaveFailed { path, error } => {
                write!(f, "cannot save templates to {}: {error}", path.display())
            }
            Event::StatsFileFailed { error } => write!(f, "cannot write the stats file: {error}"),
            Event::NewsFlood { per_minute, latest } => write!(
                f,
                "more than {per_minute} new exporters and templates this minute, not logged one by one (a flood of source or template ids?); latest: {latest}"
            ),
        }
    }
}

/// What the rate limiter counts apart: an exporter's address (none for
/// problems of no one exporter, and beyond [`RATE_LIMITED_KEYS`]) and a
/// kind of reason.
type LimitKey = (Option<IpAddr>, &'static str);

/// Exporters and kinds logged apart within a minute; beyond, a flood of
/// made-up sources shares one line per kind, so it stays a few lines.
const RATE_LIMITED_KEYS: usize = 64;

/// Logs an exporter's kind of problem at once the first time, then at
/// most once per interval with how many happened in between: never one
/// line per datagram, and one router's problems never hidden behind
/// another's. Holds the latest event of each, unformatted.
struct RateLimited {
    every: Duration,
    last: HashMap<LimitKey, Instant>,
    pending: HashMap<LimitKey, (u64, Event)>,
}

impl RateLimited {
    fn new(every: Duration) -> Self {
        RateLimited {
            every,
            last: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// The key an event is limited under.
    fn key(&mut self, e: &Event) -> LimitKey {
        let kind = e.reason_kind();
        let Some(who) = e.reason_of() else {
            return (None, kind);
        };
        let key = (Some(who.address), kind);
        if self.last.contains_key(&key) || self.pending.contains_key(&key) {
            return key;
        }
        if self.last.len() >= RATE_LIMITED_KEYS {
            // Forget what was logged long enough ago to be logged again
            // at once anyway.
            let every = self.every;
            let pending = &self.pending;
            self.last
                .retain(|k, t| t.elapsed() < every || pending.contains_key(k));
        }
        if self.last.len() >= RATE_LIMITED_KEYS || self.pending.len() >= RATE_LIMITED_KEYS {
            return (None, kind);
        }
        key
    }

    fn note(&mut self, e: Event) {
        let key = self.key(&e);
        match self.pending.get_mut(&key) {
            Some(p) => {
                p.0 += 1;
                p.1 = e;
            }
            None => {
                self.pending.insert(key, (1, e));
            }
        }
        if self
            .last
            .get(&key)
            .is_none_or(|t| t.elapsed() >= self.every)
        {
            self.flush_key(key);
        }
    }

    /// Logs everything whose interval has passed (all, when `force`).
    fn flush(&mut self, force: bool) {
        let keys: Vec<LimitKey> = self.pending.keys().copied().collect();
        for k in keys {
            if force || self.last.get(&k).is_none_or(|t| t.elapsed() >= self.every) {
                self.flush_key(k);
            }
        }
    }

    fn flush_key(&mut self, key: LimitKey) {
        if let Some((n, e)) = self.pending.remove(&key) {
            let kind = e.kind();
            if n > 1 {
                tracing::warn!(
                    kind,
                    count = n,
                    "{e} ({n} such events since the last report)"
                );
            } else {
                tracing::warn!(kind, count = n, "{e}");
            }
            self.last.insert(key, Instant::now());
        }
    }
}

/// A budget of news lines (new exporters and templates) per minute: a
/// flood of made-up source ids or template ids (a broken or hostile
/// exporter) must not turn into a flood of log lines. Beyond the budget
/// they are summed up through the rate limiter.
struct NewsBudget {
    per_minute: u32,
    used: u32,
    since: Instant,
}

impl NewsBudget {
    fn allow(&mut self) -> bool {
        if self.since.elapsed() >= Duration::from_secs(60) {
            self.since = Instant::now();
            self.used = 0;
        }
        self.used += 1;
        self.used <= self.per_minute
    }
}

/// The last reasons of one kind an exporter gave.
#[derive(Clone, Debug)]
pub struct Reason {
    pub kind: &'static str,
    pub count: u64,
    pub last_ms: i64,
    /// The latest event of the kind, formatted when shown.
    pub latest: Event,
}

/// Kinds of reason kept per exporter (the oldest goes first).
const REASONS_PER_EXPORTER: usize = 8;
/// Exporters with reasons kept; more are not tracked (a flood of made-up
/// sources must not grow this).
const REASON_EXPORTERS: usize = 4096;

/// Sampling announcements remembered (to log one only when it changes);
/// beyond this, made-up sampler ids, the memory starts afresh.
const SAMPLING_SEEN: usize = 4096;

/// Logs and counts events (see the module docs).
pub struct Emitter {
    limiter: RateLimited,
    budget: NewsBudget,
    sampling_seen: HashMap<(ExporterKey, Option<u64>), u32>,
    /// Recent reasons per exporter, for the stats file.
    pub reasons: HashMap<ExporterKey, Vec<Reason>>,
}

impl Emitter {
    pub fn new() -> Self {
        Emitter {
            limiter: RateLimited::new(Duration::from_secs(60)),
            budget: NewsBudget {
                per_minute: 200,
                used: 0,
                since: Instant::now(),
            },
            sampling_seen: HashMap::new(),
            reasons: HashMap::new(),
        }
    }

    /// Counts the event into `counts`, keeps it as a reason, and logs it.
    pub fn emit(&mut self, counts: &mut Counts, now_ms: i64, e: Event) {
        if let Some((key, c, n)) = e.counter() {
            counts.entry(key).or_default().extra[c] += n;
        }
        if let Some(key) = e.reason_of() {
            self.keep_reason(key, now_ms, &e);
        }
        if e.is_news() {
            if let Event::Decode(DecodeEvent::Sampling {
                key,
                sampler_id,
                interval,
            }) = &e
            {
                // Announced again and again: news (and logged) only when
                // it changes, so repeats do not use up the news budget.
                let seen = (*key, *sampler_id);
                if self.sampling_seen.get(&seen) == Some(interval) {
                    return;
                }
                if self.sampling_seen.len() >= SAMPLING_SEEN {
                    self.sampling_seen.clear();
                }
                self.sampling_seen.insert(seen, *interval);
            }
            if !self.budget.allow() {
                let latest = e.kind();
                self.limiter.note(Event::NewsFlood {
                    per_minute: self.budget.per_minute,
                    latest,
                });
                return;
            }
            let key = match &e {
                Event::Decode(d) => d.key(),
                _ => return,
            };
            tracing::info!(exporter = %key.address, source_id = key.source_id, kind = e.kind(), "{e}");
            return;
        }
        self.limiter.note(e);
    }

    fn keep_reason(&mut self, key: ExporterKey, now_ms: i64, e: &Event) {
        if !self.reasons.contains_key(&key) && self.reasons.len() >= REASON_EXPORTERS {
            return;
        }
        let kind = e.reason_kind();
        let list = self.reasons.entry(key).or_default();
        match list.iter_mut().find(|r| r.kind == kind) {
            Some(r) => {
                r.count += 1;
                r.last_ms = now_ms;
                r.latest = e.clone();
            }
            None => {
                if list.len() >= REASONS_PER_EXPORTER {
                    if let Some(oldest) = list
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, r)| r.last_ms)
                        .map(|(i, _)| i)
                    {
                        list.remove(oldest);
                    }
                }
                list.push(Reason {
                    kind,
                    count: 1,
                    last_ms: now_ms,
                    latest: e.clone(),
                });
            }
        }
    }

    /// Logs what the rate limiter holds whose interval has passed (all of
    /// it, when `force`, at shutdown).
    pub fn flush(&mut self, force: bool) {
        self.limiter.flush(force);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emit_counts_keeps_the_reason_and_logs_once() {
        let mut em = Emitter::new();
        let mut counts = Counts::new();
        let from: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            em.emit(
                &mut counts,
                5,
                Event::QueueFull {
                    from,
                    datagrams: 10,
                },
            );
        }
        let key = ExporterKey {
            address: from,
            source_id: 0,
        };
        assert_eq!(counts[&key].extra[Counter::QueueDrops], 30);
        let r = &em.reasons[&key];
        assert_eq!((r.len(), r[0].kind, r[0].count), (1, "queue_full", 3));
        // The first was logged, the next two wait for the minute.
        assert_eq!(em.limiter.pending[&(Some(from), "queue_full")].0, 2);
    }

    #[test]
    fn each_exporter_s_problems_are_logged_not_only_the_first_one_s() {
        let mut em = Emitter::new();
        let mut counts = Counts::new();
        let bad = |a: &str| {
            Event::Decode(DecodeEvent::BadDatagram {
                from: a.parse().unwrap(),
                problem: floe_netflow::Problem::ShortDatagram { len: 1 },
            })
        };
        // Two routers with the same problem: each is logged at once, then
        // at most once a minute each.
        em.emit(&mut counts, 5, bad("192.0.2.1"));
        em.emit(&mut counts, 5, bad("192.0.2.2"));
        assert!(em.limiter.pending.is_empty(), "both logged at once");
        em.emit(&mut counts, 5, bad("192.0.2.1"));
        em.emit(&mut counts, 5, bad("192.0.2.2"));
        em.emit(&mut counts, 5, bad("192.0.2.2"));
        assert_eq!(em.limiter.pending.len(), 2);
        // A flood of sources shares one line per kind beyond a bound.
        for i in 0..20_000u32 {
            let a = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            em.emit(&mut counts, 5, bad(&a));
        }
        assert!(em.limiter.last.len() <= RATE_LIMITED_KEYS + 1);
        assert!(em.limiter.pending.len() <= RATE_LIMITED_KEYS + 1);
        // 62 more logged apart, one at once for the rest, then their count.
        assert_eq!(em.limiter.pending[&(None, "short_datagram")].0, 20_000 - 63);
    }

    #[test]
    fn sampling_announced_again_is_not_news() {
        let mut em = Emitter::new();
        let mut counts = Counts::new();
        let key = |source_id| ExporterKey {
            address: "192.0.2.7".parse().unwrap(),
            source_id,
        };
        // Routers announce their sampling with every options refresh,
        // some with every datagram: the same announcement again and again
        // must not use up the news budget.
        for _ in 0..1000 {
            em.emit(
                &mut counts,
                5,
                Event::Decode(DecodeEvent::Sampling {
                    key: key(1),
                    sampler_id: Some(3),
                    interval: 100,
                }),
            );
        }
        assert!(!em.limiter.pending.contains_key(&(None, "news_flood")));
        assert_eq!(em.budget.used, 1);
        // Made-up sampler ids: what is remembered of them stays bounded.
        for id in 0..100_000 {
            em.emit(
                &mut counts,
                5,
                Event::Decode(DecodeEvent::Sampling {
                    key: key(id as u32),
                    sampler_id: Some(id),
                    interval: 100,
                }),
            );
        }
        assert!(em.sampling_seen.len() <= SAMPLING_SEEN);
    }
}
