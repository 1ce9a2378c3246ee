//! Flows to NetFlow v5 and v9 datagrams: what `floe send` puts on the wire
//! for tests and benchmarks, and what the round-trip tests decode.
//!
//! Both encoders keep an exporter's state: a boot time (uptimes in the
//! datagrams are relative to it), a sequence number, and for v9 when the
//! templates were last sent.

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
    pub engine_type: u8,
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
    pub source_id: u32,
    pub template_every: u32,
    boot_ms: i64,
    sequence: u32,
    since_templates: Option<u32>,
}

impl V9Encoder {
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
