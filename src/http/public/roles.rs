//! The pages role holders reach from email: `/role/{token}` (the role, its guide and why; Accept,
//! Can't make it, Ask someone to swap), `/swap/{token}` (take over someone's role; the first
//! wins) and `/handoff/{token}` (the note a facilitator leaves for the next lead). GET shows,
//! POST acts; each link works for its own purpose only.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{member_link, render, render_status, viewer_zone, when, PageError, PageResult};
use crate::actions::rota::{self, Reply};
use crate::actions::swaps::{self, Asked, Take};
use crate::db::circles::Circle;
use crate::db::handoffs::{self, HandoffText};
use crate::db::members::Member;
use crate::db::roles::{self, SessionRole};
use crate::db::sessions::Session;
use crate::db::{circles, memberships, sessions, swaps as swap_rows, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{
    FeedbackMode, HandoffVisibility, MembershipState, RoleId, RoleState, SessionId, SessionStatus,
    SwapId,
};
use crate::error::AppError;
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/role.html")]
struct RolePage {
    circle_name: String,
    member_name: String,
    role_name: String,
    guide: String,
    why: String,
    when: String,
    state_label: String,
    /// Whether Accept / Can't / Swap are offered.
    open: bool,
    confirmed: bool,
    swap_open: bool,
    handoff: Option<crate::email::messages::HandoffView>,
    saved: Option<String>,
    /// The feedback the holder asked for: "anonymous", "named" or "none".
    feedback: &'static str,
    /// Whether that choice can still change (feedback has not opened).
    feedback_open: bool,
    /// A confirmed discussion lead, before the session: the questions form.
    asks_questions: bool,
    /// What they wrote so far (three boxes).
    questions: [String; 3],
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    action: String,
    /// On accept, or on its own: anonymous, named or none.
    #[serde(default)]
    feedback: String,
    /// A discussion lead's questions.
    #[serde(default)]
    q1: String,
    #[serde(default)]
    q2: String,
    #[serde(default)]
    q3: String,
    /// "yes" from the page that asked before giving up an accepted turn.
    #[serde(default)]
    confirm: String,
}

/// Asked before someone gives up a turn they accepted: someone else is emailed.
#[derive(Template)]
#[template(path = "pages/decline_confirm.html")]
struct DeclineConfirmPage {
    holding: String,
    day: String,
    circle_name: String,
    when: String,
    /// What happens next, in a sentence ending in a full stop.
    next: &'static str,
    back: String,
}

fn feedback_mode(text: &str) -> Result<FeedbackMode, AppError> {
    match text {
        "" => Ok(FeedbackMode::Anonymous),
        other => FeedbackMode::parse(other, "feedback").map_err(AppError::from),
    }
}

/// Where a role slot stands, as the member asked to hold it reads it.
fn role_state_label(state: RoleState) -> &'static str {
    match state {
        RoleState::Proposed => "Proposed for you; not asked yet",
        RoleState::Asked => "Waiting for your answer",
        RoleState::Confirmed => "You accepted",
        RoleState::Declined => "You said you can't",
        RoleState::Open => "Open",
    }
}

