//! Key values and their stored forms. (What each part of a key means is
//! `kind.rs`'s; a stored key knows only what its lanes hold.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most parts a key may have.
pub const MAX_PARTS: usize = 4;

/// What a 32-bit lane of a compact key holds, to unpack it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// An IPv4 address.
    Addr,
    /// The start of a time-series interval, seconds.
    Time,
    /// A number.
    Number,
}

/// A key value. Within a column values are of one kind; across kinds
/// numbers sort first, then IPv4, then IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Val {
    /// A number (ports, protocols, AS numbers, interfaces...).
    N(u64),
    /// An IPv4 address as an integer.
    V4(u32),
    /// An IPv6 address as an integer.
    V6(u128),
    /// An address with a prefix length, shown `addr/len` (the address
    /// cut to the length or not, as the address format says).
    P4 {
        /// The address as an integer.
        addr: u32,
        /// The prefix length.
        len: u8,
    },
    /// An IPv6 address with a prefix length, as `P4`.
    P6 {
        /// The address as an integer.
        addr: u128,
        /// The prefix length.
        len: u8,
    },
    /// The start of a time-series interval, seconds since the epoch.
    T(u64),
}

impl Val {
    pub(crate) fn ip(ip: IpAddr) -> Val {
        match ip {
            IpAddr::V4(v) => Val::V4(u32::from(v)),
            IpAddr::V6(v) => Val::V6(u128::from(v)),
        }
    }

    /// The value as flow-report prints it: times as seconds since the
    /// epoch, everything else as shown.
    pub fn flow_tools(&self) -> String {
        match self {
            Val::T(secs) => secs.to_string(),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Val::N(n) => write!(f, "{n}"),
            Val::V4(v) => write!(f, "{}", Ipv4Addr::from(v)),
            Val::V6(v) => write!(f, "{}", Ipv6Addr::from(v)),
            Val::P4 { addr, len } => write!(f, "{}/{len}", Ipv4Addr::from(addr)),
            Val::P6 { addr, len } => write!(f, "{}/{len}", Ipv6Addr::from(addr)),
            Val::T(secs) => {
                let t = floe_flow::time::format_utc_ms(secs as i64 * 1000);
                write!(f, "{}Z", t.trim_end_matches('Z').trim_end_matches(".000"))
            }
        }
    }
}

/// A key as stored: every part as a u128 (addresses whole, numbers
/// zero-extended), its kind, and a prefix length. Inline and compared word
/// by word: the first version boxed its keys, and every lookup's comparison
/// was then a cache miss. 80 bytes with the
/// u128 alignment, as the one-byte tag of the first version was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) vals: [u128; MAX_PARTS],
    pub(crate) kinds: [u8; MAX_PARTS],
    pub(crate) lens: [u8; MAX_PARTS],
}

impl Key {
    /// No key is this (no part is of kind 255): the packed table's mark of
    /// an empty slot.
    pub const EMPTY: Key = Key {
        vals: [u128::MAX; MAX_PARTS],
        kinds: [255; MAX_PARTS],
        lens: [255; MAX_PARTS],
    };

    pub fn pack(parts: &[Val]) -> Key {
        let mut k = Key {
            vals: [0; MAX_PARTS],
            kinds: [0; MAX_PARTS],
            lens: [0; MAX_PARTS],
        };
        for (i, v) in parts.iter().enumerate() {
            let (kind, x, len) = match *v {
                Val::N(n) => (0u8, u128::from(n), 0u8),
                Val::V4(a) => (1, u128::from(a), 0),
                Val::V6(a) => (2, a, 0),
                Val::P4 { addr, len } => (3, u128::from(addr), len),
                Val::P6 { addr, len } => (5, addr, len),
                Val::T(s) => (6, u128::from(s), 0),
            };
            k.vals[i] = x;
            k.kinds[i] = kind;
            k.lens[i] = len;
        }
        k
    }

