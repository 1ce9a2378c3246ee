//! floe flows as Parquet, for data lakes: DuckDB, Spark, Trino and
//! ClickHouse read the files where they lie.
//!
//! One Parquet file per floe file (or flow-tools file), in a hive-style
//! tree keyed by the file's day: `OUT/year=YYYY/month=MM/day=DD/NAME.parquet`
//! (the date of the file's name, in the zone the collector names files in,
//! as the floe tree's own directories), so that engines prune by
//! partition (`read_parquet('OUT/**/*.parquet', hive_partitioning = true)`
//! in DuckDB; `PARTITIONED BY (year, month, day)` in Spark and Trino). One
//! row group per floe block (a flow-tools file's flows in groups of
//! 16384), so a row group is a few hundred KiB to a few MiB, as engines
//! like them, and readers skip groups by their statistics as floe skips
//! blocks. Columns are zstd-compressed, with dictionaries where they pay.
//! A file is written beside its final name (`.NAME.parquet.tmp`, which
//! engines ignore) and renamed when whole.
//!
//! # Schema
//!
//! | column | Parquet type | meaning |
//! |---|---|---|
//! | `start_time`, `end_time` | INT64 TIMESTAMP(MILLIS, UTC) | flow start and end (last packet) |
//! | `exporter` | FIXED_LEN_BYTE_ARRAY(16) | address the export came from |
//! | `source_id` | INT32 UINT_32 | v9 source id / IPFIX observation domain |
//! | `src_addr`, `dst_addr`, `next_hop` | FIXED_LEN_BYTE_ARRAY(16) | addresses |
//! | `src_port`, `dst_port` | INT32 UINT_16 | ports (ICMP type × 256 + code in `dst_port`) |
//! | `protocol`, `tos` | INT32 UINT_8 | |
//! | `tcp_flags` | INT32 UINT_16 | |
//! | `packets`, `octets` | INT64 UINT_64 | |
//! | `input_if`, `output_if` | INT32 UINT_32 | interface indexes |
//! | `src_as`, `dst_as` | INT32 UINT_32 | |
//! | `src_mask`, `dst_mask` | INT32 UINT_8 | prefix lengths |
//! | `sampling_interval` | INT32 UINT_32 | 1 in N (0 or 1: unsampled) |
//! | `engine_type`, `engine_id` | INT32 UINT_8 | NetFlow v5 engine |
//!
//! The file's metadata (key `floe`) says which floe file it came from, its
//! collector host, zone and period.
//!
//! **Addresses** are 16 bytes in network order, IPv6 with IPv4 mapped
//! (`::ffff:192.0.2.1`), one column per address rather than split IPv4
//! and IPv6 columns: one type whatever the family, bytewise order is
//! numeric order (so a network is one range test, and statistics prune
//! row groups), and it is the same value as in floe's ClickHouse schema
//! (ClickHouse reads it straight into `IPv6` or `FixedString(16)`). In
//! SQL: `substr(src_addr, 1, 12) = '\x00...\xff\xff'` tells IPv4, whose
//! address is the last four bytes. Unsigned integers are Parquet's
//! unsigned annotations on INT32/INT64 (DuckDB reads them as UINTEGER,
//! UBIGINT...; engines without unsigned types widen them).
#![forbid(unsafe_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use floe_flow::Flow;
use floe_store::{BlockDecoder, FlowFile};
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::{ByteArray, FixedLenByteArray};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// The Parquet schema of a flow.
pub const SCHEMA: &str = "message floe_flow {
  REQUIRED INT64 start_time (TIMESTAMP(MILLIS,true));
  REQUIRED INT64 end_time (TIMESTAMP(MILLIS,true));
  REQUIRED FIXED_LEN_BYTE_ARRAY (16) exporter;
  REQUIRED INT32 source_id (INTEGER(32,false));
  REQUIRED FIXED_LEN_BYTE_ARRAY (16) src_addr;
  REQUIRED FIXED_LEN_BYTE_ARRAY (16) dst_addr;
  REQUIRED FIXED_LEN_BYTE_ARRAY (16) next_hop;
  REQUIRED INT32 src_port (INTEGER(16,false));
  REQUIRED INT32 dst_port (INTEGER(16,false));
  REQUIRED INT32 protocol (INTEGER(8,false));
  REQUIRED INT32 tcp_flags (INTEGER(16,false));
  REQUIRED INT32 tos (INTEGER(8,false));
  REQUIRED INT64 packets (INTEGER(64,false));
  REQUIRED INT64 octets (INTEGER(64,false));
  REQUIRED INT32 input_if (INTEGER(32,false));
  REQUIRED INT32 output_if (INTEGER(32,false));
  REQUIRED INT32 src_as (INTEGER(32,false));
  REQUIRED INT32 dst_as (INTEGER(32,false));
  REQUIRED INT32 src_mask (INTEGER(8,false));
  REQUIRED INT32 dst_mask (INTEGER(8,false));
  REQUIRED INT32 sampling_interval (INTEGER(32,false));
  REQUIRED INT32 engine_type (INTEGER(8,false));
  REQUIRED INT32 engine_id (INTEGER(8,false));
}";

