//! Shared leadership over the API: a circle's roles (`/circles/{id}/roles`), its rota of
//! coming sessions (`/circles/{id}/rota`), assigning a holder directly
//! (`/sessions/{id}/roles/{role}`), and the ledger of who held what (`/circles/{id}/ledger`,
//! `/members/{id}/ledger`). Organisers and the circle's facilitators change roles; every
//! active member may read the rota and the ledger.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::actions::roles::{self as role_actions, RoleInput};
use crate::actions::rotation;
use crate::db::roles::{self, RoleKind, RoleKindChanges};
use crate::db::{members, memberships, sessions, Connection};
use crate::domain::roles as rules;
use crate::domain::{CircleId, Invalid, MemberId, Problems, RoleState, SessionId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleKind>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    /// Made from the name when absent ("Note-taker" → `note_taker`).
    pub key: Option<String>,
    pub name: String,
    pub guide: Option<String>,
    /// People per session (default 1).
    pub slots: Option<i64>,
    /// Whether a rotating circle proposes holders (default true).
    pub rotates: Option<bool>,
    /// Sessions attended before someone is asked (default 0).
    pub min_attended: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    pub name: Option<String>,
    pub guide: Option<String>,
    pub slots: Option<i64>,
    pub rotates: Option<bool>,
    pub min_attended: Option<i64>,
}

fn first(mut problems: Vec<Invalid>) -> AppError {
    problems.remove(0).into()
}

impl RoleCreate {
    pub fn parse(self) -> Result<RoleInput, AppError> {
        let mut p = Problems::default();
        let name = p.check(rules::name(&self.name));
        let key = match &self.key {
            Some(k) => p.check(rules::key(k)),
            None => name.as_deref().map(rules::key_from_name),
        };
        let guide = p.check(rules::guide(self.guide.as_deref().unwrap_or("")));
        let slots = p.check(rules::slots(self.slots.unwrap_or(1)));
        let min = p.check(rules::min_attended(self.min_attended.unwrap_or(0)));
        let (Some(name), Some(key), Some(guide), Some(slots), Some(min_attended)) =
            (name, key, guide, slots, min)
        else {
            return Err(first(p.0));
        };
        if key == roles::FACILITATOR {
            return Err(AppError::Conflict(
                "every circle already has the facilitator role; change it with PATCH".into(),
            ));
        }
        Ok(RoleInput {
            key,
            name,
            guide,
            slots,
            rotates: self.rotates.unwrap_or(true),
            min_attended,
        })
    }
}

