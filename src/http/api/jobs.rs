//! `/api/v1/jobs`: the email queue as organisers see it; dead jobs can be retried.

use actix_web::web;
use serde::Deserialize;

use super::auth::Organiser;
use crate::db::jobs::{self, Job};
use crate::domain::{JobId, JobState};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::pagination::{id_cursor, Page, PageQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    pub state: Option<JobState>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/jobs", tag = "jobs",
    params(JobsQuery),
    responses((status = 200, body = Page<Job>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    _organiser: Organiser,
    query: web::Query<JobsQuery>,
) -> AppResult<web::Json<Page<Job>>> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let after = page.after_id()?.map(JobId);
    let mut conn = state.pool.get().await?;
    let rows = jobs::list(&mut conn, query.state, after, page.fetch()).await?;
    Ok(web::Json(page.page(rows, |j| id_cursor(j.id.0))))
}

#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/retry", tag = "jobs",
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "queued again", body = Job),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn retry(
    state: web::Data<AppState>,
    _organiser: Organiser,
    id: web::Path<JobId>,
) -> AppResult<web::Json<Job>> {
    let mut conn = state.pool.get().await?;
    if let Some(job) = jobs::retry_dead(&mut conn, *id).await? {
        return Ok(web::Json(job));
    }
    match jobs::find(&mut conn, *id).await? {
        Some(job) => Err(AppError::Conflict(format!(
            "the job is {}, not dead",
            job.state
        ))),
        None => Err(AppError::NotFound("job")),
    }
}