/// Flows per row group of a file without blocks (flow-tools).
pub const GROUP_FLOWS: usize = 16_384;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// Reading the floe file failed.
    #[error(transparent)]
    Store(#[from] floe_store::StoreError),
    /// Creating, writing or renaming an output file failed.
    #[error("{path}: {what}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error, as text.
        what: String,
    },
    /// The Parquet writer refused something.
    #[error("{path}: Parquet: {source}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The Parquet library's error.
        source: parquet::errors::ParquetError,
    },
    /// A flow-tools input file could not be read.
    #[error("{path}: flow-tools: {what}")]
    FlowTools {
        /// The input file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
}

/// How to export.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions {
    /// Only flows overlapping `[from, to)` (UTC ms).
    pub window: (i64, i64),
    /// zstd level of the columns.
    pub level: i32,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            window: (i64::MIN, i64::MAX),
            level: 3,
        }
    }
}

/// One file exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The Parquet file written, or `None` when no flow was in the window.
    pub path: Option<PathBuf>,
    /// Flows written.
    pub flows: u64,
    /// Row groups written.
    pub row_groups: usize,
    /// Size of the Parquet file.
    pub bytes: u64,
}

/// `year=YYYY/month=MM/day=DD` for a floe or flow-tools file name
/// (`floe.2026-11-22.101500+0100`, `ft-v05.2026-11-22...`), or `None`.
pub fn partition_of_name(name: &str) -> Option<PathBuf> {
    let name = name.strip_prefix("tmp-").unwrap_or(name);
    let rest = name.strip_prefix("floe.").or_else(|| {
        name.strip_prefix("ft-v")
            .and_then(|r| r.split_once('.').map(|x| x.1))
    })?;
    let d = rest.get(..10)?;
    let (y, m, day) = (d.get(..4)?, d.get(5..7)?, d.get(8..10)?);
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(day) && &d[4..5] == "-" && &d[7..8] == "-") {
        return None;
    }
    Some(PathBuf::from(format!("year={y}/month={m}/day={day}")))
}

fn partition_of_time(ms: i64) -> PathBuf {
    let (y, m, d) = floe_flow::time::civil_from_days(ms.div_euclid(86_400_000));
    PathBuf::from(format!("year={y:04}/month={m:02}/day={d:02}"))
}

