//! The catalog of named flow fields.
//!
//! Every field has exactly one canonical name, used everywhere a field is
//! named: filter expressions, report keys, `floe print --fields`, CSV
//! headers and JSON keys. Canonical names are flow-tools' own
//! (`ip-source-address`, `ip-destination-port`, `input-interface`...) so that
//! flow-tools configs and the scripts around them keep working. Each field
//! also answers to short aliases: nfdump's (`srcip`, `dstport`, `proto`,
//! `bytes`), flow-print's column names (`srcaddr`, `dpkts`, `doctets`,
//! `exaddr`) and snake_case (`src_addr`).
//!
//! Lookups ([`Field::by_name`]) are case-insensitive and treat `_` and `-`
//! alike.

use std::net::IpAddr;

use crate::Flow;

/// What kind of value a field holds; decides how it is parsed in filters
/// and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Absolute UTC time in milliseconds.
    Time,
    /// An IPv4 or IPv6 address.
    Address,
    /// A TCP/UDP port (or ICMP type/code).
    Port,
    /// An IP protocol number.
    Protocol,
    /// A bit set (TCP flags).
    Flags,
    /// A plain unsigned number (counters, interfaces, AS numbers...).
    Number,
}

/// A field's value taken from a [`Flow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A time, UTC milliseconds since the epoch.
    Time(i64),
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// Any other number (ports, counters, AS numbers, flags...).
    U64(u64),
}

/// One entry of the catalog.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The canonical name (flow-tools' where flow-tools has one).
    pub name: &'static str,
    /// Other names accepted on input.
    pub aliases: &'static [&'static str],
    /// How the field is parsed and shown.
    pub kind: FieldKind,
    /// One line for `--help` output and generated docs.
    pub description: &'static str,
    get: fn(&Flow) -> Value,
}

impl Field {
    /// The field's value in `flow`.
    pub fn get(&self, flow: &Flow) -> Value {
        (self.get)(flow)
    }

    /// Finds a field by its canonical name or an alias, ignoring case and
    /// treating `_` and `-` alike.
    pub fn by_name(name: &str) -> Option<&'static Field> {
        let wanted = normalize(name);
        FIELDS.iter().find(|f| {
            normalize(f.name) == wanted || f.aliases.iter().any(|a| normalize(a) == wanted)
        })
    }

    /// All canonical names, for "valid fields are: ..." messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        FIELDS.iter().map(|f| f.name)
    }
}

