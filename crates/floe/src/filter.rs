//! `floe filter`: the flows that match an expression, as a floe stream.

use std::path::PathBuf;

use clap::Args;
use floe_filter::{Filter, FilterFile, Options, WallClock};

use crate::input::{self, InputArgs};
use crate::output;

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
/// flow-tools filter files run unchanged: floe filter -f filter.cfg -F web
#[derive(Args, Debug)]
pub struct FilterArgs {
    /// The filter expression (or use -f FILE).
    #[arg(value_name = "EXPRESSION", required_unless_present = "file")]
    expression: Option<String>,
    /// Read the expression from a file; with -F, a flow-tools filter file
    /// (filter-primitive / filter-definition), as flow-nfilter -f.
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The filter-definition of the flow-tools filter file to apply.
    #[arg(
        short = 'F',
        long = "definition",
        value_name = "NAME",
        requires = "file"
    )]
    definition: Option<String>,
    /// Variable binding for the filter file's @{NAME:-default} words.
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Print the compiled filter and exit.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    input: InputArgs,
    /// Write a floe file here instead of the stream on stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `--zone` for the times written in the expression or filter file.
#[derive(Debug)]
struct ExpressionZone(floe_store::Zone);

impl WallClock for ExpressionZone {
    fn instant(&self, local: chrono::NaiveDateTime) -> i64 {
        self.0.from_local(local)
    }
}

pub fn run(mut a: FilterArgs) -> Result<i32, String> {
    let options = Options::default().with_zone(ExpressionZone(a.input.zone()?));
    let filter = match &a.file {
        Some(f) => {
            // With -f, a first positional is an input, not an expression.
            if let Some(e) = a.expression.take() {
                a.input.paths.insert(0, PathBuf::from(e));
            }
            match &a.definition {
                Some(def) => {
                    let vars = input::parse_vars(&a.vars)?;
                    let ff = FilterFile::load_with(f, &vars, crate::now_ms(), &options)
                        .map_err(|e| e.to_string())?;
                    ff.compile(def).map(Filter::from_expr)
                }
                None => Filter::from_file_with(f, &options),
            }
        }
        None => Filter::parse_with(a.expression.as_deref().unwrap_or(""), &options),
    }
    .map_err(|e| e.to_string())?;
    if a.explain {
        println!("{filter}");
        return Ok(0);
    }
    output::stream("filter", &a.input, a.output.as_ref(), None, Some(&filter))
}
