use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

/// `0.0.0.0`: the address a field holds when the exporter did not send it.
pub const UNSPECIFIED_V4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// One flow, as every floe tool sees it.
///
/// Times are absolute UTC milliseconds since the Unix epoch: the decoder
/// turns v5/v9 `First`/`Last` uptimes into absolute time, so nothing
/// downstream needs the exporter's `sysUpTime`. Counters are 64-bit, AS
/// numbers are 4-byte, interfaces are 32-bit (IPFIX ifIndex), and every
/// address is IPv4 or IPv6.
///
/// ICMP type and code live where NetFlow puts them: in `dst_port`
/// (`type << 8 | code`), with `src_port` 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flow {
    /// Flow start, UTC milliseconds since the epoch.
    pub start_ms: i64,
    /// Flow end (time of the last packet), UTC milliseconds since the epoch.
    pub end_ms: i64,
    /// Address the export datagram came from.
    pub exporter: IpAddr,
    /// NetFlow v9 source id or IPFIX observation domain id (0 for v5).
    pub source_id: u32,
    /// Source address.
    pub src_addr: IpAddr,
    /// Destination address.
    pub dst_addr: IpAddr,
    /// Next-hop router address (unspecified when the exporter sends none).
    pub next_hop: IpAddr,
    /// Source port (0 for protocols without ports).
    pub src_port: u16,
    /// Destination port; for ICMP, `type << 8 | code`.
    pub dst_port: u16,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, ...).
    pub protocol: u8,
    /// TCP control bits; 16 bits because IPFIX exports may carry NS/ECE/CWR.
    pub tcp_flags: u16,
    /// IP type of service byte (DSCP and ECN).
    pub tos: u8,
    /// Packets in the flow, as exported (not scaled by sampling).
    pub packets: u64,
    /// Octets (bytes of IP packets) in the flow, as exported.
    pub octets: u64,
    /// Input interface index (SNMP ifIndex).
    pub input_if: u32,
    /// Output interface index (SNMP ifIndex).
    pub output_if: u32,
    /// Source AS number (0 when unknown).
    pub src_as: u32,
    /// Destination AS number (0 when unknown).
    pub dst_as: u32,
    /// Source prefix length.
    pub src_mask: u8,
    /// Destination prefix length.
    pub dst_mask: u8,
    /// Sampling interval announced by the exporter (1 in N packets; 0 or 1
    /// means unsampled). Stored as announced; reports may scale by it.
    pub sampling_interval: u32,
    /// NetFlow v5 engine type (0 for other versions).
    pub engine_type: u8,
    /// NetFlow v5 engine id (0 for other versions).
    pub engine_id: u8,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            start_ms: 0,
            end_ms: 0,
            exporter: UNSPECIFIED_V4,
            source_id: 0,
            src_addr: UNSPECIFIED_V4,
            dst_addr: UNSPECIFIED_V4,
            next_hop: UNSPECIFIED_V4,
            src_port: 0,
            dst_port: 0,
            protocol: 0,
            tcp_flags: 0,
            tos: 0,
            packets: 0,
            octets: 0,
            input_if: 0,
            output_if: 0,
            src_as: 0,
            dst_as: 0,
            src_mask: 0,
            dst_mask: 0,
            sampling_interval: 0,
            engine_type: 0,
            engine_id: 0,
        }
    }
}

impl Flow {
    /// Duration in milliseconds (0 when the exporter's end precedes its start).
    pub fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms).max(0) as u64
    }

    /// True when this flow overlaps the half-open window `[from_ms, to_ms)`.
    /// A flow overlaps when it ends at or after `from_ms` and starts before
    /// `to_ms`; a zero-length flow at `t` is in when `from_ms <= t < to_ms`.
    pub fn overlaps(&self, from_ms: i64, to_ms: i64) -> bool {
        self.end_ms.max(self.start_ms) >= from_ms && self.start_ms < to_ms
    }

    /// True when the flow's end-point addresses are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.src_addr.is_ipv6() || self.dst_addr.is_ipv6()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_half_open() {
        let f = Flow {
            start_ms: 100,
            end_ms: 200,
            ..Flow::default()
        };
        assert!(f.overlaps(200, 300));
        assert!(f.overlaps(0, 101));
        assert!(!f.overlaps(0, 100));
        assert!(!f.overlaps(201, 300));
        let point = Flow {
            start_ms: 50,
            end_ms: 50,
            ..Flow::default()
        };
        assert!(point.overlaps(50, 51));
        assert!(!point.overlaps(51, 60));
    }

    #[test]
    fn duration_never_negative() {
        let f = Flow {
            start_ms: 500,
            end_ms: 100,
            ..Flow::default()
        };
        assert_eq!(f.duration_ms(), 0);
    }
}
