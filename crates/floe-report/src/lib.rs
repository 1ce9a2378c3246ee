//! floe stat-reports.
//!
//! A report type is a flow-tools report name (`ip-source-address`,
//! `ip-source-address/ip-destination-port`,
//! `ip-source/destination-address/ip-source/destination-port`...). Names are
//! composed from key atoms, so any combination of the address, port,
//! protocol, ToS, interface, AS and engine keys is a name, not new code.
//! `ip-address` and `ip-port` count each flow under both of its ends.
//!
//! Counters per key: flows, octets, packets, total duration; totals and
//! percentages over the whole input. `sort +FIELD` lists the largest first
//! and `-FIELD` the smallest first, which is what flow-report actually does
//! (its manual reads the other way round); ties are broken by key, so output
//! is deterministic.
//!
//! Memory: aggregation is exact, in hash tables capped at `max_keys`
//! distinct keys in all (default 5 million). Keys whose address parts are
//! all IPv4 (most keys on most networks) are packed into 16 bytes, four
//! 32-bit parts, for 48-byte entries; keys with an IPv6 part take 112. A
//! report that would exceed the cap stops with
//! [`ReportError::TooManyKeys`], which says to narrow the window or filter
//! or to raise the cap, rather than growing without bound or silently
//! approximating.
//!
//! flow-tools report configuration files are read by [`statcfg`]. The
//! distributions, time series, flow-tools ascii and HTML output are the
//! next parts.

mod html;
mod render;
pub mod statcfg;
mod table;

pub use html::{render_html, render_html_sections, HtmlReport, HtmlSection, HtmlTable};
pub use render::{human, render_csv, render_json, render_text};

use std::net::IpAddr;

use floe_flow::Flow;

/// One part of a report key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyPart {
    SrcAddr,
    DstAddr,
    NextHop,
    Exporter,
    SrcPort,
    DstPort,
    Protocol,
    Tos,
    InIf,
    OutIf,
    SrcAs,
    DstAs,
    EngineId,
    EngineType,
}

impl KeyPart {
    /// The catalog name of the field (CSV/JSON column).
    pub fn name(&self) -> &'static str {
        match self {
            KeyPart::SrcAddr => "ip-source-address",
            KeyPart::DstAddr => "ip-destination-address",
            KeyPart::NextHop => "ip-next-hop-address",
            KeyPart::Exporter => "ip-exporter-address",
            KeyPart::SrcPort => "ip-source-port",
            KeyPart::DstPort => "ip-destination-port",
            KeyPart::Protocol => "ip-protocol",
            KeyPart::Tos => "ip-tos",
            KeyPart::InIf => "input-interface",
            KeyPart::OutIf => "output-interface",
            KeyPart::SrcAs => "source-as",
            KeyPart::DstAs => "destination-as",
            KeyPart::EngineId => "engine-id",
            KeyPart::EngineType => "engine-type",
        }
    }

    /// The same part at the flow's other end (ip-address and ip-port
    /// count both); parts with no other end are themselves.
    pub fn other_end(&self) -> KeyPart {
        match self {
            KeyPart::SrcAddr => KeyPart::DstAddr,
            KeyPart::DstAddr => KeyPart::SrcAddr,
            KeyPart::SrcPort => KeyPart::DstPort,
            KeyPart::DstPort => KeyPart::SrcPort,
            KeyPart::InIf => KeyPart::OutIf,
            KeyPart::OutIf => KeyPart::InIf,
            KeyPart::SrcAs => KeyPart::DstAs,
            KeyPart::DstAs => KeyPart::SrcAs,
            other => *other,
        }
    }

    fn is_address(&self) -> bool {
        matches!(
            self,
            KeyPart::SrcAddr | KeyPart::DstAddr | KeyPart::NextHop | KeyPart::Exporter
        )
    }

    fn value(&self, f: &Flow) -> Val {
        let a = |ip: IpAddr| match ip {
            IpAddr::V4(v) => Val::V4(u32::from(v)),
            IpAddr::V6(v) => Val::V6(u128::from(v)),
        };
        match self {
            KeyPart::SrcAddr => a(f.src_addr),
            KeyPart::DstAddr => a(f.dst_addr),
            KeyPart::NextHop => a(f.next_hop),
            KeyPart::Exporter => a(f.exporter),
            KeyPart::SrcPort => Val::N(f.src_port.into()),
            KeyPart::DstPort => Val::N(f.dst_port.into()),
            KeyPart::Protocol => Val::N(f.protocol.into()),
            KeyPart::Tos => Val::N(f.tos.into()),
            KeyPart::InIf => Val::N(f.input_if.into()),
            KeyPart::OutIf => Val::N(f.output_if.into()),
            KeyPart::SrcAs => Val::N(f.src_as.into()),
            KeyPart::DstAs => Val::N(f.dst_as.into()),
            KeyPart::EngineId => Val::N(f.engine_id.into()),
            KeyPart::EngineType => Val::N(f.engine_type.into()),
        }
    }
}

