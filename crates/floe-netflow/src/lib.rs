//! NetFlow v5, v9 and IPFIX datagrams to floe [`Flow`]s.
//!
//! * [`Decoder`] takes datagrams as they arrive, with the address they came
//!   from, and returns flows plus per-exporter counter updates. Template
//!   state lives per (exporter address, v9 source id / IPFIX observation
//!   domain), as RFC 3954 and RFC 7011 scope it, never per UDP port. Data
//!   that arrives before its template is held (bounded) and decoded when the
//!   template comes; what expires undecoded is counted. Options records set
//!   the exporter's sampling interval (stored with each flow, never
//!   multiplied in) and IPFIX boot time. Uptime timestamps become absolute.
//!   Sequence numbers give lost flows, late datagrams and resets
//!   ([`sequence`]).
//! * [`FileTemplateStore`] keeps templates on disk across restarts.
//! * [`V5Encoder`] and [`V9Encoder`] build datagrams for `floe send`.
//! * [`pcap`] reads the UDP payloads of a capture file.
//! * [`flowtools`] reads flow-tools files (NetFlow records as flow-capture
//!   stored them), for archives moving to floe.
//!
//! Parsing is netflow_parser's (1.0.6, pinned) for v5, templates, options
//! and anything unusual: this crate maps its records to flows and adds the
//! state a collector needs around it. v9/IPFIX data records under a known
//! template take floe's own path, because netflow_parser was measured to be
//! the bottleneck (`cargo bench -p floe-benches --bench decode`, 30 flows
//! per datagram, one core of the 2-core benchmark machine): netflow_parser
//! 2.1 M v9 flows/s; floe's step walker (`fast.rs`, one step per template
//! field) 6.9 M; templates compiled straight to flow fields (`direct.rs`)
//! 24.4 M, 39.4 M applied a field at a time over a set's records (v5, for
//! scale: 80 M). The corpus test decodes the whole shared
//! corpus both ways and finds the same flows; a proptest holds the compiled
//! templates to the step walker. Notable events come out typed
//! ([`DecodeEvent`]) for the daemon to log and count.
//!
//! Like every floe library, this crate never prints, never exits, and never
//! panics on input: every datagram is either decoded or counted as bad with
//! a reason.

mod decoder;
mod direct;
mod encode;
mod events;
mod fast;
pub mod flowtools;
pub mod pcap;
mod record;
pub mod sequence;
mod template_store;

pub use decoder::{Decoder, DecoderConfig, Outcome};
pub use encode::{
    IpfixEncoder, V5Encoder, V9Encoder, IPFIX_TEMPLATE_V4, IPFIX_TEMPLATE_V6, V5_MAX_FLOWS,
    V9_TEMPLATE_V4, V9_TEMPLATE_V6,
};
pub use events::DecodeEvent;
pub use floe_flow::{ExporterCounters, ExporterKey, Flow};
pub use template_store::FileTemplateStore;
