//! Reads floe files (memory-mapped, random access by block) and streams
//! (sequential, from any `Read`, no seeking).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use floe_flow::Flow;
use memmap2::Mmap;

use crate::codec::BlockDecoder;
use crate::error::{BlockError, Result, StoreError};
use crate::format::{
    decode_footer, BlockHeader, FrameHeader, BLOCK_HEADER_LEN, FLAG_SKIPPABLE, FOOTER_LEN,
    FRAME_HEADER_LEN, HEADER_FIXED, KIND_BLOCK, KIND_COUNTERS, KIND_TRAILER, MAGIC,
    MAX_BLOCK_RECORDS, MAX_FRAME_BODY, MAX_HEADER_META, MAX_READ_VERSION,
};
use crate::meta::{
    self, BlockIndexEntry, CountersSnapshot, ExporterCounters, ExporterKey, FileHeader, Trailer,
};

/// Parses the file header at the start of `b`; returns it, the format
/// version, and the header's length in bytes.
pub(crate) fn parse_header(b: &[u8], path: &Path) -> Result<(FileHeader, u16, usize)> {
    if b.len() < MAGIC.len() || b[..MAGIC.len()] != MAGIC {
        if b.len() < MAGIC.len() && MAGIC.starts_with(b) {
            return Err(StoreError::truncated(
                path,
                0,
                "file ends inside the header",
            ));
        }
        return Err(StoreError::NotFloe { path: path.into() });
    }
    if b.len() < HEADER_FIXED {
        return Err(StoreError::truncated(
            path,
            0,
            "file ends inside the header",
        ));
    }
    let version = u16::from_le_bytes([b[8], b[9]]);
    if version > MAX_READ_VERSION || version == 0 {
        return Err(StoreError::UnsupportedVersion {
            path: path.into(),
            version,
            supported: MAX_READ_VERSION,
        });
    }
    let meta_len = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
    if meta_len > MAX_HEADER_META as usize {
        return Err(StoreError::corrupt(
            path,
            12,
            format!(
                "header metadata claims {meta_len} bytes; a header holds at most {MAX_HEADER_META}"
            ),
        ));
    }
    let end = HEADER_FIXED + meta_len + 4;
    if b.len() < end {
        return Err(StoreError::truncated(
            path,
            b.len() as u64,
            "file ends inside the header",
        ));
    }
    let crc = u32::from_le_bytes([b[end - 4], b[end - 3], b[end - 2], b[end - 1]]);
    if crc32c::crc32c(&b[8..end - 4]) != crc {
        return Err(StoreError::corrupt(path, 0, "header checksum mismatch"));
    }
    let header = meta::decode(&b[HEADER_FIXED..end - 4])
        .map_err(|e| StoreError::corrupt(path, HEADER_FIXED as u64, e))?;
    Ok((header, version, end))
}

/// What a scan of a file's frames found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub blocks: Vec<BlockIndexEntry>,
    pub packets: u64,
    pub octets: u64,
    pub counters: Option<CountersSnapshot>,
    pub trailer: Option<Trailer>,
    /// Offset of the trailer frame, when there is one.
    pub trailer_at: u64,
    /// End of the last valid frame.
    pub valid_end: u64,
    /// Damage met on the way (each skipped region).
    pub damage: Vec<StoreError>,
}

