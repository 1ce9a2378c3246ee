//! The live view's thread: it counts the flows the write thread has just
//! stored, on CPU the threads that receive, decode and write leave
//! (SCHED_IDLE), and hands their buffers back. When it falls behind, the write
//! thread skips it (counted): the live view never slows the collector.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_live::LiveView;

use crate::receive::now_ms;
use crate::shared::{FlowCols, Shared};

/// Flows stored, for the live view to count.
pub struct LiveBatch {
    pub received_ms: i64,
    pub flows: FlowCols,
}

/// Flows queued for the live view at most (some 18 to 30 MB of columns): a burst
/// waits for it, a sustained load it cannot follow is skipped.
pub const QUEUE_FLOWS: usize = 200_000;

/// The write thread's side of the live view's queue, bounded in flows.
pub struct LiveQueue {
    tx: Sender<LiveBatch>,
    queued: Arc<AtomicUsize>,
}

/// The live thread's side.
pub struct LiveInbox {
    rx: Receiver<LiveBatch>,
    queued: Arc<AtomicUsize>,
}

/// A queue of at most [`QUEUE_FLOWS`] flows.
pub fn queue() -> (LiveQueue, LiveInbox) {
    let (tx, rx) = channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        LiveQueue {
            tx,
            queued: queued.clone(),
        },
        LiveInbox { rx, queued },
    )
}

impl LiveQueue {
    /// Queues a batch, or gives it back when the queue is full (or the
    /// live thread is gone).
    pub fn try_send(&self, b: LiveBatch) -> Result<(), LiveBatch> {
        let n = b.flows.0.len();
        if self.queued.load(Ordering::Relaxed) + n > QUEUE_FLOWS {
            return Err(b);
        }
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.tx.send(b).map_err(|e| {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            e.0
        })
    }
}

/// Puts the calling thread below the collector: Linux's SCHED_IDLE
/// policy, which runs it only on CPU that the receiving, decoding and
/// writing threads (and everything else on the machine) leave. nice 10
/// was not enough: at the edge of what two cores could take, floed with
/// the view failed a v9 rate it passed without (`benches/compare-ingest.py`,
/// live on against off). Where SCHED_IDLE is refused, nice 19.
pub(crate) fn idle_priority() {
    // SAFETY: sched_setscheduler takes plain integers and a pointer to a
    // live sched_param; on Linux, pid 0 is the calling thread only.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            nice(19);
        }
    }
}

/// Puts the calling thread back under the normal policy (from
/// SCHED_IDLE) at nice 19; false when the system refuses.
pub(crate) fn nice_priority() -> bool {
    nice(19);
    // SAFETY: as in `idle_priority`.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) == 0
    }
}

/// Sets the calling thread's nice value.
pub(crate) fn nice(value: i32) {
    // SAFETY: gettid and setpriority take and return plain integers; on
    // Linux PRIO_PROCESS with a thread id applies to that thread only.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, value);
    }
}

pub fn run(inbox: LiveInbox, view: Arc<Mutex<LiveView>>, shared: Arc<Shared>) {
    idle_priority();
    loop {
        let batch = match inbox.rx.recv_timeout(Duration::from_millis(500)) {
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
                v.record_batch(&b.flows.0, b.received_ms);
            }
            shared
                .live_talkers_counted
                .store(v.talkers_counted(), Ordering::Relaxed);
        }
        if let Some(b) = batch {
            inbox.queued.fetch_sub(b.flows.0.len(), Ordering::Relaxed);
            shared.flow_batches.give(b.flows);
        }
    }
}
