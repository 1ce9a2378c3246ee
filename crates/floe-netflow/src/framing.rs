//! v9 and IPFIX datagrams cut into messages and sets, floe's own framing.
//!
//! Why not netflow_parser's: it parses a message all or nothing, so one
//! set it cannot read (zero padding after the last set, a v9 field of
//! length 65535, a set running past the message) cost every flow of the
//! datagram. Here each set is framed on its own, with its offset in the
//! datagram, and whatever cannot be framed is reported as a [`Problem`]
//! where it starts; the sets before it stand.
//!
//! The rules (RFC 3954 section 5, RFC 7011 section 3):
//! * a v9 datagram is one message: a 20-byte header, then sets to the end
//!   of the datagram;
//! * an IPFIX message is a 16-byte header whose length field covers its
//!   sets; a datagram may hold several messages back to back;
//! * a set is a 4-byte header (id, length including the header) and a
//!   body; a length below 4 leaves nothing after it framable, and a set
//!   longer than what is left of its message is not read;
//! * after the last set, fewer than 4 bytes, or a set id 0 of length 0,
//!   followed by zeros, is padding; anything else there is a malformed
//!   tail.

use std::ops::Range;

use crate::events::Problem;

/// The header fields of one v9 or IPFIX message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageHeader {
    /// 9 or 10.
    pub version: u16,
    /// Offset of the message in the datagram.
    pub offset: usize,
    /// Export time, seconds since 1970.
    pub export_secs: u32,
    /// v9: sysUpTime in ms.
    pub sys_uptime_ms: Option<u32>,
    /// v9: export datagrams sent before; IPFIX: data records sent before.
    pub sequence: u32,
    /// v9 source id, IPFIX observation domain.
    pub domain: u32,
}

/// What the framing finds, in datagram order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A message begins (its sets follow).
    Message(MessageHeader),
    /// A set: its id, the offset of its header, and its body's range in
    /// the datagram.
    Set {
        /// The set id.
        id: u16,
        /// Where the set header starts.
        offset: usize,
        /// The set body's range in the datagram.
        body: Range<usize>,
    },
    /// Zero padding after the last set of a message: offset and length.
    Padding {
        /// Where the padding starts.
        offset: usize,
        /// Its length.
        len: usize,
    },
    /// Something that cannot be framed; framing of that message stops
    /// there unless the problem is a truncated message.
    Problem(Problem),
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The header of the message at `at`, if the bytes there hold one of the
/// datagram's version: (header, length of its header, the end of its sets).
fn message_at(
    data: &[u8],
    at: usize,
    version: u16,
) -> Result<(MessageHeader, usize, usize), Problem> {
    let left = data.len() - at;
    match version {
        9 => {
            if left < 20 {
                return Err(Problem::ShortHeader { version, len: left });
            }
            let h = MessageHeader {
                version,
                offset: at,
                sys_uptime_ms: be32(data, at + 4),
                export_secs: be32(data, at + 8).unwrap_or(0),
                sequence: be32(data, at + 12).unwrap_or(0),
                domain: be32(data, at + 16).unwrap_or(0),
            };
            Ok((h, 20, data.len()))
        }
        _ => {
            if left < 16 {
                return Err(Problem::ShortHeader { version, len: left });
            }
            let length = be16(data, at + 2).unwrap_or(0);
            if length < 16 {
                return Err(Problem::MessageLength { offset: at, length });
            }
            let h = MessageHeader {
                version,
                offset: at,
                sys_uptime_ms: None,
                export_secs: be32(data, at + 4).unwrap_or(0),
                sequence: be32(data, at + 8).unwrap_or(0),
                domain: be32(data, at + 12).unwrap_or(0),
            };
            Ok((h, 16, at + usize::from(length)))
        }
    }
}

/// Frames a v9 (`version` 9) or IPFIX (10) datagram, calling `each` with
/// every item in order. Never allocates.
pub fn frame(data: &[u8], version: u16, mut each: impl FnMut(Item)) {
    let mut at = 0;
    loop {
        let (header, header_len, mut claimed_end) = match message_at(data, at, version) {
            Ok(m) => m,
            Err(p) => return each(Item::Problem(p)),
        };
        let mut end = claimed_end.min(data.len());
        each(Item::Message(header));
        if claimed_end > data.len() {
            each(Item::Problem(Problem::MessageTruncated {
                offset: at,
                length: (claimed_end - at) as u16,
                received: data.len() - at,
            }));
        }
        let mut set_at = at + header_len;
        while set_at < end {
            let left = end - set_at;
            let (id, len) = (
                be16(data, set_at).unwrap_or(0),
                be16(data, set_at + 2).unwrap_or(0),
            );
            // Fewer bytes than a set header, or a set 0 of length 0:
            // padding when zeros.
            if left < 4 || (id == 0 && len == 0) {
                tail(data, set_at, end, &mut each);
                break;
            }
            if len < 4 {
                each(Item::Problem(Problem::SetTooShort {
                    offset: set_at,
                    set_id: id,
                    length: len,
                }));
                break;
            }
            if usize::from(len) > left
                && !(version == 10
                    && set_at + usize::from(len) <= data.len()
                    && !message_follows(data, claimed_end))
            {
                each(Item::Problem(Problem::SetPastEnd {
                    offset: set_at,
                    set_id: id,
                    length: len,
                    left,
                }));
                break;
            }
            if usize::from(len) > left {
                // The last set runs past the message's length but not past
                // the datagram, and no message follows: the length field
                // is wrong (telegraf issue 14370 has such an exporter, 2
                // bytes short). The set is read; the datagram ends there.
                each(Item::Problem(Problem::SetPastMessage {
                    offset: set_at,
                    set_id: id,
                    message_end: end,
                }));
                end = set_at + usize::from(len);
                claimed_end = end;
            }
            each(Item::Set {
                id,
                offset: set_at,
                body: set_at + 4..set_at + usize::from(len),
            });
            set_at += usize::from(len);
        }
        // IPFIX: another message may follow in the same datagram; its
        // header says where it ends, whatever happened in this one.
        if version == 10 && claimed_end < data.len() {
            let next = claimed_end;
            if message_follows(data, next) {
                at = next;
                continue;
            }
            tail(data, next, data.len(), &mut each);
        }
        return;
    }
}

