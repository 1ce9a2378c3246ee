//! A [`Batch`] folded from a [`FlowBatch`]'s columns: what
//! [`Batch::fold`] of the batch's rows counts, read column by column.
//!
//! Why: floed hands the view its decoder's columns, and the view's count
//! flow by flow was the largest single function of floed's live thread
//! (perf). Read from the columns, a flow's count skips what the row path
//! spends on the row: its addresses are built as `IpAddr`s only where an
//! exporter changes (and for the talkers, when they are counted), the
//! totals are sums over columns, and when no flow of the batch is sampled
//! only the raw counts are added (the scaled ones are the same), which
//! halves the additions per flow.

use floe_flow::FlowBatch;

use super::{Batch, Counts, PortSet, Tally, Window};
use crate::seen::seen_cols;

/// The sum of `values`, at most `u64::MAX`: what adding them one by one
/// with saturation gives, as none is negative.
fn saturating_sum(values: impl Iterator<Item = u128>) -> u64 {
    let sum = values.fold(0u128, |a, v| a.saturating_add(v));
    u64::try_from(sum).unwrap_or(u64::MAX)
}

/// [`saturating_sum`] of `u64`s: their sum never overflows a `u128`
/// (fewer than 2^64 values below 2^64), which spares a test per value.
fn saturating_sum_u64(values: &[u64]) -> u64 {
    let sum = values.iter().fold(0u128, |a, v| a + u128::from(*v));
    u64::try_from(sum).unwrap_or(u64::MAX)
}

impl Batch {
    /// [`Batch::fold`] of the rows of `b` (of its rows as the row reader
    /// gives them when it lacks a column the view reads). False, and the
    /// batch left empty, when `b` is not well formed
    /// ([`FlowBatch::is_well_formed`]): its rows cannot be read.
    pub fn fold_columns(
        &mut self,
        b: &FlowBatch,
        ports: &PortSet,
        window: Option<&Window>,
        keys: bool,
    ) -> bool {
        if !b.is_well_formed() {
            self.begin(ports, window, keys);
            self.finish(false);
            return false;
        }
        if b.require(seen_cols()).is_err() {
            self.fold(b.to_flows(), ports, window, keys);
            return true;
        }
        self.begin(ports, window, keys);
        // Without a branch per value, which the compiler vectorises.
        let sampled = b.sampling_interval.iter().fold(0, |a, m| a.max(*m)) > 1;
        let scale = |i: usize| u128::from(b.sampling_interval[i].max(1));
        let raw = Counts {
            flows: b.len() as u64,
            packets: saturating_sum_u64(&b.packets),
            octets: saturating_sum_u64(&b.octets),
        };
        self.total = Tally {
            raw,
            scaled: if sampled {
                Counts {
                    flows: saturating_sum((0..b.len()).map(scale)),
                    packets: saturating_sum(
                        (b.packets.iter().enumerate()).map(|(i, v)| u128::from(*v) * scale(i)),
                    ),
                    octets: saturating_sum(
                        (b.octets.iter().enumerate()).map(|(i, v)| u128::from(*v) * scale(i)),
                    ),
                }
            } else {
                raw
            },
        };
        if sampled {
            self.count_all_but_totals::<true>(b, ports);
        } else {
            self.count_all_but_totals::<false>(b, ports);
        }
        if keys {
            for i in 0..b.len() {
                let c = Counts {
                    flows: 1,
                    packets: b.packets[i],
                    octets: b.octets[i],
                };
                let (src, dst) = (b.src_addr.get(i), b.dst_addr.get(i));
                self.src.count(src, &c);
                self.dst.count(dst, &c);
                self.pair.count(src, dst, &c);
                self.count_ases(b.src_as[i], b.dst_as[i], &c);
            }
        }
        self.finish(sampled);
        true
    }

    /// Counts every flow of `b` but its totals and talkers; the scaled
    /// counts only when `SCALED`.
    ///
    /// Three passes over the columns rather than one over the flows: a
    /// flow's every count in one loop held more values than a core has
    /// registers (perf showed the loop spilling and reloading them), and
    /// the exporters, whose flows come a datagram at a time, are counted
    /// run by run with sums the compiler vectorises.
    fn count_all_but_totals<const SCALED: bool>(&mut self, b: &FlowBatch, ports: &PortSet) {
        let n = b.len();
        let (protocol, flags) = (&b.protocol[..n], &b.tcp_flags[..n]);
        let (src_port, dst_port) = (&b.src_port[..n], &b.dst_port[..n]);
        let (packets, octets) = (&b.packets[..n], &b.octets[..n]);
        let (start, end) = (&b.start_ms[..n], &b.end_ms[..n]);
        let tally = |i: usize| {
            if SCALED {
                Tally::of_counts(packets[i], octets[i], b.sampling_interval[i])
            } else {
                Tally {
                    raw: Counts {
                        flows: 1,
                        packets: packets[i],
                        octets: octets[i],
                    },
                    scaled: Counts::default(),
                }
            }
        };
        for i in 0..n {
            let t = tally(i);
            self.count_flow::<SCALED>(&t, protocol[i], flags[i], src_port[i], dst_port[i], ports);
        }
        self.count_exporters::<SCALED>(b);
        self.spread
            .add_columns(start, end, packets, octets, protocol);
    }

