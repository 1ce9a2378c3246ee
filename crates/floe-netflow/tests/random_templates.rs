//! v9 data under templates generated at random (which fields, in which
//! order, at which widths) round-trips through the decoder, and through
//! netflow_parser (the oracle): every field the template carries comes
//! back, every field it does not is zero.

use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::{Decoder, DecoderConfig, Flow};
use proptest::prelude::*;

const EXPORT_SECS: u32 = 1_795_305_600;
const UPTIME: u32 = 86_400_000;

/// A field a template may carry: its IE, the widths it may take, and how
/// to write a flow's value for it and set it on the expected flow.
#[derive(Clone, Copy, Debug)]
enum F {
    SrcAddr,
    DstAddr,
    NextHop,
    SrcPort,
    DstPort,
    Protocol,
    TcpFlags,
    Tos,
    Octets(u16),
    Packets(u16),
    InIf(u16),
    OutIf(u16),
    SrcAs(u16),
    DstAs(u16),
    SrcMask,
    DstMask,
}

impl F {
    fn ie_len(self) -> (u16, u16) {
        match self {
            F::SrcAddr => (8, 4),
            F::DstAddr => (12, 4),
            F::NextHop => (15, 4),
            F::SrcPort => (7, 2),
            F::DstPort => (11, 2),
            F::Protocol => (4, 1),
            F::TcpFlags => (6, 1),
            F::Tos => (5, 1),
            F::Octets(w) => (1, w),
            F::Packets(w) => (2, w),
            F::InIf(w) => (10, w),
            F::OutIf(w) => (14, w),
            F::SrcAs(w) => (16, w),
            F::DstAs(w) => (17, w),
            F::SrcMask => (9, 1),
            F::DstMask => (13, 1),
        }
    }

    /// Writes `v` (already cut to the width) big-endian.
    fn put(self, out: &mut Vec<u8>, v: u64) {
        let (_, w) = self.ie_len();
        out.extend_from_slice(&v.to_be_bytes()[8 - usize::from(w)..]);
    }

    /// The value this field carries for raw random `r`, and the expected
    /// flow with it set.
    fn apply(self, r: u64, f: &mut Flow) -> u64 {
        let (_, w) = self.ie_len();
        let v = if w >= 8 {
            r
        } else {
            r & ((1u64 << (8 * w)) - 1)
        };
        match self {
            F::SrcAddr => f.src_addr = IpAddr::V4(Ipv4Addr::from(v as u32)),
            F::DstAddr => f.dst_addr = IpAddr::V4(Ipv4Addr::from(v as u32)),
            F::NextHop => f.next_hop = IpAddr::V4(Ipv4Addr::from(v as u32)),
            F::SrcPort => f.src_port = v as u16,
            F::DstPort => f.dst_port = v as u16,
            F::Protocol => f.protocol = v as u8,
            F::TcpFlags => f.tcp_flags = v as u16,
            F::Tos => f.tos = v as u8,
            F::Octets(_) => f.octets = v,
            F::Packets(_) => f.packets = v,
            F::InIf(_) => f.input_if = v as u32,
            F::OutIf(_) => f.output_if = v as u32,
            F::SrcAs(_) => f.src_as = v as u32,
            F::DstAs(_) => f.dst_as = v as u32,
            F::SrcMask => f.src_mask = v as u8,
            F::DstMask => f.dst_mask = v as u8,
        }
        v
    }
}

fn field() -> impl Strategy<Value = F> {
    prop_oneof![
        Just(F::SrcAddr),
        Just(F::DstAddr),
        Just(F::NextHop),
        Just(F::SrcPort),
        Just(F::DstPort),
        Just(F::Protocol),
        Just(F::TcpFlags),
        Just(F::Tos),
        prop_oneof![Just(4u16), Just(8)].prop_map(F::Octets),
        prop_oneof![Just(4u16), Just(8)].prop_map(F::Packets),
        prop_oneof![Just(2u16), Just(4)].prop_map(F::InIf),
        prop_oneof![Just(2u16), Just(4)].prop_map(F::OutIf),
        prop_oneof![Just(2u16), Just(4)].prop_map(F::SrcAs),
        prop_oneof![Just(2u16), Just(4)].prop_map(F::DstAs),
        Just(F::SrcMask),
        Just(F::DstMask),
    ]
}

/// Distinct kinds only: a template names each field once.
fn template() -> impl Strategy<Value = Vec<F>> {
    prop::collection::vec(field(), 1..16).prop_map(|fs| {
        let mut seen = std::collections::HashSet::new();
        fs.into_iter()
            .filter(|f| seen.insert(f.ie_len().0))
            .collect()
    })
}

