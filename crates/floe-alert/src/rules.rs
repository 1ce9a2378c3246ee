//! The rules file: TOML, one `[[rule]]` table per rule, presets expanded,
//! every mistake reported with its file, line, column and rule.
//!
//! A rule is a filter, a metric, an optional group-by key (a report key
//! name), a window and a condition, with actions. Internally a rule is a
//! list of [`Check`]s (a preset may make several: a quota's 80, 90 and
//! 100% levels, a scan's ports and hosts), and each check counts over an
//! [`AggSpec`]; checks with the same filter, key, source and window share
//! one, so a quota's levels cost one table.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use floe_filter::{Filter, Options, WallClock};
use floe_report::{AddrFormat, KeyPart, ReportType};
use floe_store::Zone;
use serde::Deserialize;
use toml::Spanned;

use crate::error::RulesError;
use crate::value::parse_amount;
use crate::window::{AveragePeriod, WindowKind};

/// What a check measures in a window, per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Octets (bytes).
    Octets,
    /// Packets.
    Packets,
    /// Flows.
    Flows,
    /// Octets times 8 over the window's length.
    BitsPerSecond,
    /// Packets over the window's length, per second.
    PacketsPerSecond,
    /// Distinct destination addresses.
    DstHosts,
    /// Distinct destination ports.
    DstPorts,
    /// Distinct source addresses.
    Sources,
    /// Flows the exporters lost on the way (their sequence numbers), from
    /// the files' exporter counters.
    LostFlows,
}

impl Metric {
    /// The metric a rules file names (`octets`, `bits/s`, ...), aliases
    /// included; `None` for a name it does not know.
    pub fn parse(s: &str) -> Option<Metric> {
        Some(match s {
            "octets" | "bytes" => Metric::Octets,
            "packets" => Metric::Packets,
            "flows" => Metric::Flows,
            "bits/s" | "bps" => Metric::BitsPerSecond,
            "packets/s" | "pps" => Metric::PacketsPerSecond,
            "destination-hosts" | "dst-hosts" => Metric::DstHosts,
            "destination-ports" | "dst-ports" => Metric::DstPorts,
            "sources" | "source-hosts" | "src-hosts" => Metric::Sources,
            "lost-flows" => Metric::LostFlows,
            _ => return None,
        })
    }

    /// Its name as the rules file writes it and events show it.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Octets => "octets",
            Metric::Packets => "packets",
            Metric::Flows => "flows",
            Metric::BitsPerSecond => "bits/s",
            Metric::PacketsPerSecond => "packets/s",
            Metric::DstHosts => "destination-hosts",
            Metric::DstPorts => "destination-ports",
            Metric::Sources => "sources",
            Metric::LostFlows => "lost-flows",
        }
    }

    /// Where the metric's numbers come from.
    pub fn source(&self) -> Source {
        match self {
            Metric::DstHosts => Source::Distinct(Target::DstHost),
            Metric::DstPorts => Source::Distinct(Target::DstPort),
            Metric::Sources => Source::Distinct(Target::SrcHost),
            Metric::LostFlows => Source::LostFlows,
            _ => Source::Sums,
        }
    }
}

/// What a distinct count counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Destination addresses.
    DstHost,
    /// Destination ports.
    DstPort,
    /// Source addresses.
    SrcHost,
}

/// What a window's table holds per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// Flows, packets and octets.
    Sums,
    /// Those, and the distinct values of a field.
    Distinct(Target),
    /// The exporters' lost flows, from the files' counters (no flow read).
    LostFlows,
}

/// A group-by key: a report key name, its parts, address formats.
#[derive(Clone, Debug)]
pub struct KeySpec {
    /// As written (`ip-source-address`, `ip-address`, ...).
    pub name: String,
    /// Its parts, as reports define them.
    pub parts: Vec<KeyPart>,
    /// `ip-address` / `ip-port`: a flow counts under both of its ends.
    pub both_ends: bool,
    /// How source addresses go into the key: whole, or cut to a prefix.
    pub src_format: AddrFormat,
    /// How destination addresses go into the key: whole, or cut to a prefix.
    pub dst_format: AddrFormat,
    /// The names of the parts, as columns.
    pub columns: Vec<String>,
}

impl KeySpec {
    /// The flow fields the key reads.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for p in &self.parts {
            out.extend(p.fields());
            if self.both_ends {
                out.extend(p.other_end().fields());
            }
        }
        let by_mask =
            |f: &AddrFormat| f.style != floe_report::AddrStyle::Address && f.fixed.is_none();
        if by_mask(&self.src_format) {
            out.push("source-mask");
        }
        if by_mask(&self.dst_format) {
            out.push("destination-mask");
        }
        out
    }
}

/// What one window table counts: the flows a filter keeps, per key.
#[derive(Clone, Debug)]
pub struct AggSpec {
    /// The filter as written, if the rule has one.
    pub filter_text: Option<String>,
    /// The filter, compiled; `None` keeps every flow.
    pub filter: Option<Filter>,
    /// What the table holds per key.
    pub source: Source,
    /// The key the table is kept by: the rules' group key, or for rules
    /// without one the key their alerts list the top of (`top_by`). A rule
    /// by a key and a rule without one listing the same key share a table.
    pub key: Option<KeySpec>,
    /// Distinct values are counted per key (rules with a group key), or
    /// over all the flows.
    pub pairs_by_key: bool,
    /// The window the table counts over.
    pub window: WindowKind,
    /// The rule that asked for it first (for messages).
    pub rule: String,
    /// Identifies the table in the state file: everything above.
    pub signature: String,
}

impl AggSpec {
    /// The flow fields this table needs decoded.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = vec!["octets", "packets"];
        if let Some(f) = &self.filter {
            out.extend(f.fields());
        }
        if let Some(k) = &self.key {
            out.extend(k.fields());
        }
        match self.source {
            Source::Distinct(Target::DstHost) => out.push("ip-destination-address"),
            Source::Distinct(Target::DstPort) => out.push("ip-destination-port"),
            Source::Distinct(Target::SrcHost) => out.push("ip-source-address"),
            _ => {}
        }
        out
    }

    /// Whether the table reads flows (lost flows come from counters).
    pub fn reads_flows(&self) -> bool {
        self.source != Source::LostFlows
    }
}