    /// The order of the unpacked values, without unpacking, from part
    /// `first` on and then the parts before it.
    pub fn cmp_parts(&self, other: &Key, width: usize, first: usize) -> std::cmp::Ordering {
        for i in (first..width).chain(0..first.min(width)) {
            let o = self.kinds[i]
                .cmp(&other.kinds[i])
                .then(self.vals[i].cmp(&other.vals[i]))
                .then(self.lens[i].cmp(&other.lens[i]));
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    }

    pub fn unpack(&self, width: usize) -> Vec<Val> {
        let mut out = Vec::with_capacity(width);
        self.unpack_into(width, &mut out);
        out
    }

    /// [`Key::unpack`] into a buffer the caller reuses.
    pub fn unpack_into(&self, width: usize, out: &mut Vec<Val>) {
        out.clear();
        out.extend((0..width).map(|i| {
            let (x, len) = (self.vals[i], self.lens[i]);
            match self.kinds[i] {
                0 => Val::N(x as u64),
                1 => Val::V4(x as u32),
                2 => Val::V6(x),
                3 => Val::P4 {
                    addr: x as u32,
                    len,
                },
                5 => Val::P6 { addr: x, len },
                _ => Val::T(x as u64),
            }
        }));
    }
}

/// The key packed into 32-bit lanes when every part fits: numbers of at
/// most 32 bits (ports, protocol, ToS, interfaces, AS numbers and engine
/// ids always are), IPv4 addresses and interval starts (seconds until
/// 2106). Prefixes, IPv6 and wider numbers take the wide form.
pub(crate) fn compact_key(vals: &[Val]) -> Option<u128> {
    let mut k = 0u128;
    for (i, v) in vals.iter().enumerate() {
        let lane = match *v {
            Val::N(n) | Val::T(n) => u32::try_from(n).ok()?,
            Val::V4(a) => a,
            _ => return None,
        };
        k |= u128::from(lane) << (32 * i);
    }
    Some(k)
}

/// A one-part key that does not pack into 32 bits (an IPv6 address, a
/// prefix, a number over 32 bits): 32 bytes where [`Key`] takes 80. A
/// top-N source report over traffic with some IPv6 keeps many of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Single {
    pub(crate) val: u128,
    pub(crate) kind: u8,
    pub(crate) len: u8,
}

impl Single {
    /// No key is this (no value is of kind 255): the packed table's mark
    /// of an empty slot.
    pub const EMPTY: Single = Single {
        val: u128::MAX,
        kind: 255,
        len: 255,
    };

    pub fn pack(v: &Val) -> Single {
        let k = Key::pack(std::slice::from_ref(v));
        Single {
            val: k.vals[0],
            kind: k.kinds[0],
            len: k.lens[0],
        }
    }

    pub fn key(&self) -> Key {
        let mut k = Key::pack(&[]);
        k.vals[0] = self.val;
        k.kinds[0] = self.kind;
        k.lens[0] = self.len;
        k
    }
}

/// A key of several parts of which at most two need more than 32 bits
/// (IPv6 addresses and prefixes, wide numbers) and at most two others
/// are nonzero: [`Key`]'s values in two 128-bit and two 32-bit lanes,
/// parts of value zero in none. 48 bytes where [`Key`] takes 80: a
/// report by (source, destination, port) over traffic with IPv6 keeps
/// millions of them, and their slots were a third of its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Duo {
    pub(crate) wide: [u128; 2],
    pub(crate) narrow: u64,
    /// Byte i: part i's kind (low 4 bits) and its lane (`IN_*`); byte
    /// 4 + i: its prefix length.
    pub(crate) tags: u64,
}

const IN_NARROW: u8 = 1 << 4;
const IN_WIDE: u8 = 2 << 4;

impl Duo {
    /// No key is this (no part's tag is 255): the packed table's mark of
    /// an empty slot.
    pub const EMPTY: Duo = Duo {
        wide: [u128::MAX; 2],
        narrow: u64::MAX,
        tags: u64::MAX,
    };

    /// `k` in two and two lanes, if it fits. The lanes a part takes
    /// follow from its value alone, so equal keys give equal `Duo`s.
    pub fn of(k: &Key) -> Option<Duo> {
        let mut d = Duo {
            wide: [0; 2],
            narrow: 0,
            tags: 0,
        };
        let (mut w, mut n) = (0, 0);
        for i in 0..MAX_PARTS {
            let v = k.vals[i];
            let lane = if v == 0 {
                0
            } else if let Ok(x) = u32::try_from(v) {
                if n == 2 {
                    return None;
                }
                d.narrow |= u64::from(x) << (32 * n);
                n += 1;
                IN_NARROW
            } else {
                if w == 2 {
                    return None;
                }
                d.wide[w] = v;
                w += 1;
                IN_WIDE
            };
            debug_assert!(k.kinds[i] < 16, "a kind takes 4 bits");
            d.tags |=
                u64::from(k.kinds[i] | lane) << (8 * i) | u64::from(k.lens[i]) << (32 + 8 * i);
        }
        Some(d)
    }

