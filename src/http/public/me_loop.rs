//! The learning loop on a member's own page: the feedback they received (after it closed, and
//! only with enough answers), consent rounds open in their circles, and their circles'
//! agreements with whether they have acknowledged them. The forms here report an abusive
//! answer, acknowledge agreements, and propose an agreement or a change.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{holder, PageError, PageResult};
use crate::actions::agreements::{self as agreement_actions, Proposal};
use crate::actions::feedback as feedback_actions;
use crate::db::members::Member;
use crate::db::{agreements, circles, feedback, memberships, roles, sessions, Connection};
use crate::domain::agreements as agreement_rules;
use crate::domain::feedback::{self as rules, Visible};
use crate::domain::tokens::Purpose;
use crate::domain::{AgreementId, CircleId, FeedbackRequestId, MembershipState};
use crate::error::AppError;
use crate::http::AppState;
use crate::links::Holder;

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

pub struct RoundLine {
    pub circle: String,
    pub title: String,
    pub closes: String,
    pub answered: bool,
    pub url: String,
}

pub struct AgreementLine {
    pub circle: String,
    pub title: String,
    pub body: String,
    pub acknowledged: bool,
}

/// Everything the learning-loop sections of the page show.
pub struct Loop {
    pub feedback: Vec<FeedbackLine>,
    pub rounds: Vec<RoundLine>,
    pub agreements: Vec<AgreementLine>,
    /// Circles with agreements the member has not acknowledged yet.
    pub unacknowledged: Vec<(CircleId, String)>,
}

pub async fn load(
    conn: &mut Connection,
    state: &AppState,
    member: &Member,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Loop, PageError> {
    let holder_of = Holder::of(member);
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

    let mut rounds = Vec::new();
    for (round, title) in agreements::open_rounds_for_member(conn, member.id).await? {
        let circle = circles::find(conn, round.circle_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        rounds.push(RoundLine {
            circle,
            title,
            closes: crate::email::when::describe_moment(round.closes_at, zone),
            answered: agreements::stance_of(conn, round.id, member.id)
                .await?
                .is_some(),
            url: state.links.consent(holder_of, round.id.0, round.closes_at),
        });
    }

    let mut lines_a = Vec::new();
    let mut unacknowledged = Vec::new();
    for m in memberships::of_member(conn, member.id)
        .await?
        .into_iter()
        .filter(|m| m.state == MembershipState::Active)
    {
        let adopted = agreements::adopted(conn, m.circle_id).await?;
        if adopted.is_empty() {
            continue;
        }
        let ids: Vec<AgreementId> = adopted.iter().map(|a| a.agreement_id).collect();
        let acked = agreements::acknowledged(conn, member.id, &ids).await?;
        let name = circles::find(conn, m.circle_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        let mut missing = false;
        for a in adopted {
            let acknowledged = acked.contains(&(a.agreement_id, a.version));
            missing |= !acknowledged;
            lines_a.push(AgreementLine {
                circle: name.clone(),
                title: a.title,
                body: a.body,
                acknowledged,
            });
        }
        if missing {
            unacknowledged.push((m.circle_id, name));
        }
    }
    Ok(Loop {
        feedback: lines,
        rounds,
        agreements: lines_a,
        unacknowledged,
    })
}

fn back(token: &str, saved: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/me/{token}?saved={saved}")))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    answer: String,
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
    Ok(back(&token, "reported"))
}

/// The member acknowledges their circle's adopted agreements as they stand.
pub async fn acknowledge(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (token, circle) = path.into_inner();
    let circle: uuid::Uuid = circle.parse().map_err(|_| PageError::not_found())?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle = active_circle(&mut conn, CircleId(circle), &member).await?;
    agreement_actions::acknowledge(&mut conn, &circle, member.id).await?;
    Ok(back(&token, "acknowledged"))
}

async fn active_circle(
    conn: &mut Connection,
    id: CircleId,
    member: &Member,
) -> Result<circles::Circle, PageError> {
    let circle = circles::find(conn, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let active = memberships::find(conn, id, member.id)
        .await?
        .is_some_and(|m| m.state == MembershipState::Active);
    if !active {
        return Err(PageError::not_found());
    }
    Ok(circle)
}

#[derive(Debug, Deserialize)]
pub struct ProposeForm {
    /// Empty for a new agreement; else the agreement to change.
    #[serde(default)]
    agreement: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: String,
}

/// A member proposes an agreement, or a change to one, from their circle's page: a consent
/// round opens by email.
pub async fn propose(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ProposeForm>,
) -> PageResult {
    let (token, circle) = path.into_inner();
    let circle: uuid::Uuid = circle.parse().map_err(|_| PageError::not_found())?;
    let form = form.into_inner();
    let body = agreement_rules::body(&form.body).map_err(AppError::from)?;
    let note = agreement_rules::note(&form.note).map_err(AppError::from)?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle = active_circle(&mut conn, CircleId(circle), &member).await?;
    let now = Utc::now();
    if form.agreement.trim().is_empty() {
        let title = agreement_rules::title(&form.title).map_err(AppError::from)?;
        agreement_actions::propose(
            &mut conn,
            &circle,
            member.id,
            Proposal {
                title,
                body,
                review_every_sessions: None,
            },
            state.settings.limits.rounds(),
            now,
        )
        .await?;
    } else {
        let id: AgreementId = form
            .agreement
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("agreement", "names no agreement of this circle"))?;
        let belongs = agreements::find(&mut conn, id)
            .await?
            .is_some_and(|a| a.circle_id == circle.id);
        if !belongs {
            return Err(AppError::invalid("agreement", "names no agreement of this circle").into());
        }
        agreement_actions::propose_change(
            &mut conn,
            id,
            member.id,
            body,
            note,
            state.settings.limits.rounds(),
            now,
        )
        .await?;
    }
    Ok(back(&token, "proposed"))
}

/// The circle's agreements for its page: (id, title, status words, adopted text, open round).
pub struct CircleAgreement {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub body: String,
}

pub async fn for_circle(
    conn: &mut Connection,
    circle: CircleId,
) -> Result<Vec<CircleAgreement>, PageError> {
    let mut out = Vec::new();
    for a in agreements::for_circle(conn, circle).await? {
        let shown = a.adopted_version.unwrap_or(a.current_version);
        let body = agreements::version(conn, a.id, shown)
            .await?
            .map(|v| v.body)
            .unwrap_or_default();
        let open = agreements::open_round_of(conn, a.id).await?.is_some();
        out.push(CircleAgreement {
            id: a.id.to_string(),
            title: a.title,
            status: match (a.status, open) {
                (crate::domain::AgreementStatus::Adopted, true) => "adopted; under review",
                (crate::domain::AgreementStatus::Adopted, false) => "adopted",
                (crate::domain::AgreementStatus::InRound, _) => "in a consent round",
                (crate::domain::AgreementStatus::Integrating, _) => {
                    "waiting for a revision after an objection"
                }
                (crate::domain::AgreementStatus::NotAdopted, _) => "not adopted",
                (crate::domain::AgreementStatus::Retired, _) => "retired",
            },
            body,
        });
    }
    Ok(out)
}
