//! What the decoder did with one datagram, set by set, for people: the
//! answer to "why are my flows missing?" that `floe decode` prints.
//!
//! Filled by [`crate::Decoder::decode_explained`] along the very path
//! floed's datagrams take; the plain [`crate::Decoder::decode`] fills
//! nothing.

use serde::Serialize;

/// One datagram, as decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DatagramReport {
    /// NetFlow version of the datagram (0 when too short to tell).
    pub version: u16,
    /// Length in bytes.
    pub bytes: usize,
    /// What was found, in datagram order.
    pub items: Vec<ReportItem>,
    /// Flows decoded from it (held data decoded now included).
    pub flows: u64,
    /// Why nothing in it could be decoded, when nothing could.
    pub bad: Option<String>,
}

/// A template as `floe decode` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TemplateSummary {
    /// The template id.
    pub id: u16,
    /// Fields in the template.
    pub fields: usize,
    /// An options template.
    pub options: bool,
    /// (element, length, enterprise number) of each field.
    pub layout: Vec<(u16, u16, Option<u32>)>,
}

/// One thing found in a datagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum ReportItem {
    /// A v9 or IPFIX message header.
    Message {
        /// Where the message starts in the datagram.
        offset: usize,
        /// The version field: 9, or 10 for IPFIX.
        version: u16,
        /// Export time, UNIX seconds.
        export_secs: u32,
        /// The sequence number.
        sequence: u32,
        /// v9 source id, IPFIX observation domain.
        domain: u32,
        /// The exporter's uptime (v9 only).
        sys_uptime_ms: Option<u32>,
    },
    /// A fixed-format (v1, v5, v7) datagram's records.
    Records {
        /// The version field: 1, 5 or 7.
        version: u16,
        /// Records in the datagram.
        records: u64,
        /// The flow sequence number (v5, v7).
        sequence: Option<u32>,
    },
    /// A template or options template set.
    Templates {
        /// Where the set starts.
        offset: usize,
        /// The set id (which kind of template set).
        set_id: u16,
        /// The set length.
        length: usize,
        /// Templates new or changed.
        learned: Vec<TemplateSummary>,
        /// Templates repeated exactly as known (a refresh).
        refreshed: Vec<u16>,
        /// Templates refused, and why.
        refused: Vec<(u16, String)>,
        /// Templates withdrawn (IPFIX).
        withdrawn: Vec<u16>,
    },
    /// A data set decoded.
    Data {
        /// Where the set starts.
        offset: usize,
        /// The set id: its template.
        set_id: u16,
        /// The set length.
        length: usize,
        /// Records in the set.
        records: u32,
        /// Flows made of them.
        flows: u64,
    },
    /// An options data set decoded.
    OptionsData {
        /// Where the set starts.
        offset: usize,
        /// The set id: its options template.
        set_id: u16,
        /// The set length.
        length: usize,
        /// Records in the set.
        records: u32,
    },
    /// A data set held until its template comes.
    Held {
        /// Where the set starts.
        offset: usize,
        /// The set id: the template it waits for.
        set_id: u16,
        /// The set length.
        length: usize,
    },
    /// Data held earlier, decoded now that its template came.
    Released {
        /// The template that came.
        template_id: u16,
        /// Sets released.
        sets: u32,
        /// Flows decoded from them.
        flows: u64,
    },
    /// Zero padding after the last set.
    Padding {
        /// Where the padding starts.
        offset: usize,
        /// Its length.
        length: usize,
    },
    /// What could not be decoded, and why.
    Undecoded {
        /// The reason's short name ([`Problem::kind`](crate::Problem::kind)).
        reason_kind: String,
        /// The reason, in words.
        reason: String,
    },
    /// Something odd that cost nothing (a message length that disagrees
    /// with its sets, which were read).
    Note {
        /// The note's short name.
        reason_kind: String,
        /// The note, in words.
        reason: String,
    },
}
