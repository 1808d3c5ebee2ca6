//! Agreements from a link in email: a consent round as one member sees it. The link's path is
//! `/consent/{token}` (links already in people's inboxes carry it, so it stays). While the
//! round is open: the text, how many have answered (never what they said), the member's own
//! answer and the four choices. Once it closes: the outcome, who said what and why, and for
//! the proposer of a text someone objected to, the form that revises it into a shorter second
//! round.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{member_link, render, render_status, viewer_zone, PageError, PageResult};
use crate::actions::agreements::{self as actions, Answer, Revised};
use crate::db::agreements::{self, GivenStance};
use crate::db::{circles, members};
use crate::domain::agreements::{self as rules, Tally};
use crate::domain::tokens::Purpose;
use crate::domain::{AgreementStatus, RoundId, RoundKind, RoundOutcome, Stance};
use crate::error::AppError;
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/consent.html")]
struct RoundPage {
    circle_name: String,
    title: String,
    version: i32,
    kind_label: &'static str,
    proposer: String,
    paragraphs: Vec<String>,
    note: String,
    closes: String,
    open: bool,
    answered: i64,
    eligible: i32,
    quorum: i32,
    /// The member's own answer: (stance, reason).
    mine: Option<(String, String)>,
    /// Draft values after a refused answer.
    draft_stance: String,
    draft_reason: String,
    outcome: Option<String>,
    counts: Option<String>,
    stances: Vec<(String, &'static str, String)>,
    /// The proposer may revise after an objection.
    revise: bool,
    draft_body: String,
    draft_note: String,
    error: Option<String>,
    saved: Option<String>,
    me_url: String,
}

#[derive(Debug, Deserialize)]
pub struct RoundForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    stance: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: String,
}

/// The draft to show again after a refused submission.
#[derive(Default)]
struct Draft {
    stance: String,
    reason: String,
    body: Option<String>,
    note: String,
}

