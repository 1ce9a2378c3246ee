//! The ClickHouse schema: what `floe clickhouse schema` prints and
//! `floe clickhouse init` applies.
//!
//! * `flows` (MergeTree): one row per flow, floe's record whole, plus the
//!   row's identity (`collector`, `file_id`, `block`: see the crate docs),
//!   partitioned by day of the flow's start, ordered by five-minute bucket,
//!   collector, exporter and source id (the common reports' time range and
//!   per-router questions read few granules).
//! * `flows_10m`, `flows_1h` (SummingMergeTree, fed by materialized views
//!   from `flows`): the counters per interval, collector, exporter, source
//!   id, protocol, ToS, interfaces, AS numbers, engine and sampling
//!   interval; no addresses or ports, so a year of them is small. Each row
//!   has the interval of the flow's start (`time`) and of its end
//!   (`time_end`), so a window aligned on the interval selects exactly the
//!   flows that overlap it, as `floe report` does.
//! * `flows_hosts_10m` (SummingMergeTree, fed by a materialized view):
//!   counters per 10 minutes, host and direction (source or destination),
//!   for host-by-month questions.
//!
//! Addresses are IPv6 with IPv4 mapped (`::ffff:192.0.2.1`), 16 bytes in
//! network order: one column per address whatever the family, ordered as
//! numbers, compared with one range test per network; an IPv4 address is
//! one whose first twelve bytes are `::ffff:` (an IPv6 flow using mapped
//! addresses would read as IPv4; they do not appear on the wire). Times
//! are floe's own, UTC milliseconds (`start_ms`, `end_ms`, Int64), with
//! `time` (DateTime, the start in seconds) for partitions, ordering and
//! people.
//!
//! [`Variant::Modern`] uses the `IPv6` type, `LowCardinality`, per-column
//! codecs and a TTL; [`Variant::Legacy`] is for servers without them
//! (ClickHouse before 19, such as Debian's 18.16): `FixedString(16)`,
//! `String`, no codecs and no TTL (expire by dropping partitions). The
//! bytes are the same, and so is every query floe sends. `cluster` makes
//! the Replicated tables on each shard (`*_local`) with a Distributed
//! table of the usual name over them.
//!
//! Later versions of floe only add: `init` creates what is missing and adds
//! missing columns (`system.columns` tells which: old servers have no
//! `ADD COLUMN IF NOT EXISTS`), and never drops or changes anything.

use std::fmt::Write as _;

/// Which server generation the DDL is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// ClickHouse 20 and later: IPv6, LowCardinality, codecs, TTL.
    Modern,
    /// Old servers (18.x, 19.x): FixedString(16), String, no codecs or TTL.
    Legacy,
}

/// Where and how the tables are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaOptions {
    /// The database the tables are made in.
    pub database: String,
    /// The flows table; the others are named after it.
    pub table: String,
    /// The server generation the DDL is for.
    pub variant: Variant,
    /// `ON CLUSTER` name: Replicated tables per shard and Distributed ones.
    pub cluster: Option<String>,
    /// Days the flows are kept (modern only; 0 keeps them).
    pub ttl_days: u32,
    /// Days the consolidated tables are kept (modern only; 0 keeps them).
    pub consolidated_ttl_days: u32,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            database: "floe".into(),
            table: "flows".into(),
            variant: Variant::Modern,
            cluster: None,
            ttl_days: 90,
            consolidated_ttl_days: 730,
        }
    }
}

/// A column's type in each variant, and its codec in the modern one.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The column's name.
    pub name: &'static str,
    /// Its type in the modern variant.
    pub modern: &'static str,
    /// Its type in the legacy variant.
    pub legacy: &'static str,
    /// Its codec in the modern variant (empty: the server's default).
    pub codec: &'static str,
    /// What it holds, for the comments of the schema script (empty: not
    /// listed there).
    pub doc: &'static str,
}

const fn col(
    name: &'static str,
    modern: &'static str,
    legacy: &'static str,
    codec: &'static str,
    doc: &'static str,
) -> Column {
    Column {
        name,
        modern,
        legacy,
        codec,
        doc,
    }
}

