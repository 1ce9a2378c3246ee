//! Golden tests of every `floe print` format on a fixed file, and an
//! independent check of the flow-tools layouts: Python's `%` operator (C
//! printf semantics) applies flow-print's own format strings to the JSON
//! output, and the lines must agree byte for byte.
//!
//! To regenerate the golden files after an intended change, run with
//! `FLOE_BLESS=1` and review the diff.

use std::path::Path;
use std::process::Command;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, WriteOptions};

mod common;
use common::{check_golden, FLOE};

/// Six flows covering IPv4 and IPv6, every flag bit, zero and 64-bit
/// counters, interfaces, AS numbers, sampling and times with milliseconds.
fn flows() -> Vec<Flow> {
    let t = utc_ms(2026, 11, 22, 9, 59, 58);
    let v4 = |s: &str| s.parse().unwrap();
    vec![
        Flow {
            start_ms: t + 7,
            end_ms: t + 2_250,
            exporter: v4("192.0.2.10"),
            src_addr: v4("10.1.2.3"),
            dst_addr: v4("192.168.100.200"),
            next_hop: v4("192.0.2.1"),
            src_port: 51234,
            dst_port: 443,
            protocol: 6,
            tcp_flags: 0x1b,
            tos: 0x28,
            packets: 10,
            octets: 1500,
            input_if: 3,
            output_if: 12,
            src_as: 64512,
            dst_as: 15169,
            src_mask: 24,
            dst_mask: 16,
            ..Flow::default()
        },
        Flow {
            start_ms: t + 1_000,
            end_ms: t + 1_000,
            exporter: v4("192.0.2.10"),
            src_addr: v4("172.16.0.1"),
            dst_addr: v4("8.8.8.8"),
            src_port: 53000,
            dst_port: 53,
            protocol: 17,
            packets: 1,
            octets: 72,
            input_if: 1,
            output_if: 2,
            ..Flow::default()
        },
        Flow {
            start_ms: t - 600_000,
            end_ms: t + 3_999,
            exporter: v4("2001:db8::10"),
            source_id: 7,
            src_addr: v4("2001:db8:ffff:1234:5678:9abc:def0:1"),
            dst_addr: v4("2a00:1450:4001:80b::200e"),
            next_hop: v4("fe80::1"),
            src_port: 40000,
            dst_port: 80,
            protocol: 6,
            tcp_flags: 0x1ff,
            packets: 12_000_000_000,
            octets: 18_000_000_000_000,
            input_if: 100_000,
            output_if: 7,
            src_as: 4_200_000_000,
            dst_as: 15169,
            src_mask: 48,
            dst_mask: 64,
            sampling_interval: 1000,
            engine_type: 1,
            engine_id: 2,
            ..Flow::default()
        },
        Flow {
            start_ms: t + 500,
            end_ms: t + 600,
            exporter: v4("192.0.2.11"),
            src_addr: v4("10.0.0.1"),
            dst_addr: v4("10.0.0.2"),
            src_port: 8,
            dst_port: 0,
            protocol: 1,
            packets: 0,
            octets: 0,
            ..Flow::default()
        },
        Flow {
            start_ms: t + 1_999,
            end_ms: t + 2_001,
            exporter: v4("192.0.2.11"),
            src_addr: v4("::1"),
            dst_addr: v4("::ffff:192.0.2.5"),
            protocol: 58,
            src_port: 128,
            packets: 3,
            octets: 312,
            ..Flow::default()
        },
        Flow {
            start_ms: utc_ms(2026, 1, 1, 0, 0, 0),
            end_ms: utc_ms(2026, 12, 31, 23, 59, 59) + 999,
            exporter: v4("192.0.2.12"),
            src_addr: v4("255.255.255.255"),
            dst_addr: v4("0.0.0.0"),
            src_port: 65535,
            dst_port: 65535,
            protocol: 255,
            tcp_flags: 0x07,
            tos: 255,
            packets: 4_294_967_296,
            octets: u64::MAX,
            input_if: u32::MAX,
            output_if: 65535,
            ..Flow::default()
        },
    ]
}