/// Once while true, or each window it is true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Fires when it becomes true, then not again until a window ends
    /// with it false.
    Once,
    /// Fires in every window where it is true (once per window).
    Each,
}

/// One condition of a rule on one table.
#[derive(Clone, Debug)]
pub struct Check {
    /// Which of the rule's checks: empty for a plain rule, `80%`, `ports`.
    pub label: String,
    /// Index in [`RuleSet::aggs`].
    pub agg: usize,
    /// What the check measures.
    pub metric: Metric,
    /// Per key (the rule has a group key), or over all the flows.
    pub grouped: bool,
    /// Holds when the value is above this.
    pub above: Option<f64>,
    /// Holds when the value is below this.
    pub below: Option<f64>,
    /// K times the key's own average per window over the past period.
    pub above_average: Option<(f64, AveragePeriod)>,
    /// Closed windows in a row the condition must hold before it fires (1:
    /// the first).
    pub consecutive: u32,
    /// Windows of silence after it fires.
    pub hold: u32,
    /// Whether it fires once while true or in each window it is true.
    pub repeat: Repeat,
    /// For `below` with a key: how many windows a key is remembered after
    /// its last traffic (a key with no traffic at all is in no table).
    pub remember: u32,
}

impl Check {
    /// Only an absolute `above`: a running total crossing it is final,
    /// so it is checked at every file, not only when the window ends.
    pub fn early(&self) -> bool {
        self.above.is_some() && self.below.is_none() && self.above_average.is_none()
    }

    /// The condition in words: `above 100`, `above 3 x its day average`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = self.above {
            parts.push(format!("above {}", crate::value::human(a)));
        }
        if let Some((k, p)) = self.above_average {
            parts.push(format!(
                "above {k} x its average over the last {}",
                p.name()
            ));
        }
        if let Some(b) = self.below {
            parts.push(format!("below {}", crate::value::human(b)));
        }
        parts.join(" and ")
    }
}

/// What to do when a rule fires or clears.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// Addresses the alert is mailed to.
    pub mail_to: Vec<String>,
    /// Subject template (see the README for its fields).
    pub subject: Option<String>,
    /// A program and its arguments, run with the alert as JSON on stdin.
    pub command: Option<Vec<String>>,
    /// A file the alert is appended to, as one JSON line.
    pub log: Option<PathBuf>,
}

impl Actions {
    /// Whether there is nothing to do: no mail, command or log.
    pub fn is_empty(&self) -> bool {
        self.mail_to.is_empty() && self.command.is_none() && self.log.is_none()
    }
}

/// A rule as the user named it.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The rule's name.
    pub name: String,
    /// The preset it was made from, if any.
    pub preset: Option<String>,
    /// Its checks: one for a plain rule, several for some presets.
    pub checks: Vec<Check>,
    /// What to do when it fires or clears.
    pub actions: Actions,
    /// Send a notice when an alert clears.
    pub resolved: bool,
    /// Keys listed with an alert.
    pub top: usize,
    /// Levels of one quantity (a quota): when several fire at once for a
    /// key, only the highest is sent.
    pub levels: bool,
    /// Where the rule starts in the file.
    pub line: usize,
}

/// Mail settings of the rules file (`[mail]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailSettings {
    /// The SMTP server, `host:port`.
    pub smtp: Option<String>,
    /// The sender's address.
    pub from: Option<String>,
    /// Require STARTTLS before sending.
    pub starttls: bool,
    /// A CA certificate file trusted besides the system's (for STARTTLS).
    pub ca: Option<PathBuf>,
    /// The user to log in to the SMTP server as.
    pub user: Option<String>,
    /// A sendmail program to hand the mail to instead of SMTP.
    pub sendmail: Option<PathBuf>,
}

/// A rules file, checked.
#[derive(Clone, Debug)]
pub struct RuleSet {
    /// The rules file.
    pub path: PathBuf,
    /// Its rules, in the file's order.
    pub rules: Vec<Rule>,
    /// The window tables the rules' checks count over (checks that can share
    /// one do).
    pub aggs: Vec<AggSpec>,
    /// The zone windows align in (`zone = ...`; the caller's otherwise).
    pub zone: Option<String>,
    /// The `[mail]` settings.
    pub mail: MailSettings,
    /// Most distinct keys a window table holds.
    pub max_keys: usize,
}

/// Default most keys per window table.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;
/// Default keys listed with an alert.
pub const DEFAULT_TOP: usize = 10;
/// Most checks a rules file may define (a bound on the work per flow).
pub const MAX_CHECKS: usize = 1000;

/// The SYN scan preset's flow-level definition (see the README): TCP
/// flows with SYN and without ACK of at most this many packets.
pub const SYN_SCAN_MAX_PACKETS: u64 = 3;
/// The UDP amplification preset's source ports: DNS, NTP, CLDAP, SSDP,
/// memcached.
pub const AMPLIFICATION_PORTS: &[u16] = &[53, 123, 389, 1900, 11211];

