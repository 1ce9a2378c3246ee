//! flow-tools filter files (`flow-nfilter -f filter.cfg -F definition`),
//! unchanged.
//!
//! ```text
//! filter-primitive NAME
//!   type TYPE
//!   [mask M]                      (ip-tos, ip-tcp-flags)
//!   permit|deny VALUE ...         (first matching entry decides)
//!   default permit|deny           (deny when absent)
//! filter-definition NAME
//!   match KEY PRIMITIVE           (match lines AND together)
//!   or                            (starts another group; groups OR together)
//!   invert                        (negates the definition)
//! ```
//!
//! Words `@VAR` and `@{VAR:-default}` are replaced by `-v VAR=value`
//! bindings. A definition compiles to the same [`Expr`] as the expression
//! language: a primitive with entries e1..en and a default d is
//! `e1 ? p1 : (e2 ? p2 : ... d)`, which is `m1 or rest` for a permit and
//! `not m1 and rest` for a deny. ip-address-prefix entries are tried
//! longest prefix first, which is flow-tools' trie lookup.
//!
//! Primitive types: as, ip-address, ip-address-mask, ip-address-prefix,
//! ip-address-prefix-len, ip-port, ip-protocol, ip-tos, ip-tcp-flags,
//! ifindex, engine, counter, double, rate, time-date. Not supported: tag and
//! tag-mask (floe stores no tags; such a file is refused with that reason).
//!
//! A value (or mask) outside the range of the field a match line applies
//! it to is refused with the range, as in expressions; `time-date` values
//! without an offset are read in the zone of the [`Options`]. A primitive
//! whose entries alternate between permit and deny nests one level each
//! time, so at most [`MAX_NESTING`] alternations are accepted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::expr::{time_key, AddrField, Cmp, Expr, Net, NumField};
use crate::{FilterError, Options, WallClock, MAX_NESTING};

const TYPES: &str =
    "as, ip-address, ip-address-mask, ip-address-prefix, ip-address-prefix-len, ip-port, \
ip-protocol, ip-tos, ip-tcp-flags, ifindex, engine, counter, double, rate, time-date";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PType {
    As,
    IpAddress,
    IpAddressMask,
    IpAddressPrefix,
    PrefixLen,
    Port,
    Protocol,
    Tos,
    TcpFlags,
    IfIndex,
    Engine,
    Counter,
    Double,
    Rate,
    TimeDate,
}

fn ptype(s: &str) -> Option<PType> {
    Some(match s {
        "as" => PType::As,
        "ip-address" => PType::IpAddress,
        "ip-address-mask" => PType::IpAddressMask,
        "ip-address-prefix" => PType::IpAddressPrefix,
        "ip-address-prefix-len" => PType::PrefixLen,
        "ip-port" => PType::Port,
        "ip-protocol" => PType::Protocol,
        "ip-tos" => PType::Tos,
        "ip-tcp-flags" => PType::TcpFlags,
        "ifindex" => PType::IfIndex,
        "engine" => PType::Engine,
        "counter" => PType::Counter,
        "double" => PType::Double,
        "rate" => PType::Rate,
        "time-date" | "time" => PType::TimeDate,
        _ => return None,
    })
}

/// What a match line tests: the flow value(s), and which primitive types
/// it accepts. (key, older alias)
const KEYS: &[(&str, &str)] = &[
    ("ip-source-address", "src-ip-addr"),
    ("ip-destination-address", "dst-ip-addr"),
    ("ip-exporter-address", "exporter-ip-addr"),
    ("ip-nexthop-address", "nexthop-ip-addr"),
    ("ip-source-port", "src-ip-port"),
    ("ip-destination-port", "dst-ip-port"),
    ("ip-protocol", "ip-prot"),
    ("ip-tos", "ip-marked-tos"),
    ("ip-tcp-flags", "tcp-flags"),
    ("source-as", "src-as"),
    ("destination-as", "dst-as"),
    ("input-interface", "src-ifindex"),
    ("output-interface", "dst-ifindex"),
    ("ip-source-address-prefix-len", "src-ip-addr-prefix-len"),
    (
        "ip-destination-address-prefix-len",
        "dst-ip-addr-prefix-len",
    ),
    ("engine-id", "engine-id"),
    ("engine-type", "engine-type"),
    ("flows", "flows"),
    ("octets", "octets"),
    ("packets", "packets"),
    ("duration", "duration"),
    ("start-time", "start-time"),
    ("end-time", "end-time"),
    ("bps", "bps"),
    ("pps", "pps"),
];

