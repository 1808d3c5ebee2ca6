//! The timekeeper's page, `/agenda/{token}`: a session's rounds, who speaks in which order and
//! for how long, with a per-speaker countdown in the browser; without talking-piece rounds, a
//! countdown of the whole session. It only shows; nothing on it changes anything.

use actix_web::{web, HttpRequest};
use askama::Template;

use super::{member_link, render, viewer_zone, when, PageError, PageResult};
use crate::db::{circles, sessions};
use crate::domain::tokens::Purpose;
use crate::domain::SessionId;
use crate::http::AppState;
use crate::views::agenda;

struct RoundView {
    name: &'static str,
    prompt: String,
    minutes: i32,
    /// Seconds per speaker, for the countdown.
    seconds: i32,
    /// "2:30" per speaker.
    each: Option<String>,
    speakers: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/agenda.html")]
struct AgendaPage {
    circle_name: String,
    when: String,
    frozen: bool,
    rounds: Vec<RoundView>,
    /// The session's length, for the plain timer shown without rounds.
    minutes: i64,
    seconds: i64,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Agenda).await?;
    let session = sessions::find(&mut conn, SessionId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    let circle = circles::find(&mut conn, session.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let built = agenda::for_session(&mut conn, &session, &circle).await?;
    let zone = viewer_zone(&req, Some(&member), session.timezone);
    // The draw's seed stays on the dashboard: members read the order, not how it was drawn.
    let (frozen, rounds) = match built {
        Some(a) => (a.frozen, a.rounds),
        None => (false, Vec::new()),
    };
    let length = (session.ends_at - session.starts_at).num_seconds().max(0);
    render(AgendaPage {
        minutes: length / 60,
        seconds: length,
        circle_name: circle.name,
        when: when(session.starts_at, session.ends_at, zone),
        frozen,
        rounds: rounds
            .into_iter()
            .map(|r| RoundView {
                name: agenda::step_name(r.kind),
                prompt: r.prompt,
                minutes: r.minutes,
                seconds: r.per_speaker_seconds.unwrap_or(60),
                each: r
                    .per_speaker_seconds
                    .map(|s| format!("{}:{:02}", s / 60, s % 60)),
                speakers: r.order.into_iter().map(|s| s.display_name).collect(),
            })
            .collect(),
    })
}
