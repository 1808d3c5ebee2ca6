//! The member's data: everything Roundtable holds about them as JSON, and deleting them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::members;
use crate::domain::tokens::Purpose;
use crate::http::public::{holder, render, render_status, MessagePage, PageError, PageResult};
use crate::http::AppState;

/// Everything Roundtable holds about the member, as one JSON document.
pub async fn export(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let document = members::export(&mut conn, &member).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"roundtable-my-data.json\"",
        ))
        .body(serde_json::to_string_pretty(&document).unwrap_or_default()))
}

#[derive(Template)]
#[template(path = "pages/me_delete.html")]
struct DeletePage {
    back: String,
    error: Option<String>,
}

pub async fn confirm_delete(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let mut conn = state.pool.get().await?;
    holder(&state, &mut conn, &token, Purpose::Me).await?;
    render(DeletePage {
        back: format!("/me/{}", token.as_str()),
        error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    confirm: Option<String>,
}

pub async fn delete(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    if form.confirm.as_deref() != Some("yes") {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            DeletePage {
                back: format!("/me/{}", token.as_str()),
                error: Some("Tick the box to confirm; nothing was deleted.".into()),
            },
        );
    }
    crate::actions::people::erase(&mut conn, member.id)
        .await
        .map_err(PageError::from)?;
    render(MessagePage {
        title: "Your account is deleted".into(),
        paragraphs: vec![
            "We removed you from every circle and deleted your answers, reflections and address. Links in old emails no longer work.".into(),
        ],
        links: vec![("/".into(), "See open circles".into())],
    })
}
