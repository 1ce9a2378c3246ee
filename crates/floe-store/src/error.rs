use std::path::PathBuf;

/// Everything that can go wrong reading or writing floe files.
///
/// Every variant that concerns file content names the file (or stream) and,
/// where it makes sense, the byte offset, so that a tool can print a message
/// that says exactly what and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a floe file (bad magic at offset 0)")]
    NotFloe { path: PathBuf },
    #[error(
        "{path}: format version {version} is newer than this floe reads (up to {supported}); upgrade floe to read it"
    )]
    UnsupportedVersion {
        path: PathBuf,
        version: u16,
        supported: u16,
    },
    #[error("{path}: corrupt at byte offset {offset}: {what}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{path}: truncated at byte offset {offset}: {what}")]
    Truncated {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{path}: another floe writer holds this directory (lock file {lock})")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        StoreError::Corrupt {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }

    pub(crate) fn truncated(
        path: impl Into<PathBuf>,
        offset: u64,
        what: impl Into<String>,
    ) -> Self {
        StoreError::Truncated {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }

    /// True for damage to one part of a file (a bad block), after which a
    /// reader may go on with the next block or file.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. } | StoreError::Truncated { .. }
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
