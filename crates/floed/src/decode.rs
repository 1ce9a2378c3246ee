//! The decode thread: batches of datagrams in, flows and per-exporter
//! counters out to the write thread; the events of decoding logged and
//! counted; the since-start counters, the stats file and the template file
//! kept up to date.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_flow::{ExporterCounters, FlowBatch};
use floe_netflow::{Decoder, FileTemplateStore};

use crate::batch::Batch;
use crate::events::{Counts, Emitter, Event};
use crate::receive::{now_ms, ReceiveStats};
use crate::shared::{FlowCols, Shared};
use crate::since_start::SinceStart;
use crate::stats::StatsFile;
use crate::write::WriterMsg;

/// Flows whose times cannot be right: ending more than a day after they
/// were received, more than 30 days before, or starting after they end.
/// They are stored as the exporter sent them (the times may still mean
/// something to someone) and counted per exporter as `absurd_times`.
fn absurd_times(flows: &FlowBatch, first: usize, received_ms: i64) -> u64 {
    const FUTURE_MS: i64 = 86_400_000;
    const PAST_MS: i64 = 30 * 86_400_000;
    let (future, past) = (
        received_ms.saturating_add(FUTURE_MS),
        received_ms.saturating_sub(PAST_MS),
    );
    let starts = flows.start_ms.get(first..).unwrap_or_default();
    let ends = flows.end_ms.get(first..).unwrap_or_default();
    starts
        .iter()
        .zip(ends)
        .map(|(s, e)| u64::from(*e > future || *e < past || s > e))
        .sum()
}

/// What the decode thread works with.
pub struct DecodeThread {
    pub rx: Receiver<Batch>,
    pub tx: SyncSender<WriterMsg>,
    pub decoder: Decoder,
    pub templates: Arc<FileTemplateStore>,
    pub shared: Arc<Shared>,
    pub receive: Arc<ReceiveStats>,
    pub stats: StatsFile,
    /// Flows from which a batch is handed on: the store's block size (at
    /// most [`HELD_FLOWS_MOST`]). See [`Held`].
    pub hand_on_flows: usize,
}

/// The most flows a batch is held for before it is handed on, whatever
/// the block size: what the flow batches' pool is sized for
/// ([`FlowCols::CAPACITY`]).
pub const HELD_FLOWS_MOST: usize = floe_store::DEFAULT_BLOCK_RECORDS;

/// How long decoded flows may wait for more before they are handed on.
/// Under a load of more than a block's flows in this time, every batch
/// holds a block or more; below it, the writer gathers blocks as before.
const HOLD: Duration = Duration::from_millis(50);

/// Flows decoded and not yet handed on: the decode thread gathers the
/// flows of several receive batches until they fill a block, so that the
/// writer encodes the batch as it is instead of copying it into its
/// block first (that copy was a twentieth of floed's CPU under load, and
/// each message costs a wakeup of the writer and of the live view).
struct Held {
    received_ms: i64,
    flows: FlowCols,
    counts: Counts,
    since: Instant,
}

