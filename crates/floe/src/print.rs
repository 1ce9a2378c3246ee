//! `floe print`: flows as text: an aligned table (default), CSV with a
//! header of catalog names, or NDJSON (one object per flow, keys are the
//! catalog names). Times are ISO 8601 in CSV/JSON (UTC), and in the chosen
//! zone in the table.

use std::io::Write;

use clap::{Args, ValueEnum};
use floe_flow::{Field, FieldKind, Flow, Value, FIELDS};
use floe_store::Zone;

use crate::input::{self, InputArgs, Next};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Print flows as a table, CSV or JSON.
///
/// Example: floe cat /var/lib/floe --last 1h | floe print --records 20
#[derive(Args, Debug)]
pub struct PrintArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Comma-separated fields (catalog names or aliases); "all" for every field.
    #[arg(long, value_name = "FIELDS")]
    fields: Option<String>,
    /// Stop after this many flows.
    #[arg(short = 'n', long, value_name = "N")]
    records: Option<u64>,
    /// Show table times in UTC rather than in --zone.
    #[arg(long)]
    utc: bool,
}

const DEFAULT_FIELDS: &[&str] = &[
    "start-time",
    "end-time",
    "ip-protocol",
    "ip-source-address",
    "ip-source-port",
    "ip-destination-address",
    "ip-destination-port",
    "packets",
    "octets",
];

fn fields(spec: Option<&str>) -> Result<Vec<&'static Field>, String> {
    let names: Vec<&str> = match spec {
        None => DEFAULT_FIELDS.to_vec(),
        Some("all") => FIELDS.iter().map(|f| f.name).collect(),
        Some(s) => s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect(),
    };
    names
        .iter()
        .map(|n| {
            Field::by_name(n).ok_or_else(|| {
                format!(
                    "unknown field {n:?}; valid fields: {}",
                    Field::names().collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect()
}

fn text(f: &Field, flow: &Flow, zone: Option<&Zone>) -> String {
    match f.get(flow) {
        Value::Time(ms) => match zone {
            Some(z) => z.at(ms).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            None => floe_flow::time::format_utc_ms(ms),
        },
        Value::Addr(a) => a.to_string(),
        Value::U64(n) => n.to_string(),
    }
}

fn width(f: &Field) -> usize {
    match f.kind {
        FieldKind::Time => 23,
        FieldKind::Address => 15,
        FieldKind::Port | FieldKind::Protocol | FieldKind::Flags => 5,
        FieldKind::Number => 10,
    }
    .max(f.name.len().min(12))
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn run(a: PrintArgs) -> Result<i32, String> {
    let now = crate::now_ms();
    let window = a.input.window(now)?;
    let zone = a.input.zone()?;
    let cols = fields(a.fields.as_deref())?;
    let table_zone = if a.utc { Zone::Utc } else { zone };
    let sources = input::sources(&a.input, window)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut left = a.records.unwrap_or(u64::MAX);
    let io = |e: std::io::Error| e.to_string();
    match a.format {
        Format::Csv => writeln!(
            out,
            "{}",
            cols.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
        )
        .map_err(io)?,
        Format::Table => {
            let head: Vec<String> = cols
                .iter()
                .map(|c| {
                    format!(
                        "{:<w$}",
                        c.aliases.first().copied().unwrap_or(c.name),
                        w = width(c)
                    )
                })
                .collect();
            writeln!(out, "{}", head.join(" ").trim_end()).map_err(io)?
        }
        Format::Json => {}
    }
    let result = input::read("print", &sources, window, |flows| {
        for f in flows {
            if left == 0 {
                return Ok(Next::Stop);
            }
            left -= 1;
            match a.format {
                Format::Table => {
                    let row: Vec<String> = cols
                        .iter()
                        .map(|c| format!("{:<w$}", text(c, f, Some(&table_zone)), w = width(c)))
                        .collect();
                    writeln!(out, "{}", row.join(" ").trim_end()).map_err(io)?;
                }
                Format::Csv => {
                    let row: Vec<String> =
                        cols.iter().map(|c| csv_cell(&text(c, f, None))).collect();
                    writeln!(out, "{}", row.join(",")).map_err(io)?;
                }
                Format::Json => {
                    let mut obj = serde_json::Map::new();
                    for c in &cols {
                        let v = match c.get(f) {
                            Value::U64(n) => serde_json::Value::from(n),
                            _ => serde_json::Value::from(text(c, f, None)),
                        };
                        obj.insert(c.name.to_string(), v);
                    }
                    writeln!(out, "{}", serde_json::Value::Object(obj)).map_err(io)?;
                }
            }
        }
        Ok(if left == 0 {
            Next::Stop
        } else {
            Next::Continue
        })
    });
    let errors = match result {
        Ok(n) => n,
        Err(e) if input::is_broken_pipe(&e) => return Ok(0),
        Err(e) => return Err(e),
    };
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(e.to_string()),
        Ok(()) => {}
    }
    Ok(i32::from(errors > 0))
}
