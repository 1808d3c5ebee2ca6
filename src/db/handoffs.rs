//! Handoff notes: what one session's facilitator leaves for whoever leads next.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, JoinOnDsl, NullableExpressionMethods, OptionalExtension, QueryDsl,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{handoffs, members, sessions};
use crate::domain::{CircleId, HandoffId, HandoffVisibility, MemberId, SessionId};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize)]
#[diesel(table_name = handoffs, check_for_backend(diesel::pg::Pg))]
pub struct Handoff {
    pub id: HandoffId,
    pub circle_id: CircleId,
    pub from_session_id: SessionId,
    pub author_id: Option<MemberId>,
    pub stopped_at: String,
    pub open_questions: String,
    pub follow_up: String,
    pub try_next: String,
    pub visibility: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Handoff {
    pub fn visibility(&self) -> HandoffVisibility {
        self.visibility
            .parse()
            .unwrap_or(HandoffVisibility::NextLead)
    }

    /// The answered prompts, (question, answer), in the order the form asks them.
    pub fn parts(&self) -> Vec<(String, String)> {
        [
            ("Where we stopped", &self.stopped_at),
            ("Open questions", &self.open_questions),
            ("Who to follow up", &self.follow_up),
            ("What I'd try", &self.try_next),
        ]
        .into_iter()
        .filter(|(_, a)| !a.trim().is_empty())
        .map(|(q, a)| (q.to_string(), a.clone()))
        .collect()
    }
}

/// What the author wrote.
#[derive(Debug, Clone, Default)]
pub struct HandoffText {
    pub stopped_at: String,
    pub open_questions: String,
    pub follow_up: String,
    pub try_next: String,
}

/// Save the note for `session` (one per session; writing again replaces it).
pub async fn save(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    session: SessionId,
    author: MemberId,
    text: &HandoffText,
    visibility: HandoffVisibility,
) -> diesel::QueryResult<Handoff> {
    let now = Utc::now();
    diesel::insert_into(handoffs::table)
        .values((
            handoffs::id.eq(HandoffId::new()),
            handoffs::circle_id.eq(circle),
            handoffs::from_session_id.eq(session),
            handoffs::author_id.eq(author),
            handoffs::stopped_at.eq(&text.stopped_at),
            handoffs::open_questions.eq(&text.open_questions),
            handoffs::follow_up.eq(&text.follow_up),
            handoffs::try_next.eq(&text.try_next),
            handoffs::visibility.eq(visibility.as_str()),
        ))
        .on_conflict(handoffs::from_session_id)
        .do_update()
        .set((
            handoffs::author_id.eq(author),
            handoffs::stopped_at.eq(&text.stopped_at),
            handoffs::open_questions.eq(&text.open_questions),
            handoffs::follow_up.eq(&text.follow_up),
            handoffs::try_next.eq(&text.try_next),
            handoffs::visibility.eq(visibility.as_str()),
            handoffs::updated_at.eq(now),
        ))
        .returning(Handoff::as_returning())
        .get_result(conn)
        .await
}

pub async fn for_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Option<Handoff>> {
    handoffs::table
        .filter(handoffs::from_session_id.eq(session))
        .select(Handoff::as_select())
        .first(conn)
        .await
        .optional()
}

/// The newest note left from a session of `circle` that started before `before`, with its
/// author's name: what the lead of the session at `before` inherits.
pub async fn latest_before(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    before: DateTime<Utc>,
) -> diesel::QueryResult<Option<(Handoff, Option<String>)>> {
    handoffs::table
        .inner_join(sessions::table.on(sessions::id.eq(handoffs::from_session_id)))
        .left_join(members::table.on(members::id.nullable().eq(handoffs::author_id)))
        .filter(handoffs::circle_id.eq(circle))
        .filter(sessions::starts_at.lt(before))
        .order(sessions::starts_at.desc())
        .select((Handoff::as_select(), members::display_name.nullable()))
        .first(conn)
        .await
        .optional()
}

/// Notes their authors shared with the whole circle, newest first, with author names and
/// the start of the session each was left from.
pub async fn shared_with_circle(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<(Handoff, Option<String>, DateTime<Utc>)>> {
    handoffs::table
        .inner_join(sessions::table.on(sessions::id.eq(handoffs::from_session_id)))
        .left_join(members::table.on(members::id.nullable().eq(handoffs::author_id)))
        .filter(handoffs::circle_id.eq(circle))
        .filter(handoffs::visibility.eq(HandoffVisibility::Circle.as_str()))
        .order(sessions::starts_at.desc())
        .limit(limit)
        .select((
            Handoff::as_select(),
            members::display_name.nullable(),
            sessions::starts_at,
        ))
        .load(conn)
        .await
}
