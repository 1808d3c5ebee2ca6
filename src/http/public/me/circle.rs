//! One of the member's circles as they see it.

use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;

use super::{answer_label, circle_of, membership_label, SessionLine};
use crate::db::{circles, memberships, reflections, roles, rsvps, sessions, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{CircleId, MembershipState};
use crate::http::public::{holder, render, viewer_zone, when, PageError, PageResult};
use crate::http::AppState;
use crate::links::Holder;

struct SharedLine {
    when: String,
    author: String,
    paragraphs: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/me_circle.html")]
struct MemberCirclePage {
    base: String,
    circle_id: CircleId,
    name: String,
    slug: String,
    state: String,
    active: bool,
    zone: String,
    sessions: Vec<SessionLine>,
    shared: Vec<SharedLine>,
    /// Who holds which role in the next sessions: (when, [(role, holder or "open")]).
    rota: Vec<(String, Vec<(String, String)>)>,
    /// Who has held what: role names, then (member, counts per role).
    role_names: Vec<String>,
    ledger: Vec<(String, Vec<i64>)>,
    balance: String,
    notes: Vec<NoteLine>,
    calendar_url: String,
    webcal_url: String,
    agreements: Vec<super::agreements::CircleAgreement>,
}

/// A handoff note shared with the circle: who left it, after which session, its answers.
struct NoteLine {
    author: String,
    day: String,
    parts: Vec<(String, String)>,
}

/// The circle's leadership, open to its members: who holds which role in the next sessions,
/// who has held what, and the notes shared with the circle.
#[derive(Default)]
struct Leadership {
    rota: Vec<(String, Vec<(String, String)>)>,
    role_names: Vec<String>,
    ledger: Vec<(String, Vec<i64>)>,
    balance: String,
    notes: Vec<NoteLine>,
}

async fn leadership(
    conn: &mut Connection,
    circle_id: CircleId,
    zone: chrono_tz::Tz,
) -> diesel::QueryResult<Leadership> {
    let mut rota = Vec::new();
    let kinds = roles::kinds(conn, circle_id).await?;
    let name_of = |key: &str| {
        kinds
            .iter()
            .find(|k| k.key == key)
            .map_or_else(|| key.to_string(), |k| k.name.clone())
    };
    for s in crate::views::rota::rota_of(conn, circle_id, 4).await? {
        let slots = s
            .roles
            .into_iter()
            .filter(|r| {
                r.state == crate::domain::RoleState::Confirmed
                    || r.state == crate::domain::RoleState::Asked
                    || r.state == crate::domain::RoleState::Proposed
            })
            .map(|r| {
                let who = r.display_name.unwrap_or_default();
                let who = if r.state == crate::domain::RoleState::Confirmed {
                    who
                } else {
                    format!("{who} (not confirmed yet)")
                };
                (name_of(&r.role), who)
            })
            .collect();
        rota.push((
            s.starts_at
                .with_timezone(&zone)
                .format("%A %-d %B")
                .to_string(),
            slots,
        ));
    }
    let l = crate::views::rota::ledger_of(conn, circle_id).await?;
    let role_names = kinds.iter().map(|k| k.name.clone()).collect();
    let ledger = l
        .items
        .iter()
        .map(|row| {
            let counts = kinds
                .iter()
                .map(|k| row.roles.get(&k.key).map_or(0, |h| h.count))
                .collect();
            (row.display_name.clone(), counts)
        })
        .collect();
    let balance = format!(
        "{:.2}: {}",
        l.balance,
        crate::domain::text::balance_in_words(l.balance)
    );
    let notes = crate::db::handoffs::shared_with_circle(conn, circle_id, 10)
        .await?
        .into_iter()
        .map(|(n, author, at)| NoteLine {
            author: author.unwrap_or_else(|| "A former member".into()),
            day: at.with_timezone(&zone).format("%A %-d %B %Y").to_string(),
            parts: n.parts(),
        })
        .collect();
    Ok(Leadership {
        rota,
        role_names,
        ledger,
        balance,
        notes,
    })
}

/// One of the member's circles as they see it: where they stand, its coming sessions with
/// their answers, and (for active members) what others shared with the circle.
pub async fn circle(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (token, circle_id) = path.into_inner();
    let circle_id = circle_of(&circle_id).map_err(|_| PageError::not_found())?;
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let circle = circles::find(&mut conn, circle_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let mine = memberships::find(&mut conn, circle_id, member.id)
        .await?
        .filter(|m| m.state != MembershipState::Left)
        .ok_or_else(PageError::not_found)?;
    let active = mine.state == MembershipState::Active;
    let zone = viewer_zone(&req, Some(&member), circle.timezone);
    let now = Utc::now();
    let upcoming: Vec<_> = sessions::list(&mut conn, circle_id, Some(now), None, 12)
        .await?
        .into_iter()
        .filter(|s| s.status == crate::domain::SessionStatus::Scheduled)
        .collect();
    let ids: Vec<_> = upcoming.iter().map(|s| s.id).collect();
    let answers = rsvps::of_member(&mut conn, member.id, &ids).await?;
    let shared = if active {
        reflections::shared_in_circle(&mut conn, circle_id, 100).await?
    } else {
        Vec::new()
    };
    let holder_of = Holder::of(&member);
    // The circle's leadership is open to its members: the rota, the ledger, shared notes.
    let Leadership {
        rota,
        role_names,
        ledger,
        balance,
        notes,
    } = if active {
        leadership(&mut conn, circle_id, zone).await?
    } else {
        Leadership::default()
    };
    let agreements = if active {
        super::agreements::for_circle(&mut conn, circle_id).await?
    } else {
        Vec::new()
    };
    render(MemberCirclePage {
        agreements,
        rota,
        role_names,
        ledger,
        balance,
        notes,
        base: format!("/me/{token}"),
        circle_id,
        name: circle.name.clone(),
        slug: circle.slug.to_string(),
        state: membership_label(mine.state, mine.waitlist_position),
        active,
        zone: zone.name().to_string(),
        sessions: upcoming
            .iter()
            .map(|s| SessionLine {
                circle: circle.name.clone(),
                when: when(s.starts_at, s.ends_at, zone),
                answer: answer_label(
                    answers
                        .iter()
                        .find(|(id, _)| *id == s.id)
                        .and_then(|(_, r)| *r),
                ),
                rsvp_url: state.links.rsvp(holder_of, s.id.0, s.ends_at, None),
            })
            .collect(),
        shared: shared
            .into_iter()
            .map(|r| SharedLine {
                when: when(r.starts_at, r.ends_at, zone),
                author: r.author,
                paragraphs: crate::domain::text::paragraphs(&r.body),
            })
            .collect(),
        calendar_url: state.links.calendar(holder_of),
        webcal_url: state.links.webcal(holder_of),
    })
}
