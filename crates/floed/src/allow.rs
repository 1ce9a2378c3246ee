//! The exporter allow list: networks (`10.0.0.0/8`, `2001:db8::/32`, or a
//! bare address) whose datagrams floed accepts. Empty means everyone.
//! Datagrams from elsewhere are dropped by the receiving thread before
//! anything is parsed, and counted per source (`denied_datagrams`).

use std::net::IpAddr;

/// One network: the address as a 128-bit number (IPv4 in the low 32 bits)
/// and the prefix length within its family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Net {
    v6: bool,
    bits: u128,
    len: u8,
}

impl Net {
    fn parse(s: &str) -> Result<Net, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("allow: {s:?} is not an address or network like 10.0.0.0/8"))?;
        let (v6, bits, max) = match ip {
            IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32u8),
            IpAddr::V6(a) => (true, u128::from(a), 128u8),
        };
        let len = match len {
            None => max,
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("allow: {s:?}: prefix length must be 0 to {max}"))?,
        };
        let net = Net { v6, bits, len };
        if net.masked(bits) != bits {
            return Err(format!(
                "allow: {s:?} has host bits set beyond /{len} (did you mean {}?)",
                net.show(net.masked(bits))
            ));
        }
        Ok(net)
    }

    fn width(&self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn masked(&self, bits: u128) -> u128 {
        if self.len == 0 {
            0
        } else {
            let keep = self.width() - u32::from(self.len);
            (bits >> keep) << keep
        }
    }

    fn show(&self, bits: u128) -> String {
        let ip = if self.v6 {
            IpAddr::V6(bits.into())
        } else {
            IpAddr::V4((bits as u32).into())
        };
        format!("{ip}/{}", self.len)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) if !self.v6 => self.masked(u128::from(u32::from(a))) == self.bits,
            IpAddr::V6(a) if self.v6 => self.masked(u128::from(a)) == self.bits,
            _ => false,
        }
    }
}

/// The networks exporters may send from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<Net>,
}

impl AllowList {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<AllowList, String> {
        let nets = items
            .iter()
            .map(|s| Net::parse(s.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(AllowList { nets })
    }

    /// True when `ip` may send (always, when the list is empty). IPv4
    /// exporters reaching a dual-stack socket are matched by their IPv4
    /// address (the receiver canonicalises them first).
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.nets.is_empty() || self.nets.iter().any(|n| n.contains(ip))
    }

    /// The networks as written back (for --check-config and the start line).
    pub fn describe(&self) -> String {
        if self.nets.is_empty() {
            return "any".into();
        }
        self.nets
            .iter()
            .map(|n| n.show(n.bits))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_of_both_families() {
        let a = AllowList::parse(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"]).unwrap();
        for ok in [
            "10.1.2.3",
            "10.255.255.255",
            "192.0.2.7",
            "2001:db8:1::5",
            "::1",
        ] {
            assert!(a.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in [
            "11.0.0.1",
            "192.0.2.8",
            "2001:db9::1",
            "::2",
            "::ffff:10.0.0.1",
        ] {
            assert!(!a.allows(no.parse().unwrap()), "{no}");
        }
        assert!(AllowList::default().allows("203.0.113.9".parse().unwrap()));
        let all4 = AllowList::parse(&["0.0.0.0/0"]).unwrap();
        assert!(all4.allows("203.0.113.9".parse().unwrap()));
        assert!(!all4.allows("2001:db8::1".parse().unwrap()));
        assert_eq!(
            a.describe(),
            "10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32, ::1/128"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = AllowList::parse(&["10.0.0.1/8"]).unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        assert!(AllowList::parse(&["10.0.0.0/33"])
            .unwrap_err()
            .contains("0 to 32"));
        assert!(AllowList::parse(&["router1"])
            .unwrap_err()
            .contains("not an address"));
    }
}
