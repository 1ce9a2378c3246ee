//! The query layer's second backend: a [`floe_query::Query`] answered by
//! ClickHouse, with the answer [`floe_query::LocalStore`] gives for the
//! same flows.
//!
//! A query compiles (in floe-query) to the time-series report of its key
//! over its interval, a filter (its own and its exporters) and address
//! formats. That report becomes ONE `SELECT` on the `flows` table
//! ([`crate::query::compile`]: each flow shared among the intervals it
//! spans exactly as floe shares it, the filter as a `WHERE` condition
//! built from the parsed expression, never from its text), whose rows
//! (per interval and key: flows, packets, bytes) are a
//! [`floe_query::Partial`]. floe-query's [`floe_query::merge`] then ranks
//! the keys and computes the top N, "other", the total and each series'
//! minimum, maximum, average and 95th percentile, the same code as for
//! the local store, so both backends agree to the byte.
//!
//! The range is the report's window (flows overlapping it; the pieces of
//! a flow outside the range are dropped by the merge, as locally), and a
//! time limit is ClickHouse's `max_execution_time`.

use std::sync::Mutex;
use std::time::Duration;

use floe_filter::{Filter, Options};
use floe_query::{merge, Answer, AnswerStats, Backend, Counts, Partial, Query, QueryError};
use floe_report::{ReportOptions, Val};

use crate::client::Client;
use crate::error::ClickHouseError;
use crate::query::{compile, rows, ReportQuery};
use crate::sql::Dialect;

/// ClickHouse's error code for a query over its `max_execution_time`.
const TIMEOUT_EXCEEDED: u32 = 159;

/// Answers queries from floe's tables in ClickHouse.
pub struct ClickHouseBackend {
    client: Client,
    filter_options: Options,
    time_limit: Option<Duration>,
    /// The schema variant, once known (asked at the first query, so that a
    /// server down at start is no reason not to start).
    dialect: Mutex<Option<Dialect>>,
}

impl ClickHouseBackend {
    /// Queries through `client` (its target names the database and the
    /// flows table).
    pub fn new(client: Client) -> ClickHouseBackend {
        ClickHouseBackend {
            client,
            filter_options: Options::default(),
            time_limit: None,
            dialect: Mutex::new(None),
        }
    }

    /// How filters compile (zone of their times; `@include` allowed or
    /// not: refuse it for filters from browsers).
    pub fn with_filter_options(mut self, o: Options) -> Self {
        self.filter_options = o;
        self
    }

    /// A query taking longer is stopped by the server
    /// (`max_execution_time`) and answered [`QueryError::TimedOut`].
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// The client the backend queries with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table's schema variant (asked once, then remembered).
    pub fn dialect(&self) -> Result<Dialect, ClickHouseError> {
        if let Ok(d) = self.dialect.lock() {
            if let Some(d) = *d {
                return Ok(d);
            }
        }
        let d = crate::detect_dialect(&self.client)?;
        if let Ok(mut known) = self.dialect.lock() {
            *known = Some(d);
        }
        Ok(d)
    }

    fn error(&self, e: ClickHouseError) -> QueryError {
        match e {
            ClickHouseError::Server {
                code: Some(TIMEOUT_EXCEEDED),
                ..
            } => QueryError::TimedOut(self.time_limit.map_or(0, |t| t.as_secs())),
            ClickHouseError::Refused(why) => {
                QueryError::Invalid(format!("ClickHouse cannot answer this query: {why}"))
            }
            // (Not `--records`: a query's rows are its keys per interval.)
            ClickHouseError::TooLarge { url, limit } => QueryError::Backend(format!(
                "ClickHouse at {url}: the answer is larger than {} MiB; narrow the range, the network or the filter, or choose a longer interval",
                limit >> 20
            )),
            other => QueryError::Backend(other.to_string()),
        }
    }
}

impl Backend for ClickHouseBackend {
    fn name(&self) -> &str {
        "clickhouse"
    }

