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
//!
//! A batch of flows is first added up per key in a [`Batch`] (small hash
//! maps and arrays, cleared and reused from batch to batch): the per-second
//! aggregates, the ports and the sketches are then touched once per
//! distinct key of the batch rather than once per flow, which is what
//! keeps the live view cheap next to decoding and writing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use floe_flow::{ExporterKey, Flow};

use crate::seen::Seen;
use serde::{Deserialize, Serialize};

use crate::sketch::{HeavyHitters, Scratch};

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
    pub fn of(f: &Seen) -> Tally {
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
    /// A bit per port: 8 KiB, which stays in the first cache where a
    /// byte per port (64 KiB) did not (perf: the lookup was the most
    /// costly instruction of the view's per-flow count).
    tracked: Vec<u64>,
}

impl PortSet {
    /// Ports below 1024 and the ones given.
    pub fn well_known_and(extra: &[u16]) -> PortSet {
        let mut set = PortSet {
            tracked: vec![0; 65536 / 64],
        };
        for p in (0..1024).chain(extra.iter().copied()) {
            set.tracked[usize::from(p) / 64] |= 1 << (p % 64);
        }
        set
    }

    fn has(&self, p: u16) -> bool {
        self.tracked[usize::from(p) / 64] >> (p % 64) & 1 != 0
    }

    /// The port a flow of a port-carrying protocol is counted under: a
    /// server's port shows both directions, so the destination port when
    /// it is tracked, else the source port; `None` when neither is.
    fn port_of(&self, f: &Seen) -> Option<u16> {
        if self.has(f.dst_port) {
            Some(f.dst_port)
        } else if self.has(f.src_port) {
            Some(f.src_port)
        } else {
            None
        }
    }
}

/// Whether flows of this protocol are counted per port.
fn has_ports(protocol: u8) -> bool {
    matches!(protocol, 6 | 17 | 132)
}

/// The packet size bracket of a flow.
fn size_bracket(f: &Seen) -> usize {
    let size = f.octets / f.packets.max(1);
    (size.saturating_sub(1) / SIZE_STEP).min(SIZE_BRACKETS as u64 - 1) as usize
}

