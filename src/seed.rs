//! Realistic data for benchmarks and demos: members, open circles with facilitators, weekly
//! sessions and answers, plus one large circle (1,000 members, 100 sessions) for the
//! dashboard. Everything is inserted set-wise in a few statements.

use chrono::Utc;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::Connection;
use crate::links::{Holder, Links};

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub members: i64,
    pub circles: i64,
    pub sessions: i64,
    pub rsvps: i64,
}

/// Links and secrets a load generator needs, written next to the results (never committed).
#[derive(Debug, Serialize)]
pub struct Targets {
    pub circle_slug: String,
    pub big_circle_id: String,
    pub rsvp_paths: Vec<String>,
    pub confirm_paths: Vec<String>,
    pub calendar_paths: Vec<String>,
    pub login_path: String,
}

#[derive(diesel::QueryableByName)]
struct Pick {
    #[diesel(sql_type = SqlUuid)]
    member: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    object: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    ends_at: chrono::DateTime<Utc>,
}

pub async fn seed(conn: &mut Connection, sizes: Sizes, links: &Links) -> anyhow::Result<Targets> {
    let per_circle = (sizes.sessions / sizes.circles.max(1)).max(1);
    let statements: Vec<(String, Vec<i64>)> = vec![
        (
            "INSERT INTO members (id, email, display_name, timezone, email_verified_at) \
             SELECT gen_random_uuid(), 'reader' || i || '@seed.example.org', 'Reader ' || i, 'UTC', now() \
             FROM generate_series(1, $1) i"
                .into(),
            vec![sizes.members],
        ),
        (
            "INSERT INTO circles (id, slug, name, description, timezone, capacity, status, location) \
             SELECT gen_random_uuid(), 'seed-circle-' || i, 'Seed circle ' || i, 'A circle for load tests.', 'UTC', 60, 'open', 'Room ' || i \
             FROM generate_series(1, $1) i"
                .into(),
            vec![sizes.circles],
        ),
        // Every member joins two circles; the first in each circle facilitates it.
        (
            "WITH m AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM members WHERE email LIKE '%@seed.example.org'), \
                  c AS (SELECT id, row_number() OVER (ORDER BY slug) - 1 AS k FROM circles WHERE slug LIKE 'seed-circle-%'), \
                  pairs AS (SELECT DISTINCT m.id AS member_id, c.id AS circle_id FROM m JOIN c ON c.k = m.n % $1 OR c.k = (m.n * 7) % $1) \
             INSERT INTO memberships (circle_id, member_id, role, state) \
             SELECT circle_id, member_id, CASE WHEN row_number() OVER (PARTITION BY circle_id ORDER BY member_id) = 1 \
                                              THEN 'facilitator' ELSE 'member' END, 'active' FROM pairs"
                .into(),
            vec![sizes.circles],
        ),
        (
            "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes, location) \
             SELECT gen_random_uuid(), c.id, t, t + interval '90 minutes', t::date, '19:00', 'UTC', 90, c.location \
             FROM circles c, generate_series(1, $1) w, \
                  LATERAL (SELECT date_trunc('day', now()) + w * interval '7 days' + interval '19 hours' AS t) x \
             WHERE c.slug LIKE 'seed-circle-%'"
                .into(),
            vec![per_circle],
        ),
        (
            "INSERT INTO rsvps (session_id, member_id, response, responded_at) \
             SELECT s.id, m.member_id, (ARRAY['yes', 'no', 'maybe'])[1 + abs(hashtext(s.id::text || m.member_id::text)) % 3], now() \
             FROM sessions s JOIN memberships m ON m.circle_id = s.circle_id \
             JOIN circles c ON c.id = s.circle_id AND c.slug LIKE 'seed-circle-%' \
             ORDER BY hashtext(s.id::text || m.member_id::text) LIMIT $1"
                .into(),
            vec![sizes.rsvps],
        ),
        // The large circle for the dashboard: 1,000 members and 100 sessions.
        (
            "INSERT INTO circles (id, slug, name, timezone, status) VALUES (gen_random_uuid(), 'seed-big-circle', 'Seed big circle', 'UTC', 'open')".into(),
            vec![],
        ),
        (
            "INSERT INTO memberships (circle_id, member_id, role, state) \
             SELECT (SELECT id FROM circles WHERE slug = 'seed-big-circle'), id, 'member', 'active' \
             FROM members WHERE email LIKE '%@seed.example.org' ORDER BY email LIMIT 1000"
                .into(),
            vec![],
        ),
        (
            "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes) \
             SELECT gen_random_uuid(), (SELECT id FROM circles WHERE slug = 'seed-big-circle'), t, t + interval '1 hour', t::date, '19:00', 'UTC', 60 \
             FROM generate_series(-50, 49) w, LATERAL (SELECT date_trunc('day', now()) + w * interval '7 days' + interval '19 hours' AS t) x"
                .into(),
            vec![],
        ),
        (
            "INSERT INTO members (id, email, display_name, organizer) VALUES (gen_random_uuid(), 'organiser@seed.example.org', 'Seed organiser', true)".into(),
            vec![],
        ),
    ];
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        for (sql, binds) in &statements {
            let mut query = diesel::sql_query(sql.as_str()).into_boxed();
            for b in binds {
                query = query.bind::<BigInt, _>(*b);
            }
            query.execute(conn).await?;
        }
        Ok(())
    })
    .await?;
    diesel::sql_query("ANALYZE").execute(conn).await?;

    let picks: Vec<Pick> = diesel::sql_query(
        "SELECT m.member_id AS member, s.id AS object, s.ends_at FROM sessions s \
         JOIN memberships m ON m.circle_id = s.circle_id \
         JOIN circles c ON c.id = s.circle_id AND c.slug LIKE 'seed-circle-%' \
         WHERE s.starts_at > now() ORDER BY hashtext(s.id::text || m.member_id::text) LIMIT 500",
    )
    .load(conn)
    .await?;
    let holder = |m: uuid::Uuid| Holder {
        member: m,
        token_version: 1,
        me_version: 1,
        calendar_version: 1,
    };
    let strip = |url: String| url[links.base().len()..].to_string();
    let rsvp_paths = picks
        .iter()
        .map(|p| strip(links.rsvp(holder(p.member), p.object, p.ends_at, None)))
        .collect();
    let calendar_paths = picks
        .iter()
        .take(200)
        .map(|p| strip(links.calendar(holder(p.member))))
        .collect();
    let confirms: Vec<Pick> = diesel::sql_query(
        "SELECT m.member_id AS member, m.circle_id AS object, now() AS ends_at FROM memberships m \
         JOIN circles c ON c.id = m.circle_id AND c.slug LIKE 'seed-circle-%' ORDER BY hashtext(m.member_id::text) LIMIT 500",
    )
    .load(conn)
    .await?;
    let now = Utc::now();
    let confirm_paths = confirms
        .iter()
        .map(|p| strip(links.confirm(holder(p.member), p.object, now)))
        .collect();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: uuid::Uuid,
    }
    let big: Id = diesel::sql_query("SELECT id FROM circles WHERE slug = 'seed-big-circle'")
        .get_result(conn)
        .await?;
    let organiser: Id = diesel::sql_query("SELECT id FROM members WHERE email = $1")
        .bind::<Text, _>("organiser@seed.example.org")
        .get_result(conn)
        .await?;
    let login =
        crate::db::logins::new_link(conn, "", crate::domain::MemberId(organiser.id)).await?;
    // What the clock's first tick would mark, so the front page starts as it will run.
    crate::db::dashboard::refresh_attention(conn).await?;
    Ok(Targets {
        circle_slug: "seed-circle-1".into(),
        big_circle_id: big.id.to_string(),
        rsvp_paths,
        confirm_paths,
        calendar_paths,
        login_path: login,
    })
}
