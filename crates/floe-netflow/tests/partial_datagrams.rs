//! A datagram is never all or nothing: the exporter behaviours that lost
//! whole datagrams (zero padding after the last set, v9 fields of length
//! 65535, a set that cannot be decoded among good ones, sets running past
//! the end) and the hostile ones (malformed IPFIX sets, templates whose
//! lengths do not fit their elements, template floods, early data that
//! never gets its template) each cost only their part, counted per
//! exporter with a reason.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use floe_flow::Counter;
use floe_netflow::{
    DecodeEvent, Decoder, DecoderConfig, Expiry, ExporterCounters, Flow, Problem, TemplateFault,
};
use floe_test_support::datagram::{ipfix, set, template, v9, EXPORT_SECS};
use proptest::prelude::*;

const NOW: i64 = EXPORT_SECS as i64 * 1000;

fn from() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))
}

/// Template 300: source, destination, octets (4), destination port.
const T: u16 = 300;
const LAYOUT: &[(u16, u16)] = &[(8, 4), (12, 4), (1, 4), (11, 2)];

fn record(i: u8) -> Vec<u8> {
    let mut r = vec![10, 0, 0, i, 192, 0, 2, i];
    r.extend_from_slice(&(1000 + u32::from(i)).to_be_bytes());
    r.extend_from_slice(&443u16.to_be_bytes());
    r
}

fn records(from_i: u8, n: u8) -> Vec<u8> {
    (from_i..from_i + n).flat_map(record).collect()
}

struct Decoded {
    flows: Vec<Flow>,
    counters: ExporterCounters,
    events: Vec<DecodeEvent>,
}

fn decode(dec: &mut Decoder, d: &[u8]) -> Decoded {
    let mut flows = Vec::new();
    let o = dec.decode(from(), d, NOW, &mut flows);
    let mut counters = o.counters;
    for (_, c) in dec.drain_counters() {
        counters.add(&c);
    }
    Decoded {
        flows,
        counters,
        events: dec.drain_events().collect(),
    }
}

fn sources(flows: &[Flow]) -> Vec<String> {
    flows.iter().map(|f| f.src_addr.to_string()).collect()
}

#[test]
fn zero_padding_of_every_length_after_the_sets_is_padding() {
    let tset = set(0, &template(T, LAYOUT));
    for (what, sets) in [
        ("one data set", set(T, &record(1))),
        (
            "several sets",
            [set(T, &record(1)), set(T, &records(2, 3))].concat(),
        ),
        ("a template set", Vec::new()),
    ] {
        for n in 1..=1400 {
            let mut dec = Decoder::new(DecoderConfig::default());
            let body = [tset.clone(), sets.clone(), vec![0; n]].concat();
            let d = decode(&mut dec, &v9(0, &body));
            let want = match what {
                "one data set" => 1,
                "several sets" => 4,
                _ => 0,
            };
            assert_eq!(d.flows.len(), want, "{what}, {n} bytes of padding");
            assert_eq!(d.counters.bad_datagrams, 0, "{what}, {n}");
            assert_eq!(d.counters.extra[Counter::PaddedDatagrams], 1, "{what}, {n}");
            assert_eq!(d.counters.extra[Counter::UndecodedSets], 0, "{what}, {n}");
            assert!(
                !d.events.iter().any(|e| e.reason().is_some()),
                "padding is no problem: {:?}",
                d.events
            );
        }
    }
    // The same in IPFIX, padding inside the message and after it.
    let tset = set(2, &template(T, LAYOUT));
    for n in [1, 3, 4, 17, 1300] {
        let mut dec = Decoder::new(DecoderConfig::default());
        let inside = ipfix(0, &[tset.clone(), set(T, &record(1)), vec![0; n]].concat());
        let d = decode(&mut dec, &inside);
        assert_eq!((d.flows.len(), d.counters.bad_datagrams), (1, 0), "{n}");
        assert_eq!(d.counters.extra[Counter::PaddedDatagrams], 1);
        let mut after = ipfix(1, &set(T, &record(2)));
        after.extend(vec![0; n]);
        let d = decode(&mut dec, &after);
        assert_eq!((d.flows.len(), d.counters.bad_datagrams), (1, 0), "{n}");
    }
}

