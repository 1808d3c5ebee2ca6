//! Sessions, the same way from the API and the dashboard: creating them from a schedule rule
//! (and queueing their invitations), changing one (lock it, refuse a cancelled one, check that
//! its reading and facilitator belong to its circle, write the change bumping the calendar
//! sequence, queue the update), and cancelling one; each in one transaction.

use diesel_async::AsyncConnection;

use crate::db::circles::Circle;
use crate::db::sessions::{self, Session, SessionChanges};
use crate::db::{circles, memberships, readings, Connection};
use crate::domain::schedule::{resolve_local, ScheduleRule};
use crate::domain::{CircleStatus, Invalid, SessionEdit, SessionId, SessionStatus};
use crate::error::{AppError, AppResult};
use crate::jobs::session_events;

/// Create the sessions a rule describes in the circle's zone, at `location` or the circle's,
/// and queue what they cause (invitations now or at their lead time, reminders, prompts).
pub async fn create_sessions(
    conn: &mut Connection,
    circle: &Circle,
    rule: &ScheduleRule,
    location: Option<String>,
) -> AppResult<Vec<Session>> {
    if circle.status == CircleStatus::Archived {
        return Err(AppError::Conflict("this circle is archived".into()));
    }
    let timezone = circle.timezone;
    let location = location.or_else(|| circle.location.clone());
    conn.transaction::<_, AppError, _>(async |conn| {
        let created =
            sessions::create_from_schedule(conn, circle.id, timezone, rule, location.as_deref())
                .await?;
        session_events::sessions_created(conn, circle, &created).await?;
        super::rota::plan_in(conn, circle, chrono::Utc::now()).await?;
        super::reading_plan::sessions_added(conn, circle.id, &created, chrono::Utc::now()).await?;
        Ok(created)
    })
    .await
}

/// The session as it will be after `edit`: unnamed fields keep their value, and the start
/// is found again from the (new) local date and time in the session's zone.
fn apply(current: &Session, edit: SessionEdit) -> AppResult<SessionChanges> {
    let tz = current.timezone;
    let date = edit.local_date.unwrap_or(current.local_date);
    let time = edit.local_time.unwrap_or(current.local_time);
    let duration_minutes = edit.duration_minutes.unwrap_or(current.duration_minutes);
    let (starts_at, _) = resolve_local(tz.tz(), date, time);
    Ok(SessionChanges {
        starts_at,
        ends_at: starts_at + chrono::Duration::minutes(i64::from(duration_minutes)),
        local_date: date,
        local_time: time,
        duration_minutes,
        location: edit.location.unwrap_or_else(|| current.location.clone()),
        reading_id: edit.reading_id.unwrap_or(current.reading_id),
        facilitator_id: edit.facilitator_id.unwrap_or(current.facilitator_id),
        prompts: edit.prompts.unwrap_or_else(|| current.prompts.clone()),
    })
}

/// Change one session as `edit` says, from its current, locked state.
pub async fn edit_session(
    conn: &mut Connection,
    id: SessionId,
    edit: SessionEdit,
) -> AppResult<Session> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = sessions::lock(conn, id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if current.status == SessionStatus::Cancelled {
            return Err(AppError::Conflict(
                "a cancelled session cannot be changed".into(),
            ));
        }
        let changes = apply(&current, edit)?;
        if let Some(reading) = changes.reading_id {
            if readings::find_in_circle(conn, current.circle_id, reading)
                .await?
                .is_none()
            {
                return Err(Invalid::new("reading_id", "is not a reading of this circle").into());
            }
        }
        if let Some(member) = changes
            .facilitator_id
            .filter(|m| Some(*m) != current.facilitator_id)
        {
            if memberships::active_among(conn, current.circle_id, &[member])
                .await?
                .is_empty()
            {
                return Err(Invalid::new(
                    "facilitator_id",
                    "is not an active member of this circle",
                )
                .into());
            }
        }
        let updated = sessions::update(conn, id, &changes).await?;
        let circle = circles::find(conn, updated.circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        session_events::session_changed(conn, &circle, &updated).await?;
        let now = chrono::Utc::now();
        if updated.starts_at != current.starts_at {
            // A swap was asked for the old time: it no longer fits.
            super::swaps::void_for_session(conn, id, now).await?;
        }
        if updated.facilitator_id != current.facilitator_id {
            super::rota::facilitator_set(conn, &updated, None, now).await?;
        }
        super::rota::plan_in(conn, &circle, now).await?;
        if updated.reading_id != current.reading_id || updated.starts_at != current.starts_at {
            super::reading_plan::circle_changed(conn, circle.id, now).await?;
        }
        Ok(updated)
    })
    .await
}

/// Cancel a session and tell its members; cancelling again changes nothing.
pub async fn cancel_session(conn: &mut Connection, id: SessionId) -> AppResult<Session> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = sessions::lock(conn, id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if current.status == SessionStatus::Cancelled {
            return Ok(current);
        }
        let cancelled = sessions::cancel(conn, id).await?;
        session_events::session_cancelled(conn, &cancelled).await?;
        let now = chrono::Utc::now();
        super::swaps::void_for_session(conn, id, now).await?;
        if let Some(circle) = circles::find(conn, cancelled.circle_id).await? {
            super::rota::plan_in(conn, &circle, now).await?;
            super::reading_plan::circle_changed(conn, circle.id, now).await?;
        }
        Ok(cancelled)
    })
    .await
}

/// How many people a cancellation or change of `session` would email now: the active members
/// whose invitation to it was delivered. The dashboard says so before it cancels.
pub async fn reach(conn: &mut Connection, session: &Session) -> diesel::QueryResult<usize> {
    crate::jobs::fanout::invited_count(conn, session).await
}
