//! What the learning loop's letters say: a consent round opening, closing soon and its
//! outcome; feedback that closed for the person who led, and an answer reported to the
//! organisers. Each is a letter (`templates/email/letter.*`); `None` means there is nothing to
//! say any more.

use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;

use super::queue::JobError;
use crate::db::agreements::{self, Round};
use crate::db::feedback::{self, FeedbackRequest};
use crate::db::{members, sessions};
use crate::email::messages::{LetterView, MessageKind};
use crate::email::when::{describe_day, describe_moment};

fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.trim().replace('\n', " "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// What a consent-round message says: the text, how to answer, and after the close, the
/// outcome with who objected and why. Stances are only read for a closed round.
pub async fn consent(
    conn: &mut AsyncPgConnection,
    kind: MessageKind,
    round: &Round,
    circle: &str,
    member: &members::Member,
    zone: Tz,
) -> Result<Option<LetterView>, JobError> {
    let Some(agreement) = agreements::find(conn, round.agreement_id).await? else {
        return Ok(None);
    };
    let Some(version) = agreements::version(conn, agreement.id, round.version).await? else {
        return Ok(None);
    };
    let proposer = match version.proposed_by {
        Some(m) => members::find(conn, m).await?.map(|m| m.display_name),
        None => None,
    }
    .unwrap_or_else(|| "Someone".into());
    let closes = describe_moment(round.closes_at, zone);
    let mut after = Vec::new();
    if !version.note.is_empty() {
        after.push(format!("What changed: {}", version.note));
    }
    let text = RoundLetter {
        round,
        circle,
        title: &agreement.title,
        proposer: &proposer,
        how: format!(
            "Answer by {closes}: consent, consent with a concern, objection (with a reason), or stand aside. You can change your answer until then, and nobody sees the answers before the round closes."
        ),
        closes,
        quote: paragraphs(&version.body),
        after,
    };
    let view = match kind {
        MessageKind::ConsentRound => text.opening(),
        MessageKind::ConsentReminder => {
            let answered = agreements::latest_stances(conn, round).await?.len();
            text.reminder(answered)
        }
        MessageKind::ConsentOutcome => {
            let given = agreements::stances_of_closed(conn, round).await?;
            let is_proposer = version.proposed_by == Some(member.id)
                && round.kind != crate::domain::RoundKind::Review;
            text.outcome(&given, is_proposer)
        }
        _ => return Ok(None),
    };
    Ok(Some(view))
}

/// What every letter about one consent round shares.
struct RoundLetter<'a> {
    round: &'a Round,
    circle: &'a str,
    title: &'a str,
    proposer: &'a str,
    closes: String,
    how: String,
    quote: Vec<String>,
    after: Vec<String>,
}

impl RoundLetter<'_> {
    /// The round opened: what it is about, how to answer, and that silence is no consent.
    fn opening(self) -> LetterView {
        let (circle, title, proposer, round) = (self.circle, self.title, self.proposer, self.round);
        let opening = match round.kind {
            crate::domain::RoundKind::Review => format!(
                "It's time for {circle} to review the agreement “{title}”: does it still serve the circle?"
            ),
            crate::domain::RoundKind::Integration => format!(
                "{proposer} revised “{title}” after an objection. This is a shorter second round on the new text."
            ),
            crate::domain::RoundKind::Proposal if round.version > 1 => {
                format!("{proposer} proposed a change to “{title}” for {circle}.")
            }
            crate::domain::RoundKind::Proposal => {
                format!("{proposer} proposed an agreement for {circle}: “{title}”.")
            }
        };
        let silence = format!(
            "Silence is never counted as consent: the round needs {} of the {} members to answer, and no open objection.",
            round.quorum, round.eligible
        );
        LetterView {
            subject: format!("Consent round: {title} ({circle})"),
            lines: vec![opening, self.how, silence],
            quote: self.quote,
            after: self.after,
            action: Some("Give your answer".into()),
        }
    }

    /// The round closes soon, to someone who has not answered.
    fn reminder(self, answered: usize) -> LetterView {
        let (circle, title, round) = (self.circle, self.title, self.round);
        LetterView {
            subject: format!("Closes tomorrow: {title} ({circle})"),
            lines: vec![
                format!(
                    "The consent round on “{title}” closes {}, and you haven't answered yet. {answered} of {} have; it needs {}.",
                    self.closes, round.eligible, round.quorum
                ),
                self.how,
            ],
            quote: self.quote,
            after: self.after,
            action: Some("Give your answer".into()),
        }
    }

    /// How the round ended, with the counts and every reason given.
    fn outcome(self, given: &[agreements::GivenStance], is_proposer: bool) -> LetterView {
        let (circle, title, proposer, round) = (self.circle, self.title, self.proposer, self.round);
        let tally = crate::domain::consent::Tally::of(given.iter().map(|g| g.stance));
        let counts = format!(
            "{} of {} answered: {} consent, {} with a concern, {} stood aside, {} objected (needed: {}).",
            tally.answered(),
            round.eligible,
            tally.consent,
            tally.concern,
            tally.stand_aside,
            tally.objection,
            round.quorum
        );
        let (subject, line, action) = match round.outcome {
            Some(crate::domain::RoundOutcome::Adopted) => (
                format!("Adopted: {title} ({circle})"),
                format!("“{title}” is now one of {circle}'s agreements."),
                "See the outcome",
            ),
            Some(crate::domain::RoundOutcome::Objected) => (
                format!("Objection: {title} ({circle})"),
                if is_proposer {
                    format!("Someone objected to “{title}”, so it was not adopted. As its proposer you can revise it with the objection in mind; the revision gets a shorter second round.")
                } else if round.kind == crate::domain::RoundKind::Review {
                    format!("Someone objected in the review of “{title}”. It stays in force as it is; anyone can propose a change that meets the objection.")
                } else {
                    format!("Someone objected to “{title}”, so it was not adopted. {proposer} can revise it, and the revision gets a shorter second round.")
                },
                if is_proposer { "Revise the text" } else { "See the outcome" },
            ),
            _ => (
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
                    g.display_name,
                    crate::domain::consent::label(g.stance).to_lowercase(),
                    g.reason
                ));
            }
        }
        LetterView {
            subject,
            lines: vec![line],
            quote: self.quote,
            after,
            action: Some(action.into()),
        }
    }
}

