//! Agreements by consent round. Anyone active in a circle proposes a text or a change; a round
//! opens by email to every active member; answers can change until it closes and stay hidden
//! until then; the undecided get one reminder a day before the close. At the close the round
//! adopts the text when nobody objects and enough people answered (`domain::agreements`). An
//! objection sends the text back to its proposer, whose revision opens a shorter second round;
//! everyone else hears the outcome in that round's letter (one letter, not two), or on its own
//! when no revision came in as long as a second round lasts.
//! Adopted agreements with a review cadence open a review round when that many sessions have
//! passed, and the next session's agenda revisits them.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;

use crate::db::agreements::{self, Agreement, Round};
use crate::db::circles::{self, Circle};
use crate::db::{memberships, Connection};
use crate::domain::agreements::{self as rules, RoundLimits, Tally};
use crate::domain::{
    AgreementId, AgreementStatus, MemberId, MembershipState, RoundId, RoundKind, RoundOutcome,
    Stance,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};
use crate::jobs::{agreements_close, agreements_remind};

/// How long before the close the reminder goes.
pub const REMIND_BEFORE: Duration = Duration::hours(24);

/// Refuse a new round that would break `limits` (429, saying when it can open). `proposer`
/// is whoever proposes a text; `None` for another round on an agreement's text.
async fn check_limits(
    conn: &mut Connection,
    circle: &Circle,
    proposer: Option<MemberId>,
    limits: RoundLimits,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let seconds_until = |at: DateTime<Utc>| (at - now).num_seconds().max(1) as u64;
    if let Some(member) = proposer {
        let organiser = crate::db::members::find(conn, member)
            .await?
            .is_some_and(|m| m.organiser);
        if !organiser {
            if let Some((title, closes)) =
                agreements::open_proposal_by(conn, circle.id, member).await?
            {
                return Err(AppError::Limited {
                    message: format!(
                        "Your proposal \u{201c}{title}\u{201d} is still in its consent round in {}. One proposal at a time keeps everyone's inbox calm: you can propose another once it closes, on {}.",
                        circle.name,
                        crate::email::when::describe_day(closes, circle.timezone.tz())
                    ),
                    retry_after: seconds_until(closes),
                });
            }
        }
    }
    let week = Duration::days(7);
    let opened = agreements::rounds_opened_since(conn, circle.id, now - week).await?;
    if opened.len() >= limits.per_circle_per_week as usize {
        let free_at = opened[opened.len() - limits.per_circle_per_week as usize] + week;
        return Err(AppError::Limited {
            message: format!(
                "{} has opened {} consent rounds in the past week, as many as it opens in a week, so that members are not asked too often. A new round can open on {}.",
                circle.name,
                opened.len(),
                crate::email::when::describe_day(free_at, circle.timezone.tz())
            ),
            retry_after: seconds_until(free_at),
        });
    }
    Ok(())
}

/// A new agreement, already checked.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub title: String,
    pub body: String,
    pub review_every_sessions: Option<i32>,
}

/// Propose a new agreement in `circle` and open its round.
pub async fn propose(
    conn: &mut Connection,
    circle: &Circle,
    proposer: MemberId,
    proposal: Proposal,
    limits: RoundLimits,
    now: DateTime<Utc>,
) -> AppResult<(Agreement, Round)> {
    conn.transaction::<_, AppError, _>(async |conn| {
        require_member_or_staff(conn, circle, proposer).await?;
        // New rounds in one circle take turns, so two at once cannot both slip under a limit.
        agreements::lock_new_rounds(conn, circle.id).await?;
        check_limits(conn, circle, Some(proposer), limits, now).await?;
        let agreement = agreements::create(
            conn,
            circle.id,
            &proposal.title,
            proposal.review_every_sessions,
        )
        .await?;
        let version =
            agreements::add_version(conn, &agreement, &proposal.body, "", Some(proposer)).await?;
        let round = open(conn, circle, &agreement, version, RoundKind::Proposal, now).await?;
        let agreement = agreements::find(conn, agreement.id)
            .await?
            .ok_or(AppError::NotFound("agreement"))?;
        Ok((agreement, round))
    })
    .await
}

