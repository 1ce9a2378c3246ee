//! What can go wrong building or running a report: a name, a sort, an
//! option or a symbol file that cannot be understood, or a report that
//! outgrows its memory cap. Each says what was given and what is valid.

use std::path::PathBuf;

/// A report error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A report type that is not a combination of known names.
    #[error("unknown report type {name:?} (at {rest:?}); valid: {valid}; combine keys with /")]
    UnknownType {
        /// The type as given.
        name: String,
        /// Where in it the unknown part starts.
        rest: String,
        /// The valid names.
        valid: String,
    },
    /// A type of more key parts than a key holds.
    #[error("report type {0:?} has more than 4 key parts")]
    TooManyParts(String),
    /// A sort field that is not known.
    #[error("unknown sort field {0:?}; valid: +/-flows, octets, packets, duration, key, key1..key4, avg-bps, min-bps, max-bps, avg-pps, min-pps, max-pps, count")]
    UnknownSort(String),
    /// More distinct keys than the report may hold.
    #[error(
        "the report has more than {0} distinct keys; narrow the time window or filter, or raise --max-keys (each key takes 50 to 120 bytes)"
    )]
    TooManyKeys(usize),
    /// Flows given without a column the report reads (a reader's
    /// projection left it out): a caller's mistake, said rather than
    /// counted as zeros.
    #[error("{0}")]
    MissingColumn(String),
    /// A scale that is neither a factor nor `sampling`.
    #[error("scale {0:?}: expected a factor (a whole number) or `sampling`")]
    BadScale(String),
    /// An address format that is not known.
    #[error("address format {0:?}: expected address, prefix-len or prefix-mask, optionally /V4LEN[,V6LEN]")]
    BadAddrFormat(String),
    /// A word of a `+NAME,-NAME` list without its sign.
    #[error("{what} {word:?}: expected +NAME or -NAME")]
    Unsigned {
        /// What the list holds (field, option).
        what: &'static str,
        /// The word as given.
        word: String,
    },
    /// A report column (`fields`) that is not known.
    #[error("unknown field {0:?}; valid: key, flows, octets, packets, duration, avg-bps, min-bps, max-bps, avg-pps, min-pps, max-pps, bps, pps, count, frecs")]
    UnknownField(String),
    /// An output option that is not known.
    #[error("unknown option {0:?}; valid: header, xheader, totals, percent-total, names")]
    UnknownOption(String),
    /// An output `time` that is not known.
    #[error("time {0:?}: expected now, start, end or mid")]
    BadPathTime(String),
    /// A line of a symbol file that is not `NUMBER NAME`.
    #[error("{file}:{line}: {message}")]
    SymbolLine {
        /// The symbol file.
        file: String,
        /// Its line (from 1).
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A symbol file or directory that cannot be read.
    #[error("{path}: {message}")]
    SymbolFile {
        /// The file or directory.
        path: PathBuf,
        /// Why it cannot be read.
        message: String,
    },
}
