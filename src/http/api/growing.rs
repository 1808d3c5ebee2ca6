//! Growing circles: `GET /circles/{id}/siblings` (the threshold, who is waiting, who could
//! lead a sibling and in what order, the proposals and the family), `POST` to start a
//! proposal by hand (organisers), and `POST /circles/{id}/siblings/withdraw` to call off the
//! one asking.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::{Caller, Organiser};
use crate::actions::growing::{self, Outlook, Request};
use crate::db::growing::{self as db, Proposal};
use crate::db::members;
use crate::domain::{CircleId, MemberId, ProposalId, ProposalStart, ProposalState};
use crate::error::{AppError, AppResult};
use crate::http::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiblingCreate {
    /// The sibling's name (default: the family's name with the next numeral, "Small Room II").
    pub name: Option<String>,
    /// Ask this member first; they must be one who may lead: they led the circle at least
    /// twice (or, while nobody who takes part has, once, and came to three of its sessions).
    pub lead_id: Option<MemberId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AskedView {
    pub member_id: MemberId,
    pub display_name: String,
    pub answer_by: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    pub id: ProposalId,
    pub circle_id: CircleId,
    pub name: String,
    pub state: ProposalState,
    pub started_by: ProposalStart,
    /// Who may lead, best first, as ordered when the proposal was made (organisers only;
    /// empty for others).
    pub lead_order: Vec<MemberId>,
    /// Who said "not now" or let the ask lapse (organisers only; empty for others).
    pub passed: Vec<MemberId>,
    /// How many said "not now" or let the ask lapse.
    pub passed_count: usize,
    /// Who is being asked now (organisers only), or, once accepted, who leads.
    pub asked: Option<AskedView>,
    /// The circle created on acceptance.
    pub sibling_id: Option<CircleId>,
    /// People moved from the waitlist to the sibling.
    pub moved: i32,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadView {
    pub member_id: MemberId,
    pub display_name: String,
    /// Sessions of the circle they led.
    pub led: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FamilyCircle {
    pub circle_id: CircleId,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiblingsView {
    /// People waiting before a sibling is proposed; `null` when the circle never proposes one
    /// by itself.
    pub threshold: Option<u32>,
    pub waiting: i64,
    /// Who could lead a sibling: for organisers in the order they would be asked, for others
    /// by name.
    pub leads: Vec<LeadView>,
    /// Newest first (the last ten).
    pub proposals: Vec<ProposalView>,
    /// The circles of its family, oldest first; empty until the circle grows.
    pub family: Vec<FamilyCircle>,
}

/// A proposal as the API shows it. Organisers read who was asked, in which order and who
/// passed; anyone else who runs the circle reads counts, so nobody in the circle learns who
/// said "not now".
pub async fn view(
    conn: &mut crate::db::Connection,
    p: Proposal,
    organiser: bool,
) -> AppResult<ProposalView> {
    let open = p.state == ProposalState::Asking;
    let asked_member = p.asked_member_id.filter(|_| organiser || !open);
    let asked = match asked_member {
        Some(m) => members::find(conn, m).await?.map(|member| AskedView {
            member_id: m,
            display_name: member.display_name,
            answer_by: p.answer_by,
        }),
        None => None,
    };
    Ok(ProposalView {
        id: p.id,
        circle_id: p.circle_id,
        name: p.name,
        state: p.state,
        started_by: p.started_by,
        passed_count: p.passed.len(),
        lead_order: if organiser { p.lead_order } else { Vec::new() },
        passed: if organiser { p.passed } else { Vec::new() },
        asked,
        sibling_id: p.sibling_id,
        moved: p.moved,
        created_at: p.created_at,
        decided_at: p.decided_at,
    })
}

async fn outlook_view(
    conn: &mut crate::db::Connection,
    o: Outlook,
    organiser: bool,
) -> AppResult<SiblingsView> {
    let mut proposals = Vec::with_capacity(o.proposals.len());
    for p in o.proposals {
        proposals.push(view(conn, p, organiser).await?);
    }
    let mut leads: Vec<LeadView> = o
        .leads
        .into_iter()
        .map(|l| LeadView {
            member_id: l.member,
            display_name: l.name,
            led: l.led,
        })
        .collect();
    if !organiser {
        // The order would say who is asked next.
        leads.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    }
    Ok(SiblingsView {
        threshold: o.threshold,
        waiting: o.waiting,
        leads,
        proposals,
        family: o
            .family
            .into_iter()
            .map(|(circle_id, name)| FamilyCircle { circle_id, name })
            .collect(),
    })
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/siblings", tag = "growing",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = SiblingsView), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<SiblingsView>> {
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let outlook = growing::outlook(&mut conn, &circle, Utc::now()).await?;
    Ok(web::Json(
        outlook_view(&mut conn, outlook, caller.organiser).await?,
    ))
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/siblings", tag = "growing",
    params(("id" = uuid::Uuid, Path)),
    request_body = SiblingCreate,
    responses((status = 201, body = ProposalView), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    organiser: Organiser,
    id: web::Path<CircleId>,
    body: web::Json<SiblingCreate>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let mut conn = state.pool.get().await?;
    let circle = organiser.0.circle(&mut conn, *id).await?;
    let request = Request {
        name: body.name,
        lead: body.lead_id,
    };
    let proposal = growing::propose(
        &mut conn,
        circle.id,
        ProposalStart::Organiser,
        request,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(view(&mut conn, proposal, true).await?))
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/siblings/withdraw", tag = "growing",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ProposalView), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn withdraw(
    state: web::Data<AppState>,
    organiser: Organiser,
    id: web::Path<CircleId>,
) -> AppResult<web::Json<ProposalView>> {
    let mut conn = state.pool.get().await?;
    let circle = organiser.0.circle(&mut conn, *id).await?;
    let asking = db::asking(&mut conn, circle.id).await?.ok_or_else(|| {
        AppError::Conflict(format!(
            "{} has no sibling proposal asking for a lead",
            circle.name
        ))
    })?;
    let proposal = growing::withdraw(&mut conn, asking.id, Utc::now()).await?;
    Ok(web::Json(view(&mut conn, proposal, true).await?))
}
