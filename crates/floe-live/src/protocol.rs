//! The live socket's protocol: one JSON object per line each way.
//!
//! A client writes a request line and reads one response line, as often
//! as it likes on one connection:
//!
//! ```text
//! {"op":"snapshot","window":60,"n":10,"filter":"proto tcp","scale":false,"spread":false}
//! {"op":"usage","client":"nightly","reset":true,"n":20}
//! {"op":"ping"}
//! ```
//!
//! * `snapshot`: the last `window` seconds (default 60, at most the
//!   window floed keeps): totals and rates, per-second totals, protocols,
//!   ports, packet sizes, TCP flags, exporters (with export delay) and the
//!   top `n` talkers (default 10, at most 1000) by source, destination,
//!   pair and AS. Totals, the series, protocols, sizes, flags and
//!   exporters count the window's seconds; ports and talkers are kept per
//!   10-second slice, and the slices overlapping the window answer for it
//!   (up to 9 s more). A talker's `weight` is never below its true bytes
//!   (or flows) and overstates them by at most its `error`, itself below
//!   the slices' bytes / k (512); its `octets`, `packets` and `flows` are
//!   what was counted while it was kept (lower bounds). With a `filter` (floe's expression language; `@include`
//!   refused), only the matching flows, counted from the first request
//!   with that filter on (`since_ms`): the live view keeps no raw flows.
//!   `scale` multiplies by the sampling interval exporters announced;
//!   `spread` spreads each flow over its own start..end instead of
//!   counting it when it arrived (totals and protocols only).
//! * `usage`: what went through since the previous `usage` request of the
//!   same `client` name with `reset` (pmacct's "since last check").
//! * `ping`: `{"ok":true}` with the server's time and window.
//!
//! Every response has `"ok"`; errors say why in `"error"`. Requests are at
//! most [`MAX_REQUEST`] bytes.

use serde::{Deserialize, Serialize};

use crate::aggregate::Counts;

/// Longest request line.
pub const MAX_REQUEST: usize = 16 << 10;
/// Most talkers per list.
pub const MAX_N: usize = 1000;

/// What a client asks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub op: Op,
    /// Seconds (snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    /// Talkers per list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Only flows matching this expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default)]
    pub scale: bool,
    #[serde(default)]
    pub spread: bool,
    /// Usage: the client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Usage: start counting again after answering.
    #[serde(default)]
    pub reset: bool,
}

/// The request kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    #[default]
    Snapshot,
    Usage,
    Ping,
}

/// Rates over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub flows_per_s: f64,
    pub packets_per_s: f64,
    pub bits_per_s: f64,
}

/// One second's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub at_ms: i64,
    pub flows: f64,
    pub packets: f64,
    pub octets: f64,
}

/// A protocol's counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtocolRow {
    pub protocol: u8,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A port's counts (`port` none: the untracked ports of the protocol).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortRow {
    pub protocol: u8,
    pub port: Option<u16>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A packet size bracket's counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    /// Average bytes per packet, from..=to (to none: and above).
    pub from: u64,
    pub to: Option<u64>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A TCP flag kind's counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlagRow {
    pub flags: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// An exporter's counts and export delay.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExporterRow {
    pub address: String,
    pub source_id: u32,
    #[serde(flatten)]
    pub counts: Counts,
    /// Receive time minus flow end, average and largest, ms.
    pub delay_avg_ms: i64,
    pub delay_max_ms: i64,
}

/// A heavy hitter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Talker {
    /// The address, `SRC DST` for pairs, or the AS number.
    pub key: String,
    /// The ranking weight (bytes, or flows for the `*_flows` lists) and
    /// the most it may overstate.
    pub weight: u64,
    pub error: u64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The top talkers, per key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TalkerLists {
    pub src: Vec<Talker>,
    pub dst: Vec<Talker>,
    pub pair: Vec<Talker>,
    pub src_as: Vec<Talker>,
    pub dst_as: Vec<Talker>,
    pub src_flows: Vec<Talker>,
    pub dst_flows: Vec<Talker>,
}

/// What the live view saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub from_ms: i64,
    pub to_ms: i64,
    pub seconds: u32,
    /// Counting started here (filters, usage), when later than `from_ms`.
    pub since_ms: Option<i64>,
    pub scaled: bool,
    pub spread: bool,
    pub filter: Option<String>,
    pub totals: Counts,
    pub rates: Rates,
    pub series: Vec<Point>,
    pub protocols: Vec<ProtocolRow>,
    pub ports: Vec<PortRow>,
    pub sizes: Vec<SizeRow>,
    pub flags: Vec<FlagRow>,
    pub exporters: Vec<ExporterRow>,
    pub talkers: TalkerLists,
    /// Flows the live view could not look at (it was behind; floed
    /// itself stored them).
    pub skipped_flows: u64,
}

/// What the server answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub now_ms: i64,
    /// Seconds the server keeps.
    pub window_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
}

impl Response {
    /// An error response.
    pub fn error(now_ms: i64, window_secs: u32, why: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(why.into()),
            now_ms,
            window_secs,
            snapshot: None,
        }
    }
}

/// Reads a request line.
pub fn parse_request(line: &str) -> Result<Request, String> {
    if line.len() > MAX_REQUEST {
        return Err(format!("request longer than {MAX_REQUEST} bytes"));
    }
    serde_json::from_str(line).map_err(|e| format!("not a request: {e}"))
}
