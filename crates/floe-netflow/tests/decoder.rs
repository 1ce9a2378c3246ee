//! The decoder's behaviour on datagrams built by the encoder: round trips,
//! template scoping, persistence, early data, sequence accounting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floe_netflow::{
    DecodeEvent, Decoder, DecoderConfig, FileTemplateStore, Flow, V5Encoder, V9Encoder,
};
use proptest::prelude::*;

const BOOT: i64 = 1_795_000_000_000;
const NOW: i64 = 1_795_305_600_000;

fn exporter(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

prop_compose! {
    fn v4_flow()(
        src in any::<u32>(), dst in any::<u32>(), nh in any::<u32>(),
        sp in any::<u16>(), dp in any::<u16>(), proto in any::<u8>(), flags in any::<u8>(), tos in any::<u8>(),
        packets in any::<u32>(), octets in any::<u32>(), inif in any::<u16>(), outif in any::<u16>(),
        sas in any::<u16>(), das in any::<u16>(), sm in 0u8..=32, dm in 0u8..=32,
        age in 0i64..3_600_000, dur in 0i64..1_800_000,
    ) -> Flow {
        Flow {
            start_ms: NOW - age - dur, end_ms: NOW - age,
            src_addr: IpAddr::V4(Ipv4Addr::from(src)), dst_addr: IpAddr::V4(Ipv4Addr::from(dst)),
            next_hop: IpAddr::V4(Ipv4Addr::from(nh)),
            src_port: sp, dst_port: dp, protocol: proto, tcp_flags: flags.into(), tos,
            packets: packets.into(), octets: octets.into(), input_if: inif.into(), output_if: outif.into(),
            src_as: sas.into(), dst_as: das.into(), src_mask: sm, dst_mask: dm,
            ..Flow::default()
        }
    }
}

prop_compose! {
    fn v9_flow()(base in v4_flow(), v6 in any::<bool>(), s6 in any::<u128>(), d6 in any::<u128>(),
                 big in any::<u64>(), sampling in any::<u32>(), sas in any::<u32>()) -> Flow {
        let mut f = base;
        if v6 {
            f.src_addr = IpAddr::V6(Ipv6Addr::from(s6));
            f.dst_addr = IpAddr::V6(Ipv6Addr::from(d6));
            f.next_hop = IpAddr::V6(Ipv6Addr::from(s6 ^ d6));
            f.src_mask %= 129;
            f.dst_mask %= 129;
        }
        f.octets = big;
        f.src_as = sas;
        f.sampling_interval = sampling;
        f
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn v5_round_trips(flows in prop::collection::vec(v4_flow(), 1..=30), engine in any::<(u8, u8)>()) {
        let mut enc = V5Encoder::new(BOOT);
        enc.engine_type = engine.0;
        enc.engine_id = engine.1;
        let dgram = enc.encode(&flows, NOW);
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut out = Vec::new();
        let o = dec.decode(exporter(2), &dgram, NOW, &mut out);
        prop_assert_eq!(o.counters.bad_datagrams, 0);
        let want: Vec<Flow> = flows.iter().map(|f| Flow {
            exporter: exporter(2),
            source_id: u32::from(engine.0) << 8 | u32::from(engine.1),
            engine_type: engine.0,
            engine_id: engine.1,
            ..f.clone()
        }).collect();
        prop_assert_eq!(out, want);
    }

    #[test]
    fn v9_round_trips_with_random_flows_and_source_ids(
        batches in prop::collection::vec(prop::collection::vec(v9_flow(), 1..=30), 1..4),
        source_id in any::<u32>(),
    ) {
        let mut enc = V9Encoder::new(BOOT, source_id);
        let mut dec = Decoder::new(DecoderConfig::default());
        for flows in batches {
            let dgram = enc.encode(&flows, NOW);
            let mut out = Vec::new();
            let o = dec.decode(exporter(3), &dgram, NOW, &mut out);
            prop_assert_eq!(o.counters.bad_datagrams, 0);
            // The encoder puts IPv4 flows first, then IPv6 ones.
            let mut want: Vec<Flow> = flows.iter().filter(|f| !f.src_addr.is_ipv6())
                .chain(flows.iter().filter(|f| f.src_addr.is_ipv6()))
                .map(|f| Flow { exporter: exporter(3), source_id, ..f.clone() })
                .collect();
            for w in &mut want { w.tcp_flags &= 0xff; }
            prop_assert_eq!(out, want);
        }
    }
}

fn flows(n: usize, tag: u64) -> Vec<Flow> {
    (0..n)
        .map(|i| Flow {
            start_ms: NOW - 5000,
            end_ms: NOW - 1000,
            src_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8)),
            dst_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            dst_port: 443,
            protocol: 6,
            packets: tag,
            octets: tag * 100,
            ..Flow::default()
        })
        .collect()
}

