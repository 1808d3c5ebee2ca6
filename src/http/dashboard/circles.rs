//! Creating and editing circles, and the circle's reflections, outbox and CSV exports.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Utc;
use diesel::{ExpressionMethods, PgAnyJsonExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde::Deserialize;

use super::{see_other, DashError, DashResult, Nav, NoteQuery, Staff};
use crate::db::circles::{self, Circle};
use crate::db::schema::{deliveries, jobs};
use crate::db::{dashboard, memberships};
use crate::domain::{
    CircleId, CircleKind, CircleStatus, Facilitation, Invalid, JobId, JobState, Visibility,
};
use crate::error::AppError;
use crate::exports;
use crate::http::api::circles::{CircleCreate, CirclePatch};
use crate::http::public::{render, render_status, when};
use crate::http::AppState;

/// The circle form as typed, every field a string.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CircleForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub visibility: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub facilitation: String,
    #[serde(default)]
    pub reminder_offset_minutes: String,
    #[serde(default)]
    pub reflection_delay_minutes: String,
    #[serde(default)]
    pub invite_lead_days: String,
}

impl CircleForm {
    fn from_circle(c: &Circle) -> Self {
        Self {
            csrf: String::new(),
            name: c.name.clone(),
            slug: c.slug.clone(),
            description: c.description.clone(),
            kind: c.kind.to_string(),
            visibility: c.visibility.to_string(),
            status: c.status.to_string(),
            capacity: c.capacity.map(|n| n.to_string()).unwrap_or_default(),
            timezone: c.timezone.clone(),
            location: c.location.clone().unwrap_or_default(),
            facilitation: c.facilitation.to_string(),
            reminder_offset_minutes: c.reminder_offset_minutes.to_string(),
            reflection_delay_minutes: c.reflection_delay_minutes.to_string(),
            invite_lead_days: c.invite_lead_days.to_string(),
        }
    }

    fn defaults() -> Self {
        Self {
            kind: "book_club".into(),
            visibility: "open".into(),
            status: "open".into(),
            timezone: "Europe/London".into(),
            facilitation: "fixed".into(),
            reminder_offset_minutes: "1440".into(),
            reflection_delay_minutes: "60".into(),
            invite_lead_days: "7".into(),
            ..Self::default()
        }
    }

    fn number(value: &str, field: &'static str) -> Result<Option<i64>, Invalid> {
        let v = value.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse()
            .map(Some)
            .map_err(|_| Invalid::new(field, "must be a whole number"))
    }

    fn to_create(&self) -> Result<CircleCreate, Invalid> {
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(CircleCreate {
            name: self.name.clone(),
            slug: text(&self.slug),
            description: Some(self.description.clone()),
            kind: Some(CircleKind::parse(&self.kind, "kind")?),
            visibility: Some(Visibility::parse(&self.visibility, "visibility")?),
            status: Some(CircleStatus::parse(&self.status, "status")?),
            capacity: Self::number(&self.capacity, "capacity")?,
            timezone: self.timezone.clone(),
            location: text(&self.location),
            facilitation: Some(Facilitation::parse(&self.facilitation, "facilitation")?),
            reminder_offset_minutes: Self::number(
                &self.reminder_offset_minutes,
                "reminder_offset_minutes",
            )?,
            reflection_delay_minutes: Self::number(
                &self.reflection_delay_minutes,
                "reflection_delay_minutes",
            )?,
            invite_lead_days: Self::number(&self.invite_lead_days, "invite_lead_days")?,
        })
    }

    fn to_patch(&self) -> Result<CirclePatch, Invalid> {
        let c = self.to_create()?;
        Ok(CirclePatch {
            name: Some(c.name),
            slug: c.slug,
            description: c.description,
            kind: c.kind,
            visibility: c.visibility,
            status: c.status,
            capacity: Some(c.capacity),
            timezone: Some(c.timezone),
            location: Some(c.location),
            facilitation: c.facilitation,
            reminder_offset_minutes: c.reminder_offset_minutes,
            reflection_delay_minutes: c.reflection_delay_minutes,
            invite_lead_days: c.invite_lead_days,
        })
    }
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(&'static str, &'static str)>,
    pub hint: &'static str,
    pub invalid: bool,
}

impl Field {
    /// (value, label, ` selected` or nothing) for each option of a select.
    pub fn choices(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        self.options
            .iter()
            .map(|(v, l)| (*v, *l, if *v == self.value { " selected" } else { "" }))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "pages/dashboard/circle_form.html")]
struct FormPage {
    nav: Nav,
    note: Option<String>,
    circle_id: Option<String>,
    summary: Option<String>,
    f: CircleForm,
    error: Option<(String, String)>,
}

