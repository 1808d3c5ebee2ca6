//! Sessions: scheduling with a preview of the dates (flagging those a clock change moved), editing
//! one session (members get an update), cancelling, and marking attendance with one click.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use diesel_async::AsyncConnection;
use serde::Deserialize;

use super::circles::CsrfForm;
use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::circles::Circle;
use crate::db::sessions::{self, SessionChanges};
use crate::db::{dashboard, memberships, readings, rsvps};
use crate::domain::schedule::resolve_local;
use crate::domain::{
    parse_hhmm, CircleId, Invalid, MemberId, ReadingId, RsvpResponse, SessionId, SessionStatus,
    Timezone,
};
use crate::error::AppError;
use crate::http::api::sessions::ScheduleCreate;
use crate::http::public::{render, render_status, when};
use crate::http::AppState;
use crate::jobs::session_events;
use crate::scheduling;

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
    let zone: chrono_tz::Tz = circle.timezone.parse().unwrap_or(chrono_tz::UTC);
    let stats = dashboard::session_stats(conn, circle.id, 500).await?;
    let sessions = sessions::list(conn, circle.id, None, None, 500).await?;
    let rows = sessions
        .iter()
        .map(|s| {
            let st = stats.iter().find(|x| x.session_id == s.id.0);
            SessionRow {
                id: s.id.to_string(),
                when: when(s.starts_at, s.ends_at, zone),
                status: s.status.to_string(),
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
                Some((e.field.to_string(), e.message)),
                Vec::new(),
            )
            .await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, p)?);
        }
    };
    let tz = Timezone::parse(&circle.timezone).map_err(AppError::from)?;
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
    if circle.status == crate::domain::CircleStatus::Archived {
        return Err(AppError::Conflict("This circle is archived.".into()).into());
    }
    let created = conn
        .transaction::<_, AppError, _>(async |conn| {
            let created = sessions::create_from_schedule(
                conn,
                circle.id,
                tz,
                &rule,
                circle.location.as_deref(),
            )
            .await?;
            session_events::sessions_created(conn, &circle, &created).await?;
            Ok(created)
        })
        .await?;
    Ok(see_other(
        &format!("/dashboard/circles/{}/sessions", circle.id),
        &format!(
            "{} sessions created; invitations are on their way.",
            created.len()
        ),
    ))
}

pub struct AttendanceRow {
    pub member_id: String,
    pub name: String,
    pub answer: &'static str,
    pub present: bool,
    pub absent: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard/session.html")]
struct SessionPage {
    nav: Nav,
    note: Option<String>,
    id: String,
    when: String,
    zone: String,
    status: String,
    cancelled: bool,
    sequence: i32,
    local_date: String,
    local_time: String,
    duration: String,
    location: String,
    prompts: String,
    readings: Vec<(String, String, &'static str)>,
    people: Vec<(String, String, &'static str)>,
    attendance: Vec<AttendanceRow>,
    error: Option<(String, String)>,
}

async fn session_page(
    conn: &mut crate::db::Connection,
    staff: &Staff,
    id: SessionId,
    note: Option<String>,
    error: Option<(String, String)>,
) -> Result<SessionPage, super::DashError> {
    let (s, circle) = staff.session(conn, id).await?;
    let zone: chrono_tz::Tz = s.timezone.parse().unwrap_or(chrono_tz::UTC);
    let reading_rows = readings::list(conn, circle.id, None, 500).await?;
    let roster = rsvps::for_session(conn, s.id, None, 5000).await?;
    let sel = |yes: bool| if yes { " selected" } else { "" };
    Ok(SessionPage {
        nav: Nav::circle(staff, &circle, "sessions"),
        note,
        id: s.id.to_string(),
        when: when(s.starts_at, s.ends_at, zone),
        zone: zone.name().to_string(),
        status: s.status.to_string(),
        cancelled: s.status == SessionStatus::Cancelled,
        sequence: s.ics_sequence,
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
            })
            .collect(),
        error,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let p = session_page(&mut conn, &staff, *id, query.note.clone(), None).await?;
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
    let parsed = (|| -> Result<SessionChanges, Invalid> {
        let date = chrono::NaiveDate::parse_from_str(form.local_date.trim(), "%Y-%m-%d")
            .map_err(|_| Invalid::new("local_date", "must be a date as YYYY-MM-DD"))?;
        let time = parse_hhmm(&form.local_time, "local_time")?;
        let duration: i32 = form
            .duration_minutes
            .trim()
            .parse()
            .ok()
            .filter(|d| (1..=1440).contains(d))
            .ok_or_else(|| {
                Invalid::new("duration_minutes", "must be between 1 and 1440 minutes")
            })?;
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
        let tz: chrono_tz::Tz = current.timezone.parse().unwrap_or(chrono_tz::UTC);
        let (starts_at, _) = resolve_local(tz, date, time);
        let text = |s: &str, max: usize, field: &'static str| -> Result<Option<String>, Invalid> {
            let s = s.trim();
            if s.chars().count() > max {
                return Err(Invalid::new(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
            Ok((!s.is_empty()).then(|| crate::domain::text::normalise_newlines(s)))
        };
        Ok(SessionChanges {
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(i64::from(duration)),
            local_date: date,
            local_time: time,
            duration_minutes: duration,
            location: text(&form.location, 500, "location")?,
            reading_id: optional_id(&form.reading_id, "reading_id")?.map(ReadingId),
            facilitator_id: optional_id(&form.facilitator_id, "facilitator_id")?.map(MemberId),
            prompts: text(&form.prompts, 5000, "prompts")?,
        })
    })();
    let changes = match parsed {
        Ok(c) => c,
        Err(e) => {
            let p = session_page(
                &mut conn,
                &staff,
                *id,
                None,
                Some((e.field.to_string(), e.message)),
            )
            .await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, p)?);
        }
    };
    let session_id = current.id;
    scheduling::edit_session(&mut conn, session_id, move |_| Ok(changes)).await?;
    Ok(see_other(
        &format!("/dashboard/sessions/{session_id}"),
        "Saved; members are sent the update.",
    ))
}

pub async fn cancel(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<SessionId>,
    form: web::Form<CsrfForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let (current, _) = staff.session(&mut conn, *id).await?;
    let session_id = current.id;
    scheduling::cancel_session(&mut conn, session_id).await?;
    Ok(see_other(
        &format!("/dashboard/sessions/{session_id}"),
        "Cancelled; members are told.",
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
    let (s, circle) = staff.session(&mut conn, *id).await?;
    let member = form
        .member_id
        .parse()
        .map(MemberId)
        .map_err(|_| AppError::invalid("member_id", "is not a member"))?;
    if memberships::active_among(&mut conn, circle.id, &[member])
        .await?
        .is_empty()
    {
        return Err(
            AppError::invalid("member_id", "is not an active member of this circle").into(),
        );
    }
    let attended = match form.attended.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::invalid("attended", "must be yes or no").into()),
    };
    rsvps::set_attended(&mut conn, s.id, member, attended).await?;
    Ok(see_other(
        &format!("/dashboard/sessions/{}", s.id),
        "Attendance marked.",
    ))
}
