//! The rota: a circle's coming sessions × its roles, with who holds each slot, where it stands
//! and why that person; open slots stand out. Below it, the ledger of who held what and the
//! circle's balance, with a CSV export.

use actix_web::web;
use askama::Template;

use super::{see_other, DashResult, Nav, NoteQuery, Staff};
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
    /// The role as people say it: "Timekeeper", "Note-taker 2".
    pub label: String,
    pub slot: i32,
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
    /// A warning when the sessions' roles leave too few people free.
    too_many: Option<String>,
    rows: Vec<Row>,
    /// Ledger: member, then per role (in column order of `role_names`) the count, then total.
    role_names: Vec<String>,
    ledger: Vec<(String, Vec<i64>, i64)>,
    balance: String,
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

/// A slot as people say it: the role's name, and its number when the role has several.
fn slot_label(kinds: &[roles::RoleKind], key: &str, slot: i32) -> String {
    match kinds.iter().find(|k| k.key == key) {
        Some(k) if k.slots > 1 => format!("{} {slot}", k.name),
        Some(k) => k.name.clone(),
        None => key.replace('_', " "),
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
    let label = |key: &str, slot: i32| slot_label(&kinds, key, slot);
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
                    label: label(&r.role, r.slot),
                    role: r.role.clone(),
                    slot: r.slot,
                    holder: r.display_name.unwrap_or_else(|| "nobody yet".into()),
                    open: matches!(r.state, RoleState::Open | RoleState::Declined),
                    state: crate::domain::text::role_state(r.state, false),
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
    let taking_part = roles::planner_members(&mut conn, circle.id, chrono::Utc::now())
        .await?
        .iter()
        .filter(|m| m.opted_in)
        .count();
    let taken: usize = kinds.iter().map(|k| k.slots.max(0) as usize).sum();
    let too_many = (circle.facilitation == Facilitation::Rotating
        && crate::domain::roles::too_many_roles(taking_part, taken))
    .then(|| {
        format!(
            "Each session needs {taken} people in roles and {taking_part} people take part: fewer than a third of them are free in a session, so some hold a role every week and a swap may find nobody. Remove a role or give one fewer people per session."
        )
    });
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
        led,
        nav: Nav::circle(staff, &circle, "rota"),
        note,
        circle_id: circle.id.to_string(),
        rotating: circle.facilitation == Facilitation::Rotating,
        too_many,
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
    let (session, circle) = staff.session(&mut conn, session_id).await?;
    let member: uuid::Uuid = form
        .member_id
        .parse()
        .map_err(|_| AppError::invalid("member_id", "choose someone from the list"))?;
    let slot: i32 = form
        .slot
        .parse()
        .map_err(|_| AppError::invalid("slot", "is not a slot of this role"))?;
    let row = rota::assign(
        &mut conn,
        session.id,
        &key,
        slot,
        MemberId(member),
        staff.member_id,
        chrono::Utc::now(),
    )
    .await?;
    let kinds = roles::kinds(&mut conn, session.circle_id).await?;
    let name = crate::db::members::display_names(&mut conn, &[MemberId(member)])
        .await?
        .pop()
        .map_or_else(|| "They".to_string(), |(_, name)| name);
    let told = if MemberId(member) == staff.member_id {
        "".to_string()
    } else {
        " They have been told by email.".to_string()
    };
    let when = session
        .starts_at
        .with_timezone(&circle.timezone.tz())
        .format("%a %-d %b");
    let note = format!(
        "{name} is the {} on {when}.{told}",
        slot_label(&kinds, &row.role_key, row.slot).to_lowercase()
    );
    // Back to the session's block on the rota.
    Ok(super::see_other_at(
        &format!("/dashboard/circles/{}/rota", session.circle_id),
        &note,
        Some(&format!("s-{}", session.id)),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct SlotQuery {
    slot: Option<i32>,
}

#[derive(Template)]
#[template(path = "pages/dashboard/rota_slot.html")]
struct SlotPage {
    nav: Nav,
    note: Option<String>,
    title: String,
    session_id: String,
    key: String,
    slot: i32,
    /// Who holds it now and where it stands, in words ("Bo, confirmed"), and why.
    now: String,
    why: String,
    /// Active members: (id, name and what else they hold in the session, chosen).
    people: Vec<(String, String, bool)>,
    /// What pressing Assign sends, in words.
    told: String,
    back: String,
}

/// One slot of one session, to put someone else in it: who holds it, why, and what
/// assigning sends (the confirmation step before anyone is emailed).
pub async fn slot_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(SessionId, String)>,
    query: web::Query<SlotQuery>,
) -> DashResult {
    let (session_id, key) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (session, circle) = staff.session(&mut conn, session_id).await?;
    let kinds = roles::kinds(&mut conn, circle.id).await?;
    let kind = kinds
        .iter()
        .find(|k| k.key == key)
        .ok_or(AppError::NotFound("role"))?;
    let slot = query.slot.unwrap_or(1);
    if slot < 1 || slot > kind.slots {
        return Err(AppError::invalid(
            "slot",
            format!("must be between 1 and {} for this role", kind.slots),
        )
        .into());
    }
    let label = slot_label(&kinds, &key, slot);
    let rows = roles::for_sessions(&mut conn, &[session.id]).await?;
    let roster = memberships::roster(
        &mut conn,
        circle.id,
        Some(MembershipState::Active),
        None,
        500,
    )
    .await?;
    let name_of = |m: MemberId| {
        roster
            .iter()
            .find(|r| r.member_id == m)
            .map(|r| r.display_name.clone())
    };
    let current = rows.iter().find(|r| r.role_key == key && r.slot == slot);
    let holder = current
        .filter(|r| {
            matches!(
                r.state,
                RoleState::Confirmed | RoleState::Asked | RoleState::Proposed
            )
        })
        .and_then(|r| r.member_id.map(|m| (m, r.state)));
    let now = match holder.and_then(|(m, st)| name_of(m).map(|n| (n, st))) {
        Some((name, st)) => format!("{name}, {}", crate::domain::text::role_state(st, false)),
        None => "Nobody yet.".to_string(),
    };
    let people = roster
        .iter()
        .map(|r| {
            let elsewhere = rows
                .iter()
                .find(|o| {
                    o.member_id == Some(r.member_id)
                        && !(o.role_key == key && o.slot == slot)
                        && matches!(o.state, RoleState::Confirmed | RoleState::Asked)
                })
                .map(|o| format!(" (already {})", slot_label(&kinds, &o.role_key, o.slot)));
            (
                r.member_id.to_string(),
                format!("{}{}", r.display_name, elsewhere.unwrap_or_default()),
                holder.is_some_and(|(m, _)| m == r.member_id),
            )
        })
        .collect();
    let when = session
        .starts_at
        .with_timezone(&circle.timezone.tz())
        .format("%A %-d %B %Y, %H:%M")
        .to_string();
    let told = match holder.and_then(|(m, st)| name_of(m).map(|n| (n, st))) {
        Some((name, RoleState::Confirmed | RoleState::Asked)) => format!(
            "The person you choose holds it at once and gets one email saying so. {name} is not emailed; the role leaves their page."
        ),
        _ => "The person you choose holds it at once and gets one email saying so (not you, if you choose yourself).".to_string(),
    };
    Ok(render(SlotPage {
        nav: Nav::circle(&staff, &circle, "rota"),
        note: None,
        title: format!("{label} on {when}"),
        session_id: session.id.to_string(),
        key: key.clone(),
        slot,
        now,
        why: current.map(|r| r.why.clone()).unwrap_or_default(),
        people,
        told,
        back: format!("/dashboard/circles/{}/rota#s-{}", circle.id, session.id),
    })?)
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
        min_attended: Some(number(
            "min_attended",
            &form.min_attended,
            i64::from(crate::domain::roles::default_min_attended(
                form.rotates.is_some(),
            )),
        )?),
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

/// Add the circle kind's suggested micro-roles, as many as its size allows, after a page
/// that names them and whom Roundtable would ask by email at once.
pub async fn add_suggested(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<RemoveForm>,
) -> DashResult {
    use crate::domain::text::listed;
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let keep = super::confirmed(&form.confirm);
    let outcome = role_actions::add_suggested(&mut conn, &circle, keep).await?;
    let names: Vec<&str> = outcome.added.iter().map(|k| k.name.as_str()).collect();
    if names.is_empty() {
        return Ok(back_to_rota(
            circle.id,
            &format!(
                "No roles added: with {} people taking part, the roles the circle has already leave no more room (at least a third of the people hold no role in a session).",
                outcome.size
            ),
        ));
    }
    if !keep {
        let asked = if outcome.asked.is_empty() {
            "Nobody is emailed now.".to_string()
        } else {
            format!(
                "Roundtable then asks {} by email now, one letter each, to take a turn in a coming session; each can accept or decline from it.",
                listed(&outcome.asked)
            )
        };
        return Ok(render(super::ConfirmPage {
            nav: Nav::circle(&staff, &circle, "rota"),
            note: None,
            title: format!("Add {}?", listed(&names)),
            paragraphs: vec![
                format!(
                    "With {} people taking part, these roles leave at least a third of them without a role in each session, so there is someone free to swap with.",
                    outcome.size
                ),
                asked,
                format!(
                    "Later turns are asked {} days before their session, and only of people who have come to at least one session.",
                    circle.role_ask_days
                ),
            ],
            action: format!("/dashboard/circles/{}/roles/suggested", circle.id),
            fields: Vec::new(),
            confirm_label: format!("Add {} roles", names.len()),
            back: format!("/dashboard/circles/{}/rota", circle.id),
            back_label: "Not now",
        })?);
    }
    let asked = match outcome.asked.len() {
        0 => String::new(),
        1 => " 1 person was asked by email.".to_string(),
        n => format!(" {n} people were asked by email."),
    };
    Ok(back_to_rota(
        circle.id,
        &format!("Added {}.{asked}", listed(&names)),
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
