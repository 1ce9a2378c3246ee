//! The filter on columns answers as the row predicate does: every
//! construct of the language, random filters over random batches of IPv4
//! and IPv6 flows; and what it says of a block from the block's
//! statistics holds for every flow of it (never: none matches; always:
//! every one does).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floe_filter::{selected, Filter, Verdict};
use floe_flow::Flow;
use floe_flow::{BatchStats, FlowBatch};
use proptest::prelude::*;

/// Values drawn from small pools, so that equalities and prefixes hit.
fn flow(r: &[u64; 12]) -> Flow {
    let pick = |i: usize, pool: &[u64]| pool[(r[i] % pool.len() as u64) as usize];
    let v4 = |x: u64| {
        IpAddr::V4(Ipv4Addr::from(
            pick(
                0,
                &[
                    0x0a01_0203,
                    0x0a01_0909,
                    0xcb00_7105,
                    0xc633_6407,
                    0xc0a8_010a,
                    0,
                ],
            ) as u32
                ^ (x as u32 & 0xff),
        ))
    };
    let v6 = |x: u64| {
        IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            (x % 3) as u16,
            0,
            0,
            0,
            0,
            (x % 300) as u16,
        ))
    };
    let addr = |k: u64| {
        if k.is_multiple_of(5) {
            v6(k / 5)
        } else {
            v4(k / 5)
        }
    };
    let start = 1_795_305_600_000 + (r[1] % 7_200_000) as i64;
    Flow {
        start_ms: start,
        end_ms: start + pick(2, &[0, 1, 999, 1000, 5000, 61_000, 3_600_000]) as i64
            - i64::from(r[2].is_multiple_of(11)) * 2000,
        exporter: if r[3].is_multiple_of(4) {
            "2001:db8::99".parse().unwrap()
        } else {
            "192.0.2.1".parse().unwrap()
        },
        source_id: pick(3, &[0, 7]) as u32,
        src_addr: addr(r[4]),
        dst_addr: addr(r[5]),
        next_hop: addr(r[6] / 3),
        src_port: pick(7, &[0, 53, 80, 443, 1024, 40000, 65535]) as u16,
        dst_port: pick(8, &[0, 53, 80, 443, 1024, 50001, 65535]) as u16,
        protocol: pick(9, &[1, 6, 17, 47, 58]) as u8,
        tcp_flags: pick(10, &[0, 0x02, 0x12, 0x10, 0x18, 0x11, 0x1ff]) as u16,
        tos: pick(11, &[0, 4, 0x28]) as u8,
        packets: pick(1, &[0, 1, 2, 900, 1000, 1001, 1 << 40]),
        octets: pick(2, &[0, 40, 70, 999, 1000, 1_500_000, 1 << 50]),
        input_if: pick(3, &[0, 1, 2, 7]) as u32,
        output_if: pick(4, &[0, 1, 2]) as u32,
        src_as: pick(5, &[0, 15169, 64500, 4_200_000_000]) as u32,
        dst_as: pick(6, &[0, 15169, 64501]) as u32,
        src_mask: pick(7, &[0, 16, 24, 64]) as u8,
        dst_mask: pick(8, &[0, 8, 24, 128]) as u8,
        sampling_interval: pick(9, &[0, 1, 100]) as u32,
        engine_type: pick(10, &[0, 1]) as u8,
        engine_id: pick(11, &[0, 2]) as u8,
    }
}

