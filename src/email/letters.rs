//! What the letters say: consent rounds, feedback and growing. A letter is mostly words: a
//! subject, paragraphs, a quoted text and words for its button (`LetterView`), laid out by
//! `templates/email/letter.{txt,html}`. The facts come from the email job; the words are in
//! `templates/email/letters/<name>.txt`, one part of the letter per line (see the README
//! there), which `read` turns into a `LetterView`.

use askama::Template;

use super::messages::{LetterView, NoticeView};
use crate::domain::agreements::{label, Tally};
use crate::domain::{RoundKind, Stance};

/// Stands in for a line break inside a value while a letter is one part per line. Text
/// people type cannot hold it: control characters are refused where text comes in.
const BREAK: char = '\u{1f}';

/// A value as a letter template takes it: on one line.
fn one(text: &str) -> String {
    text.replace('\n', &BREAK.to_string())
}

fn all(texts: &[String]) -> Vec<String> {
    texts.iter().map(|t| one(t)).collect()
}

/// A rendered letter template, one part per line, as the letter it words.
fn read(text: &str) -> Result<LetterView, askama::Error> {
    let mut letter = LetterView {
        subject: String::new(),
        lines: Vec::new(),
        quote: Vec::new(),
        after: Vec::new(),
        action: None,
    };
    for line in text.lines().map(str::trim_start).filter(|l| !l.is_empty()) {
        let Some((part, words)) = line.split_once('|') else {
            return Err(askama::Error::custom(format!(
                "a letter line names no part: {line}"
            )));
        };
        let words = words.replace(BREAK, "\n");
        match part {
            "subject" => letter.subject = words,
            "line" => letter.lines.push(words),
            "quote" => letter.quote.push(words),
            "after" => letter.after.push(words),
            "action" => letter.action = Some(words),
            other => {
                return Err(askama::Error::custom(format!(
                    "a letter has no part `{other}`"
                )))
            }
        }
    }
    Ok(letter)
}

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

/// Who reads a round's outcome letter, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A member, at the close.
    Member,
    /// Whoever proposed what was objected to: they may revise it.
    Proposer,
    /// Anyone but the proposer, when no revision came in this many days after an objection.
    NoRevisionIn(i64),
}

/// An earlier round on the agreement that ended in an objection, told in the next round's
/// letter to someone who has not heard how it ended: as much as its outcome letter shows.
pub struct Earlier {
    pub eligible: i32,
    pub quorum: i32,
    pub given: Vec<Given>,
}

/// A closed round's answers as a letter shows them: the counts, and every reason given with
/// the name of whoever gave it; `part` is the letter part they go in (`after` below the text,
/// `line` above it).
struct Counted {
    part: &'static str,
    answered: u32,
    consent: u32,
    concern: u32,
    stand_aside: u32,
    objection: u32,
    eligible: i32,
    quorum: i32,
    /// (name, stance, reason) of every answer that gave a reason.
    reasons: Vec<(String, String, String)>,
}

impl Counted {
    fn of(part: &'static str, given: &[Given], eligible: i32, quorum: i32) -> Self {
        let tally = Tally::of(given.iter().map(|g| g.stance));
        Counted {
            part,
            answered: tally.answered(),
            consent: tally.consent,
            concern: tally.concern,
            stand_aside: tally.stand_aside,
            objection: tally.objection,
            eligible,
            quorum,
            reasons: given
                .iter()
                .filter(|g| !g.reason.is_empty())
                .map(|g| (one(&g.name), label(g.stance).to_lowercase(), one(&g.reason)))
                .collect(),
        }
    }
}

/// The facts of a round as its templates read them (`f`).
struct RoundText {
    circle: String,
    title: String,
    proposer: String,
    closes: String,
    review: bool,
    integration: bool,
    version: i32,
    quorum: i32,
    eligible: i32,
    quote: Vec<String>,
    note: String,
}

