//! Recurring session schedules for a circle.
//!
//! A schedule rule is expanded into local dates in the circle's IANA timezone,
//! and each date is resolved into an absolute instant with this DST policy:
//!
//! * A session's truth is its local date and local wall time; `starts_at` (UTC)
//!   is derived. Recurrence is expanded in local time, so 19:00 stays 19:00
//!   across DST changes.
//! * A local time that does not exist (spring-forward gap) is read with the UTC
//!   offset in force before the gap, as RFC 5545 §3.3.5 says, so it moves forward
//!   by the gap's length (New York 2021-03-14 02:30 becomes 03:30 EDT). Python's
//!   `zoneinfo`, JavaScript Temporal's `compatible` and calendar clients agree.
//! * An ambiguous local time (fall back) takes the earlier instant.

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::{parse_hhmm, Invalid};

/// The most sessions a single schedule may create.
pub const MAX_SESSIONS_PER_SCHEDULE: u32 = 200;

/// Smallest allowed interval of a weekly schedule, in weeks.
pub const MIN_INTERVAL_WEEKS: u32 = 1;
/// Largest allowed interval of a weekly schedule, in weeks.
pub const MAX_INTERVAL_WEEKS: u32 = 52;
/// Shortest allowed session, in minutes.
pub const MIN_DURATION_MINUTES: u32 = 1;
/// Longest allowed session, in minutes (one day).
pub const MAX_DURATION_MINUTES: u32 = 1440;

use super::clock::{EARLIEST_SUPPORTED_DATE, LATEST_SUPPORTED_DATE};

/// How far past a non-existent local time the resolver looks for the end of
/// the gap. The largest known gap is a whole skipped day (Pacific/Apia,
/// 2011-12-30), so two days is plenty.
const MAX_GAP_SEARCH_MINUTES: i64 = 2 * 24 * 60;

/// Which occurrence of a weekday within a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekOfMonth {
    First,
    Second,
    Third,
    Fourth,
    Last,
}

impl WeekOfMonth {
    /// `1..=4` for the first to fourth occurrence, `-1` for the last one.
    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::First),
            2 => Some(Self::Second),
            3 => Some(Self::Third),
            4 => Some(Self::Fourth),
            -1 => Some(Self::Last),
            _ => None,
        }
    }

    /// The inverse of [`WeekOfMonth::from_number`].
    pub fn number(self) -> i32 {
        match self {
            Self::First => 1,
            Self::Second => 2,
            Self::Third => 3,
            Self::Fourth => 4,
            Self::Last => -1,
        }
    }

    /// The date of this occurrence of `weekday` in the given month, if the
    /// month exists.
    pub fn date_in(self, year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
        match self {
            Self::Last => {
                let (next_year, next_month) = next_month(year, month);
                let last_day = NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()?;
                let back = (7 + last_day.weekday().num_days_from_monday()
                    - weekday.num_days_from_monday())
                    % 7;
                last_day.checked_sub_days(Days::new(u64::from(back)))
            }
            nth => {
                // `number()` is 1..=4 for every variant but `Last`.
                let n = u8::try_from(nth.number()).ok()?;
                NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
            }
        }
    }
}

impl TryFrom<i32> for WeekOfMonth {
    type Error = ScheduleError;

    fn try_from(n: i32) -> Result<Self, Self::Error> {
        Self::from_number(n).ok_or(ScheduleError::InvalidWeekOfMonth)
    }
}

/// How often a schedule repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every `interval_weeks` weeks (1..=52) on the weekday of the first date.
    Weekly { interval_weeks: u32 },
    /// The nth (or last) `weekday` of every month.
    Monthly {
        week_of_month: WeekOfMonth,
        weekday: Weekday,
    },
}

/// When a schedule stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// After this many sessions (1..=200).
    Count(u32),
    /// With the last session on or before this local date.
    Until(NaiveDate),
}

/// Why a schedule rule was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("interval must be between 1 and 52 weeks")]
    InvalidInterval,
    #[error("week_of_month must be 1, 2, 3, 4 or -1 (last)")]
    InvalidWeekOfMonth,
    #[error("duration must be between 1 and 1440 minutes")]
    InvalidDuration,
    #[error("local_time must be a regular wall-clock time (leap seconds are not allowed)")]
    InvalidLocalTime,
    #[error("count must be between 1 and 200")]
    InvalidCount,
    #[error("first_date must be between 1900-01-01 and 9999-12-31")]
    FirstDateOutOfRange,
    #[error("until must not be after 9999-12-31")]
    UntilOutOfRange,
    #[error("until must not be before first_date")]
    UntilBeforeFirstDate,
    #[error("this schedule would run past 9999-12-31")]
    RunsPastSupportedRange,
    #[error("this schedule would create more than 200 sessions")]
    TooManySessions,
    #[error("the schedule produces no sessions")]
    NoSessions,
}

impl ScheduleError {
    /// The input field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::InvalidInterval => "interval",
            Self::InvalidWeekOfMonth => "week_of_month",
            Self::InvalidDuration => "duration_minutes",
            Self::InvalidLocalTime => "local_time",
            Self::InvalidCount => "count",
            Self::FirstDateOutOfRange | Self::RunsPastSupportedRange => "first_date",
            Self::UntilOutOfRange
            | Self::UntilBeforeFirstDate
            | Self::TooManySessions
            | Self::NoSessions => "until",
        }
    }
}

/// A validated schedule rule. Construct via [`ScheduleRule::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRule {
    frequency: Frequency,
    first_date: NaiveDate,
    local_time: NaiveTime,
    duration_minutes: u32,
    end: End,
}

/// One session of a schedule, resolved in the circle's timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The local date of the session (the truth).
    pub local_date: NaiveDate,
    /// The requested wall time (the truth), even when shifted.
    pub local_time: NaiveTime,
    pub starts_at: DateTime<Utc>,
    /// `starts_at` plus the duration, in absolute minutes.
    pub ends_at: DateTime<Utc>,
    /// True when `local_time` did not exist that day and was moved forward by the gap.
    pub shifted: bool,
}

