//! The aggregates of the live view: what one second of flows adds up to,
//! the heavy hitters of a slice of seconds, and the window of the last few
//! minutes made of them.
//!
//! Flows are counted when they arrive (by export time: the exporter's
//! timers decide when, not the packets), in the second they were received.
//! The *spread* view also spreads each flow's bytes, packets and flow
//! count evenly over its own start..end, for the totals and protocols: a
//! flow adds a rate at its first second and takes it back after its last
//! (a difference array), so a 30-minute flow costs two updates, not 1800.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use floe_flow::{ExporterKey, Flow};
use serde::{Deserialize, Serialize};

use crate::sketch::HeavyHitters;

/// Flows, packets and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Number of flows.
    pub flows: u64,
    /// Their packets.
    pub packets: u64,
    /// Their bytes.
    pub octets: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.flows += o.flows;
        self.packets = self.packets.saturating_add(o.packets);
        self.octets = self.octets.saturating_add(o.octets);
    }
}

/// Counts as received and scaled by the sampling interval the exporter
/// announced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// As the exporters sent them.
    pub raw: Counts,
    /// Multiplied by each flow's sampling interval (a flow counts as that many).
    pub scaled: Counts,
}

impl Tally {
    /// One flow's counts.
    pub fn of(f: &Flow) -> Tally {
        let raw = Counts {
            flows: 1,
            packets: f.packets,
            octets: f.octets,
        };
        let m = u64::from(f.sampling_interval.max(1));
        Tally {
            raw,
            scaled: Counts {
                flows: m,
                packets: f.packets.saturating_mul(m),
                octets: f.octets.saturating_mul(m),
            },
        }
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, o: &Tally) {
        self.raw.add(&o.raw);
        self.scaled.add(&o.scaled);
    }

    /// The raw or the scaled counts.
    pub fn pick(&self, scaled: bool) -> Counts {
        if scaled {
            self.scaled
        } else {
            self.raw
        }
    }
}

/// Packet size brackets (average bytes per packet of a flow), as iptraf's
/// packet size breakdown: 1-75, 76-150, ... 1426-1500, and above.
pub const SIZE_BRACKETS: usize = 21;
/// Width of a bracket.
pub const SIZE_STEP: u64 = 75;

/// TCP flag kinds counted: SYN without ACK (connection attempts, scans),
/// SYN with ACK, RST, FIN.
pub const FLAG_KINDS: [&str; 4] = ["syn_only", "syn_ack", "rst", "fin"];

/// Exporters counted one by one per second; more go to the last entry.
const EXPORTERS_PER_SECOND: usize = 256;

/// What one exporter sent in a second, and how late.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExporterTally {
    /// Its flows' counts.
    pub tally: Tally,
    /// Sum of receive time minus flow end, ms.
    pub delay_sum_ms: i128,
    /// The largest receive time minus flow end, ms.
    pub delay_max_ms: i64,
}

/// The cheap aggregates of a stretch of time (a second, or since a reset).
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// Every flow.
    pub total: Tally,
    /// Per IP protocol.
    pub protocols: BTreeMap<u8, Tally>,
    /// (protocol, port) of the tracked ports.
    pub ports: HashMap<(u8, u16), Tally>,
    /// Flows whose port is not tracked, per protocol.
    pub other_ports: BTreeMap<u8, Tally>,
    /// Per packet size bracket ([`SIZE_BRACKETS`] of [`SIZE_STEP`] bytes).
    pub sizes: [Tally; SIZE_BRACKETS],
    /// Per TCP flag kind, in the order of [`FLAG_KINDS`].
    pub flags: [Tally; 4],
    /// Per exporter; past a fixed number of exporters a second, the rest add up in
    /// the last entry.
    pub exporters: Vec<(ExporterKey, ExporterTally)>,
    /// Flows the live view could not look at (it was behind).
    pub skipped: u64,
}

/// Which ports are counted one by one.
#[derive(Clone, Debug)]
pub struct PortSet {
    tracked: Vec<bool>,
}

impl PortSet {
    /// Ports below 1024 and the ones given.
    pub fn well_known_and(extra: &[u16]) -> PortSet {
        let mut tracked = vec![false; 65536];
        for t in tracked.iter_mut().take(1024) {
            *t = true;
        }
        for p in extra {
            tracked[usize::from(*p)] = true;
        }
        PortSet { tracked }
    }

