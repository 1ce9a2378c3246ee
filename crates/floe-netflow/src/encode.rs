//! Flows to NetFlow v5, v9 and IPFIX datagrams: what `floe send` puts on
//! the wire for tests and benchmarks, and what the round-trip tests decode.
//!
//! The encoders keep an exporter's state: a boot time (v5 and v9 uptimes
//! are relative to it; IPFIX carries absolute times), a sequence number,
//! and for v9 and IPFIX when the templates were last sent.

use std::net::IpAddr;

use floe_flow::Flow;

/// Most flows a v5 datagram carries.
pub const V5_MAX_FLOWS: usize = 30;

/// Exporter uptime at `export_ms` for a boot at `boot_ms` (wraps at 2^32 ms
/// like a router's).
fn uptime(boot_ms: i64, t_ms: i64) -> u32 {
    (t_ms - boot_ms) as u32
}

/// Builds NetFlow v5 datagrams.
#[derive(Clone, Debug)]
pub struct V5Encoder {
    /// Engine type put in the header.
    pub engine_type: u8,
    /// Engine id put in the header.
    pub engine_id: u8,
    /// 14-bit sampling interval put in the header.
    pub sampling_interval: u16,
    boot_ms: i64,
    sequence: u32,
}

impl V5Encoder {
    /// An exporter that booted at `boot_ms` (flows must start after it).
    pub fn new(boot_ms: i64) -> Self {
        V5Encoder {
            engine_type: 0,
            engine_id: 0,
            sampling_interval: 0,
            boot_ms,
            sequence: 0,
        }
    }

    /// Sets the next flow sequence number (to test resets and gaps).
    pub fn set_sequence(&mut self, seq: u32) {
        self.sequence = seq;
    }

    /// One datagram with up to [`V5_MAX_FLOWS`] flows (extra flows are left
    /// out: call once per chunk). Fields v5 cannot hold are truncated:
    /// IPv6 flows become 0.0.0.0, counters and AS numbers wrap to v5 widths.
    pub fn encode(&mut self, flows: &[Flow], export_ms: i64) -> Vec<u8> {
        let flows = &flows[..flows.len().min(V5_MAX_FLOWS)];
        let mut b = Vec::with_capacity(24 + 48 * flows.len());
        b.extend_from_slice(&5u16.to_be_bytes());
        b.extend_from_slice(&(flows.len() as u16).to_be_bytes());
        b.extend_from_slice(&uptime(self.boot_ms, export_ms).to_be_bytes());
        b.extend_from_slice(&((export_ms.div_euclid(1000)) as u32).to_be_bytes());
        b.extend_from_slice(&((export_ms.rem_euclid(1000) * 1_000_000) as u32).to_be_bytes());
        b.extend_from_slice(&self.sequence.to_be_bytes());
        b.push(self.engine_type);
        b.push(self.engine_id);
        b.extend_from_slice(&(self.sampling_interval & 0x3fff).to_be_bytes());
        for f in flows {
            b.extend_from_slice(&v4(f.src_addr));
            b.extend_from_slice(&v4(f.dst_addr));
            b.extend_from_slice(&v4(f.next_hop));
            b.extend_from_slice(&(f.input_if as u16).to_be_bytes());
            b.extend_from_slice(&(f.output_if as u16).to_be_bytes());
            b.extend_from_slice(&(f.packets as u32).to_be_bytes());
            b.extend_from_slice(&(f.octets as u32).to_be_bytes());
            b.extend_from_slice(&uptime(self.boot_ms, f.start_ms).to_be_bytes());
            b.extend_from_slice(&uptime(self.boot_ms, f.end_ms).to_be_bytes());
            b.extend_from_slice(&f.src_port.to_be_bytes());
            b.extend_from_slice(&f.dst_port.to_be_bytes());
            b.push(0);
            b.push(f.tcp_flags as u8);
            b.push(f.protocol);
            b.push(f.tos);
            b.extend_from_slice(&(f.src_as as u16).to_be_bytes());
            b.extend_from_slice(&(f.dst_as as u16).to_be_bytes());
            b.push(f.src_mask);
            b.push(f.dst_mask);
            b.extend_from_slice(&[0, 0]);
        }
        self.sequence = self.sequence.wrapping_add(flows.len() as u32);
        b
    }
}

