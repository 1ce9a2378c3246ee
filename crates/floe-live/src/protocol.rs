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
//!   (up to 9 s more); `talkers_since_ms`, when set, says the talkers
//!   are counted only from then (floed counts them while clients ask, by
//!   default). A talker's `weight` is never below its true bytes
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
    /// What is asked; a snapshot when absent.
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
    /// Counts scaled by the exporters' sampling intervals.
    #[serde(default)]
    pub scale: bool,
    /// Totals and protocols spread over each flow's own start..end instead of
    /// counted when it arrived.
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
    /// The aggregates of the last `window` seconds.
    #[default]
    Snapshot,
    /// What was counted for the named `client` since it first asked, or last asked
    /// with `reset`.
    Usage,
    /// Answered with no snapshot: is the server there, and how many seconds does it
    /// keep?
    Ping,
}

/// Rates over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Flows per second.
    pub flows_per_s: f64,
    /// Packets per second.
    pub packets_per_s: f64,
    /// Bits per second.
    pub bits_per_s: f64,
}

/// One second's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Start of the second, UTC ms.
    pub at_ms: i64,
    /// Flows in the second (fractional in the spread view).
    pub flows: f64,
    /// Packets in the second.
    pub packets: f64,
    /// Bytes in the second.
    pub octets: f64,
}

/// A protocol's counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtocolRow {
    /// IP protocol number.
    pub protocol: u8,
    /// Its flows, packets and bytes.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A port's counts (`port` none: the untracked ports of the protocol).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortRow {
    /// IP protocol number.
    pub protocol: u8,
    /// The port, or none for the ports of the protocol not tracked one by one.
    pub port: Option<u16>,
    /// Its flows, packets and bytes.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A packet size bracket's counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    /// The bracket's smallest average bytes per packet (the bracket is
    /// `from..=to`).
    pub from: u64,
    /// The bracket's largest average, or none for the last bracket (and above).
    pub to: Option<u64>,
    /// Its flows, packets and bytes.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A TCP flag kind's counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlagRow {
    /// The kind, one of `syn_only`, `syn_ack`, `rst`, `fin`.
    pub flags: String,
    /// Its flows, packets and bytes.
    #[serde(flatten)]
    pub counts: Counts,
}

/// An exporter's counts and export delay.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExporterRow {
    /// The exporter's address.
    pub address: String,
    /// Its v9 source id or IPFIX observation domain.
    pub source_id: u32,
    /// Its flows, packets and bytes.
    #[serde(flatten)]
    pub counts: Counts,
    /// Average receive time minus flow end, ms.
    pub delay_avg_ms: i64,
    /// The largest receive time minus flow end, ms.
    pub delay_max_ms: i64,
}

/// A heavy hitter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Talker {
    /// The address, `SRC DST` for pairs, or the AS number.
    pub key: String,
    /// The ranking weight: bytes, or flows for the `*_flows` lists.
    pub weight: u64,
    /// The most `weight` may overstate.
    pub error: u64,
    /// Flows, packets and bytes seen for the key while it was tracked (lower
    /// bounds).
    #[serde(flatten)]
    pub counts: Counts,
}

/// The top talkers, per key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TalkerLists {
    /// Sources by bytes.
    pub src: Vec<Talker>,
    /// Destinations by bytes.
    pub dst: Vec<Talker>,
    /// Source and destination pairs by bytes.
    pub pair: Vec<Talker>,
    /// Source ASes by bytes.
    pub src_as: Vec<Talker>,
    /// Destination ASes by bytes.
    pub dst_as: Vec<Talker>,
    /// Sources by number of flows.
    pub src_flows: Vec<Talker>,
    /// Destinations by number of flows.
    pub dst_flows: Vec<Talker>,
}

/// What the live view saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Start of the window, UTC ms.
    pub from_ms: i64,
    /// End of the window, UTC ms.
    pub to_ms: i64,
    /// Seconds the window spans.
    pub seconds: u32,
    /// Counting started here (filters, usage), when later than `from_ms`.
    pub since_ms: Option<i64>,
    /// The talkers are counted from here, when later than `from_ms`: floed
    /// counts them while clients ask (`[live] talkers = "while-watched"`),
    /// from the first snapshot of every flow asked for after nobody asked
    /// for one in 10 minutes, or since a usage client came.
    #[serde(default)]
    pub talkers_since_ms: Option<i64>,
    /// Counts are scaled by the sampling intervals.
    pub scaled: bool,
    /// Totals and protocols are spread over the flows' own time.
    pub spread: bool,
    /// The filter applied, if any.
    pub filter: Option<String>,
    /// Every flow of the window.
    pub totals: Counts,
    /// Per-second rates over the window.
    pub rates: Rates,
    /// Each second's totals, oldest first.
    pub series: Vec<Point>,
    /// Per IP protocol.
    pub protocols: Vec<ProtocolRow>,
    /// Per tracked port, and the rest per protocol.
    pub ports: Vec<PortRow>,
    /// Per packet size bracket.
    pub sizes: Vec<SizeRow>,
    /// Per TCP flag kind.
    pub flags: Vec<FlagRow>,
    /// Per exporter.
    pub exporters: Vec<ExporterRow>,
    /// The heavy hitters.
    pub talkers: TalkerLists,
    /// Flows the live view could not look at (it was behind; floed
    /// itself stored them).
    pub skipped_flows: u64,
}

impl Snapshot {
    /// For how many seconds before the window's end the talkers have been
    /// counted, when that is less than the window (`talkers_since_ms`).
    pub fn talkers_counted_secs(&self) -> Option<i64> {
        self.talkers_since_ms
            .map(|ms| (self.to_ms - ms).max(0) / 1000)
    }
}

/// What the server answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// False when the request failed; `error` says why.
    pub ok: bool,
    /// Why the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server's clock when it answered, UTC ms.
    pub now_ms: i64,
    /// Seconds the server keeps.
    pub window_secs: u32,
    /// The answer to a snapshot or usage request.
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
