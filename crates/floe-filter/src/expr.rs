//! The compiled filter: a tree of predicates over a [`Flow`], evaluated
//! without allocation, and printed back as an expression that parses to the
//! same tree (`floe filter --explain`).

use std::fmt;
use std::net::IpAddr;

use floe_flow::Flow;

/// A UTC ms time as the unsigned value numeric tests compare: flipping the
/// sign bit keeps the order of signed times.
pub(crate) fn time_key(ms: i64) -> u64 {
    (ms as u64) ^ (1 << 63)
}

/// The time a [`time_key`] holds.
pub(crate) fn time_of_key(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

/// An address and prefix length (a host is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    /// The network's address (bits past `len` are ignored).
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

impl Net {
    /// True when `a` is in the network (an address of the other family never is).
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.addr, a) {
            (IpAddr::V4(n), IpAddr::V4(x)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.len.min(32)))
                };
                u32::from(n) & mask == u32::from(x) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(x)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.len.min(128)))
                };
                u128::from(n) & mask == u128::from(x) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.len == host {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// Which address of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrField {
    /// The source address.
    Src,
    /// The destination address.
    Dst,
    /// The next-hop router.
    NextHop,
    /// The address the export came from.
    Exporter,
}

/// Which number of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumField {
    /// IP protocol number.
    Protocol,
    /// Source port.
    SrcPort,
    /// Destination port (ICMP type and code for ICMP).
    DstPort,
    /// Source AS number.
    SrcAs,
    /// Destination AS number.
    DstAs,
    /// Input interface index.
    InIf,
    /// Output interface index.
    OutIf,
    /// Type of service byte.
    Tos,
    /// Packets in the flow.
    Packets,
    /// Octets in the flow.
    Bytes,
    /// Milliseconds.
    Duration,
    /// Packets per second over the flow's duration (the packet count for a flow of
    /// no duration).
    Pps,
    /// Bits per second over the flow's duration (its bits for a flow of no
    /// duration).
    Bps,
    /// Bytes per packet (0 for a flow of no packets).
    Bpp,
    /// Source prefix length.
    SrcMask,
    /// Destination prefix length.
    DstMask,
    /// NetFlow engine type.
    EngineType,
    /// NetFlow engine id.
    EngineId,
    /// v9 source id or IPFIX observation domain.
    SourceId,
    /// Sampling interval.
    Sampling,
    /// Flow start, UTC ms.
    First,
    /// Flow end, UTC ms.
    Last,
    /// TCP control bits.
    TcpFlags,
    /// The source prefix length, as [`NumField::SrcMask`] (the parser produces
    /// `SrcMask`).
    SrcPrefixLen,
    /// The destination prefix length, as [`NumField::DstMask`] (the parser produces
    /// `DstMask`).
    DstPrefixLen,
}

