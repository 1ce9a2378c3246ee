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
//! Memory: aggregation is exact, in a hash table capped at `max_keys`
//! distinct keys (default 5 million, about 0.5 GB). A report that would
//! exceed it stops with [`ReportError::TooManyKeys`], which says to narrow
//! the window or filter or to raise the cap, rather than growing without
//! bound or silently approximating.
//!
//! flow-tools report configuration files are read by [`statcfg`]. The
//! distributions, time series, flow-tools ascii and HTML output are the
//! next parts.

pub mod statcfg;

use std::net::IpAddr;

use rustc_hash::FxHashMap;

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
        "the report has more than {0} distinct keys; narrow the time window or filter, or raise --max-keys (each key takes about 100 bytes)"
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
    fn add(&mut self, f: &Flow) {
        self.flows += 1;
        self.octets = self.octets.saturating_add(f.octets);
        self.packets = self.packets.saturating_add(f.packets);
        self.duration_ms = self.duration_ms.saturating_add(f.duration_ms());
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
    /// FxHash rather than SipHash: measured by benches/compare-query.sh, the
    /// top-15 source report ran at 0.58x nfdump's speed with SipHash; keys
    /// are our own flows' values, not attacker-chosen hash flooding input
    /// worth SipHash's cost, and the table is capped by max_keys anyway.
    table: FxHashMap<Key, Counters>,
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
            table: FxHashMap::default(),
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
                let key = Key::pack(&k[..self.width]);
                let len = self.table.len();
                match self.table.get_mut(&key) {
                    Some(c) => c.add(f),
                    None => {
                        if len >= self.max_keys {
                            return Err(ReportError::TooManyKeys(self.max_keys));
                        }
                        let mut c = Counters::default();
                        c.add(f);
                        self.table.insert(key, c);
                    }
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
        let mut rows: Vec<(&Key, &Counters)> = self.table.iter().collect();
        let order = |a: &(&Key, &Counters), b: &(&Key, &Counters)| {
            let by = if sort.largest_first {
                metric(b.1).cmp(&metric(a.1))
            } else {
                metric(a.1).cmp(&metric(b.1))
            };
            let key = if sort.field == SortField::Key && sort.largest_first {
                b.0.cmp_parts(a.0, width)
            } else {
                a.0.cmp_parts(b.0, width)
            };
            by.then(key)
        };
        let n = records.unwrap_or(usize::MAX).min(rows.len());
        if n > 0 && n < rows.len() {
            rows.select_nth_unstable_by(n - 1, order);
            rows.truncate(n);
        }
        rows.sort_unstable_by(order);
        rows.into_iter()
            .map(|(k, c)| Row {
                key: k.unpack(width),
                counters: *c,
            })
            .collect()
    }

    /// Number of distinct keys.
    pub fn keys(&self) -> usize {
        self.table.len()
    }
}

/// `1234567` as `1.2 M` (powers of 1000), for text output.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 7] = ["", " k", " M", " G", " T", " P", " E"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        n.to_string()
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// The report as aligned text with human units and percentages of the total.
pub fn render_text(r: &Report, rows: &[Row], title: &str) -> String {
    let cols = r.kind.columns();
    let mut out = format!(
        "# {title}\n# {} flows, {} octets, {} packets in all; {} keys\n",
        r.totals.flows,
        human(r.totals.octets),
        human(r.totals.packets),
        r.keys()
    );
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|row| row.key[i].to_string().len())
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    let mut head: Vec<String> = cols
        .iter()
        .zip(&widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    head.extend(
        ["flows", "octets", "packets", "octets%"]
            .iter()
            .map(|h| format!("{h:>10}")),
    );
    out.push_str(head.join("  ").trim_end());
    out.push('\n');
    for row in rows {
        let mut cells: Vec<String> = row
            .key
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{:<w$}", v.to_string()))
            .collect();
        cells.push(format!("{:>10}", row.counters.flows));
        cells.push(format!("{:>10}", human(row.counters.octets)));
        cells.push(format!("{:>10}", human(row.counters.packets)));
        cells.push(format!(
            "{:>10.2}",
            pct(row.counters.octets, r.totals.octets)
        ));
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The report as CSV: key columns (catalog names), then flows, octets,
/// packets, duration_ms, octets_pct, flows_pct.
pub fn render_csv(r: &Report, rows: &[Row]) -> String {
    let mut out = r.kind.columns().join(",");
    out.push_str(",flows,octets,packets,duration_ms,octets_pct,flows_pct\n");
    for row in rows {
        let key: Vec<String> = row.key.iter().map(Val::to_string).collect();
        let c = row.counters;
        out.push_str(&format!(
            "{},{},{},{},{},{:.4},{:.4}\n",
            key.join(","),
            c.flows,
            c.octets,
            c.packets,
            c.duration_ms,
            pct(c.octets, r.totals.octets),
            pct(c.flows, r.totals.flows)
        ));
    }
    out
}

/// The report as one JSON document: type, totals and rows.
pub fn render_json(
    r: &Report,
    rows: &[Row],
    sort: Sort,
    records: Option<usize>,
) -> serde_json::Value {
    let cols = r.kind.columns();
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut o = serde_json::Map::new();
            for (c, v) in cols.iter().zip(&row.key) {
                let val = match v {
                    Val::N(n) => serde_json::Value::from(*n),
                    other => serde_json::Value::from(other.to_string()),
                };
                o.insert(c.to_string(), val);
            }
            let c = row.counters;
            o.insert("flows".into(), c.flows.into());
            o.insert("octets".into(), c.octets.into());
            o.insert("packets".into(), c.packets.into());
            o.insert("duration_ms".into(), c.duration_ms.into());
            o.insert("octets_pct".into(), pct(c.octets, r.totals.octets).into());
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({
        "report": r.kind.name,
        "sort": format!("{}{:?}", if sort.largest_first { "+" } else { "-" }, sort.field).to_lowercase(),
        "records": records,
        "totals": {
            "flows": r.totals.flows,
            "octets": r.totals.octets,
            "packets": r.totals.packets,
            "duration_ms": r.totals.duration_ms,
            "ignores": r.ignores,
            "keys": r.keys(),
        },
        "rows": rows,
    })
}
