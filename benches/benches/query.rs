//! criterion benchmarks of the query hot paths over 100 k realistic flows:
//! filter evaluation (a compiled expression per flow) and report
//! aggregation (a top-N by source address, and the 3-part key of the
//! nfdump comparison), reported in records/s.
//!
//!     cargo bench -p floe-benches --bench query

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use floe_benches::{realistic_flows, Mix};
use floe_filter::Filter;
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
    }
    g.finish();
}

criterion_group!(benches, query);
criterion_main!(benches);
