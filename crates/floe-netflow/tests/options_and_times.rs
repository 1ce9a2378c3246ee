//! What options records announce (sampling, the exporter's boot time) and
//! how it lands in the flows: sampling rates given the RFC 7014 way
//! (packets sampled in a window and the space between windows, or n out
//! of a population), and uptimes of exporters up for longer than a 32-bit
//! millisecond counter holds.

use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::{Decoder, DecoderConfig, Flow};

const EXPORT_SECS: u32 = 1_795_305_600;
const EXPORT_MS: i64 = EXPORT_SECS as i64 * 1000;
const DAY_MS: i64 = 86_400_000;

fn from() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77))
}

fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut s = id.to_be_bytes().to_vec();
    s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

fn ipfix(seq: u32, sets: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 10];
    d.extend_from_slice(&((16 + sets.len()) as u16).to_be_bytes());
    d.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&9u32.to_be_bytes());
    d.extend_from_slice(sets);
    d
}

fn fields(fields: &[(u16, u16)]) -> Vec<u8> {
    fields
        .iter()
        .flat_map(|(ie, len)| [ie.to_be_bytes(), len.to_be_bytes()].concat())
        .collect()
}

/// An IPFIX options template record: one scope field, then the others.
fn options_template(id: u16, scope: (u16, u16), rest: &[(u16, u16)]) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    t.extend_from_slice(&((1 + rest.len()) as u16).to_be_bytes());
    t.extend_from_slice(&1u16.to_be_bytes());
    t.extend(fields(&[scope]));
    t.extend(fields(rest));
    t
}

fn template(id: u16, layout: &[(u16, u16)]) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    t.extend_from_slice(&(layout.len() as u16).to_be_bytes());
    t.extend(fields(layout));
    t
}

/// Source, destination, octets.
const FLOW: &[(u16, u16)] = &[(8, 4), (12, 4), (1, 4)];

fn flow_record() -> Vec<u8> {
    vec![10, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 100]
}

fn decode(dec: &mut Decoder, d: &[u8]) -> Vec<Flow> {
    let mut out = Vec::new();
    let o = dec.decode(from(), d, EXPORT_MS, &mut out);
    assert_eq!(o.counters.bad_datagrams, 0);
    out
}

/// The sampling interval the flows of an exporter get after it announced
/// `announced` (elements and 4-byte values) in an options record.
fn sampling_after(announced: &[(u16, u32)]) -> u32 {
    let mut dec = Decoder::new(DecoderConfig::default());
    let layout: Vec<(u16, u16)> = announced.iter().map(|(ie, _)| (*ie, 4)).collect();
    let mut record = 9u32.to_be_bytes().to_vec();
    for (_, v) in announced {
        record.extend_from_slice(&v.to_be_bytes());
    }
    let d = ipfix(
        0,
        &[
            set(3, &options_template(400, (149, 4), &layout)),
            set(400, &record),
            set(2, &template(300, FLOW)),
            set(300, &flow_record()),
        ]
        .concat(),
    );
    let flows = decode(&mut dec, &d);
    assert_eq!(flows.len(), 1);
    flows[0].sampling_interval
}

#[test]
fn sampling_rates_are_read_as_rfc_7014_defines_them() {
    // samplingInterval: 1 in N.
    assert_eq!(sampling_after(&[(34, 1000)]), 1000);
    // Systematic count-based: 1 packet sampled, then 99 not: 1 in 100.
    assert_eq!(sampling_after(&[(305, 1), (306, 99)]), 100);
    // 10 consecutive packets sampled every 1000: 1 in 100.
    assert_eq!(sampling_after(&[(305, 10), (306, 990)]), 100);
    // A window with no space after it: every packet.
    assert_eq!(sampling_after(&[(305, 1)]), 1);
    // Random n-out-of-N (Cisco IOS XR sends samplingSize and
    // samplingPopulation): 1 out of 4000.
    assert_eq!(sampling_after(&[(309, 1), (310, 4000)]), 4000);
    assert_eq!(sampling_after(&[(309, 4), (310, 4000)]), 1000);
    // Nonsense (a window of 0 packets) announces nothing.
    assert_eq!(sampling_after(&[(305, 0), (306, 99)]), 0);
    assert_eq!(sampling_after(&[(309, 0), (310, 99)]), 0);
}

/// The (start, end) of a flow with uptimes `first` and `last` from an
/// IPFIX exporter that announced it booted at `boot_ms`.
fn ipfix_uptime_flow(boot_ms: i64, first: u32, last: u32) -> (i64, i64) {
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut announce = 9u32.to_be_bytes().to_vec();
    announce.extend_from_slice(&(boot_ms as u64).to_be_bytes());
    let layout = [FLOW, &[(22, 4), (21, 4)]].concat();
    let mut record = flow_record();
    record.extend_from_slice(&first.to_be_bytes());
    record.extend_from_slice(&last.to_be_bytes());
    let d = ipfix(
        0,
        &[
            set(3, &options_template(400, (149, 4), &[(160, 8)])),
            set(400, &announce),
            set(2, &template(300, &layout)),
            set(300, &record),
        ]
        .concat(),
    );
    let flows = decode(&mut dec, &d);
    (flows[0].start_ms, flows[0].end_ms)
}

