//! The member's page: their circles, coming sessions and answers, roles, turns, reflections,
//! calendar feed and email preferences, with the sections `feedback` and `agreements` load.

use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{answer_label, membership_label, SessionLine};
use crate::db::members::Member;
use crate::db::roles as turns_db;
use crate::db::roles::RotationPrefs;
use crate::db::{circles, memberships, reflections, roles, rsvps, sessions, Connection};
use crate::domain::tokens::Purpose;
use crate::domain::{CircleId, Facilitation, MembershipState};
use crate::http::public::{holder, render, viewer_zone, when, PageResult};
use crate::http::AppState;
use crate::links::Holder;

struct CircleLine {
    id: CircleId,
    name: String,
    state: String,
}

struct RoleLine {
    circle: String,
    role: String,
    when: String,
    state: &'static str,
    why: String,
    url: String,
    /// The link's words, for what fits the role's state.
    action: &'static str,
}

struct HeldLine {
    circle: String,
    role: String,
    count: i64,
    first: String,
    last: String,
}

/// A rotating circle's preferences form.
struct TurnsLine {
    circle_id: CircleId,
    circle: String,
    opted_in: bool,
    half: bool,
    paused_until: String,
    /// (key, name, opted out)
    roles: Vec<(String, String, bool)>,
}

struct ReflectionLine {
    circle: String,
    when: String,
    visibility: &'static str,
    body: String,
}

#[derive(Template)]
#[template(path = "pages/me.html")]
struct MePage {
    base: String,
    name: String,
    saved: Option<String>,
    waiting: Vec<super::waiting::WaitingLine>,
    circles: Vec<CircleLine>,
    zone: String,
    sessions: Vec<SessionLine>,
    reflections: Vec<ReflectionLine>,
    roles: Vec<RoleLine>,
    held: Vec<HeldLine>,
    turns: Vec<TurnsLine>,
    calendar_url: String,
    webcal_url: String,
    reminders: bool,
    reflection_prompts: bool,
    feedback_requests: bool,
    consent_reminders: bool,
    subscribed: bool,
    agreements: super::agreements::Mine,
    feedback: Vec<super::feedback::FeedbackLine>,
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
    /// The circle a `saved=left` notice names.
    circle: Option<String>,
}

/// The notice at the top of the page after a change (`?saved=...`).
fn saved_note(saved: Option<&str>, left_circle: Option<String>) -> Option<String> {
    match saved {
        Some("preferences") => Some("Your email preferences are saved.".to_string()),
        Some("rotation") => Some("Your preferences for taking turns are saved.".to_string()),
        Some("left") => Some(match left_circle {
            Some(name) => format!("You have left {name}. It will send you nothing more."),
            None => "You have left the circle.".to_string(),
        }),
        Some("back") => Some(match &left_circle {
            Some(name) => format!(
                "You have left {name}, and you are back on the waitlist you came from, at your old place."
            ),
            None => "You have left the circle, and you are back on the waitlist you came from.".to_string(),
        }),
        Some("reported") => Some(
            "Thank you: the organisers were told, and can see the answer you reported.".to_string(),
        ),
        Some("acknowledged") => {
            Some("Thank you: you've acknowledged the circle's agreements.".to_string())
        }
        Some("proposed") => Some(
            "Your proposal is out: everyone in the circle is asked by email, and the round's outcome reaches you when it closes."
                .to_string(),
        ),
        Some("calendar") => Some(
            "Your calendar has a new address. The old one no longer works: subscribe again with the new one."
                .to_string(),
        ),
        _ => None,
    }
}

