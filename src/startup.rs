//! Wiring: database, migrations, HTTP server. Tests build the same `Application` on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tokio::sync::watch;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::domain::tokens::TokenKeys;
use crate::email::Mailer;
use crate::http::rate_limit::RateLimiter;
use crate::http::{self, AppState};
use crate::jobs::JobContext;
use crate::links::Links;
use crate::metrics::Metrics;
use crate::worker::{self, WorkerConfig};

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    worker: Option<WorkerHandle>,
}

/// A worker running inside this process, and the switch that stops it.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Start the worker for these settings over `pool`.
    pub fn spawn(settings: &Settings, pool: Pool) -> anyhow::Result<Self> {
        let mailer = Arc::new(Mailer::from_settings(
            &settings.email,
            settings.worker.concurrency,
        )?);
        let ctx = Arc::new(JobContext::new(settings, pool, mailer)?);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(worker::run(
            ctx,
            WorkerConfig::from(&settings.worker),
            Some(settings.database.url.clone()),
            stopped,
        ));
        Ok(Self { stop, task })
    }

    /// Stop claiming, let jobs in flight finish, and wait for that.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Application {
    /// Create the database if needed, migrate it, and bind the HTTP listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        prepare_database(&settings).await?;
        let pool = db::build_pool(&settings.database)?;
        let worker = if settings.worker.enabled {
            Some(WorkerHandle::spawn(&settings, pool.clone())?)
        } else {
            None
        };
        let mut app = Self::build_with_pool(settings, pool)?;
        app.worker = worker;
        Ok(app)
    }

    /// Bind the HTTP listener over an existing pool (no migrations).
    pub fn build_with_pool(settings: Settings, pool: Pool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.http.bind)
            .with_context(|| format!("binding {}", settings.http.bind))?;
        let port = listener.local_addr()?.port();
        let workers = settings.http.workers;
        let token_key = settings.token_key()?;
        let keys = TokenKeys::new(token_key.expose(), &[]);
        let links = Links::new(settings.public_base(), keys);
        let https = settings.http.public_url.starts_with("https://");
        let idle_hours = settings.http.session_idle_hours;
        let reads = db::replica::Reads::new(&settings.database, pool.clone())?;
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            reads,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            links,
            limiter: Arc::new(RateLimiter::new()),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(http::dashboard::session_middleware(
                    token_key.expose(),
                    https,
                    idle_hours,
                ))
                .wrap_fn(http::pages::error_context)
                .wrap_fn(http::dashboard::same_origin_referrer)
                .wrap(http::security_headers(https))
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
            worker: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Serve until a stop signal; then the worker, if any, finishes its jobs in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(worker) = self.worker {
            worker.shutdown().await;
        }
        result
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
