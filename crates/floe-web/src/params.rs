//! The graph's URL parameters, read and checked: everything a graph shows
//! is in its URL, so that it can be bookmarked, shared and fetched by cron.
//!
//! `key` (a `floe report` key, default `ip-source-address`), `prefix`
//! (aggregate addresses to /N), `filter` (floe's language), `exporter`
//! (repeatable), `range` (`1h`, `6h`, `24h`, `7d`, `30d`, `month`) or
//! `from`/`to` (`YYYY-MM-DD[ HH:MM]` in the server's zone), `interval`
//! (`auto`, `1m`, `10m`, `1h`, `1d`), `n` (series, 1-50), `unit` (`bits`,
//! `packets`, `flows`: per second; `bytes`: per interval), `view`
//! (`stack`, `lines`).

use std::net::IpAddr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use floe_query::{Measure, Query};
use floe_store::Zone;
use serde::Deserialize;

/// The raw parameters, as the browser sends them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GraphParams {
    /// The `floe report` key of the series (default `ip-source-address`).
    pub key: Option<String>,
    /// Addresses aggregated to this prefix length, `/N` or `N` (0 to 32).
    pub prefix: Option<String>,
    /// A filter in floe's language.
    pub filter: Option<String>,
    /// Exporters' addresses: only their flows (all when none).
    #[serde(default)]
    pub exporter: Vec<String>,
    /// The range when there is no `from`: a duration ending now (`1h`,
    /// `24h`, `7d`...) or `month` (this month so far); default `24h`.
    pub range: Option<String>,
    /// The range's start, `YYYY-MM-DD[ HH:MM]` in the server's zone.
    pub from: Option<String>,
    /// The range's end, likewise (default: now).
    pub to: Option<String>,
    /// The interval of the points: `auto` (the default) or a duration of a
    /// minute or more.
    pub interval: Option<String>,
    /// How many series (1 to 50, default 10).
    pub n: Option<String>,
    /// `bits` (the default), `packets`, `flows` or `bytes`.
    pub unit: Option<String>,
    /// `stack` (the default) or `lines`.
    pub view: Option<String>,
}

/// What the y axis shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bits per second.
    Bits,
    /// Packets per second.
    Packets,
    /// Flows per second.
    Flows,
    /// Bytes per interval.
    Bytes,
}

impl Unit {
    /// The unit's name in the URL (`bits`...).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Bits => "bits",
            Unit::Packets => "packets",
            Unit::Flows => "flows",
            Unit::Bytes => "bytes",
        }
    }

    /// The axis label.
    pub fn label(self) -> &'static str {
        match self {
            Unit::Bits => "bits/s",
            Unit::Packets => "packets/s",
            Unit::Flows => "flows/s",
            Unit::Bytes => "bytes per interval",
        }
    }

    /// What the query layer sums for this unit.
    pub fn measure(self) -> Measure {
        match self {
            Unit::Bits | Unit::Bytes => Measure::Octets,
            Unit::Packets => Measure::Packets,
            Unit::Flows => Measure::Flows,
        }
    }

    /// A value of the measure in an interval of `interval_ms`, in this unit.
    pub fn of(self, v: u64, interval_ms: i64) -> f64 {
        let secs = interval_ms as f64 / 1000.0;
        match self {
            Unit::Bits => v as f64 * 8.0 / secs,
            Unit::Packets | Unit::Flows => v as f64 / secs,
            Unit::Bytes => v as f64,
        }
    }
}

/// The keys the form offers (any `floe report` key may be typed in the URL).
pub const KEYS: &[(&str, &str)] = &[
    ("ip-source-address", "Source address"),
    ("ip-destination-address", "Destination address"),
    (
        "ip-source-address/ip-destination-address",
        "Conversation (source, destination)",
    ),
    ("ip-destination-port", "Destination port"),
    ("ip-source-port", "Source port"),
    ("ip-protocol", "Protocol"),
    ("source-as", "Source AS"),
    ("destination-as", "Destination AS"),
    ("input-interface", "Input interface"),
    ("output-interface", "Output interface"),
    ("ip-exporter-address", "Exporter"),
];