/// A number or a string with a suffix (`"50G"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Amount {
    Num(f64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActions {
    mail_to: Option<Spanned<Vec<String>>>,
    subject: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
    log: Option<Spanned<String>>,
    resolved: Option<Spanned<bool>>,
    top: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    smtp: Option<String>,
    from: Option<String>,
    #[serde(default)]
    starttls: bool,
    ca: Option<String>,
    user: Option<String>,
    sendmail: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    zone: Option<Spanned<String>>,
    max_keys: Option<Spanned<i64>>,
    mail: Option<RawMail>,
    defaults: Option<RawActions>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<Spanned<String>>,
    preset: Option<Spanned<String>>,
    filter: Option<Spanned<String>>,
    metric: Option<Spanned<String>>,
    by: Option<Spanned<String>>,
    src_format: Option<Spanned<String>>,
    dst_format: Option<Spanned<String>>,
    window: Option<Spanned<String>>,
    month_starts: Option<Spanned<i64>>,
    above: Option<Spanned<Amount>>,
    below: Option<Spanned<Amount>>,
    above_average: Option<Spanned<f64>>,
    average_over: Option<Spanned<String>>,
    consecutive: Option<Spanned<i64>>,
    hold: Option<Spanned<i64>>,
    repeat: Option<Spanned<String>>,
    remember: Option<Spanned<i64>>,
    // Presets' own settings.
    limit: Option<Spanned<Amount>>,
    levels: Option<Spanned<Vec<f64>>>,
    ports: Option<Spanned<Amount>>,
    hosts: Option<Spanned<Amount>>,
    max_packets: Option<Spanned<i64>>,
    sources: Option<Spanned<Amount>>,
    source_ports: Option<Spanned<Vec<i64>>>,
    factor: Option<Spanned<f64>>,
    // Actions.
    mail_to: Option<Spanned<Vec<String>>>,
    subject: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
    log: Option<Spanned<String>>,
    resolved: Option<Spanned<bool>>,
    top: Option<Spanned<i64>>,
    top_by: Option<Spanned<String>>,
}

/// The presets, by name.
pub const PRESETS: &[(&str, &str)] = &[
    ("quota", "a host's bytes over `limit` per day or month, warnings at `levels` (80, 90, 100%)"),
    ("syn-scan", "a source sending SYN-only flows of at most `max_packets` packets to more than `ports` destination ports or `hosts` destination hosts in the window"),
    ("udp-amplification", "more than `sources` sources sending from UDP ports 53, 123, 389, 1900, 11211 (`source_ports`) to one destination"),
    ("silent-exporter", "an exporter that sent flows in the previous windows sends none"),
    ("lost-flows", "an exporter's lost flows above `above` and above `factor` times its average over `average_over`"),
];

/// Reads and checks a rules file. `zone` is the caller's zone, used when
/// the file names none (for the filters' times).
pub fn load(path: &Path, zone: &Zone) -> Result<RuleSet, RulesError> {
    let text = std::fs::read_to_string(path).map_err(|e| RulesError {
        file: path.display().to_string(),
        line: 0,
        col: 0,
        rule: None,
        message: e.to_string(),
    })?;
    parse(&text, path, zone)
}

/// Where mistakes are, in the text.
struct Ctx<'a> {
    text: &'a str,
    file: String,
    rule: Option<String>,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> RulesError {
        let (line, col) = line_col(self.text, span.start);
        RulesError {
            file: self.file.clone(),
            line,
            col,
            rule: self.rule.clone(),
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses rules text (`path` names it in errors).
pub fn parse(text: &str, path: &Path, zone: &Zone) -> Result<RuleSet, RulesError> {
    let mut cx = Ctx {
        text,
        file: path.display().to_string(),
        rule: None,
    };
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.rule = rule_at(text, span.start);
            return Err(cx.err(span, e.message().trim().to_string()));
        }
    };
    let zone = match &raw.zone {
        Some(z) => Zone::parse(z.get_ref()).map_err(|m| cx.err(z.span(), m))?,
        None => zone.clone(),
    };
    let max_keys = match &raw.max_keys {
        Some(m) if *m.get_ref() < 1 => return Err(cx.err(m.span(), "max_keys must be at least 1")),
        Some(m) => usize::try_from(*m.get_ref()).unwrap_or(usize::MAX),
        None => DEFAULT_MAX_KEYS,
    };
    let mail = match raw.mail {
        Some(m) => MailSettings {
            smtp: m.smtp,
            from: m.from,
            starttls: m.starttls,
            ca: m.ca.map(PathBuf::from),
            user: m.user,
            sendmail: m.sendmail.map(PathBuf::from),
        },
        None => MailSettings::default(),
    };
    let defaults = raw.defaults.unwrap_or_default();
    let filter_options = Options::default().with_zone(ZoneClock(zone.clone()));
    let mut set = RuleSet {
        path: path.to_path_buf(),
        rules: Vec::new(),
        aggs: Vec::new(),
        zone: raw.zone.map(|z| z.into_inner()),
        mail,
        max_keys,
    };
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for spanned in raw.rule {
        let span = spanned.span();
        let r = spanned.into_inner();
        cx.rule = None;
        let name = match &r.name {
            Some(n) if n.get_ref().trim().is_empty() => {
                return Err(cx.err(n.span(), "a rule's name cannot be empty"))
            }
            Some(n) => n.get_ref().clone(),
            None => return Err(cx.err(span, "a rule needs a name")),
        };
        cx.rule = Some(name.clone());
        let (line, _) = line_col(text, span.start);
        if let Some(first) = names.insert(name.clone(), line) {
            return Err(cx.err(
                r.name.as_ref().map_or(span.clone(), |n| n.span()),
                format!("a rule of this name is already defined on line {first}"),
            ));
        }
        let rule = build_rule(&cx, &r, &defaults, &filter_options, &mut set.aggs, line)?;
        set.rules.push(rule);
    }
    let checks: usize = set.rules.iter().map(|r| r.checks.len()).sum();
    if checks > MAX_CHECKS {
        cx.rule = None;
        return Err(cx.err(0..0, format!("{checks} checks; at most {MAX_CHECKS}")));
    }
    Ok(set)
}

/// The name of the `[[rule]]` holding byte `offset`, for errors that toml
/// reports before the rules are read: the last `[[rule]]` header before
/// it, and that rule's `name = "..."` line.
fn rule_at(text: &str, offset: usize) -> Option<String> {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let start = text[..at].rfind("[[rule]]")?;
    let after = &text[start + 8..];
    let end = after.find("\n[").unwrap_or(after.len());
    after[..end].lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        if k.trim() != "name" {
            return None;
        }
        let v = v.trim();
        let v = v.strip_prefix('"')?;
        Some(v.split('"').next()?.to_string())
    })
}

/// Filters read their times in the rules' zone.
#[derive(Debug)]
struct ZoneClock(Zone);

impl WallClock for ZoneClock {
    fn instant(&self, local: chrono::NaiveDateTime) -> i64 {
        self.0.from_local(local)
    }
}

