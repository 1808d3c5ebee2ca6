//! What members wrote after a session. Private ones are only ever shown to their author.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{members, reflections};
use crate::domain::{MemberId, ReflectionId, ReflectionVisibility, SessionId};

/// A reflection shared with the circle, with its author's name.
#[derive(Debug, Clone, diesel::Queryable, Serialize, utoipa::ToSchema)]
pub struct SharedReflection {
    pub id: ReflectionId,
    pub session_id: SessionId,
    pub member_id: MemberId,
    pub display_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of the circle-visible reflections on a session, oldest first.
pub async fn shared_for_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    after: Option<ReflectionId>,
    limit: i64,
) -> diesel::QueryResult<Vec<SharedReflection>> {
    let mut query = reflections::table
        .inner_join(members::table)
        .filter(reflections::session_id.eq(session))
        .filter(reflections::visibility.eq(ReflectionVisibility::Circle))
        .select((
            reflections::id,
            reflections::session_id,
            reflections::member_id,
            members::display_name,
            reflections::body,
            reflections::created_at,
            reflections::updated_at,
        ))
        .order(reflections::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(reflections::id.gt(after));
    }
    query.load(conn).await
}

/// Write or replace a member's reflection on a session.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
    body: &str,
    visibility: ReflectionVisibility,
) -> diesel::QueryResult<ReflectionId> {
    let now = Utc::now();
    diesel::insert_into(reflections::table)
        .values((
            reflections::id.eq(ReflectionId::new()),
            reflections::session_id.eq(session),
            reflections::member_id.eq(member),
            reflections::body.eq(body),
            reflections::visibility.eq(visibility),
        ))
        .on_conflict((reflections::session_id, reflections::member_id))
        .do_update()
        .set((
            reflections::body.eq(body),
            reflections::visibility.eq(visibility),
            reflections::updated_at.eq(now),
        ))
        .returning(reflections::id)
        .get_result(conn)
        .await
}
