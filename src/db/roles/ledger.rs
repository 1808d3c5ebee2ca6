//! What the planner reads: active members with their preferences, attendance and load
//! elsewhere, who held which role how often, and who said they will not come.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::{CircleId, MemberId, SessionId};

/// One active member of a circle as the planner sees them.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct PlannerMember {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub display_name: String,
    #[diesel(sql_type = Bool)]
    pub opted_in: bool,
    #[diesel(sql_type = Integer)]
    pub weight: i32,
    #[diesel(sql_type = Nullable<diesel::sql_types::Date>)]
    pub paused_until: Option<NaiveDate>,
    #[diesel(sql_type = Array<Text>)]
    pub opted_out_roles: Vec<String>,
    /// Sessions of the circle they attended.
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
    /// Roles they hold (confirmed or asked) in other circles within a fortnight of `now`.
    #[diesel(sql_type = BigInt)]
    pub elsewhere: i64,
    /// One of the circle's facilitators (its lead): asked before they attended.
    #[diesel(sql_type = Bool)]
    pub lead: bool,
}

/// The circle's active members with their preferences, attendance and load elsewhere, in
/// one statement.
pub async fn planner_members(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<PlannerMember>> {
    // A function (migration `rota_writes`), so each connection plans it once.
    diesel::sql_query("SELECT * FROM rota_planner_members($1, $2)")
        .bind::<SqlUuid, _>(circle.0)
        .bind::<Timestamptz, _>(now)
        .load(conn)
        .await
}

/// Per member and role: times held (confirmed, in a session that has started, and not marked
/// absent) and when last.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Held {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub role_key: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Timestamptz)]
    pub first_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_at: DateTime<Utc>,
}

pub async fn held(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: Option<MemberId>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Held>> {
    // A function (migration `rota_writes`), so each connection plans it once.
    diesel::sql_query("SELECT * FROM rota_held($1, $2, $3)")
        .bind::<SqlUuid, _>(circle.0)
        .bind::<Nullable<SqlUuid>, _>(member.map(|m| m.0))
        .bind::<Timestamptz, _>(now)
        .load(conn)
        .await
}

/// A member's held roles across every circle: (circle, role key, count, first, last).
pub async fn held_by_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<MemberHeld>> {
    diesel::sql_query(
        "SELECT sr.circle_id, c.name AS circle_name, sr.role_key, k.name AS role_name, \
                count(*) AS count, min(s.starts_at) AS first_at, max(s.starts_at) AS last_at \
         FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
         JOIN circles c ON c.id = sr.circle_id \
         JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key \
         LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id \
         WHERE sr.member_id = $1 AND sr.state = 'confirmed' \
           AND s.status <> 'cancelled' AND s.starts_at <= $2 AND r.attended IS DISTINCT FROM false \
         GROUP BY sr.circle_id, c.name, sr.role_key, k.name ORDER BY min(s.starts_at)",
    )
    .bind::<SqlUuid, _>(member.0)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct MemberHeld {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub circle_name: String,
    #[diesel(sql_type = Text)]
    pub role_key: String,
    #[diesel(sql_type = Text)]
    pub role_name: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Timestamptz)]
    pub first_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_at: DateTime<Utc>,
}

/// Who answered "no" for any of `sessions_`.
pub async fn answered_no(
    conn: &mut AsyncPgConnection,
    sessions_: &[SessionId],
) -> diesel::QueryResult<Vec<(SessionId, MemberId)>> {
    use crate::db::schema::rsvps;
    rsvps::table
        .filter(rsvps::session_id.eq_any(sessions_))
        .filter(rsvps::response.eq(crate::domain::RsvpResponse::No))
        .select((rsvps::session_id, rsvps::member_id))
        .load(conn)
        .await
}