/// Propose a change to an agreement: a new version with its own round.
pub async fn propose_change(
    conn: &mut Connection,
    agreement: AgreementId,
    proposer: MemberId,
    body: String,
    note: String,
    limits: RoundLimits,
    now: DateTime<Utc>,
) -> AppResult<Round> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let agreement = agreements::lock(conn, agreement)
            .await?
            .ok_or(AppError::NotFound("agreement"))?;
        let circle = circle_of(conn, &agreement).await?;
        require_member_or_staff(conn, &circle, proposer).await?;
        agreements::lock_new_rounds(conn, circle.id).await?;
        check_limits(conn, &circle, Some(proposer), limits, now).await?;
        if agreements::open_round_of(conn, agreement.id)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(
                "a consent round on this agreement is open; propose the change once it closes"
                    .into(),
            ));
        }
        let version =
            agreements::add_version(conn, &agreement, &body, &note, Some(proposer)).await?;
        if agreement.adopted_version.is_none() {
            agreements::set_status(conn, agreement.id, AgreementStatus::InRound).await?;
        }
        open(conn, &circle, &agreement, version, RoundKind::Proposal, now).await
    })
    .await
}

/// Open another round on an agreement's text: a review of the adopted version, or another
/// try at a version that did not reach its quorum.
pub async fn open_round(
    conn: &mut Connection,
    agreement: AgreementId,
    limits: RoundLimits,
    now: DateTime<Utc>,
) -> AppResult<Round> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let agreement = agreements::lock(conn, agreement)
            .await?
            .ok_or(AppError::NotFound("agreement"))?;
        let circle = circle_of(conn, &agreement).await?;
        agreements::lock_new_rounds(conn, circle.id).await?;
        check_limits(conn, &circle, None, limits, now).await?;
        open_next(conn, &circle, &agreement, now).await
    })
    .await
}

async fn open_next(
    conn: &mut Connection,
    circle: &Circle,
    agreement: &Agreement,
    now: DateTime<Utc>,
) -> AppResult<Round> {
    if agreements::open_round_of(conn, agreement.id)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "a consent round on this agreement is already open".into(),
        ));
    }
    match agreement.status {
        AgreementStatus::Retired => Err(AppError::Conflict(
            "this agreement is retired; propose a new one instead".into(),
        )),
        AgreementStatus::Integrating => Err(AppError::Conflict(
            "an objection is waiting for the proposer's revision, which opens the next round"
                .into(),
        )),
        AgreementStatus::Adopted => {
            let version = agreement
                .adopted_version
                .unwrap_or(agreement.current_version);
            open(conn, circle, agreement, version, RoundKind::Review, now).await
        }
        AgreementStatus::InRound | AgreementStatus::NotAdopted => {
            agreements::set_status(conn, agreement.id, AgreementStatus::InRound).await?;
            let version = agreement.current_version;
            open(conn, circle, agreement, version, RoundKind::Proposal, now).await
        }
    }
}

/// Open a round on `version` and queue everything it causes: the invitation to every active
/// member, the reminder a day before the close, and the close.
async fn open(
    conn: &mut Connection,
    circle: &Circle,
    agreement: &Agreement,
    version: i32,
    kind: RoundKind,
    now: DateTime<Utc>,
) -> AppResult<Round> {
    let members = agreements::active_members(conn, circle.id).await?;
    let eligible = members.len() as u32;
    let quorum = rules::quorum(eligible, circle.consent_quorum_percent.max(1) as u32);
    let days = match kind {
        RoundKind::Integration => rules::integration_days(circle.consent_round_days),
        RoundKind::Proposal | RoundKind::Review => circle.consent_round_days,
    };
    // A round closes at the end of its last day where the circle meets.
    let closes = crate::domain::clock::end_of_day(
        now + Duration::days(i64::from(days)),
        circle.timezone.tz(),
    );
    let round = agreements::open_round(
        conn,
        agreement,
        version,
        kind,
        now,
        closes,
        eligible as i32,
        quorum as i32,
    )
    .await?;
    agreements_close::enqueue(conn, round.id, closes).await?;
    if closes - REMIND_BEFORE > now {
        agreements_remind::enqueue(conn, round.id, closes - REMIND_BEFORE).await?;
    }
    carry_held_outcome(conn, agreement, &round, &members).await?;
    for member in members {
        email_job::enqueue(
            conn,
            EmailJob::about_round(MessageKind::ConsentRound, member, &round),
        )
        .await?;
    }
    Ok(round)
}

