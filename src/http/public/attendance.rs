//! `/attendance/{token}`: whoever led a session marks who came, from the link in their
//! reflection prompt, on one phone-sized form. Who came decides who may answer feedback on
//! the session, so the person the feedback is about marks it once, while nobody has yet
//! (`actions::attendance`); after that the page shows what was saved.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use diesel_async::AsyncConnection;

use super::{member_link, render, render_status, viewer_zone, when, PageError, PageResult};
use crate::db::members::Member;
use crate::db::sessions::{self, Session};
use crate::db::{circles, feedback, rsvps, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{MemberId, SessionId};
use crate::error::AppError;
use crate::http::AppState;
use crate::links::Holder;

/// The most people one form marks (a circle's roster, with room to spare).
const MAX_PEOPLE: i64 = 500;

struct Person {
    id: MemberId,
    name: String,
    came: bool,
}

#[derive(Template)]
#[template(path = "pages/attendance.html")]
struct AttendancePage {
    circle_name: String,
    when: String,
    people: Vec<Person>,
    editable: bool,
    error: Option<String>,
    saved: Option<String>,
    me_url: String,
}

/// The link's member and session, once the member is known to be active in the circle and to
/// have led the session, and the session to have started.
async fn led_session(
    state: &AppState,
    conn: &mut Connection,
    token: &str,
) -> Result<(Member, Session), PageError> {
    let (claims, member, _) = member_link(state, conn, token, Purpose::Attendance).await?;
    let session = sessions::find(conn, SessionId(claims.object))
        .await?
        .ok_or_else(PageError::not_found)?;
    if session.facilitator_id != Some(member.id) {
        return Err(AppError::Forbidden(
            "Only whoever led this session marks who came from this link; another facilitator or an organiser can from the dashboard."
                .into(),
        )
        .into());
    }
    if session.starts_at > Utc::now() {
        return Err(AppError::Conflict(
            "This session hasn't started yet: mark who came once it has.".into(),
        )
        .into());
    }
    Ok((member, session))
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    conn: &mut Connection,
    member: &Member,
    session: &Session,
    error: Option<String>,
    saved: Option<String>,
) -> Result<AttendancePage, PageError> {
    let circle = circles::find(conn, session.circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let roster = rsvps::for_session(conn, session.id, None, MAX_PEOPLE).await?;
    let recorded = roster.iter().any(|r| r.attended.is_some());
    let editable = !(recorded && feedback::is_subject(conn, session.id, member.id).await?);
    let mut people: Vec<Person> = roster
        .into_iter()
        .map(|r| Person {
            id: r.member_id,
            name: r.display_name,
            // Nobody marked yet: whoever led came, the others are for them to tick.
            came: r.attended.unwrap_or(r.member_id == member.id),
        })
        .collect();
    people.sort_by_key(|p| p.name.to_lowercase());
    let zone = viewer_zone(req, Some(member), session.timezone);
    let base_len = state.links.base().len();
    Ok(AttendancePage {
        circle_name: circle.name,
        when: when(session.starts_at, session.ends_at, zone),
        people,
        editable,
        error,
        saved,
        me_url: state.links.me(Holder::of(member), Utc::now())[base_len..].to_string(),
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (member, session) = led_session(&state, &mut conn, &token).await?;
    render(page(&state, &req, &mut conn, &member, &session, None, None).await?)
}

/// The form's ticks (`came_<member id>=yes`) as the members who came, every one of them on
/// the roster; anything else is refused whole.
fn ticked(
    form: &HashMap<String, String>,
    roster: &[MemberId],
) -> Result<Vec<MemberId>, &'static str> {
    let mut came = Vec::with_capacity(form.len());
    for (key, value) in form {
        let id = key
            .strip_prefix("came_")
            .and_then(|id| id.parse::<uuid::Uuid>().ok())
            .map(MemberId)
            .filter(|id| roster.contains(id))
            .ok_or("The form named someone who isn't on this session's list. Please reload the page and try again.")?;
        if value != "yes" {
            return Err("Please use the tick boxes on the page.");
        }
        came.push(id);
    }
    Ok(came)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (member, session) = led_session(&state, &mut conn, &token).await?;
    let roster: Vec<MemberId> = rsvps::for_session(&mut conn, session.id, None, MAX_PEOPLE)
        .await?
        .into_iter()
        .map(|r| r.member_id)
        .collect();
    let came = match ticked(&form, &roster) {
        Ok(came) => came,
        Err(problem) => {
            let page = page(
                &state,
                &req,
                &mut conn,
                &member,
                &session,
                Some(problem.into()),
                None,
            )
            .await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let marks: Vec<(MemberId, bool)> = roster.iter().map(|m| (*m, came.contains(m))).collect();
    let circle = session.circle_id;
    conn.transaction::<_, AppError, _>(async |conn| {
        // Still a member when it acts, not only when the page was read.
        crate::actions::active_member::require(conn, circle, member.id).await?;
        crate::actions::attendance::mark(conn, &session, member.id, &marks, Utc::now()).await
    })
    .await?;
    let saved = format!(
        "Saved: {} came. Thank you.",
        match came.len() {
            1 => "1 person".to_string(),
            n => format!("{n} people"),
        }
    );
    render(
        page(
            &state,
            &req,
            &mut conn,
            &member,
            &session,
            None,
            Some(saved),
        )
        .await?,
    )
}