impl DecodeThread {
    pub fn run(mut self) {
        let mut emitter = Emitter::new();
        let mut since_start = SinceStart::default();
        let mut last_poll = Instant::now();
        let mut last_stats = Instant::now();
        let mut last_save = Instant::now();
        let mut held: Option<Held> = None;
        loop {
            let wait = held.as_ref().map_or(Duration::from_millis(500), |h| {
                HOLD.saturating_sub(h.since.elapsed())
            });
            let batch = match self.rx.recv_timeout(wait) {
                Ok(b) => Some(b),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(b) = batch {
                let h = held.get_or_insert_with(|| Held {
                    received_ms: b.received_ms,
                    flows: self.shared.flow_batches.take(),
                    counts: Counts::new(),
                    since: Instant::now(),
                });
                let counts = self.decode(b, &mut h.flows, &mut emitter);
                since_start.merge(&counts);
                for (k, c) in counts {
                    h.counts.entry(k).or_default().add(&c);
                }
            }
            let due = held.as_ref().is_some_and(|h| {
                h.flows.0.len() >= self.hand_on_flows || h.since.elapsed() >= HOLD
            });
            if due && !self.hand_on(held.take()) {
                break;
            }
            if last_poll.elapsed() >= Duration::from_secs(1) {
                last_poll = Instant::now();
                let counts = self.poll(&mut emitter);
                since_start.merge(&counts);
                if !counts.is_empty() {
                    let _ = self.tx.send(WriterMsg::Flows {
                        received_ms: now_ms(),
                        flows: FlowCols::none(),
                        counters: counts.into_iter().collect(),
                    });
                }
                emitter.flush(false);
                self.publish(&since_start);
            }
            if last_stats.elapsed() >= Duration::from_secs(2) {
                last_stats = Instant::now();
                let known = self.decoder.templates_known();
                let ch = self.shared.clickhouse.lock().ok().and_then(|c| c.clone());
                if let Err(e) =
                    self.stats
                        .write(now_ms(), &since_start, &known, &emitter.reasons, ch)
                {
                    emitter.emit(
                        &mut Counts::new(),
                        now_ms(),
                        Event::StatsFileFailed {
                            error: e.to_string(),
                        },
                    );
                }
            }
            if last_save.elapsed() >= Duration::from_secs(5) {
                last_save = Instant::now();
                self.save_templates(&mut emitter);
            }
            if self.shared.log_counters.swap(false, Ordering::Relaxed) {
                since_start.log(&self.receive, &self.decoder.templates_known());
            }
        }
        // The flows held, the last counters, then the state files.
        self.hand_on(held.take());
        let counts = self.poll(&mut emitter);
        since_start.merge(&counts);
        if !counts.is_empty() {
            let _ = self.tx.send(WriterMsg::Flows {
                received_ms: now_ms(),
                flows: FlowCols::none(),
                counters: counts.into_iter().collect(),
            });
        }
        self.save_templates(&mut emitter);
        self.stats.remove();
        since_start.log(&self.receive, &self.decoder.templates_known());
        emitter.flush(true);
    }

    /// Hands held flows and their counters on to the writer; false when
    /// the writer is gone.
    fn hand_on(&self, held: Option<Held>) -> bool {
        let Some(h) = held else { return true };
        self.tx
            .send(WriterMsg::Flows {
                received_ms: h.received_ms,
                flows: h.flows,
                counters: h.counts.into_iter().collect(),
            })
            .is_ok()
    }

    /// Decodes a batch, its flows appended to `flows`; returns the
    /// counters to add per exporter.
    fn decode(&mut self, b: Batch, flows: &mut FlowCols, emitter: &mut Emitter) -> Counts {
        let flows = &mut flows.0;
        let mut counts = Counts::new();
        for (from, data) in b.datagrams() {
            let first = flows.len();
            let o = self.decoder.decode(from, data, b.received_ms, &mut **flows);
            if let Some(key) = o.key {
                counts.entry(key).or_default().add(&o.counters);
                let odd = absurd_times(flows, first, b.received_ms);
                if odd > 0 {
                    emitter.emit(
                        &mut counts,
                        b.received_ms,
                        Event::AbsurdTimes { key, flows: odd },
                    );
                }
            }
        }
        let received_ms = b.received_ms;
        self.shared.batches.give(b);
        self.drain(&mut counts, emitter, received_ms);
        counts
    }

    /// The decoder's events and the counters no outcome carried.
    fn drain(&mut self, counts: &mut Counts, emitter: &mut Emitter, now_ms: i64) {
        for (key, c) in self.decoder.drain_counters() {
            counts.entry(key).or_default().add(&c);
        }
        for e in self.decoder.drain_events() {
            emitter.emit(counts, now_ms, Event::Decode(e));
        }
    }

    /// Once a second: held data expired by time, datagrams dropped at the
    /// receive queue or denied.
    fn poll(&mut self, emitter: &mut Emitter) -> Counts {
        let now = now_ms();
        let mut counts = Counts::new();
        self.decoder.tick(now);
        self.drain(&mut counts, emitter, now);
        let take = |m: &std::sync::Mutex<std::collections::HashMap<IpAddr, u64>>| {
            m.lock()
                .map(|mut m| m.drain().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        for (from, datagrams) in take(&self.shared.queue_drops) {
            emitter.emit(&mut counts, now, Event::QueueFull { from, datagrams });
        }
        for (from, datagrams) in take(&self.shared.denied) {
            emitter.emit(&mut counts, now, Event::Denied { from, datagrams });
        }
        counts.retain(|_, c: &mut ExporterCounters| !c.is_zero());
        counts
    }

    /// Publishes the since-start counters for the metrics page.
    fn publish(&self, since_start: &SinceStart) {
        let templates: std::collections::HashMap<_, _> =
            self.decoder.templates_known().into_iter().collect();
        let list: Vec<_> = since_start
            .exporters
            .iter()
            .map(|(k, c)| (*k, c.clone(), templates.get(k).copied().unwrap_or(0)))
            .collect();
        if let Ok(mut e) = self.shared.exporters.lock() {
            *e = Arc::new(list);
        }
    }

    fn save_templates(&mut self, emitter: &mut Emitter) {
        if let Err(e) = self.templates.save() {
            emitter.emit(
                &mut Counts::new(),
                now_ms(),
                Event::TemplateSaveFailed {
                    path: self.templates.path().to_path_buf(),
                    error: e.to_string(),
                },
            );
        }
    }
}
