//! How a message or page says when something happens, in the reader's zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// "Thursday 4 March" in the given zone: which session, in a few words.
pub fn describe_day(starts: DateTime<Utc>, zone: Tz) -> String {
    starts.with_timezone(&zone).format("%A %-d %B").to_string()
}

/// "Thursday 4 March 2027, 19:00–20:30 (Europe/London)" in the given zone.
pub fn describe_time(starts: DateTime<Utc>, ends: DateTime<Utc>, zone: Tz) -> String {
    let s = starts.with_timezone(&zone);
    let e = ends.with_timezone(&zone);
    let end = if s.date_naive() == e.date_naive() {
        e.format("%H:%M").to_string()
    } else {
        e.format("%A %-d %B %H:%M").to_string()
    };
    format!(
        "{}–{end} ({})",
        s.format("%A %-d %B %Y, %H:%M"),
        zone.name()
    )
}

/// "Thursday 4 March, 19:00" in the given zone.
pub fn describe_moment(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%A %-d %B, %H:%M")
        .to_string()
}
