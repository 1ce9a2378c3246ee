//! The one error path of the `floe` tools: every subcommand returns a
//! [`CliError`], and `main` alone turns it into a message on stderr and an
//! exit status ([`CliError::status`]). Warnings about one input among
//! several (a damaged file, a file cut short) go through [`warn`], so that
//! every line a tool writes to stderr starts with `floe TOOL:`.
//!
//! The library errors keep their types here (a filter's, a report's, the
//! store's), so that the status is decided from what went wrong, never
//! from the text of a message: a write to a reader that went away
//! (`| head`) is an [`std::io::ErrorKind::BrokenPipe`] wherever it comes
//! from, and is a quiet success.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use floe_filter::FilterError;
use floe_report::statcfg::ConfigError;
use floe_report::ReportError;
use floe_store::StoreError;

use crate::mail::MailError;
use crate::pipe::PipeError;
use crate::time::TimeError;

/// Exit statuses, as `floe --help` and the README list them.
pub mod status {
    /// Done (a reader that went away early, `| head`, included).
    pub const OK: u8 = 0;
    /// An input or output error: an input could not be read (named on
    /// stderr; with damaged files, the output covers the rest), or the
    /// output could not be written or mailed.
    pub const INPUT: u8 = 1;
    /// A usage error: a flag, value, expression or configuration that
    /// cannot be understood. Nothing was read or written.
    pub const USAGE: u8 = 2;
    /// Nothing to read: no floe files under a directory given, or no
    /// flows in the time window. Nothing was written.
    pub const NOTHING: u8 = 3;
}