    fn has(&self, p: u16) -> bool {
        self.tracked[usize::from(p)]
    }
}

impl Totals {
    /// Counts one flow received at `received_ms`: totals, protocol, port (one by
    /// one when `ports` tracks it), size bracket, TCP flags and exporter.
    pub fn record(&mut self, f: &Flow, t: &Tally, received_ms: i64, ports: &PortSet) {
        self.record_but_ports(f, t, received_ms);
        self.record_port(f, t, ports);
    }

    /// Counts a flow's port only.
    pub fn record_port(&mut self, f: &Flow, t: &Tally, ports: &PortSet) {
        if matches!(f.protocol, 6 | 17 | 132) {
            // A server's port shows both directions: the destination port
            // when it is tracked, else the source port.
            let port = if ports.has(f.dst_port) {
                Some(f.dst_port)
            } else if ports.has(f.src_port) {
                Some(f.src_port)
            } else {
                None
            };
            match port {
                Some(p) => self.ports.entry((f.protocol, p)).or_default().add(t),
                None => self.other_ports.entry(f.protocol).or_default().add(t),
            }
        }
    }

    /// Counts all but a flow's port.
    pub fn record_but_ports(&mut self, f: &Flow, t: &Tally, received_ms: i64) {
        self.total.add(t);
        self.protocols.entry(f.protocol).or_default().add(t);
        let size = f.octets / f.packets.max(1);
        let bracket = (size.saturating_sub(1) / SIZE_STEP).min(SIZE_BRACKETS as u64 - 1);
        self.sizes[bracket as usize].add(t);
        if f.protocol == 6 {
            let (syn, ack) = (f.tcp_flags & 0x02 != 0, f.tcp_flags & 0x10 != 0);
            if syn && !ack {
                self.flags[0].add(t);
            }
            if syn && ack {
                self.flags[1].add(t);
            }
            if f.tcp_flags & 0x04 != 0 {
                self.flags[2].add(t);
            }
            if f.tcp_flags & 0x01 != 0 {
                self.flags[3].add(t);
            }
        }
        let key = ExporterKey {
            address: f.exporter,
            source_id: f.source_id,
        };
        let i = match self.exporters.iter().position(|e| e.0 == key) {
            Some(i) => i,
            None if self.exporters.len() < EXPORTERS_PER_SECOND => {
                self.exporters.push((key, ExporterTally::default()));
                self.exporters.len() - 1
            }
            None => self.exporters.len() - 1,
        };
        let e = &mut self.exporters[i].1;
        e.tally.add(t);
        let delay = received_ms.saturating_sub(f.end_ms);
        e.delay_sum_ms += i128::from(delay);
        e.delay_max_ms = e.delay_max_ms.max(delay);
    }

    /// Adds another stretch's aggregates.
    pub fn add(&mut self, o: &Totals) {
        self.total.add(&o.total);
        for (k, v) in &o.protocols {
            self.protocols.entry(*k).or_default().add(v);
        }
        for (k, v) in &o.ports {
            self.ports.entry(*k).or_default().add(v);
        }
        for (k, v) in &o.other_ports {
            self.other_ports.entry(*k).or_default().add(v);
        }
        for (a, b) in self.sizes.iter_mut().zip(&o.sizes) {
            a.add(b);
        }
        for (a, b) in self.flags.iter_mut().zip(&o.flags) {
            a.add(b);
        }
        for (k, e) in &o.exporters {
            match self.exporters.iter_mut().find(|x| x.0 == *k) {
                Some(x) => {
                    x.1.tally.add(&e.tally);
                    x.1.delay_sum_ms += e.delay_sum_ms;
                    x.1.delay_max_ms = x.1.delay_max_ms.max(e.delay_max_ms);
                }
                None => self.exporters.push((*k, *e)),
            }
        }
        self.skipped += o.skipped;
    }
}

/// The talker keys.
pub const TALKER_KEYS: [&str; 7] = [
    "src",
    "dst",
    "pair",
    "src_as",
    "dst_as",
    "src_flows",
    "dst_flows",
];