/// Which of [`FLAG_KINDS`] a TCP flow counts in.
fn flag_kinds(tcp_flags: u16) -> [bool; 4] {
    let (syn, ack) = (tcp_flags & 0x02 != 0, tcp_flags & 0x10 != 0);
    [
        syn && !ack,
        syn && ack,
        tcp_flags & 0x04 != 0,
        tcp_flags & 0x01 != 0,
    ]
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
        let f = &Seen::from(f);
        if has_ports(f.protocol) {
            match ports.port_of(f) {
                Some(p) => self.ports.entry((f.protocol, p)).or_default().add(t),
                None => self.other_ports.entry(f.protocol).or_default().add(t),
            }
        }
    }

    /// Counts all but a flow's port.
    pub fn record_but_ports(&mut self, f: &Flow, t: &Tally, received_ms: i64) {
        let f = &Seen::from(f);
        self.total.add(t);
        self.protocols.entry(f.protocol).or_default().add(t);
        self.sizes[size_bracket(f)].add(t);
        if f.protocol == 6 {
            for (a, on) in self.flags.iter_mut().zip(flag_kinds(f.tcp_flags)) {
                if on {
                    a.add(t);
                }
            }
        }
        let key = ExporterKey {
            address: f.exporter,
            source_id: f.source_id,
        };
        let e = self.exporter(key);
        e.tally.add(t);
        let delay = received_ms.saturating_sub(f.end_ms);
        e.delay_sum_ms += i128::from(delay);
        e.delay_max_ms = e.delay_max_ms.max(delay);
    }

    /// The entry of an exporter: its own while fewer than
    /// [`EXPORTERS_PER_SECOND`] are counted, else the last one.
    fn exporter(&mut self, key: ExporterKey) -> &mut ExporterTally {
        let i = match self.exporters.iter().position(|e| e.0 == key) {
            Some(i) => i,
            None if self.exporters.len() < EXPORTERS_PER_SECOND => {
                self.exporters.push((key, ExporterTally::default()));
                self.exporters.len() - 1
            }
            None => self.exporters.len() - 1,
        };
        &mut self.exporters[i].1
    }

    /// Counts a batch's flows received at `received_ms`, all but their
    /// ports: what [`record_but_ports`](Self::record_but_ports) of each
    /// flow would count.
    pub fn record_batch_but_ports(&mut self, b: &Batch, received_ms: i64) {
        self.total.add(&b.total);
        for p in &b.protocols_seen {
            self.protocols
                .entry(*p)
                .or_default()
                .add(&b.protocols[usize::from(*p)]);
        }
        for (a, o) in self.sizes.iter_mut().zip(&b.sizes) {
            a.add(o);
        }
        for (a, o) in self.flags.iter_mut().zip(&b.flags) {
            a.add(o);
        }
        // In the order the batch first saw them, so that past the limit
        // the same exporters have entries of their own as flow by flow.
        for (key, x) in &b.exporters {
            let (sum, max) = x.delays(received_ms);
            let e = self.exporter(*key);
            e.tally.add(&x.tally);
            e.delay_sum_ms += sum;
            e.delay_max_ms = e.delay_max_ms.max(max);
        }
    }

    /// Counts a batch's ports: what [`record_port`](Self::record_port) of
    /// each flow would count.
    pub fn record_batch_ports(&mut self, b: &Batch) {
        for (k, t) in &b.ports {
            self.ports.entry(*k).or_default().add(t);
        }
        for (p, t) in &b.other_ports {
            self.other_ports.entry(*p).or_default().add(t);
        }
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

    /// Counts a batch in every list, each key once with the sum of its
    /// flows: the same weights as [`record`](Self::record) of each flow,
    /// added in fewer steps (see [`HeavyHitters`] on why the bound holds).
    pub fn record_batch(&mut self, b: &mut Batch) {
        let Batch {
            src,
            dst,
            pair,
            src_as,
            dst_as,
            scratch,
            ..
        } = b;
        self.src.add_batch(src.iter().map(by_bytes), scratch);
        self.src_flows.add_batch(src.iter().map(by_flows), scratch);
        self.dst.add_batch(dst.iter().map(by_bytes), scratch);
        self.dst_flows.add_batch(dst.iter().map(by_flows), scratch);
        self.pair.add_batch(pair.iter().map(by_bytes), scratch);
        let as_entry = |(k, c): (&u32, &Counts)| by_bytes((*k, c));
        self.src_as.add_batch(src_as.iter().map(as_entry), scratch);
        self.dst_as.add_batch(dst_as.iter().map(as_entry), scratch);
    }
}

/// A batch's key ranked by its bytes, for [`HeavyHitters::add_batch`].
fn by_bytes<K>((k, c): (K, &Counts)) -> (K, u64, u64, u64, u64) {
    (k, c.octets, c.flows, c.packets, c.octets)
}

/// A batch's key ranked by its flows.
fn by_flows<K>((k, c): (K, &Counts)) -> (K, u64, u64, u64, u64) {
    (k, c.flows, c.flows, c.packets, c.octets)
}

type Fast = foldhash::fast::FixedState;

/// A batch's counts per key: the keys in first-seen order with their
/// counts, and a map from key to place. The map's entries are a key and a
/// `u32` (8 bytes for an IPv4 host, 16 for an IPv4 pair), not a key and
/// its counts (32 bytes for either): the map is probed once per flow and is
/// larger than the core's first cache, and its width is its cost. The
/// counts are then walked in order, without the map.
#[derive(Clone, Debug)]
struct KeyCounts<K> {
    place: HashMap<K, u32, Fast>,
    counts: Vec<(K, Counts)>,
}

