//! The windows a rule counts over: each file's own period, or an hour, a
//! day or a calendar month (from a chosen first day) of the zone's wall
//! clock. A file belongs to the window holding its period's start: flows
//! are filed by arrival, so a window is exactly a set of files.

use chrono::{Datelike, NaiveDate, NaiveTime};
use floe_store::layout::{period_end, period_start};
use floe_store::Zone;
use serde::{Deserialize, Serialize};

/// What a rule's window is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowKind {
    /// Each file (the collector's period, 10 minutes by default).
    File,
    /// An hour of the zone's wall clock.
    Hour,
    /// A day of the zone's wall clock.
    Day,
    /// A calendar month starting on this day of the month (1 to 28).
    Month(u8),
}

impl WindowKind {
    /// `file`, `hour`, `day`, `month`; `first_day` for months.
    pub fn parse(s: &str, first_day: u8) -> Option<WindowKind> {
        Some(match s {
            "file" | "10m" | "period" => WindowKind::File,
            "hour" => WindowKind::Hour,
            "day" => WindowKind::Day,
            "month" => WindowKind::Month(first_day),
            _ => return None,
        })
    }

    /// Its name in messages and events: `file`, `hour`, `day`, `month`, or
    /// `month from day D`.
    pub fn name(&self) -> String {
        match self {
            WindowKind::File => "file".into(),
            WindowKind::Hour => "hour".into(),
            WindowKind::Day => "day".into(),
            WindowKind::Month(1) => "month".into(),
            WindowKind::Month(d) => format!("month from day {d}"),
        }
    }

    /// Its usual length, ms (a file's is the collector's usual period):
    /// what averages are bucketed by.
    pub fn nominal_ms(&self) -> i64 {
        match self {
            WindowKind::File => 600_000,
            WindowKind::Hour => 3_600_000,
            WindowKind::Day => 86_400_000,
            WindowKind::Month(_) => 30 * 86_400_000,
        }
    }

    /// The window `[start, end)` holding a file whose period is
    /// `[file_start, file_end)`.
    pub fn of(&self, zone: &Zone, file_start: i64, file_end: i64) -> (i64, i64) {
        match self {
            WindowKind::File => (file_start, file_end.max(file_start + 1)),
            WindowKind::Hour => aligned(zone, 3600, file_start),
            WindowKind::Day => aligned(zone, 86_400, file_start),
            WindowKind::Month(day) => month(zone, *day, file_start),
        }
    }
}

fn aligned(zone: &Zone, secs: u32, t: i64) -> (i64, i64) {
    let s = period_start(zone, secs, t);
    (s, period_end(zone, secs, s))
}

/// The month window from day `first` holding `t`.
fn month(zone: &Zone, first: u8, t: i64) -> (i64, i64) {
    let first = u32::from(first.clamp(1, 28));
    let d = zone.at(t).date_naive();
    let (mut y, mut m) = (d.year(), d.month());
    if d.day() < first {
        (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let at = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, first)
            .map(|d| zone.from_local(d.and_time(NaiveTime::MIN)))
            .unwrap_or(t)
    };
    let (s, e) = (at(y, m), at(ny, nm));
    if s <= t && t < e {
        (s, e)
    } else {
        // Years chrono cannot name: a window of one file's instant.
        (t, t + 1)
    }
}

/// The past period a rule's average is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AveragePeriod {
    /// The past hour.
    Hour,
    /// The past day.
    Day,
    /// The past week.
    Week,
}

impl AveragePeriod {
    /// `hour`, `day` or `week`; `None` for anything else.
    pub fn parse(s: &str) -> Option<AveragePeriod> {
        Some(match s {
            "hour" => AveragePeriod::Hour,
            "day" => AveragePeriod::Day,
            "week" => AveragePeriod::Week,
            _ => return None,
        })
    }

    /// Its name: `hour`, `day` or `week`.
    pub fn name(&self) -> &'static str {
        match self {
            AveragePeriod::Hour => "hour",
            AveragePeriod::Day => "day",
            AveragePeriod::Week => "week",
        }
    }

    /// Its length, ms.
    pub fn ms(&self) -> i64 {
        match self {
            AveragePeriod::Hour => 3_600_000,
            AveragePeriod::Day => 86_400_000,
            AveragePeriod::Week => 7 * 86_400_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_flow::time::utc_ms;

    #[test]
    fn windows_hold_their_files() {
        let z = Zone::Utc;
        let t = utc_ms(2026, 11, 22, 10, 50, 0);
        let end = t + 600_000;
        assert_eq!(WindowKind::File.of(&z, t, end), (t, end));
        assert_eq!(
            WindowKind::Hour.of(&z, t, end),
            (
                utc_ms(2026, 11, 22, 10, 0, 0),
                utc_ms(2026, 11, 22, 11, 0, 0)
            )
        );
        assert_eq!(
            WindowKind::Day.of(&z, t, end),
            (utc_ms(2026, 11, 22, 0, 0, 0), utc_ms(2026, 11, 23, 0, 0, 0))
        );
        assert_eq!(
            WindowKind::Month(1).of(&z, t, end),
            (utc_ms(2026, 11, 1, 0, 0, 0), utc_ms(2026, 12, 1, 0, 0, 0))
        );
        // A month from the 25th: the 22nd is in the one that began in October.
        assert_eq!(
            WindowKind::Month(25).of(&z, t, end),
            (utc_ms(2026, 10, 25, 0, 0, 0), utc_ms(2026, 11, 25, 0, 0, 0))
        );
        let jan = utc_ms(2027, 1, 3, 0, 0, 0);
        assert_eq!(
            WindowKind::Month(15).of(&z, jan, jan + 1),
            (utc_ms(2026, 12, 15, 0, 0, 0), utc_ms(2027, 1, 15, 0, 0, 0))
        );
    }

    #[test]
    fn days_follow_the_zone() {
        let z = Zone::parse("Europe/Amsterdam").unwrap();
        // 23:30 UTC on the 22nd is 00:30 on the 23rd in Amsterdam.
        let t = utc_ms(2026, 11, 22, 23, 30, 0);
        assert_eq!(
            WindowKind::Day.of(&z, t, t + 600_000),
            (
                utc_ms(2026, 11, 22, 23, 0, 0),
                utc_ms(2026, 11, 23, 23, 0, 0)
            )
        );
    }
}
