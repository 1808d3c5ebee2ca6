//! Liveness, readiness and metrics for operators and orchestrators.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::db;
use crate::error::AppError;
use crate::metrics::PoolGauges;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can serve: the database answers.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match db::ping(&state.pool).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok" })),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let status = state.pool.status();
    let pool = PoolGauges {
        in_use: status.size.saturating_sub(status.available),
        idle: status.available,
        max: status.max_size,
    };
    // Job counts are best effort: metrics must render while the database is down.
    let jobs = match state.pool.get().await {
        Ok(mut conn) => db::jobs::counts_by_state(&mut conn)
            .await
            .map(|rows| rows.into_iter().map(|(s, n)| (s.to_string(), n)).collect())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(pool, &jobs) + &state.reads.metrics()))
}
