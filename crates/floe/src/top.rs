//! `floe top`: the traffic through a running floed now, from its live
//! view: a terminal screen (iptraf's, see the floe-top crate), or one
//! snapshot for scripts and cron (`--once`, as text, JSON or CSV), or the
//! usage since the previous check (`--reset`, pmacct's `-r`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use floe_live::protocol::Talker;
use floe_live::{Client, Op, Request, Snapshot};

use crate::args::{duration_ms, FormatArg, OutputFileArg, RecordsArg};
use crate::error::{CliError, Result};
use crate::out::Out;

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Totals and the top talkers in words (the default).
    #[default]
    Text,
    /// The whole snapshot as one JSON object (`floe_live::Snapshot`).
    Json,
    /// The talkers of --key as CSV with a header.
    Csv,
}

/// Which talkers --once shows.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Key {
    #[default]
    Src,
    Dst,
    Pair,
    SrcAs,
    DstAs,
    /// Sources by flows (scanners).
    SrcFlows,
    /// Destinations by flows.
    DstFlows,
}

/// Watch the traffic a running floed receives now.
///
/// Example: floe top /var/lib/floe        (the screen; q quits, / filters)
///          floe top --once --format json /var/lib/floe
///
/// PATH is floed's data directory (its live socket is DIR/.floed-live.sock)
/// or the socket itself; default /var/lib/floe, else ./flows (the quick
/// start's).
#[derive(Args, Debug)]
pub struct TopArgs {
    /// floed's data directory or its live socket.
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Seconds shown (1s up to the window floed keeps, 60s by default;
    /// with --reset, the usage covers the time since the previous one).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    window: String,
    /// Only flows that match this filter expression.
    #[arg(long, value_name = "EXPRESSION")]
    filter: Option<String>,
    /// Print one snapshot and exit, for scripts and cron. floed counts
    /// the talkers while clients look (until nobody has for 10 minutes): a
    /// first look after that starts them, and its talkers are empty (said
    /// on stderr). For a cron job, keep a usage client (--reset) or set
    /// `[live] talkers = "always"` in floed.toml.
    #[arg(long)]
    once: bool,
    /// With --once: the usage since this client's previous --reset, and
    /// start counting again (pmacct's -r).
    #[arg(long, requires = "once")]
    reset: bool,
    /// The name --reset counts under.
    #[arg(long, value_name = "NAME", default_value = "floe-top")]
    client: String,
    /// With --once: the talkers shown (text, csv).
    #[arg(long, value_enum, default_value_t = Key::Src)]
    key: Key,
    /// Multiply by the sampling interval exporters announced (what
    /// `floe report --scale sampling` does).
    #[arg(long)]
    by_sampling: bool,
    /// Spread each flow over its own start..end instead of counting it
    /// when it arrived (totals and protocols).
    #[arg(long)]
    spread: bool,
    #[command(flatten)]
    format: FormatArg<Format>,
    #[command(flatten)]
    records: RecordsArg,
    #[command(flatten)]
    output: OutputFileArg,
}

/// The socket for PATH (a directory or the socket), or the default.
fn socket(path: Option<&Path>) -> PathBuf {
    let name = ".floed-live.sock";
    match path {
        Some(p) if p.is_dir() => p.join(name),
        Some(p) => p.to_path_buf(),
        None => {
            let system = Path::new("/var/lib/floe").join(name);
            if system.exists() {
                system
            } else {
                Path::new("flows").join(name)
            }
        }
    }
}

fn talkers(s: &Snapshot, k: Key) -> &[Talker] {
    match k {
        Key::Src => &s.talkers.src,
        Key::Dst => &s.talkers.dst,
        Key::Pair => &s.talkers.pair,
        Key::SrcAs => &s.talkers.src_as,
        Key::DstAs => &s.talkers.dst_as,
        Key::SrcFlows => &s.talkers.src_flows,
        Key::DstFlows => &s.talkers.dst_flows,
    }
}

fn text(out: &mut Out, s: &Snapshot, key: Key) -> std::io::Result<()> {
    let h = floe_top::human;
    writeln!(
        out,
        "{} s: {} bytes, {} packets, {} flows; {}bit/s, {}pkt/s, {} flows/s{}",
        s.seconds,
        s.totals.octets,
        s.totals.packets,
        s.totals.flows,
        h(s.rates.bits_per_s),
        h(s.rates.packets_per_s),
        h(s.rates.flows_per_s),
        if s.skipped_flows > 0 {
            format!(" ({} flows not seen by the live view)", s.skipped_flows)
        } else {
            String::new()
        }
    )?;
    if let Some(secs) = s.talkers_counted_secs() {
        // floed counts the talkers while clients ask: a first ask sees
        // them from its own time on.
        writeln!(
            out,
            "talkers counted since {secs} s ago (floed counts them while clients ask)"
        )?;
    }
    // The header names the talkers as --key does (src, dst-flows...).
    let name = key
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    writeln!(
        out,
        "{:<40} {:>14} {:>12} {:>10}",
        name, "bytes", "packets", "flows"
    )?;
    for t in talkers(s, key) {
        writeln!(
            out,
            "{:<40} {:>14} {:>12} {:>10}",
            t.key, t.counts.octets, t.counts.packets, t.counts.flows
        )?;
    }
    Ok(())
}

pub fn run(a: TopArgs) -> Result<()> {
    let window_ms = duration_ms(&a.window)?;
    if !(1_000..=3_600_000).contains(&window_ms) {
        return Err(CliError::Usage(format!(
            "--window {}: use 1s to 1h",
            a.window
        )));
    }
    let window = (window_ms / 1000) as u32;
    if let Some(f) = &a.filter {
        floe_live::client_filter(f).map_err(CliError::Usage)?;
    }
    let path = socket(a.path.as_deref());
    if !a.once {
        return floe_top::run(&floe_top::Options {
            socket: path.clone(),
            window,
            filter: a.filter.clone(),
            every: Duration::from_secs(1),
        })
        .map_err(|e| CliError::Live(e.to_string()));
    }
    let mut client = Client::connect(&path).map_err(|e| CliError::Live(e.to_string()))?;
    let req = Request {
        op: if a.reset { Op::Usage } else { Op::Snapshot },
        window: (!a.reset).then_some(window),
        n: Some(
            a.records
                .records
                .unwrap_or(10)
                .min(floe_live::protocol::MAX_N),
        ),
        filter: a.filter.clone(),
        scale: a.by_sampling,
        spread: a.spread,
        client: a.reset.then(|| a.client.clone()),
        reset: a.reset,
    };
    let r = client
        .ask(&req)
        .map_err(|e| CliError::Live(e.to_string()))?;
    let Some(s) = r.snapshot.filter(|_| r.ok) else {
        return Err(CliError::Live(format!(
            "{}: {}",
            path.display(),
            r.error.unwrap_or_else(|| "no answer".into())
        )));
    };
    // This very ask started them (their start is its time).
    if s.talkers_since_ms == Some(r.now_ms) {
        crate::error::warn(
            "floed was not counting talkers (nobody had looked for 10 minutes); \
             it counts them from now on: ask again later, or set [live] talkers = \"always\"",
        );
    }
    let mut out = Out::open(a.output.output.as_deref())?;
    match a.format.get() {
        Format::Json => {
            let v = serde_json::to_string(&s)
                .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
            writeln!(out, "{v}").map_err(CliError::Output)?;
        }
        Format::Csv => {
            writeln!(out, "key,octets,packets,flows,weight,error").map_err(CliError::Output)?;
            for t in talkers(&s, a.key) {
                writeln!(
                    out,
                    "{},{},{},{},{},{}",
                    t.key, t.counts.octets, t.counts.packets, t.counts.flows, t.weight, t.error
                )
                .map_err(CliError::Output)?;
            }
        }
        Format::Text => text(&mut out, &s, a.key).map_err(CliError::Output)?,
    }
    out.finish()
}
