//! What the letters say: consent rounds, feedback and growing. A letter is mostly words: a
//! subject, paragraphs, a quoted text and words for its button (`LetterView`), laid out by
//! `templates/email/letter.{txt,html}`. The facts come from the email job; this module only
//! words them.

use super::messages::LetterView;
use crate::domain::consent::{label, Tally};
use crate::domain::RoundKind;
use crate::domain::Stance;

/// What every letter about one consent round says the same way.
pub struct ConsentFacts {
    pub circle: String,
    pub title: String,
    pub proposer: String,
    /// When the round closes, in the reader's zone.
    pub closes: String,
    pub kind: RoundKind,
    /// The agreement's version the round is about (above 1: a change).
    pub version: i32,
    pub quorum: i32,
    pub eligible: i32,
    /// The text, in paragraphs.
    pub quote: Vec<String>,
    /// What the proposer said changed, or empty.
    pub note: String,
}

/// How a round ended, as its letter tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Adopted,
    Objected,
    TooFewAnswers,
}

/// One answer to a closed round, with its reason.
pub struct Given {
    pub name: String,
    pub stance: Stance,
    pub reason: String,
}

impl ConsentFacts {
    fn how(&self) -> String {
        format!(
            "Answer by {}: consent, consent with a concern, objection (with a reason), or stand aside. You can change your answer until then, and nobody sees the answers before the round closes.",
            self.closes
        )
    }

    fn after(&self) -> Vec<String> {
        if self.note.is_empty() {
            Vec::new()
        } else {
            vec![format!("What changed: {}", self.note)]
        }
    }

    /// The round opened: what it is about, how to answer, and that silence is no consent.
    pub fn opening(&self) -> LetterView {
        let (circle, title, proposer) = (&self.circle, &self.title, &self.proposer);
        let opening = match self.kind {
            RoundKind::Review => format!(
                "It's time for {circle} to review the agreement “{title}”: does it still serve the circle?"
            ),
            RoundKind::Integration => format!(
                "{proposer} revised “{title}” after an objection. This is a shorter second round on the new text."
            ),
            RoundKind::Proposal if self.version > 1 => {
                format!("{proposer} proposed a change to “{title}” for {circle}.")
            }
            RoundKind::Proposal => {
                format!("{proposer} proposed an agreement for {circle}: “{title}”.")
            }
        };
        let silence = format!(
            "Silence is never counted as consent: the round needs {} of the {} members to answer, and no open objection.",
            self.quorum, self.eligible
        );
        LetterView {
            subject: format!("Consent round: {title} ({circle})"),
            lines: vec![opening, self.how(), silence],
            quote: self.quote.clone(),
            after: self.after(),
            action: Some("Give your answer".into()),
        }
    }

    /// The round closes soon, to someone who has not answered; `answered` people have.
    pub fn reminder(&self, answered: usize) -> LetterView {
        let (circle, title) = (&self.circle, &self.title);
        LetterView {
            subject: format!("Closes tomorrow: {title} ({circle})"),
            lines: vec![
                format!(
                    "The consent round on “{title}” closes {}, and you haven't answered yet. {answered} of {} have; it needs {}.",
                    self.closes, self.eligible, self.quorum
                ),
                self.how(),
            ],
            quote: self.quote.clone(),
            after: self.after(),
            action: Some("Give your answer".into()),
        }
    }

