//! The page's forms: email preferences, taking turns in a rotating circle, a new calendar
//! address, and retiring every earlier link.

use actix_web::web;
use serde::Deserialize;

use super::back_to_page;
use crate::db::{circles, members, roles};
use crate::domain::tokens::Purpose;
use crate::domain::CircleId;
use crate::error::AppError;
use crate::http::public::{holder, render, PageError, PageResult};
use crate::http::AppState;

#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    reminders: Option<String>,
    reflection_prompts: Option<String>,
    feedback_requests: Option<String>,
    consent_reminders: Option<String>,
    subscribed: Option<String>,
}

pub async fn preferences(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PreferencesForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    members::set_preferences(
        &mut conn,
        member.id,
        form.reminders.is_some(),
        form.reflection_prompts.is_some(),
        members::Quiet {
            feedback_requests: form.feedback_requests.is_some(),
            consent_reminders: form.consent_reminders.is_some(),
        },
        form.subscribed.is_some(),
    )
    .await?;
    Ok(back_to_page(&token, "preferences"))
}

/// A member's preferences for taking turns in one circle, from their page.
#[derive(Debug, Deserialize)]
pub struct RotationForm {
    #[serde(default)]
    circle_id: String,
    opted_in: Option<String>,
    half: Option<String>,
    #[serde(default)]
    paused_until: String,
    /// The role keys left unticked: sent as `take_<key>=on` for each role they take.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

pub async fn rotation(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<RotationForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle_id: uuid::Uuid = form
        .circle_id
        .parse()
        .map_err(|_| AppError::invalid("circle_id", "is not a circle"))?;
    let circle = circles::find(&mut conn, CircleId(circle_id))
        .await?
        .ok_or_else(PageError::not_found)?;
    let paused_until = match form.paused_until.trim() {
        "" => None,
        d => Some(crate::domain::clock::parse_date(d, "paused_until").map_err(AppError::from)?),
    };
    let kinds = roles::kinds(&mut conn, circle.id).await?;
    let opted_out = kinds
        .iter()
        .filter(|k| k.rotates && !form.rest.contains_key(&format!("take_{}", k.key)))
        .map(|k| k.key.clone())
        .collect();
    let current = roles::prefs(&mut conn, circle.id, member.id).await?;
    // "Half as often" toggles between a full share and half; a weight an organiser set to
    // something else stays unless the box changes its meaning.
    let weight = match (form.half.is_some(), current.weight < 100) {
        (true, true) | (false, false) => current.weight,
        (true, false) => 50,
        (false, true) => 100,
    };
    let change = crate::actions::roles::PrefsChange {
        opted_in: Some(form.opted_in.is_some()),
        weight: Some(weight),
        paused_until: Some(paused_until),
        opted_out_roles: Some(opted_out),
    };
    match crate::actions::roles::set_prefs(&mut conn, &circle, member.id, change).await {
        Ok(_) => Ok(back_to_page(&token, "rotation")),
        // Not a member of that circle (any more): as if it did not exist.
        Err(AppError::NotFound(_)) => Err(PageError::not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Give the calendar feed a new address; the old one stops working at once.
pub async fn reset_calendar(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    members::reset_calendar_link(&mut conn, member.id).await?;
    Ok(back_to_page(&token, "calendar"))
}

/// Retire every link in the member's earlier email (a forwarded message, a lost phone) and
/// mail them a fresh link to this page.
pub async fn retire_links(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    crate::actions::people::retire_links(&mut conn, member.id).await?;
    render(crate::http::public::MessagePage {
        title: "Your old links have stopped working".into(),
        paragraphs: vec![
            "Every link in the email Roundtable sent you so far, this page's included, no longer works: answers, roles, swaps, feedback, agreements and sign-ups.".into(),
            format!("A fresh link to your page is on its way to {}. Later email carries new links that work as before.", member.email),
            "Unsubscribe links in old email still work, and so does your calendar feed (it has its own reset on your page).".into(),
        ],
        links: Vec::new(),
    })
}
