//! Answering "will you come?", the same rule from every front end (the member's link, the
//! API a facilitator uses on their behalf): the session must not be cancelled, must not have
//! started, and the person must be an active member of its circle. Answers close when the
//! session starts because from then on the facilitator records who came instead
//! (`docs/architecture.md`).

use chrono::{DateTime, Utc};

use crate::db::memberships;
use crate::db::rsvps::{self, Rsvp};
use crate::db::sessions::{self, Session};
use crate::db::Connection;
use crate::domain::{
    CircleId, Facilitation, MemberId, MembershipState, RsvpResponse, SessionId, SessionStatus,
};
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

/// What the rule needs to know of a session (from its row, or from a link page's view).
#[derive(Debug, Clone, Copy)]
pub struct Answerable {
    pub id: SessionId,
    pub circle_id: CircleId,
    pub status: SessionStatus,
    pub starts_at: DateTime<Utc>,
}

impl From<&Session> for Answerable {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id,
            circle_id: s.circle_id,
            status: s.status,
            starts_at: s.starts_at,
        }
    }
}

/// Record `member`'s answer for `session` as of `now`, if the rule allows it. The rule is
/// checked again by the statement that saves (`rsvps::set_response_if_open`), so an answer is
/// never saved for someone who left or a session cancelled a moment before.
pub async fn answer(
    conn: &mut Connection,
    session: impl Into<Answerable>,
    member: MemberId,
    response: RsvpResponse,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    let session = session.into();
    if session.status == SessionStatus::Cancelled {
        return Ok(Answer::Cancelled);
    }
    if session.starts_at <= now {
        return Ok(Answer::Started);
    }
    let saved =
        rsvps::set_response_if_open(conn, session.id, session.circle_id, member, response, now)
            .await?;
    let Some(saved) = saved else {
        // Something changed since the caller read the session: say what.
        if !matches!(
            memberships::state_and_facilitation(conn, session.circle_id, member).await?,
            Some((MembershipState::Active, _))
        ) {
            return Ok(Answer::NotMember);
        }
        return Ok(match sessions::find(conn, session.id).await? {
            Some(s) if s.status == SessionStatus::Cancelled => Answer::Cancelled,
            _ => Answer::Started,
        });
    };
    if response == RsvpResponse::No && saved.facilitation == Facilitation::Rotating {
        // Someone who will not come cannot hold a role in the session: re-plan (coalesced,
        // in the worker).
        crate::jobs::rota_plan::enqueue(conn, session.circle_id).await?;
    }
    Ok(Answer::Saved(saved.rsvp))
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
    async fn the_statement_that_saves_checks_again_what_the_caller_read_before() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let read = kit::session().create(conn, &circle).await;
        // The session is cancelled after the link page read it.
        sessions::cancel(conn, read.id).await.unwrap();
        let cancelled = answer(conn, &read, ada.id, RsvpResponse::Yes, Utc::now()).await;
        assert!(matches!(cancelled.unwrap(), Answer::Cancelled));
        // Ada leaves after the page read her membership.
        let other = kit::session().create(conn, &circle).await;
        let (role, left) = (crate::domain::MembershipRole::Member, MembershipState::Left);
        kit::join(conn, &circle, ada.id, role, left).await;
        let gone = answer(conn, &other, ada.id, RsvpResponse::Yes, Utc::now()).await;
        assert!(matches!(gone.unwrap(), Answer::NotMember));
        for s in [read.id, other.id] {
            assert!(rsvps::find(conn, s, ada.id).await.unwrap().is_none());
        }
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
