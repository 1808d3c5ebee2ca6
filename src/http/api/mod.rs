//! The JSON API, `/api/v1`, and its OpenAPI document at `/api/openapi.json`.

pub mod agenda;
pub mod agreements;
mod auth;
pub mod circles;
pub mod feedback;
pub mod growing;
pub mod jobs;
pub mod leadership;
pub mod members;
pub mod reading_plan;
pub mod readings;
pub mod reflections;
pub mod roles;
pub mod rsvps;
pub mod sessions;

pub use auth::{Caller, Organiser};

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;

use super::MAX_BODY_BYTES;
use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi_json))
        .service(
            web::scope("/api/v1")
                .app_data(json_config())
                .app_data(path_config())
                .app_data(query_config())
                .route("/circles", web::get().to(circles::list))
                .route("/circles", web::post().to(circles::create))
                .route("/circles/{id}", web::get().to(circles::get))
                .route("/circles/{id}", web::patch().to(circles::patch))
                .route("/circles/{id}/archive", web::post().to(circles::archive))
                .route("/circles/{id}/readings", web::get().to(readings::list))
                .route("/circles/{id}/readings", web::post().to(readings::create))
                .route(
                    "/circles/{id}/reading-plan",
                    web::get().to(reading_plan::get_plan),
                )
                .route(
                    "/circles/{id}/reading-plan",
                    web::put().to(reading_plan::put_plan),
                )
                .route(
                    "/readings/{id}/chapters",
                    web::put().to(reading_plan::put_chapters),
                )
                .route(
                    "/circles/{id}/schedules",
                    web::post().to(sessions::create_schedule),
                )
                .route("/circles/{id}/sessions", web::get().to(sessions::list))
                .route("/circles/{id}/members", web::get().to(members::list))
                .route("/circles/{id}/members", web::post().to(members::add))
                .route(
                    "/circles/{id}/members/{member_id}",
                    web::patch().to(members::patch),
                )
                .route(
                    "/circles/{id}/members/{member_id}",
                    web::delete().to(members::remove),
                )
                .route("/circles/{id}/roles", web::get().to(roles::list))
                .route("/circles/{id}/roles", web::post().to(roles::create))
                .route("/circles/{id}/roles/{key}", web::patch().to(roles::patch))
                .route("/circles/{id}/roles/{key}", web::delete().to(roles::delete))
                .route("/circles/{id}/rota", web::get().to(roles::rota))
                .route("/circles/{id}/agenda", web::get().to(agenda::template))
                .route("/circles/{id}/agenda", web::put().to(agenda::put_template))
                .route("/sessions/{id}/agenda", web::get().to(agenda::session))
                .route("/sessions/{id}/feedback", web::get().to(feedback::counts))
                .route("/circles/{id}/agreements", web::get().to(agreements::list))
                .route(
                    "/circles/{id}/agreements",
                    web::post().to(agreements::create),
                )
                .route("/agreements/{id}", web::get().to(agreements::get))
                .route(
                    "/agreements/{id}/versions",
                    web::post().to(agreements::propose_change),
                )
                .route(
                    "/agreements/{id}/rounds",
                    web::post().to(agreements::open_round),
                )
                .route("/circles/{id}/ledger", web::get().to(roles::circle_ledger))
                .route(
                    "/circles/{id}/ledger.csv",
                    web::get().to(roles::circle_ledger_csv),
                )
                .route("/members/{id}/ledger", web::get().to(roles::member_ledger))
                .route("/sessions/{id}/roles/{role}", web::put().to(roles::assign))
                .route("/sessions/{id}", web::get().to(sessions::get))
                .route("/sessions/{id}", web::patch().to(sessions::patch))
                .route("/sessions/{id}/cancel", web::post().to(sessions::cancel))
                .route("/sessions/{id}/rsvps", web::get().to(rsvps::list))
                .route(
                    "/sessions/{id}/rsvps/{member_id}",
                    web::put().to(rsvps::put),
                )
                .route(
                    "/sessions/{id}/attendance",
                    web::get().to(rsvps::attendance),
                )
                .route(
                    "/sessions/{id}/attendance",
                    web::put().to(rsvps::mark_attendance),
                )
                .route(
                    "/sessions/{id}/reflections",
                    web::get().to(reflections::list),
                )
                .route("/circles/{id}/siblings", web::get().to(growing::list))
                .route("/circles/{id}/siblings", web::post().to(growing::create))
                .route(
                    "/circles/{id}/siblings/withdraw",
                    web::post().to(growing::withdraw),
                )
                .route("/leadership", web::get().to(leadership::get))
                .route("/leadership.csv", web::get().to(leadership::get_csv))
                .route("/jobs", web::get().to(jobs::list))
                .route("/jobs/{id}/retry", web::post().to(jobs::retry))
                .default_service(web::to(unknown_api_route)),
        );
}

