//! `/dashboard/circles/{id}/agreements`: the circle's agreements for whoever runs it: each
//! one's status and adopted text, the round that is open (how many answered, never what), the
//! outcomes of closed rounds with who said what, and a button to open another round (a review,
//! or a retry after too few answers). Members propose agreements and changes from their own
//! pages; a round is theirs to answer.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::agreements;
use crate::domain::agreements as rules;
use crate::domain::{AgreementId, AgreementStatus, CircleId, RoundKind, RoundOutcome};
use crate::error::AppError;
use crate::http::pages::{render, render_status};
use crate::http::AppState;
use crate::views::agreements::{detail, AgreementDetail};

pub struct RoundLine {
    pub what: String,
    pub progress: String,
    pub said: Vec<String>,
}

pub struct AgreementCard {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub text: Vec<String>,
    pub open: Option<RoundLine>,
    pub closed: Vec<RoundLine>,
    pub can_open: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard/agreements.html")]
struct AgreementsPage {
    nav: Nav,
    note: Option<String>,
    error: Option<String>,
    circle_name: String,
    cards: Vec<AgreementCard>,
}

fn status_label(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::InRound => "In a consent round",
        AgreementStatus::Integrating => "Being revised after an objection",
        AgreementStatus::Adopted => "Adopted",
        AgreementStatus::NotAdopted => "Not adopted",
        AgreementStatus::Retired => "No longer in use",
    }
}

fn kind_label(k: RoundKind) -> &'static str {
    match k {
        RoundKind::Proposal => "Proposal",
        RoundKind::Integration => "Second round after a revision",
        RoundKind::Review => "Review",
    }
}

fn card(d: AgreementDetail, zone: chrono_tz::Tz) -> AgreementCard {
    let current = d
        .versions
        .iter()
        .find(|v| v.version == d.agreement.current_version)
        .map(|v| v.body.clone());
    let text = d
        .adopted_body
        .clone()
        .or(current)
        .unwrap_or_default()
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let mut open = None;
    let mut closed = Vec::new();
    for r in &d.rounds {
        let what = format!(
            "{}, version {} (opened {})",
            kind_label(r.kind),
            r.version,
            crate::email::when::describe_moment(r.opened_at, zone)
        );
        if r.closed_at.is_none() {
            open = Some(RoundLine {
                what,
                progress: format!(
                    "{}; it needs {}. Closes {}. Answers stay unseen until then.",
                    crate::domain::text::answered_of(r.answered, i64::from(r.eligible)),
                    r.quorum,
                    crate::email::when::deadline(r.closes_at, zone, chrono::Utc::now())
                ),
                said: Vec::new(),
            });
        } else {
            let outcome = match r.outcome {
                Some(RoundOutcome::Adopted) => "Adopted",
                Some(RoundOutcome::Objected) => "Not adopted: someone objected",
                Some(RoundOutcome::NoQuorum) => "Not adopted: too few people answered",
                None => "Closed",
            };
            closed.push(RoundLine {
                what,
                progress: format!(
                    "{outcome}. {} of {} answered; it needed {}.",
                    r.stances.len(),
                    r.eligible,
                    r.quorum
                ),
                said: r
                    .stances
                    .iter()
                    .map(|g| {
                        let label = rules::label(g.stance);
                        if g.reason.is_empty() {
                            format!("{}: {label}", g.display_name)
                        } else {
                            format!("{}: {label} ({})", g.display_name, g.reason)
                        }
                    })
                    .collect(),
            });
        }
    }
    closed.reverse();
    AgreementCard {
        id: d.agreement.id.to_string(),
        title: d.agreement.title.clone(),
        status: status_label(d.agreement.status),
        can_open: open.is_none()
            && !matches!(
                d.agreement.status,
                AgreementStatus::Integrating | AgreementStatus::Retired
            ),
        text,
        open,
        closed,
    }
}

async fn show(
    state: &AppState,
    staff: &Staff,
    id: CircleId,
    note: Option<String>,
    error: Option<(StatusCode, String)>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, id).await?;
    let zone = circle.timezone.tz();
    let mut cards = Vec::new();
    for a in agreements::for_circle(&mut conn, circle.id).await? {
        cards.push(card(detail(&mut conn, a).await?, zone));
    }
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    Ok(render_status(
        status,
        AgreementsPage {
            nav: Nav::circle(staff, &circle, "agreements"),
            note,
            error: error.map(|(_, m)| m),
            circle_name: circle.name,
            cards,
        },
    )?)
}

pub async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    show(&state, &staff, *id, query.note.clone(), None).await
}

#[derive(Debug, Deserialize)]
pub struct OpenRoundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// Open another round on an agreement (a review, or a retry after too few answers). It emails
/// every active member, so the first POST asks, saying who will be told; only the
/// confirmation page's own form, with `confirm=yes`, opens it.
pub async fn open_round(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<AgreementId>,
    form: web::Form<OpenRoundForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let agreement = agreements::find(&mut conn, *id)
        .await?
        .ok_or_else(super::not_found)?;
    let circle = staff.circle(&mut conn, agreement.circle_id).await?;
    if !super::confirmed(&form.confirm) {
        let told = agreements::active_members(&mut conn, circle.id)
            .await?
            .len();
        let people = if told == 1 {
            "its 1 active member".to_string()
        } else {
            format!("all {told} of its active members")
        };
        return Ok(render(super::ConfirmPage {
            nav: Nav::circle(&staff, &circle, "agreements"),
            note: None,
            title: format!("Open a consent round on “{}”?", agreement.title),
            paragraphs: vec![
                format!(
                    "{} will email {people}, asking each to consent, raise a concern, stand aside or object, \
                     and remind those who haven't answered the day before it closes.",
                    circle.name
                ),
                "Nobody sees the answers before the round closes; then everyone is told the outcome."
                    .to_string(),
            ],
            action: format!("/dashboard/agreements/{}/rounds", agreement.id),
            fields: Vec::new(),
            confirm_label: format!("Email {told} and open the round"),
            back: format!("/dashboard/circles/{}/agreements", circle.id),
            back_label: "Not now",
        })?);
    }
    match crate::actions::agreements::open_round(
        &mut conn,
        agreement.id,
        state.settings.limits.rounds(),
        Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(see_other(
            &format!("/dashboard/circles/{}/agreements", circle.id),
            &format!(
                "Opened a round on “{}”; every active member is asked by email.",
                agreement.title
            ),
        )),
        Err(
            AppError::Conflict(why)
            | AppError::Invalid { message: why, .. }
            | AppError::Limited { message: why, .. },
        ) => {
            drop(conn);
            let message = format!("No round was opened: {}.", why.trim_end_matches('.'));
            show(
                &state,
                &staff,
                circle.id,
                None,
                Some((StatusCode::CONFLICT, message)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
