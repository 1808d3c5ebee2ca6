//! Double opt-in: the confirmation link's GET shows a button; its POST takes the seat (or a
//! waitlist place) that the signup asked for.

use actix_web::web;
use askama::Template;
use chrono::Utc;

use super::{holder, render, MessagePage, PageError, PageResult};
use crate::db::circles::Circle;
use crate::db::members::Member;
use crate::db::{circles, memberships, sessions, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{CircleId, MembershipState, SessionStatus};
use crate::http::AppState;
use crate::links::Holder;

#[derive(Template)]
#[template(path = "pages/confirm.html")]
struct ConfirmPage {
    circle_name: String,
    member_name: String,
    /// The circle's adopted agreements, (title, text): joining acknowledges them.
    agreements: Vec<(String, String)>,
    error: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ConfirmForm {
    /// "read" when the person ticked that they read the circle's agreements.
    #[serde(default)]
    agreements: String,
}

async fn adopted(
    conn: &mut Connection,
    circle: CircleId,
) -> Result<Vec<(String, String)>, PageError> {
    Ok(crate::db::agreements::adopted(conn, circle)
        .await?
        .into_iter()
        .map(|a| (a.title, a.body))
        .collect())
}

/// Where the person stands now, and where to go next: their view of the circle (not the
/// join form again) and the calendar feed.
async fn outcome(
    state: &AppState,
    conn: &mut Connection,
    circle: &Circle,
    member: &Member,
    membership_state: MembershipState,
    position: Option<i32>,
) -> Result<MessagePage, PageError> {
    let now = Utc::now();
    let name = &circle.name;
    let scheduled = sessions::list(conn, circle.id, Some(now), None, 1)
        .await?
        .iter()
        .any(|s| s.status == SessionStatus::Scheduled);
    let (title, text) = match membership_state {
        MembershipState::Waitlisted => (
            "You are on the waitlist".to_string(),
            format!(
                "{name} is full, so you are on its waitlist at position {}. We will email you as soon as a seat frees up.",
                position.unwrap_or(1)
            ),
        ),
        _ if scheduled => (
            "You are in".to_string(),
            format!("Welcome to {name}. Your welcome email lists the coming sessions, and the invitation to the next one, with a calendar entry, is on its way."),
        ),
        _ => (
            "You are in".to_string(),
            format!("Welcome to {name}. No sessions are scheduled yet; you will get an invitation for each one as it is planned."),
        ),
    };
    let holder = Holder::of(member);
    let me = state.links.me(holder, now);
    let base = state.links.base();
    let mut links = vec![(
        format!("{}/circles/{}", &me[base.len()..], circle.id),
        format!("See {name} and where you stand"),
    )];
    if membership_state == MembershipState::Active {
        links.push((
            state.links.webcal(holder),
            "Add its sessions to your calendar".to_string(),
        ));
    }
    links.push((
        me[base.len()..].to_string(),
        "Your page: all your circles".to_string(),
    ));
    Ok(MessagePage {
        title,
        paragraphs: vec![text],
        links,
    })
}

pub async fn show(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member) = holder(&state, &mut conn, &token, Purpose::Confirm).await?;
    let circle = circles::find(&mut conn, CircleId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    match memberships::find(&mut conn, circle.id, member.id)
        .await?
        .map(|m| (m.state, m.waitlist_position))
    {
        Some((MembershipState::Pending, _)) => render(ConfirmPage {
            agreements: adopted(&mut conn, circle.id).await?,
            circle_name: circle.name,
            member_name: member.display_name,
            error: None,
        }),
        Some((s @ (MembershipState::Active | MembershipState::Waitlisted), position)) => {
            render(outcome(&state, &mut conn, &circle, &member, s, position).await?)
        }
        _ => Err(no_longer_waiting()),
    }
}

fn no_longer_waiting() -> PageError {
    PageError::gone(
        "This signup is no longer waiting for confirmation. Sign up again from the circle's page.",
    )
}

pub async fn submit(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: Option<web::Form<ConfirmForm>>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member) = holder(&state, &mut conn, &token, Purpose::Confirm).await?;
    let circle = circles::find(&mut conn, CircleId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    // Joining a circle with agreements means acknowledging them.
    let agreements = adopted(&mut conn, circle.id).await?;
    let read = form.is_some_and(|f| f.agreements == "read");
    let pending = memberships::find(&mut conn, circle.id, member.id)
        .await?
        .is_some_and(|m| m.state == MembershipState::Pending);
    if !agreements.is_empty() && !read && pending {
        return super::render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            ConfirmPage {
                agreements,
                circle_name: circle.name,
                member_name: member.display_name,
                error: Some("Tick the box to say you've read the circle's agreements: joining means keeping them.".into()),
            },
        );
    }
    let membership = crate::actions::membership::confirm_signup(&mut conn, circle.id, member.id)
        .await?
        .ok_or_else(no_longer_waiting)?;
    if !agreements.is_empty() {
        crate::actions::agreements::acknowledge(&mut conn, &circle, member.id).await?;
    }
    render(
        outcome(
            &state,
            &mut conn,
            &circle,
            &member,
            membership.state,
            membership.waitlist_position,
        )
        .await?,
    )
}