#[test]
fn ipfix_uptimes_that_wrap_between_first_and_last_or_disagree_with_the_export_time() {
    let wrap = |ms_since_boot: i64| (ms_since_boot % (1 << 32)) as u32;
    // Booted 49.7 days ago and a bit: the counter wrapped during the flow.
    let up_now = (1i64 << 32) + 5_000;
    assert_eq!(
        ipfix_uptime_flow(
            EXPORT_MS - up_now,
            wrap(up_now - 20_000),
            wrap(up_now - 1_000)
        ),
        (EXPORT_MS - 20_000, EXPORT_MS - 1_000)
    );
    // Boot time announced years away from the export time (the corpus has
    // such softflowd captures): no wrap explains it, boot + uptime is what
    // the exporter says.
    let boot = EXPORT_MS - 20 * 365 * DAY_MS;
    assert_eq!(
        ipfix_uptime_flow(boot, 3_000_000_000, 3_000_010_000),
        (boot + 3_000_000_000, boot + 3_000_010_000)
    );
    // A flow ending just after the export by the exporter's clock.
    assert_eq!(
        ipfix_uptime_flow(EXPORT_MS - 10_000, 5_000, 10_500),
        (EXPORT_MS - 5_000, EXPORT_MS + 500)
    );
}

#[test]
fn uptimes_of_an_exporter_up_for_more_than_49_days_are_right() {
    // The exporter booted 60 days before the export: its 32-bit
    // millisecond uptime wrapped once, 49.7 days after boot.
    let boot_ms = EXPORT_MS - 60 * DAY_MS;
    let wrap = |ms_since_boot: i64| (ms_since_boot % (1 << 32)) as u32;
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut announce = 9u32.to_be_bytes().to_vec();
    announce.extend_from_slice(&(boot_ms as u64).to_be_bytes());
    let layout = [FLOW, &[(22, 4), (21, 4)]].concat();
    let mut record = flow_record();
    // Started 20 s and ended 10 s before the export.
    record.extend_from_slice(&wrap(60 * DAY_MS - 20_000).to_be_bytes());
    record.extend_from_slice(&wrap(60 * DAY_MS - 10_000).to_be_bytes());
    let d = ipfix(
        0,
        &[
            set(3, &options_template(400, (149, 4), &[(160, 8)])),
            set(400, &announce),
            set(2, &template(300, &layout)),
            set(300, &record),
        ]
        .concat(),
    );
    let flows = decode(&mut dec, &d);
    assert_eq!(
        (flows[0].start_ms, flows[0].end_ms),
        (EXPORT_MS - 20_000, EXPORT_MS - 10_000)
    );
    // Before the wrap, too: booted 3 days ago.
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut announce = 9u32.to_be_bytes().to_vec();
    announce.extend_from_slice(&((EXPORT_MS - 3 * DAY_MS) as u64).to_be_bytes());
    let mut record = flow_record();
    record.extend_from_slice(&wrap(3 * DAY_MS - 20_000).to_be_bytes());
    record.extend_from_slice(&wrap(3 * DAY_MS - 10_000).to_be_bytes());
    let d = ipfix(
        0,
        &[
            set(3, &options_template(400, (149, 4), &[(160, 8)])),
            set(400, &announce),
            set(2, &template(300, &layout)),
            set(300, &record),
        ]
        .concat(),
    );
    let flows = decode(&mut dec, &d);
    assert_eq!(
        (flows[0].start_ms, flows[0].end_ms),
        (EXPORT_MS - 20_000, EXPORT_MS - 10_000)
    );
}

fn v9(seq: u32, rest: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 9, 0, 1];
    d.extend_from_slice(&86_400_000u32.to_be_bytes());
    d.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&4u32.to_be_bytes());
    d.extend_from_slice(rest);
    d
}

#[test]
fn v9_options_scopes_are_scope_types_not_elements() {
    // RFC 3954 section 6.1: scope field types 1 System, 2 Interface, 3 Line
    // Card, 4 Cache, 5 Template, with the lengths the exporter chooses; 4
    // and 5 are not protocolIdentifier and ipClassOfService here.
    for (scope, len) in [(1u16, 4u16), (2, 4), (3, 2), (4, 2), (5, 2)] {
        let mut dec = Decoder::new(DecoderConfig::default());
        // Options template 400: the scope, then samplingInterval.
        let mut t = 400u16.to_be_bytes().to_vec();
        t.extend_from_slice(&4u16.to_be_bytes());
        t.extend_from_slice(&4u16.to_be_bytes());
        t.extend(fields(&[(scope, len), (34, 4)]));
        let mut record = vec![0; usize::from(len)];
        record.extend_from_slice(&100u32.to_be_bytes());
        let d = v9(
            0,
            &[
                set(1, &t),
                set(400, &record),
                set(0, &template(300, FLOW)),
                set(300, &flow_record()),
            ]
            .concat(),
        );
        let mut out = Vec::new();
        let o = dec.decode(from(), &d, EXPORT_MS, &mut out);
        let refused: Vec<String> = dec
            .drain_events()
            .filter_map(|e| match e {
                floe_netflow::DecodeEvent::TemplateRefused { fault, .. } => Some(fault.to_string()),
                _ => None,
            })
            .collect();
        assert!(refused.is_empty(), "scope type {scope}: {refused:?}");
        assert_eq!(o.options_records, 1, "scope type {scope}");
        assert_eq!(out[0].sampling_interval, 100, "scope type {scope}");
    }
}