/// What a feedback message says: to the person who led, that their feedback closed (the
/// answers themselves are on their page); to organisers, the answers that were reported.
pub async fn feedback(
    conn: &mut AsyncPgConnection,
    kind: MessageKind,
    request: &FeedbackRequest,
    stamp: Option<i64>,
    circle: &str,
    zone: Tz,
) -> Result<Option<LetterView>, JobError> {
    let Some(session) = sessions::find(conn, request.session_id).await? else {
        return Ok(None);
    };
    let day = describe_day(session.starts_at, zone);
    let (mean, answered) = feedback::summary(conn, request.id).await?;
    let view = match kind {
        MessageKind::FeedbackClosed => {
            let visible =
                crate::domain::feedback::visible(request.standing(answered, chrono::Utc::now()));
            let shown = matches!(visible, crate::domain::feedback::Visible::Shown { .. });
            let mut lines = vec![format!(
                "The feedback on your session of {day} has closed: {answered} {} answered.",
                if answered == 1 { "person" } else { "people" }
            )];
            if let crate::domain::feedback::Visible::Changed { .. } = visible {
                lines.push(crate::domain::feedback::CHANGED.into());
            } else if shown {
                lines.push(
                    "Their answers are on your page. Only you can read them; organisers see how many answered, never what they said.".into(),
                );
                if let Some(line) = crate::domain::feedback::compared_with_own(
                    mean,
                    &earlier_means(conn, request).await?,
                ) {
                    lines.push(line);
                }
            } else {
                lines.push(format!(
                    "{} It takes at least {}.",
                    crate::domain::feedback::TOO_FEW,
                    request.min_answers
                ));
            }
            LetterView {
                subject: format!("Your feedback from {day} ({circle})"),
                lines,
                quote: Vec::new(),
                after: Vec::new(),
                action: shown.then(|| "Read it on your page".into()),
            }
        }
        MessageKind::FeedbackReported => {
            let lead = members::find(conn, request.subject_id)
                .await?
                .map_or_else(|| "The person who led".into(), |m| m.display_name);
            let reported: Vec<String> = feedback::answers(conn, request.id)
                .await?
                .into_iter()
                .filter(|a| {
                    a.reported_at.is_some()
                        && stamp.is_none_or(|s| crate::domain::feedback::report_stamp(a.id) == s)
                })
                .flat_map(|a| [a.helped, a.try_next])
                .filter(|t| !t.is_empty())
                .collect();
            LetterView {
                subject: format!("A feedback answer was reported ({circle})"),
                lines: vec![
                    format!("{lead} reported feedback on their session of {day} as abusive."),
                    if request.mode == crate::domain::FeedbackMode::Anonymous {
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
        _ => return Ok(None),
    };
    Ok(Some(view))
}

/// The mean ratings of the same person's earlier results that were shown (closed, with
/// enough answers), for comparing with this one.
pub async fn earlier_means(
    conn: &mut AsyncPgConnection,
    request: &FeedbackRequest,
) -> Result<Vec<f64>, JobError> {
    let mut out = Vec::new();
    for earlier in feedback::about_member(conn, request.subject_id, 50).await? {
        if earlier.id == request.id || earlier.closes_at >= request.closes_at {
            continue;
        }
        let (mean, n) = feedback::summary(conn, earlier.id).await?;
        let shown = matches!(
            crate::domain::feedback::visible(earlier.standing(n, chrono::Utc::now())),
            crate::domain::feedback::Visible::Shown { .. }
        );
        if let (Some(mean), true) = (mean, shown) {
            out.push(mean);
        }
    }
    Ok(out)
}
