//! floe: the command-line tools around the floe store.
//!
//! Each subcommand lives in its own module; this file only parses the
//! command line and reports errors the same way for all of them.

mod cat;
mod daily;
mod filter;
mod flow_print;
mod generate;
mod import;
mod info;
mod input;
mod mail;
mod output;
mod pipe;
mod print;
mod report;
mod send;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tools for floe flow files: select flows by time (cat), keep those that
/// match an expression (filter), show them (print), describe files (info),
/// compute stat-reports (report), convert flow-tools archives (import),
/// send test traffic to a collector (send).
#[derive(Parser, Debug)]
#[command(
    name = "floe",
    version,
    about,
    after_help = "Example: floe cat --day yesterday /var/lib/floe | floe filter 'proto tcp and dst port 443' | floe print\n\nEach subcommand has its own help: floe help SUBCOMMAND."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Cat(cat::CatArgs),
    Filter(filter::FilterArgs),
    Print(print::PrintArgs),
    // -t is the report type here (as flow-report users expect); the time
    // window keeps its long forms --start/--end.
    #[command(mut_arg("start", |a| a.short(None)), mut_arg("end", |a| a.short(None)))]
    Report(Box<report::ReportArgs>),
    Info(info::InfoArgs),
    Import(import::ImportArgs),
    Send(send::SendArgs),
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Exit status: 0 all read, 1 some input unreadable (said on stderr),
    // 2 usage or fatal error.
    let result = match cli.command {
        Command::Cat(a) => cat::run(a),
        Command::Filter(a) => filter::run(a),
        Command::Print(a) => print::run(a),
        Command::Report(a) => report::run(*a),
        Command::Info(a) => info::run(a),
        Command::Import(a) => import::run(a),
        Command::Send(a) => send::run(a).map(|()| 0),
        Command::Generate(a) => generate::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::from(2)
        }
    }
}

/// Now, UTC ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
