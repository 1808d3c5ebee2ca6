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
