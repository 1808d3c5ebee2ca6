//! The discussion lead's questions: whoever holds a session's discussion-lead role brings two
//! or three questions about the reading. The rota's ask says so, and accepting it counts as
//! being asked (`rota::accept`); five days before a session, a holder who did not accept such
//! an ask (a swap, an organiser's assignment, an ask from before) is asked by email. They
//! answer on their role page, and the questions go into the session's reminder and the
//! facilitator's digest. A new holder (after a swap or a reassignment) is asked afresh, and
//! never sees or inherits the previous holder's questions.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;

use super::rota::Reply;
use crate::db::roles::{self, QUESTIONS_ROLE};
use crate::db::{sessions, Connection};
use crate::domain::roles::QUESTIONS_AHEAD_DAYS;
use crate::domain::{MemberId, RoleId, RoleState, SessionStatus};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

/// Ask every discussion lead whose session is five days away or nearer and who has not been
/// asked yet (by this email, or by the ask they accepted); how many were asked.
pub async fn ask_due(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<usize> {
    let until = now + Duration::days(QUESTIONS_AHEAD_DAYS);
    let due = roles::questions_due(conn, now, until).await?;
    for row in &due {
        let Some(member) = row.member_id else {
            continue;
        };
        conn.transaction::<_, AppError, _>(async |conn| {
            roles::mark_questions_asked(conn, row.id, member).await?;
            email_job::enqueue(
                conn,
                EmailJob::about_role(MessageKind::QuestionsAsk, member, row, None),
            )
            .await?;
            Ok(())
        })
        .await?;
    }
    Ok(due.len())
}

/// The holder of discussion-lead slot `id` saves their questions (already checked: two or
/// three, one line each), until the session starts.
pub async fn save(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    questions: &[String],
    now: DateTime<Utc>,
) -> AppResult<Reply> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(row) = roles::lock(conn, id).await? else {
            return Ok(Reply::NotYours);
        };
        if row.member_id != Some(member)
            || row.role_key != QUESTIONS_ROLE
            || row.state != RoleState::Confirmed
        {
            return Ok(Reply::NotYours);
        }
        super::active_member::require(conn, row.circle_id, member).await?;
        let session = sessions::find(conn, row.session_id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if session.status != SessionStatus::Scheduled || session.starts_at <= now {
            return Ok(Reply::Closed);
        }
        roles::set_questions(conn, row.id, member, questions).await?;
        Ok(Reply::Done(row))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit as kit;

    fn asked() -> Vec<String> {
        vec!["What surprised you?".into(), "What would you keep?".into()]
    }

    #[tokio::test]
    async fn a_discussion_lead_is_asked_once_when_their_session_comes_within_five_days() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, QUESTIONS_ROLE, "Discussion lead").await;
        let dee = kit::seated(conn, &circle, "Dee").await;
        let soon = kit::session().in_days(3).create(conn, &circle).await;
        let later = kit::session().in_days(10).create(conn, &circle).await;
        let confirmed = RoleState::Confirmed;
        let slot = kit::slot(conn, &soon, QUESTIONS_ROLE, Some(dee.id), confirmed).await;
        kit::slot(conn, &later, QUESTIONS_ROLE, Some(dee.id), confirmed).await;

        assert_eq!(ask_due(conn, Utc::now()).await.unwrap(), 1);
        assert_eq!(ask_due(conn, Utc::now()).await.unwrap(), 0);

        let emails = kit::emails(conn).await;
        assert_eq!(emails.len(), 1, "{emails:?}");
        assert_eq!(emails[0].message, MessageKind::QuestionsAsk);
        assert_eq!(emails[0].member_id, dee.id);
        assert_eq!(emails[0].role_id, Some(slot.id));
    }

    #[tokio::test]
    async fn only_the_holder_saves_questions_and_only_until_the_session_starts() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, QUESTIONS_ROLE, "Discussion lead").await;
        let dee = kit::seated(conn, &circle, "Dee").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let session = kit::session().in_days(3).create(conn, &circle).await;
        let slot = kit::slot(
            conn,
            &session,
            QUESTIONS_ROLE,
            Some(dee.id),
            RoleState::Confirmed,
        )
        .await;
        let now = Utc::now();

        let by_other = save(conn, slot.id, bo.id, &asked(), now).await.unwrap();
        assert!(matches!(by_other, Reply::NotYours));
        let late = save(conn, slot.id, dee.id, &asked(), session.starts_at)
            .await
            .unwrap();
        assert!(matches!(late, Reply::Closed));
        assert!(roles::own_questions(conn, slot.id, dee.id)
            .await
            .unwrap()
            .is_empty());

        let saved = save(conn, slot.id, dee.id, &asked(), now).await.unwrap();
        assert!(matches!(saved, Reply::Done(_)));
        assert_eq!(
            roles::own_questions(conn, slot.id, dee.id).await.unwrap(),
            asked()
        );
    }
}
