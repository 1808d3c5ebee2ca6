//! Taking turns: planning who holds each rotating role of a circle's coming sessions, asking
//! them by email when a session comes within the circle's asking window, and what follows an
//! answer (accept confirms; a decline or an ask left unanswered moves the role to the next
//! person, who is asked at once). Organisers can assign a holder directly. The rule itself is
//! `domain::rotation`; this module feeds it the circle's facts and writes what it says.
//!
//! Re-planning only ever rewrites slots that are proposed, open or declined: a holder who
//! accepted or was asked keeps the slot until they answer, leave the circle or say they will
//! not come.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::db::circles::{self, Circle};
use crate::db::roles::{self, EventKind, RoleKind, SessionRole, SlotWrite, FACILITATOR};
use crate::db::sessions::{self, Session};
use crate::db::{memberships, Connection};
pub use crate::domain::roles::Notice;
use crate::domain::rotation::{self, Candidate, RoleWords, Slot};
use crate::domain::{
    CircleId, CircleStatus, Facilitation, MemberId, MembershipRole, MembershipState, RoleId,
    RoleSource, RoleState, SessionId, SessionStatus,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};
use crate::jobs::rota_plan;

/// How long before a session an organiser is told that a role is still open.
pub const OPEN_WARNING: Duration = Duration::hours(48);

/// Queue a re-plan when `circle` rotates (its roster changed); nothing for one that does not.
pub async fn changed(conn: &mut Connection, circle: &Circle) -> diesel::QueryResult<()> {
    if circle.facilitation == Facilitation::Rotating {
        rota_plan::enqueue(conn, circle.id).await?;
    }
    Ok(())
}

/// The seed a circle's draws use, recorded on every slot it fills so a pick can be re-run.
pub fn seed_for(circle: CircleId) -> u64 {
    let digest = Sha256::digest(format!("rota:{circle}").as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// How a role reads in a why-line.
pub fn words(kind: &RoleKind) -> RoleWords {
    RoleWords {
        done: if kind.key == FACILITATOR {
            "led".into()
        } else {
            format!("been {}", kind.name.to_lowercase())
        },
        min_attended: kind.min_attended.max(0) as u32,
    }
}

/// What a re-plan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Slots whose proposed holder changed (or that became open).
    pub changed: usize,
    /// Holders asked by email in this run.
    pub asked: usize,
    /// Holders let go because they left or said they will not come.
    pub released: usize,
}

/// Re-plan `circle` as of `now` in its own transaction.
pub async fn replan(
    conn: &mut Connection,
    circle: CircleId,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = circles::find(conn, circle)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        plan_in(conn, &circle, now).await
    })
    .await
}

/// The facts the planner needs about one circle's coming sessions.
struct Facts {
    kinds: Vec<RoleKind>,
    sessions: Vec<Session>,
    rows: HashMap<(SessionId, String, i32), SessionRole>,
    members: Vec<roles::PlannerMember>,
    held: HashMap<(MemberId, String), (u32, DateTime<Utc>)>,
    declined: HashSet<(SessionId, String, MemberId)>,
    said_no: HashSet<(SessionId, MemberId)>,
}

async fn facts(
    conn: &mut Connection,
    circle: &Circle,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Facts> {
    let kinds = roles::kinds(conn, circle.id).await?;
    let sessions: Vec<Session> =
        sessions::upcoming(conn, circle.id, now, i64::from(circle.planning_horizon)).await?;
    let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
    let rows = roles::for_sessions(conn, &ids)
        .await?
        .into_iter()
        .map(|r| ((r.session_id, r.role_key.clone(), r.slot), r))
        .collect();
    let members = roles::planner_members(conn, circle.id, now).await?;
    let held = roles::held(conn, circle.id, None, now)
        .await?
        .into_iter()
        .map(|h| {
            (
                (MemberId(h.member_id), h.role_key),
                (h.count.max(0) as u32, h.last_at),
            )
        })
        .collect();
    let declined = roles::declines(conn, &ids).await?.into_iter().collect();
    let said_no = roles::answered_no(conn, &ids).await?.into_iter().collect();
    Ok(Facts {
        kinds,
        sessions,
        rows,
        members,
        held,
        declined,
        said_no,
    })
}

/// Serialise re-plans of one circle (the API, the worker and a page may all start one).
async fn lock_circle(conn: &mut Connection, circle: CircleId) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('rota:' || $1::text, 0))")
        .bind::<diesel::sql_types::Uuid, _>(circle.0)
        .execute(conn)
        .await
        .map(drop)
}

