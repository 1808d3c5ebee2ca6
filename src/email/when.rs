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

/// A zone as people name it: "London time", "New York time", "UTC".
pub fn zone_words(zone: Tz) -> String {
    match zone.name() {
        "UTC" | "Etc/UTC" | "Etc/GMT" | "GMT" => "UTC".into(),
        name => format!(
            "{} time",
            name.rsplit('/').next().unwrap_or(name).replace('_', " ")
        ),
    }
}

/// A deadline as a reader sees it: "Monday 14 December, 23:59 London time (in 3 days)", in
/// their zone, with the zone named and how far off it is.
pub fn deadline(at: DateTime<Utc>, zone: Tz, now: DateTime<Utc>) -> String {
    format!(
        "{} {} ({})",
        describe_moment(at, zone),
        zone_words(zone),
        from_now(at, now, zone)
    )
}

/// How far off `at` is from `now`, as a person says it: "in 3 days", "tomorrow", "in 5
/// hours", "in 20 minutes", "now"; past instants read "3 days ago" and so on.
pub fn from_now(at: DateTime<Utc>, now: DateTime<Utc>, zone: Tz) -> String {
    let ahead = at - now;
    let minutes = ahead.num_minutes();
    if minutes.abs() < 1 {
        return "now".into();
    }
    let (n, past) = (minutes.abs(), minutes < 0);
    let say = |amount: i64, unit: &str| {
        let unit = if amount == 1 {
            unit.to_string()
        } else {
            format!("{unit}s")
        };
        if past {
            format!("{amount} {unit} ago")
        } else {
            format!("in {amount} {unit}")
        }
    };
    if n < 60 {
        return say(n, "minute");
    }
    let days =
        (at.with_timezone(&zone).date_naive() - now.with_timezone(&zone).date_naive()).num_days();
    match days {
        0 => say(n / 60, "hour"),
        1 if n < 36 * 60 => "tomorrow".into(),
        -1 => "yesterday".into(),
        d => say(d.abs(), "day"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_names_its_zone_and_how_far_off_it_is() {
        let now: DateTime<Utc> = "2026-12-11T09:00:00Z".parse().unwrap();
        let at: DateTime<Utc> = "2026-12-14T23:59:00Z".parse().unwrap();
        assert_eq!(
            deadline(at, chrono_tz::Europe::London, now),
            "Monday 14 December, 23:59 London time (in 3 days)"
        );
        assert_eq!(
            deadline(at, chrono_tz::America::New_York, now),
            "Monday 14 December, 18:59 New York time (in 3 days)"
        );
        assert_eq!(zone_words(chrono_tz::UTC), "UTC");
    }

    #[test]
    fn how_far_off_reads_as_a_person_says_it() {
        let zone = chrono_tz::Europe::London;
        let now: DateTime<Utc> = "2027-03-04T09:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(from_now(at("2027-03-04T09:00:20Z"), now, zone), "now");
        assert_eq!(
            from_now(at("2027-03-04T09:01:00Z"), now, zone),
            "in 1 minute"
        );
        assert_eq!(
            from_now(at("2027-03-04T09:20:00Z"), now, zone),
            "in 20 minutes"
        );
        assert_eq!(
            from_now(at("2027-03-04T14:00:00Z"), now, zone),
            "in 5 hours"
        );
        assert_eq!(from_now(at("2027-03-05T19:00:00Z"), now, zone), "tomorrow");
        assert_eq!(from_now(at("2027-03-07T19:00:00Z"), now, zone), "in 3 days");
        assert_eq!(
            from_now(at("2027-03-01T19:00:00Z"), now, zone),
            "3 days ago"
        );
        assert_eq!(
            from_now(at("2027-03-04T07:00:00Z"), now, zone),
            "2 hours ago"
        );
    }
}
