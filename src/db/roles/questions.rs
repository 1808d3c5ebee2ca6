//! A discussion lead's questions before a session.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, JoinOnDsl, NullableExpressionMethods, OptionalExtension,
    PgExpressionMethods, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{session_roles, sessions};
use crate::domain::{MemberId, RoleId, RoleState, SessionId};

use super::slots::SessionRole;

/// The role whose holder is asked for questions before a session.
pub const QUESTIONS_ROLE: &str = "discussion_lead";

/// Discussion-lead slots whose holder has not been asked for questions yet, in sessions that
/// start between `now` and `until`.
pub async fn questions_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> diesel::QueryResult<Vec<SessionRole>> {
    session_roles::table
        .inner_join(sessions::table)
        .filter(session_roles::role_key.eq(QUESTIONS_ROLE))
        .filter(session_roles::state.eq(RoleState::Confirmed))
        .filter(session_roles::member_id.is_not_null())
        .filter(session_roles::questions_asked_of.is_distinct_from(session_roles::member_id))
        .filter(sessions::status.eq(crate::domain::SessionStatus::Scheduled))
        .filter(sessions::starts_at.gt(now))
        .filter(sessions::starts_at.le(until))
        .select(SessionRole::as_select())
        .load(conn)
        .await
}

/// Record that the slot's current holder was asked for questions.
pub async fn mark_questions_asked(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set(session_roles::questions_asked_of.eq(Some(member)))
        .execute(conn)
        .await
        .map(drop)
}

/// Record that the role ask sent to `member` for this discussion-lead slot also asks for
/// their questions.
pub async fn mark_questions_in_ask(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set(session_roles::questions_in_ask_of.eq(Some(member)))
        .execute(conn)
        .await
        .map(drop)
}

/// Whether the role ask sent to `member` for this slot also asked for their questions.
pub async fn questions_in_ask(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    let of: Option<Option<MemberId>> = session_roles::table
        .find(id)
        .select(session_roles::questions_in_ask_of)
        .first(conn)
        .await
        .optional()?;
    Ok(of.flatten() == Some(member))
}

/// `member` accepted an ask that also asked for their questions: they count as asked, so
/// the clock sends no separate email. Whether it did (the ask carried the request).
pub async fn mark_questions_asked_by_ask(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    diesel::update(
        session_roles::table
            .find(id)
            .filter(session_roles::questions_in_ask_of.eq(member)),
    )
    .set(session_roles::questions_asked_of.eq(Some(member)))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Keep `member`'s questions for the slot (one per line).
pub async fn set_questions(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
    questions: &[String],
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set((
            session_roles::questions.eq(Some(questions.join("\n"))),
            session_roles::questions_by.eq(Some(member)),
            session_roles::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The questions the current holder of a discussion-lead slot wrote, with their name.
pub async fn questions_of(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Option<(String, Vec<String>)>> {
    use crate::db::schema::members;
    let found: Option<(String, Option<String>)> = session_roles::table
        .inner_join(members::table.on(members::id.nullable().eq(session_roles::member_id)))
        .filter(session_roles::session_id.eq(session))
        .filter(session_roles::role_key.eq(QUESTIONS_ROLE))
        .filter(session_roles::state.eq(RoleState::Confirmed))
        .filter(session_roles::questions_by.eq(session_roles::member_id))
        .order(session_roles::slot)
        .select((members::display_name, session_roles::questions))
        .first(conn)
        .await
        .optional()?;
    Ok(found.and_then(|(name, q)| {
        let list: Vec<String> = q?.lines().map(str::to_string).collect();
        (!list.is_empty()).then_some((name, list))
    }))
}

/// What the slot's holder wrote, if they wrote it.
pub async fn own_questions(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<Vec<String>> {
    let q: Option<Option<String>> = session_roles::table
        .find(id)
        .filter(session_roles::questions_by.eq(member))
        .select(session_roles::questions)
        .first(conn)
        .await
        .optional()?;
    Ok(q.flatten()
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default())
}