#[derive(Template)]
#[template(path = "email/letters/consent_round.txt")]
struct RoundOpened<'a> {
    f: &'a RoundText,
    /// How the round before ended, for a reader who has not heard.
    earlier: Option<Counted>,
}

#[derive(Template)]
#[template(path = "email/letters/consent_reminder.txt")]
struct RoundReminder<'a> {
    f: &'a RoundText,
    answered: usize,
}

#[derive(Template)]
#[template(path = "email/letters/consent_outcome.txt")]
struct RoundEnded<'a> {
    f: &'a RoundText,
    adopted: bool,
    objected: bool,
    to_proposer: bool,
    /// No revision came after the objection: `waited` days have passed.
    lapsed: bool,
    waited: i64,
    n: Counted,
}

impl ConsentFacts {
    fn text(&self) -> RoundText {
        RoundText {
            circle: one(&self.circle),
            title: one(&self.title),
            proposer: one(&self.proposer),
            closes: one(&self.closes),
            review: self.kind == RoundKind::Review,
            integration: self.kind == RoundKind::Integration,
            version: self.version,
            quorum: self.quorum,
            eligible: self.eligible,
            quote: all(&self.quote),
            note: one(&self.note),
        }
    }

    /// The round opened: what it is about, how to answer, and that silence is no consent;
    /// first, for a reader who has not heard how the round before ended, that it found an
    /// objection and what was said (`earlier`).
    pub fn opening(&self, earlier: Option<&Earlier>) -> Result<LetterView, askama::Error> {
        let earlier = earlier.map(|e| Counted::of("line", &e.given, e.eligible, e.quorum));
        read(
            &RoundOpened {
                f: &self.text(),
                earlier,
            }
            .render()?,
        )
    }

    /// The round closes soon, to someone who has not answered; `answered` people have.
    pub fn reminder(&self, answered: usize) -> Result<LetterView, askama::Error> {
        read(
            &RoundReminder {
                f: &self.text(),
                answered,
            }
            .render()?,
        )
    }

