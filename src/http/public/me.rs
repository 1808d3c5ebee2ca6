//! A member's own page, reached from a personal link: their circles, upcoming sessions and
//! answers, reflections, calendar feed, email preferences, leaving, exporting everything, and
//! deleting themselves. Changes are POSTs that redirect back to the page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{holder, render, render_status, viewer_zone, when, MessagePage, PageError, PageResult};
use crate::actions::links::{self, RequestedLink};
use crate::db::members::Member;
use crate::db::Connection;
use crate::db::{circles, members, memberships, reflections, roles, rsvps, sessions};
use crate::domain::tokens::Purpose;
use crate::domain::{CircleId, EmailAddress, MembershipRole, MembershipState, RsvpResponse};
use crate::error::AppError;
use crate::http::rate_limit::FormLimits;
use crate::http::AppState;
use crate::links::Holder;

#[derive(Template)]
#[template(path = "pages/me_request.html")]
struct RequestPage {
    email: String,
    error: Option<String>,
    sent: bool,
}

pub async fn request_form() -> PageResult {
    render(RequestPage {
        email: String::new(),
        error: None,
        sent: false,
    })
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

/// Email a fresh personal link. The answer does not say whether the address is known.
pub async fn request_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RequestForm>,
) -> PageResult {
    let limits = FormLimits::new(&state.limiter, &state.settings.limits, "me", &req);
    limits.check_client()?;
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                RequestPage {
                    email: form.email.clone(),
                    error: Some(format!("The email address {}.", e.message)),
                    sent: false,
                },
            )
        }
    };
    limits.check_address(&email)?;
    // The same single insert whether or not the address is known; the job decides.
    let mut conn = state.pool.get().await?;
    links::request(&mut conn, &email, RequestedLink::Personal).await?;
    render(RequestPage {
        email: String::new(),
        error: None,
        sent: true,
    })
}

struct CircleLine {
    id: CircleId,
    name: String,
    state: String,
}

struct SessionLine {
    circle: String,
    when: String,
    answer: &'static str,
    rsvp_url: String,
}

struct RoleLine {
    circle: String,
    role: String,
    when: String,
    state: &'static str,
    why: String,
    url: String,
}

struct HeldLine {
    circle: String,
    role: String,
    count: i64,
    first: String,
    last: String,
}

/// A rotating circle's preferences form.
struct TurnsLine {
    circle_id: CircleId,
    circle: String,
    opted_in: bool,
    half: bool,
    paused_until: String,
    /// (key, name, opted out)
    roles: Vec<(String, String, bool)>,
}

struct ReflectionLine {
    circle: String,
    when: String,
    visibility: &'static str,
    body: String,
}

#[derive(Template)]
#[template(path = "pages/me.html")]
struct MePage {
    base: String,
    name: String,
    saved: Option<String>,
    circles: Vec<CircleLine>,
    zone: String,
    sessions: Vec<SessionLine>,
    reflections: Vec<ReflectionLine>,
    roles: Vec<RoleLine>,
    held: Vec<HeldLine>,
    turns: Vec<TurnsLine>,
    calendar_url: String,
    webcal_url: String,
    reminders: bool,
    reflection_prompts: bool,
    subscribed: bool,
    learning: super::me_loop::Loop,
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
    /// The circle a `saved=left` notice names.
    circle: Option<String>,
}