#[test]
fn v9_fields_of_length_65535_are_read_as_variable_length() {
    // Source, a string field of variable length, destination, octets.
    let layout = [(8, 4), (82, 65535), (12, 4), (1, 4)];
    let mut data = Vec::new();
    // One-byte length prefix: "eth0".
    data.extend_from_slice(&[
        10, 0, 0, 1, 4, b'e', b't', b'h', b'0', 192, 0, 2, 1, 0, 0, 0, 9,
    ]);
    // Three-byte length prefix (255, then 300 as u16).
    data.extend_from_slice(&[10, 0, 0, 2, 255, 1, 44]);
    data.extend(vec![b'x'; 300]);
    data.extend_from_slice(&[192, 0, 2, 2, 0, 0, 0, 10]);
    // Empty string.
    data.extend_from_slice(&[10, 0, 0, 3, 0, 192, 0, 2, 3, 0, 0, 0, 11]);
    let mut dec = Decoder::new(DecoderConfig::default());
    let d = decode(
        &mut dec,
        &v9(0, &[set(0, &template(T, &layout)), set(T, &data)].concat()),
    );
    assert_eq!(d.counters.bad_datagrams, 0, "{:?}", d.events);
    let got: Vec<(String, String, u64)> = d
        .flows
        .iter()
        .map(|f| (f.src_addr.to_string(), f.dst_addr.to_string(), f.octets))
        .collect();
    assert_eq!(
        got,
        [
            ("10.0.0.1".into(), "192.0.2.1".into(), 9),
            ("10.0.0.2".into(), "192.0.2.2".into(), 10),
            ("10.0.0.3".into(), "192.0.2.3".into(), 11)
        ]
    );
}

#[test]
fn an_undecodable_set_costs_only_itself() {
    let mut dec = Decoder::new(DecoderConfig::default());
    decode(&mut dec, &v9(0, &set(0, &template(T, LAYOUT))));
    // Template 301 is refused (an IPv4 address of 16 bytes); its data set
    // sits between two good ones.
    let refused = set(0, &template(301, &[(8, 16), (1, 4)]));
    let d = decode(&mut dec, &v9(1, &refused));
    assert_eq!(d.counters.extra[Counter::TemplatesRefused], 1);
    let body = [
        set(T, &records(1, 2)),
        set(301, &[0; 20]),
        set(T, &records(3, 2)),
    ]
    .concat();
    let d = decode(&mut dec, &v9(2, &body));
    assert_eq!(
        sources(&d.flows),
        ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
    );
    assert_eq!(d.counters.bad_datagrams, 0);
    assert_eq!(d.counters.extra[Counter::UndecodedSets], 1);
    let problem = d
        .events
        .iter()
        .find_map(|e| match e {
            DecodeEvent::Undecoded { problem, .. } => Some(problem.clone()),
            _ => None,
        })
        .expect("an undecoded event");
    assert_eq!(
        problem,
        Problem::RefusedTemplate {
            offset: 20 + 4 + 28,
            template_id: 301,
            fault: TemplateFault::LengthDoesNotFit {
                ie: 8,
                len: 16,
                fits: "4 bytes"
            }
        }
    );
    assert!(problem.to_string().contains("byte 52"), "{problem}");
}

#[test]
fn sets_that_cannot_be_framed_keep_the_sets_before_them() {
    let t = set(0, &template(T, LAYOUT));
    // A set longer than the datagram.
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut body = [t.clone(), set(T, &records(1, 2))].concat();
    body.extend_from_slice(&[1, 44, 3, 232, 1, 2, 3]);
    let d = decode(&mut dec, &v9(0, &body));
    assert_eq!(d.flows.len(), 2);
    assert_eq!(
        (
            d.counters.bad_datagrams,
            d.counters.extra[Counter::UndecodedSets]
        ),
        (0, 1)
    );
    assert!(d.events.iter().any(|e| matches!(
        e,
        DecodeEvent::Undecoded {
            problem: Problem::SetPastEnd {
                set_id: T,
                length: 1000,
                ..
            },
            ..
        }
    )));
    // A set of length 0 that is not at the end.
    let mut body = [t.clone(), set(T, &records(1, 1))].concat();
    body.extend_from_slice(&[1, 44, 0, 0]);
    body.extend(set(T, &records(2, 1)));
    let d = decode(&mut dec, &v9(1, &body));
    assert_eq!(sources(&d.flows), ["10.0.0.1"]);
    assert_eq!(d.counters.extra[Counter::UndecodedSets], 1);
    // A set 0 of length 0 not at the end, with sets after it: not padding.
    let mut body = [t.clone(), set(T, &records(1, 1))].concat();
    body.extend_from_slice(&[0, 0, 0, 0]);
    body.extend(set(T, &records(2, 1)));
    let d = decode(&mut dec, &v9(2, &body));
    assert_eq!(d.flows.len(), 1);
    assert_eq!(d.counters.extra[Counter::MalformedTails], 1);
    // Nothing framable at all: a bad datagram, with its reason.
    let d = decode(&mut dec, &v9(3, &[1, 44, 0, 2, 9, 9]));
    assert_eq!((d.flows.len(), d.counters.bad_datagrams), (0, 1));
    assert!(d.events.iter().any(|e| matches!(
        e,
        DecodeEvent::BadDatagram {
            problem: Problem::SetTooShort { offset: 20, .. },
            ..
        }
    )));
}

