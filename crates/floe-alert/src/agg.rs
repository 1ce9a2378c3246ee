//! Window tables: what a rule counts per key, fed one file at a time, and
//! the one pass over a file that feeds every rule.
//!
//! A file is read once for all the rules that want it: its blocks are
//! decoded with the union of the columns those rules read, spread over the
//! threads, and each block's flows go through every rule's filter into
//! that rule's table for the file; the file's tables are then added to the
//! rules' window tables.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use floe_flow::Flow;
use floe_report::{AddrFormat, AddrStyle, KeyPart};
use floe_store::{BlockDecoder, FlowFile, Projection, StoreError};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::rules::{AggSpec, KeySpec, Source, Target};
use crate::value::{KVal, Key};

/// Flows, packets and octets of a key; lost flows for the exporters'.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sums {
    pub flows: u64,
    pub packets: u64,
    pub octets: u64,
    pub lost: u64,
}

impl Sums {
    fn add_flow(&mut self, f: &Flow) {
        self.flows += 1;
        self.packets = self.packets.saturating_add(f.packets);
        self.octets = self.octets.saturating_add(f.octets);
    }

    pub fn merge(&mut self, o: &Sums) {
        self.flows = self.flows.saturating_add(o.flows);
        self.packets = self.packets.saturating_add(o.packets);
        self.octets = self.octets.saturating_add(o.octets);
        self.lost = self.lost.saturating_add(o.lost);
    }
}

/// One table's counts over a window (or over one file, before it is added
/// to the window's).
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// By the group key, or (rules without one) by the key listed with
    /// alerts.
    pub sums: FxHashMap<Key, Sums>,
    /// Everything the filter kept.
    pub total: Sums,
    /// Distinct (group key, value) pairs, for distinct counts.
    pub pairs: FxHashSet<(Key, KVal)>,
    /// Keys and pairs not kept because the table was full.
    pub overflow: u64,
}

impl Table {
    /// Adds `other` (a file's table) to this one; at most `max` keys and
    /// `max` pairs are kept.
    pub fn merge(&mut self, other: Table, max: usize) {
        self.total.merge(&other.total);
        self.overflow = self.overflow.saturating_add(other.overflow);
        for (k, s) in other.sums {
            if let Some(e) = self.sums.get_mut(&k) {
                e.merge(&s);
            } else if self.sums.len() < max {
                self.sums.insert(k, s);
            } else {
                self.overflow += 1;
            }
        }
        for p in other.pairs {
            if self.pairs.len() < max || self.pairs.contains(&p) {
                self.pairs.insert(p);
            } else {
                self.overflow += 1;
            }
        }
    }

    /// Distinct counts per group key.
    pub fn distinct_counts(&self) -> FxHashMap<Key, u64> {
        let mut out: FxHashMap<Key, u64> = FxHashMap::default();
        for (k, _) in &self.pairs {
            *out.entry(*k).or_default() += 1;
        }
        out
    }
}

/// A key part's value for a flow.
fn part(p: KeyPart, f: &Flow, src: &AddrFormat, dst: &AddrFormat) -> KVal {
    match p {
        KeyPart::SrcAddr => addr(f.src_addr, f.src_mask, src),
        KeyPart::DstAddr => addr(f.dst_addr, f.dst_mask, dst),
        KeyPart::NextHop => KVal::A(f.next_hop),
        KeyPart::Exporter => KVal::A(f.exporter),
        KeyPart::SrcPort => KVal::N(f.src_port.into()),
        KeyPart::DstPort => KVal::N(f.dst_port.into()),
        KeyPart::Protocol => KVal::N(f.protocol.into()),
        KeyPart::Tos => KVal::N(f.tos.into()),
        KeyPart::InIf => KVal::N(f.input_if.into()),
        KeyPart::OutIf => KVal::N(f.output_if.into()),
        KeyPart::SrcAs => KVal::N(f.src_as.into()),
        KeyPart::DstAs => KVal::N(f.dst_as.into()),
        KeyPart::EngineId => KVal::N(f.engine_id.into()),
        KeyPart::EngineType => KVal::N(f.engine_type.into()),
        // Refused as group keys when the rules are read.
        _ => KVal::N(0),
    }
}

