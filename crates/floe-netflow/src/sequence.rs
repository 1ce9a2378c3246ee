//! Sequence accounting: lost flows, late or duplicate datagrams, resets.
//!
//! What a sequence number counts depends on the version: v5 and IPFIX count
//! flow records sent before this message (per engine / observation
//! domain), v9 counts export packets (per source id). So v5 and IPFIX gaps
//! are lost flows, exactly; a v9 gap is lost datagrams, and lost flows are
//! estimated from the exporter's average flows per datagram (the estimate is
//! what the counter `lost_flows` holds for v9; `lost_datagrams` is exact).
//!
//! Given the sequence number expected next, a new message is:
//! * in order when it matches;
//! * a gap when it is ahead by at most `gap_limit` units: the difference is
//!   lost (a later arrival of the missing message takes it back);
//! * late or duplicate when it is behind by at most `reorder_window` units;
//! * a reset otherwise, and whenever it goes back to 0 (an exporter that
//!   restarts numbers from 0; a late copy of its very first message is far
//!   less likely than a restart): counted
//!   once, never as billions of lost flows, and accounting starts again.
//!
//! [`SequenceTracker`] decides; `account` turns its verdict into a
//! stream's counters and events.

use floe_flow::{Counter, ExporterCounters};

use crate::events::{DecodeEvent, Sink};
use crate::streams::Stream;

/// What one message did to the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceEvent {
    /// First message seen from this stream.
    First,
    /// The message carried the sequence number expected.
    InOrder,
    /// `units` flows (v5/IPFIX) or datagrams (v9) went missing.
    Gap {
        /// Flows or datagrams missing.
        units: u64,
    },
    /// A message arrived late or twice; `recovered` units it makes up for
    /// (already counted lost).
    Late {
        /// Flows or datagrams it makes up for.
        recovered: u64,
    },
    /// The exporter's numbering started again.
    Reset {
        /// The sequence number expected.
        expected: u32,
        /// The one received.
        got: u32,
    },
}

/// Tracks one exporter stream's sequence numbers.
#[derive(Clone, Debug)]
pub struct SequenceTracker {
    expected: Option<u32>,
    gap_limit: u32,
    reorder_window: u32,
    /// Units counted lost and not yet made up for, bounded by what a late
    /// message may take back.
    outstanding_lost: u64,
}

impl SequenceTracker {
    /// A tracker whose unit is flow records (v5, IPFIX).
    pub fn records() -> Self {
        SequenceTracker {
            expected: None,
            gap_limit: 10_000_000,
            reorder_window: 100_000,
            outstanding_lost: 0,
        }
    }

    /// A tracker whose unit is datagrams (v9).
    pub fn datagrams() -> Self {
        SequenceTracker {
            expected: None,
            gap_limit: 100_000,
            reorder_window: 1_000,
            outstanding_lost: 0,
        }
    }

    /// Accounts for a message with sequence number `seq` that carries
    /// `units` (records for v5/IPFIX, 1 for v9). `units = None` means the
    /// message's record count is unknown (undecodable sets): the next
    /// message is not checked against it.
    pub fn observe(&mut self, seq: u32, units: Option<u32>) -> SequenceEvent {
        let next = |s: u32| units.map(|u| s.wrapping_add(u));
        let Some(expected) = self.expected else {
            self.expected = next(seq);
            return SequenceEvent::First;
        };
        let ahead = seq.wrapping_sub(expected);
        let behind = expected.wrapping_sub(seq);
        if ahead == 0 {
            self.expected = next(seq);
            SequenceEvent::InOrder
        } else if ahead <= self.gap_limit {
            self.expected = next(seq);
            self.outstanding_lost = self.outstanding_lost.saturating_add(u64::from(ahead));
            SequenceEvent::Gap {
                units: u64::from(ahead),
            }
        } else if behind <= self.reorder_window && seq != 0 {
            // Keep expecting what we expected; give back what this late
            // message holds if it was counted lost.
            let back = u64::from(units.unwrap_or(0)).min(self.outstanding_lost);
            self.outstanding_lost -= back;
            SequenceEvent::Late { recovered: back }
        } else {
            self.expected = next(seq);
            self.outstanding_lost = 0;
            SequenceEvent::Reset { expected, got: seq }
        }
    }
}