impl RolePatch {
    pub fn parse(self) -> Result<RoleKindChanges, AppError> {
        let mut p = Problems::default();
        let changes = RoleKindChanges {
            name: p
                .check(self.name.as_deref().map(rules::name).transpose())
                .flatten(),
            guide: p
                .check(self.guide.as_deref().map(rules::guide).transpose())
                .flatten(),
            slots: p.check(self.slots.map(rules::slots).transpose()).flatten(),
            rotates: self.rotates,
            min_attended: p
                .check(self.min_attended.map(rules::min_attended).transpose())
                .flatten(),
        };
        if p.0.is_empty() {
            Ok(changes)
        } else {
            Err(first(p.0))
        }
    }
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotaSlot {
    pub role: String,
    pub slot: i32,
    pub member_id: Option<MemberId>,
    pub display_name: Option<String>,
    /// `proposed`, `asked`, `confirmed`, `declined` or `open`.
    pub state: RoleState,
    /// Why this person, in plain words.
    pub why: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotaSession {
    pub session_id: SessionId,
    pub starts_at: DateTime<Utc>,
    pub roles: Vec<RotaSlot>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rota {
    pub items: Vec<RotaSession>,
}

/// The rota of a circle's coming sessions: every slot of every role, filled or not.
pub async fn rota_of(
    conn: &mut Connection,
    circle: CircleId,
    limit: i64,
) -> AppResult<Vec<RotaSession>> {
    let now = Utc::now();
    let kinds = roles::kinds(conn, circle).await?;
    let upcoming = sessions::upcoming(conn, circle, now, limit).await?;
    let ids: Vec<SessionId> = upcoming.iter().map(|s| s.id).collect();
    let rows = roles::for_sessions(conn, &ids).await?;
    let holder_ids: Vec<MemberId> = rows.iter().filter_map(|r| r.member_id).collect();
    let names: HashMap<MemberId, String> = members::display_names(conn, &holder_ids)
        .await?
        .into_iter()
        .collect();
    let by_slot: HashMap<(SessionId, &str, i32), &roles::SessionRole> = rows
        .iter()
        .map(|r| ((r.session_id, r.role_key.as_str(), r.slot), r))
        .collect();
    Ok(upcoming
        .iter()
        .map(|s| RotaSession {
            session_id: s.id,
            starts_at: s.starts_at,
            roles: kinds
                .iter()
                .flat_map(|k| (1..=k.slots).map(move |slot| (k, slot)))
                .map(
                    |(k, slot)| match by_slot.get(&(s.id, k.key.as_str(), slot)) {
                        Some(r) => RotaSlot {
                            role: k.key.clone(),
                            slot,
                            member_id: r.member_id,
                            display_name: r.member_id.and_then(|m| names.get(&m).cloned()),
                            state: r.state,
                            why: r.why.clone(),
                        },
                        None => RotaSlot {
                            role: k.key.clone(),
                            slot,
                            member_id: None,
                            display_name: None,
                            state: RoleState::Open,
                            why: String::new(),
                        },
                    },
                )
                .collect(),
        })
        .collect())
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
    let row = rotation::assign(
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Held {
    pub count: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerRow {
    pub member_id: MemberId,
    pub display_name: String,
    /// Per role key: times held (confirmed, and not marked absent), first and last time.
    pub roles: BTreeMap<String, Held>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ledger {
    pub items: Vec<LedgerRow>,
    /// How evenly roles are spread over the active members: the mean over every pair of
    /// min/max of the roles they held; 1 is perfectly even.
    pub balance: f64,
}

/// The circle's ledger: its active members (and anyone who held a role), with their roles.
pub async fn ledger_of(conn: &mut Connection, circle: CircleId) -> AppResult<Ledger> {
    let held = roles::held(conn, circle, None, Utc::now()).await?;
    let roster = memberships::roster(
        conn,
        circle,
        Some(crate::domain::MembershipState::Active),
        None,
        10_000,
    )
    .await?;
    let mut rows: Vec<LedgerRow> = roster
        .iter()
        .map(|r| LedgerRow {
            member_id: r.member_id,
            display_name: r.display_name.clone(),
            roles: BTreeMap::new(),
        })
        .collect();
    let active = rows.len();
    let missing: Vec<MemberId> = held
        .iter()
        .map(|h| MemberId(h.member_id))
        .filter(|m| !rows.iter().any(|r| r.member_id == *m))
        .collect();
    for (id, name) in members::display_names(conn, &missing).await? {
        if !rows.iter().any(|r| r.member_id == id) {
            rows.push(LedgerRow {
                member_id: id,
                display_name: name,
                roles: BTreeMap::new(),
            });
        }
    }
    for h in held {
        if let Some(row) = rows.iter_mut().find(|r| r.member_id.0 == h.member_id) {
            row.roles.insert(
                h.role_key,
                Held {
                    count: h.count,
                    first_at: h.first_at,
                    last_at: h.last_at,
                },
            );
        }
    }
    let counts: Vec<u32> = rows[..active]
        .iter()
        .map(|r| r.roles.values().map(|h| h.count.max(0) as u32).sum())
        .collect();
    Ok(Ledger {
        balance: rules::balance(&counts),
        items: rows,
    })
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

/// The ledger as CSV: one line per member and role.
pub fn ledger_csv(ledger: &Ledger) -> AppResult<Vec<u8>> {
    let rows: Vec<Vec<String>> = ledger
        .items
        .iter()
        .flat_map(|row| {
            row.roles.iter().map(|(key, h)| {
                vec![
                    row.member_id.to_string(),
                    row.display_name.clone(),
                    key.clone(),
                    h.count.to_string(),
                    h.first_at.to_rfc3339(),
                    h.last_at.to_rfc3339(),
                ]
            })
        })
        .collect();
    crate::exports::table_csv(
        &[
            "member_id",
            "display_name",
            "role",
            "count",
            "first_at",
            "last_at",
        ],
        &rows,
    )
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
        || caller.organizer
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