/// The heavy hitters of a stretch of time: by bytes for sources,
/// destinations, pairs and ASes, and by flows for sources and
/// destinations (many small flows: scans and what they scan).
#[derive(Clone, Debug)]
pub struct Talkers {
    /// Sources by bytes.
    pub src: HeavyHitters<IpAddr>,
    /// Destinations by bytes.
    pub dst: HeavyHitters<IpAddr>,
    /// Source and destination pairs by bytes.
    pub pair: HeavyHitters<(IpAddr, IpAddr)>,
    /// Source ASes by bytes (AS 0, unknown, is left out).
    pub src_as: HeavyHitters<u32>,
    /// Destination ASes by bytes (AS 0 left out).
    pub dst_as: HeavyHitters<u32>,
    /// Sources by number of flows.
    pub src_flows: HeavyHitters<IpAddr>,
    /// Destinations by number of flows.
    pub dst_flows: HeavyHitters<IpAddr>,
}

impl Talkers {
    /// Empty lists that keep the `k` heaviest keys each.
    pub fn new(k: usize) -> Talkers {
        Talkers {
            src: HeavyHitters::new(k),
            dst: HeavyHitters::new(k),
            pair: HeavyHitters::new(k),
            src_as: HeavyHitters::new(k),
            dst_as: HeavyHitters::new(k),
            src_flows: HeavyHitters::new(k),
            dst_flows: HeavyHitters::new(k),
        }
    }

    /// Counts one flow in every list.
    pub fn record(&mut self, f: &Flow) {
        let (p, o) = (f.packets, f.octets);
        self.src.add(f.src_addr, o, 1, p, o);
        self.dst.add(f.dst_addr, o, 1, p, o);
        self.pair.add((f.src_addr, f.dst_addr), o, 1, p, o);
        if f.src_as != 0 {
            self.src_as.add(f.src_as, o, 1, p, o);
        }
        if f.dst_as != 0 {
            self.dst_as.add(f.dst_as, o, 1, p, o);
        }
        self.src_flows.add(f.src_addr, 1, 1, p, o);
        self.dst_flows.add(f.dst_addr, 1, 1, p, o);
    }
}

/// Rates spread over the flows' own time, per second (a difference array:
/// the change of rate at each second).
#[derive(Clone, Debug, Default)]
struct SpreadDelta {
    total: [f64; 3],
    protocols: BTreeMap<u8, [f64; 3]>,
}

impl SpreadDelta {
    fn add(&mut self, protocol: u8, r: [f64; 3], sign: f64) {
        for (a, b) in self.total.iter_mut().zip(r) {
            *a += sign * b;
        }
        let p = self.protocols.entry(protocol).or_default();
        for (a, b) in p.iter_mut().zip(r) {
            *a += sign * b;
        }
    }

    fn merge(&mut self, o: &SpreadDelta) {
        for (a, b) in self.total.iter_mut().zip(o.total) {
            *a += b;
        }
        for (k, v) in &o.protocols {
            let p = self.protocols.entry(*k).or_default();
            for (a, b) in p.iter_mut().zip(v) {
                *a += b;
            }
        }
    }
}

/// A second of the spread view: when, the rates of flows, packets and
/// bytes per second, and the same per protocol.
pub type SpreadSecond = (i64, [f64; 3], BTreeMap<u8, [f64; 3]>);

/// One second of the window.
#[derive(Clone, Debug, Default)]
struct Second {
    at: i64,
    totals: Totals,
    spread: SpreadDelta,
}

/// Sketches of a slice of seconds.
#[derive(Clone, Debug)]
struct Slice {
    at: i64,
    talkers: Talkers,
    /// The ports, kept per slice rather than per second: a scan of every
    /// port would otherwise hold thousands of entries for every second.
    ports: Totals,
}

/// Settings of a window.
#[derive(Clone, Debug)]
pub struct WindowConfig {
    /// Seconds kept.
    pub seconds: u32,
    /// Seconds per sketch slice.
    pub slice_secs: u32,
    /// The sketches' k: at most 2k + 1 keys each, estimates within
    /// the slice's weight / k.
    pub k: usize,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            seconds: 300,
            slice_secs: 10,
            k: 512,
        }
    }
}

/// The last few minutes: totals, protocols, packet sizes, TCP flags and
/// exporters second by second; ports and talkers per slice of seconds
/// (the slices overlapping a window answer for it: up to a slice more).
#[derive(Clone, Debug)]
pub struct Window {
    cfg: WindowConfig,
    seconds: VecDeque<Second>,
    slices: VecDeque<Slice>,
    /// The spread rates of the seconds that left the window.
    spread_base: SpreadDelta,
    /// Spread changes due after the newest second.
    spread_future: BTreeMap<i64, SpreadDelta>,
}

