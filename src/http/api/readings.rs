//! `/api/v1/circles/{id}/readings`: what a circle reads.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use crate::db::readings::{self, NewReading, Reading};
use crate::domain::{CircleId, Invalid, ReadingId};
use crate::error::AppResult;
use crate::http::AppState;
use crate::pagination::{int_id_cursor, Page, PageQuery};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingCreate {
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    pub isbn: Option<String>,
    pub notes: Option<String>,
}

fn optional_text(
    v: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, Invalid> {
    let v = v
        .map(|s| crate::domain::text::lines(field, &s))
        .transpose()?
        .filter(|s| !s.is_empty());
    if v.as_ref().is_some_and(|s| s.chars().count() > max) {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

impl ReadingCreate {
    pub fn parse(self) -> Result<NewReading, Invalid> {
        let title = crate::domain::text::line("title", &self.title)?;
        if title.is_empty() || title.chars().count() > 300 {
            return Err(Invalid::new("title", "must be 1 to 300 characters"));
        }
        let url = optional_text(self.url, "url", 2000)?;
        if url
            .as_ref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(Invalid::new("url", "must start with http:// or https://"));
        }
        let isbn = optional_text(self.isbn, "isbn", 20)?;
        if isbn.as_ref().is_some_and(|i| {
            !i.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == 'X')
        }) {
            return Err(Invalid::new("isbn", "may hold only digits, hyphens and X"));
        }
        Ok(NewReading {
            title,
            author: optional_text(self.author, "author", 300)?,
            url,
            isbn,
            notes: optional_text(self.notes, "notes", 10_000)?,
        })
    }
}

#[utoipa::path(
    post, path = "/api/v1/circles/{id}/readings", tag = "readings",
    params(("id" = uuid::Uuid, Path)),
    request_body = ReadingCreate,
    responses((status = 201, body = Reading), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    body: web::Json<ReadingCreate>,
) -> AppResult<HttpResponse> {
    let new = body.into_inner().parse()?;
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let reading = readings::create(&mut conn, circle.id, new).await?;
    Ok(HttpResponse::Created().json(reading))
}

#[utoipa::path(
    get, path = "/api/v1/circles/{id}/readings", tag = "readings",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<Reading>), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CircleId>,
    query: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Reading>>> {
    let page = query.parse()?;
    let after = page.after_int_id()?.map(|(p, id)| (p, ReadingId(id)));
    let mut conn = state.pool.get().await?;
    let circle = caller.circle(&mut conn, *id).await?;
    let rows = readings::list(&mut conn, circle.id, after, page.fetch()).await?;
    Ok(web::Json(
        page.page(rows, |r| int_id_cursor(r.position, r.id.0)),
    ))
}
