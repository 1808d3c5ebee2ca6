//! Aggregates for the dashboard: a fixed handful of queries per page, whatever the size of
//! the circle.

use chrono::{DateTime, Utc};
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::{CircleId, MemberId};

/// A circle as the dashboard's front page shows it: seats and waitlist from the circle's row,
/// unconfirmed signups counted up to [`PENDING_SHOWN`], and the next session with its answers.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct CircleLine {
    #[diesel(sql_type = SqlUuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub timezone: crate::domain::Timezone,
    #[diesel(sql_type = Integer)]
    pub active: i32,
    #[diesel(sql_type = Integer)]
    pub waitlisted: i32,
    /// Unconfirmed signups, at most [`PENDING_SHOWN`].
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// At the clock's last check ([`refresh_attention`]).
    #[diesel(sql_type = Bool)]
    pub needs_attention: bool,
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
}

/// Unconfirmed signups the front page counts up to ("100 or more").
pub const PENDING_SHOWN: i64 = 100;

/// Which circles a front page lists.
#[derive(Debug, Clone, Copy)]
pub enum Whose {
    /// Every circle (organisers).
    All,
    /// The circles this person facilitates.
    FacilitatedBy(MemberId),
    /// One circle (its overview).
    One(CircleId),
}

/// A page of circles, those that needed attention at the clock's last check first, then by
/// name: a bounded number of index reads per circle shown, whatever the number of circles.
pub async fn front_page(
    conn: &mut AsyncPgConnection,
    whose: Whose,
    limit: i64,
    offset: i64,
) -> diesel::QueryResult<Vec<CircleLine>> {
    let (viewer, one) = match whose {
        Whose::All => (None, None),
        Whose::FacilitatedBy(m) => (Some(m.0), None),
        Whose::One(c) => (None, Some(c.0)),
    };
    // A function (migration `circle_counts`), so each connection plans it once.
    diesel::sql_query("SELECT * FROM circle_front_page($1, $2, $3, $4)")
        .bind::<Nullable<SqlUuid>, _>(viewer)
        .bind::<Nullable<SqlUuid>, _>(one)
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(offset)
        .load(conn)
        .await
}

/// Recount every circle's seats and waitlist from the memberships (after rows were written
/// with triggers off, as the benchmark's seeding does); returns how many circles were wrong.
pub async fn recount_members(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE circles c SET active_members = n.active, waitlisted_members = n.waitlisted \
         FROM (SELECT ci.id, \
                      count(m.*) FILTER (WHERE m.state = 'active')::int AS active, \
                      count(m.*) FILTER (WHERE m.state = 'waitlisted')::int AS waitlisted \
               FROM circles ci LEFT JOIN memberships m ON m.circle_id = ci.id GROUP BY ci.id) n \
         WHERE n.id = c.id AND (c.active_members, c.waitlisted_members) IS DISTINCT FROM (n.active, n.waitlisted)",
    )
    .execute(conn)
    .await
}

/// How many of the circles a front page lists needed attention at the clock's last check.
pub async fn flagged(conn: &mut AsyncPgConnection, whose: Whose) -> diesel::QueryResult<i64> {
    use crate::db::schema::{circles, memberships};
    use diesel::{ExpressionMethods, QueryDsl};
    let query = circles::table
        .filter(circles::needs_attention.eq(true))
        .count()
        .into_boxed();
    let query = match whose {
        Whose::All => query,
        Whose::FacilitatedBy(member) => query.filter(
            circles::id.eq_any(
                memberships::table
                    .filter(memberships::member_id.eq(member))
                    .filter(memberships::role.eq(crate::domain::MembershipRole::Facilitator))
                    .filter(memberships::state.eq(crate::domain::MembershipState::Active))
                    .select(memberships::circle_id),
            ),
        ),
        Whose::One(circle) => query.filter(circles::id.eq(circle)),
    };
    query.get_result(conn).await
}

/// What needs the attention of whoever runs a circle, as counts.
#[derive(Debug, Clone, Default, diesel::QueryableByName)]
pub struct Attention {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: uuid::Uuid,
    /// Past sessions of the last 30 days without attendance.
    #[diesel(sql_type = BigInt)]
    pub unmarked_sessions: i64,
    /// Email jobs that gave up.
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

/// What needs attention in each of the given circles, read now; circles with nothing to
/// attend to are left out. (The function `circle_attention`, migration `circle_counts`.)
pub async fn attention(
    conn: &mut AsyncPgConnection,
    circles: &[CircleId],
) -> diesel::QueryResult<Vec<Attention>> {
    let ids: Vec<uuid::Uuid> = circles.iter().map(|c| c.0).collect();
    diesel::sql_query("SELECT * FROM circle_attention($1)")
        .bind::<Array<SqlUuid>, _>(&ids)
        .load(conn)
        .await
}

/// Circles the clock checks in one statement.
const CHECKED_AT_ONCE: i64 = 500;

/// The clock's check: mark the circles that need attention now (and unmark the rest), so the
/// front page can list them first, [`CHECKED_AT_ONCE`] circles a statement. Returns how many
/// circles changed.
pub async fn refresh_attention(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    #[derive(diesel::QueryableByName)]
    struct Batch {
        #[diesel(sql_type = Nullable<SqlUuid>)]
        last: Option<uuid::Uuid>,
        #[diesel(sql_type = BigInt)]
        changed: i64,
    }
    let mut after = uuid::Uuid::nil();
    let mut changed = 0;
    loop {
        let batch: Batch = diesel::sql_query(
            "WITH batch AS (SELECT array_agg(id ORDER BY id) AS ids FROM \
                              (SELECT id FROM circles WHERE id > $1 ORDER BY id LIMIT $2) b), \
                  flagged AS (SELECT a.circle_id FROM batch, circle_attention(batch.ids) a), \
                  updated AS (UPDATE circles c SET needs_attention = c.id IN (SELECT circle_id FROM flagged) \
                              FROM batch WHERE c.id = ANY(batch.ids) \
                                AND c.needs_attention IS DISTINCT FROM (c.id IN (SELECT circle_id FROM flagged)) \
                              RETURNING 1) \
             SELECT (SELECT ids[array_length(ids, 1)] FROM batch) AS last, \
                    (SELECT count(*) FROM updated) AS changed",
        )
        .bind::<SqlUuid, _>(after)
        .bind::<BigInt, _>(CHECKED_AT_ONCE)
        .get_result(conn)
        .await?;
        changed += batch.changed as usize;
        match batch.last {
            Some(last) => after = last,
            None => return Ok(changed),
        }
    }
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
