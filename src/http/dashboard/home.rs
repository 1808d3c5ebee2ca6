//! The dashboard's front page: the user's circles with their next session and its answers,
//! and anything that needs attention, a page at a time.

use actix_web::web;
use askama::Template;

use serde::Deserialize;

use super::{DashResult, Nav, Staff};
use crate::db::dashboard::{self, Attention, CircleLine, Whose};
use crate::domain::CircleId;
use crate::error::AppError;
use crate::http::pages::{render, when};
use crate::http::AppState;

pub struct CircleCard {
    pub id: String,
    pub name: String,
    pub status: String,
    pub members: i32,
    pub waitlisted: i32,
    /// "12", or "100 or more".
    pub pending: Option<String>,
    pub next: Option<String>,
    pub yes: i64,
    pub no: i64,
    pub maybe: i64,
}

/// Circles a page shows.
const PER_PAGE: i64 = 25;

/// The page's address.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeQuery {
    note: Option<String>,
    /// From 1.
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "pages/dashboard/home.html")]
struct HomePage {
    nav: Nav,
    note: Option<String>,
    circles: Vec<CircleCard>,
    attention: Vec<(String, String)>,
    /// Circles needing attention at the last check that other pages show.
    attention_elsewhere: i64,
    page: i64,
    previous: Option<String>,
    following: Option<String>,
}

/// The user's circles, 25 to a page: those that needed attention at the clock's last check
/// (every few minutes) first, then by name. What each circle on the page needs is read as the
/// page is shown, so its cost is the same for 300 circles or 40,000.
pub async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<HomeQuery>,
) -> DashResult {
    let page = crate::pagination::page_number(query.page).map_err(AppError::from)?;
    let mut conn = state.pool.get().await?;
    let whose = if staff.organiser {
        Whose::All
    } else {
        Whose::FacilitatedBy(staff.member_id)
    };
    let mut lines =
        dashboard::front_page(&mut conn, whose, PER_PAGE + 1, (page - 1) * PER_PAGE).await?;
    let more = lines.len() as i64 > PER_PAGE;
    lines.truncate(PER_PAGE as usize);
    let ids: Vec<CircleId> = lines.iter().map(|l| CircleId(l.id)).collect();
    let needs = dashboard::attention(&mut conn, &ids).await?;
    let flagged_here = lines.iter().filter(|l| l.needs_attention).count() as i64;
    let attention_elsewhere = if more || page > 1 {
        (dashboard::flagged(&mut conn, whose).await? - flagged_here).max(0)
    } else {
        0
    };
    let mut attention = Vec::new();
    for line in &lines {
        if let Some(a) = needs.iter().find(|a| a.circle_id == line.id) {
            attention.extend(items(&line.name, &CircleId(line.id).to_string(), a));
        }
    }
    let cards = lines.into_iter().map(card).collect();
    let link = |page: i64| format!("/dashboard?page={page}");
    Ok(render(HomePage {
        nav: Nav::new(&staff),
        note: query.note.clone(),
        circles: cards,
        attention,
        attention_elsewhere,
        page,
        previous: (page > 1).then(|| link(page - 1)),
        following: more.then(|| link(page + 1)),
    })?)
}

fn card(l: CircleLine) -> CircleCard {
    let zone = l.next_timezone.unwrap_or(l.timezone).tz();
    CircleCard {
        id: CircleId(l.id).to_string(),
        name: l.name,
        status: l.status,
        members: l.active,
        waitlisted: l.waitlisted,
        pending: match l.pending {
            0 => None,
            n if n >= dashboard::PENDING_SHOWN => Some(format!("{n} or more")),
            n => Some(n.to_string()),
        },
        next: l
            .next_starts_at
            .zip(l.next_ends_at)
            .map(|(starts, ends)| when(starts, ends, zone)),
        yes: l.yes,
        no: l.no,
        maybe: l.maybe,
    }
}

/// The lines of "Needs attention" for one circle: what is said, and the tab that deals with it.
fn items(name: &str, id: &str, a: &Attention) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if a.dead_jobs > 0 {
        out.push((
            format!("{name}: {} email(s) could not be delivered", a.dead_jobs),
            format!("/dashboard/circles/{id}/outbox"),
        ));
    }
    // (how many, one, several, what is said of them, the tab that deals with it)
    let leadership = [
        (
            a.open_slots,
            "a role",
            "roles",
            "nobody holds in the coming sessions",
            "rota",
        ),
        (
            a.unanswered_asks,
            "an ask to take a role",
            "asks to take a role",
            "not answered yet",
            "rota",
        ),
        (
            a.rounds_closing,
            "a consent round",
            "consent rounds",
            "closing within two days",
            "agreements",
        ),
        (
            a.grow_asking,
            "someone",
            "people",
            "is being asked to lead a new circle",
            "growing",
        ),
        (
            a.feedback_short,
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
        out.push((
            format!("{name}: {what} {said}"),
            format!("/dashboard/circles/{id}/{tab}"),
        ));
    }
    if a.unmarked_sessions > 0 {
        out.push((
            format!(
                "{name}: attendance not marked for {} recent session(s)",
                a.unmarked_sessions
            ),
            format!("/dashboard/circles/{id}/sessions"),
        ));
    }
    out
}
