//! The feedback the member received, on their own page: where each request about them stands,
//! and once it closed with enough answers, what people said, compared with their earlier
//! results. The form here reports an abusive answer.

use actix_web::web;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::back_to_page;
use crate::actions::feedback as feedback_actions;
use crate::db::members::Member;
use crate::db::{circles, feedback, roles, sessions, Connection};
use crate::domain::feedback::{self as rules, Visible};
use crate::domain::tokens::Purpose;
use crate::domain::FeedbackRequestId;
use crate::error::AppError;
use crate::http::public::{holder, PageError, PageResult};
use crate::http::AppState;

pub struct AnswerLine {
    pub id: String,
    pub helped: String,
    pub try_next: String,
    pub rating: Option<String>,
    pub author: Option<String>,
    pub reported: bool,
}

pub struct FeedbackLine {
    pub request_id: String,
    pub circle: String,
    pub role: String,
    pub day: String,
    /// Where it stands, in words.
    pub status: String,
    pub compare: Option<String>,
    pub answers: Vec<AnswerLine>,
}

/// The feedback the member received: the 20 requests about them that close last, newest
/// first.
pub(super) async fn load(
    conn: &mut Connection,
    member: &Member,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<FeedbackLine>, PageError> {
    let mut lines = Vec::new();
    let mut earlier: Vec<f64> = Vec::new();
    // Oldest first, so each result is compared with the ones before it.
    let mut requests = feedback::about_member(conn, member.id, 20).await?;
    requests.reverse();
    for request in requests {
        let session = sessions::find(conn, request.session_id).await?;
        let circle = circles::find(conn, request.circle_id).await?;
        let (Some(session), Some(circle)) = (session, circle) else {
            continue;
        };
        let role = roles::kind(conn, request.circle_id, &request.role_key)
            .await?
            .map_or_else(|| request.role_key.clone(), |k| k.name);
        let (mean, answered) = feedback::summary(conn, request.id).await?;
        let visible = rules::visible(request.standing(answered, now));
        let (status, compare, answers) = match visible {
            Visible::Open { answered } => (
                format!(
                    "Open until {}: {answered} answered so far. You'll read the answers once it closes, if at least {} answered.",
                    request.closes_at.with_timezone(&zone).format("%A %-d %B"),
                    request.min_answers
                ),
                None,
                Vec::new(),
            ),
            Visible::TooFew { answered, needed } => (
                format!("{answered} answered. {} It takes at least {needed}.", rules::TOO_FEW),
                None,
                Vec::new(),
            ),
            Visible::Changed { answered } => (
                format!("{answered} answered. {}", rules::CHANGED),
                None,
                Vec::new(),
            ),
            Visible::Shown { answered } => {
                let compare = rules::compared_with_own(mean, &earlier);
                if let Some(m) = mean {
                    earlier.push(m);
                }
                let answers = feedback::answers(conn, request.id)
                    .await?
                    .into_iter()
                    .map(|a| AnswerLine {
                        id: a.id.to_string(),
                        helped: a.helped,
                        try_next: a.try_next,
                        rating: a.rating.map(|r| format!("{r} of 3: {}", rules::rating_label(r))),
                        author: a.author,
                        reported: a.reported_at.is_some(),
                    })
                    .collect();
                (format!("{answered} answered."), compare, answers)
            }
        };
        lines.push(FeedbackLine {
            request_id: request.id.to_string(),
            circle: circle.name,
            role,
            day: session
                .starts_at
                .with_timezone(&zone)
                .format("%A %-d %B %Y")
                .to_string(),
            status,
            compare,
            answers,
        });
    }
    lines.reverse();
    Ok(lines)
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    answer: String,
    /// "yes" from the page that asked first.
    #[serde(default)]
    confirm: String,
}

/// Asked before a member's action tells other people something.
#[derive(askama::Template)]
#[template(path = "pages/member_confirm.html")]
struct ConfirmPage {
    title: String,
    paragraphs: Vec<String>,
    action: String,
    fields: Vec<(&'static str, String)>,
    confirm_label: &'static str,
    back: String,
    back_label: &'static str,
}

/// The person who led flags an answer they were shown as abusive.
pub async fn report(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ReportForm>,
) -> PageResult {
    let (token, request) = path.into_inner();
    let request: uuid::Uuid = request.parse().map_err(|_| PageError::not_found())?;
    let answer: uuid::Uuid = form
        .answer
        .parse()
        .map_err(|_| AppError::invalid("answer", "names no answer"))?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    if form.confirm != "yes" {
        // Only the person the feedback is about reports its answers.
        let Some(about_them) = feedback::find(&mut conn, FeedbackRequestId(request))
            .await?
            .filter(|r| r.subject_id == member.id)
        else {
            return Err(PageError::not_found());
        };
        let circle = circles::find(&mut conn, about_them.circle_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        return crate::http::pages::render(ConfirmPage {
            title: "Report this answer as abusive?".into(),
            paragraphs: vec![
                format!(
                    "The organisers of {circle} are told by email, and can read the answer you report, so that they can act on it."
                ),
                "Whoever wrote it is not told, and stays anonymous to you.".into(),
            ],
            action: format!("/me/{token}/feedback/{request}/report"),
            fields: vec![("answer", answer.to_string())],
            confirm_label: "Report it to the organisers",
            back: format!("/me/{token}"),
            back_label: "Don't report it",
        });
    }
    let reported = feedback_actions::report(
        &mut conn,
        FeedbackRequestId(request),
        member.id,
        answer,
        Utc::now(),
    )
    .await?;
    if reported == feedback_actions::Reported::Nothing {
        return Err(PageError::not_found());
    }
    Ok(back_to_page(&token, "reported"))
}
