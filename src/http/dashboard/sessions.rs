//! Sessions: scheduling with a preview of the dates (flagging those a clock change moved), editing
//! one session (members get an update), cancelling, and marking attendance with one click.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::circles::Circle;
use crate::db::sessions;
use crate::db::{dashboard, readings, rsvps};
use crate::domain::schedule::ScheduleCreate;
use crate::domain::{
    CircleId, Invalid, MemberId, ReadingId, RsvpResponse, SessionEdit, SessionId, SessionStatus,
};
use crate::error::AppError;
use crate::http::pages::{render, render_status, when};
use crate::http::AppState;

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    intent: String,
    #[serde(default = "weekly")]
    freq: String,
    #[serde(default)]
    interval: String,
    #[serde(default)]
    week_of_month: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    first_date: String,
    #[serde(default)]
    local_time: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    count: String,
}

fn weekly() -> String {
    "weekly".into()
}

impl Default for ScheduleForm {
    fn default() -> Self {
        Self {
            csrf: String::new(),
            intent: String::new(),
            freq: weekly(),
            interval: "1".into(),
            week_of_month: "1".into(),
            weekday: "thu".into(),
            first_date: String::new(),
            local_time: "19:00".into(),
            duration_minutes: "90".into(),
            count: "6".into(),
        }
    }
}

impl ScheduleForm {
    fn to_request(&self) -> Result<ScheduleCreate, Invalid> {
        let number = |v: &str, field: &'static str| -> Result<Option<i64>, Invalid> {
            let v = v.trim();
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse()
                    .map(Some)
                    .map_err(|_| Invalid::new(field, "must be a whole number"))
            }
        };
        let monthly = self.freq == "monthly";
        Ok(ScheduleCreate {
            freq: self.freq.clone(),
            interval: if monthly {
                None
            } else {
                number(&self.interval, "interval")?
            },
            week_of_month: if monthly {
                number(&self.week_of_month, "week_of_month")?
            } else {
                None
            },
            weekday: monthly.then(|| self.weekday.clone()),
            first_date: self.first_date.clone(),
            local_time: self.local_time.clone(),
            duration_minutes: number(&self.duration_minutes, "duration_minutes")?.unwrap_or(0),
            count: number(&self.count, "count")?,
            until: None,
            location: None,
        })
    }
}

pub struct SessionRow {
    pub id: String,
    pub when: String,
    pub status: String,
    pub yes: i64,
    pub attended: i64,
    pub marked: i64,
}

#[derive(Template)]
#[template(path = "pages/dashboard/sessions.html")]
struct SessionsPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    zone: String,
    rows: Vec<SessionRow>,
    f: ScheduleForm,
    error: Option<(String, String)>,
    preview: Vec<(String, String)>,
}

fn options(
    choices: &[(&'static str, &'static str)],
    current: &str,
) -> Vec<(&'static str, &'static str, &'static str)> {
    choices
        .iter()
        .map(|(v, l)| (*v, *l, if *v == current { " selected" } else { "" }))
        .collect()
}

impl SessionsPage {
    fn freq_options(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        options(
            &[("weekly", "Weekly"), ("monthly", "Monthly, on a weekday")],
            &self.f.freq,
        )
    }
    fn week_options(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        options(
            &[
                ("1", "First"),
                ("2", "Second"),
                ("3", "Third"),
                ("4", "Fourth"),
                ("-1", "Last"),
            ],
            &self.f.week_of_month,
        )
    }
    fn weekday_options(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        options(
            &[
                ("mon", "Monday"),
                ("tue", "Tuesday"),
                ("wed", "Wednesday"),
                ("thu", "Thursday"),
                ("fri", "Friday"),
                ("sat", "Saturday"),
                ("sun", "Sunday"),
            ],
            &self.f.weekday,
        )
    }
}

