//! Typed events of the decoder, and the typed reasons for what it could
//! not decode.
//!
//! The decoder emits an event where something worth knowing happens and,
//! in the same place, bumps the exporter counter that goes with it (see
//! [`DecodeEvent::counter`]); the daemon logs the events (rate-limited) and
//! keeps the last reasons per exporter. Nothing here formats a message
//! until it is displayed.

use std::fmt;
use std::net::IpAddr;

use floe_flow::{Counter, ExporterCounters, ExporterKey};

/// Why a template record was refused (RFC 3954 section 5.2, RFC 7011
/// sections 3.4 and 6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateFault {
    /// Template ids 0-255 are set ids, not templates.
    IdBelow256,
    /// A template with no fields, or only zero-length ones (IPFIX uses no
    /// fields for withdrawal; v9 has no withdrawal).
    NoFields,
    /// More fields than the decoder allows per template.
    TooManyFields {
        /// Fields in the template.
        fields: usize,
        /// The most the decoder allows.
        max: usize,
    },
    /// A field whose length does not fit its element's type.
    LengthDoesNotFit {
        /// The information element id.
        ie: u16,
        /// The length the template gives it.
        len: u16,
        /// The lengths its type takes, as text.
        fits: &'static str,
    },
    /// An options template whose scope count is 0 or exceeds its fields.
    Scope {
        /// Scope fields announced.
        scope: usize,
        /// Fields in the template.
        fields: usize,
    },
    /// v9 options template lengths that are not whole fields.
    OptionsLengths {
        /// The scope length field.
        scope_bytes: u16,
        /// The option length field.
        option_bytes: u16,
    },
    /// The template record runs past the end of its set.
    PastSet,
}

impl fmt::Display for TemplateFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateFault::IdBelow256 => write!(f, "template ids below 256 are not templates"),
            TemplateFault::NoFields => write!(f, "no field of the template holds a byte"),
            TemplateFault::TooManyFields { fields, max } => {
                write!(f, "{fields} fields, more than the {max} allowed")
            }
            TemplateFault::LengthDoesNotFit { ie, len, fits } => {
                write!(f, "element {ie} has length {len}, its type takes {fits}")
            }
            TemplateFault::Scope { scope, fields } => write!(
                f,
                "options template with {scope} scope fields out of {fields} fields"
            ),
            TemplateFault::OptionsLengths {
                scope_bytes,
                option_bytes,
            } => write!(
                f,
                "options template lengths {scope_bytes} and {option_bytes} are not whole fields"
            ),
            TemplateFault::PastSet => write!(f, "the template record runs past the end of its set"),
        }
    }
}

