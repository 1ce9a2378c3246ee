//! The ClickHouse shipping thread: off the receive path, it reads the
//! blocks the write thread appended to the store's files (the open one
//! followed as it grows) and inserts them, each flow once
//! (floe-clickhouse's shipper: state file, in-flight record, checks).
//!
//! When ClickHouse is down, slow or refusing, nothing is lost: the files
//! are the buffer. The thread retries with a pause that doubles from 1 s
//! to a minute (`retry_max`), logs the failure at most once a minute (with the backlog),
//! logs when shipping works again, and publishes its counters for the
//! stats file, the metrics and expiry (which spares unshipped files). It
//! runs below the collector's own threads: on idle CPU only while it
//! keeps up (or is behind for less than a minute), at nice 19 when it has
//! been behind for longer ([`Priority`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_clickhouse::{ShipEvent, Shipper, Step};

use crate::receive::now_ms;
use crate::shared::{Shared, ShipState};

/// At stop: how long the last round may take (ClickHouse may be down).
const LAST_ROUND: Duration = Duration::from_secs(10);

/// At stop: how long floed waits for the shipper's thread, past which it
/// stops without it. The last round is checked between requests, and a
/// request may take up to `[clickhouse] timeout` (two minutes by default)
/// when the server stalls; waiting that long would outlast systemd's
/// `TimeoutStopSec`, whose SIGKILL would cut the rest of the stop. Left
/// behind, the shipper loses nothing: its state on disk names the batch
/// in flight (written before the insert), which the next start settles.
pub const WAIT_AT_STOP: Duration = Duration::from_secs(12);

/// How long the shipper stays behind on idle CPU only before it takes a
/// share of the CPU (nice 19) until it has caught up.
const IDLE_BEHIND_AT_MOST: Duration = Duration::from_secs(60);

/// The shipping thread's scheduling: on idle CPU only (SCHED_IDLE) while
/// it keeps up or has fallen behind for less than [`IDLE_BEHIND_AT_MOST`]:
/// a burst the collector needs both cores for is shipped after it, from
/// the store. Behind for longer, it runs at nice 19 until caught up, so
/// that a machine never idle still ships.
struct Priority {
    idle: bool,
    behind_since: Option<Instant>,
    refused: bool,
}

impl Priority {
    fn start() -> Priority {
        crate::live::idle_priority();
        Priority {
            idle: true,
            behind_since: None,
            refused: false,
        }
    }

    /// After a step: `caught_up` when there was nothing to send.
    fn update(&mut self, caught_up: bool) {
        if caught_up {
            self.behind_since = None;
            if !self.idle {
                crate::live::idle_priority();
                self.idle = true;
            }
            return;
        }
        let since = *self.behind_since.get_or_insert_with(Instant::now);
        if self.idle && !self.refused && since.elapsed() >= IDLE_BEHIND_AT_MOST {
            if crate::live::nice_priority() {
                self.idle = false;
            } else {
                self.refused = true;
                tracing::warn!(
                    "the ClickHouse shipper cannot leave idle priority (RLIMIT_NICE): it ships on idle CPU only"
                );
            }
        }
    }
}

fn log_events(events: Vec<ShipEvent>) {
    for e in events {
        match e {
            ShipEvent::Lost { path, flows } => tracing::warn!(
                file = %path.display(),
                flows,
                "a file was removed (disk limit) before it was shipped: flows lost to ClickHouse"
            ),
            ShipEvent::Unreadable { path, error } => {
                tracing::warn!(file = %path.display(), error = %error, "cannot ship part of a file")
            }
            ShipEvent::Landed { query_id, flows } => tracing::info!(
                query_id = %query_id,
                flows,
                "an insert whose outcome was unknown is in ClickHouse: not sent again"
            ),
            ShipEvent::NotLanded { query_id, flows } => tracing::info!(
                query_id = %query_id,
                flows,
                "an insert whose outcome was unknown is not in ClickHouse: sending it again"
            ),
            ShipEvent::Repaired {
                query_id,
                expected,
                found,
            } => tracing::warn!(
                query_id = %query_id,
                expected,
                found,
                "an insert whose outcome was unknown left part of its rows: deleted and sending again"
            ),
        }
    }
}