async fn page(
    conn: &mut crate::db::Connection,
    staff: &Staff,
    circle: &Circle,
    note: Option<String>,
    f: ScheduleForm,
    error: Option<(String, String)>,
    preview: Vec<(String, String)>,
) -> Result<SessionsPage, AppError> {
    let zone = circle.timezone.tz();
    let stats = dashboard::session_stats(conn, circle.id, 500).await?;
    let sessions = sessions::list(conn, circle.id, None, None, 500).await?;
    let now = chrono::Utc::now();
    let rows = sessions
        .iter()
        .map(|s| {
            let st = stats.iter().find(|x| x.session_id == s.id.0);
            SessionRow {
                id: s.id.to_string(),
                when: when(s.starts_at, s.ends_at, zone),
                status: status_label(s, now).to_string(),
                yes: st.map_or(0, |x| x.yes),
                attended: st.map_or(0, |x| x.attended),
                marked: st.map_or(0, |x| x.marked),
            }
        })
        .collect();
    Ok(SessionsPage {
        nav: Nav::circle(staff, circle, "sessions"),
        note,
        circle_id: circle.id.to_string(),
        zone: zone.name().to_string(),
        rows,
        f,
        error,
        preview,
    })
}

pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let p = page(
        &mut conn,
        &staff,
        &circle,
        query.note.clone(),
        ScheduleForm::default(),
        None,
        Vec::new(),
    )
    .await?;
    Ok(render(p)?)
}

/// Preview the dates (intent `preview`) or create the sessions.
pub async fn schedule(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<ScheduleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let form = form.into_inner();
    let rule = form.to_request().and_then(|r| r.parse());
    let rule = match rule {
        Ok(r) => r,
        Err(e) => {
            let p = page(
                &mut conn,
                &staff,
                &circle,
                None,
                form,
                Some((schedule_label(e.field).to_string(), e.message)),
                Vec::new(),
            )
            .await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, p)?);
        }
    };
    let tz = circle.timezone;
    if form.intent == "preview" {
        let preview = rule
            .expand(tz.tz())
            .into_iter()
            .map(|o| {
                let flag = if o.shifted {
                    format!(
                        "{} does not exist that day (the clocks go forward), so it starts at {}",
                        o.local_time.format("%H:%M"),
                        o.starts_at.with_timezone(&tz.tz()).format("%H:%M")
                    )
                } else {
                    String::new()
                };
                (when(o.starts_at, o.ends_at, tz.tz()), flag)
            })
            .collect();
        let p = page(&mut conn, &staff, &circle, None, form, None, preview).await?;
        return Ok(render(p)?);
    }
    let created =
        crate::actions::scheduling::create_sessions(&mut conn, &circle, &rule, None).await?;
    let note = schedule_note(
        &created,
        circle.invite_lead_days,
        tz.tz(),
        chrono::Utc::now(),
    );
    Ok(see_other(
        &format!("/dashboard/circles/{}/sessions", circle.id),
        &note,
    ))
}

/// The schedule form's label for a field the rules name.
fn schedule_label(field: &str) -> &'static str {
    match field {
        "freq" => "Repeats",
        "interval" => "Every how many weeks",
        "week_of_month" => "Which week",
        "weekday" => "Weekday",
        "first_date" => "First date",
        "local_time" => "Start time",
        "duration_minutes" => "Length in minutes",
        "count" => "How many sessions",
        "until" => "Last date",
        _ => "The schedule",
    }
}

/// What creating sessions set in motion, in words: invitations go out now only for sessions
/// inside the circle's invitation lead.
fn schedule_note(
    created: &[sessions::Session],
    lead_days: i32,
    zone: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let count = match created.len() {
        0 => return "No sessions were created: the rule produced no dates.".into(),
        1 => "1 session created".to_string(),
        n => format!("{n} sessions created"),
    };
    let first = created.iter().map(|s| s.starts_at).min().unwrap_or(now);
    let day = crate::email::when::describe_day(first, zone);
    let lead = chrono::Duration::days(i64::from(lead_days));
    if lead_days == 0 || first - lead <= now {
        format!("{count}; members are being invited, starting with {day}.")
    } else {
        let from = crate::email::when::describe_day(first - lead, zone);
        format!(
            "{count}; the first is {day}. Invitations go out {lead_days} day{} before each session, from {from}.",
            if lead_days == 1 { "" } else { "s" }
        )
    }
}

