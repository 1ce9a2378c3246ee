//! `floe cat`: select flows by time from files, trees and streams, and
//! write them as one floe stream (to a pipe) or file (`-o`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use floe_store::{FileHeader, FileWriter, WriteOptions, STREAM_LEVEL};

use crate::input::{self, InputArgs, Next};

/// Select flows by time and write them as a floe stream.
///
/// Example: floe cat --day yesterday /var/lib/floe | floe print
#[derive(Args, Debug)]
pub struct CatArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Write a floe file here instead of the stream on stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// zstd level (default: fast for pipes, 1 for files).
    #[arg(long, value_name = "LEVEL")]
    level: Option<i32>,
}

pub fn run(a: CatArgs) -> Result<i32, String> {
    let now = crate::now_ms();
    let window = a.input.window(now)?;
    let zone = a.input.zone()?;
    let header = FileHeader {
        created_ms: now,
        period: None,
        host: floe_store::host_name(),
        zone: zone.name(),
        writer: format!("floe cat {}", env!("CARGO_PKG_VERSION")),
    };
    let out: (Box<dyn Write>, PathBuf, i32) = match &a.output {
        Some(p) => (
            Box::new(std::io::BufWriter::new(
                std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
            )),
            p.clone(),
            a.level.unwrap_or(floe_store::DEFAULT_LEVEL),
        ),
        None => {
            if std::io::stdout().is_terminal() {
                return Err("stdout is a terminal: pipe into floe print, or use -o FILE".into());
            }
            (
                Box::new(std::io::BufWriter::with_capacity(
                    1 << 20,
                    std::io::stdout().lock(),
                )),
                PathBuf::from("<stdout>"),
                a.level.unwrap_or(STREAM_LEVEL),
            )
        }
    };
    let sources = input::sources(&a.input, window)?;
    let mut w = FileWriter::new(
        out.0,
        &out.1,
        &header,
        WriteOptions {
            level: out.2,
            ..WriteOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let errors = input::read("cat", &sources, window, |flows| {
        w.extend(flows).map_err(|e| e.to_string())?;
        Ok(Next::Continue)
    });
    let errors = match errors {
        Ok(n) => n,
        Err(e) if input::is_broken_pipe(&e) => return Ok(0),
        Err(e) => return Err(e),
    };
    match w.finish(crate::now_ms()) {
        Ok((mut out, _)) => {
            if let Err(e) = out.flush() {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(format!("{}: {e}", Path::new(&out_name(&a)).display()));
                }
            }
        }
        Err(e) if input::is_broken_pipe(&e.to_string()) => return Ok(0),
        Err(e) => return Err(e.to_string()),
    }
    Ok(i32::from(errors > 0))
}

fn out_name(a: &CatArgs) -> String {
    a.output
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdout>".into())
}
