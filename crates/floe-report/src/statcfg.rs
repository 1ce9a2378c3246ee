//! flow-tools report configuration files (`flow-report -s stat.cfg -S NAME`).
//!
//! ```text
//! include-filter FILE            (flow-tools filter file for the filters)
//! stat-report NAME
//!   type TYPE                    (see ReportType)
//!   filter DEFINITION            (from the include-filter file)
//!   scale N | sampling           (octets and packets times N, or times each
//!                                 flow's sampling interval)
//!   ip-source-address-format address | prefix-len | prefix-mask [/N[,M]]
//!   ip-destination-address-format ...
//!   output                       (one or more)
//!     format ascii
//!     sort +FIELD | -FIELD       (+ largest first, - smallest first)
//!     records N
//!     tally N
//!     fields +NAME,-NAME ...
//!     options +header,+xheader,+totals,+percent-total,+names
//!     path FILE | |COMMAND       (strftime fields; see time)
//!     time now | start | end | mid
//! stat-definition NAME
//!   filter DEFINITION
//!   time-series SECONDS          (every report of it per interval)
//!   report NAME                  (one or more)
//! ```
//!
//! `@VAR` and `@{VAR:-default}` words are expanded as in filter files. An
//! `include-filter` path that does not exist is looked up by its file name
//! next to the configuration file (configs copied from /etc keep working);
//! the caller is told so. What floe does not do (tags and masks:
//! `include-tag`, `include-mask`, `tag-mask`, definitions' `tag` and
//! `mask`; `format binary`) is refused with its name, never ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::key::MAX_PARTS;
use crate::kind::KeyPart;
use crate::output::{Output, PathTime};
use crate::report::{AddrFormat, ReportOptions};
use crate::{ReportType, Scale};

/// A configuration error, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The configuration file.
    pub file: String,
    /// The line (from 1), or 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            n => write!(f, "{}:{n}: {}", self.file, self.message),
        }
    }
}

/// A stat-report.
#[derive(Clone, Debug)]
pub struct StatReport {
    /// The report's name, as definitions refer to it.
    pub name: String,
    /// Its type.
    pub kind: ReportType,
    /// Filter definition name.
    pub filter: Option<String>,
    /// Scale, address formats, and whether rates are kept (any output
    /// shows or sorts by them).
    pub options: ReportOptions,
    /// Its outputs (a report may be written several ways).
    pub outputs: Vec<Output>,
}

/// A stat-definition: which reports, under which filter.
#[derive(Clone, Debug, Default)]
pub struct StatDefinition {
    /// The definition's name.
    pub name: String,
    /// The filter definition applied, by name.
    pub filter: Option<String>,
    /// The reports it runs, by name.
    pub reports: Vec<String>,
    /// `time-series N`: every report per N-second interval.
    pub time_series: Option<u64>,
}

/// A parsed configuration.
#[derive(Clone, Debug, Default)]
pub struct StatConfig {
    /// The configuration file, for messages.
    pub file: String,
    /// The filter file named by `include-filter`.
    pub include_filter: Option<PathBuf>,
    /// Set when include-filter was found next to the config instead.
    pub include_filter_moved_from: Option<PathBuf>,
    /// The stat-reports.
    pub reports: Vec<StatReport>,
    /// The stat-definitions.
    pub definitions: Vec<StatDefinition>,
}

const UNSUPPORTED: &[&str] = &["include-tag", "include-mask", "tag-mask", "tag", "mask"];

const STATEMENTS: &str = "include-filter, stat-report, type, filter, scale, ip-source-address-format, ip-destination-address-format, output, format, sort, records, tally, fields, options, path, time, stat-definition, time-series, report";

