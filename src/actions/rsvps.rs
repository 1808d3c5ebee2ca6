//! Answering "will you come?", the same rule from every front end (the member's link, the
//! API a facilitator uses on their behalf): the session must not be cancelled, must not have
//! started, and the person must be an active member of its circle. Answers close when the
//! session starts because from then on the facilitator records who came instead
//! (`docs/architecture.md`).

use chrono::{DateTime, Utc};

use crate::db::memberships;
use crate::db::rsvps::{self, Rsvp};
use crate::db::sessions::Session;
use crate::db::Connection;
use crate::domain::{Facilitation, MemberId, MembershipState, RsvpResponse, SessionStatus};
use crate::error::AppResult;

/// What became of an answer.
#[derive(Debug)]
pub enum Answer {
    Saved(Rsvp),
    /// The session was cancelled.
    Cancelled,
    /// The session has started (or ended): answers are closed.
    Started,
    /// The person is not an active member of the session's circle.
    NotMember,
}

/// Record `member`'s answer for `session` as of `now`, if the rule allows it.
pub async fn answer(
    conn: &mut Connection,
    session: &Session,
    member: MemberId,
    response: RsvpResponse,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    if session.status == SessionStatus::Cancelled {
        return Ok(Answer::Cancelled);
    }
    if session.starts_at <= now {
        return Ok(Answer::Started);
    }
    let Some((MembershipState::Active, facilitation)) =
        memberships::state_and_facilitation(conn, session.circle_id, member).await?
    else {
        return Ok(Answer::NotMember);
    };
    let saved = rsvps::set_response(conn, session.id, member, response).await?;
    if response == RsvpResponse::No && facilitation == Facilitation::Rotating {
        // Someone who will not come cannot hold a role in the session: re-plan (coalesced,
        // in the worker).
        crate::jobs::rota_plan::enqueue(conn, session.circle_id).await?;
    }
    Ok(Answer::Saved(saved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sessions;
    use crate::jobs::rota_plan;
    use crate::testkit as kit;

    #[tokio::test]
    async fn a_cancelled_session_takes_no_answer() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;
        let session = sessions::cancel(conn, session.id).await.unwrap();

        let answered = answer(conn, &session, ada.id, RsvpResponse::Yes, Utc::now()).await;

        assert!(matches!(answered.unwrap(), Answer::Cancelled));
        assert!(rsvps::find(conn, session.id, ada.id)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn answers_close_when_the_session_starts_and_are_for_members_only() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;
        let started = kit::session().started().create(conn, &circle).await;
        let coming = kit::session().create(conn, &circle).await;
        let now = Utc::now();

        let late = answer(conn, &started, ada.id, RsvpResponse::Yes, now).await;
        let waiting = answer(conn, &coming, bo.id, RsvpResponse::Yes, now).await;

        assert!(matches!(late.unwrap(), Answer::Started));
        assert!(matches!(waiting.unwrap(), Answer::NotMember));
        assert!(rsvps::find(conn, started.id, ada.id)
            .await
            .unwrap()
            .is_none());
        assert!(rsvps::find(conn, coming.id, bo.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_no_in_a_rotating_circle_queues_one_replan() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;
        let now = Utc::now();

        let yes = answer(conn, &session, ada.id, RsvpResponse::Yes, now).await;
        assert!(matches!(yes.unwrap(), Answer::Saved(_)));
        assert!(kit::queued_of(conn, rota_plan::KIND).await.is_empty());

        let no = answer(conn, &session, ada.id, RsvpResponse::No, now).await;
        let Answer::Saved(saved) = no.unwrap() else {
            panic!("the answer is saved");
        };
        assert_eq!(saved.response, Some(RsvpResponse::No));
        answer(conn, &session, ada.id, RsvpResponse::No, now)
            .await
            .unwrap();
        let replans = kit::queued_of(conn, rota_plan::KIND).await;
        assert_eq!(replans.len(), 1);
        assert_eq!(replans[0].payload["circle_id"], circle.id.to_string());
    }

    #[tokio::test]
    async fn a_no_in_a_fixed_circle_replans_nothing() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;

        let no = answer(conn, &session, ada.id, RsvpResponse::No, Utc::now()).await;

        assert!(matches!(no.unwrap(), Answer::Saved(_)));
        assert!(kit::queued(conn).await.is_empty());
    }
}
