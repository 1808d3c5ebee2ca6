//! Double opt-in: the confirmation link's GET shows a button; its POST takes the seat (or a
//! waitlist place) that the signup asked for.

use actix_web::web;
use askama::Template;

use super::{holder, render, MessagePage, PageError, PageResult};
use crate::db::{circles, memberships};
use crate::domain::tokens::Purpose;
use crate::domain::{CircleId, MembershipState};
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/confirm.html")]
struct ConfirmPage {
    circle_name: String,
    member_name: String,
}

fn outcome(circle: &str, slug: &str, state: MembershipState, position: Option<i32>) -> MessagePage {
    let (title, text) = match state {
        MembershipState::Waitlisted => (
            "You are on the waitlist".to_string(),
            format!(
                "{circle} is full, so you are on its waitlist at position {}. We will email you as soon as a seat frees up.",
                position.unwrap_or(1)
            ),
        ),
        _ => (
            "You are in".to_string(),
            format!("Welcome to {circle}. Invitations to its sessions, with calendar entries, are on their way to your inbox."),
        ),
    };
    MessagePage {
        title,
        paragraphs: vec![text],
        link: Some((format!("/c/{slug}"), format!("See {circle}"))),
    }
}

pub async fn show(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member) = holder(&state, &mut conn, &token, Purpose::Confirm).await?;
    let circle = circles::find(&mut conn, CircleId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    match memberships::find(&mut conn, circle.id, member.id).await?.map(|m| (m.state, m.waitlist_position)) {
        Some((MembershipState::Pending, _)) => render(ConfirmPage {
            circle_name: circle.name,
            member_name: member.display_name,
        }),
        Some((state @ (MembershipState::Active | MembershipState::Waitlisted), position)) => {
            render(outcome(&circle.name, &circle.slug, state, position))
        }
        _ => Err(PageError::gone("This signup is no longer waiting for confirmation. Sign up again from the circle's page.")),
    }
}

pub async fn submit(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member) = holder(&state, &mut conn, &token, Purpose::Confirm).await?;
    let circle = circles::find(&mut conn, CircleId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    let membership = memberships::confirm_signup(&mut conn, circle.id, member.id)
        .await?
        .ok_or_else(|| PageError::gone("This signup is no longer waiting for confirmation. Sign up again from the circle's page."))?;
    render(outcome(
        &circle.name,
        &circle.slug,
        membership.state,
        membership.waitlist_position,
    ))
}
