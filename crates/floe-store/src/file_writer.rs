//! Writes one floe file or stream: header, blocks, counters, trailer.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use floe_flow::{ColSet, Flow, FlowBatch, FlowSource};

use crate::codec::BlockEncoder;
use crate::error::{Result, StoreError};
use crate::format::{
    encode_file_header, encode_footer, FrameHeader, FRAME_HEADER_LEN, KIND_BLOCK, KIND_COUNTERS,
    KIND_TRAILER, MAX_BLOCK_RECORDS,
};
use crate::meta::{
    self, BlockIndexEntry, CountersSnapshot, ExporterCounters, ExporterKey, FileHeader, Totals,
    Trailer,
};

/// Default number of flows per block.
pub const DEFAULT_BLOCK_RECORDS: usize = 16_384;
/// Default zstd level for files. Planes are entropy-coded with no match
/// search (`planes.rs`), where the level only tunes the entropy coder:
/// `store-figures` in benches/ measures each level.
pub const DEFAULT_LEVEL: i32 = 1;
/// zstd level for streams between tools, where speed matters more than size.
pub const STREAM_LEVEL: i32 = 1;

/// How a [`FileWriter`] packs blocks.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Flows per block: a block is written when it has this many. A
    /// batch of columns of at least this many flows given at once is
    /// written as one block, with the flows pending if any (see
    /// [`FileWriter::fill_block_from`]): such blocks hold more.
    pub block_records: usize,
    /// zstd compression level.
    pub level: i32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            block_records: DEFAULT_BLOCK_RECORDS,
            level: DEFAULT_LEVEL,
        }
    }
}

/// Writes a floe file or stream to any `Write`.
///
/// Flows are buffered until a block is full (or [`FileWriter::flush_block`]
/// is called) and each block goes out in one `write_all`, preceded by a
/// counters frame when the per-exporter counters changed, so that a file cut
/// short by a crash holds whole blocks and the counters that go with them.
pub struct FileWriter<W: Write> {
    out: W,
    label: PathBuf,
    offset: u64,
    opts: WriteOptions,
    encoder: BlockEncoder,
    /// The flows of the next block, as the columns it is encoded from:
    /// each run is appended as it arrives (rows laid out while they are
    /// still in the cache; floed's columns copied column by column).
    pending: FlowBatch,
    /// Flows pushed one at a time, laid out into `pending` in runs of
    /// [`STAGED`] (a flow at a time, the layout's per-call work was most
    /// of a push).
    staged: Vec<Flow>,
    frame: Vec<u8>,
    index: Vec<BlockIndexEntry>,
    totals: Totals,
    counters: BTreeMap<ExporterKey, ExporterCounters>,
    counters_dirty: bool,
}

impl<W: Write> FileWriter<W> {
    /// Writes the header and returns a writer for the blocks. `label` names
    /// the destination in errors.
    pub fn new(mut out: W, label: &Path, header: &FileHeader, opts: WriteOptions) -> Result<Self> {
        if opts.block_records == 0 || opts.block_records > MAX_BLOCK_RECORDS as usize {
            // A reader refuses larger blocks (see the format's limits).
            return Err(StoreError::Config(format!(
                "block_records {} must be between 1 and {MAX_BLOCK_RECORDS}",
                opts.block_records
            )));
        }
        let head = encode_file_header(header);
        out.write_all(&head).map_err(|e| StoreError::io(label, e))?;
        let encoder = BlockEncoder::new(opts.level).map_err(|e| StoreError::io(label, e))?;
        Ok(FileWriter {
            out,
            label: label.to_path_buf(),
            offset: head.len() as u64,
            pending: empty_batch(),
            staged: Vec::with_capacity(STAGED),
            opts,
            encoder,
            frame: Vec::new(),
            index: Vec::new(),
            totals: Totals::default(),
            counters: BTreeMap::new(),
            counters_dirty: false,
        })
    }

