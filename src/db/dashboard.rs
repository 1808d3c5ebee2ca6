//! Aggregates for the dashboard: a fixed handful of queries per page, whatever the size of
//! the circle.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::CircleId;

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct CircleSummary {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: uuid::Uuid,
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    #[diesel(sql_type = BigInt)]
    pub waitlisted: i64,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub next_session: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_starts_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_ends_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub next_timezone: Option<crate::domain::Timezone>,
    #[diesel(sql_type = BigInt)]
    pub yes: i64,
    #[diesel(sql_type = BigInt)]
    pub no: i64,
    #[diesel(sql_type = BigInt)]
    pub maybe: i64,
    #[diesel(sql_type = BigInt)]
    pub unmarked_sessions: i64,
    #[diesel(sql_type = BigInt)]
    pub dead_jobs: i64,
    /// Role slots nobody holds in sessions inside the asking window.
    #[diesel(sql_type = BigInt)]
    pub open_slots: i64,
    /// Asks still unanswered for sessions to come.
    #[diesel(sql_type = BigInt)]
    pub unanswered_asks: i64,
    /// Consent rounds that close within two days.
    #[diesel(sql_type = BigInt)]
    pub rounds_closing: i64,
    /// A sibling whose lead is being asked.
    #[diesel(sql_type = BigInt)]
    pub grow_asking: i64,
    /// Feedback for a lead that closed in the last week with too few answers to show.
    #[diesel(sql_type = BigInt)]
    pub feedback_short: i64,
}

/// Membership counts, the next session with its answers, past sessions without attendance
/// and dead email jobs, for each of the given circles, in one statement.
pub async fn summaries(
    conn: &mut AsyncPgConnection,
    circles: &[CircleId],
) -> diesel::QueryResult<Vec<CircleSummary>> {
    let ids: Vec<uuid::Uuid> = circles.iter().map(|c| c.0).collect();
    diesel::sql_query(
        "WITH c AS (SELECT unnest($1::uuid[]) AS circle_id), \
         counts AS (SELECT circle_id, \
                      count(*) FILTER (WHERE state = 'active') AS active, \
                      count(*) FILTER (WHERE state = 'waitlisted') AS waitlisted, \
                      count(*) FILTER (WHERE state = 'pending') AS pending \
                    FROM memberships WHERE circle_id = ANY($1) GROUP BY circle_id), \
         next AS (SELECT DISTINCT ON (circle_id) circle_id, id, starts_at, ends_at, timezone FROM sessions \
                  WHERE circle_id = ANY($1) AND status = 'scheduled' AND starts_at > now() \
                  ORDER BY circle_id, starts_at), \
         answers AS (SELECT n.circle_id, \
                       count(*) FILTER (WHERE r.response = 'yes') AS yes, \
                       count(*) FILTER (WHERE r.response = 'no') AS no, \
                       count(*) FILTER (WHERE r.response = 'maybe') AS maybe \
                     FROM next n JOIN rsvps r ON r.session_id = n.id GROUP BY n.circle_id), \
         unmarked AS (SELECT s.circle_id, count(*) AS n FROM sessions s \
                      WHERE s.circle_id = ANY($1) AND s.status <> 'cancelled' \
                        AND s.ends_at < now() AND s.ends_at > now() - interval '30 days' \
                        AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.session_id = s.id AND r.attended IS NOT NULL) \
                      GROUP BY s.circle_id), \
         dead AS (SELECT (payload->>'circle_id')::uuid AS circle_id, count(*) AS n FROM jobs \
                  WHERE state = 'dead' AND payload->>'circle_id' = ANY($2) GROUP BY 1), \
         slots AS (SELECT sr.circle_id, \
                     count(*) FILTER (WHERE sr.state IN ('open', 'declined')) AS open_slots, \
                     count(*) FILTER (WHERE sr.state = 'asked') AS asked \
                   FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
                   JOIN circles ci ON ci.id = sr.circle_id \
                   WHERE sr.circle_id = ANY($1) AND s.status = 'scheduled' AND s.starts_at > now() \
                     AND s.starts_at - make_interval(days => ci.role_ask_days) <= now() \
                   GROUP BY sr.circle_id), \
         closing AS (SELECT circle_id, count(*) AS n FROM consent_rounds \
                     WHERE circle_id = ANY($1) AND closed_at IS NULL \
                       AND closes_at < now() + interval '2 days' GROUP BY circle_id), \
         growing AS (SELECT circle_id, count(*) AS n FROM sibling_proposals \
                     WHERE circle_id = ANY($1) AND state = 'asking' GROUP BY circle_id), \
         short AS (SELECT circle_id, count(*) AS n FROM feedback_requests \
                   WHERE circle_id = ANY($1) AND closed_quietly \
                     AND closes_at > now() - interval '7 days' AND closes_at <= now() \
                   GROUP BY circle_id) \
         SELECT c.circle_id, coalesce(counts.active, 0) AS active, coalesce(counts.waitlisted, 0) AS waitlisted, \
                coalesce(counts.pending, 0) AS pending, next.id AS next_session, next.starts_at AS next_starts_at, \
                next.ends_at AS next_ends_at, next.timezone AS next_timezone, \
                coalesce(answers.yes, 0) AS yes, coalesce(answers.no, 0) AS no, coalesce(answers.maybe, 0) AS maybe, \
                coalesce(unmarked.n, 0) AS unmarked_sessions, coalesce(dead.n, 0) AS dead_jobs, \
                coalesce(slots.open_slots, 0) AS open_slots, coalesce(slots.asked, 0) AS unanswered_asks, \
                coalesce(closing.n, 0) AS rounds_closing, coalesce(growing.n, 0) AS grow_asking, \
                coalesce(short.n, 0) AS feedback_short \
         FROM c LEFT JOIN counts USING (circle_id) LEFT JOIN next USING (circle_id) \
                LEFT JOIN answers USING (circle_id) LEFT JOIN unmarked USING (circle_id) LEFT JOIN dead USING (circle_id) \
                LEFT JOIN slots USING (circle_id) LEFT JOIN closing USING (circle_id) LEFT JOIN growing USING (circle_id) \
                LEFT JOIN short USING (circle_id)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(ids.iter().map(|i| i.to_string()).collect::<Vec<_>>())
    .load(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct SessionStats {
    #[diesel(sql_type = SqlUuid)]
    pub session_id: uuid::Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub starts_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub yes: i64,
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
    #[diesel(sql_type = BigInt)]
    pub marked: i64,
    #[diesel(sql_type = BigInt)]
    pub reflections: i64,
    #[diesel(sql_type = BigInt)]
    pub shared: i64,
}

/// Per-session answers, attendance and reflection counts of a circle, oldest first.
pub async fn session_stats(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<SessionStats>> {
    diesel::sql_query(
        "SELECT s.id AS session_id, s.starts_at, s.status, \
                (SELECT count(*) FROM rsvps r WHERE r.session_id = s.id AND r.response = 'yes') AS yes, \
                (SELECT count(*) FROM rsvps r WHERE r.session_id = s.id AND r.attended) AS attended, \
                (SELECT count(*) FROM rsvps r WHERE r.session_id = s.id AND r.attended IS NOT NULL) AS marked, \
                (SELECT count(*) FROM reflections f WHERE f.session_id = s.id) AS reflections, \
                (SELECT count(*) FROM reflections f WHERE f.session_id = s.id AND f.visibility = 'circle') AS shared \
         FROM sessions s WHERE s.circle_id = $1 ORDER BY s.starts_at LIMIT $2",
    )
    .bind::<SqlUuid, _>(circle.0)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