impl FormPage {
    fn fields(&self) -> Vec<Field> {
        let f = &self.f;
        let bad = |name: &str| self.error.as_ref().is_some_and(|(field, _)| field == name);
        let field = |name, label, kind, value: &str, options, hint| Field {
            name,
            label,
            kind,
            value: value.to_string(),
            options,
            hint,
            invalid: bad(name),
        };
        vec![
            field("name", "Name", "text", &f.name, vec![], ""),
            field(
                "slug",
                "Address (slug)",
                "text",
                &f.slug,
                vec![],
                "Lowercase words joined by hyphens; made from the name when left empty.",
            ),
            field(
                "description",
                "Description",
                "textarea",
                &f.description,
                vec![],
                "Blank lines start new paragraphs.",
            ),
            field(
                "kind",
                "Kind",
                "select",
                &f.kind,
                vec![
                    ("book_club", "Book club"),
                    ("learning_circle", "Learning circle"),
                    ("restorative_circle", "Restorative circle"),
                ],
                "",
            ),
            field(
                "status",
                "Status",
                "select",
                &f.status,
                vec![
                    ("draft", "Draft (hidden)"),
                    ("open", "Open for signup"),
                    ("closed", "Closed to new members"),
                    ("archived", "Archived"),
                ],
                "",
            ),
            field(
                "visibility",
                "Who can join",
                "select",
                &f.visibility,
                vec![
                    ("open", "Anyone, through the public page"),
                    ("invite_only", "Only people you add"),
                ],
                "",
            ),
            field(
                "capacity",
                "Seats",
                "text",
                &f.capacity,
                vec![],
                "Empty for no limit. Facilitators do not take a seat.",
            ),
            field(
                "timezone",
                "Time zone",
                "text",
                &f.timezone,
                vec![],
                "IANA name, e.g. Europe/London or America/New_York.",
            ),
            field(
                "location",
                "Location or video link",
                "text",
                &f.location,
                vec![],
                "",
            ),
            field(
                "facilitation",
                "Facilitation",
                "select",
                &f.facilitation,
                vec![
                    ("fixed", "Fixed facilitators"),
                    ("rotating", "Rotating: members take turns"),
                ],
                "",
            ),
            field(
                "reminder_offset_minutes",
                "Reminder, minutes before",
                "text",
                &f.reminder_offset_minutes,
                vec![],
                "1440 is a day.",
            ),
            field(
                "reflection_delay_minutes",
                "Reflection prompt, minutes after",
                "text",
                &f.reflection_delay_minutes,
                vec![],
                "",
            ),
        ]
    }
}

pub async fn new_form(staff: Staff) -> DashResult {
    staff.require_organizer()?;
    Ok(render(FormPage {
        nav: Nav::new(&staff),
        note: None,
        circle_id: None,
        summary: None,
        f: CircleForm::defaults(),
        error: None,
    })?)
}

fn invalid_page(nav: Nav, circle_id: Option<String>, f: CircleForm, e: Invalid) -> DashResult {
    Ok(render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        FormPage {
            nav,
            note: None,
            circle_id,
            summary: None,
            f,
            error: Some((e.field.to_string(), e.message)),
        },
    )?)
}

pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<CircleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    staff.require_organizer()?;
    let form = form.into_inner();
    let parsed = form.to_create().and_then(CircleCreate::parse);
    let (new, slug, explicit) = match parsed {
        Ok(p) => p,
        Err(e) => return invalid_page(Nav::new(&staff), None, form, e),
    };
    let mut conn = state.pool.get().await?;
    let Some(circle) = circles::create(&mut conn, new, &slug, explicit).await? else {
        return invalid_page(
            Nav::new(&staff),
            None,
            form,
            Invalid::new("slug", "is taken by another circle"),
        );
    };
    Ok(see_other(
        &format!("/dashboard/circles/{}", circle.id),
        "Circle created.",
    ))
}

pub async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let summary = dashboard::summaries(&mut conn, &[circle.id]).await?.pop();
    let summary = summary.map(|s| {
        format!(
            "{} members, {} on the waitlist, {} unconfirmed · public page: /c/{}",
            s.active, s.waitlisted, s.pending, circle.slug
        )
    });
    Ok(render(FormPage {
        nav: Nav::circle(&staff, &circle, "overview"),
        note: query.note.clone(),
        circle_id: Some(circle.id.to_string()),
        summary,
        f: CircleForm::from_circle(&circle),
        error: None,
    })?)
}

pub async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<CircleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let form = form.into_inner();
    let nav = Nav::circle(&staff, &circle, "overview");
    let changes = match form.to_patch().and_then(CirclePatch::parse) {
        Ok(c) => c,
        Err(e) => return invalid_page(nav, Some(circle.id.to_string()), form, e),
    };
    match memberships::update_circle(&mut conn, circle.id, changes).await {
        Ok(_) => Ok(see_other(
            &format!("/dashboard/circles/{}", circle.id),
            "Saved.",
        )),
        Err(AppError::Conflict(_)) => invalid_page(
            nav,
            Some(circle.id.to_string()),
            form,
            Invalid::new("slug", "is taken by another circle"),
        ),
        Err(AppError::Invalid { message, .. }) => invalid_page(
            nav,
            Some(circle.id.to_string()),
            form,
            Invalid::new("input", message),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "pages/dashboard/reflections.html")]
