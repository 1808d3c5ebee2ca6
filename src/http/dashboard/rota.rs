//! The rota: a circle's coming sessions × its roles, with who holds each slot, where it stands
//! and why that person; open slots stand out. Below it, the ledger of who held what and the
//! circle's balance, with a CSV export.

use actix_web::web;
use askama::Template;

use super::{see_other, CsrfForm, DashResult, Nav, NoteQuery, Staff};
use crate::actions::roles as role_actions;
use crate::actions::rota;
use crate::db::memberships;
use crate::db::roles;
use crate::domain::roles::{RoleCreate, RolePatch};
use crate::domain::{CircleId, Facilitation, MemberId, MembershipState, RoleState, SessionId};
use crate::error::AppError;
use crate::http::pages::render;
use crate::http::AppState;
use crate::views::rota::{ledger_csv, ledger_of, rota_of};

pub struct Cell {
    pub role: String,
    pub slot: i32,
    pub member_id: String,
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
    /// Active members to assign: (id, name).
    people: Vec<(String, String)>,
    /// Per member: times led against a fair share of the sessions led so far.
    led: Vec<(String, i64, String)>,
    /// The circle's roles, to edit.
    kinds: Vec<roles::RoleKind>,
    /// The talking-piece template: whether it runs, and its rounds plus empty rows to add.
    agenda_on: bool,
    agenda: Vec<AgendaRow>,
    steps: Vec<(&'static str, &'static str)>,
}

/// One round of the talking-piece template as the form shows it.
pub struct AgendaRow {
    pub kind: String,
    pub prompt: String,
    pub minutes: String,
}

/// Rows the template form offers beyond the rounds it has.
const SPARE_ROUNDS: usize = 2;

fn step_label(step: crate::domain::AgendaStep) -> &'static str {
    use crate::domain::AgendaStep;
    match step {
        AgendaStep::CheckIn => "Check-in",
        AgendaStep::Reading => "The reading",
        AgendaStep::Open => "Open round",
        AgendaStep::Consent => "Consent round",
        AgendaStep::CheckOut => "Check-out",
    }
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
    let page = build(&state, &staff, *id, query.note.clone()).await?;
    Ok(render(page)?)
}

