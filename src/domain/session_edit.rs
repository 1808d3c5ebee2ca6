//! A change to one session as every front end states it: each field absent (keep it), or a
//! new value checked here once, whoever typed it.

use chrono::{NaiveDate, NaiveTime};

use super::schedule::{MAX_DURATION_MINUTES, MIN_DURATION_MINUTES};
use super::{parse_hhmm, Invalid, MemberId, ReadingId};

/// Longest location or video link.
pub const MAX_LOCATION_CHARS: usize = 500;
/// Longest set of reflection prompts.
pub const MAX_PROMPTS_CHARS: usize = 5000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionEdit {
    pub local_date: Option<NaiveDate>,
    pub local_time: Option<NaiveTime>,
    pub duration_minutes: Option<i32>,
    /// `Some(None)` clears the location.
    pub location: Option<Option<String>>,
    pub reading_id: Option<Option<ReadingId>>,
    pub facilitator_id: Option<Option<MemberId>>,
    /// `Some(None)` goes back to the circle kind's default prompts.
    pub prompts: Option<Option<String>>,
}

impl SessionEdit {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// A date as `YYYY-MM-DD`, in the session's zone.
    pub fn date(input: &str) -> Result<NaiveDate, Invalid> {
        super::clock::parse_date(input, "local_date")
    }

    /// A wall time as `HH:MM`, in the session's zone.
    pub fn time(input: &str) -> Result<NaiveTime, Invalid> {
        parse_hhmm(input, "local_time")
    }

    /// A length in minutes, within what a schedule allows.
    pub fn duration(minutes: i64) -> Result<i32, Invalid> {
        let range = i64::from(MIN_DURATION_MINUTES)..=i64::from(MAX_DURATION_MINUTES);
        if range.contains(&minutes) {
            Ok(minutes as i32)
        } else {
            Err(Invalid::new(
                "duration_minutes",
                format!(
                    "must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES} minutes"
                ),
            ))
        }
    }

    /// A location or link, trimmed; empty means none.
    pub fn location(input: Option<String>) -> Result<Option<String>, Invalid> {
        let text = input
            .map(|t| super::text::line("location", &t))
            .transpose()?
            .filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_LOCATION_CHARS)
        {
            return Err(Invalid::new(
                "location",
                format!("must be at most {MAX_LOCATION_CHARS} characters"),
            ));
        }
        Ok(text)
    }

    /// Reflection prompts, one a line, with line breaks normalised; empty means the defaults.
    pub fn prompts(input: Option<String>) -> Result<Option<String>, Invalid> {
        let text = input
            .map(|s| super::text::lines("prompts", &s))
            .transpose()?
            .filter(|s| !s.is_empty());
        if text
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_PROMPTS_CHARS)
        {
            return Err(Invalid::new(
                "prompts",
                format!("must be at most {MAX_PROMPTS_CHARS} characters"),
            ));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_the_schedule_limits() {
        assert_eq!(SessionEdit::duration(90), Ok(90));
        assert!(SessionEdit::duration(0).is_err());
        assert!(SessionEdit::duration(i64::from(MAX_DURATION_MINUTES) + 1).is_err());
    }

    #[test]
    fn text_is_trimmed_normalised_and_bounded() {
        assert_eq!(SessionEdit::location(Some("  ".into())), Ok(None));
        assert_eq!(
            SessionEdit::prompts(Some("One?\r\nTwo?".into())),
            Ok(Some("One?\nTwo?".into()))
        );
        assert!(SessionEdit::location(Some("x".repeat(501))).is_err());
        assert!(SessionEdit::prompts(Some("x".repeat(5001))).is_err());
        assert!(SessionEdit::default().is_empty());
    }
}
