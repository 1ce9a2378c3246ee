//! What a hostile or broken exporter can make the decoder keep is bounded
//! by the decoder's limits, wherever it is kept: in the streams, in the
//! template file, in the data held for templates that never come.

use std::net::{IpAddr, Ipv4Addr};

use floe_flow::Counter;
use floe_netflow::{Decoder, DecoderConfig, FileTemplateStore};

const EXPORT_SECS: u32 = 1_795_305_600;
const NOW: i64 = EXPORT_SECS as i64 * 1000;

fn from() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5))
}

fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut s = id.to_be_bytes().to_vec();
    s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

fn v9(seq: u32, source_id: u32, rest: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 9, 0, 1];
    d.extend_from_slice(&86_400_000u32.to_be_bytes());
    d.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&source_id.to_be_bytes());
    d.extend_from_slice(rest);
    d
}

/// A v9 template record: source, destination, octets.
fn template(id: u16) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    t.extend_from_slice(&3u16.to_be_bytes());
    for (ie, len) in [(8u16, 4u16), (12, 4), (1, 4)] {
        t.extend_from_slice(&ie.to_be_bytes());
        t.extend_from_slice(&len.to_be_bytes());
    }
    t
}

#[test]
fn the_template_file_keeps_no_more_than_the_decoder_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("templates.bin");
    let (store, _) = FileTemplateStore::open(&path).unwrap();
    let mut dec = Decoder::new(DecoderConfig {
        max_templates_per_exporter: 4,
        ..DecoderConfig::default()
    })
    .with_template_store(store.clone());
    // Template churn: one exporter announces ids 256, 257, ... one after
    // the other, as a broken exporter (or a hostile one) may.
    let mut forgotten = 0;
    for (seq, first) in (256u16..2256).step_by(100).enumerate() {
        let sets: Vec<u8> = (first..first + 100).flat_map(template).collect();
        let mut out = Vec::new();
        let o = dec.decode(from(), &v9(seq as u32, 1, &set(0, &sets)), NOW, &mut out);
        forgotten += o.counters.extra[Counter::TemplatesForgotten];
    }
    assert_eq!(forgotten, 2000 - 4);
    assert_eq!(dec.templates_known()[0].1, 4);
    assert_eq!(
        store.len(),
        4,
        "the template file forgets what the decoder forgot"
    );
    // What it keeps is what the decoder kept: a restart decodes data under
    // the latest templates.
    store.save().unwrap();
    let (store, _) = FileTemplateStore::open(&path).unwrap();
    assert_eq!(store.len(), 4);
    let mut dec = Decoder::new(DecoderConfig::default()).with_template_store(store);
    let mut out = Vec::new();
    let data = set(2255, &[10, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 9]);
    dec.decode(from(), &v9(100, 1, &data), NOW, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn templates_pushed_out_by_refused_ones_are_counted_as_forgotten() {
    let mut dec = Decoder::new(DecoderConfig {
        max_templates_per_exporter: 4,
        ..DecoderConfig::default()
    });
    let good: Vec<u8> = (300u16..304).flat_map(template).collect();
    let mut out = Vec::new();
    dec.decode(from(), &v9(0, 1, &set(0, &good)), NOW, &mut out);
    // Two templates floe refuses (an IPv4 address of 16 bytes) take the
    // place of the two least recently used.
    let refused: Vec<u8> = (400u16..402)
        .flat_map(|id| {
            let mut t = id.to_be_bytes().to_vec();
            t.extend_from_slice(&[0, 1, 0, 8, 0, 16]);
            t
        })
        .collect();
    let o = dec.decode(from(), &v9(1, 1, &set(0, &refused)), NOW, &mut out);
    assert_eq!(o.counters.extra[Counter::TemplatesRefused], 2);
    assert_eq!(o.counters.extra[Counter::TemplatesForgotten], 2);
    assert_eq!(dec.templates_known()[0].1, 4);
}

#[test]
fn early_data_held_over_all_streams_is_bounded() {
    // Each made-up observation domain is a stream of its own, allowed its
    // own early data: without a bound over all of them, 2048 streams of
    // 256 KiB each would hold half a gigabyte.
    let cfg = DecoderConfig::default();
    let per_stream = cfg.pending_bytes;
    let total = cfg.pending_bytes_total;
    assert!(total < cfg.max_exporters * per_stream);
    let mut dec = Decoder::new(cfg);
    let body = vec![7u8; 60_000];
    let mut expired = 0;
    let mut out = Vec::new();
    for domain in 0..2000u32 {
        // An IPFIX message of one data set under a template never sent.
        let sets = set(300, &body);
        let mut m = vec![0, 10];
        m.extend_from_slice(&((16 + sets.len()) as u16).to_be_bytes());
        m.extend_from_slice(&EXPORT_SECS.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&domain.to_be_bytes());
        m.extend_from_slice(&sets);
        let o = dec.decode(from(), &m, NOW, &mut out);
        expired += o.counters.extra[Counter::EarlyDataExpired];
        for (_, c) in dec.drain_counters() {
            expired += c.extra[Counter::EarlyDataExpired];
        }
        assert!(dec.held_bytes() <= total, "{} held", dec.held_bytes());
    }
    // What did not fit is counted, as what is held is when it expires.
    let held_sets = dec.held_bytes() / body.len();
    assert_eq!(expired as usize + held_sets, 2000);
    assert!(held_sets > 0);
}

/// A template file entry (format FLOETPL2): scope, id, options flag, scope
/// field count, fields (element, length, no enterprise).
fn stored(scope: &str, id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut e = (scope.len() as u16).to_le_bytes().to_vec();
    e.extend_from_slice(scope.as_bytes());
    e.extend_from_slice(&id.to_le_bytes());
    e.push(0);
    e.extend_from_slice(&0u16.to_le_bytes());
    e.extend_from_slice(&(fields.len() as u16).to_le_bytes());
    for (ie, len) in fields {
        e.extend_from_slice(&ie.to_le_bytes());
        e.extend_from_slice(&len.to_le_bytes());
        e.push(0);
    }
    e
}

#[test]
fn templates_restored_from_the_file_are_checked_as_announced_ones_are() {
    // A template file from an older floe (or damaged, or edited) holding
    // templates floe refuses when an exporter announces them: an IPv4
    // address of 16 bytes, more fields than allowed. They are not used.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("templates.bin");
    let scope = "192.0.2.5/v9/1";
    let many: Vec<(u16, u16)> = (0..300).map(|_| (1u16, 4u16)).collect();
    let file = [
        b"FLOETPL2".to_vec(),
        stored(scope, 300, &[(8, 16), (12, 4), (1, 4)]),
        stored(scope, 301, &many),
        stored(scope, 302, &[(8, 4), (12, 4), (1, 4)]),
    ]
    .concat();
    std::fs::write(&path, file).unwrap();
    let (store, _) = FileTemplateStore::open(&path).unwrap();
    let mut dec = Decoder::new(DecoderConfig::default()).with_template_store(store);
    let mut out = Vec::new();
    let bad = set(300, &[7; 24]);
    let o = dec.decode(from(), &v9(0, 1, &bad), NOW, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(dec.templates_known()[0].1, 1, "only the good one restored");
    assert_eq!(o.counters.bad_datagrams, 0, "held: its template may come");
    let many_data = set(301, &vec![0; 1200]);
    dec.decode(from(), &v9(1, 1, &many_data), NOW, &mut out);
    assert!(out.is_empty());
    let good = set(302, &[10, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 9]);
    dec.decode(from(), &v9(2, 1, &good), NOW, &mut out);
    assert_eq!(out.len(), 1);
}