fn v4(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}

/// Template id the v9 encoder uses for IPv4 flows.
pub const V9_TEMPLATE_V4: u16 = 256;
/// Template id the v9 encoder uses for IPv6 flows.
pub const V9_TEMPLATE_V6: u16 = 257;

/// (field type, length) of the v9 templates; addresses are filled in by
/// family.
const V9_COMMON: [(u16, u16); 15] = [
    (1, 8),  // IN_BYTES
    (2, 8),  // IN_PKTS
    (4, 1),  // PROTOCOL
    (5, 1),  // SRC_TOS
    (6, 1),  // TCP_FLAGS
    (7, 2),  // L4_SRC_PORT
    (11, 2), // L4_DST_PORT
    (10, 4), // INPUT_SNMP
    (14, 4), // OUTPUT_SNMP
    (16, 4), // SRC_AS
    (17, 4), // DST_AS
    (22, 4), // FIRST_SWITCHED
    (21, 4), // LAST_SWITCHED
    (34, 4), // SAMPLING_INTERVAL
    (0, 0),  // placeholder, replaced by the address fields below
];

fn v9_fields(ipv6: bool) -> Vec<(u16, u16)> {
    let mut f: Vec<(u16, u16)> = V9_COMMON[..14].to_vec();
    if ipv6 {
        f.extend_from_slice(&[(27, 16), (28, 16), (62, 16), (29, 1), (30, 1)]);
    } else {
        f.extend_from_slice(&[(8, 4), (12, 4), (15, 4), (9, 1), (13, 1)]);
    }
    f
}

/// Builds NetFlow v9 datagrams, announcing its two templates in the first
/// datagram and then every `template_every` datagrams (as routers refresh
/// them).
#[derive(Clone, Debug)]
pub struct V9Encoder {
    /// Source id put in each header.
    pub source_id: u32,
    /// Datagrams between two announcements of the templates.
    pub template_every: u32,
    boot_ms: i64,
    sequence: u32,
    since_templates: Option<u32>,
}

impl V9Encoder {
    /// An encoder for an exporter that booted at `boot_ms` (uptimes in the
    /// datagrams count from it), announcing its templates every 20 datagrams.
    pub fn new(boot_ms: i64, source_id: u32) -> Self {
        V9Encoder {
            source_id,
            template_every: 20,
            boot_ms,
            sequence: 0,
            since_templates: None,
        }
    }

    /// Sets the next sequence number (to test resets and gaps).
    pub fn set_sequence(&mut self, seq: u32) {
        self.sequence = seq;
    }

    /// Forces the templates into the next datagram.
    pub fn resend_templates(&mut self) {
        self.since_templates = None;
    }

    /// The template flowset alone (what a router sends on a refresh).
    pub fn templates_only(&mut self, export_ms: i64) -> Vec<u8> {
        let mut body = Vec::new();
        self.append_templates(&mut body);
        self.since_templates = Some(0);
        self.finish(body, 2, export_ms)
    }