const ADDR: &str = "IPv6";
const ADDR_OLD: &str = "FixedString(16)";
const ZSTD: &str = "ZSTD(1)";
const T64: &str = "T64, ZSTD(1)";

/// The `flows` table's columns, in the order of the RowBinary rows floe
/// inserts ([`crate::rowbinary`]).
pub const FLOW_COLUMNS: &[Column] = &[
    col(
        "time",
        "DateTime('UTC')",
        "DateTime('UTC')",
        "Delta, ZSTD(1)",
        "flow start, seconds (clamped to DateTime's range)",
    ),
    col(
        "start_ms",
        "Int64",
        "Int64",
        "Delta, ZSTD(1)",
        "flow start, UTC ms",
    ),
    col(
        "end_ms",
        "Int64",
        "Int64",
        "Delta, ZSTD(1)",
        "flow end (last packet), UTC ms",
    ),
    col(
        "collector",
        "LowCardinality(String)",
        "String",
        "",
        "name of the floed (or floe ship) that sent the row",
    ),
    col(
        "file_id",
        "UInt64",
        "UInt64",
        ZSTD,
        "identity of the floe file the flow was stored in",
    ),
    col(
        "block",
        "UInt64",
        "UInt64",
        ZSTD,
        "offset of the flow's block in that file",
    ),
    col(
        "exporter",
        ADDR,
        ADDR_OLD,
        ZSTD,
        "address the export came from",
    ),
    col(
        "source_id",
        "UInt32",
        "UInt32",
        T64,
        "v9 source id / IPFIX observation domain",
    ),
    col("src_addr", ADDR, ADDR_OLD, ZSTD, "source address"),
    col("dst_addr", ADDR, ADDR_OLD, ZSTD, "destination address"),
    col("next_hop", ADDR, ADDR_OLD, ZSTD, "next-hop address"),
    col("src_port", "UInt16", "UInt16", T64, ""),
    col(
        "dst_port",
        "UInt16",
        "UInt16",
        T64,
        "ICMP: type * 256 + code",
    ),
    col("protocol", "UInt8", "UInt8", ZSTD, ""),
    col("tcp_flags", "UInt16", "UInt16", T64, ""),
    col("tos", "UInt8", "UInt8", ZSTD, ""),
    col("packets", "UInt64", "UInt64", T64, ""),
    col("octets", "UInt64", "UInt64", T64, ""),
    col("input_if", "UInt32", "UInt32", T64, ""),
    col("output_if", "UInt32", "UInt32", T64, ""),
    col("src_as", "UInt32", "UInt32", T64, ""),
    col("dst_as", "UInt32", "UInt32", T64, ""),
    col("src_mask", "UInt8", "UInt8", ZSTD, ""),
    col("dst_mask", "UInt8", "UInt8", ZSTD, ""),
    col(
        "sampling_interval",
        "UInt32",
        "UInt32",
        T64,
        "1 in N packets (0 or 1: unsampled)",
    ),
    col("engine_type", "UInt8", "UInt8", ZSTD, "v5 engine type"),
    col("engine_id", "UInt8", "UInt8", ZSTD, "v5 engine id"),
];

/// A column computed by the server (not sent): 1 for a flow with packets,
/// which reports count (flows without are flow-report's "ignores").
pub const HAS_PACKETS: &str = "UInt8 MATERIALIZED packets > 0";

/// The key columns of the consolidated tables (besides the intervals).
pub const CONSOLIDATED_KEYS: &[&str] = &[
    "collector",
    "exporter",
    "source_id",
    "protocol",
    "tos",
    "input_if",
    "output_if",
    "src_as",
    "dst_as",
    "engine_type",
    "engine_id",
    "sampling_interval",
];

/// What the consolidated tables sum: flows with packets (floe reports
/// ignore flows without, as flow-report does) and their counters, and the
/// flows without packets.
pub const SUMS: &[&str] = &["flows", "packets", "octets", "duration_ms", "ignored_flows"];