/// When the agreement's last round ended in an objection whose outcome letters still wait (for
/// everyone but the proposer), those letters are dropped and `round`'s letter tells those of
/// `members` they were for how it ended instead. Whoever was told already, or joined since,
/// reads the new round's letter as it always was.
async fn carry_held_outcome(
    conn: &mut Connection,
    agreement: &Agreement,
    round: &Round,
    members: &[MemberId],
) -> AppResult<()> {
    let Some(before) = agreements::last_round_held(conn, agreement.id).await? else {
        return Ok(());
    };
    // The proposer's letter was not held: they heard at the close.
    let proposer = agreements::version(conn, agreement.id, before.version)
        .await?
        .and_then(|v| v.proposed_by);
    let letters: Vec<(String, MemberId)> = members
        .iter()
        .filter(|m| Some(**m) != proposer)
        .map(|m| {
            let letter = EmailJob::about_round(MessageKind::ConsentOutcome, *m, &before);
            (letter.dedupe_key(), *m)
        })
        .collect();
    let keys: Vec<String> = letters.iter().map(|(k, _)| k.clone()).collect();
    let waiting = crate::db::jobs::delete_queued(conn, &keys).await?;
    let told: Vec<MemberId> = letters
        .into_iter()
        .filter(|(k, _)| waiting.contains(k))
        .map(|(_, m)| m)
        .collect();
    agreements::carry_outcome(conn, round.id, before.id, &told).await?;
    Ok(())
}

/// What happened to an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Saved(Stance),
    /// The round closed before the answer arrived.
    Closed,
    /// The person is not an active member of the circle.
    NotMember,
}

/// Record `member`'s stance in a round (replacing an earlier one; the history is kept).
pub async fn answer(
    conn: &mut Connection,
    round: RoundId,
    member: MemberId,
    stance: Stance,
    reason: String,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    rules::check_reason(stance, &reason)?;
    let reason = crate::domain::text::lines("reason", &reason)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let round = agreements::lock_round(conn, round)
            .await?
            .ok_or(AppError::NotFound("consent round"))?;
        if !round.is_open() || round.closes_at <= now {
            return Ok(Answer::Closed);
        }
        match super::active_member::require(conn, round.circle_id, member).await {
            Ok(_) => {}
            Err(AppError::Gone(_) | AppError::NotFound(_)) => return Ok(Answer::NotMember),
            Err(e) => return Err(e),
        }
        agreements::set_stance(conn, round.id, member, stance, &reason).await?;
        Ok(Answer::Saved(stance))
    })
    .await
}

