//! `/api/v1/sessions/{id}/reflections`: what members chose to share with their circle.

use actix_web::web;

use super::auth::Caller;
use crate::db::reflections::{self, SharedReflection};
use crate::domain::{ReflectionId, SessionId};
use crate::error::AppResult;
use crate::http::AppState;
use crate::pagination::{id_cursor, Page, PageQuery};

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}/reflections", tag = "reflections",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, description = "circle-visible reflections only; private ones are never listed", body = Page<SharedReflection>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<SharedReflection>>> {
    let page = query.parse()?;
    let after = page.after_id()?.map(ReflectionId);
    let mut conn = state.pool.get().await?;
    let session = caller.session(&mut conn, *id).await?;
    let rows = reflections::shared_for_session(&mut conn, session.id, after, page.fetch()).await?;
    Ok(web::Json(page.page(rows, |r| id_cursor(r.id.0))))
}