/// An address as a format keys it (flow-tools' address, prefix-len and
/// prefix-mask; a fixed length always cuts).
pub fn addr(a: IpAddr, mask: u8, fmt: &AddrFormat) -> KVal {
    if fmt.style == AddrStyle::Address {
        return KVal::A(a);
    }
    let cut = fmt.style == AddrStyle::PrefixMask || fmt.fixed.is_some();
    match a {
        IpAddr::V4(v) => {
            let len = fmt.fixed.map_or(mask, |x| x.0).min(32);
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            let x = if cut { u32::from(v) & m } else { u32::from(v) };
            KVal::P(IpAddr::V4(x.into()), len)
        }
        IpAddr::V6(v) => {
            let len = fmt.fixed.map_or(mask, |x| x.1).min(128);
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            let x = if cut {
                u128::from(v) & m
            } else {
                u128::from(v)
            };
            KVal::P(IpAddr::V6(x.into()), len)
        }
    }
}

/// The keys a flow counts under: one, or two for `ip-address`/`ip-port`
/// (one when both ends are equal). Returns how many of `out` are set.
fn keys_of(spec: &KeySpec, f: &Flow, out: &mut [Key; 2]) -> usize {
    let (s, d) = (&spec.src_format, &spec.dst_format);
    if spec.both_ends {
        let p = spec.parts[0];
        let a = part(p, f, s, d);
        let b = part(p.other_end(), f, s, d);
        out[0] = Key::from_parts(&[a]);
        if a == b {
            return 1;
        }
        out[1] = Key::from_parts(&[b]);
        return 2;
    }
    let mut k = Key::EMPTY;
    for (i, p) in spec.parts.iter().enumerate() {
        k.set(i, part(*p, f, s, d));
    }
    out[0] = k;
    1
}

/// The distinct value a flow brings.
fn target(t: Target, f: &Flow) -> KVal {
    match t {
        Target::DstHost => KVal::A(f.dst_addr),
        Target::DstPort => KVal::N(f.dst_port.into()),
        Target::SrcHost => KVal::A(f.src_addr),
    }
}

impl AggSpec {
    /// Adds the flows the filter keeps to `t`, at most `max` keys.
    pub fn feed(&self, flows: &[Flow], t: &mut Table, max: usize) {
        let table_key = self.key.as_ref().or(self.detail.as_ref());
        let distinct = match self.source {
            Source::Distinct(x) => Some(x),
            _ => None,
        };
        let mut keys = [Key::EMPTY; 2];
        for f in flows {
            if let Some(flt) = &self.filter {
                if !flt.matches(f) {
                    continue;
                }
            }
            t.total.add_flow(f);
            let n = match table_key {
                Some(spec) => keys_of(spec, f, &mut keys),
                None => {
                    keys[0] = Key::EMPTY;
                    1
                }
            };
            for k in &keys[..n] {
                if let Some(e) = t.sums.get_mut(k) {
                    e.add_flow(f);
                } else if t.sums.len() < max {
                    let mut s = Sums::default();
                    s.add_flow(f);
                    t.sums.insert(*k, s);
                } else {
                    t.overflow += 1;
                }
                if let Some(x) = distinct {
                    // Without a group key the pairs are the empty key's.
                    let g = if self.key.is_some() { *k } else { Key::EMPTY };
                    let pair = (g, target(x, f));
                    if t.pairs.len() < max || t.pairs.contains(&pair) {
                        t.pairs.insert(pair);
                    } else {
                        t.overflow += 1;
                    }
                }
            }
        }
    }

    /// A file's exporter counters as a table (lost flows).
    pub fn counters(&self, file: &FlowFile) -> Table {
        let mut t = Table::default();
        for (k, c) in file.counters() {
            let key = match &self.key {
                Some(_) => Key::from_parts(&[KVal::A(k.address)]),
                None => Key::EMPTY,
            };
            let s = Sums {
                lost: c.lost_flows,
                ..Sums::default()
            };
            t.total.merge(&s);
            t.sums.entry(key).or_default().merge(&s);
        }
        t
    }
}