impl ScheduleRule {
    /// Validates and builds a rule.
    pub fn new(
        frequency: Frequency,
        first_date: NaiveDate,
        local_time: NaiveTime,
        duration_minutes: u32,
        end: End,
    ) -> Result<Self, ScheduleError> {
        if let Frequency::Weekly { interval_weeks } = frequency {
            if !(MIN_INTERVAL_WEEKS..=MAX_INTERVAL_WEEKS).contains(&interval_weeks) {
                return Err(ScheduleError::InvalidInterval);
            }
        }
        if !(MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&duration_minutes) {
            return Err(ScheduleError::InvalidDuration);
        }
        if local_time.nanosecond() >= 1_000_000_000 {
            return Err(ScheduleError::InvalidLocalTime);
        }
        if !(EARLIEST_SUPPORTED_DATE..=LATEST_SUPPORTED_DATE).contains(&first_date) {
            return Err(ScheduleError::FirstDateOutOfRange);
        }
        match end {
            End::Count(count) => {
                if !(1..=MAX_SESSIONS_PER_SCHEDULE).contains(&count) {
                    return Err(ScheduleError::InvalidCount);
                }
            }
            End::Until(until) => {
                if until < first_date {
                    return Err(ScheduleError::UntilBeforeFirstDate);
                }
                if until > LATEST_SUPPORTED_DATE {
                    return Err(ScheduleError::UntilOutOfRange);
                }
            }
        }

        let rule = Self {
            frequency,
            first_date,
            local_time,
            duration_minutes,
            end,
        };
        // Generate one more than allowed to detect schedules that are too long.
        let produced = rule.generate(MAX_SESSIONS_PER_SCHEDULE as usize + 1).len();
        match end {
            End::Count(count) if produced < count as usize => {
                Err(ScheduleError::RunsPastSupportedRange)
            }
            _ if produced > MAX_SESSIONS_PER_SCHEDULE as usize => {
                Err(ScheduleError::TooManySessions)
            }
            _ if produced == 0 => Err(ScheduleError::NoSessions),
            _ => Ok(rule),
        }
    }

    pub fn frequency(&self) -> Frequency {
        self.frequency
    }

    pub fn first_date(&self) -> NaiveDate {
        self.first_date
    }

    pub fn local_time(&self) -> NaiveTime {
        self.local_time
    }

    pub fn duration_minutes(&self) -> u32 {
        self.duration_minutes
    }

    /// The session length as a time delta.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.duration_minutes))
    }

    pub fn end(&self) -> End {
        self.end
    }

    /// Local dates of every occurrence, in order.
    ///
    /// Weekly: `first_date` itself, then every `interval_weeks * 7` days.
    /// Monthly: the nth (or last) `weekday` of each month, starting with the
    /// first such date on or after `first_date`. Stops at `Count(n)`
    /// occurrences or at the last date `<= Until(date)`. Never more than
    /// [`MAX_SESSIONS_PER_SCHEDULE`].
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.generate(MAX_SESSIONS_PER_SCHEDULE as usize)
    }

    /// Each occurrence resolved in `tz`.
    pub fn expand(&self, tz: Tz) -> Vec<Occurrence> {
        let duration = self.duration();
        self.dates()
            .into_iter()
            .map(|local_date| {
                let (starts_at, shifted) = resolve_local(tz, local_date, self.local_time);
                Occurrence {
                    local_date,
                    local_time: self.local_time,
                    starts_at,
                    // Dates are bounded by LATEST_SUPPORTED_DATE and the duration by
                    // one day, so this cannot overflow.
                    ends_at: starts_at + duration,
                    shifted,
                }
            })
            .collect()
    }

    /// Up to `limit` dates, stopping at the rule's end and at
    /// [`LATEST_SUPPORTED_DATE`].
    fn generate(&self, limit: usize) -> Vec<NaiveDate> {
        let (max_count, until) = match self.end {
            End::Count(count) => (limit.min(count as usize), LATEST_SUPPORTED_DATE),
            End::Until(until) => (limit, until.min(LATEST_SUPPORTED_DATE)),
        };
        let candidates: Box<dyn Iterator<Item = NaiveDate>> = match self.frequency {
            Frequency::Weekly { interval_weeks } => {
                let step = Days::new(u64::from(interval_weeks) * 7);
                Box::new(std::iter::successors(Some(self.first_date), move |date| {
                    date.checked_add_days(step)
                }))
            }
            Frequency::Monthly {
                week_of_month,
                weekday,
            } => {
                let first_date = self.first_date;
                let start = (first_date.year(), first_date.month());
                Box::new(
                    std::iter::successors(Some(start), |&(year, month)| {
                        Some(next_month(year, month))
                    })
                    // Months past the supported range have no dates; stop there.
                    .map_while(move |(year, month)| week_of_month.date_in(year, month, weekday))
                    .skip_while(move |date| *date < first_date),
                )
            }
        };
        candidates
            .take_while(|date| *date <= until)
            .take(max_count)
            .collect()
    }
}

