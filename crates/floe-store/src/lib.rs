//! The floe store: the file format, the rotating writer, and the reader.
//!
//! * [`FileWriter`] writes one file or stream (header, zstd-compressed
//!   column-wise blocks, counters, trailer); a stream between tools and a
//!   file on disk are the same format.
//! * [`StoreWriter`] files flows by receive time into wall-clock aligned
//!   period files (`DIR/YYYY/YYYY-MM/YYYY-MM-DD/floe.YYYY-MM-DD.HHMMSS+ZZZZ`),
//!   named `tmp-...` while open, closed with a trailer, synced and renamed;
//!   on start it recovers what a crash left behind ([`recover`]).
//! * [`FlowFile`] maps a file and reads blocks by index, skipping blocks
//!   outside a time range without decompressing them; [`StreamReader`] reads
//!   a stream from a pipe; [`Tail`] follows a file as it is written.
//! * Queries read blocks as columns: [`FlowFile::with_block`] hands over
//!   a block's checked body, [`block_stats`] says what is known of its
//!   values without decompressing anything (the statistics column, format
//!   column 31, or an older block's constant columns), and
//!   [`BlockDecoder::decode_batch`] decodes the columns of a
//!   [`Projection`] into a [`floe_flow::FlowBatch`] with no `Flow` per row.
//!   `floe-scan` puts these together (window, filter, threads).
//! * [`tree`] finds files in time order by name; [`expire`](mod@expire) keeps a store
//!   under a size and age limit.
//! * [`zone`] is the time zone periods are aligned in and times are read
//!   and shown in; [`layout`] the periods, file names and directories built
//!   on it; [`host_name`] the host named in headers and reports.
//!
//! The byte-level specification is `schemas/floe-file-format.md`.
//!
//! Performance and size, as measured by `benches/store.rs` on realistic flows
//! (figures in the repository README): the column-wise layout is about a
//! third smaller than row-wise at the same zstd level, and decoding is a
//! fixed-width byte-plane transpose rather than a general deserializer.
//! Writers lay flows out as columns as they arrive and compress each byte
//! plane with zstd's entropy coder alone, through zstd's sequence API
//! (`planes.rs`: the crate's one use of zstd-sys). `unsafe` is used for
//! that (`planes.rs`), for mapping files and advising the kernel about
//! their pages (`reader.rs`, `tail.rs`), and to run the encoder's column
//! loops built for AVX2 where the CPU has it (`column_loops.rs`).
//!
//! Like every floe library, this crate does no I/O policy: it never prints
//! or exits, and returns [`StoreError`]s that name the file and offset.

mod batch;
mod codec;
mod column_loops;
/// The store's error type.
pub mod error;
pub mod expire;
mod file_writer;
pub mod format;
mod host;
pub mod layout;
pub mod meta;
mod planes;
mod reader;
pub mod recover;
mod stats;
mod store_writer;
pub mod tail;
pub mod tree;
pub mod zone;

pub use codec::{BlockDecoder, BlockEncoder, Projection};
pub use error::{BlockError, Result, StoreError};
pub use expire::{expire, expire_keeping, ExpirePolicy, Expired};
pub use file_writer::{
    FileWriter, WriteOptions, DEFAULT_BLOCK_RECORDS, DEFAULT_LEVEL, STREAM_LEVEL,
};
pub use host::host_name;
pub use meta::{
    BlockIndexEntry, CountersSnapshot, ExporterCounters, ExporterKey, FileHeader, Period, Totals,
    Trailer,
};
pub use reader::{FileFlows, FlowFile, StreamEvent, StreamReader};
pub use recover::{recover_file, Recovered};
pub use stats::block_stats;
pub use store_writer::{ClosedFile, StoreConfig, StoreWriter, LOCK_FILE, STATS_FILE};
pub use tail::{Tail, TailEvent};
pub use tree::{select, walk, walk_readable, TreeFile};
pub use zone::Zone;