/// The candidates for `kind`: active members who take part and have not opted out of it.
fn candidates(f: &Facts, kind: &RoleKind) -> Vec<Candidate> {
    f.members
        .iter()
        .filter(|m| m.opted_in && !m.opted_out_roles.contains(&kind.key))
        .map(|m| {
            let id = MemberId(m.member_id);
            let (held, last) = f
                .held
                .get(&(id, kind.key.clone()))
                .map_or((0, None), |(n, at)| (*n, Some(*at)));
            Candidate {
                member: id,
                name: m.display_name.clone(),
                weight: m.weight.max(0) as u32,
                attended: m.attended.max(0) as u32,
                held,
                last_held: last,
                elsewhere: m.elsewhere.max(0) as u32,
            }
        })
        .collect()
}

/// Who cannot take `kind` in `session`: said no, declined it, paused, or holds `taken`.
fn excluded(
    f: &Facts,
    session: &Session,
    kind: &RoleKind,
    taken: &HashSet<MemberId>,
) -> Vec<MemberId> {
    f.members
        .iter()
        .map(|m| MemberId(m.member_id))
        .filter(|id| {
            f.said_no.contains(&(session.id, *id))
                || f.declined.contains(&(session.id, kind.key.clone(), *id))
                || taken.contains(id)
        })
        .chain(f.members.iter().filter_map(|m| {
            m.paused_until
                .filter(|until| session.local_date < *until)
                .map(|_| MemberId(m.member_id))
        }))
        .collect()
}

