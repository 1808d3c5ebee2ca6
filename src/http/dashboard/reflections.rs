//! The circle's reflections: counts per session, and the texts members shared with the
//! circle (private ones never appear).

use actix_web::web;
use askama::Template;
use chrono::Utc;

use super::{DashResult, Nav, Staff};
use crate::db::dashboard;
use crate::domain::CircleId;
use crate::http::pages::{render, when};
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/dashboard/reflections.html")]
struct ReflectionsPage {
    nav: Nav,
    note: Option<String>,
    rows: Vec<(String, i64, i64)>,
    shared: Vec<(String, String, String)>,
}

pub async fn page(state: web::Data<AppState>, staff: Staff, id: web::Path<CircleId>) -> DashResult {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, *id).await?;
    let zone = circle.timezone.tz();
    let stats = dashboard::session_stats(&mut conn, circle.id, 500).await?;
    let shared = crate::db::reflections::shared_in_circle(&mut conn, circle.id, 200).await?;
    Ok(render(ReflectionsPage {
        nav: Nav::circle(&staff, &circle, "reflections"),
        note: None,
        rows: stats
            .iter()
            .filter(|s| s.reflections > 0 || s.starts_at < Utc::now())
            .map(|s| {
                (
                    s.starts_at
                        .with_timezone(&zone)
                        .format("%a %-d %b %Y %H:%M")
                        .to_string(),
                    s.reflections,
                    s.shared,
                )
            })
            .collect(),
        shared: shared
            .into_iter()
            .map(|r| (when(r.starts_at, r.ends_at, zone), r.author, r.body))
            .collect(),
    })?)
}
