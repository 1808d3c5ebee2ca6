//! Who came to a session, marked from the API or the dashboard under one rule. Attendance
//! decides who may answer feedback on the session, so whoever that feedback is about cannot
//! change it once their feedback has opened; anyone else who runs the circle can, and a change
//! that alters who may answer a request still open leaves that request's lead shown nothing.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::rsvps::{self, Rsvp};
use crate::db::sessions::Session;
use crate::db::{feedback, Connection};
use crate::domain::{MemberId, SessionStatus};
use crate::error::{AppError, AppResult};

/// Mark each of `marks` (member, attended) for `session`, as `actor`, in one transaction.
pub async fn mark(
    conn: &mut Connection,
    session: &Session,
    actor: MemberId,
    marks: &[(MemberId, bool)],
    now: DateTime<Utc>,
) -> AppResult<Vec<Rsvp>> {
    if session.status == SessionStatus::Cancelled {
        return Err(AppError::Conflict("the session is cancelled".into()));
    }
    conn.transaction::<_, AppError, _>(async |conn| {
        if feedback::is_subject(conn, session.id, actor).await? {
            return Err(AppError::Forbidden(
                "Feedback about you on this session has opened, and who came decides who may answer it, so you can no longer change its attendance. Another facilitator or an organiser can."
                    .into(),
            ));
        }
        let ids: Vec<MemberId> = marks.iter().map(|(m, _)| *m).collect();
        let markable = rsvps::markable_among(conn, session.id, &ids).await?;
        if let Some(stranger) = ids.iter().find(|m| !markable.contains(m)) {
            return Err(AppError::invalid(
                "attendance",
                format!("{stranger} is not an active member of this circle"),
            ));
        }
        let mut stored = Vec::with_capacity(marks.len());
        for (member, attended) in marks {
            stored.push(rsvps::set_attended(conn, session.id, *member, *attended).await?);
        }
        feedback::note_eligibility_change(conn, session.id, now).await?;
        Ok(stored)
    })
    .await
}
