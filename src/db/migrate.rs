//! Embedded migrations, applied by a blocking connection on a helper thread. Kept apart from
//! the async query modules so diesel's sync and async traits never meet in one scope.

use diesel::{Connection, RunQueryDsl};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Serialises migrations across every process that starts against one database.
const MIGRATION_LOCK_ID: i64 = 0x526f_756e_6474_6162; // "Roundtab"

/// Apply pending migrations under an advisory lock, so concurrent starts take turns.
pub async fn run_migrations(url: &DatabaseUrl) -> anyhow::Result<usize> {
    let configured = url.clone();
    let url = url.expose().to_string();
    let mut conn = match tokio::task::spawn_blocking(move || {
        AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
    })
    .await?
    {
        Ok(conn) => conn,
        Err(e) => {
            anyhow::bail!(super::unreachable_database(&configured, &e.to_string()).await)
        }
    };
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
            .execute(&mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))
            .execute(&mut conn)?;
        applied
    })
    .await?
}

/// Undo every migration (used by `roundtable migrate --revert-all` and the round-trip test).
pub async fn revert_all_migrations(url: &DatabaseUrl) -> anyhow::Result<usize> {
    let url = url.expose().to_string();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        conn.revert_all_migrations(MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))
    })
    .await?
}
