//! Datagrams stored back to back in a file, as `nc -u -l > file` or a
//! collector's debug dump keeps them: split by what each version's header
//! says of its length (IPFIX's length field; v1, v5 and v7's record
//! count). A v9 datagram has no length of its own, so a v9 message takes
//! the rest of the file, as does anything that is not a NetFlow header,
//! and so do the last bytes when fewer are left than any header holds.

/// One datagram of a raw file: where it starts and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDatagram<'a> {
    /// Where the datagram starts in the file.
    pub offset: usize,
    /// The datagram.
    pub bytes: &'a [u8],
}

/// The length of the datagram at the start of `b`, by its header.
fn length(b: &[u8]) -> usize {
    let be16 = |at: usize| {
        b.get(at..at + 2)
            .map(|x| usize::from(u16::from_be_bytes([x[0], x[1]])))
    };
    let whole = b.len();
    let by_count =
        |header: usize, record: usize| be16(2).map_or(whole, |n| (header + record * n).min(whole));
    match be16(0) {
        Some(v @ (1 | 5 | 7)) => {
            crate::fixed::layout(v as u16).map_or(whole, |l| by_count(l.header, l.record))
        }
        Some(10) => match be16(2) {
            Some(n) if n >= 16 => n.min(whole),
            _ => whole,
        },
        _ => whole,
    }
}

/// Splits a raw file into its datagrams.
pub fn split(b: &[u8]) -> Vec<RawDatagram<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let mut n = length(&b[at..]).max(1);
        // Fewer bytes left than any header: they belong to this datagram
        // (a length field that understates, or padding).
        if b.len() - (at + n) < 16 {
            n = b.len() - at;
        }
        out.push(RawDatagram {
            offset: at,
            bytes: &b[at..at + n],
        });
        at += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_back_to_back() {
        let mut ipfix = vec![0, 10, 0, 20];
        ipfix.extend([0; 16]);
        let mut v5 = vec![0, 5, 0, 1];
        v5.extend([0; 20 + 48]);
        let file = [
            ipfix.clone(),
            v5.clone(),
            ipfix.clone(),
            vec![0, 9, 1, 2, 3],
        ]
        .concat();
        let parts: Vec<(usize, usize)> = split(&file)
            .iter()
            .map(|d| (d.offset, d.bytes.len()))
            .collect();
        assert_eq!(parts, [(0, 20), (20, 72), (92, 25)]);
        assert_eq!(split(&[]).len(), 0);
        // A length that overstates: the rest of the file.
        assert_eq!(split(&[0, 10, 1, 0, 9]).len(), 1);
    }
}
