//! What the live view reads of a flow: [`Seen`], taken from a [`Flow`]
//! row or from a row of a [`FlowBatch`]'s columns.
//!
//! Why: floed decodes into the store's columns; laying a batch out as
//! rows for the view cost it about as much as counting them (perf: the
//! row layout 9% of floed's CPU, the view's counting 12%). The view reads
//! fifteen of a flow's fields, straight from the columns.

use std::net::IpAddr;

use floe_flow::{Col, ColSet, Flow, FlowBatch};

/// The fields of a flow the live view counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// [`Flow::start_ms`].
    pub start_ms: i64,
    /// [`Flow::end_ms`].
    pub end_ms: i64,
    /// [`Flow::exporter`].
    pub exporter: IpAddr,
    /// [`Flow::source_id`].
    pub source_id: u32,
    /// [`Flow::src_addr`].
    pub src_addr: IpAddr,
    /// [`Flow::dst_addr`].
    pub dst_addr: IpAddr,
    /// [`Flow::src_port`].
    pub src_port: u16,
    /// [`Flow::dst_port`].
    pub dst_port: u16,
    /// [`Flow::protocol`].
    pub protocol: u8,
    /// [`Flow::tcp_flags`].
    pub tcp_flags: u16,
    /// [`Flow::packets`].
    pub packets: u64,
    /// [`Flow::octets`].
    pub octets: u64,
    /// [`Flow::src_as`].
    pub src_as: u32,
    /// [`Flow::dst_as`].
    pub dst_as: u32,
    /// [`Flow::sampling_interval`].
    pub sampling_interval: u32,
}

/// The columns [`Seen::of_batch`] reads.
pub const SEEN_COLS: [Col; 15] = [
    Col::Start,
    Col::End,
    Col::Exporter,
    Col::SourceId,
    Col::SrcAddr,
    Col::DstAddr,
    Col::SrcPort,
    Col::DstPort,
    Col::Protocol,
    Col::TcpFlags,
    Col::Packets,
    Col::Octets,
    Col::SrcAs,
    Col::DstAs,
    Col::Sampling,
];

/// [`SEEN_COLS`] as a set.
pub fn seen_cols() -> ColSet {
    SEEN_COLS.into_iter().fold(ColSet::NONE, ColSet::with)
}

impl From<&Flow> for Seen {
    fn from(f: &Flow) -> Seen {
        Seen {
            start_ms: f.start_ms,
            end_ms: f.end_ms,
            exporter: f.exporter,
            source_id: f.source_id,
            src_addr: f.src_addr,
            dst_addr: f.dst_addr,
            src_port: f.src_port,
            dst_port: f.dst_port,
            protocol: f.protocol,
            tcp_flags: f.tcp_flags,
            packets: f.packets,
            octets: f.octets,
            src_as: f.src_as,
            dst_as: f.dst_as,
            sampling_interval: f.sampling_interval,
        }
    }
}

impl From<Flow> for Seen {
    fn from(f: Flow) -> Seen {
        Seen::from(&f)
    }
}

impl Seen {
    /// Row `i` of `b`, which holds every column of [`SEEN_COLS`] (see
    /// [`FlowBatch::require`]) and more than `i` rows.
    #[inline]
    pub fn of_batch(b: &FlowBatch, i: usize) -> Seen {
        Seen {
            start_ms: b.start_ms[i],
            end_ms: b.end_ms[i],
            exporter: b.exporter.get(i),
            source_id: b.source_id[i],
            src_addr: b.src_addr.get(i),
            dst_addr: b.dst_addr.get(i),
            src_port: b.src_port[i],
            dst_port: b.dst_port[i],
            protocol: b.protocol[i],
            tcp_flags: b.tcp_flags[i],
            packets: b.packets[i],
            octets: b.octets[i],
            src_as: b.src_as[i],
            dst_as: b.dst_as[i],
            sampling_interval: b.sampling_interval[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn a_batch_row_is_seen_as_its_flow() {
        let flows: Vec<Flow> = (0..50u32)
            .map(|i| Flow {
                start_ms: i64::from(i),
                end_ms: i64::from(i) + 5,
                exporter: "192.0.2.1".parse().unwrap(),
                source_id: i,
                src_addr: if i % 3 == 0 {
                    format!("2001:db8::{i}").parse().unwrap()
                } else {
                    IpAddr::V4(Ipv4Addr::from(i))
                },
                dst_addr: IpAddr::V4(Ipv4Addr::from(i + 1)),
                src_port: i as u16,
                dst_port: 443,
                protocol: 6,
                tcp_flags: 0x12,
                packets: u64::from(i),
                octets: u64::from(i) * 10,
                src_as: i,
                dst_as: i + 1,
                sampling_interval: 100,
                tos: 9,
                ..Flow::default()
            })
            .collect();
        let b = FlowBatch::from_flows(&flows);
        assert!(b.require(seen_cols()).is_ok());
        for (i, f) in flows.iter().enumerate() {
            assert_eq!(Seen::of_batch(&b, i), Seen::from(f));
        }
    }
}
