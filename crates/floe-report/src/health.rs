//! Exporter health, problems first: which exporters lost flows, sent
//! datagrams that could not be decoded, restarted their sequence
//! numbers, sent sets floe could not decode, or fell silent, and what
//! each of those means; the healthy ones after them.
//!
//! The figures come from the per-exporter counters of the files read
//! ([`ExporterCounters`]); silence from the files' periods: an exporter
//! with no datagrams in the files of an hour or more while the collector
//! kept writing files.

use std::collections::{BTreeMap, BTreeSet};

use floe_flow::{Counter, ExporterCounters, ExporterKey};

use crate::words::{self, Clock};

/// How long without datagrams, while the collector wrote files, counts
/// as silence.
pub const SILENCE_MS: i64 = 3_600_000;

/// One exporter's counters over the files read, and its silences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterHealth {
    /// The exporter stream.
    pub exporter: ExporterKey,
    /// Its counters summed over the files.
    pub counters: ExporterCounters,
    /// Stretches of files (start, end in ms) with no datagram from it.
    pub silences: Vec<(i64, i64)>,
}

/// One problem: what (`49 996 bad datagrams`) and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What was seen, with its number.
    pub what: String,
    /// What it means, for someone who did not write the collector.
    pub why: String,
}

/// The extra counters that are problems (the others are information:
/// padding, late arrivals, templates forgotten to stay in bounds...).
const PROBLEM_COUNTERS: [Counter; 10] = [
    Counter::UndecodedSets,
    Counter::MalformedTails,
    Counter::EarlyDataExpired,
    Counter::TemplatesRefused,
    Counter::DroppedExporterLimit,
    Counter::AbsurdTimes,
    Counter::QueueDrops,
    Counter::DeniedDatagrams,
    Counter::UnwrittenFlows,
    Counter::LostDatagrams,
];

impl ExporterHealth {
    /// The exporter as people name it: `192.0.2.1`, or with its source
    /// id (observation domain) when that is not 0.
    pub fn name(&self) -> String {
        match self.exporter.source_id {
            0 => self.exporter.address.to_string(),
            id => format!("{} (source id {id})", self.exporter.address),
        }
    }

    /// Lost flows as a share of the flows sent (received + lost), in %.
    pub fn loss_pct(&self) -> f64 {
        let c = &self.counters;
        let sent = c.flows + c.lost_flows;
        if sent == 0 {
            0.0
        } else {
            c.lost_flows as f64 * 100.0 / sent as f64
        }
    }

    /// Its problems, the most telling first; none for a healthy exporter.
    pub fn problems(&self, clock: &dyn Clock) -> Vec<Problem> {
        let c = &self.counters;
        let n = |x: u64| words::count(x, " ");
        let one = |x: u64, what: &str| match x {
            1 => format!("1 {what}"),
            _ => format!("{} {what}s", n(x)),
        };
        let mut out = Vec::new();
        for (from, to) in &self.silences {
            out.push(Problem {
                what: format!("silent from {}", words::span(clock, *from, *to, false)),
                why: format!(
                    "no datagrams for {} while the collector kept writing files: the exporter, \
                     or the path from it, was down",
                    words::duration((to - from) as u64)
                ),
            });
        }
        if c.bad_datagrams > 0 {
            out.push(Problem {
                what: one(c.bad_datagrams, "bad datagram"),
                why: "datagrams that could not be decoded at all (not NetFlow or IPFIX, an \
                      unknown version, or cut short)"
                    .into(),
            });
        }
        if c.lost_flows > 0 {
            out.push(Problem {
                what: format!(
                    "{} ({:.2} % of those sent)",
                    one(c.lost_flows, "lost flow"),
                    self.loss_pct()
                ),
                why: "the sequence numbers show flows the exporter sent that never arrived \
                      (dropped on the way, or by a full receive buffer)"
                    .into(),
            });
        }
        if c.sequence_resets > 0 {
            out.push(Problem {
                what: one(c.sequence_resets, "sequence reset"),
                why: "the exporter restarted its sequence numbering (a reboot, or its export \
                      process restarted)"
                    .into(),
            });
        }
        for k in PROBLEM_COUNTERS {
            let v = c.extra[k];
            if v == 0 || (k == Counter::LostDatagrams && c.lost_flows > 0) {
                continue;
            }
            out.push(Problem {
                what: format!("{} {}", n(v), k.name().replace('_', " ")),
                why: lower_first(k.meaning().trim_end_matches('.')),
            });
        }
        out
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_lowercase()
            .chain(c)
            .collect::<String>()
            .replace('\n', " "),
        None => String::new(),
    }
}

