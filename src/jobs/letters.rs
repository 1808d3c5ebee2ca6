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
use crate::domain::feedback::{compared_with_own, visible, Visible};
use crate::domain::{RoundKind, RoundOutcome};
use crate::email::letters::{self, Closed, ConsentFacts, Ended, Given};
use crate::email::messages::{LetterView, MessageKind};
use crate::email::when::{describe_day, describe_moment};

/// A letter whose template would not render: a fault in Roundtable, not worth retrying.
pub fn wording(e: askama::Error) -> JobError {
    JobError::Permanent(format!("wording a letter: {e}"))
}

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
    let facts = ConsentFacts {
        circle: circle.to_string(),
        title: agreement.title,
        proposer,
        closes: describe_moment(round.closes_at, zone),
        kind: round.kind,
        version: round.version,
        quorum: round.quorum,
        eligible: round.eligible,
        quote: paragraphs(&version.body),
        note: version.note,
    };
    let view = match kind {
        MessageKind::ConsentRound => facts.opening(),
        MessageKind::ConsentReminder => {
            facts.reminder(agreements::latest_stances(conn, round).await?.len())
        }
        MessageKind::ConsentOutcome => {
            let given: Vec<Given> = agreements::stances_of_closed(conn, round)
                .await?
                .into_iter()
                .map(|g| Given {
                    name: g.display_name,
                    stance: g.stance,
                    reason: g.reason,
                })
                .collect();
            let ended = match round.outcome {
                Some(RoundOutcome::Adopted) => Ended::Adopted,
                Some(RoundOutcome::Objected) => Ended::Objected,
                _ => Ended::TooFewAnswers,
            };
            let to_proposer =
                version.proposed_by == Some(member.id) && round.kind != RoundKind::Review;
            facts.outcome(ended, &given, to_proposer)
        }
        _ => return Ok(None),
    };
    Ok(Some(view.map_err(wording)?))
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
            let closed = match visible(request.standing(answered, chrono::Utc::now())) {
                Visible::Changed { .. } => Closed::Changed,
                Visible::Shown { .. } => Closed::Shown {
                    compared: compared_with_own(mean, &earlier_means(conn, request).await?),
                },
                _ => Closed::TooFew {
                    min: request.min_answers,
                },
            };
            letters::feedback_closed(circle, &day, answered, &closed)
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
            let anonymous = request.mode == crate::domain::FeedbackMode::Anonymous;
            letters::feedback_reported(circle, &day, &lead, anonymous, reported)
        }
        _ => return Ok(None),
    };
    Ok(Some(view.map_err(wording)?))
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
