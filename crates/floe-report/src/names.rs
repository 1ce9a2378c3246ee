//! Key values as people read them: `TCP` for protocol 6, `443 (https)`
//! for a port, `8.0 (echo request)` for ICMP (which NetFlow carries in
//! the destination port as type × 256 + code), AS numbers with their
//! names when the operator gave a names file, interval starts in the
//! reader's zone. Names come from the symbol tables ([`Symbols`]); with
//! none (`--numeric`) every value is its number.

use crate::key::Val;
use crate::kind::{KeyPart, ReportType};
use crate::sym::Symbols;
use crate::words::{self, Clock};

/// A key value as shown: the value, and its name where it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The value: `443`, `10.0.0.1`, `8.0` (ICMP type.code), `6`.
    pub value: String,
    /// Its name: `https`, `echo request`, `TCP`.
    pub name: Option<String>,
    /// The name says all the number does (a protocol): shown alone.
    pub replaces: bool,
}

impl Label {
    fn plain(value: String) -> Label {
        Label {
            value,
            name: None,
            replaces: false,
        }
    }

    /// As one piece of text: `TCP`, `443 (https)`, `10.0.0.1`.
    pub fn text(&self) -> String {
        match (&self.name, self.replaces) {
            (Some(n), true) => n.clone(),
            (Some(n), false) => format!("{} ({n})", self.value),
            (None, _) => self.value.clone(),
        }
    }

    /// What a CSV or JSON name column holds: `TCP`, `https`,
    /// `8.0 echo request`.
    pub fn column(&self) -> Option<String> {
        let n = self.name.as_ref()?;
        Some(if self.value.contains('.') && !self.replaces {
            format!("{} {n}", self.value)
        } else {
            n.clone()
        })
    }
}

/// A protocol's name as people write it: `TCP`, `UDP`, `ICMP`,
/// `ICMPv6`, `GRE` (the symbol file's name in upper case).
pub fn protocol(symbols: &Symbols, n: u8) -> Option<String> {
    match n {
        58 => Some("ICMPv6".into()),
        _ => symbols.protocol(n).map(str::to_ascii_uppercase),
    }
}

/// ICMP (`v6` false) and ICMPv6 type names (IANA).
pub fn icmp_type(v6: bool, t: u8) -> Option<&'static str> {
    Some(match (v6, t) {
        (false, 0) => "echo reply",
        (false, 3) => "destination unreachable",
        (false, 4) => "source quench",
        (false, 5) => "redirect",
        (false, 8) => "echo request",
        (false, 9) => "router advertisement",
        (false, 10) => "router solicitation",
        (false, 11) => "time exceeded",
        (false, 12) => "parameter problem",
        (false, 13) => "timestamp",
        (false, 14) => "timestamp reply",
        (true, 1) => "destination unreachable",
        (true, 2) => "packet too big",
        (true, 3) => "time exceeded",
        (true, 4) => "parameter problem",
        (true, 128) => "echo request",
        (true, 129) => "echo reply",
        (true, 130) => "multicast listener query",
        (true, 131) => "multicast listener report",
        (true, 133) => "router solicitation",
        (true, 134) => "router advertisement",
        (true, 135) => "neighbor solicitation",
        (true, 136) => "neighbor advertisement",
        (true, 137) => "redirect",
        (true, 143) => "multicast listener report v2",
        _ => return None,
    })
}

/// Which key parts have a name column in CSV and JSON (the AS parts only
/// when the operator gave AS names).
pub fn named(part: KeyPart, symbols: &Symbols) -> bool {
    match part {
        KeyPart::Protocol | KeyPart::SrcPort | KeyPart::DstPort => true,
        KeyPart::SrcAs | KeyPart::DstAs => symbols.has_asn_file(),
        _ => false,
    }
}

/// The labels of a row's key parts. `names` None shows numbers only
/// (times are still shown in the clock's zone).
pub fn labels(
    kind: &ReportType,
    key: &[Val],
    names: Option<&Symbols>,
    clock: &dyn Clock,
) -> Vec<Label> {
    // A both-ends report's one column is an address or a port.
    let parts: Vec<KeyPart> = if kind.both_ends {
        vec![kind.parts[0]]
    } else {
        kind.parts.iter().copied().take(key.len()).collect()
    };
    let proto = parts
        .iter()
        .position(|p| *p == KeyPart::Protocol)
        .and_then(|i| match key.get(i) {
            Some(Val::N(n)) => u8::try_from(*n).ok(),
            _ => None,
        });
    parts
        .iter()
        .zip(key)
        .map(|(p, v)| label(*p, v, proto, names, clock))
        .collect()
}

