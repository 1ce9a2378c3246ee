//! floe: the command-line tools around the floe store.
//!
//! Each subcommand lives in its own module and is a thin layer over the
//! libraries; what they share is defined once: the flags ([`args`]), the
//! inputs ([`sources`], [`read`]), the one output path ([`out`]: every
//! subcommand writes through one buffered writer, to stdout or `-o FILE`)
//! and the one error path ([`error`]).
//!
//! Errors: a subcommand returns a [`error::CliError`], one enum whose
//! variants keep the libraries' typed errors (filter, report, store,
//! mail) and say what went wrong for the exit status: `main` alone prints
//! the message (`floe TOOL: ...`) and exits with the status the error's
//! kind gives. A write to a reader that went away (`| head`) is a
//! [`std::io::ErrorKind::BrokenPipe`] wherever it surfaces, and a quiet
//! success. Exit statuses: 0 done; 1 an input could not be read, or the
//! output could not be written or mailed; 2 usage error; 3 nothing to
//! read (no floe files under a directory given, or no flows in the
//! window). Nothing is printed to stdout but through [`out::Out`].

mod alert;
mod args;
mod cat;
mod clickhouse;
mod decode;
mod error;
mod export;
mod filter;
mod flow_print;
mod generate;
mod import;
mod info;
mod mail;
mod out;
mod pipe;
mod print;
mod progress;
mod read;
mod read_parallel;
mod report;
mod scan;
mod send;
mod ship;
mod sources;
mod stream_out;
mod time;
mod top;
mod usage;
mod web;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Tools for floe flow files: select flows by time (cat), keep those that
/// match an expression (filter), show them (print), describe files (info),
/// compute stat-reports (report), convert flow-tools archives (import),
/// decode captured exports as floed would (decode), watch the traffic now
/// (top), browse the store (web), alert on rules (alert), usage since the
/// last run (usage), send test traffic to a collector (send), ship a store
/// to ClickHouse (ship; the tables: clickhouse), export Parquet (export).
#[derive(Parser, Debug)]
#[command(
    name = "floe",
    version,
    about,
    after_help = concat!(
        "Example: floe cat --day yesterday /var/lib/floe | floe filter 'proto tcp and dst port 443' | floe print\n\n",
        "Each subcommand has its own help: floe help SUBCOMMAND. A flag means the same in every subcommand: ",
        "-t/-T the window's start and end, -o the output file, -f the format, -n the most records, -v a variable.\n\n",
        "Exit status: 0 done (also when a reader such as head stops early); 1 an input could not be read ",
        "(named on stderr; the output covers the rest of the inputs) or the output could not be written or mailed; ",
        "2 usage error (nothing done); 3 nothing to read: no floe files under a directory given, or no flows in the ",
        "time window (nothing written)."
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    Cat(cat::CatArgs),
    Filter(filter::FilterArgs),
    Print(print::PrintArgs),
    Report(Box<report::args::ReportArgs>),
    Info(info::InfoArgs),
    Decode(decode::DecodeArgs),
    Top(top::TopArgs),
    Web(web::WebArgs),
    Alert(alert::AlertArgs),
    Usage(usage::UsageArgs),
    Import(import::ImportArgs),
    Send(send::SendArgs),
    Ship(ship::ShipArgs),
    Export(export::ExportArgs),
    Clickhouse(clickhouse::ClickHouseArgs),
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

impl Command {
    /// The subcommand's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Cat(_) => "cat",
            Command::Filter(_) => "filter",
            Command::Print(_) => "print",
            Command::Report(_) => "report",
            Command::Info(_) => "info",
            Command::Decode(_) => "decode",
            Command::Top(_) => "top",
            Command::Web(_) => "web",
            Command::Alert(_) => "alert",
            Command::Usage(_) => "usage",
            Command::Import(_) => "import",
            Command::Send(_) => "send",
            Command::Ship(_) => "ship",
            Command::Export(_) => "export",
            Command::Clickhouse(_) => "clickhouse",
            Command::Generate(_) => "generate",
        }
    }
}

/// Runs a subcommand (also for `floe web`'s daily pages).
fn run_command(command: Command) -> error::Result<()> {
    match command {
        Command::Cat(a) => cat::run(a),
        Command::Filter(a) => filter::run(a),
        Command::Print(a) => print::run(a),
        Command::Report(a) => report::run(*a),
        Command::Info(a) => info::run(a),
        Command::Decode(a) => decode::run(a),
        Command::Top(a) => top::run(a),
        Command::Web(a) => web::run(a),
        Command::Alert(a) => alert::run(a),
        Command::Usage(a) => usage::run(a),
        Command::Import(a) => import::run(a),
        Command::Send(a) => send::run(a),
        Command::Ship(a) => ship::run(a),
        Command::Export(a) => export::run(a),
        Command::Clickhouse(a) => clickhouse::run(a),
        Command::Generate(a) => generate::run(a, Cli::command()),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version (to stdout, status 0), or a usage error (to
        // stderr, status 2); a reader gone from the help is no matter.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let tool = cli.command.name();
    error::set_tool(tool);
    match run_command(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            if e.needs_message() {
                error::warn(&e);
            }
            ExitCode::from(e.status())
        }
    }
}

#[cfg(test)]
mod tests;
