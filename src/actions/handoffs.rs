//! Handoff notes: the facilitator of a session leaves a few lines for whoever leads next.
//! The note follows the role, not the person: it goes to whoever holds the next session's
//! facilitator role when it is written (and to its other role holders when the author shares
//! it with them), and into every later ask for that role.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use super::rota::Notice;
use crate::db::handoffs::{self, Handoff, HandoffText};
use crate::db::roles::{self, FACILITATOR};
use crate::db::sessions::{self, Session};
use crate::db::Connection;
use crate::domain::{HandoffVisibility, MemberId, RoleState};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

/// Save `author`'s note for `session` and tell the next session's holders it is there.
pub async fn save(
    conn: &mut Connection,
    session: &Session,
    author: MemberId,
    text: HandoffText,
    visibility: HandoffVisibility,
    now: DateTime<Utc>,
) -> AppResult<Handoff> {
    conn.transaction::<_, AppError, _>(async |conn| {
        super::active_member::require(conn, session.circle_id, author).await?;
        let note = handoffs::save(
            conn,
            session.circle_id,
            session.id,
            author,
            &text,
            visibility,
        )
        .await?;
        let Some(next) = sessions::upcoming(conn, session.circle_id, now, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(note);
        };
        for row in roles::for_sessions(conn, &[next.id]).await? {
            let Some(holder) = row.member_id else {
                continue;
            };
            let reaches = match visibility {
                HandoffVisibility::NextLead => row.role_key == FACILITATOR,
                HandoffVisibility::RoleHolders | HandoffVisibility::Circle => true,
            };
            if reaches
                && holder != author
                && matches!(row.state, RoleState::Asked | RoleState::Confirmed)
            {
                email_job::enqueue(
                    conn,
                    EmailJob::about_role(
                        MessageKind::RoleNotice,
                        holder,
                        &row,
                        Some(Notice::Handoff),
                    ),
                )
                .await?;
            }
        }
        Ok(note)
    })
    .await
}