#[test]
fn malformed_ipfix_is_counted_as_v9_is() {
    let t = set(2, &template(T, LAYOUT));
    let good = set(T, &record(1));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("set of length 0", vec![1, 44, 0, 0], "set_too_short"),
        ("set of length 3", vec![1, 44, 0, 3, 0], "set_too_short"),
        (
            "set longer than the message",
            vec![1, 44, 0, 200, 1, 2],
            "set_past_end",
        ),
    ];
    for (what, bad, kind) in cases {
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut m = ipfix(0, &[t.clone(), good.clone(), bad].concat());
        // The message's own length field covers what was written, so the
        // bad set is inside it.
        let len = m.len() as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        let d = decode(&mut dec, &m);
        assert_eq!(d.flows.len(), 1, "{what}");
        assert_eq!(d.counters.extra[Counter::UndecodedSets], 1, "{what}");
        let kinds: Vec<&str> = d
            .events
            .iter()
            .filter_map(|e| e.reason().map(|r| r.0))
            .collect();
        assert_eq!(kinds, [kind], "{what}");
    }
    // An options template whose scope count exceeds its field count.
    let mut dec = Decoder::new(DecoderConfig::default());
    let opts = set(3, &[1, 4, 0, 1, 0, 2, 0, 34, 0, 4]);
    let d = decode(&mut dec, &ipfix(0, &[opts, t, good].concat()));
    assert_eq!(d.flows.len(), 1);
    assert_eq!(d.counters.extra[Counter::TemplatesRefused], 1);
    assert!(d.events.iter().any(|e| matches!(
        e,
        DecodeEvent::TemplateRefused {
            template_id: 260,
            fault: TemplateFault::Scope {
                scope: 2,
                fields: 1
            },
            ..
        }
    )));
}

#[test]
fn templates_that_cannot_hold_their_elements_are_refused_with_a_reason() {
    let mut dec = Decoder::new(DecoderConfig::default());
    let sets = [
        template(310, &[(8, 16), (1, 4)]),
        template(311, &[(4, 9), (1, 4)]),
        template(312, &[(8, 4), (1, 4)]),
        template(200, &[(8, 4)]),
        // Reduced-size encoding stays accepted.
        template(313, &[(8, 4), (1, 2), (2, 1), (10, 1)]),
    ]
    .concat();
    let d = decode(&mut dec, &ipfix(0, &set(2, &sets)));
    let mut refused: Vec<(u16, String)> = d
        .events
        .iter()
        .filter_map(|e| match e {
            DecodeEvent::TemplateRefused {
                template_id, fault, ..
            } => Some((*template_id, fault.to_string())),
            _ => None,
        })
        .collect();
    refused.sort();
    assert_eq!(
        refused,
        [
            (200, "template ids below 256 are not templates".to_string()),
            (
                310,
                "element 8 has length 16, its type takes 4 bytes".to_string()
            ),
            (
                311,
                "element 4 has length 9, its type takes 1 byte".to_string()
            ),
        ]
    );
    assert_eq!(d.counters.extra[Counter::TemplatesRefused], 3);
    let learned = d
        .events
        .iter()
        .filter(|e| matches!(e, DecodeEvent::TemplateLearned { .. }))
        .count();
    assert_eq!(learned, 2);
}