/// How a title names `n` keys of a kind: "source address", "10 source
/// addresses", "conversations (source, destination)"; a key the form does
/// not offer by its `floe report` name ("ip-tos keys").
pub fn key_name(key: &str, n: usize) -> String {
    let plural = |name: &str| -> String {
        // "Source AS" -> "source AS": only the first letter is lowered.
        let mut c = name.chars();
        let name: String = c
            .next()
            .map(|f| f.to_lowercase().chain(c).collect())
            .unwrap_or_default();
        if n == 1 {
            return name;
        }
        // The noun is the last word before a parenthesis, if any.
        let (noun, rest) = match name.find(" (") {
            Some(i) => name.split_at(i),
            None => (name.as_str(), ""),
        };
        let noun = if noun.ends_with("AS") || noun.ends_with("ss") {
            format!("{noun}es")
        } else {
            format!("{noun}s")
        };
        format!("{noun}{rest}")
    };
    match KEYS.iter().find(|(k, _)| *k == key) {
        Some((_, name)) => plural(name),
        None if n == 1 => format!("{key} key"),
        None => format!("{key} keys"),
    }
}

/// The checked graph: the query and how to show it.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The query that answers the graph.
    pub query: Query,
    /// What the y axis shows.
    pub unit: Unit,
    /// Stacked areas (`view=stack`) rather than lines.
    pub stacked: bool,
    /// The range as the form shows it (a preset, or empty for from/to).
    pub range: String,
    /// The prefix length addresses are aggregated to, if any.
    pub prefix: Option<u8>,
    /// The interval parameter as given (`auto`...).
    pub interval: String,
}

/// A parameter that cannot be used, with why (HTTP 400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadParam(pub String);

/// Parses a duration like `1m`, `10m`, `1h`, `1d`, `7d`.
pub fn duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let scale = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// The latest time a page takes: the end of year 9999 (ms since 1970).
/// Times before 1970 or after that are refused, so that no arithmetic on
/// a range can overflow.
pub const LATEST_MS: i64 = 253_402_300_799_999;

/// A time the user typed: `YYYY-MM-DD[ HH:MM[:SS]]` in `zone`, or ms;
/// from 1970 to the end of 9999.
pub fn time_ms(s: &str, zone: &Zone) -> Option<i64> {
    time_any(s, zone).filter(|ms| (0..=LATEST_MS).contains(ms))
}

fn time_any(s: &str, zone: &Zone) -> Option<i64> {
    let t = s.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(zone.from_local(n));
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| zone.from_local(d.and_time(NaiveTime::MIN)))
}

/// The interval `auto` picks for a range: about 100 to 300 points.
pub fn auto_interval(range_ms: i64) -> i64 {
    match range_ms {
        r if r <= 2 * 3_600_000 => 60_000,
        r if r <= 2 * 86_400_000 => 600_000,
        r if r <= 14 * 86_400_000 => 3_600_000,
        _ => 86_400_000,
    }
}

/// The start of the month of `ms` in `zone`, and of the next.
pub fn month_of(ms: i64, zone: &Zone) -> (i64, i64) {
    let d = zone.at(ms).date_naive();
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .unwrap_or(first);
    (
        zone.from_local(first.and_time(NaiveTime::MIN)),
        zone.from_local(next.and_time(NaiveTime::MIN)),
    )
}

