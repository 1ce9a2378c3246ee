//! `floe info`: what a file or a tree holds: format, period, zone, flows,
//! packets, octets, time range, blocks, bytes per flow, and each exporter's
//! health counters (datagrams, flows, lost flows, resets, bad datagrams,
//! and every other counter that is not zero, with what it counts). For a
//! directory, totals per day. `--format json` for machines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use floe_flow::time::format_utc_ms;
use floe_flow::{Counter, ExporterCounters, ExporterKey};
use floe_store::{walk, FlowFile};
use serde::Serialize;

use crate::args::{FormatArg, OutputFileArg};
use crate::error::{warn, CliError, Result};
use crate::out::Out;
use crate::sources::no_such_path;
use crate::time::now_ms;

/// How `floe info` shows what it found.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// Describe floe files and trees.
///
/// Example: floe info /var/lib/floe/2026/2026-11/2026-11-22
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    format: FormatArg<Format>,
    /// The same as --format json (kept for scripts).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    #[command(flatten)]
    output: OutputFileArg,
    /// For directories, one entry per file instead of per day.
    #[arg(long)]
    files: bool,
    /// Check rather than only run: info also reads every block (checksums,
    /// decoding) to find damage the index cannot show; alert checks the
    /// rules file (errors name the file, line, column and rule) and
    /// evaluates nothing.
    #[arg(long)]
    check: bool,
}

#[derive(Serialize, Default, Clone)]
struct Summary {
    name: String,
    files: u64,
    open_files: u64,
    format_version: Option<u16>,
    zone: Option<String>,
    period_secs: Option<i64>,
    flows: u64,
    packets: u64,
    octets: u64,
    first: Option<String>,
    last: Option<String>,
    #[serde(skip)]
    first_ms: Option<i64>,
    #[serde(skip)]
    last_ms: Option<i64>,
    blocks: u64,
    bytes: u64,
    bytes_per_flow: Option<f64>,
    exporters: Vec<Exporter>,
    damage: Vec<String>,
    #[serde(skip)]
    by_exporter: BTreeMap<ExporterKey, ExporterCounters>,
}

#[derive(Serialize, Clone)]
struct Exporter {
    address: String,
    source_id: u32,
    #[serde(flatten)]
    counters: ExporterCounters,
}

impl Summary {
    fn add(&mut self, f: &FlowFile, check: bool) {
        self.files += 1;
        self.open_files += u64::from(!f.is_closed());
        self.format_version = Some(f.version());
        self.zone = Some(f.header().zone.clone());
        if let Some(p) = f.header().period {
            self.period_secs = Some((p.end_ms - p.start_ms) / 1000);
        }
        self.blocks += f.blocks().len() as u64;
        self.bytes += f.len();
        match f.trailer() {
            Some(t) => {
                self.flows += t.totals.flows;
                self.packets += t.totals.packets;
                self.octets += t.totals.octets;
                if t.totals.flows > 0 {
                    self.first_ms = Some(
                        self.first_ms
                            .map_or(t.totals.first_ms, |x| x.min(t.totals.first_ms)),
                    );
                    self.last_ms = Some(
                        self.last_ms
                            .map_or(t.totals.last_ms, |x| x.max(t.totals.last_ms)),
                    );
                }
            }
            None => {
                // A file still open (or cut short) has no totals yet: its
                // blocks' headers have them, so that a day's line adds up
                // flows, packets and octets on the same base.
                self.flows += f.flows();
                for i in 0..f.blocks().len() {
                    if let Some(h) = f
                        .block_body(i)
                        .ok()
                        .and_then(floe_store::format::BlockHeader::decode)
                    {
                        self.packets += h.packets;
                        self.octets += h.octets;
                    }
                }
                for b in f.blocks() {
                    self.first_ms = Some(
                        self.first_ms
                            .map_or(b.min_start_ms, |x| x.min(b.min_start_ms)),
                    );
                    self.last_ms = Some(self.last_ms.map_or(b.max_end_ms, |x| x.max(b.max_end_ms)));
                }
            }
        }
        for (k, c) in f.counters() {
            self.by_exporter.entry(*k).or_default().add(c);
        }
        self.damage.extend(f.damage().iter().map(|e| e.to_string()));
        if check {
            let Ok(mut dec) = floe_store::BlockDecoder::new() else {
                return;
            };
            let mut flows = Vec::new();
            for i in 0..f.blocks().len() {
                flows.clear();
                if let Err(e) = f.read_block(i, &mut dec, &mut flows) {
                    self.damage.push(e.to_string());
                }
            }
        }
    }