/// Runs until `stop`, then makes one last bounded round.
pub fn run(
    mut s: Shipper,
    target: String,
    max_pause: Duration,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) {
    let mut priority = Priority::start();
    let mut state = ShipState {
        target,
        up: true,
        ..ShipState::default()
    };
    let first_pause = Duration::from_secs(1).min(max_pause);
    let mut pause = first_pause;
    let mut last_log: Option<Instant> = None;
    let mut failing_since: Option<Instant> = None;
    let mut last_publish = Instant::now() - Duration::from_secs(10);
    let mut stopping_since: Option<Instant> = None;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        if stopping {
            let since = *stopping_since.get_or_insert_with(Instant::now);
            if since.elapsed() > LAST_ROUND {
                break;
            }
        }
        let step = s.step(stopping);
        log_events(s.take_events());
        priority.update(matches!(step, Ok(Step::Waiting) | Ok(Step::Idle)));
        match step {
            Ok(Step::Sent(_)) => {
                if failing_since.take().is_some() {
                    tracing::info!(target = %state.target, "shipping to ClickHouse works again");
                }
                state.up = true;
                state.last_success_ms = Some(now_ms());
                pause = first_pause;
            }
            Ok(Step::Waiting) | Ok(Step::Idle) => {
                if stopping {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                state.up = false;
                state.errors += 1;
                state.last_error = Some(e.to_string());
                failing_since.get_or_insert_with(Instant::now);
                if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    last_log = Some(Instant::now());
                    let st = s.status();
                    tracing::warn!(
                        error = %e,
                        backlog_flows = st.backlog_flows,
                        backlog_files = st.backlog_files,
                        retry_in_secs = pause.as_secs(),
                        "shipping to ClickHouse failed; flows stay in the store and go when it answers"
                    );
                }
                if stopping {
                    break;
                }
                // The pause, in steps that notice a stop.
                let until = Instant::now() + pause;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                pause = (pause * 2).min(max_pause);
            }
        }
        if last_publish.elapsed() >= Duration::from_secs(1) {
            last_publish = Instant::now();
            publish(&mut s, &mut state, &shared);
        }
    }
    publish(&mut s, &mut state, &shared);
    if let Err(e) = s.save() {
        tracing::warn!(error = %e, "cannot write the ClickHouse shipper's state");
    }
    let st = s.status();
    tracing::info!(
        shipped_flows = st.shipped_flows,
        backlog_flows = st.backlog_flows,
        "ClickHouse shipper stopped"
    );
}

fn publish(s: &mut Shipper, state: &mut ShipState, shared: &Shared) {
    let st = s.status();
    state.shipped_flows = st.shipped_flows;
    state.shipped_batches = st.shipped_batches;
    state.backlog_flows = st.backlog_flows;
    state.backlog_files = st.backlog_files;
    state.lost_flows = st.lost_flows;
    state.checks = st.checks;
    state.repairs = st.repairs;
    state.oldest_unshipped_ms = st.oldest_unshipped_ms;
    state.known = true;
    if let Ok(mut c) = shared.clickhouse.lock() {
        *c = Some(state.clone());
    }
}

/// What expiry must spare: files whose period starts at or after this
/// (`None`: nothing, everything is shipped; `Some(i64::MIN)`: everything,
/// the shipper has not looked yet).
pub fn keep_from(shared: &Shared) -> Option<i64> {
    match shared.clickhouse.lock().ok().and_then(|c| c.clone()) {
        None => Some(i64::MIN),
        Some(st) if !st.known => Some(i64::MIN),
        Some(st) => st.oldest_unshipped_ms,
    }
}