impl GraphParams {
    /// Checks the parameters at `now_ms`.
    pub fn graph(&self, now_ms: i64, zone: &Zone) -> Result<Graph, BadParam> {
        let bad = |m: String| Err(BadParam(m));
        let key = self
            .key
            .clone()
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| "ip-source-address".into());
        if key.len() > 200 {
            return bad("key: too long".into());
        }
        let prefix = match self
            .prefix
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => None,
            Some(p) => match p.trim_start_matches('/').parse::<u8>() {
                Ok(n) if n <= 32 => Some(n),
                _ => {
                    return bad(format!(
                        "prefix {p:?}: a length from 0 to 32 (IPv6 takes /64)"
                    ))
                }
            },
        };
        let unit = match self.unit.as_deref().unwrap_or("bits") {
            "bits" => Unit::Bits,
            "packets" => Unit::Packets,
            "flows" => Unit::Flows,
            "bytes" => Unit::Bytes,
            u => return bad(format!("unit {u:?}: bits, packets, flows or bytes")),
        };
        let stacked = match self.view.as_deref().unwrap_or("stack") {
            "stack" => true,
            "lines" => false,
            v => return bad(format!("view {v:?}: stack or lines")),
        };
        let n = match self.n.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            None => 10,
            Some(t) => match t.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => n,
                _ => return bad(format!("n {t:?}: from 1 to 50")),
            },
        };
        fn given(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let (from_ms, to_ms, range) = match (given(&self.from), given(&self.to)) {
            (Some(f), t) => {
                let from = time_ms(f, zone).ok_or_else(|| {
                    BadParam(format!(
                        "from {f:?}: YYYY-MM-DD[ HH:MM] in {}, from 1970 to 9999",
                        zone.name()
                    ))
                })?;
                let to = match t {
                    Some(t) => time_ms(t, zone).ok_or_else(|| {
                        BadParam(format!(
                            "to {t:?}: YYYY-MM-DD[ HH:MM] in {}, from 1970 to 9999",
                            zone.name()
                        ))
                    })?,
                    None => now_ms,
                };
                (from, to, String::new())
            }
            (None, Some(_)) => return bad("to without from".into()),
            (None, None) => {
                let r = self.range.clone().unwrap_or_else(|| "24h".into());
                match r.as_str() {
                    "month" => {
                        let (from, _) = month_of(now_ms, zone);
                        (from, now_ms, r)
                    }
                    other => match duration_ms(other) {
                        Some(d) if d > 0 && d <= LATEST_MS => (now_ms - d, now_ms, r),
                        _ => return bad(format!("range {other:?}: 1h, 6h, 24h, 7d, 30d or month")),
                    },
                }
            }
        };
        if to_ms <= from_ms {
            return bad("the range ends before it starts".into());
        }
        let interval = self.interval.clone().unwrap_or_else(|| "auto".into());
        let interval_ms = match interval.as_str() {
            "auto" => auto_interval(to_ms - from_ms),
            i => match duration_ms(i) {
                Some(ms) if ms >= 60_000 => ms,
                _ => return bad(format!("interval {i:?}: auto, 1m, 10m, 1h or 1d")),
            },
        };
        let mut exporters = Vec::new();
        for e in &self.exporter {
            if e.trim().is_empty() {
                continue;
            }
            exporters.push(
                e.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| BadParam(format!("exporter {e:?}: an address")))?,
            );
        }
        let format = prefix.map(|p| format!("prefix-mask/{p}"));
        let filter = self.filter.clone().filter(|f| !f.trim().is_empty());
        if filter.as_ref().is_some_and(|f| f.len() > 4096) {
            return bad("filter: longer than 4096 characters".into());
        }
        Ok(Graph {
            query: Query {
                from_ms,
                to_ms,
                interval_ms,
                key,
                src_format: format.clone(),
                dst_format: format,
                filter,
                exporters,
                measure: unit.measure(),
                top: n,
                only: Vec::new(),
                values: true,
            },
            unit,
            stacked,
            range,
            prefix,
            interval,
        })
    }
}

impl Graph {
    /// The URL query string of this graph (with a range as from/to when
    /// `fixed`, so that a shared link shows the same data).
    pub fn url(&self, fixed: bool, zone: &Zone) -> String {
        let q = &self.query;
        let mut p: Vec<(&str, String)> = vec![("key", q.key.clone())];
        if let Some(n) = self.prefix {
            p.push(("prefix", n.to_string()));
        }
        if let Some(f) = &q.filter {
            p.push(("filter", f.clone()));
        }
        for e in &q.exporters {
            p.push(("exporter", e.to_string()));
        }
        if fixed || self.range.is_empty() {
            let t = |ms: i64| zone.at(ms).format("%Y-%m-%d %H:%M").to_string();
            p.push(("from", t(q.from_ms)));
            p.push(("to", t(q.to_ms)));
        } else {
            p.push(("range", self.range.clone()));
        }
        p.push(("interval", self.interval.clone()));
        p.push(("n", q.top.to_string()));
        p.push(("unit", self.unit.name().into()));
        if !self.stacked {
            p.push(("view", "lines".into()));
        }
        encode(&p)
    }
}