/// What could not be decoded, and where (byte offsets from the start of
/// the datagram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Shorter than any header.
    ShortDatagram {
        /// Bytes received.
        len: usize,
    },
    /// A version floe does not decode.
    UnknownVersion {
        /// The version field.
        version: u16,
    },
    /// Shorter than its version's header.
    ShortHeader {
        /// The version field.
        version: u16,
        /// Bytes received.
        len: usize,
    },
    /// A v1 header whose record count the datagram does not hold.
    V1Count {
        /// Records the header announces.
        count: usize,
        /// Bytes received.
        len: usize,
    },
    /// A v5 or v7 header whose record count is out of range or not held
    /// by the datagram.
    FixedCount {
        /// The version field: 5 or 7.
        version: u16,
        /// Records the header announces.
        count: usize,
        /// Most records the version allows.
        most: usize,
        /// Bytes received.
        len: usize,
    },
    /// An IPFIX message length below its header's 16 bytes.
    MessageLength {
        /// Where the message starts.
        offset: usize,
        /// The message header's length field.
        length: u16,
    },
    /// An IPFIX message longer than what arrived (sets framed up to the
    /// end of the datagram).
    MessageTruncated {
        /// Where the message starts.
        offset: usize,
        /// The message header's length field.
        length: u16,
        /// Bytes of the message that arrived.
        received: usize,
    },
    /// A set length below the 4 bytes of a set header: nothing after it
    /// can be framed.
    SetTooShort {
        /// Where the set starts.
        offset: usize,
        /// The set header's id.
        set_id: u16,
        /// The set header's length field.
        length: u16,
    },
    /// A set longer than what is left of its message.
    SetPastEnd {
        /// Where the set starts.
        offset: usize,
        /// The set header's id.
        set_id: u16,
        /// The set header's length field.
        length: u16,
        /// Bytes left in the message from the set on.
        left: usize,
    },
    /// The last set of an IPFIX message runs past the message's length
    /// but fits in the datagram: read, the length taken as wrong (not a
    /// loss; shown by `floe decode`, not counted).
    SetPastMessage {
        /// Where the set starts.
        offset: usize,
        /// The set header's id.
        set_id: u16,
        /// Where the message ends by its length field.
        message_end: usize,
    },
    /// Set ids 2-255 in v9, 0-1 and 4-255 in IPFIX other than the ones
    /// exporters use: reserved.
    ReservedSetId {
        /// Where the set starts.
        offset: usize,
        /// The reserved id.
        set_id: u16,
    },
    /// Bytes after the last set that are neither a set nor zero padding.
    Tail {
        /// Where the unexplained bytes start.
        offset: usize,
        /// How many there are.
        len: usize,
    },
    /// A record of a data set under a template with variable-length
    /// fields runs past the end of the set; the records before it were
    /// kept.
    RecordPastSet {
        /// Where the record starts.
        offset: usize,
        /// The data set's template.
        template_id: u16,
        /// Records of the set decoded before it.
        kept: u32,
    },
    /// Data under a template the exporter announced but floe refused.
    RefusedTemplate {
        /// Where the data set starts.
        offset: usize,
        /// The refused template.
        template_id: u16,
        /// Why it was refused.
        fault: TemplateFault,
    },
}

impl Problem {
    /// A short stable name of the kind of problem, for counting reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::ShortDatagram { .. } => "short_datagram",
            Problem::UnknownVersion { .. } => "unknown_version",
            Problem::ShortHeader { .. } => "short_header",
            Problem::V1Count { .. } => "v1_count",
            // Named when netflow_parser read these versions; kinds are
            // counted and graphed by name, so the name stays.
            Problem::FixedCount { .. } => "fixed_format",
            Problem::MessageLength { .. } => "message_length",
            Problem::MessageTruncated { .. } => "message_truncated",
            Problem::SetTooShort { .. } => "set_too_short",
            Problem::SetPastEnd { .. } => "set_past_end",
            Problem::SetPastMessage { .. } => "set_past_message",
            Problem::ReservedSetId { .. } => "reserved_set_id",
            Problem::Tail { .. } => "malformed_tail",
            Problem::RecordPastSet { .. } => "record_past_set",
            Problem::RefusedTemplate { .. } => "refused_template",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::ShortDatagram { len } => {
                write!(f, "datagram of {len} bytes is shorter than a NetFlow header")
            }
            Problem::UnknownVersion { version } => write!(f, "unsupported NetFlow version {version}"),
            Problem::ShortHeader { version, len } => write!(
                f,
                "v{version} datagram of {len} bytes is shorter than its header"
            ),
            Problem::V1Count { count, len } => write!(
                f,
                "v1 datagram of {len} bytes does not hold its header and {count} records"
            ),
            Problem::FixedCount {
                version,
                count,
                most,
                len,
            } if *count == 0 || count > most => write!(
                f,
                "v{version} datagram of {len} bytes announces {count} records, not 1 to {most}"
            ),
            Problem::FixedCount {
                version,
                count,
                len,
                ..
            } => write!(
                f,
                "v{version} datagram of {len} bytes does not hold its header and {count} records"
            ),
            Problem::MessageLength { offset, length } => write!(
                f,
                "IPFIX message at byte {offset} gives its length as {length}, shorter than its header"
            ),
            Problem::MessageTruncated {
                offset,
                length,
                received,
            } => write!(
                f,
                "IPFIX message at byte {offset} of {length} bytes, only {received} arrived"
            ),
            Problem::SetTooShort {
                offset,
                set_id,
                length,
            } => write!(
                f,
                "set {set_id} at byte {offset} gives its length as {length}; nothing after it can be read"
            ),
            Problem::SetPastEnd {
                offset,
                set_id,
                length,
                left,
            } => write!(
                f,
                "set {set_id} at byte {offset} of {length} bytes runs past the end of its message ({left} bytes left)"
            ),
            Problem::SetPastMessage {
                offset,
                set_id,
                message_end,
            } => write!(
                f,
                "set {set_id} at byte {offset} runs past its message's end at byte {message_end}; read to the end of the datagram"
            ),
            Problem::ReservedSetId { offset, set_id } => {
                write!(f, "set at byte {offset} has the reserved id {set_id}")
            }
            Problem::Tail { offset, len } => write!(
                f,
                "{len} bytes at byte {offset} after the last set are neither a set nor padding"
            ),
            Problem::RecordPastSet {
                offset,
                template_id,
                kept,
            } => write!(
                f,
                "data set at byte {offset} (template {template_id}): a record runs past the end of the set ({kept} records before it kept)"
            ),
            Problem::RefusedTemplate {
                offset,
                template_id,
                fault,
            } => write!(
                f,
                "data set at byte {offset} is under template {template_id}, which was refused: {fault}"
            ),
        }
    }
}

