//! The crate's typed errors.

use std::path::PathBuf;

/// What can go wrong between floe and ClickHouse. Messages name the server
/// by its URL without credentials; passwords never appear in them.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The URL cannot be used.
    #[error("ClickHouse URL {url:?}: {what}")]
    BadUrl {
        /// The URL as given, credentials replaced by `***`.
        url: String,
        /// What is wrong with it.
        what: String,
    },
    /// No answer: connection refused, reset, timed out, name not found.
    #[error("ClickHouse at {url}: {what}")]
    Transport {
        /// The server's URL (no credentials).
        url: String,
        /// Why there was no answer.
        what: String,
    },
    /// The server answered with an error.
    #[error("ClickHouse at {url} refused: {message} (HTTP {status})")]
    Server {
        /// The server's URL (no credentials).
        url: String,
        /// The answer's HTTP status.
        status: u16,
        /// ClickHouse's error code, when the message has one.
        code: Option<u32>,
        /// The server's message (a long one cut in the middle).
        message: String,
    },
    /// The answer is larger than the client reads.
    #[error("ClickHouse at {url}: the answer is larger than {limit} bytes; ask for fewer rows (--records)")]
    TooLarge {
        /// The server's URL (no credentials).
        url: String,
        /// The most the client reads of such an answer, in bytes.
        limit: u64,
    },
    /// The answer is not what was asked for.
    #[error("ClickHouse at {url}: unexpected answer: {what}")]
    Answer {
        /// The server's URL (no credentials).
        url: String,
        /// What was wrong with the answer.
        what: String,
    },
    /// A floe file could not be read.
    #[error(transparent)]
    Store(#[from] floe_store::StoreError),
    /// The state file (or another local file) could not be read or written.
    #[error("{path}: {what}")]
    Local {
        /// The file (or a name in `<>` for a local step such as `<gzip>`).
        path: PathBuf,
        /// What went wrong with it.
        what: String,
    },
    /// Another process ships this store to this table.
    #[error("{path} is locked: another floed or floe ship is shipping this store to this table")]
    Locked {
        /// The lock file beside the state file.
        path: PathBuf,
    },
    /// A query that ClickHouse cannot answer as floe would.
    #[error("{0}")]
    Refused(String),
}

impl ClickHouseError {
    pub(crate) fn local(path: impl Into<PathBuf>, what: impl ToString) -> ClickHouseError {
        ClickHouseError::Local {
            path: path.into(),
            what: what.to_string(),
        }
    }

    /// True when the server could not be reached or gave no answer: worth
    /// retrying later as is.
    pub fn is_transport(&self) -> bool {
        matches!(self, ClickHouseError::Transport { .. })
    }
}

/// The crate's results: [`ClickHouseError`] unless told otherwise.
pub type Result<T, E = ClickHouseError> = std::result::Result<T, E>;
