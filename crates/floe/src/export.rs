//! `floe export --format parquet --out DIR`: flows as Parquet files for
//! data lakes (DuckDB, Spark, Trino, ClickHouse), one per floe or
//! flow-tools file, in a hive-style year=/month=/day= tree (the layout and
//! schema are floe-parquet's).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use floe_parquet::{export_file, ExportOptions};

use crate::args::{FormatArg, InputArgs, OutputFileArg, WindowArgs};
use crate::error::{warn, CliError, Result};
use crate::out::Out;
use crate::sources::{self, Source};

/// What `floe export` writes.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// Apache Parquet, zstd, one row group per floe block.
    #[default]
    Parquet,
}

/// Export flows as Parquet files in a year=/month=/day= tree.
///
/// Example: floe export --format parquet --out /srv/lake/flows --day yesterday /var/lib/floe
///
/// (--out is --dir: the root of the Parquet tree, written into.)
///
/// One Parquet file per floe (or flow-tools) file, named after it, in
/// OUT/year=YYYY/month=MM/day=DD/ (the day of the file's name); with a
/// window, only the flows that overlap it. The paths written are listed on
/// the output, one a line. DuckDB: SELECT ... FROM
/// read_parquet('OUT/**/*.parquet', hive_partitioning = true).
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    format: FormatArg<ExportFormat>,
    /// Write into this directory (created if missing).
    ///
    /// The root of the Parquet tree (year=YYYY/month=MM/day=DD/ under it).
    #[arg(long, value_name = "DIR", alias = "out", required = true)]
    dir: Option<PathBuf>,
    /// zstd level of the Parquet columns.
    #[arg(long = "zstd-level", default_value_t = 3, value_name = "LEVEL")]
    zstd_level: i32,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    output: OutputFileArg,
}

pub fn run(a: ExportArgs) -> Result<()> {
    let out_dir = a.dir.clone().unwrap_or_default();
    let window = a.window.window_now()?;
    let srcs = sources::list(&a.input, window, a.input.tmp.tmp)?;
    if srcs.list.contains(&Source::Stdin) {
        return Err(CliError::Usage(
            "floe export reads files and trees, not a stream: one Parquet file per floe file"
                .into(),
        ));
    }
    let opts = ExportOptions {
        window: (window.from, window.to),
        level: a.zstd_level,
    };
    let mut out = Out::open(a.output.output.as_deref())?;
    let (mut files, mut flows, mut bytes, mut damaged) = (0u64, 0u64, 0u64, 0usize);
    for s in &srcs.list {
        let (Source::File(p) | Source::FlowTools(p)) = s else {
            continue;
        };
        match export_file(p, &out_dir, &opts) {
            Ok(x) => {
                flows += x.flows;
                bytes += x.bytes;
                if let Some(path) = x.path {
                    files += 1;
                    out.text(&format!("{}\n", path.display()))?;
                }
            }
            Err(e) => {
                damaged += 1;
                warn(e);
            }
        }
    }
    out.finish()?;
    let _ = (files, bytes);
    if flows == 0 && damaged == 0 && srcs.files_only() {
        return Err(CliError::NoFlows(window.describe(&a.window.zone()?)));
    }
    match damaged {
        0 => Ok(()),
        n => Err(CliError::Damaged(n)),
    }
}
