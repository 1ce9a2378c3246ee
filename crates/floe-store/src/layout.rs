//! Where a period's flows go: rotation periods aligned on the wall clock
//! of a [`Zone`], the names of their files, and the date tree's
//! directories.
//!
//! Period boundaries are aligned on the wall clock of the configured zone
//! (10:00, 10:10, ... local time, or midnight for daily files), as the cron
//! jobs of flow-tools users expect, and are computed as absolute instants so
//! that they stay right across DST changes:
//!
//! * the local time is floored to the period, and that local time is turned
//!   back into an instant; in the repeated hour of a fall-back change the
//!   latest such instant not after the time is taken, and in the skipped
//!   hour of a spring-forward change the first instant after the gap;
//! * the period after a boundary ends at the next instant that is itself a
//!   boundary, so a daily period is 23 or 25 hours long on change days and a
//!   10-minute period is never lost or doubled.
//!
//! For periods that divide an hour in a zone whose offsets are whole hours,
//! this is the same as flooring UTC time. Names carry the UTC offset
//! (`floe.2026-10-25.023000+0100` vs `...+0200`), so the repeated hour never
//! reuses a name.

use std::path::{Path, PathBuf};

use chrono::{DateTime, LocalResult, Offset, Utc};

use crate::zone::Zone;

/// Start (UTC ms) of the period of `period_secs` holding instant `t_ms`.
pub fn period_start(zone: &Zone, period_secs: u32, t_ms: i64) -> i64 {
    let p = i64::from(period_secs.max(1));
    let local = zone.at(t_ms);
    let wall = local.naive_local().and_utc().timestamp();
    let floored = wall - wall.rem_euclid(p);
    let Some(naive) = DateTime::<Utc>::from_timestamp(floored, 0).map(|d| d.naive_utc()) else {
        return utc_floor(t_ms, p);
    };
    let start = match zone.instants(naive) {
        LocalResult::Single(x) => x,
        LocalResult::Ambiguous(a, b) => {
            let (early, late) = (a.min(b), a.max(b));
            if late <= t_ms {
                late
            } else {
                early
            }
        }
        LocalResult::None => {
            // The floored local time fell in a DST gap: the period starts
            // where the gap ends.
            let mut found = None;
            for minutes in 1..=24 * 60 {
                let n = naive + chrono::Duration::minutes(minutes);
                if let Some(x) = zone.instants(n).earliest() {
                    // The first minute that exists; step back to the exact
                    // transition instant (offset change).
                    let before = x - 60_000;
                    found = Some(
                        if zone.at(before).offset().fix() != zone.at(x).offset().fix() {
                            transition_between(zone, before, x)
                        } else {
                            x
                        },
                    );
                    break;
                }
            }
            found.unwrap_or_else(|| utc_floor(t_ms, p))
        }
    };
    if start > t_ms {
        utc_floor(t_ms, p)
    } else {
        start
    }
}

/// The first ms in `(a, b]` whose offset differs from `a`'s.
fn transition_between(zone: &Zone, mut a: i64, mut b: i64) -> i64 {
    let off = zone.at(a).offset().fix();
    while b - a > 1 {
        let mid = a + (b - a) / 2;
        if zone.at(mid).offset().fix() == off {
            a = mid;
        } else {
            b = mid;
        }
    }
    b
}

fn utc_floor(t_ms: i64, p: i64) -> i64 {
    let s = t_ms.div_euclid(1000);
    (s - s.rem_euclid(p)) * 1000
}

/// End (UTC ms, exclusive) of the period that starts at `start_ms`: the next
/// instant that is itself a period start.
pub fn period_end(zone: &Zone, period_secs: u32, start_ms: i64) -> i64 {
    let step = i64::from(period_secs.max(1)) * 1000;
    let mut probe = start_ms + step;
    // Long DST days need at most a few hours more; give up after two days.
    for _ in 0..(2 * 24 * 60) {
        let s = period_start(zone, period_secs, probe);
        if s > start_ms {
            return s;
        }
        probe += 60_000;
    }
    start_ms + step
}

/// File name prefix of closed files.
pub const FILE_PREFIX: &str = "floe.";
/// Prefix added to a file's name while it is being written.
pub const TMP_PREFIX: &str = "tmp-";