/// Plan the circle inside the caller's transaction and ask whoever is due.
pub async fn plan_in(
    conn: &mut Connection,
    circle: &Circle,
    now: DateTime<Utc>,
) -> AppResult<Planned> {
    let mut out = Planned::default();
    if circle.facilitation != Facilitation::Rotating || circle.status == CircleStatus::Archived {
        return Ok(out);
    }
    lock_circle(conn, circle.id).await?;
    let f = facts(conn, circle, now).await?;
    let active: HashSet<MemberId> = f.members.iter().map(|m| MemberId(m.member_id)).collect();
    let seed = seed_for(circle.id);

    // Holders who stay: accepted or asked, still active, and not saying they won't come.
    let mut taken: HashMap<SessionId, HashSet<MemberId>> = HashMap::new();
    let mut kept: HashSet<RoleId> = HashSet::new();
    for row in f.rows.values() {
        let Some(member) = row.member_id else {
            continue;
        };
        if !matches!(row.state, RoleState::Confirmed | RoleState::Asked) {
            continue;
        }
        if active.contains(&member) && !f.said_no.contains(&(row.session_id, member)) {
            taken.entry(row.session_id).or_default().insert(member);
            kept.insert(row.id);
        } else {
            let kind = if row.state == RoleState::Asked {
                EventKind::Declined
            } else {
                EventKind::Released
            };
            roles::log(conn, row, Some(member), kind, None, now).await?;
            if row.role_key == FACILITATOR {
                sessions::set_facilitator(conn, row.session_id, None).await?;
            }
            out.released += 1;
        }
    }
    let mut declined = f.declined.clone();
    for row in f.rows.values() {
        if let Some(m) = row.member_id.filter(|_| !kept.contains(&row.id)) {
            if matches!(row.state, RoleState::Confirmed | RoleState::Asked) {
                declined.insert((row.session_id, row.role_key.clone(), m));
            }
        }
    }
    let f = Facts { declined, ..f };

    for kind in f.kinds.iter().filter(|k| k.rotates) {
        let role = words(kind);
        let people = candidates(&f, kind);
        for slot_no in 1..=kind.slots {
            let slots: Vec<Slot> = f
                .sessions
                .iter()
                .map(|s| {
                    let row = f.rows.get(&(s.id, kind.key.clone(), slot_no));
                    let confirmed = row
                        .filter(|r| kept.contains(&r.id))
                        .and_then(|r| r.member_id);
                    let none = HashSet::new();
                    let mut ex = excluded(&f, s, kind, taken.get(&s.id).unwrap_or(&none));
                    ex.retain(|m| Some(*m) != confirmed);
                    Slot {
                        session: s.id,
                        starts_at: s.starts_at,
                        confirmed,
                        excluded: ex,
                    }
                })
                .collect();
            let plan = rotation::plan(&role, &people, &slots, seed);
            for (session, proposal) in f.sessions.iter().zip(plan) {
                let row = f.rows.get(&(session.id, kind.key.clone(), slot_no));
                if proposal.confirmed {
                    continue;
                }
                if let Some(m) = proposal.member {
                    taken.entry(session.id).or_default().insert(m);
                }
                let last_decliner = row
                    .filter(|_| proposal.member.is_none())
                    .and_then(|r| r.member_id)
                    .filter(|m| declined_by(&f, session.id, &kind.key, *m));
                let (state, member) = match (proposal.member, last_decliner) {
                    (Some(m), _) => (RoleState::Proposed, Some(m)),
                    (None, Some(d)) => (RoleState::Declined, Some(d)),
                    (None, None) => (RoleState::Open, None),
                };
                let unchanged = row.is_some_and(|r| {
                    r.member_id == member && r.state == state && r.why == proposal.why
                });
                if unchanged {
                    continue;
                }
                roles::write_slot(
                    conn,
                    &SlotWrite {
                        session_id: session.id,
                        circle_id: circle.id,
                        role_key: kind.key.clone(),
                        slot: slot_no,
                        member_id: member,
                        state,
                        source: RoleSource::Rotation,
                        why: proposal.why,
                        seed: Some(seed as i64),
                        asked_at: None,
                        answered_at: None,
                    },
                )
                .await?;
                out.changed += 1;
            }
        }
    }
    out.asked = ask_due(conn, circle, &f.sessions, now).await?;
    Ok(out)
}

fn declined_by(f: &Facts, session: SessionId, key: &str, member: MemberId) -> bool {
    f.declined.contains(&(session, key.to_string(), member))
}

/// Everyone who could take `key` in `session` instead of its holders, best first by the
/// rotation's order: whom to offer a swap to.
pub async fn ranked_for(
    conn: &mut Connection,
    circle: &Circle,
    session: &Session,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<MemberId>> {
    let mut f = facts(conn, circle, now).await?;
    if !f.sessions.iter().any(|s| s.id == session.id) {
        f.sessions.push(session.clone());
        for r in roles::for_sessions(conn, &[session.id]).await? {
            f.rows.insert((r.session_id, r.role_key.clone(), r.slot), r);
        }
        for (s, m) in roles::answered_no(conn, &[session.id]).await? {
            f.said_no.insert((s, m));
        }
        for (s, k, m) in roles::declines(conn, &[session.id]).await? {
            f.declined.insert((s, k, m));
        }
    }
    let Some(kind) = f.kinds.iter().find(|k| k.key == key).cloned() else {
        return Ok(Vec::new());
    };
    let taken: HashSet<MemberId> = f
        .rows
        .values()
        .filter(|r| r.session_id == session.id)
        .filter(|r| matches!(r.state, RoleState::Confirmed | RoleState::Asked))
        .filter_map(|r| r.member_id)
        .collect();
    let slot = Slot {
        session: session.id,
        starts_at: session.starts_at,
        confirmed: None,
        excluded: excluded(&f, session, &kind, &taken),
    };
    Ok(rotation::rank(
        &words(&kind),
        &candidates(&f, &kind),
        &slot,
        seed_for(circle.id),
    ))
}

/// Someone who may lead: a member of the circle who led it often enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub member: MemberId,
    pub name: String,
    /// Sessions of the circle they led.
    pub led: u32,
}