/// A role slot with its session, circle and role kind, as both role and swap pages show it.
async fn slot_context(
    conn: &mut Connection,
    id: RoleId,
) -> Result<(SessionRole, Session, Circle, roles::RoleKind), PageError> {
    let row = roles::find(conn, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let (session, circle, kind) = slot_parts(conn, &row).await?;
    Ok((row, session, circle, kind))
}

/// What a slot belongs to: its session, circle and role.
async fn slot_parts(
    conn: &mut Connection,
    row: &SessionRole,
) -> Result<(Session, Circle, roles::RoleKind), PageError> {
    let session = sessions::find(conn, row.session_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let circle = circles::find(conn, row.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let kind = roles::kind(conn, row.circle_id, &row.role_key)
        .await?
        .ok_or_else(|| PageError::gone("This role was removed from the circle."))?;
    Ok((session, circle, kind))
}

/// A role slot as the role page shows it to `member`: the slot, its session, the circle's
/// name, the role, and who took it over when `member` gave it away in a swap.
async fn role_facts(
    conn: &mut Connection,
    id: RoleId,
    member: &Member,
) -> Result<
    (
        SessionRole,
        Session,
        String,
        roles::RoleKind,
        Option<String>,
    ),
    PageError,
> {
    let (row, session, circle, kind) = slot_context(conn, id).await?;
    if memberships::find(conn, circle.id, member.id)
        .await?
        .map(|m| m.state)
        != Some(MembershipState::Active)
    {
        return Err(PageError::gone(
            "You are no longer a member of this circle.",
        ));
    }
    let swapped_to = match row.member_id {
        Some(holder) if holder != member.id => {
            match swap_rows::taken_from(conn, row.id, member.id).await? {
                Some(swap) if swap.taken_by == Some(holder) => Some(
                    crate::db::members::find(conn, holder)
                        .await?
                        .map_or_else(|| "Someone".into(), |m| m.display_name),
                ),
                _ => None,
            }
        }
        _ => None,
    };
    if row.member_id != Some(member.id) && row.state != RoleState::Declined && swapped_to.is_none()
    {
        return Err(PageError::gone(
            "This role has moved to someone else since this email was sent. Nothing for you to do.",
        ));
    }
    Ok((row, session, circle.name, kind, swapped_to))
}

async fn role_page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    saved: Option<String>,
) -> Result<RolePage, PageError> {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(state, &mut conn, token, Purpose::Role).await?;
    let (row, session, circle_name, kind, swapped_to) =
        role_facts(&mut conn, RoleId(claims.object), &member).await?;
    let handoff =
        crate::views::handoff::handoff_for(&mut conn, &session, row.circle_id, &row.role_key)
            .await
            .ok()
            .flatten()
            .filter(|_| row.member_id == Some(member.id));
    let swap_open = swap_rows::open_for(&mut conn, row.id).await?.is_some();
    let zone = viewer_zone(req, Some(&member), session.timezone);
    let holds = row.member_id == Some(member.id);
    let live = session.status == SessionStatus::Scheduled && session.starts_at > Utc::now();
    let feedback = roles::feedback_of(&mut conn, row.id)
        .await?
        .unwrap_or(FeedbackMode::Anonymous);
    let feedback_open = crate::db::feedback::for_session(&mut conn, session.id)
        .await?
        .iter()
        .any(|r| r.role_key == row.role_key && r.subject_id == member.id);
    let asks_questions =
        holds && live && row.state == RoleState::Confirmed && row.role_key == roles::QUESTIONS_ROLE;
    let mut questions: [String; 3] = Default::default();
    if asks_questions {
        for (slot, q) in questions
            .iter_mut()
            .zip(roles::own_questions(&mut conn, row.id, member.id).await?)
        {
            *slot = q;
        }
    }
    Ok(RolePage {
        asks_questions,
        questions,
        feedback: feedback.as_str(),
        feedback_open,
        circle_name,
        member_name: member.display_name.clone(),
        role_name: kind.name,
        guide: kind.guide,
        // The why was written for whoever holds it now.
        why: if holds {
            crate::domain::rota::why_for_holder(&row.why, &member.display_name)
        } else {
            String::new()
        },
        when: when(session.starts_at, session.ends_at, zone),
        state_label: match (&swapped_to, holds) {
            (Some(taker), _) => format!("{taker} took it over from you in a swap"),
            (None, true) => role_state_label(row.state).to_string(),
            (None, false) => role_state_label(RoleState::Declined).to_string(),
        },
        open: holds && live && matches!(row.state, RoleState::Proposed | RoleState::Asked),
        confirmed: holds && live && row.state == RoleState::Confirmed,
        swap_open,
        handoff,
        saved,
    })
}

pub async fn show_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    render(role_page(&state, &req, &token, None).await?)
}

pub async fn answer_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Role).await?;
    let id = RoleId(claims.object);
    let now = Utc::now();
    let closed = || {
        PageError::from(AppError::Conflict(
            "This session has started or was cancelled, so this role can no longer be changed."
                .into(),
        ))
    };
    let not_yours = || {
        PageError::gone(
            "This role has moved to someone else since this email was sent. Nothing for you to do.",
        )
    };
    // Giving up a turn they accepted asks someone else: ask first.
    if form.action == "decline" && form.confirm != "yes" {
        let accepted = roles::find(&mut conn, id)
            .await?
            .filter(|r| r.state == RoleState::Confirmed && r.member_id == Some(member.id));
        if let Some(row) = accepted {
            let (session, circle, kind) = slot_parts(&mut conn, &row).await?;
            let zone = viewer_zone(&req, Some(&member), session.timezone);
            let rotating = circle.facilitation == crate::domain::Facilitation::Rotating;
            return render(DeclineConfirmPage {
                holding: crate::jobs::email::role_phrase(&kind, false),
                day: crate::email::when::describe_day(session.starts_at, zone),
                circle_name: circle.name,
                when: when(session.starts_at, session.ends_at, zone),
                next: if rotating {
                    "the next person in the rotation is asked by email, and the organisers hear if nobody can."
                } else {
                    "the circle's organisers are told by email, so that they can find someone."
                },
                back: req.path().to_string(),
            });
        }
    }
    let saved = match form.action.as_str() {
        "accept" => match rota::accept(&mut conn, id, member.id, feedback_mode(&form.feedback)?, now).await? {
            Reply::Done(row) if row.role_key == roles::QUESTIONS_ROLE => "Thank you: you're confirmed. Write your two or three questions below whenever you're ready; they go into everyone's reminder.".to_string(),
            Reply::Done(_) => "Thank you: you're confirmed. The circle will see your name in its next reminder.".to_string(),
            Reply::NotYours => return Err(not_yours()),
            Reply::Closed => return Err(closed()),
        },
        "decline" => match rota::decline(&mut conn, id, member.id, now).await? {
            // The role has moved on, so there is no role page to show any more.
            Reply::Done(_) => {
                return render(super::MessagePage {
                    title: "Thanks for letting us know".into(),
                    paragraphs: vec![
                        "The next person in the rotation is asked; there is nothing else to do.".into(),
                    ],
                    links: Vec::new(),
                })
            }
            Reply::NotYours => return Err(not_yours()),
            Reply::Closed => return Err(closed()),
        },
        "swap" => match swaps::ask(&mut conn, id, member.id, now).await? {
            Asked::Offered(_, 0) => "Your swap is open, but nobody else can take it right now. You keep the role until someone does; the organisers can also help.".to_string(),
            Asked::Offered(_, n) => format!("Asked {n} people who could take it over. You keep the role until one of them does, and you'll get an email when that happens."),
            Asked::AlreadyOpen(_, n) => format!("Your swap is already open: {n} {} been asked, and a few more are asked each day nobody takes it. You keep the role until someone does.", if n == 1 { "person has" } else { "people have" }),
            Asked::NotYours => return Err(not_yours()),
            Asked::Closed => return Err(closed()),
        },
        "feedback" => {
            let mode = FeedbackMode::parse(&form.feedback, "feedback").map_err(AppError::from)?;
            match crate::actions::feedback::set_mode(&mut conn, id, member.id, mode).await? {
                crate::actions::feedback::ModeChange::Saved => match mode {
                    FeedbackMode::Anonymous => "Saved: after the session, those who came can give you anonymous feedback.".to_string(),
                    FeedbackMode::Named => "Saved: after the session, those who came can give you feedback with their names.".to_string(),
                    FeedbackMode::Off => "Saved: no feedback will be asked for this session.".to_string(),
                },
                crate::actions::feedback::ModeChange::Fixed => {
                    return Err(AppError::Conflict(
                        "Feedback on this session is already open, so how it is given can no longer change.".into(),
                    )
                    .into())
                }
                crate::actions::feedback::ModeChange::NotYours => return Err(not_yours()),
            }
        }
        "questions" => {
            let list = crate::domain::roles::questions(&[&form.q1, &form.q2, &form.q3])
                .map_err(AppError::from)?;
            match crate::actions::questions::save(&mut conn, id, member.id, &list, now).await? {
                Reply::Done(_) => format!(
                    "Thank you: your {} questions go into everyone's reminder.",
                    if list.len() == 2 { "two" } else { "three" }
                ),
                Reply::NotYours => return Err(not_yours()),
                Reply::Closed => return Err(closed()),
            }
        }
        _ => {
            return Err(AppError::invalid(
                "action",
                "must be accept, decline, swap, feedback or questions",
            )
            .into())
        }
    };
    drop(conn);
    render(role_page(&state, &req, &token, Some(saved)).await?)
}

