//! What every reading subcommand shares: the inputs (files, directories
//! walked in time order, `-` for a stream on stdin; floe files and
//! flow-tools files alike), the time window
//! (`-t`/`-T`, `--last`, `--day`), and reading them block by block with
//! damaged files reported by name and offset while the rest is read.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use clap::Args;
use floe_flow::Flow;
use floe_store::{walk_readable, FlowFile, Projection, StreamReader, Zone};

/// Inputs and time window, defined once for cat, print (and the tools to come).
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files, directories (walked in time order), or - for a stream on stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Window start: YYYY-MM-DD[ HH:MM[:SS]] in the zone, an RFC 3339 time,
    /// -1h / -30m / -2d (before now), now, today, yesterday.
    #[arg(
        short = 't',
        long = "start",
        value_name = "TIME",
        allow_hyphen_values = true
    )]
    pub start: Option<String>,
    /// Window end (exclusive), same forms as --start.
    #[arg(
        short = 'T',
        long = "end",
        value_name = "TIME",
        allow_hyphen_values = true
    )]
    pub end: Option<String>,
    /// Window of this length ending now (e.g. 24h, 30m, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["start", "day"])]
    pub last: Option<String>,
    /// One calendar day in the zone: YYYY-MM-DD, today or yesterday.
    #[arg(long, value_name = "DAY", conflicts_with_all = ["start", "end", "last"])]
    pub day: Option<String>,
    /// Zone for times given and shown: local, UTC or an IANA name.
    #[arg(long, default_value = "local", value_name = "ZONE")]
    pub zone: String,
    /// Also read tmp- files still being written (up to their last whole block).
    #[arg(long)]
    pub tmp: bool,
    /// How far (in time) a file's period may be from the window and still be
    /// opened: flows are filed by receive time, and long flows start earlier.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub slack: String,
    /// Threads reading files where a tool can use several (report): default
    /// one per core.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// A duration: 90s, 30m, 24h, 7d, 2w (a bare number is seconds).
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 24h or 7d"))?;
    let scale = match unit {
        "" | "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(format!("{s:?}: unknown unit {unit:?}; use s, m, h, d or w")),
    };
    Ok(n * scale)
}

fn local_midnight(zone: &Zone, date: NaiveDate) -> i64 {
    zone.from_local(date.and_time(NaiveTime::MIN))
}

/// A time as the user wrote it, in `zone`, relative to `now_ms`.
pub fn parse_time(s: &str, zone: &Zone, now_ms: i64) -> Result<i64, String> {
    let t = s.trim();
    let today = zone.at(now_ms).date_naive();
    match t {
        "now" => return Ok(now_ms),
        "today" => return Ok(local_midnight(zone, today)),
        "yesterday" => return Ok(local_midnight(zone, today.pred_opt().unwrap_or(today))),
        _ => {}
    }
    if let Some(rel) = t.strip_prefix('-') {
        return Ok(now_ms - parse_duration_ms(rel)?);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(zone.from_local(n));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(local_midnight(zone, d));
    }
    Err(format!(
        "{s:?} is not a time: use YYYY-MM-DD[ HH:MM[:SS]], an RFC 3339 time, -1h, now, today or yesterday"
    ))
}

impl InputArgs {
    pub fn zone(&self) -> Result<Zone, String> {
        Zone::parse(&self.zone)
    }

    /// The window `[from, to)` in UTC ms (unbounded sides are i64::MIN/MAX).
    pub fn window(&self, now_ms: i64) -> Result<(i64, i64), String> {
        let zone = self.zone()?;
        if let Some(d) = &self.day {
            let from = parse_time(d, &zone, now_ms)?;
            let date = zone.at(from).date_naive();
            let next = date.succ_opt().ok_or("day out of range")?;
            return Ok((from, local_midnight(&zone, next)));
        }
        if let Some(l) = &self.last {
            return Ok((now_ms - parse_duration_ms(l)?, i64::MAX));
        }
        let from = self
            .start
            .as_deref()
            .map(|s| parse_time(s, &zone, now_ms))
            .transpose()?
            .unwrap_or(i64::MIN);
        let to = self
            .end
            .as_deref()
            .map(|s| parse_time(s, &zone, now_ms))
            .transpose()?
            .unwrap_or(i64::MAX);
        if from >= to {
            return Err("the window's start is not before its end".into());
        }
        Ok((from, to))
    }
}