enum Target {
    Addr(AddrField),
    Num(NumField),
    /// `flows`: every floe record is one flow.
    One,
}

fn target(key: &str) -> Option<(Target, &'static [PType])> {
    use PType::*;
    const ADDR: &[PType] = &[IpAddress, IpAddressMask, IpAddressPrefix];
    let k = KEYS.iter().find(|(a, b)| *a == key || *b == key)?.0;
    Some(match k {
        "ip-source-address" => (Target::Addr(AddrField::Src), ADDR),
        "ip-destination-address" => (Target::Addr(AddrField::Dst), ADDR),
        "ip-exporter-address" => (Target::Addr(AddrField::Exporter), ADDR),
        "ip-nexthop-address" => (Target::Addr(AddrField::NextHop), ADDR),
        "ip-source-port" => (Target::Num(NumField::SrcPort), &[Port, Counter]),
        "ip-destination-port" => (Target::Num(NumField::DstPort), &[Port, Counter]),
        "ip-protocol" => (Target::Num(NumField::Protocol), &[Protocol]),
        "ip-tos" => (Target::Num(NumField::Tos), &[Tos]),
        "ip-tcp-flags" => (Target::Num(NumField::TcpFlags), &[TcpFlags]),
        "source-as" => (Target::Num(NumField::SrcAs), &[As]),
        "destination-as" => (Target::Num(NumField::DstAs), &[As]),
        "input-interface" => (Target::Num(NumField::InIf), &[IfIndex]),
        "output-interface" => (Target::Num(NumField::OutIf), &[IfIndex]),
        "ip-source-address-prefix-len" => (Target::Num(NumField::SrcPrefixLen), &[PrefixLen]),
        "ip-destination-address-prefix-len" => (Target::Num(NumField::DstPrefixLen), &[PrefixLen]),
        "engine-id" => (Target::Num(NumField::EngineId), &[Engine]),
        "engine-type" => (Target::Num(NumField::EngineType), &[Engine]),
        "flows" => (Target::One, &[Counter]),
        "octets" => (Target::Num(NumField::Bytes), &[Counter]),
        "packets" => (Target::Num(NumField::Packets), &[Counter]),
        "duration" => (Target::Num(NumField::Duration), &[Counter]),
        "start-time" => (Target::Num(NumField::First), &[TimeDate]),
        "end-time" => (Target::Num(NumField::Last), &[TimeDate]),
        "bps" => (Target::Num(NumField::Bps), &[Rate, Double, Counter]),
        "pps" => (Target::Num(NumField::Pps), &[Rate, Double, Counter]),
        _ => return None,
    })
}

/// One permit/deny line, kept as text until a match line says which flow
/// field it applies to.
#[derive(Clone, Debug)]
struct Entry {
    permit: bool,
    words: Vec<String>,
    line: usize,
}

#[derive(Clone, Debug)]
struct Primitive {
    ty: PType,
    /// The mask and its line.
    mask: Option<(u128, usize)>,
    entries: Vec<Entry>,
    default_permit: bool,
    line: usize,
}

#[derive(Clone, Debug, Default)]
struct Definition {
    /// Groups (OR) of match lines (AND): (key, primitive, line).
    groups: Vec<Vec<(String, String, usize)>>,
    invert: bool,
}

/// A parsed flow-tools filter file.
#[derive(Debug)]
pub struct FilterFile {
    file: String,
    primitives: HashMap<String, Primitive>,
    definitions: Vec<(String, Definition)>,
    now_ms: i64,
    options: Options,
}

/// Expands flow-tools variables in one line: `@VAR` and `@{VAR:-default}`
/// from `-v VAR=value` bindings (flow-nfilter and flow-report alike).
pub fn expand_vars(line: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find('@') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or("unclosed @{")?;
            let spec = &body[..end];
            let (name, default) = match spec.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (spec, None),
            };
            match vars.get(name).map(String::as_str).or(default) {
                Some(v) => out.push_str(v),
                None => return Err(format!("variable {name} is not set (use -v {name}=VALUE)")),
            }
            rest = &body[end + 1..];
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('@');
                rest = after;
                continue;
            }
            let name = &after[..end];
            out.push_str(
                vars.get(name)
                    .ok_or(format!("variable {name} is not set (use -v {name}=VALUE)"))?,
            );
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

