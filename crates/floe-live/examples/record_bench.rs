//! What the live view costs per flow: the CPU time of
//! `LiveView::record_batch` over generated flows (30 to a datagram from
//! three exporters in turn), handed over in batches of
//! columns as floed's live thread gets them (or of rows to
//! `LiveView::record`, with columns 0).
//!
//! `cargo run --release -p floe-live --example record_bench -- [flows] [batch] [flows/s] [filters] [usage clients] [IPv6 %] [talkers 1|0] [columns 1|0]`
//!
//! With talkers 0 the view counts them only while watched and nobody
//! watches (floed's default between looks).
//!
//! The time is the thread's own CPU time (Linux, from
//! `/proc/thread-self/schedstat`), so other work on the machine does not
//! count; elsewhere it falls back to wall time.

use std::time::Instant;

use floe_live::{LiveView, Request, TalkerCounting, ViewConfig};
use floe_synth::{realistic_flows, Mix};

/// The calling thread's CPU time in ns, if the system says.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .map(|a| a.parse().expect("a number"))
        .unwrap_or(default)
}

fn main() {
    let n = arg(1, 1_000_000) as usize;
    let batch = arg(2, 2048).max(1) as usize;
    let per_s = arg(3, 20_000).max(1);
    let filters = arg(4, 0);
    let usage = arg(5, 0);
    let t0: i64 = 1_795_305_600_000;
    let mix = Mix {
        day_start_ms: t0,
        span_ms: (n as u64 * 1000 / per_s) as i64,
        ..Mix::default()
    };
    let mix = Mix {
        ipv6_share: arg(6, (mix.ipv6_share * 100.0) as u64).min(100) as f64 / 100.0,
        ..mix
    };
    let mut flows = realistic_flows(n, 42, &mix);
    // The generator draws an exporter per flow; a datagram's flows share
    // theirs, and floed hands the view 30 to a datagram.
    let exporters: [std::net::IpAddr; 3] = [
        [192, 0, 2, 1].into(),
        [192, 0, 2, 2].into(),
        [192, 0, 2, 3].into(),
    ];
    for (i, d) in flows.chunks_mut(30).enumerate() {
        for f in d {
            f.exporter = exporters[i % exporters.len()];
        }
    }
    let talkers = arg(7, 1) != 0;
    let mut v = LiveView::new(ViewConfig {
        talkers: if talkers {
            TalkerCounting::Always
        } else {
            TalkerCounting::WhileWatched
        },
        ..ViewConfig::default()
    });
    // Subscriptions and usage clients, as `floe top -f` and `floe usage`
    // make them.
    let texts = ["proto tcp", "dst port 443", "proto udp", "src port 53"];
    for i in 0..filters as usize {
        // Each a different filter: the same text is one subscription.
        let text = format!("{} or dst port {}", texts[i % texts.len()], 60_000 + i);
        let r = v.answer(
            &Request {
                window: Some(60),
                filter: Some(text),
                ..Request::default()
            },
            t0,
        );
        assert!(r.ok, "{:?}", r.error);
    }
    for i in 0..usage {
        let r = v.answer(
            &Request {
                op: floe_live::Op::Usage,
                client: Some(format!("bench{i}")),
                ..Request::default()
            },
            t0,
        );
        assert!(r.ok, "{:?}", r.error);
    }
    let columns = arg(8, 1) != 0;
    // Received a little after the batch's last flow ended.
    let received = |b: &[floe_flow::Flow]| b.iter().map(|f| f.end_ms).max().unwrap_or(t0) + 50;
    let batches: Vec<(i64, floe_flow::FlowBatch)> = flows
        .chunks(batch)
        .filter(|_| columns)
        .map(|b| (received(b), floe_flow::FlowBatch::from_flows(b)))
        .collect();
    let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
    if columns {
        for (at, b) in &batches {
            v.record_batch(b, *at);
        }
    } else {
        for b in flows.chunks(batch) {
            v.record(b, received(b));
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    let now = flows.last().map(|f| f.end_ms + 1000).unwrap_or(t0);
    let r = v.answer(
        &Request {
            window: Some(60),
            ..Request::default()
        },
        now,
    );
    assert!(r.ok);
    let m = n as f64 / 1e6;
    println!(
        "{n} flows ({:.0}% IPv6) in batches of {batch}, {per_s} flows/s, {filters} filters, \
         {usage} usage clients, talkers {}: {:.3} CPU s ({:.3} wall), {:.0} flows/s, {:.4} CPU s per million flows",
        mix.ipv6_share * 100.0,
        // Usage clients take the same keys: they keep the talkers counted.
        if talkers || usage > 0 {
            "counted"
        } else {
            "not counted"
        },
        cpu,
        wall,
        n as f64 / cpu,
        cpu / m
    );
}
