//! Readings: add and reorder; sessions attach them from their own page.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::readings;
use crate::domain::{CircleId, ReadingId};
use crate::error::AppError;
use crate::http::api::readings::ReadingCreate;
use crate::http::pages::{render, render_status};
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/dashboard/readings.html")]
struct ReadingsPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    rows: Vec<(String, String)>,
    error: Option<(String, String)>,
}

async fn page(
    conn: &mut crate::db::Connection,
    staff: &Staff,
    id: CircleId,
    note: Option<String>,
    error: Option<(String, String)>,
) -> Result<ReadingsPage, super::DashError> {
    let circle = staff.circle(conn, id).await?;
    let rows = readings::list(conn, circle.id, None, 500).await?;
    Ok(ReadingsPage {
        nav: Nav::circle(staff, &circle, "readings"),
        note,
        circle_id: circle.id.to_string(),
        rows: rows
            .into_iter()
            .map(|r| {
                let label = match r.author {
                    Some(a) => format!("{}, by {a}", r.title),
                    None => r.title,
                };
                (r.id.to_string(), label)
            })
            .collect(),
        error,
    })
}

pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    Ok(render(
        page(&mut conn, &staff, *id, query.note.clone(), None).await?,
    )?)
}

#[derive(Debug, Deserialize)]
pub struct ReadingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    isbn: String,
}

pub async fn add(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<ReadingForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
    let input = ReadingCreate {
        title: form.title.clone(),
        author: some(&form.author),
        url: some(&form.url),
        isbn: some(&form.isbn),
        notes: None,
    };
    match input.parse() {
        Ok(new) => {
            readings::create(&mut conn, circle.id, new).await?;
            Ok(see_other(
                &format!("/dashboard/circles/{}/readings", circle.id),
                "Reading added.",
            ))
        }
        Err(e) => {
            let p = page(
                &mut conn,
                &staff,
                circle.id,
                None,
                Some((reading_label(e.field).to_string(), e.message)),
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, p)?)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    direction: String,
}

/// Swap a reading with its neighbour.
pub async fn move_reading(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<ReadingId>,
    form: web::Form<MoveForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let (circle_id, _) = readings::place(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound("reading"))?;
    let circle = staff.circle(&mut conn, circle_id).await?;
    let up = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::invalid("direction", "must be up or down").into()),
    };
    crate::actions::readings::move_reading(&mut conn, *id, up).await?;
    Ok(see_other(
        &format!("/dashboard/circles/{}/readings", circle.id),
        "Order changed.",
    ))
}

/// The reading form's label for a field the rules name.
fn reading_label(field: &str) -> &'static str {
    match field {
        "title" => "Title",
        "author" => "Author",
        "url" => "Link",
        "isbn" => "ISBN",
        _ => "The reading",
    }
}
