//! `floe report`: a stat-report over flows, as text, CSV or JSON.

use clap::{Args, ValueEnum};
use floe_filter::Filter;
use floe_report::{render_csv, render_json, render_text, Report, ReportType, Sort};

use crate::input::{self, InputArgs, Next};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
}

/// Compute a stat-report (flow-tools report names).
///
/// Example: floe report -t ip-source-address/ip-destination-port --sort +octets --records 15 /var/lib/floe --day yesterday
///
/// (Here -t is the report type; the window is --start/--end, --last or --day.)
///
/// Types: any combination of ip-source-address, ip-destination-address,
/// ip-source/destination-address, ip-source-port, ip-destination-port,
/// ip-source/destination-port, ip-protocol, ip-tos, ip-next-hop-address,
/// ip-exporter-address, input-interface, output-interface,
/// input/output-interface, source-as, destination-as, source/destination-as,
/// engine-id, engine-type joined with /; and ip-address, ip-port (both ends).
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Report type (flow-tools name).
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    kind: String,
    /// +FIELD largest first, -FIELD smallest first: flows, octets, packets, duration, key.
    #[arg(
        long,
        default_value = "+octets",
        value_name = "SORT",
        allow_hyphen_values = true
    )]
    sort: String,
    /// Show at most this many rows.
    #[arg(long, value_name = "N")]
    records: Option<usize>,
    /// Only flows that match this filter expression.
    #[arg(long, value_name = "EXPRESSION")]
    filter: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Most distinct keys held in memory before the report stops with an error.
    #[arg(long, default_value_t = 5_000_000, value_name = "N")]
    max_keys: usize,
    #[command(flatten)]
    input: InputArgs,
}

pub fn run(a: ReportArgs) -> Result<i32, String> {
    let kind = ReportType::parse(&a.kind).map_err(|e| e.to_string())?;
    let sort = Sort::parse(&a.sort).map_err(|e| e.to_string())?;
    let filter = a
        .filter
        .as_deref()
        .map(Filter::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    let window = a.input.window(crate::now_ms())?;
    let sources = input::sources(&a.input, window)?;
    let mut report = Report::new(kind, a.max_keys);
    let mut kept = Vec::new();
    let errors = input::read("report", &sources, window, |flows| {
        match &filter {
            Some(f) => {
                kept.clear();
                kept.extend(flows.iter().filter(|x| f.matches(x)).cloned());
                report.add(&kept)
            }
            None => report.add(flows),
        }
        .map_err(|e| e.to_string())?;
        Ok(Next::Continue)
    })?;
    let rows = report.rows(sort, a.records);
    let out = match a.format {
        Format::Text => render_text(
            &report,
            &rows,
            &format!("{} sorted {}", report.kind.name, a.sort),
        ),
        Format::Csv => render_csv(&report, &rows),
        Format::Json => format!("{:#}\n", render_json(&report, &rows, sort, a.records)),
    };
    use std::io::Write;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(e.to_string()),
        Ok(()) => {}
    }
    Ok(i32::from(errors > 0))
}