/// The circle's active members who led it at least `min_led` times and take part (opted in,
/// not paused, not opted out of leading), best first by the rotation's order: the largest
/// shortfall against a fair share of leading (counting roles held in other circles), then
/// who led least recently, then the circle's seeded draw.
pub async fn leads_in_order(
    conn: &mut Connection,
    circle: &Circle,
    min_led: u32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Lead>> {
    let members = roles::planner_members(conn, circle.id, now).await?;
    let led: HashMap<MemberId, (u32, DateTime<Utc>)> = roles::held(conn, circle.id, None, now)
        .await?
        .into_iter()
        .filter(|h| h.role_key == FACILITATOR)
        .map(|h| (MemberId(h.member_id), (h.count.max(0) as u32, h.last_at)))
        .collect();
    let today = now.date_naive();
    let people: Vec<Candidate> = members
        .iter()
        .filter(|m| m.opted_in && !m.opted_out_roles.iter().any(|r| r == FACILITATOR))
        .filter(|m| m.paused_until.is_none_or(|until| until <= today))
        .filter_map(|m| {
            let id = MemberId(m.member_id);
            let (held, last) = led.get(&id).copied()?;
            (held >= min_led).then(|| Candidate {
                member: id,
                name: m.display_name.clone(),
                weight: m.weight.max(1) as u32,
                attended: m.attended.max(0) as u32,
                held,
                last_held: Some(last),
                elsewhere: m.elsewhere.max(0) as u32,
            })
        })
        .collect();
    let slot = Slot {
        session: SessionId(circle.id.0),
        starts_at: now,
        confirmed: None,
        excluded: Vec::new(),
    };
    let order = rotation::rank(
        &RoleWords::facilitator(),
        &people,
        &slot,
        seed_for(circle.id),
    );
    Ok(order
        .into_iter()
        .filter_map(|id| people.iter().find(|c| c.member == id))
        .map(|c| Lead {
            member: c.member,
            name: c.name.clone(),
            led: c.held,
        })
        .collect())
}

/// Ask every proposed holder whose session is inside the asking window.
async fn ask_due(
    conn: &mut Connection,
    circle: &Circle,
    sessions_: &[Session],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let window = Duration::days(i64::from(circle.role_ask_days));
    let due: Vec<SessionId> = sessions_
        .iter()
        .filter(|s| s.starts_at - window <= now)
        .map(|s| s.id)
        .collect();
    let mut asked = 0;
    for row in roles::for_sessions(conn, &due).await? {
        if row.state == RoleState::Proposed && row.member_id.is_some() {
            ask(conn, &row, now).await?;
            asked += 1;
        }
    }
    Ok(asked)
}

/// Email the proposed holder "Would you …?" and mark the slot asked.
async fn ask(conn: &mut Connection, row: &SessionRole, now: DateTime<Utc>) -> AppResult<()> {
    let Some(member) = row.member_id else {
        return Ok(());
    };
    let row = roles::set_state(conn, row.id, RoleState::Asked, now).await?;
    roles::log(conn, &row, Some(member), EventKind::Asked, None, now).await?;
    email_job::enqueue(
        conn,
        EmailJob::about_role(MessageKind::RoleAsk, member, &row, None),
    )
    .await?;
    Ok(())
}

/// What an answer from the role page came to.
#[derive(Debug)]
pub enum Reply {
    Done(SessionRole),
    /// The slot is no longer this person's to answer (reassigned, or the role was removed).
    NotYours,
    /// The session has started, or was cancelled.
    Closed,
}

/// Lock the slot and check that `member` may answer for it.
async fn answerable(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Result<(SessionRole, Session), Reply>> {
    let Some(row) = roles::lock(conn, id).await? else {
        return Ok(Err(Reply::NotYours));
    };
    if row.member_id != Some(member) {
        return Ok(Err(Reply::NotYours));
    }
    super::active_member::require(conn, row.circle_id, member).await?;
    let session = sessions::find(conn, row.session_id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    if session.status != SessionStatus::Scheduled || session.starts_at <= now {
        return Ok(Err(Reply::Closed));
    }
    Ok(Ok((row, session)))
}

/// Accept a proposed or asked role: it is confirmed, with the feedback its holder asked for
/// after the session (anonymous, named, or none).
pub async fn accept(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    feedback: crate::domain::FeedbackMode,
    now: DateTime<Utc>,
) -> AppResult<Reply> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let (row, _) = match answerable(conn, id, member, now).await? {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        if row.state == RoleState::Confirmed {
            return Ok(Reply::Done(row));
        }
        if !matches!(row.state, RoleState::Proposed | RoleState::Asked) {
            return Ok(Reply::NotYours);
        }
        roles::set_feedback(conn, row.id, feedback).await?;
        let row = roles::set_state(conn, row.id, RoleState::Confirmed, now).await?;
        roles::log(
            conn,
            &row,
            Some(member),
            EventKind::Confirmed,
            Some(member),
            now,
        )
        .await?;
        if row.role_key == FACILITATOR {
            sessions::set_facilitator(conn, row.session_id, Some(member)).await?;
        }
        Ok(Reply::Done(row))
    })
    .await
}

/// Decline a role (or give up an accepted one): the next eligible person is proposed and,
/// inside the asking window, asked at once.
pub async fn decline(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Reply> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let (row, session) = match answerable(conn, id, member, now).await? {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        if row.state == RoleState::Declined {
            return Ok(Reply::Done(row));
        }
        let was_confirmed = row.state == RoleState::Confirmed;
        let row = roles::set_state(conn, row.id, RoleState::Declined, now).await?;
        let kind = if was_confirmed {
            EventKind::Released
        } else {
            EventKind::Declined
        };
        roles::log(conn, &row, Some(member), kind, Some(member), now).await?;
        if was_confirmed && row.role_key == FACILITATOR {
            sessions::set_facilitator(conn, row.session_id, None).await?;
        }
        let circle = circles::find(conn, session.circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        plan_in(conn, &circle, now).await?;
        let row = roles::find(conn, row.id).await?.unwrap_or(row);
        Ok(Reply::Done(row))
    })
    .await
}

/// `member` left `circle`: whatever roles they held, were asked or were proposed for in its
/// sessions still to come open again, however the circle is led, and swaps they asked for are
/// void. A rotating circle re-plans the open slots at once; elsewhere whoever runs the circle
/// fills them (and is told two days ahead, as for any open role). Returns how many opened.
pub async fn release_leaver(
    conn: &mut Connection,
    circle: &Circle,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let released = roles::release_ahead(conn, circle.id, member, now).await?;
    for row in &released {
        let kind = if row.state == RoleState::Confirmed {
            EventKind::Released
        } else {
            EventKind::Declined
        };
        roles::log(conn, row, Some(member), kind, Some(member), now).await?;
        if row.role_key == FACILITATOR && row.state == RoleState::Confirmed {
            sessions::set_facilitator(conn, row.session_id, None).await?;
        }
    }
    let ids: Vec<RoleId> = released.iter().map(|r| r.id).collect();
    crate::db::swaps::void_for(conn, &ids, now).await?;
    changed(conn, circle).await?;
    Ok(released.len())
}

/// An organiser or facilitator puts `member` in a slot directly: confirmed, and they are told.
pub async fn assign(
    conn: &mut Connection,
    session_id: SessionId,
    key: &str,
    slot: i32,
    member: MemberId,
    actor: MemberId,
    now: DateTime<Utc>,
) -> AppResult<SessionRole> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let session = sessions::lock(conn, session_id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if session.status == SessionStatus::Cancelled {
            return Err(AppError::Conflict("this session has been cancelled".into()));
        }
        let kind = roles::kind(conn, session.circle_id, key)
            .await?
            .ok_or(AppError::NotFound("role"))?;
        if slot < 1 || slot > kind.slots {
            return Err(AppError::invalid(
                "slot",
                format!("must be between 1 and {} for this role", kind.slots),
            ));
        }
        if memberships::active_among(conn, session.circle_id, &[member])
            .await?
            .is_empty()
        {
            return Err(AppError::invalid(
                "member_id",
                "is not an active member of this circle",
            ));
        }
        let others = roles::for_sessions(conn, &[session.id]).await?;
        if others.iter().any(|r| {
            r.member_id == Some(member)
                && !(r.role_key == key && r.slot == slot)
                && matches!(r.state, RoleState::Confirmed | RoleState::Asked)
        }) {
            return Err(AppError::Conflict(
                "this person already holds another role in this session".into(),
            ));
        }
        let current = roles::find_slot(conn, session.id, key, slot).await?;
        if let Some(cur) = &current {
            if cur.member_id == Some(member) && cur.state == RoleState::Confirmed {
                return Ok(cur.clone());
            }
            if let Some(previous) = cur.member_id.filter(|m| *m != member) {
                if matches!(cur.state, RoleState::Confirmed | RoleState::Asked) {
                    roles::log(
                        conn,
                        cur,
                        Some(previous),
                        EventKind::Released,
                        Some(actor),
                        now,
                    )
                    .await?;
                }
            }
        }
        let row = roles::write_slot(conn, &assigned(&session, key, slot, member, now)).await?;
        roles::log(
            conn,
            &row,
            Some(member),
            EventKind::Assigned,
            Some(actor),
            now,
        )
        .await?;
        if key == FACILITATOR {
            sessions::set_facilitator(conn, session.id, Some(member)).await?;
        }
        if member != actor {
            email_job::enqueue(
                conn,
                EmailJob::about_role(MessageKind::RoleConfirmed, member, &row, None),
            )
            .await?;
        }
        let circle = circles::find(conn, session.circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        plan_in(conn, &circle, now).await?;
        Ok(row)
    })
    .await
}