/// A key value: IPv4 sorts before IPv6, numbers numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Val {
    N(u64),
    V4(u32),
    V6(u128),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::N(n) => write!(f, "{n}"),
            Val::V4(v) => write!(f, "{}", std::net::Ipv4Addr::from(*v)),
            Val::V6(v) => write!(f, "{}", std::net::Ipv6Addr::from(*v)),
        }
    }
}

/// Names that stand for one or two key parts, longest first so that
/// `ip-source/destination-address` is not read as `ip-source`.
const ATOMS: &[(&str, &[KeyPart])] = &[
    (
        "ip-source/destination-address",
        &[KeyPart::SrcAddr, KeyPart::DstAddr],
    ),
    (
        "ip-source/destination-port",
        &[KeyPart::SrcPort, KeyPart::DstPort],
    ),
    ("input/output-interface", &[KeyPart::InIf, KeyPart::OutIf]),
    ("source/destination-as", &[KeyPart::SrcAs, KeyPart::DstAs]),
    ("ip-destination-address", &[KeyPart::DstAddr]),
    ("ip-source-address", &[KeyPart::SrcAddr]),
    ("ip-next-hop-address", &[KeyPart::NextHop]),
    ("ip-exporter-address", &[KeyPart::Exporter]),
    ("ip-destination-port", &[KeyPart::DstPort]),
    ("ip-source-port", &[KeyPart::SrcPort]),
    ("ip-protocol", &[KeyPart::Protocol]),
    ("ip-tos", &[KeyPart::Tos]),
    ("input-interface", &[KeyPart::InIf]),
    ("output-interface", &[KeyPart::OutIf]),
    ("destination-as", &[KeyPart::DstAs]),
    ("source-as", &[KeyPart::SrcAs]),
    ("engine-id", &[KeyPart::EngineId]),
    ("engine-type", &[KeyPart::EngineType]),
];

/// Most parts a key may have.
pub const MAX_PARTS: usize = 4;

/// A report type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportType {
    pub name: String,
    pub parts: Vec<KeyPart>,
    /// `ip-address` / `ip-port`: the flow counts under both ends, and the
    /// key column is that end's value.
    pub both_ends: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("unknown report type {name:?} (at {rest:?}); valid keys: {valid}, and ip-address, ip-port; combine with /")]
    UnknownType {
        name: String,
        rest: String,
        valid: String,
    },
    #[error("report type {0:?} has more than 4 key parts")]
    TooManyParts(String),
    #[error("unknown sort field {0:?}; valid: +/-flows, octets, packets, duration, key")]
    UnknownSort(String),
    #[error(
        "the report has more than {0} distinct keys; narrow the time window or filter, or raise --max-keys (each key takes 50 to 120 bytes)"
    )]
    TooManyKeys(usize),
}