#[derive(Template)]
#[template(path = "pages/swap.html")]
struct SwapPage {
    circle_name: String,
    member_name: String,
    role_name: String,
    guide: String,
    requester: String,
    when: String,
    open: bool,
    taken_by_you: bool,
    message: Option<String>,
    /// "Thursday 10 December", for "You're the facilitator on …".
    day: String,
    /// What the previous lead left, shown once the role is theirs.
    handoff: Option<crate::email::messages::HandoffView>,
    me_url: String,
}

async fn swap_page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    message: Option<String>,
) -> Result<SwapPage, PageError> {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(state, &mut conn, token, Purpose::Swap).await?;
    let swap = swap_rows::find(&mut conn, SwapId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    let (_, session, circle, kind) = slot_context(&mut conn, swap.session_role_id).await?;
    let requester = match swap.requester_id {
        Some(r) => crate::db::members::find(&mut conn, r)
            .await?
            .map_or_else(|| "Someone".into(), |m| m.display_name),
        None => "Someone".into(),
    };
    let zone = viewer_zone(req, Some(&member), session.timezone);
    let taken_by_you = swap.taken_by == Some(member.id);
    let handoff = if taken_by_you {
        crate::views::handoff::handoff_for(&mut conn, &session, circle.id, &kind.key).await?
    } else {
        None
    };
    Ok(SwapPage {
        day: crate::email::when::describe_day(session.starts_at, zone),
        handoff,
        me_url: state
            .links
            .me(crate::links::Holder::of(&member), Utc::now()),
        circle_name: circle.name,
        member_name: member.display_name.clone(),
        role_name: kind.name,
        guide: kind.guide,
        requester,
        when: when(session.starts_at, session.ends_at, zone),
        open: swap.status == "open" && session.starts_at > Utc::now(),
        taken_by_you,
        message,
    })
}

pub async fn show_swap(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    render(swap_page(&state, &req, &token, None).await?)
}

pub async fn take_swap(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    if form.action != "take" {
        return Err(AppError::invalid("action", "must be take").into());
    }
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Swap).await?;
    match swaps::take(&mut conn, SwapId(claims.object), member.id, Utc::now()).await? {
        Take::Taken(_) => {}
        Take::AlreadyTaken => {
            drop(conn);
            let page = swap_page(
                &state,
                &req,
                &token,
                Some("Someone else already took this role over. Thank you for offering; nothing has changed for you.".into()),
            )
            .await?;
            return render_status(StatusCode::CONFLICT, page);
        }
        Take::Void => {
            drop(conn);
            let page = swap_page(
                &state,
                &req,
                &token,
                Some(
                    "This swap no longer applies: the session moved, was cancelled or has started."
                        .into(),
                ),
            )
            .await?;
            return render_status(StatusCode::CONFLICT, page);
        }
        Take::NotEligible(why) => return Err(AppError::Conflict(why.into()).into()),
    }
    drop(conn);
    render(
        swap_page(
            &state,
            &req,
            &token,
            Some(
                "It's yours: you're confirmed, and the person who asked has been told. Thank you."
                    .into(),
            ),
        )
        .await?,
    )
}

