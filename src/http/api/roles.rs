//! Shared leadership over the API: a circle's roles (`/circles/{id}/roles`), its rota of
//! coming sessions (`/circles/{id}/rota`), assigning a holder directly
//! (`/sessions/{id}/roles/{role}`), and the ledger of who held what (`/circles/{id}/ledger`,
//! `/members/{id}/ledger`). Organisers and the circle's facilitators change roles; every
//! active member may read the rota and the ledger.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::actions::roles as role_actions;
use crate::actions::rota;
use crate::db::roles::{self, RoleKind};
use crate::db::{members, memberships, Connection};
use crate::domain::roles as rules;
use crate::domain::roles::{RoleCreate, RolePatch};
use crate::domain::{CircleId, MemberId, SessionId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::views::rota::{ledger_csv, ledger_of, rota_of, Ledger, Rota, RotaSlot};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleKind>,
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/roles", tag = "roles",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RoleList), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<RoleList>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    Ok(web::Json(RoleList {
        items: roles::kinds(&mut conn, circle.id).await?,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/roles", tag = "roles",
    params(("id" = uuid::Uuid, Path)),
    request_body = RoleCreate,
    responses((status = 201, body = RoleKind), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<RoleCreate>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner().parse()?;
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let kind = role_actions::add(&mut conn, &circle, input).await?;
    Ok(HttpResponse::Created().json(kind))
}

#[utoipa::path(
    patch, path = "/api/v1/circles/{id}/roles/{key}", tag = "roles",
    params(("id" = uuid::Uuid, Path), ("key" = String, Path)),
    request_body = RolePatch,
    responses((status = 200, body = RoleKind), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CircleId, String)>,
    body: web::Json<RolePatch>,
) -> AppResult<web::Json<RoleKind>> {
    let (circle_id, key) = path.into_inner();
    let changes = body.into_inner().parse()?;
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, circle_id).await?;
    Ok(web::Json(
        role_actions::update(&mut conn, &circle, &key, changes).await?,
    ))
}

#[utoipa::path(
    delete, path = "/api/v1/circles/{id}/roles/{key}", tag = "roles",
    params(("id" = uuid::Uuid, Path), ("key" = String, Path)),
    responses((status = 204, description = "removed, with its holders in sessions to come"), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CircleId, String)>,
) -> AppResult<HttpResponse> {
    let (circle_id, key) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, circle_id).await?;
    role_actions::remove(&mut conn, &circle, &key).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RotaQuery {
    /// Coming sessions to show (default 12, at most 52).
    pub limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/rota", tag = "roles",
    params(("id" = uuid::Uuid, Path), RotaQuery),
    responses((status = 200, body = Rota), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn rota(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    query: web::Query<RotaQuery>,
) -> AppResult<web::Json<Rota>> {
    let limit = query.limit.unwrap_or(12);
    if !(1..=52).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "must be between 1 and 52 sessions",
        ));
    }
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    Ok(web::Json(Rota {
        items: rota_of(&mut conn, circle.id, limit).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssign {
    pub member_id: MemberId,
    /// Which slot of the role (default 1).
    pub slot: Option<i64>,
}

#[utoipa::path(
    put, path = "/api/v1/sessions/{id}/roles/{role}", tag = "roles",
    params(("id" = uuid::Uuid, Path), ("role" = String, Path)),
    request_body = RoleAssign,
    responses((status = 200, body = RotaSlot), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn assign(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(SessionId, String)>,
    body: web::Json<RoleAssign>,
) -> AppResult<web::Json<RotaSlot>> {
    let (session_id, key) = path.into_inner();
    let slot = body.slot.unwrap_or(1);
    if !(1..=rules::MAX_SLOTS).contains(&slot) {
        return Err(AppError::invalid("slot", "must be between 1 and 10"));
    }
    let mut conn = state.pool.get().await?;
    let session = caller.session(&mut conn, session_id).await?;
    let row = rota::assign(
        &mut conn,
        session.id,
        &key,
        slot as i32,
        body.member_id,
        caller.member_id,
        Utc::now(),
    )
    .await?;
    let name = members::find(&mut conn, body.member_id)
        .await?
        .map(|m| m.display_name);
    Ok(web::Json(RotaSlot {
        role: row.role_key,
        slot: row.slot,
        member_id: row.member_id,
        display_name: name,
        state: row.state,
        why: row.why,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/ledger", tag = "roles",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Ledger), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn circle_ledger(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<Ledger>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    Ok(web::Json(ledger_of(&mut conn, circle.id).await?))
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/ledger.csv", tag = "roles",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "member_id,display_name,role,count,first_at,last_at", content_type = "text/csv"), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn circle_ledger_csv(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle_as_member(&mut conn, *id).await?;
    let ledger = ledger_of(&mut conn, circle.id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(ledger_csv(&ledger)?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PathStep {
    pub circle_id: uuid::Uuid,
    pub circle_name: String,
    pub role: String,
    pub role_name: String,
    pub count: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberLedger {
    pub member_id: MemberId,
    pub display_name: String,
    /// The roles they held, in the order they first held them: their path.
    pub items: Vec<PathStep>,
}

#[utoipa::path(
    get, path = "/api/v1/members/{id}/ledger", tag = "roles",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = MemberLedger), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn member_ledger(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MemberId>,
) -> AppResult<web::Json<MemberLedger>> {
    let member_id = *id;
    let mut conn = state.pool.get().await?;
    let member = members::find(&mut conn, member_id)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let steps = roles::held_by_member(&mut conn, member_id, Utc::now()).await?;
    // Anyone sees their own; others see the circles they share (as a member or runner).
    let mut items = Vec::new();
    for s in steps {
        let visible = caller.member_id == member_id
            || caller
                .circle_as_member(&mut conn, CircleId(s.circle_id))
                .await
                .is_ok();
        if visible {
            items.push(PathStep {
                circle_id: s.circle_id,
                circle_name: s.circle_name,
                role: s.role_key,
                role_name: s.role_name,
                count: s.count,
                first_at: s.first_at,
                last_at: s.last_at,
            });
        }
    }
    let shares_a_circle = caller.member_id == member_id
        || caller.organiser
        || !items.is_empty()
        || shares_circle(&mut conn, caller, member_id).await?;
    if !shares_a_circle {
        return Err(AppError::NotFound("member"));
    }
    Ok(web::Json(MemberLedger {
        member_id,
        display_name: member.display_name,
        items,
    }))
}

async fn shares_circle(conn: &mut Connection, caller: Caller, member: MemberId) -> AppResult<bool> {
    for m in memberships::of_member(conn, member).await? {
        if m.state == crate::domain::MembershipState::Active
            && caller.circle_as_member(conn, m.circle_id).await.is_ok()
        {
            return Ok(true);
        }
    }
    Ok(false)
}