fn amount(cx: &Ctx, a: &Spanned<Amount>, what: &str) -> Result<f64, RulesError> {
    let v = match a.get_ref() {
        Amount::Num(n) => Some(*n).filter(|n| n.is_finite() && *n >= 0.0),
        Amount::Text(t) => parse_amount(t),
    };
    v.ok_or_else(|| {
        cx.err(
            a.span(),
            format!("{what}: expected a number of at least 0, such as 1500, 10k, 2.5M, 50G"),
        )
    })
}

fn count(cx: &Ctx, v: &Spanned<i64>, what: &str, min: i64, max: i64) -> Result<u32, RulesError> {
    let n = *v.get_ref();
    if n < min || n > max {
        return Err(cx.err(v.span(), format!("{what} must be from {min} to {max}")));
    }
    Ok(n as u32)
}

/// A report key name usable as a group-by key.
fn key_spec(
    cx: &Ctx,
    by: &Spanned<String>,
    src: Option<&Spanned<String>>,
    dst: Option<&Spanned<String>>,
) -> Result<KeySpec, RulesError> {
    let kind = ReportType::parse(by.get_ref()).map_err(|e| cx.err(by.span(), e.to_string()))?;
    if kind.count || kind.summary.is_some() {
        return Err(cx.err(
            by.span(),
            format!(
                "{:?} is a report, not a key: use the metrics destination-hosts, destination-ports or sources for distinct counts",
                by.get_ref()
            ),
        ));
    }
    if let Some(p) = kind.parts.iter().find(|p| {
        matches!(
            p,
            KeyPart::PacketSize
                | KeyPart::Octets
                | KeyPart::Packets
                | KeyPart::Bps
                | KeyPart::Pps
                | KeyPart::Duration
                | KeyPart::Interval
        )
    }) {
        return Err(cx.err(
            by.span(),
            format!(
                "{} is a distribution, not a key: group by addresses, prefixes, ports, protocol, ToS, interfaces, AS, exporter or engine",
                p.name()
            ),
        ));
    }
    let format = |f: Option<&Spanned<String>>| -> Result<AddrFormat, RulesError> {
        match f {
            Some(s) => AddrFormat::parse(s.get_ref()).map_err(|e| cx.err(s.span(), e.to_string())),
            None => Ok(AddrFormat::default()),
        }
    };
    Ok(KeySpec {
        name: kind.name.clone(),
        columns: kind.columns().iter().map(|c| c.to_string()).collect(),
        parts: kind.parts.clone(),
        both_ends: kind.both_ends,
        src_format: format(src)?,
        dst_format: format(dst)?,
    })
}

/// A group-by key from its report name and address formats (for
/// `floe usage --by`); the error says what is wrong.
pub fn key_from_name(
    by: &str,
    src_format: Option<&str>,
    dst_format: Option<&str>,
) -> Result<KeySpec, String> {
    let cx = Ctx {
        text: "",
        file: String::new(),
        rule: None,
    };
    let s = |t: Option<&str>| t.map(|t| Spanned::new(0..0, t.to_string()));
    key_spec(
        &cx,
        &Spanned::new(0..0, by.to_string()),
        s(src_format).as_ref(),
        s(dst_format).as_ref(),
    )
    .map_err(|e| e.message)
}

/// What a check needs besides its condition, from the rule or its preset.
struct Base {
    filter: Option<String>,
    filter_span: Range<usize>,
    key: Option<KeySpec>,
    window: WindowKind,
    consecutive: u32,
    hold: u32,
    repeat: Repeat,
    remember: u32,
}