fn normalize(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

macro_rules! field {
    ($name:literal, [$($alias:literal),*], $kind:ident, $desc:literal, |$f:ident| $get:expr) => {
        Field {
            name: $name,
            aliases: &[$($alias),*],
            kind: FieldKind::$kind,
            description: $desc,
            get: |$f: &Flow| $get,
        }
    };
}

/// Every field of a [`Flow`], in the order `floe print` shows them.
pub static FIELDS: &[Field] = &[
    field!(
        "start-time",
        ["first", "start", "ts", "start_ms"],
        Time,
        "flow start (first packet), UTC",
        |f| Value::Time(f.start_ms)
    ),
    field!(
        "end-time",
        ["last", "end", "te", "end_ms"],
        Time,
        "flow end (last packet), UTC",
        |f| Value::Time(f.end_ms)
    ),
    field!(
        "ip-exporter-address",
        ["exporter", "exaddr", "router", "ra"],
        Address,
        "address the export datagram came from",
        |f| Value::Addr(f.exporter)
    ),
    field!(
        "source-id",
        ["srcid", "observation-domain", "obs-domain"],
        Number,
        "NetFlow v9 source id / IPFIX observation domain",
        |f| Value::U64(f.source_id.into())
    ),
    field!(
        "ip-source-address",
        ["srcip", "srcaddr", "src_addr", "sa", "src-ip"],
        Address,
        "source address",
        |f| Value::Addr(f.src_addr)
    ),
    field!(
        "ip-destination-address",
        ["dstip", "dstaddr", "dst_addr", "da", "dst-ip"],
        Address,
        "destination address",
        |f| Value::Addr(f.dst_addr)
    ),
    field!(
        "ip-next-hop-address",
        ["nexthop", "next-hop", "nh", "ip-nexthop-address"],
        Address,
        "next-hop router address",
        |f| Value::Addr(f.next_hop)
    ),
    field!(
        "ip-source-port",
        ["srcport", "src_port", "sp"],
        Port,
        "source port",
        |f| Value::U64(f.src_port.into())
    ),
    field!(
        "ip-destination-port",
        ["dstport", "dst_port", "dp"],
        Port,
        "destination port (ICMP: type*256+code)",
        |f| Value::U64(f.dst_port.into())
    ),
    field!(
        "ip-protocol",
        ["proto", "prot", "protocol", "pr"],
        Protocol,
        "IP protocol number",
        |f| Value::U64(f.protocol.into())
    ),
    field!(
        "ip-tcp-flags",
        ["flags", "tcp_flags", "flg"],
        Flags,
        "TCP flags seen in the flow (OR of all packets)",
        |f| Value::U64(f.tcp_flags.into())
    ),
    field!("ip-tos", ["tos"], Number, "IP type of service byte", |f| {
        Value::U64(f.tos.into())
    }),
    field!(
        "packets",
        ["dpkts", "pkts", "pkt"],
        Number,
        "packets in the flow",
        |f| Value::U64(f.packets)
    ),
    field!(
        "octets",
        ["bytes", "doctets", "byt"],
        Number,
        "octets (bytes) in the flow, IP headers included",
        |f| Value::U64(f.octets)
    ),
    field!(
        "input-interface",
        ["input", "inif", "in", "input_if"],
        Number,
        "input interface index",
        |f| Value::U64(f.input_if.into())
    ),
    field!(
        "output-interface",
        ["output", "outif", "out", "output_if"],
        Number,
        "output interface index",
        |f| Value::U64(f.output_if.into())
    ),
    field!(
        "source-as",
        ["srcas", "src_as", "sas"],
        Number,
        "source autonomous system",
        |f| Value::U64(f.src_as.into())
    ),
    field!(
        "destination-as",
        ["dstas", "dst_as", "das"],
        Number,
        "destination autonomous system",
        |f| Value::U64(f.dst_as.into())
    ),
    field!(
        "source-mask",
        ["srcmask", "src_mask", "smk", "ip-source-mask"],
        Number,
        "source prefix length",
        |f| Value::U64(f.src_mask.into())
    ),
    field!(
        "destination-mask",
        ["dstmask", "dst_mask", "dmk", "ip-destination-mask"],
        Number,
        "destination prefix length",
        |f| Value::U64(f.dst_mask.into())
    ),
    field!(
        "sampling-interval",
        ["sampling"],
        Number,
        "sampling interval announced by the exporter (1 in N)",
        |f| Value::U64(f.sampling_interval.into())
    ),
    field!("engine-type", [], Number, "NetFlow v5 engine type", |f| {
        Value::U64(f.engine_type.into())
    }),
    field!("engine-id", [], Number, "NetFlow v5 engine id", |f| {
        Value::U64(f.engine_id.into())
    }),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_name_and_alias_is_unique() {
        let mut seen = HashSet::new();
        for f in FIELDS {
            for n in std::iter::once(&f.name).chain(f.aliases.iter()) {
                assert!(seen.insert(normalize(n)), "name {n} used twice");
            }
        }
    }

    #[test]
    fn lookups_accept_aliases_case_and_underscores() {
        assert_eq!(
            Field::by_name("srcip").map(|f| f.name),
            Some("ip-source-address")
        );
        assert_eq!(
            Field::by_name("IP_Source_Address").map(|f| f.name),
            Some("ip-source-address")
        );
        assert_eq!(Field::by_name("bytes").map(|f| f.name), Some("octets"));
        assert_eq!(Field::by_name("dpkts").map(|f| f.name), Some("packets"));
        assert_eq!(
            Field::by_name("dstport").map(|f| f.name),
            Some("ip-destination-port")
        );
        assert!(Field::by_name("no-such-field").is_none());
    }

    #[test]
    fn catalog_covers_every_flow_member() {
        // A flow whose members are all distinct non-zero values: each must
        // show up through exactly one catalog field.
        let flow = Flow {
            start_ms: 1,
            end_ms: 2,
            exporter: "10.0.0.3".parse().unwrap(),
            source_id: 4,
            src_addr: "10.0.0.5".parse().unwrap(),
            dst_addr: "2001:db8::6".parse().unwrap(),
            next_hop: "10.0.0.7".parse().unwrap(),
            src_port: 8,
            dst_port: 9,
            protocol: 10,
            tcp_flags: 11,
            tos: 12,
            packets: 13,
            octets: 14,
            input_if: 15,
            output_if: 16,
            src_as: 17,
            dst_as: 18,
            src_mask: 19,
            dst_mask: 20,
            sampling_interval: 21,
            engine_type: 22,
            engine_id: 23,
        };
        let values: Vec<Value> = FIELDS.iter().map(|f| f.get(&flow)).collect();
        assert_eq!(values.len(), 23);
        let unique: HashSet<String> = values.iter().map(|v| format!("{v:?}")).collect();
        assert_eq!(unique.len(), 23, "{values:?}");
    }
}
