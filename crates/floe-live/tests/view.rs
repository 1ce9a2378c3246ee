//! The live view's answers, from flows given to it directly.

use std::net::IpAddr;

use floe_flow::Flow;
use floe_live::{LiveView, Op, Request, ViewConfig};

const T0: i64 = 1_795_305_600_000;

fn flow(
    src: &str,
    dst: &str,
    proto: u8,
    dport: u16,
    packets: u64,
    octets: u64,
    end_ms: i64,
) -> Flow {
    Flow {
        start_ms: end_ms - 10_000,
        end_ms,
        exporter: "192.0.2.250".parse().unwrap(),
        src_addr: src.parse().unwrap(),
        dst_addr: dst.parse().unwrap(),
        protocol: proto,
        dst_port: dport,
        src_port: 40000,
        packets,
        octets,
        ..Flow::default()
    }
}

fn snapshot(v: &mut LiveView, req: Request, now: i64) -> floe_live::Snapshot {
    let r = v.answer(&req, now);
    assert!(r.ok, "{:?}", r.error);
    r.snapshot.unwrap()
}

#[test]
fn totals_breakdowns_and_talkers_add_up() {
    let mut v = LiveView::new(ViewConfig::default());
    let mut sent = Vec::new();
    for s in 0..30i64 {
        let t = T0 + s * 1000;
        let mut batch = vec![
            flow("10.0.0.1", "192.0.2.1", 6, 443, 10, 10_000, t - 500),
            flow("10.0.0.2", "192.0.2.2", 17, 53, 1, 80, t - 500),
            flow("10.0.0.3", "192.0.2.1", 6, 22, 2, 120, t - 2500),
        ];
        batch[2].tcp_flags = 0x02;
        v.record(&batch, t);
        sent.extend(batch);
    }
    let now = T0 + 29_500;
    let s = snapshot(
        &mut v,
        Request {
            window: Some(60),
            ..Request::default()
        },
        now,
    );
    assert_eq!(s.totals.flows, 90);
    assert_eq!(s.totals.octets, sent.iter().map(|f| f.octets).sum::<u64>());
    assert_eq!(s.totals.packets, 30 * 13);
    assert_eq!((s.rates.flows_per_s * 60.0).round() as u64, 90);
    let tcp = s.protocols.iter().find(|p| p.protocol == 6).unwrap();
    assert_eq!(tcp.counts.flows, 60);
    let https = s.ports.iter().find(|p| p.port == Some(443)).unwrap();
    assert_eq!((https.protocol, https.counts.flows), (6, 30));
    assert_eq!(s.flags[0].flags, "syn_only");
    assert_eq!(s.flags[0].counts.flows, 30);
    // Sizes: 1000-byte, 80-byte and 60-byte packets.
    let size = |avg: u64| {
        s.sizes
            .iter()
            .find(|b| b.from <= avg && b.to.is_none_or(|t| avg <= t))
            .unwrap()
            .counts
            .flows
    };
    assert_eq!((size(1000), size(80), size(60)), (30, 30, 30));
    assert_eq!(s.talkers.src[0].key, "10.0.0.1");
    assert_eq!(s.talkers.src[0].counts.octets, 300_000);
    assert_eq!(s.talkers.pair[0].key, "10.0.0.1 192.0.2.1");
    assert_eq!(s.talkers.dst[0].key, "192.0.2.1");
    // The export delay: 500 ms for the first two, 2500 ms for the third.
    let e = &s.exporters[0];
    assert_eq!((e.delay_max_ms, e.delay_avg_ms), (2500, 1166));
    assert_eq!(s.series.len(), 60);
    // A 10-second window holds a third of it.
    let s = snapshot(
        &mut v,
        Request {
            window: Some(10),
            ..Request::default()
        },
        now,
    );
    assert_eq!(s.totals.flows, 30);
}

#[test]
fn the_window_moves_on() {
    let mut v = LiveView::new(ViewConfig::default());
    v.record(&[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 100, T0)], T0);
    let req = Request {
        window: Some(300),
        ..Request::default()
    };
    assert_eq!(snapshot(&mut v, req.clone(), T0 + 299_000).totals.flows, 1);
    assert_eq!(snapshot(&mut v, req.clone(), T0 + 300_000).totals.flows, 0);
    // A long silence, then traffic again.
    v.record(
        &[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 100, T0)],
        T0 + 3_600_000,
    );
    assert_eq!(snapshot(&mut v, req, T0 + 3_600_500).totals.flows, 1);
}

