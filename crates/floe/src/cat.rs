//! `floe cat`: select flows by time from files, trees and streams, and
//! write them as one floe stream (to a pipe) or file (`-o`).

use clap::Args;

use crate::args::{InputArgs, LevelArg, OutputFileArg, ThreadsArg, WindowArgs};
use crate::error::Result;
use crate::stream_out;

/// Select flows by time and write them as a floe stream.
///
/// Example: floe cat --day yesterday /var/lib/floe | floe print
#[derive(Args, Debug)]
pub struct CatArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    output: OutputFileArg,
    #[command(flatten)]
    level: LevelArg,
    #[command(flatten)]
    threads: ThreadsArg,
}

pub fn run(a: CatArgs) -> Result<()> {
    stream_out::stream(
        "cat",
        &a.input,
        &a.window,
        &a.output,
        a.level,
        None,
        a.threads.threads,
        false,
    )
}