    /// The key in its wide form.
    pub fn key(&self) -> Key {
        let mut k = Key::pack(&[]);
        let (mut w, mut n) = (0, 0);
        for i in 0..MAX_PARTS {
            let tag = (self.tags >> (8 * i)) as u8;
            k.kinds[i] = tag & 15;
            k.lens[i] = (self.tags >> (32 + 8 * i)) as u8;
            k.vals[i] = match tag & 0x30 {
                IN_NARROW => {
                    n += 1;
                    u128::from((self.narrow >> (32 * (n - 1))) as u32)
                }
                IN_WIDE => {
                    w += 1;
                    self.wide[w - 1]
                }
                _ => 0,
            };
        }
        k
    }
}

/// A key in any of the tables.
#[derive(Clone, Copy)]
pub(crate) enum KeyRef<'a> {
    Compact(u128),
    Single(&'a Single),
    Duo(&'a Duo),
    Wide(&'a Key),
}

impl KeyRef<'_> {
    /// The key in its wide form (which orders and unpacks); `lanes` says
    /// what each part holds.
    pub fn key(&self, lanes: &[Lane], width: usize) -> Key {
        match self {
            KeyRef::Wide(k) => **k,
            KeyRef::Duo(k) => k.key(),
            KeyRef::Single(k) => k.key(),
            KeyRef::Compact(c) => {
                let mut vals = [Val::N(0); MAX_PARTS];
                for (i, v) in vals.iter_mut().enumerate().take(width) {
                    let lane = (c >> (32 * i)) as u32;
                    // ip-address / ip-port keep their one part in lane 0.
                    *v = match lanes.get(i).copied().unwrap_or(Lane::Addr) {
                        Lane::Addr => Val::V4(lane),
                        Lane::Time => Val::T(u64::from(lane)),
                        Lane::Number => Val::N(u64::from(lane)),
                    };
                }
                Key::pack(&vals[..width])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::SlotKey;

    /// Values of every kind, zero, narrow and wide.
    fn pool() -> Vec<Val> {
        vec![
            Val::N(0),
            Val::N(443),
            Val::N(u64::from(u32::MAX)),
            Val::N(1 << 40),
            Val::V4(0),
            Val::V4(0x0a00_0001),
            Val::V6(1),
            Val::V6(0x2001_0db8 << 96 | 7),
            Val::V6(u128::MAX - 1),
            Val::P4 { addr: 0, len: 0 },
            Val::P4 {
                addr: 0x0a00_0000,
                len: 8,
            },
            Val::P6 { addr: 0, len: 48 },
            Val::P6 {
                addr: 0x2001_0db8 << 96,
                len: 32,
            },
            Val::T(0),
            Val::T(1_800_000_000),
            Val::T(1 << 33),
        ]
    }

    #[test]
    fn a_duo_holds_its_key_exactly_and_only_when_it_fits() {
        let pool = pool();
        let mut seen = std::collections::HashMap::new();
        let mut fits = 0;
        for a in &pool {
            for b in &pool {
                for c in &pool {
                    for d in [Val::N(0), Val::N(80), Val::V6(9 << 100)] {
                        for width in 2..=MAX_PARTS {
                            let vals = [*a, *b, *c, d];
                            let key = Key::pack(&vals[..width]);
                            let (mut wide, mut narrow) = (0, 0);
                            for v in key.vals {
                                if v > u128::from(u32::MAX) {
                                    wide += 1;
                                } else if v != 0 {
                                    narrow += 1;
                                }
                            }
                            let duo = Duo::of(&key);
                            assert_eq!(duo.is_some(), wide <= 2 && narrow <= 2, "{vals:?}");
                            let Some(duo) = duo else { continue };
                            fits += 1;
                            assert_eq!(duo.key(), key, "{vals:?} round trip");
                            assert_eq!(duo.key().unpack(width), vals[..width]);
                            assert!(!duo.is_empty());
                            // One Duo per key: two keys never share one.
                            if let Some(other) = seen.insert(duo, key) {
                                assert_eq!(other, key);
                            }
                            assert!(duo.same(&duo) && !duo.same(&Duo::EMPTY));
                        }
                    }
                }
            }
        }
        assert!(fits > 10_000, "{fits} keys fit");
    }
}
