//! What the threads of floed share: settings a reload changes, the allow
//! list, drop counts the receive threads keep for the decode thread to
//! account, and the buffers handed back for reuse.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use floe_flow::{ExporterCounters, ExporterKey, FlowBatch};
use floe_store::ExpirePolicy;

use crate::allow::AllowList;
use crate::batch::Batch;
use crate::pool::{Pool, Reuse};

/// Settings that a reload may change while running.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub on_rotate: Option<String>,
    pub expire: ExpirePolicy,
    /// Export each closed file as Parquet under this directory.
    pub export_parquet: Option<std::path::PathBuf>,
    /// Shipping to ClickHouse is on: expiry spares unshipped files.
    pub shipping: bool,
}

/// State shared between the main thread (signals), the receive threads,
/// the decode thread and the write thread.
#[derive(Default)]
pub struct Shared {
    /// Datagrams dropped at the receive queue, by source address (taken
    /// and counted by the decode thread).
    pub queue_drops: Mutex<HashMap<IpAddr, u64>>,
    /// Networks exporters may send from (reloaded by SIGHUP).
    pub allow: RwLock<AllowList>,
    /// Datagrams dropped because their source is not allowed, by source
    /// (taken and counted by the decode thread).
    pub denied: Mutex<HashMap<IpAddr, u64>>,
    pub live: Mutex<Live>,
    /// Set when writing fails, cleared when it works again.
    pub write_failing: AtomicBool,
    /// SIGUSR1: the decode thread logs the counters since start.
    pub log_counters: AtomicBool,
    /// Batches handed back by the decoder for the receivers to reuse.
    pub batches: Pool<Batch>,
    /// Flow batches handed back by the writer (or the live view) for the
    /// decoder to reuse.
    pub flow_batches: Pool<FlowCols>,
    /// Flows the live view could not look at, not yet accounted by it.
    pub live_skipped: AtomicU64,
    /// The same since start, for the metrics.
    pub live_skipped_total: AtomicU64,
    /// Whether the live view counts the talkers of every flow now (it
    /// does while clients look, by default), for the metrics.
    pub live_talkers_counted: AtomicBool,
    /// What the write thread did, for the metrics.
    pub store: StoreCounters,
    /// The since-start counters and templates per exporter, as the decode
    /// thread last published them (every second).
    pub exporters: Mutex<Arc<Vec<(ExporterKey, ExporterCounters, usize)>>>,
    /// What the ClickHouse shipper last said (when shipping is on).
    pub clickhouse: Mutex<Option<ShipState>>,
}

/// The ClickHouse shipper's state, for the stats file, the metrics and
/// expiry.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ShipState {
    /// `http://host:port/database.table`.
    pub target: String,
    /// The last insert or check worked.
    pub up: bool,
    pub shipped_flows: u64,
    pub shipped_batches: u64,
    /// Flows written to the store and not yet in ClickHouse.
    pub backlog_flows: u64,
    pub backlog_files: u64,
    /// Flows removed from the store (disk limit) before they were shipped.
    pub lost_flows: u64,
    /// Inserts whose outcome had to be checked, and those repaired.
    pub checks: u64,
    pub repairs: u64,
    /// Failed inserts or checks since start.
    pub errors: u64,
    pub last_error: Option<String>,
    pub last_success_ms: Option<i64>,
    /// Period start of the oldest file not wholly shipped: expiry spares it
    /// and every later file. `None` with a state: everything is shipped.
    pub oldest_unshipped_ms: Option<i64>,
    /// The shipper has looked at the store (until then expiry spares
    /// every file).
    #[serde(skip)]
    pub known: bool,
}

/// The write thread's counters.
#[derive(Default)]
pub struct StoreCounters {
    pub files_written: AtomicU64,
    pub write_errors: AtomicU64,
    /// Bytes of the files under the data directory (a gauge).
    pub bytes_on_disk: AtomicU64,
    pub files_expired: AtomicU64,
    pub bytes_expired: AtomicU64,
}

/// A batch's flows as the store's columns, decoded straight into them,
/// handed from the decoder to the writer (and the live view) and back.
/// (Boxed: a batch is two dozen vectors, moved through channels.)
pub struct FlowCols(pub Box<FlowBatch>);

impl FlowCols {
    /// Rows of room a spare keeps: the most flows the decoder holds
    /// before it hands a batch on, and a full receive batch of 256
    /// datagrams of 30 flows more (some 2.5 to 3.7 MB of columns). A
    /// batch of many small records takes more while it is decoded, and
    /// gives it back here.
    pub const CAPACITY: usize = crate::decode::HELD_FLOWS_MOST + 256 * 30;

    /// An empty batch for a message that carries counters only.
    pub fn none() -> FlowCols {
        FlowCols(Box::new(FlowBatch::new()))
    }
}

impl Reuse for FlowCols {
    /// A batch holds a block's flows (some 2.5 to 3.7 MB): after a burst
    /// that filled the queues (the writer's 8 batches, the live view's
    /// 200 000 flows), 16 spares are kept, not the 20-odd batches the
    /// burst had in flight. Under a steady load a few are in flight.
    const KEEP: usize = 16;

    /// A counters-only message's batch (no room) is not kept: the
    /// decoder would take it next and grow it from nothing.
    fn worth_keeping(&self) -> bool {
        self.0.start_ms.capacity() > 0
    }

    fn fresh() -> Self {
        FlowCols(Box::new(FlowBatch::with_every_column()))
    }

    fn reset(&mut self) {
        self.0.truncate(0);
        // Only a batch well past the usual size gives room back: batches a
        // little larger each time (large IPFIX datagrams) would otherwise
        // move their columns at every reuse.
        if self.0.start_ms.capacity() > 2 * Self::CAPACITY {
            self.0.shrink_to(Self::CAPACITY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_flow::Flow;

    /// A spare given back after a large batch keeps a batch's room, not
    /// the large one's, and decodes IPv4 after IPv6 as a fresh one.
    #[test]
    fn a_batch_that_never_grew_is_not_kept_and_spares_are_bounded() {
        let pool: crate::pool::Pool<FlowCols> = crate::pool::Pool::default();
        pool.give(FlowCols::none());
        assert_eq!(pool.take().0.start_ms.capacity(), 0, "a fresh one");
        let used = || {
            let mut b = FlowCols::fresh();
            b.0.push_row(&Flow::default());
            b
        };
        for _ in 0..3 * FlowCols::KEEP {
            pool.give(used());
        }
        for _ in 0..FlowCols::KEEP {
            assert!(pool.take().0.start_ms.capacity() > 0, "a spare");
        }
        assert_eq!(pool.take().0.start_ms.capacity(), 0, "spares kept at most");
    }

    #[test]
    fn a_spare_keeps_a_batchs_room_and_no_rows() {
        let v6 = Flow {
            src_addr: "2001:db8::1".parse().unwrap(),
            ..Flow::default()
        };
        let mut spare = FlowCols::fresh();
        spare.0.extend_from_flows(&vec![v6; 5 * FlowCols::CAPACITY]);
        spare.reset();
        assert!(spare.0.is_empty());
        assert!(spare.0.octets.capacity() <= 2 * FlowCols::CAPACITY);
        assert!(spare.0.src_addr.v6.capacity() <= 2 * FlowCols::CAPACITY);
        assert!(!spare.0.src_addr.any_v6());
        spare.0.push_row(&Flow::default());
        assert_eq!(spare.0.to_flows(), vec![Flow::default()]);
        assert!(spare.0.is_well_formed());
    }
}
