//! Report types: flow-tools report names composed from key atoms.

use floe_flow::Flow;

use crate::counters::Sample;
use crate::error::ReportError;
use crate::key::{Lane, Val, MAX_PARTS};

/// One part of a report key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyPart {
    /// Source address.
    SrcAddr,
    /// Destination address.
    DstAddr,
    /// Next-hop router.
    NextHop,
    /// The exporter's address.
    Exporter,
    /// Source port.
    SrcPort,
    /// Destination port.
    DstPort,
    /// IP protocol.
    Protocol,
    /// Type of service byte.
    Tos,
    /// Input interface.
    InIf,
    /// Output interface.
    OutIf,
    /// Source AS.
    SrcAs,
    /// Destination AS.
    DstAs,
    /// NetFlow engine id.
    EngineId,
    /// NetFlow engine type.
    EngineType,
    /// Distributions: the flow's own (scaled) values as the key.
    /// Octets per packet.
    PacketSize,
    /// Octets of the flow (a distribution).
    Octets,
    /// Packets of the flow (a distribution).
    Packets,
    /// Bits per second over the flow's duration (0 for a flow of no duration).
    Bps,
    /// Packets per second over the flow's duration.
    Pps,
    /// Milliseconds.
    Duration,
    /// The start of the interval of a time series.
    Interval,
}

impl KeyPart {
    /// The column name (a catalog field name where there is one; the
    /// distributions' are prefixed `flow-` so as not to clash with the
    /// counters' columns).
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
            KeyPart::PacketSize => "packet-size",
            KeyPart::Octets => "flow-octets",
            KeyPart::Packets => "flow-packets",
            KeyPart::Bps => "flow-bps",
            KeyPart::Pps => "flow-pps",
            KeyPart::Duration => "flow-duration-ms",
            KeyPart::Interval => "time",
        }
    }

    /// The flow fields (catalog names) the part is computed from: the
    /// columns a report must decode.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            KeyPart::SrcAddr => &["ip-source-address"],
            KeyPart::DstAddr => &["ip-destination-address"],
            KeyPart::PacketSize | KeyPart::Octets | KeyPart::Packets => &["octets", "packets"],
            KeyPart::Bps | KeyPart::Pps | KeyPart::Duration | KeyPart::Interval => {
                &["octets", "packets", "start-time", "end-time"]
            }
            KeyPart::NextHop => &["ip-next-hop-address"],
            KeyPart::Exporter => &["ip-exporter-address"],
            KeyPart::SrcPort => &["ip-source-port"],
            KeyPart::DstPort => &["ip-destination-port"],
            KeyPart::Protocol => &["ip-protocol"],
            KeyPart::Tos => &["ip-tos"],
            KeyPart::InIf => &["input-interface"],
            KeyPart::OutIf => &["output-interface"],
            KeyPart::SrcAs => &["source-as"],
            KeyPart::DstAs => &["destination-as"],
            KeyPart::EngineId => &["engine-id"],
            KeyPart::EngineType => &["engine-type"],
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

    /// What the part holds in a compact key's lane.
    pub(crate) fn lane(&self) -> Lane {
        match self {
            p if p.is_address() => Lane::Addr,
            KeyPart::Interval => Lane::Time,
            _ => Lane::Number,
        }
    }

    /// True for the parts that are addresses.
    pub fn is_address(&self) -> bool {
        matches!(
            self,
            KeyPart::SrcAddr | KeyPart::DstAddr | KeyPart::NextHop | KeyPart::Exporter
        )
    }

    /// The part's value for a flow (before any prefix format).
    pub(crate) fn value(&self, f: &Flow, s: &Sample) -> Val {
        let per_second = |n: u64| {
            if s.duration_ms == 0 {
                0
            } else {
                (u128::from(n) * 1000 / u128::from(s.duration_ms)) as u64
            }
        };
        match self {
            KeyPart::SrcAddr => Val::ip(f.src_addr),
            KeyPart::DstAddr => Val::ip(f.dst_addr),
            KeyPart::NextHop => Val::ip(f.next_hop),
            KeyPart::Exporter => Val::ip(f.exporter),
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
            KeyPart::PacketSize => Val::N(s.octets / s.packets.max(1)),
            KeyPart::Octets => Val::N(s.octets),
            KeyPart::Packets => Val::N(s.packets),
            KeyPart::Bps => Val::N(per_second(s.octets.saturating_mul(8))),
            KeyPart::Pps => Val::N(per_second(s.packets)),
            KeyPart::Duration => Val::N(s.duration_ms),
            // Set per piece by the time series itself.
            KeyPart::Interval => Val::T(f.start_ms.div_euclid(1000).max(0) as u64),
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
    ("packet-size", &[KeyPart::PacketSize]),
    ("octets", &[KeyPart::Octets]),
    ("packets", &[KeyPart::Packets]),
    ("bps", &[KeyPart::Bps]),
    ("pps", &[KeyPart::Pps]),
    ("duration", &[KeyPart::Duration]),
    ("time-series", &[KeyPart::Interval]),
];

/// The whole-input summaries (no key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryKind {
    /// Totals, averages and rates.
    Counters,
    /// The counters and the packet-size, packets, octets and duration
    /// distributions of flow-report's summary-detail.
    Detail,
}

