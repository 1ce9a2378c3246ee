//! floe's reports answered by ClickHouse: a report type, its options, a
//! filter and a time window compiled to `SELECT`s whose answers are the
//! ones `floe report` computes from the files.
//!
//! * The window is floe's: the flows that overlap `[from, to)`
//!   (`greatest(start_ms, end_ms) >= from AND start_ms < to`), with a
//!   bound on `time` a day wider so that partitions are pruned (flows that
//!   started more than a day before the window are not counted: exporters
//!   time flows out within minutes).
//! * The filter is [`filter_sql`]; flows without packets (after scaling)
//!   are flow-report's "ignores", counted apart.
//! * Keys become `GROUP BY` expressions computing what floe computes:
//!   addresses as (family, high and low 64 bits, prefix length) with the
//!   address formats' masks, distributions as floe's integer arithmetic,
//!   a time series' intervals by sharing each flow among the intervals it
//!   spans exactly as floe does (`arrayJoin` over its pieces, the
//!   remainder to the last), `ip-address`/`ip-port` by both ends
//!   (`arrayJoin`, once when they are equal), and the count reports with
//!   `uniqExact`.
//! * The sort becomes `ORDER BY` (the measure, then the key parts from the
//!   sorted one on, as floe breaks ties) and the records `LIMIT`; a second
//!   query gives the totals, the ignores, the time span, the summary's
//!   distributions and the number of distinct keys.
//! * A report needing neither addresses nor ports (keys among exporter,
//!   protocol, ToS, interfaces, AS numbers and engine; a filter on those;
//!   no window or one aligned on the table's interval; counters only)
//!   reads a consolidated table (`flows_1h`, else `flows_10m`), and a
//!   top-source or top-destination report the per-host table, which hold
//!   the same sums in far fewer rows.
//!
//! What ClickHouse cannot answer as floe would is refused with the reason
//! (there is nothing in floe's language it cannot: every filter construct
//! compiles). Floating-point rates are summed by ClickHouse in its own
//! order, so their last digits may differ from floe's.

use std::fmt::Write as _;
use std::net::IpAddr;

use floe_filter::{AddrField, Expr, NumField};
use floe_report::{
    AddrFormat, AddrStyle, Counters, KeyPart, Rates, Report, ReportOptions, ReportType, Row, Scale,
    Sort, SortField, Summary, SummaryKind, Val,
};

use crate::client::Client;
use crate::error::{ClickHouseError, Result};
use crate::schema::{ident, DURATION_MS};
use crate::sql::{filter_sql, Dialect};

const U64MAX: &str = "toUInt64(18446744073709551615)";

/// A flow spanning more intervals than this is counted in its first
/// (floe's rule, so that a broken clock costs no millions of rows).
const MAX_PIECES: i64 = 4096;

/// One report to answer.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    /// The report: its key parts, summary or count.
    pub kind: ReportType,
    /// How it is computed and shown (scaling, rates, address formats,
    /// interval).
    pub options: ReportOptions,
    /// The flows counted: those the filter matches (all when `None`).
    pub filter: Option<Expr>,
    /// `[from, to)` UTC ms (`i64::MIN`/`MAX` when open).
    pub window: (i64, i64),
    /// The sort and record limit, when the report is shown one way only;
    /// `None` fetches every row (the outputs sort and cut them).
    pub order: Option<(Sort, Option<usize>)>,
}

/// Which table answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `flows`, one row per flow.
    Flows,
    /// A consolidated table and its interval (seconds).
    Consolidated(String, i64),
    /// The per-host table, for one direction (0 source, 1 destination).
    Hosts(u8),
}

/// The statements that answer a report.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The table the statements read.
    pub source: Source,
    /// The rows (absent for summaries).
    pub rows: Option<String>,
    /// Totals, ignores, time span, distributions.
    pub totals: String,
    /// How many distinct keys (absent for summaries).
    pub keys: Option<String>,
    /// The time span, from `flows`, when the totals come from a
    /// consolidated table (which keeps no milliseconds).
    pub span: Option<String>,
}

impl Compiled {
    /// The statements, for `--sql`.
    pub fn statements(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        v.extend(self.rows.as_deref());
        v.push(&self.totals);
        v.extend(self.keys.as_deref());
        v.extend(self.span.as_deref());
        v
    }
}

/// What a key part's value is made of in the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One unsigned number.
    Number,
    /// An interval start, seconds.
    Time,
    /// Family (0 IPv4, 1 IPv6), high and low 64 bits, prefix length (0
    /// and no prefix for a plain address).
    Address { prefix: bool },
}

impl Shape {
    fn width(&self) -> usize {
        match self {
            Shape::Address { .. } => 4,
            _ => 1,
        }
    }
}

struct Ctx<'a> {
    q: &'a ReportQuery,
    dialect: Dialect,
    table: String,
}