fn kind_label(kind: RoundKind, version: i32) -> &'static str {
    match kind {
        RoundKind::Review => "Review of an adopted agreement",
        RoundKind::Integration => "Second round, on a revision after an objection",
        RoundKind::Proposal if version > 1 => "Proposed change",
        RoundKind::Proposal => "New agreement",
    }
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    draft: Draft,
    error: Option<String>,
    saved: Option<String>,
) -> Result<RoundPage, PageError> {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(state, &mut conn, token, Purpose::Consent).await?;
    let round = agreements::find_round(&mut conn, RoundId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    let agreement = agreements::find(&mut conn, round.agreement_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let version = agreements::version(&mut conn, agreement.id, round.version)
        .await?
        .ok_or_else(PageError::not_found)?;
    let circle = circles::find(&mut conn, round.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let proposer = match version.proposed_by {
        Some(m) => members::find(&mut conn, m).await?.map(|m| m.display_name),
        None => None,
    }
    .unwrap_or_else(|| "Someone".into());
    let zone = viewer_zone(req, Some(&member), circle.timezone);
    let open = round.is_open() && round.closes_at > Utc::now();
    let answered = agreements::latest_stances(&mut conn, &round).await?.len() as i64;
    let mine = agreements::stance_of(&mut conn, round.id, member.id)
        .await?
        .map(|(s, r)| (s.as_str().to_string(), r));
    // Who said what is read only for a closed round.
    let given: Vec<GivenStance> = if round.is_open() {
        Vec::new()
    } else {
        agreements::stances_of_closed(&mut conn, &round).await?
    };
    let tally = Tally::of(given.iter().map(|g| g.stance));
    let outcome = round.outcome.map(|o| {
        match o {
            RoundOutcome::Adopted => "Adopted: this is now one of the circle's agreements.",
            RoundOutcome::Objected if round.kind == RoundKind::Review => {
                "Someone objected in the review. The agreement stays in force as it is; anyone can propose a change that meets the objection."
            }
            RoundOutcome::Objected => {
                "Not adopted: someone objected. The proposer can revise it, and the revision gets a shorter second round."
            }
            RoundOutcome::NoQuorum => {
                "Not adopted: too few people answered. Silence is never counted as consent."
            }
        }
        .to_string()
    });
    let revise = round.outcome == Some(RoundOutcome::Objected)
        && round.kind != RoundKind::Review
        && agreement.status == AgreementStatus::Integrating
        && agreement.current_version == round.version
        && version.proposed_by == Some(member.id);
    let base_len = state.links.base().len();
    let me_url = state
        .links
        .me(crate::links::Holder::of(&member), Utc::now())[base_len..]
        .to_string();
    Ok(RoundPage {
        circle_name: circle.name,
        title: agreement.title,
        version: round.version,
        kind_label: kind_label(round.kind, round.version),
        proposer,
        paragraphs: version
            .body
            .split("\n\n")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        note: version.note,
        closes: crate::email::when::deadline(round.closes_at, zone, Utc::now()),
        open,
        answered,
        eligible: round.eligible,
        quorum: round.quorum,
        draft_stance: if draft.stance.is_empty() {
            mine.as_ref().map(|(s, _)| s.clone()).unwrap_or_default()
        } else {
            draft.stance
        },
        draft_reason: if draft.reason.is_empty() {
            mine.as_ref().map(|(_, r)| r.clone()).unwrap_or_default()
        } else {
            draft.reason
        },
        mine: mine.map(|(s, r)| {
            let label = s
                .parse::<Stance>()
                .map(rules::label)
                .unwrap_or("")
                .to_string();
            (label, r)
        }),
        counts: (!round.is_open()).then(|| {
            format!(
                "{} of {} answered: {} consent, {} with a concern, {} stood aside, {} objected (needed: {}).",
                tally.answered(),
                round.eligible,
                tally.consent,
                tally.concern,
                tally.stand_aside,
                tally.objection,
                round.quorum
            )
        }),
        stances: given
            .into_iter()
            .map(|g| (g.display_name, rules::label(g.stance), g.reason))
            .collect(),
        outcome,
        revise,
        draft_body: draft.body.unwrap_or(version.body),
        draft_note: draft.note,
        error,
        saved,
        me_url,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    render(page(&state, &req, &token, Draft::default(), None, None).await?)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<RoundForm>,
) -> PageResult {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Consent).await?;
    let round = RoundId(claims.object);
    let now = Utc::now();
    let refuse = async |draft: Draft, problem: String| -> PageResult {
        let page = page(&state, &req, &token, draft, Some(problem), None).await?;
        render_status(StatusCode::UNPROCESSABLE_ENTITY, page)
    };
    let saved = match form.action.as_str() {
        "answer" => {
            let stance = match Stance::parse(&form.stance, "stance") {
                Ok(s) => s,
                Err(_) => {
                    let draft = Draft {
                        reason: form.reason,
                        ..Draft::default()
                    };
                    return refuse(draft, "Choose one of the four answers.".into()).await;
                }
            };
            if let Err(problem) = rules::check_reason(stance, &form.reason) {
                let draft = Draft {
                    stance: form.stance,
                    reason: form.reason,
                    ..Draft::default()
                };
                return refuse(draft, capitalise(&problem.message)).await;
            }
            match actions::answer(&mut conn, round, member.id, stance, form.reason, now).await? {
                Answer::Saved(s) => format!(
                    "Saved: {}. You can change it until the round closes; nobody sees the answers before then.",
                    rules::label(s).to_lowercase()
                ),
                Answer::Closed => {
                    return Err(AppError::Conflict(
                        "This round has closed, so answers can no longer change.".into(),
                    )
                    .into())
                }
                Answer::NotMember => {
                    return Err(PageError::gone(
                        "You are no longer a member of this circle, so this link no longer works.",
                    ))
                }
            }
        }
        "revise" => {
            let body = match rules::body(&form.body) {
                Ok(b) => b,
                Err(problem) => {
                    let draft = Draft {
                        body: Some(form.body),
                        note: form.note,
                        ..Draft::default()
                    };
                    return refuse(draft, format!("The text {}.", problem.message)).await;
                }
            };
            let note = match rules::note(&form.note) {
                Ok(n) => n,
                Err(problem) => {
                    let draft = Draft {
                        body: Some(form.body),
                        note: form.note,
                        ..Draft::default()
                    };
                    return refuse(draft, format!("The note {}.", problem.message)).await;
                }
            };
            match actions::revise(&mut conn, round, member.id, body, note, now).await? {
                Revised::Opened(next) => {
                    drop(conn);
                    let link = state.links.consent(
                        crate::links::Holder::of(&member),
                        next.id.0,
                        next.closes_at,
                    );
                    return render(super::MessagePage {
                        title: "Your revision is out".into(),
                        paragraphs: vec![
                            "Everyone in the circle is asked again, in a shorter second round on the new text.".into(),
                        ],
                        links: vec![(
                            link[state.links.base().len()..].to_string(),
                            "See the new round".into(),
                        )],
                    });
                }
                Revised::NotProposer => {
                    return Err(AppError::Forbidden(
                        "Only the person who proposed this text can revise it; you can propose a change once it settles.".into(),
                    )
                    .into())
                }
                Revised::NotWaiting => {
                    return Err(AppError::Conflict(
                        "This text is not waiting for a revision: it was adopted, or revised already."
                            .into(),
                    )
                    .into())
                }
            }
        }
        _ => return Err(AppError::invalid("action", "must be answer or revise").into()),
    };
    drop(conn);
    render(page(&state, &req, &token, Draft::default(), None, Some(saved)).await?)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}