/// Close a round whose time has come: count the answers, decide, and tell every active
/// member (after an objection, everyone but the proposer later: see the module doc). Returns
/// the outcome, or `None` when it was closed already or is not due.
pub async fn close(
    conn: &mut Connection,
    round: RoundId,
    now: DateTime<Utc>,
) -> AppResult<Option<RoundOutcome>> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(round) = agreements::lock_round(conn, round).await? else {
            return Ok(None);
        };
        if !round.is_open() || round.closes_at > now {
            return Ok(None);
        }
        let Some(agreement) = agreements::lock(conn, round.agreement_id).await? else {
            return Ok(None);
        };
        let tally = Tally::of(agreements::latest_stances(conn, &round).await?);
        let outcome = rules::outcome(tally, round.quorum.max(1) as u32);
        agreements::close_round(conn, round.id, outcome, now).await?;
        // After an objection only the proposer hears at once; everyone else hears in the
        // revision's round letter, or on its own when none came in time.
        let held_until = if outcome == RoundOutcome::Objected && round.kind != RoundKind::Review {
            let circle = circle_of(conn, &agreement).await?;
            let days = rules::revision_wait_days(circle.consent_round_days);
            let until = now + Duration::days(i64::from(days));
            agreements::hold_outcome(conn, round.id, until).await?;
            Some(until)
        } else {
            None
        };
        let proposer = agreements::version(conn, agreement.id, round.version)
            .await?
            .and_then(|v| v.proposed_by);
        match outcome {
            RoundOutcome::Adopted => {
                agreements::adopt(conn, agreement.id, round.version, now).await?;
            }
            RoundOutcome::Objected => {
                if round.kind == RoundKind::Review {
                    // The adopted text stays in force; the objection asks for a change, which
                    // anyone may now propose.
                    agreements::set_status(conn, agreement.id, AgreementStatus::Adopted).await?;
                } else {
                    agreements::set_status(conn, agreement.id, AgreementStatus::Integrating)
                        .await?;
                }
            }
            RoundOutcome::NoQuorum => {
                let status = if agreement.adopted_version.is_some() {
                    AgreementStatus::Adopted
                } else {
                    AgreementStatus::NotAdopted
                };
                agreements::set_status(conn, agreement.id, status).await?;
            }
        }
        for member in agreements::active_members(conn, round.circle_id).await? {
            let letter = EmailJob::about_round(MessageKind::ConsentOutcome, member, &round);
            match held_until {
                Some(until) if proposer != Some(member) => {
                    crate::db::jobs::enqueue(conn, letter.into_job(until)).await?;
                }
                _ => email_job::enqueue(conn, letter).await?,
            }
        }
        Ok(Some(outcome))
    })
    .await
}

/// Remind the members who have not answered an open round. Returns how many.
pub async fn remind(conn: &mut Connection, round: RoundId, now: DateTime<Utc>) -> AppResult<usize> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(round) = agreements::find_round(conn, round).await? else {
            return Ok(0);
        };
        if !round.is_open() || round.closes_at <= now {
            return Ok(0);
        }
        let undecided = agreements::undecided(conn, &round).await?;
        for member in &undecided {
            email_job::enqueue(
                conn,
                EmailJob::about_round(MessageKind::ConsentReminder, *member, &round),
            )
            .await?;
        }
        Ok(undecided.len())
    })
    .await
}

/// What became of a revision.
#[derive(Debug, Clone)]
pub enum Revised {
    Opened(Round),
    /// Only the person who proposed the objected version revises it.
    NotProposer,
    /// The round did not end in an objection waiting for a revision.
    NotWaiting,
}

/// The proposer revises a text after an objection: a new version, with a shorter round.
pub async fn revise(
    conn: &mut Connection,
    round: RoundId,
    member: MemberId,
    body: String,
    note: String,
    now: DateTime<Utc>,
) -> AppResult<Revised> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let round = agreements::lock_round(conn, round)
            .await?
            .ok_or(AppError::NotFound("consent round"))?;
        let agreement = agreements::lock(conn, round.agreement_id)
            .await?
            .ok_or(AppError::NotFound("agreement"))?;
        let waiting = round.outcome == Some(RoundOutcome::Objected)
            && agreement.status == AgreementStatus::Integrating
            && agreement.current_version == round.version;
        if !waiting {
            return Ok(Revised::NotWaiting);
        }
        let proposer = agreements::version(conn, agreement.id, round.version)
            .await?
            .and_then(|v| v.proposed_by);
        if proposer != Some(member) {
            return Ok(Revised::NotProposer);
        }
        let circle = circle_of(conn, &agreement).await?;
        require_member_or_staff(conn, &circle, member).await?;
        let version = agreements::add_version(conn, &agreement, &body, &note, Some(member)).await?;
        agreements::set_status(conn, agreement.id, AgreementStatus::InRound).await?;
        let next = open(
            conn,
            &circle,
            &agreement,
            version,
            RoundKind::Integration,
            now,
        )
        .await?;
        Ok(Revised::Opened(next))
    })
    .await
}