fn next_month(year: i32, month: u32) -> (i32, u32) {
    if month >= 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

/// Resolves a local wall time in `tz` per the DST policy.
///
/// Returns the UTC instant and whether the time was shifted because it fell
/// into a gap. An ambiguous time takes the earlier instant; a non-existent
/// time is read with the offset in force just before the gap (RFC 5545
/// §3.3.5), which moves it forward by the length of the gap.
pub fn resolve_local(tz: Tz, date: NaiveDate, time: NaiveTime) -> (DateTime<Utc>, bool) {
    let local = date.and_time(time);
    match earliest_instant(tz, &local) {
        Some(instant) => (instant, false),
        None => {
            let transition = gap_transition(tz, local);
            let before = tz
                .offset_from_utc_datetime(&(transition - TimeDelta::seconds(1)).naive_utc())
                .fix();
            let instant = local
                .checked_sub_offset(before)
                .map_or(transition, |utc| utc.and_utc());
            (instant, true)
        }
    }
}

/// The earliest instant whose wall time in `tz` is `local`, if any.
fn earliest_instant(tz: Tz, local: &NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(local) {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => None,
    }
}

/// The instant of the transition that opened the gap containing the
/// non-existent `local` (the first valid instant after it).
fn gap_transition(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    for minutes in 1..=MAX_GAP_SEARCH_MINUTES {
        let Some(candidate) = local.checked_add_signed(TimeDelta::minutes(minutes)) else {
            break;
        };
        if let Some(found) = earliest_instant(tz, &candidate) {
            return transition_before(tz, found);
        }
    }
    // Not reached for real zones (every gap is shorter than the search window)
    // and dates within the supported range; fall back to the offset in force at
    // that instant read as UTC, which cannot panic.
    let offset = tz.offset_from_utc_datetime(&local).fix();
    local.checked_sub_offset(offset).unwrap_or(local).and_utc()
}

/// Given `found`, the instant of the first whole-minute step past a gap (so
/// `found - 60s` lies before the transition that opened the gap), returns the
/// exact transition instant. Transitions fall on whole seconds, so a binary
/// search over the seconds of that minute finds it.
fn transition_before(tz: Tz, found: DateTime<Utc>) -> DateTime<Utc> {
    let target = tz.offset_from_utc_datetime(&found.naive_utc()).fix();
    let after_transition = |secs: i64| {
        DateTime::from_timestamp(secs, 0)
            .is_some_and(|at| tz.offset_from_utc_datetime(&at.naive_utc()).fix() == target)
    };
    // Invariant: `lo` is before the transition, `hi` is at or after it.
    let mut lo = found.timestamp() - 60;
    let mut hi = found.timestamp();
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if after_transition(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(found)
}

// A schedule as the API and the dashboard take it, before it is a `ScheduleRule` (no doc
// comment: it would become the schema's description in the OpenAPI document).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCreate {
    /// `weekly` or `monthly`.
    pub freq: String,
    /// Weeks between sessions for weekly schedules (default 1).
    pub interval: Option<i64>,
    /// For monthly schedules: 1 to 4, or -1 for the last.
    pub week_of_month: Option<i64>,
    /// For monthly schedules: `mon` .. `sun`.
    pub weekday: Option<String>,
    /// `YYYY-MM-DD`, in the circle's zone.
    pub first_date: String,
    /// `HH:MM`, wall time in the circle's zone.
    pub local_time: String,
    pub duration_minutes: i64,
    pub count: Option<i64>,
    /// `YYYY-MM-DD`, last possible date (inclusive).
    pub until: Option<String>,
    /// Defaults to the circle's location.
    pub location: Option<String>,
}

fn parse_date(s: &str, field: &'static str) -> Result<NaiveDate, Invalid> {
    crate::domain::clock::parse_date(s, field)
}

fn parse_weekday(s: &str) -> Result<Weekday, Invalid> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mon" => Ok(Weekday::Mon),
        "tue" => Ok(Weekday::Tue),
        "wed" => Ok(Weekday::Wed),
        "thu" => Ok(Weekday::Thu),
        "fri" => Ok(Weekday::Fri),
        "sat" => Ok(Weekday::Sat),
        "sun" => Ok(Weekday::Sun),
        _ => Err(Invalid::new(
            "weekday",
            "must be one of mon, tue, wed, thu, fri, sat, sun",
        )),
    }
}

fn small(n: i64, field: &'static str) -> Result<u32, Invalid> {
    u32::try_from(n).map_err(|_| Invalid::new(field, "must be a positive number"))
}

