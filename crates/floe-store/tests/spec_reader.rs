//! The format specification is enough to read floe files: an independent
//! Python reader written from `schemas/floe-file-format.md` alone
//! (`tests/spec_reader.py`) reads a file floe wrote, and finds the same
//! flows, totals and counters as floe's own reader.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use floe_flow::Flow;
use floe_store::{ExporterCounters, ExporterKey, FileHeader, FileWriter, FlowFile, WriteOptions};

fn flows() -> Vec<Flow> {
    (0..5000u64)
        .map(|i| Flow {
            start_ms: 1_795_305_600_000 + (i as i64) * 17 - (i % 97) as i64 * 1000,
            end_ms: 1_795_305_600_000 + (i as i64) * 17,
            exporter: if i % 11 == 0 {
                "2001:db8::9".parse().unwrap()
            } else {
                "192.0.2.1".parse().unwrap()
            },
            source_id: (i % 3) as u32,
            src_addr: if i % 5 == 0 {
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    0xdb8,
                    1,
                    0,
                    0,
                    0,
                    (i >> 16) as u16,
                    i as u16,
                ))
            } else {
                format!("10.1.{}.{}", i / 256 % 256, i % 256)
                    .parse()
                    .unwrap()
            },
            dst_addr: format!("198.51.100.{}", i % 200).parse().unwrap(),
            next_hop: "192.0.2.254".parse().unwrap(),
            src_port: (40_000 + i * 7 % 20_000) as u16,
            dst_port: [443, 80, 53][i as usize % 3],
            protocol: [6, 17][i as usize % 2],
            tcp_flags: (i % 64) as u16,
            tos: 0,
            packets: 1 + i % 1000,
            octets: (1 + i % 1000) * 1400 + (1 << 33) * (i % 2),
            input_if: 1 + (i % 4) as u32,
            output_if: 7,
            src_as: 65_000 + (i % 5) as u32,
            dst_as: 4_200_000_000,
            src_mask: 24,
            dst_mask: 16,
            sampling_interval: 1000,
            engine_type: 1,
            engine_id: (i % 2) as u8,
        })
        .collect()
}