/// The roles the member holds or is asked for in sessions to come, and what they held before.
async fn roles_and_held(
    conn: &mut Connection,
    state: &AppState,
    member: &Member,
    zone: chrono_tz::Tz,
    now: chrono::DateTime<Utc>,
) -> diesel::QueryResult<(Vec<roles::Upcoming>, Vec<RoleLine>, Vec<HeldLine>)> {
    let holder_of = Holder::of(member);
    let upcoming = roles::upcoming_for_member(conn, member.id, now).await?;
    let role_lines: Vec<RoleLine> = upcoming
        .iter()
        .map(|r| {
            use crate::domain::RoleState;
            let standing = RoleState::parse(&r.state, "state").unwrap_or(RoleState::Proposed);
            let action = match standing {
                RoleState::Asked => "Accept or say you can't make it",
                RoleState::Confirmed => "Can't make it, or ask someone to swap",
                _ => "See this turn",
            };
            let state_words = crate::domain::text::role_state(standing, true);
            RoleLine {
                circle: r.circle_name.clone(),
                role: r.role_name.clone(),
                when: when(r.starts_at, r.ends_at, zone),
                state: state_words,
                why: crate::domain::rota::why_for_holder(&r.why, &member.display_name),
                url: state.links.role(holder_of, r.id, r.ends_at),
                action,
            }
        })
        .collect();
    let day = |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%-d %B %Y").to_string();
    let held: Vec<HeldLine> = roles::held_by_member(conn, member.id, now)
        .await?
        .into_iter()
        .map(|h| HeldLine {
            circle: h.circle_name,
            role: h.role_name,
            count: h.count,
            first: day(h.first_at),
            last: day(h.last_at),
        })
        .collect();
    Ok((upcoming, role_lines, held))
}

