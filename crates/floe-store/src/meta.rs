//! File metadata: the header, per-exporter counters, and the trailer.
//!
//! These are encoded with serde + bincode 2 in its `legacy` configuration
//! (fixed-width little-endian integers, u64 lengths), which the format
//! specification describes byte by byte so that bincode could be replaced
//! (it is flagged unmaintained, RUSTSEC-2025-0141) without a format change.

pub use floe_flow::{ExporterCounters, ExporterKey};
use serde::{Deserialize, Serialize};

use crate::format::MAX_META;

/// What the file header says about the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHeader {
    /// When the file was created, UTC ms.
    pub created_ms: i64,
    /// The rotation period the file covers, for files written by the
    /// rotating writer; `None` for streams and ad-hoc files.
    pub period: Option<Period>,
    /// Host name of the writer.
    pub host: String,
    /// Time zone that names the file (IANA name, `UTC`, or `local:NAME`).
    pub zone: String,
    /// Software that wrote the file, e.g. `floe 0.1.0`.
    pub writer: String,
}

/// A half-open interval of receive time `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First millisecond of the period, UTC.
    pub start_ms: i64,
    /// First millisecond after it.
    pub end_ms: i64,
}

/// The per-exporter counters of a file so far (a counters frame), or in all
/// (in the trailer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountersSnapshot {
    /// Each exporter's counters since the file was opened.
    pub exporters: Vec<(ExporterKey, ExporterCounters)>,
}

/// Totals over the flows of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Number of flows.
    pub flows: u64,
    /// Sum of their packets.
    pub packets: u64,
    /// Sum of their octets.
    pub octets: u64,
    /// Earliest flow start (UTC ms); 0 when there are no flows.
    pub first_ms: i64,
    /// Latest flow end (UTC ms); 0 when there are no flows.
    pub last_ms: i64,
}

impl Totals {
    /// Adds a block's flows, with the packet and octet sums read from its header.
    pub fn add_block(&mut self, e: &BlockIndexEntry, packets: u64, octets: u64) {
        if self.flows == 0 {
            self.first_ms = e.min_start_ms;
            self.last_ms = e.max_end_ms;
        } else {
            self.first_ms = self.first_ms.min(e.min_start_ms);
            self.last_ms = self.last_ms.max(e.max_end_ms);
        }
        self.flows += u64::from(e.records);
        self.packets = self.packets.saturating_add(packets);
        self.octets = self.octets.saturating_add(octets);
    }
}

/// Where one block is and what time it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockIndexEntry {
    /// Offset of the block's frame header from the start of the file.
    pub offset: u64,
    /// Length of the whole frame (header and body).
    pub len: u32,
    /// Flows in the block.
    pub records: u32,
    /// Earliest flow start in the block.
    pub min_start_ms: i64,
    /// Latest flow end in the block.
    pub max_end_ms: i64,
}

impl BlockIndexEntry {
    /// True when some flow of the block may overlap `[from_ms, to_ms)`.
    pub fn overlaps(&self, from_ms: i64, to_ms: i64) -> bool {
        self.max_end_ms.max(self.min_start_ms) >= from_ms && self.min_start_ms < to_ms
    }
}

/// The trailer of a closed file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// When the file was closed, UTC ms.
    pub closed_ms: i64,
    /// True when the trailer was rebuilt by crash recovery.
    pub recovered: bool,
    /// Totals over every block of the file.
    pub totals: Totals,
    /// Each exporter's counters when the file was closed.
    pub exporters: Vec<(ExporterKey, ExporterCounters)>,
    /// Where each block is, so a reader needs no scan.
    pub blocks: Vec<BlockIndexEntry>,
}

/// bincode's legacy configuration, reading at most `LIMIT` bytes.
fn config<const LIMIT: usize>() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<LIMIT>,
> {
    bincode::config::legacy().with_limit::<LIMIT>()
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Encoding plain data structs into a Vec cannot fail short of the size
    // limit, which the writer's own metadata never approaches.
    bincode::serde::encode_to_vec(value, config::<MAX_META>()).unwrap_or_default()
}