/// The scaled octets and packets of a flow.
fn scaled(col: &str, scale: Scale) -> String {
    let m = match scale {
        Scale::None => return col.to_string(),
        Scale::Factor(n) => n.to_string(),
        Scale::Sampling => "greatest(toUInt64(sampling_interval), toUInt64(1))".to_string(),
    };
    format!("if({col} > intDiv({U64MAX}, {m}), {U64MAX}, {col} * {m})")
}

/// `n * 1000 / d` as floe computes it (exact without 128-bit numbers).
fn per_second(n: &str, d: &str) -> String {
    // (Old servers evaluate both branches of `if`: the divisor is never 0.)
    let g = format!("greatest({d}, toUInt64(1))");
    format!("if({d} = 0, toUInt64(0), intDiv({n}, {g}) * 1000 + intDiv(({n} % {g}) * 1000, {g}))")
}

/// Floor division of a signed value. The divisor is typed Int64: 18.16
/// takes a literal such as 60000 as UInt16 and computes `Int64 % UInt16`
/// wrongly (1796556719999 % 60000 gave -5537, so a flow ending on a
/// minute lost its last interval).
fn floor_div(a: &str, b: i64) -> String {
    format!("(intDiv({a}, toInt64({b})) - if(({a}) % toInt64({b}) < 0, 1, 0))")
}

impl Ctx<'_> {
    fn so(&self) -> String {
        scaled("octets", self.q.options.scale)
    }

    fn sp(&self) -> String {
        scaled("packets", self.q.options.scale)
    }

    /// The 16 bytes of an address column.
    fn bytes(&self, col: &str) -> String {
        match self.dialect {
            Dialect::Legacy => col.to_string(),
            Dialect::Modern => format!("reinterpretAsFixedString({col})"),
        }
    }

    /// (family, hi, lo, len) of an address with a format applied; `mask`
    /// is the flow's mask column.
    fn address(&self, col: &str, format: AddrFormat, mask: &str) -> [String; 4] {
        let b = self.bytes(col);
        let hi = format!("reinterpretAsUInt64(reverse(substring({b}, 1, 8)))");
        let lo = format!("reinterpretAsUInt64(reverse(substring({b}, 9, 8)))");
        let v4 = format!("({hi} = 0 AND bitShiftRight({lo}, 32) = 65535)");
        let fam = format!("toUInt8(NOT {v4})");
        let v4val = format!("bitAnd({lo}, 4294967295)");
        if format.style == AddrStyle::Address {
            return [
                fam,
                format!("if({v4}, toUInt64(0), {hi})"),
                format!("if({v4}, {v4val}, {lo})"),
                "toUInt8(0)".into(),
            ];
        }
        let (len4, len6) = match format.fixed {
            Some((a, b)) => (format!("toUInt64({a})"), format!("toUInt64({b})")),
            None => (
                format!("least(toUInt64({mask}), toUInt64(32))"),
                format!("least(toUInt64({mask}), toUInt64(128))"),
            ),
        };
        let cut = format.style == AddrStyle::PrefixMask || format.fixed.is_some();
        // (Shifts by UInt64: on 18.16 `32 - UInt64` is Int64, and an `if`
        // of UInt64 and what a shift by it gives has no common type.)
        let (a4, ahi, alo) = if cut {
            (
                format!(
                    "bitAnd({v4val}, if({len4} = 0, toUInt64(0), bitAnd(bitShiftLeft(toUInt64(4294967295), toUInt64(32 - {len4})), 4294967295)))"
                ),
                format!(
                    "if({len6} >= 64, {hi}, bitAnd({hi}, if({len6} = 0, toUInt64(0), bitShiftLeft({U64MAX}, toUInt64(64 - {len6})))))"
                ),
                format!(
                    "if({len6} <= 64, toUInt64(0), bitAnd({lo}, if({len6} = 128, {U64MAX}, bitShiftLeft({U64MAX}, toUInt64(128 - {len6})))))"
                ),
            )
        } else {
            (v4val.clone(), hi.clone(), lo.clone())
        };
        [
            fam,
            format!("toUInt64(if({v4}, toUInt64(0), toUInt64({ahi})))"),
            format!("toUInt64(if({v4}, toUInt64({a4}), toUInt64({alo})))"),
            format!("toUInt8(if({v4}, {len4}, {len6}))"),
        ]
    }

    fn shape(&self, p: KeyPart) -> Shape {
        match p {
            KeyPart::SrcAddr => Shape::Address {
                prefix: self.q.options.src_format.style != AddrStyle::Address,
            },
            KeyPart::DstAddr => Shape::Address {
                prefix: self.q.options.dst_format.style != AddrStyle::Address,
            },
            KeyPart::NextHop | KeyPart::Exporter => Shape::Address { prefix: false },
            KeyPart::Interval => Shape::Time,
            _ => Shape::Number,
        }
    }

    /// A key part's expressions (for time series, the piece's interval
    /// start is supplied by the caller).
    fn part(&self, p: KeyPart) -> Vec<String> {
        let d = DURATION_MS;
        let one = |s: &str| vec![s.to_string()];
        match p {
            KeyPart::SrcAddr => self
                .address("src_addr", self.q.options.src_format, "src_mask")
                .to_vec(),
            KeyPart::DstAddr => self
                .address("dst_addr", self.q.options.dst_format, "dst_mask")
                .to_vec(),
            KeyPart::NextHop => self
                .address("next_hop", AddrFormat::default(), "0")
                .to_vec(),
            KeyPart::Exporter => self
                .address("exporter", AddrFormat::default(), "0")
                .to_vec(),
            KeyPart::SrcPort => one("toUInt64(src_port)"),
            KeyPart::DstPort => one("toUInt64(dst_port)"),
            KeyPart::Protocol => one("toUInt64(protocol)"),
            KeyPart::Tos => one("toUInt64(tos)"),
            KeyPart::InIf => one("toUInt64(input_if)"),
            KeyPart::OutIf => one("toUInt64(output_if)"),
            KeyPart::SrcAs => one("toUInt64(src_as)"),
            KeyPart::DstAs => one("toUInt64(dst_as)"),
            KeyPart::EngineId => one("toUInt64(engine_id)"),
            KeyPart::EngineType => one("toUInt64(engine_type)"),
            KeyPart::PacketSize => vec![format!(
                "intDiv({}, greatest({}, toUInt64(1)))",
                self.so(),
                self.sp()
            )],
            KeyPart::Octets => vec![self.so()],
            KeyPart::Packets => vec![self.sp()],
            KeyPart::Bps => vec![per_second(
                &format!(
                    "if({so} > 2305843009213693951, {U64MAX}, {so} * 8)",
                    so = self.so()
                ),
                d,
            )],
            KeyPart::Pps => vec![per_second(&self.sp(), d)],
            KeyPart::Duration => vec![d.to_string()],
            KeyPart::Interval => vec!["piece.1".into()],
        }
    }

    fn window(&self, time_col: &str, end_col: Option<&str>) -> Vec<String> {
        let (from, to) = self.q.window;
        let mut w = Vec::new();
        if from != i64::MIN {
            match end_col {
                Some(e) => w.push(format!("{e} >= {from}")),
                None => w.push(format!("toUInt32({time_col}) >= {}", (from / 1000).max(0))),
            }
            if end_col.is_some() {
                w.push(format!(
                    "{time_col} >= toDateTime({})",
                    from.saturating_sub(86_400_000)
                        .div_euclid(1000)
                        .clamp(0, u32::MAX as i64)
                ));
            }
        }
        if to != i64::MAX {
            match end_col {
                Some(_) => {
                    w.push(format!("start_ms < {to}"));
                    w.push(format!(
                        "{time_col} <= toDateTime({})",
                        to.div_euclid(1000).clamp(0, u32::MAX as i64)
                    ));
                }
                None => w.push(format!("toUInt32({time_col}) < {}", (to / 1000).max(0))),
            }
        }
        w
    }

    fn where_flows(&self) -> String {
        let mut w = self.window("time", Some("greatest(start_ms, end_ms)"));
        if let Some(f) = &self.q.filter {
            w.push(filter_sql(f, self.dialect));
        }
        if w.is_empty() {
            "1".into()
        } else {
            w.join("\n  AND ")
        }
    }
}

