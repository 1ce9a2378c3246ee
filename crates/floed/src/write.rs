//! The write thread: owns the store writer; rotation, fsync, the
//! on-rotate command and expiry happen here, never on the receive path.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use floe_flow::{ExporterCounters, ExporterKey};
use floe_store::{ClosedFile, StoreWriter};

use crate::children::Children;
use crate::events::{Counts, Emitter, Event};
use crate::live::{LiveBatch, LiveQueue};
use crate::receive::now_ms;
use crate::shared::{FlowCols, Shared};

/// What the decoder hands the writer.
pub enum WriterMsg {
    Flows {
        received_ms: i64,
        flows: FlowCols,
        counters: Vec<(ExporterKey, ExporterCounters)>,
    },
    /// Close the current file now (SIGHUP).
    Rotate,
}

pub fn run(
    rx: Receiver<WriterMsg>,
    mut store: StoreWriter,
    shared: Arc<Shared>,
    live: Option<LiveQueue>,
) {
    let mut emitter = Emitter::new();
    let mut children = Children::default();
    let root = store.config().dir.clone();
    loop {
        let msg = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let now = now_ms();
        let mut closed = Vec::new();
        let mut failed = None;
        match msg {
            Some(WriterMsg::Flows {
                received_ms,
                flows,
                counters,
            }) => {
                match store.write(received_ms, &*flows.0) {
                    Ok(c) => closed.extend(c),
                    Err(e) => failed = Some(e.to_string()),
                }
                // Stored: the live view may count them now, if it keeps up.
                match &live {
                    Some(tx) if !flows.0.is_empty() => {
                        match tx.try_send(LiveBatch { received_ms, flows }) {
                            Ok(()) => {}
                            Err(b) => {
                                let n = b.flows.0.len() as u64;
                                shared.live_skipped.fetch_add(n, Ordering::Relaxed);
                                shared.live_skipped_total.fetch_add(n, Ordering::Relaxed);
                                shared.flow_batches.give(b.flows);
                            }
                        }
                    }
                    _ => shared.flow_batches.give(flows),
                }
                for (k, c) in counters {
                    match store.add_counters(received_ms, k, &c) {
                        Ok(c) => closed.extend(c),
                        Err(e) => failed = Some(e.to_string()),
                    }
                }
            }
            Some(WriterMsg::Rotate) => match store.rotate(now) {
                Ok(c) => closed.extend(c),
                Err(e) => failed = Some(e.to_string()),
            },
            None => {}
        }
        match store.tick(now) {
            Ok(c) => closed.extend(c),
            Err(e) => failed = Some(e.to_string()),
        }
        let unwritten = store.unwritten();
        match failed {
            Some(error) => {
                shared.write_failing.store(true, Ordering::Relaxed);
                shared.store.write_errors.fetch_add(1, Ordering::Relaxed);
                emitter.emit(
                    &mut Counts::new(),
                    now,
                    Event::WriteFailed { error, unwritten },
                );
            }
            None if !store.failing() && shared.write_failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(unwritten, "writing works again");
            }
            None => {}
        }
        for c in closed {
            log_rotation(&c);
            shared.store.files_written.fetch_add(1, Ordering::Relaxed);
            shared
                .store
                .bytes_on_disk
                .fetch_add(c.bytes, Ordering::Relaxed);
            let settings = shared.live.lock().map(|l| l.clone()).unwrap_or_default();
            children.file_closed(&c, &settings, &root, &shared);
        }
        children.reap();
        emitter.flush(false);
    }
    match store.close(now_ms()) {
        Ok(Some(c)) => log_rotation(&c),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "closing the last file failed"),
    }
    children.wait();
    emitter.flush(true);
}

fn log_rotation(c: &ClosedFile) {
    let (lost, bad, datagrams) = c.exporters.iter().fold((0, 0, 0), |a, (_, x)| {
        (a.0 + x.lost_flows, a.1 + x.bad_datagrams, a.2 + x.datagrams)
    });
    tracing::info!(
        file = %c.path.display(),
        flows = c.totals.flows,
        datagrams,
        lost_flows = lost,
        bad_datagrams = bad,
        bytes = c.bytes,
        "rotated"
    );
}
