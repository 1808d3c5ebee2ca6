//! API tokens, for organisers: create (the secret is shown once), list, revoke.

use actix_web::web;
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::CsrfForm;
use super::{see_other, DashResult, Nav, NoteQuery, Staff};
use crate::db::api_tokens;
use crate::domain::TokenId;
use crate::error::AppError;
use crate::http::pages::render;
use crate::http::AppState;

pub struct TokenLine {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub created: String,
    pub used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard/tokens.html")]
struct TokensPage {
    nav: Nav,
    note: Option<String>,
    tokens: Vec<TokenLine>,
    created: Option<String>,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    note: Option<String>,
    created: Option<String>,
) -> DashResult {
    let mut conn = state.pool.get().await?;
    let rows = api_tokens::list(&mut conn, 500).await?;
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    Ok(render(TokensPage {
        nav: Nav::new(staff),
        note,
        tokens: rows
            .into_iter()
            .map(|(id, name, owner, created, used, revoked)| TokenLine {
                id: id.to_string(),
                name,
                owner,
                created: fmt(created),
                used: used.map(fmt).unwrap_or_else(|| "never".into()),
                revoked: revoked.is_some(),
            })
            .collect(),
        created,
    })?)
}

pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<NoteQuery>,
) -> DashResult {
    staff.require_organiser()?;
    page(&state, &staff, query.note.clone(), None).await
}

#[derive(Debug, Deserialize)]
pub struct NewToken {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    form: web::Form<NewToken>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    staff.require_organiser()?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            AppError::invalid("name", "Say in 1 to 100 characters what the token is for.").into(),
        );
    }
    let (token, hash) = crate::secrets::new_api_token();
    let mut conn = state.pool.get().await?;
    api_tokens::create(&mut conn, staff.member_id, name, &hash).await?;
    drop(conn);
    // Shown on this response only; it is never stored.
    page(&state, &staff, Some("Token created.".into()), Some(token)).await
}

pub async fn revoke(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<TokenId>,
    form: web::Form<CsrfForm>,
) -> DashResult {
    staff.check_csrf(&form.csrf)?;
    staff.require_organiser()?;
    let mut conn = state.pool.get().await?;
    if !api_tokens::revoke(&mut conn, *id).await? {
        return Err(AppError::NotFound("token").into());
    }
    Ok(see_other("/dashboard/tokens", "Token revoked."))
}