/// The rates' aggregates over pieces with a duration: recs, then sum, min
/// and max of bits and of packets per second.
fn rate_columns(octets: &str, packets: &str, d: &str) -> String {
    let bps = format!("(toFloat64({octets}) * 8. / ({d} / 1000.))");
    let pps = format!("(toFloat64({packets}) / ({d} / 1000.))");
    let c = format!("{d} > 0");
    format!(
        "countIf({c}), sumIf({bps}, {c}), minIf({bps}, {c}), maxIf({bps}, {c}), sumIf({pps}, {c}), minIf({pps}, {c}), maxIf({pps}, {c})"
    )
}

/// Compiles a report for the flows table `database.table` of a server of
/// this dialect; `consolidated` allows the consolidated tables.
pub fn compile(
    q: &ReportQuery,
    database: &str,
    table: &str,
    dialect: Dialect,
    consolidated: bool,
) -> Result<Compiled> {
    let ctx = Ctx {
        q,
        dialect,
        table: format!("{}.{}", ident(database), ident(table)),
    };
    if consolidated {
        if let Some(c) = compile_consolidated(&ctx, database, table) {
            return Ok(c);
        }
    }
    compile_flows(&ctx)
}

fn compile_flows(ctx: &Ctx) -> Result<Compiled> {
    let q = ctx.q;
    let (so, sp, d) = (ctx.so(), ctx.sp(), DURATION_MS.to_string());
    let wh = ctx.where_flows();
    let rates = q.options.rates;
    // Totals: over flows, not pieces.
    let mut totals = format!(
        "SELECT countIf(packets > 0), sumIf({so}, packets > 0), sumIf({sp}, packets > 0), sumIf({d}, packets > 0), countIf(packets = 0), minIf(start_ms, packets > 0), maxIf(end_ms, packets > 0)"
    );
    if rates {
        let _ = write!(
            totals,
            ", {}",
            rate_columns(
                &format!("if(packets > 0, {so}, 0)"),
                &format!("if(packets > 0, {sp}, 0)"),
                &format!("if(packets > 0, {d}, 0)")
            )
        );
    }
    if q.kind.summary == Some(SummaryKind::Detail) {
        let size = format!("intDiv({so}, greatest({sp}, toUInt64(1)))");
        let b = Summary::new(SummaryKind::Detail);
        for (v, dist) in [
            (&size, &b.packet_size),
            (&sp, &b.packets),
            (&so, &b.octets),
            (&d, &b.time),
        ] {
            let (bounds, other) = (dist.bounds, dist.other.is_some());
            let mut lo: Option<u64> = None;
            for b in bounds {
                let cond = match lo {
                    None => format!("{v} <= {b}"),
                    Some(l) => format!("{v} > {l} AND {v} <= {b}"),
                };
                let _ = write!(totals, ", countIf(packets > 0 AND {cond})");
                lo = Some(*b);
            }
            if other {
                let _ = write!(
                    totals,
                    ", countIf(packets > 0 AND {v} > {})",
                    lo.unwrap_or(0)
                );
            }
        }
    }
    let _ = write!(
        totals,
        "\nFROM {}\nWHERE {wh}\nFORMAT TabSeparated",
        ctx.table
    );
    if q.kind.summary.is_some() {
        return Ok(Compiled {
            source: Source::Flows,
            rows: None,
            totals,
            keys: None,
            span: None,
        });
    }

    // The key: per part its expressions; the first (both ends) or all.
    let series = q.kind.parts.contains(&KeyPart::Interval);
    let mut array_join = String::new();
    let mut key_exprs: Vec<String> = Vec::new();
    let (po, pp, pd, pflows);
    if series {
        let i = q.options.interval_ms();
        let s = "start_ms";
        let e = format!("(start_ms + toInt64({d}))");
        let first = floor_div(s, i);
        let last = floor_div(&format!("greatest({e} - 1, start_ms)"), i);
        let n = format!("toUInt64({last} - {first} + 1)");
        let secs = |x: &str| format!("toUInt64(greatest(intDiv(({x}) * {i}, 1000), 0))");
        // floe's pieces: up to interval j, a flow has had its bytes and
        // packets in proportion to its time so far, rounded half up (all
        // of them by the last); a piece is the difference. A piece
        // without packets gives its bytes and time to the piece before
        // with packets (the first ones to the first with packets), and
        // each piece with packets counts the flow once. So the pieces
        // kept are the intervals with packets, each running to the next
        // one (the first from the flow's start): differences of the
        // cumulative sums at their ends.
        // (Old servers evaluate both branches of `if`, so the divisor is
        // never 0; and they bind a nested lambda's variable to an outer
        // one of the same name, so each lambda has its own.)
        let g = format!("greatest({d}, toUInt64(1))");
        let t_of = |v: &str| {
            format!("toUInt64(least({e}, ({first} + toInt64({v}) + 1) * {i}) - start_ms)")
        };
        let upto = |x: &str, v: &str| {
            let t = t_of(v);
            format!(
                "if({v} + 1 = {n}, {x}, intDiv({x}, {g}) * {t} + intDiv(2 * ({x} % {g}) * {t} + {d}, 2 * {g}))"
            )
        };
        let ct = format!("arrayMap(a -> {}, range({n}))", t_of("a"));
        let co = format!("arrayMap(b -> toUInt64({}), range({n}))", upto(&so, "b"));
        let cp = format!("arrayMap(c -> toUInt64({}), range({n}))", upto(&sp, "c"));
        let ks =
            format!("arrayFilter(j -> {cp}[j + 1] > if(j = 0, toUInt64(0), {cp}[j]), range({n}))");
        let k = format!("{ks}[m + 1]");
        let from = format!("if(m = 0, toUInt64(0), {k})");
        let to = format!("if(m + 1 = length({ks}), {n} - 1, {ks}[m + 2] - 1)");
        let piece = format!(
            "if({last} = {first} OR {last} - {first} >= {MAX_PIECES},\n    [({}, toUInt64(1), {so}, {sp}, {d})],\n    \
             arrayMap(m -> ({}, toUInt64(1), \
             toUInt64({co}[{to} + 1] - if({from} = 0, toUInt64(0), {co}[{from}])), \
             toUInt64({cp}[{k} + 1] - if({k} = 0, toUInt64(0), {cp}[{k}])), \
             toUInt64({ct}[{to} + 1] - if({from} = 0, toUInt64(0), {ct}[{from}]))), \
             range(length({ks}))))",
            secs(&first),
            secs(&format!("{first} + toInt64({k})")),
        );
        let _ = write!(array_join, "\nARRAY JOIN {piece} AS piece");
        (pflows, po, pp, pd) = (
            "piece.2".to_string(),
            "piece.3".to_string(),
            "piece.4".to_string(),
            "piece.5".to_string(),
        );
        for p in &q.kind.parts {
            key_exprs.extend(ctx.part(*p));
        }
    } else if q.kind.both_ends {
        let (a, b) = if q.kind.parts[0].is_address() {
            (ctx.part(KeyPart::SrcAddr), ctx.part(KeyPart::DstAddr))
        } else {
            (ctx.part(KeyPart::SrcPort), ctx.part(KeyPart::DstPort))
        };
        let (ta, tb) = (
            format!("tuple({})", a.join(", ")),
            format!("tuple({})", b.join(", ")),
        );
        let _ = write!(
            array_join,
            "\nARRAY JOIN if({ta} = {tb}, [{ta}], [{ta}, {tb}]) AS end_point"
        );
        for k in 0..a.len() {
            key_exprs.push(format!("tupleElement(end_point, {})", k + 1));
        }
        (pflows, po, pp, pd) = ("toUInt64(1)".into(), so.clone(), sp.clone(), d.clone());
    } else if q.kind.count {
        key_exprs.extend(ctx.part(q.kind.parts[0]));
        (pflows, po, pp, pd) = ("toUInt64(1)".into(), so.clone(), sp.clone(), d.clone());
    } else {
        for p in &q.kind.parts {
            key_exprs.extend(ctx.part(*p));
        }
        (pflows, po, pp, pd) = ("toUInt64(1)".into(), so.clone(), sp.clone(), d.clone());
    }
    let names: Vec<String> = (0..key_exprs.len()).map(|i| format!("k{i}")).collect();
    let mut select: Vec<String> = key_exprs
        .iter()
        .zip(&names)
        .map(|(e, n)| format!("{e} AS {n}"))
        .collect();
    select.push(format!("sum({pflows}) AS c_flows"));
    select.push(format!("sum({po}) AS c_octets"));
    select.push(format!("sum({pp}) AS c_packets"));
    select.push(format!("sum({pd}) AS c_duration"));
    if q.kind.count {
        let second = ctx.part(q.kind.parts[1]);
        select.push(format!("uniqExact({}) AS c_count", second.join(", ")));
    }
    if rates {
        let r = rate_columns(&po, &pp, &pd);
        let names = [
            "r_recs", "r_sbps", "r_minbps", "r_maxbps", "r_spps", "r_minpps", "r_maxpps",
        ];
        for (expr, name) in split_top(&r).into_iter().zip(names) {
            select.push(format!("{expr} AS {name}"));
        }
    }
    let from_where = format!("FROM {}{array_join}\nWHERE packets > 0 AND {wh}", ctx.table);
    let group = names.join(", ");
    let mut rows = format!(
        "SELECT {}\n{from_where}\nGROUP BY {group}",
        select.join(",\n  ")
    );
    if let Some((sort, records)) = q.order {
        let _ = write!(rows, "\nORDER BY {}", order_by(ctx, sort, q.kind.count));
        if let Some(n) = records {
            let _ = write!(rows, "\nLIMIT {n}");
        }
    }
    rows.push_str("\nFORMAT TabSeparated");
    // floe counts a count report's keys as its (first, second) pairs.
    let mut key_sel: Vec<String> = key_exprs
        .iter()
        .zip(&names)
        .map(|(e, n)| format!("{e} AS {n}"))
        .collect();
    let mut key_group = names.clone();
    if q.kind.count {
        for (i, e) in ctx.part(q.kind.parts[1]).into_iter().enumerate() {
            key_sel.push(format!("{e} AS s{i}"));
            key_group.push(format!("s{i}"));
        }
    }
    let keys = format!(
        "SELECT count() FROM (SELECT {}\n{from_where}\nGROUP BY {})\nFORMAT TabSeparated",
        key_sel.join(", "),
        key_group.join(", ")
    );
    Ok(Compiled {
        source: Source::Flows,
        rows: Some(rows),
        totals,
        keys: Some(keys),
        span: None,
    })
}

