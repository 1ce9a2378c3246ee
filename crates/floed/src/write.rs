//! The write thread: owns the store writer; rotation, fsync, the
//! on-rotate command and expiry happen here, never on the receive path.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use floe_flow::{ExporterCounters, ExporterKey, Flow};
use floe_store::{ClosedFile, StoreWriter};

use crate::children::Children;
use crate::events::{Counts, Emitter, Event};
use crate::receive::now_ms;
use crate::shared::{FlowVec, Shared};

/// What the decoder hands the writer.
pub enum WriterMsg {
    Flows {
        received_ms: i64,
        flows: Vec<Flow>,
        counters: Vec<(ExporterKey, ExporterCounters)>,
    },
    /// Close the current file now (SIGHUP).
    Rotate,
}

pub fn run(rx: Receiver<WriterMsg>, mut store: StoreWriter, shared: Arc<Shared>) {
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
                mut flows,
                counters,
            }) => {
                match store.write_owned(received_ms, &mut flows) {
                    Ok(c) => closed.extend(c),
                    Err(e) => failed = Some(e.to_string()),
                }
                shared.flow_vecs.give(FlowVec(flows));
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
            let live = shared.live.lock().map(|l| l.clone()).unwrap_or_default();
            children.file_closed(&c, &live, &root);
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