    /// How the round ended, with the counts and every reason given, as `reader` reads it.
    pub fn outcome(
        &self,
        ended: Ended,
        given: &[Given],
        reader: Reader,
    ) -> Result<LetterView, askama::Error> {
        let letter = RoundEnded {
            f: &self.text(),
            adopted: ended == Ended::Adopted,
            objected: ended == Ended::Objected,
            to_proposer: reader == Reader::Proposer,
            lapsed: matches!(reader, Reader::NoRevisionIn(_)),
            waited: match reader {
                Reader::NoRevisionIn(days) => days,
                _ => 0,
            },
            n: Counted::of("after", given, self.eligible, self.quorum),
        };
        read(&letter.render()?)
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

#[derive(Template)]
#[template(path = "email/letters/feedback_closed.txt")]
struct FeedbackClosed<'a> {
    circle: String,
    day: String,
    answered: i64,
    changed: bool,
    shown: bool,
    compared: Option<String>,
    min: i32,
    changed_words: &'a str,
    too_few_words: &'a str,
}

/// To the person who led: their feedback closed, and whether they can read it.
pub fn feedback_closed(
    circle: &str,
    day: &str,
    answered: i64,
    closed: &Closed,
) -> Result<LetterView, askama::Error> {
    let letter = FeedbackClosed {
        circle: one(circle),
        day: one(day),
        answered,
        changed: matches!(closed, Closed::Changed),
        shown: matches!(closed, Closed::Shown { .. }),
        compared: match closed {
            Closed::Shown { compared } => compared.as_deref().map(one),
            _ => None,
        },
        min: match closed {
            Closed::TooFew { min } => *min,
            _ => 0,
        },
        changed_words: crate::domain::feedback::CHANGED,
        too_few_words: crate::domain::feedback::TOO_FEW,
    };
    read(&letter.render()?)
}

#[derive(Template)]
#[template(path = "email/letters/feedback_reported.txt")]
struct FeedbackReported {
    circle: String,
    day: String,
    lead: String,
    anonymous: bool,
    reported: Vec<String>,
}

/// To organisers: `lead` reported answers (quoted) to their feedback as abusive.
pub fn feedback_reported(
    circle: &str,
    day: &str,
    lead: &str,
    anonymous: bool,
    reported: Vec<String>,
) -> Result<LetterView, askama::Error> {
    let letter = FeedbackReported {
        circle: one(circle),
        day: one(day),
        lead: one(lead),
        anonymous,
        reported: all(&reported),
    };
    read(&letter.render()?)
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

#[derive(Template)]
#[template(path = "email/letters/grow_ask.txt")]
struct GrowAsk {
    s: Sibling,
    waiting: i64,
    led: i64,
    attended: i64,
    answer_by: String,
}

#[derive(Template)]
#[template(path = "email/letters/grow_moved.txt")]
struct GrowMoved {
    s: Sibling,
    lead: String,
    place: i32,
}

#[derive(Template)]
#[template(path = "email/letters/grow_ended.txt")]
struct GrowEnded {
    s: Sibling,
    led_by: Option<(String, i32)>,
}

#[derive(Template)]
#[template(path = "email/letters/grow_called_off.txt")]
struct GrowCalledOff {
    s: Sibling,
}

impl Sibling {
    fn text(&self) -> Sibling {
        Sibling {
            name: one(&self.name),
            original: one(&self.original),
            dates: all(&self.dates),
            readings: all(&self.readings),
        }
    }

    /// The ask to lead the sibling: `waiting` people wait, the reader has led `led` times and
    /// come to `attended` sessions, and answers by `answer_by`.
    pub fn ask(
        &self,
        waiting: i64,
        led: i64,
        attended: i64,
        answer_by: &str,
    ) -> Result<LetterView, askama::Error> {
        let letter = GrowAsk {
            s: self.text(),
            waiting,
            led,
            attended,
            answer_by: one(answer_by),
        };
        read(&letter.render()?)
    }

    /// The seat the reader was moved to: `lead` leads it, they were number `place` waiting.
    pub fn moved(&self, lead: &str, place: i32) -> Result<LetterView, askama::Error> {
        let letter = GrowMoved {
            s: self.text(),
            lead: one(lead),
            place,
        };
        read(&letter.render()?)
    }

    /// To the person who was being asked to lead it: the organisers called it off.
    pub fn called_off(&self) -> Result<LetterView, askama::Error> {
        read(&GrowCalledOff { s: self.text() }.render()?)
    }

    /// To organisers: `lead` accepted and `moved` people moved, or (`None`) nobody could.
    pub fn ended(&self, led_by: Option<(&str, i32)>) -> Result<LetterView, askama::Error> {
        let letter = GrowEnded {
            s: self.text(),
            led_by: led_by.map(|(lead, moved)| (one(lead), moved)),
        };
        read(&letter.render()?)
    }
}

/// Where someone waiting for a seat stands, as their letter tells it.
#[derive(Debug, Clone)]
pub struct Standing {
    pub circle: String,
    /// Their place on the waitlist, from 1.
    pub place: i32,
    /// How many wait.
    pub waiting: i64,
    /// How many must wait before a sibling is proposed (none: never by itself).
    pub threshold: Option<u32>,
    /// Someone is being asked to lead a sibling now.
    pub asking: bool,
}

#[derive(Template)]
#[template(path = "email/letters/waitlist_standing.txt")]
struct WaitlistStanding {
    circle: String,
    place: String,
    waiting: i64,
    /// 0: no sibling is proposed by itself.
    threshold: i64,
    asking: bool,
}

impl Standing {
    /// "You're 2nd on the waitlist for …", and what comes next: a new circle when enough wait,
    /// someone being asked to lead it, or a seat.
    pub fn letter(&self) -> Result<LetterView, askama::Error> {
        let letter = WaitlistStanding {
            circle: one(&self.circle),
            place: ordinal(self.place),
            waiting: self.waiting,
            threshold: self.threshold.map_or(0, i64::from),
            asking: self.asking,
        };
        read(&letter.render()?)
    }
}

/// 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 112th.
pub fn ordinal(n: i32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The role slot a notice is about: the role's name, the session's day and the circle.
pub struct Slot {
    pub role: String,
    pub day: String,
    pub circle: String,
}

/// What a notice about a role slot tells.
pub enum Told {
    /// Someone offered a swap is asked to take over from `requester`.
    SwapOffer { requester: String },
    /// The ask went unanswered; `next` is asked now, or nobody can be.
    Unanswered { next: Option<String> },
    /// Nobody holds the role and the session is close.
    StillOpen,
    /// `holder` took the role over in a swap.
    SwapTaken { holder: String },
    /// The previous lead left a note for the holder.
    Handoff,
}

#[derive(Template)]
#[template(path = "email/letters/notice.txt")]
struct NoticeText<'a> {
    role: String,
    role_lower: String,
    day: String,
    circle: String,
    told: &'a Told,
}

/// A notice to organisers, or to someone offered a swap.
pub fn notice(slot: &Slot, told: &Told) -> Result<NoticeView, askama::Error> {
    let told = match told {
        Told::SwapOffer { requester } => Told::SwapOffer {
            requester: one(requester),
        },
        Told::Unanswered { next } => Told::Unanswered {
            next: next.as_deref().map(one),
        },
        Told::StillOpen => Told::StillOpen,
        Told::SwapTaken { holder } => Told::SwapTaken {
            holder: one(holder),
        },
        Told::Handoff => Told::Handoff,
    };
    let text = NoticeText {
        role: one(&slot.role),
        role_lower: one(&slot.role.to_lowercase()),
        day: one(&slot.day),
        circle: one(&slot.circle),
        told: &told,
    }
    .render()?;
    let letter = read(&text)?;
    Ok(NoticeView {
        subject: letter.subject,
        lines: letter.lines,
        action: letter.action,
    })
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
    fn every_letter() -> Vec<(&'static str, Result<LetterView, askama::Error>)> {
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
                facts(RoundKind::Proposal, 1, "").opening(None),
            ),
            (
                "round_change",
                facts(RoundKind::Proposal, 2, "Ten minutes' grace.").opening(None),
            ),
            (
                "round_review",
                facts(RoundKind::Review, 1, "").opening(None),
            ),
            (
                "round_integration",
                facts(RoundKind::Integration, 2, "After Cy's objection.").opening(None),
            ),
            (
                "round_integration_telling_the_objection",
                facts(RoundKind::Integration, 2, "After Cy's objection.").opening(Some(&Earlier {
                    eligible: 6,
                    quorum: 4,
                    given: given(),
                })),
            ),
            (
                "reminder",
                facts(RoundKind::Proposal, 1, "Now shorter.").reminder(3),
            ),
            (
                "adopted",
                facts(RoundKind::Proposal, 1, "").outcome(Ended::Adopted, &given(), Reader::Member),
            ),
            (
                "objected",
                facts(RoundKind::Proposal, 1, "").outcome(
                    Ended::Objected,
                    &given(),
                    Reader::Member,
                ),
            ),
            (
                "objected_no_revision",
                facts(RoundKind::Proposal, 1, "").outcome(
                    Ended::Objected,
                    &given(),
                    Reader::NoRevisionIn(3),
                ),
            ),
            (
                "objected_to_proposer",
                facts(RoundKind::Proposal, 1, "").outcome(
                    Ended::Objected,
                    &given(),
                    Reader::Proposer,
                ),
            ),
            (
                "objected_review",
                facts(RoundKind::Review, 1, "").outcome(Ended::Objected, &given(), Reader::Member),
            ),
            (
                "too_few",
                facts(RoundKind::Proposal, 1, "").outcome(
                    Ended::TooFewAnswers,
                    &[],
                    Reader::Member,
                ),
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
                sibling.ask(5, 3, 8, "Friday 5 March 2027 at 19:00 (Europe/London)"),
            ),
            (
                "grow_ask_one_waiting",
                bare.ask(1, 1, 4, "Friday 5 March 2027 at 19:00 (Europe/London)"),
            ),
            ("grow_moved", sibling.moved("Ada", 2)),
            ("grow_moved_no_dates", bare.moved("Ada", 1)),
            ("grow_led", sibling.ended(Some(("Ada", 4)))),
            ("grow_led_one", sibling.ended(Some(("Ada", 1)))),
            ("grow_unled", sibling.ended(None)),
            ("waitlist_grows_at", standing(2, 2, Some(3), false).letter()),
            (
                "waitlist_one_waiting",
                standing(1, 1, Some(2), false).letter(),
            ),
            (
                "waitlist_enough_waiting",
                standing(3, 5, Some(2), false).letter(),
            ),
            ("waitlist_asking", standing(2, 5, Some(2), true).letter()),
            (
                "waitlist_no_growing",
                standing(11, 12, None, false).letter(),
            ),
        ]
    }