fn build_rule(
    cx: &Ctx,
    r: &RawRule,
    defaults: &RawActions,
    filter_options: &Options,
    aggs: &mut Vec<AggSpec>,
    line: usize,
) -> Result<Rule, RulesError> {
    let name = cx.rule.clone().unwrap_or_default();
    let preset = r.preset.as_ref().map(|p| p.get_ref().as_str());
    if let Some(p) = &r.preset {
        if !PRESETS.iter().any(|(n, _)| n == p.get_ref()) {
            let names: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
            return Err(cx.err(
                p.span(),
                format!(
                    "unknown preset {:?}; presets: {}",
                    p.get_ref(),
                    names.join(", ")
                ),
            ));
        }
    }
    // Settings that belong to presets other than this rule's.
    let owned: &[(&str, &[&str])] = &[
        ("limit", &["quota"]),
        ("levels", &["quota"]),
        ("ports", &["syn-scan"]),
        ("hosts", &["syn-scan"]),
        ("max_packets", &["syn-scan"]),
        ("sources", &["udp-amplification"]),
        ("source_ports", &["udp-amplification"]),
        ("factor", &["lost-flows"]),
    ];
    let present = |k: &str| -> Option<Range<usize>> {
        match k {
            "limit" => r.limit.as_ref().map(|s| s.span()),
            "levels" => r.levels.as_ref().map(|s| s.span()),
            "ports" => r.ports.as_ref().map(|s| s.span()),
            "hosts" => r.hosts.as_ref().map(|s| s.span()),
            "max_packets" => r.max_packets.as_ref().map(|s| s.span()),
            "sources" => r.sources.as_ref().map(|s| s.span()),
            "source_ports" => r.source_ports.as_ref().map(|s| s.span()),
            "factor" => r.factor.as_ref().map(|s| s.span()),
            _ => None,
        }
    };
    for (k, presets) in owned {
        if let Some(span) = present(k) {
            if !preset.is_some_and(|p| presets.contains(&p)) {
                return Err(cx.err(
                    span,
                    format!("{k} is a setting of the preset {}", presets.join(", ")),
                ));
            }
        }
    }

    let window_default = "file";
    let month_starts = match &r.month_starts {
        Some(m) => count(cx, m, "month_starts", 1, 28)? as u8,
        None => 1,
    };
    let window = match &r.window {
        Some(w) => WindowKind::parse(w.get_ref(), month_starts).ok_or_else(|| {
            cx.err(
                w.span(),
                format!(
                    "unknown window {:?}; windows: file, hour, day, month",
                    w.get_ref()
                ),
            )
        })?,
        None if preset == Some("quota") => WindowKind::Day,
        None => WindowKind::parse(window_default, 1).unwrap_or(WindowKind::File),
    };
    if let (Some(m), false) = (&r.month_starts, matches!(window, WindowKind::Month(_))) {
        return Err(cx.err(m.span(), "month_starts is for window = \"month\""));
    }
    let repeat = match &r.repeat {
        Some(s) => match s.get_ref().as_str() {
            "once" | "once-while-true" => Repeat::Once,
            "each" | "each-time" | "each-window" => Repeat::Each,
            other => {
                return Err(cx.err(
                    s.span(),
                    format!("repeat {other:?}: expected \"once\" (once while true) or \"each\" (each window)"),
                ))
            }
        },
        None if preset == Some("quota") => Repeat::Each,
        None => Repeat::Once,
    };
    let consecutive = match &r.consecutive {
        Some(c) => count(cx, c, "consecutive", 1, 10_000)?,
        None => 1,
    };
    let hold = match &r.hold {
        Some(h) => count(cx, h, "hold", 0, 1_000_000)?,
        None => 0,
    };
    let remember = match &r.remember {
        Some(h) => count(cx, h, "remember", 1, 100_000)?,
        None => match window {
            // A day of files, a day of hours, a week of days.
            WindowKind::File => 144,
            WindowKind::Hour => 24,
            WindowKind::Day => 7,
            WindowKind::Month(_) => 2,
        },
    };

    let user_filter = r.filter.as_ref().map(|f| f.get_ref().trim().to_string());
    let filter_span = r.filter.as_ref().map_or(0..0, |f| f.span());
    let and_user = |base: &str| match &user_filter {
        Some(u) if !u.is_empty() => format!("({base}) and ({u})"),
        _ => base.to_string(),
    };
    let key = |default: Option<&str>| -> Result<Option<KeySpec>, RulesError> {
        match (&r.by, default) {
            (Some(b), _) => key_spec(cx, b, r.src_format.as_ref(), r.dst_format.as_ref()).map(Some),
            (None, Some(d)) => {
                let by = Spanned::new(0..0, d.to_string());
                key_spec(cx, &by, r.src_format.as_ref(), r.dst_format.as_ref()).map(Some)
            }
            (None, None) => {
                if let Some(f) = r.src_format.as_ref().or(r.dst_format.as_ref()) {
                    return Err(cx.err(f.span(), "an address format needs a key (by = ...)"));
                }
                Ok(None)
            }
        }
    };
    let mut base = Base {
        filter: user_filter.clone().filter(|f| !f.is_empty()),
        filter_span,
        key: None,
        window,
        consecutive,
        hold,
        repeat,
        remember,
    };
    let mut checks: Vec<(String, Metric, Cond)> = Vec::new();
    let no_condition = |what: &str| -> Result<(), RulesError> {
        if let Some(s) = r.above.as_ref().or(r.below.as_ref()) {
            return Err(cx.err(
                s.span(),
                format!("the {what} preset sets its own condition"),
            ));
        }
        if let Some(m) = &r.metric {
            return Err(cx.err(m.span(), format!("the {what} preset sets its own metric")));
        }
        Ok(())
    };
    let average =
        |factor: Option<&Spanned<f64>>| -> Result<Option<(f64, AveragePeriod)>, RulesError> {
            let Some(k) = factor else {
                if let Some(a) = &r.average_over {
                    return Err(cx.err(
                        a.span(),
                        "average_over goes with above_average (or a preset's factor)",
                    ));
                }
                return Ok(None);
            };
            if !(k.get_ref().is_finite() && *k.get_ref() > 0.0) {
                return Err(cx.err(k.span(), "the factor must be a number above 0"));
            }
            let period = match &r.average_over {
                Some(a) => AveragePeriod::parse(a.get_ref()).ok_or_else(|| {
                    cx.err(
                        a.span(),
                        format!("average_over {:?}: expected hour, day or week", a.get_ref()),
                    )
                })?,
                None => AveragePeriod::Day,
            };
            if period.ms() <= window.nominal_ms() {
                let span = r.average_over.as_ref().map_or(k.span(), |a| a.span());
                return Err(cx.err(
                    span,
                    format!(
                        "an average over the last {} needs a shorter window than {}",
                        period.name(),
                        window.name()
                    ),
                ));
            }
            Ok(Some((*k.get_ref(), period)))
        };
    match preset {
        Some("quota") => {
            no_condition("quota")?;
            let limit = match &r.limit {
                Some(l) => amount(cx, l, "limit")?,
                None => {
                    return Err(cx.err(
                        cx_span(r),
                        "the quota preset needs a limit (bytes, such as \"50G\")",
                    ))
                }
            };
            base.filter = user_filter.clone().filter(|f| !f.is_empty());
            base.key = key(Some("ip-address"))?;
            let levels = match &r.levels {
                Some(l) => {
                    if l.get_ref().is_empty() || l.get_ref().len() > 10 {
                        return Err(cx.err(l.span(), "levels: from 1 to 10 percentages"));
                    }
                    for v in l.get_ref() {
                        if !(v.is_finite() && *v > 0.0) {
                            return Err(cx.err(l.span(), "levels are percentages above 0"));
                        }
                    }
                    let mut v = l.get_ref().clone();
                    v.sort_by(f64::total_cmp);
                    v.dedup();
                    v
                }
                None => vec![80.0, 90.0, 100.0],
            };
            for lv in levels {
                checks.push((
                    format!("{lv}%"),
                    Metric::Octets,
                    Cond {
                        above: Some(limit * lv / 100.0),
                        ..Cond::default()
                    },
                ));
            }
        }
        Some("syn-scan") => {
            no_condition("syn-scan")?;
            let max_packets = match &r.max_packets {
                Some(m) => count(cx, m, "max_packets", 1, 1_000_000)?,
                None => SYN_SCAN_MAX_PACKETS as u32,
            };
            base.filter = Some(and_user(&format!(
                "proto tcp and flags S and not flags A and packets <= {max_packets}"
            )));
            base.key = key(Some("ip-source-address"))?;
            let ports = r
                .ports
                .as_ref()
                .map(|p| amount(cx, p, "ports"))
                .transpose()?;
            let hosts = r
                .hosts
                .as_ref()
                .map(|p| amount(cx, p, "hosts"))
                .transpose()?;
            let (ports, hosts) = match (ports, hosts) {
                (None, None) => (Some(100.0), Some(100.0)),
                x => x,
            };
            if let Some(p) = ports {
                checks.push((
                    "ports".into(),
                    Metric::DstPorts,
                    Cond {
                        above: Some(p),
                        ..Cond::default()
                    },
                ));
            }
            if let Some(h) = hosts {
                checks.push((
                    "hosts".into(),
                    Metric::DstHosts,
                    Cond {
                        above: Some(h),
                        ..Cond::default()
                    },
                ));
            }
        }
        Some("udp-amplification") => {
            no_condition("udp-amplification")?;
            let ports: Vec<u16> = match &r.source_ports {
                Some(p) => {
                    if p.get_ref().is_empty() || p.get_ref().len() > 64 {
                        return Err(cx.err(p.span(), "source_ports: from 1 to 64 ports"));
                    }
                    p.get_ref()
                        .iter()
                        .map(|n| {
                            u16::try_from(*n).map_err(|_| cx.err(p.span(), "ports are 0 to 65535"))
                        })
                        .collect::<Result<_, _>>()?
                }
                None => AMPLIFICATION_PORTS.to_vec(),
            };
            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
            base.filter = Some(and_user(&format!(
                "proto udp and src port in [{}]",
                list.join(",")
            )));
            base.key = key(Some("ip-destination-address"))?;
            let sources = match &r.sources {
                Some(s) => amount(cx, s, "sources")?,
                None => 50.0,
            };
            checks.push((
                String::new(),
                Metric::Sources,
                Cond {
                    above: Some(sources),
                    ..Cond::default()
                },
            ));
        }
        Some("silent-exporter") => {
            no_condition("silent-exporter")?;
            base.key = key(Some("ip-exporter-address"))?;
            checks.push((
                String::new(),
                Metric::Flows,
                Cond {
                    below: Some(1.0),
                    ..Cond::default()
                },
            ));
        }
        Some("lost-flows") => {
            if let Some(m) = &r.metric {
                return Err(cx.err(m.span(), "the lost-flows preset sets its own metric"));
            }
            if let Some(b) = &r.below {
                return Err(cx.err(
                    b.span(),
                    "the lost-flows preset watches lost flows rising: above and factor",
                ));
            }
            if let Some(f) = &r.filter {
                return Err(cx.err(
                    f.span(),
                    "lost flows come from the files' exporter counters: no filter applies",
                ));
            }
            base.key = key(Some("ip-exporter-address"))?;
            let above = match &r.above {
                Some(a) => amount(cx, a, "above")?,
                None => 0.0,
            };
            let default_factor = Spanned::new(0..0, 2.0);
            let avg = average(Some(r.factor.as_ref().unwrap_or(&default_factor)))?;
            checks.push((
                String::new(),
                Metric::LostFlows,
                Cond {
                    above: Some(above),
                    above_average: avg,
                    ..Cond::default()
                },
            ));
        }
        _ => {
            let metric = match &r.metric {
                Some(m) => Metric::parse(m.get_ref()).ok_or_else(|| {
                    cx.err(
                        m.span(),
                        format!(
                            "unknown metric {:?}; metrics: octets, packets, flows, bits/s, packets/s, destination-hosts, destination-ports, sources, lost-flows",
                            m.get_ref()
                        ),
                    )
                })?,
                None => return Err(cx.err(cx_span(r), "a rule needs a metric (or a preset)")),
            };
            base.key = key(None)?;
            let above = r
                .above
                .as_ref()
                .map(|a| amount(cx, a, "above"))
                .transpose()?;
            let below = r
                .below
                .as_ref()
                .map(|a| amount(cx, a, "below"))
                .transpose()?;
            let avg = average(r.above_average.as_ref())?;
            if below.is_some() && (above.is_some() || avg.is_some()) {
                let s = r.below.as_ref().map_or(0..0, |b| b.span());
                return Err(cx.err(
                    s,
                    "a rule is either above (a value, its average) or below, not both",
                ));
            }
            if above.is_none() && below.is_none() && avg.is_none() {
                return Err(cx.err(
                    cx_span(r),
                    "a rule needs a condition: above, below or above_average",
                ));
            }
            if metric == Metric::LostFlows {
                if let Some(f) = &r.filter {
                    return Err(cx.err(
                        f.span(),
                        "lost flows come from the files' exporter counters: no filter applies",
                    ));
                }
                if let Some(k) = &base.key {
                    if k.parts != [KeyPart::Exporter] {
                        let s = r.by.as_ref().map_or(0..0, |b| b.span());
                        return Err(cx.err(s, "lost flows are counted per exporter: by = \"ip-exporter-address\" or no key"));
                    }
                }
            }
            checks.push((
                String::new(),
                metric,
                Cond {
                    above,
                    below,
                    above_average: avg,
                },
            ));
        }
    }
    if preset.is_some() && preset != Some("lost-flows") {
        if let Some(a) = &r.above_average {
            return Err(cx.err(a.span(), "this preset sets its own condition"));
        }
    }
    if let Some(a) = &r.average_over {
        if r.above_average.is_none() && preset != Some("lost-flows") {
            return Err(cx.err(a.span(), "average_over goes with above_average"));
        }
    }

    // Without a group key, the table is kept by the key alerts list.
    let detail = match (&base.key, &r.top_by) {
        (Some(_), Some(t)) => {
            return Err(cx.err(
                t.span(),
                "top_by is for rules without a key (by): a rule with a key lists its top keys",
            ))
        }
        (Some(_), None) => None,
        (None, _) if checks.iter().any(|c| c.1 == Metric::LostFlows) => None,
        (None, Some(t)) => Some(key_spec(cx, t, None, None)?),
        (None, None) => Some(key_spec(
            cx,
            &Spanned::new(0..0, "ip-source-address".to_string()),
            None,
            None,
        )?),
    };
    // The table: filters compiled once per distinct text.
    let filter = match &base.filter {
        Some(t) => Some(Filter::parse_with(t, filter_options).map_err(|e| {
            // Point into the rule's own filter text when the mistake is there.
            let mut err = cx.err(base.filter_span.clone(), format!("filter: {}", e.message));
            if r.filter
                .as_ref()
                .is_some_and(|f| f.get_ref().trim() == t.as_str())
            {
                let (l, c) = filter_place(cx.text, base.filter_span.clone(), e.line, e.col);
                err.line = l;
                err.col = c;
            }
            err
        })?),
        None => None,
    };
    let grouped = base.key.is_some();
    let table_key = base.key.clone().or(detail);
    let mut out_checks = Vec::new();
    for (label, metric, cond) in checks {
        let source = metric.source();
        let pairs_by_key = grouped && matches!(source, Source::Distinct(_));
        let signature = format!(
            "filter={}|source={:?}|key={}|src={:?}|dst={:?}|window={:?}|pairs_by_key={pairs_by_key}",
            base.filter.as_deref().unwrap_or(""),
            source,
            table_key.as_ref().map_or("", |k| k.name.as_str()),
            table_key.as_ref().map(|k| k.src_format),
            table_key.as_ref().map(|k| k.dst_format),
            base.window
        );
        let agg = match aggs.iter().position(|a| a.signature == signature) {
            Some(i) => i,
            None => {
                aggs.push(AggSpec {
                    filter_text: base.filter.clone(),
                    filter: filter.clone(),
                    source,
                    key: table_key.clone(),
                    pairs_by_key,
                    window: base.window,
                    rule: name.clone(),
                    signature,
                });
                aggs.len() - 1
            }
        };
        out_checks.push(Check {
            label,
            agg,
            metric,
            grouped,
            above: cond.above,
            below: cond.below,
            above_average: cond.above_average,
            consecutive: base.consecutive,
            hold: base.hold,
            repeat: base.repeat,
            remember: base.remember,
        });
    }
    let actions = |a: &RawActions| -> Result<Actions, RulesError> {
        let command = match &a.command {
            Some(c) if c.get_ref().is_empty() || c.get_ref()[0].is_empty() => {
                return Err(cx.err(
                    c.span(),
                    "command: a program and its arguments, [\"/path/to/program\", \"arg\", ...]",
                ))
            }
            Some(c) => Some(c.get_ref().clone()),
            None => None,
        };
        Ok(Actions {
            mail_to: a
                .mail_to
                .as_ref()
                .map(|m| m.get_ref().clone())
                .unwrap_or_default(),
            subject: a.subject.as_ref().map(|s| s.get_ref().clone()),
            command,
            log: a.log.as_ref().map(|l| PathBuf::from(l.get_ref())),
        })
    };
    let own = RawActions {
        mail_to: r.mail_to.clone(),
        subject: r.subject.clone(),
        command: r.command.clone(),
        log: r.log.clone(),
        resolved: r.resolved.clone(),
        top: r.top.clone(),
    };
    let mut acts = actions(&own)?;
    let dflt = actions(defaults)?;
    if acts.mail_to.is_empty() {
        acts.mail_to = dflt.mail_to;
    }
    if acts.subject.is_none() {
        acts.subject = dflt.subject;
    }
    if acts.command.is_none() {
        acts.command = dflt.command;
    }
    if acts.log.is_none() {
        acts.log = dflt.log;
    }
    if let Some(s) = own.subject.as_ref().or(defaults.subject.as_ref()) {
        crate::template::check(s.get_ref())
            .map_err(|m| cx.err(s.span(), format!("subject: {m}")))?;
    }
    let resolved = own
        .resolved
        .as_ref()
        .or(defaults.resolved.as_ref())
        .map(|r| *r.get_ref())
        .unwrap_or(preset == Some("silent-exporter"));
    let top = match own.top.as_ref().or(defaults.top.as_ref()) {
        Some(t) => count(cx, t, "top", 0, 1000)? as usize,
        None => DEFAULT_TOP,
    };
    Ok(Rule {
        name,
        preset: preset.map(str::to_string),
        levels: preset == Some("quota"),
        checks: out_checks,
        actions: acts,
        resolved,
        top,
        line,
    })
}

