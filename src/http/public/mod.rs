//! The public pages: the circle directory and signup, and everything members do from links in
//! their email (confirm, RSVP, reflect, their own page, unsubscribe, calendar feed). No login;
//! each link carries a signed token for the one thing it allows. GET never changes state.

mod agenda;
mod agreements;
mod attendance;
mod calendar;
pub mod circles;
mod confirm;
mod feedback;
mod growing;
mod me;
mod reflect;
mod roles;
mod rsvp;
mod unsubscribe;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use chrono_tz::Tz;

use super::pages::{render, render_status, when, PageError, PageResult};
use super::AppState;
use crate::db::members::{self, Member};
use crate::db::Connection;
use crate::domain::tokens::{Claims, Purpose};
use crate::domain::{MemberId, Timezone};
use crate::links::Holder;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(circles::directory))
        .route("/static/style.css", web::get().to(style_css))
        .route("/static/tz.js", web::get().to(tz_js))
        .route("/static/agenda.js", web::get().to(agenda_js))
        .route("/c/{slug}", web::get().to(circles::page))
        .route("/c/{slug}/join", web::post().to(circles::join))
        .route("/confirm/{token}", web::get().to(confirm::show))
        .route("/confirm/{token}", web::post().to(confirm::submit))
        .route("/rsvp/{token}", web::get().to(rsvp::show))
        .route("/rsvp/{token}", web::post().to(rsvp::submit))
        .route("/attendance/{token}", web::get().to(attendance::show))
        .route("/attendance/{token}", web::post().to(attendance::submit))
        .route("/reflect/{token}", web::get().to(reflect::show))
        .route("/reflect/{token}", web::post().to(reflect::submit))
        .route("/me", web::get().to(me::request_form))
        .route("/me", web::post().to(me::request_link))
        .route("/me/{token}", web::get().to(me::show))
        .route("/me/{token}/preferences", web::post().to(me::preferences))
        .route("/me/{token}/rotation", web::post().to(me::rotation))
        .route("/me/{token}/leave", web::get().to(me::confirm_leave))
        .route("/me/{token}/leave", web::post().to(me::leave))
        .route("/me/{token}/circles/{circle_id}", web::get().to(me::circle))
        .route(
            "/me/{token}/circles/{circle_id}/acknowledge",
            web::post().to(me::acknowledge),
        )
        .route(
            "/me/{token}/circles/{circle_id}/agreements",
            web::post().to(me::propose),
        )
        .route(
            "/me/{token}/feedback/{request_id}/report",
            web::post().to(me::report),
        )
        .route("/me/{token}/calendar", web::post().to(me::reset_calendar))
        .route("/me/{token}/links", web::post().to(me::retire_links))
        .route("/me/{token}/export.json", web::get().to(me::export))
        .route("/me/{token}/delete", web::get().to(me::confirm_delete))
        .route("/me/{token}/delete", web::post().to(me::delete))
        .route("/role/{token}", web::get().to(roles::show_role))
        .route("/role/{token}", web::post().to(roles::answer_role))
        .route("/swap/{token}", web::get().to(roles::show_swap))
        .route("/swap/{token}", web::post().to(roles::take_swap))
        .route("/handoff/{token}", web::get().to(roles::show_handoff))
        .route("/handoff/{token}", web::post().to(roles::save_handoff))
        .route("/agenda/{token}", web::get().to(agenda::show))
        .route("/consent/{token}", web::get().to(agreements::show))
        .route("/consent/{token}", web::post().to(agreements::submit))
        .route("/feedback/{token}", web::get().to(feedback::show))
        .route("/feedback/{token}", web::post().to(feedback::submit))
        .route("/grow/{token}", web::get().to(growing::show))
        .route("/grow/{token}", web::post().to(growing::answer))
        .route("/unsubscribe/{token}", web::get().to(unsubscribe::show))
        .route("/unsubscribe/{token}", web::post().to(unsubscribe::submit))
        .route("/calendar/{token}", web::get().to(calendar::feed));
}

async fn style_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/style.css"))
}

async fn tz_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/tz.js"))
}

async fn agenda_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/agenda.js"))
}

#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub title: String,
    pub paragraphs: Vec<String>,
    /// Where to go next: (address, words).
    pub links: Vec<(String, String)>,
}

/// Check a link's token and find the member it was issued to, with the version such links
/// must carry now (bumping it revokes every link of that kind issued before).
pub async fn holder(
    state: &AppState,
    conn: &mut Connection,
    token: &str,
    purpose: Purpose,
) -> Result<(Claims, Member), PageError> {
    let claims = state.links.keys().verify(token, purpose, Utc::now())?;
    let member = members::find(conn, MemberId(claims.member)).await?;
    let member = current_link(&claims, member, |m| match purpose {
        // An unsubscribe link only stops email, so it keeps working from any old email, even
        // after the member retired their other links.
        Purpose::Unsubscribe => claims.token_version as i32,
        _ => Holder::of(m).version_for(purpose),
    })?;
    Ok((claims, member))
}

/// Whether a verified link still works: its member was `found` and has not revoked their
/// links (bumped `version`) since it was issued.
pub fn current_link<T>(
    claims: &Claims,
    found: Option<T>,
    version: impl Fn(&T) -> i32,
) -> Result<T, PageError> {
    let Some(found) = found else {
        return Err(PageError::gone(
            "This link belongs to an account that no longer exists.",
        ));
    };
    if version(&found).max(0) as u32 != claims.token_version {
        return Err(PageError::gone(
            "This link was replaced by a newer one. Use the latest email, or ask for a fresh link from your personal page.",
        ));
    }
    Ok(found)
}

/// A link that acts in a circle (RSVP, reflection, role, swap, handoff, feedback, consent,
/// agenda, grow): its token checked, its member found, and the member still active in the
/// circle its object belongs to, before the page shows or does anything. That last check is
/// `actions::active_member::require` made outside a transaction (someone who left is told so,
/// 410; a stranger finds nothing, 404); the actions behind the pages make it again inside
/// theirs, where it holds the membership row until they are done.
pub async fn member_link(
    state: &AppState,
    conn: &mut Connection,
    token: &str,
    purpose: Purpose,
) -> Result<(Claims, Member, crate::domain::CircleId), PageError> {
    let (claims, member) = holder(state, conn, token, purpose).await?;
    let circle = crate::db::links::circle_of(conn, purpose, claims.object)
        .await?
        .ok_or_else(PageError::not_found)?;
    crate::actions::active_member::require(conn, circle, member.id)
        .await
        .map_err(PageError::from)?;
    Ok((claims, member, circle))
}

/// The zone to show times in: a member's own zone when set, else the browser's (`tz`
/// cookie), else the fallback (the circle's or session's).
pub fn zone_for(req: &HttpRequest, member_zone: Option<&str>, fallback: Timezone) -> Tz {
    member_zone
        .and_then(|z| z.parse().ok())
        .or_else(|| req.cookie("tz").and_then(|c| c.value().parse().ok()))
        .unwrap_or(fallback.tz())
}

/// The zone to show times in: the member's, else the browser's (`tz` cookie), else the
/// fallback (the circle's or session's).
pub fn viewer_zone(req: &HttpRequest, member: Option<&Member>, fallback: Timezone) -> Tz {
    zone_for(req, member.and_then(|m| m.timezone.as_deref()), fallback)
}