impl FilterFile {
    /// Reads and checks a filter file; times in UTC.
    pub fn load(
        path: &Path,
        vars: &HashMap<String, String>,
        now_ms: i64,
    ) -> Result<FilterFile, FilterError> {
        Self::load_with(path, vars, now_ms, &Options::default())
    }

    /// Reads and checks a filter file with these options.
    pub fn load_with(
        path: &Path,
        vars: &HashMap<String, String>,
        now_ms: i64,
        options: &Options,
    ) -> Result<FilterFile, FilterError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FilterError {
            file: Some(file.clone()),
            line: 0,
            col: 0,
            message: e.to_string(),
        })?;
        Self::parse_with(&text, &file, vars, now_ms, options)
    }

    /// Checks the text of a filter file (`file` names it in errors);
    /// times in UTC.
    pub fn parse(
        text: &str,
        file: &str,
        vars: &HashMap<String, String>,
        now_ms: i64,
    ) -> Result<FilterFile, FilterError> {
        Self::parse_with(text, file, vars, now_ms, &Options::default())
    }

    /// [`FilterFile::parse`] with these options.
    pub fn parse_with(
        text: &str,
        file: &str,
        vars: &HashMap<String, String>,
        now_ms: i64,
        options: &Options,
    ) -> Result<FilterFile, FilterError> {
        let err = |line: usize, col: usize, message: String| FilterError {
            file: Some(file.to_string()),
            line,
            col,
            message,
        };
        let mut ff = FilterFile {
            file: file.to_string(),
            primitives: HashMap::new(),
            definitions: Vec::new(),
            now_ms,
            options: options.clone(),
        };
        enum Cur {
            None,
            Prim(String),
            Def(usize),
        }
        let mut cur = Cur::None;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let code = raw.split('#').next().unwrap_or("");
            let line = expand_vars(code, vars).map_err(|m| err(n, 1, m))?;
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(first) = words.first() else { continue };
            let col = code.find(first).map_or(1, |c| c + 1);
            let arg = |k: usize| words.get(k).copied();
            match *first {
                "filter-primitive" => {
                    let name = arg(1).ok_or_else(|| err(n, col, "filter-primitive needs a name".into()))?;
                    ff.primitives.insert(
                        name.to_string(),
                        Primitive {
                            ty: PType::Counter,
                            mask: None,
                            entries: Vec::new(),
                            default_permit: false,
                            line: 0,
                        },
                    );
                    cur = Cur::Prim(name.to_string());
                }
                "filter-definition" => {
                    let name = arg(1).ok_or_else(|| err(n, col, "filter-definition needs a name".into()))?;
                    ff.definitions.push((name.to_string(), Definition { groups: vec![Vec::new()], invert: false }));
                    cur = Cur::Def(ff.definitions.len() - 1);
                }
                "type" | "permit" | "deny" | "default" | "mask" => {
                    let Cur::Prim(name) = &cur else {
                        return Err(err(n, col, format!("{first} outside a filter-primitive")));
                    };
                    let p = ff.primitives.get_mut(name).ok_or_else(|| err(n, col, "no primitive".into()))?;
                    match *first {
                        "type" => {
                            let t = arg(1).unwrap_or("");
                            if t == "tag" || t == "tag-mask" {
                                return Err(err(n, col, format!("primitive type {t} is not supported: floe stores no tags")));
                            }
                            p.ty = ptype(t).ok_or_else(|| err(n, col, format!("unknown primitive type {t:?}; valid: {TYPES}")))?;
                            p.line = n;
                        }
                        "mask" => {
                            let m = arg(1)
                                .and_then(parse_num)
                                .ok_or_else(|| err(n, col, "mask needs a number (e.g. 0xfc)".into()))?;
                            p.mask = Some((m, n));
                        }
                        "default" => {
                            p.default_permit = match arg(1) {
                                Some("permit") => true,
                                Some("deny") => false,
                                other => return Err(err(n, col, format!("default must be permit or deny, found {other:?}"))),
                            }
                        }
                        _ => {
                            if words.len() < 2 {
                                return Err(err(n, col, format!("{first} needs a value")));
                            }
                            p.entries.push(Entry {
                                permit: *first == "permit",
                                words: words[1..].iter().map(|w| w.to_string()).collect(),
                                line: n,
                            });
                        }
                    }
                }
                "match" | "or" | "invert" => {
                    let Cur::Def(d) = cur else {
                        return Err(err(n, col, format!("{first} outside a filter-definition")));
                    };
                    let def = &mut ff.definitions[d].1;
                    match *first {
                        "or" => def.groups.push(Vec::new()),
                        "invert" => def.invert = true,
                        _ => {
                            let (Some(key), Some(prim)) = (arg(1), arg(2)) else {
                                return Err(err(n, col, "match needs a key and a primitive name".into()));
                            };
                            if let Some(g) = def.groups.last_mut() {
                                g.push((key.to_string(), prim.to_string(), n));
                            }
                        }
                    }
                }
                other => {
                    return Err(err(
                        n,
                        col,
                        format!("unknown statement {other:?}; valid: filter-primitive, type, mask, permit, deny, default, filter-definition, match, or, invert"),
                    ))
                }
            }
        }
        // Check every definition now, so that errors surface at load.
        for (name, _) in &ff.definitions {
            ff.compile(name)?;
        }
        Ok(ff)
    }

    /// Definition names, in file order.
    pub fn definitions(&self) -> impl Iterator<Item = &str> {
        self.definitions.iter().map(|(n, _)| n.as_str())
    }

    /// Compiles one definition to an expression.
    pub fn compile(&self, name: &str) -> Result<Expr, FilterError> {
        let err = |line: usize, message: String| FilterError {
            file: Some(self.file.clone()),
            line,
            col: 1,
            message,
        };
        let Some((_, def)) = self.definitions.iter().find(|(n, _)| n == name) else {
            let valid: Vec<&str> = self.definitions().collect();
            return Err(err(
                0,
                format!(
                    "no filter-definition {name:?}; defined: {}",
                    valid.join(", ")
                ),
            ));
        };
        let mut groups = Vec::new();
        for g in def.groups.iter().filter(|g| !g.is_empty()) {
            let mut ands = Vec::new();
            for (key, prim, line) in g {
                let (target, allowed) = target(key).ok_or_else(|| {
                    let valid: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
                    err(
                        *line,
                        format!("unknown match key {key:?}; valid: {}", valid.join(", ")),
                    )
                })?;
                let p = self.primitives.get(prim).ok_or_else(|| {
                    let mut valid: Vec<&str> = self.primitives.keys().map(String::as_str).collect();
                    valid.sort();
                    err(
                        *line,
                        format!(
                            "no filter-primitive {prim:?}; defined: {}",
                            valid.join(", ")
                        ),
                    )
                })?;
                if !allowed.contains(&p.ty) {
                    return Err(err(*line, format!("match {key} cannot use primitive {prim} (its type does not fit this key)")));
                }
                ands.push(
                    self.primitive_expr(p, &target)
                        .map_err(|(l, m)| err(l, m))?,
                );
            }
            groups.push(if ands.len() == 1 {
                ands.remove(0)
            } else {
                Expr::And(ands)
            });
        }
        let e = match groups.len() {
            0 => Expr::Any,
            1 => groups.remove(0),
            _ => Expr::Or(groups),
        };
        Ok(if def.invert {
            Expr::Not(Box::new(e))
        } else {
            e
        })
    }

    fn primitive_expr(&self, p: &Primitive, target: &Target) -> Result<Expr, (usize, String)> {
        let mut entries = p.entries.clone();
        if p.ty == PType::IpAddressPrefix {
            // Longest prefix first: flow-tools looks prefixes up in a trie.
            let len = |e: &Entry| {
                e.words
                    .first()
                    .and_then(|w| w.split_once('/'))
                    .and_then(|(_, l)| l.parse::<u8>().ok())
                    .unwrap_or(0)
            };
            entries.sort_by_key(|e| std::cmp::Reverse(len(e)));
        }
        let mut acc = if p.default_permit {
            Expr::Any
        } else {
            Expr::Not(Box::new(Expr::Any))
        };
        if let Some((mask, line)) = p.mask {
            if let Target::Num(field) = target {
                if mask > u128::from(field.max()) {
                    return Err((
                        line,
                        format!(
                            "mask {mask:#x} is out of range for {} (0-{:#x})",
                            field.keyword(),
                            field.max()
                        ),
                    ));
                }
            }
        }
        // Each change between permit and deny nests the expression once.
        let mut nesting = 0;
        for (i, e) in entries.iter().enumerate().rev() {
            if entries
                .get(i + 1)
                .is_some_and(|next| next.permit != e.permit)
            {
                nesting += 1;
                if nesting > MAX_NESTING {
                    return Err((
                        e.line,
                        format!("the entries alternate between permit and deny more than {MAX_NESTING} times"),
                    ));
                }
            }
            let m = self.entry_expr(p, e, target).map_err(|m| (e.line, m))?;
            acc = if e.permit {
                match acc {
                    Expr::Not(ref x) if **x == Expr::Any => m,
                    Expr::Or(mut v) => {
                        v.insert(0, m);
                        Expr::Or(v)
                    }
                    _ => Expr::Or(vec![m, acc]),
                }
            } else {
                match acc {
                    Expr::Any => Expr::Not(Box::new(m)),
                    Expr::And(mut v) => {
                        v.insert(0, Expr::Not(Box::new(m)));
                        Expr::And(v)
                    }
                    _ => Expr::And(vec![Expr::Not(Box::new(m)), acc]),
                }
            };
        }
        Ok(acc)
    }

    fn entry_expr(&self, p: &Primitive, e: &Entry, target: &Target) -> Result<Expr, String> {
        let w: Vec<&str> = e.words.iter().map(String::as_str).collect();
        let num_field = || match target {
            Target::Num(f) => Ok(*f),
            _ => Err("this key takes an address primitive".to_string()),
        };
        match p.ty {
            PType::IpAddress | PType::IpAddressMask | PType::IpAddressPrefix => {
                let Target::Addr(field) = target else {
                    return Err("this key takes a numeric primitive".into());
                };
                let net = match (p.ty, w.as_slice()) {
                    (PType::IpAddressMask, [a, m, ..]) => {
                        let addr: IpAddr =
                            a.parse().map_err(|_| format!("{a:?} is not an address"))?;
                        let mask: std::net::Ipv4Addr = m
                            .parse()
                            .map_err(|_| format!("{m:?} is not a dotted mask"))?;
                        Net {
                            addr,
                            len: u32::from(mask).leading_ones() as u8,
                        }
                    }
                    (_, [a, ..]) => {
                        let (addr, len) = match a.split_once('/') {
                            Some((x, l)) => (x, Some(l)),
                            None => (*a, None),
                        };
                        let addr: IpAddr = addr
                            .parse()
                            .map_err(|_| format!("{a:?} is not an address or prefix"))?;
                        let max = if addr.is_ipv4() { 32 } else { 128 };
                        let len = match len {
                            Some(l) => l
                                .parse::<u8>()
                                .ok()
                                .filter(|l| *l <= max)
                                .ok_or(format!("{a:?}: bad prefix length"))?,
                            None => max,
                        };
                        Net { addr, len }
                    }
                    _ => return Err("an address is needed".into()),
                };
                Ok(Expr::Addr(*field, vec![net]))
            }
            PType::Tos | PType::TcpFlags => {
                let field = num_field()?;
                let x = w.first().copied().unwrap_or("");
                let v = parse_num(x).ok_or(format!("{x:?} is not a number"))?;
                let v = in_range(field, x, v)?;
                let mask = p.mask.map_or(field.max(), |(m, _)| m as u64);
                Ok(Expr::Masked(field, mask, v & mask))
            }
            PType::Counter | PType::Double | PType::Rate => {
                if let Target::One = target {
                    // Every record is one flow: "flows gt 0" and the like.
                    let (cmp, v) = qualified(&w)?;
                    let v = u64::try_from(v).map_err(|_| format!("{v} flows is out of range"))?;
                    let one = match cmp {
                        Cmp::Eq => v == 1,
                        Cmp::Ne => v != 1,
                        Cmp::Lt => 1 < v,
                        Cmp::Le => 1 <= v,
                        Cmp::Gt => 1 > v,
                        Cmp::Ge => 1 >= v,
                    };
                    return Ok(if one {
                        Expr::Any
                    } else {
                        Expr::Not(Box::new(Expr::Any))
                    });
                }
                let (cmp, v) = qualified(&w)?;
                let field = num_field()?;
                let v = in_range(field, &v.to_string(), v)?;
                Ok(Expr::Num(field, cmp, v))
            }
            PType::TimeDate => {
                let (cmp, text) = match w.first().copied().and_then(qualifier) {
                    Some(c) => (c, &w[1..]),
                    None => (Cmp::Eq, &w[..]),
                };
                let ms = time_words(text, self.now_ms, self.options.zone())?;
                Ok(Expr::Num(num_field()?, cmp, time_key(ms)))
            }
            _ => {
                // Buckets: comma lists and ranges, "6,17" "1024-65535".
                let field = num_field()?;
                let mut ranges = Vec::new();
                for part in w.join(",").split(',').filter(|s| !s.is_empty()) {
                    let (a, b) = part.split_once('-').unwrap_or((part, part));
                    let (Some(lo), Some(hi)) = (bucket_value(p.ty, a), bucket_value(p.ty, b))
                    else {
                        return Err(format!(
                            "{part:?} is not a value for a {:?} primitive",
                            p.ty
                        ));
                    };
                    let (lo, hi) = (in_range(field, a, lo)?, in_range(field, b, hi)?);
                    ranges.push((lo.min(hi), lo.max(hi)));
                }
                Ok(match ranges.as_slice() {
                    [(a, b)] if a == b => Expr::Num(field, Cmp::Eq, *a),
                    _ => Expr::NumIn(field, ranges),
                })
            }
        }
    }
}

