//! The append-only log of changes of holder, and who turned a role down.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, NullableExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::role_events;
use crate::domain::{MemberId, SessionId};

use super::slots::SessionRole;

/// What happened to a slot, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Asked,
    Confirmed,
    Declined,
    TimedOut,
    Released,
    Assigned,
    SwappedOut,
    SwappedIn,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asked => "asked",
            Self::Confirmed => "confirmed",
            Self::Declined => "declined",
            Self::TimedOut => "timed_out",
            Self::Released => "released",
            Self::Assigned => "assigned",
            Self::SwappedOut => "swapped_out",
            Self::SwappedIn => "swapped_in",
        }
    }
}

pub async fn log(
    conn: &mut AsyncPgConnection,
    row: &SessionRole,
    member: Option<MemberId>,
    kind: EventKind,
    actor: Option<MemberId>,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::insert_into(role_events::table)
        .values((
            role_events::session_id.eq(row.session_id),
            role_events::circle_id.eq(row.circle_id),
            role_events::role_key.eq(&row.role_key),
            role_events::slot.eq(row.slot),
            role_events::member_id.eq(member),
            role_events::kind.eq(kind.as_str()),
            role_events::actor_id.eq(actor),
            role_events::at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Who turned a role of a session down (or let the ask run out), per session and role.
pub async fn declines(
    conn: &mut AsyncPgConnection,
    sessions_: &[SessionId],
) -> diesel::QueryResult<Vec<(SessionId, String, MemberId)>> {
    role_events::table
        .filter(role_events::session_id.eq_any(sessions_))
        .filter(role_events::kind.eq_any(["declined", "timed_out", "swapped_out", "released"]))
        .filter(role_events::member_id.is_not_null())
        .select((
            role_events::session_id,
            role_events::role_key,
            role_events::member_id.assume_not_null(),
        ))
        .load(conn)
        .await
}
