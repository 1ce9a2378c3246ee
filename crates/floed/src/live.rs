//! The live view's thread: it counts the flows the write thread has just
//! stored, at a lower priority than the threads that receive, decode and
//! write, and hands their buffers back. When it falls behind, the write
//! thread skips it (counted): the live view never slows the collector.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_live::LiveView;

use crate::receive::now_ms;
use crate::shared::{FlowVec, Shared};

/// Flows stored, for the live view to count.
pub struct LiveBatch {
    pub received_ms: i64,
    pub flows: FlowVec,
}

/// Batches queued for the live view; beyond this the write thread skips
/// it.
pub const QUEUE: usize = 4;

/// Lowers the calling thread's priority (nice 10): on a busy machine the
/// live view takes what the collector leaves.
fn lower_priority() {
    // SAFETY: gettid and setpriority take and return plain integers; on
    // Linux PRIO_PROCESS with a thread id applies to that thread only.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

pub fn run(rx: Receiver<LiveBatch>, view: Arc<Mutex<LiveView>>, shared: Arc<Shared>) {
    lower_priority();
    loop {
        let batch = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(b) => Some(b),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let skipped = shared.live_skipped.swap(0, Ordering::Relaxed);
        if let Ok(mut v) = view.lock() {
            if skipped > 0 {
                v.skipped(skipped, now_ms());
            }
            if let Some(b) = &batch {
                v.record(&b.flows.0, b.received_ms);
            }
        }
        if let Some(b) = batch {
            shared.flow_vecs.give(b.flows);
        }
    }
}
