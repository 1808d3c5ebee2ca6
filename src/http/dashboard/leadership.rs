//! `/dashboard/leadership`: the organisation's leadership spread for organisers, over a chosen
//! window, with each circle's spread and balance, a chart of spread month by month and the
//! CSV.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use plotters::prelude::*;

use serde::Deserialize;

use super::{DashResult, Nav, Staff};
use crate::db::leadership::{CircleFilter, CircleOrder, CircleRow};
use crate::domain::spread::WindowQuery;
use crate::domain::Invalid;
use crate::error::AppError;
use crate::http::pages::render;
use crate::http::AppState;
use crate::views::leadership::{self as figures, Listing, Spread};

/// Months the chart goes back.
const MONTHS: i64 = 12;
/// Circles a page of the per-circle table shows.
const PER_PAGE: i64 = 25;

/// The page's address: the window, and which circles the table shows.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    window_days: Option<i64>,
    /// Circles whose name holds this.
    q: Option<String>,
    /// `spread` (lowest first, the default) or `name`.
    sort: Option<String>,
    /// From 1.
    page: Option<i64>,
}

/// What the table shows, from the address.
struct Table {
    search: String,
    by_name: bool,
    page: i64,
}

impl PageQuery {
    fn parse(&self) -> Result<(i64, Table), Invalid> {
        let days = crate::domain::spread::window(&WindowQuery {
            window_days: self.window_days,
        })?;
        let search = crate::domain::text::line("q", self.q.as_deref().unwrap_or(""))?;
        if search.chars().count() > 100 {
            return Err(Invalid::new("q", "must be at most 100 characters"));
        }
        let by_name = match self.sort.as_deref() {
            None | Some("") | Some("spread") => false,
            Some("name") => true,
            Some(_) => return Err(Invalid::new("sort", "must be spread or name")),
        };
        let page = crate::pagination::page_number(self.page)?;
        Ok((
            days,
            Table {
                search,
                by_name,
                page,
            },
        ))
    }
}

#[derive(Template)]
#[template(path = "pages/dashboard/leadership.html")]
struct LeadershipPage {
    nav: Nav,
    note: Option<String>,
    window_days: i64,
    s: Spread,
    /// The table's search, order and page, and how many circles matched.
    search: String,
    by_name: bool,
    page: i64,
    matched: i64,
    first: i64,
    last: i64,
    pages: i64,
    /// The previous and next pages' addresses.
    previous: Option<String>,
    following: Option<String>,
    chart_summary: String,
    /// What to do next: the circles where most people haven't led in the window, fewest
    /// leaders first, at most ten: (circle id, line).
    next: Vec<(String, String)>,
}

/// How many names a "what to do next" line gives before "and N more".
const NAMES_SHOWN: i64 = 5;

/// The circles where the fewest of their people led in the window, fewest first (then the
/// larger circle), at most ten; a circle where everyone led needs nothing. Each as a line
/// naming who hasn't led ("In Thursday Readers, Ada, Bo and 3 more haven't led in the last
/// 90 days, of 8 active members …").
async fn next_steps(
    conn: &mut crate::db::Connection,
    days: i64,
) -> Result<Vec<(String, String)>, AppError> {
    let to = Utc::now();
    let from = to - Duration::days(days);
    let filter = CircleFilter {
        name: None,
        waiting: true,
    };
    let waiting: Vec<CircleRow> =
        crate::db::leadership::circles(conn, from, to, &filter, CircleOrder::Spread, Some(10), 0)
            .await?;
    let ids: Vec<_> = waiting.iter().map(|c| c.circle_id).collect();
    let names = crate::db::leadership::not_led(conn, &ids, from, to, NAMES_SHOWN).await?;
    Ok(waiting
        .into_iter()
        .map(|c| {
            let not = (c.active_members - c.leaders).max(0) as u64;
            let mut who: Vec<String> = names
                .iter()
                .filter(|n| n.circle_id == c.circle_id)
                .map(|n| n.display_name.clone())
                .collect();
            let more = not.saturating_sub(who.len() as u64);
            if more > 0 {
                who.push(format!("{more} more"));
            }
            let verb = if not == 1 { "hasn't" } else { "haven't" };
            let who = if who.is_empty() {
                format!("{not} people")
            } else {
                crate::domain::text::listed(&who)
            };
            (
                c.circle_id.to_string(),
                format!(
                    "In {}, {who} {verb} led in the last {days} days, of {} active members: its rota asks them first.",
                    c.name, c.active_members
                ),
            )
        })
        .collect())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.0}%", v * 100.0))
}

