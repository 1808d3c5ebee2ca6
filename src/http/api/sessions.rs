//! Schedules and sessions: `/api/v1/circles/{id}/schedules`, `/api/v1/circles/{id}/sessions`,
//! `/api/v1/sessions/{id}` (read, reschedule) and `/api/v1/sessions/{id}/cancel`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::double_option;
use crate::db::sessions::{self, Session};
use crate::domain::schedule::ScheduleCreate;
use crate::domain::{CircleId, Invalid, MemberId, ReadingId, SessionEdit, SessionId};
use crate::error::AppResult;
use crate::http::AppState;
use crate::pagination::{time_id_cursor, Page, PageQuery};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleCreated {
    pub sessions: Vec<Session>,
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/schedules", tag = "sessions",
    params(("id" = uuid::Uuid, Path)),
    request_body = ScheduleCreate,
    responses((status = 201, body = ScheduleCreated), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn create_schedule(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<ScheduleCreate>,
) -> AppResult<HttpResponse> {
    let rule = body.parse()?;
    let location_override = SessionEdit::location(body.location.clone())?;
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let sessions =
        crate::actions::scheduling::create_sessions(&mut conn, &circle, &rule, location_override)
            .await?;
    Ok(HttpResponse::Created().json(ScheduleCreated { sessions }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Only sessions that end after this instant (RFC 3339), e.g. now for upcoming ones.
    pub from: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/sessions", tag = "sessions",
    params(("id" = uuid::Uuid, Path), SessionsQuery),
    responses((status = 200, body = Page<Session>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    query: web::Query<SessionsQuery>,
) -> AppResult<web::Json<Page<Session>>> {
    let query = query.into_inner();
    if let Some(from) = query.from {
        crate::domain::clock::instant_in_range("from", from)?;
    }
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let after = page.after_time_id()?.map(|(t, id)| (t, SessionId(id)));
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let rows = sessions::list(&mut conn, circle.id, query.from, after, page.fetch()).await?;
    Ok(web::Json(
        page.page(rows, |s| time_id_cursor(s.starts_at, s.id.0)),
    ))
}

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Session), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
) -> AppResult<web::Json<Session>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(caller.session(&mut conn, *id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    /// `YYYY-MM-DD` in the session's zone.
    pub local_date: Option<String>,
    /// `HH:MM` in the session's zone.
    pub local_time: Option<String>,
    pub duration_minutes: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub reading_id: Option<Option<ReadingId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub facilitator_id: Option<Option<MemberId>>,
    /// Questions for the reflection prompt; `null` uses the defaults for the circle's kind.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub prompts: Option<Option<String>>,
}

impl SessionPatch {
    fn is_empty(&self) -> bool {
        self.local_date.is_none()
            && self.local_time.is_none()
            && self.duration_minutes.is_none()
            && self.location.is_none()
            && self.reading_id.is_none()
            && self.facilitator_id.is_none()
            && self.prompts.is_none()
    }
}

#[utoipa::path(
    patch, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = uuid::Uuid, Path)),
    request_body = SessionPatch,
    responses(
        (status = 200, description = "changed; ics_sequence is bumped", body = Session),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
    body: web::Json<SessionPatch>,
) -> AppResult<web::Json<Session>> {
    let input = body.into_inner();
    if input.is_empty() {
        return Err(Invalid::new("body", "names nothing to change").into());
    }
    let edit = SessionEdit {
        local_date: input
            .local_date
            .as_deref()
            .map(SessionEdit::date)
            .transpose()?,
        local_time: input
            .local_time
            .as_deref()
            .map(SessionEdit::time)
            .transpose()?,
        duration_minutes: input
            .duration_minutes
            .map(SessionEdit::duration)
            .transpose()?,
        location: input.location.map(SessionEdit::location).transpose()?,
        reading_id: input.reading_id,
        facilitator_id: input.facilitator_id,
        prompts: input.prompts.map(SessionEdit::prompts).transpose()?,
    };
    let session_id = *id;
    let mut conn = state.pool.get().await?;
    caller.session(&mut conn, session_id).await?;
    let session = crate::actions::scheduling::edit_session(&mut conn, session_id, edit).await?;
    Ok(web::Json(session))
}

#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/cancel", tag = "sessions",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "cancelled (again, harmlessly, if it already was)", body = Session), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
) -> AppResult<web::Json<Session>> {
    let session_id = *id;
    let mut conn = state.pool.get().await?;
    caller.session(&mut conn, session_id).await?;
    let session = crate::actions::scheduling::cancel_session(&mut conn, session_id).await?;
    Ok(web::Json(session))
}