/// Name of the file for the period starting at `start_ms`:
/// `floe.YYYY-MM-DD.HHMMSS+ZZZZ`, in the zone's local time.
pub fn file_name(zone: &Zone, start_ms: i64) -> String {
    format!(
        "{FILE_PREFIX}{}",
        zone.at(start_ms).format("%Y-%m-%d.%H%M%S%z")
    )
}

/// The directory (under `root`) for a period starting at `start_ms`, for
/// flow-tools' nesting levels: 0 flat; 1 `YYYY`; 2 `YYYY/YYYY-MM`;
/// 3 `YYYY/YYYY-MM/YYYY-MM-DD`; -1 `YYYY-MM-DD`; -2 `YYYY-MM/YYYY-MM-DD`;
/// -3 the same as 3.
pub fn dir_for(root: &Path, zone: &Zone, nesting: i8, start_ms: i64) -> PathBuf {
    let t = zone.at(start_ms);
    let (y, m, d) = (
        t.format("%Y").to_string(),
        t.format("%Y-%m").to_string(),
        t.format("%Y-%m-%d").to_string(),
    );
    let parts: Vec<&str> = match nesting {
        1 => vec![&y],
        2 => vec![&y, &m],
        3 | -3 => vec![&y, &m, &d],
        -1 => vec![&d],
        -2 => vec![&m, &d],
        _ => vec![],
    };
    parts.iter().fold(root.to_path_buf(), |p, s| p.join(s))
}

/// What a floe file name says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameInfo {
    /// Period start, UTC ms.
    pub start_ms: i64,
    /// True for `tmp-` names (file still being written, or left by a crash).
    pub tmp: bool,
    /// Collision suffix (`.1`, `.2`...), 0 when none.
    pub serial: u32,
}

/// Parses `floe.YYYY-MM-DD.HHMMSS+ZZZZ[.N]`, optionally prefixed `tmp-`.
pub fn parse_file_name(name: &str) -> Option<NameInfo> {
    let (tmp, rest) = match name.strip_prefix(TMP_PREFIX) {
        Some(r) => (true, r),
        None => (false, name),
    };
    let rest = rest.strip_prefix(FILE_PREFIX)?;
    // YYYY-MM-DD.HHMMSS+ZZZZ is 22 characters.
    let stamp = rest.get(..22)?;
    let serial = match rest.get(22..)? {
        "" => 0,
        s => s.strip_prefix('.')?.parse().ok()?,
    };
    let t = DateTime::parse_from_str(stamp, "%Y-%m-%d.%H%M%S%z").ok()?;
    Some(NameInfo {
        start_ms: t.timestamp_millis(),
        tmp,
        serial,
    })
}

