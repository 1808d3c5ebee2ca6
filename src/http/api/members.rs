//! `/api/v1/circles/{id}/members`: add people by address, list the roster, change roles,
//! and remove (leave). People added here are vouched for: active or waitlisted at once.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::db::memberships::{self, Membership, RosterEntry};
use crate::domain::{
    CircleId, DisplayName, EmailAddress, MemberId, MembershipRole, MembershipState,
};
use crate::error::AppResult;
use crate::http::AppState;
use crate::pagination::{id_cursor, Page, PageQuery};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberAdd {
    pub email: String,
    /// Defaults to the part of the address before the @.
    pub display_name: Option<String>,
    /// Defaults to `member`.
    pub role: Option<MembershipRole>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberAdded {
    pub member_id: MemberId,
    pub state: MembershipState,
    pub role: MembershipRole,
    /// 1 for the head of the waitlist; null when not waitlisted.
    pub waitlist_position: Option<i32>,
}

impl From<Membership> for MemberAdded {
    fn from(m: Membership) -> Self {
        Self {
            member_id: m.member_id,
            state: m.state,
            role: m.role,
            waitlist_position: m.waitlist_position,
        }
    }
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/members", tag = "members",
    params(("id" = uuid::Uuid, Path)),
    request_body = MemberAdd,
    responses(
        (status = 201, description = "added, active or waitlisted", body = MemberAdded),
        (status = 200, description = "already a member; nothing changed", body = MemberAdded),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn add(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<MemberAdd>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let email = EmailAddress::parse(&input.email)?;
    let name = match &input.display_name {
        Some(n) => DisplayName::parse(n)?,
        None => DisplayName::parse(email.as_str().split('@').next().unwrap_or("member"))?,
    };
    let role = input.role.unwrap_or(MembershipRole::Member);
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let outcome =
        crate::actions::membership::add_vouched(&mut conn, circle.id, &email, &name, role).await?;
    let body = MemberAdded::from(outcome.membership);
    Ok(if outcome.changed {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    pub state: Option<MembershipState>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/members", tag = "members",
    params(("id" = uuid::Uuid, Path), MembersQuery),
    responses((status = 200, body = Page<RosterEntry>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    query: web::Query<MembersQuery>,
) -> AppResult<web::Json<Page<RosterEntry>>> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let after = page.after_id()?.map(MemberId);
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let mut rows =
        memberships::roster(&mut conn, circle.id, query.state, after, page.fetch()).await?;
    if !caller.organiser {
        memberships::withhold_addresses(&mut conn, circle.id, &mut rows).await?;
    }
    Ok(web::Json(page.page(rows, |r| id_cursor(r.member_id.0))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub role: Option<MembershipRole>,
    /// How the member takes part in the rotation of roles.
    pub rotation: Option<RotationPatch>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationPatch {
    /// Whether they take part in the rotation at all.
    pub opted_in: Option<bool>,
    /// 100 is a full share; 50 asks half as often, 200 twice as often.
    pub weight: Option<i64>,
    /// Not asked for sessions before this date; `null` ends the pause.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<chrono::NaiveDate>)]
    pub paused_until: Option<Option<chrono::NaiveDate>>,
    /// Role keys they are never asked for.
    pub opted_out_roles: Option<Vec<String>>,
}

impl RotationPatch {
    pub fn parse(self) -> Result<crate::actions::roles::PrefsChange, crate::domain::Invalid> {
        Ok(crate::actions::roles::PrefsChange {
            opted_in: self.opted_in,
            weight: self.weight.map(crate::domain::roles::weight).transpose()?,
            paused_until: self.paused_until,
            opted_out_roles: self.opted_out_roles,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberUpdated {
    #[serde(flatten)]
    pub membership: Membership,
    pub rotation: crate::db::roles::RotationPrefs,
}

#[utoipa::path(
    patch, path = "/api/v1/circles/{id}/members/{member_id}", tag = "members",
    params(("id" = uuid::Uuid, Path), ("member_id" = uuid::Uuid, Path)),
    request_body = MemberPatch,
    responses((status = 200, body = MemberUpdated), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CircleId, MemberId)>,
    body: web::Json<MemberPatch>,
) -> AppResult<web::Json<MemberUpdated>> {
    let (circle_id, member_id) = path.into_inner();
    let body = body.into_inner();
    if body.role.is_none() && body.rotation.is_none() {
        return Err(crate::error::AppError::BadRequest(
            "send `role`, `rotation` or both".into(),
        ));
    }
    let rotation = body.rotation.map(RotationPatch::parse).transpose()?;
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, circle_id).await?;
    if memberships::find(&mut conn, circle_id, member_id)
        .await?
        .is_none()
    {
        return Err(crate::error::AppError::NotFound("member"));
    }
    if let Some(change) = rotation {
        crate::actions::roles::set_prefs(&mut conn, &circle, member_id, change).await?;
    }
    let membership = match body.role {
        Some(role) => {
            crate::actions::membership::set_role(&mut conn, circle_id, member_id, role).await?
        }
        None => memberships::find(&mut conn, circle_id, member_id)
            .await?
            .ok_or(crate::error::AppError::NotFound("member"))?,
    };
    Ok(web::Json(MemberUpdated {
        membership,
        rotation: crate::db::roles::prefs(&mut conn, circle_id, member_id).await?,
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/circles/{id}/members/{member_id}", tag = "members",
    params(("id" = uuid::Uuid, Path), ("member_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "the membership, now `left`; the waitlist moves up", body = Membership),
        crate::http::api::ErrorResponses,
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CircleId, MemberId)>,
) -> AppResult<web::Json<Membership>> {
    let (circle_id, member_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    caller.circle(&mut conn, circle_id).await?;
    Ok(web::Json(
        crate::actions::membership::leave(&mut conn, circle_id, member_id).await?,
    ))
}
