//! `/feedback/{token}`: two or three short questions about whoever held a role, for members
//! marked as having attended. One answer each; anonymous unless the person who led asked for
//! named feedback. GET shows the form (or why it is closed to this member); POST answers.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{member_link, render, render_status, viewer_zone, PageError, PageResult};
use crate::actions::feedback::{self as actions, Given};
use crate::db::feedback::{self, FeedbackRequest};
use crate::db::{circles, members, roles, sessions, Connection};
use crate::domain::feedback::{self as rules, Answer};
use crate::domain::tokens::Purpose;
use crate::domain::{FeedbackMode, FeedbackRequestId, MemberId};

use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/feedback.html")]
struct FeedbackPage {
    circle_name: String,
    lead: String,
    role: String,
    day: String,
    anonymous: bool,
    min_answers: i32,
    closes: String,
    /// Why this member cannot answer, when they cannot.
    refused: Option<String>,
    helped_q: &'static str,
    try_next_q: &'static str,
    rating_q: &'static str,
    ratings: Vec<(i16, &'static str)>,
    draft: (String, String, String),
    error: Option<String>,
    saved: Option<String>,
    /// The member's own page: where to go once the answer is sent.
    me_url: String,
}

#[derive(Debug, Deserialize)]
pub struct FeedbackForm {
    #[serde(default)]
    helped: String,
    #[serde(default)]
    try_next: String,
    #[serde(default)]
    rating: String,
}

fn refusal(given: Given, lead: &str) -> Option<(StatusCode, String)> {
    let (status, text) = match given {
        Given::Saved => return None,
        Given::Twice => (
            StatusCode::CONFLICT,
            "You have answered already, thank you. Each person answers once.".to_string(),
        ),
        Given::NotAttended => (
            StatusCode::FORBIDDEN,
            "Feedback comes from the people marked as there when it opened, and that list doesn't include you.".to_string(),
        ),
        Given::NotRecorded => (
            StatusCode::CONFLICT,
            "This form opens once the facilitator has marked who came. Try the link again later.".to_string(),
        ),
        Given::Closed => (
            StatusCode::GONE,
            "The feedback on this session has closed.".to_string(),
        ),
        Given::OwnSession => (
            StatusCode::FORBIDDEN,
            format!("This feedback is about you, {lead}; you'll be told when it closes."),
        ),
        Given::NotMember => (
            StatusCode::GONE,
            "You are no longer a member of this circle, so this link no longer works.".to_string(),
        ),
    };
    Some((status, text))
}

async fn request_for(
    conn: &mut Connection,
    id: FeedbackRequestId,
) -> Result<FeedbackRequest, PageError> {
    feedback::find(conn, id)
        .await?
        .ok_or_else(PageError::not_found)
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    draft: (String, String, String),
    error: Option<String>,
    saved: Option<String>,
) -> Result<(StatusCode, FeedbackPage), PageError> {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(state, &mut conn, token, Purpose::Feedback).await?;
    let request = request_for(&mut conn, FeedbackRequestId(claims.object)).await?;
    let session = sessions::find(&mut conn, request.session_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let circle = circles::find(&mut conn, request.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let lead = lead_name(&mut conn, request.subject_id).await?;
    let role = roles::kind(&mut conn, request.circle_id, &request.role_key)
        .await?
        .map_or_else(|| request.role_key.clone(), |k| k.name.to_lowercase());
    let zone = viewer_zone(req, Some(&member), session.timezone);
    let refused = if saved.is_some() {
        None
    } else {
        actions::may_answer(
            &mut conn,
            state.links.keys(),
            &request,
            member.id,
            Utc::now(),
        )
        .await?
        .and_then(|g| refusal(g, &lead))
    };
    let status = refused.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let page = FeedbackPage {
        circle_name: circle.name,
        lead,
        role,
        day: crate::email::when::describe_day(session.starts_at, zone),
        anonymous: request.mode == FeedbackMode::Anonymous,
        min_answers: request.min_answers,
        closes: crate::email::when::deadline(request.closes_at, zone, chrono::Utc::now()),
        refused: refused.map(|(_, t)| t),
        helped_q: rules::HELPED,
        try_next_q: rules::TRY_NEXT,
        rating_q: rules::RATING,
        ratings: (1..=3).map(|r| (r, rules::rating_label(r))).collect(),
        draft,
        error,
        saved,
        me_url: state
            .links
            .me(crate::links::Holder::of(&member), chrono::Utc::now()),
    };
    // Someone who answered already sees the thank-you, not an error.
    let status = if status == StatusCode::CONFLICT && page.saved.is_none() {
        StatusCode::OK
    } else {
        status
    };
    Ok((status, page))
}

async fn lead_name(conn: &mut Connection, member: MemberId) -> Result<String, PageError> {
    Ok(members::find(conn, member)
        .await?
        .map_or_else(|| "the person who led".into(), |m| m.display_name))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    // Reading the form never changes anything, whatever it says; a refusal says why with
    // its status (403 not there, 410 closed, 409 attendance not marked yet).
    let (status, page) = page(&state, &req, &token, Default::default(), None, None).await?;
    render_status(status, page)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<FeedbackForm>,
) -> PageResult {
    let form = form.into_inner();
    let answer = match Answer::parse(&form.helped, &form.try_next, &form.rating) {
        Ok(a) => a,
        Err(problem) => {
            let draft = (form.helped, form.try_next, form.rating);
            let message = match problem.field {
                "rating" => "Choose 1, 2 or 3 on the scale, or leave it out.".to_string(),
                _ => format!("{}.", problem.message),
            };
            let (_, page) = page(&state, &req, &token, draft, Some(message), None).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Feedback).await?;
    let request = request_for(&mut conn, FeedbackRequestId(claims.object)).await?;
    let given = actions::answer(
        &mut conn,
        state.links.keys(),
        request.id,
        member.id,
        answer,
        Utc::now(),
    )
    .await?;
    if let Some((status, text)) = refusal(given, &lead_name(&mut conn, request.subject_id).await?) {
        return Err(PageError::new(status, "Your answer was not saved", text));
    }
    drop(conn);
    let saved = if request.mode == FeedbackMode::Anonymous {
        "Thank you. Your answer is saved without your name."
    } else {
        "Thank you. Your answer is saved with your name."
    };
    let (_, page) = page(
        &state,
        &req,
        &token,
        Default::default(),
        None,
        Some(saved.into()),
    )
    .await?;
    render(page)
}
