//! ClickHouse's own compressed block format, as a body the HTTP interface
//! decompresses when the URL says `decompress=1`: the shipper's inserts.
//!
//! Each block is a 16-byte CityHash128 (version 1.0.2, the one ClickHouse
//! pins) of what follows, a method byte (`0x82`, LZ4), the block's size
//! with its 9-byte header and the size before compression (both u32,
//! little-endian), then one LZ4 block. Every server version takes it (it
//! is how ClickHouse's own clients and replicas send data), and LZ4 costs
//! the sender a fraction of gzip's CPU: gzip at its fastest level was the
//! largest part of floed's CPU while shipping (`ship-figures` in benches/
//! and the notes of issue 21), and LZ4 is cheaper for the server to read
//! as well.

use cityhash_rs::cityhash_102_128;

/// The LZ4 method byte.
const LZ4: u8 = 0x82;
/// Bytes of the checksum before each block.
const CHECKSUM_LEN: usize = 16;
/// Bytes of method and sizes.
const HEADER_LEN: usize = 9;
/// Input bytes per block: ClickHouse's own default block size
/// (`max_compress_block_size`), well within what a server accepts.
pub const BLOCK_LEN: usize = 1 << 20;

/// Appends `data` to `out` as compressed blocks of at most [`BLOCK_LEN`]
/// input bytes each.
pub fn compress_into(data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(BLOCK_LEN) {
        let at = out.len();
        let bound = lz4_flex::block::get_maximum_output_size(chunk.len());
        out.resize(at + CHECKSUM_LEN + HEADER_LEN + bound, 0);
        let body = at + CHECKSUM_LEN + HEADER_LEN;
        let n = lz4_flex::block::compress_into(chunk, &mut out[body..])
            // The buffer is the bound lz4_flex gives for this input.
            .expect("LZ4 output within its own bound");
        out.truncate(body + n);
        let head = &mut out[at + CHECKSUM_LEN..body];
        head[0] = LZ4;
        head[1..5].copy_from_slice(&((HEADER_LEN + n) as u32).to_le_bytes());
        head[5..9].copy_from_slice(&(chunk.len() as u32).to_le_bytes());
        let sum = checksum(&out[at + CHECKSUM_LEN..]);
        out[at..at + CHECKSUM_LEN].copy_from_slice(&sum);
    }
}

/// The checksum as ClickHouse writes it: CityHash128's two 64-bit halves,
/// each little-endian, the half ClickHouse calls `first` (cityhash-rs's
/// high half) first.
fn checksum(block: &[u8]) -> [u8; CHECKSUM_LEN] {
    let h = cityhash_102_128(block);
    let mut sum = [0u8; CHECKSUM_LEN];
    sum[..8].copy_from_slice(&((h >> 64) as u64).to_le_bytes());
    sum[8..].copy_from_slice(&(h as u64).to_le_bytes());
    sum
}

/// Reads blocks back (for tests, and to check a body before it is sent):
/// the data, or what is wrong and at which byte.
pub fn decompress(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while !body.is_empty() {
        if body.len() < CHECKSUM_LEN + HEADER_LEN {
            return Err(format!("a block header cut short at byte {offset}"));
        }
        let head = &body[CHECKSUM_LEN..CHECKSUM_LEN + HEADER_LEN];
        if head[0] != LZ4 {
            return Err(format!("method {:#x} at byte {offset}, not LZ4", head[0]));
        }
        let size = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let raw = u32::from_le_bytes([head[5], head[6], head[7], head[8]]) as usize;
        if size < HEADER_LEN || CHECKSUM_LEN + size > body.len() || raw > BLOCK_LEN {
            return Err(format!("a block of impossible size at byte {offset}"));
        }
        let block = &body[CHECKSUM_LEN..CHECKSUM_LEN + size];
        if checksum(block)[..] != body[..CHECKSUM_LEN] {
            return Err(format!("checksum mismatch at byte {offset}"));
        }
        let at = out.len();
        out.resize(at + raw, 0);
        let n = lz4_flex::block::decompress_into(&block[HEADER_LEN..], &mut out[at..])
            .map_err(|e| format!("LZ4 at byte {offset}: {e}"))?;
        if n != raw {
            return Err(format!(
                "a block at byte {offset} holds {n} bytes, not {raw}"
            ));
        }
        offset += CHECKSUM_LEN + size;
        body = &body[CHECKSUM_LEN + size..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_read_back_whole_and_damage_is_named() {
        let data: Vec<u8> = (0..BLOCK_LEN * 2 + 12_345)
            .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
            .collect();
        let mut body = Vec::new();
        compress_into(&data, &mut body);
        assert!(body.len() < data.len() / 4, "{} bytes", body.len());
        assert_eq!(decompress(&body).unwrap(), data);
        let mut empty = Vec::new();
        compress_into(&[], &mut empty);
        assert!(empty.is_empty());
        let mut bad = body.clone();
        bad[40] ^= 1;
        assert_eq!(decompress(&bad).unwrap_err(), "checksum mismatch at byte 0");
        assert!(decompress(&body[..body.len() - 1]).is_err());
    }
}