pub struct AttendanceRow {
    pub member_id: String,
    pub name: String,
    pub answer: &'static str,
    pub present: bool,
    pub absent: bool,
    /// Someone who has left since, kept on the roster because they attended.
    pub left: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard/session.html")]
struct SessionPage {
    nav: Nav,
    note: Option<String>,
    id: String,
    when: String,
    zone: String,
    status: &'static str,
    cancelled: bool,
    completed: bool,
    /// How many times members were sent a change to this session.
    updates: i32,
    local_date: String,
    local_time: String,
    duration: String,
    location: String,
    prompts: String,
    readings: Vec<(String, String, &'static str)>,
    people: Vec<(String, String, &'static str)>,
    attendance: Vec<AttendanceRow>,
    /// (field label, what is wrong), every problem of the last submission.
    errors: Vec<(&'static str, String)>,
    /// Every role slot of the session, the facilitator first: (role, who, where it stands).
    roles: Vec<(String, String, &'static str)>,
    /// "Read chapters 1–5 (pp. 3–47, 44 pages)", when the session reads a part of a reading.
    reading_part: Option<String>,
    /// The first talking-piece round's speaking order, when the session has rounds.
    speaking_order: Option<(String, Vec<String>)>,
    /// The discussion lead's questions for the reminder.
    questions: Option<(String, Vec<String>)>,
    /// Feedback asked for whoever held a role: one line each, counts only.
    feedback: Vec<String>,
}

/// How a session reads on the dashboard: one whose end has passed is completed.
pub fn status_label(s: &sessions::Session, now: chrono::DateTime<chrono::Utc>) -> &'static str {
    match s.status {
        SessionStatus::Cancelled => "cancelled",
        SessionStatus::Completed => "completed",
        SessionStatus::Scheduled if s.ends_at <= now => "completed",
        SessionStatus::Scheduled => "scheduled",
    }
}

async fn session_page(
    conn: &mut crate::db::Connection,
    staff: &Staff,
    id: SessionId,
    note: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Result<SessionPage, super::DashError> {
    let (s, circle) = staff.session(conn, id).await?;
    let zone = s.timezone.tz();
    let reading_rows = readings::list(conn, circle.id, None, 500).await?;
    let roster = rsvps::for_session(conn, s.id, None, 5000).await?;
    let sel = |yes: bool| if yes { " selected" } else { "" };
    let status = status_label(&s, chrono::Utc::now());
    let slots = crate::db::roles::slots_of_session(conn, s.id).await?;
    let has_facilitator_slot = slots
        .iter()
        .any(|l| l.role_key == crate::db::roles::FACILITATOR);
    let mut roles: Vec<(String, String, &'static str)> = slots
        .into_iter()
        .map(|l| {
            let state = match crate::domain::RoleState::parse(&l.state, "state") {
                Ok(st) if l.holder.is_some() || st == crate::domain::RoleState::Declined => {
                    crate::domain::text::role_state(st, false)
                }
                _ => crate::domain::text::role_state(crate::domain::RoleState::Open, false),
            };
            let who = l.holder.unwrap_or_else(|| "nobody yet".into());
            (l.role_name, who, state)
        })
        .collect();
    // A circle with one facilitator has no facilitator slot: name who facilitates.
    if !has_facilitator_slot {
        if let Some(f) = s.facilitator_id {
            let name = crate::db::members::find(conn, f)
                .await?
                .map_or_else(|| "someone who left".into(), |m| m.display_name);
            roles.insert(0, ("Facilitator".into(), name, "set by an organiser"));
        }
    }
    let reading_part = readings::segment_of(conn, s.id)
        .await?
        .filter(|seg| Some(seg.reading_id) == s.reading_id)
        .map(|seg| seg.label);
    let speaking_order = crate::views::agenda::for_session(conn, &s, &circle)
        .await?
        .and_then(|a| a.rounds.into_iter().find(|r| !r.order.is_empty()))
        .map(|r| {
            let names = r.order.into_iter().map(|p| p.display_name).collect();
            (crate::views::agenda::step_name(r.kind).to_string(), names)
        });
    let questions = crate::db::roles::questions_of(conn, s.id).await?;
    let mut feedback = Vec::new();
    let kinds = crate::db::roles::kinds(conn, s.circle_id).await?;
    for request in crate::db::feedback::for_session(conn, s.id).await? {
        let answered = crate::db::feedback::answered(conn, request.id).await?;
        let asked = crate::db::feedback::asked(conn, &request).await?;
        let name = crate::db::members::find(conn, request.subject_id)
            .await?
            .map_or_else(|| "someone who left".into(), |m| m.display_name);
        let closes = crate::email::when::deadline(request.closes_at, zone, chrono::Utc::now());
        let closed = request.is_closed(chrono::Utc::now());
        let role = kinds
            .iter()
            .find(|k| k.key == request.role_key)
            .map_or_else(
                || request.role_key.replace('_', " "),
                |k| k.name.to_lowercase(),
            );
        feedback.push(format!(
            "For {name} ({}, {}): {answered} of {} answered; {} {closes}. Only {name} reads the answers, and only with at least {}.",
            role,
            request.mode.as_str(),
            asked,
            if closed { "closed" } else { "closes" },
            request.min_answers
        ));
    }
    Ok(SessionPage {
        roles,
        reading_part,
        speaking_order,
        questions,
        feedback,
        nav: Nav::circle(staff, &circle, "sessions"),
        note,
        id: s.id.to_string(),
        when: when(s.starts_at, s.ends_at, zone),
        zone: zone.name().to_string(),
        status,
        cancelled: s.status == SessionStatus::Cancelled,
        completed: status == "completed",
        updates: s.ics_sequence,
        local_date: s.local_date.to_string(),
        local_time: s.local_time.format("%H:%M").to_string(),
        duration: s.duration_minutes.to_string(),
        location: s.location.clone().unwrap_or_default(),
        prompts: s.prompts.clone().unwrap_or_default(),
        readings: reading_rows
            .iter()
            .map(|r| {
                (
                    r.id.to_string(),
                    r.title.clone(),
                    sel(s.reading_id == Some(r.id)),
                )
            })
            .collect(),
        people: roster
            .iter()
            .filter(|m| m.active)
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.display_name.clone(),
                    sel(s.facilitator_id == Some(m.member_id)),
                )
            })
            .collect(),
        attendance: roster
            .into_iter()
            .map(|m| AttendanceRow {
                member_id: m.member_id.to_string(),
                name: m.display_name,
                answer: match m.response {
                    Some(RsvpResponse::Yes) => "yes",
                    Some(RsvpResponse::No) => "no",
                    Some(RsvpResponse::Maybe) => "maybe",
                    None => "–",
                },
                present: m.attended == Some(true),
                absent: m.attended == Some(false),
                left: !m.active,
            })
            .collect(),
        errors,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let p = session_page(&mut conn, &staff, *id, query.note.clone(), Vec::new()).await?;
    Ok(render(p)?)
}

#[derive(Debug, Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    local_date: String,
    #[serde(default)]
    local_time: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    reading_id: String,
    #[serde(default)]
    facilitator_id: String,
    #[serde(default)]
    prompts: String,
}

pub async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    form: web::Form<SessionForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let (current, _) = staff.session(&mut conn, *id).await?;
    if current.status == SessionStatus::Cancelled {
        return Err(AppError::Conflict("A cancelled session cannot be changed.".into()).into());
    }
    let mut problems = super::Problems::default();
    let date = problems.check("Date", SessionEdit::date(&form.local_date));
    let time = problems.check("Start time", SessionEdit::time(&form.local_time));
    let duration = problems.check(
        "Length in minutes",
        form.duration_minutes
            .trim()
            .parse::<i64>()
            .map_err(|_| Invalid::new("duration_minutes", "must be a whole number"))
            .and_then(SessionEdit::duration),
    );
    let optional_id = |v: &str, field: &'static str| -> Result<Option<uuid::Uuid>, Invalid> {
        let v = v.trim();
        if v.is_empty() {
            Ok(None)
        } else {
            v.parse()
                .map(Some)
                .map_err(|_| Invalid::new(field, "is not one of the choices"))
        }
    };
    let location = problems.check(
        "Location or link",
        SessionEdit::location(Some(form.location.clone())),
    );
    let reading = problems.check("Reading", optional_id(&form.reading_id, "reading_id"));
    let facilitator = problems.check(
        "Facilitating",
        optional_id(&form.facilitator_id, "facilitator_id"),
    );
    let prompts = problems.check(
        "Reflection prompts",
        SessionEdit::prompts(Some(form.prompts.clone())),
    );
    let (
        Some(date),
        Some(time),
        Some(duration),
        Some(location),
        Some(reading),
        Some(facilitator),
        Some(prompts),
    ) = (
        date,
        time,
        duration,
        location,
        reading,
        facilitator,
        prompts,
    )
    else {
        let p = session_page(&mut conn, &staff, *id, None, problems.0).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, p)?);
    };
    let edit = SessionEdit {
        local_date: Some(date),
        local_time: Some(time),
        duration_minutes: Some(duration),
        location: Some(location),
        reading_id: Some(reading.map(ReadingId)),
        facilitator_id: Some(facilitator.map(MemberId)),
        prompts: Some(prompts),
    };
    let session_id = current.id;
    crate::actions::scheduling::edit_session(&mut conn, session_id, edit).await?;
    Ok(see_other(
        &format!("/dashboard/sessions/{session_id}"),
        "Saved; members are sent the update.",
    ))
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// The first POST asks ("Cancel Thursday 10 December? 12 people will get a cancellation.");
/// only the confirmation page's own form, with `confirm=yes`, cancels.
pub async fn cancel(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    form: web::Form<CancelForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let (current, circle) = staff.session(&mut conn, *id).await?;
    let session_id = current.id;
    let zone = current.timezone.tz();
    let day = crate::email::when::describe_day(current.starts_at, zone);
    let back = format!("/dashboard/sessions/{session_id}");
    if current.status == SessionStatus::Cancelled {
        return Ok(see_other(&back, &format!("{day} was already cancelled.")));
    }
    let told = crate::actions::scheduling::reach(&mut conn, &current).await?;
    let people = |n: usize| {
        if n == 1 {
            "1 person".to_string()
        } else {
            format!("{n} people")
        }
    };
    if !super::confirmed(&form.confirm) {
        let consequence = if told == 0 {
            "No one has been invited yet, so no one gets an email.".to_string()
        } else {
            format!("{} will get a cancellation.", people(told))
        };
        return Ok(render(super::ConfirmPage {
            nav: Nav::circle(&staff, &circle, "sessions"),
            note: None,
            title: format!("Cancel {day}?"),
            paragraphs: vec![
                format!("{consequence} This cannot be undone."),
                when(current.starts_at, current.ends_at, zone),
            ],
            action: format!("/dashboard/sessions/{session_id}/cancel"),
            fields: Vec::new(),
            confirm_label: format!("Cancel {day}"),
            back,
            back_label: "Keep it",
        })?);
    }
    crate::actions::scheduling::cancel_session(&mut conn, session_id).await?;
    let note = if told == 0 {
        format!("Cancelled {day}.")
    } else {
        format!("Cancelled {day}; {} are told.", people(told))
    };
    Ok(see_other(
        &format!("/dashboard/circles/{}/sessions", circle.id),
        &note.replace("1 person are", "1 person is"),
    ))
}

#[derive(Debug, Deserialize)]
pub struct AttendanceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    member_id: String,
    #[serde(default)]
    attended: String,
}

pub async fn attendance(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    form: web::Form<AttendanceForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let (s, _) = staff.session(&mut conn, *id).await?;
    let member = form
        .member_id
        .parse()
        .map(MemberId)
        .map_err(|_| AppError::invalid("member_id", "is not a member"))?;
    let attended = match form.attended.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::invalid("attended", "must be yes or no").into()),
    };
    crate::actions::attendance::mark(
        &mut conn,
        &s,
        staff.member_id,
        &[(member, attended)],
        chrono::Utc::now(),
    )
    .await?;
    let name = crate::db::members::find(&mut conn, member)
        .await?
        .map(|m| m.display_name)
        .unwrap_or_default();
    let mark = if attended { "present" } else { "absent" };
    // Back to the same row, so a long roster on a phone keeps its place.
    Ok(super::see_other_at(
        &format!("/dashboard/sessions/{}", s.id),
        &format!("{name} marked {mark}."),
        Some(&format!("m-{member}")),
    ))
}