#[test]
fn spread_puts_a_flow_over_its_own_time() {
    let mut v = LiveView::new(ViewConfig::default());
    // A flow of 10 s ending at T0+20 s, exported at T0+30 s: 1000 bytes/s
    // from T0+10 s to T0+20 s.
    let mut f = flow("10.0.0.1", "192.0.2.1", 6, 443, 10, 11_000, T0 + 20_000);
    f.start_ms = T0 + 10_000;
    v.record(&[flow("10.9.9.9", "192.0.2.1", 6, 443, 1, 1, T0)], T0);
    v.record(&[f], T0 + 30_000);
    let s = snapshot(
        &mut v,
        Request {
            window: Some(60),
            spread: true,
            ..Request::default()
        },
        T0 + 30_000,
    );
    let at = |ms: i64| s.series.iter().find(|p| p.at_ms == ms).unwrap().octets;
    assert_eq!(at(T0 + 9_000), 0.0);
    assert!(
        (at(T0 + 15_000) - 1000.0).abs() < 1e-6,
        "{}",
        at(T0 + 15_000)
    );
    assert_eq!(at(T0 + 25_000), 0.0);
    // The first flow's byte is spread over its 11 seconds, T0-10 s to T0,
    // of which only T0 is in the window: 1/11 of a byte.
    assert_eq!(s.totals.octets, 11_000);
    // By export time it all lands at T0+30 s.
    let s = snapshot(
        &mut v,
        Request {
            window: Some(60),
            ..Request::default()
        },
        T0 + 30_000,
    );
    assert_eq!(
        s.series
            .iter()
            .find(|p| p.at_ms == T0 + 30_000)
            .unwrap()
            .octets,
        11_000.0
    );
}

#[test]
fn filters_count_from_when_they_are_asked_and_usage_resets() {
    let mut v = LiveView::new(ViewConfig::default());
    let batch = [
        flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 100, T0),
        flow("10.0.0.2", "192.0.2.2", 17, 53, 1, 100, T0),
    ];
    let ask = |v: &mut LiveView, filter: &str, now: i64| {
        snapshot(
            v,
            Request {
                window: Some(60),
                filter: Some(filter.into()),
                ..Request::default()
            },
            now,
        )
    };
    v.record(&batch, T0);
    // Not counted before the filter was asked for.
    let s = ask(&mut v, "proto udp", T0 + 1000);
    assert_eq!(s.totals.flows, 0);
    assert_eq!(s.since_ms, Some(T0 + 1000));
    v.record(&batch, T0 + 2000);
    v.record(&batch, T0 + 3000);
    let s = ask(&mut v, "proto udp", T0 + 3500);
    assert_eq!(s.totals.flows, 2);
    assert_eq!(s.talkers.src[0].key, "10.0.0.2");
    // Errors name the place; files cannot be read through a filter.
    let r = v.answer(
        &Request {
            filter: Some("proto tcp and".into()),
            ..Request::default()
        },
        T0 + 4000,
    );
    assert!(!r.ok && r.error.unwrap().contains("column"));
    let r = v.answer(
        &Request {
            filter: Some("@include /etc/passwd".into()),
            ..Request::default()
        },
        T0 + 4000,
    );
    assert!(!r.ok && r.error.unwrap().contains("@include"));

    let usage = |v: &mut LiveView, reset: bool, now: i64| {
        snapshot(
            v,
            Request {
                op: Op::Usage,
                client: Some("cron".into()),
                reset,
                ..Request::default()
            },
            now,
        )
    };
    assert_eq!(usage(&mut v, true, T0 + 5000).totals.flows, 0);
    v.record(&batch, T0 + 6000);
    assert_eq!(usage(&mut v, false, T0 + 7000).totals.flows, 2);
    v.record(&batch, T0 + 8000);
    assert_eq!(usage(&mut v, true, T0 + 9000).totals.flows, 4);
    assert_eq!(usage(&mut v, false, T0 + 9500).totals.flows, 0);
}