    fn standing(place: i32, waiting: i64, threshold: Option<u32>, asking: bool) -> Standing {
        Standing {
            circle: "Thursday Readers".into(),
            place,
            waiting,
            threshold,
            asking,
        }
    }

    #[test]
    fn places_read_as_ordinals() {
        let read: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            read,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd",
                "101st", "111th", "112th"
            ]
        );
    }

    #[test]
    fn every_notice_reads_as_snapshotted() {
        let slot = Slot {
            role: "Note-taker".into(),
            day: "Thursday 4 March".into(),
            circle: "Slow Reading".into(),
        };
        let told = [
            (
                "notice_swap_offer",
                Told::SwapOffer {
                    requester: "Ada".into(),
                },
            ),
            (
                "notice_unanswered",
                Told::Unanswered {
                    next: Some("Bo".into()),
                },
            ),
            ("notice_unanswered_open", Told::Unanswered { next: None }),
            ("notice_still_open", Told::StillOpen),
            (
                "notice_swap_taken",
                Told::SwapTaken {
                    holder: "Cy".into(),
                },
            ),
            ("notice_handoff", Told::Handoff),
        ];
        for (name, told) in told {
            insta::assert_debug_snapshot!(name, notice(&slot, &told).unwrap());
        }
    }

    #[test]
    fn a_name_ending_in_s_takes_only_an_apostrophe() {
        let mut readers = facts(RoundKind::Proposal, 1, "");
        readers.circle = "Thursday Readers".into();
        let adopted = readers
            .outcome(Ended::Adopted, &given()[..1], Reader::Member)
            .unwrap();
        assert!(
            adopted
                .lines
                .iter()
                .any(|l| l.contains("one of Thursday Readers' agreements")),
            "{adopted:?}"
        );
        let sibling = Sibling {
            name: "Thursday Readers II".into(),
            original: "Thursday Readers".into(),
            dates: Vec::new(),
            readings: Vec::new(),
        };
        let moved = format!("{:?}", sibling.moved("Ada", 2).unwrap());
        assert!(
            moved.contains("Your place on Thursday Readers' waitlist"),
            "{moved}"
        );
        assert!(
            moved.contains("on Thursday Readers II's members"),
            "{moved}"
        );
        assert!(!moved.contains("s's"), "{moved}");
    }

    #[test]
    fn every_letter_reads_as_snapshotted() {
        for (name, letter) in every_letter() {
            insta::assert_debug_snapshot!(name, letter.unwrap());
        }
    }
}