    fn finish(mut self) -> Self {
        self.first = self.first_ms.map(format_utc_ms);
        self.last = self.last_ms.map(format_utc_ms);
        self.bytes_per_flow = (self.flows > 0).then(|| self.bytes as f64 / self.flows as f64);
        self.exporters = self
            .by_exporter
            .iter()
            .map(|(k, c)| Exporter {
                address: k.address.to_string(),
                source_id: k.source_id,
                counters: c.clone(),
            })
            .collect();
        self
    }
}

/// Reads every file under the paths, then shows what they hold; a file
/// that could not be read or is damaged is named (on stderr, or under
/// "damage"/"errors" in JSON) and makes the exit status 1.
pub fn run(a: InfoArgs) -> Result<()> {
    let json = a.json || a.format.get() == Format::Json;
    let mut groups: BTreeMap<String, Summary> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut order = Vec::new();
    let mut empty = Vec::new();
    let mut any = false;
    for path in &a.paths {
        let files: Vec<(PathBuf, String)> = if path.is_dir() {
            let files = walk(path)?;
            if files.is_empty() {
                empty.push(path.clone());
            }
            files
                .into_iter()
                .map(|f| {
                    let group = if a.files {
                        f.path.display().to_string()
                    } else {
                        // The day, in the zone the file was named in.
                        let name = f
                            .path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        name.trim_start_matches(floe_store::layout::TMP_PREFIX)
                            .get(5..15)
                            .unwrap_or("unknown")
                            .to_string()
                    };
                    (f.path, group)
                })
                .collect()
        } else if path.exists() {
            vec![(path.clone(), path.display().to_string())]
        } else {
            return Err(no_such_path(path));
        };
        for (file, group) in files {
            any = true;
            match FlowFile::open(&file) {
                Ok(f) => {
                    if !groups.contains_key(&group) {
                        order.push(group.clone());
                    }
                    let g = groups.entry(group.clone()).or_insert_with(|| Summary {
                        name: group.clone(),
                        ..Summary::default()
                    });
                    g.add(&f, a.check);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if !any {
        return Err(CliError::NoFiles {
            what: "floe",
            under: empty,
        });
    }
    for dir in &empty {
        warn(format!("no floe files under {}", dir.display()));
    }
    let out: Vec<Summary> = order
        .iter()
        .filter_map(|g| groups.remove(g))
        .map(Summary::finish)
        .collect();
    // A running collector's live counters, from the stats file floed keeps
    // in its data directory.
    let collectors: Vec<serde_json::Value> = a
        .paths
        .iter()
        .filter_map(|p| std::fs::read(p.join(floe_store::STATS_FILE)).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    let text = if json {
        let doc = serde_json::json!({ "entries": out, "errors": errors, "collectors": collectors });
        format!("{doc:#}\n")
    } else {
        let mut t = String::new();
        for c in &collectors {
            collector_text(&mut t, c);
        }
        for s in &out {
            summary_text(&mut t, s);
        }
        for e in &errors {
            warn(e);
        }
        t
    };
    let mut w = Out::open(a.output.output.as_deref())?;
    w.text(&text)?;
    w.finish()?;
    let damaged = errors.len() + out.iter().map(|s| s.damage.len()).sum::<usize>();
    match damaged {
        0 => Ok(()),
        n => Err(CliError::Damaged(n)),
    }
}

/// The counters beyond the table's columns that are not zero, one line
/// each with what it counts (`extra` as files and floed's stats file keep
/// it: names to values).
fn extra_text(t: &mut String, extra: &[(&str, u64)]) {
    for (name, n) in extra {
        let meaning = Counter::from_name(name).map_or("", |c| c.meaning());
        let _ = writeln!(t, "      {name:<24} {n:>12}  {meaning}");
    }
}

/// The live counters of a running floed (its `.floed-stats.json`).
fn collector_text(t: &mut String, c: &serde_json::Value) {
    let now = now_ms();
    let ms = |k: &str| c[k].as_i64().unwrap_or(0);
    let age_s = (now - ms("updated_ms")) / 1000;
    let _ = writeln!(
        t,
        "collector: floed {} (pid {}), running since {}, counters {} s old{}",
        c["version"].as_str().unwrap_or("?"),
        c["pid"],
        format_utc_ms(ms("started_ms")),
        age_s,
        if age_s > 30 {
            " (stale: floed is not running or not writing)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        t,
        "  {:<40} {:>10} {:>12} {:>10} {:>7} {:>8} {:>9}",
        "exporter (source id), since start",
        "datagrams",
        "flows",
        "lost",
        "resets",
        "bad",
        "templates"
    );
    for e in c["exporters"].as_array().into_iter().flatten() {
        let n = |k: &str| e[k].as_u64().unwrap_or(0);
        let _ = writeln!(
            t,
            "  {:<40} {:>10} {:>12} {:>10} {:>7} {:>8} {:>9}",
            format!(
                "{} ({})",
                e["address"].as_str().unwrap_or("?"),
                n("source_id")
            ),
            n("datagrams"),
            n("flows"),
            n("lost_flows"),
            n("sequence_resets"),
            n("bad_datagrams"),
            n("templates")
        );
        let mut extra: Vec<(&str, u64)> = e["extra"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_u64().filter(|n| *n > 0).map(|n| (k.as_str(), n)))
            .collect();
        extra.sort_unstable();
        extra_text(t, &extra);
        reasons_text(t, e, now);
    }
    clickhouse_text(t, &c["clickhouse"], now);
}

/// floed's shipping to ClickHouse: what is shipped, the backlog, what
/// was lost to it, and the last error.
fn clickhouse_text(t: &mut String, c: &serde_json::Value, now: i64) {
    if !c.is_object() {
        return;
    }
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    let _ = writeln!(
        t,
        "  clickhouse {}: {}, {} flows shipped, backlog {} flows in {} files, {} lost (removed before shipped), {} errors since start",
        c["target"].as_str().unwrap_or("?"),
        if c["up"].as_bool().unwrap_or(false) { "up" } else { "DOWN" },
        n("shipped_flows"),
        n("backlog_flows"),
        n("backlog_files"),
        n("lost_flows"),
        n("errors"),
    );
    if let Some(ms) = c["last_success_ms"].as_i64() {
        let _ = writeln!(t, "    last insert {} s ago", (now - ms).max(0) / 1000);
    }
    if let (false, Some(e)) = (c["up"].as_bool().unwrap_or(false), c["last_error"].as_str()) {
        let _ = writeln!(t, "    last error: {e}");
    }
}

/// The last reasons floed kept for an exporter's problems: what kind, how
/// many since start, how long ago the last, and its message.
fn reasons_text(t: &mut String, e: &serde_json::Value, now: i64) {
    let reasons = e["reasons"].as_array().into_iter().flatten();
    for (i, r) in reasons.enumerate() {
        if i == 0 {
            let _ = writeln!(t, "      last reasons:");
        }
        let ago = (now - r["last_ms"].as_i64().unwrap_or(now)).max(0) / 1000;
        let _ = writeln!(
            t,
            "        {:>6} x {:<20} {:>6} s ago: {}",
            r["count"].as_u64().unwrap_or(0),
            r["kind"].as_str().unwrap_or("?"),
            ago,
            r["last"].as_str().unwrap_or("")
        );
    }
}

fn summary_text(t: &mut String, s: &Summary) {
    let _ = writeln!(t, "{}", s.name);
    let _ = writeln!(
        t,
        "  files {} ({} open), format version {}, zone {}, period {}",
        s.files,
        s.open_files,
        s.format_version.map_or("-".into(), |v| v.to_string()),
        s.zone.as_deref().unwrap_or("-"),
        s.period_secs.map_or("-".into(), |p| format!("{p} s"))
    );
    let _ = writeln!(
        t,
        "  flows {}  packets {}  octets {}  from {}  to {}",
        s.flows,
        s.packets,
        s.octets,
        s.first.as_deref().unwrap_or("-"),
        s.last.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        t,
        "  blocks {}  bytes {}  bytes/flow {}",
        s.blocks,
        s.bytes,
        s.bytes_per_flow.map_or("-".into(), |b| format!("{b:.1}"))
    );
    if !s.exporters.is_empty() {
        let _ = writeln!(
            t,
            "  {:<40} {:>10} {:>12} {:>10} {:>7} {:>8} {:>9}",
            "exporter (source id)", "datagrams", "flows", "lost", "resets", "bad", "reordered"
        );
        for e in &s.exporters {
            let c = &e.counters;
            let _ = writeln!(
                t,
                "  {:<40} {:>10} {:>12} {:>10} {:>7} {:>8} {:>9}",
                format!("{} ({})", e.address, e.source_id),
                c.datagrams,
                c.flows,
                c.lost_flows,
                c.sequence_resets,
                c.bad_datagrams,
                c.reordered_datagrams
            );
            extra_text(t, &c.extra.nonzero());
        }
    }
    for d in &s.damage {
        let _ = writeln!(t, "  damaged: {d}");
    }
}
