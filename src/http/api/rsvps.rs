//! `/api/v1/sessions/{id}/rsvps` and `/api/v1/sessions/{id}/attendance`.

use actix_web::web;
use serde::{Deserialize, Serialize};

use super::auth::Caller;

use crate::db::rsvps::{self, Rsvp, RsvpEntry};
use crate::domain::{Invalid, MemberId, RsvpResponse, SessionId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::pagination::{id_cursor, Page, PageQuery};

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}/rsvps", tag = "rsvps",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, description = "every active member with their answer (null if none yet)", body = Page<RsvpEntry>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<RsvpEntry>>> {
    let page = query.parse()?;
    let after = page.after_id()?.map(MemberId);
    let mut conn = state.pool.get().await?;
    let session = caller.session(&mut conn, *id).await?;
    let rows = rsvps::for_session(&mut conn, session.id, after, page.fetch()).await?;
    Ok(web::Json(page.page(rows, |r| id_cursor(r.member_id.0))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RsvpPut {
    pub response: RsvpResponse,
}

#[utoipa::path(
    put, path = "/api/v1/sessions/{id}/rsvps/{member_id}", tag = "rsvps",
    params(("id" = uuid::Uuid, Path), ("member_id" = uuid::Uuid, Path)),
    request_body = RsvpPut,
    responses(
        (status = 200, body = Rsvp),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(SessionId, MemberId)>,
    body: web::Json<RsvpPut>,
) -> AppResult<web::Json<Rsvp>> {
    let (session_id, member_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let session = caller.session(&mut conn, session_id).await?;
    use crate::actions::rsvps::{answer, Answer};
    match answer(
        &mut conn,
        &session,
        member_id,
        body.response,
        chrono::Utc::now(),
    )
    .await?
    {
        Answer::Saved(rsvp) => Ok(web::Json(rsvp)),
        Answer::Cancelled => Err(AppError::Conflict("the session is cancelled".into())),
        Answer::Started => Err(AppError::Conflict(
            "the session has started; answers close when it starts".into(),
        )),
        Answer::NotMember => {
            Err(Invalid::new("member_id", "is not an active member of this circle").into())
        }
    }
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceMark {
    pub member_id: MemberId,
    pub attended: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceUpdate {
    /// Up to 1000 marks; members not named keep their current mark.
    pub attendance: Vec<AttendanceMark>,
}

const MAX_MARKS: usize = 1000;

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}/attendance", tag = "rsvps",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, description = "every active member with `attended` (null when unmarked)", body = Page<RsvpEntry>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<RsvpEntry>>> {
    list(state, caller, id, query).await
}

#[utoipa::path(
    put, path = "/api/v1/sessions/{id}/attendance", tag = "rsvps",
    params(("id" = uuid::Uuid, Path)),
    request_body = AttendanceUpdate,
    responses(
        (status = 200, description = "the marks as stored", body = [Rsvp]),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn mark_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
    body: web::Json<AttendanceUpdate>,
) -> AppResult<web::Json<Vec<Rsvp>>> {
    let marks = body.into_inner().attendance;
    if marks.is_empty() || marks.len() > MAX_MARKS {
        return Err(Invalid::new("attendance", format!("must hold 1 to {MAX_MARKS} marks")).into());
    }
    let mut conn = state.pool.get().await?;
    let session = caller.session(&mut conn, *id).await?;
    let marks: Vec<(MemberId, bool)> = marks.iter().map(|m| (m.member_id, m.attended)).collect();
    let stored = crate::actions::attendance::mark(
        &mut conn,
        &session,
        caller.member_id,
        &marks,
        chrono::Utc::now(),
    )
    .await?;
    Ok(web::Json(stored))
}
