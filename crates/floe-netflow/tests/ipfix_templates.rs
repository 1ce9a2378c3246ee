//! IPFIX template life cycle (RFC 7011 section 8): a template is defined,
//! redefined under the same id with another layout, and withdrawn (a
//! template record with no fields); data follows whatever is current, with
//! (floe's own template reading; the corpus test holds it to
//! netflow_parser's).

use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::{DecodeEvent, Decoder, DecoderConfig, Flow};

const EXPORT_SECS: u32 = 1_795_305_600;
const DOMAIN: u32 = 42;

fn from() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 8))
}

/// An IPFIX message of the given sets (set id, body).
fn message(seq: u32, sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let body: Vec<u8> = sets
        .iter()
        .flat_map(|(id, b)| {
            let mut s = Vec::new();
            s.extend_from_slice(&id.to_be_bytes());
            s.extend_from_slice(&((4 + b.len()) as u16).to_be_bytes());
            s.extend_from_slice(b);
            s
        })
        .collect();
    let mut m = Vec::new();
    m.extend_from_slice(&10u16.to_be_bytes());
    m.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
    m.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&DOMAIN.to_be_bytes());
    m.extend_from_slice(&body);
    m
}

/// A template record: id and (IE, length) fields; no fields = withdrawal.
fn template(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&id.to_be_bytes());
    t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for (ie, len) in fields {
        t.extend_from_slice(&ie.to_be_bytes());
        t.extend_from_slice(&len.to_be_bytes());
    }
    t
}

const T: u16 = 300;
/// Layout A: src, dst, octets (8), start and end (ms, 8 each).
const A: &[(u16, u16)] = &[(8, 4), (12, 4), (1, 8), (152, 8), (153, 8)];
/// Layout B under the same id: dst port first, octets on 4 bytes, packets.
const B: &[(u16, u16)] = &[(11, 2), (8, 4), (12, 4), (1, 4), (2, 4), (152, 8), (153, 8)];

fn record_a(i: u8) -> Vec<u8> {
    let mut r = vec![10, 0, 0, i, 192, 0, 2, i];
    r.extend_from_slice(&(1000u64 + u64::from(i)).to_be_bytes());
    r.extend_from_slice(&(1_795_305_500_000u64).to_be_bytes());
    r.extend_from_slice(&(1_795_305_590_000u64).to_be_bytes());
    r
}

fn record_b(i: u8) -> Vec<u8> {
    let mut r = 443u16.to_be_bytes().to_vec();
    r.extend_from_slice(&[10, 1, 0, i, 192, 0, 2, i]);
    r.extend_from_slice(&(2000u32 + u32::from(i)).to_be_bytes());
    r.extend_from_slice(&7u32.to_be_bytes());
    r.extend_from_slice(&(1_795_305_500_000u64).to_be_bytes());
    r.extend_from_slice(&(1_795_305_590_000u64).to_be_bytes());
    r
}

fn flow(src: [u8; 4], dst: [u8; 4], dst_port: u16, octets: u64, packets: u64) -> Flow {
    Flow {
        start_ms: 1_795_305_500_000,
        end_ms: 1_795_305_590_000,
        exporter: from(),
        source_id: DOMAIN,
        src_addr: IpAddr::from(src),
        dst_addr: IpAddr::from(dst),
        dst_port,
        octets,
        packets,
        ..Flow::default()
    }
}

fn decode(dec: &mut Decoder, m: &[u8]) -> (Vec<Flow>, Vec<DecodeEvent>) {
    let mut out = Vec::new();
    dec.decode(from(), m, 0, &mut out);
    (out, dec.drain_events().collect())
}

#[test]
fn define_redefine_withdraw() {
    {
        let mut dec = Decoder::new(DecoderConfig::default());
        // Defined, then data, in one message and in the next.
        let (f, ev) = decode(
            &mut dec,
            &message(
                0,
                &[
                    (2, template(T, A)),
                    (T, [record_a(1), record_a(2)].concat()),
                ],
            ),
        );
        assert!(ev
            .iter()
            .any(|e| matches!(e, DecodeEvent::TemplateLearned { template_id: T, .. })));
        let want_a = vec![
            flow([10, 0, 0, 1], [192, 0, 2, 1], 0, 1001, 0),
            flow([10, 0, 0, 2], [192, 0, 2, 2], 0, 1002, 0),
        ];
        assert_eq!(f, want_a);
        let (f, _) = decode(
            &mut dec,
            &message(2, &[(T, [record_a(1), record_a(2)].concat())]),
        );
        assert_eq!(f, want_a);

        // Redefined under the same id: an event, and the new layout rules.
        let (f, ev) = decode(
            &mut dec,
            &message(4, &[(2, template(T, B)), (T, record_b(3))]),
        );
        assert!(
            ev.iter()
                .any(|e| matches!(e, DecodeEvent::TemplateRedefined { template_id: T, .. })),
            "{ev:?}"
        );
        let want_b = vec![flow([10, 1, 0, 3], [192, 0, 2, 3], 443, 2003, 7)];
        assert_eq!(f, want_b);
        let (f, _) = decode(&mut dec, &message(5, &[(T, record_b(3))]));
        assert_eq!(f, want_b);

        // Withdrawn: an event, and data under the id is no longer decoded
        // with the old layout (it waits for a template, counted if it
        // never comes).
        let (f, ev) = decode(&mut dec, &message(6, &[(2, template(T, &[]))]));
        assert!(f.is_empty());
        assert!(
            ev.iter()
                .any(|e| matches!(e, DecodeEvent::TemplateWithdrawn { template_id: T, .. })),
            "{ev:?}"
        );
        let (f, _) = decode(&mut dec, &message(6, &[(T, record_b(4))]));
        assert!(f.is_empty(), "decoded under a withdrawn template: {f:?}");

        // Defined again with layout A: the held data is not misread as A,
        // and new data is.
        let (f, _) = decode(
            &mut dec,
            &message(7, &[(2, template(T, A)), (T, record_a(5))]),
        );
        assert!(
            f.contains(&flow([10, 0, 0, 5], [192, 0, 2, 5], 0, 1005, 0)),
            "{f:?}"
        );
    }
}
