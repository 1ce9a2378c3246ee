//! `floe top`: the traffic through the collector now, in a terminal, as
//! iptraf shows a gateway's.
//!
//! It reads floed's live view ([`floe_live`]) once a second and shows,
//! tab by tab, the top talkers (by source, destination, pair, AS, and
//! sources and destinations by flows: scanners and what they scan), ports,
//! protocols, packet sizes, TCP flags and exporters with their export
//! delay, with the totals, rates and a sparkline of the window on top.
//! Keys sort, filter (floe's expression language, the error shown in
//! place), change the window, and switch names (services, protocols,
//! AS names; reverse DNS on a thread of its own, never blocking the
//! screen). [`App`] holds the state and handles keys, [`draw`] draws it
//! (tested on ratatui's test backend), [`run`] owns the terminal.

mod app;
mod names;
mod render;
mod run;

pub use app::{Action, App, Sort, Tab, TalkerKey};
pub use names::Names;
pub use render::{draw, human};
pub use run::{run, Options, TopError};
