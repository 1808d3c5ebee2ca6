//! Postgres access: the pool, migrations, and one module of query functions per noun. Every
//! query function takes `&mut AsyncPgConnection` so callers can compose them in a transaction.

pub mod agendas;
pub mod agreements;
pub mod api_tokens;
pub mod circles;
pub mod dashboard;
pub mod deliveries;
pub mod feedback;
pub mod growing;
pub mod handoffs;
pub mod jobs;
pub mod leadership;
pub mod links;
pub mod logins;
pub mod members;
pub mod memberships;
mod migrate;
pub mod readings;
pub mod reflections;
pub mod replica;
pub mod roles;
pub mod rsvps;
pub mod schema;
pub mod sessions;
pub mod staff_sessions;
pub mod swaps;

use std::time::Duration;

use anyhow::Context;
use diesel::{ConnectionError, OptionalExtension};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::config::{DatabaseSettings, DatabaseUrl};

pub use diesel_async::AsyncPgConnection as Connection;
pub use migrate::{revert_all_migrations, run_migrations};

pub type Pool = diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// Build the pool once; each connection gets a statement timeout so a stuck query cannot
/// hold a worker forever, and waiting for a connection is bounded so an outage answers 503.
pub fn build_pool(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    build_pool_counting(settings, None)
}

/// The same pool, counting every SQL statement its connections run into `counter` (tests use
/// it to show a page runs a fixed number of statements).
pub fn build_pool_counting(
    settings: &DatabaseSettings,
    counter: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
) -> anyhow::Result<Pool> {
    build_pool_at(&settings.url, settings, counter)
}

/// A pool of connections to `url` (the primary's or a replica's) with the settings' sizes
/// and timeouts.
pub fn build_pool_at(
    url: &DatabaseUrl,
    settings: &DatabaseSettings,
    counter: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
) -> anyhow::Result<Pool> {
    let statement_timeout = settings.statement_timeout_ms;
    let connect_timeout = Duration::from_millis(settings.connect_timeout_ms);
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // Checking out a connection costs no round trip: a connection that died is noticed by
    // its first query (answered 503) and is not returned to the pool.
    config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_string();
        let counter = counter.clone();
        Box::pin(async move {
            let mut conn =
                tokio::time::timeout(connect_timeout, AsyncPgConnection::establish(&url))
                    .await
                    .map_err(|_| {
                        ConnectionError::BadConnection("timed out connecting to Postgres".into())
                    })??;
            diesel::sql_query(format!("SET statement_timeout = {statement_timeout}"))
                .execute(&mut conn)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            if let Some(counter) = counter {
                conn.set_instrumentation(
                    move |event: diesel::connection::InstrumentationEvent<'_>| {
                        if matches!(
                            event,
                            diesel::connection::InstrumentationEvent::StartQuery { .. }
                        ) {
                            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    },
                );
            }
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url.expose().to_string(), config);
    let acquire = Duration::from_millis(settings.acquire_timeout_ms);
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(Some(acquire))
        .create_timeout(Some(connect_timeout + Duration::from_millis(500)))
        .recycle_timeout(Some(acquire))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Create the configured database when the server does not have it yet.
pub async fn create_database_if_missing(url: &DatabaseUrl) -> anyhow::Result<()> {
    let Some(name) = url.database_name() else {
        anyhow::bail!("database.url names no database");
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        anyhow::bail!("database name {name:?} may only hold letters, digits, - and _");
    }
    let maintenance = url.with_database("postgres");
    let mut conn = match AsyncPgConnection::establish(maintenance.expose()).await {
        Ok(conn) => conn,
        Err(e) => anyhow::bail!(unreachable_database(url, &e.to_string()).await),
    };
    let exists = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<DatabaseName>(&mut conn)
        .await
        .optional()?
        .is_some();
    if !exists {
        match diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
        {
            Ok(_) => tracing::info!(database = name, "created database"),
            // Another process created it first.
            Err(e) if e.to_string().contains("already exists") => {}
            Err(e) => return Err(e).context(format!("creating database {name}")),
        }
    }
    Ok(())
}

/// Where a Postgres URL points: `host:port` (5432 when none is named), if it names a host.
fn server_address(url: &DatabaseUrl) -> Option<String> {
    let rest = url.expose().split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return None;
    }
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    Some(if has_port {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    })
}

/// A start-up failure to connect, in words that name the configured database, the server
/// and the cause (Postgres's client reports only "error connecting to server"; a plain TCP
/// connection says whether anything listens there at all).
pub async fn unreachable_database(url: &DatabaseUrl, error: &str) -> String {
    let name = url.database_name().unwrap_or("(none named)");
    let Some(address) = server_address(url) else {
        return format!(
            "cannot connect to database {name} ({}): {error}",
            url.redacted()
        );
    };
    let probe = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(&address),
    )
    .await;
    let cause = match probe {
        Err(_) => "no answer within 3 seconds".to_string(),
        Ok(Err(e)) => e.to_string(),
        // Something listens: the server itself refused (authentication, a missing role…).
        Ok(Ok(_)) => error.to_string(),
    };
    format!(
        "cannot connect to the PostgreSQL server at {address} for database {name}: {cause}. \
         Is PostgreSQL running there? (`scripts/dev-db` starts one; `database.url` or \
         DATABASE_URL chooses another.)"
    )
}

#[derive(diesel::QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[allow(dead_code)]
    datname: String,
}

/// Why the database did not answer: no connection from the pool, or the query failed.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("database pool: {0}")]
    Pool(#[from] PoolError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Whether the database answers a trivial query within the pool's timeouts.
pub async fn ping(pool: &Pool) -> Result<(), PingError> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}
