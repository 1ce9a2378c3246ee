//! The live view of a running collector, and the socket protocol to read
//! it.
//!
//! floed keeps, in memory only, what it decoded over the last few minutes
//! ([`LiveView`]): per second, totals, protocols, ports (below 1024 and
//! configured ones), packet-size brackets, TCP flag kinds and exporters
//! with their export delay ([`aggregate`]); per slice of seconds, the
//! heaviest sources, destinations, pairs and ASes in bounded
//! [`sketch::HeavyHitters`] summaries, so that a scan from random addresses
//! costs no more memory than steady traffic (counted always, or only
//! while clients ask: [`TalkerCounting`]). Clients ask over a Unix
//! socket, one JSON line each way ([`protocol`]); [`Client`] is the client
//! side, for `floe top` and scripts.
//!
//! The view never touches the disk. What it keeps is bounded by its
//! settings: seconds × (a second's aggregates, at most 256 exporters) +
//! slices × 7 sketches × 2k + 1 keys, for the window of every flow and for
//! each of at most [`view::MAX_FILTERS`] filters clients asked for.
#![forbid(unsafe_code)]

pub mod aggregate;
mod client;
pub mod protocol;
mod seen;
pub mod sketch;
mod view;

pub use client::{Client, ClientError};
pub use protocol::{Op, Request, Response, Snapshot};
pub use seen::{seen_cols, Seen, SEEN_COLS};
pub use view::{
    client_filter, LiveView, Pending, TalkerCounting, ViewConfig, MAX_FILTERS, MAX_USAGE_CLIENTS,
    TALKERS_IDLE_MS, USAGE_IDLE_MS,
};
