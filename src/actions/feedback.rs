//! Feedback for whoever held a role. The holder chooses when accepting whether they want it
//! (anonymous by default, named, or none); the forms go out with the reflection prompt to
//! those who came. Who may answer is frozen when the request opens (those marked as attending
//! then, who were members before the session ended); each of them answers once, and the
//! answer is held apart, naming nobody, until the close, when answers and receipts are
//! written out shuffled in one transaction. The person who led reads the answers only after
//! the close, only when at least the circle's `k` of those people answered, and only when who
//! could answer did not change meanwhile. They can report an abusive answer to the organisers.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::feedback::{self, FeedbackRequest};
use crate::db::roles;
use crate::db::{memberships, Connection};
use crate::domain::feedback::{Answer, Standing, Visible};

use crate::domain::tokens::TokenKeys;
use crate::domain::{
    FeedbackMode, FeedbackRequestId, MemberId, MembershipRole, MembershipState, RoleId, RoleState,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Saved,
    /// They had answered already; the first answer stands.
    Twice,
    /// They were not marked as attending when who may answer was frozen (or were not yet a
    /// member when the session ended).
    NotAttended,
    /// Nobody has marked who came yet.
    NotRecorded,
    /// The feedback has closed.
    Closed,
    /// The person who led does not answer about themselves.
    OwnSession,
    NotMember,
}

/// The fingerprints a held answer of `member` to `request` carries (one per signing key, the
/// current key's first): what stops a second answer while naming nobody.
pub fn tags(keys: &TokenKeys, request: FeedbackRequestId, member: MemberId) -> Vec<Vec<u8>> {
    keys.fingerprints(
        "feedback-held",
        &[request.0.as_bytes(), member.0.as_bytes()],
    )
}

/// Whether `member` may answer `request` now, and why not. Reads only: a request whose answerers
/// are not frozen yet is judged on the attendance as it stands.
pub async fn may_answer(
    conn: &mut Connection,
    keys: &TokenKeys,
    request: &FeedbackRequest,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Option<Given>> {
    if request.subject_id == member {
        return Ok(Some(Given::OwnSession));
    }
    match crate::actions::active_member::require(conn, request.circle_id, member).await {
        Ok(_) => {}
        Err(AppError::Gone(_) | AppError::NotFound(_)) => return Ok(Some(Given::NotMember)),
        Err(e) => return Err(e),
    }
    if request.is_closed(now) {
        return Ok(Some(Given::Closed));
    }
    if request.frozen_at.is_some() {
        if !feedback::is_eligible(conn, request.id, member).await? {
            return Ok(Some(Given::NotAttended));
        }
    } else {
        match feedback::attendance(conn, request.session_id, member).await? {
            Some(true) => {}
            Some(false) => return Ok(Some(Given::NotAttended)),
            None if feedback::attendees(conn, request.session_id).await? > 0 => {
                return Ok(Some(Given::NotAttended))
            }
            None => return Ok(Some(Given::NotRecorded)),
        }
    }
    if feedback::has_answered(conn, request.id, member, &tags(keys, request.id, member)).await? {
        return Ok(Some(Given::Twice));
    }
    Ok(None)
}

/// Hold `member`'s answer to `request` until the close. When attendance was not marked as the
/// request opened, the first answer after it is marked freezes who may answer, in a
/// transaction of its own (so nothing written alongside the answer names anyone).
pub async fn answer(
    conn: &mut Connection,
    keys: &TokenKeys,
    request: FeedbackRequestId,
    member: MemberId,
    answer: Answer,
    now: DateTime<Utc>,
) -> AppResult<Given> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let request = feedback::lock(conn, request)
            .await?
            .ok_or(AppError::NotFound("feedback request"))?;
        if request.frozen_at.is_none() && !request.is_closed(now) {
            feedback::freeze(conn, request.session_id).await?;
        }
        Ok(())
    })
    .await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let request = feedback::lock(conn, request)
            .await?
            .ok_or(AppError::NotFound("feedback request"))?;
        if let Some(refused) = may_answer(conn, keys, &request, member, now).await? {
            return Ok(refused);
        }
        let tag = tags(keys, request.id, member).swap_remove(0);
        Ok(
            if feedback::hold(conn, &request, &tag, member, &answer).await? {
                Given::Saved
            } else {
                Given::Twice
            },
        )
    })
    .await
}

/// Where `request` stands for its lead now.
pub async fn standing(
    conn: &mut Connection,
    request: &FeedbackRequest,
    now: DateTime<Utc>,
) -> AppResult<Standing> {
    Ok(feedback::standing(conn, request, now).await?)
}

