//! `floe decode`: captures of exports (pcap, or datagrams back to back)
//! through floed's decoder, said set by set; templates carried from file
//! to file; the flows in floe print's formats.

use std::path::Path;
use std::process::Command;

use floe_test_support::run_ok;

mod common;
use common::FLOE;
use floe_test_support::datagram::{set, template, v9, EXPORT_SECS};

const LAYOUT: &[(u16, u16)] = &[(8, 4), (12, 4), (1, 4), (11, 2)];

fn record(i: u8) -> Vec<u8> {
    let mut r = vec![10, 0, 0, i, 192, 0, 2, i];
    r.extend_from_slice(&(1000 + u32::from(i)).to_be_bytes());
    r.extend_from_slice(&443u16.to_be_bytes());
    r
}

/// A classic pcap of UDP datagrams from 192.0.2.7 to `port`.
fn pcap(path: &Path, port: u16, datagrams: &[Vec<u8>]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, d) in datagrams.iter().enumerate() {
        let mut pkt = vec![0; 12];
        pkt.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 8 + d.len()) as u16;
        pkt.extend_from_slice(&[0x45, 0]);
        pkt.extend_from_slice(&total.to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 7, 192, 0, 2, 10]);
        pkt.extend_from_slice(&50_000u16.to_be_bytes());
        pkt.extend_from_slice(&port.to_be_bytes());
        pkt.extend_from_slice(&((8 + d.len()) as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 0]);
        pkt.extend_from_slice(d);
        b.extend_from_slice(&(EXPORT_SECS + i as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        b.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        b.extend_from_slice(&pkt);
    }
    std::fs::write(path, b).unwrap();
}

/// The same capture as pcapng (what Wireshark and dumpcap write): a
/// section header, an Ethernet interface, one enhanced packet block per
/// packet of the classic pcap at `from`.
fn pcapng(from: &Path, to: &Path) {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let len = (12 + body.len()) as u32;
        [
            &kind.to_le_bytes()[..],
            &len.to_le_bytes(),
            &body,
            &len.to_le_bytes(),
        ]
        .concat()
    }
    let classic = std::fs::read(from).unwrap();
    let shb = [&0x1a2b_3c4du32.to_le_bytes()[..], &[1, 0, 0, 0], &[0xff; 8]].concat();
    let mut out = block(0x0a0d_0d0a, &shb);
    out.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
    let mut at = 24;
    while at < classic.len() {
        let u32_at = |i: usize| u32::from_le_bytes(classic[i..i + 4].try_into().unwrap());
        let (secs, len) = (u64::from(u32_at(at)), u32_at(at + 8) as usize);
        let ts = secs * 1_000_000;
        let epb = [
            &0u32.to_le_bytes()[..],
            &((ts >> 32) as u32).to_le_bytes(),
            &(ts as u32).to_le_bytes(),
            &(len as u32).to_le_bytes(),
            &(len as u32).to_le_bytes(),
            &classic[at + 16..at + 16 + len],
        ]
        .concat();
        out.extend(block(6, &epb));
        at += 16 + len;
    }
    std::fs::write(to, out).unwrap();
}

fn decode(args: &[&str]) -> String {
    run_ok(Command::new(FLOE).arg("decode").args(args))
}

#[test]
fn each_set_is_said_with_its_offset_and_what_became_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let refused = template(301, &[(8, 16), (1, 4)]);
    let body = [
        set(0, &[template(300, LAYOUT), refused].concat()),
        set(300, &[record(1), record(2)].concat()),
        set(301, &[0; 20]),
        set(999, &[1, 2, 3, 4]),
        vec![0; 7],
    ]
    .concat();
    let cap = dir.path().join("exports.pcap");
    pcap(&cap, 2055, &[v9(0, &body), vec![0, 7, 1]]);
    let text = decode(&[cap.to_str().unwrap()]);
    for want in [
        "datagram 1:",
        "packet 1, 192.0.2.7:50000 -> port 2055",
        "NetFlow v9",
        "message at byte 0: exported 2026-11-22T00:00:00.000Z, sequence 0, source id / domain 3",
        "set 0 at byte 20",
        "template 300 (4 fields: 8/4 12/4 1/4 11/2)",
        "REFUSED template 301: element 8 has length 16, its type takes 4 bytes",
        "data, 2 records, 2 flows",
        "NOT DECODED: data set at byte",
        "under template 301, which was refused",
        "set 999 at byte",
        "held until it comes",
        "padding at byte",
        "7 zero bytes",
        "=> 2 flows",
        "datagram 2:",
        "nothing decoded: v7 datagram of 3 bytes is shorter than its header",
        "2 datagrams, 2 flows; 1 datagrams nothing could be decoded from, 1 parts not decoded",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // JSON: one object per datagram.
    let json = decode(&["--json", cap.to_str().unwrap()]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["flows"], 2);
    assert_eq!(first["from"], "192.0.2.7");
    let kinds: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "message",
            "templates",
            "data",
            "undecoded",
            "held",
            "padding"
        ]
    );
    // --port keeps the datagrams to that port.
    let none = decode(&["--port", "9995", cap.to_str().unwrap()]);
    assert!(none.starts_with("0 datagrams"), "{none}");
}