/// Sequence accounting for one message. `v9_flows` is `Some(n)` for v9,
/// whose sequence counts datagrams (n flows in this one).
pub(crate) fn account(
    sink: &mut Sink,
    stream: &mut Stream,
    c: &mut ExporterCounters,
    seq: u32,
    units: Option<u32>,
    v9_flows: Option<u64>,
) {
    let key = stream.key();
    match stream.sequence.observe(seq, units) {
        SequenceEvent::First | SequenceEvent::InOrder => {}
        SequenceEvent::Gap { units: lost } => {
            if let Some(here) = v9_flows {
                // v9 counts datagrams: estimate flows from this stream's
                // average flows per datagram.
                let avg = if stream.datagrams > 0 {
                    stream.flows as f64 / stream.datagrams as f64
                } else {
                    here as f64
                };
                c.extra[Counter::LostDatagrams] += lost;
                c.lost_flows += (lost as f64 * avg).round() as u64;
            } else {
                c.lost_flows += lost;
            }
            sink.events.push(DecodeEvent::SequenceGap {
                key,
                lost,
                unit_is_datagram: v9_flows.is_some(),
            });
        }
        SequenceEvent::Late { recovered } => {
            c.reordered_datagrams += 1;
            if v9_flows.is_none() {
                // A late message gives back what was counted lost; the
                // file that counted it may be closed, so it shows as a
                // correction here.
                c.extra[Counter::LateRecoveredFlows] += recovered;
            }
        }
        SequenceEvent::Reset { expected, got } => {
            c.sequence_resets += 1;
            sink.events
                .push(DecodeEvent::SequenceReset { key, expected, got });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_style_accounting() {
        let mut t = SequenceTracker::records();
        assert_eq!(t.observe(1000, Some(30)), SequenceEvent::First);
        assert_eq!(t.observe(1030, Some(30)), SequenceEvent::InOrder);
        // One datagram of 30 flows lost.
        assert_eq!(t.observe(1090, Some(30)), SequenceEvent::Gap { units: 30 });
        // ...then it arrives late: the 30 come back.
        assert_eq!(
            t.observe(1060, Some(30)),
            SequenceEvent::Late { recovered: 30 }
        );
        assert_eq!(t.observe(1120, Some(30)), SequenceEvent::InOrder);
        // A duplicate recovers nothing more.
        assert_eq!(
            t.observe(1120, Some(30)),
            SequenceEvent::Late { recovered: 0 }
        );
        // The exporter restarts at 0: a reset, not 4 billion lost flows.
        assert_eq!(
            t.observe(0, Some(30)),
            SequenceEvent::Reset {
                expected: 1150,
                got: 0
            }
        );
        assert_eq!(t.observe(30, Some(30)), SequenceEvent::InOrder);
    }

    #[test]
    fn wraps_around_u32() {
        let mut t = SequenceTracker::records();
        t.observe(u32::MAX - 9, Some(10));
        assert_eq!(t.observe(0, Some(10)), SequenceEvent::InOrder);
        assert_eq!(t.observe(15, Some(10)), SequenceEvent::Gap { units: 5 });
    }

    #[test]
    fn v9_counts_datagrams_and_unknown_counts_skip_a_check() {
        let mut t = SequenceTracker::datagrams();
        t.observe(7, Some(1));
        assert_eq!(t.observe(8, Some(1)), SequenceEvent::InOrder);
        assert_eq!(t.observe(12, Some(1)), SequenceEvent::Gap { units: 3 });
        assert_eq!(
            t.observe(500_000, Some(1)),
            SequenceEvent::Reset {
                expected: 13,
                got: 500_000
            }
        );
        let mut r = SequenceTracker::records();
        r.observe(100, None);
        assert_eq!(r.observe(170, Some(5)), SequenceEvent::First);
    }
}