/// Splits `a, b(c, d), e` at its top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for ch in s.chars() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The `ORDER BY` of a sort: the measure, then the key's columns from the
/// sorted part on (floe's tie-breaking).
fn order_by(ctx: &Ctx, sort: Sort, count: bool) -> String {
    let dir = if sort.largest_first { "DESC" } else { "ASC" };
    let mut out = Vec::new();
    let rate = |sum: &str| format!("if(r_recs = 0, 0., {sum} / r_recs)");
    match sort.field {
        SortField::Flows => out.push(format!("c_flows {dir}")),
        SortField::Octets => out.push(format!("c_octets {dir}")),
        SortField::Packets => out.push(format!("c_packets {dir}")),
        SortField::Duration => out.push(format!("c_duration {dir}")),
        SortField::Count => out.push(format!("c_count {dir}")),
        SortField::AvgBps => out.push(format!("{} {dir}", rate("r_sbps"))),
        SortField::AvgPps => out.push(format!("{} {dir}", rate("r_spps"))),
        SortField::MinBps => out.push(format!("if(r_recs = 0, 0., r_minbps) {dir}")),
        SortField::MaxBps => out.push(format!("if(r_recs = 0, 0., r_maxbps) {dir}")),
        SortField::MinPps => out.push(format!("if(r_recs = 0, 0., r_minpps) {dir}")),
        SortField::MaxPps => out.push(format!("if(r_recs = 0, 0., r_maxpps) {dir}")),
        SortField::Key(_) => {}
    }
    let key_dir = if matches!(sort.field, SortField::Key(_)) && sort.largest_first {
        "DESC"
    } else {
        "ASC"
    };
    let parts: Vec<KeyPart> = if count || ctx.q.kind.both_ends {
        vec![ctx.q.kind.parts[0]]
    } else {
        ctx.q.kind.parts.clone()
    };
    let first = match sort.field {
        SortField::Key(i) => i.min(parts.len().saturating_sub(1)),
        _ => 0,
    };
    let mut offsets = Vec::new();
    let mut at = 0;
    for p in &parts {
        offsets.push(at);
        at += ctx.shape(*p).width();
    }
    for i in (first..parts.len()).chain(0..first) {
        for c in 0..ctx.shape(parts[i]).width() {
            out.push(format!("k{} {key_dir}", offsets[i] + c));
        }
    }
    out.join(", ")
}