/// Walks the frames of `b` from `start`, skipping damaged regions by
/// searching for the next valid frame header.
pub(crate) fn scan_frames(b: &[u8], start: usize, path: &Path) -> Scan {
    let mut s = Scan {
        valid_end: start as u64,
        ..Scan::default()
    };
    let mut at = start;
    while at < b.len() {
        match frame_at(b, at, path) {
            Ok((fh, body)) => {
                let end = at + FRAME_HEADER_LEN + body.len();
                match fh.kind {
                    KIND_BLOCK => match BlockHeader::decode(body) {
                        Some(h) if h.records > MAX_BLOCK_RECORDS => {
                            s.damage.push(StoreError::block(
                                path,
                                at as u64,
                                BlockError::TooManyFlows {
                                    claimed: h.records,
                                    max: MAX_BLOCK_RECORDS,
                                },
                            ))
                        }
                        Some(h) => {
                            s.blocks.push(BlockIndexEntry {
                                offset: at as u64,
                                len: (end - at) as u32,
                                records: h.records,
                                min_start_ms: h.min_start_ms,
                                max_end_ms: h.max_end_ms,
                            });
                            s.packets = s.packets.saturating_add(h.packets);
                            s.octets = s.octets.saturating_add(h.octets);
                        }
                        None => s.damage.push(StoreError::corrupt(
                            path,
                            at as u64,
                            "block header cut short",
                        )),
                    },
                    KIND_COUNTERS => match meta::decode::<CountersSnapshot>(body) {
                        Ok(c) => s.counters = Some(c),
                        Err(e) => s.damage.push(StoreError::corrupt(path, at as u64, e)),
                    },
                    KIND_TRAILER => match meta::decode::<Trailer>(body) {
                        Ok(t) => {
                            s.trailer = Some(t);
                            s.trailer_at = at as u64;
                            s.valid_end = end as u64;
                            // Whatever follows a trailer is the footer.
                            break;
                        }
                        Err(e) => s.damage.push(StoreError::corrupt(path, at as u64, e)),
                    },
                    _ if fh.flags & FLAG_SKIPPABLE != 0 => {}
                    other => s.damage.push(StoreError::corrupt(
                        path,
                        at as u64,
                        format!("frame kind {other:#04x} is not known to this floe"),
                    )),
                }
                s.valid_end = end as u64;
                at = end;
            }
            Err(e) => {
                s.damage.push(e);
                match resync(b, at + 1) {
                    Some(next) => at = next,
                    None => break,
                }
            }
        }
    }
    s
}

/// `len` bytes of `b` from `at`, if it holds them (no overflow whatever
/// the numbers, which may come from the file).
fn bytes_at(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..)?.get(..len)
}

/// The frame at `at`: its header and body, checked.
pub(crate) fn frame_at<'a>(b: &'a [u8], at: usize, path: &Path) -> Result<(FrameHeader, &'a [u8])> {
    let Some(hb) = bytes_at(b, at, FRAME_HEADER_LEN) else {
        return Err(StoreError::truncated(
            path,
            at as u64,
            "file ends inside a frame header",
        ));
    };
    let fh = FrameHeader::decode(hb)
        .ok_or_else(|| StoreError::corrupt(path, at as u64, "frame header checksum mismatch"))?;
    if fh.body_len > MAX_FRAME_BODY {
        return Err(StoreError::corrupt(
            path,
            at as u64,
            "frame length is absurd",
        ));
    }
    let body_at = at + FRAME_HEADER_LEN;
    let Some(body) = bytes_at(b, body_at, fh.body_len as usize) else {
        return Err(StoreError::truncated(
            path,
            at as u64,
            format!("file ends inside a frame of {} bytes", fh.body_len),
        ));
    };
    if crc32c::crc32c(body) != fh.body_crc {
        return Err(StoreError::corrupt(
            path,
            at as u64,
            "frame checksum mismatch",
        ));
    }
    Ok((fh, body))
}

/// The offset of the next whole, valid frame at or after `from`.
pub(crate) fn resync(b: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + FRAME_HEADER_LEN <= b.len() {
        if let Some(fh) = FrameHeader::decode(&b[at..]) {
            let body_at = at + FRAME_HEADER_LEN;
            if let Some(body) = bytes_at(b, body_at, fh.body_len as usize) {
                if crc32c::crc32c(body) == fh.body_crc {
                    return Some(at);
                }
            }
        }
        at += 1;
    }
    None
}

/// A floe file opened for reading, memory-mapped.
///
/// A closed file is indexed from its trailer without touching its blocks; a
/// file without a valid trailer (`tmp-` files still being written, files cut
/// short by a crash) is indexed by scanning its frames, and is readable up to
/// its last whole block.
pub struct FlowFile {
    path: PathBuf,
    data: Mmap,
    header: FileHeader,
    version: u16,
    trailer: Option<Trailer>,
    blocks: Vec<BlockIndexEntry>,
    counters: Vec<(ExporterKey, ExporterCounters)>,
    damage: Vec<StoreError>,
}

