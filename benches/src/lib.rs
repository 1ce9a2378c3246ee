//! floe's benchmarks, and the realistic flow generator they share.
//!
//! [`realistic_flows`] makes a reproducible day of traffic as a border
//! router of a mid-size site would export it: clients in a few busy /16s
//! (and /48s for the ~20% IPv6 share), servers with Zipf-like popularity,
//! ports skewed to 443/80/53 with a long tail, heavy-tailed packet and byte
//! counts, durations from milliseconds to the 30-minute active timeout,
//! flows arriving in export order. Benchmarks that compare floe with other
//! tools must use the same generator and seed on both sides.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floe_flow::Flow;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The generator's settings.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Share of IPv6 flows (0.0 to 1.0).
    pub ipv6_share: f64,
    /// First flow end time, UTC ms.
    pub day_start_ms: i64,
    /// Span of the generated flows' end times, ms.
    pub span_ms: i64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            ipv6_share: 0.2,
            day_start_ms: 1_795_305_600_000, // 2026-11-22T00:00:00Z
            span_ms: 86_400_000,
        }
    }
}

/// Index into a population of `n` with a heavy head: a few members get most
/// of the draws (roughly Zipf with exponent ~1).
fn popular(rng: &mut SmallRng, n: u32) -> u32 {
    let u: f64 = rng.gen();
    ((n as f64).powf(u) - 1.0) as u32 % n
}

/// Heavy-tailed packet count: most flows 1-10 packets, a few thousands.
fn packets(rng: &mut SmallRng) -> u64 {
    let u: f64 = rng.gen_range(0.0001..1.0);
    (1.0 / u.powf(0.9)).min(2_000_000.0) as u64
}

/// `n` flows in export order, reproducible from `seed`.
pub fn realistic_flows(n: usize, seed: u64, mix: &Mix) -> Vec<Flow> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let exporters: [IpAddr; 3] = [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
    ];
    let step = mix.span_ms as f64 / n.max(1) as f64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let end_ms = mix.day_start_ms + (i as f64 * step) as i64 + rng.gen_range(0..1000);
        let d: f64 = rng.gen();
        let duration_ms: i64 = if d < 0.4 {
            rng.gen_range(0..1000)
        } else if d < 0.85 {
            rng.gen_range(1000..60_000)
        } else {
            rng.gen_range(60_000..1_800_000)
        };
        let v6 = rng.gen_bool(mix.ipv6_share);
        // Client: busy /16s (v4) or /48s (v6), a Zipf-ish host inside.
        let client_host = popular(&mut rng, 60_000);
        let client_net = popular(&mut rng, 4);
        let server_idx = popular(&mut rng, 200_000);
        let (client, server) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    0x0db8,
                    0x0100 + client_net as u16,
                    0,
                    0,
                    0,
                    (client_host >> 16) as u16,
                    client_host as u16,
                )),
                IpAddr::V6(Ipv6Addr::new(
                    0x2a00,
                    0x1450 + (server_idx % 64) as u16,
                    0x4001,
                    0x0800,
                    0,
                    0,
                    0,
                    0x200e + (server_idx >> 6) as u16,
                )),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::from(
                    0x0a00_0000 | (client_net << 16) | client_host,
                )),
                IpAddr::V4(Ipv4Addr::from(
                    [0x5db8_0000u32, 0x8efa_0000, 0x1f0d_0000, 0xd83a_0000]
                        [(server_idx % 4) as usize]
                        | ((server_idx >> 2) % 65_536),
                )),
            )
        };
        let p: f64 = rng.gen();
        let (protocol, service): (u8, u16) = if p < 0.50 {
            (6, 443)
        } else if p < 0.62 {
            (6, 80)
        } else if p < 0.77 {
            (17, 53)
        } else if p < 0.80 {
            (17, 443)
        } else if p < 0.82 {
            (1, 0x0800)
        } else {
            let tail = [22u16, 25, 123, 993, 3389, 8080, 8443, 5222, 1194, 51820];
            let t = popular(&mut rng, 2000) as usize;
            let port = if t < tail.len() {
                tail[t]
            } else {
                1024 + t as u16 * 31
            };
            (if rng.gen_bool(0.7) { 6 } else { 17 }, port)
        };
        let ephemeral: u16 = rng.gen_range(32_768..61_000);
        let outbound = rng.gen_bool(0.5);
        let (src_addr, dst_addr, src_port, dst_port) = match (outbound, protocol) {
            (_, 1) => (client, server, 0, service),
            (true, _) => (client, server, ephemeral, service),
            (false, _) => (server, client, service, ephemeral),
        };
        let pk = packets(&mut rng);
        let size: u64 = if outbound {
            rng.gen_range(40..300)
        } else if rng.gen_bool(0.6) {
            rng.gen_range(1000..1500)
        } else {
            rng.gen_range(40..1500)
        };
        let tcp_flags: u16 = if protocol == 6 {
            [0x1b, 0x1b, 0x1a, 0x12, 0x02, 0x18, 0x10, 0x19, 0x14][rng.gen_range(0..9)]
        } else {
            0
        };
        let ext_as = [
            15169u32, 13335, 16509, 8075, 32934, 20940, 2906, 714, 3356, 1299,
        ][popular(&mut rng, 10) as usize];
        let in_if = 1 + popular(&mut rng, 8);
        let exporter = exporters[popular(&mut rng, 3) as usize];
        out.push(Flow {
            start_ms: end_ms - duration_ms,
            end_ms,
            exporter,
            source_id: 0,
            src_addr,
            dst_addr,
            next_hop: if v6 {
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    0xdb8,
                    0,
                    0xff,
                    0,
                    0,
                    0,
                    1 + (in_if % 2) as u16,
                ))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250 + (in_if % 2) as u8))
            },
            src_port,
            dst_port,
            protocol,
            tcp_flags,
            tos: if rng.gen_bool(0.9) { 0 } else { 0x28 },
            packets: pk,
            octets: pk * size,
            input_if: in_if,
            output_if: 1 + (in_if + 3) % 8,
            src_as: if outbound { 0 } else { ext_as },
            dst_as: if outbound { ext_as } else { 0 },
            src_mask: if v6 { 48 } else { 16 },
            dst_mask: if v6 { 32 } else { 16 },
            sampling_interval: 0,
            engine_type: 0,
            engine_id: 0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_shaped_as_promised() {
        let a = realistic_flows(50_000, 7, &Mix::default());
        assert_eq!(a, realistic_flows(50_000, 7, &Mix::default()));
        let v6 = a.iter().filter(|f| f.is_ipv6()).count() as f64 / a.len() as f64;
        assert!((0.17..0.23).contains(&v6), "{v6}");
        let https = a
            .iter()
            .filter(|f| f.dst_port == 443 || f.src_port == 443)
            .count() as f64
            / a.len() as f64;
        assert!(https > 0.4, "{https}");
        assert!(a.windows(2).all(|w| w[0].end_ms <= w[1].end_ms + 1000));
        let max_pk = a.iter().map(|f| f.packets).max().unwrap();
        assert!(max_pk > 1000, "heavy tail: {max_pk}");
    }
}
