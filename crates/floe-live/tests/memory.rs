//! What the live view keeps is bounded by its settings, whatever the
//! traffic: a scan of every port from random sources for the whole window
//! costs about what steady traffic costs (heap measured by a counting
//! allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::IpAddr;
use std::sync::atomic::{AtomicIsize, Ordering};

use floe_flow::Flow;
use floe_live::{LiveView, Request, ViewConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: p was allocated by System with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: as for realloc.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

const T0: i64 = 1_795_305_600_000;

/// Heap bytes a view holds after `secs` seconds of `per_second` flows made
/// by `make(second, i)`.
fn held(secs: i64, per_second: u32, make: impl Fn(i64, u32) -> Flow) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    let mut v = LiveView::new(ViewConfig::default());
    let mut batch = Vec::with_capacity(per_second as usize);
    for s in 0..secs {
        batch.clear();
        batch.extend((0..per_second).map(|i| make(s, i)));
        v.record(&batch, T0 + s * 1000);
    }
    drop(batch);
    let r = v.answer(
        &Request {
            window: Some(300),
            ..Request::default()
        },
        T0 + secs * 1000,
    );
    assert!(r.ok);
    drop(r);
    let after = LIVE.load(Ordering::Relaxed);
    drop(v);
    after - before
}

fn flow(src: IpAddr, dst: IpAddr, protocol: u8, dst_port: u16, at: i64) -> Flow {
    Flow {
        start_ms: at - 1000,
        end_ms: at,
        exporter: "192.0.2.250".parse().unwrap(),
        src_addr: src,
        dst_addr: dst,
        protocol,
        src_port: 40000,
        dst_port,
        packets: 1,
        octets: 60,
        ..Flow::default()
    }
}

#[test]
fn a_scan_of_every_port_costs_what_steady_traffic_costs() {
    // Steady: a few hundred hosts on a handful of services.
    let steady = held(300, 2048, |s, i| {
        let src = IpAddr::from([10, 0, (i % 4) as u8, (i % 200) as u8]);
        let dst = IpAddr::from([192, 0, 2, (i % 50) as u8]);
        let port = [443, 80, 53, 22, 25][(i % 5) as usize];
        flow(
            src,
            dst,
            if port == 53 { 17 } else { 6 },
            port,
            T0 + s * 1000,
        )
    });
    // A scan: every second, every port below 1024 over TCP and UDP, from
    // random sources to random destinations.
    let scan = held(300, 2048, |s, i| {
        let mut r = ((s as u64) << 32 | u64::from(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        r ^= r >> 29;
        r = r.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let src = IpAddr::from(((r >> 32) as u32).to_be_bytes());
        let dst = IpAddr::from((r as u32).to_be_bytes());
        let (protocol, port) = if i < 1024 { (6, i) } else { (17, i - 1024) };
        flow(src, dst, protocol, port as u16, T0 + s * 1000)
    });
    println!("steady {} MB, scan {} MB", steady >> 20, scan >> 20);
    assert!(
        scan < steady * 2 && scan < 48 << 20,
        "steady traffic holds {} MB, a scan {} MB",
        steady >> 20,
        scan >> 20
    );
}
