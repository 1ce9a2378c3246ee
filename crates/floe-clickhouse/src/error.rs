//! The crate's typed errors.

use std::path::PathBuf;

/// What can go wrong between floe and ClickHouse. Messages name the server
/// by its URL without credentials; passwords never appear in them.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The URL cannot be used.
    #[error("ClickHouse URL {url:?}: {what}")]
    BadUrl { url: String, what: String },
    /// No answer: connection refused, reset, timed out, name not found.
    #[error("ClickHouse at {url}: {what}")]
    Transport { url: String, what: String },
    /// The server answered with an error.
    #[error("ClickHouse at {url} refused: {message} (HTTP {status})")]
    Server {
        url: String,
        status: u16,
        /// ClickHouse's error code, when the message has one.
        code: Option<u32>,
        message: String,
    },
    /// The answer is larger than the client reads.
    #[error("ClickHouse at {url}: the answer is larger than {limit} bytes; ask for fewer rows (--records)")]
    TooLarge { url: String, limit: u64 },
    /// The answer is not what was asked for.
    #[error("ClickHouse at {url}: unexpected answer: {what}")]
    Answer { url: String, what: String },
    /// A floe file could not be read.
    #[error(transparent)]
    Store(#[from] floe_store::StoreError),
    /// The state file (or another local file) could not be read or written.
    #[error("{path}: {what}")]
    Local { path: PathBuf, what: String },
    /// Another process ships this store to this table.
    #[error("{path} is locked: another floed or floe ship is shipping this store to this table")]
    Locked { path: PathBuf },
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

pub type Result<T, E = ClickHouseError> = std::result::Result<T, E>;
