//! The roster: who is in, waiting or unconfirmed; roles; adding people by pasting addresses
//! or uploading a CSV; promoting, reordering and removing.

use actix_multipart::Multipart;
use actix_web::web;
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;

use super::{see_other, DashError, DashResult, Nav, NoteQuery, Staff};
use crate::actions::membership;
use crate::db::members as member_queries;
use crate::db::memberships::{self, RosterEntry};
use crate::domain::{CircleId, MemberId, MembershipRole, MembershipState};
use crate::error::AppError;
use crate::http::pages::render;
use crate::http::AppState;
use crate::imports;

/// Rows a page: enough to scan, small enough to load fast on a phone.
const PER_PAGE: i64 = 50;
/// Largest CSV upload.
const MAX_UPLOAD: usize = 1024 * 1024;

#[derive(Template)]
#[template(path = "pages/dashboard/members.html")]
struct MembersPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    rows: Vec<RosterEntry>,
    total: i64,
    capacity: Option<i32>,
    page: i64,
    pages: i64,
}

impl MembersPage {
    /// A membership's state in the roster's words for staff (a member's own page words it
    /// for them: `http::public::me::membership_label`).
    fn roster_state_label(&self, m: &RosterEntry) -> &'static str {
        match m.state {
            MembershipState::Active => "active",
            MembershipState::Waitlisted => "waiting",
            MembershipState::Pending => "unconfirmed",
            MembershipState::Left => "left",
        }
    }

    fn actions(&self, m: &RosterEntry) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        match (m.state, m.role) {
            (MembershipState::Waitlisted, _) => {
                out.push(("promote", "Give a seat now"));
                out.push(("up", "Move up"));
                out.push(("down", "Move down"));
            }
            (MembershipState::Active, MembershipRole::Member) => {
                out.push(("facilitator", "Make facilitator"))
            }
            (MembershipState::Active, MembershipRole::Facilitator) => {
                out.push(("member", "Make member"))
            }
            _ => {}
        }
        out.push(("remove", "Remove…"));
        out
    }
}

pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let page = crate::pagination::page_number(query.page).map_err(crate::error::AppError::from)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let (mut rows, total) = memberships::roster_page(&mut conn, circle.id, page, PER_PAGE).await?;
    if !staff.organiser {
        memberships::withhold_addresses(&mut conn, circle.id, &mut rows).await?;
    }
    Ok(render(MembersPage {
        nav: Nav::circle(&staff, &circle, "members"),
        note: query.note.clone(),
        circle_id: circle.id.to_string(),
        rows,
        total,
        capacity: circle.capacity,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
    })?)
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    people: String,
}

pub async fn add(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<AddForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let rows = imports::parse_pasted(&form.people);
    if rows.is_empty() {
        return Err(AppError::invalid("people", "Paste at least one address.").into());
    }
    let summary = imports::import(&mut conn, circle.id, &rows, |_| {}).await?;
    Ok(see_other(
        &format!("/dashboard/circles/{}/members", circle.id),
        &summary.describe(),
    ))
}

/// A CSV upload (`multipart/form-data` with `csrf` and `file`).
pub async fn import(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> DashResult {
    // Who may upload is settled before the body is read.
    let circle = {
        let mut conn = state.pool.get().await?;
        staff.circle(&mut conn, *id).await?
    };
    let mut body = Multipart::new(req.headers(), payload);
    let mut csrf = String::new();
    let mut file = Vec::new();
    while let Some(field) = body.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("could not read the upload: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| AppError::BadRequest(format!("could not read the upload: {e}")))?;
            if data.len() + chunk.len() > MAX_UPLOAD {
                return Err(AppError::PayloadTooLarge(MAX_UPLOAD).into());
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&data).into_owned(),
            "file" => file = data,
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    let mut conn = state.pool.get().await?;
    let rows =
        imports::parse_csv(&file).map_err(|e| DashError::from(AppError::invalid("file", e)))?;
    let summary = imports::import(&mut conn, circle.id, &rows, |_| {}).await?;
    Ok(see_other(
        &format!("/dashboard/circles/{}/members", circle.id),
        &summary.describe(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    confirm: String,
}

fn names(list: &[String]) -> String {
    match list {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub async fn change(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(CircleId, MemberId)>,
    form: web::Form<ChangeForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let (circle_id, member_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, circle_id).await?;
    let membership = memberships::find(&mut conn, circle.id, member_id)
        .await?
        .filter(|m| m.state != MembershipState::Left)
        .ok_or(AppError::NotFound("membership"))?;
    let name = member_queries::find(&mut conn, member_id)
        .await?
        .map(|m| m.display_name)
        .unwrap_or_default();
    let back = format!("/dashboard/circles/{}/members", circle.id);
    let note = match form.action.as_str() {
        "remove" if !super::confirmed(&form.confirm) => {
            let seated = membership.state == MembershipState::Active
                && membership.role == MembershipRole::Member;
            let heir = if seated && circle.capacity.is_some() {
                memberships::waitlist_head(&mut conn, circle.id).await?
            } else {
                None
            };
            let consequence = match heir {
                Some(next) => format!("Their seat goes to {next}, first on the waitlist."),
                None => "They stop getting this circle's emails.".to_string(),
            };
            return Ok(render(super::ConfirmPage {
                nav: Nav::circle(&staff, &circle, "members"),
                note: None,
                title: format!("Remove {name} from {}?", circle.name),
                paragraphs: vec![
                    consequence,
                    "Their past attendance stays on the sessions they came to.".into(),
                ],
                action: format!("/dashboard/circles/{}/members/{member_id}", circle.id),
                fields: vec![("action", "remove".into())],
                confirm_label: format!("Remove {name}"),
                back,
                back_label: "Keep them",
            })?);
        }
        "remove" => {
            let (_, promoted) =
                membership::leave_and_refill(&mut conn, circle.id, member_id).await?;
            let given: Vec<String> = member_queries::display_names(&mut conn, &promoted)
                .await?
                .into_iter()
                .map(|(_, name)| name)
                .collect();
            match given.len() {
                0 => format!("Removed {name} from {}.", circle.name),
                1 => format!(
                    "Removed {name} from {}. {} has the seat now.",
                    circle.name, given[0]
                ),
                _ => format!(
                    "Removed {name} from {}. {} have seats now.",
                    circle.name,
                    names(&given)
                ),
            }
        }
        "promote" => {
            membership::promote_now(&mut conn, circle.id, member_id).await?;
            format!("{name} has a seat now.")
        }
        "up" | "down" => {
            membership::move_in_waitlist(&mut conn, circle.id, member_id, form.action == "up")
                .await?;
            format!("Moved {name} {} the waitlist.", form.action)
        }
        "facilitator" | "member" => {
            let role = MembershipRole::parse(&form.action, "action").map_err(AppError::from)?;
            membership::set_role(&mut conn, circle.id, member_id, role).await?;
            if role == MembershipRole::Facilitator {
                format!("{name} facilitates {} now.", circle.name)
            } else {
                format!("{name} is a member of {} now.", circle.name)
            }
        }
        _ => return Err(AppError::invalid("action", "is not something this page can do").into()),
    };
    Ok(see_other(&back, &note))
}
