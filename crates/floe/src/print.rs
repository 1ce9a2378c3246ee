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

use crate::args::{
    Columns, FieldsArg, FormatArg, InputArgs, NumericArg, OutputFileArg, RecordsArg, ThreadsArg,
    WindowArgs,
};
use crate::error::{warn, CliError, Result};
use crate::flow_print;
use crate::out::Out;
use crate::read::{read, Next, Selection};
use crate::scan;
use crate::sources;

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with a header (the default).
    #[default]
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
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    format: FormatArg<Format>,
    #[command(flatten)]
    fields: FieldsArg,
    #[command(flatten)]
    records: RecordsArg,
    #[command(flatten)]
    output: OutputFileArg,
    #[command(flatten)]
    threads: ThreadsArg,
    /// Show table times in UTC rather than in --zone.
    #[arg(long)]
    utc: bool,
    /// Table counters in human units (1.2 M) instead of exact numbers.
    #[arg(short = 'H', long)]
    human: bool,
    #[command(flatten)]
    numeric: NumericArg,
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

fn field(name: &str) -> Result<&'static Field> {
    Field::by_name(name).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown field {name:?}; valid fields: {}",
            Field::names().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The columns `--fields` asks for: exactly those listed ("all" for every
/// field), or the default ones with some added (at the end) or taken away.
fn fields(spec: Option<&Columns>) -> Result<Vec<&'static Field>> {
    let defaults = || {
        DEFAULT_FIELDS
            .iter()
            .map(|n| field(n))
            .collect::<Result<Vec<_>>>()
    };
    match spec {
        None => defaults(),
        Some(Columns::Only(names)) if names.len() == 1 && names[0] == "all" => {
            Ok(FIELDS.iter().collect())
        }
        Some(Columns::Only(names)) => names.iter().map(|n| field(n)).collect(),
        Some(Columns::Change(changes)) => {
            let mut cols = defaults()?;
            for (on, name) in changes {
                let f = field(name)?;
                cols.retain(|c| c.name != f.name);
                if *on {
                    cols.push(f);
                }
            }
            Ok(cols)
        }
    }
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

/// Names in the table, as people read them (off with `--numeric`):
/// protocols by name (`TCP`), ICMP's type and code as `type.code` (NetFlow
/// carries them in the destination port as type × 256 + code). Ports stay
/// numbers, as in nfdump's output: a column of service names is wide and
/// says less than the number to those who read flows.
#[derive(Clone)]
pub struct TableNames {
    protocols: std::sync::Arc<Vec<Option<String>>>,
    protocol: &'static Field,
}

impl TableNames {
    /// The names of the symbol tables floe ships.
    pub fn builtin() -> TableNames {
        let symbols = floe_report::sym::Symbols::builtin();
        TableNames {
            protocols: std::sync::Arc::new(
                (0..=255u8)
                    .map(|p| floe_report::names::protocol(&symbols, p))
                    .collect(),
            ),
            protocol: Field::by_name("ip-protocol").expect("the catalog has ip-protocol"),
        }
    }

    /// The named text of `f` in `flow`, where it has one.
    fn text(&self, f: &Field, flow: &Flow) -> Option<String> {
        let Value::U64(v) = f.get(flow) else {
            return None;
        };
        if std::ptr::eq(f, self.protocol) {
            return self.protocols.get(v as usize)?.clone();
        }
        if f.name == "ip-destination-port" {
            if let Value::U64(1 | 58) = self.protocol.get(flow) {
                return Some(format!("{}.{}", v >> 8, v & 0xff));
            }
        }
        None
    }
}

/// A table cell: like [`text`], with counters in human units and names
/// if asked.
fn cell(f: &Field, flow: &Flow, zone: &Zone, human: bool, names: Option<&TableNames>) -> String {
    if let Some(t) = names.and_then(|n| n.text(f, flow)) {
        return t;
    }
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
    names: Option<&TableNames>,
) -> Vec<usize> {
    cols.iter()
        .zip(labels)
        .map(|(c, l)| {
            flows
                .iter()
                .map(|f| cell(c, f, zone, human, names).len())
                .max()
                .unwrap_or(0)
                .max(l.len())
                // Later blocks may hold ICMPv6, the longest common name.
                .max(if names.is_some() && c.name == "ip-protocol" {
                    6
                } else {
                    0
                })
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

/// The number and time writers of one formatting thread.
#[derive(Default)]
struct Writers {
    num: itoa::Buffer,
    time: floe_flow::time::UtcWriter,
}

/// Appends [`text`]'s CSV and JSON text of `v` (times in UTC) without
/// allocating: these formats are how flows leave floe in bulk, and a
/// `String` per cell was most of their cost. Numbers, times and
/// addresses never hold a comma, quote or newline, so no cell needs CSV
/// quoting nor JSON escaping.
fn value_into(out: &mut Vec<u8>, v: Value, w: &mut Writers) {
    match v {
        Value::U64(n) => out.extend_from_slice(w.num.format(n).as_bytes()),
        Value::Time(ms) => w.time.write(out, ms),
        Value::Addr(std::net::IpAddr::V4(a)) => {
            let [a, b, c, d] = a.octets();
            for (i, o) in [a, b, c, d].into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(w.num.format(o).as_bytes());
            }
        }
        Value::Addr(a) => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{a}");
        }
    }
}

/// What is written before the first row.
fn header(
    out: &mut Out,
    format: Format,
    cols: &[&Field],
    labels: &[&str],
    widths: &[usize],
) -> std::io::Result<()> {
    match format {
        Format::Csv => writeln!(
            out,
            "{}",
            cols.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
        ),
        Format::Table => write_row(out, labels.iter(), widths),
        Format::Json => Ok(()),
        Format::FlowTools3 => out.write_all(flow_print::FORMAT3_HEADER.as_bytes()),
        Format::FlowTools5 => out.write_all(flow_print::FORMAT5_HEADER.as_bytes()),
    }
}

/// Writes flows in one of the formats, block after block: the header
/// with the first block (the table's widths come from it), at most
/// `left` flows in all.
#[derive(Clone)]
pub struct Printer {
    format: Format,
    cols: Vec<&'static Field>,
    labels: Vec<&'static str>,
    widths: Option<Vec<usize>>,
    zone: Zone,
    human: bool,
    names: Option<TableNames>,
    left: usize,
    line: String,
    /// NDJSON's `"name":` per column, None for a column named before (an
    /// object has each key once).
    json_keys: Vec<Option<Vec<u8>>>,
}

impl Printer {
    /// A printer of `format` with the columns `--fields` asks for (the
    /// flow-tools layouts take none), times in `zone`.
    pub fn new(
        format: Format,
        fields_spec: Option<&Columns>,
        zone: Zone,
        human: bool,
        names: Option<TableNames>,
        records: Option<usize>,
    ) -> Result<Printer> {
        if fields_spec.is_some() && matches!(format, Format::FlowTools3 | Format::FlowTools5) {
            return Err(CliError::Usage("--fields applies to the table, csv and json formats; the flow-tools layouts have fixed columns".into()));
        }
        let cols = fields(fields_spec)?;
        let labels = cols
            .iter()
            .map(|c| c.aliases.first().copied().unwrap_or(c.name))
            .collect();
        let json_keys = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let first = !cols[..i].iter().any(|o| o.name == c.name);
                // Catalog names are plain ASCII: nothing to escape.
                first.then(|| format!("\"{}\":", c.name).into_bytes())
            })
            .collect();
        Ok(Printer {
            json_keys,
            format,
            cols,
            labels,
            widths: None,
            zone,
            human,
            names,
            left: records.unwrap_or(usize::MAX),
            line: String::new(),
        })
    }

    /// What the printer needs decoded.
    pub fn projection(&self) -> Result<floe_store::Projection> {
        match self.format {
            Format::FlowTools3 | Format::FlowTools5 => Ok(floe_store::Projection::ALL),
            Format::Table if self.names.is_some() => {
                // ICMP's type.code in the destination port column needs
                // the protocol, shown or not.
                floe_store::Projection::of_fields(
                    self.cols.iter().map(|c| c.name).chain(["ip-protocol"]),
                )
                .map_err(CliError::Usage)
            }
            _ => floe_store::Projection::of_fields(self.cols.iter().map(|c| c.name))
                .map_err(CliError::Usage),
        }
    }

    /// Writes a block of flows; `Next::Stop` once the records asked for
    /// are written.
    pub fn write(&mut self, out: &mut Out, flows: &[Flow]) -> Result<Next> {
        if self.widths.is_none() {
            let w = if self.format == Format::Table {
                table_widths(
                    &self.cols,
                    &self.labels,
                    flows,
                    &self.zone,
                    self.human,
                    self.names.as_ref(),
                )
            } else {
                Vec::new()
            };
            header(out, self.format, &self.cols, &self.labels, &w).map_err(CliError::Output)?;
            self.widths = Some(w);
        }
        let w = self.widths.clone().unwrap_or_default();
        let mut line = std::mem::take(&mut self.line);
        let mut r = Ok(());
        for f in flows {
            if self.left == 0 {
                break;
            }
            self.left -= 1;
            r = self.line_into(out, f, &w, &mut line);
            if r.is_err() {
                break;
            }
        }
        self.line = line;
        r.map_err(CliError::Output)?;
        Ok(if self.left == 0 {
            Next::Stop
        } else {
            Next::Continue
        })
    }

    /// True when flows can be formatted on other threads (every format
    /// but the table, whose widths come from the first block).
    pub fn parallel(&self) -> bool {
        self.format != Format::Table
    }

    /// Formats flows into `buf` (on a reading thread), the end of each
    /// flow's text in `ends`, for [`Printer::emit`].
    pub fn format_into(
        &self,
        flows: &[Flow],
        buf: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> std::io::Result<()> {
        let mut line = String::new();
        let mut w = Writers::default();
        // About what a line takes, so the buffer seldom grows by copying.
        buf.reserve(flows.len() * (self.cols.len() * 12 + 2));
        for f in flows {
            if !self.record_into(buf, f, &mut w) {
                self.line_into(buf, f, &[], &mut line)?;
            }
            ends.push(buf.len());
        }
        Ok(())
    }

    /// Appends one flow's CSV or NDJSON line to `buf`; false (nothing
    /// written) for the other formats.
    fn record_into(&self, buf: &mut Vec<u8>, f: &Flow, w: &mut Writers) -> bool {
        match self.format {
            Format::Csv => {
                for (i, c) in self.cols.iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    value_into(buf, c.get(f), w);
                }
            }
            Format::Json => {
                buf.push(b'{');
                let mut first = true;
                for (c, key) in self.cols.iter().zip(&self.json_keys) {
                    let Some(key) = key else { continue };
                    if !first {
                        buf.push(b',');
                    }
                    first = false;
                    buf.extend_from_slice(key);
                    match c.get(f) {
                        v @ Value::U64(_) => value_into(buf, v, w),
                        v => {
                            buf.push(b'"');
                            value_into(buf, v, w);
                            buf.push(b'"');
                        }
                    }
                }
                buf.push(b'}');
            }
            _ => return false,
        }
        buf.push(b'\n');
        true
    }

    /// Writes what [`Printer::format_into`] made, the header first, at
    /// most the records still to show.
    pub fn emit(&mut self, out: &mut Out, buf: &[u8], ends: &[usize]) -> Result<Next> {
        if self.widths.is_none() {
            header(out, self.format, &self.cols, &self.labels, &[]).map_err(CliError::Output)?;
            self.widths = Some(Vec::new());
        }
        let k = self.left.min(ends.len());
        if k > 0 {
            out.write_all(&buf[..ends[k - 1]])
                .map_err(CliError::Output)?;
        }
        self.left -= k;
        Ok(if self.left == 0 {
            Next::Stop
        } else {
            Next::Continue
        })
    }

    /// One flow's text in the printer's format.
    fn line_into(
        &self,
        out: &mut impl Write,
        f: &Flow,
        w: &[usize],
        line: &mut String,
    ) -> std::io::Result<()> {
        let (cols, table_zone, human) = (&self.cols, &self.zone, self.human);
        match self.format {
            Format::Table => {
                let row = cols
                    .iter()
                    .map(|c| cell(c, f, table_zone, human, self.names.as_ref()));
                write_row(out, row, w)
            }
            Format::Csv | Format::Json => {
                let mut buf = std::mem::take(line).into_bytes();
                buf.clear();
                self.record_into(&mut buf, f, &mut Writers::default());
                let r = out.write_all(&buf);
                buf.clear();
                // The buffer is kept for the next line (it holds no text now).
                *line = String::from_utf8(buf).unwrap_or_default();
                r
            }
            Format::FlowTools3 | Format::FlowTools5 => {
                line.clear();
                if self.format == Format::FlowTools3 {
                    flow_print::format3(line, f);
                } else {
                    flow_print::format5(line, f, table_zone);
                }
                out.write_all(line.as_bytes())
            }
        }
    }

    /// Writes the header when no flow came (a stream with none).
    pub fn finish(&mut self, out: &mut Out) -> Result<()> {
        if self.widths.is_none() {
            let w: Vec<usize> = self.labels.iter().map(|l| l.len()).collect();
            header(out, self.format, &self.cols, &self.labels, &w).map_err(CliError::Output)?;
            self.widths = Some(w);
        }
        Ok(())
    }
}