impl FlowFile {
    /// Opens and indexes a floe file: from its trailer when it is closed, by
    /// scanning its frames otherwise. Damage found by the scan is kept in
    /// [`FlowFile::damage`]; only a file that cannot be read at all (missing, not
    /// floe, a newer format) is an error.
    ///
    /// ```
    /// use floe_flow::Flow;
    /// use floe_store::{FlowFile, StoreConfig, StoreWriter};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let now_ms = 1_764_000_000_000; // 2025-11-24 16:00 UTC
    ///
    /// // A store files flows by receive time into ten-minute files.
    /// let (mut store, _recovered) = StoreWriter::open(StoreConfig::new(dir.path()), now_ms)?;
    /// let flow = Flow {
    ///     start_ms: now_ms - 2_000,
    ///     end_ms: now_ms - 1_000,
    ///     packets: 3,
    ///     octets: 180,
    ///     ..Flow::default()
    /// };
    /// store.write(now_ms, &[flow.clone()])?;
    /// let closed = store.close(now_ms)?.expect("the open file is closed");
    ///
    /// // Reading the file back.
    /// let file = FlowFile::open(&closed.path)?;
    /// assert!(file.is_closed());
    /// assert_eq!(file.read_all()?, vec![flow]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<FlowFile> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        // SAFETY: the mapping is read-only, and the bytes of a file's whole
        // frames never change: a writer only appends whole frames to its
        // `tmp-` file and renames it when closed, and a concurrent append
        // only adds bytes past the length mapped here. The torn tail of a
        // `tmp-` file (the bytes past its last whole frame) can change
        // under the mapping, though: crash recovery (when a writer starts
        // on a directory a dead writer left) cuts it off and writes a
        // trailer in its place, and a failed write is cut off
        // (`drop_failed_block`) and written again. A reader that mapped
        // such a tail and touches it afterwards may see other bytes, zeros
        // in the last page, or SIGBUS past it. Nothing here guards against
        // that; what limits it is that a torn tail is at most one write's
        // frames and is touched only here, in `open` (the footer check and
        // the frame scan), right after mapping: the blocks read later are
        // whole frames, which never change.
        let data = unsafe { Mmap::map(&file) }.map_err(|e| StoreError::io(path, e))?;
        #[cfg(unix)]
        {
            let _ = data.advise(memmap2::Advice::Sequential);
        }
        let (header, version, header_len) = parse_header(&data, path)?;
        let mut f = FlowFile {
            path: path.to_path_buf(),
            header,
            version,
            trailer: None,
            blocks: Vec::new(),
            counters: Vec::new(),
            damage: Vec::new(),
            data,
        };
        if let Some(t) = f.trailer_from_footer(header_len) {
            f.blocks = t.blocks.clone();
            f.counters = t.exporters.clone();
            f.trailer = Some(t);
        } else {
            let scan = scan_frames(&f.data, header_len, path);
            f.blocks = scan.blocks;
            f.counters = scan
                .trailer
                .as_ref()
                .map(|t| t.exporters.clone())
                .or(scan.counters.map(|c| c.exporters))
                .unwrap_or_default();
            f.trailer = scan.trailer;
            f.damage = scan.damage;
        }
        Ok(f)
    }

    fn trailer_from_footer(&self, header_len: usize) -> Option<Trailer> {
        let b = &self.data[..];
        if b.len() < header_len + FOOTER_LEN {
            return None;
        }
        let off = usize::try_from(decode_footer(&b[b.len() - FOOTER_LEN..])?).ok()?;
        let (fh, body) = frame_at(b, off, &self.path).ok()?;
        if fh.kind != KIND_TRAILER || off + FRAME_HEADER_LEN + body.len() + FOOTER_LEN != b.len() {
            return None;
        }
        let t: Trailer = meta::decode(body).ok()?;
        // The index is only believed when every entry is a block frame's
        // place between the header and the trailer, of a size a block can
        // have; otherwise the file is scanned.
        let min_len = (FRAME_HEADER_LEN + BLOCK_HEADER_LEN) as u32;
        let sane = t.blocks.iter().all(|e| {
            e.offset >= header_len as u64
                && e.len >= min_len
                && e.records <= MAX_BLOCK_RECORDS
                && e.offset.saturating_add(u64::from(e.len)) <= off as u64
        });
        sane.then_some(t)
    }

    /// The path the file was opened under.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file header: creation time, period, host, zone, writer.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The format version the file was written in.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The trailer, for a closed file.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }

    /// True when the file has a valid trailer (it was closed properly).
    pub fn is_closed(&self) -> bool {
        self.trailer.is_some()
    }

    /// The block index (from the trailer, or from a scan).
    pub fn blocks(&self) -> &[BlockIndexEntry] {
        &self.blocks
    }

    /// Per-exporter counters (from the trailer, or the last counters frame).
    pub fn counters(&self) -> &[(ExporterKey, ExporterCounters)] {
        &self.counters
    }

    /// Damage found while scanning a file without a valid trailer: each
    /// names the offset of a region that was skipped.
    pub fn damage(&self) -> &[StoreError] {
        &self.damage
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// True when the file holds no whole block.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Number of flows in the file's blocks.
    pub fn flows(&self) -> u64 {
        self.blocks.iter().map(|b| u64::from(b.records)).sum()
    }

    /// Indexes of the blocks that may hold flows overlapping `[from_ms, to_ms)`.
    pub fn blocks_overlapping(&self, from_ms: i64, to_ms: i64) -> impl Iterator<Item = usize> + '_ {
        self.blocks
            .iter()
            .enumerate()
            .filter(move |(_, b)| b.overlaps(from_ms, to_ms))
            .map(|(i, _)| i)
    }

    /// The checked, still compressed body of block `i`.
    pub fn block_body(&self, i: usize) -> Result<&[u8]> {
        let e = self
            .blocks
            .get(i)
            .ok_or_else(|| StoreError::corrupt(&self.path, 0, format!("no block {i}")))?;
        let at = usize::try_from(e.offset).unwrap_or(usize::MAX);
        let (fh, body) = frame_at(&self.data, at, &self.path)?;
        if fh.kind != KIND_BLOCK || body.len() < BLOCK_HEADER_LEN {
            return Err(StoreError::corrupt(
                &self.path,
                e.offset,
                "index points at something that is not a block",
            ));
        }
        Ok(body)
    }

    /// Hands the checked, still compressed body of block `i` to `f` (to
    /// read its statistics with [`crate::block_stats`] and decode it with
    /// [`BlockDecoder::decode_batch`], say), then releases the block's
    /// pages (see `release`).
    pub fn with_block<T>(&self, i: usize, f: impl FnOnce(&[u8]) -> T) -> Result<T> {
        let body = self.block_body(i)?;
        let e = self.blocks[i];
        let r = f(body);
        self.release(e.offset as usize, e.len as usize);
        Ok(r)
    }

    /// An error found in block `i`'s body, as a [`StoreError`] that names
    /// the file and the block's offset.
    pub fn block_error(&self, i: usize, err: BlockError) -> StoreError {
        let offset = self.blocks.get(i).map_or(0, |e| e.offset);
        StoreError::block(&self.path, offset, err)
    }

    /// Decodes block `i`, appending its flows to `out`, then releases the
    /// block's pages (see `release`).
    pub fn read_block(
        &self,
        i: usize,
        decoder: &mut BlockDecoder,
        out: &mut Vec<Flow>,
    ) -> Result<()> {
        let body = self.block_body(i)?;
        let e = self.blocks[i];
        let result = decoder
            .decode(body, out)
            .map(|_| ())
            .map_err(|err| StoreError::block(&self.path, e.offset, err));
        self.release(e.offset as usize, e.len as usize);
        result
    }

    /// Decodes block `i` `chunk` flows at a time into `buf`, handing each
    /// chunk to `each` (false stops); see [`BlockDecoder::decode_chunked`].
    pub fn read_block_chunked(
        &self,
        i: usize,
        decoder: &mut BlockDecoder,
        buf: &mut Vec<Flow>,
        chunk: usize,
        each: impl FnMut(&mut Vec<Flow>) -> bool,
    ) -> Result<()> {
        let body = self.block_body(i)?;
        let e = self.blocks[i];
        let result = decoder
            .decode_chunked(body, buf, chunk, each)
            .map(|_| ())
            .map_err(|err| StoreError::block(&self.path, e.offset, err));
        self.release(e.offset as usize, e.len as usize);
        result
    }

    /// Drops the resident copy of the pages of `[offset, offset+len)`, so
    /// that scanning a large file keeps only a block or two resident. The
    /// first page, shared with the block before, goes too (a reader has
    /// passed it; rounding it up instead left two pages per block
    /// resident); the last, shared with the next block,
    /// stays for that block's read to drop.
    fn release(&self, offset: usize, len: usize) {
        const PAGE: usize = 4096;
        let start = offset / PAGE * PAGE;
        let end = (offset + len).min(self.data.len()) / PAGE * PAGE;
        if end > start {
            // SAFETY: the mapping is read-only, file-backed and never
            // written, so MADV_DONTNEED only discards our resident copy of
            // these pages; any later access (another thread reading the same
            // block, a slice from block_body still alive) faults them back in
            // from the page cache with the same bytes. An error (a page size
            // other than 4 KiB) only means the pages stay resident.
            let _ = unsafe {
                self.data.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
        }
    }

    /// Iterates over the flows overlapping `[from_ms, to_ms)` (use
    /// `i64::MIN, i64::MAX` for all), decoding one block at a time and
    /// skipping blocks outside the window without decompressing them. A
    /// damaged block yields one `Err` and the iteration goes on with the
    /// next block.
    pub fn iter_flows(&self, from_ms: i64, to_ms: i64) -> Result<FileFlows<'_>> {
        Ok(FileFlows {
            file: self,
            decoder: BlockDecoder::new().map_err(|e| StoreError::io(&self.path, e))?,
            buf: Vec::new(),
            pos: 0,
            next_block: 0,
            window: (from_ms, to_ms),
        })
    }

    /// Reads every flow of the file (stopping at the first damaged block).
    pub fn read_all(&self) -> Result<Vec<Flow>> {
        let mut dec = BlockDecoder::new().map_err(|e| StoreError::io(&self.path, e))?;
        // Not sized from the index: its counts are the file's word.
        let mut out = Vec::new();
        for i in 0..self.blocks.len() {
            self.read_block(i, &mut dec, &mut out)?;
        }
        Ok(out)
    }
}

