//! Times and durations as users write them (`2026-11-22 10:00`, `-1h`,
//! `yesterday`, `30m`), read in a zone, and the time window they make.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use floe_store::Zone;

/// A time or duration that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not a duration.
    #[error("{0:?} is not a duration like 30m, 24h or 7d")]
    NotADuration(String),
    /// A duration with a unit that is not known.
    #[error("{value:?}: unknown unit {unit:?}; use s, m, h, d or w")]
    Unit {
        /// The duration as given.
        value: String,
        /// Its unit.
        unit: String,
    },
    /// Not a time.
    #[error("{0:?} is not a time: use YYYY-MM-DD[ HH:MM[:SS]], an RFC 3339 time, -1h, now, today or yesterday")]
    NotATime(String),
    /// A day past the calendar's end.
    #[error("{0:?}: day out of range")]
    DayOutOfRange(String),
    /// A window that ends before it starts.
    #[error("the window's start is not before its end")]
    Empty,
}

/// Now, UTC ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A duration: 90s, 30m, 24h, 7d, 2w (a bare number is seconds), in ms.
pub fn parse_duration_ms(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| TimeError::NotADuration(s.to_string()))?;
    let scale = match unit {
        "" | "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => {
            return Err(TimeError::Unit {
                value: s.to_string(),
                unit: unit.to_string(),
            })
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| TimeError::NotADuration(s.to_string()))
}

/// Midnight starting `date` in `zone`, UTC ms.
pub fn local_midnight(zone: &Zone, date: NaiveDate) -> i64 {
    zone.from_local(date.and_time(NaiveTime::MIN))
}

/// A time as the user wrote it, in `zone`, relative to `now_ms`.
pub fn parse_time(s: &str, zone: &Zone, now_ms: i64) -> Result<i64, TimeError> {
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
    Err(TimeError::NotATime(s.to_string()))
}

/// The calendar day holding `day` (a time as [`parse_time`] reads it),
/// as a window from its midnight to the next, in `zone`.
pub fn day_window(day: &str, zone: &Zone, now_ms: i64) -> Result<Window, TimeError> {
    let from = parse_time(day, zone, now_ms)?;
    let date = zone.at(from).date_naive();
    let next = date
        .succ_opt()
        .ok_or_else(|| TimeError::DayOutOfRange(day.to_string()))?;
    Ok(Window {
        from: local_midnight(zone, date),
        to: local_midnight(zone, next),
    })
}

/// A time window `[from, to)` in UTC ms; an unbounded side is
/// `i64::MIN` / `i64::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First instant in the window.
    pub from: i64,
    /// First instant after it.
    pub to: i64,
}

impl Window {
    /// Every flow.
    pub const ALL: Window = Window {
        from: i64::MIN,
        to: i64::MAX,
    };

    /// True when the window takes every flow.
    pub fn is_all(&self) -> bool {
        *self == Window::ALL
    }

    /// The window in words, in `zone`: `between A and B`, `after A`,
    /// `before B`, or `in the files read`.
    pub fn describe(&self, zone: &Zone) -> String {
        let t = |ms: i64| zone.at(ms).format("%Y-%m-%d %H:%M:%S %z").to_string();
        match (self.from, self.to) {
            (i64::MIN, i64::MAX) => "in the files read".into(),
            (from, i64::MAX) => format!("after {}", t(from)),
            (i64::MIN, to) => format!("before {}", t(to)),
            (from, to) => format!("between {} and {}", t(from), t(to)),
        }
    }
}

/// A zone as the reports' clock: times shown in it, named after them
/// (`UTC`, `Europe/Amsterdam`, `local time`).
pub struct ZoneClock<'a>(pub &'a Zone);

impl floe_report::words::Clock for ZoneClock<'_> {
    fn offset_ms(&self, at_ms: i64) -> i64 {
        i64::from(self.0.at(at_ms).offset().local_minus_utc()) * 1000
    }

    fn label(&self) -> String {
        match self.0 {
            Zone::Local => "local time".into(),
            z => z.name(),
        }
    }
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
            .to_string()
            .contains("YYYY-MM-DD"));
    }

    #[test]
    fn days_and_durations() {
        let z = Zone::Utc;
        let now = floe_flow::time::utc_ms(2026, 11, 22, 10, 30, 0);
        assert_eq!(
            day_window("2026-11-21 15:00", &z, now),
            Ok(Window {
                from: floe_flow::time::utc_ms(2026, 11, 21, 0, 0, 0),
                to: floe_flow::time::utc_ms(2026, 11, 22, 0, 0, 0),
            })
        );
        assert_eq!(parse_duration_ms("90"), Ok(90_000));
        assert_eq!(parse_duration_ms("2w"), Ok(1_209_600_000));
        assert!(matches!(
            parse_duration_ms("3y"),
            Err(TimeError::Unit { .. })
        ));
        assert!(parse_duration_ms("99999999999999999d").is_err());
    }
}