#[test]
fn templates_forgotten_for_the_per_exporter_limit_are_counted() {
    let mut dec = Decoder::new(DecoderConfig {
        max_templates_per_exporter: 4,
        ..DecoderConfig::default()
    });
    let sets: Vec<u8> = (400..410u16).flat_map(|id| template(id, LAYOUT)).collect();
    let d = decode(&mut dec, &v9(0, &set(0, &sets)));
    assert_eq!(d.counters.extra[Counter::TemplatesForgotten], 6);
    assert_eq!(dec.templates_known()[0].1, 4);
    // The most recent ones stay and decode.
    let d = decode(&mut dec, &v9(1, &set(409, &record(1))));
    assert_eq!(d.flows.len(), 1);
}

#[test]
fn early_data_whose_template_never_comes_expires_by_time_and_is_counted() {
    let mut dec = Decoder::new(DecoderConfig {
        pending_ttl: Duration::from_secs(60),
        ..DecoderConfig::default()
    });
    let d = decode(&mut dec, &v9(0, &set(T, &records(1, 3))));
    assert!(d.flows.is_empty());
    assert_eq!(d.counters.bad_datagrams, 0);
    // Nothing else arrives; time passes.
    dec.tick(NOW + 30_000);
    assert!(dec.drain_counters().is_empty());
    dec.tick(NOW + 61_000);
    let counted: u64 = dec
        .drain_counters()
        .iter()
        .map(|(_, c)| c.extra[Counter::EarlyDataExpired])
        .sum();
    assert_eq!(counted, 1);
    assert!(dec.drain_events().any(|e| matches!(
        e,
        DecodeEvent::EarlyDataExpired {
            template_id: T,
            sets: 1,
            why: Expiry::Waited,
            ..
        }
    )));
    // Early data whose template comes in time is decoded then.
    decode(&mut dec, &v9(1, &set(T, &records(5, 2))));
    let d = decode(&mut dec, &v9(2, &set(0, &template(T, LAYOUT))));
    assert_eq!(sources(&d.flows), ["10.0.0.5", "10.0.0.6"]);
}

#[test]
fn the_decode_report_says_what_happened_to_each_set() {
    let mut dec = Decoder::new(DecoderConfig::default());
    let body = [
        set(0, &template(T, LAYOUT)),
        set(T, &records(1, 2)),
        set(999, &[1, 2, 3, 4]),
        vec![0; 6],
    ]
    .concat();
    let mut out = Vec::new();
    let (o, report) = dec.decode_explained(from(), &v9(0, &body), NOW, &mut out);
    assert_eq!(o.counters.flows, 2);
    assert_eq!(report.flows, 2);
    let json = serde_json::to_value(&report).unwrap();
    let items: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["message", "templates", "data", "held", "padding"]);
    assert_eq!(json["items"][1]["learned"][0]["id"], 300);
    assert_eq!(json["items"][2]["records"], 2);
    // Header 20, template set 24, data set 4 + 2 records of 14.
    assert_eq!(json["items"][3]["offset"], 76);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    /// Whatever follows valid sets, the flows of the valid sets are stored.
    #[test]
    fn valid_sets_followed_by_anything_keep_their_flows(
        n in 1u8..20,
        tail in prop::collection::vec(any::<u8>(), 0..600),
        ipfix_message in any::<bool>(),
        length_covers_tail in any::<bool>(),
    ) {
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut out = Vec::new();
        let d = if ipfix_message {
            let mut m = ipfix(0, &[set(2, &template(T, LAYOUT)), set(T, &records(1, n))].concat());
            m.extend_from_slice(&tail);
            if length_covers_tail {
                // The bytes are inside the message, as its length says.
                let len = m.len() as u16;
                m[2..4].copy_from_slice(&len.to_be_bytes());
            }
            m
        } else {
            let mut body = [set(0, &template(T, LAYOUT)), set(T, &records(1, n))].concat();
            body.extend_from_slice(&tail);
            v9(0, &body)
        };
        let o = dec.decode(from(), &d, NOW, &mut out);
        let first: Vec<String> = sources(&out[..usize::from(n).min(out.len())]);
        let want: Vec<String> = (1..=n).map(|i| format!("10.0.0.{i}")).collect();
        prop_assert!(out.len() >= usize::from(n));
        prop_assert_eq!(first, want);
        prop_assert_eq!(o.counters.bad_datagrams, 0);
    }
}
