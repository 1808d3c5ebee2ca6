use diesel_async::RunQueryDsl;

use crate::helpers::{empty_database, fresh_database};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn table_count(url: &roundtable::config::DatabaseUrl) -> i64 {
    use diesel_async::AsyncConnection;
    let mut conn = roundtable::db::Connection::establish(url.expose())
        .await
        .unwrap();
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
           AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    c.n
}

/// The tables diesel's schema declares: the migrations must create exactly these.
fn declared_tables() -> i64 {
    include_str!("../../src/db/schema.rs")
        .matches("diesel::table! {")
        .count() as i64
}

fn migration_count() -> usize {
    std::fs::read_dir("migrations")
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .count()
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    let url = empty_database().await;
    let n = migration_count();
    assert_eq!(roundtable::db::run_migrations(&url).await.unwrap(), n);
    assert_eq!(table_count(&url).await, declared_tables());
    assert_eq!(
        roundtable::db::run_migrations(&url).await.unwrap(),
        0,
        "idempotent"
    );
    assert_eq!(
        roundtable::db::revert_all_migrations(&url).await.unwrap(),
        n
    );
    assert_eq!(table_count(&url).await, 0);
    assert_eq!(roundtable::db::run_migrations(&url).await.unwrap(), n);
    assert_eq!(table_count(&url).await, declared_tables());
}

#[tokio::test]
async fn concurrent_starts_migrate_once() {
    let url = empty_database().await;
    let runs =
        futures_util::future::join_all((0..4).map(|_| roundtable::db::run_migrations(&url))).await;
    let applied: usize = runs.into_iter().map(|r| r.unwrap()).sum();
    assert_eq!(applied, migration_count());
}

#[tokio::test]
async fn the_database_refuses_impossible_states() {
    use diesel_async::AsyncConnection;
    let url = fresh_database().await;
    let mut conn = roundtable::db::Connection::establish(url.expose())
        .await
        .unwrap();
    let exec = |sql: &'static str| diesel::sql_query(sql);
    exec("INSERT INTO members (id, email, display_name) VALUES (gen_random_uuid(), 'Ada@Example.org', 'Ada')")
        .execute(&mut conn)
        .await
        .unwrap();
    exec("INSERT INTO circles (id, slug, name, timezone) VALUES ('00000000-0000-7000-8000-000000000001', 'c', 'C', 'UTC')")
        .execute(&mut conn)
        .await
        .unwrap();
    for bad in [
        // The same address in another case.
        "INSERT INTO members (id, email, display_name) VALUES (gen_random_uuid(), 'ada@example.ORG', 'Ada')",
        "INSERT INTO circles (id, slug, name, timezone, capacity) VALUES (gen_random_uuid(), 'd', 'D', 'UTC', 0)",
        "INSERT INTO circles (id, slug, name, timezone) VALUES (gen_random_uuid(), 'Bad Slug', 'D', 'UTC')",
        "INSERT INTO circles (id, slug, name, timezone, kind) VALUES (gen_random_uuid(), 'e', 'E', 'UTC', 'poetry')",
        "INSERT INTO memberships (circle_id, member_id, state) SELECT '00000000-0000-7000-8000-000000000001', id, 'waitlisted' FROM members",
        "INSERT INTO memberships (circle_id, member_id, state, waitlist_position) SELECT '00000000-0000-7000-8000-000000000001', id, 'active', 3 FROM members",
        "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes) \
         VALUES (gen_random_uuid(), '00000000-0000-7000-8000-000000000001', now(), now(), '2027-01-01', '10:00', 'UTC', 0)",
        "INSERT INTO rsvps (session_id, member_id, response) SELECT gen_random_uuid(), id, 'yes' FROM members",
        "INSERT INTO jobs (id, kind, state) VALUES (gen_random_uuid(), 'x', 'lost')",
    ] {
        let result = diesel::sql_query(bad).execute(&mut conn).await;
        assert!(result.is_err(), "accepted: {bad}");
    }
}
