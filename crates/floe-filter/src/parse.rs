//! The expression grammar (nfdump/tcpdump-like), keywords case-insensitive:
//!
//! ```text
//! expr    := and ( ("or" | "||") and )*
//! and     := unary ( ("and" | "&&") unary )*
//! unary   := ("not" | "!") unary | "(" expr ")" | "@include" FILE | test
//! test    := "any" | "ipv4" | "ipv6" | PROTONAME
//!          | "proto" (NAME | N | "in" "[" list "]")
//!          | [src|dst] ("ip"|"host"|"net") (ADDR[/LEN] [MASK] | "in" "[" nets "]")
//!          | [src|dst] ("port"|"as"|"mask") numtest
//!          | ["in"|"out"] "if" numtest
//!          | ("next-hop"|"exporter") (ADDR[/LEN] | "in" "[" nets "]")
//!          | "flags" LETTERS            (all of them set; F S R P A U E C N)
//!          | ("tos"|"flags") "mask" M "=" V   ((value & M) == V)
//!          | ("tos"|"packets"|"bytes"|"duration"|"pps"|"bps"|"bpp"
//!             |"engine-type"|"engine-id"|"source-id"|"sampling") numtest
//!          | ("first"|"last") CMP TIME
//! numtest := [CMP] VALUE | VALUE-VALUE | "in" "[" VALUE[-VALUE], ... "]"
//! CMP     := = == != < <= > >= eq ne lt le gt ge
//! TIME    := RFC 3339 (with Z or an offset) | YYYY-MM-DD[(T| )HH:MM[:SS[.mmm]]]
//! ```
//!
//! Numbers take k, M, G suffixes (powers of 1000), durations ms, s, m, h
//! (a bare number is ms, as in nfdump), ports also service names. A value
//! outside its field's range (`tos 300`, `as 4294967296`, a port over
//! 65535) is refused with the range. Without `src`/`dst` an address, port,
//! AS or interface test matches either end. A TIME without an offset is
//! read in the zone of the [`Options`] (UTC by default). `#` starts a
//! comment. Parentheses and `not` nest at most [`MAX_NESTING`] deep, and
//! so does the filter as printed, where every "and"/"or" group and every
//! test of either end is a level of its own.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::expr::{time_key, AddrField, Cmp, Expr, Net, NumField, FLAG_LETTERS};
use crate::lex::{lex, Tok, Token};
use crate::{FilterError, Options, WallClock};

/// How deep parentheses and `not` may nest (over `@include`d files too).
/// Deeper text is refused: the parser, and the evaluation, printing and
/// dropping of the compiled tree, recurse once a level.
pub const MAX_NESTING: usize = 256;

const KEYWORDS: &str = "any, ipv4, ipv6, tcp, udp, icmp, proto, [src|dst] ip/host/net, [src|dst] port, \
[src|dst] as, [src|dst] mask, [in|out] if, next-hop, exporter, flags, tos, packets, bytes, duration, pps, bps, \
bpp, first, last, engine-type, engine-id, source-id, sampling, not, (, @include";

const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("tcp", 6),
    ("egp", 8),
    ("udp", 17),
    ("ipv6-encap", 41),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmp6", 58),
    ("ipv6-icmp", 58),
    ("eigrp", 88),
    ("ospf", 89),
    ("pim", 103),
    ("vrrp", 112),
    ("l2tp", 115),
    ("sctp", 132),
];

const SERVICES: &[(&str, u64)] = &[
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("dns", 53),
    ("http", 80),
    ("ntp", 123),
    ("snmp", 161),
    ("bgp", 179),
    ("https", 443),
    ("syslog", 514),
    ("submission", 587),
    ("imaps", 993),
    ("netflow", 2055),
    ("ipfix", 4739),
];

struct Parser<'o> {
    toks: Vec<Token>,
    pos: usize,
    file: Option<PathBuf>,
    /// `@include` depth.
    depth: usize,
    /// Parentheses and `not`s open around the current position.
    nesting: usize,
    options: &'o Options,
}

/// Parses an expression; `file` (for `@include` paths and messages) is
/// where the text came from, if a file.
pub fn parse(text: &str, file: Option<&Path>, options: &Options) -> Result<Expr, FilterError> {
    parse_at_depth(text, file, 0, 0, options)
}