/// The consolidated tables: (suffix, interval seconds).
pub const CONSOLIDATED: &[(&str, u32)] = &[("_10m", 600), ("_1h", 3600)];

/// The per-host table's suffix and interval.
pub const HOSTS: (&str, u32) = ("_hosts_10m", 600);

/// SQL for a flow's start in seconds as the `time` column holds it.
pub const TIME_SECS: &str = "toUInt32(intDiv(greatest(least(start_ms, 4294967295999), 0), 1000))";
/// The same for the latest of start and end.
pub const TIME_END_SECS: &str =
    "toUInt32(intDiv(greatest(least(greatest(start_ms, end_ms), 4294967295999), 0), 1000))";
/// A flow's duration in ms, as floe computes it (never negative).
pub const DURATION_MS: &str = "if(end_ms > start_ms, toUInt64(end_ms - start_ms), toUInt64(0))";

impl SchemaOptions {
    fn q(&self, name: &str) -> String {
        format!("{}.{}", ident(&self.database), ident(name))
    }

    fn on_cluster(&self) -> String {
        self.cluster
            .as_ref()
            .map(|c| format!(" ON CLUSTER {}", ident(c)))
            .unwrap_or_default()
    }

    /// The name of the table that holds the rows of `name` on this server
    /// (the `_local` one in a cluster).
    pub fn local(&self, name: &str) -> String {
        match self.cluster {
            Some(_) => format!("{name}_local"),
            None => name.to_string(),
        }
    }

    fn modern(&self) -> bool {
        self.variant == Variant::Modern
    }

    fn engine(&self, kind: &str, args: &str, name: &str) -> String {
        match &self.cluster {
            None => format!("{kind}({args})"),
            Some(_) => {
                let path = format!(
                    "'/clickhouse/tables/{{shard}}/{}/{}'",
                    self.database.replace('\'', ""),
                    self.local(name).replace('\'', "")
                );
                let args = if args.is_empty() {
                    String::new()
                } else {
                    format!(", {args}")
                };
                format!("Replicated{kind}({path}, '{{replica}}'{args})")
            }
        }
    }

    fn column_type(&self, c: &Column) -> String {
        if self.modern() {
            if c.codec.is_empty() {
                c.modern.to_string()
            } else {
                format!("{} CODEC({})", c.modern, c.codec)
            }
        } else {
            c.legacy.to_string()
        }
    }

    fn ttl(&self, days: u32) -> String {
        if self.modern() && days > 0 {
            format!("\nTTL time + INTERVAL {days} DAY")
        } else {
            String::new()
        }
    }

    /// The `flows` table's columns as `(name, type)`, for `init`'s
    /// additive check.
    pub fn flow_columns(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = FLOW_COLUMNS
            .iter()
            .map(|c| (c.name.to_string(), self.column_type(c)))
            .collect();
        out.push(("has_packets".into(), HAS_PACKETS.into()));
        out
    }

    fn consolidated_columns(&self, hosts: bool) -> Vec<(String, String)> {
        let ty = |n: &str| {
            let c = FLOW_COLUMNS
                .iter()
                .find(|c| c.name == n)
                .expect("a flow column");
            if self.modern() {
                c.modern.to_string()
            } else {
                c.legacy.to_string()
            }
        };
        let mut out = vec![
            ("time".to_string(), "DateTime('UTC')".to_string()),
            ("time_end".to_string(), "DateTime('UTC')".to_string()),
        ];
        if hosts {
            for n in ["collector", "exporter", "sampling_interval"] {
                out.push((n.to_string(), ty(n)));
            }
            out.push(("direction".into(), "UInt8".into()));
            out.push(("host".into(), ty("src_addr")));
        } else {
            for n in CONSOLIDATED_KEYS {
                out.push((n.to_string(), ty(n)));
            }
        }
        for s in SUMS {
            out.push((s.to_string(), "UInt64".into()));
        }
        out
    }

