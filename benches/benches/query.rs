//! criterion benchmarks of the query hot paths over 100 k realistic flows:
//! filter evaluation (a compiled expression per flow, and on columns) and
//! report aggregation (a top-N by source address, and the 3-part key of
//! the nfdump comparison; from rows and from columns), in records/s.
//!
//!     cargo bench -p floe-benches --bench query
#![forbid(unsafe_code)]

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use floe_benches::{realistic_flows, Mix};
use floe_filter::{Filter, Scratch};
use floe_flow::FlowBatch;
use floe_report::{Report, ReportType, Sort};

fn query(c: &mut Criterion) {
    let flows = realistic_flows(100_000, 3, &Mix::default());
    let mut g = c.benchmark_group("query");
    g.throughput(Throughput::Elements(flows.len() as u64));
    for expr in [
        "proto tcp and dst port 443",
        "src net 10.0.0.0/8 and bytes > 1000 and not dst port in [53, 123]",
    ] {
        let f = Filter::parse(expr).expect("filter");
        g.bench_with_input(BenchmarkId::new("filter", expr), &flows, |b, flows| {
            b.iter(|| flows.iter().filter(|x| f.matches(x)).count())
        });
        // The same on columns, a block (16384 flows) at a time.
        let batches: Vec<FlowBatch> = flows.chunks(16384).map(FlowBatch::from_flows).collect();
        let (mut mask, mut scratch) = (Vec::new(), Scratch::default());
        g.bench_with_input(
            BenchmarkId::new("filter-columns", expr),
            &batches,
            |b, batches| {
                b.iter(|| {
                    let mut n = 0usize;
                    for batch in batches {
                        f.select_with(batch, &mut mask, &mut scratch)
                            .expect("columns");
                        n += mask.iter().map(|m| usize::from(*m)).sum::<usize>();
                    }
                    n
                })
            },
        );
    }
    for kind in [
        "ip-source-address",
        "ip-source/destination-address/ip-destination-port",
    ] {
        let t = ReportType::parse(kind).expect("report type");
        g.bench_with_input(BenchmarkId::new("report", kind), &flows, |b, flows| {
            b.iter(|| {
                let mut r = Report::new(t.clone(), 10_000_000);
                r.add(flows).expect("add");
                r.rows(Sort::parse("+octets").expect("sort"), Some(15))
                    .len()
            })
        });
        let batches: Vec<FlowBatch> = flows.chunks(16384).map(FlowBatch::from_flows).collect();
        g.bench_with_input(
            BenchmarkId::new("report-columns", kind),
            &batches,
            |b, batches| {
                b.iter(|| {
                    let mut r = Report::new(t.clone(), 10_000_000);
                    for batch in batches {
                        let rows: Vec<u32> = (0..batch.len() as u32).collect();
                        r.add_batch(batch, &rows).expect("add");
                    }
                    r.rows(Sort::parse("+octets").expect("sort"), Some(15))
                        .len()
                })
            },
        );
    }
    g.finish();
}

// The group function criterion_group! defines is public; inside a private
// module it is not part of the target's documented surface.
mod group {
    criterion::criterion_group!(benches, super::query);
}
criterion_main!(group::benches);
