//! The directory of open circles, a circle's public page, and signing up for it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{render, render_status, viewer_zone, when, MessagePage, PageError, PageResult};
use crate::db::circles::{self, Circle};
use crate::db::{readings, sessions, Connection};
use crate::domain::{
    CircleKind, CircleStatus, DisplayName, EmailAddress, MembershipState, SessionStatus, Timezone,
    Visibility,
};
use crate::http::rate_limit::FormLimits;
use crate::http::AppState;

pub fn kind_label(kind: CircleKind) -> &'static str {
    match kind {
        CircleKind::BookClub => "Book club",
        CircleKind::LearningCircle => "Learning circle",
        CircleKind::RestorativeCircle => "Restorative circle",
    }
}

/// Whether the public may see and join this circle.
fn is_public(c: &Circle) -> bool {
    c.status == CircleStatus::Open && c.visibility == Visibility::Open
}

struct DirectoryEntry {
    slug: String,
    name: String,
    kind_label: &'static str,
    next_session: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/directory.html")]
struct Directory {
    circles: Vec<DirectoryEntry>,
}

pub async fn directory(state: web::Data<AppState>, req: HttpRequest) -> PageResult {
    let now = Utc::now();
    let (open, next) = state
        .reads
        .read(async |conn| {
            let open = circles::list_public(conn, 200).await?;
            let ids: Vec<_> = open.iter().map(|c| c.id).collect();
            let next = sessions::next_for_circles(conn, &ids, now).await?;
            Ok::<_, PageError>((open, next))
        })
        .await?;
    let circles = open
        .into_iter()
        .map(|c| {
            let zone = viewer_zone(&req, None, c.timezone);
            let next_session = next
                .iter()
                .find(|s| s.circle_id == c.id)
                .map(|s| when(s.starts_at, s.ends_at, zone));
            DirectoryEntry {
                slug: c.slug.to_string(),
                name: c.name,
                kind_label: kind_label(c.kind),
                next_session,
            }
        })
        .collect();
    render(Directory { circles })
}

struct SessionLine {
    when: String,
    reading: Option<String>,
    cancelled: bool,
}

/// Why a signup form was refused, field by field, in words shown next to the field.
#[derive(Debug, Default)]
pub struct JoinErrors {
    pub display_name: Option<String>,
    pub email: Option<String>,
}

impl JoinErrors {
    fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.email.is_none()
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub timezone: String,
    /// Hidden from people; bots fill it in.
    #[serde(default)]
    pub website: String,
}

/// A signup form that passed its checks.
#[derive(Debug)]
pub struct Signup {
    pub name: DisplayName,
    pub email: EmailAddress,
    /// The browser's zone when it sent a known one; an unknown zone is ignored, not refused.
    pub timezone: Option<&'static str>,
    /// The hidden field was filled in: answered like everyone else, and nothing happens.
    pub from_bot: bool,
}

impl JoinForm {
    /// Check every field at once, so the page can show all of its errors together.
    pub fn check(&self) -> Result<Signup, JoinErrors> {
        match (
            DisplayName::parse(&self.display_name),
            EmailAddress::parse(&self.email),
        ) {
            (Ok(name), Ok(email)) => Ok(Signup {
                name,
                email,
                timezone: Timezone::parse(&self.timezone).ok().map(|t| t.name()),
                from_bot: !self.website.trim().is_empty(),
            }),
            (name, email) => Err(JoinErrors {
                display_name: name.err().map(|e| format!("Your name {}.", e.message)),
                email: email
                    .err()
                    .map(|e| format!("The email address {}.", e.message)),
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/circle.html")]
struct CirclePage {
    slug: String,
    name: String,
    kind_label: &'static str,
    description: String,
    description_paragraphs: Vec<String>,
    location: Option<String>,
    facilitators: Vec<String>,
    zone: String,
    sessions: Vec<SessionLine>,
    readings: Vec<String>,
    seats: String,
    joinable: bool,
    form: JoinForm,
    errors: JoinErrors,
}

async fn public_circle(conn: &mut Connection, slug: &str) -> Result<Circle, PageError> {
    circles::find_by_slug(conn, slug)
        .await?
        .filter(is_public)
        .ok_or_else(PageError::not_found)
}

async fn circle_page(
    conn: &mut Connection,
    req: &HttpRequest,
    circle: Circle,
    form: JoinForm,
    errors: JoinErrors,
) -> Result<CirclePage, PageError> {
    let zone = viewer_zone(req, None, circle.timezone);
    let facilitators = crate::db::memberships::facilitator_names(conn, circle.id).await?;
    let reading_rows = readings::list(conn, circle.id, None, 100).await?;
    let upcoming = sessions::list(conn, circle.id, Some(Utc::now()), None, 20).await?;
    let sessions = upcoming
        .iter()
        .map(|s| SessionLine {
            when: when(s.starts_at, s.ends_at, zone),
            reading: s
                .reading_id
                .and_then(|r| reading_rows.iter().find(|x| x.id == r))
                .map(|r| r.title.clone()),
            cancelled: s.status == SessionStatus::Cancelled,
        })
        .collect();
    let counts = crate::db::memberships::member_counts(conn, circle.id).await?;
    let count = |s| {
        counts
            .iter()
            .find(|(st, _)| *st == s)
            .map_or(0, |(_, n)| *n)
    };
    let seats = match circle.capacity {
        None => "Everyone who signs up gets a place.".to_string(),
        Some(cap) => {
            let free = i64::from(cap) - count(MembershipState::Active);
            if free > 0 {
                format!("{free} of {cap} seats are free.")
            } else {
                match count(MembershipState::Waitlisted) {
                    0 => "The circle is full; new people join the waitlist.".to_string(),
                    1 => "The circle is full; 1 person is on the waitlist. New people join after them.".to_string(),
                    n => format!("The circle is full; {n} people are on the waitlist. New people join the end of it."),
                }
            }
        }
    };
    Ok(CirclePage {
        slug: circle.slug.to_string(),
        name: circle.name,
        kind_label: kind_label(circle.kind),
        description_paragraphs: crate::domain::text::paragraphs(&circle.description),
        description: circle.description,
        location: circle.location,
        facilitators,
        zone: zone.name().to_string(),
        sessions,
        readings: reading_rows
            .into_iter()
            .map(|r| match r.author {
                Some(a) => format!("{}, by {a}", r.title),
                None => r.title,
            })
            .collect(),
        seats,
        joinable: true,
        form,
        errors,
    })
}

pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> PageResult {
    let page = state
        .reads
        .read(async |conn| {
            let circle = public_circle(conn, &slug).await?;
            circle_page(
                conn,
                &req,
                circle,
                JoinForm::default(),
                JoinErrors::default(),
            )
            .await
        })
        .await?;
    render(page)
}

/// Sign up: the answer is the same "check your email" whether or not the address is known,
/// so the form reveals nothing about who belongs to which circle.
pub async fn join(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    form: web::Form<JoinForm>,
) -> PageResult {
    let form = form.into_inner();
    let limits = FormLimits::new(&state.limiter, &state.settings.limits, "signup", &req);
    limits.check_client()?;
    let mut conn = state.pool.get().await?;
    let circle = public_circle(&mut conn, &slug).await?;

    let signup = match form.check() {
        Ok(signup) => signup,
        Err(errors) => {
            let page = circle_page(&mut conn, &req, circle, form, errors).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let Signup {
        name,
        email,
        timezone,
        from_bot,
    } = signup;
    let answer = MessagePage {
        title: "Check your email".into(),
        paragraphs: vec![
            format!(
                "We sent a message to {email}. Open the link in it to confirm your place in {}.",
                circle.name
            ),
            "If nothing arrives within a few minutes, look in your spam folder, or sign up again."
                .into(),
        ],
        links: vec![(
            format!("/c/{}", circle.slug),
            format!("Back to {}", circle.name),
        )],
    };
    // Bots fill in the hidden field; they get the same answer and nothing happens.
    if from_bot {
        return render(answer);
    }
    limits.check_address(&email)?;
    let circle_id = circle.id;
    let cap = state.settings.limits.unconfirmed_signups_per_circle;
    crate::actions::membership::sign_up(&mut conn, circle_id, &email, &name, timezone, cap).await?;
    render(answer)
}