#[test]
fn templates_carry_over_files_and_flows_print_as_floe_print_does() {
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("templates.pcap");
    let data = dir.path().join("data.bin");
    pcap(&tpl, 2055, &[v9(0, &set(0, &template(300, LAYOUT)))]);
    // Raw datagrams back to back (a v9 datagram takes the rest of the
    // file), taken as coming from the capture's exporter.
    std::fs::write(&data, v9(1, &set(300, &[record(5), record(6)].concat()))).unwrap();
    let csv = decode(&[
        "--flows",
        "-f",
        "csv",
        "--fields",
        "ip-source-address,octets,ip-destination-port",
        tpl.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert_eq!(
        csv,
        "ip-source-address,octets,ip-destination-port\n10.0.0.5,1005,443\n10.0.0.6,1006,443\n"
    );
    // Alone, the data has no template: held, and said so.
    let alone = decode(&[data.to_str().unwrap()]);
    assert!(alone.contains("held until it comes"), "{alone}");
    assert!(alone.contains("=> 0 flows"), "{alone}");
    // A print format without --flows is a usage error.
    let o = Command::new(FLOE)
        .args(["decode", "-f", "csv"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("add --flows"));
}

#[test]
fn the_shared_corpus_decodes_without_a_loss() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/netflow-corpus");
    let cap = root.join("telegraf/_pcap/issue_14370/message.bin.pcap");
    if !cap.exists() {
        floe_test_support::skip("../shared/netflow-corpus absent");
        return;
    }
    let text = decode(&[cap.to_str().unwrap()]);
    assert!(text.contains("=> 2 flows"), "{text}");
    assert!(
        text.contains("note: set 257 at byte 208 runs past its message's end at byte 290"),
        "{text}"
    );
}

#[test]
fn pcapng_captures_are_decoded_as_pcap_ones() {
    let dir = tempfile::tempdir().unwrap();
    let body = [
        set(0, &template(300, LAYOUT)),
        set(300, &[record(1), record(2)].concat()),
    ]
    .concat();
    let cap = dir.path().join("exports.pcap");
    pcap(&cap, 2055, &[v9(0, &body), v9(1, &set(300, &record(3)))]);
    let ng = dir.path().join("exports.pcapng");
    pcapng(&cap, &ng);
    let classic = decode(&[cap.to_str().unwrap()]);
    let text = decode(&[ng.to_str().unwrap()]);
    assert!(
        text.contains("packet 2, 192.0.2.7:50000 -> port 2055")
            && text.contains("2 datagrams, 3 flows"),
        "{text}"
    );
    assert_eq!(text.replace("exports.pcapng", "exports.pcap"), classic);
}

#[test]
fn the_summary_counts_the_losses_of_every_message_of_a_datagram() {
    // One datagram of two IPFIX messages from two observation domains;
    // the second has a set running past its end.
    let message = |domain: u32, sets: &[u8]| {
        let mut m = vec![0, 10];
        m.extend_from_slice(&((16 + sets.len()) as u16).to_be_bytes());
        m.extend_from_slice(&EXPORT_SECS.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&domain.to_be_bytes());
        m.extend_from_slice(sets);
        m
    };
    let good = [set(2, &template(300, LAYOUT)), set(300, &record(1))].concat();
    let mut bad = good.clone();
    bad.extend_from_slice(&[1, 44, 0, 200, 9, 9]);
    let d = [message(1, &good), message(2, &bad)].concat();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("two.pcap");
    pcap(&cap, 4739, &[d]);
    let text = decode(&[cap.to_str().unwrap()]);
    assert!(
        text.contains(
            "1 datagrams, 2 flows; 0 datagrams nothing could be decoded from, 1 parts not decoded"
        ),
        "{text}"
    );
}