    /// How the round ended, with the counts and every reason given; `to_proposer` when the
    /// reader proposed what was objected to (and may revise it).
    pub fn outcome(&self, ended: Ended, given: &[Given], to_proposer: bool) -> LetterView {
        let (circle, title, proposer) = (&self.circle, &self.title, &self.proposer);
        let tally = Tally::of(given.iter().map(|g| g.stance));
        let counts = format!(
            "{} of {} answered: {} consent, {} with a concern, {} stood aside, {} objected (needed: {}).",
            tally.answered(),
            self.eligible,
            tally.consent,
            tally.concern,
            tally.stand_aside,
            tally.objection,
            self.quorum
        );
        let (subject, line, action) = match ended {
            Ended::Adopted => (
                format!("Adopted: {title} ({circle})"),
                format!("“{title}” is now one of {circle}'s agreements."),
                "See the outcome",
            ),
            Ended::Objected => (
                format!("Objection: {title} ({circle})"),
                if to_proposer {
                    format!("Someone objected to “{title}”, so it was not adopted. As its proposer you can revise it with the objection in mind; the revision gets a shorter second round.")
                } else if self.kind == RoundKind::Review {
                    format!("Someone objected in the review of “{title}”. It stays in force as it is; anyone can propose a change that meets the objection.")
                } else {
                    format!("Someone objected to “{title}”, so it was not adopted. {proposer} can revise it, and the revision gets a shorter second round.")
                },
                if to_proposer { "Revise the text" } else { "See the outcome" },
            ),
            Ended::TooFewAnswers => (
                format!("Not adopted: {title} ({circle})"),
                format!("Too few people answered the round on “{title}”, so it was not adopted: silence is never counted as consent. An organiser or facilitator can open another round."),
                "See the outcome",
            ),
        };
        let mut after = vec![counts];
        for g in given {
            if !g.reason.is_empty() {
                after.push(format!(
                    "{} ({}): {}",
                    g.name,
                    label(g.stance).to_lowercase(),
                    g.reason
                ));
            }
        }
        LetterView {
            subject,
            lines: vec![line],
            quote: self.quote.clone(),
            after,
            action: Some(action.into()),
        }
    }
}

/// What the person who led learns when their feedback closes.
pub enum Closed {
    /// Who could answer changed after it opened: nothing is shown.
    Changed,
    /// The answers are on their page, with a line comparing them with earlier ones.
    Shown { compared: Option<String> },
    /// Too few answered to keep it anonymous; it takes `min` answers.
    TooFew { min: i32 },
}

/// To the person who led: their feedback closed, and whether they can read it.
pub fn feedback_closed(circle: &str, day: &str, answered: i64, closed: &Closed) -> LetterView {
    let mut lines = vec![format!(
        "The feedback on your session of {day} has closed: {answered} {} answered.",
        if answered == 1 { "person" } else { "people" }
    )];
    match closed {
        Closed::Changed => lines.push(crate::domain::feedback::CHANGED.into()),
        Closed::Shown { compared } => {
            lines.push(
                "Their answers are on your page. Only you can read them; organisers see how many answered, never what they said.".into(),
            );
            lines.extend(compared.clone());
        }
        Closed::TooFew { min } => lines.push(format!(
            "{} It takes at least {min}.",
            crate::domain::feedback::TOO_FEW
        )),
    }
    LetterView {
        subject: format!("Your feedback from {day} ({circle})"),
        lines,
        quote: Vec::new(),
        after: Vec::new(),
        action: matches!(closed, Closed::Shown { .. }).then(|| "Read it on your page".into()),
    }
}

/// To organisers: `lead` reported answers (quoted) to their feedback as abusive.
pub fn feedback_reported(
    circle: &str,
    day: &str,
    lead: &str,
    anonymous: bool,
    reported: Vec<String>,
) -> LetterView {
    LetterView {
        subject: format!("A feedback answer was reported ({circle})"),
        lines: vec![
            format!("{lead} reported feedback on their session of {day} as abusive."),
            if anonymous {
                "The feedback was anonymous: Roundtable does not know who wrote it. You may want to talk with the circle about how it gives feedback.".into()
            } else {
                "The feedback was named; the dashboard shows the circle's members.".into()
            },
        ],
        quote: reported,
        after: Vec::new(),
        action: Some("Open the circle".into()),
    }
}

/// What every growing letter names: the sibling and the circle it grows from, its coming
/// dates and its readings.
#[derive(Debug, Clone)]
pub struct Sibling {
    pub name: String,
    pub original: String,
    pub dates: Vec<String>,
    pub readings: Vec<String>,
}

