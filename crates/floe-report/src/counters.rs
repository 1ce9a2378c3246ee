//! What is counted per key: flows, octets, packets, duration, and (when a
//! report asks for them) the average, smallest and largest bits and
//! packets per second of its flows.

use floe_flow::Flow;

use crate::error::ReportError;

/// Scaling of octets and packets, for sampled exports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scale {
    /// Counts as exported.
    #[default]
    None,
    /// flow-tools' `scale N`: every flow's octets and packets times N.
    Factor(u64),
    /// Each flow's octets and packets times the sampling interval its
    /// exporter announced (1 where none was).
    Sampling,
}

impl Scale {
    /// `N` or `sampling`.
    pub fn parse(s: &str) -> Result<Scale, ReportError> {
        match s.trim() {
            "sampling" | "sampling-interval" => Ok(Scale::Sampling),
            n => match n.parse::<u64>() {
                Ok(0) | Ok(1) => Ok(Scale::None),
                Ok(n) => Ok(Scale::Factor(n)),
                Err(_) => Err(ReportError::BadScale(n.to_string())),
            },
        }
    }

    fn factor(&self, f: &Flow) -> u64 {
        match self {
            Scale::None => 1,
            Scale::Factor(n) => *n,
            Scale::Sampling => u64::from(f.sampling_interval.max(1)),
        }
    }

    /// What a flow adds to its key.
    pub(crate) fn sample(&self, f: &Flow) -> Sample {
        let m = self.factor(f);
        Sample {
            flows: 1,
            octets: f.octets.saturating_mul(m),
            packets: f.packets.saturating_mul(m),
            duration_ms: f.duration_ms(),
        }
    }
}

/// A flow (or the share of a flow that falls in one interval of a time
/// series) as counted: scaled octets and packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sample {
    pub flows: u64,
    pub octets: u64,
    pub packets: u64,
    pub duration_ms: u64,
}

/// Counters of one key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Flows.
    pub flows: u64,
    /// Their octets.
    pub octets: u64,
    /// Their packets.
    pub packets: u64,
    /// Sum of their durations, ms.
    pub duration_ms: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, s: &Sample) {
        self.flows += s.flows;
        self.octets = self.octets.saturating_add(s.octets);
        self.packets = self.packets.saturating_add(s.packets);
        self.duration_ms = self.duration_ms.saturating_add(s.duration_ms);
    }

    pub(crate) fn merge(&mut self, o: &Counters) {
        self.flows += o.flows;
        self.octets = self.octets.saturating_add(o.octets);
        self.packets = self.packets.saturating_add(o.packets);
        self.duration_ms = self.duration_ms.saturating_add(o.duration_ms);
    }
}

/// Per-flow rates of one key, as flow-report computes them: over the
/// flows that lasted (a flow of no duration has no rate), the average of
/// the flows' rates and the smallest and largest.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Flows with a duration.
    pub recs: u64,
    sum_bps: f64,
    /// The smallest flow's bits per second.
    pub min_bps: f64,
    /// The largest flow's bits per second.
    pub max_bps: f64,
    sum_pps: f64,
    /// The smallest flow's packets per second.
    pub min_pps: f64,
    /// The largest flow's packets per second.
    pub max_pps: f64,
}

impl Rates {
    pub(crate) fn add(&mut self, s: &Sample) {
        if s.duration_ms == 0 {
            return;
        }
        let secs = s.duration_ms as f64 / 1000.0;
        let bps = s.octets as f64 * 8.0 / secs;
        let pps = s.packets as f64 / secs;
        if self.recs == 0 {
            (self.min_bps, self.max_bps, self.min_pps, self.max_pps) = (bps, bps, pps, pps);
        } else {
            self.min_bps = self.min_bps.min(bps);
            self.max_bps = self.max_bps.max(bps);
            self.min_pps = self.min_pps.min(pps);
            self.max_pps = self.max_pps.max(pps);
        }
        self.recs += 1;
        self.sum_bps += bps;
        self.sum_pps += pps;
    }

    pub(crate) fn merge(&mut self, o: &Rates) {
        if o.recs == 0 {
            return;
        }
        if self.recs == 0 {
            *self = *o;
            return;
        }
        self.recs += o.recs;
        self.sum_bps += o.sum_bps;
        self.sum_pps += o.sum_pps;
        self.min_bps = self.min_bps.min(o.min_bps);
        self.max_bps = self.max_bps.max(o.max_bps);
        self.min_pps = self.min_pps.min(o.min_pps);
        self.max_pps = self.max_pps.max(o.max_pps);
    }

    /// Rates summed up elsewhere: over `recs` flows that lasted, the sums
    /// of their bits and packets per second and the extremes.
    pub fn from_sums(
        recs: u64,
        (sum_bps, min_bps, max_bps): (f64, f64, f64),
        (sum_pps, min_pps, max_pps): (f64, f64, f64),
    ) -> Rates {
        if recs == 0 {
            return Rates::default();
        }
        Rates {
            recs,
            sum_bps,
            min_bps,
            max_bps,
            sum_pps,
            min_pps,
            max_pps,
        }
    }

    /// The average of the flows' bits per second (0 when no flow lasted).
    pub fn avg_bps(&self) -> f64 {
        if self.recs == 0 {
            0.0
        } else {
            self.sum_bps / self.recs as f64
        }
    }

    /// The average of the flows' packets per second (0 when no flow lasted).
    pub fn avg_pps(&self) -> f64 {
        if self.recs == 0 {
            0.0
        } else {
            self.sum_pps / self.recs as f64
        }
    }
}

/// A table value: what one key accumulates.
pub(crate) trait Accumulate: Default {
    fn merge_from(&mut self, other: &Self);
}

impl Accumulate for Counters {
    fn merge_from(&mut self, other: &Self) {
        self.merge(other)
    }
}

impl Accumulate for Rates {
    fn merge_from(&mut self, other: &Self) {
        self.merge(other)
    }
}