/// Exporters in the order a reader needs them: those with problems
/// first (more problems first), then by flows received, largest first.
pub fn order(exporters: &mut [ExporterHealth], clock: &dyn Clock) {
    exporters.sort_by_cached_key(|e| {
        (
            std::cmp::Reverse(e.problems(clock).len()),
            std::cmp::Reverse(e.counters.flows),
            e.exporter,
        )
    });
}

/// Gathers exporters' counters file by file, and the files' periods to
/// find silences.
#[derive(Default)]
pub struct HealthBuilder {
    counters: BTreeMap<ExporterKey, ExporterCounters>,
    /// Every file period seen, and who sent datagrams in each.
    periods: BTreeMap<(i64, i64), BTreeSet<ExporterKey>>,
}

impl HealthBuilder {
    /// One file's counters; `period` its receive period (start, end ms)
    /// when it has one.
    pub fn add_file(
        &mut self,
        period: Option<(i64, i64)>,
        counters: &[(ExporterKey, ExporterCounters)],
    ) {
        let heard = period.map(|p| self.periods.entry(p).or_default());
        let mut heard_now = BTreeSet::new();
        for (k, c) in counters {
            self.counters.entry(*k).or_default().add(c);
            if c.datagrams > 0 || c.flows > 0 {
                heard_now.insert(*k);
            }
        }
        if let Some(h) = heard {
            h.extend(heard_now);
        }
    }

    /// Every exporter's health, in [`order`].
    pub fn finish(self, clock: &dyn Clock) -> Vec<ExporterHealth> {
        let mut out: Vec<ExporterHealth> = self
            .counters
            .into_iter()
            .map(|(k, counters)| {
                let mut silences = Vec::new();
                let mut run: Option<(i64, i64)> = None;
                for (p, heard) in &self.periods {
                    if heard.contains(&k) {
                        if let Some(r) = run.take() {
                            silences.push(r);
                        }
                    } else {
                        run = Some(match run {
                            Some((from, _)) => (from, p.1),
                            None => *p,
                        });
                    }
                }
                silences.extend(run);
                silences.retain(|(a, b)| b - a >= SILENCE_MS);
                ExporterHealth {
                    exporter: k,
                    counters,
                    silences,
                }
            })
            .collect();
        order(&mut out, clock);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::words::Utc;

    fn key(a: &str) -> ExporterKey {
        ExporterKey {
            address: a.parse().unwrap(),
            source_id: 0,
        }
    }

    fn sent(flows: u64) -> ExporterCounters {
        ExporterCounters {
            datagrams: flows / 30 + 1,
            flows,
            ..ExporterCounters::default()
        }
    }

    #[test]
    fn problems_first_with_their_reasons() {
        let h = 3_600_000;
        let mut b = HealthBuilder::default();
        // 24 hourly files: the healthy one sends all day, the noisy one
        // too (with bad datagrams and losses), the silent one stops at 14:00.
        for i in 0..24 {
            let mut noisy = sent(100);
            noisy.bad_datagrams = 2083 + u64::from(i == 0);
            noisy.lost_flows = 5;
            noisy.extra[Counter::UndecodedSets] = 1;
            let mut files = vec![(key("192.0.2.1"), sent(10_000)), (key("192.0.2.2"), noisy)];
            if i < 14 {
                files.push((key("192.0.2.3"), sent(50)));
            }
            b.add_file(Some((i * h, (i + 1) * h)), &files);
        }
        let all = b.finish(&Utc);
        let names: Vec<String> = all.iter().map(ExporterHealth::name).collect();
        assert_eq!(names, ["192.0.2.2", "192.0.2.3", "192.0.2.1"]);
        let p = all[0].problems(&Utc);
        let what: Vec<&str> = p.iter().map(|x| x.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "49 993 bad datagrams",
                "120 lost flows (4.76 % of those sent)",
                "24 undecoded sets"
            ]
        );
        assert!(
            p[2].why.starts_with("sets that could not be decoded"),
            "{}",
            p[2].why
        );
        let silent = all[1].problems(&Utc);
        assert_eq!(silent.len(), 1);
        assert_eq!(silent[0].what, "silent from 1970-01-01 14:00 to 24:00");
        assert!(silent[0].why.starts_with("no datagrams for 10 h"));
        assert!(all[2].problems(&Utc).is_empty());
        assert_eq!(all[2].counters.flows, 240_000);
    }

    #[test]
    fn a_short_gap_is_not_silence() {
        let mut b = HealthBuilder::default();
        let p = 600_000;
        for i in 0..12 {
            let files = if i == 5 {
                vec![]
            } else {
                vec![(key("192.0.2.9"), sent(10))]
            };
            b.add_file(Some((i * p, (i + 1) * p)), &files);
        }
        assert!(b.finish(&Utc)[0].silences.is_empty());
    }
}
