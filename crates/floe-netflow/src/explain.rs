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
    pub id: u16,
    pub fields: usize,
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
        offset: usize,
        version: u16,
        export_secs: u32,
        sequence: u32,
        /// v9 source id, IPFIX observation domain.
        domain: u32,
        sys_uptime_ms: Option<u32>,
    },
    /// A fixed-format (v1, v5, v7) datagram's records.
    Records {
        version: u16,
        records: u64,
        sequence: Option<u32>,
    },
    /// A template or options template set.
    Templates {
        offset: usize,
        set_id: u16,
        length: usize,
        learned: Vec<TemplateSummary>,
        /// Templates repeated exactly as known (a refresh).
        refreshed: Vec<u16>,
        refused: Vec<(u16, String)>,
        withdrawn: Vec<u16>,
    },
    /// A data set decoded.
    Data {
        offset: usize,
        set_id: u16,
        length: usize,
        records: u32,
        flows: u64,
    },
    /// An options data set decoded.
    OptionsData {
        offset: usize,
        set_id: u16,
        length: usize,
        records: u32,
    },
    /// A data set held until its template comes.
    Held {
        offset: usize,
        set_id: u16,
        length: usize,
    },
    /// Data held earlier, decoded now that its template came.
    Released {
        template_id: u16,
        sets: u32,
        flows: u64,
    },
    /// Zero padding after the last set.
    Padding { offset: usize, length: usize },
    /// What could not be decoded, and why.
    Undecoded { reason_kind: String, reason: String },
    /// Something odd that cost nothing (a message length that disagrees
    /// with its sets, which were read).
    Note { reason_kind: String, reason: String },
}
