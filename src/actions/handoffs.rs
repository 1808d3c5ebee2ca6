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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::members::Member;
    use crate::domain::{MembershipRole, MembershipState};
    use crate::testkit as kit;

    fn text() -> HandoffText {
        HandoffText {
            stopped_at: "Chapter 4".into(),
            ..Default::default()
        }
    }

    /// Lea led yesterday; Ned leads the next session, where Tim is asked to keep time.
    async fn next_holders(conn: &mut Connection) -> (Session, Member, Member, Member) {
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, "timekeeper", "Timekeeper").await;
        let lea = kit::seated(conn, &circle, "Lea").await;
        let ned = kit::seated(conn, &circle, "Ned").await;
        let tim = kit::seated(conn, &circle, "Tim").await;
        let led = kit::session().started().create(conn, &circle).await;
        kit::slot(conn, &led, FACILITATOR, Some(lea.id), RoleState::Confirmed).await;
        let next = kit::session().create(conn, &circle).await;
        kit::slot(conn, &next, FACILITATOR, Some(ned.id), RoleState::Confirmed).await;
        kit::slot(conn, &next, "timekeeper", Some(tim.id), RoleState::Asked).await;
        (led, lea, ned, tim)
    }

    #[tokio::test]
    async fn a_note_for_the_next_lead_reaches_only_them() {
        let conn = &mut kit::fresh_connection().await;
        let (led, lea, ned, _) = next_holders(conn).await;

        let vis = HandoffVisibility::NextLead;
        let note = save(conn, &led, lea.id, text(), vis, Utc::now())
            .await
            .unwrap();

        assert_eq!(note.stopped_at, "Chapter 4");
        assert_eq!(kit::emailed(conn, MessageKind::RoleNotice).await, [ned.id]);
    }

    #[tokio::test]
    async fn a_note_shared_with_role_holders_reaches_every_holder_of_the_next_session() {
        let conn = &mut kit::fresh_connection().await;
        let (led, lea, ned, tim) = next_holders(conn).await;

        let vis = HandoffVisibility::RoleHolders;
        save(conn, &led, lea.id, text(), vis, Utc::now())
            .await
            .unwrap();

        let mut told = kit::emailed(conn, MessageKind::RoleNotice).await;
        told.sort();
        let mut expected = vec![ned.id, tim.id];
        expected.sort();
        assert_eq!(told, expected);
    }

    #[tokio::test]
    async fn someone_who_left_leaves_no_note() {
        let conn = &mut kit::fresh_connection().await;
        let (led, lea, _, _) = next_holders(conn).await;
        let circle = crate::db::circles::find(conn, led.circle_id)
            .await
            .unwrap()
            .unwrap();
        let left = MembershipState::Left;
        kit::join(conn, &circle, lea.id, MembershipRole::Member, left).await;

        let vis = HandoffVisibility::Circle;
        let saved = save(conn, &led, lea.id, text(), vis, Utc::now()).await;

        assert!(matches!(saved, Err(AppError::Gone(_))));
        assert!(handoffs::for_session(conn, led.id).await.unwrap().is_none());
        assert!(kit::queued(conn).await.is_empty());
    }
}
