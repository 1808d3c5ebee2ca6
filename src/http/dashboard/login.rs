//! Magic-link sign-in: `/login` mails a one-time link (the same answer whether or not the
//! address has access); the link's GET shows a button and its POST starts the session.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{session_of, DashError, DashResult};
use crate::actions::links::{self, RequestedLink};
use crate::db::{logins, members, staff_sessions};
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::http::pages::{render, render_status, PageError};
use crate::http::rate_limit::FormLimits;
use crate::http::AppState;
use crate::secrets::{hash_token, random_token};

#[derive(Template)]
#[template(path = "pages/dashboard/login.html")]
struct LoginPage {
    email: String,
    next: String,
    error: Option<String>,
    sent: bool,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only dashboard paths on this site, written in plain URL characters, are followed after
/// sign-in; anything else goes to the dashboard's home.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/dashboard")
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/dashboard".to_string(),
    }
}

/// A `next` that carries control characters was made by hand, not by our pages.
fn has_control_characters(next: Option<&str>) -> bool {
    next.is_some_and(|n| n.chars().any(char::is_control))
}

pub async fn form(query: web::Query<LoginQuery>) -> DashResult {
    Ok(render(LoginPage {
        email: String::new(),
        next: safe_next(query.next.as_deref()),
        error: None,
        sent: false,
    })?)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    next: Option<String>,
}

pub async fn request(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> DashResult {
    let limits = FormLimits::new(&state.limiter, &state.settings.limits, "login", &req);
    limits.check_client()?;
    let next = safe_next(form.next.as_deref());
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            return Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                LoginPage {
                    email: form.email.clone(),
                    next,
                    error: Some(format!("The email address {}.", e.message)),
                    sent: false,
                },
            )?)
        }
    };
    limits.check_address(&email)?;
    // The same single insert whether or not the address has access; the job decides, and
    // makes the link when it runs, so the secret is never stored in the queue.
    let mut conn = state.pool.get().await?;
    links::request(&mut conn, &email, RequestedLink::SignIn).await?;
    Ok(render(LoginPage {
        email: String::new(),
        next,
        error: None,
        sent: true,
    })?)
}

#[derive(Template)]
#[template(path = "pages/dashboard/login_confirm.html")]
struct ConfirmPage {
    name: String,
    next: String,
}

fn invalid_link() -> DashError {
    DashError::Page(PageError::gone(
        "This sign-in link has been used or has expired. Ask for a new one on the sign-in page.",
    ))
}

pub async fn show(
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: web::Query<LoginQuery>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let member = logins::peek(&mut conn, &hash_token(&token))
        .await?
        .ok_or_else(invalid_link)?;
    let member = members::find(&mut conn, member)
        .await?
        .ok_or_else(invalid_link)?;
    Ok(render(ConfirmPage {
        name: member.display_name,
        next: safe_next(query.next.as_deref()),
    })?)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    next: Option<String>,
}

pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<SignInForm>,
) -> DashResult {
    // Checked before the link is used up: a refused request leaves it working.
    if !super::same_origin(&req) {
        return Err(super::forbidden(
            "This sign-in came from another site, so it was refused. Open the link from your email again.",
        ));
    }
    if has_control_characters(form.next.as_deref()) {
        return Err(DashError::Page(PageError::new(
            StatusCode::BAD_REQUEST,
            "That sign-in form could not be read",
            "Open the link from your email again; nothing was used up.",
        )));
    }
    let mut conn = state.pool.get().await?;
    let member = logins::consume(&mut conn, &hash_token(&token))
        .await?
        .ok_or_else(invalid_link)?;
    let now = Utc::now();
    let max_age = chrono::Duration::hours(i64::from(state.settings.http.session_max_age_hours));
    let session_id = staff_sessions::start(&mut conn, member, now, max_age).await?;
    let session = session_of(&req);
    // A new session identity on sign-in, so a planted cookie cannot be carried over.
    session.renew();
    session.clear();
    let failed =
        |e: actix_session::SessionInsertError| AppError::Internal(anyhow::anyhow!("session: {e}"));
    session.insert("sid", session_id).map_err(failed)?;
    session.insert("csrf", random_token(24)).map_err(failed)?;
    session.insert("seen", now.timestamp()).map_err(failed)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, safe_next(form.next.as_deref())))
        .finish())
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
    /// Present: end every session of this person, on every device.
    everywhere: Option<String>,
}

/// Sign out: the session's row ends (or every row of the person's), so a copy of the cookie
/// stops working too.
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignOutForm>,
) -> DashResult {
    let session = session_of(&req);
    let expected: Option<String> = session.get("csrf").unwrap_or(None);
    let id: Option<uuid::Uuid> = session.get("sid").unwrap_or(None);
    let genuine = expected
        .is_some_and(|e| crate::secrets::constant_time_eq(e.as_bytes(), form.csrf.as_bytes()));
    if let (true, Some(id)) = (genuine, id) {
        let mut conn = state.pool.get().await?;
        if form.everywhere.is_some() {
            if let Some(member) = staff_sessions::live_member(&mut conn, id, Utc::now()).await? {
                staff_sessions::end_all(&mut conn, member.id).await?;
            }
        }
        staff_sessions::end(&mut conn, id).await?;
        session.purge();
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .finish())
}
