//! Agreements on the member's own pages: the consent rounds open in their circles and their
//! circles' adopted agreements, with whether they acknowledged them (on their page), and each
//! circle's agreements as they stand (on the circle's page). The forms here acknowledge a
//! circle's agreements, and propose an agreement or a change to one.

use actix_web::web;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;

use super::back_to_page;
use crate::actions::agreements::{self as agreement_actions, Proposal};
use crate::db::members::Member;
use crate::db::{agreements, circles, memberships, Connection};
use crate::domain::agreements as rules;
use crate::domain::tokens::Purpose;
use crate::domain::{AgreementId, CircleId, MembershipState};
use crate::error::AppError;
use crate::http::public::{holder, PageError, PageResult};
use crate::http::AppState;
use crate::links::Holder;

pub struct RoundLine {
    pub circle: String,
    pub title: String,
    pub closes: String,
    pub closes_at: chrono::DateTime<chrono::Utc>,
    pub answered: bool,
    pub url: String,
}

pub struct AgreementLine {
    pub circle: String,
    pub title: String,
    pub body: String,
    pub acknowledged: bool,
}

/// The agreements sections of the member's page.
pub struct Mine {
    pub rounds: Vec<RoundLine>,
    pub adopted: Vec<AgreementLine>,
    /// Circles with agreements the member has not acknowledged yet.
    pub unacknowledged: Vec<(CircleId, String)>,
}

/// The consent rounds open to the member, and the adopted agreements of the circles they are
/// active in, with the circles whose agreements they have not acknowledged yet.
pub(super) async fn load(
    conn: &mut Connection,
    state: &AppState,
    member: &Member,
    zone: Tz,
) -> Result<Mine, PageError> {
    let holder_of = Holder::of(member);
    let mut rounds = Vec::new();
    for (round, title) in agreements::open_rounds_for_member(conn, member.id).await? {
        let circle = circles::find(conn, round.circle_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        rounds.push(RoundLine {
            circle,
            title,
            closes: crate::email::when::deadline(round.closes_at, zone, chrono::Utc::now()),
            closes_at: round.closes_at,
            answered: agreements::stance_of(conn, round.id, member.id)
                .await?
                .is_some(),
            url: state.links.consent(holder_of, round.id.0, round.closes_at),
        });
    }

    let mut adopted_lines = Vec::new();
    let mut unacknowledged = Vec::new();
    for m in memberships::of_member(conn, member.id)
        .await?
        .into_iter()
        .filter(|m| m.state == MembershipState::Active)
    {
        let adopted = agreements::adopted(conn, m.circle_id).await?;
        if adopted.is_empty() {
            continue;
        }
        let ids: Vec<AgreementId> = adopted.iter().map(|a| a.agreement_id).collect();
        let acked = agreements::acknowledged(conn, member.id, &ids).await?;
        let name = circles::find(conn, m.circle_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        let mut missing = false;
        for a in adopted {
            let acknowledged = acked.contains(&(a.agreement_id, a.version));
            missing |= !acknowledged;
            adopted_lines.push(AgreementLine {
                circle: name.clone(),
                title: a.title,
                body: a.body,
                acknowledged,
            });
        }
        if missing {
            unacknowledged.push((m.circle_id, name));
        }
    }
    Ok(Mine {
        rounds,
        adopted: adopted_lines,
        unacknowledged,
    })
}

/// The member acknowledges their circle's adopted agreements as they stand.
pub async fn acknowledge(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (token, circle) = path.into_inner();
    let circle: uuid::Uuid = circle.parse().map_err(|_| PageError::not_found())?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle = active_circle(&mut conn, CircleId(circle), &member).await?;
    agreement_actions::acknowledge(&mut conn, &circle, member.id).await?;
    Ok(back_to_page(&token, "acknowledged"))
}

async fn active_circle(
    conn: &mut Connection,
    id: CircleId,
    member: &Member,
) -> Result<circles::Circle, PageError> {
    let circle = circles::find(conn, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let active = memberships::find(conn, id, member.id)
        .await?
        .is_some_and(|m| m.state == MembershipState::Active);
    if !active {
        return Err(PageError::not_found());
    }
    Ok(circle)
}

#[derive(Debug, Deserialize)]
pub struct ProposeForm {
    /// Empty for a new agreement; else the agreement to change.
    #[serde(default)]
    agreement: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: String,
}

/// A member proposes an agreement, or a change to one, from their circle's page: a consent
/// round opens by email.
pub async fn propose(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ProposeForm>,
) -> PageResult {
    let (token, circle) = path.into_inner();
    let circle: uuid::Uuid = circle.parse().map_err(|_| PageError::not_found())?;
    let form = form.into_inner();
    let body = rules::body(&form.body).map_err(AppError::from)?;
    let note = rules::note(&form.note).map_err(AppError::from)?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle = active_circle(&mut conn, CircleId(circle), &member).await?;
    let now = Utc::now();
    if form.agreement.trim().is_empty() {
        let title = rules::title(&form.title).map_err(AppError::from)?;
        agreement_actions::propose(
            &mut conn,
            &circle,
            member.id,
            Proposal {
                title,
                body,
                review_every_sessions: None,
            },
            state.settings.limits.rounds(),
            now,
        )
        .await?;
    } else {
        let id: AgreementId = form
            .agreement
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("agreement", "names no agreement of this circle"))?;
        let belongs = agreements::find(&mut conn, id)
            .await?
            .is_some_and(|a| a.circle_id == circle.id);
        if !belongs {
            return Err(AppError::invalid("agreement", "names no agreement of this circle").into());
        }
        agreement_actions::propose_change(
            &mut conn,
            id,
            member.id,
            body,
            note,
            state.settings.limits.rounds(),
            now,
        )
        .await?;
    }
    Ok(back_to_page(&token, "proposed"))
}

/// The circle's agreements for its page: (id, title, status words, adopted text, open round).
pub struct CircleAgreement {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub body: String,
}

pub async fn for_circle(
    conn: &mut Connection,
    circle: CircleId,
) -> Result<Vec<CircleAgreement>, PageError> {
    let mut out = Vec::new();
    for a in agreements::for_circle(conn, circle).await? {
        let shown = a.adopted_version.unwrap_or(a.current_version);
        let body = agreements::version(conn, a.id, shown)
            .await?
            .map(|v| v.body)
            .unwrap_or_default();
        let open = agreements::open_round_of(conn, a.id).await?.is_some();
        out.push(CircleAgreement {
            id: a.id.to_string(),
            title: a.title,
            status: match (a.status, open) {
                (crate::domain::AgreementStatus::Adopted, true) => "adopted; under review",
                (crate::domain::AgreementStatus::Adopted, false) => "adopted",
                (crate::domain::AgreementStatus::InRound, _) => "in a consent round",
                (crate::domain::AgreementStatus::Integrating, _) => {
                    "waiting for a revision after an objection"
                }
                (crate::domain::AgreementStatus::NotAdopted, _) => "not adopted",
                (crate::domain::AgreementStatus::Retired, _) => "retired",
            },
            body,
        });
    }
    Ok(out)
}