async fn build(
    state: &AppState,
    staff: &Staff,
    id: CircleId,
    note: Option<String>,
) -> Result<RotaPage, super::DashError> {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, id).await?;
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
                    role: r.role.clone(),
                    slot: r.slot,
                    member_id: r.member_id.map(|m| m.to_string()).unwrap_or_default(),
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
    let roster = memberships::roster(
        &mut conn,
        circle.id,
        Some(MembershipState::Active),
        None,
        500,
    )
    .await?;
    let people = roster
        .iter()
        .map(|r| (r.member_id.to_string(), r.display_name.clone()))
        .collect();
    let active = roster.len().max(1) as f64;
    let led_counts: Vec<(String, i64)> = ledger
        .items
        .iter()
        .take(roster.len())
        .map(|row| {
            let n = row.roles.get(roles::FACILITATOR).map_or(0, |h| h.count);
            (row.display_name.clone(), n)
        })
        .collect();
    let led_total: i64 = led_counts.iter().map(|(_, n)| n).sum();
    let share = format!("{:.1}", led_total as f64 / active);
    let led = led_counts
        .into_iter()
        .map(|(name, n)| (name, n, share.clone()))
        .collect();
    let template = crate::views::agenda::template_of(&mut conn, &circle).await?;
    let mut agenda: Vec<AgendaRow> = template
        .rounds
        .iter()
        .map(|r| AgendaRow {
            kind: r.kind.as_str().to_string(),
            prompt: r.prompt.clone(),
            minutes: r.minutes.to_string(),
        })
        .collect();
    for _ in 0..SPARE_ROUNDS {
        if agenda.len() < crate::domain::agenda::MAX_ROUNDS {
            agenda.push(AgendaRow {
                kind: String::new(),
                prompt: String::new(),
                minutes: String::new(),
            });
        }
    }
    Ok(RotaPage {
        agenda_on: template.enabled,
        agenda,
        steps: crate::domain::AgendaStep::ALL
            .iter()
            .map(|s| (s.as_str(), step_label(*s)))
            .collect(),
        kinds: kinds.clone(),
        people,
        led,
        nav: Nav::circle(staff, &circle, "rota"),
        note,
        circle_id: circle.id.to_string(),
        rotating: circle.facilitation == Facilitation::Rotating,
        columns,
        rows,
        role_names: kinds.iter().map(|k| k.name.clone()).collect(),
        ledger: ledger_rows,
        balance: format!(
            "{:.2}: {}",
            ledger.balance,
            crate::domain::text::balance_in_words(ledger.balance)
        ),
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    member_id: String,
    #[serde(default)]
    slot: String,
}

/// Put someone in a slot from the rota grid: confirmed, and they are told.
pub async fn assign(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(SessionId, String)>,
    form: web::Form<AssignForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let (session_id, key) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (session, _) = staff.session(&mut conn, session_id).await?;
    let member: uuid::Uuid = form
        .member_id
        .parse()
        .map_err(|_| AppError::invalid("member_id", "choose someone from the list"))?;
    let slot: i32 = form
        .slot
        .parse()
        .map_err(|_| AppError::invalid("slot", "is not a slot of this role"))?;
    rota::assign(
        &mut conn,
        session.id,
        &key,
        slot,
        MemberId(member),
        staff.member_id,
        chrono::Utc::now(),
    )
    .await?;
    Ok(see_other(
        &format!("/dashboard/circles/{}/rota", session.circle_id),
        "Assigned. They have been told by email.",
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    guide: String,
    #[serde(default)]
    slots: String,
    #[serde(default)]
    min_attended: String,
    rotates: Option<String>,
}

/// A whole number typed into a form field, or a clear refusal naming the field.
fn number(field: &'static str, value: &str, default: i64) -> Result<i64, AppError> {
    match value.trim() {
        "" => Ok(default),
        v => v
            .parse()
            .map_err(|_| AppError::invalid(field, "must be a whole number")),
    }
}

fn back_to_rota(circle: CircleId, note: &str) -> actix_web::HttpResponse {
    see_other(&format!("/dashboard/circles/{circle}/rota"), note)
}

/// Add a role from the form under the rota.
pub async fn add_role(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<RoleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    // Who may run the circle first: a stranger learns nothing from how their input reads.
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let input = RoleCreate {
        key: None,
        name: form.name.clone(),
        guide: Some(form.guide.clone()),
        slots: Some(number("slots", &form.slots, 1)?),
        rotates: Some(form.rotates.is_some()),
        min_attended: Some(number("min_attended", &form.min_attended, 0)?),
    }
    .parse()?;
    let kind = role_actions::add(&mut conn, &circle, input).await?;
    Ok(back_to_rota(
        circle.id,
        &format!("Added the role {}.", kind.name),
    ))
}

/// Change a role's name, guide, slots, rotation or minimum from the rota page.
pub async fn edit_role(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(CircleId, String)>,
    form: web::Form<RoleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let (circle_id, key) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, circle_id).await?;
    let changes = RolePatch {
        name: Some(form.name.clone()),
        guide: Some(form.guide.clone()),
        slots: Some(number("slots", &form.slots, 1)?),
        rotates: Some(form.rotates.is_some()),
        min_attended: Some(number("min_attended", &form.min_attended, 0)?),
    }
    .parse()?;
    let kind = role_actions::update(&mut conn, &circle, &key, changes).await?;
    Ok(back_to_rota(
        circle.id,
        &format!("Saved the role {}.", kind.name),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    /// `yes` from the confirmation page; without it the page asks first.
    #[serde(default)]
    confirm: String,
}

/// Remove a role, after a page that says what goes with it.
pub async fn remove_role(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(CircleId, String)>,
    form: web::Form<RemoveForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let (circle_id, key) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, circle_id).await?;
    let kind = roles::kind(&mut conn, circle.id, &key)
        .await?
        .ok_or(AppError::NotFound("role"))?;
    if !super::confirmed(&form.confirm) && key != roles::FACILITATOR {
        return Ok(render(super::ConfirmPage {
            nav: Nav::circle(&staff, &circle, "rota"),
            note: None,
            title: format!("Remove the role {}?", kind.name),
            paragraphs: vec![
                "Its holders in sessions still to come lose it (nobody is emailed). Who held it in past sessions stays in the ledger.".into(),
            ],
            action: format!("/dashboard/circles/{}/roles/{key}/remove", circle.id),
            fields: Vec::new(),
            confirm_label: format!("Remove {}", kind.name),
            back: format!("/dashboard/circles/{}/rota", circle.id),
            back_label: "Keep it",
        })?);
    }
    role_actions::remove(&mut conn, &circle, &key).await?;
    Ok(back_to_rota(
        circle.id,
        "Role removed, with its holders in sessions to come.",
    ))
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

/// Save the talking-piece template from the Rota page: `enabled`, and rows of `kind_N`,
/// `prompt_N`, `minutes_N`; a row with no kind and no prompt is left out.
pub async fn save_agenda(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<Vec<(String, String)>>,
) -> DashResult {
    let fields = form.into_inner();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    staff.check_csrf(&get("csrf"))?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let here = format!("/dashboard/circles/{}/rota", circle.id);
    let mut rounds = Vec::new();
    let mut problem = None;
    for n in 0..crate::domain::agenda::MAX_ROUNDS {
        let (kind, prompt, minutes) = (
            get(&format!("kind_{n}")),
            get(&format!("prompt_{n}")),
            get(&format!("minutes_{n}")),
        );
        if kind.is_empty() && prompt.is_empty() {
            continue;
        }
        let kind = match crate::domain::AgendaStep::parse(&kind, "kind") {
            Ok(k) => k,
            Err(_) => {
                problem = Some(format!("Round {}: choose what kind of round it is.", n + 1));
                break;
            }
        };
        let Ok(minutes) = minutes.parse::<i32>() else {
            problem = Some(format!("Round {}: give its length in minutes.", n + 1));
            break;
        };
        rounds.push(crate::domain::agenda::TemplateRound {
            kind,
            prompt,
            minutes,
        });
    }
    let enabled = get("enabled") == "on";
    let checked = match problem {
        Some(p) => Err(p),
        None => crate::actions::agenda::save_template(&mut conn, circle.id, enabled, rounds)
            .await?
            .map_err(|e| {
                format!(
                    "The rounds were not saved: {} {}.",
                    e.field.replace('_', " "),
                    e.message
                )
            }),
    };
    match checked {
        Ok(template) => {
            let note = if enabled {
                format!(
                    "Saved {} rounds; sessions run them from now on.",
                    template.rounds.len()
                )
            } else {
                "Saved the rounds; sessions do not run them until you switch them on.".to_string()
            };
            Ok(see_other(&here, &note))
        }
        Err(message) => {
            drop(conn);
            let mut page = build(&state, &staff, circle.id, Some(message)).await?;
            // The form comes back as it was typed, so nothing has to be typed again.
            page.agenda_on = get("enabled") == "on";
            let mut typed: Vec<AgendaRow> = (0..crate::domain::agenda::MAX_ROUNDS)
                .map(|n| AgendaRow {
                    kind: get(&format!("kind_{n}")),
                    prompt: get(&format!("prompt_{n}")),
                    minutes: get(&format!("minutes_{n}")),
                })
                .filter(|r| !(r.kind.is_empty() && r.prompt.is_empty() && r.minutes.is_empty()))
                .collect();
            let rows = crate::domain::agenda::MAX_ROUNDS.min(typed.len() + SPARE_ROUNDS);
            while typed.len() < rows {
                typed.push(AgendaRow {
                    kind: String::new(),
                    prompt: String::new(),
                    minutes: String::new(),
                });
            }
            page.agenda = typed;
            Ok(crate::http::pages::render_status(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                page,
            )?)
        }
    }
}