/// Whether the person who led may read the answers now: closed and written out, unchanged,
/// with enough answers.
pub async fn shown(
    conn: &mut Connection,
    request: &FeedbackRequest,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    Ok(matches!(
        crate::domain::feedback::visible(standing(conn, request, now).await?),
        Visible::Shown { .. }
    ))
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The organisers are told.
    Now,
    /// It was reported before: nobody is told twice.
    Already,
    /// There is no such answer for this person to report.
    Nothing,
}

/// The person who led reports one of the answers they were shown as abusive: the organisers
/// are told, once per answer however often it is reported.
pub async fn report(
    conn: &mut Connection,
    request: FeedbackRequestId,
    member: MemberId,
    answer: uuid::Uuid,
    now: DateTime<Utc>,
) -> AppResult<Reported> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(request) = feedback::find(conn, request).await? else {
            return Ok(Reported::Nothing);
        };
        if request.subject_id != member || !shown(conn, &request, now).await? {
            return Ok(Reported::Nothing);
        }
        let shown_answers = feedback::answers(conn, request.id).await?;
        let Some(this) = shown_answers.iter().find(|a| a.id == answer) else {
            return Ok(Reported::Nothing);
        };
        if this.reported_at.is_some()
            || feedback::report(conn, request.id, answer, now)
                .await?
                .is_none()
        {
            return Ok(Reported::Already);
        }
        let mut told = crate::db::members::organisers(conn).await?;
        if told.is_empty() {
            told = memberships::with_role(
                conn,
                request.circle_id,
                MembershipRole::Facilitator,
                MembershipState::Active,
            )
            .await?;
        }
        for organiser in told.into_iter().filter(|m| *m != member) {
            email_job::enqueue(
                conn,
                EmailJob::about_feedback(
                    MessageKind::FeedbackReported,
                    organiser,
                    &request,
                    Some(crate::domain::feedback::report_stamp(answer)),
                ),
            )
            .await?;
        }
        Ok(Reported::Now)
    })
    .await
}

/// Close each request whose time has come (the sweep's part): write out its held answers with
/// their receipts, then tell the person it is about. Returns how many were told.
pub async fn send_due(
    conn: &mut Connection,
    keys: &TokenKeys,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut sent = 0;
    let mut sealed = 0;
    for request in feedback::due_results(conn, now).await? {
        let told = conn
            .transaction::<_, AppError, _>(async |conn| {
                let Some(locked) = feedback::lock(conn, request.id).await? else {
                    return Ok((false, 0));
                };
                let mut written = 0;
                let mut locked = locked;
                if locked.sealed_at.is_none() {
                    written =
                        feedback::seal(conn, locked.id, |m| tags(keys, locked.id, m), now).await?;
                    locked.sealed_at = Some(now);
                }
                if !feedback::mark_results_sent(conn, request.id, now).await? {
                    return Ok((false, written));
                }
                // Nothing to read (too few answers, or who could answer changed): no letter
                // of its own, a line in their next letter about the circle.
                let (_, answered) = feedback::summary(conn, locked.id).await?;
                if !matches!(
                    crate::domain::feedback::visible(locked.standing(answered, now)),
                    Visible::Shown { .. }
                ) {
                    feedback::close_quietly(conn, locked.id).await?;
                    return Ok((false, written));
                }
                email_job::enqueue(
                    conn,
                    EmailJob::about_feedback(
                        MessageKind::FeedbackClosed,
                        request.subject_id,
                        &request,
                        None,
                    ),
                )
                .await?;
                Ok((true, written))
            })
            .await?;
        sent += usize::from(told.0);
        sealed += told.1;
    }
    if sealed > 0 {
        // The held rows are gone from every query now; vacuuming ends their life in the
        // table's pages too. Autovacuum gets there later if this cannot.
        if let Err(e) = feedback::vacuum_held(conn).await {
            tracing::warn!(error = %e, "could not vacuum the held feedback answers");
        }
    }
    Ok(sent)
}

/// What became of a change of feedback choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChange {
    Saved,
    /// The feedback is open: its mode no longer changes.
    Fixed,
    NotYours,
}

