//! Flows as ClickHouse `RowBinary` rows, in the order of
//! [`crate::schema::FLOW_COLUMNS`].
//!
//! RowBinary is the simplest format every ClickHouse since the first
//! releases reads over HTTP: each value in its column type's fixed width,
//! little-endian, strings as a LEB128 length and bytes, `IPv6` and
//! `FixedString(16)` as 16 bytes in network order (the same bytes, so one
//! encoding serves both schema variants). About 110 bytes a flow before
//! compression; the shipper sends batches in ClickHouse's compressed
//! blocks (`crate::compressed`).

use std::net::IpAddr;

use floe_flow::Flow;

use crate::schema::FLOW_COLUMNS;

/// Where a row comes from: its identity in ClickHouse (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowIdentity {
    /// The identity of the file the row was read from
    /// ([`crate::ship::file_id`] or [`crate::ship::flow_tools_id`]).
    pub file_id: u64,
    /// Offset of the block's frame in the file (a chunk number for files
    /// without blocks).
    pub block: u64,
}

/// The column list of the `INSERT` statement that goes with these rows.
pub fn column_list() -> String {
    let names: Vec<&str> = FLOW_COLUMNS.iter().map(|c| c.name).collect();
    names.join(", ")
}

/// An address as 16 bytes: IPv6, or IPv4 mapped (`::ffff:a.b.c.d`).
pub fn addr16(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    }
}

/// The `time` column: the start in seconds, within DateTime's range.
pub fn time_secs(start_ms: i64) -> u32 {
    start_ms.div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32
}

/// Appends RowBinary rows to a buffer.
pub struct RowEncoder {
    collector: Vec<u8>,
}

impl RowEncoder {
    /// Rows from the collector named `collector`.
    pub fn new(collector: &str) -> RowEncoder {
        let mut c = Vec::with_capacity(collector.len() + 5);
        leb128(&mut c, collector.len() as u64);
        c.extend_from_slice(collector.as_bytes());
        RowEncoder { collector: c }
    }

    /// Appends one row per flow.
    pub fn encode(&self, id: RowIdentity, flows: &[Flow], out: &mut Vec<u8>) {
        out.reserve(flows.len() * (120 + self.collector.len()));
        for f in flows {
            out.extend_from_slice(&time_secs(f.start_ms).to_le_bytes());
            out.extend_from_slice(&f.start_ms.to_le_bytes());
            out.extend_from_slice(&f.end_ms.to_le_bytes());
            out.extend_from_slice(&self.collector);
            out.extend_from_slice(&id.file_id.to_le_bytes());
            out.extend_from_slice(&id.block.to_le_bytes());
            out.extend_from_slice(&addr16(f.exporter));
            out.extend_from_slice(&f.source_id.to_le_bytes());
            out.extend_from_slice(&addr16(f.src_addr));
            out.extend_from_slice(&addr16(f.dst_addr));
            out.extend_from_slice(&addr16(f.next_hop));
            out.extend_from_slice(&f.src_port.to_le_bytes());
            out.extend_from_slice(&f.dst_port.to_le_bytes());
            out.push(f.protocol);
            out.extend_from_slice(&f.tcp_flags.to_le_bytes());
            out.push(f.tos);
            out.extend_from_slice(&f.packets.to_le_bytes());
            out.extend_from_slice(&f.octets.to_le_bytes());
            out.extend_from_slice(&f.input_if.to_le_bytes());
            out.extend_from_slice(&f.output_if.to_le_bytes());
            out.extend_from_slice(&f.src_as.to_le_bytes());
            out.extend_from_slice(&f.dst_as.to_le_bytes());
            out.push(f.src_mask);
            out.push(f.dst_mask);
            out.extend_from_slice(&f.sampling_interval.to_le_bytes());
            out.push(f.engine_type);
            out.push(f.engine_id);
        }
    }
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_layout_matches_the_columns() {
        let f = Flow {
            start_ms: 1_700_000_000_123,
            end_ms: 1_700_000_001_000,
            exporter: "192.0.2.1".parse().unwrap(),
            src_addr: "2001:db8::1".parse().unwrap(),
            packets: 3,
            octets: 300,
            ..Flow::default()
        };
        let mut out = Vec::new();
        RowEncoder::new("site-a").encode(
            RowIdentity {
                file_id: 7,
                block: 9,
            },
            &[f],
            &mut out,
        );
        let widths: usize = FLOW_COLUMNS
            .iter()
            .map(|c| match c.legacy {
                "DateTime('UTC')" | "UInt32" => 4,
                "Int64" | "UInt64" => 8,
                "FixedString(16)" => 16,
                "UInt16" => 2,
                "UInt8" => 1,
                "String" => 1 + 6,
                other => panic!("{other}"),
            })
            .sum();
        assert_eq!(out.len(), widths);
        assert_eq!(&out[..4], &1_700_000_000u32.to_le_bytes());
        // The exporter: IPv4 mapped, after time, start, end, the name, file and block.
        let at = 4 + 8 + 8 + 7 + 8 + 8;
        assert_eq!(
            &out[at..at + 16],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]
        );
        assert_eq!(time_secs(-5), 0);
        assert_eq!(time_secs(i64::MAX), u32::MAX);
        let mut l = Vec::new();
        leb128(&mut l, 300);
        assert_eq!(l, [0xac, 0x02]);
    }
}
