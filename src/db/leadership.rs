//! The organisation's leadership figures over a window, in a fixed handful of statements
//! whatever the organisation's size: who led how often (per circle), active members, every
//! active member's role count per circle, and newcomers with whether they held a role within
//! their first five sessions.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::{CircleId, MemberId};

/// Sessions led: facilitator roles confirmed in sessions that started in the window and were
/// not cancelled, unless attendance marked the holder absent.
const LED: &str = "SELECT sr.member_id, s.circle_id FROM session_roles sr \
     JOIN sessions s ON s.id = sr.session_id \
     LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id \
     WHERE sr.role_key = 'facilitator' AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL \
       AND s.status <> 'cancelled' AND s.starts_at >= $1 AND s.starts_at < $2 \
       AND r.attended IS DISTINCT FROM false";

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Led {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: MemberId,
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: CircleId,
    #[diesel(sql_type = BigInt)]
    pub sessions: i64,
}

/// Sessions each person led in each circle over the window.
pub async fn led(
    conn: &mut AsyncPgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Led>> {
    diesel::sql_query(format!(
        "SELECT member_id, circle_id, count(*) AS sessions FROM ({LED}) led GROUP BY member_id, circle_id"
    ))
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct NotLed {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: CircleId,
    #[diesel(sql_type = Text)]
    pub display_name: String,
}

/// The active members of `circles` who did not lead one of its sessions between `from` and
/// `to`, by circle and name (at most `per_circle` a circle).
pub async fn not_led(
    conn: &mut AsyncPgConnection,
    circles: &[CircleId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    per_circle: i64,
) -> diesel::QueryResult<Vec<NotLed>> {
    let ids: Vec<uuid::Uuid> = circles.iter().map(|c| c.0).collect();
    diesel::sql_query(
        "SELECT circle_id, display_name FROM ( \
           SELECT ms.circle_id, m.display_name, \
                  row_number() OVER (PARTITION BY ms.circle_id ORDER BY m.display_name, m.id) AS n \
           FROM memberships ms JOIN members m ON m.id = ms.member_id \
           WHERE ms.circle_id = ANY($3) AND ms.state = 'active' \
             AND NOT EXISTS ( \
               SELECT 1 FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
               LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id \
               WHERE sr.member_id = ms.member_id AND s.circle_id = ms.circle_id \
                 AND sr.role_key = 'facilitator' AND sr.state = 'confirmed' \
                 AND s.status <> 'cancelled' AND s.starts_at >= $1 AND s.starts_at < $2 \
                 AND r.attended IS DISTINCT FROM false) \
         ) t WHERE n <= $4 ORDER BY circle_id, n",
    )
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .bind::<BigInt, _>(per_circle)
    .load(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct MemberRoles {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: CircleId,
    #[diesel(sql_type = Text)]
    pub circle_name: String,
    /// The circle's family (its first circle's id; the circle itself when it never grew).
    #[diesel(sql_type = SqlUuid)]
    pub family_id: CircleId,
    #[diesel(sql_type = SqlUuid)]
    pub member_id: MemberId,
    /// Roles of any kind held in the window.
    #[diesel(sql_type = BigInt)]
    pub roles: i64,
}

/// Every active membership with its role count over the window (for the circles' balance and
/// active-member counts).
pub async fn active_roles(
    conn: &mut AsyncPgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> diesel::QueryResult<Vec<MemberRoles>> {
    diesel::sql_query(
        "SELECT ms.circle_id, c.name AS circle_name, coalesce(c.family_id, c.id) AS family_id, ms.member_id, coalesce(h.roles, 0) AS roles \
         FROM memberships ms JOIN circles c ON c.id = ms.circle_id \
         LEFT JOIN (SELECT sr.circle_id, sr.member_id, count(*) AS roles FROM session_roles sr \
                    JOIN sessions s ON s.id = sr.session_id \
                    WHERE sr.state = 'confirmed' AND s.status <> 'cancelled' \
                      AND s.starts_at >= $1 AND s.starts_at < $2 \
                    GROUP BY sr.circle_id, sr.member_id) h \
           ON h.circle_id = ms.circle_id AND h.member_id = ms.member_id \
         WHERE ms.state = 'active' AND c.status <> 'archived' \
         ORDER BY c.name, ms.circle_id",
    )
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
pub struct Newcomers {
    #[diesel(sql_type = BigInt)]
    pub joined: i64,
    #[diesel(sql_type = BigInt)]
    pub with_role: i64,
}

/// People who joined a circle in the window (each person once, however many circles they
/// joined), and how many of them held a confirmed role in one of their first five sessions in
/// a circle they joined.
pub async fn newcomers(
    conn: &mut AsyncPgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> diesel::QueryResult<Newcomers> {
    diesel::sql_query(
        "WITH joins AS (SELECT ms.member_id, EXISTS ( \
             SELECT 1 FROM (SELECT s.id FROM sessions s WHERE s.circle_id = ms.circle_id \
                              AND s.status <> 'cancelled' AND s.starts_at >= ms.joined_at AND s.starts_at < $2 \
                            ORDER BY s.starts_at LIMIT 5) first5 \
             JOIN session_roles sr ON sr.session_id = first5.id AND sr.member_id = ms.member_id \
                                   AND sr.state = 'confirmed') AS took_role \
           FROM memberships ms \
           WHERE ms.joined_at >= $1 AND ms.joined_at < $2 AND ms.state IN ('active', 'left')) \
         SELECT count(DISTINCT member_id) AS joined, \
                count(DISTINCT member_id) FILTER (WHERE took_role) AS with_role FROM joins",
    )
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .get_result(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct LeadersUntil {
    #[diesel(sql_type = Timestamptz)]
    pub until: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub leaders: i64,
}

/// For each of `ends`, the distinct people who led a session in the `days` before it (as
/// [`led`] counts), in one statement.
pub async fn leaders_until(
    conn: &mut AsyncPgConnection,
    ends: &[DateTime<Utc>],
    days: i64,
) -> diesel::QueryResult<Vec<LeadersUntil>> {
    let (Some(first), Some(last)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(Vec::new());
    };
    let from = *first - chrono::Duration::days(days);
    diesel::sql_query(format!(
        "WITH led AS (SELECT sr.member_id, s.starts_at FROM session_roles sr \
              JOIN sessions s ON s.id = sr.session_id \
              LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id \
              WHERE sr.role_key = 'facilitator' AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL \
                AND s.status <> 'cancelled' AND s.starts_at >= $2 AND s.starts_at < $3 \
                AND r.attended IS DISTINCT FROM false) \
         SELECT e.until, count(DISTINCT led.member_id) AS leaders \
         FROM unnest($1::timestamptz[]) AS e(until) \
         LEFT JOIN led ON led.starts_at >= e.until - interval '{days} days' AND led.starts_at < e.until \
         GROUP BY e.until ORDER BY e.until"
    ))
    .bind::<diesel::sql_types::Array<Timestamptz>, _>(ends.to_vec())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(*last)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Distinct people with an active membership of a circle that is not archived.
pub async fn active_members(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    diesel::sql_query(
        "SELECT count(DISTINCT ms.member_id) AS n FROM memberships ms \
         JOIN circles c ON c.id = ms.circle_id \
         WHERE ms.state = 'active' AND c.status <> 'archived'",
    )
    .get_result::<Count>(conn)
    .await
    .map(|c| c.n)
}