/// How far ahead of the newest second a flow's end is kept for the spread
/// view (an exporter's clock ahead of ours).
const SPREAD_AHEAD_SECS: i64 = 60;

/// A present this far before the newest second kept is a clock stepped
/// back (a batch counted while a request waited for the view is never
/// this far ahead of the request's time).
const CLOCK_STEP_SECS: i64 = 30;

impl Window {
    /// An empty window.
    pub fn new(cfg: WindowConfig) -> Window {
        Window {
            cfg,
            seconds: VecDeque::new(),
            slices: VecDeque::new(),
            spread_base: SpreadDelta::default(),
            spread_future: BTreeMap::new(),
        }
    }

    /// The settings the window was made with.
    pub fn config(&self) -> &WindowConfig {
        &self.cfg
    }

    /// Moves the newest second to `sec` (never back), dropping what falls
    /// out of the window.
    fn advance(&mut self, sec: i64) {
        let newest = self.seconds.back().map(|s| s.at);
        if newest.is_some_and(|n| sec <= n) {
            return;
        }
        let first = match newest {
            // A long gap: only the window's worth of empty seconds.
            Some(n) => (n + 1).max(sec - i64::from(self.cfg.seconds) + 1),
            None => sec,
        };
        for at in first..=sec {
            let mut s = Second {
                at,
                ..Second::default()
            };
            if let Some(d) = self.spread_future.remove(&at) {
                s.spread = d;
            }
            self.seconds.push_back(s);
        }
        // Spread changes skipped over by a gap still count.
        let skipped: Vec<i64> = self.spread_future.range(..first).map(|(k, _)| *k).collect();
        for k in skipped {
            if let Some(d) = self.spread_future.remove(&k) {
                self.spread_base.merge(&d);
            }
        }
        while self.seconds.len() > self.cfg.seconds as usize {
            if let Some(old) = self.seconds.pop_front() {
                self.spread_base.merge(&old.spread);
            }
        }
        let slice_at = sec - sec.rem_euclid(i64::from(self.cfg.slice_secs));
        if self.slices.back().is_none_or(|s| s.at < slice_at) {
            self.slices.push_back(Slice {
                at: slice_at,
                talkers: Talkers::new(self.cfg.k),
                ports: Totals::default(),
            });
        }
        let oldest = sec - i64::from(self.cfg.seconds) + 1;
        while self
            .slices
            .front()
            .is_some_and(|s| s.at + i64::from(self.cfg.slice_secs) <= oldest)
        {
            self.slices.pop_front();
        }
    }

    /// Counts flows received at `received_ms`.
    pub fn record(&mut self, flows: &[Flow], received_ms: i64, ports: &PortSet) {
        let sec = received_ms.div_euclid(1000);
        self.advance(sec);
        let (Some(second), Some(slice)) = (self.seconds.back_mut(), self.slices.back_mut()) else {
            return;
        };
        // A clock stepped back: counted in the newest second.
        let received_ms = received_ms.max(second.at * 1000);
        for f in flows {
            let t = Tally::of(f);
            second.totals.record_but_ports(f, &t, received_ms);
            slice.ports.record_port(f, &t, ports);
            slice.talkers.record(f);
        }
        for f in flows {
            self.spread(f);
        }
    }

    /// Counts flows the view did not look at.
    pub fn skipped(&mut self, n: u64, received_ms: i64) {
        self.advance(received_ms.div_euclid(1000));
        if let Some(s) = self.seconds.back_mut() {
            s.totals.skipped += n;
        }
    }

