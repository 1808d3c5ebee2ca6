//! Talking-piece agendas over the API: a circle's template (`/circles/{id}/agenda`, read by
//! its members, changed by whoever runs it) and a session's rounds with their speaking order
//! (`/sessions/{id}/agenda`).

use actix_web::web;
use serde::Deserialize;

use super::auth::Caller;
use crate::db::sessions;
use crate::domain::agenda::{Template, TemplateRound};
use crate::domain::{CircleId, SessionId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::views::agenda::{self, SessionAgenda};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePut {
    /// Whether sessions run these rounds (default true).
    pub enabled: Option<bool>,
    pub rounds: Vec<TemplateRound>,
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/agenda", tag = "agenda",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Template), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn template(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<Template>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    Ok(web::Json(agenda::template_of(&mut conn, &circle).await?))
}

#[utoipa::path(
    put, path = "/api/v1/circles/{id}/agenda", tag = "agenda",
    params(("id" = uuid::Uuid, Path)),
    request_body = TemplatePut,
    responses((status = 200, body = Template), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn put_template(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<TemplatePut>,
) -> AppResult<web::Json<Template>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let body = body.into_inner();
    let enabled = body.enabled.unwrap_or(true);
    let template =
        crate::actions::agenda::save_template(&mut conn, circle.id, enabled, body.rounds)
            .await?
            .map_err(AppError::from)?;
    Ok(web::Json(template))
}

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}/agenda", tag = "agenda",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = SessionAgenda), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn session(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
) -> AppResult<web::Json<SessionAgenda>> {
    let mut conn = state.pool.get().await?;
    let session = sessions::find(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    let circle = caller
        .circle_as_member(&mut conn, session.circle_id)
        .await
        .map_err(|_| AppError::NotFound("session"))?;
    let built = agenda::for_session(&mut conn, &session, &circle).await?;
    Ok(web::Json(built.unwrap_or(SessionAgenda {
        enabled: false,
        rounds: Vec::new(),
        frozen: false,
        seed: agenda::speaking_order_seed(circle.id),
    })))
}
