//! Reports in words, for the people who read them: titles ("Top 15
//! source addresses by bytes"), time windows in the reader's zone
//! ("2026-12-05 00:00 to 24:00 (UTC)"), and quantities with their units
//! spelled out ("34.1 kB", "1.2 Mbit/s"). The text and HTML renderers
//! use these; CSV and JSON keep machine forms.
//!
//! Times are shown in a zone that the caller knows and this crate does
//! not (it has no time-zone database): a [`Clock`] gives the zone's UTC
//! offset at an instant and the zone's name.

use floe_flow::time::civil_from_days;

use crate::kind::{KeyPart, ReportType};
use crate::report::{Sort, SortField};

/// The zone times are shown in.
pub trait Clock {
    /// The zone's offset from UTC at the instant, in milliseconds.
    fn offset_ms(&self, at_ms: i64) -> i64;
    /// How the zone is named after a time: `UTC`, `local time`,
    /// `Europe/Amsterdam`.
    fn label(&self) -> String;
}

/// UTC, the clock when none is given.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utc;

impl Clock for Utc {
    fn offset_ms(&self, _: i64) -> i64 {
        0
    }

    fn label(&self) -> String {
        "UTC".into()
    }
}

/// A wall-clock reading: date and time of day in a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, from 1.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// Days since 1970-01-01 of the date (to compare dates).
    pub days: i64,
}

impl Civil {
    /// The reading of `clock` at `ms` (UTC ms).
    pub fn at(clock: &dyn Clock, ms: i64) -> Civil {
        let local = ms.saturating_add(clock.offset_ms(ms));
        let days = local.div_euclid(86_400_000);
        let rem = local.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3_600_000) as u32,
            minute: (rem / 60_000 % 60) as u32,
            second: (rem / 1000 % 60) as u32,
            days,
        }
    }

    /// `2026-12-05`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `10:05`, or `10:05:07` when `seconds` or the seconds are not 0.
    pub fn time(&self, seconds: bool) -> String {
        if seconds || self.second != 0 {
            format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
        } else {
            format!("{:02}:{:02}", self.hour, self.minute)
        }
    }

    fn midnight(&self) -> bool {
        self.hour == 0 && self.minute == 0 && self.second == 0
    }
}

/// An instant as `2026-12-05 10:05` in the clock's zone.
pub fn datetime(clock: &dyn Clock, ms: i64) -> String {
    let c = Civil::at(clock, ms);
    format!("{} {}", c.date(), c.time(false))
}

/// The span from `from` to `to` (exclusive) as a reader says it:
/// `2026-12-05 00:00 to 24:00`, `2026-12-05 10:00 to 11:30`,
/// `2026-12-05 10:00 to 2026-12-06 10:00`; `seconds` shows them always.
pub fn span(clock: &dyn Clock, from: i64, to: i64, seconds: bool) -> String {
    let a = Civil::at(clock, from);
    let b = Civil::at(clock, to);
    let end = if b.days == a.days {
        b.time(seconds)
    } else if b.days == a.days + 1 && b.midnight() {
        if seconds {
            "24:00:00".into()
        } else {
            "24:00".into()
        }
    } else {
        format!("{} {}", b.date(), b.time(seconds))
    };
    format!("{} {} to {end}", a.date(), a.time(seconds))
}

/// A time window (`i64::MIN` / `i64::MAX` for an open end) with the
/// zone: `2026-12-05 00:00 to 24:00 (UTC)`; None for no window at all.
pub fn window(clock: &dyn Clock, from: i64, to: i64) -> Option<String> {
    let z = clock.label();
    match (from, to) {
        (i64::MIN, i64::MAX) => None,
        (from, i64::MAX) => Some(format!("from {} ({z})", datetime(clock, from))),
        (i64::MIN, to) => Some(format!("until {} ({z})", datetime(clock, to))),
        (from, to) => Some(format!("{} ({z})", span(clock, from, to, false))),
    }
}

/// The time range of the data: `flows from 2026-12-05 10:00:03 to
/// 12:59:30 (UTC)`; None when no flow was counted.
pub fn data_range(clock: &dyn Clock, first_ms: i64, last_ms: i64) -> Option<String> {
    (first_ms <= last_ms).then(|| {
        format!(
            "flows from {} ({})",
            span(clock, first_ms, last_ms, true),
            clock.label()
        )
    })
}

