//! Dates and wall-clock times as people write them (`YYYY-MM-DD`, `HH:MM`), and the years
//! Roundtable accepts.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::Invalid;

/// The end of the day on which `at` falls in `zone` (23:59 there): where a deadline lands,
/// so that "closes Monday" means all of Monday wherever the circle meets, not 02:29.
pub fn end_of_day(at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let day = at.with_timezone(&zone).date_naive();
    let last = day.and_time(NaiveTime::from_hms_opt(23, 59, 0).expect("a time"));
    // 23:59 exists on every day in every zone (clocks change at night, never at midnight's
    // edge); should one ever be skipped, the instant itself stands.
    zone.from_local_datetime(&last)
        .latest()
        .map_or(at, |t| t.with_timezone(&Utc))
        .max(at)
}

/// Earliest date Roundtable accepts, in a schedule or any date someone gives.
///
/// The bounds keep every date, instant and duration far away from the limits of
/// chrono's types, so no arithmetic on them (in `schedule` above all) can overflow.
pub const EARLIEST_SUPPORTED_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};
/// Latest date Roundtable accepts (see [`EARLIEST_SUPPORTED_DATE`]).
pub const LATEST_SUPPORTED_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => date,
    None => NaiveDate::MAX,
};

/// A calendar date someone gave, within the years Roundtable plans for (1900 to 9999): a
/// date outside them is a typing mistake, and the database could not store every one.
pub fn date_in_range(field: &'static str, date: NaiveDate) -> Result<NaiveDate, Invalid> {
    if (EARLIEST_SUPPORTED_DATE..=LATEST_SUPPORTED_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(Invalid::new(
            field,
            "must be a date between the years 1900 and 9999",
        ))
    }
}

/// An instant someone gave (a list's `from`), within the same years.
pub fn instant_in_range(
    field: &'static str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, Invalid> {
    date_in_range(field, at.date_naive()).map(|_| at)
}

/// A date written as `YYYY-MM-DD`, within the years Roundtable plans for.
pub fn parse_date(s: &str, field: &'static str) -> Result<NaiveDate, Invalid> {
    let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new(field, "must be a date as YYYY-MM-DD, like 2027-03-01"))?;
    date_in_range(field, date)
}

pub fn parse_hhmm(s: &str, field: &'static str) -> Result<NaiveTime, Invalid> {
    let bad = || Invalid::new(field, "must be a time of day as HH:MM, like 19:00");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

/// Serde adapter writing `NaiveTime` as `HH:MM`.
pub mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_hhmm(&s, "time").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_land_at_the_end_of_the_day_where_the_circle_meets() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 02:29 UTC on Monday is 02:29 in London (winter): Monday 23:59 there.
        assert_eq!(
            end_of_day(at("2026-12-14T02:29:00Z"), chrono_tz::Europe::London),
            at("2026-12-14T23:59:00Z")
        );
        // 02:29 UTC on Monday is still Sunday evening in New York.
        assert_eq!(
            end_of_day(at("2026-12-14T02:29:00Z"), chrono_tz::America::New_York),
            at("2026-12-14T04:59:00Z")
        );
        // In summer London is an hour ahead of UTC.
        assert_eq!(
            end_of_day(at("2027-06-14T12:00:00Z"), chrono_tz::Europe::London),
            at("2027-06-14T22:59:00Z")
        );
        // An instant in its day's last minute stays where it is.
        assert_eq!(
            end_of_day(at("2026-12-14T23:59:30Z"), chrono_tz::UTC),
            at("2026-12-14T23:59:30Z")
        );
    }

    #[test]
    fn hhmm_parses_only_real_times() {
        assert_eq!(
            parse_hhmm("19:05", "t").unwrap(),
            NaiveTime::from_hms_opt(19, 5, 0).unwrap()
        );
        for bad in ["", "7:00", "24:00", "12:60", "1900", "ab:cd", "19:00:00"] {
            assert!(parse_hhmm(bad, "t").is_err(), "{bad}");
        }
    }
}
