//! `floe info`: what a file or a tree holds: format, period, zone, flows,
//! packets, octets, time range, blocks, bytes per flow, and each exporter's
//! health counters (datagrams, flows, lost flows, resets, bad datagrams).
//! For a directory, totals per day. `--json` for machines.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use floe_flow::time::format_utc_ms;
use floe_flow::{ExporterCounters, ExporterKey};
use floe_store::{walk, FlowFile};
use serde::Serialize;

/// Describe floe files and trees.
///
/// Example: floe info /var/lib/floe/2026/2026-11/2026-11-22
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// For directories, one entry per file instead of per day.
    #[arg(long)]
    files: bool,
    /// Read every block too (checksums and decoding), not only the index:
    /// finds damage inside blocks that the trailer cannot show.
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
                self.flows += f.flows();
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

/// Exit status: 0, or 1 when a file could not be read or is damaged (each
/// named with the offset on stderr, or under "damage"/"errors" in JSON).
pub fn run(a: InfoArgs) -> Result<i32, String> {
    let mut groups: BTreeMap<String, Summary> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut order = Vec::new();
    for path in &a.paths {
        let files: Vec<(PathBuf, String)> = if path.is_dir() {
            walk(path)
                .map_err(|e| e.to_string())?
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
                        name.trim_start_matches("tmp-")
                            .get(5..15)
                            .unwrap_or("unknown")
                            .to_string()
                    };
                    (f.path, group)
                })
                .collect()
        } else {
            vec![(path.clone(), path.display().to_string())]
        };
        for (file, group) in files {
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
    if a.json {
        let doc = serde_json::json!({ "entries": out, "errors": errors, "collectors": collectors });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
        );
    } else {
        for c in &collectors {
            print_collector(c);
        }
        for s in &out {
            print_text(s);
        }
        for e in &errors {
            eprintln!("floe info: {e}");
        }
    }
    let damaged: usize = out.iter().map(|s| s.damage.len()).sum();
    Ok(i32::from(!errors.is_empty() || damaged > 0))
}

/// The live counters of a running floed (its `.floed-stats.json`).
fn print_collector(c: &serde_json::Value) {
    let now = crate::now_ms();
    let ms = |k: &str| c[k].as_i64().unwrap_or(0);
    let age_s = (now - ms("updated_ms")) / 1000;
    println!(
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
    println!(
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
        println!(
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
    }
}

fn print_text(s: &Summary) {
    println!("{}", s.name);
    println!(
        "  files {} ({} open), format version {}, zone {}, period {}",
        s.files,
        s.open_files,
        s.format_version.map_or("-".into(), |v| v.to_string()),
        s.zone.as_deref().unwrap_or("-"),
        s.period_secs.map_or("-".into(), |p| format!("{p} s"))
    );
    println!(
        "  flows {}  packets {}  octets {}  from {}  to {}",
        s.flows,
        s.packets,
        s.octets,
        s.first.as_deref().unwrap_or("-"),
        s.last.as_deref().unwrap_or("-")
    );
    println!(
        "  blocks {}  bytes {}  bytes/flow {}",
        s.blocks,
        s.bytes,
        s.bytes_per_flow.map_or("-".into(), |b| format!("{b:.1}"))
    );
    if !s.exporters.is_empty() {
        println!(
            "  {:<40} {:>10} {:>12} {:>10} {:>7} {:>8} {:>9}",
            "exporter (source id)", "datagrams", "flows", "lost", "resets", "bad", "reordered"
        );
        for e in &s.exporters {
            let c = &e.counters;
            println!(
                "  {:<40} {:>10} {:>12} {:>10} {:>7} {:>8} {:>9}",
                format!("{} ({})", e.address, e.source_id),
                c.datagrams,
                c.flows,
                c.lost_flows,
                c.sequence_resets,
                c.bad_datagrams,
                c.reordered_datagrams
            );
        }
    }
    for d in &s.damage {
        println!("  damaged: {d}");
    }
}