/// A known path with an unsupported method is 405 with `Allow`; anything else is 404.
async fn unknown_api_route(req: HttpRequest) -> Result<HttpResponse, AppError> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    let allowed = ALLOWED.get_or_init(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, ops)| {
                        let methods: Vec<String> = ops
                            .as_object()
                            .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        (path.clone(), methods.join(", "))
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    match req.match_pattern().and_then(|p| allowed.get(&p)) {
        Some(methods) => Err(AppError::MethodNotAllowed(methods.clone())),
        None => Err(AppError::NotFound("route")),
    }
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req: &HttpRequest| {
            let app_err = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => {
                    AppError::PayloadTooLarge(MAX_BODY_BYTES)
                }
                JsonPayloadError::ContentType => AppError::BadRequest(
                    "send the body as JSON with Content-Type: application/json".into(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    AppError::BadRequest(format!("invalid JSON body: {e}"))
                }
                other => AppError::BadRequest(format!("could not read the body: {other}")),
            };
            app_err.into()
        })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        let detail = match &err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        AppError::BadRequest(format!(
            "malformed id in the path ({detail}); ids are UUIDs"
        ))
        .into()
    })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        AppError::BadRequest(format!("invalid query string: {detail}")).into()
    })
}

/// The error answers any operation may give, each with the `{"error": ...}` body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// The request could not be read: malformed JSON, unknown fields, wrong types, bad ids.
    #[response(status = 400)]
    BadRequest(crate::error::ErrorBody),
    /// No valid bearer token.
    #[response(status = 401)]
    Unauthorized(crate::error::ErrorBody),
    /// Organisers only, or not allowed to this caller (the person feedback on a session is
    /// about cannot change its attendance).
    #[response(status = 403)]
    Forbidden(crate::error::ErrorBody),
    /// Not found, or not visible to this caller.
    #[response(status = 404)]
    NotFound(crate::error::ErrorBody),
    /// Conflicts with the current state.
    #[response(status = 409)]
    Conflict(crate::error::ErrorBody),
    /// The body is larger than 64 KiB.
    #[response(status = 413)]
    PayloadTooLarge(crate::error::ErrorBody),
    /// A value breaks a rule; `field` names it.
    #[response(status = 422)]
    Invalid(crate::error::ErrorBody),
    /// A limit that keeps members' inboxes calm (new consent rounds); `Retry-After` says when.
    #[response(status = 429)]
    TooManyRequests(crate::error::ErrorBody),
    /// The database is unreachable; try again shortly.
    #[response(status = 503)]
    Unavailable(crate::error::ErrorBody),
}

pub(crate) use crate::domain::double_option;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roundtable API",
        version = "1",
        description = "Run book clubs and learning circles: circles, readings, schedules and \
                       sessions, members, RSVPs, attendance, reflections and the email queue."
    ),
    paths(
        circles::list, circles::create, circles::get, circles::patch, circles::archive,
        readings::list, readings::create,
        reading_plan::put_chapters, reading_plan::get_plan, reading_plan::put_plan,
        sessions::create_schedule, sessions::list, sessions::get, sessions::patch, sessions::cancel,
        members::list, members::add, members::patch, members::remove,
        rsvps::list, rsvps::put, rsvps::attendance, rsvps::mark_attendance,
        reflections::list,
        roles::list, roles::create, roles::patch, roles::delete, roles::rota, roles::assign,
        roles::circle_ledger, roles::circle_ledger_csv, roles::member_ledger,
        agenda::template, agenda::put_template, agenda::session,
        agreements::list, agreements::create, agreements::get, agreements::propose_change,
        agreements::open_round, feedback::counts,
        leadership::get, leadership::get_csv,
        growing::list, growing::create, growing::withdraw,
        jobs::list, jobs::retry,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "circles"), (name = "readings"), (name = "sessions"), (name = "members"),
        (name = "rsvps"), (name = "reflections"), (name = "roles"), (name = "agenda"), (name = "agreements"),
        (name = "feedback"), (name = "leadership"), (name = "growing"), (name = "jobs"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