    fn spread(&mut self, f: &Flow) {
        let (Some(oldest), Some(newest)) = (
            self.seconds.front().map(|s| s.at),
            self.seconds.back().map(|s| s.at),
        ) else {
            return;
        };
        // A flow whose end is before its start (an exporter's mistake)
        // lasts from the one to the other all the same.
        let (lo, hi) = if f.end_ms < f.start_ms {
            (f.end_ms, f.start_ms)
        } else {
            (f.start_ms, f.end_ms)
        };
        let (first, last) = (lo.div_euclid(1000), hi.div_euclid(1000));
        // The rate is over the flow's whole length; only the part from the
        // oldest second kept to a minute past the newest is placed.
        let secs = (last - first + 1) as f64;
        let start = first.max(oldest);
        let end = last.min(newest + SPREAD_AHEAD_SECS);
        if end < start {
            return;
        }
        let t = Tally::of(f).raw;
        let r = [
            t.flows as f64 / secs,
            t.packets as f64 / secs,
            t.octets as f64 / secs,
        ];
        let at = |w: &mut Window, sec: i64, sign: f64| {
            if sec <= newest {
                let i = (sec - oldest) as usize;
                if let Some(s) = w.seconds.get_mut(i) {
                    s.spread.add(f.protocol, r, sign);
                }
            } else {
                w.spread_future
                    .entry(sec)
                    .or_default()
                    .add(f.protocol, r, sign);
            }
        };
        at(self, start, 1.0);
        at(self, end + 1, -1.0);
    }

    /// The seconds of the last `window` seconds ending at `now_s` (those
    /// the window has).
    fn last(&self, now_s: i64, window: u32) -> impl Iterator<Item = &Second> {
        let from = now_s - i64::from(window) + 1;
        self.seconds
            .iter()
            .filter(move |s| s.at >= from && s.at <= now_s)
    }

    /// Moves the window to the present, `now_s`. A present well before
    /// the newest second kept means the clock was stepped back: what was
    /// kept is in the future of the new clock and would hide everything
    /// counted from now on, so the window starts again.
    fn present(&mut self, now_s: i64) {
        if self
            .seconds
            .back()
            .is_some_and(|s| s.at > now_s + CLOCK_STEP_SECS)
        {
            *self = Window::new(self.cfg.clone());
        }
        self.advance(now_s);
    }

    /// The aggregates of the last `window` seconds ending at `now_s`, and
    /// their per-second totals.
    pub fn totals(&mut self, now_s: i64, window: u32) -> (Totals, Vec<(i64, Tally)>) {
        self.present(now_s);
        let mut sum = Totals::default();
        let from = now_s - i64::from(window) + 1;
        // Every second of the window, zero where nothing was kept.
        let mut series: Vec<(i64, Tally)> =
            (from..=now_s).map(|at| (at, Tally::default())).collect();
        for s in self.last(now_s, window) {
            sum.add(&s.totals);
            series[(s.at - from) as usize].1 = s.totals.total;
        }
        for s in self.overlapping(now_s, window) {
            sum.add(&s.ports);
        }
        (sum, series)
    }

    /// The spread view of the last `window` seconds: per second, the rates
    /// (flows, packets, bytes per second) in all and per protocol.
    pub fn spread_rates(&mut self, now_s: i64, window: u32) -> Vec<SpreadSecond> {
        self.present(now_s);
        let mut acc = self.spread_base.clone();
        let from = now_s - i64::from(window) + 1;
        let oldest = self.oldest().unwrap_or(now_s);
        // Seconds of the window before what is kept: nothing.
        let mut out: Vec<SpreadSecond> = (from..oldest.min(now_s + 1))
            .map(|at| (at, [0.0; 3], BTreeMap::new()))
            .collect();
        for s in &self.seconds {
            acc.merge(&s.spread);
            if s.at >= from && s.at <= now_s {
                let protocols = acc
                    .protocols
                    .iter()
                    .map(|(k, v)| (*k, v.map(|x| x.max(0.0))))
                    .collect();
                out.push((s.at, acc.total.map(|x| x.max(0.0)), protocols));
            }
        }
        out
    }

    /// The slices overlapping the last `window` seconds.
    fn overlapping(&self, now_s: i64, window: u32) -> impl Iterator<Item = &Slice> {
        let from = now_s - i64::from(window) + 1;
        let slice = i64::from(self.cfg.slice_secs);
        self.slices
            .iter()
            .filter(move |s| s.at + slice > from && s.at <= now_s)
    }

    /// The sketches of the slices overlapping the last `window` seconds.
    pub fn talkers(&self, now_s: i64, window: u32) -> Vec<&Talkers> {
        self.overlapping(now_s, window)
            .map(|s| &s.talkers)
            .collect()
    }

    /// The oldest second the window holds.
    pub fn oldest(&self) -> Option<i64> {
        self.seconds.front().map(|s| s.at)
    }
}