/// Why held data went without its template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// It waited longer than the configured time.
    Waited,
    /// Newer early data needed the room.
    NoRoom,
    /// The exporter stream was forgotten.
    StreamForgotten,
}

/// Something worth knowing happened while decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeEvent {
    /// First datagram from an exporter stream.
    NewExporter {
        /// The exporter stream.
        key: ExporterKey,
        /// The NetFlow version of that first datagram.
        version: u16,
    },
    /// A stream heard from least recently was forgotten (its templates and
    /// sequence state) to make room under the exporter or template limits.
    ExporterForgotten {
        /// The exporter stream.
        key: ExporterKey,
        /// Templates it had.
        templates: usize,
    },
    /// A template id seen for the first time.
    TemplateLearned {
        /// The exporter stream.
        key: ExporterKey,
        /// The template id.
        template_id: u16,
        /// Fields in the template.
        fields: usize,
        /// An options template (its records describe the exporter, not flows).
        options: bool,
    },
    /// Templates restored from the template file for a stream heard from
    /// again.
    TemplatesRestored {
        /// The exporter stream.
        key: ExporterKey,
        /// How many.
        templates: usize,
    },
    /// A template id announced again with different fields.
    TemplateRedefined {
        /// The exporter stream.
        key: ExporterKey,
        /// The template id.
        template_id: u16,
        /// Fields in the new definition.
        fields: usize,
    },
    /// IPFIX template withdrawal.
    TemplateWithdrawn {
        /// The exporter stream.
        key: ExporterKey,
        /// The template id.
        template_id: u16,
    },
    /// A template refused (counted as `templates_refused`).
    TemplateRefused {
        /// The exporter stream.
        key: ExporterKey,
        /// Where the template record starts in the datagram.
        offset: usize,
        /// The template id.
        template_id: u16,
        /// Why it was refused.
        fault: TemplateFault,
    },
    /// Templates forgotten to stay under the per-stream template limit
    /// (counted as `templates_forgotten`).
    TemplatesForgotten {
        /// The exporter stream.
        key: ExporterKey,
        /// How many.
        templates: u64,
    },
    /// An options record announced a sampling interval.
    Sampling {
        /// The exporter stream.
        key: ExporterKey,
        /// The sampler the interval is for, when the record names one.
        sampler_id: Option<u64>,
        /// One packet in this many is sampled.
        interval: u32,
    },
    /// Flows (v5/IPFIX) or datagrams (v9) went missing.
    SequenceGap {
        /// The exporter stream.
        key: ExporterKey,
        /// How many went missing.
        lost: u64,
        /// True when `lost` counts datagrams (v9), false for flows.
        unit_is_datagram: bool,
    },
    /// The exporter's sequence numbering started again.
    SequenceReset {
        /// The exporter stream.
        key: ExporterKey,
        /// The sequence number expected.
        expected: u32,
        /// The one received.
        got: u32,
    },
    /// A datagram from which nothing could be decoded (counted as a bad
    /// datagram).
    BadDatagram {
        /// The sender.
        from: IpAddr,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A part of a datagram that could not be decoded while the rest was
    /// (counted as an undecoded set or a malformed tail).
    Undecoded {
        /// The exporter stream.
        key: ExporterKey,
        /// What could not be decoded, and where.
        problem: Problem,
    },
    /// Data that arrived before its template went without it (counted as
    /// `early_data_expired`).
    EarlyDataExpired {
        /// The exporter stream.
        key: ExporterKey,
        /// The template that never came in time.
        template_id: u16,
        /// Data sets dropped.
        sets: u64,
        /// Why they were dropped.
        why: Expiry,
    },
}

