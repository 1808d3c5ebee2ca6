//! Creating and editing circles, and the circle's reflections, outbox and CSV exports.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::circles::{self, Circle, CircleChanges, NewCircle};
use crate::db::dashboard;
use crate::domain::circles::{CircleCreate, CirclePatch};
use crate::domain::{
    CircleId, CircleKind, CircleStatus, Facilitation, Invalid, Problems, Slug, Visibility,
};
use crate::error::AppError;
use crate::exports;
use crate::http::pages::{render, render_status};
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
    /// How long before each session the reminder goes out, in `reminder_unit`s.
    #[serde(default)]
    pub reminder_before: String,
    #[serde(default)]
    pub reminder_unit: String,
    /// How long after each session the reflection prompt goes out, in `reflection_unit`s.
    #[serde(default)]
    pub reflection_after: String,
    #[serde(default)]
    pub reflection_unit: String,
    #[serde(default)]
    pub invite_lead_days: String,
}

/// Units a delay can be typed in, with their length in minutes.
const UNITS: &[(&str, &str, i64)] = &[
    ("minutes", "minutes", 1),
    ("hours", "hours", 60),
    ("days", "days", 1440),
];

/// A stored delay in the largest unit that states it exactly.
fn in_units(minutes: i32) -> (String, String) {
    let m = i64::from(minutes);
    let (unit, size) = if m > 0 && m % 1440 == 0 {
        ("days", 1440)
    } else if m > 0 && m % 60 == 0 {
        ("hours", 60)
    } else {
        ("minutes", 1)
    };
    ((m / size).to_string(), unit.to_string())
}

impl CircleForm {
    fn from_circle(c: &Circle) -> Self {
        let (reminder_before, reminder_unit) = in_units(c.reminder_offset_minutes);
        let (reflection_after, reflection_unit) = in_units(c.reflection_delay_minutes);
        Self {
            csrf: String::new(),
            name: c.name.clone(),
            slug: c.slug.to_string(),
            description: c.description.clone(),
            kind: c.kind.to_string(),
            visibility: c.visibility.to_string(),
            status: c.status.to_string(),
            capacity: c.capacity.map(|n| n.to_string()).unwrap_or_default(),
            timezone: c.timezone.name().to_string(),
            location: c.location.clone().unwrap_or_default(),
            facilitation: c.facilitation.to_string(),
            reminder_before,
            reminder_unit,
            reflection_after,
            reflection_unit,
            invite_lead_days: c.invite_lead_days.to_string(),
        }
    }

