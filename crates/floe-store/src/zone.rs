//! Time zones: the zone that aligns the store's periods and names its
//! files (floed's `zone`), and the zone in which the tools read and show
//! times (`--zone`): `local`, `UTC` or an IANA name, with the conversions
//! both need between wall-clock times and instants. Periods and file names
//! built on it are [`crate::layout`]'s.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};

/// A time zone: the one that aligns periods and names files, or the one
/// times are read and shown in.
#[derive(Clone, Debug)]
pub enum Zone {
    /// Coordinated Universal Time.
    Utc,
    /// The host's local zone (TZ, /etc/localtime).
    Local,
    /// A zone of the IANA database, such as `Europe/Paris`.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `local`, `UTC`, or an IANA name such as `Europe/Amsterdam`.
    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("local") {
            return Ok(Zone::Local);
        }
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
            return Ok(Zone::Utc);
        }
        chrono_tz::Tz::from_str(t).map(Zone::Named).map_err(|_| {
            format!("unknown time zone {t:?}: use `local`, `UTC`, or an IANA name such as Europe/Amsterdam")
        })
    }

    /// The zone's name as written in file headers.
    pub fn name(&self) -> String {
        match self {
            Zone::Utc => "UTC".into(),
            Zone::Named(tz) => tz.name().into(),
            Zone::Local => match iana_time_zone::get_timezone() {
                Ok(n) => format!("local:{n}"),
                Err(_) => "local".into(),
            },
        }
    }

    /// The instant as a fixed-offset date-time in this zone.
    pub fn at(&self, ms: i64) -> DateTime<FixedOffset> {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Utc => utc.fixed_offset(),
            Zone::Local => utc.with_timezone(&chrono::Local).fixed_offset(),
            Zone::Named(tz) => utc.with_timezone(tz).fixed_offset(),
        }
    }

    /// The instant formatted with strftime fields (`%Y-%m-%d %H:%M`, ...)
    /// in this zone; a field chrono does not know is an error naming it,
    /// never a panic.
    pub fn strftime(&self, ms: i64, format: &str) -> Result<String, String> {
        use chrono::format::{Item, StrftimeItems};
        let items: Vec<Item> = StrftimeItems::new(format).collect();
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return Err(format!("{format:?}: not a valid strftime format"));
        }
        Ok(self.at(ms).format_with_items(items.into_iter()).to_string())
    }

    /// The instant (UTC ms) a local wall-clock time names in this zone: the
    /// earlier one in a repeated hour, the end of the gap in a skipped one.
    pub fn from_local(&self, naive: NaiveDateTime) -> i64 {
        match self.instants(naive) {
            LocalResult::Single(x) => x,
            LocalResult::Ambiguous(a, b) => a.min(b),
            LocalResult::None => {
                // In a DST gap: the first minute after it.
                (1..=24 * 60)
                    .find_map(|m| {
                        self.instants(naive + chrono::Duration::minutes(m))
                            .earliest()
                    })
                    .unwrap_or_else(|| naive.and_utc().timestamp_millis())
            }
        }
    }

    /// The instants (ms) a local wall-clock time names: none in a DST gap,
    /// two in a repeated hour.
    pub(crate) fn instants(&self, naive: NaiveDateTime) -> LocalResult<i64> {
        fn conv<T: TimeZone>(tz: &T, n: NaiveDateTime) -> LocalResult<i64> {
            tz.from_local_datetime(&n).map(|d| d.timestamp_millis())
        }
        match self {
            Zone::Utc => conv(&Utc, naive),
            Zone::Local => conv(&chrono::Local, naive),
            Zone::Named(tz) => conv(tz, naive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_parse_errors_say_what_is_valid() {
        let e = Zone::parse("Mars/Olympus").unwrap_err();
        assert!(e.contains("IANA"), "{e}");
        assert!(matches!(Zone::parse("utc"), Ok(Zone::Utc)));
        assert!(matches!(Zone::parse("local"), Ok(Zone::Local)));
    }
}