impl DecodeEvent {
    /// A short stable name, for counters and rate-limited logging.
    pub fn name(&self) -> &'static str {
        match self {
            DecodeEvent::NewExporter { .. } => "new_exporter",
            DecodeEvent::ExporterForgotten { .. } => "exporter_forgotten",
            DecodeEvent::TemplateLearned { .. } => "template_learned",
            DecodeEvent::TemplatesRestored { .. } => "templates_restored",
            DecodeEvent::TemplateRedefined { .. } => "template_redefined",
            DecodeEvent::TemplateWithdrawn { .. } => "template_withdrawn",
            DecodeEvent::TemplateRefused { .. } => "template_refused",
            DecodeEvent::TemplatesForgotten { .. } => "templates_forgotten",
            DecodeEvent::Sampling { .. } => "sampling_announced",
            DecodeEvent::SequenceGap { .. } => "sequence_gap",
            DecodeEvent::SequenceReset { .. } => "sequence_reset",
            DecodeEvent::BadDatagram { .. } => "bad_datagram",
            DecodeEvent::Undecoded { problem, .. } => match problem {
                Problem::Tail { .. } => "malformed_tail",
                _ => "undecoded_set",
            },
            DecodeEvent::EarlyDataExpired { .. } => "early_data_expired",
        }
    }

    /// Whether the event is news (an exporter or template appeared or
    /// changed) rather than a problem.
    pub fn is_informational(&self) -> bool {
        matches!(
            self,
            DecodeEvent::NewExporter { .. }
                | DecodeEvent::TemplateLearned { .. }
                | DecodeEvent::TemplatesRestored { .. }
                | DecodeEvent::TemplateRedefined { .. }
                | DecodeEvent::TemplateWithdrawn { .. }
                | DecodeEvent::Sampling { .. }
        )
    }

    /// The exporter stream the event is about (for a bad datagram, its
    /// sender with source id 0).
    pub fn key(&self) -> ExporterKey {
        match self {
            DecodeEvent::NewExporter { key, .. }
            | DecodeEvent::ExporterForgotten { key, .. }
            | DecodeEvent::TemplateLearned { key, .. }
            | DecodeEvent::TemplatesRestored { key, .. }
            | DecodeEvent::TemplateRedefined { key, .. }
            | DecodeEvent::TemplateWithdrawn { key, .. }
            | DecodeEvent::TemplateRefused { key, .. }
            | DecodeEvent::TemplatesForgotten { key, .. }
            | DecodeEvent::Sampling { key, .. }
            | DecodeEvent::SequenceGap { key, .. }
            | DecodeEvent::SequenceReset { key, .. }
            | DecodeEvent::Undecoded { key, .. }
            | DecodeEvent::EarlyDataExpired { key, .. } => *key,
            DecodeEvent::BadDatagram { from, .. } => ExporterKey {
                address: *from,
                source_id: 0,
            },
        }
    }

    /// For problems: the kind of reason (stable, for counting by reason)
    /// and the event's message.
    pub fn reason(&self) -> Option<(&'static str, String)> {
        self.reason_kind().map(|kind| (kind, self.to_string()))
    }

    /// For problems: the kind of reason alone (nothing formatted).
    pub fn reason_kind(&self) -> Option<&'static str> {
        Some(match self {
            DecodeEvent::BadDatagram { problem, .. } | DecodeEvent::Undecoded { problem, .. } => {
                problem.kind()
            }
            DecodeEvent::TemplateRefused { .. } => "template_refused",
            DecodeEvent::TemplatesForgotten { .. } => "templates_forgotten",
            DecodeEvent::EarlyDataExpired { .. } => "early_data_expired",
            _ => return None,
        })
    }

    /// The named counter the event bumps where it is emitted, and by how
    /// much (the six core counters are kept by the decoder directly).
    pub fn counter(&self) -> Option<(Counter, u64)> {
        Some(match self {
            DecodeEvent::TemplateRefused { .. } => (Counter::TemplatesRefused, 1),
            DecodeEvent::TemplatesForgotten { templates, .. } => {
                (Counter::TemplatesForgotten, *templates)
            }
            DecodeEvent::Undecoded { problem, .. } => match problem {
                Problem::Tail { .. } => (Counter::MalformedTails, 1),
                _ => (Counter::UndecodedSets, 1),
            },
            DecodeEvent::EarlyDataExpired { sets, .. } => (Counter::EarlyDataExpired, *sets),
            _ => return None,
        })
    }
}

