//! Planning: who is proposed for each rotating role of a circle's coming sessions, from the
//! circle's facts (members, preferences, who held what, who said no), and who could take a
//! role instead of its holders.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::circles::{self, Circle};
use crate::db::roles::{self, EventKind, RoleKind, SessionRole, SlotWrite, FACILITATOR};
use crate::db::sessions::{self, Session};
use crate::db::Connection;
use crate::domain::rota::{self, Candidate};
use crate::domain::{
    CircleId, CircleStatus, Facilitation, MemberId, RoleId, RoleSource, RoleState, SessionId,
};
use crate::error::{AppError, AppResult};

use super::ask::ask_due;
use super::{role_draw_seed, words};

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

/// Serialise re-plans of one circle (the API, the worker and a page may all start one) with a
/// transaction-scoped advisory lock (`rota:<circle>`). Not the circle's row lock
/// (`actions::membership::lock_seats`): a re-plan changes no seats and must not wait for joins.
async fn serialise_replans(conn: &mut Connection, circle: CircleId) -> diesel::QueryResult<()> {
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
                lead: m.lead,
            }
        })
        .collect()
}

/// Who cannot take `kind` in `session`: said no, declined it, or paused. (Holding another
/// role in it is the planner's to see.)
fn excluded(f: &Facts, session: &Session, kind: &RoleKind) -> Vec<MemberId> {
    f.members
        .iter()
        .filter(|m| {
            let id = MemberId(m.member_id);
            f.said_no.contains(&(session.id, id))
                || f.declined.contains(&(session.id, kind.key.clone(), id))
                || m.paused_until
                    .is_some_and(|until| session.local_date < until)
        })
        .map(|m| MemberId(m.member_id))
        .collect()
}

/// What one turn of `kind` weighs in a member's total across roles: leading counts double.
fn load(kind: &RoleKind) -> u32 {
    if kind.key == FACILITATOR {
        2
    } else {
        1
    }
}

/// The circle as the planner sees it: every role, and for each coming session a slot per
/// rotating role and slot number plus the kept holders of roles that do not rotate. Beside
/// it, which kind and slot number each planned slot is.
#[allow(clippy::type_complexity)]
fn to_plan(
    f: &Facts,
    kept: &HashSet<RoleId>,
) -> (Vec<rota::Role>, Vec<rota::Session>, Vec<Vec<(usize, i32)>>) {
    let roles = f
        .kinds
        .iter()
        .map(|k| rota::Role {
            words: words(k),
            load: load(k),
            candidates: candidates(f, k),
        })
        .collect();
    let mut places = Vec::with_capacity(f.sessions.len());
    let sessions = f
        .sessions
        .iter()
        .map(|s| {
            let mut slots = Vec::new();
            let mut at = Vec::new();
            for (r, kind) in f.kinds.iter().enumerate() {
                for slot_no in 1..=kind.slots {
                    let confirmed = f
                        .rows
                        .get(&(s.id, kind.key.clone(), slot_no))
                        .filter(|row| kept.contains(&row.id))
                        .and_then(|row| row.member_id);
                    if !kind.rotates && confirmed.is_none() {
                        continue;
                    }
                    let mut excluded = excluded(f, s, kind);
                    excluded.retain(|m| Some(*m) != confirmed);
                    slots.push(rota::RoleSlot {
                        role: r,
                        confirmed,
                        excluded,
                    });
                    at.push((r, slot_no));
                }
            }
            places.push(at);
            rota::Session {
                session: s.id,
                starts_at: s.starts_at,
                slots,
            }
        })
        .collect();
    (roles, sessions, places)
}