impl<K> Default for KeyCounts<K> {
    fn default() -> Self {
        KeyCounts {
            place: HashMap::default(),
            counts: Vec::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> KeyCounts<K> {
    fn count(&mut self, k: K, c: &Counts) {
        // A batch holds far fewer than 2^32 keys.
        let next = self.counts.len() as u32;
        let i = *self.place.entry(k).or_insert(next);
        if i == next {
            self.counts.push((k, *c));
        } else {
            self.counts[i as usize].1.add(c);
        }
    }

    fn clear(&mut self) {
        self.place.clear();
        self.counts.clear();
    }

    /// Each key once, with its counts.
    fn iter(&self) -> impl Iterator<Item = (K, &Counts)> + Clone {
        self.counts.iter().map(|(k, c)| (*k, c))
    }
}

/// A batch's counts per host: IPv4 addresses keyed as integers (see
/// [`KeyCounts`] on why width matters), the rest as they are.
#[derive(Clone, Debug, Default)]
struct HostCounts {
    v4: KeyCounts<u32>,
    other: KeyCounts<IpAddr>,
}

impl HostCounts {
    fn count(&mut self, a: IpAddr, c: &Counts) {
        match a {
            IpAddr::V4(a) => self.v4.count(u32::from(a), c),
            a => self.other.count(a, c),
        }
    }

    fn clear(&mut self) {
        self.v4.clear();
        self.other.clear();
    }

    /// Each host once, with its counts.
    fn iter(&self) -> impl Iterator<Item = (IpAddr, &Counts)> + Clone {
        let v4 = self
            .v4
            .iter()
            .map(|(a, c)| (IpAddr::from(Ipv4Addr::from(a)), c));
        v4.chain(self.other.iter())
    }
}

/// A batch's counts per (source, destination): IPv4 pairs keyed as one
/// integer (see [`KeyCounts`]).
#[derive(Clone, Debug, Default)]
struct PairCounts {
    v4: KeyCounts<u64>,
    other: KeyCounts<(IpAddr, IpAddr)>,
}

impl PairCounts {
    fn count(&mut self, src: IpAddr, dst: IpAddr, c: &Counts) {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => self
                .v4
                .count(u64::from(u32::from(s)) << 32 | u64::from(u32::from(d)), c),
            k => self.other.count(k, c),
        }
    }

    fn clear(&mut self) {
        self.v4.clear();
        self.other.clear();
    }

    /// Each pair once, with its counts.
    fn iter(&self) -> impl Iterator<Item = ((IpAddr, IpAddr), &Counts)> + Clone {
        let v4 = self.v4.iter().map(|(k, c)| {
            let (s, d) = ((k >> 32) as u32, k as u32);
            (
                (
                    IpAddr::from(Ipv4Addr::from(s)),
                    IpAddr::from(Ipv4Addr::from(d)),
                ),
                c,
            )
        });
        v4.chain(self.other.iter())
    }
}

/// One exporter's flows in a batch.
#[derive(Clone, Copy, Debug, Default)]
struct ExporterBatch {
    tally: Tally,
    /// Sum of the flows' end times, ms.
    end_sum_ms: i128,
    /// The earliest and latest end, ms.
    end_min_ms: i64,
    end_max_ms: i64,
}

impl ExporterBatch {
    /// The sum and the largest of the flows' delays (receive time minus
    /// end, each saturating as flow by flow) when received at `received_ms`.
    fn delays(&self, received_ms: i64) -> (i128, i64) {
        let n = i128::from(self.tally.raw.flows);
        let max = received_ms.saturating_sub(self.end_min_ms);
        // The delay falls as the end grows: when neither extreme
        // saturates, none does, and the sum is exact.
        let sum = if received_ms.checked_sub(self.end_min_ms).is_some()
            && received_ms.checked_sub(self.end_max_ms).is_some()
        {
            n * i128::from(received_ms) - self.end_sum_ms
        } else {
            (n * i128::from(received_ms) - self.end_sum_ms).clamp(
                n * i128::from(received_ms.saturating_sub(self.end_max_ms)),
                n * i128::from(max),
            )
        };
        (sum, max)
    }
}

/// A batch of flows added up per key: totals, protocols, ports, sizes,
/// flags and exporters, the talkers' keys, and the spread view's changes
/// of rate per second and protocol. Made once and reused: [`clear`]
/// keeps the room the maps grew to.
///
/// [`clear`]: Batch::clear
#[derive(Clone, Debug)]
pub struct Batch {
    total: Tally,
    /// Per protocol, indexed by it; `protocols_seen` lists those set.
    protocols: Vec<Tally>,
    protocols_seen: Vec<u8>,
    sizes: [Tally; SIZE_BRACKETS],
    flags: [Tally; 4],
    ports: HashMap<(u8, u16), Tally, Fast>,
    other_ports: Vec<(u8, Tally)>,
    /// In the order first seen; `exporter_index` finds them.
    exporters: Vec<(ExporterKey, ExporterBatch)>,
    exporter_index: HashMap<ExporterKey, usize, Fast>,
    src: HostCounts,
    dst: HostCounts,
    pair: PairCounts,
    src_as: HashMap<u32, Counts, Fast>,
    dst_as: HashMap<u32, Counts, Fast>,
    spread: SpreadBatch,
    scratch: Scratch,
    /// Whether the talkers' keys are counted (hosts, pairs, ASes).
    keys: bool,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            total: Tally::default(),
            protocols: vec![Tally::default(); 256],
            protocols_seen: Vec::new(),
            sizes: [Tally::default(); SIZE_BRACKETS],
            flags: [Tally::default(); 4],
            ports: HashMap::default(),
            other_ports: Vec::new(),
            exporters: Vec::new(),
            exporter_index: HashMap::default(),
            src: HostCounts::default(),
            dst: HostCounts::default(),
            pair: PairCounts::default(),
            src_as: HashMap::default(),
            dst_as: HashMap::default(),
            spread: SpreadBatch::default(),
            scratch: Scratch::default(),
            keys: true,
        }
    }
}