impl ReportType {
    pub fn parse(name: &str) -> Result<ReportType, ReportError> {
        let n = name.trim().to_ascii_lowercase();
        match n.as_str() {
            "ip-address" => {
                return Ok(ReportType {
                    name: n.clone(),
                    parts: vec![KeyPart::SrcAddr],
                    both_ends: true,
                })
            }
            "ip-port" => {
                return Ok(ReportType {
                    name: n.clone(),
                    parts: vec![KeyPart::SrcPort],
                    both_ends: true,
                })
            }
            _ => {}
        }
        let mut parts = Vec::new();
        let mut rest = n.as_str();
        while !rest.is_empty() {
            let Some((atom, ps)) = ATOMS.iter().find(|(a, _)| {
                rest.starts_with(a) && (rest.len() == a.len() || rest[a.len()..].starts_with('/'))
            }) else {
                let valid: Vec<&str> = ATOMS.iter().map(|a| a.0).collect();
                return Err(ReportError::UnknownType {
                    name: name.to_string(),
                    rest: rest.to_string(),
                    valid: valid.join(", "),
                });
            };
            parts.extend_from_slice(ps);
            rest = rest[atom.len()..].trim_start_matches('/');
        }
        if parts.len() > MAX_PARTS {
            return Err(ReportError::TooManyParts(name.to_string()));
        }
        Ok(ReportType {
            name: n,
            parts,
            both_ends: false,
        })
    }

    /// The column names of the key.
    pub fn columns(&self) -> Vec<&'static str> {
        if self.both_ends {
            return vec![if self.parts[0].is_address() {
                "ip-address"
            } else {
                "ip-port"
            }];
        }
        self.parts.iter().map(KeyPart::name).collect()
    }
}

/// Counters of one key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub flows: u64,
    pub octets: u64,
    pub packets: u64,
    pub duration_ms: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, f: &Flow) {
        self.flows += 1;
        self.octets = self.octets.saturating_add(f.octets);
        self.packets = self.packets.saturating_add(f.packets);
        self.duration_ms = self.duration_ms.saturating_add(f.duration_ms());
    }

    pub(crate) fn merge(&mut self, o: &Counters) {
        self.flows += o.flows;
        self.octets = self.octets.saturating_add(o.octets);
        self.packets = self.packets.saturating_add(o.packets);
        self.duration_ms = self.duration_ms.saturating_add(o.duration_ms);
    }
}

/// A key as stored: every part as a u128 (addresses whole, numbers
/// zero-extended) and a 2-bit tag per part telling which. Inline and
/// compared word by word: the first version boxed its keys, and every
/// lookup's comparison was then a cache miss (39% of a report's time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    vals: [u128; MAX_PARTS],
    tags: u8,
}

impl Key {
    fn pack(parts: &[Val]) -> Key {
        let mut k = Key {
            vals: [0; MAX_PARTS],
            tags: 0,
        };
        for (i, v) in parts.iter().enumerate() {
            let (tag, x) = match v {
                Val::N(n) => (0u8, u128::from(*n)),
                Val::V4(a) => (1, u128::from(*a)),
                Val::V6(a) => (2, *a),
            };
            k.vals[i] = x;
            k.tags |= tag << (2 * i);
        }
        k
    }

    /// The order of the unpacked values (numbers, then IPv4, then IPv6,
    /// each numerically), without unpacking.
    fn cmp_parts(&self, other: &Key, width: usize) -> std::cmp::Ordering {
        for i in 0..width {
            let (a, b) = ((self.tags >> (2 * i)) & 3, (other.tags >> (2 * i)) & 3);
            let o = a.cmp(&b).then(self.vals[i].cmp(&other.vals[i]));
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    }

    fn unpack(&self, width: usize) -> Vec<Val> {
        (0..width)
            .map(|i| match (self.tags >> (2 * i)) & 3 {
                0 => Val::N(self.vals[i] as u64),
                1 => Val::V4(self.vals[i] as u32),
                _ => Val::V6(self.vals[i]),
            })
            .collect()
    }
}

/// What to sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    Flows,
    Octets,
    Packets,
    Duration,
    Key,
}

/// `+FIELD` largest first, `-FIELD` smallest first (flow-report's actual
/// behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub largest_first: bool,
}

