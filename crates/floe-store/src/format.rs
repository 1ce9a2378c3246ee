//! Byte-level constants and the fixed-size structures of the file format.
//!
//! `schemas/floe-file-format.md` is the specification; this module is its
//! executable form and the two must agree.

/// First 8 bytes of every floe file and stream. The high-bit first byte and
/// the CR LF / SUB bytes catch 7-bit and newline-translating transfers, as
/// PNG's signature does.
pub const MAGIC: [u8; 8] = [0x89, b'F', b'L', b'O', b'E', b'\r', b'\n', 0x1a];

/// The format version this code writes.
pub const FORMAT_VERSION: u16 = 1;
/// The newest format version this code reads.
pub const MAX_READ_VERSION: u16 = 1;

/// Size of the fixed part of the file header: magic, version, flags, meta length.
pub const HEADER_FIXED: usize = 8 + 2 + 2 + 4;

/// Last 8 bytes of a closed file.
pub const FOOTER_MAGIC: [u8; 8] = *b"FLOETAIL";
/// Footer: trailer frame offset (u64), CRC32C of those 8 bytes (u32),
/// reserved (u32, zero), [`FOOTER_MAGIC`].
pub const FOOTER_LEN: usize = 24;

/// Size of every frame header.
pub const FRAME_HEADER_LEN: usize = 16;

/// A block frame: a block of flows, column by column.
pub const KIND_BLOCK: u8 = b'B';
/// A counters frame: the per-exporter counters so far, written before a
/// block when they changed since the last one.
pub const KIND_COUNTERS: u8 = b'C';
/// The trailer frame of a closed file: totals, counters and the block index.
pub const KIND_TRAILER: u8 = b'T';

/// Frame flag: a reader that does not know this frame's kind may skip it.
pub const FLAG_SKIPPABLE: u8 = 0x01;

/// Largest frame body accepted (guards allocations against corrupt lengths).
pub const MAX_FRAME_BODY: u32 = 256 << 20;

/// Largest header metadata (`M` in the file header) accepted. A header
/// holds a time, a period and three short strings (host, zone, writer):
/// a few hundred bytes.
pub const MAX_HEADER_META: u32 = 1 << 20;

/// Largest counters or trailer metadata decoded (a trailer's block index
/// is 32 bytes a block: two million blocks).
pub const MAX_META: usize = 64 << 20;

/// Most flows one block holds. Writers never write more (the store
/// writer's `block_records` is at most this); readers refuse a block that
/// claims more before decoding anything, since a constant column stores N
/// values in a few bytes and the decoded block is N flows in memory.
pub const MAX_BLOCK_RECORDS: u32 = 1 << 20;

/// Widest column value, in bytes (IPv6 addresses).
pub const MAX_WIDTH: usize = 16;

/// Most column chunks in one block: a column id is a byte and appears at
/// most once.
pub const MAX_COLUMNS: usize = 256;

/// Fixed part of a block body, before its column chunks.
pub const BLOCK_HEADER_LEN: usize = 40;
/// Header of one column chunk inside a block body.
pub const CHUNK_HEADER_LEN: usize = 12;

/// A frame header as it sits in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// One of the `KIND_*` constants.
    pub kind: u8,
    /// Reserved flag bits, written as 0.
    pub flags: u8,
    /// Length of the body that follows the header.
    pub body_len: u32,
    /// CRC-32C of the body.
    pub body_crc: u32,
}

impl FrameHeader {
    /// The header's bytes as written in a file.
    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[0] = self.kind;
        b[1] = self.flags;
        b[4..8].copy_from_slice(&self.body_len.to_le_bytes());
        b[8..12].copy_from_slice(&self.body_crc.to_le_bytes());
        let crc = crc32c::crc32c(&b[..12]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses and checks a frame header; `None` when its CRC does not match
    /// (the bytes are not a whole, valid frame header).
    pub fn decode(b: &[u8]) -> Option<FrameHeader> {
        if b.len() < FRAME_HEADER_LEN {
            return None;
        }
        let crc = u32::from_le_bytes(b[12..16].try_into().ok()?);
        if crc32c::crc32c(&b[..12]) != crc {
            return None;
        }
        Some(FrameHeader {
            kind: b[0],
            flags: b[1],
            body_len: u32::from_le_bytes(b[4..8].try_into().ok()?),
            body_crc: u32::from_le_bytes(b[8..12].try_into().ok()?),
        })
    }
}

/// The fixed part of a block body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockHeader {
    /// Flows in the block.
    pub records: u32,
    /// Column chunks that follow the header.
    pub columns: u16,
    /// Earliest flow start in the block, UTC ms.
    pub min_start_ms: i64,
    /// Latest flow end in the block, UTC ms.
    pub max_end_ms: i64,
    /// Sum of the flows' packets.
    pub packets: u64,
    /// Sum of the flows' octets.
    pub octets: u64,
}