/// A slot an organiser filled: confirmed at `now`.
fn assigned(
    session: &Session,
    key: &str,
    slot: i32,
    member: MemberId,
    now: DateTime<Utc>,
) -> SlotWrite {
    SlotWrite {
        session_id: session.id,
        circle_id: session.circle_id,
        role_key: key.to_string(),
        slot,
        member_id: Some(member),
        state: RoleState::Confirmed,
        source: RoleSource::Organiser,
        why: "Assigned by an organiser.".into(),
        seed: None,
        asked_at: None,
        answered_at: Some(now),
    }
}

/// Keep the facilitator slot in step when a session's facilitator is set the old way
/// (`facilitator_id` on the session): confirmed, from an organiser.
pub async fn facilitator_set(
    conn: &mut Connection,
    session: &Session,
    actor: Option<MemberId>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let current = roles::find_slot(conn, session.id, FACILITATOR, 1).await?;
    match session.facilitator_id {
        Some(member) => {
            if current
                .as_ref()
                .is_some_and(|c| c.member_id == Some(member) && c.state == RoleState::Confirmed)
            {
                return Ok(());
            }
            let row =
                roles::write_slot(conn, &assigned(session, FACILITATOR, 1, member, now)).await?;
            roles::log(conn, &row, Some(member), EventKind::Assigned, actor, now).await?;
        }
        None => {
            if let Some(cur) = current.filter(|c| c.state == RoleState::Confirmed) {
                roles::log(conn, &cur, cur.member_id, EventKind::Released, actor, now).await?;
                roles::set_state(conn, cur.id, RoleState::Open, now).await?;
            }
        }
    }
    Ok(())
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub asked: usize,
    pub timed_out: usize,
    pub reported: usize,
}