#[test]
fn templates_are_scoped_by_exporter_and_source_id_not_by_port() {
    // Exporters A and B both use template id 256. Data from B must never
    // decode with A's template: it waits until B announces its own.
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut a = V9Encoder::new(BOOT, 1);
    let mut b = V9Encoder::new(BOOT, 1);
    let mut out = Vec::new();
    dec.decode(exporter(2), &a.encode(&flows(3, 1), NOW), NOW, &mut out);
    assert_eq!(out.len(), 3);
    // B's first datagram carries templates too; skip them to send data only.
    let _ = b.encode(&flows(1, 9), NOW);
    out.clear();
    dec.decode(exporter(3), &b.encode(&flows(2, 2), NOW), NOW, &mut out);
    assert!(
        out.is_empty(),
        "exporter B's data decoded with exporter A's template"
    );
    // Same address, other source id: a separate scope too.
    let mut c = V9Encoder::new(BOOT, 2);
    let _ = c.encode(&flows(1, 9), NOW);
    dec.decode(exporter(2), &c.encode(&flows(2, 3), NOW), NOW, &mut out);
    assert!(out.is_empty());
    // B announces its templates: its held data decodes now, with B's key.
    b.resend_templates();
    dec.decode(exporter(3), &b.encode(&flows(1, 4), NOW), NOW, &mut out);
    assert_eq!(out.len(), 3, "held data plus the new datagram's flow");
    assert!(out
        .iter()
        .all(|f| f.exporter == exporter(3) && f.source_id == 1));
    let learned = dec
        .drain_events()
        .filter(|e| matches!(e, DecodeEvent::TemplateLearned { .. }))
        .count();
    assert_eq!(learned, 4, "two templates each for A and B");
}

/// Routers resend their templates every few datagrams (Cisco: every 20).
/// A resend that repeats the known templates is no event and changes
/// nothing: the data after it is read by the compiled templates, and gives
/// what netflow_parser gives.
#[test]
fn template_refreshes_keep_the_data_on_the_compiled_path() {
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut oracle = floe_netflow::oracle::Oracle::default();
    let mut enc = V9Encoder::new(BOOT, 7);
    enc.template_every = 1;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..5u64 {
        let d = enc.encode(&flows(10, i), NOW);
        let o = dec.decode(exporter(2), &d, NOW, &mut a);
        oracle.decode(exporter(2), &d, &mut b);
        assert_eq!(o.compiled_records, 10, "datagram {i}");
    }
    assert_eq!(a, b, "floe and netflow_parser give the same flows");
    assert_eq!(a.len(), 50);
    let learned = dec
        .drain_events()
        .filter(|e| {
            matches!(
                e,
                DecodeEvent::TemplateLearned { .. } | DecodeEvent::TemplateRedefined { .. }
            )
        })
        .count();
    assert_eq!(learned, 2);
}