fn compile_consolidated(ctx: &Ctx, database: &str, table: &str) -> Option<Compiled> {
    let q = ctx.q;
    if q.kind.count || q.kind.both_ends || q.options.rates {
        return None;
    }
    if q.kind.summary == Some(SummaryKind::Detail) {
        return None;
    }
    let hosts = match q.kind.parts.as_slice() {
        [KeyPart::SrcAddr] if q.options.src_format == AddrFormat::default() => Some(0u8),
        [KeyPart::DstAddr] if q.options.dst_format == AddrFormat::default() => Some(1u8),
        _ => None,
    };
    let plain = q.kind.parts.iter().all(|p| {
        matches!(
            p,
            KeyPart::Exporter
                | KeyPart::Protocol
                | KeyPart::Tos
                | KeyPart::InIf
                | KeyPart::OutIf
                | KeyPart::SrcAs
                | KeyPart::DstAs
                | KeyPart::EngineId
                | KeyPart::EngineType
        )
    });
    if hosts.is_none() && !plain {
        return None;
    }
    if let Some(f) = &q.filter {
        if !consolidated_filter(f, hosts) {
            return None;
        }
    }
    let aligned = |secs: i64| {
        let (from, to) = q.window;
        (from == i64::MIN || from.rem_euclid(secs * 1000) == 0)
            && (to == i64::MAX || to.rem_euclid(secs * 1000) == 0)
    };
    let (name, secs, source) = match hosts {
        Some(dir) if aligned(600) => (format!("{table}_hosts_10m"), 600, Source::Hosts(dir)),
        Some(_) => return None,
        None if aligned(3600) => (
            format!("{table}_1h"),
            3600,
            Source::Consolidated(format!("{table}_1h"), 3600),
        ),
        None if aligned(600) => (
            format!("{table}_10m"),
            600,
            Source::Consolidated(format!("{table}_10m"), 600),
        ),
        None => return None,
    };
    let _ = secs;
    let t = format!("{}.{}", ident(database), ident(&name));
    let mut w = Vec::new();
    let (from, to) = q.window;
    if from != i64::MIN {
        w.push(format!("time_end >= toDateTime({})", (from / 1000).max(0)));
    }
    if to != i64::MAX {
        w.push(format!("time < toDateTime({})", (to / 1000).max(0)));
    }
    if let Some(dir) = hosts {
        w.push(format!("direction = {dir}"));
    }
    if let Some(f) = &q.filter {
        let mut sql = filter_sql(f, ctx.dialect);
        if hosts.is_some() {
            sql = sql.replace("src_addr", "host").replace("dst_addr", "host");
        }
        w.push(sql);
    }
    let wh = if w.is_empty() {
        "1".to_string()
    } else {
        w.join(" AND ")
    };
    let m = match q.options.scale {
        Scale::None => None,
        Scale::Factor(n) => Some(n.to_string()),
        Scale::Sampling => Some("greatest(toUInt64(sampling_interval), toUInt64(1))".to_string()),
    };
    let sc = |c: &str| match &m {
        None => c.to_string(),
        Some(m) => format!("{c} * {m}"),
    };
    let totals = format!(
        "SELECT sum(flows), sum({}), sum({}), sum(duration_ms), sum(ignored_flows), 0, 0 FROM {t} WHERE {wh} FORMAT TabSeparated",
        sc("octets"),
        sc("packets")
    );
    let span = format!(
        "SELECT minIf(start_ms, packets > 0), maxIf(end_ms, packets > 0) FROM {} WHERE {} FORMAT TabSeparated",
        ctx.table,
        ctx.where_flows()
    );
    if q.kind.summary.is_some() {
        return Some(Compiled {
            source,
            rows: None,
            totals,
            keys: None,
            span: Some(span),
        });
    }
    let mut key_exprs = Vec::new();
    for p in &q.kind.parts {
        let exprs = match p {
            KeyPart::SrcAddr | KeyPart::DstAddr => {
                ctx.address("host", AddrFormat::default(), "0").to_vec()
            }
            other => ctx.part(*other),
        };
        key_exprs.extend(exprs);
    }
    let names: Vec<String> = (0..key_exprs.len()).map(|i| format!("k{i}")).collect();
    let mut select: Vec<String> = key_exprs
        .iter()
        .zip(&names)
        .map(|(e, n)| format!("{e} AS {n}"))
        .collect();
    select.push("sum(flows) AS c_flows".into());
    select.push(format!("sum({}) AS c_octets", sc("octets")));
    select.push(format!("sum({}) AS c_packets", sc("packets")));
    select.push("sum(duration_ms) AS c_duration".into());
    let group = names.join(", ");
    let from_where = format!("FROM {t}\nWHERE flows > 0 AND {wh}");
    let mut rows = format!(
        "SELECT {}\n{from_where}\nGROUP BY {group}",
        select.join(",\n  ")
    );
    if let Some((sort, records)) = q.order {
        let _ = write!(rows, "\nORDER BY {}", order_by(ctx, sort, false));
        if let Some(n) = records {
            let _ = write!(rows, "\nLIMIT {n}");
        }
    }
    rows.push_str("\nFORMAT TabSeparated");
    let keys = format!(
        "SELECT count() FROM (SELECT {} {from_where} GROUP BY {group}) FORMAT TabSeparated",
        key_exprs
            .iter()
            .zip(&names)
            .map(|(e, n)| format!("{e} AS {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Some(Compiled {
        source,
        rows: Some(rows),
        totals,
        keys: Some(keys),
        span: Some(span),
    })
}

/// True when the filter reads only what the consolidated (or, with a
/// direction, the per-host) table keeps.
fn consolidated_filter(e: &Expr, hosts: Option<u8>) -> bool {
    match e {
        Expr::Any => true,
        Expr::Not(x) => consolidated_filter(x, hosts),
        Expr::And(v) | Expr::Or(v) => v.iter().all(|x| consolidated_filter(x, hosts)),
        Expr::Family(_) | Expr::Flags(_) => false,
        Expr::Addr(AddrField::Exporter, _) => true,
        Expr::Addr(AddrField::Src, _) => hosts == Some(0),
        Expr::Addr(AddrField::Dst, _) => hosts == Some(1),
        Expr::Addr(..) => false,
        Expr::Num(f, _, _) | Expr::NumIn(f, _) | Expr::Masked(f, _, _) => match hosts {
            Some(_) => matches!(f, NumField::Sampling),
            None => matches!(
                f,
                NumField::Protocol
                    | NumField::Tos
                    | NumField::InIf
                    | NumField::OutIf
                    | NumField::SrcAs
                    | NumField::DstAs
                    | NumField::EngineType
                    | NumField::EngineId
                    | NumField::SourceId
                    | NumField::Sampling
            ),
        },
    }
}

fn bad(client: &Client, what: String) -> ClickHouseError {
    ClickHouseError::Answer {
        url: client.target().url.clone(),
        what,
    }
}

fn parse_u64(client: &Client, s: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| bad(client, format!("expected a number, got {s:?}")))
}

