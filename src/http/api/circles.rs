//! `/api/v1/circles`: create, list, read, edit and archive circles.

use actix_web::{web, HttpResponse};

use super::auth::{Caller, Organiser};
use crate::db::circles::{self, Circle};
use crate::domain::circles::{CircleCreate, CirclePatch};
use crate::domain::CircleId;
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::pagination::{id_cursor, Page, PageQuery};

#[utoipa::path(
    post, path = "/api/v1/circles", tag = "circles",
    request_body = CircleCreate,
    responses(
        (status = 201, body = Circle),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    _organiser: Organiser,
    body: web::Json<CircleCreate>,
) -> AppResult<HttpResponse> {
    let (new, slug, explicit) = body.into_inner().parse()?;
    let mut conn = state.pool.get().await?;
    let circle = circles::create(&mut conn, new, &slug, explicit)
        .await?
        .ok_or_else(|| AppError::Conflict(format!("the slug `{}` is taken", slug.as_str())))?;
    Ok(HttpResponse::Created().json(circle))
}

#[utoipa::path(
    get, path = "/api/v1/circles", tag = "circles",
    params(PageQuery),
    responses((status = 200, body = Page<Circle>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Circle>>> {
    let page = query.parse()?;
    let after = page.after_id()?.map(CircleId);
    let mut conn = state.pool.get().await?;
    let rows = circles::list(&mut conn, caller.circle_filter(), after, page.fetch()).await?;
    Ok(web::Json(page.page(rows, |c| id_cursor(c.id.0))))
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}", tag = "circles",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Circle), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<Circle>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(caller.circle(&mut conn, *id).await?))
}

#[utoipa::path(
    patch, path = "/api/v1/circles/{id}", tag = "circles",
    params(("id" = uuid::Uuid, Path)),
    request_body = CirclePatch,
    responses((status = 200, body = Circle), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<CirclePatch>,
) -> AppResult<web::Json<Circle>> {
    let changes = body.into_inner().parse()?;
    let circle_id = *id;
    let mut conn = state.pool.get().await?;
    caller.circle(&mut conn, circle_id).await?;
    let circle = crate::actions::circles::update_circle(&mut conn, circle_id, changes).await?;
    Ok(web::Json(circle))
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/archive", tag = "circles",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Circle), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<Circle>> {
    let mut conn = state.pool.get().await?;
    caller.circle(&mut conn, *id).await?;
    Ok(web::Json(
        crate::actions::circles::archive(&mut conn, *id).await?,
    ))
}