#[test]
fn python_reader_written_from_the_spec_agrees_with_floe() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/spec_reader.py");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.floe");
    let header = FileHeader {
        created_ms: 5,
        period: Some(floe_store::Period {
            start_ms: 1,
            end_ms: 2,
        }),
        host: "spec-host".into(),
        zone: "Europe/Amsterdam".into(),
        writer: "spec-test".into(),
    };
    let file = std::fs::File::create(&path).unwrap();
    let opts = WriteOptions {
        block_records: 1500,
        level: 3,
    };
    let mut w = FileWriter::new(file, &path, &header, opts).unwrap();
    let key = ExporterKey {
        address: "192.0.2.1".parse().unwrap(),
        source_id: 2,
    };
    let mut counters = ExporterCounters {
        datagrams: 170,
        flows: 5000,
        lost_flows: 3,
        sequence_resets: 1,
        bad_datagrams: 2,
        reordered_datagrams: 4,
        ..Default::default()
    };
    counters.extra[floe_flow::Counter::TemplatesRefused] = 9;
    w.add_counters(key, &counters);
    let all = flows();
    w.extend(&all).unwrap();
    w.finish(77).unwrap();

    let text = floe_test_support::run_ok(
        Command::new(floe_test_support::python3())
            .arg(&script)
            .arg(&path),
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), all.len() + 1);
    for (line, f) in lines.iter().zip(&all) {
        let expect = format!(
            concat!(
                "{{\"dst_addr\": \"{}\", \"dst_as\": {}, \"dst_mask\": {}, \"dst_port\": {}, ",
                "\"end_ms\": {}, \"engine_id\": {}, \"engine_type\": {}, \"exporter\": \"{}\", ",
                "\"input_if\": {}, \"next_hop\": \"{}\", \"octets\": {}, \"output_if\": {}, ",
                "\"packets\": {}, \"protocol\": {}, \"sampling_interval\": {}, \"source_id\": {}, ",
                "\"src_addr\": \"{}\", \"src_as\": {}, \"src_mask\": {}, \"src_port\": {}, ",
                "\"start_ms\": {}, \"tcp_flags\": {}, \"tos\": {}}}"
            ),
            f.dst_addr,
            f.dst_as,
            f.dst_mask,
            f.dst_port,
            f.end_ms,
            f.engine_id,
            f.engine_type,
            f.exporter,
            f.input_if,
            f.next_hop,
            f.octets,
            f.output_if,
            f.packets,
            f.protocol,
            f.sampling_interval,
            f.source_id,
            f.src_addr,
            f.src_as,
            f.src_mask,
            f.src_port,
            f.start_ms,
            f.tcp_flags,
            f.tos
        );
        assert_eq!(*line, expect);
    }
    let ours = FlowFile::open(&path).unwrap();
    let t = ours.trailer().unwrap();
    let last = lines.last().unwrap();
    for needle in [
        format!("\"flows\": {}", t.totals.flows),
        format!("\"packets\": {}", t.totals.packets),
        format!("\"octets\": {}", t.totals.octets),
        format!("\"first_ms\": {}", t.totals.first_ms),
        format!("\"last_ms\": {}", t.totals.last_ms),
        "\"closed_ms\": 77".to_string(),
        "\"host\": \"spec-host\"".to_string(),
        "\"zone\": \"Europe/Amsterdam\"".to_string(),
        "\"lost_flows\": 3".to_string(),
        "\"reordered_datagrams\": 4".to_string(),
        "\"templates_refused\": 9".to_string(),
        "\"source_id\": 2".to_string(),
        // Every block's statistics read, and found to hold for its flows.
        "\"blocks_with_statistics\": 4".to_string(),
    ] {
        assert!(last.contains(&needle), "{needle} not in {last}");
    }
    assert_eq!(t.blocks.len(), 4);
}

/// The Python reader enforces the limits the specification states, as
/// floe does: a block claiming more flows than a block holds, or more
/// flows than its columns have values, is refused by both, naming the
/// block's offset, before anything is decoded.
#[test]
fn python_reader_enforces_the_specs_limits_as_floe_does() {
    use floe_store::format::{encode_frame, FRAME_HEADER_LEN, KIND_BLOCK};
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/spec_reader.py");
    let dir = tempfile::tempdir().unwrap();
    let header = FileHeader {
        created_ms: 5,
        period: None,
        host: "h".into(),
        zone: "UTC".into(),
        writer: "spec-test".into(),
    };
    let mut w = FileWriter::new(
        Vec::new(),
        Path::new("<mem>"),
        &header,
        WriteOptions::default(),
    )
    .unwrap();
    w.extend(&flows()[..1]).unwrap();
    let good = w.finish(77).unwrap().0;
    let at = floe_store::format::encode_file_header(&header).len();
    let body_len = u32::from_le_bytes(good[at + 4..at + 8].try_into().unwrap()) as usize;
    let body_at = at + FRAME_HEADER_LEN;
    for (records, says) in [
        (
            u32::MAX,
            "block claims 4294967295 flows; a block holds at most 1048576",
        ),
        (2, "claims 1 values in a block of 2 flows"),
    ] {
        let mut body = good[body_at..body_at + body_len].to_vec();
        body[0..4].copy_from_slice(&records.to_le_bytes());
        let mut bytes = good.clone();
        bytes[at..body_at + body_len].copy_from_slice(&encode_frame(KIND_BLOCK, 0, &body));
        let path = dir.path().join(format!("hostile-{records}.floe"));
        std::fs::write(&path, &bytes).unwrap();

        let out = Command::new("python3")
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("corrupt block at byte offset {at}: ")) && err.contains(says),
            "{err}"
        );
        let e = FlowFile::open(&path)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("corrupt block at byte offset {at}: ")) && e.contains(says),
            "{e}"
        );
    }
}
