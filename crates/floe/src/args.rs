//! The flags several subcommands share, each defined once here so that a
//! letter or a name means one thing in every subcommand (README, "Flags"):
//! the inputs, the time window, where the output goes, its format, how
//! many records and which columns, the variables of flow-tools files, and
//! the zstd level of floe output. A test walks every subcommand's flags
//! and fails when one spelling has two meanings.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use floe_store::Zone;

use crate::error::{CliError, Result};
use crate::time::{day_window, now_ms, parse_duration_ms, parse_time, Window};

/// The files, trees and streams a reading subcommand takes.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files, directories (walked in time order), or - for a stream on stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub tmp: TmpArg,
    /// How far (in time) a file's period may be from the window and still be
    /// opened: flows are filed by receive time, and long flows start earlier.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = duration_ms)]
    pub slack: i64,
}

/// `--tmp`: files still being written count too.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct TmpArg {
    /// Also read tmp- files (still being written, or left by a crash), up
    /// to their last whole block.
    #[arg(long = "tmp")]
    pub tmp: bool,
}

/// `--slack` and `--span`: a duration, in ms.
pub fn duration_ms(s: &str) -> Result<i64, crate::time::TimeError> {
    parse_duration_ms(s)
}

/// The time window: which flows count (those that overlap it), and the
/// zone times are read and shown in.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Time window")]
pub struct WindowArgs {
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
    /// Window of this length (24h, 30m, 7d) ending at --end, or now.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["start", "day"])]
    pub last: Option<String>,
    /// One calendar day in the zone: YYYY-MM-DD, today or yesterday.
    #[arg(long, value_name = "DAY", conflicts_with_all = ["start", "end", "last"])]
    pub day: Option<String>,
    /// Zone for times given and shown: local, UTC or an IANA name.
    #[arg(long, default_value = "local", value_name = "ZONE")]
    pub zone: String,
}

impl WindowArgs {
    /// The zone of `--zone`.
    pub fn zone(&self) -> Result<Zone> {
        Zone::parse(&self.zone).map_err(CliError::Usage)
    }

    /// The window the flags give, relative to `now_ms`.
    pub fn window(&self, now_ms: i64) -> Result<Window> {
        let zone = self.zone()?;
        if let Some(d) = &self.day {
            return Ok(day_window(d, &zone, now_ms)?);
        }
        let time = |s: &Option<String>| {
            s.as_deref()
                .map(|s| parse_time(s, &zone, now_ms))
                .transpose()
        };
        let end = time(&self.end)?;
        let window = match &self.last {
            // Without --end the window stays open: flows still arriving
            // (an exporter's clock a little ahead) are in it.
            Some(l) => {
                let len = parse_duration_ms(l)?;
                Window {
                    from: end.unwrap_or(now_ms).saturating_sub(len),
                    to: end.unwrap_or(i64::MAX),
                }
            }
            None => Window {
                from: time(&self.start)?.unwrap_or(i64::MIN),
                to: end.unwrap_or(i64::MAX),
            },
        };
        if window.from >= window.to {
            return Err(crate::time::TimeError::Empty.into());
        }
        Ok(window)
    }

    /// The window of now.
    pub fn window_now(&self) -> Result<Window> {
        self.window(now_ms())
    }
}

/// `-o FILE`: where the output goes instead of stdout.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputFileArg {
    /// Write the output to FILE instead of stdout. FILE appears whole when
    /// the command succeeds, and not at all otherwise.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `-f FORMAT`: the output format, among the subcommand's own.
#[derive(Args, Debug, Clone)]
pub struct FormatArg<F: ValueEnum + Clone + Send + Sync + 'static> {
    /// Output format (the first listed is the default).
    #[arg(short = 'f', long = "format", value_enum, value_name = "FORMAT")]
    pub format: Option<F>,
}

impl<F: ValueEnum + Clone + Send + Sync + Default + 'static> FormatArg<F> {
    /// The format asked, or the subcommand's default.
    pub fn get(&self) -> F {
        self.format.clone().unwrap_or_default()
    }
}

/// `-n N`: how many records at most.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct RecordsArg {
    /// At most this many records: flows printed, rows of each report.
    #[arg(short = 'n', long = "records", value_name = "N")]
    pub records: Option<usize>,
}