fn parse_at_depth(
    text: &str,
    file: Option<&Path>,
    depth: usize,
    nesting: usize,
    options: &Options,
) -> Result<Expr, FilterError> {
    let mut p = Parser {
        toks: lex(text),
        pos: 0,
        file: file.map(Path::to_path_buf),
        depth,
        nesting,
        options,
    };
    if p.peek() == &Tok::End {
        return Ok(Expr::Any);
    }
    let start = p.toks[0].clone();
    let e = p.or()?;
    if p.peek() != &Tok::End {
        return Err(p.err("\"and\", \"or\" or the end of the expression"));
    }
    // The tree as printed nests deeper than the text it came from (every
    // "and" and "or" group is printed in parentheses, and so is a test of
    // either end): bounded too, what parses prints as text that parses.
    if depth == 0 && printed_nesting(&e) > MAX_NESTING {
        return Err(p.err_msg(
            &start,
            format!(
                "nesting deeper than {MAX_NESTING} once \"and\"/\"or\" groups and tests of \
                 either end are counted"
            ),
        ));
    }
    Ok(e)
}

/// How deep `e` nests as printed: a level per "not" and per "and"/"or"
/// group (the parser's recursion bounds this to a few times
/// [`MAX_NESTING`]).
fn printed_nesting(e: &Expr) -> usize {
    match e {
        Expr::Not(x) => 1 + printed_nesting(x),
        Expr::And(v) | Expr::Or(v) => 1 + v.iter().map(printed_nesting).max().unwrap_or(0),
        _ => 0,
    }
}

