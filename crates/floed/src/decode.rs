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
}

impl DecodeThread {
    pub fn run(mut self) {
        let mut emitter = Emitter::new();
        let mut since_start = SinceStart::default();
        let mut last_poll = Instant::now();
        let mut last_stats = Instant::now();
        let mut last_save = Instant::now();
        loop {
            let batch = match self.rx.recv_timeout(Duration::from_millis(500)) {
                Ok(b) => Some(b),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(b) = batch {
                let received_ms = b.received_ms;
                let (flows, counts) = self.decode(b, &mut emitter);
                since_start.merge(&counts);
                if self
                    .tx
                    .send(WriterMsg::Flows {
                        received_ms,
                        flows,
                        counters: counts.into_iter().collect(),
                    })
                    .is_err()
                {
                    break;
                }
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
        // The last counters, then the state files.
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

    /// Decodes a batch: its flows, and the counters to add per exporter.
    fn decode(&mut self, b: Batch, emitter: &mut Emitter) -> (FlowCols, Counts) {
        let FlowCols(mut flows) = self.shared.flow_batches.take();
        let mut counts = Counts::new();
        for (from, data) in b.datagrams() {
            let first = flows.len();
            let o = self.decoder.decode(from, data, b.received_ms, &mut *flows);
            if let Some(key) = o.key {
                counts.entry(key).or_default().add(&o.counters);
                let odd = absurd_times(&flows, first, b.received_ms);
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
        (FlowCols(flows), counts)
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