/// Iterator over a file's flows; see [`FlowFile::iter_flows`].
pub struct FileFlows<'a> {
    file: &'a FlowFile,
    decoder: BlockDecoder,
    buf: Vec<Flow>,
    pos: usize,
    next_block: usize,
    window: (i64, i64),
}

impl Iterator for FileFlows<'_> {
    type Item = Result<Flow>;

    fn next(&mut self) -> Option<Self::Item> {
        let (from, to) = self.window;
        loop {
            while self.pos < self.buf.len() {
                let f = &self.buf[self.pos];
                self.pos += 1;
                if f.overlaps(from, to) {
                    return Some(Ok(f.clone()));
                }
            }
            let blocks = self.file.blocks();
            let i = (self.next_block..blocks.len()).find(|&i| blocks[i].overlaps(from, to))?;
            self.next_block = i + 1;
            self.buf.clear();
            self.pos = 0;
            if let Err(e) = self.file.read_block(i, &mut self.decoder, &mut self.buf) {
                return Some(Err(e));
            }
        }
    }
}

/// What a stream reader hands back, in stream order.
#[derive(Debug)]
pub enum StreamEvent {
    /// A block was decoded into the caller's buffer.
    Block(BlockHeader),
    /// A block was skipped (outside the time window) without decompressing.
    Skipped(BlockHeader),
    /// A counters frame (cumulative per-exporter counters of its file).
    Counters(CountersSnapshot),
    /// The trailer of one file in the stream (streams may be concatenated).
    Trailer(Box<Trailer>),
}

