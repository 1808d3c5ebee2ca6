//! Agreements mail, about one consent round: it opened, it closes soon (to those who have not
//! answered), and how it ended. Each is a letter (`templates/email/letter.*`) worded by
//! `email::letters` from the facts gathered here: the text, how to answer, and after the
//! close, the outcome with who objected and why. After an objection, a revision's round letter
//! also tells how the round before ended to those whose outcome letter it replaced
//! (`actions::agreements`), and an outcome letter held for a revision that never came says so.

use chrono::{Duration, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, wording, Prepared, Recipient};
use crate::db::agreements::{self, Round};
use crate::db::members;
use crate::domain::{CircleId, JobState, MemberId, RoundId, RoundKind, RoundOutcome};
use crate::email::letters::{ConsentFacts, Earlier, Ended, Given, Reader};
use crate::email::messages::{LetterView, MessageKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementsMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
    pub round_id: RoundId,
}

impl AgreementsMail {
    /// Once per message, round and person.
    pub fn dedupe_key(&self) -> String {
        format!(
            "email:{}:{}:{}",
            self.message, self.round_id, self.member_id
        )
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &AgreementsMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    prepare_letter(ctx, conn, job, to, false).await
}

/// How soon the reader's next letter about the circle must go for a new round's letter to
/// ride with it, and how long the round must stay open after that letter.
const ROUND_RIDES_WITHIN: Duration = Duration::hours(48);
const ROUND_OPEN_AFTER_RIDE: Duration = Duration::days(1);
/// How long after the close an outcome may wait for the reader's next letter.
const OUTCOME_RIDES_WITHIN: Duration = Duration::days(5);
/// How long after its carrier a waiting letter looks again (it is then delivered).
const AFTER_CARRIER: Duration = Duration::minutes(10);

/// The letter, `riding` inside another (a session letter), or alone. Alone, a new round's
/// letter (and an outcome, except the proposer's after an objection, who revises) waits for
/// the reader's next letter about the circle when that goes soon enough: one letter, not two.
pub(super) async fn prepare_letter(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &AgreementsMail,
    to: &mut Recipient,
    riding: bool,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some((circle, _)) = common::place(conn, job.circle_id, to, kind, None).await? else {
        return Ok(None);
    };
    let Some(round) = agreements::find_round(conn, job.round_id).await? else {
        return Ok(None);
    };
    let wanted = match kind {
        MessageKind::ConsentRound => round.is_open(),
        // Only the undecided are reminded.
        MessageKind::ConsentReminder => {
            round.is_open()
                && agreements::stance_of(conn, round.id, to.member.id)
                    .await?
                    .is_none()
        }
        _ => true,
    };
    if !wanted {
        return Ok(None);
    }
    if !riding {
        if let Some(at) = carrier(conn, kind, &round, to).await? {
            return Err(JobError::Later(
                at + AFTER_CARRIER,
                "rides with the reader's next letter about the circle",
            ));
        }
    }
    let zone = to.zone(None, Some(&circle));
    let Some(letter) = letter(conn, kind, &round, &circle.name, &to.member, zone).await? else {
        return Ok(None);
    };
    let mut c = common::context(kind, to, Some(&circle), &ctx.links, Utc::now());
    c.action_url = Some(ctx.links.consent(to.holder, round.id.0, round.closes_at));
    c.letter = Some(letter);
    Ok(Some(c.into()))
}

/// When the reader's next letter about the circle goes, if this letter should ride with it.
async fn carrier(
    conn: &mut AsyncPgConnection,
    kind: MessageKind,
    round: &Round,
    to: &Recipient,
) -> Result<Option<chrono::DateTime<Utc>>, JobError> {
    let now = Utc::now();
    let until = match kind {
        MessageKind::ConsentRound => {
            (now + ROUND_RIDES_WITHIN).min(round.closes_at - ROUND_OPEN_AFTER_RIDE)
        }
        MessageKind::ConsentOutcome => {
            let Some(closed) = round.closed_at else {
                return Ok(None);
            };
            let objected = round.outcome != Some(RoundOutcome::Adopted);
            if objected && round.kind != RoundKind::Review {
                // The proposer revises at once; their letter does not wait.
                if let Some(a) = agreements::find(conn, round.agreement_id).await? {
                    let version = agreements::version(conn, a.id, round.version).await?;
                    if version.and_then(|v| v.proposed_by) == Some(to.member.id) {
                        return Ok(None);
                    }
                }
            }
            closed + OUTCOME_RIDES_WITHIN
        }
        _ => return Ok(None),
    };
    if until <= now {
        return Ok(None);
    }
    Ok(common::next_session_letter(conn, round.circle_id, &to.member, until).await?)
}

/// The agreement letters to `member` about `circle` that can ride with a letter being
/// written now: a round's letter still queued, whenever it meant to look again, and an
/// outcome due by `by` (one held back for a revision waits its time). Found by their keys,
/// from the circle's rounds of the last month.
pub(super) async fn waiting(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    by: chrono::DateTime<Utc>,
) -> Result<Vec<AgreementsMail>, JobError> {
    let since = Utc::now() - Duration::days(30);
    let mut keys = Vec::new();
    for round_id in agreements::round_ids_since(conn, circle, since).await? {
        for message in [MessageKind::ConsentRound, MessageKind::ConsentOutcome] {
            let mail = AgreementsMail {
                message,
                member_id: member,
                circle_id: circle,
                round_id,
            };
            keys.push(mail.dedupe_key());
        }
    }
    Ok(crate::db::jobs::pending(conn, &keys)
        .await?
        .into_iter()
        .filter(|j| j.state == JobState::Queued)
        .filter_map(|j| {
            let mail = serde_json::from_value::<AgreementsMail>(j.payload).ok()?;
            (mail.message == MessageKind::ConsentRound || j.run_at <= by).then_some(mail)
        })
        .collect())
}

/// What a consent-round message says: the text, how to answer, and after the close, the
/// outcome with who objected and why. Stances are only read for a closed round.
async fn letter(
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
        closes: crate::email::when::deadline(round.closes_at, zone, Utc::now()),
        kind: round.kind,
        version: round.version,
        quorum: round.quorum,
        eligible: round.eligible,
        quote: paragraphs(&version.body),
        note: version.note,
    };
    let view = match kind {
        MessageKind::ConsentRound => {
            // Someone whose letter about an objection was held for the revision reads it here.
            let earlier = match agreements::carried_outcome(conn, round.id, member.id).await? {
                Some(id) => match agreements::find_round(conn, id).await? {
                    Some(before) => Some(Earlier {
                        eligible: before.eligible,
                        quorum: before.quorum,
                        given: given(conn, &before).await?,
                    }),
                    None => None,
                },
                None => None,
            };
            facts.opening(earlier.as_ref())
        }
        MessageKind::ConsentReminder => {
            facts.reminder(agreements::latest_stances(conn, round).await?.len())
        }
        MessageKind::ConsentOutcome => {
            let given = given(conn, round).await?;
            let ended = match round.outcome {
                Some(RoundOutcome::Adopted) => Ended::Adopted,
                Some(RoundOutcome::Objected) => Ended::Objected,
                _ => Ended::TooFewAnswers,
            };
            let to_proposer =
                version.proposed_by == Some(member.id) && round.kind != RoundKind::Review;
            // After an objection, everyone else's letter was held for a revision that did not
            // come (rounds closed before holding existed told everyone at once).
            let held = match round.closed_at {
                Some(closed) if ended == Ended::Objected && !to_proposer => {
                    agreements::outcome_held_until(conn, round.id)
                        .await?
                        .map(|until| (until - closed).num_days())
                }
                _ => None,
            };
            let reader = match (to_proposer, held) {
                (true, _) => Reader::Proposer,
                (false, Some(days)) => Reader::NoRevisionIn(days),
                (false, None) => Reader::Member,
            };
            facts.outcome(ended, &given, reader)
        }
        _ => return Ok(None),
    };
    Ok(Some(view.map_err(wording)?))
}

/// Who said what in a closed round, with their reasons.
async fn given(conn: &mut AsyncPgConnection, round: &Round) -> Result<Vec<Given>, JobError> {
    Ok(agreements::stances_of_closed(conn, round)
        .await?
        .into_iter()
        .map(|g| Given {
            name: g.display_name,
            stance: g.stance,
            reason: g.reason,
        })
        .collect())
}

/// The quoted text's paragraphs, each on one line.
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.trim().replace('\n', " "))
        .filter(|p| !p.is_empty())
        .collect()
}
