//! Helpers for the absolute UTC millisecond timestamps of a [`crate::Flow`].
//!
//! Only what needs no time-zone database lives here (civil UTC dates and
//! ISO 8601 text); zone-aware work belongs to the crates that own a zone.

/// Days since 1970-01-01 for a proleptic Gregorian civil date
/// (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats UTC milliseconds as ISO 8601 with millisecond precision:
/// `2026-11-22T10:05:00.123Z`.
pub fn format_utc_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Writes [`format_utc_ms`]'s text without allocating, keeping the last
/// day's date text: the CSV and NDJSON writers format two times per flow,
/// and flows in a file share their day.
#[derive(Clone, Debug)]
pub struct UtcWriter {
    day: i64,
    date: [u8; 11],
}

impl Default for UtcWriter {
    fn default() -> Self {
        UtcWriter {
            day: i64::MIN,
            date: [0; 11],
        }
    }
}

impl UtcWriter {
    /// Appends the text of `ms` to `out`.
    pub fn write(&mut self, out: &mut Vec<u8>, ms: i64) {
        let days = ms.div_euclid(86_400_000);
        if days != self.day {
            let (y, mo, d) = civil_from_days(days);
            if !(0..=9999).contains(&y) {
                // Years of other widths: the general formatter's padding.
                out.extend_from_slice(format_utc_ms(ms).as_bytes());
                return;
            }
            let (y, mo, d) = (y as u32, mo, d);
            self.date = [
                digit(y / 1000),
                digit(y / 100 % 10),
                digit(y / 10 % 10),
                digit(y % 10),
                b'-',
                digit(mo / 10),
                digit(mo % 10),
                b'-',
                digit(d / 10),
                digit(d % 10),
                b'T',
            ];
            self.day = days;
        }
        let rem = ms.rem_euclid(86_400_000) as u32;
        let (h, mi, s, milli) = (
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1000 % 60,
            rem % 1000,
        );
        let mut text = [0u8; 24];
        text[..11].copy_from_slice(&self.date);
        text[11..].copy_from_slice(&[
            digit(h / 10),
            digit(h % 10),
            b':',
            digit(mi / 10),
            digit(mi % 10),
            b':',
            digit(s / 10),
            digit(s % 10),
            b'.',
            digit(milli / 100),
            digit(milli / 10 % 10),
            digit(milli % 10),
            b'Z',
        ]);
        out.extend_from_slice(&text);
    }
}

#[inline(always)]
fn digit(v: u32) -> u8 {
    b'0' + v as u8
}

/// UTC milliseconds of a civil UTC date and time.
pub fn utc_ms(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> i64 {
    let days = days_from_civil(year, month, day);
    ((days * 24 + i64::from(hour)) * 60 + i64::from(min)) * 60_000 + i64::from(sec) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_times_are_the_formatted_ones() {
        let mut out = Vec::new();
        let mut w = UtcWriter::default();
        let mut write_utc_ms = |out: &mut Vec<u8>, t: i64| w.write(out, t);
        let mut ms = -70_000_000_000_000i64;
        while ms < 300_000_000_000_000 {
            for t in [ms, ms + 1, ms + 999, ms - 1] {
                out.clear();
                write_utc_ms(&mut out, t);
                assert_eq!(std::str::from_utf8(&out).unwrap(), format_utc_ms(t), "{t}");
            }
            ms += 7_777_777_777;
        }
        // Times of one day after another (the cached date).
        for t in (0..200_000_000i64).step_by(999_999) {
            out.clear();
            write_utc_ms(&mut out, 1_764_000_000_000 + t);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                format_utc_ms(1_764_000_000_000 + t)
            );
        }
        for t in [
            i64::MIN,
            i64::MAX,
            0,
            -1,
            253_402_300_799_999,
            253_402_300_800_000,
        ] {
            out.clear();
            write_utc_ms(&mut out, t);
            assert_eq!(std::str::from_utf8(&out).unwrap(), format_utc_ms(t), "{t}");
        }
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
    }

    #[test]
    fn formats_iso() {
        assert_eq!(format_utc_ms(0), "1970-01-01T00:00:00.000Z");
        let t = utc_ms(2026, 11, 22, 10, 5, 7) + 123;
        assert_eq!(format_utc_ms(t), "2026-11-22T10:05:07.123Z");
        assert_eq!(format_utc_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