/// The member's preferences for taking turns in each rotating circle they are active in, in
/// the order of their memberships: three queries however many circles.
async fn turns(
    conn: &mut Connection,
    mine: &[memberships::Membership],
    member: &Member,
) -> diesel::QueryResult<Vec<TurnsLine>> {
    let active: Vec<CircleId> = mine
        .iter()
        .filter(|m| m.state == MembershipState::Active)
        .map(|m| m.circle_id)
        .collect();
    let found = circles::find_many(conn, &active).await?;
    let rotating: Vec<CircleId> = found
        .iter()
        .filter(|c| c.facilitation == Facilitation::Rotating)
        .map(|c| c.id)
        .collect();
    let (kinds, saved) = if rotating.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (
            turns_db::kinds_of(conn, &rotating).await?,
            turns_db::prefs_of(conn, &rotating, member.id).await?,
        )
    };
    let mut lines = Vec::new();
    for id in active {
        let Some(circle) = found.iter().find(|c| c.id == id) else {
            continue;
        };
        if circle.facilitation != Facilitation::Rotating {
            continue;
        }
        let prefs = saved
            .iter()
            .find(|p| p.circle_id == id)
            .cloned()
            .unwrap_or_else(|| RotationPrefs::default_for(id, member.id));
        lines.push(TurnsLine {
            circle_id: circle.id,
            circle: circle.name.clone(),
            opted_in: prefs.opted_in,
            half: prefs.weight < 100,
            paused_until: prefs
                .paused_until
                .map(|d| d.to_string())
                .unwrap_or_default(),
            roles: kinds
                .iter()
                .filter(|k| k.circle_id == id && k.rotates)
                .map(|k| {
                    let out = prefs.opted_out_roles.contains(&k.key);
                    (k.key.clone(), k.name.clone(), out)
                })
                .collect(),
        });
    }
    Ok(lines)
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> PageResult {
    let mut conn = state.pool.get().await?;
    let (_, member) = holder(&state, &mut conn, &token, Purpose::Me).await?;
    let now = Utc::now();
    let mine = memberships::of_member(&mut conn, member.id).await?;
    let upcoming = sessions::for_member(&mut conn, member.id, now, 50).await?;
    let written = reflections::by_member(&mut conn, member.id, 100).await?;
    let mut circle_ids: Vec<CircleId> = mine.iter().map(|m| m.circle_id).collect();
    circle_ids.extend(upcoming.iter().map(|s| s.circle_id));
    circle_ids.extend(written.iter().map(|r| r.circle_id));
    let names = circles::names(&mut conn, &circle_ids).await?;
    let name_of = |id: CircleId| {
        names
            .iter()
            .find(|(c, _, _)| *c == id)
            .map(|(_, n, s)| (n.clone(), s.clone()))
            .unwrap_or_default()
    };
    let session_ids: Vec<_> = upcoming.iter().map(|s| s.id).collect();
    let answers = rsvps::of_member(&mut conn, member.id, &session_ids).await?;
    let zone = viewer_zone(
        &req,
        Some(&member),
        upcoming
            .first()
            .map_or(crate::domain::Timezone::UTC, |s| s.timezone),
    );
    let holder_of = Holder::of(&member);
    let left_circle = query
        .circle
        .as_deref()
        .and_then(|c| c.parse().ok())
        .map(|c| name_of(CircleId(c)).0)
        .filter(|n| !n.is_empty());
    let saved = saved_note(query.saved.as_deref(), left_circle);
    let (upcoming_roles, role_lines, held) =
        roles_and_held(&mut conn, &state, &member, zone, now).await?;
    let turns = turns(&mut conn, &mine, &member).await?;
    let feedback = super::feedback::load(&mut conn, &member, zone, now).await?;
    let agreements = super::agreements::load(&mut conn, &state, &member, zone).await?;
    let scheduled: Vec<_> = upcoming
        .iter()
        .filter(|s| s.status == crate::domain::SessionStatus::Scheduled)
        .collect();
    let answer_of = |id| answers.iter().find(|(s, _)| *s == id).and_then(|(_, r)| *r);
    let to_answer: Vec<super::waiting::SessionToAnswer> = scheduled
        .iter()
        .map(|s| super::waiting::SessionToAnswer {
            circle: name_of(s.circle_id).0,
            starts_at: s.starts_at,
            answered: answer_of(s.id).is_some(),
            rsvp_url: state.links.rsvp(holder_of, s.id.0, s.ends_at, None),
        })
        .collect();
    let waiting = super::waiting::load(
        &mut conn,
        &state,
        &member,
        zone,
        now,
        &upcoming_roles,
        &agreements.rounds,
        &agreements.unacknowledged,
        &to_answer,
    )
    .await?;
    render(MePage {
        waiting,
        agreements,
        feedback,
        base: format!("/me/{}", token.as_str()),
        roles: role_lines,
        held,
        turns,
        name: member.display_name.clone(),
        saved,
        circles: mine
            .iter()
            .filter(|m| m.state != MembershipState::Left)
            .map(|m| {
                let (name, _) = name_of(m.circle_id);
                CircleLine {
                    id: m.circle_id,
                    name,
                    state: membership_label(m.state, m.waitlist_position),
                }
            })
            .collect(),
        zone: zone.name().to_string(),
        sessions: scheduled
            .iter()
            .map(|s| SessionLine {
                circle: name_of(s.circle_id).0,
                when: when(s.starts_at, s.ends_at, zone),
                answer: answer_label(answer_of(s.id)),
                rsvp_url: state.links.rsvp(holder_of, s.id.0, s.ends_at, None),
            })
            .collect(),
        reflections: written
            .into_iter()
            .map(|r| ReflectionLine {
                circle: name_of(r.circle_id).0,
                when: when(r.starts_at, r.ends_at, zone),
                visibility: match r.visibility {
                    crate::domain::ReflectionVisibility::Circle => "shared with the circle",
                    crate::domain::ReflectionVisibility::Private => "private",
                },
                body: r.body,
            })
            .collect(),
        calendar_url: state.links.calendar(holder_of),
        webcal_url: state.links.webcal(holder_of),
        reminders: member.reminders_enabled,
        reflection_prompts: member.reflection_prompts_enabled,
        feedback_requests: member.feedback_requests_enabled,
        consent_reminders: member.consent_reminders_enabled,
        subscribed: member.unsubscribed_at.is_none(),
    })
}