#[test]
fn a_scan_from_random_sources_keeps_the_real_talkers_on_top() {
    let mut v = LiveView::new(ViewConfig::default());
    let mut x: u64 = 99;
    for s in 0..20i64 {
        let t = T0 + s * 1000;
        let mut batch = Vec::new();
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let src = IpAddr::from((x as u32).to_be_bytes());
            let mut f = flow("0.0.0.0", "192.0.2.9", 6, 22, 1, 60, t);
            f.src_addr = src;
            batch.push(f);
        }
        for (i, big) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
            batch.push(flow(
                big,
                "192.0.2.1",
                6,
                443,
                100,
                1_000_000 * (3 - i as u64),
                t,
            ));
        }
        v.record(&batch, t);
    }
    let s = snapshot(
        &mut v,
        Request {
            window: Some(60),
            n: Some(3),
            ..Request::default()
        },
        T0 + 19_000,
    );
    let top: Vec<&str> = s.talkers.src.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(top, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    assert_eq!(s.totals.flows, 20 * 5003);
    // The scanned host leads by flows.
    assert_eq!(s.talkers.dst_flows[0].key, "192.0.2.9");
}

#[test]
fn bad_requests_are_answered_with_the_reason() {
    let mut v = LiveView::new(ViewConfig::default());
    for (req, says) in [
        (
            Request {
                window: Some(0),
                ..Request::default()
            },
            "window",
        ),
        (
            Request {
                window: Some(100_000),
                ..Request::default()
            },
            "keeps 1 to 300",
        ),
        (
            Request {
                n: Some(5000),
                ..Request::default()
            },
            "more than 1000",
        ),
        (
            Request {
                op: Op::Usage,
                ..Request::default()
            },
            "client name",
        ),
    ] {
        let r = v.answer(&req, T0);
        assert!(!r.ok);
        assert!(r.error.as_deref().unwrap().contains(says), "{r:?}");
    }
    assert!(floe_live::protocol::parse_request("{\"op\":\"drop\"}").is_err());
    assert!(floe_live::protocol::parse_request(&"x".repeat(20_000)).is_err());
}

/// A small view: 60 s, slices of 10 s, sketches of `k` entries.
fn small(k: usize) -> LiveView {
    LiveView::new(ViewConfig {
        window: floe_live::aggregate::WindowConfig {
            seconds: 60,
            slice_secs: 10,
            k,
        },
        ..ViewConfig::default()
    })
}

mod window_bounds {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Over a window of several slices, as over one sketch: every
        /// listed weight is an upper bound of the true bytes, overstating
        /// them by at most the window's bytes / k and by no more than its
        /// own error; every source heavier than that is listed.
        #[test]
        fn the_documented_bound_holds_over_a_window(
            flows in prop::collection::vec((0u8..40, 1u64..5000, 0i64..60), 1..1500),
            k in 2usize..12,
        ) {
            let mut v = small(k);
            let mut sorted = flows.clone();
            sorted.sort_by_key(|f| f.2);
            let mut truth: HashMap<String, u64> = HashMap::new();
            for (src, octets, sec) in &sorted {
                let src = format!("10.0.0.{src}");
                let f = flow(&src, "192.0.2.1", 6, 443, 1, *octets, T0 + sec * 1000);
                v.record(&[f], T0 + sec * 1000);
                *truth.entry(src).or_default() += octets;
            }
            let s = snapshot(&mut v, Request {
                window: Some(60),
                n: Some(1000),
                ..Request::default()
            }, T0 + 59_999);
            let total: u64 = truth.values().sum();
            prop_assert_eq!(s.totals.octets, total);
            let bound = total / k as u64 + 6;
            for t in &s.talkers.src {
                let real = truth[&t.key];
                prop_assert!(t.weight >= real, "{} listed at {} for {}", t.key, t.weight, real);
                prop_assert!(t.weight - t.error <= real, "{}: {} - {} > {}", t.key, t.weight, t.error, real);
                prop_assert!(t.error <= bound, "{}: error {} > {}", t.key, t.error, bound);
            }
            for (key, real) in &truth {
                if *real > bound {
                    prop_assert!(s.talkers.src.iter().any(|t| &t.key == key), "{} ({}) not listed", key, real);
                }
            }
        }
    }
}

#[test]
fn spread_shows_only_the_part_of_a_long_flow_inside_the_window() {
    let mut v = LiveView::new(ViewConfig::default());
    // floed has been running: the window holds its 300 seconds.
    v.record(&[], T0 + 701_000);
    // A flow of 1000 s at 1000 bytes/s, exported as it ends.
    let mut f = flow(
        "10.0.0.1",
        "192.0.2.1",
        6,
        443,
        1000,
        1_000_000,
        T0 + 999_999,
    );
    f.start_ms = T0;
    v.record(&[f], T0 + 1_000_000);
    let s = snapshot(
        &mut v,
        Request {
            window: Some(300),
            spread: true,
            ..Request::default()
        },
        T0 + 1_000_000,
    );
    // Seconds 701 to 999 of the flow are in the window: 299 000 bytes.
    assert_eq!(s.totals.octets, 299_000, "{:?}", s.totals);
    let at = |ms: i64| s.series.iter().find(|p| p.at_ms == ms).unwrap().octets;
    assert!(
        (at(T0 + 800_000) - 1000.0).abs() < 1e-6,
        "{}",
        at(T0 + 800_000)
    );
}

