//! `floe ship DIR --clickhouse URL`: a store's files (and flow-tools files
//! in it) into ClickHouse, oldest first, each flow once, resumable: what
//! floed does for the files it writes, for a tree that exists (a backfill
//! of months of files, an archive imported from flow-tools).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use floe_clickhouse::{ShipEvent, ShipOptions, Shipper, Step};

use crate::clickhouse::{ClickHouseUrl, TableArgs};
use crate::error::{warn, CliError, Result};

/// Ship a store's flows into ClickHouse (a backfill), resumable.
///
/// Example: floe ship /var/lib/floe --clickhouse http://clickhouse:8123
///
/// What was shipped is recorded in a state file (by default
/// DIR/.floe-ship-HOST_PORT-DATABASE-TABLE.json, named after the table), so that a second run ships only what is new and
/// a run that was stopped goes on where it stopped. Each flow is in the
/// table once, whatever stopped a run (see floe-clickhouse's docs). Make
/// the tables first: floe clickhouse init URL.
#[derive(Args, Debug)]
pub struct ShipArgs {
    /// The store's root (a floe tree; flow-tools files in it are shipped too).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    #[command(flatten)]
    url: ClickHouseUrl,
    #[command(flatten)]
    table: TableArgs,
    /// The collector's name in every row (default: this host's name, as floed's).
    #[arg(long, value_name = "NAME")]
    collector: Option<String>,
    /// Flows per insert.
    #[arg(long, default_value_t = floe_clickhouse::ship::DEFAULT_BATCH_FLOWS, value_name = "N")]
    batch: usize,
    #[command(flatten)]
    state: crate::args::StateArg,
    /// Tries of a batch when ClickHouse does not answer, with a growing
    /// pause between them, before giving up (run again to go on).
    #[arg(long, default_value_t = 6, value_name = "N")]
    tries: u32,
}

/// Says what a person should hear of.
pub fn tell(events: Vec<ShipEvent>) {
    for e in events {
        match e {
            ShipEvent::Lost { path, flows } => warn(format!(
                "{}: removed before it was shipped; {flows} flows lost to ClickHouse",
                path.display()
            )),
            ShipEvent::Unreadable { path, error } => warn(format!("{}: {error}", path.display())),
            ShipEvent::Landed { query_id, flows } => warn(format!(
                "insert {query_id} of {flows} flows, whose outcome was unknown, is in the table: not sent again"
            )),
            ShipEvent::NotLanded { query_id, flows } => warn(format!(
                "insert {query_id} of {flows} flows, whose outcome was unknown, is not in the table: sent again"
            )),
            ShipEvent::Repaired {
                query_id,
                expected,
                found,
            } => warn(format!(
                "insert {query_id}, whose outcome was unknown, left {found} of {expected} rows: deleted and sent again"
            )),
        }
    }
}

pub fn run(a: ShipArgs) -> Result<()> {
    let url = a
        .url
        .url
        .as_deref()
        .ok_or_else(|| CliError::Usage("--clickhouse URL: where to ship the flows".into()))?;
    if !a.dir.is_dir() {
        return Err(crate::sources::no_such_path(&a.dir));
    }
    let target = a.table.target(url)?;
    let collector = a.collector.clone().unwrap_or_else(floe_store::host_name);
    let mut o = ShipOptions::new(target, &collector);
    o.timeouts = a.table.timeouts();
    o.batch_flows = a.batch.max(1);
    o.batch_interval = Duration::ZERO;
    o.state_path = a.state.state.clone();
    let mut s = Shipper::open(&a.dir, o)?;
    let total = s.measure();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} flows {per_sec} {elapsed} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut failures = 0u32;
    let mut shipped = 0u64;
    while !s.finished() {
        match s.step(true) {
            Ok(Step::Sent(n)) => {
                failures = 0;
                shipped += n;
                if let Some(b) = &bar {
                    b.inc(n);
                }
            }
            Ok(Step::Idle) | Ok(Step::Waiting) => break,
            Err(e) if e.is_transport() && failures + 1 < a.tries => {
                failures += 1;
                let pause = Duration::from_secs(1 << failures.min(6));
                warn(format!("{e}; trying again in {} s", pause.as_secs()));
                std::thread::sleep(pause);
            }
            Err(e) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                tell(s.take_events());
                return Err(CliError::ClickHouse(e));
            }
        }
        tell(s.take_events());
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let st = s.status();
    warn(format!(
        "{shipped} flows shipped to {} ({} in all; state in {})",
        a.table.target(url)?.describe(),
        st.shipped_flows,
        s.state_path().display()
    ));
    Ok(())
}
