//! What members wrote after a session. Private ones are only ever shown to their author.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{members, reflections, sessions};
use crate::domain::{CircleId, MemberId, ReflectionId, ReflectionVisibility, SessionId};

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

/// A member's own reflection on a session.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct OwnReflection {
    pub body: String,
    pub visibility: ReflectionVisibility,
    pub created_at: DateTime<Utc>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
) -> diesel::QueryResult<Option<OwnReflection>> {
    reflections::table
        .filter(reflections::session_id.eq(session))
        .filter(reflections::member_id.eq(member))
        .select((
            reflections::body,
            reflections::visibility,
            reflections::created_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// A reflection with the session it is about, for the member's own page.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct MemberReflection {
    pub circle_id: CircleId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub body: String,
    pub visibility: ReflectionVisibility,
}

/// The member's reflections, newest first.
pub async fn by_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    limit: i64,
) -> diesel::QueryResult<Vec<MemberReflection>> {
    reflections::table
        .inner_join(sessions::table)
        .filter(reflections::member_id.eq(member))
        .order(reflections::id.desc())
        .limit(limit)
        .select((
            sessions::circle_id,
            sessions::starts_at,
            sessions::ends_at,
            reflections::body,
            reflections::visibility,
        ))
        .load(conn)
        .await
}

/// A reflection shared with a circle, with the session it is about and its author's name.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct CircleReflection {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub author: String,
    pub body: String,
}

/// The reflections shared with a circle, newest session first (private ones never).
pub async fn shared_in_circle(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<CircleReflection>> {
    reflections::table
        .inner_join(sessions::table)
        .inner_join(members::table)
        .filter(sessions::circle_id.eq(circle))
        .filter(reflections::visibility.eq(ReflectionVisibility::Circle))
        .order((sessions::starts_at.desc(), reflections::created_at))
        .limit(limit)
        .select((
            sessions::starts_at,
            sessions::ends_at,
            members::display_name,
            reflections::body,
        ))
        .load(conn)
        .await
}