/// Reads a floe stream (or file) sequentially from any `Read`, without
/// seeking: what a tool reads from a pipe. Several streams written back to
/// back (`cat a b | ...`) read as one.
pub struct StreamReader<R: Read> {
    r: R,
    label: PathBuf,
    offset: u64,
    header: FileHeader,
    body: Vec<u8>,
    decoder: BlockDecoder,
    window: Option<(i64, i64)>,
    done: bool,
}

impl<R: Read> StreamReader<R> {
    /// Reads the header. `label` names the stream in errors (a path, or
    /// `<stdin>`).
    pub fn new(mut r: R, label: impl Into<PathBuf>) -> Result<Self> {
        let label = label.into();
        let header = read_stream_header(&mut r, &label, 0)?
            .ok_or_else(|| StoreError::truncated(&label, 0, "stream is empty"))?;
        Ok(StreamReader {
            r,
            offset: header.1,
            header: header.0,
            label,
            body: Vec::new(),
            decoder: BlockDecoder::new().map_err(|e| StoreError::io("<zstd>", e))?,
            window: None,
            done: false,
        })
    }

    /// Only decode blocks that may hold flows overlapping `[from_ms, to_ms)`;
    /// others are reported as [`StreamEvent::Skipped`].
    pub fn set_window(&mut self, from_ms: i64, to_ms: i64) {
        self.window = Some((from_ms, to_ms));
    }