/// A length of time: `45 s`, `12 min`, `2 h 59 min`, `3 days 4 h`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms} ms"),
        1..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => match s / 60 % 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        _ => format!("{} days {} h", s / 86_400, s / 3600 % 24),
    }
}

/// A value with an SI prefix (powers of 1000) and a unit: `279 B`,
/// `34.1 kB`, `1.2 Mbit/s`.
pub fn si(x: f64, unit: &str) -> String {
    const P: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    let mut v = x;
    let mut i = 0;
    while v.abs() >= 999.95 && i < P.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        if v.fract() == 0.0 || v >= 100.0 {
            format!("{v:.0} {unit}")
        } else {
            format!("{v:.1} {unit}")
        }
    } else {
        format!("{v:.1} {}{unit}", P[i])
    }
}

/// Bytes: `279 B`, `34.1 kB`.
pub fn bytes(n: u64) -> String {
    si(n as f64, "B")
}

/// Bits per second: `26 bit/s`, `1.2 Mbit/s`.
pub fn bits_per_second(x: f64) -> String {
    si(x, "bit/s")
}

/// Packets (or flows) per second: `0.3 p/s`, `12.0 kp/s`.
pub fn per_second(x: f64, unit: &str) -> String {
    si(x, unit)
}

/// A count for reading: exact up to 10 million, grouped by thousands
/// with `sep` (`49 996`), and `12.3 M` beyond.
pub fn count(n: u64, sep: &str) -> String {
    if n >= 10_000_000 {
        return si(n as f64, "").trim_end().to_string();
    }
    let digits = n.to_string();
    if n < 10_000 {
        return digits;
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// A share: `12.3 %`, `0.04 %`, `< 0.01 %`.
pub fn percent(part: u64, total: u64) -> String {
    if total == 0 || part == 0 {
        return "0 %".into();
    }
    let p = part as f64 * 100.0 / total as f64;
    if p < 0.01 {
        "< 0.01 %".into()
    } else if p < 1.0 {
        format!("{p:.2} %")
    } else {
        format!("{p:.1} %")
    }
}

/// A key part in words, singular and plural.
pub fn part(p: KeyPart) -> (&'static str, &'static str) {
    match p {
        KeyPart::SrcAddr => ("source address", "source addresses"),
        KeyPart::DstAddr => ("destination address", "destination addresses"),
        KeyPart::NextHop => ("next hop", "next hops"),
        KeyPart::Exporter => ("exporter", "exporters"),
        KeyPart::SrcPort => ("source port", "source ports"),
        KeyPart::DstPort => ("destination port", "destination ports"),
        KeyPart::Protocol => ("protocol", "protocols"),
        KeyPart::Tos => ("ToS", "ToS values"),
        KeyPart::InIf => ("input interface", "input interfaces"),
        KeyPart::OutIf => ("output interface", "output interfaces"),
        KeyPart::SrcAs => ("source AS", "source ASes"),
        KeyPart::DstAs => ("destination AS", "destination ASes"),
        KeyPart::EngineId => ("engine id", "engine ids"),
        KeyPart::EngineType => ("engine type", "engine types"),
        KeyPart::PacketSize => ("packet size (bytes)", "packet sizes"),
        KeyPart::Octets => ("flow size (bytes)", "flow sizes"),
        KeyPart::Packets => ("packets per flow", "packets per flow"),
        KeyPart::Bps => ("flow rate (bit/s)", "flow rates"),
        KeyPart::Pps => ("flow rate (packets/s)", "flow rates"),
        KeyPart::Duration => ("flow duration (ms)", "flow durations"),
        KeyPart::Interval => ("time", "times"),
    }
}

/// The heading of a report's key column(s): `source address`,
/// `source → destination address`, `address (either end)`.
pub fn key_heading(kind: &ReportType) -> String {
    if kind.both_ends {
        return if kind.parts[0].is_address() {
            "address (either end)".into()
        } else {
            "port (either end)".into()
        };
    }
    if kind.count {
        return part(kind.parts[0]).0.into();
    }
    let parts: Vec<KeyPart> = kind
        .parts
        .iter()
        .copied()
        .filter(|p| *p != KeyPart::Interval)
        .collect();
    match parts.as_slice() {
        [KeyPart::SrcAddr, KeyPart::DstAddr] => "source → destination address".into(),
        [KeyPart::SrcPort, KeyPart::DstPort] => "source → destination port".into(),
        [KeyPart::SrcAs, KeyPart::DstAs] => "source → destination AS".into(),
        [KeyPart::InIf, KeyPart::OutIf] => "input → output interface".into(),
        ps => ps.iter().map(|p| part(*p).0).collect::<Vec<_>>().join(", "),
    }
}

/// What a report's rows are, in the plural: `source addresses`,
/// `conversations (source → destination address)`.
pub fn rows_noun(kind: &ReportType) -> String {
    if kind.both_ends {
        return if kind.parts[0].is_address() {
            "addresses (either end)".into()
        } else {
            "ports (either end)".into()
        };
    }
    if kind.count {
        return part(kind.parts[0]).1.into();
    }
    let parts: Vec<KeyPart> = kind
        .parts
        .iter()
        .copied()
        .filter(|p| *p != KeyPart::Interval)
        .collect();
    match parts.as_slice() {
        [KeyPart::SrcAddr, KeyPart::DstAddr] => {
            "conversations (source → destination address)".into()
        }
        [KeyPart::SrcPort, KeyPart::DstPort] => "source → destination port pairs".into(),
        [KeyPart::SrcAs, KeyPart::DstAs] => "source → destination AS pairs".into(),
        [KeyPart::InIf, KeyPart::OutIf] => "input → output interface pairs".into(),
        [p] => part(*p).1.into(),
        [a, b] => format!("{} and {} pairs", part(*a).0, part(*b).0),
        ps => {
            let words: Vec<&str> = ps.iter().map(|p| part(*p).0).collect();
            format!("combinations of {}", words.join(", "))
        }
    }
}

/// What a sort field measures, in words: `bytes`, `flows`,
/// `average bit/s`.
pub fn measure(f: SortField) -> &'static str {
    match f {
        SortField::Flows => "flows",
        SortField::Octets => "bytes",
        SortField::Packets => "packets",
        SortField::Duration => "total flow time",
        SortField::Key(_) => "key",
        SortField::AvgBps => "average bit/s of their flows",
        SortField::MinBps => "smallest bit/s of a flow",
        SortField::MaxBps => "largest bit/s of a flow",
        SortField::AvgPps => "average packets/s of their flows",
        SortField::MinPps => "smallest packets/s of a flow",
        SortField::MaxPps => "largest packets/s of a flow",
        SortField::Count => "number of peers",
    }
}

/// An interval in words: `5 minutes`, `hour`, `2 hours`, `day`.
pub fn interval(secs: u64) -> String {
    let unit = |n: u64, one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            format!("{n} {many}")
        }
    };
    match secs {
        s if s.is_multiple_of(86_400) => unit(s / 86_400, "day", "days"),
        s if s.is_multiple_of(3600) => unit(s / 3600, "hour", "hours"),
        s if s.is_multiple_of(60) => unit(s / 60, "minute", "minutes"),
        s => unit(s, "second", "seconds"),
    }
}

