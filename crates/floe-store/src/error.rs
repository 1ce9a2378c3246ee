use std::path::PathBuf;

use crate::format::BLOCK_HEADER_LEN;

/// Everything that can go wrong reading or writing floe files.
///
/// Every variant that concerns file content names the file (or stream) and,
/// where it makes sense, the byte offset, so that a tool can print a message
/// that says exactly what and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The error the system call returned.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the floe magic.
    #[error("{path}: not a floe file (bad magic at offset 0)")]
    NotFloe {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer floe, in a format version this one cannot read.
    #[error(
        "{path}: format version {version} is newer than this floe reads (up to {supported}); upgrade floe to read it"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file's header.
        version: u16,
        /// The newest version this floe reads.
        supported: u16,
    },
    /// Bytes that cannot be what the format says is there (a bad checksum, a bad length).
    #[error("{path}: corrupt at byte offset {offset}: {what}")]
    Corrupt {
        /// The file or stream.
        path: PathBuf,
        /// Byte offset of the damaged part.
        offset: u64,
        /// What was expected there.
        what: String,
    },
    /// The file or stream ends inside a header or frame.
    #[error("{path}: truncated at byte offset {offset}: {what}")]
    Truncated {
        /// The file or stream.
        path: PathBuf,
        /// Byte offset of the part cut short.
        offset: u64,
        /// What was being read.
        what: String,
    },
    /// A block whose frame checksum held but whose content does not add up
    /// (a hostile or buggy writer): `offset` is the block frame's.
    #[error("{path}: corrupt block at byte offset {offset}: {source}")]
    Block {
        /// The file or stream.
        path: PathBuf,
        /// Byte offset of the block's frame.
        offset: u64,
        /// Which check of the block body failed.
        #[source]
        source: BlockError,
    },
    /// Another writer holds the lock file of the store directory.
    #[error("{path}: another floe writer holds this directory (lock file {lock})")]
    Locked {
        /// The store directory.
        path: PathBuf,
        /// The lock file held.
        lock: PathBuf,
    },
    /// A store configuration that cannot work (a period that does not divide a day,
    /// a nesting out of range...).
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// Flows handed to the writer as columns whose lengths disagree (a bug
    /// in the caller): refused whole, nothing of them written.
    #[error("a batch of {flows} flows whose columns disagree in length: refused, not written")]
    BadBatch {
        /// The flows the batch says it holds.
        flows: usize,
    },
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
    /// The body is shorter than a block header.
    #[error("block header is cut short ({len} bytes of {BLOCK_HEADER_LEN})")]
    HeaderCutShort {
        /// Bytes in the body.
        len: usize,
    },
    /// The header claims more flows than a block may hold.
    #[error("block claims {claimed} flows; a block holds at most {max}")]
    TooManyFlows {
        /// The flow count in the header.
        claimed: u32,
        /// The format's limit.
        max: u32,
    },
    /// The header claims more column chunks than the body has room for.
    #[error("block claims {claimed} columns; its {body} bytes hold at most {fit}")]
    TooManyColumns {
        /// The column count in the header.
        claimed: u16,
        /// Bytes in the body.
        body: usize,
        /// How many chunk headers those bytes can hold.
        fit: usize,
    },
    /// A column chunk's header runs past the end of the body.
    #[error("column header at body offset {at} is cut short")]
    ChunkHeaderCutShort {
        /// Body offset of the chunk header.
        at: usize,
    },
    /// A column chunk claims more bytes than the body has left.
    #[error(
        "column {id} claims {stored} stored bytes at body offset {at}; the block has {left} left"
    )]
    ChunkCutShort {
        /// The column.
        id: u8,
        /// Body offset of the chunk.
        at: usize,
        /// Bytes the chunk claims.
        stored: u32,
        /// Bytes left in the body.
        left: usize,
    },
    /// Two chunks for the same column.
    #[error("column {id} appears twice")]
    DuplicateColumn {
        /// The column.
        id: u8,
    },
    /// A value width the column cannot have.
    #[error("column {id} has width {width}; its values are 1 to {max} bytes")]
    Width {
        /// The column.
        id: u8,
        /// The width in the chunk header.
        width: u8,
        /// The column's largest width.
        max: usize,
    },
    /// A column with more values than the block has flows.
    #[error("column {id} claims {count} values in a block of {records} flows")]
    Count {
        /// The column.
        id: u8,
        /// Values the chunk claims.
        count: u32,
        /// Flows in the block.
        records: u32,
    },
    /// A constant column whose stored size is not one value's width.
    #[error("constant column {id} stores {stored} bytes for one value of {width}")]
    ConstantSize {
        /// The column.
        id: u8,
        /// Bytes stored.
        stored: u32,
        /// The value width.
        width: u8,
    },
    /// An uncompressed column whose size is not count times width.
    #[error(
        "raw column {id} stores {stored} bytes; {count} values of {width} bytes take {expected}"
    )]
    RawSize {
        /// The column.
        id: u8,
        /// Bytes stored.
        stored: u32,
        /// Values in the column.
        count: u32,
        /// The value width.
        width: u8,
        /// `count * width`.
        expected: u64,
    },
    /// A zstd column whose frame declares a decompressed size other than count
    /// times width (checked before decompressing).
    #[error(
        "column {id}'s zstd frame declares {declared} bytes; {count} values of {width} bytes take {expected}"
    )]
    ZstdDeclared {
        /// The column.
        id: u8,
        /// The size the zstd frame declares.
        declared: u64,
        /// Values in the column.
        count: u32,
        /// The value width.
        width: u8,
        /// `count * width`.
        expected: u64,
    },
    /// zstd failed to decompress a column.
    #[error("column {id} does not decompress to its {expected} bytes: {message}")]
    Zstd {
        /// The column.
        id: u8,
        /// The size it should decompress to.
        expected: u64,
        /// zstd's error.
        message: String,
    },
    /// A column decompressed to a size other than the one expected.
    #[error("column {id} decompressed to {got} bytes, expected {expected}")]
    ZstdSize {
        /// The column.
        id: u8,
        /// Bytes produced.
        got: u64,
        /// Bytes expected.
        expected: u64,
    },
    /// A column encoding this floe does not know.
    #[error("column {id} has unknown encoding {encoding}")]
    Encoding {
        /// The column.
        id: u8,
        /// The encoding byte.
        encoding: u8,
    },
    /// A column the block needs is absent.
    #[error("column {id} is missing")]
    Missing {
        /// The column.
        id: u8,
    },
    /// The statistics chunk cannot be parsed.
    #[error("the block's statistics (column 31) are malformed: {what}")]
    Stats {
        /// What is wrong with it.
        what: String,
    },
    /// An address family column holds a value other than IPv4 or IPv6.
    #[error("address family column {id} holds {value}")]
    Family {
        /// The family column.
        id: u8,
        /// The value found.
        value: u64,
    },
    /// An address column holds fewer values than its family column refers to.
    #[error("address columns {v4}/{v6} hold fewer values than family column {family} uses")]
    AddressShort {
        /// The family column.
        family: u8,
        /// The IPv4 value column.
        v4: u8,
        /// The IPv6 value column.
        v6: u8,
    },
    /// The address columns hold a different number of values than the family column uses.
    #[error(
        "address column {family} holds {have4}+{have6} values but the families use {used4}+{used6}"
    )]
    AddressCount {
        /// The family column.
        family: u8,
        /// IPv4 values stored.
        have4: usize,
        /// IPv6 values stored.
        have6: usize,
        /// IPv4 values the family column uses.
        used4: usize,
        /// IPv6 values the family column uses.
        used6: usize,
    },
}

/// The store's result type: [`StoreError`] unless said otherwise.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
