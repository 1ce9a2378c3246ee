//! The live view: the window of every flow, the windows of the filters
//! clients asked for, and the named usage counts; and the answers to
//! requests.

use std::net::IpAddr;
use std::sync::Arc;

use floe_filter::Filter;
use floe_flow::{Flow, FlowBatch};

use crate::aggregate::{
    Batch, Counts, PortSet, Talkers, Totals, Window, WindowConfig, FLAG_KINDS, SIZE_BRACKETS,
    SIZE_STEP,
};
use crate::protocol::{
    ExporterRow, FlagRow, Op, Point, PortRow, ProtocolRow, Rates, Request, Response, SizeRow,
    Snapshot, Talker, TalkerLists, MAX_N,
};
use crate::seen::{seen_cols, Seen};
use crate::sketch::{HeavyHitters, Weights};

/// Filters counted at once; the one asked for least recently goes first.
pub const MAX_FILTERS: usize = 8;
/// Usage clients kept.
pub const MAX_USAGE_CLIENTS: usize = 16;
/// A filter nobody asked for in this long stops being counted.
const FILTER_IDLE_MS: i64 = 10 * 60_000;
/// A usage client that has not asked in this long is forgotten: it would
/// otherwise be counted (and cost its share of every batch) for as long
/// as floed runs. A day and an hour keeps a daily cron job's client.
pub const USAGE_IDLE_MS: i64 = 25 * 3_600_000;
/// With [`TalkerCounting::WhileWatched`], the talkers stop being counted
/// when nobody asked for them in this long (as filters do).
pub const TALKERS_IDLE_MS: i64 = FILTER_IDLE_MS;

/// When the talkers of every flow are counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TalkerCounting {
    /// Always, from the first flow.
    #[default]
    Always,
    /// From the first snapshot of every flow asked for (a filtered one
    /// counts its own talkers), until nobody has asked for one in
    /// [`TALKERS_IDLE_MS`]; and while a usage client is kept (whose
    /// talkers take the same keys). The talkers are most of what the view costs
    /// per flow, and nothing reads them while nobody looks; an answer
    /// says since when they are counted (`talkers_since_ms`).
    WhileWatched,
}

/// Settings of the live view.
#[derive(Clone, Debug)]
pub struct ViewConfig {
    /// How many seconds are kept and how they are sliced.
    pub window: WindowConfig,
    /// Ports counted one by one besides those below 1024.
    pub ports: Vec<u16>,
    /// When the talkers of every flow are counted.
    pub talkers: TalkerCounting,
}

impl Default for ViewConfig {
    fn default() -> Self {
        ViewConfig {
            window: WindowConfig::default(),
            talkers: TalkerCounting::default(),
            ports: vec![
                1080, 1194, 1433, 1521, 1812, 3128, 3306, 3389, 5060, 5432, 6379, 8080, 8443, 9200,
            ],
        }
    }
}

struct Subscription {
    text: String,
    filter: Filter,
    window: Window,
    since_ms: i64,
    last_asked_ms: i64,
}

struct Usage {
    client: String,
    since_ms: i64,
    last_asked_ms: i64,
    totals: Totals,
    talkers: Arc<Talkers>,
}

/// Everything the live view keeps.
pub struct LiveView {
    cfg: ViewConfig,
    ports: PortSet,
    all: Window,
    filtered: Vec<Subscription>,
    usage: Vec<Usage>,
    /// Room to add up a batch, kept from batch to batch.
    batch: Batch,
    /// A filter's rows of a batch of columns, and its buffers, kept from
    /// batch to batch.
    mask: Vec<u8>,
    scratch: floe_filter::Scratch,
    /// When a snapshot of every flow was last asked for.
    watched_ms: Option<i64>,
    /// Since when the talkers of every flow have been counted without a
    /// pause; none while they are not (with
    /// [`TalkerCounting::WhileWatched`] only).
    talkers_since_ms: Option<i64>,
}

/// Compiles a filter from a client: floe's language, no `@include` (a
/// client must not make floed read files).
pub fn client_filter(text: &str) -> Result<Filter, String> {
    Filter::parse_with(text, &floe_filter::Options::default().without_includes())
        .map_err(|e| e.to_string())
}

impl LiveView {
    /// An empty view with these settings.
    pub fn new(cfg: ViewConfig) -> LiveView {
        LiveView {
            ports: PortSet::well_known_and(&cfg.ports),
            all: Window::new(cfg.window.clone()),
            filtered: Vec::new(),
            usage: Vec::new(),
            batch: Batch::new(),
            mask: Vec::new(),
            scratch: floe_filter::Scratch::default(),
            watched_ms: None,
            talkers_since_ms: None,
            cfg,
        }
    }

