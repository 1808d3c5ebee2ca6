//! Asking: a proposed holder is asked by email once their session is inside the circle's
//! asking window (when the rota is planned, and by the clock). A discussion lead's ask also
//! asks for their questions (`actions::questions`).

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
    if due.is_empty() {
        return Ok(asked);
    }
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
    if row.role_key == roles::QUESTIONS_ROLE {
        // The ask also asks for their questions; accepting it counts as having been asked.
        roles::mark_questions_in_ask(conn, row.id, member).await?;
    }
    email_job::enqueue(
        conn,
        EmailJob::about_role(MessageKind::RoleAsk, member, &row, None),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::roles::FACILITATOR;
    use crate::testkit as kit;

    #[tokio::test]
    async fn only_holders_whose_session_is_inside_the_asking_window_are_asked() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let soon = kit::session().in_days(3).create(conn, &circle).await;
        let later = kit::session().in_days(20).create(conn, &circle).await;
        let proposed = RoleState::Proposed;
        let near = kit::slot(conn, &soon, FACILITATOR, Some(ada.id), proposed).await;
        let far = kit::slot(conn, &later, FACILITATOR, Some(ada.id), proposed).await;
        let now = crate::testkit::now();

        let asked = ask_due(conn, &circle, &[soon, later], now).await.unwrap();

        assert_eq!(asked, 1);
        let near = roles::find(conn, near.id).await.unwrap().unwrap();
        let far = roles::find(conn, far.id).await.unwrap().unwrap();
        assert_eq!((near.state, near.asked_at), (RoleState::Asked, Some(now)));
        assert_eq!(far.state, RoleState::Proposed);
        let emails = kit::emails(conn).await;
        assert_eq!(emails.len(), 1);
        assert_eq!(
            (emails[0].message, emails[0].member_id),
            (MessageKind::RoleAsk, ada.id)
        );
        assert_eq!(emails[0].role_id, Some(near.id));
    }
}
