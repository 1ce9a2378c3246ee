//! floe's benchmarks. The realistic flow generator they use is the
//! `floe-synth` crate, shared with `floe send` and the tests.
#![forbid(unsafe_code)]

pub use floe_synth::{realistic_flows, Mix};