fn stream(key: &ExporterKey) -> String {
    format!("{} source id {}", key.address, key.source_id)
}

impl fmt::Display for DecodeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeEvent::NewExporter { key, version } => {
                write!(f, "new exporter {} (NetFlow v{version})", stream(key))
            }
            DecodeEvent::ExporterForgotten { key, templates } => write!(
                f,
                "forgot {} (heard from least recently; {templates} templates) to stay within the exporter and template limits",
                stream(key)
            ),
            DecodeEvent::TemplateLearned {
                key,
                template_id,
                fields,
                options,
            } => write!(
                f,
                "{}: new {}template {template_id} of {fields} fields",
                stream(key),
                if *options { "options " } else { "" }
            ),
            DecodeEvent::TemplatesRestored { key, templates } => write!(
                f,
                "{}: {templates} templates restored from the template file",
                stream(key)
            ),
            DecodeEvent::TemplateRedefined {
                key,
                template_id,
                fields,
            } => write!(
                f,
                "{}: template {template_id} redefined with {fields} fields",
                stream(key)
            ),
            DecodeEvent::TemplateWithdrawn { key, template_id } => {
                write!(f, "{}: template {template_id} withdrawn", stream(key))
            }
            DecodeEvent::TemplateRefused {
                key,
                offset,
                template_id,
                fault,
            } => write!(
                f,
                "{}: template {template_id} at byte {offset} refused: {fault}",
                stream(key)
            ),
            DecodeEvent::TemplatesForgotten { key, templates } => write!(
                f,
                "{}: {templates} templates forgotten (least recently used) to stay within the per-exporter template limit",
                stream(key)
            ),
            DecodeEvent::Sampling {
                key,
                sampler_id,
                interval,
            } => match sampler_id {
                Some(id) => write!(
                    f,
                    "{}: sampler {id} samples 1 packet in {interval}",
                    stream(key)
                ),
                None => write!(f, "{}: samples 1 packet in {interval}", stream(key)),
            },
            DecodeEvent::SequenceGap {
                key,
                lost,
                unit_is_datagram,
            } => write!(
                f,
                "sequence gap from {}: {lost} {} lost",
                stream(key),
                if *unit_is_datagram {
                    "datagrams"
                } else {
                    "flows"
                }
            ),
            DecodeEvent::SequenceReset { key, expected, got } => write!(
                f,
                "sequence reset by {}: expected {expected}, got {got}",
                stream(key)
            ),
            DecodeEvent::BadDatagram { from, problem } => {
                write!(f, "bad datagram from {from}: {problem}")
            }
            DecodeEvent::Undecoded { key, problem } => write!(f, "{}: {problem}", stream(key)),
            DecodeEvent::EarlyDataExpired {
                key,
                template_id,
                sets,
                why,
            } => write!(
                f,
                "{}: {sets} data sets under template {template_id} dropped without their template ({})",
                stream(key),
                match why {
                    Expiry::Waited => "waited too long",
                    Expiry::NoRoom => "no room left for early data",
                    Expiry::StreamForgotten => "the stream was forgotten",
                }
            ),
        }
    }
}

/// Where the decoder sends what it notices: events for the caller to log,
/// and the counters they bump (one emit does both).
pub(crate) struct Sink<'a> {
    pub events: &'a mut Vec<DecodeEvent>,
}

impl Sink<'_> {
    pub fn emit(&mut self, counters: &mut ExporterCounters, e: DecodeEvent) {
        if let Some((c, n)) = e.counter() {
            counters.extra[c] += n;
        }
        self.events.push(e);
    }
}
