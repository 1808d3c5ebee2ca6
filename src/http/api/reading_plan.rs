//! Reading plans over the API: a reading's chapters (`PUT /readings/{id}/chapters`, as a list
//! or a pasted table of contents) and the circle's plan of which pages each session reads
//! (`GET/PUT /circles/{id}/reading-plan`).

use actix_web::web;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::actions::reading_plan::{self as actions, Boundary};
use crate::db::readings;
use crate::domain::reading_plan::{self as rules, Chapter};
use crate::domain::{CircleId, ReadingId, SessionId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaptersPut {
    /// The chapters in order: `{"number", "title", "first_page", "last_page"}`.
    pub chapters: Option<Vec<Chapter>>,
    /// Or a pasted table of contents, one chapter per line ending in its first page (or
    /// `first-last`), with `last_page` for the end of the book.
    pub contents: Option<String>,
    pub last_page: Option<i32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub session_id: SessionId,
    pub reading_id: ReadingId,
    /// First and last page.
    pub from: i32,
    pub to: i32,
    pub pages: i32,
    pub label: String,
    /// More than 1.5 times the median segment.
    #[serde(default)]
    pub uneven: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadingPlan {
    pub segments: Vec<SegmentView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSegment {
    pub session_id: SessionId,
    pub reading_id: ReadingId,
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingPlanPut {
    pub segments: Vec<PlanSegment>,
}

#[utoipa::path(
    put, path = "/api/v1/readings/{id}/chapters", tag = "readings",
    params(("id" = uuid::Uuid, Path)),
    request_body = ChaptersPut,
    responses((status = 200, body = ReadingPlan), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn put_chapters(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ReadingId>,
    body: web::Json<ChaptersPut>,
) -> AppResult<web::Json<ReadingPlan>> {
    let mut conn = state.pool.get().await?;
    let (circle, _) = readings::chapters(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound("reading"))?;
    caller
        .check_circle(&mut conn, circle)
        .await
        .map_err(|_| AppError::NotFound("reading"))?;
    let body = body.into_inner();
    let chapters = match (body.chapters, body.contents) {
        (Some(c), None) => rules::check_chapters(c)?,
        (None, Some(text)) => {
            let last = body.last_page.ok_or_else(|| {
                AppError::invalid("last_page", "is needed with contents: the book's last page")
            })?;
            rules::parse_contents(&text, last)?
        }
        _ => {
            return Err(AppError::invalid(
                "chapters",
                "send either chapters or contents (with last_page)",
            ))
        }
    };
    actions::set_chapters(&mut conn, *id, chapters, Utc::now()).await?;
    Ok(web::Json(plan(&mut conn, circle).await?))
}

async fn plan(conn: &mut crate::db::Connection, circle: CircleId) -> AppResult<ReadingPlan> {
    let (rows, uneven) = actions::plan_of(conn, circle).await?;
    Ok(ReadingPlan {
        segments: rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| SegmentView {
                session_id: r.session_id,
                reading_id: r.reading_id,
                from: r.first_page,
                to: r.last_page,
                pages: r.last_page - r.first_page + 1,
                label: r.label,
                uneven: uneven.contains(&i),
            })
            .collect(),
    })
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/reading-plan", tag = "readings",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ReadingPlan), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<ReadingPlan>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    Ok(web::Json(plan(&mut conn, circle.id).await?))
}

#[utoipa::path(
    put, path = "/api/v1/circles/{id}/reading-plan", tag = "readings",
    params(("id" = uuid::Uuid, Path)),
    request_body = ReadingPlanPut,
    responses((status = 200, body = ReadingPlan), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn put_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<ReadingPlanPut>,
) -> AppResult<web::Json<ReadingPlan>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let segments = body
        .into_inner()
        .segments
        .into_iter()
        .map(|s| Boundary {
            session_id: s.session_id,
            reading_id: s.reading_id,
            first_page: s.from,
            last_page: s.to,
        })
        .collect();
    actions::set_plan(&mut conn, circle.id, segments, Utc::now()).await?;
    Ok(web::Json(plan(&mut conn, circle.id).await?))
}