    /// Every table's name and columns (the `_local` names in a cluster:
    /// those are the ones `init` may have to add columns to).
    pub fn tables(&self) -> Vec<(String, Vec<(String, String)>)> {
        let mut out = vec![(self.local(&self.table), self.flow_columns())];
        for (suffix, _) in CONSOLIDATED {
            out.push((
                self.local(&format!("{}{suffix}", self.table)),
                self.consolidated_columns(false),
            ));
        }
        out.push((
            self.local(&format!("{}{}", self.table, HOSTS.0)),
            self.consolidated_columns(true),
        ));
        out
    }

    fn create_table(
        &self,
        name: &str,
        columns: &[(String, String)],
        engine: String,
        tail: &str,
    ) -> String {
        let mut s = format!(
            "CREATE TABLE IF NOT EXISTS {}{}\n(\n",
            self.q(&self.local(name)),
            self.on_cluster()
        );
        for (i, (n, t)) in columns.iter().enumerate() {
            let comma = if i + 1 < columns.len() { "," } else { "" };
            let _ = writeln!(s, "    {} {t}{comma}", ident(n));
        }
        let _ = write!(s, ")\nENGINE = {engine}\n{tail}");
        s
    }

    fn distributed(&self, name: &str, key: &str) -> Option<String> {
        let cluster = self.cluster.as_ref()?;
        Some(format!(
            "CREATE TABLE IF NOT EXISTS {}{} AS {}\nENGINE = Distributed({}, {}, {}, {key})",
            self.q(name),
            self.on_cluster(),
            self.q(&self.local(name)),
            ident(cluster),
            ident(&self.database),
            ident(&self.local(name)),
        ))
    }

    /// The DDL statements, in order.
    pub fn statements(&self) -> Vec<String> {
        let mut out = vec![format!(
            "CREATE DATABASE IF NOT EXISTS {}{}",
            ident(&self.database),
            self.on_cluster()
        )];
        let flows = &self.table;
        out.push(self.create_table(
            flows,
            &self.flow_columns(),
            self.engine("MergeTree", "", flows),
            &format!(
                "PARTITION BY toYYYYMMDD(time)\nORDER BY (toStartOfFiveMinute(time), collector, exporter, source_id){}",
                self.ttl(self.ttl_days)
            ),
        ));
        out.extend(self.distributed(flows, "cityHash64(file_id, block)"));
        let sums = format!("({})", SUMS.join(", "));
        // (`has_packets` is a materialized column of `flows`: a view's
        // aliases shadow the source's columns, so `packets > 0` cannot be
        // written beside `sum(packets) AS packets`.)
        let counters = format!(
            "toUInt64(sum(has_packets)) AS flows,\n    toUInt64(sum(packets)) AS packets,\n    \
             toUInt64(sum(octets * has_packets)) AS octets,\n    \
             toUInt64(sum({DURATION_MS} * has_packets)) AS duration_ms,\n    \
             toUInt64(sum(has_packets = 0)) AS ignored_flows"
        );
        for (suffix, secs) in CONSOLIDATED {
            let name = format!("{flows}{suffix}");
            let keys = CONSOLIDATED_KEYS.join(", ");
            out.push(self.create_table(
                &name,
                &self.consolidated_columns(false),
                self.engine("SummingMergeTree", &sums, &name),
                &format!(
                    "PARTITION BY toYYYYMM(time)\nORDER BY (time, time_end, {keys}){}",
                    self.ttl(self.consolidated_ttl_days)
                ),
            ));
            out.push(format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS {}{} TO {} AS\nSELECT\n    {} AS time,\n    {} AS time_end,\n    {keys},\n    {counters}\nFROM {}\nGROUP BY time, time_end, {keys}",
                self.q(&self.local(&format!("{name}_mv"))),
                self.on_cluster(),
                self.q(&self.local(&name)),
                bucket(TIME_SECS, *secs),
                bucket(TIME_END_SECS, *secs),
                self.q(&self.local(flows)),
            ));
            out.extend(self.distributed(&name, "rand()"));
        }
        let name = format!("{flows}{}", HOSTS.0);
        out.push(self.create_table(
            &name,
            &self.consolidated_columns(true),
            self.engine("SummingMergeTree", &sums, &name),
            &format!(
                "PARTITION BY toYYYYMM(time)\nORDER BY (time, host, direction, time_end, collector, exporter, sampling_interval){}",
                self.ttl(self.consolidated_ttl_days)
            ),
        ));
        out.push(format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {}{} TO {} AS\nSELECT\n    {} AS time,\n    {} AS time_end,\n    \
             collector, exporter, sampling_interval,\n    \
             tupleElement(end_point, 1) AS direction,\n    tupleElement(end_point, 2) AS host,\n    {counters}\n\
             FROM {}\nARRAY JOIN [(toUInt8(0), src_addr), (toUInt8(1), dst_addr)] AS end_point\n\
             GROUP BY time, time_end, collector, exporter, sampling_interval, direction, host",
            self.q(&self.local(&format!("{name}_mv"))),
            self.on_cluster(),
            self.q(&self.local(&name)),
            bucket(TIME_SECS, HOSTS.1),
            bucket(TIME_END_SECS, HOSTS.1),
            self.q(&self.local(flows)),
        ));
        out.extend(self.distributed(&name, "rand()"));
        out
    }

    /// The statements as one script (`;` after each), with a comment
    /// saying what it is for.
    pub fn script(&self) -> String {
        let mut s = format!(
            "-- floe's ClickHouse schema ({} variant{}): apply with `floe clickhouse init URL`\n-- or run these statements in order. Columns:\n",
            match self.variant {
                Variant::Modern => "modern",
                Variant::Legacy => "legacy",
            },
            self.cluster
                .as_ref()
                .map(|c| format!(", cluster {c}"))
                .unwrap_or_default()
        );
        for c in FLOW_COLUMNS.iter().filter(|c| !c.doc.is_empty()) {
            let _ = writeln!(s, "--   {}: {}", c.name, c.doc);
        }
        s.push_str("--   addresses: IPv6, IPv4 mapped (::ffff:a.b.c.d)\n\n");
        for st in self.statements() {
            s.push_str(&st);
            s.push_str(";\n\n");
        }
        s
    }
}

