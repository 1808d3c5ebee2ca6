//! Agreements over the API: a circle's agreements (`/circles/{id}/agreements`: members read and
//! propose), one agreement with its versions and rounds (`/agreements/{id}`), a change to it
//! (`/agreements/{id}/versions`) and another round (`/agreements/{id}/rounds`, whoever runs the
//! circle). Round progress is counts only while a round is open; who said what appears once it
//! has closed.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::actions::agreements::{self as actions, Proposal};
use crate::db::agreements::{self, Agreement};
use crate::db::Connection;
use crate::domain::agreements as rules;
use crate::domain::{AgreementId, CircleId, Problems};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::views::agreements::{detail, round_view, AgreementDetail, RoundView};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementCreate {
    pub title: String,
    pub body: String,
    /// Sessions between reviews (1–52); absent means no review cadence.
    pub review_every_sessions: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionCreate {
    pub body: String,
    /// What changed and why.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementList {
    pub items: Vec<AgreementDetail>,
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/agreements", tag = "agreements",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = AgreementList), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<AgreementList>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    let mut items = Vec::new();
    for agreement in agreements::for_circle(&mut conn, circle.id).await? {
        items.push(detail(&mut conn, agreement).await?);
    }
    Ok(web::Json(AgreementList { items }))
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/agreements", tag = "agreements",
    params(("id" = uuid::Uuid, Path)),
    request_body = AgreementCreate,
    responses((status = 201, body = AgreementDetail), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<AgreementCreate>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    let input = body.into_inner();
    let mut p = Problems::default();
    let title = p.check(rules::title(&input.title));
    let text = p.check(rules::body(&input.body));
    let review = p.check(
        input
            .review_every_sessions
            .map(rules::review_every)
            .transpose(),
    );
    let (Some(title), Some(text), Some(review)) = (title, text, review) else {
        return Err(p.0.remove(0).into());
    };
    let (agreement, _) = actions::propose(
        &mut conn,
        &circle,
        caller.member_id,
        Proposal {
            title,
            body: text,
            review_every_sessions: review,
        },
        state.settings.limits.rounds(),
        Utc::now(),
    )
    .await?;
    let view = detail(&mut conn, agreement).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The agreement, if the caller runs its circle or is an active member of it.
async fn visible(conn: &mut Connection, caller: &Caller, id: AgreementId) -> AppResult<Agreement> {
    let agreement = agreements::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("agreement"))?;
    caller
        .circle_as_member(conn, agreement.circle_id)
        .await
        .map_err(|_| AppError::NotFound("agreement"))?;
    Ok(agreement)
}

#[utoipa::path(
    get, path = "/api/v1/agreements/{id}", tag = "agreements",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = AgreementDetail), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<AgreementId>,
) -> AppResult<web::Json<AgreementDetail>> {
    let mut conn = state.pool.get().await?;
    let agreement = visible(&mut conn, &caller, *id).await?;
    Ok(web::Json(detail(&mut conn, agreement).await?))
}

#[utoipa::path(
    post, path = "/api/v1/agreements/{id}/versions", tag = "agreements",
    params(("id" = uuid::Uuid, Path)),
    request_body = VersionCreate,
    responses((status = 201, body = RoundView), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn propose_change(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<AgreementId>,
    body: web::Json<VersionCreate>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let agreement = visible(&mut conn, &caller, *id).await?;
    let input = body.into_inner();
    let text = rules::body(&input.body)?;
    let note = rules::note(input.note.as_deref().unwrap_or(""))?;
    let round = actions::propose_change(
        &mut conn,
        agreement.id,
        caller.member_id,
        text,
        note,
        state.settings.limits.rounds(),
        Utc::now(),
    )
    .await?;
    let view = round_view(&mut conn, round).await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    post, path = "/api/v1/agreements/{id}/rounds", tag = "agreements",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 201, body = RoundView), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn open_round(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<AgreementId>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let agreement = agreements::find(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound("agreement"))?;
    caller
        .check_circle(&mut conn, agreement.circle_id)
        .await
        .map_err(|_| AppError::NotFound("agreement"))?;
    let round = actions::open_round(
        &mut conn,
        agreement.id,
        state.settings.limits.rounds(),
        Utc::now(),
    )
    .await?;
    let view = round_view(&mut conn, round).await?;
    Ok(HttpResponse::Created().json(view))
}
