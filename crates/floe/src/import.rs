//! `floe import`: a flow-tools archive converted into floe files, keeping
//! its tree. `ft-v05.2026-11-22.101500+0100` in `2026/2026-11/2026-11-22/`
//! becomes `floe.2026-11-22.101500+0100` in the same directories under the
//! destination, so `floe cat --day ...` selects it as it would any floe file.
//! flow-capture's counters (lost flows, misordered and corrupt datagrams,
//! sequence resets) go into the file's exporter counters.

use std::path::{Path, PathBuf};

use clap::Args;
use floe_flow::{ExporterCounters, ExporterKey};
use floe_netflow::flowtools::FtFile;
use floe_store::meta::Period;
use floe_store::{FileHeader, FileWriter, WriteOptions};

use crate::args::{LevelArg, TmpArg};
use crate::error::{warn, CliError, Result};
use crate::sources::{cut_short, no_such_path, read_flow_tools};
use crate::time::now_ms;

/// Convert flow-tools files (ft-v05...) into floe files, keeping the tree.
///
/// Example: floe import /var/log/netflow --to /var/lib/floe
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// flow-tools files, or directories walked for ft-* files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[arg(short = 'd', long, value_name = "DIR", help = crate::args::TO_HELP)]
    to: PathBuf,
    #[command(flatten)]
    tmp: TmpArg,
    /// Replace floe files that already exist (otherwise they are kept and
    /// the flow-tools file is skipped, so a re-run only adds new files).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    level: LevelArg,
}

/// One flow-tools file to convert: where it is, the directory it goes to
/// (relative to the destination), its name's period start, and the best
/// estimate of its period end.
struct Job {
    path: PathBuf,
    rel_dir: PathBuf,
    start_ms: i64,
    end_estimate_ms: i64,
}

fn jobs(a: &ImportArgs) -> Result<Vec<Job>> {
    let mut out = Vec::new();
    let mut empty = Vec::new();
    for root in &a.paths {
        if root.is_dir() {
            let files = floe_store::walk_readable(root)?;
            let before = out.len();
            for f in files
                .iter()
                .filter(|f| f.flow_tools && (a.tmp.tmp || !f.tmp))
            {
                let rel_dir = f
                    .path
                    .parent()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                out.push(Job {
                    path: f.path.clone(),
                    rel_dir,
                    start_ms: f.start_ms,
                    end_estimate_ms: f.end_estimate_ms(),
                });
            }
            if out.len() == before {
                empty.push(root.clone());
            }
        } else if !root.exists() {
            return Err(no_such_path(root));
        } else {
            let name = root.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let info = floe_store::layout::parse_flow_tools_name(name).ok_or_else(|| {
                CliError::Usage(format!(
                    "{}: not a flow-tools file name (ft-vNN.YYYY-MM-DD.HHMMSS+ZZZZ)",
                    root.display()
                ))
            })?;
            out.push(Job {
                path: root.clone(),
                rel_dir: PathBuf::new(),
                start_ms: info.start_ms,
                end_estimate_ms: info.start_ms.saturating_add(86_400_000),
            });
        }
    }
    if out.is_empty() {
        return Err(CliError::NoFiles {
            what: "flow-tools",
            under: empty,
        });
    }
    for dir in &empty {
        warn(format!("no flow-tools files under {}", dir.display()));
    }
    Ok(out)
}

/// `ft-v05.STAMP` / `tmp-v05.STAMP` -> `floe.STAMP`.
fn floe_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let (_, stamp) = name.split_once('.')?;
    Some(format!("floe.{stamp}"))
}

pub fn run(a: ImportArgs) -> Result<()> {
    let jobs = jobs(&a)?;
    let level = a.level.level.unwrap_or(floe_store::DEFAULT_LEVEL);
    let (mut files, mut flows, mut problems, mut skipped) = (0u64, 0u64, 0usize, 0u64);
    for job in &jobs {
        let name = floe_name(&job.path).ok_or_else(|| {
            CliError::Usage(format!("{}: cannot name its floe file", job.path.display()))
        })?;
        let dir = a.to.join(&job.rel_dir);
        let dest = dir.join(&name);
        if dest.exists() && !a.force {
            skipped += 1;
            continue;
        }
        let ft = match read_flow_tools(&job.path) {
            Ok(ft) => ft,
            Err(e) => {
                warn(e);
                problems += 1;
                continue;
            }
        };
        if let Some(w) = cut_short(&job.path, &ft) {
            warn(w);
            problems += 1;
        }
        std::fs::create_dir_all(&dir).map_err(|e| written(&dir, e))?;
        write(&ft, job, &dest, level)?;
        files += 1;
        flows += ft.flows.len() as u64;
    }
    warn(format!(
        "{files} files, {flows} flows written under {}{}",
        a.to.display(),
        if skipped > 0 {
            format!("; {skipped} already there (use --force to replace them)")
        } else {
            String::new()
        }
    ));
    match problems {
        0 => Ok(()),
        n => Err(CliError::Damaged(n)),
    }
}

/// A write under the destination that failed, naming where.
fn written(path: &Path, e: impl Into<std::io::Error>) -> CliError {
    let e = e.into();
    CliError::Output(std::io::Error::new(
        e.kind(),
        format!("{}: {e}", path.display()),
    ))
}

/// Writes one converted file: under a temporary name, then renamed, so an
/// interrupted import leaves no half file under the final name.
fn write(ft: &FtFile, job: &Job, dest: &Path, level: i32) -> Result<()> {
    let h = &ft.header;
    let end_ms = h
        .cap_end
        .map(|s| i64::from(s) * 1000)
        .filter(|&e| e > job.start_ms)
        .unwrap_or(job.end_estimate_ms);
    let header = FileHeader {
        created_ms: now_ms(),
        period: Some(Period {
            start_ms: job.start_ms,
            end_ms,
        }),
        host: h.hostname.clone().unwrap_or_default(),
        zone: "UTC".into(),
        writer: format!(
            "floe import {} (flow-tools v{}{})",
            env!("CARGO_PKG_VERSION"),
            h.export_version,
            if h.export_version == 8 {
                format!(".{}", h.agg_method)
            } else {
                String::new()
            }
        ),
    };
    let tmp = dest.with_file_name(format!(
        ".import-{}",
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let out = std::fs::File::create(&tmp).map_err(|e| written(&tmp, e))?;
    let mut w = FileWriter::new(
        std::io::BufWriter::new(out),
        &tmp,
        &header,
        WriteOptions {
            level,
            ..WriteOptions::default()
        },
    )?;
    let exporter = h
        .exporter
        .map(std::net::IpAddr::V4)
        .or_else(|| ft.flows.first().map(|f| f.exporter));
    if let Some(address) = exporter {
        w.add_counters(
            ExporterKey {
                address,
                source_id: 0,
            },
            &ExporterCounters {
                flows: ft.flows.len() as u64,
                lost_flows: h.lost_flows.map_or(0, u64::from),
                sequence_resets: h.sequence_resets.map_or(0, u64::from),
                bad_datagrams: h.corrupt_packets.map_or(0, u64::from),
                reordered_datagrams: h.misordered.map_or(0, u64::from),
                ..ExporterCounters::default()
            },
        );
    }
    w.extend_from_slice(&ft.flows)?;
    let (buf, _) = w.finish(now_ms())?;
    let file = buf
        .into_inner()
        .map_err(|e| written(&tmp, e.into_error()))?;
    file.sync_all().map_err(|e| written(&tmp, e))?;
    std::fs::rename(&tmp, dest).map_err(|e| written(dest, e))
}
