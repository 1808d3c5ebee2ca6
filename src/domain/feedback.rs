//! Feedback for whoever led: what the answer form accepts, and what the person who led may
//! read. Who may answer is frozen when the feedback opens; answers reach the person who led
//! only after it closes, only when at least the circle's `k` of those people answered, and
//! only when who could answer did not change after it opened, so no single answer can be told
//! apart; each result is compared only with their own earlier results.

use super::Invalid;

/// How long a request stays open after the reflection prompt goes out.
pub const OPEN_DAYS: i64 = 7;

/// The questions, in the order the form asks them.
pub const HELPED: &str = "What helped?";
pub const TRY_NEXT: &str = "What could they try next time?";
pub const RATING: &str = "Overall, how did the session go for you?";

/// The optional 1–3 scale, as it reads.
pub fn rating_label(rating: i16) -> &'static str {
    match rating {
        1 => "It didn't work well for me",
        2 => "It was fine",
        _ => "It worked really well",
    }
}

/// One answer, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub helped: String,
    pub try_next: String,
    pub rating: Option<i16>,
}

impl Answer {
    /// Check what the form sent: at least one question answered, each under 2000 characters,
    /// the scale 1–3 or left out.
    pub fn parse(helped: &str, try_next: &str, rating: &str) -> Result<Self, Invalid> {
        let helped = super::text::lines("helped", helped)?;
        let try_next = super::text::lines("try_next", try_next)?;
        for (field, text) in [("helped", &helped), ("try_next", &try_next)] {
            if text.chars().count() > 2000 {
                return Err(Invalid::new(field, "must be at most 2000 characters"));
            }
        }
        let rating = match rating.trim() {
            "" => None,
            r => match r.parse::<i16>() {
                Ok(n @ 1..=3) => Some(n),
                _ => return Err(Invalid::new("rating", "must be 1, 2 or 3, or left out")),
            },
        };
        if helped.is_empty() && try_next.is_empty() && rating.is_none() {
            return Err(Invalid::new(
                "helped",
                "answer at least one question: even a few words help",
            ));
        }
        Ok(Self {
            helped,
            try_next,
            rating,
        })
    }
}

/// The smallest `k` a circle may set: fewer answers could be told apart.
pub const MIN_ANSWERS_FLOOR: i64 = 3;

/// Where one request stands, for what its lead may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The close time has passed.
    pub closed: bool,
    /// The held answers were written out (at the close).
    pub sealed: bool,
    /// Who could answer changed after it opened (an attendance change, someone leaving).
    pub changed: bool,
    /// How many of those who could answer did.
    pub answered: u32,
    /// The circle's `k` when it opened (at least [`MIN_ANSWERS_FLOOR`]).
    pub needed: u32,
}

/// What the person who led may read of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Visible {
    /// Still open (or being closed): they see how many answered, nothing more.
    Open { answered: u32 },
    /// Closed with fewer than `k` answers: no text at all.
    TooFew { answered: u32, needed: u32 },
    /// Closed, but who could answer changed after it opened: no text at all.
    Changed { answered: u32 },
    /// Closed with enough answers from those who could answer when it opened: every answer.
    Shown { answered: u32 },
}

pub fn visible(s: Standing) -> Visible {
    let needed = s.needed.max(MIN_ANSWERS_FLOOR as u32);
    let answered = s.answered;
    if !s.closed || !s.sealed {
        Visible::Open { answered }
    } else if s.changed {
        Visible::Changed { answered }
    } else if answered < needed {
        Visible::TooFew { answered, needed }
    } else {
        Visible::Shown { answered }
    }
}

pub const TOO_FEW: &str = "Not enough answers to keep this anonymous, so none are shown.";
pub const CHANGED: &str = "Who could answer changed after the feedback opened, so none of it is shown: that keeps it anonymous.";

/// The stamp of a report's email: the reported answer's id, so each answer is reported once
/// and its email quotes that answer alone.
pub fn report_stamp(answer: uuid::Uuid) -> i64 {
    i64::from_be_bytes(
        answer.as_bytes()[..8]
            .try_into()
            .expect("a uuid has 16 bytes"),
    )
}