/// A report's title in words: `Top 15 source addresses by bytes`,
/// `Destination ports by flows, fewest first`, `Traffic per 5 minutes by
/// protocol`, `Summary of all flows`.
pub fn title(kind: &ReportType, sort: Sort, records: Option<usize>, interval_secs: u64) -> String {
    if let Some(s) = kind.summary {
        return match s {
            crate::SummaryKind::Counters => "Summary of the flows".into(),
            crate::SummaryKind::Detail => "Summary of the flows, with their distributions".into(),
        };
    }
    if kind.parts.contains(&KeyPart::Interval) {
        let every = interval(if interval_secs == 0 {
            300
        } else {
            interval_secs
        });
        let rest: Vec<KeyPart> = kind
            .parts
            .iter()
            .copied()
            .filter(|p| *p != KeyPart::Interval)
            .collect();
        let mut t = format!("Traffic per {every}");
        if !rest.is_empty() {
            t += " by ";
            t += &key_heading(&ReportType {
                parts: rest,
                ..kind.clone()
            });
        }
        if let Some(n) = records {
            t += &format!(" (first {n} rows)");
        }
        return t;
    }
    let noun = rows_noun(kind);
    let distribution = matches!(
        kind.parts.as_slice(),
        [KeyPart::PacketSize
            | KeyPart::Octets
            | KeyPart::Packets
            | KeyPart::Bps
            | KeyPart::Pps
            | KeyPart::Duration]
    );
    if distribution {
        let p = part(kind.parts[0]).0;
        return format!("Flows by {}", p.split(" (").next().unwrap_or(p));
    }
    let by = match sort.field {
        SortField::Key(_) => {
            let order = if sort.largest_first {
                "largest first"
            } else {
                "in order"
            };
            return match records {
                Some(n) => format!("First {n} {noun}, {order}"),
                None => format!("{}, {order}", capitalise(&noun)),
            };
        }
        f => measure(f),
    };
    match (records, sort.largest_first) {
        (Some(n), true) => format!("Top {n} {noun} by {by}"),
        (Some(n), false) => format!("Bottom {n} {noun} by {by}"),
        (None, true) => format!("{} by {by}", capitalise(&noun)),
        (None, false) => format!("{} by {by}, least first", capitalise(&noun)),
    }
}