impl ScheduleCreate {
    pub fn parse(&self) -> Result<ScheduleRule, Invalid> {
        let first_date = parse_date(&self.first_date, "first_date")?;
        let local_time = parse_hhmm(&self.local_time, "local_time")?;
        let frequency = match self.freq.as_str() {
            "weekly" => {
                if self.week_of_month.is_some() {
                    return Err(Invalid::new(
                        "week_of_month",
                        "is only for monthly schedules",
                    ));
                }
                if let Some(day) = &self.weekday {
                    if parse_weekday(day)? != chrono::Datelike::weekday(&first_date) {
                        return Err(Invalid::new(
                            "weekday",
                            "weekly schedules repeat on the weekday of first_date",
                        ));
                    }
                }
                Frequency::Weekly {
                    interval_weeks: small(self.interval.unwrap_or(1), "interval")?,
                }
            }
            "monthly" => {
                if self.interval.is_some_and(|i| i != 1) {
                    return Err(Invalid::new("interval", "is only for weekly schedules"));
                }
                let n = self.week_of_month.ok_or_else(|| {
                    Invalid::new("week_of_month", "is required for monthly schedules")
                })?;
                let week_of_month = i32::try_from(n)
                    .ok()
                    .and_then(WeekOfMonth::from_number)
                    .ok_or_else(|| {
                        Invalid::new("week_of_month", "must be 1, 2, 3, 4 or -1 (last)")
                    })?;
                let weekday = self
                    .weekday
                    .as_deref()
                    .ok_or_else(|| Invalid::new("weekday", "is required for monthly schedules"))
                    .and_then(parse_weekday)?;
                Frequency::Monthly {
                    week_of_month,
                    weekday,
                }
            }
            _ => return Err(Invalid::new("freq", "must be weekly or monthly")),
        };
        let end = match (self.count, &self.until) {
            (Some(_), Some(_)) => {
                return Err(Invalid::new("count", "give count or until, not both"))
            }
            (Some(n), None) => End::Count(small(n, "count")?),
            (None, Some(d)) => End::Until(parse_date(d, "until")?),
            (None, None) => return Err(Invalid::new("count", "give count or until")),
        };
        let duration = small(self.duration_minutes, "duration_minutes")?;
        ScheduleRule::new(frequency, first_date, local_time, duration, end)
            .map_err(|e| Invalid::new(e.field(), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::sync::OnceLock;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn weekly(interval_weeks: u32) -> Frequency {
        Frequency::Weekly { interval_weeks }
    }

    fn monthly(week_of_month: WeekOfMonth, weekday: Weekday) -> Frequency {
        Frequency::Monthly {
            week_of_month,
            weekday,
        }
    }

    fn rule(frequency: Frequency, first: NaiveDate, end: End) -> ScheduleRule {
        ScheduleRule::new(frequency, first, t(19, 0), 90, end).unwrap()
    }

    fn err(frequency: Frequency, first: NaiveDate, duration: u32, end: End) -> ScheduleError {
        ScheduleRule::new(frequency, first, t(19, 0), duration, end).unwrap_err()
    }

    // ----- dates -----

    #[test]
    fn weekly_every_week() {
        let r = rule(weekly(1), d(2024, 1, 3), End::Count(4));
        assert_eq!(
            r.dates(),
            vec![
                d(2024, 1, 3),
                d(2024, 1, 10),
                d(2024, 1, 17),
                d(2024, 1, 24)
            ]
        );
    }

    #[test]
    fn weekly_every_two_weeks_crosses_month_and_year() {
        let r = rule(weekly(2), d(2024, 12, 11), End::Count(3));
        assert_eq!(
            r.dates(),
            vec![d(2024, 12, 11), d(2024, 12, 25), d(2025, 1, 8)]
        );
    }

    #[test]
    fn monthly_first_to_fourth_weekday() {
        // March 2024 starts on a Friday: Tuesdays are 5, 12, 19, 26.
        let cases = [
            (
                WeekOfMonth::First,
                [d(2024, 3, 5), d(2024, 4, 2), d(2024, 5, 7)],
            ),
            (
                WeekOfMonth::Second,
                [d(2024, 3, 12), d(2024, 4, 9), d(2024, 5, 14)],
            ),
            (
                WeekOfMonth::Third,
                [d(2024, 3, 19), d(2024, 4, 16), d(2024, 5, 21)],
            ),
            (
                WeekOfMonth::Fourth,
                [d(2024, 3, 26), d(2024, 4, 23), d(2024, 5, 28)],
            ),
        ];
        for (week, expected) in cases {
            let r = rule(monthly(week, Weekday::Tue), d(2024, 3, 1), End::Count(3));
            assert_eq!(r.dates(), expected.to_vec(), "{week:?}");
        }
    }

    #[test]
    fn monthly_last_weekday() {
        let r = rule(
            monthly(WeekOfMonth::Last, Weekday::Fri),
            d(2024, 1, 1),
            End::Count(4),
        );
        assert_eq!(
            r.dates(),
            vec![
                d(2024, 1, 26),
                d(2024, 2, 23),
                d(2024, 3, 29),
                d(2024, 4, 26)
            ]
        );
        // The last Friday can be the 5th one or the last day of the month.
        let r = rule(
            monthly(WeekOfMonth::Last, Weekday::Wed),
            d(2024, 7, 1),
            End::Count(1),
        );
        assert_eq!(r.dates(), vec![d(2024, 7, 31)]);
    }

    #[test]
    fn monthly_starts_on_or_after_first_date() {
        // The first Monday of April 2024 is the 1st, before the first date.
        let r = rule(
            monthly(WeekOfMonth::First, Weekday::Mon),
            d(2024, 4, 2),
            End::Count(2),
        );
        assert_eq!(r.dates(), vec![d(2024, 5, 6), d(2024, 6, 3)]);
        // On the first date itself counts.
        let r = rule(
            monthly(WeekOfMonth::First, Weekday::Mon),
            d(2024, 4, 1),
            End::Count(1),
        );
        assert_eq!(r.dates(), vec![d(2024, 4, 1)]);
    }

    #[test]
    fn monthly_crosses_year_end() {
        let r = rule(
            monthly(WeekOfMonth::Second, Weekday::Sun),
            d(2024, 11, 20),
            End::Count(3),
        );
        assert_eq!(
            r.dates(),
            vec![d(2024, 12, 8), d(2025, 1, 12), d(2025, 2, 9)]
        );
    }

    #[test]
    fn until_vs_count() {
        let by_count = rule(weekly(1), d(2024, 1, 3), End::Count(3));
        // Until is inclusive...
        let until_on = rule(weekly(1), d(2024, 1, 3), End::Until(d(2024, 1, 17)));
        // ...and stops at the last date on or before it.
        let until_between = rule(weekly(1), d(2024, 1, 3), End::Until(d(2024, 1, 23)));
        assert_eq!(by_count.dates(), until_on.dates());
        assert_eq!(by_count.dates(), until_between.dates());
        assert_eq!(by_count.dates().len(), 3);

        let single = rule(weekly(1), d(2024, 1, 3), End::Until(d(2024, 1, 3)));
        assert_eq!(single.dates(), vec![d(2024, 1, 3)]);

        let monthly_until = rule(
            monthly(WeekOfMonth::Last, Weekday::Sat),
            d(2024, 1, 1),
            End::Until(d(2024, 3, 30)),
        );
        assert_eq!(
            monthly_until.dates(),
            vec![d(2024, 1, 27), d(2024, 2, 24), d(2024, 3, 30)]
        );
    }

    #[test]
    fn accessors_return_inputs() {
        let r = ScheduleRule::new(weekly(3), d(2024, 5, 1), t(18, 30), 45, End::Count(7)).unwrap();
        assert_eq!(r.frequency(), weekly(3));
        assert_eq!(r.first_date(), d(2024, 5, 1));
        assert_eq!(r.local_time(), t(18, 30));
        assert_eq!(r.duration_minutes(), 45);
        assert_eq!(r.duration(), TimeDelta::minutes(45));
        assert_eq!(r.end(), End::Count(7));
    }

    #[test]
    fn max_sessions_allowed_exactly() {
        let r = rule(
            weekly(1),
            d(2024, 1, 1),
            End::Count(MAX_SESSIONS_PER_SCHEDULE),
        );
        assert_eq!(r.dates().len(), 200);
        let last = r.dates()[199];
        let r = rule(weekly(1), d(2024, 1, 1), End::Until(last));
        assert_eq!(r.dates().len(), 200);
    }

    // ----- validation -----

    #[test]
    fn rejects_bad_interval() {
        for interval in [0, 53, u32::MAX] {
            let e = err(weekly(interval), d(2024, 1, 1), 60, End::Count(1));
            assert_eq!(e, ScheduleError::InvalidInterval);
            assert_eq!(e.field(), "interval");
            assert_eq!(e.to_string(), "interval must be between 1 and 52 weeks");
        }
        assert!(ScheduleRule::new(weekly(52), d(2024, 1, 1), t(1, 0), 60, End::Count(1)).is_ok());
    }

    #[test]
    fn rejects_bad_duration() {
        for duration in [0, 1441] {
            let e = err(weekly(1), d(2024, 1, 1), duration, End::Count(1));
            assert_eq!(e, ScheduleError::InvalidDuration);
            assert_eq!(e.field(), "duration_minutes");
            assert_eq!(e.to_string(), "duration must be between 1 and 1440 minutes");
        }
        for duration in [1, 1440] {
            assert!(
                ScheduleRule::new(weekly(1), d(2024, 1, 1), t(1, 0), duration, End::Count(1))
                    .is_ok()
            );
        }
    }

    #[test]
    fn rejects_bad_count() {
        for count in [0, 201] {
            let e = err(weekly(1), d(2024, 1, 1), 60, End::Count(count));
            assert_eq!(e, ScheduleError::InvalidCount);
            assert_eq!(e.field(), "count");
            assert_eq!(e.to_string(), "count must be between 1 and 200");
        }
    }

    #[test]
    fn rejects_until_before_first_date() {
        let e = err(weekly(1), d(2024, 1, 2), 60, End::Until(d(2024, 1, 1)));
        assert_eq!(e, ScheduleError::UntilBeforeFirstDate);
        assert_eq!(e.field(), "until");
        assert_eq!(e.to_string(), "until must not be before first_date");
    }

    #[test]
    fn rejects_too_many_sessions() {
        let e = err(weekly(1), d(2024, 1, 1), 60, End::Until(d(2030, 1, 1)));
        assert_eq!(e, ScheduleError::TooManySessions);
        assert_eq!(e.field(), "until");
        assert_eq!(
            e.to_string(),
            "this schedule would create more than 200 sessions"
        );
        let e = err(
            monthly(WeekOfMonth::First, Weekday::Mon),
            d(2024, 1, 1),
            60,
            End::Until(d(2050, 1, 1)),
        );
        assert_eq!(e, ScheduleError::TooManySessions);
    }

    #[test]
    fn rejects_schedule_without_sessions() {
        // The last Sunday of January 2024 is the 28th, after `until`;
        // the next one is in February.
        let e = err(
            monthly(WeekOfMonth::Last, Weekday::Sun),
            d(2024, 1, 29),
            60,
            End::Until(d(2024, 2, 20)),
        );
        assert_eq!(e, ScheduleError::NoSessions);
        assert_eq!(e.field(), "until");
        assert_eq!(e.to_string(), "the schedule produces no sessions");
    }

    #[test]
    fn week_of_month_numbers() {
        for n in [1, 2, 3, 4, -1] {
            let week = WeekOfMonth::from_number(n).unwrap();
            assert_eq!(week.number(), n);
            assert_eq!(WeekOfMonth::try_from(n), Ok(week));
        }
        for n in [0, 5, -2, i32::MIN, i32::MAX] {
            assert_eq!(WeekOfMonth::from_number(n), None);
            let e = WeekOfMonth::try_from(n).unwrap_err();
            assert_eq!(e, ScheduleError::InvalidWeekOfMonth);
            assert_eq!(e.field(), "week_of_month");
        }
    }

    #[test]
    fn rejects_dates_outside_supported_range() {
        let e = err(weekly(1), d(1899, 12, 31), 60, End::Count(1));
        assert_eq!(
            (e.clone(), e.field()),
            (ScheduleError::FirstDateOutOfRange, "first_date")
        );
        let e = err(weekly(1), NaiveDate::MAX, 60, End::Count(1));
        assert_eq!(e, ScheduleError::FirstDateOutOfRange);
        let e = err(weekly(1), d(2024, 1, 1), 60, End::Until(NaiveDate::MAX));
        assert_eq!(
            (e.clone(), e.field()),
            (ScheduleError::UntilOutOfRange, "until")
        );
        let e = err(weekly(52), d(9990, 1, 1), 60, End::Count(20));
        assert_eq!(
            (e.clone(), e.field()),
            (ScheduleError::RunsPastSupportedRange, "first_date")
        );
        // The very edge still works and resolves in every zone without panicking.
        let r = ScheduleRule::new(
            monthly(WeekOfMonth::Last, Weekday::Fri),
            d(9999, 12, 1),
            t(23, 59),
            1440,
            End::Until(LATEST_SUPPORTED_DATE),
        )
        .unwrap();
        assert_eq!(r.dates(), vec![d(9999, 12, 31)]);
        let r = ScheduleRule::new(weekly(1), d(1900, 1, 1), t(0, 0), 60, End::Count(1)).unwrap();
        for tz in [
            Tz::Pacific__Kiritimati,
            Tz::Etc__GMTPlus12,
            Tz::Pacific__Apia,
        ] {
            assert_eq!(r.expand(tz).len(), 1);
        }
    }

    #[test]
    fn rejects_leap_second_time() {
        let leap = NaiveTime::from_hms_milli_opt(23, 59, 59, 1_500).unwrap();
        let e = ScheduleRule::new(weekly(1), d(2024, 1, 1), leap, 60, End::Count(1)).unwrap_err();
        assert_eq!(
            (e.clone(), e.field()),
            (ScheduleError::InvalidLocalTime, "local_time")
        );
    }

    #[test]
    fn every_error_has_a_field_and_message() {
        let all = [
            ScheduleError::InvalidInterval,
            ScheduleError::InvalidWeekOfMonth,
            ScheduleError::InvalidDuration,
            ScheduleError::InvalidLocalTime,
            ScheduleError::InvalidCount,
            ScheduleError::FirstDateOutOfRange,
            ScheduleError::UntilOutOfRange,
            ScheduleError::UntilBeforeFirstDate,
            ScheduleError::RunsPastSupportedRange,
            ScheduleError::TooManySessions,
            ScheduleError::NoSessions,
        ];
        for e in all {
            assert!(!e.field().is_empty());
            assert!(!e.to_string().is_empty());
        }
        // The messages spell out the limits; keep them in sync with the constants.
        assert!(ScheduleError::InvalidCount
            .to_string()
            .ends_with(&MAX_SESSIONS_PER_SCHEDULE.to_string()));
        assert!(ScheduleError::InvalidDuration
            .to_string()
            .contains(&MAX_DURATION_MINUTES.to_string()));
        assert!(ScheduleError::InvalidInterval
            .to_string()
            .contains(&MAX_INTERVAL_WEEKS.to_string()));
    }

    // ----- time zones -----

    #[test]
    fn new_york_spring_forward_gap_moves_forward_by_its_length() {
        let tz = Tz::America__New_York;
        // Read with the offset before the gap (EST, -5): 02:30 EST is 03:30 EDT.
        let (at, shifted) = resolve_local(tz, d(2021, 3, 14), t(2, 30));
        assert_eq!(at, utc("2021-03-14T07:30:00Z"));
        assert_eq!(at.with_timezone(&tz).time(), t(3, 30));
        assert!(shifted);
        let (at, shifted) = resolve_local(tz, d(2027, 3, 14), t(2, 30));
        assert_eq!((at, shifted), (utc("2027-03-14T07:30:00Z"), true));
        // Seconds inside the gap move by the same hour.
        let (at, shifted) = resolve_local(
            tz,
            d(2021, 3, 14),
            NaiveTime::from_hms_opt(2, 59, 59).unwrap(),
        );
        assert_eq!((at, shifted), (utc("2021-03-14T07:59:59Z"), true));
        let (at, shifted) = resolve_local(tz, d(2021, 3, 14), t(2, 0));
        assert_eq!((at, shifted), (utc("2021-03-14T07:00:00Z"), true));
        let (at, shifted) = resolve_local(tz, d(2021, 3, 14), t(3, 0));
        assert_eq!((at, shifted), (utc("2021-03-14T07:00:00Z"), false));
        let (at, shifted) = resolve_local(tz, d(2021, 3, 14), t(1, 59));
        assert_eq!((at, shifted), (utc("2021-03-14T06:59:00Z"), false));

        let r = ScheduleRule::new(weekly(1), d(2021, 3, 7), t(2, 30), 60, End::Count(3)).unwrap();
        let occ = r.expand(tz);
        assert_eq!(occ[0].starts_at, utc("2021-03-07T07:30:00Z"));
        assert!(!occ[0].shifted);
        assert_eq!(occ[1].starts_at, utc("2021-03-14T07:30:00Z"));
        assert_eq!(occ[1].ends_at, utc("2021-03-14T08:30:00Z"));
        assert_eq!(occ[1].local_time, t(2, 30));
        assert_eq!(occ[1].local_date, d(2021, 3, 14));
        assert!(occ[1].shifted);
        assert_eq!(occ[2].starts_at, utc("2021-03-21T06:30:00Z"));
        assert!(!occ[2].shifted);
    }

    #[test]
    fn new_york_fall_back_takes_earlier_instant() {
        let tz = Tz::America__New_York;
        let (at, shifted) = resolve_local(tz, d(2021, 11, 7), t(1, 30));
        assert_eq!(at, utc("2021-11-07T05:30:00Z"));
        assert!(!shifted);
        let r = ScheduleRule::new(weekly(1), d(2021, 11, 7), t(1, 30), 90, End::Count(1)).unwrap();
        let occ = r.expand(tz)[0];
        assert_eq!(occ.starts_at, utc("2021-11-07T05:30:00Z"));
        // 90 absolute minutes: 01:30 EDT + 90 min = 02:00 EST.
        assert_eq!(occ.ends_at, utc("2021-11-07T07:00:00Z"));
        assert!(!occ.shifted);
    }

    #[test]
    fn lord_howe_thirty_minute_gap_and_overlap() {
        let tz = Tz::Australia__Lord_Howe;
        // Spring forward 2021-10-03 02:00 (+10:30) -> 02:30 (+11): 02:15 moves by the
        // gap's thirty minutes, to 02:45.
        let (at, shifted) = resolve_local(tz, d(2021, 10, 3), t(2, 15));
        assert_eq!(at, utc("2021-10-02T15:45:00Z"));
        assert!(shifted);
        assert_eq!(at.with_timezone(&tz).time(), t(2, 45));
        // Fall back 2021-04-04 02:00 (+11) -> 01:30 (+10:30): 01:45 happens twice.
        let (at, shifted) = resolve_local(tz, d(2021, 4, 4), t(1, 45));
        assert_eq!(at, utc("2021-04-03T14:45:00Z"));
        assert!(!shifted);
    }

    #[test]
    fn london_weekly_keeps_wall_time_across_october_change() {
        let tz = Tz::Europe__London;
        // Clocks go back on Sunday 2021-10-31.
        let r =
            ScheduleRule::new(weekly(1), d(2021, 10, 21), t(19, 0), 120, End::Count(3)).unwrap();
        let occ = r.expand(tz);
        let starts: Vec<_> = occ.iter().map(|o| o.starts_at).collect();
        assert_eq!(
            starts,
            vec![
                utc("2021-10-21T18:00:00Z"),
                utc("2021-10-28T18:00:00Z"),
                utc("2021-11-04T19:00:00Z"),
            ]
        );
        for o in &occ {
            assert_eq!(o.starts_at.with_timezone(&tz).time(), t(19, 0));
            assert_eq!(o.ends_at - o.starts_at, TimeDelta::minutes(120));
            assert!(!o.shifted);
        }
    }

    #[test]
    fn apia_skipped_day_resolves_forward_without_doubling() {
        let tz = Tz::Pacific__Apia;
        // Samoa skipped Friday 2011-12-30 entirely (UTC-10 -> UTC+14).
        let r = ScheduleRule::new(weekly(1), d(2011, 12, 23), t(19, 0), 60, End::Count(3)).unwrap();
        let occ = r.expand(tz);
        assert_eq!(occ.len(), 3);
        assert_eq!(occ[0].starts_at, utc("2011-12-24T05:00:00Z"));
        assert!(!occ[0].shifted);
        assert_eq!(occ[1].local_date, d(2011, 12, 30));
        assert!(occ[1].shifted);
        // 19:00 read at the old offset (-10) is 05:00Z, Saturday 19:00 at +14.
        assert_eq!(occ[1].starts_at, utc("2011-12-31T05:00:00Z"));
        assert_eq!(occ[2].starts_at, utc("2012-01-06T05:00:00Z"));
        assert!(occ.windows(2).all(|w| w[0].starts_at < w[1].starts_at));
        // Midnight of the skipped day needs a full day of searching.
        let (at, shifted) = resolve_local(tz, d(2011, 12, 30), t(0, 0));
        assert_eq!((at, shifted), (utc("2011-12-30T10:00:00Z"), true));
    }

    #[test]
    fn sao_paulo_old_midnight_rules_and_no_dst_since_2019() {
        // Brazil used to spring forward at midnight, so 00:00 did not exist.
        let tz = Tz::America__Sao_Paulo;
        let (at, shifted) = resolve_local(tz, d(2018, 11, 4), t(0, 0));
        assert_eq!((at, shifted), (utc("2018-11-04T03:00:00Z"), true));
        assert_eq!(at.with_timezone(&tz).time(), t(1, 0));
        // ...and fell back at midnight, repeating 23:00-23:59 of the Saturday.
        let (at, shifted) = resolve_local(tz, d(2019, 2, 16), t(23, 30));
        assert_eq!((at, shifted), (utc("2019-02-17T01:30:00Z"), false));
        // Since 2019 there is no DST: the offset stays -03:00.
        let r = ScheduleRule::new(weekly(1), d(2020, 1, 4), t(0, 0), 60, End::Count(200)).unwrap();
        for o in r.expand(tz) {
            assert!(!o.shifted);
            assert_eq!(o.starts_at.time(), t(3, 0));
        }
    }

    #[test]
    fn kolkata_has_no_shifts() {
        let r = ScheduleRule::new(weekly(1), d(2024, 1, 1), t(18, 30), 60, End::Count(52)).unwrap();
        for o in r.expand(Tz::Asia__Kolkata) {
            assert!(!o.shifted);
            assert_eq!(o.starts_at.time(), t(13, 0));
        }
    }

    // ----- properties -----

    const ZONES: [Tz; 6] = [
        Tz::America__New_York,
        Tz::Europe__London,
        Tz::Australia__Lord_Howe,
        Tz::Asia__Kolkata,
        Tz::Pacific__Apia,
        Tz::America__Sao_Paulo,
    ];

    fn range_start() -> NaiveDate {
        d(2020, 1, 1)
    }

    fn range_end() -> NaiveDate {
        d(2035, 12, 31)
    }

    /// Local dates from 2011 to 2035 on which `tz` changes its UTC offset
    /// (both sides of each change), found by scanning UTC hour by hour. 2011
    /// takes in Samoa's skipped day and Brazil's last years of DST.
    fn all_transition_dates(tz: Tz) -> Vec<NaiveDate> {
        static CACHE: OnceLock<Vec<(Tz, Vec<NaiveDate>)>> = OnceLock::new();
        let all = CACHE.get_or_init(|| {
            ZONES
                .iter()
                .map(|&zone| {
                    let step = TimeDelta::hours(1);
                    let mut dates = BTreeSet::new();
                    let mut at = d(2011, 1, 1).and_time(NaiveTime::MIN).and_utc();
                    let stop = d(2036, 1, 1).and_time(NaiveTime::MIN).and_utc();
                    let mut prev = zone.offset_from_utc_datetime(&at.naive_utc()).fix();
                    while at < stop {
                        at += step;
                        let offset = zone.offset_from_utc_datetime(&at.naive_utc()).fix();
                        if offset != prev {
                            dates.insert(at.with_timezone(&zone).date_naive());
                            dates.insert((at - step).with_timezone(&zone).date_naive());
                        }
                        prev = offset;
                    }
                    (zone, dates.into_iter().collect())
                })
                .collect()
        });
        all.iter()
            .find(|(zone, _)| *zone == tz)
            .map(|(_, dates)| dates.clone())
            .unwrap_or_default()
    }

    /// Offset-change dates within the property-test range 2020..=2035.
    fn transition_dates(tz: Tz) -> Vec<NaiveDate> {
        all_transition_dates(tz)
            .into_iter()
            .filter(|date| (range_start()..=range_end()).contains(date))
            .collect()
    }

    fn date_strategy() -> impl Strategy<Value = NaiveDate> {
        let days = (range_end() - range_start()).num_days() as u64;
        (0..=days).prop_map(|n| range_start() + Days::new(n))
    }

    /// A zone together with a first date: uniform in range, or (to exercise
    /// the DST edge cases) a day on which that zone changes offset.
    fn zone_and_date() -> impl Strategy<Value = (Tz, NaiveDate)> {
        prop::sample::select(ZONES.to_vec()).prop_flat_map(|tz| {
            let transitions = transition_dates(tz);
            let date = if transitions.is_empty() {
                date_strategy().boxed()
            } else {
                prop_oneof![date_strategy(), prop::sample::select(transitions)].boxed()
            };
            (Just(tz), date)
        })
    }

    /// Minute-precision times, biased towards the small hours where offsets change.
    fn time_strategy() -> impl Strategy<Value = NaiveTime> {
        prop_oneof![0u32..1440, 0u32..300]
            .prop_map(|minutes| NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap())
    }

    fn weekday_strategy() -> impl Strategy<Value = Weekday> {
        (0u8..7).prop_map(|n| Weekday::try_from(n).unwrap())
    }

    fn frequency_strategy() -> impl Strategy<Value = Frequency> {
        prop_oneof![
            (1u32..=4).prop_map(weekly),
            (
                prop::sample::select(vec![
                    WeekOfMonth::First,
                    WeekOfMonth::Second,
                    WeekOfMonth::Third,
                    WeekOfMonth::Fourth,
                    WeekOfMonth::Last,
                ]),
                weekday_strategy()
            )
                .prop_map(|(week, weekday)| monthly(week, weekday)),
        ]
    }

    /// The day of the month range an nth weekday must fall in.
    fn matches_week_of_month(date: NaiveDate, week: WeekOfMonth) -> bool {
        match week {
            WeekOfMonth::Last => {
                date.checked_add_days(Days::new(7)).unwrap().month() != date.month()
            }
            nth => {
                let n = nth.number() as u32;
                (7 * (n - 1) + 1..=7 * n).contains(&date.day())
            }
        }
    }

    fn month_index(date: NaiveDate) -> i32 {
        date.year() * 12 + date.month0() as i32
    }

    /// The DST policy for one occurrence, checked against chrono-tz directly.
    fn check_policy(tz: Tz, occ: &Occurrence, duration: TimeDelta) -> Result<(), TestCaseError> {
        let local: NaiveDateTime = occ.local_date.and_time(occ.local_time);
        let back = occ.starts_at.with_timezone(&tz).naive_local();
        match tz.from_local_datetime(&local) {
            LocalResult::Single(dt) => {
                prop_assert!(!occ.shifted);
                prop_assert_eq!(occ.starts_at, dt.with_timezone(&Utc));
            }
            LocalResult::Ambiguous(a, b) => {
                prop_assert!(!occ.shifted);
                let earliest = a.with_timezone(&Utc).min(b.with_timezone(&Utc));
                prop_assert_eq!(occ.starts_at, earliest);
                prop_assert!(occ.starts_at < a.with_timezone(&Utc).max(b.with_timezone(&Utc)));
            }
            LocalResult::None => {
                prop_assert!(occ.shifted, "non-existent {} not marked shifted", local);
                prop_assert!(back > local, "shifted {} landed at {}", local, back);
                // RFC 5545 §3.3.5: the time is read with the offset in force
                // before the gap. Find that offset by walking back, second by
                // second, from the instant to the transition.
                let offset_at =
                    |at: DateTime<Utc>| tz.offset_from_utc_datetime(&at.naive_utc()).fix();
                let after = offset_at(occ.starts_at);
                let mut probe = occ.starts_at;
                let before = loop {
                    probe -= TimeDelta::seconds(1);
                    let o = offset_at(probe);
                    if o != after {
                        break o;
                    }
                    prop_assert!(
                        occ.starts_at - probe < TimeDelta::days(3),
                        "no transition before {}",
                        occ.starts_at
                    );
                };
                prop_assert_eq!(occ.starts_at.naive_utc() + before, local);
                // So it moves forward by exactly the gap's length.
                let gap = TimeDelta::seconds(i64::from(
                    after.local_minus_utc() - before.local_minus_utc(),
                ));
                prop_assert_eq!(back - local, gap);
            }
        }
        if !occ.shifted {
            prop_assert_eq!(back, local);
        }
        prop_assert_eq!(occ.ends_at - occ.starts_at, duration);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn prop_dates_follow_the_rule(
            (tz, first) in zone_and_date(),
            time in time_strategy(),
            frequency in frequency_strategy(),
            count in 1u32..=60,
            duration in 1u32..=1440,
        ) {
            let r = ScheduleRule::new(frequency, first, time, duration, End::Count(count)).unwrap();
            let occ = r.expand(tz);
            prop_assert_eq!(occ.len(), count as usize);
            let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
            prop_assert_eq!(&dates, &r.dates());
            prop_assert!(dates.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(occ.iter().all(|o| o.local_time == time));
            match frequency {
                Frequency::Weekly { interval_weeks } => {
                    prop_assert_eq!(dates[0], first);
                    for w in dates.windows(2) {
                        prop_assert_eq!((w[1] - w[0]).num_days(), 7 * i64::from(interval_weeks));
                    }
                }
                Frequency::Monthly { week_of_month, weekday } => {
                    // The first occurrence is the first matching day on or after `first`.
                    let expected_first = first
                        .iter_days()
                        .find(|day| day.weekday() == weekday && matches_week_of_month(*day, week_of_month))
                        .unwrap();
                    prop_assert_eq!(dates[0], expected_first);
                    for date in &dates {
                        prop_assert_eq!(date.weekday(), weekday);
                        prop_assert!(matches_week_of_month(*date, week_of_month), "{} is not {:?}", date, week_of_month);
                    }
                    for w in dates.windows(2) {
                        prop_assert_eq!(month_index(w[1]), month_index(w[0]) + 1);
                    }
                }
            }
        }

        #[test]
        fn prop_starts_strictly_increase(
            (tz, first) in zone_and_date(),
            time in time_strategy(),
            frequency in frequency_strategy(),
            count in 1u32..=60,
        ) {
            let r = ScheduleRule::new(frequency, first, time, 60, End::Count(count)).unwrap();
            let occ = r.expand(tz);
            prop_assert!(occ.windows(2).all(|w| w[0].starts_at < w[1].starts_at));
        }

        #[test]
        fn prop_dst_policy_holds(
            (tz, first) in zone_and_date(),
            time in time_strategy(),
            frequency in frequency_strategy(),
            count in 1u32..=60,
            duration in 1u32..=1440,
        ) {
            let r = ScheduleRule::new(frequency, first, time, duration, End::Count(count)).unwrap();
            for occ in r.expand(tz) {
                check_policy(tz, &occ, r.duration())?;
            }
        }

        #[test]
        fn prop_resolve_local_on_transition_days(
            (tz, date) in zone_and_date(),
            minutes in 0u32..1440,
        ) {
            let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap();
            let (starts_at, shifted) = resolve_local(tz, date, time);
            let occ = Occurrence {
                local_date: date,
                local_time: time,
                starts_at,
                ends_at: starts_at + TimeDelta::minutes(1),
                shifted,
            };
            check_policy(tz, &occ, TimeDelta::minutes(1))?;
        }

        #[test]
        fn prop_until_matches_count(
            (tz, first) in zone_and_date(),
            time in time_strategy(),
            frequency in frequency_strategy(),
            count in 1u32..=60,
            extra_days in 0u64..28,
        ) {
            let by_count = ScheduleRule::new(frequency, first, time, 30, End::Count(count)).unwrap();
            let dates = by_count.dates();
            let last = *dates.last().unwrap();
            // Any `until` from the last date up to (not including) the next one
            // yields the same dates.
            let next = ScheduleRule::new(frequency, first, time, 30, End::Count(count + 1))
                .unwrap()
                .dates()[count as usize];
            let until = (last + Days::new(extra_days)).min(next.pred_opt().unwrap());
            let by_until = ScheduleRule::new(frequency, first, time, 30, End::Until(until)).unwrap();
            prop_assert_eq!(by_until.dates(), dates);
            prop_assert_eq!(by_until.expand(tz), by_count.expand(tz));
        }
    }

    #[test]
    fn transition_days_exhaustively_follow_policy() {
        // Every minute of every offset-change day in 2011..=2035 for each zone.
        let mut seen_gap = 0;
        let mut seen_overlap = 0;
        for tz in ZONES {
            for date in all_transition_dates(tz) {
                for minutes in 0..1440 {
                    let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap();
                    let (starts_at, shifted) = resolve_local(tz, date, time);
                    let occ = Occurrence {
                        local_date: date,
                        local_time: time,
                        starts_at,
                        ends_at: starts_at,
                        shifted,
                    };
                    check_policy(tz, &occ, TimeDelta::zero()).unwrap();
                    seen_gap += usize::from(shifted);
                    seen_overlap += usize::from(matches!(
                        tz.from_local_datetime(&date.and_time(time)),
                        LocalResult::Ambiguous(..)
                    ));
                }
            }
        }
        assert!(seen_gap > 0 && seen_overlap > 0);
    }
}
