//! The JSON API, `/api/v1`, and its OpenAPI document at `/api/openapi.json`.

mod auth;
pub mod circles;
pub mod jobs;
pub mod members;
pub mod readings;
pub mod reflections;
pub mod rsvps;
pub mod sessions;

pub use auth::{Caller, Organizer};

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};
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
                .route("/jobs", web::get().to(jobs::list))
                .route("/jobs/{id}/retry", web::post().to(jobs::retry))
                .default_service(web::to(unknown_api_route)),
        );
}

async fn unknown_api_route() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("route"))
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

/// For PATCH bodies: a present `null` is `Some(None)`, an absent field is `None`.
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

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
        sessions::create_schedule, sessions::list, sessions::get, sessions::patch, sessions::cancel,
        members::list, members::add, members::patch, members::remove,
        rsvps::list, rsvps::put, rsvps::attendance, rsvps::mark_attendance,
        reflections::list,
        jobs::list, jobs::retry,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "circles"), (name = "readings"), (name = "sessions"), (name = "members"),
        (name = "rsvps"), (name = "reflections"), (name = "jobs"),
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