fn parse_i64(client: &Client, s: &str) -> Result<i64> {
    s.parse()
        .map_err(|_| bad(client, format!("expected a number, got {s:?}")))
}

fn parse_f64(client: &Client, s: &str) -> Result<f64> {
    match s {
        "nan" | "-nan" => Ok(0.0),
        "inf" | "+inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse()
            .map_err(|_| bad(client, format!("expected a number, got {s:?}"))),
    }
}

/// Runs the statements and builds the report as floe would have.
pub fn answer(client: &Client, q: &ReportQuery, c: &Compiled) -> Result<Report> {
    let t = client.query(&c.totals)?;
    let cols: Vec<&str> = t.trim_end_matches('\n').split('\t').collect();
    let want = 7 + if q.options.rates && c.source == Source::Flows {
        7
    } else {
        0
    };
    if cols.len() < want {
        return Err(bad(client, format!("totals: {t:?}")));
    }
    let totals = Counters {
        flows: parse_u64(client, cols[0])?,
        octets: parse_u64(client, cols[1])?,
        packets: parse_u64(client, cols[2])?,
        duration_ms: parse_u64(client, cols[3])?,
    };
    let ignores = parse_u64(client, cols[4])?;
    let mut span = (parse_i64(client, cols[5])?, parse_i64(client, cols[6])?);
    if let Some(s) = &c.span {
        let a = client.query(s)?;
        let v: Vec<&str> = a.trim_end_matches('\n').split('\t').collect();
        if v.len() != 2 {
            return Err(bad(client, format!("span: {a:?}")));
        }
        span = (parse_i64(client, v[0])?, parse_i64(client, v[1])?);
    }
    if totals.flows == 0 {
        span = (i64::MAX, i64::MIN);
    }
    let mut at = 7;
    let mut total_rates = Rates::default();
    if q.options.rates && c.source == Source::Flows {
        total_rates = rates_at(client, &cols, at)?;
        at += 7;
    }
    let summary = match q.kind.summary {
        Some(kind) => {
            let mut s = Summary::new(kind);
            if kind == SummaryKind::Detail {
                for d in [
                    &mut s.packet_size,
                    &mut s.packets,
                    &mut s.octets,
                    &mut s.time,
                ] {
                    for n in d.counts.iter_mut() {
                        *n = parse_u64(client, cols.get(at).copied().unwrap_or(""))?;
                        at += 1;
                    }
                    if let Some(o) = d.other.as_mut() {
                        *o = parse_u64(client, cols.get(at).copied().unwrap_or(""))?;
                        at += 1;
                    }
                }
            }
            Some(s)
        }
        None => None,
    };
    let mut rows = Vec::new();
    let mut keys = 0;
    if let (Some(sql), Some(ksql)) = (&c.rows, &c.keys) {
        let shapes = shapes(q, &c.source);
        let answer = client.query(sql)?;
        for line in answer.lines().filter(|l| !l.is_empty()) {
            rows.push(parse_row(client, line, &shapes, q, &c.source)?);
        }
        keys = parse_u64(client, client.query(ksql)?.trim())? as usize;
    }
    Ok(Report::counted(
        q.kind.clone(),
        q.options,
        rows,
        keys,
        totals,
        total_rates,
        ignores,
        span,
        summary,
    ))
}

