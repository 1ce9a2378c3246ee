//! `floe usage --since-last STATE`: what each key used since the previous
//! run, and running totals since the first (floe-alert's usage), for the
//! cron job that mails usage.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use floe_alert::usage::{self, UsageState};
use floe_alert::{human, StateLock};
use floe_filter::{Filter, Options};
use serde_json::json;

use crate::args::{FormatArg, OutputFileArg, RecordsArg, WindowArgs};
use crate::error::{warn, CliError, Result};
use crate::out::Out;
use crate::sources::no_such_path;
use crate::time::now_ms;

/// How usage is shown.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns under a title.
    #[default]
    Text,
    /// A header row, then one row per key.
    Csv,
    /// One document.
    Json,
}

/// Usage since the previous run, and running totals, per key.
///
/// Each run counts the closed files of the store it has not counted
/// before (a file that arrives late counts in the next run), adds them
/// to the totals, and saves the state.
///
/// Example: floe usage --since-last /var/lib/floe/usage.state --by ip-address /var/lib/floe | mail -s usage noc@example.net
#[derive(Args, Debug)]
pub struct UsageArgs {
    /// The state file: the files counted so far and the running totals
    /// (made by the first run).
    #[arg(long = "since-last", value_name = "STATE")]
    pub since_last: PathBuf,
    /// Key, as reports name keys (ip-address counts each end, ip-source-address,
    /// ip-destination-port, source-as...) [default: the total only].
    #[arg(long, value_name = "KEY")]
    pub by: Option<String>,
    /// Source addresses as address, prefix-mask (the network, by the flow's
    /// mask), prefix-len (the address and its mask length), or the network
    /// of a fixed /V4[,V6] length (prefix-mask/24).
    #[arg(long, value_name = "FORMAT")]
    pub src_format: Option<String>,
    /// Destination addresses, as --src-format.
    #[arg(long, value_name = "FORMAT")]
    pub dst_format: Option<String>,
    /// Only flows that match this filter expression.
    #[arg(long, value_name = "EXPRESSION")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub records: RecordsArg,
    #[command(flatten)]
    pub format: FormatArg<Format>,
    #[command(flatten)]
    pub output: OutputFileArg,
    #[command(flatten)]
    pub threads: crate::args::ThreadsArg,
    #[command(flatten)]
    pub window: WindowArgs,
    /// The store's directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Most keys counted.
const MAX_KEYS: usize = 5_000_000;

pub fn run(a: UsageArgs) -> Result<()> {
    let zone = a.window.zone()?;
    if !a.dir.is_dir() {
        return Err(no_such_path(&a.dir));
    }
    let key = match &a.by {
        Some(b) => Some(
            floe_alert::rules::key_from_name(b, a.src_format.as_deref(), a.dst_format.as_deref())
                .map_err(|m| CliError::Usage(format!("--by {b}: {m}")))?,
        ),
        None if a.src_format.is_some() || a.dst_format.is_some() => {
            return Err(CliError::Usage(
                "an address format needs a key (--by)".into(),
            ))
        }
        None => None,
    };
    let filter = match &a.filter {
        Some(t) => {
            let options = Options::default().with_zone(floe_query::ZoneClock(zone.clone()));
            Some((t.clone(), Filter::parse_with(t, &options)?))
        }
        None => None,
    };
    let window = a.window.window_now()?;
    let all = floe_store::walk(&a.dir)?;
    let files: Vec<_> = all
        .iter()
        .filter(|f| !f.tmp && f.start_ms >= window.from && f.start_ms < window.to)
        .cloned()
        .collect();
    if all.iter().all(|f| f.tmp) {
        return Err(CliError::NoFiles {
            what: "floe",
            under: vec![a.dir.clone()],
        });
    }
    let _lock = StateLock::acquire(&a.since_last)?;
    let mut state = UsageState::load(&a.since_last)?;
    let what = |s: &Option<String>| s.clone().unwrap_or_default();
    let by_text = a.by.as_ref().map(|b| {
        format!(
            "{b} src={} dst={}",
            what(&a.src_format),
            what(&a.dst_format)
        )
    });
    if state.runs > 0 && (state.by != by_text || state.filter != a.filter) {
        return Err(CliError::Usage(format!(
            "{}: its totals are by {} with filter {}; give the same --by/--filter or another state file",
            a.since_last.display(),
            state.by.as_deref().unwrap_or("(none)"),
            state.filter.as_deref().unwrap_or("(none)")
        )));
    }
    state.by = by_text;
    state.filter = a.filter.clone();
    let spec = usage::usage_spec(key, filter);
    let threads = a
        .threads
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)));
    let u = usage::run(&mut state, &spec, &files, &all, MAX_KEYS, threads, now_ms())?;
    for w in &u.warnings {
        warn(w);
    }
    let mut out = Out::open(a.output.output.as_deref())?;
    let rows = &u.rows[..u.rows.len().min(a.records.records.unwrap_or(usize::MAX))];
    let t = |ms: Option<i64>| ms.map(|m| zone.at(m).format("%Y-%m-%d %H:%M:%S %z").to_string());
    let columns: Vec<String> = if u.columns.is_empty() {
        vec!["key".into()]
    } else {
        u.columns.clone()
    };
    let key_cells = |k: &floe_alert::Key| -> Vec<String> {
        if k.is_empty() {
            vec!["total".into()]
        } else {
            k.parts().iter().map(|v| v.to_string()).collect()
        }
    };
    match a.format.get() {
        Format::Text => {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "Usage since {} ({} new files); totals since {}",
                t(u.previous_ms).unwrap_or_else(|| "the start (first run)".into()),
                u.files,
                t(u.first_ms).unwrap_or_default()
            );
            let mut table: Vec<Vec<String>> = vec![columns
                .iter()
                .cloned()
                .chain(
                    [
                        "octets",
                        "packets",
                        "flows",
                        "total-octets",
                        "total-packets",
                        "total-flows",
                    ]
                    .map(String::from),
                )
                .collect()];
            let row = |key: Vec<String>, s: &floe_alert::Sums, t: &floe_alert::Sums| {
                let mut r = key;
                r.extend([
                    human(s.octets as f64),
                    human(s.packets as f64),
                    human(s.flows as f64),
                    human(t.octets as f64),
                    human(t.packets as f64),
                    human(t.flows as f64),
                ]);
                r
            };
            if !u.columns.is_empty() {
                for r in rows {
                    table.push(row(key_cells(&r.key), &r.since, &r.total));
                }
            }
            let mut all_key = vec!["total".to_string()];
            all_key.resize(columns.len(), String::new());
            table.push(row(all_key, &u.since, &u.total));
            let widths: Vec<usize> = (0..table[0].len())
                .map(|i| {
                    table
                        .iter()
                        .map(|r| r[i].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for r in &table {
                let cells: Vec<String> = r
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i < columns.len() {
                            format!("{c:<w$}", w = widths[i])
                        } else {
                            format!("{c:>w$}", w = widths[i])
                        }
                    })
                    .collect();
                let _ = writeln!(s, "{}", cells.join("  ").trim_end());
            }
            out.text(&s)?;
        }
        Format::Csv => {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "{},octets,packets,flows,total-octets,total-packets,total-flows",
                columns.join(",")
            );
            let mut line = |key: Vec<String>, x: &floe_alert::Sums, y: &floe_alert::Sums| {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{}",
                    key.join(","),
                    x.octets,
                    x.packets,
                    x.flows,
                    y.octets,
                    y.packets,
                    y.flows
                );
            };
            if u.columns.is_empty() {
                line(vec!["total".into()], &u.since, &u.total);
            } else {
                for r in rows {
                    line(key_cells(&r.key), &r.since, &r.total);
                }
            }
            out.text(&s)?;
        }
        Format::Json => {
            let sums = |s: &floe_alert::Sums| json!({"octets": s.octets, "packets": s.packets, "flows": s.flows});
            let doc = json!({
                "previous_run": t(u.previous_ms),
                "first_run": t(u.first_ms),
                "files": u.files,
                "by": a.by,
                "columns": u.columns,
                "since": sums(&u.since),
                "total": sums(&u.total),
                "rows": rows.iter().map(|r| json!({
                    "key": r.key.parts().iter().map(|v| v.to_string()).collect::<Vec<_>>(),
                    "since": sums(&r.since),
                    "total": sums(&r.total),
                })).collect::<Vec<_>>(),
            });
            out.text(&format!("{doc}\n"))?;
        }
    }
    // The state moves on only once the answer is out whole.
    out.finish()?;
    state.save(&a.since_last)?;
    if !u.warnings.is_empty() {
        return Err(CliError::Damaged(u.warnings.len()));
    }
    Ok(())
}