/// Parses flow-capture's names, `ft-vNN.YYYY-MM-DD.HHMMSS+ZZZZ` and
/// `tmp-vNN.YYYY-MM-DD.HHMMSS+ZZZZ` (NN the export version), so that
/// flow-tools archives can be walked and selected by time like floe trees.
pub fn parse_flow_tools_name(name: &str) -> Option<NameInfo> {
    let (tmp, rest) = match name.strip_prefix("tmp-v") {
        Some(r) => (true, r),
        None => (false, name.strip_prefix("ft-v")?),
    };
    let (version, stamp) = rest.split_once('.')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) || stamp.len() != 22 {
        return None;
    }
    let t = DateTime::parse_from_str(stamp, "%Y-%m-%d.%H%M%S%z").ok()?;
    Some(NameInfo {
        start_ms: t.timestamp_millis(),
        tmp,
        serial: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_flow::time::utc_ms;

    #[test]
    fn flow_tools_names() {
        let n = parse_flow_tools_name("ft-v05.2026-11-22.101500+0100").unwrap();
        assert_eq!(n.start_ms, utc_ms(2026, 11, 22, 9, 15, 0));
        assert!(!n.tmp);
        let t = parse_flow_tools_name("tmp-v08.2026-11-22.101500-0500").unwrap();
        assert!(t.tmp);
        assert_eq!(t.start_ms, utc_ms(2026, 11, 22, 15, 15, 0));
        for bad in [
            "ft-v05.2026-11-22",
            "ft-vx5.2026-11-22.101500+0100",
            "floe.2026-11-22.101500+0100",
            "ft-v05.2026-11-22.101500+0100.gz",
        ] {
            assert_eq!(parse_flow_tools_name(bad), None, "{bad}");
        }
    }

    fn ams() -> Zone {
        Zone::parse("Europe/Amsterdam").unwrap()
    }

    #[test]
    fn ten_minute_periods_in_utc() {
        let z = Zone::Utc;
        let t = utc_ms(2026, 11, 22, 10, 17, 42);
        assert_eq!(period_start(&z, 600, t), utc_ms(2026, 11, 22, 10, 10, 0));
        assert_eq!(
            period_end(&z, 600, utc_ms(2026, 11, 22, 10, 10, 0)),
            utc_ms(2026, 11, 22, 10, 20, 0)
        );
        assert_eq!(
            file_name(&z, utc_ms(2026, 11, 22, 10, 10, 0)),
            "floe.2026-11-22.101000+0000"
        );
    }

    #[test]
    fn daily_periods_follow_local_midnight_across_dst() {
        let z = ams();
        // 2026-10-25: CEST -> CET at 03:00 local (01:00 UTC); the day has 25 h.
        let s = period_start(&z, 86_400, utc_ms(2026, 10, 25, 12, 0, 0));
        assert_eq!(s, utc_ms(2026, 10, 24, 22, 0, 0));
        assert_eq!(period_end(&z, 86_400, s), utc_ms(2026, 10, 25, 23, 0, 0));
        // 2026-03-29: CET -> CEST at 02:00 local; the day has 23 h.
        let s = period_start(&z, 86_400, utc_ms(2026, 3, 29, 12, 0, 0));
        assert_eq!(s, utc_ms(2026, 3, 28, 23, 0, 0));
        assert_eq!(period_end(&z, 86_400, s), utc_ms(2026, 3, 29, 22, 0, 0));
    }

    #[test]
    fn repeated_hour_gets_distinct_names() {
        let z = ams();
        let first = utc_ms(2026, 10, 25, 0, 30, 0); // 02:30 CEST
        let second = utc_ms(2026, 10, 25, 1, 30, 0); // 02:30 CET
        assert_eq!(period_start(&z, 600, first), first);
        assert_eq!(period_start(&z, 600, second), second);
        assert_eq!(file_name(&z, first), "floe.2026-10-25.023000+0200");
        assert_eq!(file_name(&z, second), "floe.2026-10-25.023000+0100");
    }

    #[test]
    fn names_parse_back() {
        let z = ams();
        let t = utc_ms(2026, 10, 25, 1, 30, 0);
        let n = file_name(&z, t);
        assert_eq!(
            parse_file_name(&n),
            Some(NameInfo {
                start_ms: t,
                tmp: false,
                serial: 0
            })
        );
        assert_eq!(
            parse_file_name(&format!("tmp-{n}.2")),
            Some(NameInfo {
                start_ms: t,
                tmp: true,
                serial: 2
            })
        );
        assert_eq!(parse_file_name("floe.garbage"), None);
        assert_eq!(parse_file_name("ft-v05.2026-10-25.023000+0100"), None);
        assert_eq!(parse_file_name(&format!("{n}.x")), None);
    }

    #[test]
    fn nesting_levels() {
        let z = Zone::Utc;
        let t = utc_ms(2026, 11, 22, 10, 0, 0);
        let root = Path::new("/d");
        assert_eq!(dir_for(root, &z, 0, t), Path::new("/d"));
        assert_eq!(dir_for(root, &z, 1, t), Path::new("/d/2026"));
        assert_eq!(dir_for(root, &z, 2, t), Path::new("/d/2026/2026-11"));
        assert_eq!(
            dir_for(root, &z, 3, t),
            Path::new("/d/2026/2026-11/2026-11-22")
        );
        assert_eq!(dir_for(root, &z, -1, t), Path::new("/d/2026-11-22"));
        assert_eq!(dir_for(root, &z, -2, t), Path::new("/d/2026-11/2026-11-22"));
    }
}
