//! Answering an ask from the role page: accepting confirms the role, declining moves it to
//! the next person (`ask` sends the asks).

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::circles;
use crate::db::roles::{self, EventKind, SessionRole, FACILITATOR};
use crate::db::sessions::{self, Session};
use crate::db::Connection;
use crate::domain::{MemberId, RoleId, RoleState, SessionStatus};
use crate::error::{AppError, AppResult};

use super::plan::plan_in;

/// What an answer from the role page came to.
#[derive(Debug)]
pub enum Reply {
    Done(SessionRole),
    /// The slot is no longer this person's to answer (reassigned, or the role was removed).
    NotYours,
    /// The session has started, or was cancelled.
    Closed,
}

/// Lock the slot and check that `member` may answer for it.
async fn answerable(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Result<(SessionRole, Session), Reply>> {
    let Some(row) = roles::lock(conn, id).await? else {
        return Ok(Err(Reply::NotYours));
    };
    if row.member_id != Some(member) {
        return Ok(Err(Reply::NotYours));
    }
    crate::actions::active_member::require(conn, row.circle_id, member).await?;
    let session = sessions::find(conn, row.session_id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    if session.status != SessionStatus::Scheduled || session.starts_at <= now {
        return Ok(Err(Reply::Closed));
    }
    Ok(Ok((row, session)))
}

/// Accept a proposed or asked role: it is confirmed, with the feedback its holder asked for
/// after the session (anonymous, named, or none).
pub async fn accept(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    feedback: crate::domain::FeedbackMode,
    now: DateTime<Utc>,
) -> AppResult<Reply> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let (row, _) = match answerable(conn, id, member, now).await? {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        if row.state == RoleState::Confirmed {
            return Ok(Reply::Done(row));
        }
        if !matches!(row.state, RoleState::Proposed | RoleState::Asked) {
            return Ok(Reply::NotYours);
        }
        roles::set_feedback(conn, row.id, feedback).await?;
        let row = roles::set_state(conn, row.id, RoleState::Confirmed, now).await?;
        roles::log(
            conn,
            &row,
            Some(member),
            EventKind::Confirmed,
            Some(member),
            now,
        )
        .await?;
        if row.role_key == FACILITATOR {
            sessions::set_facilitator(conn, row.session_id, Some(member)).await?;
        }
        Ok(Reply::Done(row))
    })
    .await
}

/// Decline a role (or give up an accepted one): the next eligible person is proposed and,
/// inside the asking window, asked at once.
pub async fn decline(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Reply> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let (row, session) = match answerable(conn, id, member, now).await? {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        if row.state == RoleState::Declined {
            return Ok(Reply::Done(row));
        }
        let was_confirmed = row.state == RoleState::Confirmed;
        let row = roles::set_state(conn, row.id, RoleState::Declined, now).await?;
        let kind = if was_confirmed {
            EventKind::Released
        } else {
            EventKind::Declined
        };
        roles::log(conn, &row, Some(member), kind, Some(member), now).await?;
        if was_confirmed && row.role_key == FACILITATOR {
            sessions::set_facilitator(conn, row.session_id, None).await?;
        }
        let circle = circles::find(conn, session.circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        plan_in(conn, &circle, now).await?;
        let row = roles::find(conn, row.id).await?.unwrap_or(row);
        Ok(Reply::Done(row))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FeedbackMode;
    use crate::email::MessageKind;
    use crate::testkit as kit;

    #[tokio::test]
    async fn accepting_an_ask_confirms_the_role_with_the_feedback_chosen() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let session = kit::session().in_days(3).create(conn, &circle).await;
        let slot = kit::slot(conn, &session, FACILITATOR, Some(ada.id), RoleState::Asked).await;
        let now = Utc::now();

        let by_bo = accept(conn, slot.id, bo.id, FeedbackMode::Named, now)
            .await
            .unwrap();
        assert!(matches!(by_bo, Reply::NotYours));
        let Reply::Done(row) = accept(conn, slot.id, ada.id, FeedbackMode::Named, now)
            .await
            .unwrap()
        else {
            panic!("Ada accepts");
        };

        assert_eq!(
            (row.member_id, row.state),
            (Some(ada.id), RoleState::Confirmed)
        );
        assert_eq!(
            roles::feedback_of(conn, slot.id).await.unwrap(),
            Some(FeedbackMode::Named)
        );
        let session = sessions::find(conn, session.id).await.unwrap().unwrap();
        assert_eq!(session.facilitator_id, Some(ada.id));
        let started = accept(conn, slot.id, ada.id, FeedbackMode::Off, session.starts_at).await;
        assert!(matches!(started.unwrap(), Reply::Closed));
        assert!(kit::emailed(conn, MessageKind::RoleAsk).await.is_empty());
    }

    #[tokio::test]
    async fn declining_asks_the_next_person_at_once() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let session = kit::session().in_days(3).create(conn, &circle).await;
        let slot = kit::slot(conn, &session, FACILITATOR, Some(ada.id), RoleState::Asked).await;

        let Reply::Done(row) = decline(conn, slot.id, ada.id, Utc::now()).await.unwrap() else {
            panic!("Ada declines");
        };

        assert_eq!(row.id, slot.id);
        assert_eq!((row.member_id, row.state), (Some(bo.id), RoleState::Asked));
        assert_eq!(kit::emailed(conn, MessageKind::RoleAsk).await, [bo.id]);
        let declined = roles::declines(conn, &[session.id]).await.unwrap();
        assert_eq!(declined, [(session.id, FACILITATOR.to_string(), ada.id)]);
    }
}