/// Runs only the rows statement of a compiled report (none for a
/// summary), with `settings`, and parses its rows: what a query layer
/// that merges rows itself needs (no totals, no count of keys).
pub fn rows(
    client: &Client,
    q: &ReportQuery,
    c: &Compiled,
    settings: &[(&str, &str)],
) -> Result<Vec<Row>> {
    let Some(sql) = &c.rows else {
        return Ok(Vec::new());
    };
    let shapes = shapes(q, &c.source);
    let answer = client.query_with(sql, settings)?;
    answer
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| parse_row(client, line, &shapes, q, &c.source))
        .collect()
}

/// What each key part of a report's rows is made of.
fn shapes(q: &ReportQuery, source: &Source) -> Vec<Shape> {
    let ctx = Ctx {
        q,
        dialect: Dialect::Legacy,
        table: String::new(),
    };
    let parts: Vec<KeyPart> = if q.kind.count || q.kind.both_ends {
        vec![q.kind.parts[0]]
    } else {
        q.kind.parts.clone()
    };
    parts
        .iter()
        .map(|p| match (source, p) {
            (Source::Hosts(_), _) => Shape::Address { prefix: false },
            _ => ctx.shape(*p),
        })
        .collect()
}

fn rates_at(client: &Client, cols: &[&str], at: usize) -> Result<Rates> {
    let f = |i: usize| parse_f64(client, cols.get(at + i).copied().unwrap_or(""));
    Ok(Rates::from_sums(
        parse_u64(client, cols.get(at).copied().unwrap_or(""))?,
        (f(1)?, f(2)?, f(3)?),
        (f(4)?, f(5)?, f(6)?),
    ))
}

