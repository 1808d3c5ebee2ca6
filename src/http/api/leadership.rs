//! `/api/v1/leadership`: how widely leadership is spread across the organisation over a
//! window (default 90 days), and per circle; organisers only. The same figures as CSV at
//! `/api/v1/leadership.csv`.

use actix_web::{web, HttpResponse};

use super::auth::Caller;
use crate::domain::spread::{window, WindowQuery};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::views::leadership::{csv, spread_over, Spread};

#[utoipa::path(
    get, path = "/api/v1/leadership", tag = "leadership",
    params(WindowQuery),
    responses((status = 200, body = Spread), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<WindowQuery>,
) -> AppResult<web::Json<Spread>> {
    caller.require_organiser()?;
    let days = window(&query)?;
    let spread = state
        .reads
        .read(async |conn| Ok::<_, AppError>(spread_over(conn, days).await?))
        .await?;
    Ok(web::Json(spread))
}

#[utoipa::path(
    get, path = "/api/v1/leadership.csv", tag = "leadership",
    params(WindowQuery),
    responses((status = 200, content_type = "text/csv", body = String), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get_csv(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<WindowQuery>,
) -> AppResult<HttpResponse> {
    caller.require_organiser()?;
    let days = window(&query)?;
    let s = state
        .reads
        .read(async |conn| Ok::<_, AppError>(spread_over(conn, days).await?))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"leadership.csv\"",
        ))
        .body(csv(&s)?))
}