/// Decodes metadata that must fill `bytes` exactly.
///
/// Nothing in `bytes` makes this allocate much more than `bytes` itself:
/// bincode checks each string's stated length against its limit before
/// allocating the string, so the limit is the smallest of a few sizes
/// (4 KiB, 64 KiB, 1 MiB, 16 MiB, [`MAX_META`]) that holds the input (a
/// valid encoding reads no more than its own length); vectors and maps
/// grow as their elements decode.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    fn with_limit<T: serde::de::DeserializeOwned, const LIMIT: usize>(
        bytes: &[u8],
    ) -> Result<(T, usize), bincode::error::DecodeError> {
        bincode::serde::decode_from_slice(bytes, config::<LIMIT>())
    }
    let decoded = match bytes.len() {
        0..=4096 => with_limit::<T, 4096>(bytes),
        4097..=65_536 => with_limit::<T, 65_536>(bytes),
        65_537..=1_048_576 => with_limit::<T, 1_048_576>(bytes),
        1_048_577..=16_777_216 => with_limit::<T, 16_777_216>(bytes),
        16_777_217..=MAX_META => with_limit::<T, MAX_META>(bytes),
        n => {
            return Err(format!(
                "metadata of {n} bytes; floe reads at most {MAX_META}"
            ))
        }
    };
    match decoded {
        Ok((v, used)) if used == bytes.len() => Ok(v),
        Ok((_, used)) => Err(format!(
            "metadata has {} unexpected trailing bytes",
            bytes.len() - used
        )),
        Err(bincode::error::DecodeError::LimitExceeded) => Err(format!(
            "metadata of {} bytes claims more than it holds",
            bytes.len()
        )),
        Err(e) => Err(format!("metadata does not decode: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_encoding_is_fixed_width_little_endian() {
        // The specification documents this exact layout.
        let h = FileHeader {
            created_ms: 1,
            period: Some(Period {
                start_ms: 2,
                end_ms: 3,
            }),
            host: "h".into(),
            zone: "UTC".into(),
            writer: "w".into(),
        };
        let b = encode(&h);
        let mut expect = Vec::new();
        expect.extend_from_slice(&1i64.to_le_bytes());
        expect.push(1);
        expect.extend_from_slice(&2i64.to_le_bytes());
        expect.extend_from_slice(&3i64.to_le_bytes());
        for s in ["h", "UTC", "w"] {
            expect.extend_from_slice(&(s.len() as u64).to_le_bytes());
            expect.extend_from_slice(s.as_bytes());
        }
        assert_eq!(b, expect);
        assert_eq!(decode::<FileHeader>(&b).unwrap(), h);

        let key = ExporterKey {
            address: "10.1.2.3".parse().unwrap(),
            source_id: 7,
        };
        let kb = encode(&key);
        assert_eq!(kb, [0, 0, 0, 0, 10, 1, 2, 3, 7, 0, 0, 0]);
        let key6 = ExporterKey {
            address: "::1".parse().unwrap(),
            source_id: 0,
        };
        let kb6 = encode(&key6);
        assert_eq!(&kb6[..4], &[1, 0, 0, 0]);
        assert_eq!(kb6.len(), 4 + 16 + 4);
    }

    /// Valid metadata decodes whatever its size, at and around the sizes
    /// where the decoder's limit steps up: a valid encoding reads no more
    /// than its own length.
    #[test]
    fn metadata_decodes_at_every_size_step() {
        for size in [4095, 4096, 4097, 65_536, 65_537, 1_048_576, 1_048_577] {
            let mut h = FileHeader {
                created_ms: 1,
                period: None,
                host: String::new(),
                zone: "UTC".into(),
                writer: "w".into(),
            };
            let fixed = encode(&h).len();
            h.host = "x".repeat(size - fixed);
            let b = encode(&h);
            assert_eq!(b.len(), size);
            assert_eq!(decode::<FileHeader>(&b).unwrap(), h, "{size}");
            // One length byte too many is refused.
            let mut bad = b.clone();
            bad[9] += 1;
            assert!(decode::<FileHeader>(&bad).is_err(), "{size}");
        }
    }

    #[test]
    fn corrupt_lengths_do_not_allocate_wildly() {
        let mut b = encode(&FileHeader {
            created_ms: 0,
            period: None,
            host: "x".into(),
            zone: "UTC".into(),
            writer: "w".into(),
        });
        // Host string length set to 2^62.
        b[9..17].copy_from_slice(&(1u64 << 62).to_le_bytes());
        assert!(decode::<FileHeader>(&b).is_err());
    }
}
