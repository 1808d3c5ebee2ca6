//! Asking: a proposed holder is asked by email once their session is inside the circle's
//! asking window (when the rota is planned, and by the clock).

use chrono::{DateTime, Duration, Utc};

use crate::db::circles::Circle;
use crate::db::roles::{self, EventKind, SessionRole};
use crate::db::sessions::Session;
use crate::db::Connection;
use crate::domain::{RoleState, SessionId};
use crate::email::MessageKind;
use crate::error::AppResult;
use crate::jobs::email::{self as email_job, EmailJob};

/// Ask every proposed holder whose session is inside the asking window.
pub(super) async fn ask_due(
    conn: &mut Connection,
    circle: &Circle,
    sessions_: &[Session],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let window = Duration::days(i64::from(circle.role_ask_days));
    let due: Vec<SessionId> = sessions_
        .iter()
        .filter(|s| s.starts_at - window <= now)
        .map(|s| s.id)
        .collect();
    let mut asked = 0;
    for row in roles::for_sessions(conn, &due).await? {
        if row.state == RoleState::Proposed && row.member_id.is_some() {
            ask(conn, &row, now).await?;
            asked += 1;
        }
    }
    Ok(asked)
}

/// Email the proposed holder "Would you …?" and mark the slot asked.
pub(super) async fn ask(
    conn: &mut Connection,
    row: &SessionRole,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(member) = row.member_id else {
        return Ok(());
    };
    let row = roles::set_state(conn, row.id, RoleState::Asked, now).await?;
    roles::log(conn, &row, Some(member), EventKind::Asked, None, now).await?;
    email_job::enqueue(
        conn,
        EmailJob::about_role(MessageKind::RoleAsk, member, &row, None),
    )
    .await?;
    Ok(())
}
