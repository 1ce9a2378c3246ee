//! Following a file as it is written: the blocks a writer has appended
//! since a given offset, for readers that ship or export what is stored
//! while the file is still open (floed's ClickHouse shipper).
//!
//! A [`Tail`] keeps the file open, so it follows the file across the
//! writer's rename from `tmp-...` to its closed name; it sees the trailer
//! when the file is closed, and knows then that no block will follow.
//! Blocks are named by the offset of their frame, which is the same
//! whether the file is read by a tail, through its trailer's block index,
//! or after crash recovery (which only cuts the torn tail off a file), so
//! a reader that records "shipped up to offset X" can go on from X in any
//! of these states.
//!
//! Nothing is trusted before it is checked: a frame is taken when its
//! header and body checksums match; a frame not yet whole is
//! [`TailEvent::Pending`] (the writer is in the middle of it, or died
//! there); a damaged frame followed by valid ones is skipped and counted
//! (the writer only appends whole frames, so that is damage on disk).

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Result, StoreError};
use crate::format::{
    BlockHeader, FLAG_SKIPPABLE, FRAME_HEADER_LEN, KIND_BLOCK, KIND_COUNTERS, KIND_TRAILER,
    MAX_BLOCK_RECORDS,
};
use crate::meta::{BlockIndexEntry, FileHeader};
use crate::reader::{frame_at, parse_header, resync};

/// What [`Tail::next_event`] found at the current offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailEvent {
    /// A whole, checked block frame; its body is [`Tail::body`]. The
    /// offset has moved past it.
    Block(BlockIndexEntry),
    /// Nothing whole past the offset yet: come back later.
    Pending,
    /// The trailer: the file is closed and holds nothing more.
    End,
}

/// Reads the blocks of a floe file from an offset on, as they are written.
pub struct Tail {
    path: PathBuf,
    file: File,
    map: Option<Mmap>,
    header: FileHeader,
    header_len: u64,
    offset: u64,
    /// The last block's body: `(start, len)` in the map.
    body: (usize, usize),
    /// Damaged regions skipped so far.
    damaged: u64,
}

