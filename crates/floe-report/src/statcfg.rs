//! flow-tools report configuration files (`flow-report -s stat.cfg -S NAME`).
//!
//! ```text
//! include-filter FILE            (flow-tools filter file for the filters)
//! stat-report NAME
//!   type TYPE                    (see ReportType)
//!   filter DEFINITION            (from the include-filter file)
//!   output
//!     sort +FIELD | -FIELD
//!     records N
//! stat-definition NAME
//!   filter DEFINITION
//!   report NAME                  (one or more)
//! ```
//!
//! `@VAR` and `@{VAR:-default}` words are expanded as in filter files. An
//! `include-filter` path that does not exist is looked up by its file name
//! next to the configuration file (configs copied from /etc keep working);
//! the caller is told so. Statements floe does not implement yet (scale,
//! tally, fields, options, path, format, time-series, ip-*-address-format)
//! are refused with their name, never ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::{ReportType, Sort};

/// A configuration error, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// One output block of a stat-report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub sort: Sort,
    pub records: Option<usize>,
}

/// A stat-report.
#[derive(Clone, Debug)]
pub struct StatReport {
    pub name: String,
    pub kind: ReportType,
    /// Filter definition name.
    pub filter: Option<String>,
    pub outputs: Vec<Output>,
}

/// A stat-definition: which reports, under which filter.
#[derive(Clone, Debug, Default)]
pub struct StatDefinition {
    pub name: String,
    pub filter: Option<String>,
    pub reports: Vec<String>,
}

/// A parsed configuration.
#[derive(Clone, Debug, Default)]
pub struct StatConfig {
    pub file: String,
    pub include_filter: Option<PathBuf>,
    /// Set when include-filter was found next to the config instead.
    pub include_filter_moved_from: Option<PathBuf>,
    pub reports: Vec<StatReport>,
    pub definitions: Vec<StatDefinition>,
}

const UNSUPPORTED: &[&str] = &[
    "scale",
    "tally",
    "fields",
    "options",
    "path",
    "format",
    "time-series",
    "ip-source-address-format",
    "ip-destination-address-format",
];

impl StatConfig {
    pub fn load(path: &Path, vars: &HashMap<String, String>) -> Result<StatConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        Self::parse(&text, path, vars)
    }

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
                        let beside = path.parent().unwrap_or(Path::new(".")).join(p.file_name().unwrap_or_default());
                        if !beside.exists() {
                            return Err(err(n, format!("include-filter {}: no such file (nor {})", p.display(), beside.display())));
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
                        },
                        filter: None,
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
                "type" | "output" | "sort" | "records" => {
                    let (Cur::Report, Some(r)) = (&cur, cfg.reports.last_mut()) else {
                        return Err(err(n, format!("{first} outside a stat-report")));
                    };
                    match first {
                        "type" => r.kind = ReportType::parse(need("a report type")?).map_err(|e| err(n, e.to_string()))?,
                        "output" => {
                            r.outputs.push(Output {
                                sort: Sort::parse("+octets").map_err(|e| err(n, e.to_string()))?,
                                records: None,
                            });
                            in_output = true;
                        }
                        _ => {
                            let Some(o) = r.outputs.last_mut().filter(|_| in_output) else {
                                return Err(err(n, format!("{first} belongs in an output block")));
                            };
                            if first == "sort" {
                                o.sort = Sort::parse(need("+FIELD or -FIELD")?).map_err(|e| err(n, e.to_string()))?;
                            } else {
                                o.records = Some(
                                    need("a number")?
                                        .parse()
                                        .map_err(|_| err(n, format!("records {:?} is not a number", arg.unwrap_or(""))))?,
                                );
                            }
                        }
                    }
                }
                "filter" => {
                    let name = need("a filter-definition name")?.to_string();
                    match (&cur, cfg.reports.last_mut(), cfg.definitions.last_mut()) {
                        (Cur::Report, Some(r), _) => r.filter = Some(name),
                        (Cur::Definition, _, Some(d)) => d.filter = Some(name),
                        _ => return Err(err(n, "filter outside a stat-report or stat-definition".into())),
                    }
                }
                "report" => {
                    let (Cur::Definition, Some(d)) = (&cur, cfg.definitions.last_mut()) else {
                        return Err(err(n, "report outside a stat-definition".into()));
                    };
                    d.reports.push(need("a stat-report name")?.to_string());
                }
                s if UNSUPPORTED.contains(&s) => {
                    return Err(err(n, format!("{s} is not supported by floe report yet")));
                }
                other => {
                    return Err(err(
                        n,
                        format!(
                            "unknown statement {other:?}; valid: include-filter, stat-report, type, filter, output, sort, records, stat-definition, report"
                        ),
                    ))
                }
            }
        }
        for r in &mut cfg.reports {
            if r.kind.parts.is_empty() {
                return Err(err(0, format!("stat-report {} has no type", r.name)));
            }
            if r.outputs.is_empty() {
                r.outputs.push(Output {
                    sort: Sort::parse("+octets").map_err(|e| err(0, e.to_string()))?,
                    records: None,
                });
            }
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

    pub fn report(&self, name: &str) -> Option<&StatReport> {
        self.reports.iter().find(|r| r.name == name)
    }
}
