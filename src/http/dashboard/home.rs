//! The dashboard's front page: the user's circles with their next session and its answers,
//! and anything that needs attention.

use actix_web::web;
use askama::Template;

use super::{DashResult, Nav, NoteQuery, Staff};
use crate::db::{circles, dashboard};
use crate::http::pages::{render, when};
use crate::http::AppState;

pub struct CircleCard {
    pub id: String,
    pub name: String,
    pub status: String,
    pub members: i64,
    pub waitlisted: i64,
    pub pending: i64,
    pub next: Option<String>,
    pub yes: i64,
    pub no: i64,
    pub maybe: i64,
}

#[derive(Template)]
#[template(path = "pages/dashboard/home.html")]
struct HomePage {
    nav: Nav,
    note: Option<String>,
    circles: Vec<CircleCard>,
    attention: Vec<(String, String)>,
}

pub async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<NoteQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let mine = circles::list(
        &mut conn,
        (!staff.organiser).then_some(staff.member_id),
        None,
        500,
    )
    .await?;
    let ids: Vec<_> = mine.iter().map(|c| c.id).collect();
    let summaries = dashboard::summaries(&mut conn, &ids).await?;
    let mut attention = Vec::new();
    let cards = mine
        .into_iter()
        .map(|c| {
            let s = summaries.iter().find(|s| s.circle_id == c.id.0);
            if let Some(s) = s {
                if s.dead_jobs > 0 {
                    attention.push((
                        format!(
                            "{}: {} email(s) could not be delivered",
                            c.name, s.dead_jobs
                        ),
                        format!("/dashboard/circles/{}/outbox", c.id),
                    ));
                }
                // (how many, one, several, what is said of them, the tab that deals with it)
                let leadership = [
                    (
                        s.open_slots,
                        "a role",
                        "roles",
                        "nobody holds in the coming sessions",
                        "rota",
                    ),
                    (
                        s.unanswered_asks,
                        "an ask to take a role",
                        "asks to take a role",
                        "not answered yet",
                        "rota",
                    ),
                    (
                        s.rounds_closing,
                        "a consent round",
                        "consent rounds",
                        "closing within two days",
                        "agreements",
                    ),
                    (
                        s.grow_asking,
                        "someone",
                        "people",
                        "is being asked to lead a new circle",
                        "growing",
                    ),
                    (
                        s.feedback_short,
                        "feedback for a lead",
                        "leads' feedback",
                        "closed this week with too few answers to show them (a word at the next session may help next time)",
                        "reflections",
                    ),
                ];
                for (n, one, many, said, tab) in leadership {
                    let what = match n {
                        0 => continue,
                        1 => one.to_string(),
                        n => format!("{n} {many}"),
                    };
                    attention.push((
                        format!("{}: {what} {said}", c.name),
                        format!("/dashboard/circles/{}/{tab}", c.id),
                    ));
                }
                if s.unmarked_sessions > 0 {
                    attention.push((
                        format!(
                            "{}: attendance not marked for {} recent session(s)",
                            c.name, s.unmarked_sessions
                        ),
                        format!("/dashboard/circles/{}/sessions", c.id),
                    ));
                }
            }
            let zone = s.and_then(|s| s.next_timezone).unwrap_or(c.timezone).tz();
            CircleCard {
                id: c.id.to_string(),
                name: c.name,
                status: c.status.to_string(),
                members: s.map_or(0, |s| s.active),
                waitlisted: s.map_or(0, |s| s.waitlisted),
                pending: s.map_or(0, |s| s.pending),
                next: s.and_then(|s| Some(when(s.next_starts_at?, s.next_ends_at?, zone))),
                yes: s.map_or(0, |s| s.yes),
                no: s.map_or(0, |s| s.no),
                maybe: s.map_or(0, |s| s.maybe),
            }
        })
        .collect();
    Ok(render(HomePage {
        nav: Nav::new(&staff),
        note: query.note.clone(),
        circles: cards,
        attention,
    })?)
}