impl Sibling {
    /// The ask to lead the sibling: `waiting` people wait, the reader has led `led` times,
    /// and answers by `answer_by`.
    pub fn ask(&self, waiting: i64, led: i64, answer_by: &str) -> LetterView {
        let (name, original) = (&self.name, &self.original);
        let mut lines = vec![
            format!(
                "{original} is full and {waiting} {} waiting for a seat. A sibling circle, {name}, would give them one: the same kind of circle, with the same readings and the same dates.",
                if waiting == 1 { "person is" } else { "people are" }
            ),
            format!(
                "You have led {original} {led} times, so you are one of the people who could lead it, and it's your turn to be asked."
            ),
            format!(
                "If you accept, {name} is created with you as its lead, the people waiting move to it and are told, and your own seat in {original} stays yours. When you accept you can move {name} to another day or time, so you can keep coming to {original}."
            ),
        ];
        if !self.readings.is_empty() {
            lines.push(format!("Readings: {}.", self.readings.join("; ")));
        }
        LetterView {
            subject: format!("Would you lead {name}? ({original})"),
            lines,
            quote: self.dates.clone(),
            after: vec![format!(
                "Answer by {answer_by}. If you say not now, or don't answer by then, the next person who has led {original} is asked. Nobody in the circle is told who passed; only the organisers can see it."
            )],
            action: Some("Accept, or say not now".into()),
        }
    }

    /// The seat the reader was moved to: `lead` leads it, they were number `place` waiting.
    pub fn moved(&self, lead: &str, place: i32) -> LetterView {
        let (name, original) = (&self.name, &self.original);
        let mut lines = vec![
            format!(
                "{original} is full, so {lead} is leading a sibling circle, {name}, for the people waiting. You were number {place} on the waitlist, and you now have a seat in {name}."
            ),
            if self.dates.is_empty() {
                "It has no sessions scheduled yet; an invitation with a calendar entry comes for each one once they are.".to_string()
            } else {
                "Its sessions are below; an invitation with a calendar entry follows for each, so you can answer yes or no to each one.".to_string()
            },
        ];
        if !self.readings.is_empty() {
            lines.push(format!(
                "It reads what {original} reads: {}.",
                self.readings.join("; ")
            ));
        }
        LetterView {
            subject: format!("A seat for you in {name}"),
            lines,
            quote: self.dates.clone(),
            after: vec![
                format!(
                    "Your place on {original}'s waitlist went to this seat. If {name} isn't for you, leave it from your page: until you have been to one of its sessions, leaving puts you back on {original}'s waitlist, at your old place."
                ),
                format!(
                    "{lead} sees your name on {name}'s members; your email address only once you have come to one of its sessions."
                ),
            ],
            action: Some("Open your page".into()),
        }
    }