impl Tail {
    /// Opens the file and reads its header; the offset is the first frame.
    pub fn open(path: impl AsRef<Path>) -> Result<Tail> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let mut t = Tail {
            path: path.to_path_buf(),
            file,
            map: None,
            header: FileHeader {
                created_ms: 0,
                period: None,
                host: String::new(),
                zone: String::new(),
                writer: String::new(),
            },
            header_len: 0,
            offset: 0,
            body: (0, 0),
            damaged: 0,
        };
        t.remap()?;
        let data = t.map.as_deref().unwrap_or(&[]);
        let (header, _, len) = parse_header(data, path)?;
        t.header = header;
        t.header_len = len as u64;
        t.offset = len as u64;
        Ok(t)
    }

    /// The path the file was opened under (it may have been renamed since).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file header read when the tail was opened.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// Where the frames start.
    pub fn first_frame(&self) -> u64 {
        self.header_len
    }

    /// The offset of the next frame to read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Damaged regions skipped so far.
    pub fn damaged(&self) -> u64 {
        self.damaged
    }

    /// Goes on from `offset`, which must be a frame boundary a reader
    /// found before (the end of a block it read); an offset before the
    /// first frame means the first frame.
    pub fn seek(&mut self, offset: u64) {
        self.offset = offset.max(self.header_len);
    }

    /// The body of the block last returned by [`Tail::next_event`].
    pub fn body(&self) -> &[u8] {
        let (at, len) = self.body;
        self.map
            .as_deref()
            .and_then(|m| m.get(at..at + len))
            .unwrap_or(&[])
    }

    /// Maps the file again if it grew.
    fn remap(&mut self) -> Result<()> {
        let len = self
            .file
            .metadata()
            .map_err(|e| StoreError::io(&self.path, e))?
            .len();
        if self.map.as_ref().is_some_and(|m| m.len() as u64 == len) {
            return Ok(());
        }
        if len == 0 {
            self.map = None;
            return Ok(());
        }
        // SAFETY: the mapping is read-only, and the bytes of a file's whole
        // frames never change: the writer appends whole frames and renames
        // the file when it closes it. The torn tail past the last whole
        // frame can change under the mapping, though: crash recovery (when
        // a writer starts after a dead one) cuts it off and writes a
        // trailer in its place, and a failed write is cut off
        // (`drop_failed_block`) and written again. The tail sees the new
        // length at its next `remap` and maps again; until then a read of
        // those bytes (frames this reader has not yet returned) may see
        // other bytes, zeros in the last page, or SIGBUS past it. A frame
        // is only returned once its length and checksum hold, so changed
        // bytes are never handed out as a block; nothing guards against
        // SIGBUS.
        let m = unsafe { Mmap::map(&self.file) }.map_err(|e| StoreError::io(&self.path, e))?;
        self.map = Some(m);
        Ok(())
    }

    /// The next block at or after the offset (counters and skippable
    /// frames are passed over).
    pub fn next_event(&mut self) -> Result<TailEvent> {
        let mut remapped = false;
        loop {
            let data = self.map.as_deref().unwrap_or(&[]);
            let at = usize::try_from(self.offset).unwrap_or(usize::MAX);
            if at >= data.len() {
                if remapped {
                    return Ok(TailEvent::Pending);
                }
                self.remap()?;
                remapped = true;
                continue;
            }
            match frame_at(data, at, &self.path) {
                Ok((fh, body)) => {
                    let end = at + FRAME_HEADER_LEN + body.len();
                    match fh.kind {
                        KIND_BLOCK => {
                            let h = BlockHeader::decode(body).ok_or_else(|| {
                                StoreError::corrupt(&self.path, at as u64, "block header cut short")
                            })?;
                            if h.records > MAX_BLOCK_RECORDS {
                                return Err(StoreError::corrupt(
                                    &self.path,
                                    at as u64,
                                    format!(
                                        "block claims {} flows; at most {MAX_BLOCK_RECORDS}",
                                        h.records
                                    ),
                                ));
                            }
                            self.body = (at + FRAME_HEADER_LEN, body.len());
                            self.offset = end as u64;
                            return Ok(TailEvent::Block(BlockIndexEntry {
                                offset: at as u64,
                                len: (end - at) as u32,
                                records: h.records,
                                min_start_ms: h.min_start_ms,
                                max_end_ms: h.max_end_ms,
                            }));
                        }
                        KIND_TRAILER => return Ok(TailEvent::End),
                        KIND_COUNTERS => self.offset = end as u64,
                        _ if fh.flags & FLAG_SKIPPABLE != 0 => self.offset = end as u64,
                        other => {
                            return Err(StoreError::corrupt(
                                &self.path,
                                at as u64,
                                format!("frame kind {other:#04x} is not known to this floe"),
                            ))
                        }
                    }
                }
                Err(_) if !remapped => {
                    // Perhaps the writer finished the frame since we mapped.
                    self.remap()?;
                    remapped = true;
                }
                Err(_) => match resync(data, at + 1) {
                    // A whole frame further on: the writer wrote it after
                    // this one, so this one is not being written; read it
                    // once more (it may have been completed in between),
                    // then skip it as damage.
                    Some(next) => {
                        if frame_at(data, at, &self.path).is_err() {
                            self.damaged += 1;
                            self.offset = next as u64;
                        }
                    }
                    None => return Ok(TailEvent::Pending),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileWriter, FlowFile, WriteOptions};
    use floe_flow::Flow;
    use std::io::Write;

    fn flows(n: usize, base: i64) -> Vec<Flow> {
        (0..n)
            .map(|i| Flow {
                start_ms: base + i as i64,
                end_ms: base + i as i64 + 10,
                packets: 1 + i as u64,
                octets: 100,
                ..Flow::default()
            })
            .collect()
    }

    fn header() -> FileHeader {
        FileHeader {
            created_ms: 1,
            period: None,
            host: "h".into(),
            zone: "UTC".into(),
            writer: "test".into(),
        }
    }

    #[test]
    fn follows_a_growing_file_and_its_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tmp-x");
        let file = std::fs::File::create(&path).unwrap();
        let opts = WriteOptions {
            block_records: 10,
            ..WriteOptions::default()
        };
        let mut w = FileWriter::new(file, &path, &header(), opts).unwrap();
        w.flush().unwrap();
        let mut t = Tail::open(&path).unwrap();
        assert_eq!(t.next_event().unwrap(), TailEvent::Pending);
        w.extend(&flows(25, 1000)).unwrap();
        let mut seen = Vec::new();
        while let TailEvent::Block(e) = t.next_event().unwrap() {
            assert_eq!(t.body().len() + FRAME_HEADER_LEN, e.len as usize);
            seen.push(e);
        }
        assert_eq!(seen.len(), 2, "two whole blocks of 10; 5 flows pending");
        let mid = t.offset();
        // A half-written frame is pending, not damage.
        let (mut f, trailer) = w.finish(5).unwrap();
        f.flush().unwrap();
        assert_eq!(trailer.blocks.len(), 3);
        match t.next_event().unwrap() {
            TailEvent::Block(e) => assert_eq!(e, trailer.blocks[2]),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.next_event().unwrap(), TailEvent::End);
        // The offsets are those of the trailer's index.
        assert_eq!(seen, trailer.blocks[..2]);
        let ff = FlowFile::open(&path).unwrap();
        assert_eq!(ff.blocks(), &trailer.blocks[..]);
        // Seeking back to a recorded offset goes on from there.
        let mut t2 = Tail::open(&path).unwrap();
        t2.seek(mid);
        assert!(matches!(t2.next_event().unwrap(), TailEvent::Block(e) if e.offset == mid));
        assert_eq!(t2.damaged(), 0);
    }

    #[test]
    fn a_torn_frame_is_pending_and_damage_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::File::create(&path).unwrap();
        let opts = WriteOptions {
            block_records: 10,
            ..WriteOptions::default()
        };
        let mut w = FileWriter::new(file, &path, &header(), opts).unwrap();
        w.extend_from_slice(&flows(30, 0)).unwrap();
        let (_, trailer) = w.finish(5).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        // Cut inside the second block: the first is read, then pending.
        let cut = trailer.blocks[1].offset as usize + 30;
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let mut t = Tail::open(&path).unwrap();
        assert!(matches!(t.next_event().unwrap(), TailEvent::Block(_)));
        assert_eq!(t.next_event().unwrap(), TailEvent::Pending);
        // Damage in the second block, with whole frames after it: skipped.
        bytes[trailer.blocks[1].offset as usize + 40] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let mut t = Tail::open(&path).unwrap();
        let mut offsets = Vec::new();
        while let TailEvent::Block(e) = t.next_event().unwrap() {
            offsets.push(e.offset);
        }
        assert_eq!(
            offsets,
            [trailer.blocks[0].offset, trailer.blocks[2].offset]
        );
        assert_eq!(t.damaged(), 1);
    }
}
