//! Dashboard sign-ins kept on the server: the session cookie names a row, and the row decides
//! whether the cookie still works. Ending a row ends every copy of its cookie.

use chrono::{DateTime, Duration, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::members::Member;
use super::schema::{members, staff_sessions};
use crate::domain::MemberId;

/// Start a session for `member` that ends at the latest `max_age` from now.
pub async fn start(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    now: DateTime<Utc>,
    max_age: Duration,
) -> diesel::QueryResult<Uuid> {
    diesel::insert_into(staff_sessions::table)
        .values((
            staff_sessions::id.eq(Uuid::new_v4()),
            staff_sessions::member_id.eq(member),
            staff_sessions::created_at.eq(now),
            staff_sessions::expires_at.eq(now + max_age),
        ))
        .returning(staff_sessions::id)
        .get_result(conn)
        .await
}

/// The member a live session belongs to: not ended, and within its absolute lifetime.
pub async fn live_member(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Member>> {
    staff_sessions::table
        .inner_join(members::table)
        .filter(staff_sessions::id.eq(id))
        .filter(staff_sessions::ended_at.is_null())
        .filter(staff_sessions::expires_at.gt(now))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

/// End one session (signing out on this device).
pub async fn end(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<()> {
    diesel::update(
        staff_sessions::table
            .find(id)
            .filter(staff_sessions::ended_at.is_null()),
    )
    .set(staff_sessions::ended_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
    .map(drop)
}

/// End every session of a member (signing out everywhere); the answer is how many ended.
pub async fn end_all(conn: &mut AsyncPgConnection, member: MemberId) -> diesel::QueryResult<usize> {
    diesel::update(
        staff_sessions::table
            .filter(staff_sessions::member_id.eq(member))
            .filter(staff_sessions::ended_at.is_null()),
    )
    .set(staff_sessions::ended_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
}
