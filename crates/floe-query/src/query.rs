//! The question: which flows, keyed how, over which intervals, and how
//! many of the keys.

use floe_report::{AddrFormat, ReportType};
use serde::{Deserialize, Serialize};

use crate::error::QueryError;

/// What series are ranked and stated by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Bytes (bits/s when shown as a rate).
    #[default]
    Octets,
    /// Packets (packets/s as a rate).
    Packets,
    /// Flows (flows/s as a rate).
    Flows,
}

impl Measure {
    /// The measure named `s`: `octets`, `bytes` or `bits`; `packets`; `flows`.
    pub fn parse(s: &str) -> Result<Measure, QueryError> {
        Ok(match s {
            "octets" | "bytes" | "bits" => Measure::Octets,
            "packets" => Measure::Packets,
            "flows" => Measure::Flows,
            other => {
                return Err(QueryError::Invalid(format!(
                    "{other:?} is not a measure: use bytes, packets or flows"
                )))
            }
        })
    }

    /// The name as the query's JSON and the web's URLs spell it.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Octets => "octets",
            Measure::Packets => "packets",
            Measure::Flows => "flows",
        }
    }
}

/// The most intervals a query may have.
pub const MAX_INTERVALS: i64 = 10_000;
/// The longest range a query may cover.
pub const MAX_RANGE_MS: i64 = 400 * 86_400_000;
/// The most series a query may rank.
pub const MAX_TOP: usize = 200;

/// One question over flows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The range `[from_ms, to_ms)`, UTC ms.
    pub from_ms: i64,
    /// The end of the range (excluded), UTC ms.
    pub to_ms: i64,
    /// The length of an interval, ms (intervals are aligned on multiples
    /// of it since 1970, UTC).
    pub interval_ms: i64,
    /// A key as `floe report` names it: `ip-source-address`,
    /// `ip-destination-port`, `ip-protocol`, `source-as`,
    /// `ip-exporter-address`, `input-interface`, pairs such as
    /// `ip-source-address/ip-destination-address`...
    pub key: String,
    /// Address formats of the key's address parts (`prefix-mask/24` for
    /// prefixes), as `floe report --src-format` takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_format: Option<String>,
    /// The destination address parts' format, as `--dst-format` takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_format: Option<String>,
    /// Only flows matching this expression (floe's language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Only flows from these exporters (addresses; empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exporters: Vec<std::net::IpAddr>,
    /// What ranks the series.
    #[serde(default)]
    pub measure: Measure,
    /// The series ranked first; the rest are summed as "other". 0: every
    /// key is a series.
    pub top: usize,
    /// Only these keys (as shown: `10.0.0.1`, `443`, `10.0.0.1 192.0.2.1`)
    /// are series, ranked as the others would be; the rest are "other".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// Per-interval values of the series (false: their totals only, for
    /// long lists of keys).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub values: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A query checked and compiled: what every backend answers (the
/// time-series report of the key over the query's interval, the address
/// formats, and the flows' condition as floe's language text).
#[derive(Clone, Debug)]
pub struct Compiled {
    /// `time-series/KEY` (its first part is the interval).
    pub kind: ReportType,
    /// How source address parts are shown (address, prefix...).
    pub src_format: AddrFormat,
    /// How destination address parts are shown.
    pub dst_format: AddrFormat,
    /// The expression the flows must match (the filter and the
    /// exporters), as floe's language text.
    pub filter_text: Option<String>,
}

impl Query {
    /// The number of intervals.
    pub fn intervals(&self) -> usize {
        let first = self.from_ms.div_euclid(self.interval_ms);
        let last = (self.to_ms - 1).div_euclid(self.interval_ms);
        (last - first + 1).max(0) as usize
    }

    /// The start of each interval.
    pub fn starts(&self) -> Vec<i64> {
        let first = self.from_ms.div_euclid(self.interval_ms);
        (0..self.intervals() as i64)
            .map(|i| (first + i) * self.interval_ms)
            .collect()
    }

    /// Checks the query's bounds and compiles its key and formats.
    pub fn compile(&self) -> Result<Compiled, QueryError> {
        let bad = |m: String| Err(QueryError::Invalid(m));
        if self.to_ms <= self.from_ms {
            return bad("the range ends before it starts".into());
        }
        if self.to_ms - self.from_ms > MAX_RANGE_MS {
            return bad(format!(
                "a range of {} days: at most {} days at once",
                (self.to_ms - self.from_ms) / 86_400_000,
                MAX_RANGE_MS / 86_400_000
            ));
        }
        if self.interval_ms < 60_000 || self.interval_ms % 60_000 != 0 {
            return bad("the interval is whole minutes, at least one".into());
        }
        if self.intervals() as i64 > MAX_INTERVALS {
            return bad(format!(
                "{} intervals: at most {MAX_INTERVALS}; choose a longer interval",
                self.intervals()
            ));
        }
        if self.top > MAX_TOP {
            return bad(format!("top {}: at most {MAX_TOP}", self.top));
        }
        let kind = ReportType::parse(&self.key)?;
        if kind.summary.is_some() || kind.count || kind.parts.is_empty() {
            return bad(format!(
                "{:?} is not a key a graph can have: use an address, port, protocol, AS, interface or exporter key",
                self.key
            ));
        }
        if kind.parts.contains(&floe_report::KeyPart::Interval) {
            return bad("time-series is the query's interval, not a key".into());
        }
        let ts = ReportType::parse(&format!("time-series/{}", self.key))?;
        let fmt = |s: &Option<String>| -> Result<AddrFormat, QueryError> {
            match s {
                Some(t) => Ok(AddrFormat::parse(t)?),
                None => Ok(AddrFormat::default()),
            }
        };
        let src_format = fmt(&self.src_format)?;
        let dst_format = fmt(&self.dst_format)?;
        let mut clauses = Vec::new();
        if let Some(f) = self
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            clauses.push(format!("({f})"));
        }
        if !self.exporters.is_empty() {
            let list: Vec<String> = self
                .exporters
                .iter()
                .map(|e| format!("exporter {e}"))
                .collect();
            clauses.push(format!("({})", list.join(" or ")));
        }
        Ok(Compiled {
            kind: ts,
            src_format,
            dst_format,
            filter_text: (!clauses.is_empty()).then(|| clauses.join(" and ")),
        })
    }
}