/// Act on the clock at `now`: ask holders whose session entered its window, treat asks left
/// unanswered past the circle's answer time as declines (telling the organisers), and tell
/// organisers of roles still open 48 hours before their session.
pub async fn sweep(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<Swept> {
    let mut out = Swept::default();
    let due = roles::due(conn, now, 500).await?;
    for d in due {
        let id = RoleId(d.id);
        let circle_id = CircleId(d.circle_id);
        let result = conn
            .transaction::<_, AppError, _>(async |conn| {
                let Some(row) = roles::lock(conn, id).await? else {
                    return Ok(None);
                };
                let Some(circle) = circles::find(conn, circle_id).await? else {
                    return Ok(None);
                };
                let session = sessions::find(conn, row.session_id)
                    .await?
                    .ok_or(AppError::NotFound("session"))?;
                match row.state {
                    RoleState::Proposed => {
                        let window = Duration::days(i64::from(circle.role_ask_days));
                        if circle.facilitation == Facilitation::Rotating
                            && session.starts_at - window <= now
                            && row.member_id.is_some()
                        {
                            ask(conn, &row, now).await?;
                            return Ok(Some("asked"));
                        }
                        Ok(None)
                    }
                    RoleState::Asked => {
                        let limit = Duration::hours(i64::from(circle.role_answer_hours));
                        if row.asked_at.is_none_or(|at| at + limit > now) {
                            return Ok(None);
                        }
                        let member = row.member_id;
                        let row = roles::set_state(conn, row.id, RoleState::Declined, now).await?;
                        roles::log(conn, &row, member, EventKind::TimedOut, None, now).await?;
                        tell_organisers(conn, &circle, &row, Notice::Unanswered).await?;
                        plan_in(conn, &circle, now).await?;
                        Ok(Some("timed_out"))
                    }
                    RoleState::Open | RoleState::Declined => {
                        if row.reported_at.is_some() || session.starts_at - OPEN_WARNING > now {
                            return Ok(None);
                        }
                        roles::mark_reported(conn, row.id, now).await?;
                        tell_organisers(conn, &circle, &row, Notice::StillOpen).await?;
                        Ok(Some("reported"))
                    }
                    RoleState::Confirmed => Ok(None),
                }
            })
            .await?;
        match result {
            Some("asked") => out.asked += 1,
            Some("timed_out") => out.timed_out += 1,
            Some("reported") => out.reported += 1,
            _ => {}
        }
    }
    Ok(out)
}

/// Email the circle's facilitators (or, when it has none, the organisers) about a slot.
pub async fn tell_organisers(
    conn: &mut Connection,
    circle: &Circle,
    row: &SessionRole,
    notice: Notice,
) -> AppResult<()> {
    for member in organisers_of(conn, circle.id).await? {
        email_job::enqueue(
            conn,
            EmailJob::about_role(MessageKind::RoleNotice, member, row, Some(notice)),
        )
        .await?;
    }
    Ok(())
}

/// The circle's active facilitators; the service's organisers when it has none.
pub async fn organisers_of(conn: &mut Connection, circle: CircleId) -> AppResult<Vec<MemberId>> {
    let facilitators = memberships::with_role(
        conn,
        circle,
        MembershipRole::Facilitator,
        MembershipState::Active,
    )
    .await?;
    if !facilitators.is_empty() {
        return Ok(facilitators);
    }
    Ok(crate::db::members::organizers(conn).await?)
}
