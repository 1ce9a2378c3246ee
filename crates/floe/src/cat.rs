//! `floe cat`: select flows by time from files, trees and streams, and
//! write them as one floe stream (to a pipe) or file (`-o`).

use std::path::PathBuf;

use clap::Args;

use crate::input::InputArgs;
use crate::output;

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
    output::stream("cat", &a.input, a.output.as_ref(), a.level, None)
}
