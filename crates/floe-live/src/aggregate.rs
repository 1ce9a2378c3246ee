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

use floe_flow::{ExporterKey, Flow, FlowBatch};

use crate::seen::Seen;
use serde::{Deserialize, Serialize};

use crate::sketch::{HeavyHitters, Scratch};

mod columns;

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
        // Saturating, flows too: a usage client's totals add up for as
        // long as it stays, and each flow counts as its sampling interval.
        self.flows = self.flows.saturating_add(o.flows);
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
        Tally::of_counts(f.packets, f.octets, f.sampling_interval)
    }

    /// The counts of one flow of `packets` and `octets`, sampled one in
    /// `sampling_interval` (0 or 1: not sampled).
    #[inline]
    pub fn of_counts(packets: u64, octets: u64, sampling_interval: u32) -> Tally {
        let m = u64::from(sampling_interval.max(1));
        Tally {
            raw: Counts {
                flows: 1,
                packets,
                octets,
            },
            scaled: Counts {
                flows: m,
                packets: packets.saturating_mul(m),
                octets: octets.saturating_mul(m),
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
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExporterTally {
    /// Its flows' counts.
    pub tally: Tally,
    /// Sum of receive time minus flow end, ms.
    pub delay_sum_ms: i128,
    /// The largest receive time minus flow end, ms.
    pub delay_max_ms: i64,
}

/// The cheap aggregates of a stretch of time (a second, or since a reset).
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// Per port, its place among the tracked ports when it is tracked
    /// (its place in a batch's [`PortTallies`]), of which the
    /// view reads the entries of the tracked ports only. (Counting the
    /// tracked bits below a port instead is a software popcount on a
    /// baseline x86-64 build: perf.)
    ranks: Vec<u16>,
    /// How many ports are tracked.
    len: usize,
}

impl PortSet {
    /// Ports below 1024 and the ones given.
    pub fn well_known_and(extra: &[u16]) -> PortSet {
        let mut tracked = vec![0u64; 65536 / 64];
        for p in (0..1024).chain(extra.iter().copied()) {
            tracked[usize::from(p) / 64] |= 1 << (p % 64);
        }
        let mut ranks = vec![0u16; 65536];
        let mut len = 0;
        for p in 0..=u16::MAX {
            if tracked[usize::from(p) / 64] >> (p % 64) & 1 != 0 {
                // At most 65536 ports: ranks 0 to 65535.
                ranks[usize::from(p)] = len as u16;
                len += 1;
            }
        }
        PortSet {
            tracked,
            ranks,
            len,
        }
    }

    fn has(&self, p: u16) -> bool {
        self.tracked[usize::from(p) / 64] >> (p % 64) & 1 != 0
    }

    /// How many ports are tracked.
    fn len(&self) -> usize {
        self.len
    }

    /// A tracked port's place among the tracked ports, `0..self.len()`.
    #[inline]
    fn rank(&self, p: u16) -> usize {
        usize::from(self.ranks[usize::from(p)])
    }

    /// The port a flow of a port-carrying protocol is counted under: a
    /// server's port shows both directions, so the destination port when
    /// it is tracked, else the source port; `None` when neither is.
    #[inline]
    fn port_of(&self, src_port: u16, dst_port: u16) -> Option<u16> {
        if self.has(dst_port) {
            Some(dst_port)
        } else if self.has(src_port) {
            Some(src_port)
        } else {
            None
        }
    }
}

/// The protocols counted per port, in the order of their place in a
/// batch's per-port counts.
const PORT_PROTOCOLS: [u8; 3] = [6, 17, 132];

/// A port-carrying protocol's place in [`PORT_PROTOCOLS`].
#[inline]
fn port_protocol(protocol: u8) -> Option<usize> {
    match protocol {
        6 => Some(0),
        17 => Some(1),
        132 => Some(2),
        _ => None,
    }
}

/// Whether flows of this protocol are counted per port.
fn has_ports(protocol: u8) -> bool {
    port_protocol(protocol).is_some()
}

/// The packet size bracket of a flow of `packets` and `octets`.
#[inline]
fn size_bracket(packets: u64, octets: u64) -> usize {
    let size = octets / packets.max(1);
    (size.saturating_sub(1) / SIZE_STEP).min(SIZE_BRACKETS as u64 - 1) as usize
}

/// The TCP flags [`flag_kinds`] reads (FIN, SYN, RST, ACK) as four bits.
#[inline]
fn flag_combo(tcp_flags: u16) -> usize {
    usize::from(tcp_flags & 0x07 | (tcp_flags >> 1) & 0x08)
}

/// TCP flags with the bits of a [`flag_combo`].
fn flags_of_combo(combo: usize) -> u16 {
    (combo as u16 & 0x07) | (combo as u16 & 0x08) << 1
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
            match ports.port_of(f.src_port, f.dst_port) {
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
        self.sizes[size_bracket(f.packets, f.octets)].add(t);
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
        for (k, t) in b.ports.iter() {
            self.ports.entry(k).or_default().add(t);
        }
        for (p, t) in PORT_PROTOCOLS.iter().zip(&b.other_ports) {
            if t.raw.flows > 0 {
                self.other_ports.entry(*p).or_default().add(t);
            }
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
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ExporterBatch {
    tally: Tally,
    /// Sum of the flows' end times, ms.
    end_sum_ms: i128,
    /// The earliest and latest end, ms.
    end_min_ms: i64,
    end_max_ms: i64,
}

impl ExporterBatch {
    /// Counts one flow of the exporter.
    #[inline(always)]
    fn count<const SCALED: bool>(&mut self, t: &Tally, end_ms: i64) {
        add_counts::<SCALED>(&mut self.tally, t);
        self.end_sum_ms += i128::from(end_ms);
        self.end_min_ms = self.end_min_ms.min(end_ms);
        self.end_max_ms = self.end_max_ms.max(end_ms);
    }

    /// Counts a run of the exporter's flows: their `counts` (not
    /// sampled) and end times.
    fn count_run(&mut self, counts: &Counts, end_ms: &[i64]) {
        self.tally.raw.add(counts);
        self.end_sum_ms += end_ms.iter().map(|e| i128::from(*e)).sum::<i128>();
        let (min, max) =
            (end_ms.iter()).fold((i64::MAX, i64::MIN), |(lo, hi), e| (lo.min(*e), hi.max(*e)));
        self.end_min_ms = self.end_min_ms.min(min);
        self.end_max_ms = self.end_max_ms.max(max);
    }

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
    /// TCP flows per [`flag_combo`] of their flags, which [`Batch::finish`]
    /// adds up per kind into `flags`: a flow adds to one place, not four.
    flag_combos: [Tally; 16],
    flags: [Tally; 4],
    ports: PortTallies,
    /// Flows of a port-carrying protocol whose ports are not tracked, at
    /// its place in [`PORT_PROTOCOLS`].
    other_ports: [Tally; 3],
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
            flag_combos: [Tally::default(); 16],
            flags: [Tally::default(); 4],
            ports: PortTallies::default(),
            other_ports: [Tally::default(); 3],
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

/// A batch's counts per tracked (protocol, port): a place for every
/// tracked port of every port-carrying protocol, indexed by the port's
/// rank, and the places used in the order first seen. (A hash map probed
/// per flow was a large part of the view's count: perf.)
#[derive(Clone, Debug, Default)]
struct PortTallies {
    places: Vec<Tally>,
    /// (protocol, port, place) of the places used.
    used: Vec<(u8, u16, u32)>,
    /// Places per protocol: the ports tracked.
    tracked: usize,
}

impl PortTallies {
    /// Empties the places used.
    fn clear(&mut self) {
        for (_, _, i) in self.used.drain(..) {
            self.places[i as usize] = Tally::default();
        }
    }

    /// Makes a place for every port `ports` tracks.
    fn fit(&mut self, ports: &PortSet) {
        let tracked = ports.len();
        if self.places.len() != tracked * PORT_PROTOCOLS.len() {
            self.used.clear();
            self.places.clear();
            self.places
                .resize(tracked * PORT_PROTOCOLS.len(), Tally::default());
        }
        self.tracked = tracked;
    }

    /// Counts a flow of the protocol at place `protocol_slot` of [`PORT_PROTOCOLS`]
    /// under its tracked `port` of rank `rank`.
    #[inline(always)]
    fn count<const SCALED: bool>(
        &mut self,
        protocol_slot: usize,
        port: u16,
        rank: usize,
        t: &Tally,
    ) {
        let i = protocol_slot * self.tracked + rank;
        let place = &mut self.places[i];
        if place.raw.flows == 0 {
            self.used
                .push((PORT_PROTOCOLS[protocol_slot], port, i as u32));
        }
        add_counts::<SCALED>(place, t);
    }

    /// Each (protocol, port) counted once, with its counts.
    fn iter(&self) -> impl Iterator<Item = ((u8, u16), &Tally)> {
        (self.used.iter()).map(|(p, port, i)| ((*p, *port), &self.places[*i as usize]))
    }

    /// Copies every used place's raw counts to its scaled ones.
    fn copy_raw_to_scaled(&mut self) {
        for (_, _, i) in &self.used {
            let t = &mut self.places[*i as usize];
            t.scaled = t.raw;
        }
    }
}

/// Adds a flow's tally: the raw counts, and the scaled ones when
/// `SCALED` (else [`Batch::finish`] copies the raw counts over them).
#[inline(always)]
fn add_counts<const SCALED: bool>(to: &mut Tally, t: &Tally) {
    to.raw.add(&t.raw);
    if SCALED {
        to.scaled.add(&t.scaled);
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
        self.flag_combos = [Tally::default(); 16];
        self.flags = [Tally::default(); 4];
        self.ports.clear();
        self.other_ports = [Tally::default(); 3];
        self.exporters.clear();
        self.exporter_index.clear();
        self.src.clear();
        self.dst.clear();
        self.pair.clear();
        self.src_as.clear();
        self.dst_as.clear();
        self.spread.clear(None);
    }

    /// Empties the batch for a fold of flows (see [`Batch::fold`]).
    fn begin(&mut self, ports: &PortSet, window: Option<&Window>, keys: bool) {
        self.clear();
        self.keys = keys;
        self.ports.fit(ports);
        self.spread.clear(window.and_then(Window::spread_range));
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
        self.begin(ports, window, keys);
        for f in flows {
            self.add(&f.into(), ports);
        }
        self.finish(true);
    }

    /// Adds one flow.
    fn add(&mut self, f: &Seen, ports: &PortSet) {
        let t = Tally::of(f);
        self.total.add(&t);
        self.count_flow::<true>(&t, f.protocol, f.tcp_flags, f.src_port, f.dst_port, ports);
        let key = ExporterKey {
            address: f.exporter,
            source_id: f.source_id,
        };
        // A datagram's flows come one after another: try the last first.
        let i = match self.exporters.last() {
            Some(l) if l.0 == key => self.exporters.len() - 1,
            _ => self.exporter_place(key),
        };
        self.exporters[i].1.count::<true>(&t, f.end_ms);
        if self.keys {
            let c = &t.raw;
            self.src.count(f.src_addr, c);
            self.dst.count(f.dst_addr, c);
            self.pair.count(f.src_addr, f.dst_addr, c);
            self.count_ases(f.src_as, f.dst_as, c);
        }
        self.spread
            .add(f.start_ms, f.end_ms, f.packets, f.octets, f.protocol);
    }

    /// Counts a flow's tally `t` per protocol, size, TCP flags and port.
    #[inline(always)]
    fn count_flow<const SCALED: bool>(
        &mut self,
        t: &Tally,
        protocol: u8,
        tcp_flags: u16,
        src_port: u16,
        dst_port: u16,
        ports: &PortSet,
    ) {
        let p = &mut self.protocols[usize::from(protocol)];
        if p.raw.flows == 0 {
            self.protocols_seen.push(protocol);
        }
        add_counts::<SCALED>(p, t);
        add_counts::<SCALED>(
            &mut self.sizes[size_bracket(t.raw.packets, t.raw.octets)],
            t,
        );
        if protocol == 6 {
            add_counts::<SCALED>(&mut self.flag_combos[flag_combo(tcp_flags)], t);
        }
        if let Some(slot) = port_protocol(protocol) {
            match ports.port_of(src_port, dst_port) {
                Some(port) => self.ports.count::<SCALED>(slot, port, ports.rank(port), t),
                None => add_counts::<SCALED>(&mut self.other_ports[slot], t),
            }
        }
    }

    /// Counts a flow's ASes (0: none).
    #[inline]
    fn count_ases(&mut self, src_as: u32, dst_as: u32, c: &Counts) {
        if src_as != 0 {
            count(&mut self.src_as, src_as, c);
        }
        if dst_as != 0 {
            count(&mut self.dst_as, dst_as, c);
        }
    }

    /// The place of an exporter in `exporters`, made when first seen.
    fn exporter_place(&mut self, key: ExporterKey) -> usize {
        *self.exporter_index.entry(key).or_insert_with(|| {
            self.exporters.push((
                key,
                ExporterBatch {
                    end_min_ms: i64::MAX,
                    end_max_ms: i64::MIN,
                    ..ExporterBatch::default()
                },
            ));
            self.exporters.len() - 1
        })
    }

    /// Ends a fold: the TCP flags added up per kind, and, unless the
    /// flows' scaled counts were counted (`scaled_counted`: some flow was
    /// sampled), the raw counts copied to them.
    fn finish(&mut self, scaled_counted: bool) {
        if !scaled_counted {
            let copy_raw_to_scaled = |t: &mut Tally| t.scaled = t.raw;
            for p in &self.protocols_seen {
                copy_raw_to_scaled(&mut self.protocols[usize::from(*p)]);
            }
            self.sizes.iter_mut().for_each(copy_raw_to_scaled);
            self.flag_combos.iter_mut().for_each(copy_raw_to_scaled);
            self.ports.copy_raw_to_scaled();
            self.other_ports.iter_mut().for_each(copy_raw_to_scaled);
            for (_, e) in &mut self.exporters {
                copy_raw_to_scaled(&mut e.tally);
            }
        }
        // Sums of sums: the same as flow by flow, saturation included
        // (every count is at least 0).
        for (combo, t) in self.flag_combos.iter().enumerate() {
            if t.raw.flows == 0 {
                continue;
            }
            for (a, on) in self.flags.iter_mut().zip(flag_kinds(flags_of_combo(combo))) {
                if on {
                    a.add(t);
                }
            }
        }
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

    /// Places a flow of `protocol` from `start_ms` to `end_ms`.
    #[inline]
    fn add(&mut self, start_ms: i64, end_ms: i64, packets: u64, octets: u64, protocol: u8) {
        let Some(range) = self.range else {
            return;
        };
        if let Some(place) = Placed::of(range, start_ms, end_ms) {
            let row = self.row(protocol);
            place.add(&mut self.rows[row].1, packets, octets);
        }
    }

    /// [`add`](Self::add) of every flow of the columns, in a loop of its
    /// own (in one loop with the view's other counts, a flow held more
    /// values than a core has registers).
    fn add_columns(
        &mut self,
        start_ms: &[i64],
        end_ms: &[i64],
        packets: &[u64],
        octets: &[u64],
        protocol: &[u8],
    ) {
        let Some(range) = self.range else {
            return;
        };
        let flows = start_ms.iter().zip(end_ms).zip(packets.iter().zip(octets));
        for (((start, end), (packets, octets)), protocol) in flows.zip(protocol) {
            if let Some(place) = Placed::of(range, *start, *end) {
                let row = self.row(*protocol);
                place.add(&mut self.rows[row].1, *packets, *octets);
            }
        }
    }

    /// The place in `rows` of `protocol`'s row, made when first seen.
    #[inline]
    fn row(&mut self, protocol: u8) -> usize {
        match self.row_of[usize::from(protocol)] {
            0 => self.new_row(protocol),
            // Rows are numbered from 1: 0 says none.
            i => usize::from(i) - 1,
        }
    }

    #[cold]
    fn new_row(&mut self, protocol: u8) -> usize {
        let len = self.len();
        if self.used == self.rows.len() {
            self.rows.push((protocol, Vec::new()));
        }
        let row = &mut self.rows[self.used];
        row.0 = protocol;
        row.1.clear();
        row.1.resize(len, [0.0; 3]);
        self.used += 1;
        self.row_of[usize::from(protocol)] = self.used as u16;
        self.used - 1
    }
}

/// The second of a time in ms: `ms.div_euclid(1000)`, in fewer
/// instructions for the times of this era (a division by a constant of an
/// unsigned number needs no corrections for the sign).
#[inline]
fn second_of(ms: i64) -> i64 {
    if ms >= 0 {
        (ms as u64 / 1000) as i64
    } else {
        ms.div_euclid(1000)
    }
}

/// Where a flow's rate starts and stops in a [`SpreadBatch`]'s rows, and
/// its share per second.
struct Placed {
    /// The rows' index of its first second placed and of the second after
    /// its last.
    from: usize,
    past: usize,
    per_sec: f64,
}

impl Placed {
    /// The place of a flow from `start_ms` to `end_ms` in rows over
    /// `(oldest, newest)`; none when it is outside.
    #[inline]
    fn of((oldest, newest): (i64, i64), start_ms: i64, end_ms: i64) -> Option<Placed> {
        // A flow whose end is before its start (an exporter's mistake)
        // lasts from the one to the other all the same.
        let (lo, hi) = if end_ms < start_ms {
            (end_ms, start_ms)
        } else {
            (start_ms, end_ms)
        };
        let (first, last) = (second_of(lo), second_of(hi));
        // The rate is over the flow's whole length; only the part from the
        // oldest second kept to a minute past the newest is placed.
        let start = first.max(oldest);
        let end = last.min(newest + SPREAD_AHEAD_SECS);
        if end < start {
            return None;
        }
        Some(Placed {
            from: (start - oldest) as usize,
            past: (end + 1 - oldest) as usize,
            // One division, not three (a division is the slowest
            // arithmetic a core does); the rates may differ from three
            // divisions' in their last bit.
            per_sec: 1.0 / (last - first + 1) as f64,
        })
    }

    /// Adds the flow's rates to `row`.
    #[inline]
    fn add(&self, row: &mut [[f64; 3]], packets: u64, octets: u64) {
        let r = [
            self.per_sec,
            packets as f64 * self.per_sec,
            octets as f64 * self.per_sec,
        ];
        for (a, b) in row[self.from].iter_mut().zip(r) {
            *a += b;
        }
        for (a, b) in row[self.past].iter_mut().zip(r) {
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
        self.advance(received_ms.div_euclid(1000));
        b.fold(flows, ports, Some(&*self), talkers);
        self.take_batch(received_ms, b, talkers);
    }

    /// [`record_counting`](Self::record_counting) of a batch of columns
    /// (see [`Batch::fold_columns`]); a batch whose columns disagree is
    /// counted as flows the view could not look at.
    pub fn record_columns(
        &mut self,
        flows: &FlowBatch,
        received_ms: i64,
        ports: &PortSet,
        b: &mut Batch,
        talkers: bool,
    ) {
        self.advance(received_ms.div_euclid(1000));
        if b.fold_columns(flows, ports, Some(&*self), talkers) {
            self.take_batch(received_ms, b, talkers);
        } else {
            self.skipped(flows.len() as u64, received_ms);
        }
    }

    /// Adds a batch folded for this window, received at `received_ms`.
    fn take_batch(&mut self, received_ms: i64, b: &mut Batch, talkers: bool) {
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

    #[test]
    fn a_seconds_edges_are_the_euclidean_divisions() {
        for ms in [
            i64::MIN,
            i64::MIN + 1,
            -1001,
            -1000,
            -999,
            -1,
            0,
            1,
            999,
            1000,
            i64::MAX,
        ] {
            assert_eq!(super::second_of(ms), ms.div_euclid(1000), "{ms}");
        }
    }

    proptest! {
        #[test]
        fn a_second_is_the_euclidean_division(ms in any::<i64>()) {
            prop_assert_eq!(super::second_of(ms), ms.div_euclid(1000));
        }

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