/// `a=b&c=d`, each value percent-encoded.
pub fn encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_305_600_000;

    #[test]
    fn defaults_and_refusals() {
        let g = GraphParams::default().graph(NOW, &Zone::Utc).unwrap();
        assert_eq!(g.query.key, "ip-source-address");
        assert_eq!(g.query.to_ms - g.query.from_ms, 86_400_000);
        assert_eq!(g.query.interval_ms, 600_000);
        assert_eq!((g.query.top, g.unit), (10, Unit::Bits));
        for (p, says) in [
            (
                GraphParams {
                    n: Some("500".into()),
                    ..Default::default()
                },
                "from 1 to 50",
            ),
            (
                GraphParams {
                    unit: Some("furlongs".into()),
                    ..Default::default()
                },
                "unit",
            ),
            (
                GraphParams {
                    range: Some("forever".into()),
                    ..Default::default()
                },
                "range",
            ),
            (
                GraphParams {
                    interval: Some("10s".into()),
                    ..Default::default()
                },
                "interval",
            ),
            (
                GraphParams {
                    from: Some("yesterday-ish".into()),
                    ..Default::default()
                },
                "from",
            ),
            (
                GraphParams {
                    exporter: vec!["router1".into()],
                    ..Default::default()
                },
                "exporter",
            ),
            (
                GraphParams {
                    prefix: Some("40".into()),
                    ..Default::default()
                },
                "prefix",
            ),
        ] {
            let e = p.graph(NOW, &Zone::Utc).unwrap_err();
            assert!(e.0.contains(says), "{e}");
        }
    }

    #[test]
    fn titles_read_naturally() {
        assert_eq!(key_name("ip-source-address", 10), "source addresses");
        assert_eq!(key_name("ip-source-address", 1), "source address");
        assert_eq!(key_name("ip-destination-port", 5), "destination ports");
        assert_eq!(
            key_name("ip-source-address/ip-destination-address", 10),
            "conversations (source, destination)"
        );
        assert_eq!(key_name("source-as", 10), "source ASes");
        assert_eq!(key_name("source-as", 1), "source AS");
        assert_eq!(key_name("ip-protocol", 3), "protocols");
        assert_eq!(key_name("ip-exporter-address", 2), "exporters");
        assert_eq!(key_name("ip-tos", 10), "ip-tos keys");
    }

    #[test]
    fn times_beyond_what_a_range_can_hold_are_refused() {
        for (from, to) in [
            ("-9223372036854775808", "9223372036854775807"),
            ("9223372036854775000", "9223372036854775807"),
            ("0", "253402300800000"),
        ] {
            let p = GraphParams {
                from: Some(from.into()),
                to: Some(to.into()),
                ..Default::default()
            };
            let e = p.graph(NOW, &Zone::Utc).unwrap_err();
            assert!(e.0.contains("from 1970 to 9999"), "{e}");
        }
        let p = GraphParams {
            range: Some("2562047788015h".into()),
            ..Default::default()
        };
        assert!(p.graph(NOW, &Zone::Utc).is_err());
    }

    #[test]
    fn urls_round_trip() {
        let p = GraphParams {
            key: Some("ip-destination-port".into()),
            filter: Some("proto tcp and dst net 10.0.0.0/8".into()),
            exporter: vec!["192.0.2.1".into()],
            from: Some("2026-11-22 10:00".into()),
            to: Some("2026-11-22 12:00".into()),
            n: Some("5".into()),
            ..Default::default()
        };
        let g = p.graph(NOW, &Zone::Utc).unwrap();
        let url = g.url(true, &Zone::Utc);
        assert!(
            url.contains("filter=proto%20tcp%20and%20dst%20net%2010.0.0.0%2F8"),
            "{url}"
        );
        assert!(url.contains("from=2026-11-22%2010%3A00"), "{url}");
        assert_eq!(g.query.interval_ms, 60_000);
    }
}
