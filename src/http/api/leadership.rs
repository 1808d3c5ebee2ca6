//! `/api/v1/leadership`: how widely leadership is spread across the organisation over a
//! window (default 90 days), and per circle; organisers only. The same figures as CSV at
//! `/api/v1/leadership.csv`.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use crate::db::{leadership, Connection};
use crate::domain::spread::{ratio, top20_share};
use crate::domain::{CircleId, MemberId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Days back from now (1–730, default 90).
    pub window_days: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CircleSpread {
    pub circle_id: CircleId,
    pub name: String,
    /// Distinct people who led ÷ active members (null with no members).
    pub spread: Option<f64>,
    /// How evenly roles were held (1 = even).
    pub balance: f64,
    pub active_members: u64,
    pub leaders: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Spread {
    pub window_days: i64,
    /// Distinct people who led a session ÷ active members.
    pub spread: Option<f64>,
    /// Share of sessions led by the most active 20 % of members.
    pub top20_share: Option<f64>,
    /// Share of people who joined in the window who held a role within their first five sessions.
    pub newcomer_role_share: Option<f64>,
    pub active_members: u64,
    pub leaders: u64,
    pub sessions_led: u64,
    pub newcomers: u64,
    pub circles: Vec<CircleSpread>,
}

/// The figures over the `days` up to now, in three statements.
pub async fn spread_over(conn: &mut Connection, days: i64) -> AppResult<Spread> {
    spread_until(conn, days, Utc::now()).await
}

/// The figures over the `days` up to `to`.
pub async fn spread_until(
    conn: &mut Connection,
    days: i64,
    to: chrono::DateTime<Utc>,
) -> AppResult<Spread> {
    let from = to - Duration::days(days);
    let led = leadership::led(conn, from, to).await?;
    let members = leadership::active_roles(conn, from, to).await?;
    let newcomers = leadership::newcomers(conn, from, to).await?;
    let active: HashSet<MemberId> = members.iter().map(|m| m.member_id).collect();
    let mut per_person: HashMap<MemberId, u32> = HashMap::new();
    for l in &led {
        *per_person.entry(l.member_id).or_default() += l.sessions as u32;
    }
    let counts: Vec<u32> = per_person.values().copied().collect();
    let mut circles: BTreeMap<(String, CircleId), (Vec<u32>, HashSet<MemberId>)> = BTreeMap::new();
    for m in &members {
        circles
            .entry((m.circle_name.clone(), m.circle_id))
            .or_default()
            .0
            .push(m.roles as u32);
    }
    let names: HashMap<CircleId, String> = members
        .iter()
        .map(|m| (m.circle_id, m.circle_name.clone()))
        .collect();
    for l in &led {
        if let Some(name) = names.get(&l.circle_id) {
            if let Some(c) = circles.get_mut(&(name.clone(), l.circle_id)) {
                c.1.insert(l.member_id);
            }
        }
    }
    Ok(Spread {
        window_days: days,
        spread: ratio(per_person.len() as u64, active.len() as u64),
        top20_share: top20_share(&counts, active.len() as u64),
        newcomer_role_share: ratio(newcomers.with_role as u64, newcomers.joined as u64),
        active_members: active.len() as u64,
        leaders: per_person.len() as u64,
        sessions_led: counts.iter().map(|&n| u64::from(n)).sum(),
        newcomers: newcomers.joined as u64,
        circles: circles
            .into_iter()
            .map(|((name, id), (roles, leaders))| CircleSpread {
                circle_id: id,
                name,
                spread: ratio(leaders.len() as u64, roles.len() as u64),
                balance: crate::domain::roles::balance(&roles),
                active_members: roles.len() as u64,
                leaders: leaders.len() as u64,
            })
            .collect(),
    })
}

pub fn window(query: &WindowQuery) -> AppResult<i64> {
    let days = query.window_days.unwrap_or(90);
    if !(1..=730).contains(&days) {
        return Err(AppError::invalid(
            "window_days",
            "must be between 1 and 730 days",
        ));
    }
    Ok(days)
}

#[utoipa::path(
    get, path = "/api/v1/leadership", tag = "leadership",
    params(WindowQuery),
    responses((status = 200, body = Spread), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<WindowQuery>,
) -> AppResult<web::Json<Spread>> {
    caller.require_organizer()?;
    let days = window(&query)?;
    let mut conn = state.pool.get().await?;
    Ok(web::Json(spread_over(&mut conn, days).await?))
}

fn figure(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// The figures as CSV: the organisation first, then one row per circle.
pub fn csv(s: &Spread) -> String {
    let mut out = String::from("scope,circle_id,name,active_members,leaders,spread,top20_share,newcomer_role_share,balance\n");
    out.push_str(&format!(
        "organisation,,,{},{},{},{},{},\n",
        s.active_members,
        s.leaders,
        figure(s.spread),
        figure(s.top20_share),
        figure(s.newcomer_role_share)
    ));
    for c in &s.circles {
        let name = c.name.replace('"', "\"\"");
        out.push_str(&format!(
            "circle,{},\"{name}\",{},{},{},,,{:.3}\n",
            c.circle_id,
            c.active_members,
            c.leaders,
            figure(c.spread),
            c.balance
        ));
    }
    out
}

#[utoipa::path(
    get, path = "/api/v1/leadership.csv", tag = "leadership",
    params(WindowQuery),
    responses((status = 200, content_type = "text/csv", body = String), crate::http::api::ErrorResponses),
    security(("bearer" = []))
)]
pub async fn get_csv(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<WindowQuery>,
) -> AppResult<HttpResponse> {
    caller.require_organizer()?;
    let days = window(&query)?;
    let mut conn = state.pool.get().await?;
    let s = spread_over(&mut conn, days).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"leadership.csv\"",
        ))
        .body(csv(&s)))
}