/// One test of the language, from a template and a number.
fn atom(kind: usize, x: u64) -> String {
    let of = |pool: &[&str]| pool[(x % pool.len() as u64) as usize].to_string();
    let cmp = of(&["=", "!=", "<", "<=", ">", ">=", "eq", "gt"]);
    let c = || cmp.clone();
    match kind % 34 {
        0 => "any".into(),
        1 => of(&["ipv4", "ipv6", "inet6"]),
        2 => of(&[
            "tcp",
            "udp",
            "icmp",
            "proto gre",
            "proto 58",
            "proto in [udp, icmp]",
        ]),
        3 => format!(
            "{} {}",
            of(&["ip", "src ip", "dst ip", "host", "src host"]),
            of(&[
                "10.1.2.3",
                "203.0.113.5",
                "2001:db8::5",
                "0.0.0.0",
                "2001:db8:2::12b"
            ])
        ),
        4 => format!(
            "{} {}",
            of(&["net", "src net", "dst net"]),
            of(&[
                "10.0.0.0/8",
                "10.1.0.0/16",
                "203.0.113.0/24",
                "0.0.0.0/0",
                "2001:db8::/32",
                "2001:db8:1::/48",
                "::/0",
                "10.1.0.0 255.255.0.0"
            ])
        ),
        5 => format!(
            "{} in [{}]",
            of(&["ip", "src ip", "dst net"]),
            of(&[
                "10.1.9.9, 203.0.113.0/24",
                "2001:db8::/48 192.168.1.0/24",
                "10.1.2.3"
            ])
        ),
        6 => format!(
            "{} {} {}",
            of(&["port", "src port", "dst port"]),
            c(),
            of(&["53", "80", "443", "1024", "65535", "0", "https"])
        ),
        7 => format!(
            "{} {}",
            of(&["dst port", "port", "src port"]),
            of(&[
                "50000-52000",
                "1-100",
                "in [53, 80, 443]",
                "in [1-100, 443]",
                "0"
            ])
        ),
        8 => format!(
            "{} {} {}",
            of(&["as", "src as", "dst as"]),
            c(),
            of(&["15169", "64500", "0", "4200000000"])
        ),
        9 => format!(
            "{} {} {}",
            of(&["in if", "out if", "if"]),
            c(),
            of(&["0", "1", "2", "7"])
        ),
        10 => format!(
            "{} {}",
            of(&["next-hop", "exporter"]),
            of(&[
                "192.0.2.0/24",
                "2001:db8::99",
                "10.1.0.0/16",
                "2001:db8::/32"
            ])
        ),
        11 => format!(
            "flags {}",
            of(&["S", "SA", "A", "AP", "F", "0x10", "N", "0"])
        ),
        12 => format!(
            "{} mask {} = {}",
            of(&["tos", "flags"]),
            of(&["0x10", "0x12", "0xff", "0"]),
            of(&["0x10", "0", "0x02"])
        ),
        13 => format!("tos {} {}", c(), of(&["0", "4", "40"])),
        14 => format!("packets {} {}", c(), of(&["0", "1", "900", "1000", "1k"])),
        15 => format!(
            "bytes {} {}",
            c(),
            of(&["0", "70", "1k", "1M", "1.5M", "1G"])
        ),
        16 => format!("duration {} {}", c(), of(&["0", "1000", "1s", "5s", "1m"])),
        17 => format!(
            "{} {} {}",
            of(&["bps", "pps", "bpp"]),
            c(),
            of(&["0", "2", "500", "1000", "1M", "10M"])
        ),
        18 => format!(
            "{} {} {}",
            of(&["first", "last"]),
            c(),
            of(&[
                "2026-11-22T00:00:00Z",
                "2026-11-22T01:00:00Z",
                "2026-11-22T00:30:00Z",
                "2026-11-21",
                "2026-11-23"
            ])
        ),
        19 => format!(
            "{} {}",
            of(&["engine-type", "engine-id", "source-id", "sampling"]),
            of(&["0", "1", "2", "7", "100"])
        ),
        20 => format!(
            "{} {} {}",
            of(&["src mask", "dst mask", "mask"]),
            c(),
            of(&["0", "16", "24", "128"])
        ),
        21 => format!("proto in [{}]", of(&["6 17", "1", "47, 58"])),
        22 => format!("packets in [{}]", of(&["0-1", "900-1000", "2"])),
        23 => format!("bytes {}", of(&["0-100", "1000-2000000", "70"])),
        _ => of(&[
            "tcp",
            "dst port 443",
            "udp",
            "not tcp",
            "src net 10.0.0.0/8",
            "flags S",
            "ipv6",
            "proto tcp and dst port 443",
            "first > 2026-11-22T00:30:00Z",
            "last <= 2026-11-22T01:00:00Z",
            "bytes > 1k",
        ]),
    }
}

