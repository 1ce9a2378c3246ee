//! `floe print`: flows as text: an aligned table (default), CSV with a
//! header of catalog names, NDJSON (one object per flow, keys are the
//! catalog names, schema in `schemas/flow.schema.json`), or flow-tools'
//! `flow-print -f 3` / `-f 5` lines. Times are ISO 8601 in CSV/JSON (UTC),
//! and in the chosen zone in the table and the flow-tools layouts.
//!
//! CSV and NDJSON are the integration path for log pipelines; a columnar
//! export for warehouse engines would be another [`Format`] beside them.

use std::io::Write;

use clap::{Args, ValueEnum};
use floe_flow::{Field, FieldKind, Flow, Value, FIELDS};
use floe_store::Zone;

use crate::flow_print;
use crate::input::{self, InputArgs, Next};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with a header (the default).
    Table,
    /// A header row of catalog names, then one row per flow.
    Csv,
    /// NDJSON: one object per flow.
    Json,
    /// flow-print -f 3: addresses, protocol, ports, octets, packets.
    #[value(name = "flow-tools-3", alias = "3", alias = "ft3")]
    FlowTools3,
    /// flow-print -f 5: times, interfaces, addresses, ports, protocol,
    /// flags, packets, octets.
    #[value(name = "flow-tools-5", alias = "5", alias = "ft5")]
    FlowTools5,
}

/// Print flows as a table, CSV, JSON or flow-print's -f 3 / -f 5 lines.
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
    /// Table counters in human units (1.2 M) instead of exact numbers.
    #[arg(short = 'H', long)]
    human: bool,
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

/// A table cell: like [`text`], with counters in human units if asked.
fn cell(f: &Field, flow: &Flow, zone: &Zone, human: bool) -> String {
    match f.get(flow) {
        Value::U64(n) if human && f.kind == FieldKind::Number => floe_report::human(n),
        _ => text(f, flow, Some(zone)),
    }
}

/// Column widths for the table: the widest of the label and the cells of
/// the first block (so IPv6 addresses widen the address columns only when
/// there are some). A later wider cell pushes its row out of line rather
/// than being cut.
fn table_widths(
    cols: &[&Field],
    labels: &[&str],
    flows: &[Flow],
    zone: &Zone,
    human: bool,
) -> Vec<usize> {
    cols.iter()
        .zip(labels)
        .map(|(c, l)| {
            flows
                .iter()
                .map(|f| cell(c, f, zone, human).len())
                .max()
                .unwrap_or(0)
                .max(l.len())
        })
        .collect()
}

/// One table line: cells padded to their widths, one blank between, no
/// trailing blanks.
fn write_row<S: AsRef<str>>(
    out: &mut impl Write,
    cells: impl Iterator<Item = S>,
    widths: &[usize],
) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, c) in cells.enumerate() {
        if i > 0 {
            line.push(' ');
        }
        let w = widths.get(i).copied().unwrap_or(0);
        line.push_str(&format!("{:<w$}", c.as_ref()));
    }
    writeln!(out, "{}", line.trim_end())
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
    if a.fields.is_some() && matches!(a.format, Format::FlowTools3 | Format::FlowTools5) {
        return Err("--fields applies to the table, csv and json formats; the flow-tools layouts have fixed columns".into());
    }
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
        // The table's header waits for the first block: it sets the widths.
        Format::Table | Format::Json => {}
        Format::FlowTools3 => out
            .write_all(flow_print::FORMAT3_HEADER.as_bytes())
            .map_err(io)?,
        Format::FlowTools5 => out
            .write_all(flow_print::FORMAT5_HEADER.as_bytes())
            .map_err(io)?,
    }
    let mut line = String::new();
    let labels: Vec<&str> = cols
        .iter()
        .map(|c| c.aliases.first().copied().unwrap_or(c.name))
        .collect();
    let mut widths: Option<Vec<usize>> = None;
    // The flow-tools layouts show a fixed set of fields; the others only
    // their columns, which are all that is decoded.
    let projection = match a.format {
        Format::FlowTools3 | Format::FlowTools5 => floe_store::Projection::ALL,
        _ => floe_store::Projection::of_fields(cols.iter().map(|c| c.name))?,
    };
    let result = input::read_projected("print", &sources, window, projection, |flows| {
        if a.format == Format::Table && widths.is_none() {
            let w = table_widths(&cols, &labels, flows, &table_zone, a.human);
            write_row(&mut out, labels.iter(), &w).map_err(io)?;
            widths = Some(w);
        }
        for f in flows {
            if left == 0 {
                return Ok(Next::Stop);
            }
            left -= 1;
            match a.format {
                Format::Table => {
                    let row = cols.iter().map(|c| cell(c, f, &table_zone, a.human));
                    write_row(&mut out, row, widths.as_deref().unwrap_or(&[])).map_err(io)?;
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
                Format::FlowTools3 | Format::FlowTools5 => {
                    line.clear();
                    if a.format == Format::FlowTools3 {
                        flow_print::format3(&mut line, f);
                    } else {
                        flow_print::format5(&mut line, f, &table_zone);
                    }
                    out.write_all(line.as_bytes()).map_err(io)?;
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
        Ok(n) if a.format == Format::Table && widths.is_none() => {
            let w: Vec<usize> = labels.iter().map(|l| l.len()).collect();
            write_row(&mut out, labels.iter(), &w).map_err(io)?;
            n
        }
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