#[test]
fn spread_counts_a_flow_whose_end_is_before_its_start() {
    let mut v = LiveView::new(ViewConfig::default());
    v.record(&[], T0);
    let mut f = flow("10.0.0.1", "192.0.2.1", 6, 443, 10, 5_000, T0 + 10_000);
    f.start_ms = T0 + 14_999;
    v.record(&[f], T0 + 30_000);
    let s = snapshot(
        &mut v,
        Request {
            window: Some(60),
            spread: true,
            ..Request::default()
        },
        T0 + 30_000,
    );
    assert_eq!(s.totals.octets, 5_000, "{:?}", s.totals);
    assert_eq!(s.totals.flows, 1);
}

#[test]
fn a_clock_stepped_back_does_not_blank_the_view() {
    let mut v = LiveView::new(ViewConfig::default());
    let req = Request {
        window: Some(60),
        ..Request::default()
    };
    v.record(&[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 100, T0)], T0);
    assert_eq!(snapshot(&mut v, req.clone(), T0 + 500).totals.flows, 1);
    // The clock steps back an hour; floed goes on receiving.
    let back = T0 - 3_600_000;
    assert_eq!(snapshot(&mut v, req.clone(), back).totals.flows, 0);
    for s in 1..=5 {
        let t = back + s * 1000;
        v.record(&[flow("10.0.0.2", "192.0.2.1", 6, 443, 1, 100, t)], t);
    }
    let s = snapshot(&mut v, req.clone(), back + 5_500);
    assert_eq!(s.totals.flows, 5, "{:?}", s.totals);
    assert_eq!(s.talkers.src[0].key, "10.0.0.2");
    // And with a filter.
    let filtered = Request {
        filter: Some("proto tcp".into()),
        ..req
    };
    snapshot(&mut v, filtered.clone(), back + 6_000);
    v.record(
        &[flow("10.0.0.2", "192.0.2.1", 6, 443, 1, 100, back + 7_000)],
        back + 7_000,
    );
    let later = back + 3_600_000 * 2;
    snapshot(&mut v, filtered.clone(), later);
    v.record(
        &[flow("10.0.0.2", "192.0.2.1", 6, 443, 1, 100, later - 1_000)],
        later + 1_000,
    );
    assert_eq!(snapshot(&mut v, filtered, later + 1_500).totals.flows, 1);
}

mod batched {
    use super::*;
    use floe_live::Snapshot;
    use proptest::prelude::*;

    /// A flow from small sets of every key, so that a batch repeats them.
    fn arb_flow() -> impl Strategy<Value = Flow> {
        (
            (
                0u8..12,
                0u8..12,
                prop::sample::select(vec![6u8, 17, 1, 132, 47]),
            ),
            (
                prop::sample::select(vec![443u16, 53, 22, 8080, 5000, 40000]),
                prop::sample::select(vec![443u16, 40000, 51000, 3306]),
                0u16..0x40,
            ),
            (0u64..50, 0u64..80_000, 0u32..4),
            (0u8..3, 0u32..3, 0u32..4, 0u32..4),
            (-5000i64..1000, 0i64..40_000),
        )
            .prop_map(
                |(
                    (s, d, protocol),
                    (dst_port, src_port, tcp_flags),
                    (packets, octets, sampling),
                    (exporter, source_id, src_as, dst_as),
                    (end, length),
                )| Flow {
                    start_ms: end - length,
                    end_ms: end,
                    exporter: IpAddr::from([192, 0, 2, 250 + exporter]),
                    source_id,
                    src_addr: IpAddr::from([10, 0, 0, s]),
                    dst_addr: if d % 3 == 0 {
                        format!("2001:db8::{d}").parse().unwrap()
                    } else {
                        IpAddr::from([192, 0, 2, d])
                    },
                    protocol,
                    dst_port,
                    src_port,
                    tcp_flags,
                    packets,
                    octets,
                    sampling_interval: sampling,
                    src_as,
                    dst_as,
                    ..Flow::default()
                },
            )
    }