/// Writes the flows of one floe or flow-tools file as a Parquet file under
/// `out` (see the crate docs for where and how).
pub fn export_file(src: &Path, out: &Path, opts: &ExportOptions) -> Result<Exported, ParquetError> {
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flows".into());
    let is_ft = is_flow_tools(src);
    let mut groups: Box<dyn Iterator<Item = Result<Vec<Flow>, ParquetError>>>;
    let meta;
    let first_ms;
    if is_ft {
        let bytes = std::fs::read(src).map_err(|e| io(src, e))?;
        let ft = floe_netflow::flowtools::read(&bytes).map_err(|e| ParquetError::FlowTools {
            path: src.to_path_buf(),
            what: e.to_string(),
        })?;
        meta = format!(
            "{{\"source\":{:?},\"format\":\"flow-tools\"}}",
            src.display().to_string()
        );
        let (from, to) = opts.window;
        let flows: Vec<Flow> = ft
            .flows
            .into_iter()
            .filter(|f| f.overlaps(from, to))
            .collect();
        first_ms = flows.first().map(|f| f.start_ms);
        let chunks: Vec<Vec<Flow>> = flows.chunks(GROUP_FLOWS).map(|c| c.to_vec()).collect();
        groups = Box::new(chunks.into_iter().map(Ok));
    } else {
        let f = FlowFile::open(src)?;
        let h = f.header();
        meta = format!(
            "{{\"source\":{:?},\"format\":\"floe\",\"host\":{:?},\"zone\":{:?},\"writer\":{:?},\"period_start_ms\":{},\"period_end_ms\":{}}}",
            src.display().to_string(),
            h.host,
            h.zone,
            h.writer,
            h.period.map_or(0, |p| p.start_ms),
            h.period.map_or(0, |p| p.end_ms)
        );
        first_ms = h.period.map(|p| p.start_ms).or(Some(h.created_ms));
        let (from, to) = opts.window;
        let blocks: Vec<usize> = f.blocks_overlapping(from, to).collect();
        let mut dec = BlockDecoder::new().map_err(|e| io(src, e))?;
        let mut i = 0;
        groups = Box::new(std::iter::from_fn(move || {
            let b = *blocks.get(i)?;
            i += 1;
            let mut out = Vec::new();
            Some(
                f.read_block(b, &mut dec, &mut out)
                    .map(|()| {
                        out.retain(|x| x.overlaps(from, to));
                        out
                    })
                    .map_err(ParquetError::from),
            )
        }));
    }
    let part = partition_of_name(&name)
        .or_else(|| first_ms.map(partition_of_time))
        .unwrap_or_else(|| PathBuf::from("year=1970/month=01/day=01"));
    let dir = out.join(part);
    let final_path = dir.join(format!(
        "{}.parquet",
        name.strip_prefix("tmp-").unwrap_or(&name)
    ));
    let tmp_path = dir.join(format!(".{name}.parquet.tmp"));
    let mut w: Option<Writer> = None;
    let mut exported = Exported {
        path: None,
        flows: 0,
        row_groups: 0,
        bytes: 0,
    };
    for g in groups.by_ref() {
        let g = g?;
        if g.is_empty() {
            continue;
        }
        if w.is_none() {
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            w = Some(Writer::create(&tmp_path, opts.level, &meta)?);
        }
        if let Some(w) = w.as_mut() {
            w.group(&g)?;
        }
        exported.flows += g.len() as u64;
        exported.row_groups += 1;
    }
    drop(groups);
    if let Some(w) = w {
        w.finish()?;
        std::fs::rename(&tmp_path, &final_path).map_err(|e| io(&final_path, e))?;
        exported.bytes = std::fs::metadata(&final_path).map(|m| m.len()).unwrap_or(0);
        exported.path = Some(final_path);
    }
    Ok(exported)
}