    /// Counts the flows of `b` per exporter. A datagram's flows come one
    /// after another: the exporter is looked up once per run of flows
    /// that share it, and the run is counted with sums.
    fn count_exporters<const SCALED: bool>(&mut self, b: &FlowBatch) {
        let n = b.len();
        let (packets, octets, end) = (&b.packets[..n], &b.octets[..n], &b.end_ms[..n]);
        let (family, v4, v6) = (
            &b.exporter.family[..n],
            &b.exporter.v4[..n],
            &b.exporter.v6[..],
        );
        let source_id = &b.source_id[..n];
        let same_exporter = |i: usize, j: usize| {
            source_id[i] == source_id[j]
                && family[i] == family[j]
                && v4[i] == v4[j]
                && (v6.is_empty() || v6[i] == v6[j])
        };
        let mut first = 0;
        while first < n {
            let mut past = first + 1;
            while past < n && same_exporter(first, past) {
                past += 1;
            }
            let at = self.exporter_place(floe_flow::ExporterKey {
                address: b.exporter.get(first),
                source_id: source_id[first],
            });
            let e = &mut self.exporters[at].1;
            let run = first..past;
            if SCALED {
                for i in run {
                    let t = Tally::of_counts(packets[i], octets[i], b.sampling_interval[i]);
                    e.count::<true>(&t, end[i]);
                }
            } else {
                e.count_run(
                    &Counts {
                        flows: (past - first) as u64,
                        packets: saturating_sum_u64(&packets[run.clone()]),
                        octets: saturating_sum_u64(&octets[run.clone()]),
                    },
                    &end[run],
                );
            }
            first = past;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use floe_flow::Flow;
    use proptest::prelude::*;

    use super::super::{Totals, WindowConfig};
    use super::*;
    use crate::seen::Seen;

    /// Everything a fold leaves in a batch, in the order it holds it.
    fn assert_same(rows: &Batch, cols: &Batch) {
        assert_eq!(rows.total, cols.total, "total");
        assert_eq!(rows.protocols_seen, cols.protocols_seen, "protocols");
        for p in &rows.protocols_seen {
            let p = usize::from(*p);
            assert_eq!(rows.protocols[p], cols.protocols[p], "protocol {p}");
        }
        assert_eq!(rows.sizes, cols.sizes, "sizes");
        assert_eq!(rows.flags, cols.flags, "flags");
        let ports = |b: &Batch| b.ports.iter().map(|(k, t)| (k, *t)).collect::<Vec<_>>();
        assert_eq!(ports(rows), ports(cols), "ports");
        assert_eq!(rows.other_ports, cols.other_ports, "other ports");
        assert_eq!(rows.exporters, cols.exporters, "exporters");
        assert_eq!(
            HostCountsView::of(&rows.src),
            HostCountsView::of(&cols.src),
            "sources"
        );
        assert_eq!(
            HostCountsView::of(&rows.dst),
            HostCountsView::of(&cols.dst),
            "destinations"
        );
        let pairs = |b: &Batch| b.pair.iter().map(|(k, c)| (k, *c)).collect::<Vec<_>>();
        assert_eq!(pairs(rows), pairs(cols), "pairs");
        assert_eq!(rows.src_as, cols.src_as, "source ASes");
        assert_eq!(rows.dst_as, cols.dst_as, "destination ASes");
        assert_eq!(rows.spread.range, cols.spread.range, "spread range");
        assert_eq!(
            rows.spread.rows[..rows.spread.used],
            cols.spread.rows[..cols.spread.used],
            "spread"
        );
    }

    #[derive(Clone, Debug, PartialEq)]
    struct HostCountsView(Vec<(IpAddr, Counts)>);

    impl HostCountsView {
        fn of(h: &super::super::HostCounts) -> HostCountsView {
            HostCountsView(h.iter().map(|(a, c)| (a, *c)).collect())
        }
    }

    /// Ports tracked besides the well-known ones.
    const PORTS: [u16; 3] = [8080, 65535, 3000];

    /// Folds `flows` both ways into the same window, ports and keys.
    fn both(flows: &[Flow], keys: bool) -> (Batch, Batch) {
        let ports = PortSet::well_known_and(&PORTS);
        let mut window = Window::new(WindowConfig::default());
        window.advance(1_795_305_610);
        let (mut rows, mut cols) = (Batch::new(), Batch::new());
        // Folded twice over the same batch: what the first fold left
        // must not show in the second.
        for _ in 0..2 {
            rows.fold(flows, &ports, Some(&window), keys);
            cols.fold_columns(&FlowBatch::from_flows(flows), &ports, Some(&window), keys);
        }
        (rows, cols)
    }

    fn address(family: u8, x: u32) -> IpAddr {
        if family == 0 {
            IpAddr::from(x.to_be_bytes())
        } else {
            IpAddr::from((u128::from(x) << 64 | 0x2001_0db8).to_be_bytes())
        }
    }

    prop_compose! {
        fn flow()(
            start in 1_795_305_000_000i64..1_795_305_700_000,
            length in -3_000i64..200_000,
            exporter in (0u8..2, 1u32..4),
            source_id in 0u32..3,
            src in (0u8..2, 0u32..6),
            dst in (0u8..2, 0u32..6),
            ports in (prop_oneof![Just(443u16), Just(53), Just(8080), Just(65535), 1024u16..1100, any::<u16>()],
                      prop_oneof![Just(80u16), Just(3000), any::<u16>()]),
            protocol in prop_oneof![Just(6u8), Just(17), Just(132), Just(1), any::<u8>()],
            tcp_flags in any::<u16>(),
            counts in prop_oneof![
                (0u64..20, 0u64..30_000),
                (any::<u64>(), any::<u64>()),
                (Just(u64::MAX), Just(u64::MAX)),
            ],
            ases in (0u32..3, 0u32..3),
            sampling in prop_oneof![Just(0u32), Just(1), Just(1000), any::<u32>()],
        ) -> Flow {
            Flow {
                start_ms: start,
                end_ms: start + length,
                exporter: address(exporter.0, exporter.1),
                source_id,
                src_addr: address(src.0, src.1),
                dst_addr: address(dst.0, dst.1),
                src_port: ports.0,
                dst_port: ports.1,
                protocol,
                tcp_flags,
                packets: counts.0,
                octets: counts.1,
                src_as: ases.0,
                dst_as: ases.1,
                sampling_interval: sampling,
                ..Flow::default()
            }
        }
    }

    proptest! {
        /// The columns count what the rows count, sampled or not, with
        /// counts that saturate, exporters that change and come back (a
        /// flow at a time, or in runs of one to 39 flows),
        /// IPv4 and IPv6, and the talkers' keys counted or not.
        #[test]
        fn columns_count_what_rows_count(
            flows in prop::collection::vec(flow(), 0..300),
            unsampled in any::<bool>(),
            keys in any::<bool>(),
            datagram in 1usize..40,
        ) {
            let mut flows = flows;
            if unsampled {
                for f in &mut flows {
                    f.sampling_interval = f.sampling_interval.min(1);
                }
            }
            // Runs of flows from one exporter, as a datagram's (the
            // exporters are counted run by run).
            for d in flows.chunks_mut(datagram) {
                let (exporter, source_id) = (d[0].exporter, d[0].source_id);
                for f in d {
                    (f.exporter, f.source_id) = (exporter, source_id);
                }
            }
            let (rows, cols) = both(&flows, keys);
            assert_same(&rows, &cols);
            // And the totals a second gets from the batch are those it
            // gets flow by flow (which counts its flags per kind and its
            // ports in a map: none of the batch's shortcuts).
            let ports = PortSet::well_known_and(&PORTS);
            let received_ms = 1_795_305_610_500;
            let mut by_flow = Totals::default();
            for f in &flows {
                by_flow.record(f, &Tally::of(&Seen::from(f)), received_ms, &ports);
            }
            let mut by_batch = Totals::default();
            by_batch.record_batch_but_ports(&cols, received_ms);
            by_batch.record_batch_ports(&cols);
            prop_assert_eq!(by_flow, by_batch);
        }
    }

    /// The places of the tracked ports follow the port set when it
    /// changes between folds (more ports, fewer, others).
    #[test]
    fn ports_change_between_folds() {
        let flows: Vec<Flow> = [6u8, 17, 132]
            .iter()
            .flat_map(|&protocol| {
                [8080u16, 9090, 3000, 80, 65535].map(|p| Flow {
                    protocol,
                    src_port: 40000,
                    dst_port: p,
                    packets: 1,
                    octets: 1,
                    ..Flow::default()
                })
            })
            .collect();
        let b = FlowBatch::from_flows(&flows);
        let every: Vec<u16> = (0..=u16::MAX).collect();
        let sets =
            [&[][..], &[8080], &[9090], &[3000, 9090], &every, &[]].map(PortSet::well_known_and);
        assert_eq!(sets[4].len(), 65536);
        assert_eq!(sets[4].rank(65535), 65535);
        let mut cols = Batch::new();
        for ports in sets.iter().chain(sets.iter().rev()) {
            let mut rows = Batch::new();
            rows.fold(&flows, ports, None, false);
            assert!(cols.fold_columns(&b, ports, None, false));
            assert_same(&rows, &cols);
            // Every flow's destination port when tracked (its source port,
            // 40000, is tracked only when every port is, and then so is
            // every destination port).
            let tracked = [8080u16, 9090, 3000, 80, 65535]
                .iter()
                .filter(|p| ports.has(**p))
                .count();
            assert_eq!(cols.ports.iter().count(), 3 * tracked);
        }
    }

    /// The spread view's rates, worked out by hand: a flow over two
    /// seconds adds half its counts per second at its first second and
    /// takes them back after its last.
    #[test]
    fn the_spread_rates_are_the_counts_over_the_seconds() {
        let sec = 1_795_305_610;
        let mut window = Window::new(WindowConfig::default());
        window.advance(sec);
        let flow = Flow {
            start_ms: sec * 1000 + 100,
            end_ms: (sec + 1) * 1000 + 50,
            protocol: 6,
            packets: 10,
            octets: 1000,
            ..Flow::default()
        };
        let ports = PortSet::well_known_and(&[]);
        let mut cols = Batch::new();
        cols.fold_columns(
            &FlowBatch::from_flows(&[flow]),
            &ports,
            Some(&window),
            false,
        );
        let (protocol, row) = &cols.spread.rows[0];
        assert_eq!((*protocol, cols.spread.used), (6, 1));
        assert_eq!(row[0], [0.5, 5.0, 500.0]);
        assert_eq!(row[2], [-0.5, -5.0, -500.0]);
        assert!(row
            .iter()
            .enumerate()
            .all(|(i, r)| i == 0 || i == 2 || *r == [0.0; 3]));
    }

    /// A batch whose columns disagree is not read: nothing counted, and
    /// what an earlier fold left is gone.
    #[test]
    fn a_malformed_batch_is_not_counted() {
        let flows: Vec<Flow> = (0..10u64)
            .map(|i| Flow {
                protocol: 17,
                dst_port: 53,
                packets: 1,
                octets: i,
                ..Flow::default()
            })
            .collect();
        let ports = PortSet::well_known_and(&[]);
        let mut cols = Batch::new();
        assert!(cols.fold_columns(&FlowBatch::from_flows(&flows), &ports, None, true));
        assert_eq!(cols.total.raw.flows, 10);
        let mut short = FlowBatch::from_flows(&flows);
        short.packets.pop();
        assert!(!cols.fold_columns(&short, &ports, None, true));
        assert_same(&Batch::new(), &cols);
        let mut v6_without_values = FlowBatch::from_flows(&flows);
        v6_without_values.src_addr.family[3] = 1;
        assert!(!cols.fold_columns(&v6_without_values, &ports, None, true));
        assert_same(&Batch::new(), &cols);
    }

    /// A batch lacking a column the view reads is folded as the rows the
    /// row reader gives (zeros where the column is missing).
    #[test]
    fn other_batches_are_folded_as_rows() {
        let flows: Vec<Flow> = (0..40u32)
            .map(|i| Flow {
                protocol: 6,
                dst_port: 443,
                packets: 2,
                octets: 100 * u64::from(i),
                src_as: i % 3,
                exporter: address(0, i % 2),
                ..Flow::default()
            })
            .collect();
        let ports = PortSet::well_known_and(&[]);
        let mut partial = FlowBatch::new();
        let cols = (floe_flow::ColSet::ALL.iter())
            .filter(|c| *c != floe_flow::Col::SrcAs)
            .fold(floe_flow::ColSet::NONE, floe_flow::ColSet::with);
        partial.fill_from(&flows, cols);
        let (mut rows, mut cols) = (Batch::new(), Batch::new());
        rows.fold(partial.to_flows(), &ports, None, true);
        cols.fold_columns(&partial, &ports, None, true);
        assert_same(&rows, &cols);
        assert!(cols.src_as.is_empty());
    }
}
