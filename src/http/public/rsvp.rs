//! RSVP links: the GET shows the session (with who leads and holds each role now) and the
//! current answer with the emailed choice pre-selected; only the POST saves. Answers close
//! when the session starts.

use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{current_link, render, when, zone_for, PageError, PageResult};
use crate::actions::rsvps::{answer, Answer, Answerable};
use crate::db::{roles, rsvps};
use crate::domain::tokens::Purpose;
use crate::domain::{MemberId, MembershipState, RsvpResponse, SessionId, SessionStatus};
use crate::error::AppError;
use crate::http::AppState;
use crate::links::Holder;

#[derive(Template)]
#[template(path = "pages/rsvp.html")]
struct RsvpPage {
    circle_name: String,
    member_name: String,
    when: String,
    location: Option<String>,
    reading: Option<String>,
    facilitator: Option<String>,
    /// Each role with who holds it now (calendar entries point here instead of naming them).
    roles: Vec<(String, String)>,
    current_label: String,
    cancelled: bool,
    closed: bool,
    choices: Vec<(&'static str, &'static str, bool)>,
    preselected: Option<&'static str>,
    saved: Option<String>,
    /// Where to go next: the circle as the member sees it, their calendar, their page.
    circle_url: String,
    webcal_url: String,
    me_url: String,
}

#[derive(Debug, Deserialize)]
pub struct RsvpQuery {
    response: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RsvpForm {
    response: String,
}

fn label(r: Option<RsvpResponse>) -> &'static str {
    match r {
        Some(RsvpResponse::Yes) => "Yes, I will come",
        Some(RsvpResponse::No) => "No, I cannot come",
        Some(RsvpResponse::Maybe) => "Maybe",
        None => "No answer yet",
    }
}

/// The link's holder and session, read in one statement, for a link that is current and
/// whose holder is still an active member of the session's circle.
async fn load(
    state: &AppState,
    conn: &mut crate::db::Connection,
    token: &str,
) -> Result<(crate::domain::tokens::Claims, rsvps::LinkView), PageError> {
    let claims = state
        .links
        .keys()
        .verify(token, Purpose::Rsvp, Utc::now())?;
    let view = rsvps::link_view(conn, MemberId(claims.member), SessionId(claims.object)).await?;
    let view = current_link(&claims, view, |v| v.token_version)?;
    match view.membership {
        Some(MembershipState::Active) => Ok((claims, view)),
        Some(_) => Err(PageError::gone(
            crate::actions::active_member::NO_LONGER_A_MEMBER,
        )),
        None => Err(PageError::not_found()),
    }
}

/// The page for a loaded link: its view, and who holds each role now (one statement).
async fn page(
    state: &AppState,
    req: &HttpRequest,
    conn: &mut crate::db::Connection,
    (claims, view): (crate::domain::tokens::Claims, rsvps::LinkView),
    preselect: Option<RsvpResponse>,
    saved: Option<String>,
) -> Result<RsvpPage, PageError> {
    let roles = roles::holders(conn, SessionId(claims.object)).await?;
    let (Some(circle_name), Some(starts_at), Some(ends_at), Some(session_zone), Some(status)) = (
        view.circle_name,
        view.starts_at,
        view.ends_at,
        view.session_timezone,
        view.status,
    ) else {
        return Err(PageError::not_found());
    };
    let holder = Holder {
        member: claims.member,
        token_version: view.token_version,
        me_version: view.me_token_version,
        calendar_version: view.calendar_token_version,
    };
    let base_len = state.links.base().len();
    let me_url = state.links.me(holder, Utc::now())[base_len..].to_string();
    let circle_url = match view.circle_id {
        Some(c) => format!("{me_url}/circles/{c}"),
        None => me_url.clone(),
    };
    let current = view.response;
    let zone = zone_for(req, view.member_timezone.as_deref(), session_zone);
    let highlighted = preselect.or(current);
    Ok(RsvpPage {
        circle_name,
        member_name: view.member_name,
        when: when(starts_at, ends_at, zone),
        location: view.location,
        reading: view.reading,
        facilitator: view.facilitator,
        roles,
        current_label: label(current).to_string(),
        cancelled: status == SessionStatus::Cancelled,
        closed: starts_at <= Utc::now(),
        choices: [RsvpResponse::Yes, RsvpResponse::Maybe, RsvpResponse::No]
            .into_iter()
            .map(|r| (r.as_str(), label(Some(r)), highlighted == Some(r)))
            .collect(),
        preselected: preselect
            .filter(|p| Some(*p) != current)
            .map(|p| label(Some(p))),
        saved,
        circle_url,
        webcal_url: state.links.webcal(holder),
        me_url,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<RsvpQuery>,
) -> PageResult {
    // One statement for the session and the answer, one for its roles: this is the page most
    // members open from email, and the one their calendar entry points to.
    let preselect = query.response.as_deref().and_then(|r| r.parse().ok());
    let mut conn = state.pool.get().await?;
    let loaded = load(&state, &mut conn, &token).await?;
    render(page(&state, &req, &mut conn, loaded, preselect, None).await?)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<RsvpForm>,
) -> PageResult {
    // Three statements: the link's view, the answer (saved only if the person is still an
    // active member and the session still open, checked by the statement that saves), and
    // the roles for the page.
    let response = RsvpResponse::parse(&form.response, "response").map_err(AppError::from)?;
    let mut conn = state.pool.get().await?;
    let (claims, mut view) = load(&state, &mut conn, &token).await?;
    let (Some(circle_id), Some(status), Some(starts_at)) =
        (view.circle_id, view.status, view.starts_at)
    else {
        return Err(PageError::not_found());
    };
    let session = Answerable {
        id: SessionId(claims.object),
        circle_id,
        status,
        starts_at,
    };
    match answer(
        &mut conn,
        session,
        MemberId(claims.member),
        response,
        Utc::now(),
    )
    .await?
    {
        Answer::Saved(_) => {}
        Answer::Cancelled => {
            return Err(AppError::Conflict("This session has been cancelled.".into()).into())
        }
        Answer::Started => {
            return Err(AppError::Conflict(
                "This session has started, so answers can no longer be changed.".into(),
            )
            .into())
        }
        Answer::NotMember => {
            return Err(PageError::gone(
                "You are no longer a member of this circle.",
            ))
        }
    }
    view.response = Some(response);
    let saved = format!(
        "Saved: {}. You can change it until the session starts.",
        label(Some(response))
    );
    render(page(&state, &req, &mut conn, (claims, view), None, Some(saved)).await?)
}