fn io(path: &Path, e: impl ToString) -> ParquetError {
    ParquetError::Io {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}

fn is_flow_tools(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && floe_netflow::flowtools::is_flow_tools(&magic)
}

/// A Parquet file being written, one row group per call.
pub struct Writer {
    path: PathBuf,
    w: SerializedFileWriter<File>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    addrs: Vec<FixedLenByteArray>,
}

impl Writer {
    /// Creates `path` with floe's schema, zstd at `level`, and `floe_meta` in the
    /// file's key-value metadata under `floe`.
    pub fn create(path: &Path, level: i32, floe_meta: &str) -> Result<Writer, ParquetError> {
        let pq = |source| ParquetError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(pq)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(level).map_err(pq)?))
            .set_created_by(format!("floe {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_row_count(Some(1 << 20))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "floe".to_string(),
                floe_meta.to_string(),
            )]))
            .build();
        let file = File::create(path).map_err(|e| io(path, e))?;
        Ok(Writer {
            path: path.to_path_buf(),
            w: SerializedFileWriter::new(file, schema, Arc::new(props)).map_err(pq)?,
            i32s: Vec::new(),
            i64s: Vec::new(),
            addrs: Vec::new(),
        })
    }

    /// Writes the flows as one row group.
    pub fn group(&mut self, flows: &[Flow]) -> Result<(), ParquetError> {
        let path = self.path.clone();
        let pq = |source| ParquetError::Parquet {
            path: path.clone(),
            source,
        };
        let mut rg = self.w.next_row_group().map_err(pq)?;
        let mut col = 0usize;
        while let Some(mut c) = rg.next_column().map_err(pq)? {
            match c.untyped() {
                ColumnWriter::Int64ColumnWriter(w) => {
                    self.i64s.clear();
                    self.i64s.extend(flows.iter().map(|f| match col {
                        0 => f.start_ms,
                        1 => f.end_ms,
                        12 => f.packets as i64,
                        _ => f.octets as i64,
                    }));
                    w.write_batch(&self.i64s, None, None).map_err(pq)?;
                }
                ColumnWriter::Int32ColumnWriter(w) => {
                    self.i32s.clear();
                    self.i32s.extend(flows.iter().map(|f| {
                        (match col {
                            3 => f.source_id,
                            7 => u32::from(f.src_port),
                            8 => u32::from(f.dst_port),
                            9 => u32::from(f.protocol),
                            10 => u32::from(f.tcp_flags),
                            11 => u32::from(f.tos),
                            14 => f.input_if,
                            15 => f.output_if,
                            16 => f.src_as,
                            17 => f.dst_as,
                            18 => u32::from(f.src_mask),
                            19 => u32::from(f.dst_mask),
                            20 => f.sampling_interval,
                            21 => u32::from(f.engine_type),
                            _ => u32::from(f.engine_id),
                        }) as i32
                    }));
                    w.write_batch(&self.i32s, None, None).map_err(pq)?;
                }
                ColumnWriter::FixedLenByteArrayColumnWriter(w) => {
                    let mut buf = Vec::with_capacity(flows.len() * 16);
                    for f in flows {
                        let a = match col {
                            2 => f.exporter,
                            4 => f.src_addr,
                            5 => f.dst_addr,
                            _ => f.next_hop,
                        };
                        buf.extend_from_slice(&addr16(a));
                    }
                    let all = Bytes::from(buf);
                    self.addrs.clear();
                    self.addrs.extend((0..flows.len()).map(|i| {
                        FixedLenByteArray::from(ByteArray::from(all.slice(i * 16..i * 16 + 16)))
                    }));
                    w.write_batch(&self.addrs, None, None).map_err(pq)?;
                }
                _ => {
                    return Err(ParquetError::Io {
                        path: self.path.clone(),
                        what: "unexpected column type in floe's schema".into(),
                    })
                }
            }
            c.close().map_err(pq)?;
            col += 1;
        }
        rg.close().map_err(pq)?;
        Ok(())
    }

    /// Writes the footer and closes the file (synced).
    pub fn finish(self) -> Result<(), ParquetError> {
        let path = self.path.clone();
        let file = self
            .w
            .into_inner()
            .map_err(|source| ParquetError::Parquet {
                path: path.clone(),
                source,
            })?;
        file.sync_all().map_err(|e| io(&path, e))
    }
}

/// An address as 16 bytes: IPv6, or IPv4 mapped.
pub fn addr16(a: std::net::IpAddr) -> [u8; 16] {
    match a {
        std::net::IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v) => v.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_name() {
        assert_eq!(
            partition_of_name("floe.2026-11-22.101500+0100").unwrap(),
            PathBuf::from("year=2026/month=11/day=22")
        );
        assert_eq!(
            partition_of_name("tmp-floe.2026-01-02.000000+0000.1").unwrap(),
            PathBuf::from("year=2026/month=01/day=02")
        );
        assert_eq!(
            partition_of_name("ft-v05.2025-12-31.235500-0500").unwrap(),
            PathBuf::from("year=2025/month=12/day=31")
        );
        assert!(partition_of_name("flows.bin").is_none());
        assert_eq!(
            partition_of_time(0),
            PathBuf::from("year=1970/month=01/day=01")
        );
    }
}
