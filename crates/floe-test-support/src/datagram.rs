//! NetFlow v9 and IPFIX datagrams written out byte by byte, for tests that
//! build the cases a real exporter sends (padding, broken sets, odd
//! templates) without going through floe's own encoder.

/// The export time the builders put in their headers (2026-11-22, UTC).
pub const EXPORT_SECS: u32 = 1_795_305_600;

/// A set: its id, its length (the 4 header bytes included), `body`.
pub fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut s = id.to_be_bytes().to_vec();
    s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

/// A v9 datagram exported at [`EXPORT_SECS`]: see [`v9_at`].
pub fn v9(seq: u32, rest: &[u8]) -> Vec<u8> {
    v9_at(EXPORT_SECS, seq, rest)
}

/// A v9 datagram: header (count 1, uptime one day, export time
/// `export_secs`, sequence `seq`, source id 3), then `rest` (its sets).
pub fn v9_at(export_secs: u32, seq: u32, rest: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 9, 0, 1];
    d.extend_from_slice(&86_400_000u32.to_be_bytes());
    d.extend_from_slice(&export_secs.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&3u32.to_be_bytes());
    d.extend_from_slice(rest);
    d
}

/// An IPFIX message holding `sets` (its length covers them exactly),
/// exported at [`EXPORT_SECS`], observation domain 5.
pub fn ipfix(seq: u32, sets: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 10];
    d.extend_from_slice(&((16 + sets.len()) as u16).to_be_bytes());
    d.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&5u32.to_be_bytes());
    d.extend_from_slice(sets);
    d
}

/// A template record: its id, its field count, then each field's element
/// id and length (put it in a set of id 0 for v9, 2 for IPFIX).
pub fn template(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for (ie, len) in fields {
        t.extend_from_slice(&ie.to_be_bytes());
        t.extend_from_slice(&len.to_be_bytes());
    }
    t
}