/// What can stop a `floe` subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag or value that cannot be used, with what is valid.
    #[error("{0}")]
    Usage(String),
    /// A time or duration that cannot be read.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// A filter expression or filter file that does not compile.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A report type, sort, option or symbol file that is not understood,
    /// or a report that outgrew its cap.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A stat-report configuration that is not understood.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A path given on the command line that is not there.
    #[error("{}: no such file or directory{hint}", path.display())]
    NoSuchPath {
        /// The path as given.
        path: PathBuf,
        /// What the user may have meant, or empty.
        hint: String,
    },
    /// A file that could not be read (with its name).
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A floe file, stream or tree that could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A flow-tools file that could not be read.
    #[error("{}: {source}", path.display())]
    FlowTools {
        /// The file.
        path: PathBuf,
        /// Why.
        source: floe_netflow::flowtools::FtError,
    },
    /// A capture that could not be read.
    #[error("{}: {source}", path.display())]
    Pcap {
        /// The capture.
        path: PathBuf,
        /// Why.
        source: floe_netflow::pcap::PcapError,
    },
    /// Some inputs were damaged or unreadable; each was named on stderr
    /// as it was met, and the output covers the rest.
    #[error(
        "{0} of the inputs could not be read whole (each is named); the output covers the rest"
    )]
    Damaged(usize),
    /// Directories given that hold no file of the kind the tool reads.
    #[error("no {what} files under {}", paths(.under))]
    NoFiles {
        /// `floe` or `flow-tools`.
        what: &'static str,
        /// The directories.
        under: Vec<PathBuf>,
    },
    /// Files that hold no flow in the time window.
    #[error("no flows {0}")]
    NoFlows(String),
    /// The output could not be written (the error names where).
    #[error("{0}")]
    Output(std::io::Error),
    /// floed's live view could not be asked (not running, no socket, no
    /// permission) or refused the question.
    #[error("{0}")]
    Live(String),
    /// The report could not be mailed.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A command the output was piped to could not run or failed.
    #[error(transparent)]
    Command(#[from] PipeError),
    /// A decompressor could not be set up (out of memory).
    #[error("zstd decompressor: {0}")]
    Decompressor(std::io::Error),
    /// `floe send` could not send.
    #[error("{0}")]
    Send(String),
    /// ClickHouse could not be reached, refused, or gave an unexpected
    /// answer; or the shipper's state file could not be used.
    #[error(transparent)]
    ClickHouse(#[from] floe_clickhouse::ClickHouseError),
    /// A Parquet file could not be written.
    #[error(transparent)]
    Parquet(#[from] floe_parquet::ParquetError),
    /// The query layer could not answer (took too long, or its backend
    /// failed), said in words.
    #[error("{0}")]
    Query(String),
    /// A state file of `floe alert` or `floe usage` that cannot be read or
    /// written.
    #[error(transparent)]
    Alert(#[from] floe_alert::AlertError),
    /// Alert actions that failed (each named on stderr as it failed; the
    /// others ran).
    #[error("{0} alert actions failed (each is named); the others ran")]
    Actions(usize),
}

impl From<floe_query::QueryError> for CliError {
    fn from(e: floe_query::QueryError) -> CliError {
        use floe_query::QueryError as Q;
        match e {
            Q::Invalid(m) => CliError::Usage(m),
            Q::Filter(e) => CliError::Filter(e),
            Q::Report(e) => CliError::Report(e),
            Q::Store(e) => CliError::Store(e),
            e @ (Q::Tree { .. } | Q::TimedOut(_) | Q::Backend(_)) => CliError::Query(e.to_string()),
        }
    }
}

fn paths(p: &[PathBuf]) -> String {
    p.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kind of an I/O error that may lie under `e`.
fn io_kind(e: &CliError) -> Option<std::io::ErrorKind> {
    match e {
        CliError::Output(e) | CliError::Read { source: e, .. } => Some(e.kind()),
        CliError::Store(StoreError::Io { source, .. }) => Some(source.kind()),
        _ => None,
    }
}

impl CliError {
    /// True when the output's reader went away (`| head`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        io_kind(self) == Some(std::io::ErrorKind::BrokenPipe)
    }

    /// False when every part of the error was said on stderr as it was
    /// met (damaged inputs): the status alone tells the rest.
    pub fn needs_message(&self) -> bool {
        !matches!(self, CliError::Damaged(_))
    }

    /// The exit status (see [`status`]).
    pub fn status(&self) -> u8 {
        match self {
            _ if self.is_broken_pipe() => status::OK,
            CliError::Usage(_) | CliError::Time(_) | CliError::Filter(_) | CliError::Config(_) => {
                status::USAGE
            }
            CliError::Report(ReportError::TooManyKeys(_)) => status::INPUT,
            CliError::Report(_) => status::USAGE,
            CliError::Mail(e) if e.is_usage() => status::USAGE,
            CliError::NoFiles { .. } | CliError::NoFlows(_) => status::NOTHING,
            CliError::NoSuchPath { .. }
            | CliError::Read { .. }
            | CliError::Store(_)
            | CliError::FlowTools { .. }
            | CliError::Pcap { .. }
            | CliError::Damaged(_)
            | CliError::Output(_)
            | CliError::Mail(_)
            | CliError::Command(_)
            | CliError::Decompressor(_)
            | CliError::Send(_)
            | CliError::ClickHouse(_)
            | CliError::Parquet(_)
            | CliError::Query(_)
            | CliError::Alert(_)
            | CliError::Actions(_)
            | CliError::Live(_) => status::INPUT,
        }
    }
}

/// The result of a subcommand.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// The subcommand running, for the `floe TOOL:` prefix of stderr lines.
static TOOL: OnceLock<&'static str> = OnceLock::new();

/// Names the subcommand that runs (once, from `main`).
pub fn set_tool(name: &'static str) {
    let _ = TOOL.set(name);
}

/// The `floe TOOL` that prefixes every stderr line.
pub fn prefix() -> String {
    match TOOL.get() {
        Some(t) => format!("floe {t}"),
        None => "floe".into(),
    }
}

/// Says something on stderr (`floe TOOL: ...`) and goes on: a damaged
/// input among several, a file cut short. A stderr that cannot be written
/// to is no reason to stop.
pub fn warn(message: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{}: {message}", prefix());
}