    /// The header of the stream's first file.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The next event, decoding block flows into `out` (appended). `None`
    /// at the clean end of the stream.
    pub fn next_event(&mut self, out: &mut Vec<Flow>) -> Result<Option<StreamEvent>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let at = self.offset;
            let mut hb = [0u8; FRAME_HEADER_LEN];
            match read_full(&mut self.r, &mut hb).map_err(|e| StoreError::io(&self.label, e))? {
                0 => {
                    return Err(StoreError::truncated(
                        &self.label,
                        at,
                        "stream ends before its trailer",
                    ))
                }
                n if n < FRAME_HEADER_LEN => {
                    return Err(StoreError::truncated(
                        &self.label,
                        at,
                        "stream ends inside a frame header",
                    ))
                }
                _ => {}
            }
            let fh = FrameHeader::decode(&hb).ok_or_else(|| {
                StoreError::corrupt(&self.label, at, "frame header checksum mismatch")
            })?;
            if fh.body_len > MAX_FRAME_BODY {
                return Err(StoreError::corrupt(
                    &self.label,
                    at,
                    "frame length is absurd",
                ));
            }
            let whole = read_body(&mut self.r, fh.body_len as usize, &mut self.body)
                .map_err(|e| StoreError::io(&self.label, e))?;
            if !whole {
                return Err(StoreError::truncated(
                    &self.label,
                    at,
                    format!(
                        "stream ends inside a frame of {} bytes (after {})",
                        fh.body_len,
                        self.body.len()
                    ),
                ));
            }
            self.offset += (FRAME_HEADER_LEN + self.body.len()) as u64;
            if crc32c::crc32c(&self.body) != fh.body_crc {
                return Err(StoreError::corrupt(
                    &self.label,
                    at,
                    "frame checksum mismatch",
                ));
            }
            match fh.kind {
                KIND_BLOCK => {
                    let h = BlockHeader::decode(&self.body).ok_or_else(|| {
                        StoreError::corrupt(&self.label, at, "block header cut short")
                    })?;
                    if let Some((from, to)) = self.window {
                        let e = BlockIndexEntry {
                            offset: at,
                            len: 0,
                            records: h.records,
                            min_start_ms: h.min_start_ms,
                            max_end_ms: h.max_end_ms,
                        };
                        if !e.overlaps(from, to) {
                            return Ok(Some(StreamEvent::Skipped(h)));
                        }
                    }
                    self.decoder
                        .decode(&self.body, out)
                        .map_err(|e| StoreError::block(&self.label, at, e))?;
                    return Ok(Some(StreamEvent::Block(h)));
                }
                KIND_COUNTERS => {
                    let c = meta::decode(&self.body)
                        .map_err(|e| StoreError::corrupt(&self.label, at, e))?;
                    return Ok(Some(StreamEvent::Counters(c)));
                }
                KIND_TRAILER => {
                    let t: Trailer = meta::decode(&self.body)
                        .map_err(|e| StoreError::corrupt(&self.label, at, e))?;
                    let mut foot = [0u8; FOOTER_LEN];
                    let got = read_full(&mut self.r, &mut foot)
                        .map_err(|e| StoreError::io(&self.label, e))?;
                    if got < FOOTER_LEN || decode_footer(&foot).is_none() {
                        return Err(StoreError::corrupt(
                            &self.label,
                            self.offset,
                            "bad footer after trailer",
                        ));
                    }
                    self.offset += FOOTER_LEN as u64;
                    // Another stream may follow (concatenated streams).
                    match read_stream_header(&mut self.r, &self.label, self.offset)? {
                        Some((_, len)) => self.offset += len,
                        None => self.done = true,
                    }
                    return Ok(Some(StreamEvent::Trailer(Box::new(t))));
                }
                _ if fh.flags & FLAG_SKIPPABLE != 0 => continue,
                other => {
                    return Err(StoreError::corrupt(
                        &self.label,
                        at,
                        format!("frame kind {other:#04x} is not known to this floe"),
                    ))
                }
            }
        }
    }

    /// Appends the flows of the next decoded block to `out`; `false` at the
    /// end of the stream. Counters, trailers and skipped blocks are passed
    /// over.
    pub fn next_block(&mut self, out: &mut Vec<Flow>) -> Result<bool> {
        while let Some(ev) = self.next_event(out)? {
            if let StreamEvent::Block(_) = ev {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Reads a header from a stream; `None` at a clean end of input.
fn read_stream_header<R: Read>(
    r: &mut R,
    label: &Path,
    at: u64,
) -> Result<Option<(FileHeader, u64)>> {
    let mut fixed = [0u8; HEADER_FIXED];
    let got = read_full(r, &mut fixed).map_err(|e| StoreError::io(label, e))?;
    if got == 0 {
        return Ok(None);
    }
    let fail_at = |e: StoreError| match e {
        StoreError::Corrupt { path, offset, what } => StoreError::Corrupt {
            path,
            offset: offset + at,
            what,
        },
        StoreError::Truncated { path, offset, what } => StoreError::Truncated {
            path,
            offset: offset + at,
            what,
        },
        other => other,
    };
    if got < HEADER_FIXED {
        return parse_header(&fixed[..got], label)
            .map(|_| None)
            .map_err(fail_at);
    }
    let meta_len = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]) as usize;
    // (A longer header is refused by parse_header below, before anything
    // is allocated for it.)
    if fixed[..8] == MAGIC && meta_len <= MAX_HEADER_META as usize {
        let mut all = fixed.to_vec();
        all.resize(HEADER_FIXED + meta_len + 4, 0);
        let got = read_full(r, &mut all[HEADER_FIXED..]).map_err(|e| StoreError::io(label, e))?;
        all.truncate(HEADER_FIXED + got);
        let (h, _, len) = parse_header(&all, label).map_err(fail_at)?;
        return Ok(Some((h, len as u64)));
    }
    parse_header(&fixed, label).map(|_| None).map_err(fail_at)
}

/// Reads a frame body of `len` bytes into `buf` (resized to what was
/// read); false when the input ends first. The buffer grows with what
/// arrives, never ahead of it by more than the bytes already read (or
/// 1 MiB), so a frame header that claims a large body on a short input
/// costs no large allocation.
fn read_body<R: Read>(r: &mut R, len: usize, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    const FIRST: usize = 1 << 20;
    let mut filled = 0;
    while filled < len {
        let want = len.min(filled.saturating_mul(2).max(FIRST));
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let got = read_full(r, &mut buf[filled..want])?;
        filled += got;
        if filled < want {
            buf.truncate(filled);
            return Ok(false);
        }
    }
    buf.truncate(len);
    Ok(true)
}

/// Reads until `buf` is full or input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
