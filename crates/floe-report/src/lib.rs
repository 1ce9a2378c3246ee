//! floe stat-reports.
//!
//! A report type is a flow-tools report name (`ip-source-address`,
//! `ip-source-address/ip-destination-port`,
//! `ip-source/destination-address/ip-source/destination-port`...). Names are
//! composed from key atoms, so any combination of the address, port,
//! protocol, ToS, interface, AS and engine keys is a name, not new code.
//! `ip-address` and `ip-port` count each flow under both of its ends.
//!
//! Distributions are keys too: `packet-size`, `octets`, `packets`, `bps`,
//! `pps` and `duration` key each flow by its own value; `time-series`
//! keys it by interval (a flow spanning intervals is shared among them in
//! proportion to its time in each). `ip-source-address-destination-count`
//! and `ip-destination-address-source-count` count distinct peers;
//! `summary-counters` and `summary-detail` summarise the whole input.
//! Address parts can be aggregated and shown as prefixes
//! ([`AddrFormat`]); octets and packets can be scaled by a factor or by
//! each flow's sampling interval ([`Scale`]).
//!
//! Counters per key: flows, octets, packets, total duration, and on
//! request the average, smallest and largest bits and packets per second
//! of its flows; totals and percentages over the whole input. Flows with
//! no packets are "ignores": counted apart, nowhere else (flow-report). `sort +FIELD` lists the largest first
//! and `-FIELD` the smallest first, which is what flow-report actually does
//! (its manual reads the other way round); ties are broken by key, so output
//! is deterministic.
//!
//! Memory: aggregation is exact, in hash tables capped at `max_keys`
//! distinct keys in all (default 5 million). Keys whose address parts are
//! all IPv4 (most keys on most networks) are packed into 16 bytes, four
//! 32-bit parts; keys with an IPv6 part take wider entries. A
//! report that would exceed the cap stops with
//! [`ReportError::TooManyKeys`], which says to narrow the window or filter
//! or to raise the cap, rather than growing without bound or silently
//! approximating.
//!
//! # Aggregating columns (the query layer's entry)
//!
//! "Aggregate by these keys (optionally per time interval) with these
//! counters" is: a [`ReportType`] (the key parts; a `time-series` part
//! keys by interval, [`ReportOptions::interval_secs`] long, a flow
//! spanning intervals shared among them by its time in each), its
//! [`ReportOptions`] (address formats, scale, rates), then
//! [`Report::add_batch`] with each batch of columns and its selected rows
//! (what `floe_scan::Scan` hands over, already filtered: no
//! [`floe_flow::Flow`] is built), [`Report::merge`] of the threads'
//! reports, and [`Report::rows`] for the top N (or all) rows by any
//! counter. The counters per key are [`Counters`] (flows, octets, packets,
//! duration) and, with `rates`, [`Rates`]; [`Report::totals`] and
//! [`Report::ignores`] are over every row. [`Report::cols`] names the
//! columns a scan must decode for it. [`Report::add`] does the same from
//! `Flow` rows (streams, tests: the oracle the column path is tested
//! against).
//!
//! flow-tools report configuration files are read by [`statcfg`];
//! outputs are aligned text, CSV, JSON, flow-report's own ascii layout
//! ([`flowtools`]) and HTML pages ([`render_page`]) fit for a browser, a
//! phone, a printer and a mail client.
//!
//! Reports for people speak in words ([`words`]): titles such as "Top 15
//! source addresses by bytes", windows and times in the reader's zone,
//! units spelled out, and names for numbers ([`names`]: `TCP`, `443
//! (https)`, ICMP `8.0 (echo request)`, AS names from the operator's
//! file); CSV and JSON keep the numbers and add the names in columns of
//! their own. [`health`] orders exporters with problems first.

pub mod chart;
mod columns;
mod counters;
mod error;
pub mod flowtools;
pub mod health;
mod html;
mod key;
mod kind;
pub mod names;
mod output;
mod packed;
mod render;
mod report;
pub mod statcfg;
mod summary;
pub mod sym;
mod table;
pub mod words;

pub use counters::{Counters, Rates, Scale};
pub use error::ReportError;
pub use html::{
    render_html, render_page, HtmlHealth, HtmlReport, HtmlSection, HtmlSeries, Image, Page,
    PageHead, Target,
};
pub use key::{Val, MAX_PARTS};
pub use kind::{KeyPart, ReportType, SummaryKind};
pub use output::{Fields, Options, Output, PathTime};
pub use packed::prefetch;
pub use render::{
    human, render_csv, render_json, render_text, summary_facts, summary_line, Figures, Show,
    SUMMARY_NOTE,
};
pub use report::{AddrFormat, AddrStyle, Report, ReportOptions, Row, Sort, SortField};
pub use summary::{Averages, Distribution, Summary};