/// The mean of the ratings given, if any.
pub fn mean(ratings: &[i16]) -> Option<f64> {
    (!ratings.is_empty())
        .then(|| ratings.iter().map(|&r| f64::from(r)).sum::<f64>() / ratings.len() as f64)
}

/// One line comparing this result with the same person's earlier ones (each a mean rating of
/// a request that was shown), or nothing when there is no rating to compare.
pub fn compared_with_own(now: Option<f64>, earlier: &[f64]) -> Option<String> {
    let now = now?;
    if earlier.is_empty() {
        return Some(format!(
            "Average rating {now:.1} of 3: your first rated result, so there is nothing earlier to compare it with."
        ));
    }
    let before = earlier.iter().sum::<f64>() / earlier.len() as f64;
    let trend = if now > before + 0.05 {
        "higher than"
    } else if now < before - 0.05 {
        "lower than"
    } else {
        "about the same as"
    };
    Some(format!(
        "Average rating {now:.1} of 3, {trend} your own earlier average of {before:.1} ({} session{}).",
        earlier.len(),
        if earlier.len() == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked() {
        assert!(Answer::parse("", "", "").is_err());
        assert_eq!(
            Answer::parse(" Clear start ", "", "3").unwrap(),
            Answer {
                helped: "Clear start".into(),
                try_next: String::new(),
                rating: Some(3)
            }
        );
        assert!(Answer::parse("", "", "2").is_ok());
        assert_eq!(Answer::parse("x", "", "4").unwrap_err().field, "rating");
        assert_eq!(Answer::parse("x", "", "one").unwrap_err().field, "rating");
        assert_eq!(
            Answer::parse(&"x".repeat(2001), "", "").unwrap_err().field,
            "helped"
        );
    }

    fn standing(closed: bool, sealed: bool, changed: bool, answered: u32, needed: u32) -> Standing {
        Standing {
            closed,
            sealed,
            changed,
            answered,
            needed,
        }
    }

    #[test]
    fn text_shows_only_after_close_and_only_with_k_answers() {
        assert_eq!(
            visible(standing(false, false, false, 9, 3)),
            Visible::Open { answered: 9 }
        );
        assert_eq!(
            visible(standing(true, false, false, 9, 3)),
            Visible::Open { answered: 9 },
            "closed but not written out yet"
        );
        assert_eq!(
            visible(standing(true, true, false, 2, 3)),
            Visible::TooFew {
                answered: 2,
                needed: 3
            }
        );
        assert_eq!(
            visible(standing(true, true, false, 3, 3)),
            Visible::Shown { answered: 3 }
        );
        assert_eq!(
            visible(standing(true, true, true, 9, 3)),
            Visible::Changed { answered: 9 }
        );
        assert_eq!(
            visible(standing(true, true, false, 2, 2)),
            Visible::TooFew {
                answered: 2,
                needed: 3
            },
            "never fewer than three, whatever a request says"
        );
    }

    proptest::proptest! {
        #[test]
        fn answers_show_only_when_closed_unchanged_and_k_answered(
            closed: bool, sealed: bool, changed: bool, answered in 0u32..20, needed in 0u32..20,
        ) {
            let s = standing(closed, sealed, changed, answered, needed);
            if let Visible::Shown { .. } = visible(s) {
                proptest::prop_assert!(closed && sealed && !changed);
                proptest::prop_assert!(answered >= needed.max(3));
            }
        }
    }

    #[test]
    fn results_compare_only_with_ones_own_past() {
        assert_eq!(compared_with_own(None, &[2.0]), None);
        assert!(compared_with_own(Some(2.5), &[])
            .unwrap()
            .contains("first rated result"));
        let line = compared_with_own(Some(2.5), &[2.0, 2.0]).unwrap();
        assert!(line.contains("higher than your own earlier average of 2.0 (2 sessions)"));
        assert!(compared_with_own(Some(1.5), &[2.0])
            .unwrap()
            .contains("lower than"));
        assert_eq!(mean(&[1, 2, 3]), Some(2.0));
        assert_eq!(mean(&[]), None);
    }
}
