//! `floe filter`: the flows that match an expression, as a floe stream.

use std::path::PathBuf;

use clap::Args;
use floe_filter::{Filter, FilterFile, Options};

use crate::args::{InputArgs, LevelArg, OutputFileArg, ThreadsArg, VarsArg, WindowArgs};
use crate::error::Result;
use crate::out::Out;
use crate::stream_out;
use crate::time::now_ms;

/// Keep the flows that match a filter expression.
///
/// Example: floe cat /var/lib/floe --last 1h | floe filter 'proto tcp and dst port 443' | floe print
///
/// The expression language (nfdump/tcpdump-like): proto, [src|dst] ip/host/net
/// (CIDR, lists "in [..]"), [src|dst] port/as (comparisons, ranges, lists),
/// [in|out] if, next-hop, exporter, flags, tos, packets/bytes/duration/pps/
/// bps/bpp with k/M/G suffixes, first/last (times in --zone unless they
/// carry an offset), ipv4/ipv6, and/or/not, (), # comments, @include FILE.
///
/// flow-tools filter files run unchanged: floe filter --file filter.cfg -F web
///
/// How many match: floe filter --count-only 'proto tcp and dst port 443' /var/lib/floe --day yesterday
#[derive(Args, Debug)]
pub struct FilterArgs {
    /// The filter expression (or use --file FILE).
    #[arg(value_name = "EXPRESSION", required_unless_present = "file")]
    expression: Option<String>,
    /// Read the expression from a file; with -F, a flow-tools filter file
    /// (filter-primitive / filter-definition), as flow-nfilter -f.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The filter-definition of the flow-tools filter file to apply.
    #[arg(
        short = 'F',
        long = "definition",
        value_name = "NAME",
        requires = "file"
    )]
    definition: Option<String>,
    #[command(flatten)]
    vars: VarsArg,
    /// Print the compiled filter and exit.
    #[arg(long)]
    explain: bool,
    /// Write how many flows match (a number and a newline), not the
    /// flows: reads no column the filter does not test, and not even those
    /// of blocks that the statistics decide.
    #[arg(long = "count-only", conflicts_with = "explain")]
    count: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    output: OutputFileArg,
    #[command(flatten)]
    level: LevelArg,
    #[command(flatten)]
    threads: ThreadsArg,
}

/// How filters compile in every subcommand: times written in an
/// expression or filter file without an offset are read in `--zone`.
pub fn options(w: &WindowArgs) -> Result<Options> {
    Ok(Options::default().with_zone(floe_query::ZoneClock(w.zone()?)))
}

pub fn run(mut a: FilterArgs) -> Result<()> {
    let options = options(&a.window)?;
    let filter = match &a.file {
        Some(f) => {
            // With --file, a first positional is an input, not an expression.
            if let Some(e) = a.expression.take() {
                a.input.paths.insert(0, PathBuf::from(e));
            }
            match &a.definition {
                Some(def) => {
                    let ff = FilterFile::load_with(f, &a.vars.map(), now_ms(), &options)?;
                    ff.compile(def).map(Filter::from_expr)
                }
                None => Filter::from_file_with(f, &options),
            }
        }
        None => Filter::parse_with(a.expression.as_deref().unwrap_or(""), &options),
    }?;
    if a.explain {
        let mut out = Out::open(a.output.output.as_deref())?;
        out.text(&format!("{filter}\n"))?;
        return out.finish();
    }
    stream_out::stream(
        "filter",
        &a.input,
        &a.window,
        &a.output,
        a.level,
        Some(&filter),
        a.threads.threads,
        a.count,
    )
}
