//! Charts of a circle's sessions, drawn with plotters as SVG: attendance over time, and
//! how many said yes against how many came.

use actix_web::{web, HttpResponse};
use askama::Template;
use plotters::prelude::*;

use super::{DashResult, Nav, Staff};
use crate::db::dashboard::{self, SessionStats};
use crate::domain::CircleId;
use crate::error::AppError;
use crate::http::pages::render;
use crate::http::AppState;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 320;
const INK: RGBColor = RGBColor(0x2f, 0x5d, 0x50);
const LIGHT: RGBColor = RGBColor(0xb9, 0xd0, 0xc6);
const MUTED: RGBColor = RGBColor(0x5d, 0x55, 0x46);

/// The most sessions a chart shows (the latest ones); the table lists them all.
const CHART_SESSIONS: usize = 26;

/// One past session as the page and the charts show it.
pub struct Point {
    /// The session's day in the circle's zone, short ("5 Jun 2031").
    pub day: String,
    pub yes: i64,
    pub attended: i64,
    /// Whether anyone's attendance was marked (else "came" is unknown, not zero).
    pub marked: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard/insights.html")]
struct InsightsPage {
    nav: Nav,
    note: Option<String>,
    circle_id: String,
    points: Vec<Point>,
    attendance_summary: String,
    rsvp_summary: String,
}

/// The circle's sessions that have taken place (not cancelled), oldest first, as points.
async fn stats(
    state: &AppState,
    staff: &Staff,
    id: CircleId,
) -> Result<(crate::db::circles::Circle, Vec<Point>), super::DashError> {
    let mut conn = state.pool.get().await?;
    let circle = staff.circle(&mut conn, id).await?;
    let zone = circle.timezone.tz();
    let now = chrono::Utc::now();
    let rows: Vec<SessionStats> = dashboard::session_stats(&mut conn, circle.id, 500)
        .await?
        .into_iter()
        .filter(|s| s.status != "cancelled" && s.starts_at <= now)
        .collect();
    let points = rows
        .iter()
        .map(|s| Point {
            day: s
                .starts_at
                .with_timezone(&zone)
                .format("%-d %b %Y")
                .to_string(),
            yes: s.yes,
            attended: s.attended,
            marked: s.marked > 0,
        })
        .collect();
    Ok((circle, points))
}

pub async fn page(state: web::Data<AppState>, staff: Staff, id: web::Path<CircleId>) -> DashResult {
    let (circle, points) = stats(&state, &staff, *id).await?;
    let marked: Vec<&Point> = points.iter().filter(|p| p.marked).collect();
    let attendance_summary = if marked.is_empty() {
        "no attendance marked yet".to_string()
    } else {
        marked
            .iter()
            .map(|p| format!("{} on {}", p.attended, p.day))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rsvp_summary = if points.is_empty() {
        "no sessions have taken place yet".to_string()
    } else {
        format!("{} sessions, listed in the table below", points.len())
    };
    Ok(render(InsightsPage {
        nav: Nav::circle(&staff, &circle, "insights"),
        note: None,
        circle_id: circle.id.to_string(),
        points,
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

/// The top of the count axis: room above the highest value for the legend.
fn headroom(highest: i32) -> i32 {
    let highest = highest.max(1);
    highest + highest / 3 + 2
}

/// The latest points a chart has room for.
fn latest(points: &[Point]) -> &[Point] {
    &points[points.len().saturating_sub(CHART_SESSIONS)..]
}

/// Axes with session dates along the bottom and counts up the side, and a light grid.
fn draw_axes<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordi32, plotters::coord::types::RangedCoordi32>,
    >,
    days: &[String],
    per_slot: i32,
    y_desc: &str,
) -> Result<(), AppError>
where
    DB::ErrorType: 'static,
{
    // Every whole x is a key point; a date is written under every `step`-th session so
    // that at most eight fit, and the year is left to the caption.
    let step = days.len().div_ceil(8).max(1) as i32;
    let label = |x: &i32| {
        let session = *x / per_slot;
        if *x % per_slot == 0 && session % step == 0 {
            days.get(session as usize)
                .map(|d| d.trim_end_matches(char::is_numeric).trim().to_string())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let max_labels = days.len() * per_slot as usize + 1;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(RGBColor(0xe4, 0xdf, 0xd3))
        .bold_line_style(RGBColor(0xe4, 0xdf, 0xd3))
        .x_labels(max_labels)
        .x_label_formatter(&label)
        .y_label_formatter(&|y: &i32| y.to_string())
        .x_desc("Session date")
        .y_desc(y_desc)
        .label_style(("sans-serif", 16).into_font().color(&MUTED))
        .axis_desc_style(("sans-serif", 17).into_font().color(&BLACK))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

fn years(points: &[Point]) -> String {
    let year = |p: &Point| p.day.rsplit(' ').next().unwrap_or("").to_string();
    match (points.first().map(year), points.last().map(year)) {
        (Some(a), Some(b)) if a == b => a,
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => String::new(),
    }
}

/// People present per session that has taken place (attendance marked), as a line.
pub fn attendance_chart(points: &[Point]) -> Result<String, AppError> {
    let shown: Vec<&Point> = latest(points).iter().filter(|p| p.marked).collect();
    let days: Vec<String> = shown.iter().map(|p| p.day.clone()).collect();
    let series: Vec<(i32, i32)> = shown
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i32, p.attended as i32))
        .collect();
    let max_x = series.len().max(2) as i32 - 1;
    let max_y = headroom(series.iter().map(|p| p.1).max().unwrap_or(0));
    let caption = if shown.is_empty() {
        "No attendance marked yet".to_string()
    } else {
        format!("People present, {}", years(latest(points)))
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .caption(caption, ("sans-serif", 20).into_font())
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(0..max_x, 0..max_y)
            .map_err(draw_err)?;
        draw_axes(&mut chart, &days, 1, "People present")?;
        chart
            .draw_series(LineSeries::new(series.iter().copied(), INK.stroke_width(3)))
            .map_err(draw_err)?
            .label("Present")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], INK.stroke_width(3)));
        chart
            .draw_series(series.iter().map(|p| Circle::new(*p, 5, INK.filled())))
            .map_err(draw_err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(0xdd, 0xd5, 0xc4))
            .label_font(("sans-serif", 16).into_font())
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Yes answers (light) and attendance (dark) side by side for each session that took place.
pub fn rsvp_chart(points: &[Point]) -> Result<String, AppError> {
    let shown = latest(points);
    let days: Vec<String> = shown.iter().map(|p| p.day.clone()).collect();
    let n = shown.len().max(1) as i32;
    let max_y = headroom(
        shown
            .iter()
            .map(|s| s.yes.max(s.attended))
            .max()
            .unwrap_or(0) as i32,
    );
    let caption = if shown.is_empty() {
        "No sessions have taken place yet".to_string()
    } else {
        format!("Said yes and came, {}", years(shown))
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .caption(caption, ("sans-serif", 20).into_font())
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(0..n * 3, 0..max_y)
            .map_err(draw_err)?;
        draw_axes(&mut chart, &days, 3, "People")?;
        chart
            .draw_series(shown.iter().enumerate().map(|(i, s)| {
                let x = i as i32 * 3;
                Rectangle::new([(x, 0), (x + 1, s.yes as i32)], LIGHT.filled())
            }))
            .map_err(draw_err)?
            .label("Said yes")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], LIGHT.filled()));
        chart
            .draw_series(shown.iter().enumerate().map(|(i, s)| {
                let x = i as i32 * 3;
                Rectangle::new([(x + 1, 0), (x + 2, s.attended as i32)], INK.filled())
            }))
            .map_err(draw_err)?
            .label("Came")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], INK.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(0xdd, 0xd5, 0xc4))
            .label_font(("sans-serif", 16).into_font())
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

pub async fn attendance_svg(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let (_, points) = stats(&state, &staff, *id).await?;
    Ok(svg_response(attendance_chart(&points)?))
}

pub async fn rsvp_svg(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CircleId>,
) -> DashResult {
    let (_, points) = stats(&state, &staff, *id).await?;
    Ok(svg_response(rsvp_chart(&points)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                day: format!("{} Jun 2031", i + 1),
                yes: 3 + i as i64 % 2,
                attended: 2 + i as i64 % 3,
                marked: true,
            })
            .collect()
    }

    /// The words a chart writes, one per `<text>` element.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                t.split_once('>')
                    .and_then(|(_, rest)| rest.split_once("</text>"))
            })
            .map(|(inner, _)| inner.trim().to_string())
            .collect()
    }

    #[test]
    fn charts_have_labelled_axes_dates_and_a_legend() {
        let rows = points(5);
        for svg in [attendance_chart(&rows).unwrap(), rsvp_chart(&rows).unwrap()] {
            let words = texts(&svg);
            for expected in ["Session date", "1 Jun", "5 Jun", "0", "4"] {
                assert!(
                    words.iter().any(|w| w == expected),
                    "{expected} in {words:?}"
                );
            }
            assert!(
                words.iter().any(|w| w.ends_with(", 2031")),
                "the year is in the caption"
            );
        }
        let bars = texts(&rsvp_chart(&rows).unwrap());
        for expected in ["Said yes", "Came", "People"] {
            assert!(bars.iter().any(|w| w == expected), "{expected} in {bars:?}");
        }
        let line = texts(&attendance_chart(&rows).unwrap());
        for expected in ["Present", "People present"] {
            assert!(line.iter().any(|w| w == expected), "{expected} in {line:?}");
        }
    }

    #[test]
    fn a_long_history_shows_the_latest_sessions_with_at_most_eight_dates() {
        let rows = points(40);
        let words = texts(&rsvp_chart(&rows).unwrap());
        let dates = words.iter().filter(|w| w.ends_with(" Jun")).count();
        assert!((2..=8).contains(&dates), "{dates} dates in {words:?}");
        assert!(
            !words.iter().any(|w| w == "1 Jun"),
            "the oldest sessions are left out"
        );
    }
}