/// A random expression of atoms joined by and/or, some negated, some in
/// parentheses.
fn expression(parts: &[(usize, u64, u8)]) -> String {
    let mut s = String::new();
    for (i, (k, x, how)) in parts.iter().enumerate() {
        if i > 0 {
            s.push_str(if how & 1 == 0 { " and " } else { " or " });
        }
        if how & 2 != 0 {
            s.push_str("not ");
        }
        if how & 4 != 0 && i + 1 < parts.len() {
            let (k2, x2, _) = parts[i + 1];
            s.push_str(&format!("({} or {})", atom(*k, *x), atom(k2, x2)));
        } else {
            s.push_str(&atom(*k, *x));
        }
    }
    s
}

fn check(filter: &Filter, flows: &[Flow]) -> Result<(), TestCaseError> {
    let b = FlowBatch::from_flows(flows);
    let mut mask = Vec::new();
    filter.select(&b, &mut mask).unwrap();
    let want: Vec<u8> = flows.iter().map(|f| u8::from(filter.matches(f))).collect();
    prop_assert_eq!(&mask, &want, "{}", filter);
    // Only the columns the filter reads are needed.
    let mut only = FlowBatch::new();
    only.fill_from(flows, filter.cols());
    let mut mask2 = Vec::new();
    filter.select(&only, &mut mask2).unwrap();
    prop_assert_eq!(&mask2, &want, "projected: {}", filter);
    let mut sel = Vec::new();
    selected(&mask, &mut sel);
    prop_assert_eq!(sel.len(), want.iter().filter(|m| **m == 1).count());
    let v = filter.on_stats(&BatchStats::of_flows(flows));
    let matched = sel.len();
    match v {
        Verdict::Never => prop_assert_eq!(matched, 0, "never, yet some match: {}", filter),
        Verdict::Always => {
            prop_assert_eq!(matched, flows.len(), "always, yet some do not: {}", filter)
        }
        Verdict::Maybe => {}
    }
    // Statistics that know nothing but the counts say nothing wrong either.
    let mut none = BatchStats::of_flows(flows);
    none.nums = Default::default();
    none.start = None;
    none.end = None;
    for a in &mut none.addrs {
        a.v4 = None;
        a.v6 = None;
    }
    match filter.on_stats(&none) {
        Verdict::Never => prop_assert_eq!(matched, 0, "{}", filter),
        Verdict::Always => prop_assert_eq!(matched, flows.len(), "{}", filter),
        Verdict::Maybe => {}
    }
    Ok(())
}

#[test]
fn every_atom_answers_the_same_on_columns() {
    let flows: Vec<Flow> = (0..600u64)
        .map(|i| {
            let mut r = [0u64; 12];
            for (k, x) in r.iter_mut().enumerate() {
                *x = i
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(k as u32 * 5)
                    ^ (i * k as u64);
            }
            flow(&r)
        })
        .collect();
    for kind in 0..34 {
        for x in 0..40 {
            let text = atom(kind, x);
            let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            check(&f, &flows).unwrap();
            // A block of one kind of flow: where statistics decide.
            for chunk in flows.chunks(7).take(20) {
                check(&f, chunk).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn random_filters_over_random_batches_answer_as_rows_do(
        rows in prop::collection::vec(any::<[u64; 12]>(), 0..200),
        parts in prop::collection::vec((0usize..34, any::<u64>(), any::<u8>()), 1..6),
        uniform in any::<bool>(),
    ) {
        let mut flows: Vec<Flow> = rows.iter().map(flow).collect();
        if uniform && !flows.is_empty() {
            // Blocks whose columns are constant: statistics decide more.
            let first = flows[0].clone();
            for f in &mut flows {
                *f = Flow { src_port: f.src_port, ..first.clone() };
            }
        }
        let text = expression(&parts);
        let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        check(&f, &flows)?;
    }
}