fn state_label(s: MembershipState, position: Option<i32>) -> String {
    match s {
        MembershipState::Active => "member".into(),
        MembershipState::Pending => "waiting for your confirmation".into(),
        MembershipState::Waitlisted => format!("waitlist position {}", position.unwrap_or(1)),
        MembershipState::Left => "left".into(),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let now = Utc::now();
    let mine = memberships::of_member(&mut conn, member.id).await?;
    let upcoming = sessions::for_member(&mut conn, member.id, now, 50).await?;
    let written = reflections::by_member(&mut conn, member.id, 100).await?;
    let mut circle_ids: Vec<CircleId> = mine.iter().map(|m| m.circle_id).collect();
    circle_ids.extend(upcoming.iter().map(|s| s.circle_id));
    circle_ids.extend(written.iter().map(|r| r.circle_id));
    let names = circles::names(&mut conn, &circle_ids).await?;
    let name_of = |id: CircleId| {
        names
            .iter()
            .find(|(c, _, _)| *c == id)
            .map(|(_, n, s)| (n.clone(), s.clone()))
            .unwrap_or_default()
    };
    let session_ids: Vec<_> = upcoming.iter().map(|s| s.id).collect();
    let answers = rsvps::of_member(&mut conn, member.id, &session_ids).await?;
    let zone = viewer_zone(
        &req,
        Some(&member),
        upcoming
            .first()
            .map_or(crate::domain::Timezone::UTC, |s| s.timezone),
    );
    let holder_of = Holder::of(&member);
    let left_circle = query
        .circle
        .as_deref()
        .and_then(|c| c.parse().ok())
        .map(|c| name_of(CircleId(c)).0)
        .filter(|n| !n.is_empty());
    let saved = match query.saved.as_deref() {
        Some("preferences") => Some("Your email preferences are saved.".to_string()),
        Some("rotation") => Some("Your preferences for taking turns are saved.".to_string()),
        Some("left") => Some(match left_circle {
            Some(name) => format!("You have left {name}. It will send you nothing more."),
            None => "You have left the circle.".to_string(),
        }),
        Some("back") => Some(match &left_circle {
            Some(name) => format!(
                "You have left {name}, and you are back on the waitlist you came from, at your old place."
            ),
            None => "You have left the circle, and you are back on the waitlist you came from.".to_string(),
        }),
        Some("reported") => Some(
            "Thank you: the organisers were told, and can see the answer you reported.".to_string(),
        ),
        Some("acknowledged") => {
            Some("Thank you: you've acknowledged the circle's agreements.".to_string())
        }
        Some("proposed") => Some(
            "Your proposal is out: everyone in the circle is asked by email, and the round's outcome reaches you when it closes."
                .to_string(),
        ),
        Some("calendar") => Some(
            "Your calendar has a new address. The old one no longer works: subscribe again with the new one."
                .to_string(),
        ),
        _ => None,
    };
    let role_lines = roles::upcoming_for_member(&mut conn, member.id, now)
        .await?
        .into_iter()
        .map(|r| RoleLine {
            circle: r.circle_name,
            role: r.role_name,
            when: when(r.starts_at, r.ends_at, zone),
            state: match r.state.as_str() {
                "asked" => "waiting for your answer",
                "confirmed" => "you accepted",
                _ => "proposed; you will be asked nearer the time",
            },
            why: r.why,
            url: state.links.role(holder_of, r.id, r.ends_at),
        })
        .collect();
    let day = |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%-d %B %Y").to_string();
    let held = roles::held_by_member(&mut conn, member.id, now)
        .await?
        .into_iter()
        .map(|h| HeldLine {
            circle: h.circle_name,
            role: h.role_name,
            count: h.count,
            first: day(h.first_at),
            last: day(h.last_at),
        })
        .collect();
    let mut turns = Vec::new();
    for m in mine.iter().filter(|m| m.state == MembershipState::Active) {
        let Some(circle) = circles::find(&mut conn, m.circle_id).await? else {
            continue;
        };
        if circle.facilitation != crate::domain::Facilitation::Rotating {
            continue;
        }
        let prefs = roles::prefs(&mut conn, circle.id, member.id).await?;
        let kinds = roles::kinds(&mut conn, circle.id).await?;
        turns.push(TurnsLine {
            circle_id: circle.id,
            circle: circle.name,
            opted_in: prefs.opted_in,
            half: prefs.weight < 100,
            paused_until: prefs
                .paused_until
                .map(|d| d.to_string())
                .unwrap_or_default(),
            roles: kinds
                .into_iter()
                .filter(|k| k.rotates)
                .map(|k| {
                    let out = prefs.opted_out_roles.contains(&k.key);
                    (k.key, k.name, out)
                })
                .collect(),
        });
    }
    let learning = super::me_loop::load(&mut conn, &state, &member, zone, now).await?;
    render(MePage {
        learning,
        base: format!("/me/{}", token.as_str()),
        roles: role_lines,
        held,
        turns,
        name: member.display_name.clone(),
        saved,
        circles: mine
            .iter()
            .filter(|m| m.state != MembershipState::Left)
            .map(|m| {
                let (name, _) = name_of(m.circle_id);
                CircleLine {
                    id: m.circle_id,
                    name,
                    state: state_label(m.state, m.waitlist_position),
                }
            })
            .collect(),
        zone: zone.name().to_string(),
        sessions: upcoming
            .iter()
            .filter(|s| s.status == crate::domain::SessionStatus::Scheduled)
            .map(|s| {
                let answer = answers
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .and_then(|(_, r)| *r);
                SessionLine {
                    circle: name_of(s.circle_id).0,
                    when: when(s.starts_at, s.ends_at, zone),
                    answer: answer_label(answer),
                    rsvp_url: state.links.rsvp(holder_of, s.id.0, s.ends_at, None),
                }
            })
            .collect(),
        reflections: written
            .into_iter()
            .map(|r| ReflectionLine {
                circle: name_of(r.circle_id).0,
                when: when(r.starts_at, r.ends_at, zone),
                visibility: match r.visibility {
                    crate::domain::ReflectionVisibility::Circle => "shared with the circle",
                    crate::domain::ReflectionVisibility::Private => "private",
                },
                body: r.body,
            })
            .collect(),
        calendar_url: state.links.calendar(holder_of),
        webcal_url: state.links.webcal(holder_of),
        reminders: member.reminders_enabled,
        reflection_prompts: member.reflection_prompts_enabled,
        subscribed: member.unsubscribed_at.is_none(),
    })
}

fn back_to_page(token: &str, saved: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/me/{token}?saved={saved}")))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    reminders: Option<String>,
    reflection_prompts: Option<String>,
    subscribed: Option<String>,
}

pub async fn preferences(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PreferencesForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    members::set_preferences(
        &mut conn,
        member.id,
        form.reminders.is_some(),
        form.reflection_prompts.is_some(),
        form.subscribed.is_some(),
    )
    .await?;
    Ok(back_to_page(&token, "preferences"))
}

/// A member's preferences for taking turns in one circle, from their page.
#[derive(Debug, Deserialize)]
pub struct RotationForm {
    #[serde(default)]
    circle_id: String,
    opted_in: Option<String>,
    half: Option<String>,
    #[serde(default)]
    paused_until: String,
    /// The role keys left unticked: sent as `take_<key>=on` for each role they take.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

pub async fn rotation(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<RotationForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle_id: uuid::Uuid = form
        .circle_id
        .parse()
        .map_err(|_| AppError::invalid("circle_id", "is not a circle"))?;
    let circle = circles::find(&mut conn, CircleId(circle_id))
        .await?
        .ok_or_else(PageError::not_found)?;
    let paused_until = match form.paused_until.trim() {
        "" => None,
        d => Some(crate::domain::clock::parse_date(d, "paused_until").map_err(AppError::from)?),
    };
    let kinds = roles::kinds(&mut conn, circle.id).await?;
    let opted_out = kinds
        .iter()
        .filter(|k| k.rotates && !form.rest.contains_key(&format!("take_{}", k.key)))
        .map(|k| k.key.clone())
        .collect();
    let current = roles::prefs(&mut conn, circle.id, member.id).await?;
    // "Half as often" toggles between a full share and half; a weight an organiser set to
    // something else stays unless the box changes its meaning.
    let weight = match (form.half.is_some(), current.weight < 100) {
        (true, true) | (false, false) => current.weight,
        (true, false) => 50,
        (false, true) => 100,
    };
    let change = crate::actions::roles::PrefsChange {
        opted_in: Some(form.opted_in.is_some()),
        weight: Some(weight),
        paused_until: Some(paused_until),
        opted_out_roles: Some(opted_out),
    };
    match crate::actions::roles::set_prefs(&mut conn, &circle, member.id, change).await {
        Ok(_) => Ok(back_to_page(&token, "rotation")),
        // Not a member of that circle (any more): as if it did not exist.
        Err(AppError::NotFound(_)) => Err(PageError::not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Give the calendar feed a new address; the old one stops working at once.
pub async fn reset_calendar(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    members::reset_calendar_link(&mut conn, member.id).await?;
    Ok(back_to_page(&token, "calendar"))
}

/// Retire every link in the member's earlier email (a forwarded message, a lost phone) and
/// mail them a fresh link to this page.
pub async fn retire_links(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    crate::actions::people::retire_links(&mut conn, member.id).await?;
    render(super::MessagePage {
        title: "Your old links have stopped working".into(),
        paragraphs: vec![
            "Every link in the email Roundtable sent you so far, this page's included, no longer works: answers, roles, swaps, feedback, agreements and sign-ups.".into(),
            format!("A fresh link to your page is on its way to {}. Later email carries new links that work as before.", member.email),
            "Unsubscribe links in old email still work, and so does your calendar feed (it has its own reset on your page).".into(),
        ],
        links: Vec::new(),
    })
}

#[derive(Debug, Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    circle_id: String,
    /// `yes` from the confirmation page; without it the page asks first.
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/me_leave.html")]
struct LeavePage {
    base: String,
    circle_id: CircleId,
    circle_name: String,
    consequence: String,
}

/// "Leave Slow Reading?" and what leaving does, before anything happens.
async fn leave_page(
    conn: &mut Connection,
    token: &str,
    member: &Member,
    circle_id: CircleId,
) -> PageResult {
    let circle = circles::find(conn, circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let mine = memberships::find(conn, circle_id, member.id)
        .await?
        .filter(|m| m.state != MembershipState::Left)
        .ok_or_else(PageError::not_found)?;
    let waiting = memberships::waitlist_length(conn, circle_id).await?;
    let back = match mine.state {
        MembershipState::Active => {
            crate::actions::growing::way_back(conn, &circle, member.id).await?
        }
        _ => None,
    };
    let consequence = match (mine.state, &back) {
        (_, Some((parent, place))) => format!(
            "You go back to {}'s waitlist, at number {place}, where you were before you were moved here.",
            parent.name
        ),
        (MembershipState::Waitlisted, _) => format!(
            "You give up your place on its waitlist (number {}).",
            mine.waitlist_position.unwrap_or(1)
        ),
        (MembershipState::Active, _) if waiting > 0 && mine.role == MembershipRole::Member => {
            "Your seat goes to the next person waiting, and you will get no more invitations or reminders from it.".to_string()
        }
        _ => "You will get no more invitations or reminders from it.".to_string(),
    };
    render(LeavePage {
        base: format!("/me/{token}"),
        circle_id,
        circle_name: circle.name,
        consequence,
    })
}

fn circle_of(form: &str) -> Result<CircleId, PageError> {
    form.parse()
        .map(CircleId)
        .map_err(|_| AppError::invalid("circle_id", "is not a circle").into())
}

/// The question before leaving (a GET: it changes nothing).
pub async fn confirm_leave(
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: web::Query<LeaveForm>,
) -> PageResult {
    let circle_id = circle_of(&query.circle_id)?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    leave_page(&mut conn, &token, &member, circle_id).await
}

/// Leave, once the confirmation page said yes; any other POST only asks.
pub async fn leave(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<LeaveForm>,
) -> PageResult {
    let circle_id = circle_of(&form.circle_id)?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    if form.confirm.as_deref() != Some("yes") {
        return leave_page(&mut conn, &token, &member, circle_id).await;
    }
    let back = crate::actions::growing::leave_sibling(&mut conn, circle_id, member.id).await?;
    let saved = if back.is_some() { "back" } else { "left" };
    Ok(HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/me/{}?saved={saved}&circle={circle_id}", token.as_str()),
        ))
        .finish())
}

struct SharedLine {
    when: String,
    author: String,
    paragraphs: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/me_circle.html")]
struct MemberCirclePage {
    base: String,
    circle_id: CircleId,
    name: String,
    slug: String,
    state: String,
    active: bool,
    zone: String,
    sessions: Vec<SessionLine>,
    shared: Vec<SharedLine>,
    /// Who holds which role in the next sessions: (when, [(role, holder or "open")]).
    rota: Vec<(String, Vec<(String, String)>)>,
    /// Who has held what: role names, then (member, counts per role).
    role_names: Vec<String>,
    ledger: Vec<(String, Vec<i64>)>,
    balance: String,
    notes: Vec<NoteLine>,
    calendar_url: String,
    webcal_url: String,
    agreements: Vec<super::me_loop::CircleAgreement>,
}

/// A handoff note shared with the circle: who left it, after which session, its answers.
struct NoteLine {
    author: String,
    day: String,
    parts: Vec<(String, String)>,
}

/// One of the member's circles as they see it: where they stand, its coming sessions with
/// their answers, and (for active members) what others shared with the circle.
pub async fn circle(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (token, circle_id) = path.into_inner();
    let circle_id = circle_of(&circle_id).map_err(|_| PageError::not_found())?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle = circles::find(&mut conn, circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let mine = memberships::find(&mut conn, circle_id, member.id)
        .await?
        .filter(|m| m.state != MembershipState::Left)
        .ok_or_else(PageError::not_found)?;
    let active = mine.state == MembershipState::Active;
    let zone = viewer_zone(&req, Some(&member), circle.timezone);
    let now = Utc::now();
    let upcoming: Vec<_> = sessions::list(&mut conn, circle_id, Some(now), None, 12)
        .await?
        .into_iter()
        .filter(|s| s.status == crate::domain::SessionStatus::Scheduled)
        .collect();
    let ids: Vec<_> = upcoming.iter().map(|s| s.id).collect();
    let answers = rsvps::of_member(&mut conn, member.id, &ids).await?;
    let shared = if active {
        reflections::shared_in_circle(&mut conn, circle_id, 100).await?
    } else {
        Vec::new()
    };
    let holder_of = Holder::of(&member);
    // The circle's leadership is open to its members: the rota, the ledger, shared notes.
    let (mut rota, mut role_names, mut ledger, mut balance, mut notes) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        String::new(),
        Vec::new(),
    );
    if active {
        let kinds = roles::kinds(&mut conn, circle_id).await?;
        let name_of = |key: &str| {
            kinds
                .iter()
                .find(|k| k.key == key)
                .map_or_else(|| key.to_string(), |k| k.name.clone())
        };
        for s in crate::views::rota::rota_of(&mut conn, circle_id, 4).await? {
            let slots = s
                .roles
                .into_iter()
                .filter(|r| {
                    r.state == crate::domain::RoleState::Confirmed
                        || r.state == crate::domain::RoleState::Asked
                        || r.state == crate::domain::RoleState::Proposed
                })
                .map(|r| {
                    let who = r.display_name.unwrap_or_default();
                    let who = if r.state == crate::domain::RoleState::Confirmed {
                        who
                    } else {
                        format!("{who} (not confirmed yet)")
                    };
                    (name_of(&r.role), who)
                })
                .collect();
            rota.push((
                s.starts_at
                    .with_timezone(&zone)
                    .format("%A %-d %B")
                    .to_string(),
                slots,
            ));
        }
        let l = crate::views::rota::ledger_of(&mut conn, circle_id).await?;
        role_names = kinds.iter().map(|k| k.name.clone()).collect();
        ledger = l
            .items
            .iter()
            .map(|row| {
                let counts = kinds
                    .iter()
                    .map(|k| row.roles.get(&k.key).map_or(0, |h| h.count))
                    .collect();
                (row.display_name.clone(), counts)
            })
            .collect();
        balance = format!("{:.2}", l.balance);
        notes = crate::db::handoffs::shared_with_circle(&mut conn, circle_id, 10)
            .await?
            .into_iter()
            .map(|(n, author, at)| NoteLine {
                author: author.unwrap_or_else(|| "A former member".into()),
                day: at.with_timezone(&zone).format("%A %-d %B %Y").to_string(),
                parts: n.parts(),
            })
            .collect();
    }
    let agreements = if active {
        super::me_loop::for_circle(&mut conn, circle_id).await?
    } else {
        Vec::new()
    };
    render(MemberCirclePage {
        agreements,
        rota,
        role_names,
        ledger,
        balance,
        notes,
        base: format!("/me/{token}"),
        circle_id,
        name: circle.name.clone(),
        slug: circle.slug.to_string(),
        state: state_label(mine.state, mine.waitlist_position),
        active,
        zone: zone.name().to_string(),
        sessions: upcoming
            .iter()
            .map(|s| SessionLine {
                circle: circle.name.clone(),
                when: when(s.starts_at, s.ends_at, zone),
                answer: answer_label(
                    answers
                        .iter()
                        .find(|(id, _)| *id == s.id)
                        .and_then(|(_, r)| *r),
                ),
                rsvp_url: state.links.rsvp(holder_of, s.id.0, s.ends_at, None),
            })
            .collect(),
        shared: shared
            .into_iter()
            .map(|r| SharedLine {
                when: when(r.starts_at, r.ends_at, zone),
                author: r.author,
                paragraphs: crate::domain::text::paragraphs(&r.body),
            })
            .collect(),
        calendar_url: state.links.calendar(holder_of),
        webcal_url: state.links.webcal(holder_of),
    })
}

fn answer_label(answer: Option<RsvpResponse>) -> &'static str {
    match answer {
        Some(RsvpResponse::Yes) => "yes",
        Some(RsvpResponse::No) => "no",
        Some(RsvpResponse::Maybe) => "maybe",
        None => "none yet",
    }
}

/// Everything Roundtable holds about the member, as one JSON document.
pub async fn export(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let document = members::export(&mut conn, &member).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"roundtable-my-data.json\"",
        ))
        .body(serde_json::to_string_pretty(&document).unwrap_or_default()))
}

#[derive(Template)]
#[template(path = "pages/me_delete.html")]
struct DeletePage {
    back: String,
    error: Option<String>,
}

pub async fn confirm_delete(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    holder(&state, &mut conn, &token, Purpose::Me).await?;
    render(DeletePage {
        back: format!("/me/{}", token.as_str()),
        error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    confirm: Option<String>,
}

pub async fn delete(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    if form.confirm.as_deref() != Some("yes") {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            DeletePage {
                back: format!("/me/{}", token.as_str()),
                error: Some("Tick the box to confirm; nothing was deleted.".into()),
            },
        );
    }
    crate::actions::people::erase(&mut conn, member.id)
        .await
        .map_err(PageError::from)?;
    render(MessagePage {
        title: "Your account is deleted".into(),
        paragraphs: vec![
            "We removed you from every circle and deleted your answers, reflections and address. Links in old emails no longer work.".into(),
        ],
        links: vec![("/".into(), "See open circles".into())],
    })
}
