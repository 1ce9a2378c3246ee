//! Any sequence of flows written and read back is identical: through a file
//! (mmap reader) and through a stream (sequential reader), IPv4 and IPv6,
//! extreme values, any block size.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, FlowFile, StreamEvent, StreamReader, WriteOptions};
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
        Just(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Just(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        Just(IpAddr::V4(Ipv4Addr::BROADCAST)),
    ]
}

fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0i64),
        1_600_000_000_000i64..1_900_000_000_000i64,
    ]
}

prop_compose! {
    fn flow()(
        start_ms in time(), end_ms in time(),
        exporter in addr(), source_id in any::<u32>(),
        src_addr in addr(), dst_addr in addr(), next_hop in addr(),
        src_port in any::<u16>(), dst_port in any::<u16>(),
        protocol in any::<u8>(), tcp_flags in any::<u16>(), tos in any::<u8>(),
        packets in any::<u64>(), octets in any::<u64>(),
        input_if in any::<u32>(), output_if in any::<u32>(),
        src_as in any::<u32>(), dst_as in any::<u32>(),
        src_mask in any::<u8>(), dst_mask in any::<u8>(),
        sampling_interval in any::<u32>(),
        engine_type in any::<u8>(), engine_id in any::<u8>(),
    ) -> Flow {
        Flow { start_ms, end_ms, exporter, source_id, src_addr, dst_addr, next_hop,
               src_port, dst_port, protocol, tcp_flags, tos, packets, octets,
               input_if, output_if, src_as, dst_as, src_mask, dst_mask,
               sampling_interval, engine_type, engine_id }
    }
}

fn header() -> FileHeader {
    FileHeader {
        created_ms: 0,
        period: None,
        host: "test".into(),
        zone: "UTC".into(),
        writer: "roundtrip".into(),
    }
}

fn write_stream(flows: &[Flow], block_records: usize, level: i32) -> Vec<u8> {
    let mut w = FileWriter::new(
        Vec::new(),
        Path::new("<mem>"),
        &header(),
        WriteOptions {
            block_records,
            level,
        },
    )
    .unwrap();
    w.extend(flows).unwrap();
    w.finish(1).unwrap().0
}

fn read_stream(bytes: &[u8]) -> Vec<Flow> {
    let mut r = StreamReader::new(bytes, "<mem>").unwrap();
    let mut out = Vec::new();
    while r.next_block(&mut out).unwrap() {}
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn flows_round_trip_through_files_and_streams(
        flows in prop::collection::vec(flow(), 0..300),
        block_records in 1usize..100,
        level in prop_oneof![Just(1), Just(6), Just(-5)],
    ) {
        let bytes = write_stream(&flows, block_records, level);
        prop_assert_eq!(&read_stream(&bytes), &flows);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &bytes).unwrap();
        let file = FlowFile::open(&path).unwrap();
        prop_assert!(file.is_closed());
        prop_assert_eq!(file.flows(), flows.len() as u64);
        prop_assert_eq!(&file.read_all().unwrap(), &flows);
        let t = file.trailer().unwrap().totals;
        prop_assert_eq!(t.flows, flows.len() as u64);
        let packets = flows.iter().fold(0u64, |a, f| a.saturating_add(f.packets));
        if flows.iter().all(|f| f.packets < 1 << 40) {
            prop_assert_eq!(t.packets, packets);
        }
    }
}

#[test]
fn many_flows_in_big_blocks_round_trip() {
    let flows: Vec<Flow> = (0..100_000u64)
        .map(|i| Flow {
            start_ms: 1_700_000_000_000 + (i as i64) * 3,
            end_ms: 1_700_000_000_000 + (i as i64) * 3 + (i % 60_000) as i64,
            exporter: "192.0.2.1".parse().unwrap(),
            src_addr: if i % 4 == 0 {
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    0xdb8,
                    (i >> 16) as u16,
                    0,
                    0,
                    0,
                    0,
                    i as u16,
                ))
            } else {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i as u32 & 0xffff)))
            },
            dst_addr: IpAddr::V4(Ipv4Addr::from(0xc633_6400 | (i as u32 % 200))),
            src_port: (i * 7919 % 65536) as u16,
            dst_port: [443, 80, 53][i as usize % 3],
            protocol: 6,
            packets: i % 1000 + 1,
            octets: (i % 1000 + 1) * 700,
            ..Flow::default()
        })
        .collect();
    let bytes = write_stream(&flows, 16_384, 6);
    assert_eq!(read_stream(&bytes), flows);
}

#[test]
fn concatenated_streams_read_as_one() {
    let a: Vec<Flow> = (0..10)
        .map(|i| Flow {
            packets: i,
            ..Flow::default()
        })
        .collect();
    let b: Vec<Flow> = (10..25)
        .map(|i| Flow {
            packets: i,
            ..Flow::default()
        })
        .collect();
    let mut bytes = write_stream(&a, 4, 1);
    bytes.extend(write_stream(&b, 4, 1));
    let mut r = StreamReader::new(&bytes[..], "<mem>").unwrap();
    let mut out = Vec::new();
    let mut trailers = 0;
    while let Some(ev) = r.next_event(&mut out).unwrap() {
        if let StreamEvent::Trailer(_) = ev {
            trailers += 1;
        }
    }
    assert_eq!(trailers, 2);
    assert_eq!(out, [a, b].concat());
}