    /// Whether the talkers of every flow are counted at `now_ms` (a clock
    /// stepped back stops none).
    fn counting_talkers(&mut self, now_ms: i64) -> bool {
        let on = match self.cfg.talkers {
            TalkerCounting::Always => true,
            TalkerCounting::WhileWatched => {
                !self.usage.is_empty()
                    || self
                        .watched_ms
                        .is_some_and(|w| now_ms.saturating_sub(w) < TALKERS_IDLE_MS)
            }
        };
        match self.talkers_since_ms {
            _ if !on => self.talkers_since_ms = None,
            None => self.start_talkers(now_ms),
            // A batch received before the first look, counted after it
            // (it waited in the queue, or the clock stepped back): the
            // talkers are counted from its time.
            Some(since) if now_ms < since => self.talkers_since_ms = Some(now_ms),
            Some(_) => {}
        }
        on
    }

    /// Whether the talkers of every flow are counted now (for floed's
    /// metrics).
    pub fn talkers_counted(&self) -> bool {
        match self.cfg.talkers {
            TalkerCounting::Always => true,
            TalkerCounting::WhileWatched => self.talkers_since_ms.is_some(),
        }
    }

    /// Counts the talkers of every flow from `now_ms` on.
    fn start_talkers(&mut self, now_ms: i64) {
        if self.cfg.talkers == TalkerCounting::WhileWatched {
            // What the slices still hold is from before the pause.
            self.all.forget_talkers();
        }
        self.talkers_since_ms = Some(now_ms);
    }

    /// Seconds kept.
    pub fn window_secs(&self) -> u32 {
        self.cfg.window.seconds
    }

    /// Counts flows received at `received_ms`.
    pub fn record(&mut self, flows: &[Flow], received_ms: i64) {
        self.count(flows, received_ms);
        let b = &mut self.batch;
        for s in &mut self.filtered {
            let kept = flows.iter().filter(|f| s.filter.matches(f));
            s.window.record_with(kept, received_ms, &self.ports, b);
        }
    }

    /// Counts flows received at `received_ms`, as columns (floed's
    /// batches): what [`LiveView::record`] of their rows counts, read
    /// from the columns, and the filters evaluated on the columns.
    pub fn record_batch(&mut self, flows: &FlowBatch, received_ms: i64) {
        if !flows.is_well_formed() {
            // Columns that disagree (a bug of the caller's): counted as
            // flows the view could not look at, never indexed.
            return self.skipped(flows.len() as u64, received_ms);
        }
        if flows.require(seen_cols()).is_err() {
            // Not a batch of the decoder's: its rows (zeros where a
            // column is missing) are what it holds.
            return self.record(&flows.to_flows(), received_ms);
        }
        let n = flows.len();
        self.count_columns(flows, received_ms);
        let b = &mut self.batch;
        for s in &mut self.filtered {
            match s
                .filter
                .select_with(flows, &mut self.mask, &mut self.scratch)
            {
                Ok(()) => {
                    let kept = (self.mask.iter().enumerate())
                        .filter(|(_, m)| **m != 0)
                        .map(|(i, _)| Seen::of_batch(flows, i));
                    s.window.record_with(kept, received_ms, &self.ports, b);
                }
                Err(_) => {
                    let kept = (0..n).map(|i| flows.row(i)).filter(|f| s.filter.matches(f));
                    s.window.record_with(kept, received_ms, &self.ports, b);
                }
            }
        }
    }

    /// Counts flows in the window of every flow and for every usage
    /// client (all but the filtered views).
    fn count<S: Into<Seen>>(&mut self, flows: impl IntoIterator<Item = S>, received_ms: i64) {
        self.forget_idle_usage(received_ms);
        let talkers = self.counting_talkers(received_ms);
        let b = &mut self.batch;
        self.all
            .record_counting(flows, received_ms, &self.ports, b, talkers);
        self.count_usage(received_ms, talkers);
    }

    /// [`count`](Self::count) of a batch of columns.
    fn count_columns(&mut self, flows: &FlowBatch, received_ms: i64) {
        self.forget_idle_usage(received_ms);
        let talkers = self.counting_talkers(received_ms);
        let b = &mut self.batch;
        self.all
            .record_columns(flows, received_ms, &self.ports, b, talkers);
        self.count_usage(received_ms, talkers);
    }