/// The slots accepted or asked whose holder stays: still active and not saying they won't
/// come.
fn kept_rows(f: &Facts) -> HashSet<RoleId> {
    let active: HashSet<MemberId> = f.members.iter().map(|m| MemberId(m.member_id)).collect();
    f.rows
        .values()
        .filter(|row| matches!(row.state, RoleState::Confirmed | RoleState::Asked))
        .filter(|row| {
            row.member_id
                .is_some_and(|m| active.contains(&m) && !f.said_no.contains(&(row.session_id, m)))
        })
        .map(|row| row.id)
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
    serialise_replans(conn, circle.id).await?;
    let f = facts(conn, circle, now).await?;
    let seed = role_draw_seed(circle.id);

    // Holders who go: they left, or said they won't come.
    let kept = kept_rows(&f);
    let mut declined = f.declined.clone();
    for row in f.rows.values() {
        let Some(member) = row.member_id else {
            continue;
        };
        if !matches!(row.state, RoleState::Confirmed | RoleState::Asked) || kept.contains(&row.id) {
            continue;
        }
        let kind = if row.state == RoleState::Asked {
            EventKind::Declined
        } else {
            EventKind::Released
        };
        roles::log(conn, row, Some(member), kind, None, now).await?;
        if row.role_key == FACILITATOR {
            sessions::set_facilitator(conn, row.session_id, None).await?;
        }
        declined.insert((row.session_id, row.role_key.clone(), member));
        out.released += 1;
    }
    let f = Facts { declined, ..f };

    let (roles_, sessions_, places) = to_plan(&f, &kept);
    let plan = rota::plan_circle(&roles_, &sessions_, seed);
    let mut writes = Vec::new();
    for ((session, proposals), at) in f.sessions.iter().zip(plan).zip(places) {
        for (proposal, (r, slot_no)) in proposals.into_iter().zip(at) {
            let kind = &f.kinds[r];
            if proposal.confirmed {
                continue;
            }
            let row = f.rows.get(&(session.id, kind.key.clone(), slot_no));
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
            writes.push(SlotWrite {
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
            });
        }
    }
    out.changed = roles::write_slots(conn, &writes).await?;
    out.asked = ask_due(conn, circle, &f.sessions, now).await?;
    Ok(out)
}

fn declined_by(f: &Facts, session: SessionId, key: &str, member: MemberId) -> bool {
    f.declined.contains(&(session, key.to_string(), member))
}