    /// The parts of a snapshot that batching must leave exactly as they
    /// are, in an order that does not depend on hashing.
    fn exact(mut s: Snapshot) -> Snapshot {
        s.ports.sort_by_key(|p| (p.protocol, p.port));
        for l in [
            &mut s.talkers.src,
            &mut s.talkers.dst,
            &mut s.talkers.pair,
            &mut s.talkers.src_as,
            &mut s.talkers.dst_as,
            &mut s.talkers.src_flows,
            &mut s.talkers.dst_flows,
        ] {
            l.sort_by(|a, b| a.key.cmp(&b.key));
        }
        // Spread rates are sums of fractions, added up in another order:
        // compared apart, to within rounding.
        if s.spread {
            s.series.clear();
            s.totals = Default::default();
            s.protocols.clear();
            s.rates = Default::default();
        }
        s
    }

    /// Spread totals and protocols agree to within a unit of rounding.
    fn close(a: &Snapshot, b: &Snapshot) -> bool {
        let near = |x: u64, y: u64| x.abs_diff(y) <= 1;
        let counts = |x: &floe_live::aggregate::Counts, y: &floe_live::aggregate::Counts| {
            near(x.flows, y.flows) && near(x.packets, y.packets) && near(x.octets, y.octets)
        };
        counts(&a.totals, &b.totals)
            && a.protocols.iter().all(|p| {
                b.protocols
                    .iter()
                    .find(|q| q.protocol == p.protocol)
                    .is_none_or(|q| counts(&p.counts, &q.counts))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// A view fed batches answers as one fed the same flows one by one:
        /// totals, protocols, ports, sizes, flags, exporters (and their
        /// delays) exactly, and the talkers exactly while their keys fit
        /// the sketches; for the window of every flow, a filter's window
        /// and a usage client.
        #[test]
        fn batches_count_as_flows_one_by_one(
            batches in prop::collection::vec(
                (0i64..3, 0i64..900, prop::collection::vec(arb_flow(), 0..300)),
                1..12,
            ),
            spread in any::<bool>(),
            scale in any::<bool>(),
        ) {
            let (mut a, mut b) = (small(512), small(512));
            let filtered = |v: &mut LiveView, now: i64| {
                snapshot(v, Request {
                    window: Some(60),
                    n: Some(1000),
                    filter: Some("proto tcp or src port 443".into()),
                    spread,
                    scale,
                    ..Request::default()
                }, now)
            };
            let usage = |v: &mut LiveView, now: i64| {
                snapshot(v, Request {
                    op: Op::Usage,
                    client: Some("test".into()),
                    n: Some(1000),
                    scale,
                    ..Request::default()
                }, now)
            };
            for v in [&mut a, &mut b] {
                filtered(v, T0);
                usage(v, T0);
            }
            let mut t = T0;
            for (step, ms, flows) in &batches {
                t += step * 1000 + ms;
                let flows: Vec<Flow> = flows.iter().map(|f| Flow {
                    start_ms: f.start_ms + t,
                    end_ms: f.end_ms + t,
                    ..f.clone()
                }).collect();
                a.record(&flows, t);
                // An empty batch is still a call at its time, and the
                // first call creates the window, whose first second
                // decides how much of a long flow the spread view keeps:
                // the view fed one by one gets the same calls.
                if flows.is_empty() {
                    b.record(&[], t);
                }
                for f in &flows {
                    b.record(std::slice::from_ref(f), t);
                }
            }
            let now = t + 500;
            let all = |v: &mut LiveView| snapshot(v, Request {
                window: Some(60),
                n: Some(1000),
                spread,
                scale,
                ..Request::default()
            }, now);
            let (x, y) = (all(&mut a), all(&mut b));
            prop_assert!(close(&x, &y), "{:?} {:?}", x.totals, y.totals);
            prop_assert_eq!(exact(x), exact(y));
            let (x, y) = (filtered(&mut a, now), filtered(&mut b, now));
            prop_assert!(close(&x, &y), "{:?} {:?}", x.totals, y.totals);
            prop_assert_eq!(exact(x), exact(y));
            prop_assert_eq!(exact(usage(&mut a, now)), exact(usage(&mut b, now)));
        }
    }
}

#[test]
fn a_usage_client_that_stops_asking_is_forgotten() {
    let mut v = LiveView::new(ViewConfig::default());
    let usage = |v: &mut LiveView, client: &str, now: i64| {
        snapshot(
            v,
            Request {
                op: Op::Usage,
                client: Some(client.into()),
                ..Request::default()
            },
            now,
        )
    };
    usage(&mut v, "gone", T0);
    usage(&mut v, "daily", T0);
    let f = flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 100, T0);
    v.record(std::slice::from_ref(&f), T0 + 1000);
    // The daily client asks again within the limit and keeps its count.
    let day = T0 + floe_live::USAGE_IDLE_MS - 1000;
    assert_eq!(usage(&mut v, "daily", day).totals.flows, 1);
    v.record(std::slice::from_ref(&f), day + 500);
    // The other has not asked since: forgotten, counted from now on.
    let later = T0 + floe_live::USAGE_IDLE_MS + 1000;
    let s = usage(&mut v, "gone", later);
    assert_eq!((s.totals.flows, s.since_ms), (0, Some(later)));
    assert_eq!(usage(&mut v, "daily", later).totals.flows, 2);
}

#[test]
fn an_answer_begun_is_not_changed_by_flows_counted_before_it_is_finished() {
    let mut v = LiveView::new(ViewConfig::default());
    let req = Request {
        window: Some(60),
        ..Request::default()
    };
    v.record(&[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 100, T0)], T0);
    let whole = v.answer(&req, T0 + 500);
    let pending = v.begin(&req, T0 + 500);
    // The live thread goes on while the sketches are merged.
    v.record(
        &[flow("10.0.0.2", "192.0.2.1", 6, 443, 1, 5000, T0)],
        T0 + 200,
    );
    let r = pending.finish();
    assert_eq!(r, whole);
    assert_eq!(r.snapshot.unwrap().talkers.src.len(), 1);
    let now = snapshot(&mut v, req, T0 + 500);
    assert_eq!(now.talkers.src[0].key, "10.0.0.2");
}