fn lower(t: &Tok) -> Option<String> {
    match t {
        Tok::Word(w) => Some(w.to_ascii_lowercase()),
        _ => None,
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].kind
    }

    fn peek_word(&self) -> Option<String> {
        lower(self.peek())
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn err(&self, expected: &str) -> FilterError {
        let t = &self.toks[self.pos];
        FilterError {
            file: self.file.as_ref().map(|p| p.display().to_string()),
            line: t.line,
            col: t.col,
            message: format!("expected {expected}, found {}", t.kind.describe()),
        }
    }

    fn err_msg(&self, at: &Token, message: String) -> FilterError {
        FilterError {
            file: self.file.as_ref().map(|p| p.display().to_string()),
            line: at.line,
            col: at.col,
            message,
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word().as_deref() == Some(w) {
            self.next();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut v = vec![self.and()?];
        while self.eat_word("or") || self.eat_word("||") {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut v = vec![self.unary()?];
        while self.eat_word("and") || self.eat_word("&&") {
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let not = self.peek_word().as_deref() == Some("not") || self.peek() == &Tok::Bang;
        if not || self.peek() == &Tok::LParen {
            let at = self.next();
            if self.nesting >= MAX_NESTING {
                return Err(self.err_msg(
                    &at,
                    format!("nesting deeper than {MAX_NESTING} (parentheses and \"not\")"),
                ));
            }
            self.nesting += 1;
            let e = if not {
                self.unary().map(|e| Expr::Not(Box::new(e)))
            } else {
                self.or().and_then(|e| {
                    if self.peek() != &Tok::RParen {
                        return Err(self.err("\")\""));
                    }
                    self.next();
                    Ok(e)
                })
            };
            self.nesting -= 1;
            return e;
        }
        self.test()
    }

    fn include(&mut self) -> Result<Expr, FilterError> {
        let at = self.next();
        if !self.options.includes() {
            return Err(self.err_msg(
                &at,
                "@include is not allowed here (this filter may not read files)".into(),
            ));
        }
        let Tok::Word(name) = at.kind.clone() else {
            return Err(self.err_msg(&at, "expected a file name after @include".into()));
        };
        if self.depth >= 16 {
            return Err(self.err_msg(&at, "@include nested more than 16 deep (a loop?)".into()));
        }
        let path = match self.file.as_ref().and_then(|f| f.parent()) {
            Some(dir) if Path::new(&name).is_relative() => dir.join(&name),
            _ => PathBuf::from(&name),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.err_msg(&at, format!("cannot read @include {}: {e}", path.display()))
        })?;
        parse_at_depth(
            &text,
            Some(&path),
            self.depth + 1,
            self.nesting,
            self.options,
        )
    }

    fn test(&mut self) -> Result<Expr, FilterError> {
        let at = self.toks[self.pos].clone();
        let Some(w) = self.peek_word() else {
            return Err(self.err(&format!("a filter test ({KEYWORDS})")));
        };
        self.next();
        // Direction prefix.
        let dir = match w.as_str() {
            "src" => Some(true),
            "dst" => Some(false),
            _ => None,
        };
        let (w, at) = if dir.is_some() {
            let at = self.toks[self.pos].clone();
            (
                self.next_word(&format!("ip, host, net, port, as or mask after {w}"))?,
                at,
            )
        } else {
            (w, at)
        };
        let both = |src: Expr, dst: Expr| match dir {
            Some(true) => src,
            Some(false) => dst,
            None => Expr::Or(vec![src, dst]),
        };
        match w.as_str() {
            "@include" if dir.is_none() => self.include(),
            "any" | "all" if dir.is_none() => Ok(Expr::Any),
            "ipv4" | "inet" if dir.is_none() => Ok(Expr::Family(4)),
            "ipv6" | "inet6" if dir.is_none() => Ok(Expr::Family(6)),
            "proto" if dir.is_none() => self.numtest(NumField::Protocol, Kind::Protocol),
            "ip" | "host" | "net" | "addr" => {
                let nets = self.nets(w == "net")?;
                Ok(both(
                    Expr::Addr(AddrField::Src, nets.clone()),
                    Expr::Addr(AddrField::Dst, nets),
                ))
            }
            "port" => {
                let s = self.numtest(NumField::SrcPort, Kind::Port)?;
                Ok(both(s.clone(), retarget(s, NumField::DstPort)))
            }
            "as" => {
                let s = self.numtest(NumField::SrcAs, Kind::Plain)?;
                Ok(both(s.clone(), retarget(s, NumField::DstAs)))
            }
            "mask" => {
                let s = self.numtest(NumField::SrcMask, Kind::Plain)?;
                Ok(both(s.clone(), retarget(s, NumField::DstMask)))
            }
            "in" | "out" if dir.is_none() => {
                let f = if w == "in" {
                    NumField::InIf
                } else {
                    NumField::OutIf
                };
                if !self.eat_word("if") {
                    return Err(self.err(&format!("\"if\" after \"{w}\"")));
                }
                self.numtest(f, Kind::Plain)
            }
            "if" if dir.is_none() => {
                let s = self.numtest(NumField::InIf, Kind::Plain)?;
                Ok(Expr::Or(vec![s.clone(), retarget(s, NumField::OutIf)]))
            }
            "next-hop" | "nexthop" if dir.is_none() => {
                Ok(Expr::Addr(AddrField::NextHop, self.nets(true)?))
            }
            "exporter" | "router" if dir.is_none() => {
                Ok(Expr::Addr(AddrField::Exporter, self.nets(true)?))
            }
            "tos" | "flags" | "tcp-flags"
                if dir.is_none() && self.peek_word().as_deref() == Some("mask") =>
            {
                self.next();
                let field = if w == "tos" {
                    NumField::Tos
                } else {
                    NumField::TcpFlags
                };
                let mt = self.next();
                let mask = self.value(&mt, field, Kind::Plain)?;
                if !matches!(self.peek(), Tok::Op(o) if o == "=" || o == "==")
                    && !self.eat_word("eq")
                {
                    return Err(self.err("\"=\" after the mask"));
                }
                if matches!(self.peek(), Tok::Op(_)) {
                    self.next();
                }
                let vt = self.next();
                let want = self.value(&vt, field, Kind::Plain)?;
                Ok(Expr::Masked(field, mask, want & mask))
            }
            "flags" | "tcp-flags" if dir.is_none() => {
                let t = self.next();
                let Tok::Word(letters) = &t.kind else {
                    return Err(self.err_msg(
                        &t,
                        "expected TCP flag letters (F S R P A U E C N) after flags".into(),
                    ));
                };
                let mut bits = 0u16;
                if let Some(n) = parse_number(letters) {
                    bits = u16::try_from(n).map_err(|_| {
                        self.err_msg(&t, format!("flags {letters} is more than 16 bits"))
                    })?;
                } else {
                    for c in letters.to_ascii_uppercase().chars() {
                        let b = FLAG_LETTERS
                            .iter()
                            .find(|(l, _)| *l == c)
                            .map(|(_, b)| *b)
                            .ok_or_else(|| {
                                self.err_msg(
                                    &t,
                                    format!(
                                        "{c:?} is not a TCP flag letter; use F S R P A U E C N"
                                    ),
                                )
                            })?;
                        bits |= b;
                    }
                }
                Ok(Expr::Flags(bits))
            }
            "tos" if dir.is_none() => self.numtest(NumField::Tos, Kind::Plain),
            "packets" | "pkts" if dir.is_none() => self.numtest(NumField::Packets, Kind::Plain),
            "bytes" | "octets" if dir.is_none() => self.numtest(NumField::Bytes, Kind::Plain),
            "duration" if dir.is_none() => self.numtest(NumField::Duration, Kind::Duration),
            "pps" if dir.is_none() => self.numtest(NumField::Pps, Kind::Plain),
            "bps" if dir.is_none() => self.numtest(NumField::Bps, Kind::Plain),
            "bpp" if dir.is_none() => self.numtest(NumField::Bpp, Kind::Plain),
            "engine-type" if dir.is_none() => self.numtest(NumField::EngineType, Kind::Plain),
            "engine-id" if dir.is_none() => self.numtest(NumField::EngineId, Kind::Plain),
            "source-id" if dir.is_none() => self.numtest(NumField::SourceId, Kind::Plain),
            "sampling" if dir.is_none() => self.numtest(NumField::Sampling, Kind::Plain),
            "first" | "start" if dir.is_none() => self.numtest(NumField::First, Kind::Time),
            "last" | "end" if dir.is_none() => self.numtest(NumField::Last, Kind::Time),
            p if dir.is_none() && PROTOCOLS.iter().any(|(n, _)| *n == p) => {
                let n = PROTOCOLS
                    .iter()
                    .find(|(n, _)| *n == p)
                    .map(|(_, v)| *v)
                    .unwrap_or(0);
                Ok(Expr::Num(NumField::Protocol, Cmp::Eq, u64::from(n)))
            }
            _ => Err(self.err_msg(
                &at,
                format!("unknown filter test {:?}; valid: {KEYWORDS}", word_of(&at)),
            )),
        }
    }

    fn next_word(&mut self, expected: &str) -> Result<String, FilterError> {
        match self.peek_word() {
            Some(w) => {
                self.next();
                Ok(w)
            }
            None => Err(self.err(expected)),
        }
    }

    /// ADDR[/LEN] [MASK] or "in" [ ... ].
    fn nets(&mut self, allow_mask: bool) -> Result<Vec<Net>, FilterError> {
        if self.eat_word("in") {
            return self.list(|p, t| p.net(t, false));
        }
        let t = self.next();
        let mut n = self.net(&t, allow_mask)?;
        if allow_mask && !matches!(t.kind, Tok::Word(ref w) if w.contains('/')) {
            // "net 10.0.0.0 255.0.0.0"
            if let Some(Tok::Word(m)) = Some(self.peek().clone()) {
                if let Some(len) = mask_len(&m) {
                    self.next();
                    n.len = len;
                }
            }
        }
        Ok(vec![n])
    }

    fn net(&self, t: &Token, _allow_mask: bool) -> Result<Net, FilterError> {
        let Tok::Word(w) = &t.kind else {
            return Err(self.err_msg(
                t,
                format!(
                    "expected an address or network, found {}",
                    t.kind.describe()
                ),
            ));
        };
        let (a, len) = match w.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (w.as_str(), None),
        };
        let addr: IpAddr = a.parse().map_err(|_| {
            self.err_msg(
                t,
                format!("{w:?} is not an IPv4 or IPv6 address or network"),
            )
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len =
            match len {
                None => max,
                Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| {
                    self.err_msg(t, format!("{w:?}: prefix length must be 0..{max}"))
                })?,
            };
        Ok(Net { addr, len })
    }

    fn list<T>(
        &mut self,
        mut item: impl FnMut(&Self, &Token) -> Result<T, FilterError>,
    ) -> Result<Vec<T>, FilterError> {
        if self.peek() != &Tok::LBracket {
            return Err(self.err("\"[\" to open a list"));
        }
        self.next();
        let mut v = Vec::new();
        loop {
            let t = self.next();
            v.push(item(self, &t)?);
            match self.peek() {
                Tok::Comma => {
                    self.next();
                }
                Tok::RBracket => {
                    self.next();
                    return Ok(v);
                }
                Tok::Word(_) => {} // items may also be separated by spaces
                _ => return Err(self.err("\",\" or \"]\"")),
            }
        }
    }

    fn numtest(&mut self, field: NumField, kind: Kind) -> Result<Expr, FilterError> {
        let cmp = match self.peek().clone() {
            Tok::Op(o) => {
                self.next();
                Some(match o.as_str() {
                    "=" | "==" => Cmp::Eq,
                    "!=" => Cmp::Ne,
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    _ => Cmp::Ge,
                })
            }
            Tok::Word(w) => match w.to_ascii_lowercase().as_str() {
                "eq" => Some(Cmp::Eq),
                "ne" => Some(Cmp::Ne),
                "lt" => Some(Cmp::Lt),
                "le" => Some(Cmp::Le),
                "gt" => Some(Cmp::Gt),
                "ge" => Some(Cmp::Ge),
                "in" => {
                    self.next();
                    let ranges = self.list(|p, t| p.range(t, field, kind))?;
                    return Ok(Expr::NumIn(field, ranges));
                }
                _ => None,
            },
            _ => None,
        };
        if cmp.is_some()
            && matches!(self.peek(), Tok::Word(w) if ["eq","ne","lt","le","gt","ge"].contains(&w.to_ascii_lowercase().as_str()))
        {
            self.next();
        }
        let t = self.next();
        if kind == Kind::Time {
            // A date and a time of day as two words: "2026-11-22 10:00".
            if let (Tok::Word(date), Tok::Word(clock)) = (&t.kind, self.peek()) {
                if is_date(date) && is_clock(clock) {
                    let text = format!("{date}T{clock}");
                    self.next();
                    let v = self.value_text(&t, &text, field, kind)?;
                    return Ok(Expr::Num(field, cmp.unwrap_or(Cmp::Eq), v));
                }
            }
        }
        match cmp {
            Some(c) => Ok(Expr::Num(field, c, self.value(&t, field, kind)?)),
            None => {
                let (lo, hi) = self.range(&t, field, kind)?;
                Ok(if lo == hi {
                    Expr::Num(field, Cmp::Eq, lo)
                } else {
                    Expr::NumIn(field, vec![(lo, hi)])
                })
            }
        }
    }

    fn range(&self, t: &Token, field: NumField, kind: Kind) -> Result<(u64, u64), FilterError> {
        if let Tok::Word(w) = &t.kind {
            if kind != Kind::Time {
                if let Some((a, b)) = w.split_once('-').filter(|(a, _)| !a.is_empty()) {
                    let lo = self.value_text(t, a, field, kind)?;
                    let hi = self.value_text(t, b, field, kind)?;
                    if lo > hi {
                        return Err(self.err_msg(t, format!("range {w:?} is empty")));
                    }
                    return Ok((lo, hi));
                }
            }
        }
        let v = self.value(t, field, kind)?;
        Ok((v, v))
    }

    fn value(&self, t: &Token, field: NumField, kind: Kind) -> Result<u64, FilterError> {
        match &t.kind {
            Tok::Word(w) => self.value_text(t, w, field, kind),
            other => Err(self.err_msg(t, format!("expected a value, found {}", other.describe()))),
        }
    }

    /// The value `w` of `field`, refused when it is not one or is out of
    /// the field's range (which the message gives).
    fn value_text(
        &self,
        t: &Token,
        w: &str,
        field: NumField,
        kind: Kind,
    ) -> Result<u64, FilterError> {
        let bad = |what: &str| self.err_msg(t, format!("{w:?} is not {what}"));
        let lw = w.to_ascii_lowercase();
        let v: u128 =
            match kind {
                Kind::Protocol => PROTOCOLS
                    .iter()
                    .find(|(n, _)| *n == lw)
                    .map(|(_, v)| u128::from(*v))
                    .or_else(|| parse_number(w).filter(|v| *v <= 255))
                    .ok_or_else(|| bad("a protocol (tcp, udp, icmp... or 0-255)"))?,
                Kind::Port => SERVICES
                    .iter()
                    .find(|(n, _)| *n == lw)
                    .map(|(_, v)| u128::from(*v))
                    .or_else(|| parse_number(w).filter(|v| *v <= 65_535))
                    .ok_or_else(|| bad("a port (0-65535 or a service name)"))?,
                Kind::Plain => {
                    parse_scaled(w).ok_or_else(|| bad("a number (k, M, G suffixes allowed)"))?
                }
                Kind::Duration => parse_duration_ms(&lw)
                    .ok_or_else(|| bad("a duration (ms, s, m, h; bare numbers are ms)"))?,
                Kind::Time => return parse_time(w, self.options.zone()).map(time_key).ok_or_else(
                    || bad("a time (RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] in the filter's zone)"),
                ),
            };
        let max = field.max();
        u64::try_from(v)
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(|| bad(&format!("{} (0-{max})", field.what())))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Protocol,
    Port,
    Plain,
    Duration,
    Time,
}

fn word_of(t: &Token) -> String {
    match &t.kind {
        Tok::Word(w) => w.clone(),
        other => other.describe(),
    }
}

/// A source test turned into the same test of the destination.
fn retarget(e: Expr, field: NumField) -> Expr {
    match e {
        Expr::Num(_, c, v) => Expr::Num(field, c, v),
        Expr::NumIn(_, r) => Expr::NumIn(field, r),
        other => other,
    }
}

/// An unsigned number, decimal or 0x hexadecimal, exactly: as a u128 so
/// that one too large for its field says so rather than failing to parse
/// (a longer run of digits saturates, still too large for any field).
fn parse_number(w: &str) -> Option<u128> {
    let (digits, radix) = match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (w, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(u128::from_str_radix(digits, radix).unwrap_or(u128::MAX))
}

/// A decimal with a scale, rounded, as [`parse_number`] does: `None` for
/// what is not a finite number of at least 0.
fn scaled(num: &str, scale: f64) -> Option<u128> {
    let n: f64 = num.parse().ok()?;
    let v = n * scale;
    // `as` saturates: a value of 2^128 or more stays too large.
    (v.is_finite() && n >= 0.0).then(|| v.round() as u128)
}

/// 1500, 10k, 1.5M, 2G (powers of 1000, as nfdump).
fn parse_scaled(w: &str) -> Option<u128> {
    let (num, scale) = match w.chars().last()? {
        'k' | 'K' => (&w[..w.len() - 1], 1e3),
        'm' | 'M' => (&w[..w.len() - 1], 1e6),
        'g' | 'G' => (&w[..w.len() - 1], 1e9),
        't' | 'T' => (&w[..w.len() - 1], 1e12),
        _ => return parse_number(w),
    };
    scaled(num, scale)
}

fn parse_duration_ms(w: &str) -> Option<u128> {
    let split = w
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(w.len());
    let (n, unit) = w.split_at(split);
    let scale = match unit {
        "" | "ms" => return parse_number(n).or_else(|| scaled(n, 1.0)),
        "s" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        _ => return None,
    };
    scaled(n, scale)
}

/// YYYY-MM-DD.
fn is_date(w: &str) -> bool {
    chrono::NaiveDate::parse_from_str(w, "%Y-%m-%d").is_ok() && !w.contains('T')
}

/// HH:MM[:SS[.fff]].
fn is_clock(w: &str) -> bool {
    ["%H:%M", "%H:%M:%S", "%H:%M:%S%.f"]
        .iter()
        .any(|f| chrono::NaiveTime::parse_from_str(w, f).is_ok())
}

fn parse_time(w: &str, zone: &dyn WallClock) -> Option<i64> {
    // Years 0000 to 9999 only: what prints as YYYY-MM-DD and parses back
    // (the filter_expression fuzz target found "+22026-1-22T1:00:05").
    const YEAR_0: i64 = -62_167_219_200_000;
    const YEAR_10000: i64 = 253_402_300_800_000;
    parse_any_time(w, zone).filter(|ms| (YEAR_0..YEAR_10000).contains(ms))
}

/// An RFC 3339 time (with its offset), a date and time ending in Z (UTC),
/// or a date and time or a date (midnight) in `zone`.
fn parse_any_time(w: &str, zone: &dyn WallClock) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(w) {
        return Some(t.timestamp_millis());
    }
    let (text, utc) = match w.strip_suffix('Z') {
        Some(t) => (t, true),
        None => (w, false),
    };
    let in_zone = |n: chrono::NaiveDateTime| {
        if utc {
            n.and_utc().timestamp_millis()
        } else {
            zone.instant(n)
        }
    };
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Some(in_zone(n));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(in_zone(d.and_hms_opt(0, 0, 0)?));
    }
    None
}

/// The prefix length of a dotted IPv4 mask (255.255.0.0 -> 16).
fn mask_len(w: &str) -> Option<u8> {
    let m: std::net::Ipv4Addr = w.parse().ok()?;
    let v = u32::from(m);
    let len = v.leading_ones();
    (v.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}