fn v9_header(count: u16, seq: u32, source_id: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&9u16.to_be_bytes());
    d.extend_from_slice(&count.to_be_bytes());
    d.extend_from_slice(&UPTIME.to_be_bytes());
    d.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&source_id.to_be_bytes());
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn random_templates_round_trip(
        fields in template(),
        template_id in 256u16..=65535,
        source_id in any::<u32>(),
        raw in prop::collection::vec((prop::collection::vec(any::<u64>(), 16), 0u32..3_600_000, 0u32..600_000), 1..20),
    ) {
        // Every record carries its times (first/last uptimes) after the
        // random fields.
        let mut tset = Vec::new();
        tset.extend_from_slice(&template_id.to_be_bytes());
        tset.extend_from_slice(&((fields.len() + 2) as u16).to_be_bytes());
        for f in &fields {
            let (ie, len) = f.ie_len();
            tset.extend_from_slice(&ie.to_be_bytes());
            tset.extend_from_slice(&len.to_be_bytes());
        }
        for ie in [22u16, 21] {
            tset.extend_from_slice(&ie.to_be_bytes());
            tset.extend_from_slice(&4u16.to_be_bytes());
        }
        let mut data = Vec::new();
        let mut want = Vec::new();
        for (values, age, dur) in &raw {
            let export_ms = i64::from(EXPORT_SECS) * 1000;
            let mut f = Flow {
                exporter: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)),
                source_id,
                start_ms: export_ms - i64::from(*age) - i64::from(*dur),
                end_ms: export_ms - i64::from(*age),
                ..Flow::default()
            };
            for (i, fld) in fields.iter().enumerate() {
                let v = fld.apply(values[i], &mut f);
                fld.put(&mut data, v);
            }
            data.extend_from_slice(&(UPTIME - age - dur).to_be_bytes());
            data.extend_from_slice(&(UPTIME - age).to_be_bytes());
            // ICMP: the decoder reads the type/code from the destination
            // port when no ICMP field is there; nothing to adjust.
            want.push(f);
        }
        while data.len() % 4 != 0 {
            data.push(0);
        }
        let mut d = v9_header(2, 1, source_id);
        d.extend_from_slice(&0u16.to_be_bytes());
        d.extend_from_slice(&((4 + tset.len()) as u16).to_be_bytes());
        d.extend_from_slice(&tset);
        d.extend_from_slice(&template_id.to_be_bytes());
        d.extend_from_slice(&((4 + data.len()) as u16).to_be_bytes());
        d.extend_from_slice(&data);
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut oracle = floe_netflow::oracle::Oracle::default();
        let mut out = Vec::new();
        let o = dec.decode(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)), &d, 0, &mut out);
        prop_assert_eq!(o.counters.bad_datagrams, 0);
        // A second datagram of data only, under the learned template
        // (compiled when it was learned).
        let mut d2 = v9_header(1, 2, source_id);
        d2.extend_from_slice(&template_id.to_be_bytes());
        d2.extend_from_slice(&((4 + data.len()) as u16).to_be_bytes());
        d2.extend_from_slice(&data);
        let mut out2 = Vec::new();
        dec.decode(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)), &d2, 0, &mut out2);
        // Decoded into columns (as floed does), the same flows, the same
        // counters: both datagrams after a row already in the batch.
        let mut cols_dec = Decoder::new(DecoderConfig::default());
        let mut cols = floe_flow::FlowBatch::with_every_column();
        cols.push_row(&Flow { src_addr: "2001:db8::7".parse().unwrap(), ..Flow::default() });
        let oc = cols_dec.decode(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)), &d, 0, &mut cols);
        cols_dec.decode(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)), &d2, 0, &mut cols);
        prop_assert!(cols.lengths_agree());
        prop_assert_eq!(&cols.to_flows()[1..], &[out.clone(), out2.clone()].concat()[..]);
        prop_assert_eq!(format!("{:?}", oc.counters), format!("{:?}", o.counters));
        let mut theirs = Vec::new();
        oracle.decode(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)), &d, &mut theirs);
        oracle.decode(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)), &d2, &mut theirs);
        // A record with no address and no counter is not a flow (an
        // options-like record); the decoder keeps only flows.
        let is_flow = fields.iter().any(|f| {
            matches!(f, F::SrcAddr | F::DstAddr | F::Octets(_) | F::Packets(_))
        });
        if !is_flow {
            want.clear();
        }
        prop_assert_eq!(&out, &want);
        prop_assert_eq!(&out2, &want);
        // netflow_parser reads the same flows from both datagrams.
        prop_assert_eq!(theirs, [want.clone(), want].concat());
    }
}