    /// The batch just counted, for every usage client.
    fn count_usage(&mut self, received_ms: i64, talkers: bool) {
        // The same sums for every usage client (whose talkers take the
        // batch's keys: a usage client keeps them counted).
        debug_assert!(talkers || self.usage.is_empty());
        let b = &mut self.batch;
        for u in &mut self.usage {
            u.totals.record_batch_but_ports(b, received_ms);
            u.totals.record_batch_ports(b);
            Arc::make_mut(&mut u.talkers).record_batch(b);
        }
    }

    /// Counts flows the view could not look at.
    pub fn skipped(&mut self, n: u64, received_ms: i64) {
        self.all.skipped(n, received_ms);
        for s in &mut self.filtered {
            s.window.skipped(n, received_ms);
        }
        for u in &mut self.usage {
            u.totals.skipped += n;
        }
    }

    /// Answers a request at `now_ms`.
    pub fn answer(&mut self, req: &Request, now_ms: i64) -> Response {
        self.begin(req, now_ms).finish()
    }

    /// Takes what the answer to a request at `now_ms` needs: the cheap
    /// sums now, the sketches shared, to be merged by
    /// [`Pending::finish`] once the view is let go (the merge is most of
    /// an answer's work, and the live thread waits for the view).
    pub fn begin(&mut self, req: &Request, now_ms: i64) -> Pending {
        let (response, talkers, n) = self.take(req, now_ms);
        Pending {
            response,
            talkers,
            n,
        }
    }

    fn take(&mut self, req: &Request, now_ms: i64) -> (Response, Vec<Arc<Talkers>>, usize) {
        let secs = self.window_secs();
        let bad = |why: String| (Response::error(now_ms, secs, why), Vec::new(), 0);
        let answer = |snapshot: Option<Snapshot>| Response {
            ok: true,
            error: None,
            now_ms,
            window_secs: secs,
            snapshot,
        };
        let n = req.n.unwrap_or(10);
        if n > MAX_N {
            return bad(format!("n {n} is more than {MAX_N}"));
        }
        match req.op {
            Op::Ping => (answer(None), Vec::new(), 0),
            Op::Snapshot => {
                let window = req.window.unwrap_or(60);
                if window == 0 || window > secs {
                    return bad(format!("window {window} s: this floed keeps 1 to {secs} s"));
                }
                match self.snapshot(req, window, n, now_ms) {
                    Ok((s, talkers)) => (answer(Some(s)), talkers, n),
                    Err(e) => bad(e),
                }
            }
            Op::Usage => {
                let Some(client) = req.client.as_deref().filter(|c| {
                    !c.is_empty() && c.len() <= 64 && c.chars().all(|x| x.is_ascii_graphic())
                }) else {
                    return bad("usage needs a client name (1 to 64 printable characters)".into());
                };
                let (s, talkers) = self.usage(client, req, n, now_ms);
                (answer(Some(s)), talkers, n)
            }
        }
    }

