//! Charts of a circle's sessions, drawn with plotters as SVG: attendance over time, and
//! how many said yes against how many came.

use actix_web::{web, HttpResponse};
use askama::Template;
use plotters::prelude::*;

use super::{DashResult, Nav, Staff};
use crate::db::dashboard::{self, SessionStats};
use crate::domain::CircleId;
use crate::error::AppError;
use crate::http::public::render;
use crate::http::AppState;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;
const INK: RGBColor = RGBColor(0x2f, 0x5d, 0x50);
const LIGHT: RGBColor = RGBColor(0xb9, 0xd0, 0xc6);

#[derive(Template)]
#[template(path = "pages/dashboard/insights.html")]
struct InsightsPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    attendance_summary: String,
    rsvp_summary: String,
}

async fn stats(
    state: &AppState,
    staff: &Staff,
    id: CircleId,
) -> Result<(crate::db::circles::Circle, Vec<SessionStats>), super::DashError> {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, id).await?;
    let rows = dashboard::session_stats(&mut conn, circle.id, 500)
        .await?
        .into_iter()
        .filter(|s| s.status != "cancelled")
        .collect();
    Ok((circle, rows))
}

pub async fn page(state: web::Data<AppState>, staff: Staff, id: web::Path<CircleId>) -> DashResult {
    let (circle, rows) = stats(&state, &staff, *id).await?;
    let marked: Vec<&SessionStats> = rows.iter().filter(|s| s.marked > 0).collect();
    let attendance_summary = if marked.is_empty() {
        "no attendance marked yet".to_string()
    } else {
        marked
            .iter()
            .map(|s| s.attended.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rsvp_summary = rows
        .iter()
        .map(|s| format!("{} yes / {} came", s.yes, s.attended))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(render(InsightsPage {
        nav: Nav::circle(&staff, &circle, "insights"),
        note: None,
        circle_id: circle.id.to_string(),
        attendance_summary,
        rsvp_summary,
    })?)
}

fn svg_response(svg: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "private, max-age=60"))
        .body(svg)
}

fn draw_err<E: std::fmt::Debug>(e: E) -> AppError {
    AppError::Internal(anyhow::anyhow!("drawing a chart: {e:?}"))
}

/// Light horizontal lines at each whole number, so counts can be read off.
fn draw_grid<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordi32, plotters::coord::types::RangedCoordi32>,
    >,
    max_y: i32,
) -> Result<(), AppError>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = (chart.x_range().start, chart.x_range().end);
    let step = (max_y / 8).max(1);
    chart
        .draw_series((0..=max_y).step_by(step as usize).map(|y| {
            PathElement::new(
                vec![(x0, y), (x1, y)],
                RGBColor(0xe4, 0xdf, 0xd3).stroke_width(1),
            )
        }))
        .map_err(draw_err)?;
    Ok(())
}

/// People present per session (sessions with attendance marked), as a line with points.
pub fn attendance_chart(rows: &[SessionStats]) -> Result<String, AppError> {
    let points: Vec<(i32, i32)> = rows
        .iter()
        .filter(|s| s.marked > 0)
        .enumerate()
        .map(|(i, s)| (i as i32, s.attended as i32))
        .collect();
    let max_x = points.len().max(2) as i32 - 1;
    let max_y = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) + 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .build_cartesian_2d(0..max_x, 0..max_y)
            .map_err(draw_err)?;
        draw_grid(&mut chart, max_y)?;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), INK.stroke_width(3)))
            .map_err(draw_err)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 5, INK.filled())))
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Yes answers (light) and attendance (dark) side by side for each session.
pub fn rsvp_chart(rows: &[SessionStats]) -> Result<String, AppError> {
    let n = rows.len().max(1) as i32;
    let max_y = rows
        .iter()
        .map(|s| s.yes.max(s.attended))
        .max()
        .unwrap_or(0)
        .max(1) as i32
        + 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .build_cartesian_2d(0..n * 3, 0..max_y)
            .map_err(draw_err)?;
        draw_grid(&mut chart, max_y)?;
        for (i, s) in rows.iter().enumerate() {
            let x = i as i32 * 3;
            chart
                .draw_series([
                    Rectangle::new([(x, 0), (x + 1, s.yes as i32)], LIGHT.filled()),
                    Rectangle::new([(x + 1, 0), (x + 2, s.attended as i32)], INK.filled()),
                ])
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

pub async fn attendance_svg(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let (_, rows) = stats(&state, &staff, *id).await?;
    Ok(svg_response(attendance_chart(&rows)?))
}

pub async fn rsvp_svg(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let (_, rows) = stats(&state, &staff, *id).await?;
    Ok(svg_response(rsvp_chart(&rows)?))
}