impl Sort {
    pub fn parse(s: &str) -> Result<Sort, ReportError> {
        let t = s.trim();
        let (largest_first, name) = match t.strip_prefix('-') {
            Some(n) => (false, n),
            None => (true, t.trim_start_matches('+')),
        };
        let field = match name {
            "flows" => SortField::Flows,
            "octets" | "bytes" => SortField::Octets,
            "packets" => SortField::Packets,
            "duration" => SortField::Duration,
            "key" | "" => SortField::Key,
            _ => return Err(ReportError::UnknownSort(s.to_string())),
        };
        Ok(Sort {
            field,
            largest_first,
        })
    }
}

/// A report being computed.
pub struct Report {
    pub kind: ReportType,
    /// Keys whose parts all fit 32 bits (every address part IPv4), four
    /// parts packed into a u128. FxHash rather than SipHash: measured by
    /// benches/compare-query.sh, the top-15 source report ran at 0.58x
    /// nfdump's speed with SipHash; keys are our own flows' values, not
    /// attacker-chosen hash flooding input worth SipHash's cost, and the
    /// tables are capped by max_keys anyway. The packed table made the
    /// 3-part report over 10 M flows take 1.0 GB instead of 2.7 GB.
    compact: table::Table<u128>,
    /// Keys with an IPv6 part.
    wide: table::Table<Key>,
    pub totals: Counters,
    /// Flows with zero packets (counted in totals' flows, flow-tools'
    /// "ignores").
    pub ignores: u64,
    max_keys: usize,
    /// Parts in a key.
    width: usize,
}

/// One row of a finished report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub key: Vec<Val>,
    pub counters: Counters,
}

impl Report {
    pub fn new(kind: ReportType, max_keys: usize) -> Report {
        Report {
            width: kind.columns().len(),
            kind,
            compact: table::Table::new(),
            wide: table::Table::new(),
            totals: Counters::default(),
            ignores: 0,
            max_keys,
        }
    }

    fn key_of(&self, f: &Flow, first: KeyPart) -> [Val; MAX_PARTS] {
        let mut k = [Val::N(0); MAX_PARTS];
        if self.kind.both_ends {
            k[0] = first.value(f);
        } else {
            for (slot, p) in k.iter_mut().zip(&self.kind.parts) {
                *slot = p.value(f);
            }
        }
        k
    }

    /// Adds flows to the report.
    pub fn add(&mut self, flows: &[Flow]) -> Result<(), ReportError> {
        for f in flows {
            self.totals.add(f);
            if f.packets == 0 {
                self.ignores += 1;
            }
            let ends: &[KeyPart] = if self.kind.both_ends {
                if self.kind.parts[0].is_address() {
                    &[KeyPart::SrcAddr, KeyPart::DstAddr]
                } else {
                    &[KeyPart::SrcPort, KeyPart::DstPort]
                }
            } else {
                &[KeyPart::SrcAddr]
            };
            for (i, end) in ends.iter().enumerate() {
                let k = self.key_of(f, *end);
                // ip-address: a flow whose two ends are equal counts once.
                if i == 1 && k == self.key_of(f, ends[0]) {
                    continue;
                }
                let full = self.compact.len() + self.wide.len() >= self.max_keys;
                let vals = &k[..self.width];
                let added = match compact_key(vals) {
                    Some(key) => self.compact.bump(key, f, full),
                    None => self.wide.bump(Key::pack(vals), f, full),
                };
                if !added {
                    return Err(ReportError::TooManyKeys(self.max_keys));
                }
            }
        }
        Ok(())
    }

