//! Reflection links: the session's prompts and a form. Reflections are private unless the
//! member shares them with the circle, and can be edited for 14 days.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{member_link, render, render_status, viewer_zone, when, PageError, PageResult};
use crate::db::{circles, reflections, sessions};
use crate::domain::tokens::Purpose;
use crate::domain::{ReflectionVisibility, SessionId};
use crate::email::messages::prompts_for;
use crate::error::AppError;
use crate::http::AppState;
use crate::links::Holder;

pub const EDIT_WINDOW: Duration = Duration::days(14);

#[derive(Template)]
#[template(path = "pages/reflect.html")]
struct ReflectPage {
    circle_name: String,
    when: String,
    prompts: Vec<String>,
    body: String,
    shared: bool,
    editable: bool,
    error: Option<String>,
    saved: Option<String>,
    circle_url: String,
    me_url: String,
}

#[derive(Debug, Deserialize)]
pub struct ReflectForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    draft: Option<(String, bool)>,
    error: Option<String>,
    saved: Option<String>,
) -> Result<ReflectPage, PageError> {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(state, &mut conn, token, Purpose::Reflect).await?;
    let session = sessions::find(&mut conn, SessionId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    let circle = circles::find(&mut conn, session.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let existing = reflections::find(&mut conn, session.id, member.id).await?;
    let editable = existing
        .as_ref()
        .is_none_or(|r| Utc::now() - r.created_at < EDIT_WINDOW);
    let (body, shared) = draft.unwrap_or_else(|| {
        existing
            .map(|r| (r.body, r.visibility == ReflectionVisibility::Circle))
            .unwrap_or_default()
    });
    let zone = viewer_zone(req, Some(&member), session.timezone);
    let base_len = state.links.base().len();
    let me_url = state.links.me(Holder::of(&member), Utc::now())[base_len..].to_string();
    Ok(ReflectPage {
        circle_url: format!("{me_url}/circles/{}", circle.id),
        me_url,
        circle_name: circle.name,
        when: when(session.starts_at, session.ends_at, zone),
        prompts: prompts_for(circle.kind, session.prompts.as_deref()),
        body,
        shared,
        editable,
        error,
        saved,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    render(page(&state, &req, &token, None, None, None).await?)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<ReflectForm>,
) -> PageResult {
    let form = form.into_inner();
    let visibility = match form.visibility.as_str() {
        "" | "private" => ReflectionVisibility::Private,
        "circle" => ReflectionVisibility::Circle,
        _ => return Err(AppError::invalid("visibility", "must be private or circle").into()),
    };
    let (body, typed_oddly) = match crate::domain::text::lines("body", &form.body) {
        Ok(body) => (body, false),
        Err(_) => (String::new(), true),
    };
    let problem = if typed_oddly {
        Some("Your reflection holds invisible control characters (perhaps from a paste). Please type it again or paste it as plain text.")
    } else if body.is_empty() {
        Some("Write something first: even a sentence helps.")
    } else if body.chars().count() > 10_000 {
        Some("Please keep it under 10,000 characters.")
    } else {
        None
    };
    if let Some(problem) = problem {
        let draft = Some((
            crate::domain::text::shown_again(&form.body),
            visibility == ReflectionVisibility::Circle,
        ));
        let page = page(&state, &req, &token, draft, Some(problem.into()), None).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, page);
    }
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Reflect).await?;
    let session_id = SessionId(claims.object);
    if let Some(existing) = reflections::find(&mut conn, session_id, member.id).await? {
        if Utc::now() - existing.created_at >= EDIT_WINDOW {
            return Err(AppError::Conflict(
                "Reflections can be edited for 14 days; this one is now kept as it is.".into(),
            )
            .into());
        }
    }
    reflections::upsert(&mut conn, session_id, member.id, &body, visibility).await?;
    drop(conn);
    let saved = match visibility {
        ReflectionVisibility::Circle => "Saved, and shared with your circle.",
        ReflectionVisibility::Private => "Saved. Only you can read it.",
    };
    render(page(&state, &req, &token, None, None, Some(saved.into())).await?)
}
