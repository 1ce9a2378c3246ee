//! SQL text: literals, and floe's filter language compiled to a `WHERE`
//! condition on the `flows` table.
//!
//! Nothing a user typed goes into a query as text: a filter is parsed by
//! floe first ([`floe_filter::Expr`]), and only its numbers and addresses
//! are written out, as numbers and hex; names (database, table,
//! collector) go through [`ident`](crate::schema::ident) or
//! [`string_literal`], which escape every byte that could end a literal.
//! Old servers have no query parameters (`{name:Type}` came with
//! ClickHouse 19.x), so strictly escaped literals are what works on every
//! server.
//!
//! Every construct of the language compiles, with floe's semantics:
//! rates and bytes-per-packet as floe computes them (floating point per
//! flow, truncated), durations never negative, `first`/`last` on the
//! millisecond times, networks as ranges of the 16-byte addresses (an IPv6
//! network never matches an IPv4 address, as in floe), `ipv4`/`ipv6` by
//! the end points' family.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use floe_filter::{AddrField, Cmp, Expr, Net, NumField};

use crate::schema::DURATION_MS;

/// How addresses are typed in the table (the schema variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `IPv6` columns.
    Modern,
    /// `FixedString(16)` columns.
    Legacy,
}

/// A string as a ClickHouse literal: single-quoted, with quotes,
/// backslashes and every byte outside printable ASCII escaped as `\xHH`.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for b in s.bytes() {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
    }
    out.push('\'');
    out
}

/// 16 bytes of an address (IPv4 mapped), as a number.
pub fn addr_u128(a: IpAddr) -> u128 {
    u128::from_be_bytes(crate::rowbinary::addr16(a))
}

/// The first and last IPv4-mapped addresses.
const V4_LO: u128 = 0xffff_0000_0000;
const V4_HI: u128 = 0xffff_ffff_ffff;

/// An address value (16 bytes as a number) as a literal of the column type.
pub fn addr_literal(v: u128, d: Dialect) -> String {
    match d {
        Dialect::Legacy => format!("toFixedString(unhex('{v:032X}'), 16)"),
        Dialect::Modern => format!("toIPv6('{}')", Ipv6Addr::from(v)),
    }
}

/// True when `col` holds an IPv4 (mapped) address.
pub fn is_v4(col: &str, d: Dialect) -> String {
    format!(
        "({col} >= {} AND {col} <= {})",
        addr_literal(V4_LO, d),
        addr_literal(V4_HI, d)
    )
}

/// The range of 16-byte values a network covers.
fn net_range(n: &Net) -> (u128, u128, bool) {
    match n.addr {
        IpAddr::V4(a) => {
            let len = u32::from(n.len.min(32));
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let lo = u32::from(a) & mask;
            let hi = lo | !mask;
            (V4_LO | u128::from(lo), V4_LO | u128::from(hi), true)
        }
        IpAddr::V6(a) => {
            let len = u32::from(n.len.min(128));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            let lo = u128::from(a) & mask;
            (lo, lo | !mask, false)
        }
    }
}

fn addr_column(a: AddrField) -> &'static str {
    match a {
        AddrField::Src => "src_addr",
        AddrField::Dst => "dst_addr",
        AddrField::NextHop => "next_hop",
        AddrField::Exporter => "exporter",
    }
}

/// A number of a flow as floe computes it.
pub fn num_sql(f: NumField) -> String {
    let d = DURATION_MS;
    let rate = |n: &str| format!("if({d} > 0, toUInt64({n} / ({d} / 1000.)), {n})");
    match f {
        NumField::Protocol => "protocol".into(),
        NumField::SrcPort => "src_port".into(),
        NumField::DstPort => "dst_port".into(),
        NumField::SrcAs => "src_as".into(),
        NumField::DstAs => "dst_as".into(),
        NumField::InIf => "input_if".into(),
        NumField::OutIf => "output_if".into(),
        NumField::Tos => "tos".into(),
        NumField::Packets => "packets".into(),
        NumField::Bytes => "octets".into(),
        NumField::Duration => d.into(),
        NumField::Pps => rate("packets"),
        NumField::Bps => {
            rate("if(octets > 2305843009213693951, toUInt64(18446744073709551615), octets * 8)")
        }
        NumField::Bpp => {
            "if(packets = 0, toUInt64(0), intDiv(octets, greatest(packets, toUInt64(1))))".into()
        }
        NumField::SrcMask | NumField::SrcPrefixLen => "src_mask".into(),
        NumField::DstMask | NumField::DstPrefixLen => "dst_mask".into(),
        NumField::EngineType => "engine_type".into(),
        NumField::EngineId => "engine_id".into(),
        NumField::SourceId => "source_id".into(),
        NumField::Sampling => "sampling_interval".into(),
        NumField::First => "start_ms".into(),
        NumField::Last => "end_ms".into(),
        NumField::TcpFlags => "tcp_flags".into(),
    }
}