impl BlockHeader {
    /// The header's bytes as written at the start of a block body.
    pub fn encode(&self) -> [u8; BLOCK_HEADER_LEN] {
        let mut b = [0u8; BLOCK_HEADER_LEN];
        b[0..4].copy_from_slice(&self.records.to_le_bytes());
        b[4..6].copy_from_slice(&self.columns.to_le_bytes());
        b[8..16].copy_from_slice(&self.min_start_ms.to_le_bytes());
        b[16..24].copy_from_slice(&self.max_end_ms.to_le_bytes());
        b[24..32].copy_from_slice(&self.packets.to_le_bytes());
        b[32..40].copy_from_slice(&self.octets.to_le_bytes());
        b
    }

    /// Reads a block header from the start of `b`; `None` when `b` is shorter than a header.
    pub fn decode(b: &[u8]) -> Option<BlockHeader> {
        let b = b.get(..BLOCK_HEADER_LEN)?;
        Some(BlockHeader {
            records: u32::from_le_bytes(b[0..4].try_into().ok()?),
            columns: u16::from_le_bytes(b[4..6].try_into().ok()?),
            min_start_ms: i64::from_le_bytes(b[8..16].try_into().ok()?),
            max_end_ms: i64::from_le_bytes(b[16..24].try_into().ok()?),
            packets: u64::from_le_bytes(b[24..32].try_into().ok()?),
            octets: u64::from_le_bytes(b[32..40].try_into().ok()?),
        })
    }
}

/// A file header: magic, version, flags, metadata length, the metadata
/// and its checksum.
pub fn encode_file_header(header: &crate::meta::FileHeader) -> Vec<u8> {
    let meta = crate::meta::encode(header);
    let mut head = Vec::with_capacity(meta.len() + HEADER_FIXED + 4);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&0u16.to_le_bytes());
    head.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    head.extend_from_slice(&meta);
    let crc = crc32c::crc32c(&head[8..]);
    head.extend_from_slice(&crc.to_le_bytes());
    head
}

/// A whole frame: its header (with the body's and its own checksums),
/// then the body. What writers append, and what tests and fuzz targets
/// wrap crafted bodies in so that they reach the decoders.
pub fn encode_frame(kind: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let fh = FrameHeader {
        kind,
        flags,
        body_len: body.len() as u32,
        body_crc: crc32c::crc32c(body),
    };
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + body.len());
    out.extend_from_slice(&fh.encode());
    out.extend_from_slice(body);
    out
}

/// The file footer: the trailer frame's offset (with a checksum of its
/// own) and the end magic, so that a reader finds the trailer from the end
/// of the file.
pub fn encode_footer(trailer_offset: u64) -> [u8; FOOTER_LEN] {
    let mut b = [0u8; FOOTER_LEN];
    b[0..8].copy_from_slice(&trailer_offset.to_le_bytes());
    let crc = crc32c::crc32c(&b[0..8]);
    b[8..12].copy_from_slice(&crc.to_le_bytes());
    b[16..24].copy_from_slice(&FOOTER_MAGIC);
    b
}

/// The trailer offset from a footer, if the footer is whole and valid.
pub fn decode_footer(b: &[u8]) -> Option<u64> {
    if b.len() != FOOTER_LEN || b[16..24] != FOOTER_MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(b[8..12].try_into().ok()?);
    if crc32c::crc32c(&b[0..8]) != crc {
        return None;
    }
    Some(u64::from_le_bytes(b[0..8].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_round_trip_and_crc() {
        let h = FrameHeader {
            kind: KIND_BLOCK,
            flags: 0,
            body_len: 1234,
            body_crc: 0xdead_beef,
        };
        let mut b = h.encode();
        assert_eq!(FrameHeader::decode(&b), Some(h));
        b[5] ^= 1;
        assert_eq!(FrameHeader::decode(&b), None);
    }

    #[test]
    fn footer_round_trip() {
        let f = encode_footer(987_654);
        assert_eq!(decode_footer(&f), Some(987_654));
        let mut bad = f;
        bad[0] ^= 0x10;
        assert_eq!(decode_footer(&bad), None);
    }
}
