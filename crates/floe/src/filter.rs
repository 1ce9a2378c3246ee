//! `floe filter`: the flows that match an expression, as a floe stream.

use std::path::PathBuf;

use clap::Args;
use floe_filter::{Filter, FilterFile, Options, WallClock};

use crate::args::{InputArgs, LevelArg, OutputFileArg, VarsArg, WindowArgs};
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
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    output: OutputFileArg,
    #[command(flatten)]
    level: LevelArg,
}

/// `--zone` for the times written in the expression or filter file.
#[derive(Debug)]
pub(crate) struct ExpressionZone(pub(crate) floe_store::Zone);

impl WallClock for ExpressionZone {
    fn instant(&self, local: chrono::NaiveDateTime) -> i64 {
        self.0.from_local(local)
    }
}

pub fn run(mut a: FilterArgs) -> Result<()> {
    let options = Options::default().with_zone(ExpressionZone(a.window.zone()?));
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
    )
}
