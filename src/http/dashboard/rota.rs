//! The rota: a circle's coming sessions × its roles, with who holds each slot, where it stands
//! and why that person; open slots stand out. Below it, the ledger of who held what and the
//! circle's balance, with a CSV export.

use actix_web::web;
use askama::Template;

use super::{see_other, CsrfForm, DashResult, Nav, NoteQuery, Staff};
use crate::actions::roles as role_actions;
use crate::db::roles;
use crate::domain::{CircleId, Facilitation, RoleState};
use crate::http::api::roles::{ledger_csv, ledger_of, rota_of};
use crate::http::pages::render;
use crate::http::AppState;

pub struct Cell {
    pub holder: String,
    pub state: &'static str,
    pub open: bool,
    pub why: String,
}

pub struct Row {
    pub when: String,
    pub session_id: String,
    pub cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "pages/dashboard/rota.html")]
struct RotaPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    rotating: bool,
    /// Column headings: role name and slot.
    columns: Vec<String>,
    rows: Vec<Row>,
    /// Ledger: member, then per role (in column order of `role_names`) the count, then total.
    role_names: Vec<String>,
    ledger: Vec<(String, Vec<i64>, i64)>,
    balance: String,
}

fn state_words(state: RoleState) -> &'static str {
    match state {
        RoleState::Proposed => "proposed",
        RoleState::Asked => "asked, waiting",
        RoleState::Confirmed => "confirmed",
        RoleState::Declined => "declined",
        RoleState::Open => "open",
    }
}

pub async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let kinds = roles::kinds(&mut conn, circle.id).await?;
    let rota = rota_of(&mut conn, circle.id, i64::from(circle.planning_horizon)).await?;
    let ledger = ledger_of(&mut conn, circle.id).await?;
    let columns = kinds
        .iter()
        .flat_map(|k| {
            (1..=k.slots).map(move |slot| {
                if k.slots > 1 {
                    format!("{} {slot}", k.name)
                } else {
                    k.name.clone()
                }
            })
        })
        .collect();
    let zone = circle.timezone.tz();
    let rows = rota
        .into_iter()
        .map(|s| Row {
            when: s
                .starts_at
                .with_timezone(&zone)
                .format("%a %-d %b %Y, %H:%M")
                .to_string(),
            session_id: s.session_id.to_string(),
            cells: s
                .roles
                .into_iter()
                .map(|r| Cell {
                    holder: r.display_name.unwrap_or_else(|| "nobody yet".into()),
                    open: matches!(r.state, RoleState::Open | RoleState::Declined),
                    state: state_words(r.state),
                    why: r.why,
                })
                .collect(),
        })
        .collect();
    let ledger_rows = ledger
        .items
        .iter()
        .map(|row| {
            let counts: Vec<i64> = kinds
                .iter()
                .map(|k| row.roles.get(&k.key).map_or(0, |h| h.count))
                .collect();
            let total = counts.iter().sum();
            (row.display_name.clone(), counts, total)
        })
        .collect();
    Ok(render(RotaPage {
        nav: Nav::circle(&staff, &circle, "rota"),
        note: query.note.clone(),
        circle_id: circle.id.to_string(),
        rotating: circle.facilitation == Facilitation::Rotating,
        columns,
        rows,
        role_names: kinds.iter().map(|k| k.name.clone()).collect(),
        ledger: ledger_rows,
        balance: format!("{:.2}", ledger.balance),
    })?)
}

/// Add the circle kind's suggested micro-roles in one step.
pub async fn add_suggested(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<CsrfForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let added = role_actions::add_suggested(&mut conn, &circle).await?;
    let note = match added.len() {
        0 => "The circle already has every suggested role.".to_string(),
        n => format!(
            "Added {n} roles: {}.",
            added
                .iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Ok(see_other(
        &format!("/dashboard/circles/{}/rota", circle.id),
        &note,
    ))
}

pub async fn export_ledger(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let ledger = ledger_of(&mut conn, circle.id).await?;
    Ok(super::circles::csv_response(
        &format!("{}-ledger.csv", circle.slug),
        ledger_csv(&ledger)?,
    ))
}