/// A report type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportType {
    /// The type's name as given (lower case).
    pub name: String,
    /// The parts of the key, in order.
    pub parts: Vec<KeyPart>,
    /// `ip-address` / `ip-port`: the flow counts under both ends, and the
    /// key column is that end's value.
    pub both_ends: bool,
    /// `ip-source-address-destination-count` and the reverse: the key is
    /// the first part, and each row counts the distinct second parts.
    pub count: bool,
    /// `summary-counters` / `summary-detail`.
    pub summary: Option<SummaryKind>,
}

impl ReportType {
    /// A report type by its flow-tools name (`ip-source-address`, `ip-
    /// source/destination-port`...).
    pub fn parse(name: &str) -> Result<ReportType, ReportError> {
        let n = name.trim().to_ascii_lowercase();
        let whole = |parts: Vec<KeyPart>, both_ends: bool, count: bool| ReportType {
            name: n.clone(),
            parts,
            both_ends,
            count,
            summary: None,
        };
        match n.as_str() {
            "ip-address" => return Ok(whole(vec![KeyPart::SrcAddr], true, false)),
            "ip-port" => return Ok(whole(vec![KeyPart::SrcPort], true, false)),
            "ip-source-address-destination-count" => {
                return Ok(whole(vec![KeyPart::SrcAddr, KeyPart::DstAddr], false, true))
            }
            "ip-destination-address-source-count" => {
                return Ok(whole(vec![KeyPart::DstAddr, KeyPart::SrcAddr], false, true))
            }
            "summary-counters" | "summary-detail" => {
                let mut t = whole(Vec::new(), false, false);
                t.summary = Some(if n == "summary-detail" {
                    SummaryKind::Detail
                } else {
                    SummaryKind::Counters
                });
                return Ok(t);
            }
            _ => {}
        }
        let mut parts = Vec::new();
        let mut rest = n.as_str();
        while !rest.is_empty() {
            let Some((atom, ps)) = ATOMS.iter().find(|(a, _)| {
                rest.starts_with(a) && (rest.len() == a.len() || rest[a.len()..].starts_with('/'))
            }) else {
                let mut valid: Vec<&str> = ATOMS.iter().map(|a| a.0).collect();
                valid.extend([
                    "ip-address",
                    "ip-port",
                    "ip-source-address-destination-count",
                    "ip-destination-address-source-count",
                    "summary-counters",
                    "summary-detail",
                ]);
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
        Ok(whole(parts, false, false))
    }

    /// The column names of the key as shown (a count report shows its
    /// first part; the count is a counter column).
    pub fn columns(&self) -> Vec<&'static str> {
        if self.both_ends {
            return vec![if self.parts[0].is_address() {
                "ip-address"
            } else {
                "ip-port"
            }];
        }
        if self.count {
            return vec![self.parts[0].name()];
        }
        self.parts.iter().map(KeyPart::name).collect()
    }

    /// What each part of a stored key holds.
    pub(crate) fn lanes(&self) -> Vec<Lane> {
        self.parts.iter().map(KeyPart::lane).collect()
    }

    /// Parts in a stored key.
    pub(crate) fn width(&self) -> usize {
        if self.both_ends {
            1
        } else {
            self.parts.len()
        }
    }

    /// The name of a count report's count column.
    pub fn count_column(&self) -> Option<&'static str> {
        self.count.then(|| match self.parts.get(1) {
            Some(KeyPart::SrcAddr) => "ip-source-address-count",
            _ => "ip-destination-address-count",
        })
    }

    /// The catalog fields the report's keys and counters read (see
    /// `Report::fields` for the ones its options add).
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = vec!["octets", "packets", "start-time", "end-time"];
        for p in &self.parts {
            out.extend(p.fields());
            if self.both_ends {
                out.extend(p.other_end().fields());
            }
        }
        out
    }
}
