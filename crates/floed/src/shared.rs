//! What the threads of floed share: settings a reload changes, the allow
//! list, drop counts the receive threads keep for the decode thread to
//! account, and the buffers handed back for reuse.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use floe_flow::{ExporterCounters, ExporterKey, Flow};
use floe_store::ExpirePolicy;

use crate::allow::AllowList;
use crate::batch::Batch;
use crate::pool::{Pool, Reuse};

/// Settings that a reload may change while running.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub on_rotate: Option<String>,
    pub expire: ExpirePolicy,
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
    /// Flow vectors handed back by the writer for the decoder to reuse.
    pub flow_vecs: Pool<FlowVec>,
    /// Flows the live view could not look at, not yet accounted by it.
    pub live_skipped: AtomicU64,
    /// The same since start, for the metrics.
    pub live_skipped_total: AtomicU64,
    /// What the write thread did, for the metrics.
    pub store: StoreCounters,
    /// The since-start counters and templates per exporter, as the decode
    /// thread last published them (every second).
    pub exporters: Mutex<Arc<Vec<(ExporterKey, ExporterCounters, usize)>>>,
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

/// A batch's flows, handed from the decoder to the writer and back.
pub struct FlowVec(pub Vec<Flow>);

impl FlowVec {
    /// Capacity a spare keeps (a full batch of 256 datagrams of 30 flows).
    const CAPACITY: usize = 256 * 30;
}

impl Reuse for FlowVec {
    fn fresh() -> Self {
        FlowVec(Vec::with_capacity(Self::CAPACITY))
    }

    fn reset(&mut self) {
        self.0.clear();
        self.0.shrink_to(Self::CAPACITY);
    }
}
