//! `/sessions/{id}/feedback` for whoever runs the circle: how many were asked and how many
//! answered, per role holder who asked for feedback. Counts only, never what anyone wrote.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::auth::Caller;
use crate::db::feedback;
use crate::domain::{FeedbackMode, MemberId, SessionId};
use crate::error::AppResult;
use crate::http::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestCounts {
    pub role: String,
    pub subject_id: MemberId,
    pub mode: FeedbackMode,
    pub closes_at: DateTime<Utc>,
    /// People asked: those marked present when the feedback opened, but the role holder.
    pub requested: i64,
    pub answered: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackCounts {
    /// Summed over the session's requests.
    pub requested: i64,
    pub answered: i64,
    pub requests: Vec<RequestCounts>,
}

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}/feedback", tag = "feedback",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = FeedbackCounts), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn counts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<SessionId>,
) -> AppResult<web::Json<FeedbackCounts>> {
    let mut conn = state.pool.get().await?;
    let session = caller.session(&mut conn, *id).await?;
    let mut requests = Vec::new();
    for request in feedback::for_session(&mut conn, session.id).await? {
        requests.push(RequestCounts {
            answered: feedback::answered(&mut conn, request.id).await?,
            requested: feedback::asked(&mut conn, &request).await?,
            role: request.role_key,
            subject_id: request.subject_id,
            mode: request.mode,
            closes_at: request.closes_at,
        });
    }
    Ok(web::Json(FeedbackCounts {
        requested: requests.iter().map(|r| r.requested).sum(),
        answered: requests.iter().map(|r| r.answered).sum(),
        requests,
    }))
}
