//! NetFlow v1, v5, v7, v9 and IPFIX datagrams to floe [`Flow`]s.
//!
//! * [`Decoder`] takes datagrams as they arrive, with the address they came
//!   from, and returns flows plus per-exporter counter updates and typed
//!   events ([`DecodeEvent`]). Template state lives per (exporter address,
//!   version, v9 source id / IPFIX observation domain), as RFC 3954 and
//!   RFC 7011 scope it, never per UDP port. Data that arrives before its
//!   template is held (bounded, by time too) and decoded when the template
//!   comes. Options records set the exporter's sampling interval (stored
//!   with each flow, never multiplied in) and IPFIX boot time. Uptime
//!   timestamps become absolute. Sequence numbers give lost flows, late
//!   datagrams and resets ([`sequence`]).
//! * Flows go into `Vec<Flow>` rows or a [`floe_flow::FlowBatch`]'s
//!   columns ([`FlowOut`]): floed decodes into the columns its store
//!   encodes, the compiled template path and the v5/v7 reader a column at
//!   a time over a set's records (`out.rs` says why).
//! * [`Decoder::decode_explained`] says, set by set, what was done with a
//!   datagram ([`DatagramReport`]): what `floe decode` prints.
//! * [`FileTemplateStore`] keeps templates on disk across restarts.
//! * [`V5Encoder`] and [`V9Encoder`] build datagrams for `floe send`.
//! * [`pcap`] reads the UDP payloads of a capture file (pcap or pcapng, IP
//!   fragments put back together), [`raw`] datagrams stored back to back.
//! * [`flowtools`] reads flow-tools files (NetFlow records as flow-capture
//!   stored them), for archives moving to floe.
//!
//! # What reads what, and why
//!
//! A datagram is never all or nothing: one part that cannot be decoded
//! costs that part only, counted per exporter with its reason and offset.
//!
//! * **v9 and IPFIX framing** is floe's own ([`framing`]): header, then
//!   set by set, each with its offset. netflow_parser (1.0.6, pinned)
//!   parses a message all or nothing, so zero padding after the last set,
//!   a v9 string field of length 65535 or one set running past the message
//!   lost every flow of the datagram.
//! * **Templates and options templates** are floe's own (`templates.rs`),
//!   checked record by record against what each element's type can hold
//!   (`elements.rs`): netflow_parser accepts templates that cannot be
//!   honoured and then stores nonsense, and it can only expire early data
//!   when a later template arrives.
//! * **Data records** are read by a template's plan: the step walker
//!   (`walker.rs`) reads any template, variable-length fields and
//!   value-dependent rules included, into a `Record` that applies floe's
//!   record rules (`record.rs`); templates whose flows do not depend on
//!   values are compiled straight to flow fields (`direct.rs`, the
//!   compiled-template path). netflow_parser builds a vector of (field,
//!   value) pairs per record and was measured to be the bottleneck (`cargo
//!   bench -p floe-benches --bench decode`: the compiled path reads many
//!   times as many v9 flows a second); options records take the step
//!   walker.
//! * **v1, v5 and v7** are floe's own (`fixed.rs`), a header and records
//!   at fixed offsets loaded straight into flows: netflow_parser built a
//!   vector of records per datagram to be mapped again, and reading them
//!   straight halves the v5 decode bench.
//! * netflow_parser also stays as the **oracle** ([`oracle`]): the corpus
//!   test decodes every file of the shared corpus both ways and finds the
//!   same flows wherever netflow_parser can read them (all but v1), and a
//!   property test holds the v5/v7 reader to it on random datagrams.
//!
//! Per-stream state and its bounds are in `streams.rs`, early data in
//! `pending.rs`, template sets applied to a stream in `template_sets.rs`,
//! data sets read under a stream's template in `data_sets.rs`, sequence
//! accounting in `sequence.rs`, the decoder's dispatch and per-datagram
//! accounting in `decoder.rs`.
//!
//! Like every floe library, this crate never prints, never exits, and never
//! panics on input: every datagram is either decoded or counted as bad with
//! a reason, and no allocation is sized by a number read from the input
//! beyond what the input itself holds.
#![forbid(unsafe_code)]

mod data_sets;
mod decoder;
mod direct;
mod elements;
mod encode;
mod events;
mod explain;
mod fixed;
pub mod flowtools;
pub mod framing;
mod ip;
pub mod oracle;
mod out;
pub mod pcap;
mod pending;
pub mod raw;
mod record;
pub mod sequence;
mod streams;
mod template_sets;
mod template_store;
mod templates;
mod walker;

pub use decoder::{Decoder, DecoderConfig, Outcome};
pub use encode::{
    IpfixEncoder, V5Encoder, V9Encoder, IPFIX_TEMPLATE_V4, IPFIX_TEMPLATE_V6, V5_MAX_FLOWS,
    V9_TEMPLATE_V4, V9_TEMPLATE_V6,
};
pub use events::{DecodeEvent, Expiry, Problem, TemplateFault};
pub use explain::{DatagramReport, ReportItem, TemplateSummary};
pub use floe_flow::{ExporterCounters, ExporterKey, Flow};
pub use out::{FlowOut, Target};
pub use template_store::FileTemplateStore;