/// The chart's points: now, and every 30 days back, twelve in all, oldest first.
pub fn chart_ends(now: chrono::DateTime<Utc>) -> Vec<chrono::DateTime<Utc>> {
    (0..MONTHS)
        .rev()
        .map(|back| now - Duration::days(30 * back))
        .collect()
}

/// Spread over the `days` up to each of the chart's points (the window the page shows):
/// (label, spread).
async fn monthly(state: &AppState, days: i64) -> Result<Vec<(String, Option<f64>)>, AppError> {
    let ends = chart_ends(Utc::now());
    let series = state
        .reads
        .read(async |conn| Ok::<_, AppError>(figures::spread_series(conn, &ends, days).await?))
        .await?;
    Ok(series
        .into_iter()
        .map(|(to, v)| (to.format("%b %Y").to_string(), v))
        .collect())
}

pub async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<PageQuery>,
) -> DashResult {
    staff.require_organiser()?;
    let (days, table) = query.parse().map_err(AppError::from)?;
    let listing = Listing {
        filter: CircleFilter {
            name: (!table.search.is_empty()).then(|| table.search.clone()),
            waiting: false,
        },
        order: if table.by_name {
            CircleOrder::Name
        } else {
            CircleOrder::Spread
        },
        limit: Some(PER_PAGE),
        offset: (table.page - 1) * PER_PAGE,
    };
    let now = Utc::now();
    let ((s, matched), next) = state
        .reads
        .read(async |conn| {
            let listed = figures::spread_listing(conn, days, now, &listing).await?;
            Ok::<_, AppError>((listed, next_steps(conn, days).await?))
        })
        .await?;
    let months = monthly(&state, days).await?;
    let chart_summary = months
        .iter()
        .map(|(m, v)| format!("{m} {}", pct(*v)))
        .collect::<Vec<_>>()
        .join(", ");
    let first = listing.offset + 1;
    let pages = (matched + PER_PAGE - 1) / PER_PAGE;
    let link = |page: i64| {
        format!(
            "/dashboard/leadership?window_days={days}&q={}&sort={}&page={page}#circles",
            super::urlencode(&table.search),
            if table.by_name { "name" } else { "spread" }
        )
    };
    let previous = (table.page > 1).then(|| link((table.page - 1).min(pages.max(1))));
    let following = (table.page < pages).then(|| link(table.page + 1));
    Ok(render(LeadershipPage {
        nav: Nav::new(&staff),
        note: None,
        window_days: days,
        next,
        last: listing.offset + s.circles.len() as i64,
        first,
        pages,
        previous,
        following,
        s,
        search: table.search,
        by_name: table.by_name,
        page: table.page,
        matched,
        chart_summary,
    })?)
}

pub async fn csv(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<WindowQuery>,
) -> DashResult {
    staff.require_organiser()?;
    let days = crate::domain::spread::window(&query).map_err(crate::error::AppError::from)?;
    let s = state
        .reads
        .read(async |conn| Ok::<_, AppError>(figures::spread_over(conn, days).await?))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"leadership.csv\"",
        ))
        .body(figures::csv(&s)?))
}

fn draw_err<E: std::fmt::Debug>(e: E) -> AppError {
    AppError::Internal(anyhow::anyhow!("drawing a chart: {e:?}"))
}

/// Spread month by month as a line, with labelled axes, over the window the page shows.
pub async fn chart(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<WindowQuery>,
) -> DashResult {
    staff.require_organiser()?;
    let days = crate::domain::spread::window(&query).map_err(crate::error::AppError::from)?;
    let months = monthly(&state, days).await?;
    let points: Vec<(i32, i32)> = months
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.map(|v| (i as i32, (v * 100.0).round() as i32)))
        .collect();
    let labels: Vec<String> = months.iter().map(|(m, _)| m.clone()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .caption(
                format!("Leadership spread, the {days} days to each point"),
                ("sans-serif", 18),
            )
            .margin_right(56)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0..(MONTHS as i32 - 1), 0..100)
            .map_err(draw_err)?;
        // Every other month, counted back from the latest, which is always labelled.
        let label = |x: &i32| {
            if (MONTHS as i32 - 1 - x) % 2 == 0 {
                labels.get(*x as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(MONTHS as usize)
            .x_label_formatter(&label)
            .y_label_formatter(&|y: &i32| format!("{y}%"))
            .x_desc("Month")
            .y_desc("People who led ÷ active members")
            .draw()
            .map_err(draw_err)?;
        let ink = RGBColor(0x2f, 0x5d, 0x50);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), ink.stroke_width(3)))
            .map_err(draw_err)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, ink.filled())))
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "private, max-age=60"))
        .body(svg))
}
