//! Why a query could not be answered.

use std::path::PathBuf;

/// What went wrong, typed, so that a caller can tell the asker's mistake
/// (HTTP 400) from the store's trouble (500).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query itself: a range, interval, key or format that cannot be
    /// asked.
    #[error("{0}")]
    Invalid(String),
    /// The filter does not compile (its message names line and column).
    #[error(transparent)]
    Filter(#[from] floe_filter::FilterError),
    /// The report engine refused the key or its options.
    #[error(transparent)]
    Report(#[from] floe_report::ReportError),
    /// A file of the store could not be read.
    #[error(transparent)]
    Store(#[from] floe_store::StoreError),
    /// The store's directory could not be listed.
    #[error("{}: {source}", path.display())]
    Tree {
        /// The directory that could not be listed.
        path: PathBuf,
        /// Why not.
        source: floe_store::StoreError,
    },
    /// The query took longer than it may.
    #[error("the query took longer than {0} s; narrow the range or the filter")]
    TimedOut(u64),
    /// Another backend's failure, said in words.
    #[error("{0}")]
    Backend(String),
}

impl QueryError {
    /// Whether the asker is to blame (a bad query), rather than the store.
    pub fn is_invalid(&self) -> bool {
        matches!(
            self,
            QueryError::Invalid(_) | QueryError::Filter(_) | QueryError::Report(_)
        )
    }
}