/// Everyone who could take slot `slot` of `key` in `session` instead of its holder, best
/// first by the rotation's order, counting every turn the plan gives: whom to offer a swap
/// to. People who hold an accepted or asked turn of the role in the coming sessions are left
/// out (taking this one would give them two), and those with only a proposed one come last.
pub async fn ranked_for(
    conn: &mut Connection,
    circle: &Circle,
    session: &Session,
    key: &str,
    slot: i32,
    now: DateTime<Utc>,
) -> AppResult<Vec<MemberId>> {
    let mut f = facts(conn, circle, now).await?;
    if !f.sessions.iter().any(|s| s.id == session.id) {
        f.sessions.push(session.clone());
        f.sessions.sort_by_key(|s| s.starts_at);
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
    let Some(r) = f.kinds.iter().position(|k| k.key == key) else {
        return Ok(Vec::new());
    };
    let kept = kept_rows(&f);
    let (roles_, mut sessions_, places) = to_plan(&f, &kept);
    // What the plan gives counts as given.
    let plan = rota::plan_circle(&roles_, &sessions_, role_draw_seed(circle.id));
    for (planned, proposals) in sessions_.iter_mut().zip(plan) {
        for (x, p) in planned.slots.iter_mut().zip(proposals) {
            x.confirmed = x.confirmed.or(p.member);
        }
    }
    let Some(s) = f.sessions.iter().position(|s| s.id == session.id) else {
        return Ok(Vec::new());
    };
    let Some(x) = places[s].iter().position(|&at| at == (r, slot)) else {
        return Ok(Vec::new());
    };
    let holds_kept: HashSet<MemberId> = f
        .rows
        .values()
        .filter(|row| row.role_key == key && kept.contains(&row.id))
        .filter(|row| !(row.session_id == session.id && row.slot == slot))
        .filter_map(|row| row.member_id)
        .collect();
    Ok(
        rota::rank_for_swap(&roles_, &sessions_, (s, x), role_draw_seed(circle.id))
            .into_iter()
            .filter(|m| !holds_kept.contains(m))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::tests::kind;
    use super::*;

    fn member(n: u128, name: &str) -> roles::PlannerMember {
        roles::PlannerMember {
            member_id: uuid::Uuid::from_u128(n),
            display_name: name.into(),
            opted_in: true,
            weight: 100,
            paused_until: None,
            opted_out_roles: Vec::new(),
            attended: 3,
            elsewhere: 0,
            lead: false,
        }
    }

    /// The facts of a circle with these members and nothing planned yet.
    fn facts(members: Vec<roles::PlannerMember>) -> Facts {
        Facts {
            kinds: Vec::new(),
            sessions: Vec::new(),
            rows: HashMap::new(),
            members,
            held: HashMap::new(),
            declined: HashSet::new(),
            said_no: HashSet::new(),
        }
    }

    #[test]
    fn candidates_are_members_who_take_part_in_that_role() {
        let mut opted_out = member(2, "Bo");
        opted_out.opted_out_roles = vec!["timekeeper".into()];
        let mut not_taking_part = member(3, "Cy");
        not_taking_part.opted_in = false;
        let f = facts(vec![member(1, "Ada"), opted_out, not_taking_part]);
        let names = |key: &str| -> Vec<String> {
            candidates(&f, &kind(key, key))
                .into_iter()
                .map(|c| c.name)
                .collect()
        };
        assert_eq!(names("timekeeper"), ["Ada"]);
        assert_eq!(names(FACILITATOR), ["Ada", "Bo"]);
    }

    #[test]
    fn a_candidate_carries_how_often_and_when_they_last_held_the_role() {
        let last = Utc.with_ymd_and_hms(2026, 1, 5, 18, 0, 0).unwrap();
        let mut heavy = member(1, "Ada");
        heavy.weight = -5;
        heavy.elsewhere = 2;
        let mut f = facts(vec![heavy, member(2, "Bo")]);
        f.held.insert(
            (MemberId(uuid::Uuid::from_u128(1)), "scribe".into()),
            (4, last),
        );
        let c = candidates(&f, &kind("scribe", "Scribe"));
        assert_eq!((c[0].held, c[0].last_held), (4, Some(last)));
        assert_eq!((c[0].weight, c[0].elsewhere, c[0].attended), (0, 2, 3));
        assert_eq!((c[1].held, c[1].last_held), (0, None));
    }

    #[tokio::test]
    async fn nobody_is_proposed_for_a_session_they_said_they_will_not_come_to() {
        use crate::domain::RsvpResponse;
        use crate::testkit as kit;

        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        // Beyond the asking window: proposed, not asked yet.
        let coming = kit::session().in_days(20).weekly(conn, &circle, 2).await;
        crate::db::rsvps::set_response(conn, coming[0].id, ada.id, RsvpResponse::No)
            .await
            .unwrap();

        let planned = replan(conn, circle.id, Utc::now()).await.unwrap();

        assert_eq!(
            planned,
            Planned {
                changed: 2,
                asked: 0,
                released: 0
            }
        );
        let ids: Vec<_> = coming.iter().map(|s| s.id).collect();
        let rows = roles::for_sessions(conn, &ids).await.unwrap();
        let first = rows.iter().find(|r| r.session_id == coming[0].id).unwrap();
        assert_eq!(
            (first.member_id, first.state),
            (Some(bo.id), RoleState::Proposed)
        );
        let second = rows.iter().find(|r| r.session_id == coming[1].id).unwrap();
        assert_eq!(second.member_id, Some(ada.id));
    }

    #[tokio::test]
    async fn an_archived_circle_plans_nothing() {
        use crate::testkit as kit;

        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle()
            .rotating()
            .status(CircleStatus::Archived)
            .create(conn)
            .await;
        kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;

        let planned = replan(conn, circle.id, Utc::now()).await.unwrap();

        assert_eq!(planned, Planned::default());
        assert!(roles::for_sessions(conn, &[session.id])
            .await
            .unwrap()
            .is_empty());
    }
}
