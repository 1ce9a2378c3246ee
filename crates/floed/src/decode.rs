//! The decode thread: batches of datagrams in, flows and per-exporter
//! counters out to the write thread (held until they fill a block: see
//! [`Held`]); the events of decoding logged and
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
    /// Longest flows are held for ([`HOLD`]).
    pub hold: Duration,
}

/// The most flows a batch is held for before it is handed on, whatever
/// the block size: what the flow batches' pool is sized for
/// ([`FlowCols::CAPACITY`]).
pub const HELD_FLOWS_MOST: usize = floe_store::DEFAULT_BLOCK_RECORDS;

/// How long decoded flows may wait for more before they are handed on.
/// Under a load of more than a block's flows in this time, every batch
/// holds a block or more; below it, the writer gathers blocks as before.
pub const HOLD: Duration = Duration::from_millis(50);

/// Flows decoded and not yet handed on: the decode thread gathers the
/// flows of several receive batches until they fill a block, so that the
/// writer encodes the batch as it is instead of copying it into its
/// block first (that copy was a twentieth of floed's CPU under load, and
/// each message costs a wakeup of the writer and of the live view).
///
/// The flows held were all received in one second (UTC): they go to the
/// store and the live view stamped with the first one's time, and a
/// file's period (whole seconds, in any zone) and the view's seconds
/// both start on a second.
struct Held {
    received_ms: i64,
    flows: FlowCols,
    counts: Counts,
    since: Instant,
}

impl Held {
    /// Whether the flows of a receive batch stamped `received_ms` may join.
    fn takes(&self, received_ms: i64) -> bool {
        self.received_ms.div_euclid(1000) == received_ms.div_euclid(1000)
    }

    /// Whether the flows held are to be handed on: `hand_on_flows` of
    /// them, or held for `hold`.
    fn due(&self, hand_on_flows: usize, hold: Duration) -> bool {
        self.flows.0.len() >= hand_on_flows || self.since.elapsed() >= hold
    }
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
                self.hold.saturating_sub(h.since.elapsed())
            });
            let batch = match self.rx.recv_timeout(wait) {
                Ok(b) => Some(b),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(b) = batch {
                if held.as_ref().is_some_and(|h| !h.takes(b.received_ms))
                    && !self.hand_on(held.take())
                {
                    break;
                }
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
            let due = held
                .as_ref()
                .is_some_and(|h| h.due(self.hand_on_flows, self.hold));
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::mpsc::{sync_channel, Receiver};

    use floe_flow::Flow;
    use floe_netflow::{DecoderConfig, V5Encoder};

    use super::*;

    /// A decode thread on channels, as floed runs it, handing on from
    /// `hand_on_flows` flows or after `hold`, `batches` waiting for it.
    fn thread(
        dir: &std::path::Path,
        hand_on_flows: usize,
        hold: Duration,
        batches: Vec<Batch>,
    ) -> (
        SyncSender<Batch>,
        Receiver<WriterMsg>,
        std::thread::JoinHandle<()>,
    ) {
        let (btx, brx) = sync_channel(64);
        let (wtx, wrx) = sync_channel(64);
        // Queued before the thread starts: what it does with them does
        // not depend on when they come.
        for b in batches {
            btx.send(b).unwrap();
        }
        let (templates, _) = FileTemplateStore::open(dir.join("templates")).unwrap();
        let t = DecodeThread {
            rx: brx,
            tx: wtx,
            decoder: Decoder::new(DecoderConfig::default()),
            templates,
            shared: Arc::new(Shared::default()),
            receive: Arc::new(ReceiveStats::default()),
            stats: StatsFile::new(dir, 0),
            hand_on_flows,
            hold,
        };
        (btx, wrx, std::thread::spawn(move || t.run()))
    }

    /// A receive batch of `datagrams` v5 datagrams of 30 flows, received
    /// at `received_ms`; the flows' octets number them from `first`.
    fn batch(enc: &mut V5Encoder, first: u64, datagrams: u64, received_ms: i64) -> Batch {
        let from = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let mut b = Batch {
            received_ms,
            ..Batch::default()
        };
        for d in 0..datagrams {
            let flows: Vec<Flow> = (0..30)
                .map(|i| Flow {
                    start_ms: received_ms - 5000,
                    end_ms: received_ms - 1000,
                    packets: 1,
                    octets: first + d * 30 + i,
                    ..Flow::default()
                })
                .collect();
            let data = enc.encode(&flows, received_ms);
            b.items.push((from, b.data.len() as u32, data.len() as u32));
            b.data.extend_from_slice(&data);
        }
        b
    }

    /// The flows of every message until the thread stops: (stamp, octets).
    fn messages(wrx: &Receiver<WriterMsg>) -> Vec<(i64, Vec<u64>)> {
        let mut got = Vec::new();
        while let Ok(m) = wrx.recv() {
            if let WriterMsg::Flows {
                received_ms, flows, ..
            } = m
            {
                if !flows.0.is_empty() {
                    got.push((received_ms, flows.0.octets.clone()));
                }
            }
        }
        got
    }

    /// Held until a block's flows; then from the next batch on; what is
    /// held when the receivers stop is handed on; a batch received in
    /// another second than the flows held goes in a message of its own;
    /// every flow once, in order, with its counters.
    #[test]
    fn flows_are_held_to_a_block_and_handed_on_by_size_second_and_stop() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = 1_795_305_600_000;
        let mut enc = V5Encoder::new(t0 - 86_400_000);
        // 300 + 300 flows: handed on at 600. Then 300 held, and a batch
        // of the next second: the 300 go alone. Then 150 held at stop.
        let batches = [
            (0, 10, t0 + 100),
            (300, 10, t0 + 110),
            (600, 10, t0 + 120),
            (900, 5, t0 + 1_000),
        ]
        .map(|(first, datagrams, at)| batch(&mut enc, first, datagrams, at));
        // A hold no test run reaches: only size, second and stop count.
        let (btx, wrx, t) = thread(dir.path(), 500, Duration::from_secs(3600), batches.into());
        drop(btx);
        let got = messages(&wrx);
        t.join().unwrap();
        let sizes: Vec<(i64, usize)> = got.iter().map(|(at, o)| (*at, o.len())).collect();
        assert_eq!(sizes, [(t0 + 100, 600), (t0 + 120, 300), (t0 + 1_000, 150)]);
        let all: Vec<u64> = got.into_iter().flat_map(|(_, o)| o).collect();
        assert_eq!(all, (0..1050).collect::<Vec<u64>>());
    }

    /// Flows fewer than a block are handed on once they were held for
    /// [`HOLD`], while the receivers are still there.
    #[test]
    fn flows_fewer_than_a_block_are_handed_on_after_the_hold() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = 1_795_305_600_000;
        let mut enc = V5Encoder::new(t0 - 86_400_000);
        let one = vec![batch(&mut enc, 0, 2, t0)];
        let (btx, wrx, t) = thread(dir.path(), 16_384, HOLD, one);
        let got = loop {
            match wrx.recv_timeout(Duration::from_secs(10)).unwrap() {
                WriterMsg::Flows { flows, .. } if !flows.0.is_empty() => break flows,
                _ => {}
            }
        };
        assert_eq!(got.0.len(), 60);
        drop(btx);
        t.join().unwrap();
    }
}