/// Sources by bytes, as an answer lists them.
fn sources(s: &floe_live::Snapshot) -> Vec<&str> {
    s.talkers.src.iter().map(|t| t.key.as_str()).collect()
}

/// A view that counts its talkers while watched, keeping `seconds`.
fn watched_view(seconds: u32) -> LiveView {
    LiveView::new(ViewConfig {
        talkers: floe_live::TalkerCounting::WhileWatched,
        window: floe_live::aggregate::WindowConfig {
            seconds,
            ..Default::default()
        },
        ..ViewConfig::default()
    })
}

/// A snapshot of every flow over the last `window` seconds.
fn look(v: &mut LiveView, now: i64, window: u32) -> floe_live::Snapshot {
    snapshot(
        v,
        Request {
            window: Some(window),
            ..Request::default()
        },
        now,
    )
}

#[test]
fn talkers_are_counted_while_watched() {
    use floe_live::TALKERS_IDLE_MS;
    // A window longer than the pause: what the slices held from before
    // it would still answer.
    let mut v = watched_view(3600);
    let look_back = look;
    let look = |v: &mut LiveView, now: i64| look_back(v, now, 3600);
    // Before anyone looks: totals, no talkers.
    v.record(&[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 900, T0)], T0);
    let t1 = T0 + 1000;
    let s = look(&mut v, t1);
    assert_eq!(s.totals.flows, 1);
    assert!(s.talkers.src.is_empty(), "{:?}", s.talkers.src);
    assert!(s.talkers.dst.is_empty() && s.talkers.pair.is_empty());
    assert_eq!(s.talkers_since_ms, Some(t1));
    // From the first look on, they are.
    v.record(
        &[flow("10.0.0.2", "192.0.2.1", 6, 443, 1, 500, t1)],
        T0 + 2000,
    );
    let s = look(&mut v, T0 + 3000);
    assert_eq!(s.totals.flows, 2);
    assert_eq!(sources(&s), ["10.0.0.2"]);
    assert_eq!(s.talkers.dst[0].counts.octets, 500);
    assert_eq!(s.talkers_since_ms, Some(t1));
    // Nobody looked for TALKERS_IDLE_MS: they stop. The next look starts
    // them again, from its own time, forgetting what the slices held
    // (from before the pause).
    let idle = T0 + 3000 + TALKERS_IDLE_MS;
    v.record(&[flow("10.0.0.3", "192.0.2.1", 6, 443, 1, 700, idle)], idle);
    let s = look(&mut v, idle + 1000);
    assert_eq!(s.totals.flows, 3);
    assert!(s.talkers.src.is_empty(), "{:?}", s.talkers.src);
    assert_eq!(s.talkers_since_ms, Some(idle + 1000));
    // Within the limit of the last look, they still are: counted for
    // longer than the window now, the answer does not say since.
    let later = idle + 1000 + TALKERS_IDLE_MS - 1;
    v.record(
        &[flow("10.0.0.4", "192.0.2.1", 6, 443, 1, 300, later)],
        later,
    );
    let s = look(&mut v, later + 500);
    assert_eq!(sources(&s), ["10.0.0.4"]);
    assert_eq!(s.talkers_since_ms, Some(idle + 1000));
    let s = look_back(&mut v, later + 500, 300);
    assert_eq!(sources(&s), ["10.0.0.4"]);
    assert_eq!(s.talkers_since_ms, None);
}