/// One input to read, its kind told once when the inputs are listed.
pub enum Source {
    /// A floe file.
    File(PathBuf),
    /// A flow-tools file (`ft-v05...`), read whole.
    FlowTools(PathBuf),
    Stdin,
}

/// The inputs in reading order: directories walked and their files sorted
/// by period (and selected by name for the window), explicit files as given.
pub fn sources(a: &InputArgs, window: (i64, i64)) -> Result<Vec<Source>, String> {
    let slack = parse_duration_ms(&a.slack)?;
    let mut out = Vec::new();
    let mut tree = Vec::new();
    let paths = if a.paths.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err("no input: give files or directories, or pipe a stream in (-)".into());
        }
        vec![PathBuf::from("-")]
    } else {
        a.paths.clone()
    };
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
        } else if p.is_dir() {
            tree.extend(
                walk_readable(&p)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|f| a.tmp || !f.tmp),
            );
        } else if is_flow_tools_file(&p) {
            out.push(Source::FlowTools(p));
        } else {
            out.push(Source::File(p));
        }
    }
    floe_store::tree::sort_files(&mut tree);
    let selected = floe_store::select(&tree, window.0, window.1, slack);
    let mut files: Vec<Source> = selected
        .into_iter()
        .map(|f| {
            if f.flow_tools {
                Source::FlowTools(f.path.clone())
            } else {
                Source::File(f.path.clone())
            }
        })
        .collect();
    files.extend(out);
    Ok(files)
}

/// Flows decoded at a time from a file's block: a quarter block keeps the
/// reading tools' peak memory low at no measurable cost in speed.
const CHUNK: usize = 4096;

/// Reads a whole flow-tools file; a cut file is still `Ok` (see
/// [`cut_short`]).
pub fn read_flow_tools(path: &std::path::Path) -> Result<floe_netflow::flowtools::FtFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    floe_netflow::flowtools::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The warning for a flow-tools file that was cut short, if it was.
pub fn cut_short(
    tool: &str,
    path: &std::path::Path,
    ft: &floe_netflow::flowtools::FtFile,
) -> Option<String> {
    ft.truncated.as_ref().map(|t| {
        format!(
            "floe {tool}: {}: flow-tools file cut short ({t}); its {} whole records are used",
            path.display(),
            ft.flows.len()
        )
    })
}

/// True for a file that starts with flow-tools' magic (0xCF 0x10); such
/// files are read whole, everything else as a floe file.
fn is_flow_tools_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && floe_netflow::flowtools::is_flow_tools(&magic)
}

/// Drops, in place, the flows that do not overlap the window (nothing to
/// do for an unbounded one).
fn keep_window(flows: &mut Vec<Flow>, (from, to): (i64, i64)) {
    if (from, to) != (i64::MIN, i64::MAX) {
        flows.retain(|f| f.overlaps(from, to));
    }
}

/// What a reader says when it stops early.
pub enum Next {
    Continue,
    Stop,
}

/// Reads every selected flow, a block at a time, calling `each` with the
/// flows of the block that overlap the window (theirs to reorder or thin
/// out in place; the buffer is reused for the next block). Damaged files and blocks are
/// reported on stderr (`floe TOOL: FILE: ...offset...`) and skipped; the
/// return value counts them.
pub fn read(
    tool: &str,
    sources: &[Source],
    window: (i64, i64),
    each: impl FnMut(&mut Vec<Flow>) -> Result<Next, String>,
) -> Result<usize, String> {
    read_projected(tool, sources, window, Projection::ALL, each)
}

