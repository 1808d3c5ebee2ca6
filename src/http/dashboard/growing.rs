//! `/dashboard/circles/{id}/growing`: when the circle's waitlist reaches its threshold, the
//! sibling Roundtable proposes (who is waiting, who could lead it and in what order), the
//! proposals so far, and the circle's family. Organisers can start a sibling by hand, or call
//! off one that is still asking; the threshold is a setting on the same page.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{see_other, DashResult, Nav, Staff};
use crate::actions::growing::{self, Outlook, Request};
use crate::db::circles::CircleChanges;
use crate::db::{growing as db, members, Connection};
use crate::domain::{CircleId, MemberId, ProposalStart, ProposalState};
use crate::error::AppError;
use crate::http::pages::render_status;
use crate::http::AppState;

pub struct ProposalRow {
    pub name: String,
    pub state: &'static str,
    pub detail: String,
    pub asking: bool,
    pub sibling: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/dashboard/growing.html")]
struct GrowingPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    circle_name: String,
    capacity: Option<i32>,
    threshold: Option<u32>,
    threshold_setting: String,
    waiting: i64,
    reached: bool,
    /// Nobody who takes part led twice: those listed led once and came three times.
    led_once: bool,
    /// (member id, name, what they did: "led 2 times").
    leads: Vec<(String, String, String)>,
    asking: bool,
    proposals: Vec<ProposalRow>,
    family: Vec<(String, String, bool)>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    csrf: String,
    #[serde(default)]
    name: String,
    /// Who to ask first (empty: the first in the fairness order).
    #[serde(default)]
    lead_id: String,
    /// "yes" from the page that asked before calling a proposal off.
    #[serde(default)]
    confirm: String,
}

#[derive(Debug, Deserialize)]
pub struct ThresholdForm {
    csrf: String,
    #[serde(default)]
    threshold: String,
}

#[derive(Debug, Deserialize)]
pub struct NoteQuery {
    note: Option<String>,
}

async fn name_of(conn: &mut Connection, m: Option<MemberId>) -> Result<String, AppError> {
    Ok(match m {
        Some(id) => members::find(conn, id).await?.map(|m| m.display_name),
        None => None,
    }
    .unwrap_or_else(|| "nobody".into()))
}

/// The proposals as rows. Only organisers read who is being asked: with the count of those
/// who passed, a name and the order would tell the circle who said "not now".
async fn rows(
    conn: &mut Connection,
    o: &Outlook,
    organiser: bool,
    zone: chrono_tz::Tz,
) -> Result<Vec<ProposalRow>, AppError> {
    let mut out = Vec::new();
    for p in &o.proposals {
        let who = if organiser || p.state != ProposalState::Asking {
            name_of(conn, p.asked_member_id).await?
        } else {
            "someone who has led the circle".into()
        };
        let (state, detail) = match p.state {
            ProposalState::Asking => (
                "Asking",
                format!(
                    "Asking {who} to lead{}; {} passed so far.",
                    p.answer_by
                        .map(|by| format!(
                            " (answer by {})",
                            crate::email::when::deadline(by, zone, Utc::now())
                        ))
                        .unwrap_or_default(),
                    p.passed.len()
                ),
            ),
            ProposalState::Accepted => (
                "Started",
                format!("{who} leads it; {} moved from the waitlist.", p.moved),
            ),
            ProposalState::Unled => (
                "Nobody took it on",
                format!("All {} who could lead were asked.", p.lead_order.len()),
            ),
            ProposalState::Withdrawn => ("Called off", "An organiser called it off.".into()),
        };
        out.push(ProposalRow {
            name: p.name.clone(),
            state,
            detail,
            asking: p.state == ProposalState::Asking,
            sibling: p.sibling_id.map(|s| s.to_string()),
        });
    }
    Ok(out)
}

async fn show(
    state: &AppState,
    staff: &Staff,
    id: CircleId,
    note: Option<String>,
    error: Option<String>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, id).await?;
    let o = growing::outlook(&mut conn, &circle, Utc::now()).await?;
    let proposals = rows(&mut conn, &o, staff.organiser, circle.timezone.tz()).await?;
    let mut leads: Vec<(String, String, String)> = o
        .leads
        .iter()
        .map(|l| {
            let record = if l.led == 1 {
                format!("led once, came to {} sessions", l.attended)
            } else {
                format!("led {} times", l.led)
            };
            (l.member.to_string(), l.name.clone(), record)
        })
        .collect();
    if !staff.organiser {
        // The order would say who is asked next; whoever else runs the circle sees names.
        leads.sort_by(|a, b| a.1.cmp(&b.1));
    }
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(render_status(
        status,
        GrowingPage {
            nav: Nav::circle(staff, &circle, "growing"),
            note,
            circle_id: circle.id.to_string(),
            capacity: circle.capacity,
            threshold: o.threshold,
            threshold_setting: circle
                .grow_threshold
                .map(|t| t.to_string())
                .unwrap_or_default(),
            waiting: o.waiting,
            reached: crate::domain::growing::reached(o.waiting, o.threshold),
            led_once: o.rule == crate::domain::growing::Seasoned::LedOnceAndCame,
            leads,
            asking: o.proposals.iter().any(|p| p.state == ProposalState::Asking),
            proposals,
            family: o
                .family
                .iter()
                .map(|(fid, name)| (fid.to_string(), name.clone(), *fid == circle.id))
                .collect(),
            circle_name: circle.name,
            error,
        },
    )?)
}