    fn defaults(timezone: String) -> Self {
        Self {
            kind: "book_club".into(),
            visibility: "open".into(),
            status: "open".into(),
            timezone,
            facilitation: "fixed".into(),
            reminder_before: "1".into(),
            reminder_unit: "days".into(),
            reflection_after: "1".into(),
            reflection_unit: "hours".into(),
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

    /// An amount and its unit, as minutes (`None` when the amount is left empty).
    fn delay(amount: &str, unit: &str, field: &'static str) -> Result<Option<i64>, Invalid> {
        let Some(n) = Self::number(amount, field)? else {
            return Ok(None);
        };
        let size = UNITS
            .iter()
            .find(|(v, _, _)| *v == unit)
            .map(|(_, _, size)| *size)
            .ok_or_else(|| Invalid::new(field, "choose minutes, hours or days"))?;
        n.checked_mul(size)
            .map(Some)
            .ok_or_else(|| Invalid::new(field, "is too long"))
    }

    /// The form as the API's input, with every problem of the typing (not yet of the values).
    fn to_create(&self) -> Result<CircleCreate, Vec<Invalid>> {
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let mut p = Problems::default();
        let kind = p.check(CircleKind::parse(&self.kind, "kind"));
        let visibility = p.check(Visibility::parse(&self.visibility, "visibility"));
        let status = p.check(CircleStatus::parse(&self.status, "status"));
        let capacity = p.check(Self::number(&self.capacity, "capacity"));
        let facilitation = p.check(Facilitation::parse(&self.facilitation, "facilitation"));
        let reminder = p.check(Self::delay(
            &self.reminder_before,
            &self.reminder_unit,
            "reminder_offset_minutes",
        ));
        let reflection = p.check(Self::delay(
            &self.reflection_after,
            &self.reflection_unit,
            "reflection_delay_minutes",
        ));
        let lead = p.check(Self::number(&self.invite_lead_days, "invite_lead_days"));
        let (
            Some(kind),
            Some(visibility),
            Some(status),
            Some(capacity),
            Some(facilitation),
            Some(reminder),
            Some(reflection),
            Some(lead),
        ) = (
            kind,
            visibility,
            status,
            capacity,
            facilitation,
            reminder,
            reflection,
            lead,
        )
        else {
            return Err(p.0);
        };
        Ok(CircleCreate {
            name: self.name.clone(),
            slug: text(&self.slug),
            description: Some(self.description.clone()),
            kind: Some(kind),
            visibility: Some(visibility),
            status: Some(status),
            capacity,
            timezone: self.timezone.clone(),
            location: text(&self.location),
            facilitation: Some(facilitation),
            reminder_offset_minutes: reminder,
            reflection_delay_minutes: reflection,
            invite_lead_days: lead,
            planning_horizon: None,
            role_ask_days: None,
            role_answer_hours: None,
            feedback_min_answers: None,
            feedback_roles: None,
            consent_quorum_percent: None,
            consent_round_days: None,
            grow_threshold: None,
        })
    }

    /// Every problem: those of the typing and, for what could be read, those of the values.
    fn parse_create(&self) -> Result<(NewCircle, Slug, bool), Vec<Invalid>> {
        match self.to_create() {
            Ok(c) => c.parse_all(),
            Err(mut typing) => {
                // Check the rest anyway, so the page lists everything at once.
                let mut probe = self.clone();
                for e in &typing {
                    match e.field {
                        "kind" => probe.kind = "book_club".into(),
                        "visibility" => probe.visibility = "open".into(),
                        "status" => probe.status = "open".into(),
                        "capacity" => probe.capacity.clear(),
                        "facilitation" => probe.facilitation = "fixed".into(),
                        "reminder_offset_minutes" => probe.reminder_before.clear(),
                        "reflection_delay_minutes" => probe.reflection_after.clear(),
                        "invite_lead_days" => probe.invite_lead_days.clear(),
                        _ => {}
                    }
                }
                if let Ok(c) = probe.to_create() {
                    if let Err(more) = c.parse_all() {
                        let already = typing_fields(&typing);
                        typing.extend(more.into_iter().filter(|m| !already.contains(&m.field)));
                    }
                }
                Err(typing)
            }
        }
    }

    fn parse_patch(&self) -> Result<CircleChanges, Vec<Invalid>> {
        // The same rules as creating, so every problem is found; then the fields as changes.
        self.parse_create()?;
        let c = self.to_create()?;
        CirclePatch {
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
            planning_horizon: None,
            role_ask_days: None,
            role_answer_hours: None,
            feedback_min_answers: None,
            feedback_roles: None,
            consent_quorum_percent: None,
            consent_round_days: None,
            grow_threshold: None,
        }
        .parse_all()
    }
}

fn typing_fields(problems: &[Invalid]) -> Vec<&'static str> {
    problems.iter().map(|p| p.field).collect()
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(&'static str, &'static str)>,
    pub hint: &'static str,
    pub error: Option<String>,
    /// Input attributes: `maxlength` for text, `min`/`max` for numbers.
    pub maxlength: usize,
    pub min: i64,
    pub max: i64,
    /// For a delay: the unit select's name and value.
    pub unit: Option<(&'static str, String)>,
}

impl Field {
    /// (value, label, ` selected` or nothing) for each option of a select.
    pub fn choices(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        self.options
            .iter()
            .map(|(v, l)| (*v, *l, if *v == self.value { " selected" } else { "" }))
            .collect()
    }

    /// The unit choices of a delay field.
    pub fn units(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let current = self.unit.as_ref().map(|(_, v)| v.as_str()).unwrap_or("");
        UNITS
            .iter()
            .map(|(v, l, _)| (*v, *l, if *v == current { " selected" } else { "" }))
            .collect()
    }
}

/// The time zones the form offers: likely ones first, then every zone.
pub struct ZoneChoices {
    pub likely: Vec<(String, &'static str)>,
    pub all: Vec<(&'static str, &'static str)>,
    /// Whether the browser's zone should be picked when the page loads (a new circle, and
    /// the server did not know the browser's zone).
    pub prefer_browser: bool,
}

impl ZoneChoices {
    /// `current` is selected; `likely` (most used, the browser's) are listed first.
    fn new(current: &str, likely: Vec<String>, prefer_browser: bool) -> Self {
        let sel = |z: &str| if z == current { " selected" } else { "" };
        let mut seen = std::collections::HashSet::new();
        let likely: Vec<(String, &'static str)> = std::iter::once(current.to_string())
            .chain(likely)
            .filter(|z| !z.is_empty() && crate::domain::Timezone::parse(z).is_ok())
            .filter(|z| seen.insert(z.clone()))
            .map(|z| {
                let s = sel(&z);
                (z, s)
            })
            .collect();
        let all = crate::domain::timezone::choices()
            .iter()
            .filter(|z| !seen.contains(**z))
            .map(|z| (*z, sel(z)))
            .collect();
        Self {
            likely,
            all,
            prefer_browser,
        }
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
    errors: Vec<Invalid>,
    zones: ZoneChoices,
}

/// A label for every field name the form or the rules report, so errors read as the page does.
fn label_of(field: &str) -> &'static str {
    match field {
        "name" => "Name",
        "slug" => "Address (slug)",
        "description" => "Description",
        "kind" => "Kind",
        "status" => "Status",
        "visibility" => "Who can join",
        "capacity" => "Seats",
        "timezone" => "Time zone",
        "location" => "Location or video link",
        "facilitation" => "Facilitation",
        "reminder_offset_minutes" => "Reminder before each session",
        "reflection_delay_minutes" => "Reflection prompt after each session",
        "invite_lead_days" => "Invitations, days before each session",
        _ => "This form",
    }
}

impl FormPage {
    /// (field id, label, problem) for the summary at the top.
    fn problems(&self) -> Vec<(&'static str, &'static str, &str)> {
        self.errors
            .iter()
            .map(|e| (e.field, label_of(e.field), e.message.as_str()))
            .collect()
    }

    fn fields(&self) -> Vec<Field> {
        let f = &self.f;
        let error = |name: &str| {
            self.errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone())
        };
        let field = |name: &'static str, kind, value: &str, options, hint| Field {
            name,
            label: label_of(name),
            kind,
            value: value.to_string(),
            options,
            hint,
            error: error(name),
            maxlength: 0,
            min: 0,
            max: 0,
            unit: None,
        };
        let text = |name, value: &str, maxlength, hint| Field {
            maxlength,
            ..field(name, "text", value, vec![], hint)
        };
        let number = |name, value: &str, min, max, hint| Field {
            min,
            max,
            ..field(name, "number", value, vec![], hint)
        };
        let max_delay = crate::domain::circles::MAX_OFFSET_MINUTES;
        let delay = |name, value: &str, unit: (&'static str, &str), hint| Field {
            unit: Some((unit.0, unit.1.to_string())),
            ..number(name, value, 0, max_delay, hint)
        };
        vec![
            text("name", &f.name, 120, ""),
            text(
                "slug",
                &f.slug,
                crate::domain::MAX_SLUG_LEN,
                "Lowercase words joined by hyphens; made from the name when left empty.",
            ),
            Field {
                maxlength: 10_000,
                ..field(
                    "description",
                    "textarea",
                    &f.description,
                    vec![],
                    "Blank lines start new paragraphs.",
                )
            },
            field(
                "kind",
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
                "select",
                &f.visibility,
                vec![
                    ("open", "Anyone, through the public page"),
                    ("invite_only", "Only people you add"),
                ],
                "",
            ),
            number(
                "capacity",
                &f.capacity,
                1,
                crate::domain::Capacity::MAX,
                "Empty for no limit. Facilitators do not take a seat.",
            ),
            field(
                "timezone",
                "zone",
                &f.timezone,
                vec![],
                "Sessions are scheduled in this zone; members see times in their own.",
            ),
            text("location", &f.location, 500, ""),
            field(
                "facilitation",
                "select",
                &f.facilitation,
                vec![
                    ("fixed", "Fixed facilitators"),
                    ("rotating", "Rotating: members take turns"),
                ],
                "",
            ),
            delay(
                "reminder_offset_minutes",
                &f.reminder_before,
                ("reminder_unit", &f.reminder_unit),
                "Up to two weeks; 0 sends no reminder ahead.",
            ),
            delay(
                "reflection_delay_minutes",
                &f.reflection_after,
                ("reflection_unit", &f.reflection_unit),
                "Up to two weeks.",
            ),
            number(
                "invite_lead_days",
                &f.invite_lead_days,
                0,
                crate::domain::circles::MAX_LEAD_DAYS,
                "0 sends every invitation as soon as the session is scheduled. A new member always gets the next session's invitation at once.",
            ),
        ]
    }

    /// The name a field's input carries (a delay's amount has its own name).
    fn input_name(&self, field: &Field) -> &'static str {
        match field.name {
            "reminder_offset_minutes" => "reminder_before",
            "reflection_delay_minutes" => "reflection_after",
            other => other,
        }
    }
}

/// Zones to list first: the browser's, then those the organisation's circles use most.
async fn likely_zones(
    conn: &mut crate::db::Connection,
    req: &HttpRequest,
) -> Result<(Option<String>, Vec<String>), AppError> {
    let browser = req
        .cookie("tz")
        .map(|c| c.value().to_string())
        .filter(|z| crate::domain::Timezone::parse(z).is_ok());
    let used = circles::zones_in_use(conn, 5).await?;
    Ok((browser.clone(), browser.into_iter().chain(used).collect()))
}

pub async fn new_form(state: web::Data<AppState>, staff: Staff, req: HttpRequest) -> DashResult {
    staff.require_organiser()?;
    let mut conn = state.pool.get().await?;
    let (browser, likely) = likely_zones(&mut conn, &req).await?;
    let default = browser
        .clone()
        .or_else(|| <[String]>::first(&likely).cloned())
        .unwrap_or_else(|| "UTC".into());
    Ok(render(FormPage {
        nav: Nav::new(&staff),
        note: None,
        circle_id: None,
        summary: None,
        zones: ZoneChoices::new(&default, likely, browser.is_none()),
        f: CircleForm::defaults(default),
        errors: Vec::new(),
    })?)
}

async fn invalid_page(
    conn: &mut crate::db::Connection,
    req: &HttpRequest,
    nav: Nav,
    circle_id: Option<String>,
    f: CircleForm,
    errors: Vec<Invalid>,
) -> DashResult {
    let (_, likely) = likely_zones(conn, req).await?;
    Ok(render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        FormPage {
            nav,
            note: None,
            circle_id,
            summary: None,
            zones: ZoneChoices::new(&f.timezone, likely, false),
            f,
            errors,
        },
    )?)
}

pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    req: HttpRequest,
    form: web::Form<CircleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    staff.require_organiser()?;
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (new, slug, explicit) = match form.parse_create() {
        Ok(p) => p,
        Err(e) => return invalid_page(&mut conn, &req, Nav::new(&staff), None, form, e).await,
    };
    let Some(circle) = circles::create(&mut conn, new, &slug, explicit).await? else {
        let taken = vec![Invalid::new("slug", "is taken by another circle")];
        return invalid_page(&mut conn, &req, Nav::new(&staff), None, form, taken).await;
    };
    Ok(see_other(
        &format!("/dashboard/circles/{}", circle.id),
        &format!("Created {}. Next: schedule its sessions.", circle.name),
    ))
}

pub async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    req: HttpRequest,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let summary = dashboard::front_page(&mut conn, dashboard::Whose::One(circle.id), 1, 0)
        .await?
        .pop();
    let summary = summary.map(|s| {
        let more = if s.pending >= dashboard::PENDING_SHOWN {
            " or more"
        } else {
            ""
        };
        format!(
            "{} members, {} on the waitlist, {}{more} unconfirmed · public page: /c/{}",
            s.active, s.waitlisted, s.pending, circle.slug
        )
    });
    let (_, likely) = likely_zones(&mut conn, &req).await?;
    Ok(render(FormPage {
        nav: Nav::circle(&staff, &circle, "overview"),
        note: query.note.clone(),
        circle_id: Some(circle.id.to_string()),
        summary,
        zones: ZoneChoices::new(circle.timezone.name(), likely, false),
        f: CircleForm::from_circle(&circle),
        errors: Vec::new(),
    })?)
}