pub fn run(a: PrintArgs) -> Result<()> {
    let format = a.format.get();
    let zone = a.window.zone()?;
    let window = a.window.window_now()?;
    let table_zone = if a.utc { Zone::Utc } else { zone.clone() };
    let mut printer = Printer::new(
        format,
        a.fields.fields.as_ref(),
        table_zone,
        a.human,
        (!a.numeric.numeric).then(TableNames::builtin),
        a.records.records,
    )?;
    let sources = sources::list(&a.input, window, a.input.tmp.tmp)?;
    let mut out = Out::open(a.output.output.as_deref())?;
    // The header waits for the first block: nothing is written when there
    // is nothing to show, and the table's widths come from that block.
    let sel = Selection {
        sources: &sources,
        window,
        projection: printer.projection()?,
    };
    let summary = match scan::open_files(&sel) {
        Some((files, mut summary)) => {
            let cols = sel.projection.cols();
            let progress = scan::progress(&sel);
            let s = scan::scan(&sel, None, cols, scan::threads(a.threads.threads));
            let stats = if printer.parallel() {
                // Decoded and formatted on every core, written in order.
                let p = &printer;
                let each = |part: floe_scan::Part| -> Result<(Vec<u8>, Vec<usize>)> {
                    progress.flows(part.rows.len());
                    let mut flows = Vec::with_capacity(part.rows.len());
                    part.batch.rows_into(part.rows, &mut flows);
                    let (mut buf, mut ends) = (Vec::new(), Vec::new());
                    p.format_into(&flows, &mut buf, &mut ends)
                        .map_err(CliError::Output)?;
                    Ok((buf, ends))
                };
                let mut emit = printer.clone();
                let stats = s.ordered(
                    &files,
                    each,
                    |(buf, ends)| Ok(matches!(emit.emit(&mut out, &buf, &ends)?, Next::Continue)),
                    warn,
                )?;
                printer = emit;
                stats
            } else {
                s.ordered(
                    &files,
                    |part| -> Result<Vec<Flow>> {
                        progress.flows(part.rows.len());
                        let mut flows = Vec::with_capacity(part.rows.len());
                        part.batch.rows_into(part.rows, &mut flows);
                        Ok(flows)
                    },
                    |flows| Ok(matches!(printer.write(&mut out, &flows)?, Next::Continue)),
                    warn,
                )?
            };
            summary.add(scan::summary(&stats));
            summary
        }
        None => read(&sel, |flows| printer.write(&mut out, flows))?,
    };
    summary.something_read(&sources, window, &zone)?;
    printer.finish(&mut out)?;
    out.finish()?;
    summary.all_read()
}