/// Adds counts to a key of a batch's map.
fn count<K: Eq + Hash>(m: &mut HashMap<K, Counts, Fast>, k: K, c: &Counts) {
    m.entry(k).or_default().add(c);
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Empties the batch, keeping its room.
    pub fn clear(&mut self) {
        self.total = Tally::default();
        for p in self.protocols_seen.drain(..) {
            self.protocols[usize::from(p)] = Tally::default();
        }
        self.sizes = [Tally::default(); SIZE_BRACKETS];
        self.flags = [Tally::default(); 4];
        self.ports.clear();
        self.other_ports.clear();
        self.exporters.clear();
        self.exporter_index.clear();
        self.src.clear();
        self.dst.clear();
        self.pair.clear();
        self.src_as.clear();
        self.dst_as.clear();
        self.spread.clear(None);
    }

    /// Empties the batch and adds up `flows`, with `ports` tracked one by
    /// one, the spread view placed for `window` (none: not placed), and
    /// the talkers' keys counted when `keys` (else the batch has none:
    /// they are most of its cost).
    pub fn fold<S: Into<Seen>>(
        &mut self,
        flows: impl IntoIterator<Item = S>,
        ports: &PortSet,
        window: Option<&Window>,
        keys: bool,
    ) {
        self.clear();
        self.keys = keys;
        self.spread.clear(window.and_then(Window::spread_range));
        for f in flows {
            self.add(&f.into(), ports);
        }
    }

    /// Adds one flow.
    fn add(&mut self, f: &Seen, ports: &PortSet) {
        let t = Tally::of(f);
        self.total.add(&t);
        let p = &mut self.protocols[usize::from(f.protocol)];
        if p.raw.flows == 0 {
            self.protocols_seen.push(f.protocol);
        }
        p.add(&t);
        self.sizes[size_bracket(f)].add(&t);
        if f.protocol == 6 {
            for (a, on) in self.flags.iter_mut().zip(flag_kinds(f.tcp_flags)) {
                if on {
                    a.add(&t);
                }
            }
        }
        if has_ports(f.protocol) {
            match ports.port_of(f) {
                Some(port) => self.ports.entry((f.protocol, port)).or_default().add(&t),
                None => match self.other_ports.iter_mut().find(|o| o.0 == f.protocol) {
                    Some(o) => o.1.add(&t),
                    None => self.other_ports.push((f.protocol, t)),
                },
            }
        }
        self.add_exporter(f, &t);
        if self.keys {
            let c = &t.raw;
            self.src.count(f.src_addr, c);
            self.dst.count(f.dst_addr, c);
            self.pair.count(f.src_addr, f.dst_addr, c);
            if f.src_as != 0 {
                count(&mut self.src_as, f.src_as, c);
            }
            if f.dst_as != 0 {
                count(&mut self.dst_as, f.dst_as, c);
            }
        }
        self.spread.add(f);
    }

    fn add_exporter(&mut self, f: &Seen, t: &Tally) {
        let key = ExporterKey {
            address: f.exporter,
            source_id: f.source_id,
        };
        // A datagram's flows come one after another: try the last first.
        let i = match self.exporters.last() {
            Some(l) if l.0 == key => self.exporters.len() - 1,
            _ => *self.exporter_index.entry(key).or_insert_with(|| {
                self.exporters.push((
                    key,
                    ExporterBatch {
                        end_min_ms: i64::MAX,
                        end_max_ms: i64::MIN,
                        ..ExporterBatch::default()
                    },
                ));
                self.exporters.len() - 1
            }),
        };
        let e = &mut self.exporters[i].1;
        e.tally.add(t);
        e.end_sum_ms += i128::from(f.end_ms);
        e.end_min_ms = e.end_min_ms.min(f.end_ms);
        e.end_max_ms = e.end_max_ms.max(f.end_ms);
    }
}