/// [`read`], decoding from floe files only the fields in `projection`
/// (the others are zero): a report on two fields skips most of the
/// decompression.
pub fn read_projected(
    tool: &str,
    sources: &[Source],
    window: (i64, i64),
    projection: Projection,
    mut each: impl FnMut(&mut Vec<Flow>) -> Result<Next, String>,
) -> Result<usize, String> {
    let (from, to) = window;
    let progress = Progress::new(sources);
    let mut errors = 0;
    let mut buf = Vec::new();
    // In place: a second block-sized buffer would be a third of the peak
    // memory of a plain dump.
    let mut deliver = |buf: &mut Vec<Flow>| -> Result<bool, String> {
        keep_window(buf, window);
        progress.flows(buf.len());
        if buf.is_empty() {
            return Ok(true);
        }
        Ok(matches!(each(buf)?, Next::Continue))
    };
    for s in sources {
        match s {
            Source::FlowTools(path) => {
                progress.file(path);
                match read_flow_tools(path) {
                    Err(e) => {
                        eprintln!("floe {tool}: {e}");
                        errors += 1;
                    }
                    Ok(ft) => {
                        if let Some(w) = cut_short(tool, path, &ft) {
                            eprintln!("{w}");
                            errors += 1;
                        }
                        for chunk in ft.flows.chunks(CHUNK) {
                            buf.clear();
                            buf.extend_from_slice(chunk);
                            if !deliver(&mut buf)? {
                                return Ok(errors);
                            }
                        }
                    }
                }
            }
            Source::File(path) => {
                let file = match FlowFile::open(path) {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("floe {tool}: {e}");
                        errors += 1;
                        continue;
                    }
                };
                for d in file.damage() {
                    eprintln!("floe {tool}: {d}");
                    errors += 1;
                }
                progress.file(path);
                let mut dec = floe_store::BlockDecoder::new().map_err(|e| e.to_string())?;
                dec.set_projection(projection);
                for i in file.blocks_overlapping(from, to).collect::<Vec<_>>() {
                    let mut stop = false;
                    let mut failed = None;
                    let read = file.read_block_chunked(i, &mut dec, &mut buf, CHUNK, |b| {
                        match deliver(b) {
                            Ok(go_on) => stop = !go_on,
                            Err(e) => failed = Some(e),
                        }
                        !stop && failed.is_none()
                    });
                    if let Some(e) = failed {
                        return Err(e);
                    }
                    if let Err(e) = read {
                        eprintln!("floe {tool}: {e}");
                        errors += 1;
                        continue;
                    }
                    if stop {
                        return Ok(errors);
                    }
                }
            }
            Source::Stdin => {
                let stdin = std::io::stdin().lock();
                let mut r = match StreamReader::new(
                    std::io::BufReader::with_capacity(1 << 17, stdin),
                    "<stdin>",
                ) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("floe {tool}: {e}");
                        errors += 1;
                        continue;
                    }
                };
                r.set_window(from, to);
                loop {
                    buf.clear();
                    match r.next_block(&mut buf) {
                        Ok(true) => {
                            if !deliver(&mut buf)? {
                                return Ok(errors);
                            }
                        }
                        Ok(false) => break,
                        Err(e) => {
                            eprintln!("floe {tool}: {e}");
                            errors += 1;
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(errors)
}

/// Reads the inputs on every core, each thread with its own state from
/// `init`, and returns the states (for the caller to merge) and the number
/// of damaged inputs. Blocks are handed out one at a time, so the cores
/// share the work whatever the file sizes; the order in which flows reach
/// `each` is not the file order (reports do not care). Streams and
/// flow-tools files are read on one thread by [`read_projected`].
#[allow(clippy::too_many_arguments)]
pub fn read_parallel<S: Send>(
    tool: &str,
    sources: &[Source],
    window: (i64, i64),
    projection: Projection,
    threads: Option<usize>,
    init: impl Fn() -> S + Sync,
    each: impl Fn(&mut S, &mut Vec<Flow>) -> Result<(), String> + Sync,
) -> Result<(Vec<S>, usize), String> {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1);
    let floe_files_only = sources.iter().all(|s| matches!(s, Source::File(_)));
    if threads < 2 || !floe_files_only {
        let mut state = init();
        let errors = read_projected(tool, sources, window, projection, |flows| {
            each(&mut state, flows)?;
            Ok(Next::Continue)
        })?;
        return Ok((vec![state], errors));
    }
    let (from, to) = window;
    let mut errors = 0;
    let mut files = Vec::new();
    for s in sources {
        if let Source::File(path) = s {
            match FlowFile::open(path) {
                Ok(f) => {
                    for d in f.damage() {
                        eprintln!("floe {tool}: {d}");
                        errors += 1;
                    }
                    files.push(f);
                }
                Err(e) => {
                    eprintln!("floe {tool}: {e}");
                    errors += 1;
                }
            }
        }
    }
    let jobs: Vec<(usize, usize)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.blocks_overlapping(from, to).map(move |b| (i, b)))
        .collect();
    let progress = Progress::new(sources);
    let next = AtomicUsize::new(0);
    let damaged = AtomicUsize::new(0);
    let work = || -> Result<S, String> {
        let mut state = init();
        let mut dec = floe_store::BlockDecoder::new().map_err(|e| e.to_string())?;
        dec.set_projection(projection);
        let mut buf = Vec::new();
        let mut failed = None;
        while let Some(&(fi, b)) = jobs.get(next.fetch_add(1, Relaxed)) {
            let read = files[fi].read_block_chunked(b, &mut dec, &mut buf, CHUNK, |chunk| {
                keep_window(chunk, window);
                progress.flows(chunk.len());
                if let Err(e) = each(&mut state, chunk) {
                    failed = Some(e);
                }
                failed.is_none()
            });
            if let Some(e) = failed {
                // Stop the other threads too.
                next.store(jobs.len(), Relaxed);
                return Err(e);
            }
            if let Err(e) = read {
                eprintln!("floe {tool}: {e}");
                damaged.fetch_add(1, Relaxed);
            }
            progress.fraction(jobs.len());
        }
        Ok(state)
    };
    let states = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads).map(|_| sc.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a reading thread failed".into()))
            })
            .collect::<Result<Vec<S>, String>>()
    })?;
    Ok((states, errors + damaged.into_inner()))
}