impl NumField {
    /// The keyword(s) that name it in the language.
    pub fn keyword(&self) -> &'static str {
        match self {
            NumField::Protocol => "proto",
            NumField::SrcPort => "src port",
            NumField::DstPort => "dst port",
            NumField::SrcAs => "src as",
            NumField::DstAs => "dst as",
            NumField::InIf => "in if",
            NumField::OutIf => "out if",
            NumField::Tos => "tos",
            NumField::Packets => "packets",
            NumField::Bytes => "bytes",
            NumField::Duration => "duration",
            NumField::Pps => "pps",
            NumField::Bps => "bps",
            NumField::Bpp => "bpp",
            NumField::SrcMask => "src mask",
            NumField::DstMask => "dst mask",
            NumField::EngineType => "engine-type",
            NumField::EngineId => "engine-id",
            NumField::SourceId => "source-id",
            NumField::Sampling => "sampling",
            NumField::First => "first",
            NumField::Last => "last",
            NumField::TcpFlags => "tcp-flags",
            NumField::SrcPrefixLen => "src mask",
            NumField::DstPrefixLen => "dst mask",
        }
    }

    /// The field's value in `f`, as the tests compare it (times as order-preserving
    /// keys, rates truncated to integers).
    pub fn value(&self, f: &Flow) -> u64 {
        let secs = f.duration_ms() as f64 / 1000.0;
        let rate = |n: u64| {
            if secs > 0.0 {
                (n as f64 / secs) as u64
            } else {
                n
            }
        };
        match self {
            NumField::Protocol => f.protocol.into(),
            NumField::SrcPort => f.src_port.into(),
            NumField::DstPort => f.dst_port.into(),
            NumField::SrcAs => f.src_as.into(),
            NumField::DstAs => f.dst_as.into(),
            NumField::InIf => f.input_if.into(),
            NumField::OutIf => f.output_if.into(),
            NumField::Tos => f.tos.into(),
            NumField::Packets => f.packets,
            NumField::Bytes => f.octets,
            NumField::Duration => f.duration_ms(),
            NumField::Pps => rate(f.packets),
            NumField::Bps => rate(f.octets.saturating_mul(8)),
            NumField::Bpp => f.octets.checked_div(f.packets).unwrap_or(0),
            NumField::SrcMask => f.src_mask.into(),
            NumField::DstMask => f.dst_mask.into(),
            NumField::EngineType => f.engine_type.into(),
            NumField::EngineId => f.engine_id.into(),
            NumField::SourceId => f.source_id.into(),
            NumField::Sampling => f.sampling_interval.into(),
            NumField::First => time_key(f.start_ms),
            NumField::Last => time_key(f.end_ms),
            NumField::TcpFlags => f.tcp_flags.into(),
            NumField::SrcPrefixLen => f.src_mask.into(),
            NumField::DstPrefixLen => f.dst_mask.into(),
        }
    }

    /// The largest value the field can hold: a test against a larger one
    /// is refused rather than compiled to one that matches nothing.
    pub fn max(&self) -> u64 {
        match self {
            NumField::Protocol | NumField::Tos | NumField::EngineType | NumField::EngineId => {
                u8::MAX.into()
            }
            NumField::SrcPort | NumField::DstPort | NumField::TcpFlags => u16::MAX.into(),
            NumField::SrcAs
            | NumField::DstAs
            | NumField::InIf
            | NumField::OutIf
            | NumField::SourceId
            | NumField::Sampling => u32::MAX.into(),
            // An IPv6 prefix length.
            NumField::SrcMask
            | NumField::DstMask
            | NumField::SrcPrefixLen
            | NumField::DstPrefixLen => 128,
            NumField::Packets
            | NumField::Bytes
            | NumField::Duration
            | NumField::Pps
            | NumField::Bps
            | NumField::Bpp
            | NumField::First
            | NumField::Last => u64::MAX,
        }
    }

    /// What a value of the field is, for messages ("a ToS").
    pub fn what(&self) -> &'static str {
        match self {
            NumField::Protocol => "a protocol",
            NumField::SrcPort | NumField::DstPort => "a port",
            NumField::SrcAs | NumField::DstAs => "an AS number",
            NumField::InIf | NumField::OutIf => "an interface index",
            NumField::Tos => "a ToS",
            NumField::Packets => "a packet count",
            NumField::Bytes => "a byte count",
            NumField::Duration => "a duration in ms",
            NumField::Pps => "a packet rate",
            NumField::Bps => "a bit rate",
            NumField::Bpp => "a byte per packet count",
            NumField::SrcMask
            | NumField::DstMask
            | NumField::SrcPrefixLen
            | NumField::DstPrefixLen => "a prefix length",
            NumField::EngineType => "an engine type",
            NumField::EngineId => "an engine id",
            NumField::SourceId => "a source id",
            NumField::Sampling => "a sampling interval",
            NumField::First | NumField::Last => "a time",
            NumField::TcpFlags => "a TCP flags value",
        }
    }

    fn is_time(&self) -> bool {
        matches!(self, NumField::First | NumField::Last)
    }

    /// The catalog names of the flow fields the value is computed from.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            NumField::Protocol => &["ip-protocol"],
            NumField::SrcPort => &["ip-source-port"],
            NumField::DstPort => &["ip-destination-port"],
            NumField::SrcAs => &["source-as"],
            NumField::DstAs => &["destination-as"],
            NumField::InIf => &["input-interface"],
            NumField::OutIf => &["output-interface"],
            NumField::Tos => &["ip-tos"],
            NumField::Packets => &["packets"],
            NumField::Bytes => &["octets"],
            NumField::Duration | NumField::First | NumField::Last => &["start-time", "end-time"],
            NumField::Pps => &["packets", "start-time", "end-time"],
            NumField::Bps => &["octets", "start-time", "end-time"],
            NumField::Bpp => &["octets", "packets"],
            NumField::SrcMask | NumField::SrcPrefixLen => &["source-mask"],
            NumField::DstMask | NumField::DstPrefixLen => &["destination-mask"],
            NumField::EngineType => &["engine-type"],
            NumField::EngineId => &["engine-id"],
            NumField::SourceId => &["source-id"],
            NumField::Sampling => &["sampling-interval"],
            NumField::TcpFlags => &["ip-tcp-flags"],
        }
    }
}

/// A comparison of a flow's number with a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