/// The span to blame for something missing from a rule: its name.
fn cx_span(r: &RawRule) -> Range<usize> {
    r.name.as_ref().map_or(0..0, |n| n.span())
}

#[derive(Clone, Copy, Debug, Default)]
struct Cond {
    above: Option<f64>,
    below: Option<f64>,
    above_average: Option<(f64, AveragePeriod)>,
}

/// The file position of line `line`, column `col` of a filter whose string
/// value is at `span`: exact for a one-line basic or literal string, the
/// string's own start otherwise.
fn filter_place(text: &str, span: Range<usize>, line: usize, col: usize) -> (usize, usize) {
    let (l0, c0) = line_col(text, span.start);
    let raw = text.get(span.clone()).unwrap_or("");
    let one_line = (raw.starts_with('"') || raw.starts_with('\''))
        && !raw.starts_with("\"\"\"")
        && !raw.starts_with("'''")
        && !raw.contains('\\');
    if one_line && line == 1 && col >= 1 {
        (l0, c0 + col)
    } else {
        (l0, c0)
    }
}

impl RuleSet {
    /// The zone windows align in: the file's, or `fallback`.
    pub fn zone_or(&self, fallback: &Zone) -> Zone {
        self.zone
            .as_deref()
            .and_then(|z| Zone::parse(z).ok())
            .unwrap_or_else(|| fallback.clone())
    }