/// Whether an IPFIX message header starts at `at`.
fn message_follows(data: &[u8], at: usize) -> bool {
    be16(data, at) == Some(10) && data.len().saturating_sub(at) >= 16
}

/// Bytes from `from` to `end` after the last set: padding when all zero.
fn tail(data: &[u8], from: usize, end: usize, each: &mut impl FnMut(Item)) {
    if from >= end {
        return;
    }
    if data[from..end].iter().all(|b| *b == 0) {
        each(Item::Padding {
            offset: from,
            len: end - from,
        });
    } else {
        each(Item::Problem(Problem::Tail {
            offset: from,
            len: end - from,
        }));
    }
}

/// [`frame`] into a vector, for tests, fuzzing and `floe decode`.
pub fn items(data: &[u8], version: u16) -> Vec<Item> {
    let mut v = Vec::new();
    frame(data, version, |i| v.push(i));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v9(sets: &[(u16, &[u8])], tail: &[u8]) -> Vec<u8> {
        let mut d = vec![0, 9, 0, 1];
        d.extend_from_slice(&[0; 16]);
        for (id, body) in sets {
            d.extend_from_slice(&id.to_be_bytes());
            d.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
            d.extend_from_slice(body);
        }
        d.extend_from_slice(tail);
        d
    }

    fn kinds(items: &[Item]) -> Vec<&'static str> {
        items
            .iter()
            .map(|i| match i {
                Item::Message(_) => "message",
                Item::Set { .. } => "set",
                Item::Padding { .. } => "padding",
                Item::Problem(p) => p.kind(),
            })
            .collect()
    }

    #[test]
    fn zero_padding_of_any_length_after_the_sets_is_padding() {
        for n in 1..1400 {
            let d = v9(&[(256, &[1, 2, 3, 4]), (300, &[5; 8])], &vec![0; n]);
            let it = items(&d, 9);
            assert_eq!(kinds(&it), ["message", "set", "set", "padding"], "{n}");
            assert_eq!(it[3], Item::Padding { offset: 40, len: n });
        }
    }

    #[test]
    fn what_cannot_be_framed_is_named_where_it_starts() {
        let d = v9(&[(256, &[1, 2, 3, 4])], &[1, 0, 0, 2]);
        assert_eq!(
            items(&d, 9)[2],
            Item::Problem(Problem::SetTooShort {
                offset: 28,
                set_id: 256,
                length: 2
            })
        );
        let d = v9(&[(256, &[1, 2, 3, 4])], &[1, 0, 0, 200, 9, 9]);
        assert_eq!(
            items(&d, 9)[2],
            Item::Problem(Problem::SetPastEnd {
                offset: 28,
                set_id: 256,
                length: 200,
                left: 6
            })
        );
        let d = v9(&[(256, &[1, 2, 3, 4])], &[0, 0, 0, 0, 0, 7]);
        assert_eq!(kinds(&items(&d, 9)), ["message", "set", "malformed_tail"]);
        assert_eq!(kinds(&items(&[0, 9, 0], 9)), ["short_header"]);
    }

    #[test]
    fn ipfix_messages_follow_each_other_and_may_be_cut_short() {
        let msg = |sets: &[u8]| {
            let mut m = vec![0, 10];
            m.extend_from_slice(&((16 + sets.len()) as u16).to_be_bytes());
            m.extend_from_slice(&[0; 12]);
            m.extend_from_slice(sets);
            m
        };
        let set = [1u8, 0, 0, 8, 1, 2, 3, 4];
        let mut d = msg(&set);
        d.extend_from_slice(&msg(&set));
        assert_eq!(kinds(&items(&d, 10)), ["message", "set", "message", "set"]);
        d.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            kinds(&items(&d, 10)),
            ["message", "set", "message", "set", "padding"]
        );
        let mut cut = msg(&[set, set].concat());
        cut.truncate(cut.len() - 3);
        assert_eq!(
            kinds(&items(&cut, 10)),
            ["message", "message_truncated", "set", "set_past_end"]
        );
    }
}
