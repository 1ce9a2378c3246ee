//! Byte planes to zstd frames by entropy coding alone: every zstd block
//! of the frame is one plane (or a 128 KiB piece of one) made of literals
//! only, Huffman-coded (zstd picks the block's table: a new one, the last
//! block's again, or a raw or single-byte block), and no match is searched.
//!
//! Why not `zstd::bulk::Compressor`: a plane is one byte of every value of
//! a column, and what shrinks it is the skew of its byte values, which
//! the literals' Huffman coding takes; repeated strings of several bytes,
//! what zstd's match finder looks for, are rare in it. At level 1 the
//! match finder was the largest single cost of floed's write thread, and
//! the matches it found made blocks larger, not smaller: sequences cost
//! bits, and the literals between them code worse than a whole plane's.
//! (`benches/src/bin/store_figures.rs` and `cargo bench -p floe-benches
//! --bench store` measure both.) The price: a column whose planes repeat
//! strings (sequential or periodic values, as synthetic flows have, or a
//! file sorted by that column) codes worse than with matches; real traffic
//! codes better. The output is an ordinary zstd frame: any zstd decoder
//! reads it, and files written before read the same.
//!
//! zstd's sequence-compression API does this: it takes the sequences
//! (here, one per block, all literals) instead of finding them. It is in
//! zstd's experimental section, so zstd-sys is built with that feature,
//! its version is pinned in `Cargo.toml` (experimental parameters and
//! semantics may change between zstd releases), and zstd is asked to
//! validate the sequences, which turns a change of meaning into an error
//! rather than a wrong frame.

use std::ptr::NonNull;

use zstd_sys::{
    ZSTD_CCtx, ZSTD_CCtx_setParameter, ZSTD_Sequence, ZSTD_SequenceFormat_e, ZSTD_cParameter,
    ZSTD_compressBound, ZSTD_compressSequences, ZSTD_createCCtx, ZSTD_freeCCtx, ZSTD_getErrorName,
    ZSTD_isError, ZSTD_BLOCKSIZE_MAX,
};

/// A zstd compression context set up for planes.
pub(crate) struct PlaneCompressor {
    cctx: NonNull<ZSTD_CCtx>,
    /// The block delimiters of the frame being written.
    seqs: Vec<ZSTD_Sequence>,
}

// SAFETY: a ZSTD_CCtx has no affinity to the thread that made it; it must
// only not be used by two threads at once, which `&mut self` on every use
// rules out.
unsafe impl Send for PlaneCompressor {}

fn zstd_error(code: usize) -> std::io::Error {
    // SAFETY: ZSTD_getErrorName returns a pointer to a static,
    // NUL-terminated string for any code.
    let name = unsafe { std::ffi::CStr::from_ptr(ZSTD_getErrorName(code)) };
    std::io::Error::other(format!("zstd: {}", name.to_string_lossy()))
}

/// Checks a zstd return value.
fn check(code: usize) -> std::io::Result<usize> {
    // SAFETY: ZSTD_isError reads a plain integer.
    if unsafe { ZSTD_isError(code) } != 0 {
        Err(zstd_error(code))
    } else {
        Ok(code)
    }
}

impl PlaneCompressor {
    /// A context at zstd `level` (which sets how hard the entropy coder
    /// works; there is no match search at any level). Levels below 1 are
    /// level 1: zstd's negative levels turn the entropy coding of literals
    /// off, which here would store every plane raw.
    pub fn new(level: i32) -> std::io::Result<PlaneCompressor> {
        // SAFETY: ZSTD_createCCtx takes nothing and returns a new context
        // or null.
        let cctx = NonNull::new(unsafe { ZSTD_createCCtx() })
            .ok_or_else(|| std::io::Error::other("zstd: cannot make a compression context"))?;
        let c = PlaneCompressor {
            cctx,
            seqs: Vec::new(),
        };
        let set = |p: ZSTD_cParameter, v: i32| {
            // SAFETY: the context is live and ours; parameters are plain
            // integers zstd checks.
            check(unsafe { ZSTD_CCtx_setParameter(c.cctx.as_ptr(), p, v) })
        };
        set(ZSTD_cParameter::ZSTD_c_compressionLevel, level.max(1))?;
        // ZSTD_c_blockDelimiters: the sequences say where blocks end.
        set(
            ZSTD_cParameter::ZSTD_c_experimentalParam11,
            ZSTD_SequenceFormat_e::ZSTD_sf_explicitBlockDelimiters as i32,
        )?;
        // ZSTD_c_validateSequences.
        set(ZSTD_cParameter::ZSTD_c_experimentalParam12, 1)?;
        // A window as large as a block, the most a block may hold.
        set(
            ZSTD_cParameter::ZSTD_c_windowLog,
            ZSTD_BLOCKSIZE_MAX.trailing_zeros() as i32,
        )?;
        Ok(c)
    }

