//! The flags of `floe report`, and the formats it writes.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::args::{
    FieldsArg, FormatArg, InputArgs, NumericArg, OutputFileArg, RecordsArg, ThreadsArg, VarsArg,
    WindowArgs,
};
use crate::clickhouse::{ClickHouseUrl, TableArgs};
use crate::mail::MailArgs;

/// How a report is shown.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns under a title (the default).
    #[default]
    Text,
    /// A header row, then one row per key.
    Csv,
    /// One document (schemas/report.schema.json).
    Json,
    /// One self-contained page (bar tables and SVG charts; no external
    /// assets); mailed, its charts are PNG images in the message.
    Html,
    /// flow-report's ascii layout (# recn: lines, comma-separated rows).
    FlowTools,
}

/// Compute a stat-report (flow-tools report names).
///
/// Example: floe report -r ip-source-address/ip-destination-port --sort +octets --records 15 /var/lib/floe --day yesterday
///
/// Types (-r): any combination of ip-source-address, ip-destination-address,
/// ip-source/destination-address, ip-source-port, ip-destination-port,
/// ip-source/destination-port, ip-protocol, ip-tos, ip-next-hop-address,
/// ip-exporter-address, input-interface, output-interface,
/// input/output-interface, source-as, destination-as, source/destination-as,
/// engine-id, engine-type, and the distributions packet-size, octets,
/// packets, bps, pps, duration, and time-series, joined with /; and
/// ip-address, ip-port (both ends), ip-source-address-destination-count,
/// ip-destination-address-source-count, summary-counters, summary-detail.
///
/// The window is -t/-T (start, end), --last or --day, as in every floe tool.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Report type (flow-tools name); repeat for several reports in one
    /// pass. One of -r, -s or --daily is needed.
    #[arg(short = 'r', long = "type", value_name = "TYPE")]
    pub kinds: Vec<String>,
    /// The daily summary of the day of --day (yesterday without it):
    /// traffic per hour, top addresses, ports and conversations,
    /// protocols, exporter health. Reads the day's tmp- files too.
    #[arg(
        long,
        conflicts_with_all = ["kinds", "stat_config", "start", "end", "last"]
    )]
    pub daily: bool,
    /// flow-tools report configuration (stat-report / stat-definition), as flow-report -s.
    #[arg(short = 's', long = "stat-config", value_name = "FILE")]
    pub stat_config: Option<PathBuf>,
    /// stat-definition(s) of the configuration to run, as flow-report -S.
    #[arg(
        short = 'S',
        long = "stat-definition",
        value_name = "NAME",
        requires = "stat_config"
    )]
    pub definitions: Vec<String>,
    /// Every stat-definition of the configuration, in its order.
    #[arg(long, requires = "stat_config", conflicts_with = "definitions")]
    pub all_reports: bool,
    #[command(flatten)]
    pub vars: VarsArg,
    /// +FIELD largest first, -FIELD smallest first: flows, octets, packets,
    /// duration, key, key1..key4, avg-bps, min-bps, max-bps, avg-pps,
    /// min-pps, max-pps, count [default: +octets; time series -key].
    #[arg(long, value_name = "SORT", allow_hyphen_values = true)]
    pub sort: Option<String>,
    #[command(flatten)]
    pub fields: FieldsArg,
    /// flow-tools output options: +header, +xheader, +totals, +percent-total, +names.
    #[arg(long, value_name = "+NAME,-NAME", allow_hyphen_values = true)]
    pub options: Option<String>,
    /// A #TALLY line of running percentages every N rows (flow-tools format).
    #[arg(long, value_name = "N")]
    pub tally: Option<u64>,
    /// Octets and packets times N, or times each flow's sampling interval (`sampling`).
    #[arg(long, value_name = "N|sampling")]
    pub scale: Option<String>,
    /// Source addresses as address, prefix-mask (the network, by the flow's
    /// mask), prefix-len (the address and its mask length), or the network
    /// of a fixed /V4[,V6] length (prefix-mask/24).
    #[arg(long, value_name = "FORMAT")]
    pub src_format: Option<String>,
    /// Destination addresses, as --src-format.
    #[arg(long, value_name = "FORMAT")]
    pub dst_format: Option<String>,
    /// With -r time-series/KEY: the N keys largest over the window (by
    /// --sort +octets, +packets or +flows), per interval, the rest summed
    /// as "other", with each one's min, max, average, 95th percentile and
    /// total; what floe web's graph shows, from the same code (0: every
    /// key). Reads one store directory, its open file too.
    #[arg(long, value_name = "N", conflicts_with_all = ["stat_config", "daily"])]
    pub series: Option<usize>,
    /// Interval of time-series reports, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub interval: u64,
    /// Directory of flow-tools symbol files (ip-prot.sym, tcp-port.sym,
    /// asn.sym) for names of protocols, ports and ASes; floe's own are
    /// used for files not there (AS numbers are named only from an
    /// asn.sym here).
    #[arg(long, value_name = "DIR")]
    pub symbols: Option<PathBuf>,
    #[command(flatten)]
    pub numeric: NumericArg,
    #[command(flatten)]
    pub records: RecordsArg,
    /// Only flows that match this filter expression.
    #[arg(long, value_name = "EXPRESSION")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub format: FormatArg<Format>,
    /// Most distinct keys held in memory before the report stops with an error.
    #[arg(long, default_value_t = 5_000_000, value_name = "N")]
    pub max_keys: usize,
    #[command(flatten)]
    pub threads: ThreadsArg,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub output: OutputFileArg,
    #[command(flatten)]
    pub mail: MailArgs,
    /// Ask ClickHouse (floe ship's or floed's tables) instead of reading
    /// files: the same reports, as SQL.
    #[command(flatten)]
    pub clickhouse: ClickHouseUrl,
    #[command(flatten)]
    pub ch: TableArgs,
    /// With --clickhouse: print the SQL that would answer, and ask nothing.
    #[arg(long, requires = "url")]
    pub sql: bool,
    /// With --clickhouse: read the flows table only, never a consolidated one.
    #[arg(long, requires = "url")]
    pub no_consolidated: bool,
}