struct ReflectionsPage {
    nav: Nav,
    note: Option<String>,
    rows: Vec<(String, i64, i64)>,
    shared: Vec<(String, String, String)>,
}

fn zone_of(circle: &Circle) -> chrono_tz::Tz {
    circle.timezone.parse().unwrap_or(chrono_tz::UTC)
}

pub async fn reflections(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let zone = zone_of(&circle);
    let stats = dashboard::session_stats(&mut conn, circle.id, 500).await?;
    let shared = crate::db::reflections::shared_in_circle(&mut conn, circle.id, 200).await?;
    Ok(render(ReflectionsPage {
        nav: Nav::circle(&staff, &circle, "reflections"),
        note: None,
        rows: stats
            .iter()
            .filter(|s| s.reflections > 0 || s.starts_at < Utc::now())
            .map(|s| {
                (
                    s.starts_at
                        .with_timezone(&zone)
                        .format("%a %-d %b %Y %H:%M")
                        .to_string(),
                    s.reflections,
                    s.shared,
                )
            })
            .collect(),
        shared: shared
            .into_iter()
            .map(|r| (when(r.starts_at, r.ends_at, zone), r.author, r.body))
            .collect(),
    })?)
}

pub struct JobLine {
    pub id: String,
    pub kind: String,
    pub due: String,
    pub attempts: i32,
    pub error: String,
}

#[derive(Template)]
#[template(path = "pages/dashboard/outbox.html")]
struct OutboxPage {
    nav: Nav,
    note: Option<String>,
    dead: Vec<JobLine>,
    queued: Vec<JobLine>,
    sent: Vec<(String, String, String)>,
}

type JobRow = (
    JobId,
    String,
    serde_json::Value,
    chrono::DateTime<Utc>,
    i32,
    Option<String>,
);

fn job_line(row: JobRow) -> JobLine {
    let (id, kind, payload, run_at, attempts, error) = row;
    let message = payload
        .get("message")
        .and_then(|m| m.as_str())
        .map(str::to_string);
    JobLine {
        id: id.to_string(),
        kind: message.unwrap_or(kind).replace('_', " "),
        due: run_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        attempts,
        error: error.unwrap_or_default(),
    }
}

pub async fn outbox(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let key = circle.id.to_string();
    let load = |state: JobState| {
        jobs::table
            .filter(jobs::state.eq(state))
            .filter(jobs::payload.retrieve_as_text("circle_id").eq(key.clone()))
            .order(jobs::run_at)
            .limit(200)
            .select((
                jobs::id,
                jobs::kind,
                jobs::payload,
                jobs::run_at,
                jobs::attempts,
                jobs::last_error,
            ))
    };
    let dead: Vec<JobRow> = load(JobState::Dead).load(&mut conn).await?;
    let queued: Vec<JobRow> = load(JobState::Queued).load(&mut conn).await?;
    let sent: Vec<(chrono::DateTime<Utc>, String, Option<String>)> = deliveries::table
        .filter(deliveries::circle_id.eq(circle.id))
        .order(deliveries::sent_at.desc())
        .limit(200)
        .select((deliveries::sent_at, deliveries::kind, deliveries::recipient))
        .load(&mut conn)
        .await?;
    Ok(render(OutboxPage {
        nav: Nav::circle(&staff, &circle, "outbox"),
        note: query.note.clone(),
        dead: dead.into_iter().map(job_line).collect(),
        queued: queued.into_iter().map(job_line).collect(),
        sent: sent
            .into_iter()
            .map(|(at, kind, to)| {
                (
                    at.format("%Y-%m-%d %H:%M").to_string(),
                    kind.replace('_', " "),
                    to.unwrap_or_else(|| "(deleted member)".into()),
                )
            })
            .collect(),
    })?)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Queue a dead job again, if it belongs to a circle this person runs.
pub async fn retry_job(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<JobId>,
    form: web::Form<CsrfForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let job = crate::db::jobs::find(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    let circle_id = job
        .payload
        .get("circle_id")
        .and_then(|c| c.as_str())
        .and_then(|c| c.parse().ok())
        .map(CircleId);
    let circle = match circle_id {
        Some(c) => Some(staff.circle(&mut conn, c).await?),
        None if staff.organizer => None,
        None => return Err(DashError::from(AppError::NotFound("job"))),
    };
    let back = circle.map_or("/dashboard".to_string(), |c| {
        format!("/dashboard/circles/{}/outbox", c.id)
    });
    match crate::db::jobs::retry_dead(&mut conn, *id).await? {
        Some(_) => Ok(see_other(&back, "The email is queued again.")),
        None => Ok(see_other(&back, "That email is not waiting for a retry.")),
    }
}

fn csv_response(name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

pub async fn export_members(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let body = exports::members_csv(&mut conn, &circle).await?;
    Ok(csv_response(&format!("{}-members.csv", circle.slug), body))
}

pub async fn export_attendance(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let body = exports::attendance_csv(&mut conn, &circle).await?;
    Ok(csv_response(
        &format!("{}-attendance.csv", circle.slug),
        body,
    ))
}