    /// Compresses `planes`, planes of `plane_len` bytes back to back, as
    /// one frame into `out` (cleared first); returns its length.
    pub fn compress(
        &mut self,
        planes: &[u8],
        plane_len: usize,
        out: &mut Vec<u8>,
    ) -> std::io::Result<usize> {
        self.seqs.clear();
        for plane in planes.chunks(plane_len.max(1)) {
            for piece in plane.chunks(ZSTD_BLOCKSIZE_MAX as usize) {
                // A block delimiter: offset 0, no match, the piece's bytes
                // as literals.
                self.seqs.push(ZSTD_Sequence {
                    offset: 0,
                    litLength: piece.len() as u32,
                    matchLength: 0,
                    rep: 0,
                });
            }
        }
        // ZSTD_compressBound budgets one block header per 128 KiB of input;
        // a frame here has a block per plane, each of which may be stored
        // raw (its bytes and a 3-byte header), after a frame header of at
        // most 18 bytes.
        // SAFETY: ZSTD_compressBound reads a plain integer.
        let bound = unsafe { ZSTD_compressBound(planes.len()) }
            .max(planes.len() + 3 * self.seqs.len() + 32);
        out.clear();
        out.reserve(bound);
        // SAFETY: the context is live and ours; `out` has room for
        // `bound` bytes, the most zstd writes for `planes.len()` bytes of
        // input; the sequences are valid by construction (no matches, and
        // their literal lengths add up to `planes.len()` in blocks of at
        // most ZSTD_BLOCKSIZE_MAX bytes), as this API requires when it
        // does not validate them.
        let written = check(unsafe {
            ZSTD_compressSequences(
                self.cctx.as_ptr(),
                out.as_mut_ptr().cast(),
                bound,
                self.seqs.as_ptr(),
                self.seqs.len(),
                planes.as_ptr().cast(),
                planes.len(),
            )
        })?;
        // SAFETY: zstd wrote `written` (at most `bound`) bytes into the
        // reserved capacity.
        unsafe { out.set_len(written) };
        Ok(written)
    }
}

impl Drop for PlaneCompressor {
    fn drop(&mut self) {
        // SAFETY: the context is ours and used by nothing else after this.
        unsafe { ZSTD_freeCCtx(self.cctx.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames any zstd decoder reads back to the planes, for planes of
    /// every kind (constant, skewed, random, empty) and planes larger than
    /// a zstd block.
    #[test]
    fn frames_decompress_to_the_planes() {
        // A negative level is level 1 (see `new`).
        let mut c = PlaneCompressor::new(-3).expect("context");
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (n, width) in [
            (0, 1),
            (1, 1),
            (3, 2),
            (16_384, 4),
            (300_000, 2),
            (131_072, 2),
            // More planes than a column has, each too small to compress:
            // a raw block each, more than zstd's own bound budgets.
            (1, 64),
            (5, 40),
        ] {
            let mut planes = vec![0u8; n * width];
            for (b, plane) in planes.chunks_mut(n.max(1)).enumerate() {
                for v in plane.iter_mut() {
                    *v = match b {
                        0 => random() as u8,
                        1 => (random() % 3) as u8,
                        2 => 7,
                        _ => u8::from(random() % 100 == 0),
                    };
                }
            }
            let mut out = Vec::new();
            let len = c.compress(&planes, n, &mut out).expect("compress");
            assert_eq!(len, out.len());
            if n >= 16_384 {
                assert!(
                    len < planes.len() * 3 / 4,
                    "{len} of {} bytes",
                    planes.len()
                );
            }
            let back = zstd::bulk::decompress(&out, planes.len()).expect("decompress");
            assert_eq!(back, planes, "{n} values of {width} bytes");
        }
    }
}