/// A number as flow-tools writes them: decimal (perhaps with a fraction,
/// rounded) or 0x hexadecimal. As a u128, so that one too large for its
/// field is told apart from one that is not a number (runs of digits too
/// long even for that saturate).
fn parse_num(w: &str) -> Option<u128> {
    if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        return Some(u128::from_str_radix(h, 16).unwrap_or(u128::MAX));
    }
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()) {
        return Some(w.parse().unwrap_or(u128::MAX));
    }
    // `as` saturates: 2^128 and more stay too large.
    w.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v.round() as u128)
}

/// `v` (written `w`) as a value of `field`, or the error giving its range.
fn in_range(field: NumField, w: &str, v: u128) -> Result<u64, String> {
    u64::try_from(v)
        .ok()
        .filter(|v| *v <= field.max())
        .ok_or_else(|| {
            format!(
                "{w:?} is out of range for {}: {} is 0-{}",
                field.keyword(),
                field.what(),
                field.max()
            )
        })
}

fn bucket_value(ty: PType, w: &str) -> Option<u128> {
    if ty == PType::Protocol {
        if let Some(p) = [
            ("icmp", 1),
            ("tcp", 6),
            ("udp", 17),
            ("gre", 47),
            ("esp", 50),
            ("ah", 51),
            ("icmp6", 58),
        ]
        .iter()
        .find(|(n, _)| *n == w)
        {
            return Some(p.1);
        }
    }
    parse_num(w)
}