/// `--numeric`: numbers where people read names.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct NumericArg {
    /// Numbers instead of names (6, not TCP; 2048, not 8.0 (echo
    /// request)) in text and HTML, and no name columns in CSV and JSON:
    /// for scripts.
    #[arg(long)]
    pub numeric: bool,
}

/// `--fields`: the columns shown.
#[derive(Args, Debug, Clone, Default)]
pub struct FieldsArg {
    /// Columns: NAME,NAME,... shows exactly these; +NAME,-NAME,... adds
    /// to and takes from the default ones.
    #[arg(
        long = "fields",
        value_name = "NAME,...|+NAME,-NAME",
        allow_hyphen_values = true,
        value_parser = columns
    )]
    pub fields: Option<Columns>,
}

/// A `--fields` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Columns {
    /// Exactly these, in this order.
    Only(Vec<String>),
    /// The default ones, each named turned on (true) or off (false).
    Change(Vec<(bool, String)>),
}

/// Reads `a,b,c` or `+a,-b` (commas or blanks between); a mix is refused.
fn columns(s: &str) -> Result<Columns, String> {
    let words: Vec<&str> = s
        .split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err("no column named".into());
    }
    let signed = |w: &&str| w.starts_with(['+', '-']);
    if words.iter().all(signed) {
        Ok(Columns::Change(
            words
                .iter()
                .map(|w| (w.starts_with('+'), w[1..].to_ascii_lowercase()))
                .collect(),
        ))
    } else if words.iter().any(signed) {
        Err(
            "either NAME,NAME (exactly these) or +NAME,-NAME (changes to the default), not both"
                .into(),
        )
    } else {
        Ok(Columns::Only(words.iter().map(|w| w.to_string()).collect()))
    }
}

/// `-v NAME=VALUE`: the variables of a flow-tools file.
#[derive(Args, Debug, Clone, Default)]
pub struct VarsArg {
    /// NAME=VALUE for the @{NAME:-default} words of a flow-tools filter or
    /// report file (repeatable).
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE", value_parser = var)]
    pub vars: Vec<(String, String)>,
}

impl VarsArg {
    /// The bindings, by name.
    pub fn map(&self) -> HashMap<String, String> {
        self.vars.iter().cloned().collect()
    }
}

fn var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))
}

/// `--threads`: how many threads read floe files.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct ThreadsArg {
    /// Threads reading (decoding, filtering, counting, encoding) floe
    /// files; what is printed keeps the files' order [default: one per
    /// core, at most 8].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `--state`: where a subcommand that resumes records how far it got.
#[derive(Args, Debug, Clone, Default)]
pub struct StateArg {
    /// The state file: what this subcommand has done so far, so that the
    /// next run goes on from there [default: in DIR, named in the
    /// subcommand's help].
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
}

/// `--level`: the zstd level of floe output.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct LevelArg {
    /// zstd level of the floe output (default: fast for a pipe, the
    /// store's default for a file).
    #[arg(long = "level", value_name = "LEVEL")]
    pub level: Option<i32>,
}

/// `--to`: where a subcommand sends or writes.
pub const TO_HELP: &str =
    "Destination: the collector's ADDR:PORT (send), the root of the floe tree (import)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists() {
        assert_eq!(
            columns("srcip, octets").unwrap(),
            Columns::Only(vec!["srcip".into(), "octets".into()])
        );
        assert_eq!(
            columns("+avg-bps,-Duration").unwrap(),
            Columns::Change(vec![(true, "avg-bps".into()), (false, "duration".into())])
        );
        assert!(columns("octets,-duration").is_err());
        assert!(columns(" , ").is_err());
    }

    #[test]
    fn last_ends_at_end_or_stays_open() {
        let now = floe_flow::time::utc_ms(2026, 11, 22, 10, 30, 0);
        let w = WindowArgs {
            last: Some("1h".into()),
            zone: "UTC".into(),
            ..WindowArgs::default()
        };
        assert_eq!(
            w.window(now).unwrap(),
            Window {
                from: now - 3_600_000,
                to: i64::MAX
            }
        );
        let w = WindowArgs {
            end: Some("2026-11-22 08:00".into()),
            ..w
        };
        let end = floe_flow::time::utc_ms(2026, 11, 22, 8, 0, 0);
        assert_eq!(
            w.window(now).unwrap(),
            Window {
                from: end - 3_600_000,
                to: end
            }
        );
    }
}