/// One key value's label; `proto` is the row's protocol when the key has
/// one (a destination port of ICMP is its type and code).
pub fn label(
    part: KeyPart,
    v: &Val,
    proto: Option<u8>,
    names: Option<&Symbols>,
    clock: &dyn Clock,
) -> Label {
    if let Val::T(secs) = v {
        return Label::plain(words::datetime(clock, *secs as i64 * 1000));
    }
    let (Some(sym), Val::N(n)) = (names, v) else {
        return Label::plain(v.to_string());
    };
    let n = *n;
    let named = |name: Option<String>, replaces: bool| Label {
        value: n.to_string(),
        name,
        replaces,
    };
    match part {
        KeyPart::Protocol => named(u8::try_from(n).ok().and_then(|p| protocol(sym, p)), true),
        KeyPart::DstPort if matches!(proto, Some(1 | 58)) => {
            let (t, c) = ((n >> 8) as u8, (n & 0xff) as u8);
            Label {
                value: format!("{t}.{c}"),
                name: icmp_type(proto == Some(58), t).map(String::from),
                replaces: false,
            }
        }
        // Ports of protocols without ports (GRE, ESP...) are 0: no name.
        KeyPart::SrcPort | KeyPart::DstPort
            if proto.is_some_and(|p| !matches!(p, 6 | 17 | 132)) =>
        {
            named(None, false)
        }
        KeyPart::SrcPort | KeyPart::DstPort => named(
            u16::try_from(n)
                .ok()
                .and_then(|p| sym.port(p))
                .map(String::from),
            false,
        ),
        KeyPart::SrcAs | KeyPart::DstAs if sym.has_asn_file() => named(
            u32::try_from(n)
                .ok()
                .and_then(|a| sym.asn(a))
                .map(String::from),
            false,
        ),
        _ => named(None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::words::Utc;

    fn texts(kind: &str, key: &[Val], names: bool) -> Vec<String> {
        let s = Symbols::builtin();
        labels(
            &ReportType::parse(kind).unwrap(),
            key,
            names.then_some(&s),
            &Utc,
        )
        .iter()
        .map(Label::text)
        .collect()
    }

    #[test]
    fn protocols_ports_and_icmp_by_name() {
        assert_eq!(texts("ip-protocol", &[Val::N(6)], true), ["TCP"]);
        assert_eq!(texts("ip-protocol", &[Val::N(58)], true), ["ICMPv6"]);
        assert_eq!(texts("ip-protocol", &[Val::N(253)], true), ["253"]);
        assert_eq!(texts("ip-protocol", &[Val::N(6)], false), ["6"]);
        assert_eq!(
            texts("ip-destination-port", &[Val::N(443)], true),
            ["443 (https)"]
        );
        assert_eq!(
            texts("ip-destination-port", &[Val::N(60000)], true),
            ["60000"]
        );
        // ICMP: the destination port is type * 256 + code.
        assert_eq!(
            texts(
                "ip-protocol/ip-destination-port",
                &[Val::N(1), Val::N(2048)],
                true
            ),
            ["ICMP", "8.0 (echo request)"]
        );
        assert_eq!(
            texts(
                "ip-protocol/ip-destination-port",
                &[Val::N(58), Val::N(128 << 8)],
                true
            ),
            ["ICMPv6", "128.0 (echo request)"]
        );
        // GRE has no ports; TCP's are named.
        assert_eq!(
            texts(
                "ip-protocol/ip-destination-port",
                &[Val::N(47), Val::N(443)],
                true
            ),
            ["GRE", "443"]
        );
        assert_eq!(
            texts(
                "ip-protocol/ip-destination-port",
                &[Val::N(6), Val::N(22)],
                true
            ),
            ["TCP", "22 (ssh)"]
        );
        assert_eq!(texts("ip-port", &[Val::N(53)], true), ["53 (domain)"]);
    }

    #[test]
    fn as_numbers_stay_numbers_without_a_names_file() {
        assert_eq!(texts("source-as", &[Val::N(15169)], true), ["15169"]);
        let dir = std::env::temp_dir().join(format!("floe-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("asn.sym"), "64512 LAB\n").unwrap();
        let s = Symbols::load(&dir).unwrap();
        let l = labels(
            &ReportType::parse("source-as").unwrap(),
            &[Val::N(64512)],
            Some(&s),
            &Utc,
        );
        assert_eq!(l[0].text(), "64512 (LAB)");
        assert_eq!(l[0].column().as_deref(), Some("LAB"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn name_columns() {
        let s = Symbols::builtin();
        let l = label(KeyPart::DstPort, &Val::N(771), Some(1), Some(&s), &Utc);
        assert_eq!(l.text(), "3.3 (destination unreachable)");
        assert_eq!(l.column().as_deref(), Some("3.3 destination unreachable"));
        let l = label(KeyPart::Protocol, &Val::N(17), None, Some(&s), &Utc);
        assert_eq!(l.column().as_deref(), Some("UDP"));
        assert!(named(KeyPart::DstPort, &s) && !named(KeyPart::SrcAs, &s));
    }
}
