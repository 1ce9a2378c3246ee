//! Typed events of the decoder: each is logged once by the daemon and
//! bumps a named counter there.

use std::net::IpAddr;

use floe_flow::ExporterKey;

/// Something worth knowing happened while decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeEvent {
    /// First datagram from an exporter stream.
    NewExporter { key: ExporterKey, version: u16 },
    /// A stream heard from least recently was forgotten (its templates and
    /// sequence state) to make room under the exporter or template limits.
    ExporterForgotten { key: ExporterKey, templates: usize },
    /// A template id seen for the first time.
    TemplateLearned {
        key: ExporterKey,
        template_id: u16,
        fields: usize,
        options: bool,
    },
    /// A template id announced again with different fields.
    TemplateRedefined {
        key: ExporterKey,
        template_id: u16,
        fields: usize,
    },
    /// IPFIX template withdrawal.
    TemplateWithdrawn { key: ExporterKey, template_id: u16 },
    /// An options record announced a sampling interval.
    Sampling {
        key: ExporterKey,
        sampler_id: Option<u64>,
        interval: u32,
    },
    /// Flows (v5/IPFIX) or datagrams (v9) went missing.
    SequenceGap {
        key: ExporterKey,
        lost: u64,
        unit_is_datagram: bool,
    },
    /// The exporter's sequence numbering started again.
    SequenceReset {
        key: ExporterKey,
        expected: u32,
        got: u32,
    },
    /// A datagram that could not be decoded at all.
    BadDatagram { from: IpAddr, reason: String },
    /// Whole messages decoded, followed by bytes that do not.
    MalformedTail { key: ExporterKey, reason: String },
    /// Data that arrived before its template and expired undecoded.
    EarlyDataDropped { key: ExporterKey, sets: u64 },
    /// A data set (or the rest of a message) that could not be decoded into
    /// records; `set_id` 0 means sets missing from the end of a message.
    UndecodedSet {
        key: ExporterKey,
        set_id: u16,
        bytes: u16,
    },
    /// Data from a new exporter stream dropped: too many streams.
    ExporterLimit { from: IpAddr },
}

impl DecodeEvent {
    /// A short stable name, for counters and rate-limited logging.
    pub fn name(&self) -> &'static str {
        match self {
            DecodeEvent::NewExporter { .. } => "new_exporter",
            DecodeEvent::ExporterForgotten { .. } => "exporter_forgotten",
            DecodeEvent::TemplateLearned { .. } => "template_learned",
            DecodeEvent::TemplateRedefined { .. } => "template_redefined",
            DecodeEvent::TemplateWithdrawn { .. } => "template_withdrawn",
            DecodeEvent::Sampling { .. } => "sampling_announced",
            DecodeEvent::SequenceGap { .. } => "sequence_gap",
            DecodeEvent::SequenceReset { .. } => "sequence_reset",
            DecodeEvent::BadDatagram { .. } => "bad_datagram",
            DecodeEvent::MalformedTail { .. } => "malformed_tail",
            DecodeEvent::EarlyDataDropped { .. } => "early_data_dropped",
            DecodeEvent::UndecodedSet { .. } => "undecoded_set",
            DecodeEvent::ExporterLimit { .. } => "exporter_limit",
        }
    }
}