/// The holder of a confirmed role changes what feedback they want, until it opens.
pub async fn set_mode(
    conn: &mut Connection,
    role: RoleId,
    member: MemberId,
    mode: FeedbackMode,
) -> AppResult<ModeChange> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(row) = roles::lock(conn, role).await? else {
            return Ok(ModeChange::NotYours);
        };
        if row.member_id != Some(member) || row.state != RoleState::Confirmed {
            return Ok(ModeChange::NotYours);
        }
        let open = feedback::for_session(conn, row.session_id)
            .await?
            .iter()
            .any(|r| r.role_key == row.role_key && r.subject_id == member);
        if open {
            return Ok(ModeChange::Fixed);
        }
        roles::set_feedback(conn, row.id, mode).await?;
        Ok(ModeChange::Saved)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::members::Member;
    use crate::db::roles::FACILITATOR;
    use crate::db::rsvps;
    use crate::testkit as kit;

    fn keys() -> TokenKeys {
        TokenKeys::new("a key for tests", &[])
    }

    fn said(helped: &str) -> Answer {
        Answer {
            helped: helped.into(),
            try_next: String::new(),
            rating: Some(3),
        }
    }

    /// A session under way that Lea leads and wants feedback on; Ada, Bo and Cy came, Dee
    /// did not. Feedback closes in a week.
    struct Led {
        lea: Member,
        came: [Member; 3],
        dee: Member,
        request: FeedbackRequest,
    }

    async fn led(conn: &mut Connection) -> Led {
        let circle = kit::circle().create(conn).await;
        let lea = kit::seated(conn, &circle, "Lea").await;
        let came = [
            kit::seated(conn, &circle, "Ada").await,
            kit::seated(conn, &circle, "Bo").await,
            kit::seated(conn, &circle, "Cy").await,
        ];
        let dee = kit::seated(conn, &circle, "Dee").await;
        let session = kit::session().under_way().create(conn, &circle).await;
        kit::slot(
            conn,
            &session,
            FACILITATOR,
            Some(lea.id),
            RoleState::Confirmed,
        )
        .await;
        for m in &came {
            rsvps::set_attended(conn, session.id, m.id, true)
                .await
                .unwrap();
        }
        rsvps::set_attended(conn, session.id, dee.id, false)
            .await
            .unwrap();
        let closes = Utc::now() + chrono::Duration::days(7);
        feedback::open_for_session(conn, session.id, 3, closes)
            .await
            .unwrap();
        let request = feedback::for_session(conn, session.id)
            .await
            .unwrap()
            .remove(0);
        Led {
            lea,
            came,
            dee,
            request,
        }
    }

    #[tokio::test]
    async fn each_person_who_came_answers_once_and_nobody_else_does() {
        let conn = &mut kit::fresh_connection().await;
        let led = led(conn).await;
        let stranger = kit::member(conn, "Eve").await;
        let (id, now) = (led.request.id, Utc::now());
        let ada = led.came[0].id;

        let first = answer(conn, &keys(), id, ada, said("The pace"), now).await;
        let second = answer(conn, &keys(), id, ada, said("Again"), now).await;
        let absent = answer(conn, &keys(), id, led.dee.id, said("Hm"), now).await;
        let own = answer(conn, &keys(), id, led.lea.id, said("Me"), now).await;
        let outsider = answer(conn, &keys(), id, stranger.id, said("Hi"), now).await;

        assert_eq!(first.unwrap(), Given::Saved);
        assert_eq!(second.unwrap(), Given::Twice);
        assert_eq!(absent.unwrap(), Given::NotAttended);
        assert_eq!(own.unwrap(), Given::OwnSession);
        assert_eq!(outsider.unwrap(), Given::NotMember);
        assert_eq!(feedback::answered(conn, id).await.unwrap(), 1);
        let after = led.request.closes_at;
        let late = answer(conn, &keys(), id, led.came[1].id, said("Late"), after).await;
        assert_eq!(late.unwrap(), Given::Closed);
    }

    #[tokio::test]
    async fn the_lead_is_told_once_after_the_close_and_may_report_an_answer_once() {
        let conn = &mut kit::fresh_connection().await;
        let led = led(conn).await;
        let ora = kit::organiser(conn, "Ora").await;
        let now = Utc::now();
        for m in &led.came {
            let given = answer(conn, &keys(), led.request.id, m.id, said("Good"), now).await;
            assert_eq!(given.unwrap(), Given::Saved);
        }

        assert_eq!(send_due(conn, &keys(), now).await.unwrap(), 0);
        assert!(!shown(conn, &led.request, now).await.unwrap());
        let after = led.request.closes_at + chrono::Duration::minutes(1);
        assert_eq!(send_due(conn, &keys(), after).await.unwrap(), 1);
        assert_eq!(send_due(conn, &keys(), after).await.unwrap(), 0);
        assert_eq!(
            kit::emailed(conn, MessageKind::FeedbackClosed).await,
            [led.lea.id]
        );

        let request = feedback::find(conn, led.request.id).await.unwrap().unwrap();
        assert!(request.sealed_at.is_some());
        assert!(shown(conn, &request, after).await.unwrap());
        let answers = feedback::answers(conn, request.id).await.unwrap();
        assert_eq!(answers.len(), 3);
        let one = answers[0].id;
        let not_lead = report(conn, request.id, led.came[0].id, one, after).await;
        assert_eq!(not_lead.unwrap(), Reported::Nothing);
        let first = report(conn, request.id, led.lea.id, one, after).await;
        let again = report(conn, request.id, led.lea.id, one, after).await;
        assert_eq!(first.unwrap(), Reported::Now);
        assert_eq!(again.unwrap(), Reported::Already);
        assert_eq!(
            kit::emailed(conn, MessageKind::FeedbackReported).await,
            [ora.id]
        );
    }

    #[tokio::test]
    async fn the_holder_chooses_feedback_until_it_opens() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let lea = kit::seated(conn, &circle, "Lea").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().under_way().create(conn, &circle).await;
        let slot = kit::slot(
            conn,
            &session,
            FACILITATOR,
            Some(lea.id),
            RoleState::Confirmed,
        )
        .await;

        let theirs = set_mode(conn, slot.id, ada.id, FeedbackMode::Off).await;
        assert_eq!(theirs.unwrap(), ModeChange::NotYours);
        let named = set_mode(conn, slot.id, lea.id, FeedbackMode::Named).await;
        assert_eq!(named.unwrap(), ModeChange::Saved);
        assert_eq!(
            roles::feedback_of(conn, slot.id).await.unwrap(),
            Some(FeedbackMode::Named)
        );

        let closes = Utc::now() + chrono::Duration::days(7);
        feedback::open_for_session(conn, session.id, 3, closes)
            .await
            .unwrap();
        let late = set_mode(conn, slot.id, lea.id, FeedbackMode::Off).await;
        assert_eq!(late.unwrap(), ModeChange::Fixed);
        assert_eq!(
            roles::feedback_of(conn, slot.id).await.unwrap(),
            Some(FeedbackMode::Named)
        );
        let request = feedback::for_session(conn, session.id)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(request.mode, FeedbackMode::Named);
    }

    #[tokio::test]
    async fn feedback_is_asked_only_about_the_circles_feedback_roles_and_holders_who_came() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, "timekeeper", "Timekeeper").await;
        let ora = kit::organiser(conn, "Ora").await;
        let lea = kit::seated(conn, &circle, "Lea").await;
        let tim = kit::seated(conn, &circle, "Tim").await;
        let session = kit::session().under_way().create(conn, &circle).await;
        for (key, who) in [(FACILITATOR, lea.id), ("timekeeper", tim.id)] {
            kit::slot(conn, &session, key, Some(who), RoleState::Confirmed).await;
        }
        let closes = Utc::now() + chrono::Duration::days(7);
        // By default, only the facilitator is asked about.
        feedback::open_for_session(conn, session.id, 3, closes)
            .await
            .unwrap();
        let about: Vec<MemberId> = feedback::for_session(conn, session.id)
            .await
            .unwrap()
            .iter()
            .map(|r| r.subject_id)
            .collect();
        assert_eq!(about, [lea.id]);

        // Marked as not there: the request about them is withdrawn.
        crate::actions::attendance::mark(conn, &session, ora.id, &[(lea.id, false)], Utc::now())
            .await
            .unwrap();
        assert!(feedback::for_session(conn, session.id)
            .await
            .unwrap()
            .is_empty());

        // A circle that adds the timekeeper asks about them too, but never about a holder
        // already marked as not there.
        let both = kit::circle()
            .named("Both")
            .with(|c| c.feedback_roles = vec![FACILITATOR.into(), "timekeeper".into()])
            .create(conn)
            .await;
        kit::role(conn, &both, "timekeeper", "Timekeeper").await;
        let (lea2, tim2) = (
            kit::seated(conn, &both, "Lea2").await,
            kit::seated(conn, &both, "Tim2").await,
        );
        let later = kit::session().under_way().create(conn, &both).await;
        for (key, who) in [(FACILITATOR, lea2.id), ("timekeeper", tim2.id)] {
            kit::slot(conn, &later, key, Some(who), RoleState::Confirmed).await;
        }
        rsvps::set_attended(conn, later.id, lea2.id, false)
            .await
            .unwrap();
        feedback::open_for_session(conn, later.id, 3, closes)
            .await
            .unwrap();
        let about: Vec<MemberId> = feedback::for_session(conn, later.id)
            .await
            .unwrap()
            .iter()
            .map(|r| r.subject_id)
            .collect();
        assert_eq!(about, [tim2.id]);
    }
}
