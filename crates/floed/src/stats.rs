//! The live stats file: `DIR/.floed-stats.json`, rewritten every two
//! seconds (to a temporary name, then renamed) with the counters since
//! start of every exporter stream, the templates each has and the last
//! reasons it gave for what could not be decoded or stored (kind, count,
//! the latest message), so that `floe info DIR` can show a running
//! collector without signals or a socket, and "why are 113 datagrams from
//! this router bad?" has an answer later. Written by the decode thread,
//! which owns those numbers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use floe_flow::{ExporterCounters, ExporterKey};
use serde::Serialize;

use crate::events::Reason;
use crate::since_start::SinceStart;

#[derive(Serialize)]
struct Stats<'a> {
    /// Schema of this file.
    format: u32,
    pid: u32,
    version: &'static str,
    started_ms: i64,
    updated_ms: i64,
    exporters: Vec<Exporter<'a>>,
    /// Shipping to ClickHouse, when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    clickhouse: Option<crate::shared::ShipState>,
}

#[derive(Serialize)]
struct Exporter<'a> {
    address: String,
    source_id: u32,
    templates: usize,
    #[serde(flatten)]
    counters: &'a ExporterCounters,
    /// The last reasons, latest first.
    reasons: Vec<ReasonOut>,
}

#[derive(Serialize)]
struct ReasonOut {
    kind: &'static str,
    count: u64,
    last_ms: i64,
    last: String,
}

pub struct StatsFile {
    path: PathBuf,
    started_ms: i64,
}

impl StatsFile {
    pub fn new(dir: &Path, started_ms: i64) -> StatsFile {
        StatsFile {
            path: dir.join(floe_store::STATS_FILE),
            started_ms,
        }
    }

    /// Rewrites the file; an error is returned for the caller to log
    /// (rate-limited), never fatal.
    pub fn write(
        &self,
        now_ms: i64,
        since_start: &SinceStart,
        templates: &[(ExporterKey, usize)],
        reasons: &HashMap<ExporterKey, Vec<Reason>>,
        clickhouse: Option<crate::shared::ShipState>,
    ) -> std::io::Result<()> {
        let templates: HashMap<ExporterKey, usize> = templates.iter().copied().collect();
        let mut list: Vec<Exporter> = since_start
            .exporters
            .iter()
            .map(|(k, c)| {
                let mut rs: Vec<ReasonOut> = reasons
                    .get(k)
                    .map(|v| {
                        v.iter()
                            .map(|r| ReasonOut {
                                kind: r.kind,
                                count: r.count,
                                last_ms: r.last_ms,
                                last: r.latest.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                rs.sort_by_key(|r| std::cmp::Reverse(r.last_ms));
                Exporter {
                    address: k.address.to_string(),
                    source_id: k.source_id,
                    templates: templates.get(k).copied().unwrap_or(0),
                    counters: c,
                    reasons: rs,
                }
            })
            .collect();
        list.sort_by(|a, b| (&a.address, a.source_id).cmp(&(&b.address, b.source_id)));
        let doc = Stats {
            format: 1,
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION"),
            started_ms: self.started_ms,
            updated_ms: now_ms,
            exporters: list,
            clickhouse,
        };
        let text = serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Removes the file when floed stops (so a stale file is never read
    /// as a running collector's).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