/// The spread view's changes of rate of a batch, second by second over the
/// range of a window (its oldest second to a minute past its newest, and
/// one more for the ends), per protocol.
#[derive(Clone, Debug, Default)]
struct SpreadBatch {
    /// (oldest, newest) of the window placed for; none: nothing placed.
    range: Option<(i64, i64)>,
    /// Per protocol, its row in `rows` counted from 1 (0: none yet).
    row_of: Vec<u16>,
    /// (protocol, changes per second of the range).
    rows: Vec<(u8, Vec<[f64; 3]>)>,
    used: usize,
}

impl SpreadBatch {
    fn clear(&mut self, range: Option<(i64, i64)>) {
        if self.row_of.is_empty() {
            self.row_of = vec![0; 256];
        }
        for (p, _) in &self.rows[..self.used] {
            self.row_of[usize::from(*p)] = 0;
        }
        self.used = 0;
        self.range = range;
    }

    /// Seconds of the range.
    fn len(&self) -> usize {
        self.range
            .map_or(0, |(o, n)| (n + SPREAD_AHEAD_SECS + 2 - o) as usize)
    }

    fn add(&mut self, f: &Seen) {
        let Some((oldest, newest)) = self.range else {
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
        let r = [1.0 / secs, f.packets as f64 / secs, f.octets as f64 / secs];
        let len = self.len();
        let mut i = usize::from(self.row_of[usize::from(f.protocol)]);
        if i == 0 {
            if self.used == self.rows.len() {
                self.rows.push((f.protocol, Vec::new()));
            }
            let row = &mut self.rows[self.used];
            row.0 = f.protocol;
            row.1.clear();
            row.1.resize(len, [0.0; 3]);
            self.used += 1;
            // Rows are numbered from 1: 0 says none.
            i = self.used;
            self.row_of[usize::from(f.protocol)] = i as u16;
        }
        let row = &mut self.rows[i - 1].1;
        for (a, b) in row[(start - oldest) as usize].iter_mut().zip(r) {
            *a += b;
        }
        for (a, b) in row[(end + 1 - oldest) as usize].iter_mut().zip(r) {
            *a -= b;
        }
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
    /// Shared with the answers being built from it: a request takes it
    /// without copying, and only a slice written to while an answer still
    /// holds it is copied then.
    talkers: Arc<Talkers>,
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
                talkers: Arc::new(Talkers::new(self.cfg.k)),
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
        self.record_with(flows, received_ms, ports, &mut Batch::new());
    }

    /// Counts flows received at `received_ms`, added up in `b` first (which
    /// then holds them: the caller may count them elsewhere too, all but
    /// the spread view).
    pub fn record_with<S: Into<Seen>>(
        &mut self,
        flows: impl IntoIterator<Item = S>,
        received_ms: i64,
        ports: &PortSet,
        b: &mut Batch,
    ) {
        self.record_counting(flows, received_ms, ports, b, true);
    }

    /// [`record_with`](Self::record_with), the talkers counted only when
    /// `talkers` (the batch then has no keys either).
    pub fn record_counting<S: Into<Seen>>(
        &mut self,
        flows: impl IntoIterator<Item = S>,
        received_ms: i64,
        ports: &PortSet,
        b: &mut Batch,
        talkers: bool,
    ) {
        let sec = received_ms.div_euclid(1000);
        self.advance(sec);
        b.fold(flows, ports, Some(&*self), talkers);
        let (Some(second), Some(slice)) = (self.seconds.back_mut(), self.slices.back_mut()) else {
            return;
        };
        // A clock stepped back: counted in the newest second.
        let received_ms = received_ms.max(second.at * 1000);
        second.totals.record_batch_but_ports(b, received_ms);
        slice.ports.record_batch_ports(b);
        if talkers {
            Arc::make_mut(&mut slice.talkers).record_batch(b);
        }
        self.place_spread(&b.spread);
    }

    /// The seconds the spread view places changes in: from the oldest
    /// kept to the newest (and on to a minute past it).
    fn spread_range(&self) -> Option<(i64, i64)> {
        Some((self.seconds.front()?.at, self.seconds.back()?.at))
    }

    /// Adds a batch's changes of spread rates, placed for this window.
    fn place_spread(&mut self, s: &SpreadBatch) {
        let Some((oldest, newest)) = s.range else {
            return;
        };
        debug_assert_eq!(s.range, self.spread_range());
        for (protocol, row) in &s.rows[..s.used] {
            for (i, d) in row.iter().enumerate() {
                if *d == [0.0; 3] {
                    continue;
                }
                let sec = oldest + i as i64;
                if sec <= newest {
                    if let Some(x) = self.seconds.get_mut(i) {
                        x.spread.add(*protocol, *d, 1.0);
                    }
                } else {
                    self.spread_future
                        .entry(sec)
                        .or_default()
                        .add(*protocol, *d, 1.0);
                }
            }
        }
    }

    /// Counts flows the view did not look at.
    pub fn skipped(&mut self, n: u64, received_ms: i64) {
        self.advance(received_ms.div_euclid(1000));
        if let Some(s) = self.seconds.back_mut() {
            s.totals.skipped += n;
        }
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
            .map(|s| &*s.talkers)
            .collect()
    }

    /// Empties every slice's talkers: what they held was counted before
    /// a pause, and a slice would answer for only part of its time.
    pub fn forget_talkers(&mut self) {
        for s in &mut self.slices {
            s.talkers = Arc::new(Talkers::new(self.cfg.k));
        }
    }

    /// The same, shared: to be merged after letting go of the window.
    pub fn shared_talkers(&self, now_s: i64, window: u32) -> Vec<Arc<Talkers>> {
        self.overlapping(now_s, window)
            .map(|s| s.talkers.clone())
            .collect()
    }

    /// The oldest second the window holds.
    pub fn oldest(&self) -> Option<i64> {
        self.seconds.front().map(|s| s.at)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{IpAddr, Ipv6Addr};

    use proptest::prelude::*;

    use super::{Batch, Counts, HostCounts, PairCounts, PortSet};

    #[test]
    fn the_ports_tracked_are_the_well_known_and_the_ones_given() {
        let set = PortSet::well_known_and(&[8080, 65_535, 64, 63]);
        let tracked: Vec<u16> = (0..=u16::MAX).filter(|p| set.has(*p)).collect();
        let want: Vec<u16> = (0..1024).chain([8080, 65_535]).collect();
        assert_eq!(tracked, want);
    }

    /// A batch folded without keys has no talkers' keys (they are most of
    /// its cost), and the same totals as one with.
    #[test]
    fn a_batch_without_keys_counts_all_but_the_talkers() {
        let flows: Vec<floe_flow::Flow> = (0..50u8)
            .map(|i| floe_flow::Flow {
                src_addr: IpAddr::from([10, 0, 0, i]),
                dst_addr: IpAddr::from([192, 0, 2, i % 3]),
                src_as: 64_512,
                dst_as: 7,
                protocol: 6,
                dst_port: 443,
                packets: 2,
                octets: 100,
                ..floe_flow::Flow::default()
            })
            .collect();
        let ports = PortSet::well_known_and(&[]);
        let (mut with, mut without) = (Batch::new(), Batch::new());
        with.fold(&flows, &ports, None, true);
        without.fold(&flows, &ports, None, false);
        assert_eq!(with.src.iter().count(), 50);
        assert_eq!(with.pair.iter().count(), 50);
        assert_eq!((with.dst.iter().count(), with.src_as.len()), (3, 1));
        assert_eq!(without.src.iter().count(), 0);
        assert_eq!(without.dst.iter().count(), 0);
        assert_eq!(without.pair.iter().count(), 0);
        assert!(without.src_as.is_empty() && without.dst_as.is_empty());
        assert_eq!(with.total, without.total);
        assert_eq!(without.total.raw.octets, 5000);
    }

    /// Addresses whose integers collide across families: IPv4, the same
    /// integers IPv4-mapped and IPv4-compatible in IPv6, and the
    /// unspecified and broadcast addresses.
    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        let v4 = prop_oneof![Just(0u32), Just(u32::MAX), Just(0x7f00_0001), 0u32..8];
        (v4, 0u8..3).prop_map(|(a, form)| match form {
            0 => IpAddr::from(std::net::Ipv4Addr::from(a)),
            1 => IpAddr::V6(std::net::Ipv4Addr::from(a).to_ipv6_mapped()),
            _ => IpAddr::V6(Ipv6Addr::from(u128::from(a))),
        })
    }

    proptest! {
        /// Every host and pair once, with the same counts as a plain map
        /// keyed by the addresses, batch after batch in the same maps.
        #[test]
        fn hosts_and_pairs_sum_as_a_map_of_addresses(
            batches in prop::collection::vec(
                prop::collection::vec((arb_addr(), arb_addr(), 1u64..5, 0u64..1000), 0..40),
                1..4,
            ),
        ) {
            let (mut hosts, mut pairs) = (HostCounts::default(), PairCounts::default());
            for flows in batches {
                hosts.clear();
                pairs.clear();
                let mut want_hosts: HashMap<IpAddr, Counts> = HashMap::new();
                let mut want_pairs: HashMap<(IpAddr, IpAddr), Counts> = HashMap::new();
                for (src, dst, packets, octets) in flows {
                    let c = Counts { flows: 1, packets, octets };
                    hosts.count(src, &c);
                    pairs.count(src, dst, &c);
                    want_hosts.entry(src).or_default().add(&c);
                    want_pairs.entry((src, dst)).or_default().add(&c);
                }
                let got: Vec<(IpAddr, Counts)> = hosts.iter().map(|(k, c)| (k, *c)).collect();
                prop_assert_eq!(got.len(), want_hosts.len());
                prop_assert_eq!(got.into_iter().collect::<HashMap<_, _>>(), want_hosts);
                let got: Vec<_> = pairs.iter().map(|(k, c)| (k, *c)).collect();
                prop_assert_eq!(got.len(), want_pairs.len());
                prop_assert_eq!(got.into_iter().collect::<HashMap<_, _>>(), want_pairs);
            }
        }
    }
}