    fn snapshot(
        &mut self,
        req: &Request,
        window: u32,
        n: usize,
        now_ms: i64,
    ) -> Result<(Snapshot, Vec<Arc<Talkers>>), String> {
        let now_s = now_ms.div_euclid(1000);
        // The window answering, since when it counts, and since when its
        // talkers are counted when that is later (every flow's only).
        let (w, since, talkers_since) = match req
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => {
                self.watched_ms = Some(now_ms);
                let watched = self.cfg.talkers == TalkerCounting::WhileWatched;
                if watched && self.talkers_since_ms.is_none() {
                    self.start_talkers(now_ms);
                }
                let talkers_since = self.talkers_since_ms.filter(|_| watched);
                (&mut self.all, None, talkers_since)
            }
            Some(text) => {
                // Forget filters nobody asks for.
                self.filtered
                    .retain(|s| now_ms - s.last_asked_ms < FILTER_IDLE_MS);
                let i = match self.filtered.iter().position(|s| s.text == text) {
                    Some(i) => i,
                    None => {
                        let filter = client_filter(text)?;
                        if self.filtered.len() >= MAX_FILTERS {
                            let oldest = self
                                .filtered
                                .iter()
                                .enumerate()
                                .min_by_key(|(_, s)| s.last_asked_ms)
                                .map(|(i, _)| i)
                                .unwrap_or(0);
                            self.filtered.remove(oldest);
                        }
                        self.filtered.push(Subscription {
                            text: text.to_string(),
                            filter,
                            window: Window::new(self.cfg.window.clone()),
                            since_ms: now_ms,
                            last_asked_ms: now_ms,
                        });
                        self.filtered.len() - 1
                    }
                };
                let s = &mut self.filtered[i];
                s.last_asked_ms = now_ms;
                (&mut s.window, Some(s.since_ms), None)
            }
        };
        let (totals, series) = w.totals(now_s, window);
        let from_ms = (now_s - i64::from(window) + 1) * 1000;
        let mut snap = base(&totals, req.scale, n);
        snap.from_ms = from_ms;
        snap.to_ms = (now_s + 1) * 1000;
        snap.seconds = window;
        snap.since_ms = since.filter(|s| *s > from_ms);
        // Never after the answer's own time (a clock stepped back).
        snap.talkers_since_ms = talkers_since
            .filter(|s| *s > from_ms)
            .map(|s| s.min(now_ms));
        snap.filter = req.filter.clone();
        snap.spread = req.spread;
        if req.spread {
            let rates = w.spread_rates(now_s, window);
            snap.series = rates
                .iter()
                .map(|(at, r, _)| Point {
                    at_ms: at * 1000,
                    flows: r[0],
                    packets: r[1],
                    octets: r[2],
                })
                .collect();
            let sum = |i: usize| rates.iter().map(|r| r.1[i]).sum::<f64>();
            snap.totals = Counts {
                flows: sum(0).round() as u64,
                packets: sum(1).round() as u64,
                octets: sum(2).round() as u64,
            };
            let mut per: std::collections::BTreeMap<u8, [f64; 3]> = Default::default();
            for (_, _, p) in &rates {
                for (k, v) in p {
                    let e = per.entry(*k).or_default();
                    for (a, b) in e.iter_mut().zip(v) {
                        *a += b;
                    }
                }
            }
            snap.protocols = per
                .into_iter()
                .filter(|(_, v)| v[0] > 0.0 || v[2] > 0.0)
                .map(|(protocol, v)| ProtocolRow {
                    protocol,
                    counts: Counts {
                        flows: v[0].round() as u64,
                        packets: v[1].round() as u64,
                        octets: v[2].round() as u64,
                    },
                })
                .collect();
            snap.protocols
                .sort_by_key(|r| std::cmp::Reverse(r.counts.octets));
        } else {
            snap.series = series
                .iter()
                .map(|(at, t)| {
                    let c = t.pick(req.scale);
                    Point {
                        at_ms: at * 1000,
                        flows: c.flows as f64,
                        packets: c.packets as f64,
                        octets: c.octets as f64,
                    }
                })
                .collect();
        }
        snap.rates = rates(&snap.totals, window);
        Ok((snap, w.shared_talkers(now_s, window)))
    }

    /// Forgets the usage clients that have not asked in
    /// [`USAGE_IDLE_MS`] (a clock stepped back forgets none).
    fn forget_idle_usage(&mut self, now_ms: i64) {
        self.usage
            .retain(|u| now_ms.saturating_sub(u.last_asked_ms) < USAGE_IDLE_MS);
    }

    fn usage(
        &mut self,
        client: &str,
        req: &Request,
        n: usize,
        now_ms: i64,
    ) -> (Snapshot, Vec<Arc<Talkers>>) {
        let k = self.cfg.window.k;
        self.forget_idle_usage(now_ms);
        let i = match self.usage.iter().position(|u| u.client == client) {
            Some(i) => i,
            None => {
                if self.usage.len() >= MAX_USAGE_CLIENTS {
                    // The one that asked least recently goes.
                    let oldest = self
                        .usage
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, u)| u.last_asked_ms)
                        .map(|(i, _)| i)
                        .unwrap_or(0);
                    self.usage.remove(oldest);
                }
                self.usage.push(Usage {
                    client: client.to_string(),
                    since_ms: now_ms,
                    last_asked_ms: now_ms,
                    totals: Totals::default(),
                    talkers: Arc::new(Talkers::new(k)),
                });
                self.usage.len() - 1
            }
        };
        let u = &mut self.usage[i];
        u.last_asked_ms = now_ms;
        let mut snap = base(&u.totals, req.scale, n);
        snap.from_ms = u.since_ms;
        snap.to_ms = now_ms;
        snap.seconds = ((now_ms - u.since_ms) / 1000).max(0) as u32;
        snap.since_ms = Some(u.since_ms);
        snap.rates = rates(&snap.totals, snap.seconds.max(1));
        let talkers = if req.reset {
            u.since_ms = now_ms;
            u.totals = Totals::default();
            std::mem::replace(&mut u.talkers, Arc::new(Talkers::new(k)))
        } else {
            u.talkers.clone()
        };
        (snap, vec![talkers])
    }
}

/// An answer whose talkers are still to be merged, away from the view.
#[must_use]
pub struct Pending {
    response: Response,
    talkers: Vec<Arc<Talkers>>,
    n: usize,
}

