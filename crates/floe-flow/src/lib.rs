//! The floe flow record.
//!
//! This crate is what every other floe crate agrees on: the [`Flow`] record
//! (one flow, normalised across NetFlow v5, v9 and IPFIX), the
//! [`catalog`] of named fields that filters, reports, `floe print` and JSON
//! output all use, and a few [`time`] helpers for the absolute UTC
//! millisecond timestamps a flow carries; and the same flows column by
//! column ([`FlowBatch`], with the [`BatchStats`] of a block), which is
//! what queries read. (Synthetic flows for tests and
//! benchmarks are the `floe-synth` crate's.)
//!
//! It does no I/O and has no dependency beyond serde.
#![forbid(unsafe_code)]

pub mod batch;
pub mod catalog;
mod exporter;
mod record;
pub mod time;

pub use batch::{
    AddrColumn, AddrStats, BatchStats, Col, ColSet, FlowBatch, FlowSource, MissingColumn, NumStats,
};
pub use catalog::{Field, FieldKind, Value, FIELDS};
pub use exporter::{Counter, ExporterCounters, ExporterKey, ExtraCounters};
pub use record::{Flow, UNSPECIFIED_V4};
