//! `/grow/{token}`: the ask to lead a sibling circle. GET shows what accepting means (the
//! sibling's name, who is waiting, its dates and readings) with Accept and Not now; POST
//! answers. Only the person being asked can answer, and only while the ask is theirs.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{member_link, render, render_status, viewer_zone, PageError, PageResult};
use crate::actions::growing::{self as actions, Answered};
use crate::db::growing::{self, Proposal};
use crate::db::{circles, memberships, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{ProposalId, ProposalState};
use crate::http::AppState;
use crate::views::growing as offered;

#[derive(Template)]
#[template(path = "pages/grow.html")]
struct GrowPage {
    heading: String,
    name: String,
    circle_name: String,
    waiting: i64,
    dates: Vec<String>,
    readings: Vec<String>,
    answer_by: String,
    /// Why this member cannot answer (the ask moved on, or it was decided).
    closed: Option<String>,
    /// What the answer did, once given.
    done: Option<String>,
    sibling_url: Option<String>,
    /// The day and time chosen in the form, kept when the dates are previewed.
    days: String,
    time: String,
    /// Whether `dates` show a preview of the chosen day and time.
    previewed: bool,
}

#[derive(Debug, Deserialize)]
pub struct GrowForm {
    answer: String,
    /// On accept: the sibling's dates this many days after the first circle's (0–6).
    #[serde(default)]
    days: String,
    /// On accept: another time of day, "HH:MM" (empty: the same).
    #[serde(default)]
    time: String,
}

async fn proposal_for(conn: &mut Connection, id: ProposalId) -> Result<Proposal, PageError> {
    growing::find(conn, id)
        .await?
        .ok_or_else(PageError::not_found)
}

fn closed_reason(p: &Proposal, member: crate::domain::MemberId) -> Option<String> {
    let mine = p.asked_member_id == Some(member);
    match p.state {
        ProposalState::Accepted if mine => None,
        ProposalState::Accepted => Some(format!("{} has a lead already.", p.name)),
        ProposalState::Unled => Some(format!(
            "Nobody could take on {} this time, so the circle stays as it is.",
            p.name
        )),
        ProposalState::Withdrawn => Some(format!("An organiser called off {}.", p.name)),
        ProposalState::Asking if !mine || p.answer_by.is_some_and(|by| by < Utc::now()) => {
            Some("This ask has passed to someone else. Thank you for leading the circle.".into())
        }
        ProposalState::Asking => None,
    }
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    done: Option<String>,
) -> Result<(StatusCode, GrowPage), PageError> {
    page_with(state, req, token, done, None).await
}

/// The page, with the sibling's dates as they would be for `preview` (the day and time the
/// person chose, as typed) when given.
async fn page_with(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    done: Option<String>,
    preview: Option<(crate::domain::growing::Shift, String, String)>,
) -> Result<(StatusCode, GrowPage), PageError> {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(state, &mut conn, token, Purpose::Grow).await?;
    let proposal = proposal_for(&mut conn, ProposalId(claims.object)).await?;
    let circle = circles::find(&mut conn, proposal.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let zone = viewer_zone(req, Some(&member), circle.timezone);
    let now = Utc::now();
    let shown = proposal.sibling_id.unwrap_or(circle.id);
    let (dates, days, time, previewed) = match preview {
        Some((shift, days, time)) if proposal.sibling_id.is_none() => {
            let after = now + actions::MIN_NOTICE;
            let dates = offered::shifted_dates(&mut conn, &circle, zone, after, shift).await?;
            (dates, days, time, true)
        }
        _ => (
            offered::coming_dates(&mut conn, shown, zone, now).await?,
            "0".to_string(),
            String::new(),
            false,
        ),
    };
    let titles = offered::reading_titles(&mut conn, circle.id).await?;
    let closed = if done.is_some() {
        None
    } else {
        closed_reason(&proposal, member.id)
    };
    let already = proposal.state == ProposalState::Accepted && closed.is_none() && done.is_none();
    let done =
        done.or_else(|| already.then(|| format!("You accepted: you lead {}.", proposal.name)));
    let sibling_url = match proposal.sibling_id {
        Some(id) => circles::find(&mut conn, id)
            .await?
            .map(|c| state.links.circle(c.slug.as_str())),
        None => None,
    };
    let status = if closed.is_some() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    let heading = match (&done, proposal.state) {
        (Some(_), ProposalState::Accepted) => format!("You lead {}", proposal.name),
        (Some(_), _) => "Thank you for answering".to_string(),
        (None, _) => format!("Would you lead {}?", proposal.name),
    };
    Ok((
        status,
        GrowPage {
            heading,
            name: proposal.name.clone(),
            circle_name: circle.name,
            waiting: memberships::waitlist_length(&mut conn, proposal.circle_id).await?,
            dates,
            readings: titles,
            answer_by: proposal
                .answer_by
                .map(|by| crate::email::when::deadline(by, zone, chrono::Utc::now()))
                .unwrap_or_default(),
            closed,
            done,
            sibling_url,
            days,
            time,
            previewed,
        },
    ))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    let (status, page) = page(&state, &req, &token, None).await?;
    render_status(status, page)
}

pub async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<GrowForm>,
) -> PageResult {
    let yes = match form.answer.as_str() {
        "accept" => true,
        "not_now" => false,
        "preview" => false,
        _ => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose an answer",
                "Answer with Accept or Not now.",
            ))
        }
    };
    let shift = crate::domain::growing::Shift::parse(&form.days, &form.time).map_err(|e| {
        let message = match e.field {
            "days" => "Choose the same day or up to six days later.".to_string(),
            _ => "Give the time of day as HH:MM, like 19:00, or leave it empty for the same time."
                .to_string(),
        };
        PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose when it meets",
            message,
        )
    })?;
    if form.answer == "preview" {
        // Show the dates for the day and time chosen; nothing is answered yet.
        let kept = (
            shift,
            form.days.trim().to_string(),
            form.time.trim().to_string(),
        );
        let (status, page) = page_with(&state, &req, &token, None, Some(kept)).await?;
        return render_status(status, page);
    }
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Grow).await?;
    let proposal = proposal_for(&mut conn, ProposalId(claims.object)).await?;
    let answered =
        actions::answer(&mut conn, proposal.id, member.id, yes, shift, Utc::now()).await?;
    drop(conn);
    let done = match answered {
        Answered::Accepted { sibling, moved } => format!(
            "You lead {} now. {moved} {} moved from the waitlist and {} being told, with the dates. You'll get an invitation for each session, as they will.",
            sibling.name,
            if moved == 1 { "person" } else { "people" },
            if moved == 1 { "is" } else { "are" },
        ),
        Answered::Passed => "Thank you for saying so. The next person who has led the circle is asked. Nobody in the circle is told who passed; only the organisers can see it.".to_string(),
        Answered::NotYours | Answered::Decided(_) => {
            let (status, page) = page(&state, &req, &token, None).await?;
            let status = if status == StatusCode::OK {
                StatusCode::CONFLICT
            } else {
                status
            };
            return render_status(status, page);
        }
    };
    let (_, page) = page(&state, &req, &token, Some(done)).await?;
    render(page)
}
