//! Key values as alerts hold them: numbers, addresses and prefixes, shown
//! and stored as text that reads back to the same value, and the numbers
//! with k/M/G/T suffixes that rules are written with.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// One part of a group key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KVal {
    /// A port, protocol, interface, AS number, ToS, engine id.
    N(u64),
    /// An address.
    A(IpAddr),
    /// A network: the address cut to the length, or the address with the
    /// flow's mask length (flow-tools' prefix-len).
    P(IpAddr, u8),
}

impl fmt::Display for KVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KVal::N(n) => write!(f, "{n}"),
            KVal::A(a) => write!(f, "{a}"),
            KVal::P(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

impl KVal {
    /// Reads what `Display` wrote.
    pub fn parse(s: &str) -> Option<KVal> {
        if let Some((a, l)) = s.split_once('/') {
            let a: IpAddr = a.parse().ok()?;
            let l: u8 = l.parse().ok()?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            return (l <= max).then_some(KVal::P(a, l));
        }
        if let Ok(n) = s.parse::<u64>() {
            return Some(KVal::N(n));
        }
        s.parse().ok().map(KVal::A)
    }
}

/// Most parts a key has (as reports).
pub const MAX_PARTS: usize = floe_report::MAX_PARTS;

/// A group key: up to [`MAX_PARTS`] values; a rule without a key has the
/// empty key. Unused parts are zero, so that equal keys compare equal;
/// only the used parts are hashed.
#[derive(Clone, Copy, Debug, PartialOrd, Ord)]
pub struct Key {
    len: u8,
    parts: [KVal; MAX_PARTS],
}

// Only the parts in use are compared and hashed: most keys have one.
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.len == other.len && self.parts() == other.parts()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for p in self.parts() {
            p.hash(state);
        }
    }
}

impl Key {
    /// The key of a rule without a group-by key.
    pub const EMPTY: Key = Key {
        len: 0,
        parts: [KVal::N(0); MAX_PARTS],
    };

    /// A key of these parts (only the first `MAX_PARTS` are kept).
    pub fn from_parts(parts: &[KVal]) -> Key {
        let mut k = Key::EMPTY;
        for (slot, p) in k.parts.iter_mut().zip(parts) {
            *slot = *p;
        }
        k.len = parts.len().min(MAX_PARTS) as u8;
        k
    }

    /// Its parts.
    pub fn parts(&self) -> &[KVal] {
        &self.parts[..usize::from(self.len)]
    }

    /// Whether it has no parts (a rule without a group-by key).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets part `i` (below [`MAX_PARTS`]), growing the key to it.
    pub(crate) fn set(&mut self, i: usize, v: KVal) {
        self.parts[i] = v;
        self.len = self.len.max(i as u8 + 1);
    }

    /// The key as stored: its parts separated by spaces (`-` for the empty
    /// key).
    pub fn to_text(&self) -> String {
        if self.is_empty() {
            return "-".into();
        }
        self.parts()
            .iter()
            .map(KVal::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads what [`Key::to_text`] wrote.
    pub fn from_text(s: &str) -> Option<Key> {
        if s == "-" {
            return Some(Key::EMPTY);
        }
        let mut parts = Vec::new();
        for w in s.split(' ') {
            if parts.len() == MAX_PARTS {
                return None;
            }
            parts.push(KVal::parse(w)?);
        }
        Some(Key::from_parts(&parts))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "all traffic");
        }
        write!(f, "{}", self.to_text())
    }
}

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        let t = <String as serde::Deserialize>::deserialize(d)?;
        Key::from_text(&t).ok_or_else(|| serde::de::Error::custom(format!("not a key: {t:?}")))
    }
}

impl serde::Serialize for KVal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for KVal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KVal, D::Error> {
        let t = <String as serde::Deserialize>::deserialize(d)?;
        KVal::parse(&t).ok_or_else(|| serde::de::Error::custom(format!("not a value: {t:?}")))
    }
}

/// A number as rules write it: `1500`, `2.5k`, `10M`, `50G`, `1T`
/// (powers of 1000, as the filter language's), at least zero.
pub fn parse_amount(s: &str) -> Option<f64> {
    let t = s.trim();
    let (num, scale) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1e3),
        'm' | 'M' => (&t[..t.len() - 1], 1e6),
        'g' | 'G' => (&t[..t.len() - 1], 1e9),
        't' | 'T' => (&t[..t.len() - 1], 1e12),
        _ => (t, 1.0),
    };
    let n: f64 = num.trim().parse().ok()?;
    let v = n * scale;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// A number shown with a suffix when it is large: `950`, `12.3k`, `4.56G`.
pub fn human(v: f64) -> String {
    let a = v.abs();
    let (x, s) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        return if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        };
    };
    format!("{x:.2}{s}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        let k = Key::from_parts(&[
            KVal::A("10.0.0.1".parse().unwrap()),
            KVal::N(443),
            KVal::P("2001:db8::".parse().unwrap(), 48),
        ]);
        assert_eq!(k.to_text(), "10.0.0.1 443 2001:db8::/48");
        assert_eq!(Key::from_text(&k.to_text()), Some(k));
        assert_eq!(Key::from_text("-"), Some(Key::EMPTY));
        assert_eq!(Key::from_text("1 2 3 4 5"), None);
        assert_eq!(Key::from_text("10.0.0.1/33"), None);
        assert_eq!(Key::from_text("x"), None);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("10G"), Some(10e9));
        assert_eq!(parse_amount("2.5k"), Some(2500.0));
        assert_eq!(parse_amount("7"), Some(7.0));
        assert_eq!(parse_amount("-1"), None);
        assert_eq!(parse_amount("1e400"), None);
        assert_eq!(parse_amount("G"), None);
        assert_eq!(human(950.0), "950");
        assert_eq!(human(12_345.0), "12.35k");
        assert_eq!(human(4.56e9), "4.56G");
    }
}
