use std::path::PathBuf;

use crate::format::BLOCK_HEADER_LEN;

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
    /// A block whose frame checksum held but whose content does not add up
    /// (a hostile or buggy writer): `offset` is the block frame's.
    #[error("{path}: corrupt block at byte offset {offset}: {source}")]
    Block {
        path: PathBuf,
        offset: u64,
        #[source]
        source: BlockError,
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
            StoreError::Corrupt { .. } | StoreError::Truncated { .. } | StoreError::Block { .. }
        )
    }

    pub(crate) fn block(path: impl Into<PathBuf>, offset: u64, source: BlockError) -> Self {
        StoreError::Block {
            path: path.into(),
            offset,
            source,
        }
    }
}

/// What is wrong with a block body whose checksum held. Every count and
/// size a block states is checked against the format's limits
/// ([`crate::format`]) and against the bytes the body holds before
/// anything is allocated for it; these say which one failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    #[error("block header is cut short ({len} bytes of {BLOCK_HEADER_LEN})")]
    HeaderCutShort { len: usize },
    #[error("block claims {claimed} flows; a block holds at most {max}")]
    TooManyFlows { claimed: u32, max: u32 },
    #[error("block claims {claimed} columns; its {body} bytes hold at most {fit}")]
    TooManyColumns {
        claimed: u16,
        body: usize,
        fit: usize,
    },
    #[error("column header at body offset {at} is cut short")]
    ChunkHeaderCutShort { at: usize },
    #[error(
        "column {id} claims {stored} stored bytes at body offset {at}; the block has {left} left"
    )]
    ChunkCutShort {
        id: u8,
        at: usize,
        stored: u32,
        left: usize,
    },
    #[error("column {id} appears twice")]
    DuplicateColumn { id: u8 },
    #[error("column {id} has width {width}; its values are 1 to {max} bytes")]
    Width { id: u8, width: u8, max: usize },
    #[error("column {id} claims {count} values in a block of {records} flows")]
    Count { id: u8, count: u32, records: u32 },
    #[error("constant column {id} stores {stored} bytes for one value of {width}")]
    ConstantSize { id: u8, stored: u32, width: u8 },
    #[error(
        "raw column {id} stores {stored} bytes; {count} values of {width} bytes take {expected}"
    )]
    RawSize {
        id: u8,
        stored: u32,
        count: u32,
        width: u8,
        expected: u64,
    },
    #[error(
        "column {id}'s zstd frame declares {declared} bytes; {count} values of {width} bytes take {expected}"
    )]
    ZstdDeclared {
        id: u8,
        declared: u64,
        count: u32,
        width: u8,
        expected: u64,
    },
    #[error("column {id} does not decompress to its {expected} bytes: {message}")]
    Zstd {
        id: u8,
        expected: u64,
        message: String,
    },
    #[error("column {id} decompressed to {got} bytes, expected {expected}")]
    ZstdSize { id: u8, got: u64, expected: u64 },
    #[error("column {id} has unknown encoding {encoding}")]
    Encoding { id: u8, encoding: u8 },
    #[error("column {id} is missing")]
    Missing { id: u8 },
    #[error("the block's statistics (column 31) are malformed: {what}")]
    Stats { what: String },
    #[error("address family column {id} holds {value}")]
    Family { id: u8, value: u64 },
    #[error("address columns {v4}/{v6} hold fewer values than family column {family} uses")]
    AddressShort { family: u8, v4: u8, v6: u8 },
    #[error(
        "address column {family} holds {have4}+{have6} values but the families use {used4}+{used6}"
    )]
    AddressCount {
        family: u8,
        have4: usize,
        have6: usize,
        used4: usize,
        used6: usize,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
