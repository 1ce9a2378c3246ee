//! Synthetic but realistic flows, for `floe send`, tests and benchmarks.
//!
//! [`realistic_flows`] makes a reproducible day of traffic as a border
//! router of a mid-size site would export it: clients in a few busy /16s
//! (and /48s for the ~20% IPv6 share), servers with Zipf-like popularity,
//! ports skewed to 443/80/53 with a long tail, heavy-tailed packet and byte
//! counts, durations from milliseconds to the 30-minute active timeout,
//! flows arriving in export order. Benchmarks that compare floe with other
//! tools must use the same generator and seed on both sides.
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floe_flow::Flow;

/// SplitMix64: small, fast, and the same stream on every platform, which
/// is all a reproducible data set needs.
pub struct Rng(u64);

impl Rng {
    /// A generator whose stream is fixed by `seed`.
    pub fn seed_from_u64(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..hi` (hi > lo).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The generator's settings.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Share of IPv6 flows (0.0 to 1.0).
    pub ipv6_share: f64,
    /// First flow end time, UTC ms.
    pub day_start_ms: i64,
    /// Span of the generated flows' end times, ms: every flow ends within
    /// `day_start_ms..=day_start_ms + span_ms`.
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
fn popular(rng: &mut Rng, n: u32) -> u32 {
    let u = rng.unit();
    ((n as f64).powf(u) - 1.0) as u32 % n
}

/// Heavy-tailed packet count: most flows 1-10 packets, a few thousands.
fn packets(rng: &mut Rng) -> u64 {
    let u = 0.0001 + rng.unit() * 0.9999;
    (1.0 / u.powf(0.9)).min(2_000_000.0) as u64
}

/// `n` flows in export order, reproducible from `seed`. Every flow starts
/// no later than it ends, and ends within the mix's span (a sender that
/// exports at the span's end never sends a flow from its future).
pub fn realistic_flows(n: usize, seed: u64, mix: &Mix) -> Vec<Flow> {
    let mut rng = Rng::seed_from_u64(seed);
    let exporters: [IpAddr; 3] = [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
    ];
    let step = mix.span_ms as f64 / n.max(1) as f64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // A second of jitter, but never past the span: a flow clamped
        // there keeps its duration (its start moves with its end).
        let end_ms = (mix.day_start_ms + (i as f64 * step) as i64 + rng.range(0, 1000))
            .min(mix.day_start_ms + mix.span_ms);
        let d = rng.unit();
        let duration_ms: i64 = if d < 0.4 {
            rng.range(0, 1000)
        } else if d < 0.85 {
            rng.range(1000, 60_000)
        } else {
            rng.range(60_000, 1_800_000)
        };
        let v6 = rng.chance(mix.ipv6_share);
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
        let p = rng.unit();
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
            (if rng.chance(0.7) { 6 } else { 17 }, port)
        };
        let ephemeral = rng.range(32_768, 61_000) as u16;
        let outbound = rng.chance(0.5);
        let (src_addr, dst_addr, src_port, dst_port) = match (outbound, protocol) {
            (_, 1) => (client, server, 0, service),
            (true, _) => (client, server, ephemeral, service),
            (false, _) => (server, client, service, ephemeral),
        };
        let pk = packets(&mut rng);
        let size = if outbound {
            rng.range(40, 300) as u64
        } else if rng.chance(0.6) {
            rng.range(1000, 1500) as u64
        } else {
            rng.range(40, 1500) as u64
        };
        let tcp_flags: u16 = if protocol == 6 {
            [0x1b, 0x1b, 0x1a, 0x12, 0x02, 0x18, 0x10, 0x19, 0x14][rng.range(0, 9) as usize]
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
            tos: if rng.chance(0.9) { 0 } else { 0x28 },
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

    /// `floe send` exports at the span's end: no flow may end after it or
    /// start after its end (a collector would take either for a broken
    /// exporter clock), whatever the count and span.
    #[test]
    fn every_flow_ends_within_the_span_and_after_it_starts() {
        for (n, span_ms) in [(20_000, 60_000), (7, 1_000), (100_000, 86_400_000)] {
            let mix = Mix {
                span_ms,
                ..Mix::default()
            };
            let flows = realistic_flows(n, 1, &mix);
            let last = mix.day_start_ms + span_ms;
            for f in &flows {
                assert!(f.start_ms <= f.end_ms, "{f:?}");
                assert!(
                    (mix.day_start_ms..=last).contains(&f.end_ms),
                    "{} outside the span",
                    f.end_ms
                );
            }
        }
    }
}
