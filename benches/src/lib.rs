//! floe's benchmarks. The realistic flow generator they use lives in
//! `floe_flow::synth`, shared with `floe send`.

pub use floe_flow::synth::{realistic_flows, Mix};