#[test]
fn a_usage_client_keeps_the_talkers_counted() {
    use floe_live::TALKERS_IDLE_MS;
    let mut v = watched_view(3600);
    // Counted while looked at, then a pause longer than the limit.
    look(&mut v, T0, 3600);
    v.record(&[flow("10.0.0.4", "192.0.2.1", 6, 443, 1, 800, T0)], T0);
    let t = T0 + TALKERS_IDLE_MS + 60_000;
    v.record(&[flow("10.0.0.6", "192.0.2.1", 6, 443, 1, 800, t)], t);
    let usage = Request {
        op: Op::Usage,
        client: Some("nightly".into()),
        ..Request::default()
    };
    snapshot(&mut v, usage.clone(), t + 100);
    // Nobody looked at the view itself, but the usage client's talkers
    // take the same keys: every flow's talkers are counted too, from the
    // first flow after the client came (what the window's slices held
    // from before the pause forgotten).
    let t = t + 1000;
    v.record(&[flow("10.0.0.5", "192.0.2.1", 6, 443, 1, 900, t)], t);
    assert_eq!(sources(&snapshot(&mut v, usage, t + 500)), ["10.0.0.5"]);
    let s = look(&mut v, t + 1000, 3600);
    assert_eq!(s.totals.flows, 3);
    assert_eq!(sources(&s), ["10.0.0.5"]);
    assert_eq!(s.talkers_since_ms, Some(t));
}

#[test]
fn talkers_counted_always_say_no_since() {
    let mut v = LiveView::new(ViewConfig::default());
    v.record(&[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 900, T0)], T0);
    let s = snapshot(
        &mut v,
        Request {
            window: Some(60),
            ..Request::default()
        },
        T0 + 1000,
    );
    assert_eq!(sources(&s), ["10.0.0.1"]);
    assert_eq!(s.talkers_since_ms, None);
}

#[test]
fn a_filter_counts_its_own_talkers_while_nobody_watches_every_flow() {
    let mut v = watched_view(300);
    let tcp = Request {
        window: Some(60),
        filter: Some("proto tcp".into()),
        ..Request::default()
    };
    snapshot(&mut v, tcp.clone(), T0);
    v.record(
        &[flow("10.0.0.7", "192.0.2.1", 6, 443, 1, 900, T0)],
        T0 + 500,
    );
    let s = snapshot(&mut v, tcp.clone(), T0 + 1000);
    assert_eq!(sources(&s), ["10.0.0.7"]);
    assert_eq!(s.talkers_since_ms, None);
    // The filter did not start the talkers of every flow.
    let all = look(&mut v, T0 + 1500, 60);
    assert_eq!(all.totals.flows, 1);
    assert!(all.talkers.src.is_empty(), "{:?}", all.talkers.src);
    assert_eq!(all.talkers_since_ms, Some(T0 + 1500));
    // Nor does it take their start once they are.
    v.record(
        &[flow("10.0.0.8", "192.0.2.1", 6, 443, 1, 900, T0)],
        T0 + 2000,
    );
    let s = snapshot(&mut v, tcp, T0 + 2500);
    assert_eq!(sources(&s), ["10.0.0.7", "10.0.0.8"]);
    assert_eq!(s.talkers_since_ms, None);
    assert_eq!(sources(&look(&mut v, T0 + 3000, 60)), ["10.0.0.8"]);
}