fn qualifier(w: &str) -> Option<Cmp> {
    Some(match w {
        "gt" => Cmp::Gt,
        "ge" => Cmp::Ge,
        "lt" => Cmp::Lt,
        "le" => Cmp::Le,
        "eq" => Cmp::Eq,
        "ne" => Cmp::Ne,
        _ => return None,
    })
}

/// "gt 1000" or "1000" (equal).
fn qualified(w: &[&str]) -> Result<(Cmp, u128), String> {
    match w {
        [q, v, ..] if qualifier(q).is_some() => Ok((
            qualifier(q).unwrap_or(Cmp::Eq),
            parse_num(v).ok_or(format!("{v:?} is not a number"))?,
        )),
        [v, ..] => Ok((
            Cmp::Eq,
            parse_num(v).ok_or(format!("{v:?} is not a number"))?,
        )),
        [] => Err("a value is needed".into()),
    }
}

/// "600 seconds ago", "2 hours ago", or an absolute date and time
/// ("2026-11-22 10:00:00", RFC 3339, "Nov 22 2026 10:00:00", UTC).
fn time_words(w: &[&str], now_ms: i64, zone: &dyn WallClock) -> Result<i64, String> {
    if let [n, unit, "ago"] = w {
        let count: i64 = n.parse().map_err(|_| format!("{n:?} is not a number"))?;
        let scale = match unit.trim_end_matches('s') {
            "second" | "sec" => 1_000,
            "minute" | "min" => 60_000,
            "hour" => 3_600_000,
            "day" => 86_400_000,
            "week" => 604_800_000,
            _ => {
                return Err(format!(
                    "{unit:?} is not a time unit (seconds, minutes, hours, days, weeks)"
                ))
            }
        };
        return count
            .checked_mul(scale)
            .and_then(|d| now_ms.checked_sub(d))
            .ok_or(format!("{n} {unit} ago is out of range"));
    }
    let text = w.join(" ");
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&text) {
        return Ok(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%b %d %Y %H:%M:%S",
        "%B %d %Y %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(&text, fmt) {
            return Ok(zone.instant(n));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map_or(0, |t| zone.instant(t)));
    }
    Err(format!(
        "{text:?} is not a time (N seconds ago, YYYY-MM-DD HH:MM:SS, or RFC 3339)"
    ))
}