impl Pending {
    /// The answer, talkers and all.
    pub fn finish(mut self) -> Response {
        if let Some(s) = self.response.snapshot.as_mut() {
            let slices: Vec<&Talkers> = self.talkers.iter().map(|t| &**t).collect();
            s.talkers = talker_lists(&slices, self.n);
        }
        self.response
    }
}

fn rates(c: &Counts, seconds: u32) -> Rates {
    let s = f64::from(seconds.max(1));
    Rates {
        flows_per_s: c.flows as f64 / s,
        packets_per_s: c.packets as f64 / s,
        bits_per_s: c.octets as f64 * 8.0 / s,
    }
}

/// The parts of a snapshot that come from aggregates.
fn base(t: &Totals, scaled: bool, n: usize) -> Snapshot {
    let mut protocols: Vec<ProtocolRow> = t
        .protocols
        .iter()
        .map(|(p, v)| ProtocolRow {
            protocol: *p,
            counts: v.pick(scaled),
        })
        .collect();
    protocols.sort_by_key(|r| std::cmp::Reverse(r.counts.octets));
    let mut ports: Vec<PortRow> = t
        .ports
        .iter()
        .map(|((p, port), v)| PortRow {
            protocol: *p,
            port: Some(*port),
            counts: v.pick(scaled),
        })
        .collect();
    ports.sort_by(|a, b| {
        b.counts
            .octets
            .cmp(&a.counts.octets)
            .then(a.port.cmp(&b.port))
    });
    ports.truncate(n.max(20));
    ports.extend(t.other_ports.iter().map(|(p, v)| PortRow {
        protocol: *p,
        port: None,
        counts: v.pick(scaled),
    }));
    let sizes = t
        .sizes
        .iter()
        .enumerate()
        .map(|(i, v)| SizeRow {
            from: i as u64 * SIZE_STEP + 1,
            to: (i + 1 < SIZE_BRACKETS).then_some((i as u64 + 1) * SIZE_STEP),
            counts: v.pick(scaled),
        })
        .collect();
    let flags = FLAG_KINDS
        .iter()
        .zip(&t.flags)
        .map(|(k, v)| FlagRow {
            flags: (*k).to_string(),
            counts: v.pick(scaled),
        })
        .collect();
    let mut exporters: Vec<ExporterRow> = t
        .exporters
        .iter()
        .map(|(k, e)| ExporterRow {
            address: k.address.to_string(),
            source_id: k.source_id,
            counts: e.tally.pick(scaled),
            delay_avg_ms: if e.tally.raw.flows > 0 {
                (e.delay_sum_ms / i128::from(e.tally.raw.flows)) as i64
            } else {
                0
            },
            delay_max_ms: e.delay_max_ms,
        })
        .collect();
    exporters.sort_by_key(|e| std::cmp::Reverse(e.counts.flows));
    Snapshot {
        scaled,
        totals: t.total.pick(scaled),
        protocols,
        ports,
        sizes,
        flags,
        exporters,
        skipped_flows: t.skipped,
        ..Snapshot::default()
    }
}

fn list<K: Copy + Eq + std::hash::Hash>(
    parts: Vec<&HeavyHitters<K>>,
    n: usize,
    name: impl Fn(&K) -> String,
) -> Vec<Talker> {
    HeavyHitters::merge(n, parts)
        .into_iter()
        .map(|(k, w): (K, Weights)| Talker {
            key: name(&k),
            weight: w.weight,
            error: w.error,
            counts: Counts {
                flows: w.flows,
                packets: w.packets,
                octets: w.octets,
            },
        })
        .collect()
}

fn talker_lists(slices: &[&Talkers], n: usize) -> TalkerLists {
    let ip = |a: &IpAddr| a.to_string();
    TalkerLists {
        src: list(slices.iter().map(|t| &t.src).collect(), n, ip),
        dst: list(slices.iter().map(|t| &t.dst).collect(), n, ip),
        pair: list(slices.iter().map(|t| &t.pair).collect(), n, |(a, b)| {
            format!("{a} {b}")
        }),
        src_as: list(slices.iter().map(|t| &t.src_as).collect(), n, |a| {
            a.to_string()
        }),
        dst_as: list(slices.iter().map(|t| &t.dst_as).collect(), n, |a| {
            a.to_string()
        }),
        src_flows: list(slices.iter().map(|t| &t.src_flows).collect(), n, ip),
        dst_flows: list(slices.iter().map(|t| &t.dst_flows).collect(), n, ip),
    }
}