    /// To organisers: `lead` accepted and `moved` people moved, or (`None`) nobody could.
    pub fn ended(&self, led_by: Option<(&str, i32)>) -> LetterView {
        let (name, original) = (&self.name, &self.original);
        let (subject, line) = match led_by {
            Some((lead, moved)) => (
                format!("{lead} will lead {name} ({original})"),
                format!(
                    "{lead} accepted to lead {name}, a sibling of {original}. {moved} {} moved from the waitlist and {} told.",
                    if moved == 1 { "person" } else { "people" },
                    if moved == 1 { "was" } else { "were" },
                ),
            ),
            None => (
                format!("Nobody could take on {name} ({original})"),
                format!(
                    "Everyone who has led {original} often enough was asked to lead {name}, and nobody could take it on now. The waitlist stays as it is; you can start a sibling again from the circle's page."
                ),
            ),
        };
        LetterView {
            subject,
            lines: vec![line],
            quote: Vec::new(),
            after: Vec::new(),
            action: Some("See the circle".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: RoundKind, version: i32, note: &str) -> ConsentFacts {
        ConsentFacts {
            circle: "Slow Reading".into(),
            title: "We start on time".into(),
            proposer: "Ada <Lovelace>".into(),
            closes: "Thursday 4 March 2027 at 19:00 (Europe/London)".into(),
            kind,
            version,
            quorum: 4,
            eligible: 6,
            quote: vec!["We start on time.".into(), "Phones stay in bags.".into()],
            note: note.into(),
        }
    }

    fn given() -> Vec<Given> {
        vec![
            Given {
                name: "Bo".into(),
                stance: Stance::Consent,
                reason: String::new(),
            },
            Given {
                name: "Cy".into(),
                stance: Stance::Objection,
                reason: "Trains are late\non Thursdays.".into(),
            },
            Given {
                name: "Di".into(),
                stance: Stance::StandAside,
                reason: "Away in March.".into(),
            },
        ]
    }

    /// Every way each letter can read, as the snapshots show them.
    fn every_letter() -> Vec<(&'static str, LetterView)> {
        let sibling = Sibling {
            name: "Slow Reading II".into(),
            original: "Slow Reading".into(),
            dates: vec!["Thursday 4 March 2027, 19:00–20:30 (Europe/London)".into()],
            readings: vec!["Braiding Sweetgrass, by Robin Wall Kimmerer".into()],
        };
        let bare = Sibling {
            dates: Vec::new(),
            readings: Vec::new(),
            ..sibling.clone()
        };
        vec![
            (
                "round_proposal",
                facts(RoundKind::Proposal, 1, "").opening(),
            ),
            (
                "round_change",
                facts(RoundKind::Proposal, 2, "Ten minutes' grace.").opening(),
            ),
            ("round_review", facts(RoundKind::Review, 1, "").opening()),
            (
                "round_integration",
                facts(RoundKind::Integration, 2, "After Cy's objection.").opening(),
            ),
            (
                "reminder",
                facts(RoundKind::Proposal, 1, "Now shorter.").reminder(3),
            ),
            (
                "adopted",
                facts(RoundKind::Proposal, 1, "").outcome(Ended::Adopted, &given(), false),
            ),
            (
                "objected",
                facts(RoundKind::Proposal, 1, "").outcome(Ended::Objected, &given(), false),
            ),
            (
                "objected_to_proposer",
                facts(RoundKind::Proposal, 1, "").outcome(Ended::Objected, &given(), true),
            ),
            (
                "objected_review",
                facts(RoundKind::Review, 1, "").outcome(Ended::Objected, &given(), false),
            ),
            (
                "too_few",
                facts(RoundKind::Proposal, 1, "").outcome(Ended::TooFewAnswers, &[], false),
            ),
            (
                "feedback_changed",
                feedback_closed("Slow Reading", "Thursday 4 March", 4, &Closed::Changed),
            ),
            (
                "feedback_shown",
                feedback_closed(
                    "Slow Reading",
                    "Thursday 4 March",
                    1,
                    &Closed::Shown {
                        compared: Some("About the same as your earlier sessions.".into()),
                    },
                ),
            ),
            (
                "feedback_shown_alone",
                feedback_closed(
                    "Slow Reading",
                    "Thursday 4 March",
                    5,
                    &Closed::Shown { compared: None },
                ),
            ),
            (
                "feedback_too_few",
                feedback_closed(
                    "Slow Reading",
                    "Thursday 4 March",
                    2,
                    &Closed::TooFew { min: 3 },
                ),
            ),
            (
                "reported_anonymous",
                feedback_reported(
                    "Slow Reading",
                    "Thursday 4 March",
                    "Ada",
                    true,
                    vec!["Rude words".into()],
                ),
            ),
            (
                "reported_named",
                feedback_reported(
                    "Slow Reading",
                    "Thursday 4 March",
                    "Ada",
                    false,
                    vec!["Rude words".into(), "More".into()],
                ),
            ),
            (
                "grow_ask",
                sibling.ask(5, 3, "Friday 5 March 2027 at 19:00 (Europe/London)"),
            ),
            (
                "grow_ask_one_waiting",
                bare.ask(1, 1, "Friday 5 March 2027 at 19:00 (Europe/London)"),
            ),
            ("grow_moved", sibling.moved("Ada", 2)),
            ("grow_moved_no_dates", bare.moved("Ada", 1)),
            ("grow_led", sibling.ended(Some(("Ada", 4)))),
            ("grow_led_one", sibling.ended(Some(("Ada", 1)))),
            ("grow_unled", sibling.ended(None)),
        ]
    }

    #[test]
    fn every_letter_reads_as_snapshotted() {
        for (name, letter) in every_letter() {
            insta::assert_debug_snapshot!(name, letter);
        }
    }
}