/// The progress bar on stderr for reads of files, drawn only when stderr is
/// a terminal (never in pipes, logs or cron mail): bytes of the selected
/// files done, flows so far, rate and time left. Shared by reading threads.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    flows: std::sync::atomic::AtomicU64,
    pending: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new(sources: &[Source]) -> Progress {
        let files: Vec<&PathBuf> = sources
            .iter()
            .filter_map(|s| match s {
                Source::File(p) | Source::FlowTools(p) => Some(p),
                Source::Stdin => None,
            })
            .collect();
        let total: u64 = files
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let bar = (!files.is_empty() && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {msg} {elapsed} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            flows: Default::default(),
            pending: Default::default(),
        }
    }

    /// A file starts: the previous one is done.
    fn file(&self, path: &std::path::Path) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(bar) = &self.bar {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            bar.inc(self.pending.swap(size, Relaxed));
        }
    }

    /// One of `blocks` blocks in all is done (parallel reads).
    fn fraction(&self, blocks: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(self.total / blocks.max(1) as u64);
        }
    }

    fn flows(&self, n: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(bar) = &self.bar {
            let all = self.flows.fetch_add(n as u64, Relaxed) + n as u64;
            bar.set_message(format!("{all} flows"));
        }
    }
}

/// However reading ends (all read, `--records` reached, an error), the bar
/// leaves no trace on the terminal.
impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `-v NAME=VALUE` bindings for flow-tools files' `@{NAME:-default}` words.
pub fn parse_vars(vars: &[String]) -> Result<std::collections::HashMap<String, String>, String> {
    vars.iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, val)| (k.to_string(), val.to_string()))
                .ok_or(format!("-v {v:?}: expected NAME=VALUE"))
        })
        .collect()
}

/// True for the error writing to a closed pipe (`| head`): a quiet success.
pub fn is_broken_pipe(e: &str) -> bool {
    e.contains("Broken pipe") || e.contains("os error 32")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let z = Zone::Utc;
        let now = floe_flow::time::utc_ms(2026, 11, 22, 10, 30, 0);
        assert_eq!(
            parse_time("2026-11-22", &z, now),
            Ok(floe_flow::time::utc_ms(2026, 11, 22, 0, 0, 0))
        );
        assert_eq!(
            parse_time("2026-11-22 10:05", &z, now),
            Ok(floe_flow::time::utc_ms(2026, 11, 22, 10, 5, 0))
        );
        assert_eq!(
            parse_time("2026-11-22T10:05:07", &z, now),
            Ok(floe_flow::time::utc_ms(2026, 11, 22, 10, 5, 7))
        );
        assert_eq!(parse_time("-1h", &z, now), Ok(now - 3_600_000));
        assert_eq!(
            parse_time("yesterday", &z, now),
            Ok(floe_flow::time::utc_ms(2026, 11, 21, 0, 0, 0))
        );
        assert_eq!(
            parse_time("2026-11-22T10:00:00+01:00", &z, now),
            Ok(floe_flow::time::utc_ms(2026, 11, 22, 9, 0, 0))
        );
        let ams = Zone::parse("Europe/Amsterdam").unwrap();
        assert_eq!(
            parse_time("2026-11-22 10:00", &ams, now),
            Ok(floe_flow::time::utc_ms(2026, 11, 22, 9, 0, 0))
        );
        assert!(parse_time("last tuesday", &z, now)
            .unwrap_err()
            .contains("YYYY-MM-DD"));
    }
}
