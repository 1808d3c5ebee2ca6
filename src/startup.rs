//! Wiring: database, migrations, HTTP server. Tests build the same `Application` on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::http::{self, AppState};
use crate::metrics::Metrics;

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
}

impl Application {
    /// Create the database if needed, migrate it, and bind the HTTP listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        prepare_database(&settings).await?;
        let pool = db::build_pool(&settings.database)?;
        Self::build_with_pool(settings, pool)
    }

    /// Bind the HTTP listener over an existing pool (no migrations).
    pub fn build_with_pool(settings: Settings, pool: Pool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.http.bind)
            .with_context(|| format!("binding {}", settings.http.bind))?;
        let port = listener.local_addr()?.port();
        let workers = settings.http.workers;
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap_fn(http::record_metrics)
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .configure(http::configure)
        })
        .listen(listener)?;
        if let Some(n) = workers {
            server = server.workers(n);
        }
        Ok(Self {
            port,
            server: server.run(),
            pool,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Make the configured database exist and carry the current schema.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<()> {
    let url = &settings.database.url;
    if settings.database.create_if_missing {
        db::create_database_if_missing(url).await?;
    }
    let applied = db::run_migrations(url).await?;
    if applied > 0 {
        tracing::info!(applied, "applied migrations");
    }
    Ok(())
}
