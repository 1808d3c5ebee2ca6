//! `/api/v1/circles/{id}/readings`: what a circle reads.

use actix_web::{web, HttpResponse};

use super::auth::Caller;
use crate::db::readings::{self, Reading};
use crate::domain::readings::ReadingCreate;
use crate::domain::{CircleId, ReadingId};
use crate::error::AppResult;
use crate::http::AppState;
use crate::pagination::{int_id_cursor, Page, PageQuery};

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/readings", tag = "readings",
    params(("id" = uuid::Uuid, Path)),
    request_body = ReadingCreate,
    responses((status = 201, body = Reading), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<ReadingCreate>,
) -> AppResult<HttpResponse> {
    let new = body.into_inner().parse()?;
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let reading = readings::create(&mut conn, circle.id, new).await?;
    Ok(HttpResponse::Created().json(reading))
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/readings", tag = "readings",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<Reading>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Reading>>> {
    let page = query.parse()?;
    let after = page.after_int_id()?.map(|(p, id)| (p, ReadingId(id)));
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let rows = readings::list(&mut conn, circle.id, after, page.fetch()).await?;
    Ok(web::Json(
        page.page(rows, |r| int_id_cursor(r.position, r.id.0)),
    ))
}