fn parse_row(
    client: &Client,
    line: &str,
    shapes: &[Shape],
    q: &ReportQuery,
    source: &Source,
) -> Result<Row> {
    let cols: Vec<&str> = line.split('\t').collect();
    let mut at = 0;
    let mut key = Vec::new();
    let num = |i: usize| parse_u64(client, cols.get(i).copied().unwrap_or(""));
    for s in shapes {
        match s {
            Shape::Number => key.push(Val::N(num(at)?)),
            Shape::Time => key.push(Val::T(num(at)?)),
            Shape::Address { prefix } => {
                let (fam, hi, lo, len) = (num(at)?, num(at + 1)?, num(at + 2)?, num(at + 3)?);
                let len = len.min(128) as u8;
                key.push(match (fam, prefix) {
                    (0, false) => Val::V4(lo as u32),
                    (0, true) => Val::P4 {
                        addr: lo as u32,
                        len,
                    },
                    (_, false) => Val::V6((u128::from(hi) << 64) | u128::from(lo)),
                    (_, true) => Val::P6 {
                        addr: (u128::from(hi) << 64) | u128::from(lo),
                        len,
                    },
                });
            }
        }
        at += s.width();
    }
    let counters = Counters {
        flows: num(at)?,
        octets: num(at + 1)?,
        packets: num(at + 2)?,
        duration_ms: num(at + 3)?,
    };
    at += 4;
    let mut count = None;
    if q.kind.count {
        count = Some(num(at)?);
        at += 1;
    }
    let rates = if q.options.rates && *source == Source::Flows {
        Some(rates_at(client, &cols, at)?)
    } else if q.options.rates {
        Some(Rates::default())
    } else {
        None
    };
    Ok(Row {
        key,
        counters,
        rates,
        count,
    })
}

/// An address as floe shows it in a key.
pub fn val_of(a: IpAddr) -> Val {
    match a {
        IpAddr::V4(v) => Val::V4(u32::from(v)),
        IpAddr::V6(v) => Val::V6(u128::from(v)),
    }
}
