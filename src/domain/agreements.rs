//! Agreements by consent: what an agreement's title, text, note and review cadence may be,
//! and when a consent round adopts it. Silence is never consent: a round adopts only when
//! enough people answered (the quorum) and no objection is open when it closes. A concern is
//! consent with a worry on record; standing aside is "I won't block it".

use super::{RoundOutcome, Stance};

/// How many consent rounds a circle opens, so nobody can fill everyone's inbox through it:
/// at most `per_circle_per_week` new rounds in any seven days (a second round after an
/// objection does not count), and one open proposal per person (organisers excepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundLimits {
    pub per_circle_per_week: u32,
}

/// How many answers a round needs: `percent` of the `eligible` members, rounded up, and at
/// least one (a circle of one still has to say yes).
pub fn quorum(eligible: u32, percent: u32) -> u32 {
    (eligible * percent).div_ceil(100).max(1)
}

/// The answers a round holds when it closes, one latest stance per member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub consent: u32,
    pub concern: u32,
    pub objection: u32,
    pub stand_aside: u32,
}

impl Tally {
    pub fn of(stances: impl IntoIterator<Item = Stance>) -> Self {
        let mut t = Self::default();
        for s in stances {
            match s {
                Stance::Consent => t.consent += 1,
                Stance::Concern => t.concern += 1,
                Stance::Objection => t.objection += 1,
                Stance::StandAside => t.stand_aside += 1,
            }
        }
        t
    }

    /// Everyone who answered, whatever they said.
    pub fn answered(&self) -> u32 {
        self.consent + self.concern + self.objection + self.stand_aside
    }
}

/// The outcome of a round that closes with `tally`, needing `quorum` answers: an open objection
/// sends the text back to its proposer to revise; too few answers leave it not adopted.
pub fn outcome(tally: Tally, quorum: u32) -> RoundOutcome {
    if tally.objection > 0 {
        RoundOutcome::Objected
    } else if tally.answered() < quorum.max(1) {
        RoundOutcome::NoQuorum
    } else {
        RoundOutcome::Adopted
    }
}

/// Whether an answer may be stored: an objection has to say why.
pub fn check_reason(stance: Stance, reason: &str) -> Result<(), super::Invalid> {
    if stance == Stance::Objection && reason.trim().is_empty() {
        return Err(super::Invalid::new(
            "reason",
            "an objection needs a reason: say what harm you see, so the proposer can revise it",
        ));
    }
    super::text::lines("reason", reason)?;
    if reason.chars().count() > 2000 {
        return Err(super::Invalid::new(
            "reason",
            "must be at most 2000 characters",
        ));
    }
    Ok(())
}

/// An agreement's title: 1–120 characters.
pub fn title(text: &str) -> Result<String, super::Invalid> {
    let t = super::text::line("title", text)?;
    if t.is_empty() || t.chars().count() > 120 {
        return Err(super::Invalid::new(
            "title",
            "must be between 1 and 120 characters",
        ));
    }
    Ok(t)
}

/// An agreement's text: 1–4000 characters.
pub fn body(text: &str) -> Result<String, super::Invalid> {
    let t = super::text::lines("body", text)?;
    if t.is_empty() || t.chars().count() > 4000 {
        return Err(super::Invalid::new(
            "body",
            "must be between 1 and 4000 characters",
        ));
    }
    Ok(t)
}

/// What a revision changed and why: up to 2000 characters.
pub fn note(text: &str) -> Result<String, super::Invalid> {
    let t = super::text::lines("note", text)?;
    if t.chars().count() > 2000 {
        return Err(super::Invalid::new(
            "note",
            "must be at most 2000 characters",
        ));
    }
    Ok(t)
}

/// Sessions between reviews: 1–52.
pub fn review_every(n: i64) -> Result<i32, super::Invalid> {
    if (1..=52).contains(&n) {
        Ok(n as i32)
    } else {
        Err(super::Invalid::new(
            "review_every_sessions",
            "must be between 1 and 52 sessions",
        ))
    }
}

/// Days an integration round (after an objection, on the revised text) stays open: half a
/// normal round rounded down, at least two (`docs/leadership.md` says the same).
pub fn integration_days(round_days: i32) -> i32 {
    (round_days / 2).max(2)
}

/// Days, after a round closes with an objection, that everyone but the proposer waits to hear
/// the outcome: as long as the revision's round would last (`integration_days`). A revision in
/// that time tells them in its round's letter; without one, the outcome letter goes then.
/// (The proposer can still revise later, for as long as their consent link works.)
pub fn revision_wait_days(round_days: i32) -> i32 {
    integration_days(round_days)
}

/// How a stance reads on a page.
pub fn label(stance: Stance) -> &'static str {
    match stance {
        Stance::Consent => "Consent",
        Stance::Concern => "Consent, with a concern",
        Stance::Objection => "Objection",
        Stance::StandAside => "Stand aside",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(consent: u32, concern: u32, objection: u32, stand_aside: u32) -> Tally {
        Tally {
            consent,
            concern,
            objection,
            stand_aside,
        }
    }

    #[test]
    fn the_adoption_truth_table() {
        // Ten active members; half must answer.
        let q = quorum(10, 50);
        assert_eq!(q, 5);
        // An open objection: not adopted, whatever else was said.
        assert_eq!(outcome(tally(9, 0, 1, 0), q), RoundOutcome::Objected);
        // Quorum missed: four answers of the five needed.
        assert_eq!(outcome(tally(4, 0, 0, 0), q), RoundOutcome::NoQuorum);
        // Everyone silent: silence is never consent.
        assert_eq!(outcome(tally(0, 0, 0, 0), q), RoundOutcome::NoQuorum);
        // Consent and stand-aside reach the quorum with no objection: adopted.
        assert_eq!(outcome(tally(3, 0, 0, 2), q), RoundOutcome::Adopted);
        // A concern counts as an answer that does not block.
        assert_eq!(outcome(tally(2, 1, 0, 2), q), RoundOutcome::Adopted);
        // Only stand-asides: people answered and nobody blocks.
        assert_eq!(outcome(tally(0, 0, 0, 5), q), RoundOutcome::Adopted);
    }

    #[test]
    fn the_quorum_rounds_up_and_never_reaches_zero() {
        assert_eq!(quorum(7, 50), 4);
        assert_eq!(quorum(1, 50), 1);
        assert_eq!(quorum(0, 50), 1);
        assert_eq!(quorum(3, 100), 3);
        assert_eq!(quorum(3, 1), 1);
        assert_eq!(
            outcome(tally(0, 0, 0, 0), quorum(0, 50)),
            RoundOutcome::NoQuorum
        );
    }

    #[test]
    fn a_second_round_lasts_half_a_round_rounded_down_and_at_least_two_days() {
        // Every length a circle may set (`consent_round_days` is 2 to 30).
        let days: Vec<(i32, i32)> = (2..=30).map(|d| (d, integration_days(d))).collect();
        assert_eq!(days[..6], [(2, 2), (3, 2), (4, 2), (5, 2), (6, 3), (7, 3)]);
        assert_eq!(days.last(), Some(&(30, 15)));
        for (round, second) in days {
            assert!(second >= 2 && second <= round, "{round} → {second}");
        }
    }

    #[test]
    fn an_objection_needs_a_reason() {
        assert!(check_reason(Stance::Objection, "  ").is_err());
        assert!(check_reason(Stance::Objection, "It would exclude shift workers").is_ok());
        assert!(check_reason(Stance::Consent, "").is_ok());
        assert!(check_reason(Stance::Concern, &"x".repeat(2001)).is_err());
    }
}
