//! Leaving a circle: the question first (what leaving does), then the leave itself.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::circle_of;
use crate::db::members::Member;
use crate::db::{circles, memberships, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{CircleId, MembershipRole, MembershipState};
use crate::http::public::{holder, render, PageError, PageResult};
use crate::http::AppState;

#[derive(Debug, Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    circle_id: String,
    /// `yes` from the confirmation page; without it the page asks first.
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/me_leave.html")]
struct LeavePage {
    base: String,
    circle_id: CircleId,
    circle_name: String,
    consequence: String,
}

/// "Leave Slow Reading?" and what leaving does, before anything happens.
async fn leave_page(
    conn: &mut Connection,
    token: &str,
    member: &Member,
    circle_id: CircleId,
) -> PageResult {
    let circle = circles::find(conn, circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let mine = memberships::find(conn, circle_id, member.id)
        .await?
        .filter(|m| m.state != MembershipState::Left)
        .ok_or_else(PageError::not_found)?;
    let waiting = memberships::waitlist_length(conn, circle_id).await?;
    let back = match mine.state {
        MembershipState::Active => {
            crate::actions::growing::way_back(conn, &circle, member.id).await?
        }
        _ => None,
    };
    let consequence = match (mine.state, &back) {
        (_, Some((parent, place))) => format!(
            "You go back to {} waitlist, at number {place}, where you were before you were moved here.",
            crate::domain::text::possessive(&parent.name)
        ),
        (MembershipState::Waitlisted, _) => format!(
            "You give up your place on its waitlist (number {}).",
            mine.waitlist_position.unwrap_or(1)
        ),
        (MembershipState::Active, _) if waiting > 0 && mine.role == MembershipRole::Member => {
            "Your seat goes to the next person waiting, and you will get no more invitations or reminders from it.".to_string()
        }
        _ => "You will get no more invitations or reminders from it.".to_string(),
    };
    render(LeavePage {
        base: format!("/me/{token}"),
        circle_id,
        circle_name: circle.name,
        consequence,
    })
}

/// The question before leaving (a GET: it changes nothing).
pub async fn confirm_leave(
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: web::Query<LeaveForm>,
) -> PageResult {
    let circle_id = circle_of(&query.circle_id)?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    leave_page(&mut conn, &token, &member, circle_id).await
}

/// Leave, once the confirmation page said yes; any other POST only asks.
pub async fn leave(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<LeaveForm>,
) -> PageResult {
    let circle_id = circle_of(&form.circle_id)?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    if form.confirm.as_deref() != Some("yes") {
        return leave_page(&mut conn, &token, &member, circle_id).await;
    }
    let back = crate::actions::growing::leave_sibling(&mut conn, circle_id, member.id).await?;
    let saved = if back.is_some() { "back" } else { "left" };
    Ok(HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/me/{}?saved={saved}&circle={circle_id}", token.as_str()),
        ))
        .finish())
}