    fn answer(&self, q: &Query) -> Result<Answer, QueryError> {
        let c = q.compile()?;
        if c.kind.both_ends || c.kind.count {
            return Err(QueryError::Invalid(format!(
                "{:?}: ClickHouse answers keys of one end (ip-source-address, ip-destination-port...), not both ends at once",
                q.key
            )));
        }
        // The filter is parsed here, as the local store parses it: a
        // filter that does not compile is the asker's mistake, and only
        // the parsed expression (numbers and addresses) reaches the SQL.
        let filter = match &c.filter_text {
            Some(t) => Some(Filter::parse_with(t, &self.filter_options)?),
            None => None,
        };
        let rq = ReportQuery {
            kind: c.kind.clone(),
            options: ReportOptions {
                src_format: c.src_format,
                dst_format: c.dst_format,
                interval_secs: (q.interval_ms / 1000) as u64,
                ..ReportOptions::default()
            },
            filter: filter.map(|f| f.expr().clone()),
            window: (q.from_ms, q.to_ms),
            order: None,
        };
        let dialect = self.dialect().map_err(|e| self.error(e))?;
        let t = self.client.target();
        let compiled =
            compile(&rq, &t.database, &t.table, dialect, true).map_err(|e| self.error(e))?;
        let limit = self.time_limit.map(|l| l.as_secs().max(1).to_string());
        let settings: Vec<(&str, &str)> = limit
            .as_deref()
            .map(|s| vec![("max_execution_time", s)])
            .unwrap_or_default();
        let found = rows(&self.client, &rq, &compiled, &settings).map_err(|e| self.error(e))?;
        let parts = rq.kind.parts.len().saturating_sub(1);
        let partial = Partial::from_rows(
            parts,
            found.into_iter().filter_map(|r| {
                let mut key = r.key.into_iter();
                let Some(Val::T(secs)) = key.next() else {
                    return None;
                };
                Some((
                    secs,
                    key.collect(),
                    Counts {
                        flows: r.counters.flows,
                        packets: r.counters.packets,
                        octets: r.counters.octets,
                    },
                ))
            }),
        );
        let columns = c
            .kind
            .columns()
            .into_iter()
            .skip(1)
            .map(str::to_string)
            .collect();
        let mut answer = merge(q, columns, std::slice::from_ref(&partial))?;
        answer.stats = AnswerStats {
            backend: self.name().to_string(),
            ..AnswerStats::default()
        };
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Target, Timeouts};
    use floe_query::Measure;

    /// A backend whose server is not there (port 1 refuses).
    fn nowhere() -> ClickHouseBackend {
        let t = Target::parse("http://127.0.0.1:1", "floe", "flows").unwrap();
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(5),
        };
        ClickHouseBackend::new(Client::new(t, timeouts)).with_time_limit(Duration::from_secs(7))
    }

    fn query(key: &str, filter: Option<&str>) -> Query {
        Query {
            from_ms: 0,
            to_ms: 3_600_000,
            interval_ms: 600_000,
            key: key.into(),
            src_format: None,
            dst_format: None,
            filter: filter.map(str::to_string),
            exporters: Vec::new(),
            measure: Measure::Octets,
            top: 5,
            only: Vec::new(),
            values: true,
        }
    }

    #[test]
    fn the_askers_mistakes_are_said_before_any_sql_is_sent() {
        let b = nowhere();
        assert_eq!(b.name(), "clickhouse");
        // Filters that are no floe expression never reach a server.
        for f in [
            "proto tcp' OR 1=1 --",
            "dst port 443; DROP TABLE floe.flows",
        ] {
            let e = b.answer(&query("ip-source-address", Some(f))).unwrap_err();
            assert!(e.is_invalid(), "{f}: {e}");
        }
        // Nor do bad queries, or keys of both ends (no time series).
        let mut q = query("ip-source-address", None);
        q.to_ms = q.from_ms;
        assert!(b.answer(&q).unwrap_err().is_invalid());
        let e = b.answer(&query("ip-address", None)).unwrap_err();
        assert!(e.is_invalid(), "{e}");
        // A good one reaches for the server, and says where it is not.
        let e = b
            .answer(&query("ip-protocol", Some("proto tcp")))
            .unwrap_err();
        assert!(matches!(e, QueryError::Backend(_)), "{e}");
        assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    }

    #[test]
    fn errors_map_to_the_query_layers() {
        let b = nowhere();
        let timeout = ClickHouseError::Server {
            url: "http://x".into(),
            status: 500,
            code: Some(TIMEOUT_EXCEEDED),
            message: "Code: 159, Timeout exceeded".into(),
        };
        assert!(matches!(b.error(timeout), QueryError::TimedOut(7)));
        assert!(b.error(ClickHouseError::Refused("no".into())).is_invalid());
        let other = ClickHouseError::Server {
            url: "http://x".into(),
            status: 500,
            code: Some(60),
            message: "Code: 60, no table".into(),
        };
        assert!(matches!(b.error(other), QueryError::Backend(m) if m.contains("no table")));
        let big = ClickHouseError::TooLarge {
            url: "http://x".into(),
            limit: 64 << 20,
        };
        assert!(
            matches!(b.error(big), QueryError::Backend(m) if m.contains("64 MiB") && m.contains("longer interval"))
        );
    }
}
