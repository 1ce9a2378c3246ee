//! floe alerts and usage: tell the operator when a host misbehaves or goes
//! over its quota, and how much each key used since the last look.
//!
//! * [`rules`] reads a rules file (TOML): each rule a filter in floe's
//!   language, a metric (octets, packets, flows, bits/s, packets/s,
//!   distinct destination hosts or ports, distinct sources, exporters'
//!   lost flows), an optional group-by key named as reports name keys, a
//!   window (each file, an hour, a day, a calendar month from a chosen
//!   day) and a condition (above or below a value, above K times the
//!   key's own average over the past hour, day or week; N windows in a
//!   row; M windows of silence after firing; once while true or each
//!   window), or a preset by name with the user's thresholds (quota, SYN
//!   scan, UDP amplification, silent exporter, lost flows). Mistakes are
//!   [`RulesError`]s naming the file, line, column and rule.
//! * [`Engine`] evaluates the closed files of a store it has not seen:
//!   each file is read once for every rule (the union of the columns they
//!   read; blocks spread over threads), fed to each rule's window table,
//!   and checked; it gives [`Event`]s, firing and resolved.
//! * [`State`] is what a run leaves for the next (tables of open windows,
//!   files counted, streaks, holds, open alerts, averages, recent
//!   events), written atomically under a lock, so that a restart neither
//!   repeats nor misses an alert.
//! * [`actions`] runs a command with an alert as JSON on stdin (never a
//!   shell, nothing on its command line) and appends JSON lines to a log.
//! * [`usage`] counts usage since the previous run, and running totals,
//!   per key, by the files counted (late files count in the next run).
//!
//! Like every floe library it prints nothing and decides no exit status;
//! the `floe alert` and `floe usage` subcommands do.

#![forbid(unsafe_code)]

pub mod actions;
mod agg;
mod engine;
mod error;
mod event;
pub mod rules;
mod state;
pub mod template;
pub mod usage;
mod value;
mod window;

pub use agg::{Sums, Table};
pub use engine::{file_id, Engine, Outcome, MAX_HISTORY_KEYS};
pub use error::{AlertError, RulesError};
pub use event::{Event, EventState, TopRow};
pub use rules::{Metric, Repeat, Rule, RuleSet, PRESETS};
pub use state::{
    AggState, Bucket, CheckState, KeyState, Open, State, StateLock, FORMAT, HISTORY, STATE_FILE,
};
pub use value::{human, parse_amount, KVal, Key};
pub use window::{AveragePeriod, WindowKind};