/// Record that `member` read every adopted agreement of `circle` as it stands now.
pub async fn acknowledge(
    conn: &mut Connection,
    circle: &Circle,
    member: MemberId,
) -> AppResult<usize> {
    let adopted = agreements::adopted(conn, circle.id).await?;
    let versions: Vec<_> = adopted
        .iter()
        .map(|a| (a.agreement_id, a.version))
        .collect();
    if versions.is_empty() {
        return Ok(0);
    }
    Ok(agreements::acknowledge(conn, member, &versions).await?)
}

/// The sweep's part: close rounds whose close was missed (a worker away), and open review
/// rounds the agreements' cadences ask for.
pub async fn sweep(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<(usize, usize)> {
    let mut closed = 0;
    for round in agreements::overdue_rounds(conn, now).await? {
        if close(conn, round, now).await?.is_some() {
            closed += 1;
        }
    }
    let mut opened = 0;
    for id in agreements::due_for_review(conn, now).await? {
        let done = conn
            .transaction::<_, AppError, _>(async |conn| {
                let Some(agreement) = agreements::lock(conn, id).await? else {
                    return Ok(false);
                };
                let circle = circle_of(conn, &agreement).await?;
                Ok(open_next(conn, &circle, &agreement, now).await.is_ok())
            })
            .await?;
        opened += usize::from(done);
    }
    Ok((closed, opened))
}

async fn circle_of(conn: &mut Connection, agreement: &Agreement) -> AppResult<Circle> {
    circles::find(conn, agreement.circle_id)
        .await?
        .ok_or(AppError::NotFound("circle"))
}

/// Organisers and facilitators propose through the API even when they are not members;
/// everyone else must be an active member.
async fn require_member_or_staff(
    conn: &mut Connection,
    circle: &Circle,
    member: MemberId,
) -> AppResult<()> {
    let active = memberships::find(conn, circle.id, member)
        .await?
        .is_some_and(|m| m.state == MembershipState::Active);
    if active {
        return Ok(());
    }
    let staff = crate::db::members::find(conn, member)
        .await?
        .is_some_and(|m| m.organiser)
        || memberships::find(conn, circle.id, member)
            .await?
            .is_some_and(|m| m.role == crate::domain::MembershipRole::Facilitator);
    if staff {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only active members of the circle can propose its agreements".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::members::Member;
    use crate::testkit as kit;

    const LIMITS: RoundLimits = RoundLimits {
        per_circle_per_week: 3,
    };

    fn proposal(title: &str) -> Proposal {
        Proposal {
            title: title.into(),
            body: "We start on time and end on time.".into(),
            review_every_sessions: None,
        }
    }

    /// A circle where Ada, Bo and Cy have seats and Dee waits.
    async fn circle_of_three(conn: &mut Connection) -> (Circle, [Member; 3], Member) {
        let circle = kit::circle().capacity(3).create(conn).await;
        let seated = [
            kit::seated(conn, &circle, "Ada").await,
            kit::seated(conn, &circle, "Bo").await,
            kit::seated(conn, &circle, "Cy").await,
        ];
        let dee = kit::waiting(conn, &circle, "Dee").await;
        (circle, seated, dee)
    }

    #[tokio::test]
    async fn a_proposal_opens_a_round_that_invites_every_active_member() {
        let conn = &mut kit::fresh_connection().await;
        let (circle, [ada, bo, cy], _) = circle_of_three(conn).await;
        let now = kit::now();

        let (agreement, round) = propose(conn, &circle, ada.id, proposal("On time"), LIMITS, now)
            .await
            .unwrap();

        assert_eq!(agreement.status, AgreementStatus::InRound);
        assert_eq!((round.kind, round.version), (RoundKind::Proposal, 1));
        assert_eq!((round.eligible, round.quorum), (3, 2));
        assert_eq!(
            round.closes_at,
            crate::domain::clock::end_of_day(now + Duration::days(7), circle.timezone.tz())
        );
        let mut invited = kit::emailed(conn, MessageKind::ConsentRound).await;
        invited.sort();
        let mut members = vec![ada.id, bo.id, cy.id];
        members.sort();
        assert_eq!(invited, members);
        let closes = kit::queued_of(conn, crate::jobs::agreements_close::KIND).await;
        let reminds = kit::queued_of(conn, crate::jobs::agreements_remind::KIND).await;
        assert_eq!(closes.len(), 1);
        assert_eq!(closes[0].run_at, round.closes_at);
        assert_eq!(reminds.len(), 1);
        assert_eq!(reminds[0].run_at, round.closes_at - REMIND_BEFORE);
    }

    #[tokio::test]
    async fn enough_consent_and_no_objection_adopt_the_text_at_the_close() {
        let conn = &mut kit::fresh_connection().await;
        let (circle, [ada, bo, _], dee) = circle_of_three(conn).await;
        let now = kit::now();
        let (agreement, round) = propose(conn, &circle, ada.id, proposal("On time"), LIMITS, now)
            .await
            .unwrap();

        for who in [ada.id, bo.id] {
            let given = answer(conn, round.id, who, Stance::Consent, String::new(), now).await;
            assert_eq!(given.unwrap(), Answer::Saved(Stance::Consent));
        }
        let waiting = answer(conn, round.id, dee.id, Stance::Consent, String::new(), now).await;
        assert_eq!(waiting.unwrap(), Answer::NotMember);

        assert_eq!(close(conn, round.id, now).await.unwrap(), None);
        let outcome = close(conn, round.id, round.closes_at).await.unwrap();
        assert_eq!(outcome, Some(RoundOutcome::Adopted));
        assert_eq!(close(conn, round.id, round.closes_at).await.unwrap(), None);
        let adopted = agreements::find(conn, agreement.id).await.unwrap().unwrap();
        assert_eq!(adopted.status, AgreementStatus::Adopted);
        assert_eq!(adopted.adopted_version, Some(1));
        assert_eq!(
            kit::emailed(conn, MessageKind::ConsentOutcome).await.len(),
            3
        );
        let late = answer(conn, round.id, bo.id, Stance::Concern, String::new(), now).await;
        assert_eq!(late.unwrap(), Answer::Closed);
    }

    #[tokio::test]
    async fn too_few_answers_leave_a_new_text_not_adopted() {
        let conn = &mut kit::fresh_connection().await;
        let (circle, [ada, ..], _) = circle_of_three(conn).await;
        let now = kit::now();
        let (agreement, round) = propose(conn, &circle, ada.id, proposal("On time"), LIMITS, now)
            .await
            .unwrap();
        answer(conn, round.id, ada.id, Stance::Consent, String::new(), now)
            .await
            .unwrap();

        let outcome = close(conn, round.id, round.closes_at).await.unwrap();

        assert_eq!(outcome, Some(RoundOutcome::NoQuorum));
        let stored = agreements::find(conn, agreement.id).await.unwrap().unwrap();
        assert_eq!(stored.status, AgreementStatus::NotAdopted);
        assert_eq!(stored.adopted_version, None);
    }

    #[tokio::test]
    async fn an_objection_sends_the_text_back_to_its_proposer_alone() {
        let conn = &mut kit::fresh_connection().await;
        let (circle, [ada, bo, cy], _) = circle_of_three(conn).await;
        let now = kit::now();
        let (agreement, round) = propose(conn, &circle, ada.id, proposal("On time"), LIMITS, now)
            .await
            .unwrap();
        let silent = answer(conn, round.id, bo.id, Stance::Objection, " ".into(), now).await;
        assert!(matches!(silent, Err(AppError::Invalid { .. })));
        let why = "Night-shift workers cannot arrive at 18:00.".to_string();
        answer(conn, round.id, bo.id, Stance::Objection, why, now)
            .await
            .unwrap();
        answer(conn, round.id, cy.id, Stance::Consent, String::new(), now)
            .await
            .unwrap();

        let outcome = close(conn, round.id, round.closes_at).await.unwrap();
        assert_eq!(outcome, Some(RoundOutcome::Objected));
        let stored = agreements::find(conn, agreement.id).await.unwrap().unwrap();
        assert_eq!(stored.status, AgreementStatus::Integrating);

        let later = round.closes_at;
        let text = "We start at 19:00.".to_string();
        let by_bo = revise(conn, round.id, bo.id, text.clone(), String::new(), later).await;
        assert!(matches!(by_bo.unwrap(), Revised::NotProposer));
        let by_ada = revise(conn, round.id, ada.id, text, "Later start".into(), later).await;
        let Revised::Opened(next) = by_ada.unwrap() else {
            panic!("the revision opens a round");
        };
        assert_eq!((next.kind, next.version), (RoundKind::Integration, 2));
        // A seven-day round's second round lasts three days (docs/leadership.md).
        assert_eq!(circle.consent_round_days, 7);
        assert_eq!(next.closes_at, later + Duration::days(3));
        let stored = agreements::find(conn, agreement.id).await.unwrap().unwrap();
        assert_eq!(stored.status, AgreementStatus::InRound);
    }

    /// The outcome letters about `round` still queued: to whom, and when they go.
    async fn outcome_letters(
        conn: &mut Connection,
        round: RoundId,
    ) -> Vec<(MemberId, DateTime<Utc>)> {
        let mut letters: Vec<_> = kit::queued_of(conn, crate::jobs::email::KIND)
            .await
            .into_iter()
            .filter(|j| j.state == crate::domain::JobState::Queued)
            .filter_map(|j| {
                let p: crate::jobs::email::wire::Payload =
                    serde_json::from_value(j.payload).unwrap();
                (p.message == MessageKind::ConsentOutcome && p.round_id == Some(round))
                    .then_some((p.member_id, j.run_at))
            })
            .collect();
        letters.sort();
        letters
    }

    /// Ada proposes to Ada, Bo and Cy; Bo objects and the round closes.
    async fn objected(conn: &mut Connection) -> (Circle, [Member; 3], Round) {
        let (circle, [ada, bo, cy], _) = circle_of_three(conn).await;
        let now = kit::now();
        let (_, round) = propose(conn, &circle, ada.id, proposal("On time"), LIMITS, now)
            .await
            .unwrap();
        let why = "Trains are late on Thursdays.".to_string();
        answer(conn, round.id, bo.id, Stance::Objection, why, now)
            .await
            .unwrap();
        let outcome = close(conn, round.id, round.closes_at).await.unwrap();
        assert_eq!(outcome, Some(RoundOutcome::Objected));
        (circle, [ada, bo, cy], round)
    }

    #[tokio::test]
    async fn after_an_objection_only_the_proposer_hears_at_once_and_the_revision_tells_the_rest() {
        let conn = &mut kit::fresh_connection().await;
        let (_, [ada, bo, cy], round) = objected(conn).await;

        // Everyone else's letter waits as long as a second round lasts (three days of seven).
        let held = round.closes_at + Duration::days(3);
        let letters = outcome_letters(conn, round.id).await;
        let proposers: Vec<_> = letters.iter().filter(|(m, _)| *m == ada.id).collect();
        assert_eq!(proposers.len(), 1);
        assert!(proposers[0].1 <= Utc::now(), "the proposer hears at once");
        let mut waiting: Vec<_> = letters.into_iter().filter(|(m, _)| *m != ada.id).collect();
        waiting.sort();
        let mut expected = vec![(bo.id, held), (cy.id, held)];
        expected.sort();
        assert_eq!(waiting, expected);
        assert_eq!(
            agreements::outcome_held_until(conn, round.id)
                .await
                .unwrap(),
            Some(held)
        );

        let later = round.closes_at + Duration::days(1);
        let text = "We start at 19:00.".to_string();
        let revised = revise(conn, round.id, ada.id, text, String::new(), later).await;
        let Revised::Opened(next) = revised.unwrap() else {
            panic!("the revision opens a round");
        };

        // The held letters are gone: the new round's letter tells Bo and Cy instead.
        let left: Vec<_> = outcome_letters(conn, round.id)
            .await
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(left, [ada.id]);
        for (who, carries) in [
            (ada.id, None),
            (bo.id, Some(round.id)),
            (cy.id, Some(round.id)),
        ] {
            assert_eq!(
                agreements::carried_outcome(conn, next.id, who)
                    .await
                    .unwrap(),
                carries
            );
        }
        let mut invited: Vec<_> = kit::emails(conn)
            .await
            .into_iter()
            .filter(|e| e.message == MessageKind::ConsentRound && e.round_id == Some(next.id))
            .map(|e| e.member_id)
            .collect();
        invited.sort();
        let mut everyone = vec![ada.id, bo.id, cy.id];
        everyone.sort();
        assert_eq!(invited, everyone);
    }

    #[tokio::test]
    async fn a_revision_after_the_outcome_went_out_tells_nobody_twice() {
        let conn = &mut kit::fresh_connection().await;
        let (_, [ada, ..], round) = objected(conn).await;
        // The wait ended without a revision: the held letters went out.
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(
                "UPDATE jobs SET state = 'done', finished_at = now() WHERE state = 'queued' \
                 AND payload->>'message' = 'consent_outcome'",
            ),
            conn,
        )
        .await
        .unwrap();

        let later = round.closes_at + Duration::days(5);
        let text = "We start at 19:00.".to_string();
        let revised = revise(conn, round.id, ada.id, text, String::new(), later).await;
        let Revised::Opened(next) = revised.unwrap() else {
            panic!("a late revision still opens a round");
        };

        for member in agreements::active_members(conn, next.circle_id)
            .await
            .unwrap()
        {
            let carried = agreements::carried_outcome(conn, next.id, member).await;
            assert_eq!(carried.unwrap(), None, "everyone heard already");
        }
    }

    #[tokio::test]
    async fn one_open_proposal_per_member_and_a_few_rounds_per_circle_a_week() {
        let conn = &mut kit::fresh_connection().await;
        let (circle, [ada, bo, _], dee) = circle_of_three(conn).await;
        let ora = kit::organiser(conn, "Ora").await;
        let now = kit::now();

        propose(conn, &circle, ada.id, proposal("One"), LIMITS, now)
            .await
            .unwrap();
        let again = propose(conn, &circle, ada.id, proposal("Two"), LIMITS, now).await;
        assert!(matches!(again, Err(AppError::Limited { .. })));
        let waiting = propose(conn, &circle, dee.id, proposal("Three"), LIMITS, now).await;
        assert!(matches!(waiting, Err(AppError::Forbidden(_))));
        propose(conn, &circle, bo.id, proposal("Four"), LIMITS, now)
            .await
            .unwrap();
        // An organiser may have several proposals open, within the circle's weekly limit.
        propose(conn, &circle, ora.id, proposal("Five"), LIMITS, now)
            .await
            .unwrap();
        let fourth = propose(conn, &circle, ora.id, proposal("Six"), LIMITS, now).await;
        assert!(matches!(fourth, Err(AppError::Limited { .. })));
        let opened = agreements::rounds_opened_since(conn, circle.id, now - Duration::days(7));
        assert_eq!(opened.await.unwrap().len(), 3);
    }
}
