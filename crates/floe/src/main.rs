//! floe: the command-line tools around the floe store.
//!
//! Each subcommand lives in its own module; this file only parses the
//! command line and reports errors the same way for all of them.

mod info;
mod send;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tools for floe flow files: describe them (info) and send test traffic to
/// a collector (send); cat, filter, print and report are next.
#[derive(Parser, Debug)]
#[command(name = "floe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Send(send::SendArgs),
    Info(info::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Send(a) => send::run(a),
        Command::Info(a) => info::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}