impl StatConfig {
    /// Reads and parses a flow-tools `stat.cfg`; `vars` give the values of its
    /// `@VAR` words.
    pub fn load(path: &Path, vars: &HashMap<String, String>) -> Result<StatConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        Self::parse(&text, path, vars)
    }

    /// Parses a `stat.cfg` read from `path` (used for messages and relative
    /// includes).
    pub fn parse(
        text: &str,
        path: &Path,
        vars: &HashMap<String, String>,
    ) -> Result<StatConfig, ConfigError> {
        let file = path.display().to_string();
        let err = |line: usize, message: String| ConfigError {
            file: file.clone(),
            line,
            message,
        };
        let mut cfg = StatConfig {
            file: file.clone(),
            ..StatConfig::default()
        };
        enum Cur {
            None,
            Report,
            Definition,
        }
        let mut cur = Cur::None;
        let mut in_output = false;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let code = raw.split('#').next().unwrap_or("");
            let line = floe_filter::nfilter::expand_vars(code, vars).map_err(|m| err(n, m))?;
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(first) = words.first().copied() else {
                continue;
            };
            let arg = words.get(1).copied();
            let need = |what: &str| arg.ok_or_else(|| err(n, format!("{first} needs {what}")));
            match first {
                "include-filter" => {
                    let p = PathBuf::from(need("a file name")?);
                    if p.exists() {
                        cfg.include_filter = Some(p);
                    } else {
                        let beside = path
                            .parent()
                            .unwrap_or(Path::new("."))
                            .join(p.file_name().unwrap_or_default());
                        if !beside.exists() {
                            return Err(err(
                                n,
                                format!(
                                    "include-filter {}: no such file (nor {})",
                                    p.display(),
                                    beside.display()
                                ),
                            ));
                        }
                        cfg.include_filter_moved_from = Some(p);
                        cfg.include_filter = Some(beside);
                    }
                }
                "stat-report" => {
                    cfg.reports.push(StatReport {
                        name: need("a name")?.to_string(),
                        kind: ReportType {
                            name: String::new(),
                            parts: Vec::new(),
                            both_ends: false,
                            count: false,
                            summary: None,
                        },
                        filter: None,
                        options: ReportOptions::default(),
                        outputs: Vec::new(),
                    });
                    cur = Cur::Report;
                    in_output = false;
                }
                "stat-definition" => {
                    cfg.definitions.push(StatDefinition {
                        name: need("a name")?.to_string(),
                        ..StatDefinition::default()
                    });
                    cur = Cur::Definition;
                    in_output = false;
                }
                "type"
                | "scale"
                | "ip-source-address-format"
                | "ip-destination-address-format"
                | "output" => {
                    let (Cur::Report, Some(r)) = (&cur, cfg.reports.last_mut()) else {
                        return Err(err(n, format!("{first} outside a stat-report")));
                    };
                    let e = |m: String| err(n, m);
                    match first {
                        "type" => {
                            if !r.kind.name.is_empty() {
                                return Err(err(
                                    n,
                                    format!(
                                        "stat-report {} already has type {}",
                                        r.name, r.kind.name
                                    ),
                                ));
                            }
                            r.kind = ReportType::parse(need("a report type")?)
                                .map_err(|x| e(x.to_string()))?
                        }
                        "scale" => {
                            r.options.scale = Scale::parse(need("a factor or `sampling`")?)
                                .map_err(|x| e(x.to_string()))?
                        }
                        "ip-source-address-format" => {
                            r.options.src_format = AddrFormat::parse(need("a format")?)
                                .map_err(|x| e(x.to_string()))?
                        }
                        "ip-destination-address-format" => {
                            r.options.dst_format = AddrFormat::parse(need("a format")?)
                                .map_err(|x| e(x.to_string()))?
                        }
                        _ => {
                            r.outputs
                                .push(Output::new("+octets").map_err(|x| e(x.to_string()))?);
                            in_output = true;
                        }
                    }
                }
                "format" | "sort" | "records" | "tally" | "fields" | "options" | "path"
                | "time" => {
                    let (Cur::Report, Some(r)) = (&cur, cfg.reports.last_mut()) else {
                        return Err(err(n, format!("{first} outside a stat-report")));
                    };
                    let Some(o) = r.outputs.last_mut().filter(|_| in_output) else {
                        return Err(err(n, format!("{first} belongs in an output block")));
                    };
                    let e = |m: String| err(n, m);
                    // The rest of the line, for the statements that take lists.
                    let rest = words[1..].join(" ");
                    let number = |what: &str| -> Result<u64, ConfigError> {
                        need(what)?.parse().map_err(|_| {
                            err(
                                n,
                                format!("{first} {:?} is not a number", arg.unwrap_or("")),
                            )
                        })
                    };
                    match first {
                        "format" => match need("ascii")? {
                            "ascii" => {}
                            f => return Err(err(n, format!("format {f}: floe writes ascii (flow-report's binary format is not supported)"))),
                        },
                        "sort" => o.sort = crate::Sort::parse(need("+FIELD or -FIELD")?).map_err(|x| e(x.to_string()))?,
                        "records" => o.records = Some(number("a number")? as usize),
                        "tally" => o.tally = Some(number("a number")?).filter(|t| *t > 0),
                        "fields" => o.fields.apply(&rest).map_err(|x| e(x.to_string()))?,
                        "options" => o.options.apply(&rest).map_err(|x| e(x.to_string()))?,
                        "path" => {
                            // The rest of the raw line: paths and commands keep their spaces.
                            let raw = line.trim_start();
                            let p = raw["path".len()..].trim();
                            if p.is_empty() {
                                return Err(err(n, "path needs a file name or |command".into()));
                            }
                            o.path = Some(p.to_string());
                        }
                        _ => o.time = PathTime::parse(need("now, start, end or mid")?).map_err(|x| e(x.to_string()))?,
                    }
                }
                "time-series" => {
                    let (Cur::Definition, Some(d)) = (&cur, cfg.definitions.last_mut()) else {
                        return Err(err(n, "time-series outside a stat-definition".into()));
                    };
                    let secs: u64 = need("seconds")?
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| {
                            err(
                                n,
                                format!(
                                    "time-series {:?}: expected seconds (> 0)",
                                    arg.unwrap_or("")
                                ),
                            )
                        })?;
                    d.time_series = Some(secs);
                }
                "filter" => {
                    let name = need("a filter-definition name")?.to_string();
                    match (&cur, cfg.reports.last_mut(), cfg.definitions.last_mut()) {
                        (Cur::Report, Some(r), _) => r.filter = Some(name),
                        (Cur::Definition, _, Some(d)) => d.filter = Some(name),
                        _ => {
                            return Err(err(
                                n,
                                "filter outside a stat-report or stat-definition".into(),
                            ))
                        }
                    }
                }
                "report" => {
                    let (Cur::Definition, Some(d)) = (&cur, cfg.definitions.last_mut()) else {
                        return Err(err(n, "report outside a stat-definition".into()));
                    };
                    d.reports.push(need("a stat-report name")?.to_string());
                }
                s if UNSUPPORTED.contains(&s) => {
                    return Err(err(
                        n,
                        format!("{s}: floe has no flow tags or mask definitions"),
                    ));
                }
                other => {
                    return Err(err(
                        n,
                        format!("unknown statement {other:?}; valid: {STATEMENTS}"),
                    ))
                }
            }
        }
        for r in &mut cfg.reports {
            if r.kind.name.is_empty() {
                return Err(err(0, format!("stat-report {} has no type", r.name)));
            }
            if r.outputs.is_empty() {
                r.outputs
                    .push(Output::new("+octets").map_err(|e| err(0, e.to_string()))?);
            }
            r.options.rates = r.outputs.iter().any(Output::needs_rates);
        }
        for d in &cfg.definitions {
            for r in &d.reports {
                if !cfg.reports.iter().any(|x| &x.name == r) {
                    let known: Vec<&str> = cfg.reports.iter().map(|x| x.name.as_str()).collect();
                    return Err(err(
                        0,
                        format!(
                            "stat-definition {} names report {r:?}; defined: {}",
                            d.name,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(cfg)
    }

    /// The definition named `name`; an error listing the defined names when none
    /// is.
    pub fn definition(&self, name: &str) -> Result<&StatDefinition, ConfigError> {
        self.definitions
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.definitions.iter().map(|d| d.name.as_str()).collect();
                ConfigError {
                    file: self.file.clone(),
                    line: 0,
                    message: format!("no stat-definition {name:?}; defined: {}", known.join(", ")),
                }
            })
    }

    /// The report named `name`.
    pub fn report(&self, name: &str) -> Option<&StatReport> {
        self.reports.iter().find(|r| r.name == name)
    }

    /// The stat-definitions' names, in their order.
    pub fn definition_names(&self) -> Vec<&str> {
        self.definitions.iter().map(|d| d.name.as_str()).collect()
    }

    /// What running `definitions` computes, in order: each of their
    /// stat-reports with what the definition adds (its filter, and its
    /// `time-series`, which sets a time series' interval or makes any
    /// other keyed report a time series of itself, shown per interval).
    pub fn plan<S: AsRef<str>>(
        &self,
        definitions: &[S],
    ) -> Result<Vec<PlannedReport>, ConfigError> {
        let err = |message: String| ConfigError {
            file: self.file.clone(),
            line: 0,
            message,
        };
        let mut out = Vec::new();
        for d in definitions {
            let def = self.definition(d.as_ref())?;
            for r in &def.reports {
                let sr = self
                    .report(r)
                    .ok_or_else(|| err(format!("no stat-report {r}")))?;
                let mut kind = sr.kind.clone();
                let mut options = sr.options;
                if let Some(secs) = def.time_series {
                    if !kind.parts.contains(&KeyPart::Interval) {
                        if kind.both_ends || kind.count || kind.summary.is_some() {
                            return Err(err(format!(
                                "stat-definition {}: time-series applies to keyed reports, not {}",
                                def.name, kind.name
                            )));
                        }
                        if kind.parts.len() >= MAX_PARTS {
                            return Err(err(format!(
                                "stat-definition {}: {} has no room for a time-series key (at most {MAX_PARTS} parts)",
                                def.name, kind.name
                            )));
                        }
                        kind.parts.insert(0, KeyPart::Interval);
                    }
                    options.interval_secs = secs;
                }
                let filters: Vec<String> = def.filter.iter().chain(&sr.filter).cloned().collect();
                if let (Some(f), None) = (filters.first(), &self.include_filter) {
                    return Err(err(format!(
                        "filter {f} is used but no include-filter names a filter file"
                    )));
                }
                out.push(PlannedReport {
                    title: format!(
                        "stat-report {} ({}), stat-definition {}",
                        sr.name, sr.kind.name, def.name
                    ),
                    name: sr.name.clone(),
                    kind,
                    options,
                    filters,
                    outputs: sr.outputs.clone(),
                    per_interval: def.time_series.is_some(),
                });
            }
        }
        Ok(out)
    }
}

/// One report a run of stat-definitions computes: a stat-report as one
/// definition runs it.
#[derive(Clone, Debug)]
pub struct PlannedReport {
    /// `stat-report NAME (TYPE), stat-definition DEFINITION`.
    pub title: String,
    /// The stat-report's name (flow-report's header shows it).
    pub name: String,
    /// The report type; a time series first when the definition asks.
    pub kind: ReportType,
    /// Scale, address formats, rates, and the time series' interval.
    pub options: ReportOptions,
    /// The filter-definitions (of the include-filter file) a flow must
    /// match, all of them: the stat-definition's, then the stat-report's.
    pub filters: Vec<String>,
    /// The stat-report's outputs.
    pub outputs: Vec<Output>,
    /// Rows shown per interval, one flow-report per interval (the
    /// definition's `time-series`).
    pub per_interval: bool,
}