/// A filter value as a literal of its field: times are signed
/// milliseconds (the filter keeps them as order-preserving unsigned keys).
fn value(f: NumField, v: u64) -> String {
    match f {
        NumField::First | NumField::Last => ((v ^ (1 << 63)) as i64).to_string(),
        _ => v.to_string(),
    }
}

fn cmp(c: Cmp) -> &'static str {
    match c {
        Cmp::Eq => "=",
        Cmp::Ne => "!=",
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
    }
}

/// The filter as a condition on `flows` rows.
pub fn filter_sql(e: &Expr, d: Dialect) -> String {
    match e {
        Expr::Any => "1".into(),
        Expr::Not(x) => format!("NOT {}", filter_sql(x, d)),
        Expr::And(v) | Expr::Or(v) if v.is_empty() => {
            if matches!(e, Expr::And(_)) {
                "1".into()
            } else {
                "0".into()
            }
        }
        Expr::And(v) => join(v, " AND ", d),
        Expr::Or(v) => join(v, " OR ", d),
        Expr::Family(4) => format!("({} AND {})", is_v4("src_addr", d), is_v4("dst_addr", d)),
        Expr::Family(_) => format!(
            "NOT ({} AND {})",
            is_v4("src_addr", d),
            is_v4("dst_addr", d)
        ),
        Expr::Addr(which, nets) => {
            let col = addr_column(*which);
            let parts: Vec<String> = nets
                .iter()
                .map(|n| {
                    let (lo, hi, v4) = net_range(n);
                    let range = format!(
                        "{col} >= {} AND {col} <= {}",
                        addr_literal(lo, d),
                        addr_literal(hi, d)
                    );
                    // An IPv6 network holding the mapped range still
                    // matches no IPv4 address.
                    if !v4 && lo <= V4_HI && hi >= V4_LO {
                        format!("({range} AND NOT {})", is_v4(col, d))
                    } else {
                        format!("({range})")
                    }
                })
                .collect();
            if parts.is_empty() {
                "0".into()
            } else {
                format!("({})", parts.join(" OR "))
            }
        }
        Expr::Num(f, c, v) => format!("({} {} {})", num_sql(*f), cmp(*c), value(*f, *v)),
        Expr::NumIn(f, ranges) => {
            let x = num_sql(*f);
            let parts: Vec<String> = ranges
                .iter()
                .map(|(lo, hi)| {
                    if lo == hi {
                        format!("{x} = {}", value(*f, *lo))
                    } else {
                        format!("({x} >= {} AND {x} <= {})", value(*f, *lo), value(*f, *hi))
                    }
                })
                .collect();
            if parts.is_empty() {
                "0".into()
            } else {
                format!("({})", parts.join(" OR "))
            }
        }
        Expr::Flags(bits) => format!("(bitAnd(tcp_flags, {bits}) = {bits})"),
        Expr::Masked(f, mask, want) => {
            format!("(bitAnd({}, {mask}) = {want})", num_sql(*f))
        }
    }
}

fn join(v: &[Expr], op: &str, d: Dialect) -> String {
    let parts: Vec<String> = v.iter().map(|x| filter_sql(x, d)).collect();
    format!("({})", parts.join(op))
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_filter::Filter;

    #[test]
    fn literals_escape_everything_that_ends_them() {
        assert_eq!(string_literal("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(string_literal("x\n\0é"), "'x\\x0A\\x00\\xC3\\xA9'");
    }

    #[test]
    fn networks_are_ranges() {
        let f = Filter::parse("src net 10.0.0.0/8").unwrap();
        let s = filter_sql(f.expr(), Dialect::Legacy);
        assert!(
            s.contains("unhex('00000000000000000000FFFF0A000000')"),
            "{s}"
        );
        assert!(
            s.contains("unhex('00000000000000000000FFFF0AFFFFFF')"),
            "{s}"
        );
        let f = Filter::parse("src net ::/0").unwrap();
        let s = filter_sql(f.expr(), Dialect::Modern);
        assert!(
            s.contains("AND NOT (src_addr >= toIPv6('::ffff:0.0.0.0')"),
            "{s}"
        );
    }
}