#[test]
fn stream_window_skips_blocks_without_decoding() {
    let flows: Vec<Flow> = (0..100)
        .map(|i| Flow {
            start_ms: i * 1000,
            end_ms: i * 1000 + 500,
            ..Flow::default()
        })
        .collect();
    let bytes = write_stream(&flows, 10, 1);
    let mut r = StreamReader::new(&bytes[..], "<mem>").unwrap();
    r.set_window(25_000, 45_000);
    let (mut decoded, mut skipped) = (0, 0);
    let mut out = Vec::new();
    while let Some(ev) = r.next_event(&mut out).unwrap() {
        match ev {
            StreamEvent::Block(_) => decoded += 1,
            StreamEvent::Skipped(_) => skipped += 1,
            _ => {}
        }
    }
    // Blocks of 10 flows cover 10 s each: 20-29, 30-39 and 40-49 overlap.
    assert_eq!((decoded, skipped), (3, 7));
    assert_eq!(out.len(), 30);
}

#[test]
fn truncated_stream_is_an_error_naming_the_offset() {
    let flows: Vec<Flow> = (0..50)
        .map(|i| Flow {
            packets: i,
            ..Flow::default()
        })
        .collect();
    let bytes = write_stream(&flows, 10, 1);
    let cut = &bytes[..bytes.len() - 40];
    let mut r = StreamReader::new(cut, "<pipe>").unwrap();
    let mut out = Vec::new();
    let err = loop {
        match r.next_event(&mut out) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("truncated stream read to a clean end"),
            Err(e) => break e,
        }
    };
    let msg = err.to_string();
    assert!(msg.contains("<pipe>") && msg.contains("offset"), "{msg}");
    assert_eq!(out.len(), 50, "every whole block before the cut is read");
}

#[test]
fn column_layout_beats_row_layout_on_size() {
    // The design choice the codec documents: on the same flows, column-wise
    // byte planes compress clearly better than the same values row-wise.
    let flows: Vec<Flow> = (0..16_384u64)
        .map(|i| {
            let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            Flow {
                start_ms: 1_700_000_000_000 + (i as i64) * 20 - (h % 60_000) as i64,
                end_ms: 1_700_000_000_000 + (i as i64) * 20,
                exporter: "192.0.2.1".parse().unwrap(),
                src_addr: IpAddr::V4(Ipv4Addr::from(0x0a01_0000 | (h as u32 & 0xfff))),
                dst_addr: IpAddr::V4(Ipv4Addr::from(0xc633_6400 | ((h >> 20) as u32 % 50))),
                src_port: 1024 + (h >> 32) as u16 % 60000,
                dst_port: [443, 443, 80, 53][(h >> 50) as usize % 4],
                protocol: 6,
                packets: 1 + (h >> 40) % 50,
                octets: (1 + (h >> 40) % 50) * (40 + (h >> 8) % 1400),
                input_if: 2,
                output_if: 3,
                ..Flow::default()
            }
        })
        .collect();
    let columns = write_stream(&flows, 16_384, 6).len();
    let mut rows = Vec::new();
    for f in &flows {
        rows.extend_from_slice(&f.start_ms.to_le_bytes());
        rows.extend_from_slice(&f.end_ms.to_le_bytes());
        for a in [f.exporter, f.src_addr, f.dst_addr, f.next_hop] {
            if let IpAddr::V4(v) = a {
                rows.extend_from_slice(&v.octets());
            }
        }
        rows.extend_from_slice(&f.src_port.to_le_bytes());
        rows.extend_from_slice(&f.dst_port.to_le_bytes());
        rows.push(f.protocol);
        rows.extend_from_slice(&f.packets.to_le_bytes());
        rows.extend_from_slice(&f.octets.to_le_bytes());
        rows.extend_from_slice(&f.input_if.to_le_bytes());
        rows.extend_from_slice(&f.output_if.to_le_bytes());
    }
    let row_size = zstd::bulk::compress(&rows, 6).unwrap().len();
    assert!(
        (columns as f64) < row_size as f64 * 0.8,
        "columns {columns} bytes vs rows {row_size} bytes"
    );
}

#[test]
fn file_flow_iterator_selects_per_flow_and_skips_blocks() {
    let flows: Vec<Flow> = (0..100)
        .map(|i| Flow {
            start_ms: i * 1000,
            end_ms: i * 1000 + 1500,
            packets: i as u64,
            ..Flow::default()
        })
        .collect();
    let bytes = write_stream(&flows, 10, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, &bytes).unwrap();
    let file = FlowFile::open(&path).unwrap();
    // Flows overlapping [25 s, 45 s): those starting 24..=44 (flow 24 ends at 25.5 s).
    let got: Vec<u64> = file
        .iter_flows(25_000, 45_000)
        .unwrap()
        .map(|f| f.unwrap().packets)
        .collect();
    assert_eq!(got, (24..=44).collect::<Vec<u64>>());
    assert_eq!(file.blocks_overlapping(25_000, 45_000).count(), 3);
    assert_eq!(file.iter_flows(i64::MIN, i64::MAX).unwrap().count(), 100);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `extend_from_slice` may cut blocks elsewhere than `extend`, never
    /// lose, duplicate or reorder a flow.
    #[test]
    fn extend_from_slice_keeps_every_flow_in_order(
        batches in proptest::collection::vec(0usize..70, 0..12),
        block in 1usize..40,
    ) {
        let mut all = Vec::new();
        let mut w = FileWriter::new(Vec::new(), Path::new("<mem>"), &header(), WriteOptions { block_records: block, level: 1 }).unwrap();
        let mut next = 0u64;
        for n in batches {
            let batch: Vec<Flow> = (0..n).map(|_| { next += 1; Flow { packets: next, ..Flow::default() } }).collect();
            w.extend_from_slice(&batch).unwrap();
            all.extend(batch);
        }
        let (bytes, trailer) = w.finish(1).unwrap();
        prop_assert_eq!(trailer.totals.flows, all.len() as u64);
        prop_assert_eq!(read_stream(&bytes), all);
    }
}