pub async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    req: HttpRequest,
    id: web::Path<CircleId>,
    form: web::Form<CircleForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let form = form.into_inner();
    let nav = Nav::circle(&staff, &circle, "overview");
    let cid = Some(circle.id.to_string());
    let changes = match form.parse_patch() {
        Ok(c) => c,
        Err(e) => return invalid_page(&mut conn, &req, nav, cid, form, e).await,
    };
    match crate::actions::circles::update_circle(&mut conn, circle.id, changes).await {
        Ok(_) => Ok(see_other(
            &format!("/dashboard/circles/{}", circle.id),
            &format!("Saved {}.", form.name.trim()),
        )),
        Err(AppError::Conflict(_)) => {
            let taken = vec![Invalid::new("slug", "is taken by another circle")];
            invalid_page(&mut conn, &req, nav, cid, form, taken).await
        }
        Err(AppError::Invalid { field, message }) => {
            let field = ["capacity", "timezone", "status", "slug"]
                .into_iter()
                .find(|f| *f == field.as_str())
                .unwrap_or("input");
            invalid_page(
                &mut conn,
                &req,
                nav,
                cid,
                form,
                vec![Invalid::new(field, message)],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A CSV download named `name`.
pub(super) fn csv_response(name: &str, body: Vec<u8>) -> HttpResponse {
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
    let body = exports::members_csv(&mut conn, &circle, !staff.organiser).await?;
    Ok(csv_response(&format!("{}-members.csv", circle.slug), body))
}

pub async fn export_attendance(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let body = exports::attendance_csv(&mut conn, &circle, !staff.organiser).await?;
    Ok(csv_response(
        &format!("{}-attendance.csv", circle.slug),
        body,
    ))
}