    /// The rule a check belongs to, by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The rules in words, one block per rule (for `floe alert --check`).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for r in &self.rules {
            out.push_str(&format!("{} (line {})", r.name, r.line));
            if let Some(p) = &r.preset {
                out.push_str(&format!(", preset {p}"));
            }
            out.push('\n');
            for c in &r.checks {
                let a = &self.aggs[c.agg];
                let label = if c.label.is_empty() {
                    String::new()
                } else {
                    format!("[{}] ", c.label)
                };
                out.push_str(&format!(
                    "  {label}{} {}{} per {}, {}",
                    c.metric.name(),
                    a.key
                        .as_ref()
                        .filter(|_| c.grouped)
                        .map_or("of all traffic".to_string(), |k| format!("by {}", k.name)),
                    a.filter_text
                        .as_ref()
                        .map_or(String::new(), |f| format!(" of flows matching {f:?}")),
                    a.window.name(),
                    c.describe(),
                ));
                if c.consecutive > 1 {
                    out.push_str(&format!(", {} windows in a row", c.consecutive));
                }
                if c.hold > 0 {
                    out.push_str(&format!(", then {} windows of silence", c.hold));
                }
                out.push_str(match c.repeat {
                    Repeat::Once => ", once while true",
                    Repeat::Each => ", each window",
                });
                out.push('\n');
            }
            let mut acts = Vec::new();
            if !r.actions.mail_to.is_empty() {
                acts.push(format!("mail {}", r.actions.mail_to.join(", ")));
            }
            if let Some(c) = &r.actions.command {
                acts.push(format!("run {}", c.join(" ")));
            }
            if let Some(l) = &r.actions.log {
                acts.push(format!("log to {}", l.display()));
            }
            if acts.is_empty() {
                acts.push("print only".into());
            }
            if r.resolved {
                acts.push("resolved notices".into());
            }
            out.push_str(&format!("  actions: {}\n", acts.join("; ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<RuleSet, RulesError> {
        parse(text, Path::new("alerts.toml"), &Zone::Utc)
    }

    #[test]
    fn a_plain_rule() {
        let s = p(r#"
[[rule]]
name = "big"
filter = "proto udp"
metric = "octets"
by = "ip-source-address"
window = "hour"
above = "10G"
consecutive = 2
hold = 3
repeat = "each"
"#)
        .unwrap();
        let r = &s.rules[0];
        assert_eq!(r.name, "big");
        assert_eq!(r.line, 2);
        let c = &r.checks[0];
        assert_eq!(c.above, Some(10e9));
        assert_eq!((c.consecutive, c.hold, c.repeat), (2, 3, Repeat::Each));
        assert_eq!(s.aggs[c.agg].window, WindowKind::Hour);
        assert!(c.early());
    }

    #[test]
    fn quota_levels_share_one_table() {
        let s = p(r#"
[[rule]]
name = "q"
preset = "quota"
limit = "1G"
window = "month"
month_starts = 15
"#)
        .unwrap();
        let r = &s.rules[0];
        assert_eq!(r.checks.len(), 3);
        assert_eq!(s.aggs.len(), 1);
        assert_eq!(s.aggs[0].window, WindowKind::Month(15));
        assert_eq!(r.checks[1].label, "90%");
        assert_eq!(r.checks[2].above, Some(1e9));
        assert!(s.aggs[0].key.as_ref().unwrap().both_ends);
    }

    fn err(text: &str) -> RulesError {
        p(text).unwrap_err()
    }

    #[test]
    fn mistakes_are_placed() {
        let e = err("[[rule]]\nname = \"x\"\nmetric = \"octets\"\nabove = 5\nfilter = \"proto tcp and prot 6\"\n");
        assert_eq!((e.line, e.rule.as_deref()), (5, Some("x")), "{e}");
        assert!(e.to_string().starts_with("alerts.toml:5:"), "{e}");
        assert!(e.col > 20, "{e}");
        let e = err("[[rule]]\nname = \"y\"\nmetric = \"octets\"\nabove = 5\nwindwo = \"day\"\n");
        assert_eq!((e.line, e.rule.as_deref()), (5, Some("y")), "{e}");
        assert!(e.message.contains("windwo"), "{e}");
        let e = err("[[rule]]\nname = \"z\"\nmetric = \"octet\"\nabove = 5\n");
        assert_eq!((e.line, e.col), (3, 10), "{e}");
        let e = err("[[rule]]\nname = \"z\"\nmetric = \"octets\"\n");
        assert!(e.message.contains("condition"), "{e}");
        let e = err("[[rule]]\nname = \"a\"\nmetric = \"flows\"\nabove = 1\n[[rule]]\nname = \"a\"\nmetric = \"flows\"\nabove = 1\n");
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("line 1"), "{e}");
        let e = err("[[rule]]\nname = \"s\"\npreset = \"syn-scan\"\nlimit = \"1G\"\n");
        assert!(e.message.contains("quota"), "{e}");
        let e = err("[[rule]]\nname = \"b\"\nmetric = \"flows\"\nabove = 1\nby = \"ip-source-address-destination-count\"\n");
        assert!(e.message.contains("distinct"), "{e}");
        let e = err("[[rule]]\nname = \"b\"\nmetric = \"flows\"\nabove_average = 2\naverage_over = \"hour\"\nwindow = \"day\"\n");
        assert_eq!(e.line, 5, "{e}");
        let e = err("[[rule]]\nname = \"b\"\nmetric = \"flows\"\nabove = \"lots\"\n");
        assert_eq!((e.line, e.col), (4, 9), "{e}");
        let e = err("[[rule]\nname = 1\n");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn presets() {
        let s = p(r#"
[[rule]]
name = "scan"
preset = "syn-scan"
ports = 200
[[rule]]
name = "amp"
preset = "udp-amplification"
[[rule]]
name = "silent"
preset = "silent-exporter"
[[rule]]
name = "lost"
preset = "lost-flows"
above = 100
"#)
        .unwrap();
        assert_eq!(s.rules[0].checks.len(), 1);
        assert_eq!(s.rules[0].checks[0].metric, Metric::DstPorts);
        let f = s.aggs[s.rules[1].checks[0].agg]
            .filter_text
            .clone()
            .unwrap();
        assert!(f.contains("11211"), "{f}");
        assert!(s.rules[2].resolved);
        assert_eq!(s.rules[2].checks[0].below, Some(1.0));
        let l = &s.rules[3].checks[0];
        assert_eq!(
            (l.above, l.above_average.map(|a| a.0)),
            (Some(100.0), Some(2.0))
        );
    }
}