/// Reads `file` once for the tables `specs`, over `threads` threads: the
/// file's table for each spec, in order, and the damaged blocks met (the
/// others are read).
pub fn read_file(
    file: &FlowFile,
    specs: &[&AggSpec],
    max: usize,
    threads: usize,
) -> Result<(Vec<Table>, Vec<StoreError>), StoreError> {
    let mut fields: Vec<&str> = Vec::new();
    for s in specs.iter().filter(|s| s.reads_flows()) {
        fields.extend(s.fields());
    }
    let reads = specs.iter().any(|s| s.reads_flows());
    let mut tables: Vec<Table> = specs
        .iter()
        .map(|s| {
            if s.reads_flows() {
                Table::default()
            } else {
                s.counters(file)
            }
        })
        .collect();
    if !reads || file.blocks().is_empty() {
        return Ok((tables, Vec::new()));
    }
    let projection = Projection::of_fields(fields.iter().copied())
        .map_err(|m| StoreError::Config(format!("projection: {m}")))?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Vec<Table>>> = Mutex::new(Vec::new());
    let damage: Mutex<Vec<StoreError>> = Mutex::new(Vec::new());
    let setup: Mutex<Option<StoreError>> = Mutex::new(None);
    let n = threads.clamp(1, 16).min(file.blocks().len());
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                let mut decoder = match BlockDecoder::new() {
                    Ok(d) => d,
                    Err(e) => {
                        if let Ok(mut x) = setup.lock() {
                            *x = Some(StoreError::Io {
                                path: file.path().to_path_buf(),
                                source: e,
                            });
                        }
                        return;
                    }
                };
                decoder.set_projection(projection);
                let mut mine: Vec<Table> = specs.iter().map(|_| Table::default()).collect();
                let mut flows = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= file.blocks().len() {
                        break;
                    }
                    flows.clear();
                    if let Err(e) = file.read_block(i, &mut decoder, &mut flows) {
                        if let Ok(mut d) = damage.lock() {
                            d.push(e);
                        }
                        continue;
                    }
                    for (spec, t) in specs.iter().zip(mine.iter_mut()) {
                        if spec.reads_flows() {
                            spec.feed(&flows, t, max);
                        }
                    }
                }
                if let Ok(mut r) = results.lock() {
                    r.push(mine);
                }
            });
        }
    });
    if let Some(e) = setup.into_inner().ok().flatten() {
        return Err(e);
    }
    for part in results.into_inner().unwrap_or_default() {
        for ((spec, t), p) in specs.iter().zip(tables.iter_mut()).zip(part) {
            if spec.reads_flows() {
                t.merge(p, max);
            }
        }
    }
    let mut damage = damage.into_inner().unwrap_or_default();
    damage.sort_by_key(|e| e.to_string());
    Ok((tables, damage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(text: &str) -> AggSpec {
        let s = crate::rules::parse(text, Path::new("t.toml"), &floe_store::Zone::Utc).unwrap();
        s.aggs[0].clone()
    }

    fn flow(src: &str, dst: &str, port: u16, octets: u64) -> Flow {
        Flow {
            src_addr: src.parse().unwrap(),
            dst_addr: dst.parse().unwrap(),
            dst_port: port,
            protocol: 6,
            packets: 1,
            octets,
            ..Flow::default()
        }
    }

    #[test]
    fn both_ends_count_once_each() {
        let a = spec("[[rule]]\nname=\"q\"\npreset=\"quota\"\nlimit=1\n");
        let mut t = Table::default();
        a.feed(
            &[
                flow("10.0.0.1", "10.0.0.2", 80, 100),
                flow("10.0.0.1", "10.0.0.1", 80, 7),
            ],
            &mut t,
            100,
        );
        let k = |s: &str| Key::from_parts(&[KVal::A(s.parse().unwrap())]);
        assert_eq!(t.sums[&k("10.0.0.1")].octets, 107);
        assert_eq!(t.sums[&k("10.0.0.2")].octets, 100);
        assert_eq!(t.total.octets, 107);
    }

    #[test]
    fn distinct_pairs_and_the_cap() {
        let a = spec("[[rule]]\nname=\"s\"\nmetric=\"destination-ports\"\nby=\"ip-source-address\"\nabove=1\nsrc_format=\"prefix-mask/24\"\n");
        let mut t = Table::default();
        let flows: Vec<Flow> = (0..10)
            .map(|p| flow("10.0.0.7", "192.0.2.1", p, 1))
            .chain([flow("10.0.0.9", "192.0.2.1", 3, 1)])
            .collect();
        a.feed(&flows, &mut t, 100);
        let c = t.distinct_counts();
        let net = Key::from_parts(&[KVal::P("10.0.0.0".parse().unwrap(), 24)]);
        assert_eq!(c[&net], 10);
        let mut small = Table::default();
        a.feed(&flows, &mut small, 4);
        assert_eq!(small.pairs.len(), 4);
        assert!(small.overflow > 0);
    }
}