    /// Adds one flow; writes a block when the block is full.
    pub fn push(&mut self, flow: Flow) -> Result<()> {
        self.staged.push(flow);
        if self.staged.len() >= STAGED {
            self.unstage();
        }
        if self.pending() >= self.opts.block_records {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Adds flows; writes blocks as they fill.
    pub fn extend<'a>(&mut self, flows: impl IntoIterator<Item = &'a Flow>) -> Result<()> {
        for f in flows {
            self.push(f.clone())?;
        }
        Ok(())
    }

    /// Adds a slice of flows. Large runs are encoded straight from the
    /// slice as blocks (no copy into the pending buffer, which a reader
    /// piping blocks through would otherwise hold twice); the rest is
    /// buffered as by [`FileWriter::extend`]. Block boundaries may differ
    /// from `extend`'s; the flows and their order do not.
    pub fn extend_from_slice(&mut self, mut flows: &[Flow]) -> Result<()> {
        let half = (self.opts.block_records / 2).max(1);
        while self.pending() == 0 && flows.len() >= half {
            let n = flows.len().min(self.opts.block_records);
            self.write_frame(Some(Direct::Rows(&flows[..n])))?;
            flows = &flows[n..];
        }
        while !flows.is_empty() {
            let (taken, written) = self.fill_block(flows);
            written?;
            flows = &flows[taken..];
        }
        Ok(())
    }

    /// Buffers flows from the front of `flows` until the block is full and
    /// writes it then. Returns how many flows were taken, and whether a
    /// block was written, or the error that writing it gave (its flows are
    /// then still pending, as after a failed [`FileWriter::push`]).
    pub fn fill_block(&mut self, flows: &[Flow]) -> (usize, Result<bool>) {
        self.fill_block_from(flows, 0)
    }

    /// [`FileWriter::fill_block`] from flow `at` of `flows`, rows or
    /// columns (floed's decoder writes columns: they are appended column
    /// by column, never laid out as rows). A batch of columns given whole
    /// (`at` 0) with at least a block's flows is written at once as one
    /// block, with the flows pending if any: see `write_whole_batch`.
    pub fn fill_block_from<S: FlowSource + ?Sized>(
        &mut self,
        flows: &S,
        at: usize,
    ) -> (usize, Result<bool>) {
        if !flows.well_formed() {
            return (
                0,
                Err(StoreError::BadBatch {
                    flows: flows.flow_count(),
                }),
            );
        }
        self.fill_block_checked(flows, at)
    }

    /// [`FileWriter::fill_block_from`] of flows known to be well formed
    /// ([`FlowSource::well_formed`]): [`StoreWriter::write`] checks a
    /// batch once, not once per block it fills.
    ///
    /// [`StoreWriter::write`]: crate::StoreWriter::write
    pub(crate) fn fill_block_checked<S: FlowSource + ?Sized>(
        &mut self,
        flows: &S,
        at: usize,
    ) -> (usize, Result<bool>) {
        self.unstage();
        if let Some(batch) = flows.as_batch().filter(|b| at == 0 && self.whole_block(b)) {
            return self.write_whole_batch(batch);
        }
        let room = self.opts.block_records.saturating_sub(self.pending.len());
        let n = room.min(flows.flow_count().saturating_sub(at));
        flows.append_to(at, at + n, &mut self.pending);
        if self.pending.len() < self.opts.block_records {
            return (n, Ok(false));
        }
        (n, self.flush_block().map(|()| true))
    }

    /// Whether `batch` makes a block of its own, with the flows pending
    /// if any: at least a block's flows, every column there, and the
    /// flows pending and these fewer than a block may hold (when writing
    /// them fails they stay pending, and a flow pushed then joins them).
    fn whole_block(&self, batch: &FlowBatch) -> bool {
        batch.len() >= self.opts.block_records
            && self.pending.len() + batch.len() < MAX_BLOCK_RECORDS as usize
            && batch.require(ColSet::ALL).is_ok()
    }

    /// Writes `batch` as the next block, encoded from its columns as they
    /// are (floed's decoder hands on a block's flows or more at a time
    /// under load, and copying them into the pending block first was a
    /// twentieth of floed's CPU). When flows are pending, the batch joins
    /// them in one larger block instead (a copy, once: the next batch
    /// finds nothing pending), so that no block is cut short. Returns
    /// what [`FileWriter::fill_block_checked`] returns; when writing
    /// fails, the batch's flows are pending, as after a failed
    /// [`FileWriter::push`].
    fn write_whole_batch(&mut self, batch: &FlowBatch) -> (usize, Result<bool>) {
        let n = batch.len();
        if !self.pending.is_empty() {
            batch.append_to(0, n, &mut self.pending);
            return (n, self.flush_block().map(|()| true));
        }
        match self.write_frame(Some(Direct::Batch(batch))) {
            Ok(()) => (n, Ok(true)),
            Err(e) => {
                batch.append_to(0, n, &mut self.pending);
                (n, Err(e))
            }
        }
    }

    /// Writes blocks without their statistics (see
    /// [`BlockEncoder::set_statistics`]).
    pub fn set_statistics(&mut self, on: bool) {
        self.encoder.set_statistics(on);
    }

    /// Adds to the counters of one exporter.
    pub fn add_counters(&mut self, key: ExporterKey, delta: &ExporterCounters) {
        self.counters.entry(key).or_default().add(delta);
        self.counters_dirty = true;
    }

    /// Takes the flows buffered and not yet in a written block (after a
    /// write that failed, to count them rather than hold them forever).
    pub fn take_pending(&mut self) -> Vec<Flow> {
        self.unstage();
        std::mem::replace(&mut self.pending, empty_batch()).to_flows()
    }

    /// Flows buffered and not yet in a written block.
    pub fn pending(&self) -> usize {
        self.pending.len() + self.staged.len()
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// Totals of the flows written in blocks so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Lays the flows pushed one at a time out as columns.
    fn unstage(&mut self) {
        if !self.staged.is_empty() {
            self.pending.extend_from_flows(&self.staged);
            self.staged.clear();
        }
    }

    /// Writes the buffered flows as a block (and the counters if they
    /// changed). Does nothing when there is nothing to write.
    pub fn flush_block(&mut self) -> Result<()> {
        self.write_frame(None)
    }

    /// Appends a block body encoded elsewhere (by a [`BlockEncoder`] on
    /// another thread: writers of streams encode blocks in parallel and
    /// append them in order), after a block of the flows pending, if any,
    /// so that the order of flows is kept. `head` is what the encoder
    /// returned for it.
    pub fn write_encoded(&mut self, body: &[u8], head: &crate::format::BlockHeader) -> Result<()> {
        self.flush_block()?;
        self.frame.clear();
        if self.counters_dirty {
            let snap = CountersSnapshot {
                exporters: self.counters.iter().map(|(k, v)| (*k, v.clone())).collect(),
            };
            append_frame(&mut self.frame, KIND_COUNTERS, &meta::encode(&snap));
        }
        let at = self.frame.len();
        append_frame(&mut self.frame, KIND_BLOCK, body);
        let e = BlockIndexEntry {
            offset: self.offset + at as u64,
            len: (self.frame.len() - at) as u32,
            records: head.records,
            min_start_ms: head.min_start_ms,
            max_end_ms: head.max_end_ms,
        };
        self.out
            .write_all(&self.frame)
            .map_err(|e| StoreError::io(&self.label, e))?;
        self.offset += self.frame.len() as u64;
        self.counters_dirty = false;
        self.totals.add_block(&e, head.packets, head.octets);
        self.index.push(e);
        Ok(())
    }

    /// Writes the counters if they changed and a block of `direct` flows,
    /// or of the pending ones when `direct` is None.
    fn write_frame(&mut self, direct: Option<Direct<'_>>) -> Result<()> {
        self.frame.clear();
        if self.counters_dirty {
            let snap = CountersSnapshot {
                exporters: self.counters.iter().map(|(k, v)| (*k, v.clone())).collect(),
            };
            append_frame(&mut self.frame, KIND_COUNTERS, &meta::encode(&snap));
        }
        let mut entry = None;
        self.unstage();
        let some = match direct {
            None => !self.pending.is_empty(),
            Some(Direct::Rows(f)) => !f.is_empty(),
            Some(Direct::Batch(b)) => !b.is_empty(),
        };
        if some {
            let at = self.frame.len();
            self.frame.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
            let head = match direct {
                Some(Direct::Rows(flows)) => self.encoder.encode(flows, &mut self.frame),
                Some(Direct::Batch(b)) => self.encoder.encode_batch(b, &mut self.frame),
                None => self.encoder.encode_batch(&self.pending, &mut self.frame),
            }
            .map_err(|e| StoreError::io(&self.label, e))?;
            let body = &self.frame[at + FRAME_HEADER_LEN..];
            let fh = FrameHeader {
                kind: KIND_BLOCK,
                flags: 0,
                body_len: body.len() as u32,
                body_crc: crc32c::crc32c(body),
            };
            let len = (self.frame.len() - at) as u32;
            self.frame[at..at + FRAME_HEADER_LEN].copy_from_slice(&fh.encode());
            let e = BlockIndexEntry {
                offset: self.offset + at as u64,
                len,
                records: head.records,
                min_start_ms: head.min_start_ms,
                max_end_ms: head.max_end_ms,
            };
            entry = Some((e, head.packets, head.octets));
        }
        if self.frame.is_empty() {
            return Ok(());
        }
        // On failure (disk full...) the flows stay pending and the counters
        // dirty, so that a retry after the caller truncates the partial
        // frame away loses nothing.
        self.out
            .write_all(&self.frame)
            .map_err(|e| StoreError::io(&self.label, e))?;
        self.offset += self.frame.len() as u64;
        if direct.is_none() {
            self.pending.reset(0, ColSet::ALL);
        }
        self.counters_dirty = false;
        if let Some((e, packets, octets)) = entry {
            self.totals.add_block(&e, packets, octets);
            self.index.push(e);
        }
        Ok(())
    }

    /// Flushes the underlying writer (not a disk sync).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| StoreError::io(&self.label, e))
    }

    /// The underlying writer (to sync a file, say).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Writes the last block, the trailer and the footer, and returns the
    /// writer and the trailer.
    pub fn finish(mut self, closed_ms: i64) -> Result<(W, Trailer)> {
        self.flush_block()?;
        let trailer = Trailer {
            closed_ms,
            recovered: false,
            totals: self.totals,
            exporters: self.counters.iter().map(|(k, v)| (*k, v.clone())).collect(),
            blocks: std::mem::take(&mut self.index),
        };
        let mut tail = Vec::new();
        append_frame(&mut tail, KIND_TRAILER, &meta::encode(&trailer));
        tail.extend_from_slice(&encode_footer(self.offset));
        self.out
            .write_all(&tail)
            .and_then(|_| self.out.flush())
            .map_err(|e| StoreError::io(&self.label, e))?;
        Ok((self.out, trailer))
    }
}

/// Flows pushed one at a time that are laid out as columns together.
const STAGED: usize = 256;

/// Flows a block is encoded from as they are, not from the pending ones.
#[derive(Clone, Copy)]
enum Direct<'a> {
    Rows(&'a [Flow]),
    Batch(&'a FlowBatch),
}

/// A batch of no flows that holds every column.
fn empty_batch() -> FlowBatch {
    let mut b = FlowBatch::new();
    b.reset(0, ColSet::ALL);
    b
}

/// Appends a frame (header and body) to `buf`.
pub(crate) fn append_frame(buf: &mut Vec<u8>, kind: u8, body: &[u8]) {
    let fh = FrameHeader {
        kind,
        flags: 0,
        body_len: body.len() as u32,
        body_crc: crc32c::crc32c(body),
    };
    buf.extend_from_slice(&fh.encode());
    buf.extend_from_slice(body);
}