/// "nobody is waiting …" → "Nobody is waiting ….".
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

async fn show_status(
    state: &AppState,
    staff: &Staff,
    id: CircleId,
    status: StatusCode,
    error: String,
) -> DashResult {
    let res = show(state, staff, id, None, Some(error)).await?;
    let mut res = res;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    show(&state, &staff, *id, query.into_inner().note, None).await
}

pub async fn start(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<StartForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    staff.require_organiser()?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let name = form.name.trim();
    let lead = match form.lead_id.trim() {
        "" => None,
        text => match text.parse() {
            Ok(id) => Some(MemberId(id)),
            Err(_) => {
                drop(conn);
                let why = "Choose who to ask first from the list.".to_string();
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return show_status(&state, &staff, circle.id, status, why).await;
            }
        },
    };
    let request = Request {
        name: (!name.is_empty()).then(|| name.to_string()),
        lead,
    };
    let started = growing::propose(
        &mut conn,
        circle.id,
        ProposalStart::Organiser,
        request,
        Utc::now(),
    )
    .await;
    drop(conn);
    let here = format!("/dashboard/circles/{}/growing", circle.id);
    match started {
        Ok(p) => {
            let mut conn = state.pool.get().await?;
            let who = name_of(&mut conn, p.asked_member_id).await?;
            Ok(see_other(
                &here,
                &format!("Proposed {}; {who} is asked to lead it.", p.name),
            ))
        }
        Err(AppError::Conflict(why)) => {
            show_status(
                &state,
                &staff,
                circle.id,
                StatusCode::CONFLICT,
                sentence(&why),
            )
            .await
        }
        Err(AppError::Invalid { field, message }) => {
            let what = if field == "lead_id" {
                "The first to ask"
            } else {
                "The name"
            };
            let why = format!("{what} {message}.");
            show_status(
                &state,
                &staff,
                circle.id,
                StatusCode::UNPROCESSABLE_ENTITY,
                why,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn withdraw(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<StartForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    staff.require_organiser()?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let asking = db::asking(&mut conn, circle.id).await?;
    let here = format!("/dashboard/circles/{}/growing", circle.id);
    let Some(asking) = asking else {
        drop(conn);
        let why = "There is no proposal asking for a lead to call off.".to_string();
        return show(&state, &staff, circle.id, None, Some(why)).await;
    };
    if !super::confirmed(&form.confirm) {
        let asked = if asking.asked_member_id.is_some() {
            "The person being asked to lead it is told by email that it is called off; nobody else is emailed."
        } else {
            "Nobody is being asked to lead it yet, so no one is emailed."
        };
        return Ok(crate::http::pages::render(super::ConfirmPage {
            nav: super::Nav::circle(&staff, &circle, "growing"),
            note: None,
            title: format!("Call off {}?", asking.name),
            paragraphs: vec![
                asked.to_string(),
                "The people waiting stay on the waitlist, in their places.".to_string(),
            ],
            action: format!("/dashboard/circles/{}/siblings/withdraw", circle.id),
            fields: Vec::new(),
            confirm_label: format!("Call off {}", asking.name),
            back: here,
            back_label: "Keep asking",
        })?);
    }
    match growing::withdraw(&mut conn, asking.id, Utc::now()).await {
        Ok(p) => Ok(see_other(&here, &format!("Called off {}.", p.name))),
        Err(AppError::Conflict(why)) => {
            drop(conn);
            show(
                &state,
                &staff,
                circle.id,
                None,
                Some(format!("Not called off: {why}.")),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn set_threshold(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<ThresholdForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let text = form.threshold.trim();
    let value = if text.is_empty() {
        None
    } else {
        match text
            .parse::<i64>()
            .map_err(|_| ())
            .and_then(|v| crate::domain::circles::GROW.check(v).map_err(|_| ()))
        {
            Ok(v) => Some(v),
            Err(()) => {
                drop(conn);
                return show_status(
                    &state,
                    &staff,
                    circle.id,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The threshold must be a whole number from 0 to 10000, or empty for a third of the capacity.".into(),
                )
                .await;
            }
        }
    };
    let changes = CircleChanges {
        grow_threshold: Some(value),
        ..Default::default()
    };
    crate::actions::circles::update_circle(&mut conn, circle.id, changes).await?;
    let note = match value {
        None => "A sibling is proposed when a third of the capacity (at least 2) is waiting."
            .to_string(),
        Some(0) => "No sibling is proposed by itself; you can still start one.".to_string(),
        Some(n) => format!("A sibling is proposed when {n} people are waiting."),
    };
    Ok(see_other(
        &format!("/dashboard/circles/{}/growing", circle.id),
        &note,
    ))
}