impl Cmp {
    fn test(&self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A compiled filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Matches every flow.
    Any,
    /// Matches when the inner expression does not.
    Not(Box<Expr>),
    /// Matches when every part does (an empty list matches every flow).
    And(Vec<Expr>),
    /// Matches when some part does (an empty list matches none).
    Or(Vec<Expr>),
    /// IPv4 (4) or IPv6 (6) end points.
    Family(u8),
    /// The address is in one of the networks.
    Addr(AddrField, Vec<Net>),
    /// The number compares with a value.
    Num(NumField, Cmp, u64),
    /// The number is in one of the inclusive ranges.
    NumIn(NumField, Vec<(u64, u64)>),
    /// All these TCP flag bits are set.
    Flags(u16),
    /// `(value & mask) == want` (flow-tools' ip-tos and ip-tcp-flags).
    Masked(NumField, u64, u64),
}

impl Expr {
    /// The catalog names of every flow field the expression reads (for
    /// readers that decode only the columns a query needs).
    pub fn fields(&self, out: &mut Vec<&'static str>) {
        match self {
            Expr::Any => {}
            Expr::Not(e) => e.fields(out),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.fields(out)),
            Expr::Family(_) => out.extend(["ip-source-address", "ip-destination-address"]),
            Expr::Addr(which, _) => out.push(match which {
                AddrField::Src => "ip-source-address",
                AddrField::Dst => "ip-destination-address",
                AddrField::NextHop => "ip-next-hop-address",
                AddrField::Exporter => "ip-exporter-address",
            }),
            Expr::Num(field, _, _) | Expr::NumIn(field, _) | Expr::Masked(field, _, _) => {
                out.extend_from_slice(field.fields())
            }
            Expr::Flags(_) => out.push("ip-tcp-flags"),
        }
    }

    /// True when `f` matches.
    pub fn matches(&self, f: &Flow) -> bool {
        match self {
            Expr::Any => true,
            Expr::Not(e) => !e.matches(f),
            Expr::And(v) => v.iter().all(|e| e.matches(f)),
            Expr::Or(v) => v.iter().any(|e| e.matches(f)),
            Expr::Family(4) => !f.is_ipv6(),
            Expr::Family(_) => f.is_ipv6(),
            Expr::Addr(which, nets) => {
                let a = match which {
                    AddrField::Src => f.src_addr,
                    AddrField::Dst => f.dst_addr,
                    AddrField::NextHop => f.next_hop,
                    AddrField::Exporter => f.exporter,
                };
                nets.iter().any(|n| n.contains(a))
            }
            Expr::Num(field, cmp, v) => cmp.test(field.value(f), *v),
            Expr::NumIn(field, ranges) => {
                let x = field.value(f);
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&x))
            }
            Expr::Flags(bits) => f.tcp_flags & bits == *bits,
            Expr::Masked(field, mask, want) => field.value(f) & mask == *want,
        }
    }
}

fn addr_keyword(a: AddrField) -> &'static str {
    match a {
        AddrField::Src => "src net",
        AddrField::Dst => "dst net",
        AddrField::NextHop => "next-hop",
        AddrField::Exporter => "exporter",
    }
}

/// Letters of the TCP flags, lowest bit first (F S R P A U E C N).
pub const FLAG_LETTERS: &[(char, u16)] = &[
    ('F', 0x01),
    ('S', 0x02),
    ('R', 0x04),
    ('P', 0x08),
    ('A', 0x10),
    ('U', 0x20),
    ('E', 0x40),
    ('C', 0x80),
    ('N', 0x100),
];

fn time_text(v: u64) -> String {
    let ms = time_of_key(v);
    floe_flow::time::format_utc_ms(ms)
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, v: &[Expr], op: &str| -> fmt::Result {
            write!(f, "(")?;
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{e}")?;
            }
            write!(f, ")")
        };
        match self {
            Expr::Any => write!(f, "any"),
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::And(v) => join(f, v, "and"),
            Expr::Or(v) => join(f, v, "or"),
            Expr::Family(4) => write!(f, "ipv4"),
            Expr::Family(_) => write!(f, "ipv6"),
            Expr::Addr(which, nets) => {
                let list: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
                write!(f, "{} in [{}]", addr_keyword(*which), list.join(", "))
            }
            Expr::Num(field, cmp, v) => {
                if field.is_time() {
                    write!(f, "{} {} {}", field.keyword(), cmp.symbol(), time_text(*v))
                } else {
                    write!(f, "{} {} {}", field.keyword(), cmp.symbol(), v)
                }
            }
            Expr::NumIn(field, ranges) => {
                let list: Vec<String> = ranges
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                write!(f, "{} in [{}]", field.keyword(), list.join(", "))
            }
            Expr::Masked(field, mask, want) => {
                write!(f, "{} mask {mask:#x} = {want:#x}", field.keyword())
            }
            // Bits without a letter (and no bits at all) print as a number,
            // so that every filter prints as text that parses back to it
            // (found by the filter_expression fuzz target: `flags 0`).
            Expr::Flags(bits)
                if *bits == 0 || bits & !FLAG_LETTERS.iter().fold(0, |m, (_, b)| m | b) != 0 =>
            {
                write!(f, "flags {bits:#x}")
            }
            Expr::Flags(bits) => {
                let letters: String = FLAG_LETTERS
                    .iter()
                    .filter(|(_, b)| bits & b != 0)
                    .map(|(c, _)| *c)
                    .collect();
                write!(f, "flags {letters}")
            }
        }
    }
}
