//! floe's benchmarks. The realistic flow generator they use is the
//! `floe-synth` crate, shared with `floe send` and the tests.

pub use floe_synth::{realistic_flows, Mix};
