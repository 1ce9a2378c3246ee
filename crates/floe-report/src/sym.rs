//! Symbol names for ports, protocols and AS numbers (flow-report's
//! `options +names`), from flow-tools' symbol files: one `NUMBER NAME`
//! per line, `#` comments. floe ships ip-prot.sym (IANA protocols),
//! tcp-port.sym (IANA services) and a short asn.sym; a directory of the
//! operator's own files replaces them file by file.

use std::collections::HashMap;
use std::path::Path;

use crate::error::ReportError;
use crate::key::Val;
use crate::kind::KeyPart;

const IP_PROT: &str = include_str!("../sym/ip-prot.sym");
const TCP_PORT: &str = include_str!("../sym/tcp-port.sym");
const ASN: &str = include_str!("../sym/asn.sym");

/// Names by number for the three kinds of key.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    protocols: HashMap<u64, String>,
    ports: HashMap<u64, String>,
    asns: HashMap<u64, String>,
    /// The AS names are the operator's (an asn.sym in the directory
    /// given), not the short list floe ships.
    asn_file: bool,
}

/// Parses a symbol file; `file` names it in errors.
fn parse(text: &str, file: &str) -> Result<HashMap<u64, String>, ReportError> {
    let bad = |line: usize, message: String| ReportError::SymbolLine {
        file: file.to_string(),
        line,
        message,
    };
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("").trim();
        if code.is_empty() {
            continue;
        }
        let mut w = code.split_whitespace();
        let (Some(n), Some(name)) = (w.next(), w.next()) else {
            return Err(bad(i + 1, "expected NUMBER NAME".into()));
        };
        let n: u64 = n
            .parse()
            .map_err(|_| bad(i + 1, format!("{n:?} is not a number")))?;
        m.entry(n).or_insert_with(|| name.to_string());
    }
    Ok(m)
}

impl Symbols {
    /// The files floe ships.
    pub fn builtin() -> Symbols {
        // The shipped files are tested to parse; an error here is a
        // packaging bug, and then no names is the safe fallback.
        Symbols {
            protocols: parse(IP_PROT, "ip-prot.sym").unwrap_or_default(),
            ports: parse(TCP_PORT, "tcp-port.sym").unwrap_or_default(),
            asns: parse(ASN, "asn.sym").unwrap_or_default(),
            asn_file: false,
        }
    }

    /// The shipped files, each replaced by the same-named file in `dir`
    /// where there is one (e.g. /etc/flow-tools/sym).
    pub fn load(dir: &Path) -> Result<Symbols, ReportError> {
        let mut s = Symbols::builtin();
        for (name, table) in [
            ("ip-prot.sym", &mut s.protocols),
            ("tcp-port.sym", &mut s.ports),
            ("asn.sym", &mut s.asns),
        ] {
            let p = dir.join(name);
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    *table = parse(&text, &p.display().to_string())?;
                    s.asn_file |= name == "asn.sym";
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ReportError::SymbolFile {
                        path: p,
                        message: e.to_string(),
                    })
                }
            }
        }
        if !dir.is_dir() {
            return Err(ReportError::SymbolFile {
                path: dir.to_path_buf(),
                message: "not a directory of symbol files".into(),
            });
        }
        Ok(s)
    }

    /// The name of a key value, where its part has names and the number
    /// has one.
    pub fn name(&self, part: KeyPart, v: &Val) -> Option<&str> {
        let Val::N(n) = v else { return None };
        let table = match part {
            KeyPart::Protocol => &self.protocols,
            KeyPart::SrcPort | KeyPart::DstPort => &self.ports,
            KeyPart::SrcAs | KeyPart::DstAs => &self.asns,
            _ => return None,
        };
        table.get(n).map(String::as_str)
    }

    /// The value as shown: its name, or the number.
    pub fn show(&self, part: KeyPart, v: &Val) -> String {
        self.name(part, v)
            .map_or_else(|| v.to_string(), str::to_string)
    }

    /// An IP protocol's name (`tcp`).
    pub fn protocol(&self, n: u8) -> Option<&str> {
        self.protocols.get(&u64::from(n)).map(String::as_str)
    }

    /// A port's service name (`https`).
    pub fn port(&self, n: u16) -> Option<&str> {
        self.ports.get(&u64::from(n)).map(String::as_str)
    }

    /// Whether the AS names come from the operator's own asn.sym (reports
    /// for people name ASes only then: floe's short list would name a
    /// few and leave the rest as numbers).
    pub fn has_asn_file(&self) -> bool {
        self.asn_file
    }

    /// An AS's name.
    pub fn asn(&self, n: u32) -> Option<&str> {
        self.asns.get(&u64::from(n)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse_and_name() {
        for (text, file) in [(IP_PROT, "ip-prot"), (TCP_PORT, "tcp-port"), (ASN, "asn")] {
            assert!(parse(text, file).unwrap().len() > 20, "{file}");
        }
        let s = Symbols::builtin();
        assert_eq!(s.name(KeyPart::Protocol, &Val::N(6)), Some("tcp"));
        assert_eq!(s.name(KeyPart::DstPort, &Val::N(443)), Some("https"));
        assert_eq!(s.name(KeyPart::SrcAs, &Val::N(15169)), Some("GOOGLE"));
        assert_eq!(s.show(KeyPart::DstPort, &Val::N(65000)), "65000");
        assert_eq!(s.name(KeyPart::SrcAddr, &Val::N(6)), None);
    }

    #[test]
    fn a_directory_replaces_files_and_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("floe-sym-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("asn.sym"), "# ours\n64512\tLAB\n").unwrap();
        let s = Symbols::load(&dir).unwrap();
        assert_eq!(s.name(KeyPart::DstAs, &Val::N(64512)), Some("LAB"));
        assert_eq!(s.name(KeyPart::DstAs, &Val::N(15169)), None);
        assert_eq!(s.name(KeyPart::Protocol, &Val::N(17)), Some("udp"));
        std::fs::write(dir.join("asn.sym"), "64512\n").unwrap();
        let e = Symbols::load(&dir).unwrap_err();
        assert!(
            e.to_string().ends_with("asn.sym:1: expected NUMBER NAME"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Symbols::load(&dir).is_err());
    }
}
