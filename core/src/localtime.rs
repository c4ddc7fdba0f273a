//! Local time: the station's time zone, the times people read, and the
//! local day and week that "due today", deadlines and reports count in.
//!
//! Storage and the wire stay UTC milliseconds; only reading changes. The
//! zone database is jiff's bundled copy, so a phone or laptop with a
//! missing or old one still reads Wuhan's time right.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::model::{Millis, ValidationError, Violation};

/// The zone of a station that names none (mainland China's).
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

// Calendar arithmetic lives here, and only here: durations in
// milliseconds, and the calendar year of a timestamp.

/// An hour, in milliseconds.
pub const HOUR: Millis = 3_600_000;

/// A day of 24 hours, in milliseconds (a deadline "in 7 days"; a local
/// calendar day is [`LocalTime::day_of`]).
pub const DAY: Millis = 24 * HOUR;

/// The calendar year of a timestamp, in UTC (a resident's age is counted
/// in whole years from a year of birth).
pub fn year_of(at: Millis) -> i64 {
    Timestamp::from_millisecond(at)
        .map(|t| i64::from(t.to_zoned(TimeZone::UTC).year()))
        .unwrap_or(if at < 0 { -9999 } else { 9999 })
}

/// A station's time zone.
#[derive(Debug, Clone)]
pub struct LocalTime {
    zone: TimeZone,
    name: String,
}

impl Default for LocalTime {
    fn default() -> Self {
        LocalTime::new(DEFAULT_ZONE).unwrap_or_else(|_| LocalTime {
            zone: TimeZone::UTC,
            name: "UTC".into(),
        })
    }
}

impl LocalTime {
    /// The zone named `name` (IANA, e.g. `Asia/Shanghai`).
    pub fn new(name: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        let zone = TimeZone::get(name).map_err(|_| {
            ValidationError::new(
                "station.time_zone",
                Violation::Inconsistent("not a time zone (e.g. Asia/Shanghai)"),
            )
        })?;
        Ok(LocalTime {
            zone,
            name: name.to_string(),
        })
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn zoned(&self, at: Millis) -> Option<jiff::Zoned> {
        Timestamp::from_millisecond(at)
            .ok()
            .map(|t| t.to_zoned(self.zone.clone()))
    }

    /// `YYYY-MM-DD`, local; empty for a time out of range (an open end).
    pub fn date(&self, at: Millis) -> String {
        self.zoned(at)
            .map(|z| z.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }

    /// `YYYY-MM-DD HH:MM`, local; empty for a time out of range.
    pub fn date_time(&self, at: Millis) -> String {
        self.zoned(at)
            .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }

    /// `HH:MM`, local; empty for a time out of range.
    pub fn time(&self, at: Millis) -> String {
        self.zoned(at)
            .map(|z| z.strftime("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// The local day holding `at`: its first millisecond and the first of
    /// the next day.
    pub fn day_of(&self, at: Millis) -> (Millis, Millis) {
        self.span_of(at, 0, 1)
    }

    /// The local week (Monday to Sunday) holding `at`.
    pub fn week_of(&self, at: Millis) -> (Millis, Millis) {
        let back = self
            .zoned(at)
            .map(|z| i64::from(z.weekday().to_monday_zero_offset()))
            .unwrap_or(0);
        self.span_of(at, back, 7)
    }

    fn span_of(&self, at: Millis, days_back: i64, days: i64) -> (Millis, Millis) {
        let Some(z) = self.zoned(at) else {
            return (at, at);
        };
        let start = z
            .date()
            .checked_sub(days_back.days())
            .ok()
            .and_then(|d| self.midnight(d));
        let end = z
            .date()
            .checked_sub(days_back.days())
            .ok()
            .and_then(|d| d.checked_add(days.days()).ok())
            .and_then(|d| self.midnight(d));
        match (start, end) {
            (Some(s), Some(e)) => (s, e),
            _ => (at, at),
        }
    }

    fn midnight(&self, d: Date) -> Option<Millis> {
        d.to_zoned(self.zone.clone())
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    }

    /// The first millisecond of local date `text` (`YYYY-MM-DD`).
    pub fn parse_date(&self, text: &str) -> Result<Millis, ValidationError> {
        text.trim()
            .parse::<Date>()
            .ok()
            .and_then(|d| self.midnight(d))
            .ok_or_else(|| {
                ValidationError::new("date", Violation::Inconsistent("not a date (YYYY-MM-DD)"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-02 17:30 UTC is 2026-12-03 01:30 in Wuhan.
    const AT: Millis = 1_796_232_600_000;

    #[test]
    fn wuhan_reads_its_own_clock_and_day() {
        let t = LocalTime::default();
        assert_eq!(t.name(), "Asia/Shanghai");
        assert_eq!(t.date_time(AT), "2026-12-03 01:30");
        assert_eq!(t.date(AT), "2026-12-03");
        let (start, end) = t.day_of(AT);
        assert_eq!(t.date_time(start), "2026-12-03 00:00");
        assert_eq!(end - start, 86_400_000);
        // UTC would still say the 2nd.
        assert_eq!(LocalTime::new("UTC").unwrap().date(AT), "2026-12-02");
        let (mon, next) = t.week_of(AT);
        assert_eq!(t.date_time(mon), "2026-11-30 00:00", "a Monday");
        assert_eq!(next - mon, 7 * 86_400_000);
        assert_eq!(t.parse_date("2026-12-03").unwrap(), start);
    }

    #[test]
    fn an_open_end_and_bad_input_are_not_errors_people_see() {
        let t = LocalTime::default();
        assert_eq!(t.date(i64::MAX), "");
        assert!(LocalTime::new("Mars/Olympus").is_err());
        assert!(t.parse_date("2026-13-40").is_err());
    }
}
