//! Readings: add and reorder; sessions attach them from their own page. A reading's chapters
//! are pasted as a table of contents, and the reading plan (which pages each session reads)
//! is shown with its uneven segments flagged, and its boundaries moved by hand. A reading no
//! session reads is flagged too.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::{readings, sessions};
use crate::domain::readings::ReadingCreate;
use crate::domain::{CircleId, ReadingId, SessionId};
use crate::error::AppError;
use crate::http::pages::{render, render_status};
use crate::http::AppState;

/// A reading as the page lists it.
pub struct ReadingRow {
    pub id: String,
    pub label: String,
    /// "12 chapters, pp. 1–340", when it has chapters.
    pub chapters: Option<String>,
    /// No scheduled session reads it: it is flagged rather than silently doing nothing.
    pub unread: bool,
    /// The chapters form as it shows: the current contents (or what was typed, after an
    /// error), the last page, whether it is open, and what is wrong with it.
    pub contents: String,
    pub last_page: String,
    pub open: bool,
    pub problem: Option<String>,
    /// Where its chapters end, to choose a plan boundary from: (page, "end of chapter 5, …").
    pub ends: Vec<(i32, String)>,
}

/// One segment of the plan: the session, what it reads, and its end page as a form field.
pub struct PlanRow {
    pub when: String,
    pub reading: String,
    pub label: String,
    pub from: i32,
    pub to: i32,
    pub pages: i32,
    pub uneven: bool,
    /// `to:{session}:{reading}`.
    pub field: String,
    /// The reading's last segment ends at the book's end; a started session keeps its part.
    pub fixed: bool,
    /// The reading's id, naming the list of its chapter ends.
    pub reading_id: String,
    /// The value in the field: the plan's, or what was typed when the plan was refused.
    pub value: String,
    /// Whether this row is what the refusal was about.
    pub problem: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard/readings.html")]
struct ReadingsPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    rows: Vec<ReadingRow>,
    plan: Vec<PlanRow>,
    error: Option<(String, String)>,
    plan_error: Option<String>,
}

async fn page(
    conn: &mut crate::db::Connection,
    staff: &Staff,
    id: CircleId,
    note: Option<String>,
    error: Option<(String, String)>,
) -> Result<ReadingsPage, super::DashError> {
    let circle = staff.circle(conn, id).await?;
    let list = readings::list(conn, circle.id, None, 500).await?;
    let unread = readings::unread(conn, circle.id).await?;
    let mut rows = Vec::with_capacity(list.len());
    for r in list {
        let ch = match readings::chapters(conn, r.id).await? {
            Some((_, json)) => crate::actions::reading_plan::parse(json),
            None => Vec::new(),
        };
        let chapters = match (ch.first(), ch.last()) {
            (Some(a), Some(b)) => Some(format!(
                "{} chapters, pp. {}–{}",
                ch.len(),
                a.first_page,
                b.last_page
            )),
            _ => None,
        };
        let ends = ch
            .iter()
            .map(|c| {
                let title = if c.title.is_empty() {
                    String::new()
                } else {
                    format!(", {}", c.title)
                };
                (c.last_page, format!("end of chapter {}{title}", c.number))
            })
            .collect();
        let label = match r.author {
            Some(a) => format!("{}, by {a}", r.title),
            None => r.title,
        };
        rows.push(ReadingRow {
            id: r.id.to_string(),
            label,
            chapters,
            unread: unread.iter().any(|(id, _)| *id == r.id),
            contents: crate::domain::reading_plan::contents_text(&ch),
            last_page: ch
                .last()
                .map(|c| c.last_page.to_string())
                .unwrap_or_default(),
            open: false,
            problem: None,
            ends,
        });
    }
    let plan = plan_rows(conn, &circle, &rows).await?;
    Ok(ReadingsPage {
        nav: Nav::circle(staff, &circle, "readings"),
        note,
        circle_id: circle.id.to_string(),
        rows,
        plan,
        error,
        plan_error: None,
    })
}

async fn plan_rows(
    conn: &mut crate::db::Connection,
    circle: &crate::db::circles::Circle,
    readings_: &[ReadingRow],
) -> Result<Vec<PlanRow>, AppError> {
    let (segments, uneven) = crate::actions::reading_plan::plan_of(conn, circle.id).await?;
    let now = chrono::Utc::now();
    let zone = circle.timezone.tz();
    let mut out = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let starts = sessions::find(conn, seg.session_id)
            .await?
            .map(|s| s.starts_at);
        let last_of_reading = !segments[i + 1..]
            .iter()
            .any(|later| later.reading_id == seg.reading_id);
        out.push(PlanRow {
            when: starts.map_or_else(String::new, |at| {
                at.with_timezone(&zone).format("%a %-d %b %Y").to_string()
            }),
            reading: readings_
                .iter()
                .find(|r| r.id == seg.reading_id.to_string())
                .map_or_else(String::new, |r| r.label.clone()),
            label: seg.label.clone(),
            from: seg.first_page,
            to: seg.last_page,
            pages: seg.last_page - seg.first_page + 1,
            uneven: uneven.contains(&i),
            field: format!("to:{}:{}", seg.session_id, seg.reading_id),
            fixed: last_of_reading || starts.is_none_or(|at| at <= now),
            reading_id: seg.reading_id.to_string(),
            value: seg.last_page.to_string(),
            problem: false,
        });
    }
    Ok(out)
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

