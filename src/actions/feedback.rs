//! Feedback for whoever held a role. The holder chooses when accepting whether they want it
//! (anonymous by default, named, or none); the forms go out with the reflection prompt to
//! those who came; each attendee answers once; the person who led reads the answers only
//! after the feedback closes and only when at least the circle's `k` people answered. They
//! can report an abusive answer to the organisers.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::feedback::{self, FeedbackRequest};
use crate::db::roles;
use crate::db::{memberships, Connection};
use crate::domain::feedback::Answer;
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
    /// Attendance says they were not there.
    NotAttended,
    /// Nobody has marked who came yet.
    NotRecorded,
    /// The feedback has closed.
    Closed,
    /// The person who led does not answer about themselves.
    OwnSession,
    NotMember,
}

/// Whether `member` may answer `request` now, and why not.
pub async fn may_answer(
    conn: &mut Connection,
    request: &FeedbackRequest,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Option<Given>> {
    if request.subject_id == member {
        return Ok(Some(Given::OwnSession));
    }
    match crate::actions::membership::require_active(conn, request.circle_id, member).await {
        Ok(_) => {}
        Err(AppError::Gone(_) | AppError::NotFound(_)) => return Ok(Some(Given::NotMember)),
        Err(e) => return Err(e),
    }
    if request.is_closed(now) {
        return Ok(Some(Given::Closed));
    }
    match feedback::attendance(conn, request.session_id, member).await? {
        Some(true) => {}
        Some(false) => return Ok(Some(Given::NotAttended)),
        None => return Ok(Some(Given::NotRecorded)),
    }
    if feedback::has_answered(conn, request.id, member).await? {
        return Ok(Some(Given::Twice));
    }
    Ok(None)
}

/// Store `member`'s answer to `request`.
pub async fn answer(
    conn: &mut Connection,
    request: FeedbackRequestId,
    member: MemberId,
    answer: Answer,
    now: DateTime<Utc>,
) -> AppResult<Given> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let request = feedback::lock(conn, request)
            .await?
            .ok_or(AppError::NotFound("feedback request"))?;
        if let Some(refused) = may_answer(conn, &request, member, now).await? {
            return Ok(refused);
        }
        Ok(
            if feedback::record(conn, &request, member, &answer).await? {
                Given::Saved
            } else {
                Given::Twice
            },
        )
    })
    .await
}

/// Whether the person who led may read the answers now: closed, with enough answers.
pub async fn shown(
    conn: &mut Connection,
    request: &FeedbackRequest,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    Ok(request.is_closed(now)
        && feedback::answered(conn, request.id).await? >= i64::from(request.min_answers))
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
        let mut told = crate::db::members::organizers(conn).await?;
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

/// Tell each person whose feedback closed (the sweep's part). Returns how many were told.
pub async fn send_due(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<usize> {
    let mut sent = 0;
    for request in feedback::due_results(conn, now).await? {
        let told = conn
            .transaction::<_, AppError, _>(async |conn| {
                if !feedback::mark_results_sent(conn, request.id, now).await? {
                    return Ok(false);
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
                Ok(true)
            })
            .await?;
        sent += usize::from(told);
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