    /// The rows, sorted, at most `records` of them. Only the rows shown
    /// are fully sorted (a partial selection finds them first).
    pub fn rows(&self, sort: Sort, records: Option<usize>) -> Vec<Row> {
        let width = self.width;
        let metric = |c: &Counters| match sort.field {
            SortField::Flows => c.flows,
            SortField::Octets => c.octets,
            SortField::Packets => c.packets,
            SortField::Duration => c.duration_ms,
            SortField::Key => 0,
        };
        // References into both tables; a packed key is widened only when
        // compared.
        let all = self
            .compact
            .iter()
            .map(|(k, c)| (KeyRef::Compact(k), c))
            .chain(self.wide.iter().map(|(k, c)| (KeyRef::Wide(k), c)));
        let parts = &self.kind.parts;
        let order = |a: &(KeyRef, &Counters), b: &(KeyRef, &Counters)| {
            let by = if sort.largest_first {
                metric(b.1).cmp(&metric(a.1))
            } else {
                metric(a.1).cmp(&metric(b.1))
            };
            by.then_with(|| {
                let (x, y) = (a.0.key(parts, width), b.0.key(parts, width));
                if sort.field == SortField::Key && sort.largest_first {
                    y.cmp_parts(&x, width)
                } else {
                    x.cmp_parts(&y, width)
                }
            })
        };
        // Top N in O(keys) time and O(N) memory: keep a buffer of at most
        // 2N candidates, cut back to the best N whenever it fills.
        let n = records.unwrap_or(usize::MAX);
        if n == 0 {
            return Vec::new();
        }
        let cap = n.saturating_mul(2).max(4096);
        let mut rows: Vec<(KeyRef, &Counters)> = Vec::new();
        for r in all {
            rows.push(r);
            if rows.len() >= cap {
                rows.select_nth_unstable_by(n - 1, order);
                rows.truncate(n);
            }
        }
        if n < rows.len() {
            rows.select_nth_unstable_by(n - 1, order);
            rows.truncate(n);
        }
        rows.sort_unstable_by(order);
        rows.into_iter()
            .map(|(k, c)| Row {
                key: k.key(parts, width).unpack(width),
                counters: *c,
            })
            .collect()
    }

    /// Adds a report of the same type computed over other flows (another
    /// thread's share of the blocks). Merge the smaller into the larger:
    /// the larger's table is the one that grows.
    pub fn merge(&mut self, other: Report) -> Result<(), ReportError> {
        self.totals.merge(&other.totals);
        self.ignores += other.ignores;
        self.compact.merge(other.compact);
        self.wide.merge(other.wide);
        if self.keys() > self.max_keys {
            return Err(ReportError::TooManyKeys(self.max_keys));
        }
        Ok(())
    }

    /// Number of distinct keys.
    pub fn keys(&self) -> usize {
        self.compact.len() + self.wide.len()
    }
}

/// The key packed into 32-bit lanes when every part fits (numbers always
/// do: ports, protocol, ToS, interfaces, AS numbers and engine ids are at
/// most 32 bits; addresses when IPv4).
fn compact_key(vals: &[Val]) -> Option<u128> {
    let mut k = 0u128;
    for (i, v) in vals.iter().enumerate() {
        let lane = match *v {
            Val::N(n) => u32::try_from(n).ok()?,
            Val::V4(a) => a,
            Val::V6(_) => return None,
        };
        k |= u128::from(lane) << (32 * i);
    }
    Some(k)
}

/// A key in either table.
#[derive(Clone, Copy)]
enum KeyRef<'a> {
    Compact(&'a u128),
    Wide(&'a Key),
}

impl KeyRef<'_> {
    /// The key in its wide form (which orders and unpacks).
    fn key(&self, parts: &[KeyPart], width: usize) -> Key {
        match self {
            KeyRef::Wide(k) => **k,
            KeyRef::Compact(c) => {
                let mut vals = [Val::N(0); MAX_PARTS];
                for (i, v) in vals.iter_mut().enumerate().take(width) {
                    let lane = (*c >> (32 * i)) as u32;
                    // ip-address / ip-port keep their one part in lane 0.
                    let part = parts.get(i).copied().unwrap_or(KeyPart::SrcAddr);
                    *v = if part.is_address() {
                        Val::V4(lane)
                    } else {
                        Val::N(u64::from(lane))
                    };
                }
                Key::pack(&vals[..width])
            }
        }
    }
}