#[derive(Debug, Deserialize)]
pub struct ChaptersForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    contents: String,
    #[serde(default)]
    last_page: String,
}

/// Give a reading its chapters from a pasted table of contents.
pub async fn chapters(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<ReadingId>,
    form: web::Form<ChaptersForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    let mut conn = state.pool.get().await?;
    let (circle_id, _) = readings::place(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound("reading"))?;
    let circle = staff.circle(&mut conn, circle_id).await?;
    let parsed = form
        .last_page
        .trim()
        .parse::<i32>()
        .map_err(|_| {
            crate::domain::Invalid::new("last_page", "must be the book's last page, a number")
        })
        .and_then(|last| crate::domain::reading_plan::parse_contents(&form.contents, last));
    match parsed {
        Ok(list) => {
            let n = list.len();
            crate::actions::reading_plan::set_chapters(&mut conn, *id, list, chrono::Utc::now())
                .await?;
            let waits = readings::unread(&mut conn, circle.id)
                .await?
                .iter()
                .any(|(r, _)| r == &*id);
            let note = if waits {
                format!("Saved {n} chapters. No session reads this reading yet.")
            } else {
                format!("Saved {n} chapters; the reading is split over its sessions.")
            };
            Ok(see_other(
                &format!("/dashboard/circles/{}/readings", circle.id),
                &note,
            ))
        }
        Err(e) => {
            let field = if e.field == "last_page" {
                "the last page"
            } else {
                "the table of contents"
            };
            // The form comes back open, as it was typed, with the problem beside it.
            let mut p = page(&mut conn, &staff, circle.id, None, None).await?;
            if let Some(row) = p.rows.iter_mut().find(|r| r.id == id.to_string()) {
                row.contents = form.contents.clone();
                row.last_page = form.last_page.clone();
                row.open = true;
                row.problem = Some(format!("Not saved: {field} {}.", e.message));
            }
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, p)?)
        }
    }
}

/// Move the plan's boundaries: each segment's last page, from `to:{session}:{reading}`
/// fields; each next segment starts on the page after.
pub async fn set_plan(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
    form: web::Form<Vec<(String, String)>>,
) -> DashResult {
    let fields = form.into_inner();
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    staff.check_csrf(csrf)?;
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let (current, _) = crate::actions::reading_plan::plan_of(&mut conn, circle.id).await?;
    let mut problem = None;
    let mut bad_field = None;
    let mut ends = std::collections::HashMap::new();
    for (key, value) in &fields {
        let Some(rest) = key.strip_prefix("to:") else {
            continue;
        };
        let Some((session, reading)) = rest.split_once(':') else {
            continue;
        };
        let (Ok(session), Ok(reading)) = (session.parse(), reading.parse()) else {
            problem =
                Some("The plan names a session or reading that is not this circle's.".to_string());
            break;
        };
        match value.trim().parse::<i32>() {
            Ok(v) => {
                ends.insert((SessionId(session), ReadingId(reading)), v);
            }
            Err(_) => {
                problem = Some(format!("“{}” is not a page number.", value.trim()));
                bad_field = Some(key.clone());
                break;
            }
        }
    }
    let mut boundaries = Vec::with_capacity(current.len());
    let mut next: std::collections::HashMap<ReadingId, i32> = std::collections::HashMap::new();
    for seg in &current {
        let first = *next.get(&seg.reading_id).unwrap_or(&seg.first_page);
        let last = ends
            .get(&(seg.session_id, seg.reading_id))
            .copied()
            .unwrap_or(seg.last_page);
        next.insert(seg.reading_id, last + 1);
        boundaries.push(crate::actions::reading_plan::Boundary {
            session_id: seg.session_id,
            reading_id: seg.reading_id,
            first_page: first,
            last_page: last,
        });
    }
    let outcome = match problem {
        Some(p) => Err((StatusCode::UNPROCESSABLE_ENTITY, p)),
        None => match crate::actions::reading_plan::set_plan(
            &mut conn,
            circle.id,
            boundaries,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(()) => Ok(()),
            Err(AppError::Invalid { message, .. }) => Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Not saved: {message}."),
            )),
            Err(AppError::Conflict(message)) => {
                Err((StatusCode::CONFLICT, format!("Not saved: {message}.")))
            }
            Err(e) => return Err(e.into()),
        },
    };
    match outcome {
        Ok(()) => Ok(see_other(
            &format!("/dashboard/circles/{}/readings", circle.id),
            "Reading plan saved.",
        )),
        Err((status, message)) => {
            let mut p = page(&mut conn, &staff, circle.id, None, None).await?;
            p.plan_error = Some(message);
            // Every boundary as it was typed; the row that was not a page number, or else the
            // rows that were moved, marked for the organiser to look at.
            for row in &mut p.plan {
                if let Some((_, typed)) = fields.iter().find(|(k, _)| *k == row.field) {
                    let moved = typed.trim() != row.value;
                    row.problem = match &bad_field {
                        Some(bad) => *bad == row.field,
                        None => moved,
                    };
                    row.value = typed.clone();
                }
            }
            Ok(render_status(status, p)?)
        }
    }
}
