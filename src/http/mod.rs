//! HTTP: the JSON API under `/api/v1`, operations endpoints, and shared request plumbing.

pub mod access;
pub mod api;
pub mod dashboard;
mod ops;
pub mod pages;
pub mod public;
pub mod rate_limit;
mod state;

use std::time::Instant;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;

pub use state::AppState;

/// Largest request body accepted anywhere.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Register every route on an actix `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(pages::form_config())
        .app_data(pages::query_config())
        .configure(ops::configure)
        .configure(api::configure)
        .configure(public::configure)
        .configure(dashboard::configure)
        .default_service(web::to(not_found));
}

/// JSON for API paths, a friendly page for everything else.
async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    if req.path().starts_with("/api/") {
        AppError::NotFound("route").error_response()
    } else {
        pages::PageError::not_found().error_response()
    }
}

/// Headers every response carries: no framing, no inline script, no referrer (links carry
/// tokens), no MIME sniffing; HSTS when served over https.
pub fn security_headers(https: bool) -> actix_web::middleware::DefaultHeaders {
    let mut headers = actix_web::middleware::DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"));
    if https {
        headers = headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ));
    }
    headers
}

/// Time each request and count it under its route pattern.
pub fn record_metrics<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<
        actix_web::dev::ServiceRequest,
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        if let Some(metrics) = metrics {
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_string());
            metrics.record(&method, &route, res.status().as_u16(), started.elapsed());
        }
        Ok(res)
    }
}
