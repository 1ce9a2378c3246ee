//! `summary-counters` and `summary-detail`: the whole input's totals and
//! averages, and (detail) flow-report's four distributions: average packet
//! size, packets per flow, octets per flow and flow time, each as the
//! fraction of flows per bucket, with flow-report's bucket bounds.

use crate::counters::{Counters, Sample};
use crate::kind::SummaryKind;

/// Upper bounds (inclusive) of the packet-size buckets; larger packets
/// are in no bucket, as in flow-report.
pub const PACKET_SIZE: [u64; 26] = [
    32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 480, 512, 544, 576, 1024,
    1536, 2048, 2560, 3072, 3584, 4096, 4608,
];
/// Packets per flow; the last bucket takes the rest.
pub const PACKETS: [u64; 25] = [
    1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 60, 100, 200, 300, 400, 500, 600, 700,
    800, 900,
];
/// Octets per flow; the last bucket takes the rest.
pub const OCTETS: [u64; 25] = [
    32, 64, 128, 256, 512, 1280, 2048, 2816, 3584, 4352, 5120, 5888, 6656, 7424, 8192, 8960, 9728,
    10496, 11264, 12032, 12800, 13568, 14336, 15104, 15872,
];
/// Flow time in milliseconds; the last bucket takes the rest.
pub const TIME: [u64; 25] = [
    10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 12000,
    14000, 16000, 18000, 20000, 22000, 24000, 26000, 28000, 30000,
];

/// One distribution: counts per bucket, `other` past the last bound.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Distribution {
    /// Upper bounds of the buckets.
    pub bounds: &'static [u64],
    /// Flows per bucket.
    pub counts: Vec<u64>,
    /// Past the last bound (None: such flows are in no bucket).
    pub other: Option<u64>,
}

impl Distribution {
    fn new(bounds: &'static [u64], with_other: bool) -> Distribution {
        Distribution {
            bounds,
            counts: vec![0; bounds.len()],
            other: with_other.then_some(0),
        }
    }

    fn add(&mut self, v: u64) {
        match self.bounds.iter().position(|b| v <= *b) {
            Some(i) => self.counts[i] += 1,
            None => {
                if let Some(o) = &mut self.other {
                    *o += 1
                }
            }
        }
    }

    fn merge(&mut self, o: &Distribution) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        if let (Some(a), Some(b)) = (&mut self.other, o.other) {
            *a += b;
        }
    }

    /// (label, count) per bucket: the bound, and `>LAST` for the rest.
    pub fn buckets(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(b, c)| (b.to_string(), *c))
            .collect();
        if let (Some(o), Some(last)) = (self.other, self.bounds.last()) {
            v.push((format!(">{last}"), o));
        }
        v
    }
}

/// The summary of the flows counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Counters only, or with the distributions.
    pub kind: SummaryKind,
    /// Flows by octets per packet.
    pub packet_size: Distribution,
    /// Flows by packets.
    pub packets: Distribution,
    /// Flows by octets.
    pub octets: Distribution,
    /// Flows by duration.
    pub time: Distribution,
}

impl Summary {
    /// An empty summary.
    pub fn new(kind: SummaryKind) -> Summary {
        Summary {
            kind,
            packet_size: Distribution::new(&PACKET_SIZE, false),
            packets: Distribution::new(&PACKETS, true),
            octets: Distribution::new(&OCTETS, true),
            time: Distribution::new(&TIME, true),
        }
    }

    pub(crate) fn add(&mut self, s: &Sample) {
        if self.kind == SummaryKind::Detail {
            self.packet_size.add(s.octets / s.packets.max(1));
            self.packets.add(s.packets);
            self.octets.add(s.octets);
            self.time.add(s.duration_ms);
        }
    }

    pub(crate) fn merge(&mut self, o: &Summary) {
        self.packet_size.merge(&o.packet_size);
        self.packets.merge(&o.packets);
        self.octets.merge(&o.octets);
        self.time.merge(&o.time);
    }

    /// The four distributions with their titles.
    pub fn distributions(&self) -> [(&'static str, &Distribution); 4] {
        [
            (
                "Packet size distribution (octets per packet)",
                &self.packet_size,
            ),
            ("Packets per flow", &self.packets),
            ("Octets per flow", &self.octets),
            ("Flow time distribution (ms)", &self.time),
        ]
    }
}

/// The averages of a summary.
///
/// [`Averages::of`] divides as people expect (5.97 octets per flow is
/// 5.97); [`Averages::flow_report`] divides integers where flow-report
/// does (5.97 is 5, printed `5.000000`), which only the flow-tools
/// layout keeps, for the scripts that compare its numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Averages {
    /// Seconds from the first flow's start to the last flow's end.
    pub time_real: u64,
    /// The same span in milliseconds.
    pub span_ms: u64,
    /// Average flow time, ms.
    pub flow_time: f64,
    /// Octets per packet.
    pub packet_size: f64,
    /// Octets per flow.
    pub flow_size: f64,
    /// Packets per flow.
    pub packets_per_flow: f64,
    /// Flows per second over the span of flow time.
    pub flows_per_second: f64,
    /// Octets per second over the span.
    pub octets_per_second: f64,
    /// Packets per second over the span.
    pub packets_per_second: f64,
}

impl Averages {
    /// Real averages.
    pub fn of(t: &Counters, first_ms: i64, last_ms: i64) -> Averages {
        Averages::with(t, first_ms, last_ms, |a, b| {
            if b == 0 {
                0.0
            } else {
                a as f64 / b as f64
            }
        })
    }

    /// flow-report's: integer divisions where it divides integers.
    pub fn flow_report(t: &Counters, first_ms: i64, last_ms: i64) -> Averages {
        Averages::with(t, first_ms, last_ms, |a, b| {
            a.checked_div(b).unwrap_or(0) as f64
        })
    }

    fn with(t: &Counters, first_ms: i64, last_ms: i64, div: fn(u64, u64) -> f64) -> Averages {
        let span_ms = if last_ms > first_ms {
            (last_ms - first_ms) as u64
        } else {
            0
        };
        let per_span = |n: u64| {
            if span_ms == 0 {
                0.0
            } else {
                n as f64 / (span_ms as f64 / 1000.0)
            }
        };
        Averages {
            time_real: span_ms / 1000,
            span_ms,
            flow_time: div(t.duration_ms, t.flows),
            packet_size: div(t.octets, t.packets),
            flow_size: div(t.octets, t.flows),
            packets_per_flow: div(t.packets, t.flows),
            flows_per_second: per_span(t.flows),
            octets_per_second: per_span(t.octets),
            packets_per_second: per_span(t.packets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_averages_and_flow_reports_integer_ones() {
        let t = Counters {
            flows: 100,
            octets: 597,
            packets: 200,
            duration_ms: 1001,
        };
        let real = Averages::of(&t, 0, 10_000);
        assert_eq!(real.flow_size, 5.97);
        assert_eq!(real.packet_size, 2.985);
        assert_eq!(real.flow_time, 10.01);
        let ft = Averages::flow_report(&t, 0, 10_000);
        assert_eq!(
            (ft.flow_size, ft.packet_size, ft.flow_time),
            (5.0, 2.0, 10.0)
        );
        assert_eq!(ft.flows_per_second, real.flows_per_second);
    }
}
