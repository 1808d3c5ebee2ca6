//! Answering an ask from the role page: accepting confirms the role, declining moves it to
//! the next person (`ask` sends the asks).

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::circles;
use crate::db::roles::{self, EventKind, SessionRole, FACILITATOR, QUESTIONS_ROLE};
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
/// after the session (anonymous, named, or none). A discussion lead accepting an ask that
/// asked for their questions counts as asked for them.
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
        if row.state == RoleState::Asked && row.role_key == QUESTIONS_ROLE {
            // Their ask asked for their questions too (when it was sent by this version):
            // accepting it is being asked, so the clock sends no second email.
            roles::mark_questions_asked_by_ask(conn, row.id, member).await?;
        }
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
    async fn a_discussion_lead_who_accepts_their_ask_gets_no_second_email_for_questions() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, QUESTIONS_ROLE, "Discussion lead").await;
        let dee = kit::seated(conn, &circle, "Dee").await;
        let session = kit::session().in_days(3).create(conn, &circle).await;
        let proposed = RoleState::Proposed;
        let slot = kit::slot(conn, &session, QUESTIONS_ROLE, Some(dee.id), proposed).await;
        let now = Utc::now();

        super::super::ask::ask(conn, &slot, now).await.unwrap();
        let accepted = accept(conn, slot.id, dee.id, FeedbackMode::Anonymous, now).await;
        assert!(matches!(accepted.unwrap(), Reply::Done(_)));

        assert_eq!(
            crate::actions::questions::ask_due(conn, now).await.unwrap(),
            0
        );
        let emails: Vec<_> = kit::emails(conn)
            .await
            .into_iter()
            .map(|e| (e.message, e.member_id))
            .collect();
        assert_eq!(
            emails,
            [(MessageKind::RoleAsk, dee.id)],
            "one email, not two"
        );
    }

    #[tokio::test]
    async fn a_discussion_lead_by_a_swap_or_an_earlier_ask_is_still_asked_for_questions() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, QUESTIONS_ROLE, "Discussion lead").await;
        let dee = kit::seated(conn, &circle, "Dee").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let cy = kit::seated(conn, &circle, "Cy").await;
        let first = kit::session().in_days(3).create(conn, &circle).await;
        let second = kit::session().in_days(4).create(conn, &circle).await;
        let proposed = RoleState::Proposed;
        let swapped = kit::slot(conn, &first, QUESTIONS_ROLE, Some(dee.id), proposed).await;
        // Asked before an ask carried the request: nothing records that it did.
        let older = kit::slot(conn, &second, QUESTIONS_ROLE, Some(cy.id), RoleState::Asked).await;
        let now = Utc::now();

        // Dee is asked (with the request) and accepts, then gives the role to Bo by a swap.
        super::super::ask::ask(conn, &swapped, now).await.unwrap();
        accept(conn, swapped.id, dee.id, FeedbackMode::Anonymous, now)
            .await
            .unwrap();
        let asked = crate::actions::swaps::ask(conn, swapped.id, dee.id, now).await;
        let crate::actions::swaps::Asked::Offered(swap, _) = asked.unwrap() else {
            panic!("the swap opens");
        };
        let taken = crate::actions::swaps::take(conn, swap.id, bo.id, now).await;
        assert!(matches!(
            taken.unwrap(),
            crate::actions::swaps::Take::Taken(_)
        ));
        accept(conn, older.id, cy.id, FeedbackMode::Anonymous, now)
            .await
            .unwrap();

        assert_eq!(
            crate::actions::questions::ask_due(conn, now).await.unwrap(),
            2
        );
        let mut asked = kit::emailed(conn, MessageKind::QuestionsAsk).await;
        asked.sort();
        let mut expected = vec![bo.id, cy.id];
        expected.sort();
        assert_eq!(
            asked, expected,
            "Dee's accepted ask was not Bo's; Cy's asked nothing"
        );
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