    fn append_templates(&self, body: &mut Vec<u8>) {
        let at = body.len();
        body.extend_from_slice(&0u16.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        for (id, ipv6) in [(V9_TEMPLATE_V4, false), (V9_TEMPLATE_V6, true)] {
            let fields = v9_fields(ipv6);
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            for (t, l) in fields {
                body.extend_from_slice(&t.to_be_bytes());
                body.extend_from_slice(&l.to_be_bytes());
            }
        }
        let len = (body.len() - at) as u16;
        body[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// One datagram holding `flows` (IPv4 and IPv6 in separate flowsets),
    /// preceded by the templates when they are due.
    pub fn encode(&mut self, flows: &[Flow], export_ms: i64) -> Vec<u8> {
        let mut body = Vec::new();
        let mut count = 0u16;
        let due = match self.since_templates {
            None => true,
            Some(n) => n + 1 >= self.template_every.max(1),
        };
        if due {
            self.append_templates(&mut body);
            self.since_templates = Some(0);
            count += 2;
        } else {
            self.since_templates = self.since_templates.map(|n| n + 1);
        }
        for (id, ipv6) in [(V9_TEMPLATE_V4, false), (V9_TEMPLATE_V6, true)] {
            let group: Vec<&Flow> = flows
                .iter()
                .filter(|f| f.src_addr.is_ipv6() == ipv6)
                .collect();
            if group.is_empty() {
                continue;
            }
            let at = body.len();
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&0u16.to_be_bytes());
            for f in group {
                body.extend_from_slice(&f.octets.to_be_bytes());
                body.extend_from_slice(&f.packets.to_be_bytes());
                body.push(f.protocol);
                body.push(f.tos);
                body.push(f.tcp_flags as u8);
                body.extend_from_slice(&f.src_port.to_be_bytes());
                body.extend_from_slice(&f.dst_port.to_be_bytes());
                body.extend_from_slice(&f.input_if.to_be_bytes());
                body.extend_from_slice(&f.output_if.to_be_bytes());
                body.extend_from_slice(&f.src_as.to_be_bytes());
                body.extend_from_slice(&f.dst_as.to_be_bytes());
                body.extend_from_slice(&uptime(self.boot_ms, f.start_ms).to_be_bytes());
                body.extend_from_slice(&uptime(self.boot_ms, f.end_ms).to_be_bytes());
                body.extend_from_slice(&f.sampling_interval.to_be_bytes());
                if ipv6 {
                    body.extend_from_slice(&v6(f.src_addr));
                    body.extend_from_slice(&v6(f.dst_addr));
                    body.extend_from_slice(&v6(f.next_hop));
                } else {
                    body.extend_from_slice(&v4(f.src_addr));
                    body.extend_from_slice(&v4(f.dst_addr));
                    body.extend_from_slice(&v4(f.next_hop));
                }
                body.push(f.src_mask);
                body.push(f.dst_mask);
                count += 1;
            }
            // Pad the flowset to a 4-byte boundary, as RFC 3954 asks.
            while (body.len() - at) % 4 != 0 {
                body.push(0);
            }
            let len = (body.len() - at) as u16;
            body[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        self.finish(body, count, export_ms)
    }

    fn finish(&mut self, body: Vec<u8>, count: u16, export_ms: i64) -> Vec<u8> {
        let mut b = Vec::with_capacity(20 + body.len());
        b.extend_from_slice(&9u16.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&uptime(self.boot_ms, export_ms).to_be_bytes());
        b.extend_from_slice(&(export_ms.div_euclid(1000) as u32).to_be_bytes());
        b.extend_from_slice(&self.sequence.to_be_bytes());
        b.extend_from_slice(&self.source_id.to_be_bytes());
        b.extend_from_slice(&body);
        self.sequence = self.sequence.wrapping_add(1);
        b
    }
}

/// Template id the IPFIX encoder uses for IPv4 flows.
pub const IPFIX_TEMPLATE_V4: u16 = 256;
/// Template id the IPFIX encoder uses for IPv6 flows.
pub const IPFIX_TEMPLATE_V6: u16 = 257;

/// IPFIX's set id for template sets (RFC 7011, 3.3.2).
const IPFIX_TEMPLATE_SET: u16 = 2;

/// (information element, length) of the IPFIX templates (RFC 7012 ids):
/// counters, ports, interfaces and AS numbers in their full widths, times
/// as absolute milliseconds, then the addresses of the family.
fn ipfix_fields(ipv6: bool) -> Vec<(u16, u16)> {
    let mut f = vec![
        (1, 8),   // octetDeltaCount
        (2, 8),   // packetDeltaCount
        (4, 1),   // protocolIdentifier
        (5, 1),   // ipClassOfService
        (6, 2),   // tcpControlBits
        (7, 2),   // sourceTransportPort
        (11, 2),  // destinationTransportPort
        (10, 4),  // ingressInterface
        (14, 4),  // egressInterface
        (16, 4),  // bgpSourceAsNumber
        (17, 4),  // bgpDestinationAsNumber
        (152, 8), // flowStartMilliseconds
        (153, 8), // flowEndMilliseconds
        (34, 4),  // samplingInterval
    ];
    if ipv6 {
        // sourceIPv6Address, destinationIPv6Address, ipNextHopIPv6Address,
        // sourceIPv6PrefixLength, destinationIPv6PrefixLength
        f.extend_from_slice(&[(27, 16), (28, 16), (62, 16), (29, 1), (30, 1)]);
    } else {
        // sourceIPv4Address, destinationIPv4Address, ipNextHopIPv4Address,
        // sourceIPv4PrefixLength, destinationIPv4PrefixLength
        f.extend_from_slice(&[(8, 4), (12, 4), (15, 4), (9, 1), (13, 1)]);
    }
    f
}

/// Builds IPFIX messages (RFC 7011) for one observation domain: an IPv4
/// and an IPv6 template (ids 256 and 257) in a template set (id 2), sent
/// in the first message and then every `template_every` messages, as an
/// exporter over UDP refreshes them; data sets of either family; export
/// time in seconds; the sequence number counting the data records sent
/// before each message.
#[derive(Clone, Debug)]
pub struct IpfixEncoder {
    /// The observation domain id in every message header.
    pub observation_domain: u32,
    /// Messages between template refreshes.
    pub template_every: u32,
    sequence: u32,
    since_templates: Option<u32>,
}

impl IpfixEncoder {
    /// An exporting process for `observation_domain`.
    pub fn new(observation_domain: u32) -> Self {
        IpfixEncoder {
            observation_domain,
            template_every: 20,
            sequence: 0,
            since_templates: None,
        }
    }

    /// Sets the sequence number of the next message (to test resets and
    /// gaps).
    pub fn set_sequence(&mut self, seq: u32) {
        self.sequence = seq;
    }

    /// Forces the templates into the next message.
    pub fn resend_templates(&mut self) {
        self.since_templates = None;
    }

    /// A message holding the template set alone (a refresh).
    pub fn templates_only(&mut self, export_ms: i64) -> Vec<u8> {
        let mut body = Vec::new();
        Self::append_templates(&mut body);
        self.since_templates = Some(0);
        self.finish(body, 0, export_ms)
    }

    fn append_templates(body: &mut Vec<u8>) {
        let at = body.len();
        body.extend_from_slice(&IPFIX_TEMPLATE_SET.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        for (id, ipv6) in [(IPFIX_TEMPLATE_V4, false), (IPFIX_TEMPLATE_V6, true)] {
            let fields = ipfix_fields(ipv6);
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            for (ie, len) in fields {
                body.extend_from_slice(&ie.to_be_bytes());
                body.extend_from_slice(&len.to_be_bytes());
            }
        }
        let len = (body.len() - at) as u16;
        body[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// One message holding `flows` (IPv4 and IPv6 in separate data sets),
    /// preceded by the template set when it is due. The caller keeps the
    /// message under 64 KiB (a few hundred flows).
    pub fn encode(&mut self, flows: &[Flow], export_ms: i64) -> Vec<u8> {
        let mut body = Vec::new();
        let due = match self.since_templates {
            None => true,
            Some(n) => n + 1 >= self.template_every.max(1),
        };
        if due {
            Self::append_templates(&mut body);
            self.since_templates = Some(0);
        } else {
            self.since_templates = self.since_templates.map(|n| n + 1);
        }
        let mut records = 0u32;
        for (id, ipv6) in [(IPFIX_TEMPLATE_V4, false), (IPFIX_TEMPLATE_V6, true)] {
            let group: Vec<&Flow> = flows
                .iter()
                .filter(|f| f.src_addr.is_ipv6() == ipv6)
                .collect();
            if group.is_empty() {
                continue;
            }
            let at = body.len();
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&0u16.to_be_bytes());
            for f in group {
                body.extend_from_slice(&f.octets.to_be_bytes());
                body.extend_from_slice(&f.packets.to_be_bytes());
                body.push(f.protocol);
                body.push(f.tos);
                body.extend_from_slice(&f.tcp_flags.to_be_bytes());
                body.extend_from_slice(&f.src_port.to_be_bytes());
                body.extend_from_slice(&f.dst_port.to_be_bytes());
                body.extend_from_slice(&f.input_if.to_be_bytes());
                body.extend_from_slice(&f.output_if.to_be_bytes());
                body.extend_from_slice(&f.src_as.to_be_bytes());
                body.extend_from_slice(&f.dst_as.to_be_bytes());
                // Milliseconds since the epoch, unsigned: a time before it
                // has no encoding and goes as the epoch.
                body.extend_from_slice(&(f.start_ms.max(0) as u64).to_be_bytes());
                body.extend_from_slice(&(f.end_ms.max(0) as u64).to_be_bytes());
                body.extend_from_slice(&f.sampling_interval.to_be_bytes());
                if ipv6 {
                    body.extend_from_slice(&v6(f.src_addr));
                    body.extend_from_slice(&v6(f.dst_addr));
                    body.extend_from_slice(&v6(f.next_hop));
                } else {
                    body.extend_from_slice(&v4(f.src_addr));
                    body.extend_from_slice(&v4(f.dst_addr));
                    body.extend_from_slice(&v4(f.next_hop));
                }
                body.push(f.src_mask);
                body.push(f.dst_mask);
                records += 1;
            }
            let len = (body.len() - at) as u16;
            body[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        self.finish(body, records, export_ms)
    }

    /// The message header before `body`; the sequence then counts the
    /// message's `records` data records.
    fn finish(&mut self, body: Vec<u8>, records: u32, export_ms: i64) -> Vec<u8> {
        let mut b = Vec::with_capacity(16 + body.len());
        b.extend_from_slice(&10u16.to_be_bytes());
        b.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
        b.extend_from_slice(&(export_ms.div_euclid(1000) as u32).to_be_bytes());
        b.extend_from_slice(&self.sequence.to_be_bytes());
        b.extend_from_slice(&self.observation_domain.to_be_bytes());
        b.extend_from_slice(&body);
        self.sequence = self.sequence.wrapping_add(records);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoder, DecoderConfig};

    /// Flows of both families with every field the templates carry set to
    /// something distinct.
    fn flows() -> Vec<Flow> {
        let t0 = 1_795_305_600_000; // 2026-11-22T00:00:00Z
        (0..60u32)
            .map(|i| {
                let v6 = i % 3 == 0;
                let addr = |n: u32| -> IpAddr {
                    if v6 {
                        format!("2001:db8::{n:x}").parse().unwrap()
                    } else {
                        format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)
                            .parse()
                            .unwrap()
                    }
                };
                Flow {
                    start_ms: t0 + i64::from(i) * 1_237,
                    end_ms: t0 + i64::from(i) * 1_237 + i64::from(i % 7) * 10_001,
                    src_addr: addr(1000 + i),
                    dst_addr: addr(2000 + i),
                    next_hop: addr(3000 + i),
                    src_port: 40_000 + i as u16,
                    dst_port: [443, 80, 53][i as usize % 3],
                    protocol: [6, 17][i as usize % 2],
                    tcp_flags: 0x1b + i as u16,
                    tos: (i * 4) as u8,
                    packets: 1 + u64::from(i) * 1_000_003,
                    octets: 40 + u64::from(i) * 5_000_000_011,
                    input_if: 1 + i,
                    output_if: 100_000 + i,
                    src_as: 64_512 + i,
                    dst_as: 4_200_000_000 + i,
                    src_mask: (8 + i % 24) as u8,
                    dst_mask: (16 + i % 16) as u8,
                    ..Flow::default()
                }
            })
            .collect()
    }

    /// What the collector knows that the exporter's flow did not carry:
    /// who sent it.
    fn as_received(f: &Flow, from: IpAddr, domain: u32) -> Flow {
        Flow {
            exporter: from,
            source_id: domain,
            ..f.clone()
        }
    }

    #[test]
    fn ipfix_round_trips_through_the_decoder_field_by_field() {
        let sent = flows();
        let from: IpAddr = "192.0.2.7".parse().unwrap();
        let mut enc = IpfixEncoder::new(42);
        enc.template_every = 2;
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut got = Vec::new();
        let export_ms = 1_795_305_700_000;
        let mut sequences = Vec::new();
        for chunk in sent.chunks(7) {
            let msg = enc.encode(chunk, export_ms);
            assert_eq!(u16::from_be_bytes([msg[0], msg[1]]), 10);
            assert_eq!(usize::from(u16::from_be_bytes([msg[2], msg[3]])), msg.len());
            assert_eq!(msg[4..8], ((export_ms / 1000) as u32).to_be_bytes());
            assert_eq!(msg[12..16], 42u32.to_be_bytes());
            sequences.push(u32::from_be_bytes(msg[8..12].try_into().unwrap()));
            let o = dec.decode(from, &msg, export_ms, &mut got);
            assert_eq!(o.counters.lost_flows, 0);
            assert_eq!(o.counters.bad_datagrams, 0);
        }
        // The sequence counts data records, not messages.
        let want: Vec<u32> = (0..sequences.len() as u32).map(|k| k * 7).collect();
        assert_eq!(sequences, want);
        let want: Vec<Flow> = sent.iter().map(|f| as_received(f, from, 42)).collect();
        // Within a message IPv4 flows come before IPv6 ones.
        let key = |f: &Flow| (f.start_ms, f.src_port);
        let mut got_sorted = got.clone();
        got_sorted.sort_by_key(key);
        let mut want_sorted = want.clone();
        want_sorted.sort_by_key(key);
        assert_eq!(got_sorted.len(), want_sorted.len());
        for (g, w) in got_sorted.iter().zip(&want_sorted) {
            assert_eq!(g, w);
        }
    }

    #[test]
    fn ipfix_templates_are_refreshed_and_a_late_decoder_catches_up() {
        let sent = flows();
        let from: IpAddr = "192.0.2.8".parse().unwrap();
        let mut enc = IpfixEncoder::new(1);
        enc.template_every = 3;
        let messages: Vec<Vec<u8>> = sent
            .chunks(5)
            .map(|c| enc.encode(c, 1_795_305_700_000))
            .collect();
        // Template sets (id 2) right after the header of messages 0, 3, 6...
        let has_templates: Vec<bool> = messages
            .iter()
            .map(|m| m[16..18] == IPFIX_TEMPLATE_SET.to_be_bytes())
            .collect();
        assert_eq!(
            has_templates,
            (0..messages.len()).map(|k| k % 3 == 0).collect::<Vec<_>>()
        );
        // A collector that starts listening at message 1 decodes from
        // message 3 on.
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut got = Vec::new();
        for m in &messages[1..] {
            dec.decode(from, m, 0, &mut got);
        }
        let expected: usize = sent.chunks(5).skip(3).map(<[Flow]>::len).sum();
        assert!(got.len() >= expected, "{} < {expected}", got.len());
        let t = enc.templates_only(1_795_305_700_000);
        assert_eq!(t[16..18], IPFIX_TEMPLATE_SET.to_be_bytes());
        assert_eq!(usize::from(u16::from_be_bytes([t[2], t[3]])), t.len());
    }
}
