//! Agendas: each circle's template (when it has changed the default) and each session's
//! speaking order as frozen before it starts.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Bool, Timestamptz, Uuid as SqlUuid};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{circle_agendas, session_agendas, sessions};
use crate::domain::{CircleId, MemberId, SessionId};

/// The circle's stored template: whether it is on, and its rounds (as JSON).
pub async fn template(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Option<(bool, serde_json::Value)>> {
    circle_agendas::table
        .find(circle)
        .select((circle_agendas::enabled, circle_agendas::rounds))
        .first(conn)
        .await
        .optional()
}

pub async fn save_template(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    enabled: bool,
    rounds: &serde_json::Value,
) -> diesel::QueryResult<()> {
    diesel::insert_into(circle_agendas::table)
        .values((
            circle_agendas::circle_id.eq(circle),
            circle_agendas::enabled.eq(enabled),
            circle_agendas::rounds.eq(rounds),
        ))
        .on_conflict(circle_agendas::circle_id)
        .do_update()
        .set((
            circle_agendas::enabled.eq(enabled),
            circle_agendas::rounds.eq(rounds),
            circle_agendas::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A session's frozen agenda.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct Frozen {
    pub rounds: serde_json::Value,
    pub first_speaker: Option<MemberId>,
    pub seed: i64,
    pub frozen_at: DateTime<Utc>,
}

pub async fn frozen(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Option<Frozen>> {
    session_agendas::table
        .find(session)
        .select((
            session_agendas::rounds,
            session_agendas::first_speaker,
            session_agendas::seed,
            session_agendas::frozen_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Freeze a session's agenda; a session frozen already keeps what it has. Returns whether
/// this call froze it.
pub async fn freeze(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    circle: CircleId,
    rounds: &serde_json::Value,
    first_speaker: Option<MemberId>,
    seed: i64,
) -> diesel::QueryResult<bool> {
    diesel::insert_into(session_agendas::table)
        .values((
            session_agendas::session_id.eq(session),
            session_agendas::circle_id.eq(circle),
            session_agendas::rounds.eq(rounds),
            session_agendas::first_speaker.eq(first_speaker),
            session_agendas::seed.eq(seed),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Who spoke first in the circle's frozen sessions that started before `before`, newest
/// first.
pub async fn first_speakers(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    before: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<Vec<MemberId>> {
    let rows: Vec<Option<MemberId>> = session_agendas::table
        .inner_join(sessions::table)
        .filter(session_agendas::circle_id.eq(circle))
        .filter(sessions::starts_at.lt(before))
        .order(sessions::starts_at.desc())
        .limit(limit)
        .select(session_agendas::first_speaker)
        .load(conn)
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

/// Someone coming to a session: their name, and whether this is their first session of the
/// circle (they have neither attended nor said yes to an earlier one).
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Coming {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: MemberId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub display_name: String,
    #[diesel(sql_type = Bool)]
    pub newcomer: bool,
}

/// The active members who said yes to `session`, in the order they joined.
pub async fn coming(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Vec<Coming>> {
    diesel::sql_query(
        "SELECT m.id AS member_id, m.display_name, \
                NOT EXISTS (SELECT 1 FROM rsvps r2 JOIN sessions s2 ON s2.id = r2.session_id \
                            WHERE r2.member_id = m.id AND s2.circle_id = s.circle_id \
                              AND s2.starts_at < s.starts_at AND s2.status <> 'cancelled' \
                              AND (r2.attended IS TRUE OR (r2.attended IS NULL AND r2.response = 'yes'))) \
                  AS newcomer \
         FROM sessions s \
         JOIN rsvps r ON r.session_id = s.id AND r.response = 'yes' \
         JOIN members m ON m.id = r.member_id \
         JOIN memberships ms ON ms.circle_id = s.circle_id AND ms.member_id = m.id AND ms.state = 'active' \
         WHERE s.id = $1 \
         ORDER BY ms.joined_at, m.id",
    )
    .bind::<SqlUuid, _>(session.0)
    .load(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
struct DueRow {
    #[diesel(sql_type = SqlUuid)]
    id: SessionId,
}

/// Sessions whose agenda should be frozen now: scheduled, starting within `before` of `now`
/// (or started in the last day, when the worker was away), in a circle whose agenda is on
/// (`restorative` circles are on unless they switched it off), and not frozen yet.
pub async fn due_for_freeze(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    before: Duration,
) -> diesel::QueryResult<Vec<SessionId>> {
    let rows: Vec<DueRow> = diesel::sql_query(
        "SELECT s.id FROM sessions s \
         JOIN circles c ON c.id = s.circle_id \
         LEFT JOIN circle_agendas a ON a.circle_id = c.id \
         WHERE s.status = 'scheduled' AND s.starts_at <= $1 AND s.starts_at > $2 \
           AND coalesce(a.enabled, c.kind = 'restorative_circle') \
           AND NOT EXISTS (SELECT 1 FROM session_agendas sa WHERE sa.session_id = s.id) \
         ORDER BY s.starts_at LIMIT 500",
    )
    .bind::<Timestamptz, _>(now + before)
    .bind::<Timestamptz, _>(now - Duration::days(1))
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Titles of the circle's agreements with a consent round open now: the next session's
/// agenda revisits them.
pub async fn open_rounds(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<String>> {
    #[derive(diesel::QueryableByName)]
    struct Title {
        #[diesel(sql_type = diesel::sql_types::Text)]
        title: String,
    }
    let rows: Vec<Title> = diesel::sql_query(
        "SELECT a.title FROM consent_rounds r JOIN agreements a ON a.id = r.agreement_id \
         WHERE r.circle_id = $1 AND r.closed_at IS NULL ORDER BY r.opened_at",
    )
    .bind::<SqlUuid, _>(circle.0)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|t| t.title).collect())
}

/// Give `to` the agenda template of `from`, unless it has one.
pub async fn copy_template(
    conn: &mut AsyncPgConnection,
    from: CircleId,
    to: CircleId,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO circle_agendas (circle_id, enabled, rounds) \
         SELECT $2, enabled, rounds FROM circle_agendas WHERE circle_id = $1 ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(from.0)
    .bind::<SqlUuid, _>(to.0)
    .execute(conn)
    .await
    .map(drop)
}