fn write_file(path: &Path) {
    let header = FileHeader {
        created_ms: utc_ms(2026, 11, 22, 10, 0, 0),
        period: None,
        host: "golden".into(),
        zone: "UTC".into(),
        writer: "print_formats test".into(),
    };
    let opts = WriteOptions {
        block_records: 4,
        level: 1,
    };
    let out = std::fs::File::create(path).unwrap();
    let mut w = FileWriter::new(out, path, &header, opts).unwrap();
    w.extend(flows().iter()).unwrap();
    w.finish(utc_ms(2026, 11, 22, 10, 0, 0)).unwrap();
}

fn print(file: &Path, args: &[&str]) -> String {
    floe_test_support::run_ok(
        Command::new(FLOE)
            .arg("print")
            .args(["--zone", "UTC"])
            .args(args)
            .arg(file),
    )
}

#[test]
fn every_format_matches_its_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("golden.floe");
    write_file(&file);
    for (name, args) in [
        // Protocol names, ICMP as type.code (NetFlow's type × 256 + code).
        ("print-table.txt", &["-f", "table"][..]),
        ("print-table-numeric.txt", &["--numeric"][..]),
        ("print-table-human.txt", &["-H"][..]),
        ("print-table-all.txt", &["--fields", "all"][..]),
        ("print-csv.txt", &["-f", "csv", "--fields", "all"][..]),
        ("print-json.txt", &["-f", "json", "--fields", "all"][..]),
        ("print-flow-tools-3.txt", &["-f", "3"][..]),
        ("print-flow-tools-5.txt", &["-f", "flow-tools-5"][..]),
    ] {
        check_golden(name, &print(&file, args));
    }
    // --records cuts every format after N flows (the header stays).
    assert_eq!(print(&file, &["-f", "csv", "-n", "2"]).lines().count(), 3);
    assert_eq!(print(&file, &["-f", "5", "-n", "2"]).lines().count(), 4);
}

/// flow-print's printf formats, applied by Python to the JSON output.
const ORACLE: &str = r#"
import json, sys
from datetime import datetime, timezone
fmt = sys.argv[1]
if fmt == "3":
    print("srcIP            dstIP            prot  srcPort  dstPort  octets      packets")
else:
    print("Start             End               Sif   SrcIPaddress    SrcP  DIf   DstIPaddress    DstP    P Fl Pkts       Octets\n")
def t(iso):
    d = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc)
    return "%-2.2d%-2.2d.%-2.2d:%-2.2d:%-2.2d.%-3.3lu " % (d.month, d.day, d.hour, d.minute, d.second, d.microsecond // 1000)
for line in sys.stdin:
    f = json.loads(line)
    if fmt == "3":
        # flow-print cuts at 15 columns (%-15.15s); floe never cuts an address.
        sys.stdout.write("%-15s  %-15s  %-4.4s  %-7.7s  %-7.7s  %-10lu  %-10lu\n" % (
            f["ip-source-address"], f["ip-destination-address"], f["ip-protocol"],
            f["ip-source-port"], f["ip-destination-port"], f["octets"], f["packets"]))
    else:
        sys.stdout.write(t(f["start-time"]) + t(f["end-time"]))
        sys.stdout.write("%-5u %-15s %-5u %-5u %-15s %-5u %-3u %-2d %-10lu %-10lu\n" % (
            f["input-interface"], f["ip-source-address"], f["ip-source-port"],
            f["output-interface"], f["ip-destination-address"], f["ip-destination-port"],
            f["ip-protocol"], f["ip-tcp-flags"] & 0x7, f["packets"], f["octets"]))
"#;

#[test]
fn flow_tools_layouts_agree_with_flow_prints_printf_formats() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("golden.floe");
    write_file(&file);
    let json = print(&file, &["-f", "json", "--fields", "all"]);
    for fmt in ["3", "5"] {
        let mut py = Command::new(floe_test_support::python3())
            .args(["-c", ORACLE, fmt])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is a test prerequisite (scripts/test checks it)");
        use std::io::Write;
        py.stdin.take().unwrap().write_all(json.as_bytes()).unwrap();
        let want = py.wait_with_output().unwrap();
        assert!(want.status.success());
        assert_eq!(
            print(&file, &["-f", fmt]),
            String::from_utf8(want.stdout).unwrap(),
            "-f {fmt}"
        );
    }
}