#[derive(Template)]
#[template(path = "pages/handoff.html")]
struct HandoffPage {
    circle_name: String,
    member_name: String,
    when: String,
    /// Whether a session is scheduled after this one: someone leads next.
    has_next: bool,
    stopped_at: String,
    open_questions: String,
    follow_up: String,
    try_next: String,
    visibility: &'static str,
    visibilities: Vec<(&'static str, &'static str)>,
    saved: Option<String>,
    errors: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct HandoffForm {
    #[serde(default)]
    stopped_at: String,
    #[serde(default)]
    open_questions: String,
    #[serde(default)]
    follow_up: String,
    #[serde(default)]
    try_next: String,
    #[serde(default)]
    visibility: String,
}

const MAX_HANDOFF_PART: usize = 2000;

/// The session the link is for, if `member` facilitated it and it has started; its circle's
/// name, and whether a session is scheduled after it.
async fn led_session(
    conn: &mut Connection,
    id: SessionId,
    member: &Member,
) -> Result<(Session, String, bool), PageError> {
    let session = sessions::find(conn, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    if session.facilitator_id != Some(member.id) {
        return Err(PageError::gone(
            "Only the person who facilitated this session can leave its handoff note.",
        ));
    }
    if session.starts_at > Utc::now() {
        return Err(AppError::Conflict(
            "This session has not happened yet; leave the handoff after it.".into(),
        )
        .into());
    }
    let circle = circles::find(conn, session.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let has_next = !sessions::upcoming(conn, session.circle_id, session.starts_at, 1)
        .await?
        .is_empty();
    Ok((session, circle.name, has_next))
}

fn visibilities() -> Vec<(&'static str, &'static str)> {
    vec![
        ("next_lead", "Only the next facilitator"),
        ("role_holders", "Everyone holding a role next session"),
        ("circle", "The whole circle"),
    ]
}

pub async fn show_handoff(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Handoff).await?;
    let (session, circle_name, has_next) =
        led_session(&mut conn, SessionId(claims.object), &member).await?;
    let note = handoffs::for_session(&mut conn, session.id).await?;
    let zone = viewer_zone(&req, Some(&member), session.timezone);
    let (text, visibility) = match &note {
        Some(n) => (
            HandoffText {
                stopped_at: n.stopped_at.clone(),
                open_questions: n.open_questions.clone(),
                follow_up: n.follow_up.clone(),
                try_next: n.try_next.clone(),
            },
            n.visibility(),
        ),
        None => (HandoffText::default(), HandoffVisibility::NextLead),
    };
    render(HandoffPage {
        circle_name,
        member_name: member.display_name.clone(),
        when: when(session.starts_at, session.ends_at, zone),
        has_next,
        stopped_at: text.stopped_at,
        open_questions: text.open_questions,
        follow_up: text.follow_up,
        try_next: text.try_next,
        visibility: visibility.as_str(),
        visibilities: visibilities(),
        saved: None,
        errors: Vec::new(),
    })
}

pub async fn save_handoff(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<HandoffForm>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (claims, member, _) = member_link(&state, &mut conn, &token, Purpose::Handoff).await?;
    let (session, circle_name, has_next) =
        led_session(&mut conn, SessionId(claims.object), &member).await?;
    let form = form.into_inner();
    let mut errors = Vec::new();
    let mut clean = |label: &str, s: &str| match crate::domain::text::lines("handoff", s) {
        Ok(text) => text,
        Err(_) => {
            errors.push(format!(
                "{label}: please leave out invisible control characters (paste it as plain text)."
            ));
            crate::domain::text::shown_again(s.trim())
        }
    };
    let text = HandoffText {
        stopped_at: clean("Where we stopped", &form.stopped_at),
        open_questions: clean("Open questions", &form.open_questions),
        follow_up: clean("Who to follow up", &form.follow_up),
        try_next: clean("What I'd try", &form.try_next),
    };
    for (label, value) in [
        ("Where we stopped", &text.stopped_at),
        ("Open questions", &text.open_questions),
        ("Who to follow up", &text.follow_up),
        ("What I'd try", &text.try_next),
    ] {
        if value.chars().count() > MAX_HANDOFF_PART {
            errors.push(format!(
                "{label}: at most {MAX_HANDOFF_PART} characters, please."
            ));
        }
    }
    let visibility = match HandoffVisibility::parse(&form.visibility, "visibility") {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push("Who can read it: choose one of the three options.".into());
            None
        }
    };
    if [
        &text.stopped_at,
        &text.open_questions,
        &text.follow_up,
        &text.try_next,
    ]
    .iter()
    .all(|v| v.is_empty())
    {
        errors.push("Write at least one of the four parts.".into());
    }
    let zone = viewer_zone(&req, Some(&member), session.timezone);
    let page = |saved: Option<String>,
                errors: Vec<String>,
                text: HandoffText,
                vis: HandoffVisibility| HandoffPage {
        circle_name: circle_name.clone(),
        member_name: member.display_name.clone(),
        when: when(session.starts_at, session.ends_at, zone),
        has_next,
        stopped_at: text.stopped_at,
        open_questions: text.open_questions,
        follow_up: text.follow_up,
        try_next: text.try_next,
        visibility: vis.as_str(),
        visibilities: visibilities(),
        saved,
        errors,
    };
    let Some(visibility) = visibility.filter(|_| errors.is_empty()) else {
        let vis = visibility.unwrap_or(HandoffVisibility::NextLead);
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(None, errors, text, vis),
        );
    };
    crate::actions::handoffs::save(
        &mut conn,
        &session,
        member.id,
        text.clone(),
        visibility,
        Utc::now(),
    )
    .await?;
    let saved = if has_next {
        "Saved. Whoever leads next will find it in their email and on their role page."
    } else {
        "Saved. No session is scheduled after this one yet; whoever leads the next one will find it on their role page."
    };
    render(page(Some(saved.into()), Vec::new(), text, visibility))
}
