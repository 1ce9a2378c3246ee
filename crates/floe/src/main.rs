//! floe: the command-line tools around the floe store.
//!
//! Each subcommand lives in its own module; this file only parses the
//! command line and reports errors the same way for all of them.

mod send;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tools for floe flow files: send test traffic to a collector (and, as
/// they land: cat, filter, print, report, info).
#[derive(Parser, Debug)]
#[command(name = "floe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Send(send::SendArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Send(a) => send::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}
