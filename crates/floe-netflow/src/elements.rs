//! What floe knows of information elements' types: enough to refuse a
//! template whose field lengths cannot hold the element (RFC 7011 section
//! 6; v9 field types 1-79 are the same elements).
//!
//! Unsigned and signed numbers may be sent shorter than their type
//! (reduced-size encoding, RFC 7011 section 6.2) but never longer;
//! addresses and timestamps have exactly their size. Elements not listed
//! here (and enterprise-specific ones) are only stepped over, so any
//! length but 0 is accepted for them.

/// Variable length (RFC 7011 section 7; some v9 exporters use it too).
pub(crate) const VARIABLE: u16 = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    /// An unsigned or signed number of at most this many bytes.
    Number(u16),
    Ipv4,
    Ipv6,
    Mac,
    /// dateTimeSeconds.
    Seconds,
    /// dateTimeMilliseconds, -Microseconds, -Nanoseconds.
    Stamp8,
}

fn type_of(ie: u16) -> Option<Type> {
    use Type::*;
    Some(match ie {
        // Counters: octetDeltaCount, packetDeltaCount, post and total
        // counts, NSEL initiator/responder counts.
        1 | 2 | 3 | 19 | 20 | 23 | 24 | 85 | 86 | 231 | 232 | 298 | 299 => Number(8),
        4 | 5 | 9 | 13 | 29 | 30 | 60 | 176 | 177 | 178 | 179 => Number(1),
        6 | 7 | 11 | 32 | 139 | 180 | 181 | 182 | 183 => Number(2),
        // Interfaces, ASes, sampling, uptimes, flow label, deltas.
        10 | 14 | 16 | 17 | 21 | 22 | 31 | 34 | 35 | 158 | 159 | 305 | 306 | 309 | 310 => Number(4),
        // samplerId, flowSamplerId: unsigned8 by the registry, but Cisco
        // sends 2 and 4 bytes (seen in the corpus), so up to 8.
        48 | 302 => Number(8),
        50 => Number(4),
        // Durations and system init time.
        160 => Stamp8,
        161 | 162 => Number(4),
        8 | 12 | 15 | 18 | 225 | 226 => Ipv4,
        27 | 28 | 62 | 63 | 281 | 282 => Ipv6,
        56 | 57 | 80 | 81 => Mac,
        150 | 151 => Seconds,
        152..=157 => Stamp8,
        _ => return None,
    })
}

/// Whether a field of `len` bytes can hold element `ie`; `Err` names what
/// its type takes. (Zero-length fields, which hold no value, are the
/// caller's rule: see [`crate::templates`].)
pub(crate) fn check_length(ie: u16, len: u16, enterprise: bool) -> Result<(), &'static str> {
    if len == 0 {
        return Err("at least 1 byte");
    }
    if enterprise {
        return Ok(());
    }
    let Some(t) = type_of(ie) else {
        return Ok(());
    };
    let fits = match t {
        Type::Number(n) => (1..=n).contains(&len),
        Type::Ipv4 => len == 4,
        Type::Ipv6 => len == 16,
        Type::Mac => len == 6,
        Type::Seconds => len == 4,
        Type::Stamp8 => len == 8,
    };
    if fits {
        return Ok(());
    }
    Err(match t {
        Type::Number(1) => "1 byte",
        Type::Number(2) => "1 or 2 bytes",
        Type::Number(4) => "1 to 4 bytes",
        Type::Number(_) => "1 to 8 bytes",
        Type::Ipv4 => "4 bytes",
        Type::Ipv6 => "16 bytes",
        Type::Mac => "6 bytes",
        Type::Seconds => "4 bytes",
        Type::Stamp8 => "8 bytes",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert!(check_length(8, 4, false).is_ok());
        assert_eq!(check_length(8, 16, false), Err("4 bytes"));
        assert_eq!(check_length(4, 9, false), Err("1 byte"));
        // Reduced-size encoding.
        assert!(check_length(1, 4, false).is_ok());
        assert!(check_length(1, 8, false).is_ok());
        assert!(check_length(7, 1, false).is_ok());
        assert_eq!(check_length(7, 4, false), Err("1 or 2 bytes"));
        assert_eq!(check_length(1, VARIABLE, false), Err("1 to 8 bytes"));
        // Unknown and enterprise elements: anything but 0.
        assert!(check_length(94, VARIABLE, false).is_ok());
        assert!(check_length(8, 16, true).is_ok());
        assert!(check_length(94, 0, false).is_err());
        assert!(check_length(94, 0, true).is_err());
    }
}
