//! Changing one session, the same way from the API and the dashboard: lock it, refuse a
//! cancelled one, check that its reading and facilitator belong to its circle, write the
//! change (bumping the calendar sequence) and queue the mail it causes, in one transaction.

use diesel_async::AsyncConnection;

use crate::db::sessions::{self, Session, SessionChanges};
use crate::db::{circles, memberships, readings, Connection};
use crate::domain::{Invalid, SessionId, SessionStatus};
use crate::error::{AppError, AppResult};
use crate::jobs::session_events;

/// Apply the changes `edit` makes from the current, locked session.
pub async fn edit_session(
    conn: &mut Connection,
    id: SessionId,
    edit: impl FnOnce(&Session) -> AppResult<SessionChanges> + Send,
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
        let changes = edit(&current)?;
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
        Ok(cancelled)
    })
    .await
}