#[test]
fn templates_survive_a_restart_through_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("templates.bin");
    let (store, skipped) = FileTemplateStore::open(&path).unwrap();
    assert_eq!(skipped, 0);
    let mut enc = V9Encoder::new(BOOT, 7);
    {
        let mut dec = Decoder::new(DecoderConfig::default()).with_template_store(store.clone());
        let mut out = Vec::new();
        dec.decode(exporter(4), &enc.encode(&flows(2, 1), NOW), NOW, &mut out);
        assert_eq!(out.len(), 2);
        assert!(store.save().unwrap());
        assert!(!store.save().unwrap(), "nothing changed since");
    }
    // A new process: a fresh decoder and a store read back from disk. The
    // exporter sends data only (its next template refresh is minutes away).
    let (store2, _) = FileTemplateStore::open(&path).unwrap();
    assert!(store2.len() >= 2);
    let mut dec = Decoder::new(DecoderConfig::default()).with_template_store(store2);
    let mut out = Vec::new();
    let o = dec.decode(exporter(4), &enc.encode(&flows(5, 2), NOW), NOW, &mut out);
    assert_eq!(out.len(), 5, "decoded at once with the persisted template");
    assert_eq!(o.counters.bad_datagrams, 0);
    // A damaged store file is not fatal: its templates are just gone.
    std::fs::write(&path, b"garbage").unwrap();
    let (store3, skipped) = FileTemplateStore::open(&path).unwrap();
    assert_eq!((store3.len(), skipped), (0, 1));
}

#[test]
fn sequence_gaps_resets_and_late_datagrams_are_counted() {
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut enc = V5Encoder::new(BOOT);
    let mut out = Vec::new();
    let mut total = floe_netflow::ExporterCounters::default();
    let mut send = |enc: &mut V5Encoder, dec: &mut Decoder, n: usize| {
        let o = dec.decode(exporter(5), &enc.encode(&flows(n, 1), NOW), NOW, &mut out);
        total.add(&o.counters);
    };
    send(&mut enc, &mut dec, 30);
    send(&mut enc, &mut dec, 30);
    // 60 flows go missing.
    enc.set_sequence(120);
    send(&mut enc, &mut dec, 30);
    // The exporter restarts.
    enc.set_sequence(0);
    send(&mut enc, &mut dec, 10);
    send(&mut enc, &mut dec, 10);
    assert_eq!(total.datagrams, 5);
    assert_eq!(total.flows, 110);
    assert_eq!(total.lost_flows, 60);
    assert_eq!(total.sequence_resets, 1);
    let events: Vec<&'static str> = dec.drain_events().map(|e| e.name()).collect();
    assert!(
        events.contains(&"sequence_gap") && events.contains(&"sequence_reset"),
        "{events:?}"
    );

    // v9 counts datagrams: a gap of 2 datagrams of 4 flows is 8 lost flows.
    let mut v9 = V9Encoder::new(BOOT, 3);
    let mut t = floe_netflow::ExporterCounters::default();
    for seq in [0u32, 1, 2, 5] {
        v9.set_sequence(seq);
        let o = dec.decode(exporter(6), &v9.encode(&flows(4, 1), NOW), NOW, &mut out);
        t.add(&o.counters);
    }
    assert_eq!(t.extra[floe_flow::Counter::LostDatagrams], 2);
    assert_eq!(t.lost_flows, 8);
}

#[test]
fn garbage_is_counted_with_reasons_and_never_panics() {
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut out = Vec::new();
    let mut enc = V9Encoder::new(BOOT, 1);
    let good = enc.encode(&flows(5, 1), NOW);
    let mut bad = 0;
    let mut x: u64 = 0x1234_5678;
    for i in 0..2000usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut d = match i % 4 {
            0 => good[..(x as usize % good.len())].to_vec(),
            1 => (0..(x % 1500)).map(|j| (x >> (j % 56)) as u8).collect(),
            2 => {
                let mut g = good.clone();
                let at = x as usize % g.len();
                g[at] ^= (x >> 8) as u8 | 1;
                g
            }
            _ => vec![0, 9, 0, 1],
        };
        if i % 10 == 0 {
            d = vec![0xff; 64];
        }
        bad += dec
            .decode(exporter(7), &d, NOW, &mut out)
            .counters
            .bad_datagrams;
    }
    assert!(bad > 500, "{bad}");
    // Good data still decodes afterwards.
    out.clear();
    enc.resend_templates();
    dec.decode(exporter(8), &enc.encode(&flows(5, 2), NOW), NOW, &mut out);
    assert_eq!(out.len(), 5);
    for e in dec.drain_events() {
        if let DecodeEvent::BadDatagram { problem, .. } = e {
            let reason = problem.to_string();
            assert!(!reason.is_empty() && reason.len() < 300, "{reason}");
        }
    }
}