/// The first letter in upper case.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plus1h;
    impl Clock for Plus1h {
        fn offset_ms(&self, _: i64) -> i64 {
            3_600_000
        }
        fn label(&self) -> String {
            "Europe/Amsterdam".into()
        }
    }

    fn ms(d: u32, h: u32, m: u32) -> i64 {
        floe_flow::time::utc_ms(2026, 12, d, h, m, 0)
    }

    #[test]
    fn windows_as_a_reader_says_them() {
        assert_eq!(
            window(&Utc, ms(5, 0, 0), ms(6, 0, 0)).unwrap(),
            "2026-12-05 00:00 to 24:00 (UTC)"
        );
        assert_eq!(
            window(&Plus1h, ms(4, 23, 0), ms(5, 23, 0)).unwrap(),
            "2026-12-05 00:00 to 24:00 (Europe/Amsterdam)"
        );
        assert_eq!(
            span(&Utc, ms(5, 10, 0), ms(5, 11, 30), false),
            "2026-12-05 10:00 to 11:30"
        );
        assert_eq!(
            span(&Utc, ms(5, 10, 0), ms(6, 10, 0), false),
            "2026-12-05 10:00 to 2026-12-06 10:00"
        );
        assert_eq!(window(&Utc, i64::MIN, i64::MAX), None);
        assert_eq!(
            data_range(&Utc, ms(5, 10, 0) + 3000, ms(5, 12, 59) + 30_000).unwrap(),
            "flows from 2026-12-05 10:00:03 to 12:59:30 (UTC)"
        );
    }

    #[test]
    fn units_spelled_out() {
        assert_eq!(bytes(279), "279 B");
        assert_eq!(bytes(34_110), "34.1 kB");
        assert_eq!(bytes(999_999), "1.0 MB");
        assert_eq!(bits_per_second(25.3), "25.3 bit/s");
        assert_eq!(bits_per_second(1_234_567.0), "1.2 Mbit/s");
        assert_eq!(count(49_996, " "), "49 996");
        assert_eq!(count(999, " "), "999");
        assert_eq!(count(1_234_567, ","), "1,234,567");
        assert_eq!(count(12_345_678, ","), "12.3 M");
        assert_eq!(percent(1, 3), "33.3 %");
        assert_eq!(percent(0, 3), "0 %");
        assert_eq!(percent(1, 100_000), "< 0.01 %");
        assert_eq!(duration(10_770_000), "2 h 59 min");
        assert_eq!(duration(45_000), "45 s");
    }

    #[test]
    fn titles_in_words() {
        let t = |k: &str, s: &str, n: Option<usize>| {
            title(
                &ReportType::parse(k).unwrap(),
                Sort::parse(s).unwrap(),
                n,
                300,
            )
        };
        assert_eq!(
            t("ip-source-address", "+octets", Some(15)),
            "Top 15 source addresses by bytes"
        );
        assert_eq!(
            t("ip-destination-port", "-flows", None),
            "Destination ports by flows, least first"
        );
        assert_eq!(
            t("ip-source/destination-address", "+packets", Some(5)),
            "Top 5 conversations (source → destination address) by packets"
        );
        assert_eq!(
            t("time-series/ip-protocol", "-key", None),
            "Traffic per 5 minutes by protocol"
        );
        assert_eq!(t("time-series", "-key", None), "Traffic per 5 minutes");
        assert_eq!(t("packet-size", "-key", None), "Flows by packet size");
        assert_eq!(
            t("summary-counters", "+octets", None),
            "Summary of the flows"
        );
        assert_eq!(
            t("ip-address", "+octets", Some(3)),
            "Top 3 addresses (either end) by bytes"
        );
    }
}
