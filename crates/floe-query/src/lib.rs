//! One query model over flows, answered by backends.
//!
//! The web pages, the reports' time series, alerts and a distributed
//! database must answer the same questions, so they ask them one way:
//!
//! * a [`Query`]: a time range, a filter in floe's expression language,
//!   exporters, a key as `floe report` names it (addresses, prefixes via
//!   address formats, ports, protocol, AS, interfaces, exporter, and
//!   pairs), an interval, a [`Measure`] (flows, packets or bytes) ranking
//!   the keys, and how many series (top N, the rest summed as "other");
//! * an [`Answer`]: the interval starts, per series its value in every
//!   interval (flows, packets and bytes; rates are these over the
//!   interval's length) with its minimum, maximum, average, 95th
//!   percentile and total of the measure, "other", and the total.
//!
//! A [`Backend`] answers queries. [`LocalStore`] reads the store's files
//! with the report engine (a flow spanning intervals is shared among them
//! in proportion to its time in each, exactly as `floe report -r
//! time-series/KEY` does: it is the same code), one file at a time on
//! every core, and keeps each closed file's partial answer in a
//! [`Cache`], so a query over files already cached reads no flow at all.
//! The second backend, `floe_clickhouse::ClickHouseBackend` (in
//! floe-clickhouse, which depends on this crate, not the reverse), asks
//! ClickHouse one `SELECT` of the [`Compiled`] time-series report, makes
//! its rows a [`Partial`] and hands it to the same [`merge`].
//!
//! # Writing another backend
//!
//! A backend implements [`Backend::answer`] and must give, for the same
//! flows, the answer [`LocalStore`] gives: the same intervals (aligned on
//! multiples of `interval_ms` since 1970, UTC), the same sharing of flows
//! over intervals, the same ranking (by the measure's total over the
//! range, ties by key) and "other" as the total less the series. Keys are
//! shown as `floe report` shows them (`Val`'s `Display`). Bad queries are
//! [`QueryError::Invalid`] (the asker's mistake); what the backend cannot
//! do is said in words ([`QueryError::Backend`]). The tests of this crate
//! hold `LocalStore` to `floe report`; a new backend's tests hold it to
//! `LocalStore` on the same flows.
#![forbid(unsafe_code)]

mod answer;
mod cache;
mod error;
mod local;
mod partial;
mod query;
pub mod render;

pub use answer::{Answer, AnswerStats, Counts, Series, Stats};
pub use cache::Cache;
pub use error::QueryError;
pub use local::LocalStore;
pub use partial::{merge, Partial};
pub use query::{Compiled, Measure, Query, MAX_INTERVALS, MAX_RANGE_MS, MAX_TOP};

/// A store zone as the filter language's wall clock: times written
/// without an offset in a query's filter (`first > 2026-11-22 10:00`) are
/// read in the zone the asker shows times in.
#[derive(Debug, Clone)]
pub struct ZoneClock(pub floe_store::Zone);

impl floe_filter::WallClock for ZoneClock {
    fn instant(&self, local: chrono::NaiveDateTime) -> i64 {
        self.0.from_local(local)
    }
}

/// Something that answers queries.
pub trait Backend: Send + Sync {
    /// A short name (`local`, `clickhouse`), for what answered.
    fn name(&self) -> &str;
    /// The answer to `q`.
    fn answer(&self, q: &Query) -> Result<Answer, QueryError>;
}
