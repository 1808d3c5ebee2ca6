//! The circle's outbox: email sent, waiting, and undeliverable with its error, with a retry.

use actix_web::web;
use askama::Template;

use super::{see_other, CsrfForm, DashError, DashResult, Nav, NoteQuery, Staff};
use crate::db::{deliveries, jobs};
use crate::domain::{CircleId, JobId, JobState};
use crate::error::AppError;
use crate::http::pages::render;
use crate::http::AppState;

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

type JobRow = jobs::OutboxRow;

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

pub async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let dead = jobs::of_circle(&mut conn, circle.id, JobState::Dead, 200).await?;
    let queued = jobs::of_circle(&mut conn, circle.id, JobState::Queued, 200).await?;
    let sent = deliveries::recent_for_circle(&mut conn, circle.id, 200).await?;
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
        None if staff.organiser => None,
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