/// `secs` (UInt32 seconds) rounded down to `interval`, as a DateTime.
fn bucket(secs: &str, interval: u32) -> String {
    format!("toDateTime(intDiv({secs}, {interval}) * {interval}, 'UTC')")
}

/// A name as ClickHouse reads it: backquoted, with backquotes and
/// backslashes escaped.
pub fn ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for c in name.chars() {
        match c {
            '`' => s.push_str("\\`"),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('`');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_has_no_modern_types() {
        let o = SchemaOptions {
            variant: Variant::Legacy,
            ..SchemaOptions::default()
        };
        let s = o.statements().join("\n");
        for word in ["IPv6", "LowCardinality", "CODEC", "TTL", "Replicated"] {
            assert!(!s.contains(word), "{word} in legacy DDL:\n{s}");
        }
        assert!(s.contains("FixedString(16)"));
    }

    #[test]
    fn modern_has_ttl_and_codecs_and_cluster_makes_replicas() {
        let s = SchemaOptions::default().script();
        assert!(s.contains("TTL time + INTERVAL 90 DAY") && s.contains("CODEC(T64, ZSTD(1))"));
        let c = SchemaOptions {
            cluster: Some("noc".into()),
            ..SchemaOptions::default()
        };
        let s = c.script();
        assert!(s.contains(
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/floe/flows_local', '{replica}')"
        ));
        assert!(s.contains(
            "ENGINE = Distributed(`noc`, `floe`, `flows_local`, cityHash64(file_id, block))"
        ));
        assert!(s.contains("ON CLUSTER `noc`"));
        assert!(s.contains("TO `floe`.`flows_10m_local`"));
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(ident("a`b\\c"), "`a\\`b\\\\c`");
        let o = SchemaOptions {
            database: "x`; DROP TABLE y; --".into(),
            ..SchemaOptions::default()
        };
        assert!(
            o.statements()[0].starts_with("CREATE DATABASE IF NOT EXISTS `x\\`; DROP TABLE y; --`")
        );
    }
}
