//! `floe send`: v5 flows that a collector takes as they are (none starts
//! after it ends or ends after it was exported), versions it does not
//! send refused by name, and IPFIX: decoded field by field back to the
//! generated flows, and stored by a real floed.

use std::net::{IpAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use floe_flow::Flow;
use floe_netflow::{Decoder, DecoderConfig};
use floe_synth::{realistic_flows, Mix};

mod common;
use common::{Floed, FLOE};

/// Sends `args` to a socket here and decodes what arrives (`n` flows),
/// with the export time of each datagram.
fn send_and_decode(args: &[&str], n: usize) -> Vec<(Flow, i64)> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let to = sock.local_addr().unwrap().to_string();
    // Read while it sends, at a pace a loaded test machine keeps up with.
    let child = Command::new(FLOE)
        .args(["send", "--rate", "50000", "--to", &to])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < n {
        let (len, from) = sock.recv_from(&mut buf).expect("every flow arrives");
        let d = &buf[..len];
        // v5, v9 and IPFIX all carry the export time's seconds here
        // (v5 and v9 at offset 8, IPFIX at 4).
        let at = if d[1] == 10 { 4 } else { 8 };
        let export_s = u32::from_be_bytes(d[at..at + 4].try_into().unwrap());
        let mut flows = Vec::new();
        dec.decode(from.ip(), d, 0, &mut flows);
        got.extend(flows.into_iter().map(|f| (f, i64::from(export_s) * 1000)));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    got
}

#[test]
fn v5_flows_start_before_they_end_and_end_before_their_export() {
    // The quick start's send, where 19 of 20 000 flows once started after
    // they ended.
    let got = send_and_decode(&["--count", "20000"], 20_000);
    assert_eq!(got.len(), 20_000);
    for (f, export_ms) in &got {
        assert!(f.start_ms <= f.end_ms, "{f:?}");
        assert!(
            f.end_ms <= *export_ms,
            "{} after the export {export_ms}",
            f.end_ms
        );
    }
}

#[test]
fn versions_floe_does_not_send_are_refused_by_name() {
    for v in ["1", "6", "7", "8"] {
        let out = Command::new(FLOE)
            .args(["send", "--netflow-version", v, "--count", "1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "v{v}");
        assert!(
            err.contains(&format!("does not send NetFlow v{v}")),
            "v{v}: {err}"
        );
    }
    let out = Command::new(FLOE)
        .args(["send", "--ipfix", "--netflow-version", "9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The flows `floe send --until UNTIL --span 1h --seed 3 --count N`
/// generates, as a collector receiving them from `from` knows them.
fn generated(n: usize, until_s: i64, from: IpAddr, domain: u32) -> Vec<Flow> {
    let mix = Mix {
        day_start_ms: until_s * 1000 - 3_600_000,
        span_ms: 3_600_000,
        ipv6_share: 0.2,
    };
    realistic_flows(n, 3, &mix)
        .into_iter()
        .map(|f| Flow {
            exporter: from,
            source_id: domain,
            ..f
        })
        .collect()
}

fn sorted(mut v: Vec<Flow>) -> Vec<Flow> {
    v.sort_by_key(|f| (f.end_ms, f.start_ms, f.src_addr, f.src_port, f.octets));
    v
}

fn until() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now - 7200
}

#[test]
fn ipfix_from_send_decodes_to_the_generated_flows_field_by_field() {
    let until = until();
    let args = [
        "--ipfix",
        "--count",
        "3000",
        "--seed",
        "3",
        "--span",
        "1h",
        "--source-id",
        "77",
        "--until",
        &until.to_string(),
    ];
    let got: Vec<Flow> = send_and_decode(&args, 3000)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    let want = generated(3000, until, "127.0.0.1".parse().unwrap(), 77);
    let (got, want) = (sorted(got), sorted(want));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    assert!(got.iter().any(|f| f.src_addr.is_ipv6()));
}

#[test]
fn a_real_floed_stores_what_send_sends_over_ipfix() {
    let dir = tempfile::tempdir().unwrap();
    let floed = Floed::start(dir.path());
    let until = until();
    let out = Command::new(FLOE)
        .args([
            "send", "--ipfix", "--rate", "20000", "--count", "2000", "--seed", "3",
        ])
        .args([
            "--span",
            "1h",
            "--source-id",
            "5",
            "--until",
            &until.to_string(),
        ])
        .args(["--to", &format!("127.0.0.1:{}", floed.port)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(1500));
    floed.stop();
    let stored: Vec<Flow> = floe_store::walk(&dir.path().join("flows"))
        .unwrap()
        .iter()
        .flat_map(|f| {
            floe_store::FlowFile::open(&f.path)
                .unwrap()
                .read_all()
                .unwrap()
        })
        .collect();
    let want = generated(2000, until, "127.0.0.1".parse().unwrap(), 5);
    assert_eq!(sorted(stored), sorted(want));
    // And floe info counts them under the exporter, with nothing odd.
    let info = Command::new(FLOE)
        .args(["info"])
        .arg(dir.path().join("flows"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    let line = text.lines().find(|l| l.contains("127.0.0.1 (5)")).unwrap();
    assert_eq!(line.split_whitespace().nth(3), Some("2000"), "{text}");
    assert!(!text.contains("absurd_times"), "{text}");
}
