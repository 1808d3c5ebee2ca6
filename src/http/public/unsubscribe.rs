//! Unsubscribe links: GET shows a button; POST unsubscribes. Mail clients' RFC 8058
//! one-click POST (`List-Unsubscribe=One-Click`, no cookies) is the same POST.

use actix_web::web;
use askama::Template;

use super::{holder, render, PageResult};
use crate::domain::tokens::Purpose;
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/unsubscribe.html")]
struct UnsubscribePage {
    email: String,
    done: bool,
}

pub async fn show(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Unsubscribe).await?;
    render(UnsubscribePage {
        email: member.email,
        done: member.unsubscribed_at.is_some(),
    })
}

/// Accepts any body (a form button sends none, one-click sends `List-Unsubscribe=One-Click`).
pub async fn submit(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Unsubscribe).await?;
    crate::db::members::unsubscribe(&mut conn, member.id).await?;
    render(UnsubscribePage {
        email: member.email,
        done: true,
    })
}
