//! `floe cat`: select flows by time from files, trees and streams, and
//! write them as one floe stream (to a pipe) or file (`-o`).

use std::path::PathBuf;

use clap::Args;

use crate::input::{self, InputArgs, Next};
use crate::output::StreamOut;

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
    /// zstd level (default: fast for pipes, the store's default for files).
    #[arg(long, value_name = "LEVEL")]
    level: Option<i32>,
}

pub fn run(a: CatArgs) -> Result<i32, String> {
    let window = a.input.window(crate::now_ms())?;
    let mut out = StreamOut::open("cat", a.output.as_ref(), a.level, &a.input.zone()?)?;
    let sources = input::sources(&a.input, window)?;
    let errors = match input::read("cat", &sources, window, |flows| {
        out.write(flows)?;
        Ok(Next::Continue)
    }) {
        Ok(n) => n,
        Err(e) if input::is_broken_pipe(&e) => return Ok(0),
        Err(e) => return Err(e),
    };
    out.finish()?;
    Ok(i32::from(errors > 0))
}