#[test]
fn talkers_received_before_the_first_look_move_its_start_back() {
    let mut v = watched_view(300);
    // A batch received before the look, counted after it (it waited in
    // floed's queue): counted, and the start says so.
    let s = look(&mut v, T0 + 5000, 60);
    assert_eq!(s.talkers_since_ms, Some(T0 + 5000));
    v.record(
        &[flow("10.0.0.9", "192.0.2.1", 6, 443, 1, 900, T0)],
        T0 + 2000,
    );
    let s = look(&mut v, T0 + 6000, 60);
    assert_eq!(sources(&s), ["10.0.0.9"]);
    assert_eq!(s.talkers_since_ms, Some(T0 + 2000));
    // A clock stepped back: the start is never after the answer's time.
    let back = T0 - 20_000;
    let s = look(&mut v, back, 60);
    assert_eq!(s.talkers_since_ms, Some(back));
    assert!(s.talkers_since_ms <= Some(s.to_ms));
}

/// floed hands the view its batches as columns: counted from the columns
/// (and filtered on them), every answer is the one the same flows as rows
/// give: the window of every flow with its spread, a filtered view, a
/// usage client; IPv6 among IPv4, sampled flows, several exporters; and a
/// batch lacking columns counts as its rows.
#[test]
fn batches_of_columns_count_as_their_rows() {
    use floe_flow::{ColSet, FlowBatch};
    let (mut rows_view, mut cols_view) = (
        LiveView::new(ViewConfig::default()),
        LiveView::new(ViewConfig::default()),
    );
    let asks = [
        Request {
            window: Some(60),
            spread: true,
            scale: true,
            ..Request::default()
        },
        Request {
            window: Some(60),
            filter: Some("proto tcp and (dst port 443 or src net 2001:db8::/32)".into()),
            ..Request::default()
        },
        Request {
            op: Op::Usage,
            client: Some("test".into()),
            ..Request::default()
        },
    ];
    for (i, ask) in asks.iter().enumerate() {
        let now = T0 - 1000 + i as i64;
        assert_eq!(
            rows_view.answer(ask, now),
            cols_view.answer(ask, now),
            "{ask:?}"
        );
    }
    for s in 0..20i64 {
        let t = T0 + s * 1000;
        let batch: Vec<Flow> = (0..40u16)
            .map(|i| {
                let src = if i % 5 == 0 {
                    format!("2001:db8::{i:x}")
                } else {
                    format!("10.0.{s}.{i}")
                };
                let mut f = flow(
                    &src,
                    "192.0.2.1",
                    [6, 17, 1][usize::from(i % 3)],
                    400 + i % 50,
                    3,
                    1500 * u64::from(i),
                    t - 700,
                );
                f.exporter = if i % 7 == 0 {
                    "192.0.2.251"
                } else {
                    "192.0.2.250"
                }
                .parse()
                .unwrap();
                f.sampling_interval = u32::from(i % 2) * 100;
                f.tcp_flags = i % 32;
                f.src_as = u32::from(i % 4);
                f
            })
            .collect();
        rows_view.record(&batch, t);
        if s == 7 {
            // Columns missing: counted as the rows a reader gives.
            let mut partial = FlowBatch::new();
            let cols = ColSet::ALL
                .iter()
                .filter(|c| *c != floe_flow::Col::SrcAs)
                .fold(ColSet::NONE, ColSet::with);
            partial.fill_from(&batch, cols);
            let rows = partial.to_flows();
            let mut twin = LiveView::new(ViewConfig::default());
            twin.record_batch(&partial, t);
            let mut oracle = LiveView::new(ViewConfig::default());
            oracle.record(&rows, t);
            assert_eq!(twin.answer(&asks[0], t), oracle.answer(&asks[0], t));
        }
        cols_view.record_batch(&FlowBatch::from_flows(&batch), t);
    }
    // A batch whose columns disagree is counted as skipped, not read.
    let mut bad = FlowBatch::from_flows(&[flow("10.0.0.1", "192.0.2.1", 6, 443, 1, 1, T0)]);
    bad.src_addr.family[0] = 1;
    let mut twin = LiveView::new(ViewConfig::default());
    twin.record_batch(&bad, T0);
    let s = twin.answer(&asks[0], T0 + 500).snapshot.unwrap();
    assert_eq!((s.totals.flows, s.skipped_flows), (0, 1));
    for ask in &asks {
        let now = T0 + 19_500;
        let (a, b) = (rows_view.answer(ask, now), cols_view.answer(ask, now));
        assert!(a.ok, "{:?}", a.error);
        assert!(
            a.snapshot.as_ref().is_some_and(|s| s.totals.flows > 0),
            "{ask:?}"
        );
        assert_eq!(a, b, "{ask:?}");
    }
}
