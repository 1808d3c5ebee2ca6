//! Circles that grow circles. When a circle's waitlist reaches its threshold (or an organiser
//! asks), a sibling is proposed: same kind, readings, roles and dates, named after the
//! family's first circle. Members who have led the circle at least twice (or, when nobody who
//! takes part has, once, having come to three of its sessions) are asked to lead it one at a
//! time, in the rotation's fairness order, by a link with Accept and Not now; an ask left
//! unanswered for the circle's answer time passes to the next person. Accepting creates the
//! sibling with its lead (who may move its evening: the same dates a few days later, or at
//! another time), moves the people waiting (first come, up to its capacity) and tells each of
//! them, and links the two circles as a family. Meanwhile, every three weeks, each person
//! waiting hears where they stand (`tell_waiting`).
//!
//! An accept locks the proposal, then the circle: two answers to one proposal take turns, and
//! the second finds it decided, so the waitlist moves once.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;

use super::membership::lock_seats;
use crate::db::circles::{self, Circle, NewCircle};
use crate::db::growing::{self, Proposal};
use crate::db::{
    agendas, jobs, members, memberships, readings, roles, rsvps, sessions, Connection,
};
use crate::domain::growing::{self as rules, Seasoned, Shift, TELL_WAITING_EVERY};
use crate::domain::{
    CircleId, CircleName, CircleStatus, Facilitation, Invalid, MemberId, MembershipRole,
    MembershipState, ProposalId, ProposalStart, ProposalState, Slug,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

/// After a proposal that nobody took on (or that an organiser withdrew), the waitlist does
/// not propose another by itself for this long; an organiser can start one at any time.
pub const QUIET_AFTER: Duration = Duration::days(30);
/// The sibling takes the sessions of the circle that start at least this far ahead, so the
/// people moved have notice of the first one.
pub const MIN_NOTICE: Duration = Duration::days(1);

/// What an organiser (or the threshold) asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The sibling's name; the family's name with the next numeral when absent.
    pub name: Option<String>,
    /// Who to ask first; they must be one of those who may lead.
    pub lead: Option<MemberId>,
}

/// Propose a sibling of `circle_id` and ask the first person in line to lead it.
pub async fn propose(
    conn: &mut Connection,
    circle_id: CircleId,
    started_by: ProposalStart,
    request: Request,
    now: DateTime<Utc>,
) -> AppResult<Proposal> {
    // The name someone typed is checked before anything about the circle.
    let typed = request
        .name
        .as_deref()
        .map(|n| CircleName::parse(n).map(|n| n.as_str().to_string()))
        .transpose()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = lock_seats(conn, circle_id).await?;
        if circle.status == CircleStatus::Archived {
            return Err(AppError::Conflict("this circle is archived".into()));
        }
        if let Some(open) = growing::asking(conn, circle.id).await? {
            return Err(AppError::Conflict(format!(
                "{} already has a sibling proposal ({}) waiting for someone to lead it",
                circle.name, open.name
            )));
        }
        let waiting = memberships::waitlist_length(conn, circle.id).await?;
        if waiting == 0 {
            return Err(AppError::Conflict(format!(
                "nobody is waiting for a seat in {}, so a sibling would start empty",
                circle.name
            )));
        }
        let name = match typed.clone() {
            Some(n) => n,
            None => default_name(conn, &circle).await?,
        };
        let id = ProposalId::new();
        let leads = super::rota::leads_in_order(conn, &circle, now).await?;
        let mut order: Vec<MemberId> = leads.people.iter().map(|l| l.member).collect();
        if let Some(first) = request.lead {
            let Some(at) = order.iter().position(|m| *m == first) else {
                return Err(Invalid::new(
                    "lead_id",
                    format!(
                        "must be an active member of {} who has {} and takes part in leading",
                        circle.name,
                        leads.rule.words()
                    ),
                )
                .into());
            };
            let chosen = order.remove(at);
            order.insert(0, chosen);
        }
        if order.is_empty() {
            return Err(AppError::Conflict(format!(
                "nobody in {} who takes part in leading has led it twice, or once and come to three of its sessions, so there is nobody to ask to lead a sibling",
                circle.name
            )));
        }
        let proposal = growing::insert(conn, id, circle.id, &name, started_by, &order, now)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "{} already has a sibling proposal waiting for someone to lead it",
                    circle.name
                ))
            })?;
        ask_next(conn, &circle, proposal, now).await
    })
    .await
}

/// "Small Room II": the family's first circle's name and the family's next numeral.
async fn default_name(conn: &mut Connection, circle: &Circle) -> AppResult<String> {
    let root = circle.family_id.unwrap_or(circle.id);
    let family = growing::family(conn, root).await?;
    let root_name = family
        .iter()
        .find(|(id, _)| *id == root)
        .map_or(circle.name.as_str(), |(_, n)| n.as_str());
    Ok(rules::sibling_name(root_name, family.len().max(1)))
}

/// Ask the next person in line who is still an active member, or, when nobody is left, close
/// the proposal as unled and tell the circle's organisers.
async fn ask_next(
    conn: &mut Connection,
    circle: &Circle,
    proposal: Proposal,
    now: DateTime<Utc>,
) -> AppResult<Proposal> {
    let active: HashSet<MemberId> =
        memberships::active_among(conn, circle.id, &proposal.lead_order)
            .await?
            .into_iter()
            .collect();
    let next = rules::next_to_ask(&proposal.lead_order, &proposal.passed, |m| {
        active.contains(&m)
    });
    let Some(member) = next else {
        let proposal =
            growing::decide(conn, proposal.id, ProposalState::Unled, None, 0, now).await?;
        tell_organisers_of_proposal(conn, circle.id, &proposal, now).await?;
        return Ok(proposal);
    };
    // An ask the circle's own growth started rides with the person's next letter about the
    // circle when one goes within the week (it is due a few minutes after that letter's time,
    // and finds itself carried); the time to answer counts from then. An organiser's proposal
    // asks at once: someone is waiting for it.
    let ride = match members::find(conn, member).await? {
        Some(m) if proposal.started_by == ProposalStart::Threshold => {
            email_job::next_session_letter(conn, circle.id, &m, now + ASK_WAITS_AT_MOST)
                .await?
                .map(|at| at.max(now) + AFTER_ITS_CARRIER)
        }
        _ => None,
    };
    let sent_at = ride.unwrap_or(now);
    let answer_by = answer_by(conn, circle, sent_at).await?;
    let proposal =
        growing::set_asked(conn, proposal.id, Some(member), now, Some(answer_by)).await?;
    let ask = EmailJob::about_proposal(
        MessageKind::GrowAsk,
        member,
        circle.id,
        proposal.id,
        now.timestamp(),
    );
    jobs::enqueue(conn, ask.into_job(sent_at)).await?;
    Ok(proposal)
}

/// When an ask sent at `sent_at` must be answered: at the end of the day in the circle's zone
/// once the circle's `role_answer_hours` have passed, but before the sibling's first session
/// (the first of the circle's sessions it would copy), so that one is still the sibling's
/// when the answer comes at the last minute.
async fn answer_by(
    conn: &mut Connection,
    circle: &Circle,
    sent_at: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    let hours = Duration::hours(i64::from(circle.role_answer_hours.max(1)));
    let by = crate::domain::clock::end_of_day(sent_at + hours, circle.timezone.tz());
    let first = sessions::upcoming(conn, circle.id, sent_at + MIN_NOTICE, 1).await?;
    Ok(match first.first() {
        Some(s) => by
            .min(s.starts_at - MIN_NOTICE)
            .max(sent_at + Duration::hours(1)),
        None => by,
    })
}

/// How long an ask to lead a sibling waits, at most, for the person's next letter about the
/// circle (a reminder or a reflection prompt), to ride with it.
const ASK_WAITS_AT_MOST: Duration = Duration::days(7);
/// How long after that letter's time the ask is due: by then the letter carried it.
const AFTER_ITS_CARRIER: Duration = Duration::minutes(10);

/// Email the circle's facilitators (or, when it has none, the organisers) about a sibling
/// proposal (a grow notice); `rota::tell_organisers_of_role` is the role-slot notice.
async fn tell_organisers_of_proposal(
    conn: &mut Connection,
    circle: CircleId,
    proposal: &Proposal,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for member in super::rota::organisers_of(conn, circle).await? {
        email_job::enqueue(
            conn,
            EmailJob::about_proposal(
                MessageKind::GrowNotice,
                member,
                circle,
                proposal.id,
                now.timestamp(),
            ),
        )
        .await?;
    }
    Ok(())
}

/// What an answer from the lead's page came to.
#[derive(Debug)]
pub enum Answered {
    /// The sibling exists, led by whoever accepted; this many people moved to it.
    Accepted { sibling: Circle, moved: usize },
    /// Said not now; the next person in line was asked (or nobody was left).
    Passed,
    /// The ask is someone else's now (this person passed, or it lapsed and moved on).
    NotYours,
    /// The proposal was decided already (accepted, nobody took it, or withdrawn).
    Decided(Proposal),
}

/// `member` answers the ask of proposal `id`: accept (`yes`) or not now.
pub async fn answer(
    conn: &mut Connection,
    id: ProposalId,
    member: MemberId,
    yes: bool,
    shift: Shift,
    now: DateTime<Utc>,
) -> AppResult<Answered> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(proposal) = growing::lock(conn, id).await? else {
            return Ok(Answered::NotYours);
        };
        if proposal.state != ProposalState::Asking {
            return Ok(Answered::Decided(proposal));
        }
        let lapsed = proposal.answer_by.is_some_and(|by| by < now);
        if proposal.asked_member_id != Some(member) || lapsed {
            return Ok(Answered::NotYours);
        }
        // Someone who left the circle acts no more for it: their ask lapses by itself.
        super::active_member::require(conn, proposal.circle_id, member).await?;
        let circle = lock_seats(conn, proposal.circle_id).await?;
        if !yes || circle.status == CircleStatus::Archived {
            growing::pass(conn, proposal.id, member).await?;
            let proposal = growing::find(conn, proposal.id)
                .await?
                .ok_or(AppError::NotFound("proposal"))?;
            ask_next(conn, &circle, proposal, now).await?;
            return Ok(if yes {
                Answered::NotYours
            } else {
                Answered::Passed
            });
        }
        let (sibling, moved) = grow(conn, &circle, &proposal, member, shift, now).await?;
        Ok(Answered::Accepted { sibling, moved })
    })
    .await
}

/// Create the sibling led by `lead`, move the waitlist to it and tell everyone concerned.
/// The caller holds the proposal's and the circle's locks.
async fn grow(
    conn: &mut Connection,
    circle: &Circle,
    proposal: &Proposal,
    lead: MemberId,
    shift: Shift,
    now: DateTime<Utc>,
) -> AppResult<(Circle, usize)> {
    let family = circle.family_id.unwrap_or(circle.id);
    if circle.family_id.is_none() {
        growing::join_family(conn, circle.id, family, None).await?;
    }
    let name = CircleName::parse(&proposal.name)?;
    let new = NewCircle {
        id: CircleId::new(),
        slug: Slug::from_name(&name),
        name: name.as_str().to_string(),
        description: circle.description.clone(),
        kind: circle.kind,
        visibility: circle.visibility,
        capacity: circle.capacity,
        timezone: circle.timezone,
        location: circle.location.clone(),
        status: CircleStatus::Open,
        facilitation: circle.facilitation,
        reminder_offset_minutes: circle.reminder_offset_minutes,
        reflection_delay_minutes: circle.reflection_delay_minutes,
        invite_lead_days: circle.invite_lead_days,
        planning_horizon: circle.planning_horizon,
        role_ask_days: circle.role_ask_days,
        role_answer_hours: circle.role_answer_hours,
        feedback_min_answers: circle.feedback_min_answers,
        feedback_roles: circle.feedback_roles.clone(),
        consent_quorum_percent: circle.consent_quorum_percent,
        consent_round_days: circle.consent_round_days,
        grow_threshold: circle.grow_threshold,
    };
    let slug = new.slug.clone();
    let sibling = circles::create(conn, new, &slug, false)
        .await?
        .ok_or_else(|| AppError::Conflict("no free address for the sibling circle".into()))?;
    growing::join_family(conn, sibling.id, family, Some(circle.id)).await?;
    let sibling = circles::find(conn, sibling.id)
        .await?
        .ok_or(AppError::NotFound("circle"))?;
    let readings = readings::copy_all(conn, circle.id, sibling.id).await?;
    // How the circle meets: its role kinds, then its agenda template.
    roles::copy_kinds(conn, circle.id, sibling.id).await?;
    agendas::copy_template(conn, circle.id, sibling.id).await?;

    memberships::upsert(
        conn,
        sibling.id,
        lead,
        MembershipRole::Facilitator,
        MembershipState::Active,
        None,
    )
    .await?;
    let seats = sibling.capacity.map_or(i64::MAX, i64::from);
    let waiting = memberships::waitlist_places(conn, circle.id, seats).await?;
    for (member, _) in &waiting {
        memberships::set(
            conn,
            circle.id,
            *member,
            MembershipRole::Member,
            MembershipState::Left,
            None,
        )
        .await?;
        memberships::upsert(
            conn,
            sibling.id,
            *member,
            MembershipRole::Member,
            MembershipState::Active,
            None,
        )
        .await?;
    }
    memberships::renumber_waitlist(conn, circle.id).await?;
    growing::add_moves(conn, proposal.id, &waiting).await?;

    let coming = sessions::copy_upcoming(
        conn,
        circle.id,
        sibling.id,
        &readings,
        now + MIN_NOTICE,
        sibling.timezone,
        |date, time| shift.apply(date, time),
    )
    .await?;
    if sibling.facilitation == Facilitation::Fixed {
        for s in &coming {
            sessions::set_facilitator(conn, s.id, Some(lead)).await?;
            let s = crate::db::sessions::Session {
                facilitator_id: Some(lead),
                ..s.clone()
            };
            super::rota::facilitator_set(conn, &s, None, now).await?;
        }
    }
    if sibling.facilitation == Facilitation::Rotating {
        super::rota::lead_opens(conn, &coming, lead, now).await?;
    }
    crate::jobs::session_events::sessions_created(conn, &sibling, &coming).await?;
    super::reading_plan::sessions_added(conn, sibling.id, &coming, now).await?;
    super::rota::plan_in(conn, &sibling, now).await?;

    let moved = waiting.len();
    let proposal = growing::decide(
        conn,
        proposal.id,
        ProposalState::Accepted,
        Some(sibling.id),
        moved as i32,
        now,
    )
    .await?;
    let told: Vec<_> = waiting
        .iter()
        .map(|(member, _)| {
            EmailJob::about_proposal(
                MessageKind::GrowMoved,
                *member,
                sibling.id,
                proposal.id,
                now.timestamp(),
            )
            .into_job(now)
        })
        .collect();
    crate::db::jobs::enqueue_many(conn, told).await?;
    tell_organisers_of_proposal(conn, circle.id, &proposal, now).await?;
    super::rota::changed(conn, circle).await?;
    Ok((sibling, moved))
}

/// Where someone moved to `sibling` goes back to if they leave it before taking part in a
/// session: the circle they waited for, at their old waitlist place (or the end, if the
/// waitlist is shorter now), while that circle is not archived and they are not back in it.
pub async fn way_back(
    conn: &mut Connection,
    sibling: &Circle,
    member: MemberId,
) -> AppResult<Option<(Circle, i32)>> {
    let Some(parent) = sibling.parent_id else {
        return Ok(None);
    };
    let Some((_, place)) = growing::moved_into(conn, sibling.id, member).await? else {
        return Ok(None);
    };
    if rsvps::attended_any(conn, sibling.id, member).await? {
        return Ok(None);
    }
    let Some(parent) = circles::find(conn, parent).await? else {
        return Ok(None);
    };
    let there = memberships::find(conn, parent.id, member).await?;
    if parent.status == CircleStatus::Archived
        || there.is_some_and(|m| m.state != MembershipState::Left)
    {
        return Ok(None);
    }
    let waiting = memberships::waitlist_length(conn, parent.id).await?;
    Ok(Some((parent, place.clamp(1, waiting as i32 + 1))))
}

/// A member leaves a sibling they were moved to. Before they have taken part in it, they go
/// back to the waitlist they came from, at their old place; `Some((circle, place))` says
/// where.
pub async fn leave_sibling(
    conn: &mut Connection,
    sibling: CircleId,
    member: MemberId,
) -> AppResult<Option<(String, i32)>> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = lock_seats(conn, sibling).await?;
        let back = way_back(conn, &circle, member).await?;
        super::membership::leave_locked(conn, sibling, member).await?;
        let Some((parent, place)) = back else {
            return Ok(None);
        };
        let parent = lock_seats(conn, parent.id).await?;
        let still_gone = memberships::find(conn, parent.id, member)
            .await?
            .is_none_or(|m| m.state == MembershipState::Left);
        if !still_gone {
            return Ok(None);
        }
        memberships::make_waitlist_room(conn, parent.id, place).await?;
        memberships::upsert(
            conn,
            parent.id,
            member,
            MembershipRole::Member,
            MembershipState::Waitlisted,
            Some(place),
        )
        .await?;
        memberships::renumber_waitlist(conn, parent.id).await?;
        let promoted = super::membership::promote_waitlist(conn, &parent).await?;
        if !promoted.contains(&member) {
            super::membership::enqueue_email(conn, MessageKind::Waitlisted, parent.id, member)
                .await?;
        }
        let place = memberships::find(conn, parent.id, member)
            .await?
            .and_then(|m| m.waitlist_position)
            .unwrap_or(place);
        Ok(Some((parent.name, place)))
    })
    .await
}

/// An organiser calls off a proposal that is still asking.
pub async fn withdraw(
    conn: &mut Connection,
    id: ProposalId,
    now: DateTime<Utc>,
) -> AppResult<Proposal> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let proposal = growing::lock(conn, id)
            .await?
            .ok_or(AppError::NotFound("proposal"))?;
        if proposal.state != ProposalState::Asking {
            return Err(AppError::Conflict(format!(
                "this proposal is {} already",
                proposal.state
            )));
        }
        let called_off = growing::decide(conn, id, ProposalState::Withdrawn, None, 0, now).await?;
        // Whoever was being asked hears that it is off, rather than finding a dead link.
        if let Some(member) = proposal.asked_member_id {
            email_job::enqueue(
                conn,
                EmailJob::about_proposal(
                    MessageKind::GrowNotice,
                    member,
                    proposal.circle_id,
                    proposal.id,
                    now.timestamp(),
                ),
            )
            .await?;
        }
        Ok(called_off)
    })
    .await
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    /// Asks that lapsed and passed to the next person.
    pub passed_on: usize,
    /// Siblings proposed because a waitlist reached its threshold.
    pub proposed: usize,
    /// People waiting who were sent where they stand.
    pub told: usize,
}

/// Act on the clock: asks left unanswered pass to the next person, circles whose waitlist
/// reached the threshold get a proposal (when someone can lead it), and people waiting who
/// have not heard for three weeks are told where they stand.
pub async fn sweep(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<Swept> {
    let mut out = Swept::default();
    for id in growing::lapsed(conn, now).await? {
        let moved_on = conn
            .transaction::<_, AppError, _>(async |conn| {
                let Some(p) = growing::lock(conn, id).await? else {
                    return Ok(false);
                };
                let lapsed = p.answer_by.is_some_and(|by| by < now);
                if p.state != ProposalState::Asking || !lapsed {
                    return Ok(false);
                }
                if let Some(m) = p.asked_member_id {
                    growing::pass(conn, p.id, m).await?;
                }
                let circle = lock_seats(conn, p.circle_id).await?;
                let p = growing::find(conn, p.id)
                    .await?
                    .ok_or(AppError::NotFound("proposal"))?;
                ask_next(conn, &circle, p, now).await?;
                Ok(true)
            })
            .await?;
        out.passed_on += usize::from(moved_on);
    }
    for due in growing::due(conn, now - QUIET_AFTER, None).await? {
        match propose(
            conn,
            due.circle_id,
            ProposalStart::Threshold,
            Request::default(),
            now,
        )
        .await
        {
            Ok(_) => out.proposed += 1,
            // Nobody can lead it yet, or something changed meanwhile: the next sweep looks again.
            Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    out.told = tell_waiting(conn, now).await?;
    Ok(out)
}

/// Tell each person waiting for a seat where they stand ("You're 2nd on the waitlist…"), at
/// most once every [`TELL_WAITING_EVERY`]: to those in an open circle with a session still to
/// come, who take mail, and who have not been told since then (their "you are on the
/// waitlist" email counts). A circle that does not meet again has nothing to wait for yet.
/// Each circle's people are marked told, under its seat lock, in the transaction that queues
/// their letters, so a second run at once finds nobody; a letter is keyed by its three-week
/// window besides. How many were told.
pub async fn tell_waiting(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<usize> {
    let since = now - TELL_WAITING_EVERY;
    let window = rules::tell_window(now);
    let mut told = 0;
    for circle_id in memberships::circles_with_waiting_to_tell(conn, since, now).await? {
        told += conn
            .transaction::<_, AppError, _>(async |conn| {
                let circle = lock_seats(conn, circle_id).await?;
                if circle.status != CircleStatus::Open {
                    return Ok(0);
                }
                let waiting = memberships::tell_waiting(conn, circle.id, since, now).await?;
                // The letters go at once, whatever instant the sweep was asked about.
                let letters = waiting
                    .iter()
                    .map(|m| EmailJob::waitlist_standing(*m, circle.id, window))
                    .map(|letter| letter.into_job(Utc::now()))
                    .collect();
                crate::db::jobs::enqueue_many(conn, letters).await?;
                Ok(waiting.len())
            })
            .await?;
    }
    Ok(told)
}

/// Propose a sibling of `circle` now if its waitlist has reached the threshold and someone
/// can lead it (the `grow_check` job, queued when someone joins the waitlist). Whether one was.
pub async fn check(conn: &mut Connection, circle: CircleId, now: DateTime<Utc>) -> AppResult<bool> {
    if growing::due(conn, now - QUIET_AFTER, Some(circle))
        .await?
        .is_empty()
    {
        return Ok(false);
    }
    match propose(
        conn,
        circle,
        ProposalStart::Threshold,
        Request::default(),
        now,
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(AppError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Everything the dashboard and the API show about a circle's growth: its threshold, who is
/// waiting, who could lead a sibling (in order), and its proposals, newest first.
#[derive(Debug, Clone)]
pub struct Outlook {
    pub threshold: Option<u32>,
    pub waiting: i64,
    /// By which rule `leads` may lead.
    pub rule: Seasoned,
    pub leads: Vec<super::rota::Lead>,
    pub proposals: Vec<Proposal>,
    /// The family's circles (id, name), oldest first; empty until the circle grows.
    pub family: Vec<(CircleId, String)>,
}

pub async fn outlook(
    conn: &mut Connection,
    circle: &Circle,
    now: DateTime<Utc>,
) -> AppResult<Outlook> {
    let waiting = memberships::waitlist_length(conn, circle.id).await?;
    let leads = super::rota::leads_in_order(conn, circle, now).await?;
    let proposals = growing::for_circle(conn, circle.id, 10).await?;
    let family = match circle.family_id {
        Some(f) => growing::family(conn, f).await?,
        None => Vec::new(),
    };
    Ok(Outlook {
        threshold: rules::threshold(circle.capacity, circle.grow_threshold),
        waiting,
        rule: leads.rule,
        leads: leads.people,
        proposals,
        family,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::members::Member;
    use crate::db::roles::FACILITATOR;
    use crate::db::rsvps;
    use crate::domain::RoleState;
    use crate::testkit as kit;
    use diesel_async::RunQueryDsl;

    /// A full circle of two (Lea, who led it twice, and Ada, who led it once), with Wes and
    /// Wyn waiting and a session next week.
    struct Full {
        circle: Circle,
        lea: Member,
        ada: Member,
        waiting: [Member; 2],
    }

    async fn full(conn: &mut Connection) -> Full {
        let circle = kit::circle().capacity(2).create(conn).await;
        let lea = kit::seated(conn, &circle, "Lea").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let waiting = [
            kit::waiting(conn, &circle, "Wes").await,
            kit::waiting(conn, &circle, "Wyn").await,
        ];
        let past = kit::session().in_days(-15).weekly(conn, &circle, 3).await;
        for (session, who) in past.iter().zip([&ada, &lea, &lea]) {
            kit::slot(
                conn,
                session,
                FACILITATOR,
                Some(who.id),
                RoleState::Confirmed,
            )
            .await;
        }
        kit::session().create(conn, &circle).await;
        Full {
            circle,
            lea,
            ada,
            waiting,
        }
    }

    /// The standing letters queued, oldest first: to whom, in which window.
    async fn standing_letters(conn: &mut Connection) -> Vec<(MemberId, Option<i64>)> {
        kit::emails(conn)
            .await
            .into_iter()
            .filter(|e| e.message == MessageKind::WaitlistStanding)
            .map(|e| (e.member_id, e.stamp))
            .collect()
    }

    async fn state_in(
        conn: &mut Connection,
        circle: CircleId,
        member: MemberId,
    ) -> MembershipState {
        memberships::find(conn, circle, member)
            .await
            .unwrap()
            .expect("a membership")
            .state
    }

    #[tokio::test]
    async fn a_sibling_is_offered_to_whoever_led_twice_and_only_with_people_waiting() {
        let conn = &mut kit::fresh_connection().await;
        let f = full(conn).await;
        let quiet = kit::circle().named("Quiet").capacity(2).create(conn).await;
        let now = kit::now();
        let by = ProposalStart::Organiser;

        let empty = propose(conn, quiet.id, by, Request::default(), now).await;
        assert!(matches!(empty, Err(AppError::Conflict(_))));
        let once = Request {
            lead: Some(f.ada.id),
            ..Request::default()
        };
        let too_new = propose(conn, f.circle.id, by, once, now).await;
        assert!(matches!(too_new, Err(AppError::Invalid { ref field, .. }) if field == "lead_id"));

        let proposal = propose(conn, f.circle.id, by, Request::default(), now)
            .await
            .unwrap();

        assert_eq!(proposal.state, ProposalState::Asking);
        assert_eq!(proposal.name, "Braiding Sweetgrass II");
        assert_eq!(proposal.lead_order, [f.lea.id]);
        assert_eq!(proposal.asked_member_id, Some(f.lea.id));
        // The answer is due at the end of the day in the circle's zone once the 72 hours have
        // passed, unless the sibling's first session comes sooner: then a day before it.
        let due = proposal.answer_by.unwrap();
        let zone = f.circle.timezone.tz();
        let end_of_day = crate::domain::clock::end_of_day(now + Duration::hours(72), zone);
        let first = sessions::upcoming(conn, f.circle.id, now + MIN_NOTICE, 1)
            .await
            .unwrap();
        match <[_]>::first(&first) {
            Some(s) if s.starts_at - MIN_NOTICE < end_of_day => {
                assert_eq!(
                    due,
                    (s.starts_at - MIN_NOTICE).max(now + Duration::hours(1))
                )
            }
            _ => assert_eq!(due, end_of_day),
        }
        assert_eq!(kit::emailed(conn, MessageKind::GrowAsk).await, [f.lea.id]);
        let again = propose(conn, f.circle.id, by, Request::default(), now).await;
        assert!(matches!(again, Err(AppError::Conflict(_))));
    }

    #[tokio::test]
    async fn a_grow_answer_is_due_before_the_siblings_first_session() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle()
            .with(|c| {
                c.timezone = crate::domain::Timezone::parse("Europe/London").unwrap();
                c.role_answer_hours = 72;
            })
            .create(conn)
            .await;
        let now = Utc::now();
        // No sessions: the end of the day in London once 72 hours have passed.
        let by = answer_by(conn, &circle, now).await.unwrap();
        let local = by.with_timezone(&chrono_tz::Europe::London);
        assert_eq!(local.format("%H:%M").to_string(), "23:59");
        assert!(by >= now + Duration::hours(72) && by < now + Duration::hours(97));
        // A first session two days off: the answer is due a day before it, so the sibling
        // still has that session when the answer comes at the last minute.
        let soon = kit::session().in_days(2).create(conn, &circle).await;
        let by = answer_by(conn, &circle, now).await.unwrap();
        assert_eq!(by, soon.starts_at - MIN_NOTICE);
        assert!(by < soon.starts_at);
    }

    #[tokio::test]
    async fn a_circle_of_six_is_due_to_grow_when_two_wait_unless_its_organiser_says_otherwise() {
        let conn = &mut kit::fresh_connection().await;
        let six = kit::circle().capacity(6).create(conn).await;
        for name in ["Ada", "Bo", "Cy", "Dee", "Eve", "Fay"] {
            kit::seated(conn, &six, name).await;
        }
        let quiet_since = kit::now() - QUIET_AFTER;
        let due_ids = |due: Vec<growing::Waiting>| -> Vec<CircleId> {
            due.into_iter().map(|w| w.circle_id).collect()
        };

        kit::waiting(conn, &six, "Wes").await;
        let one = growing::due(conn, quiet_since, None).await.unwrap();
        kit::waiting(conn, &six, "Wyn").await;
        let two = growing::due(conn, quiet_since, None).await.unwrap();
        assert_eq!(due_ids(one), []);
        assert_eq!(due_ids(two), [six.id]);

        let changes = circles::CircleChanges {
            grow_threshold: Some(Some(3)),
            ..Default::default()
        };
        crate::actions::circles::update_circle(conn, six.id, changes)
            .await
            .unwrap();
        let set = growing::due(conn, quiet_since, Some(six.id)).await.unwrap();
        assert_eq!(due_ids(set), [], "the organiser's three wins");
    }

    #[tokio::test]
    async fn a_circle_of_six_that_took_fair_turns_grows_led_by_one_who_led_once_and_came() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(6).create(conn).await;
        let mut six = Vec::new();
        for name in ["Ada", "Bo", "Cy", "Dee", "Eve", "Fay"] {
            six.push(kit::seated(conn, &circle, name).await);
        }
        // Six sessions, each led by a different member; Cy came to every one, the others
        // only to the one they led.
        let past = kit::session().in_days(-43).weekly(conn, &circle, 6).await;
        for (session, who) in past.iter().zip(&six) {
            let lead = Some(who.id);
            kit::slot(conn, session, FACILITATOR, lead, RoleState::Confirmed).await;
            rsvps::set_attended(conn, session.id, who.id, true)
                .await
                .unwrap();
            rsvps::set_attended(conn, session.id, six[2].id, true)
                .await
                .unwrap();
        }
        kit::session().create(conn, &circle).await;
        kit::waiting(conn, &circle, "Wes").await;
        kit::waiting(conn, &circle, "Wyn").await;
        let now = kit::now();
        let by = ProposalStart::Organiser;
        let not_enough = Request {
            lead: Some(six[0].id),
            ..Request::default()
        };
        let refused = propose(conn, circle.id, by, not_enough, now).await;
        let Err(AppError::Invalid { field, message }) = refused else {
            panic!("Ada came once: {refused:?}");
        };
        assert_eq!(field, "lead_id");
        assert!(
            message.contains("led it once and come to at least three"),
            "{message}"
        );

        let grew = check(conn, circle.id, now).await.unwrap();

        assert!(grew, "two waiting, and Cy may lead");
        let p = growing::asking(conn, circle.id).await.unwrap().unwrap();
        assert_eq!(p.started_by, ProposalStart::Threshold);
        assert_eq!(p.lead_order, [six[2].id]);
        assert_eq!(kit::emailed(conn, MessageKind::GrowAsk).await, [six[2].id]);
    }

    #[tokio::test]
    async fn people_waiting_hear_where_they_stand_every_three_weeks_and_once_per_run() {
        let conn = &mut kit::fresh_connection().await;
        let f = full(conn).await;
        let [wes, wyn] = &f.waiting;
        let away = kit::waiting(conn, &f.circle, "Ula").await;
        crate::db::members::unsubscribe(conn, away.id)
            .await
            .unwrap();
        kit::session().in_days(90).create(conn, &f.circle).await;
        let start = kit::now();

        // They joined just now: nobody is due, today or in twenty days.
        assert_eq!(tell_waiting(conn, start).await.unwrap(), 0);
        let early = start + Duration::days(20);
        assert_eq!(tell_waiting(conn, early).await.unwrap(), 0);

        let due = start + Duration::days(21) + Duration::minutes(1);
        let told = tell_waiting(conn, due).await.unwrap();
        let again = tell_waiting(conn, due).await.unwrap();
        let soon = tell_waiting(conn, due + Duration::days(20)).await.unwrap();

        assert_eq!((told, again, soon), (2, 0, 0), "once per three weeks");
        let window = Some(rules::tell_window(due));
        let mut queued = standing_letters(conn).await;
        queued.sort();
        let mut expected = vec![(wes.id, window), (wyn.id, window)];
        expected.sort();
        assert_eq!(queued, expected, "not Ula, who unsubscribed");

        // Wes gets a seat; only Wyn hears three weeks later.
        memberships::set(
            conn,
            f.circle.id,
            wes.id,
            MembershipRole::Member,
            MembershipState::Active,
            None,
        )
        .await
        .unwrap();
        let later = due + Duration::days(21);
        assert_eq!(tell_waiting(conn, later).await.unwrap(), 1);
        let last = standing_letters(conn).await.pop();
        assert_eq!(last, Some((wyn.id, Some(rules::tell_window(later)))));

        // An archived circle's waitlist hears nothing.
        crate::actions::circles::archive(conn, f.circle.id)
            .await
            .unwrap();
        let much_later = later + Duration::days(42);
        assert_eq!(tell_waiting(conn, much_later).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn whoever_was_just_told_they_wait_is_not_told_again_for_three_weeks() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        kit::session().in_days(30).create(conn, &circle).await;
        let old = kit::waiting(conn, &circle, "Wes").await;
        let confirmed = kit::waiting(conn, &circle, "Wyn").await;
        // Both joined five weeks ago; Wyn confirmed only now, and was told they wait.
        diesel::sql_query("UPDATE memberships SET joined_at = now() - interval '35 days'")
            .execute(conn)
            .await
            .unwrap();
        let (kind, id) = (MessageKind::Waitlisted, circle.id);
        crate::actions::membership::enqueue_email(conn, kind, id, confirmed.id)
            .await
            .unwrap();

        let now = kit::now();
        assert_eq!(tell_waiting(conn, now).await.unwrap(), 1);
        let told = standing_letters(conn).await;
        assert_eq!(told, [(old.id, Some(rules::tell_window(now)))]);
    }

    #[tokio::test]
    async fn a_waitlist_of_a_circle_that_does_not_meet_again_hears_nothing() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        kit::session().in_days(-3).create(conn, &circle).await;
        kit::waiting(conn, &circle, "Wes").await;
        let due = kit::now() + Duration::days(22);

        assert_eq!(tell_waiting(conn, due).await.unwrap(), 0);
        kit::session().in_days(30).create(conn, &circle).await;
        assert_eq!(tell_waiting(conn, due).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn accepting_moves_the_waitlist_to_the_new_circle() {
        let conn = &mut kit::fresh_connection().await;
        let f = full(conn).await;
        let now = Utc::now();
        let by = ProposalStart::Organiser;
        let p = propose(conn, f.circle.id, by, Request::default(), now)
            .await
            .unwrap();

        let answered = answer(conn, p.id, f.lea.id, true, Shift::default(), now).await;
        let Answered::Accepted { sibling, moved } = answered.unwrap() else {
            panic!("Lea accepts");
        };

        assert_eq!(moved, 2);
        assert_eq!(sibling.parent_id, Some(f.circle.id));
        let lead = memberships::find(conn, sibling.id, f.lea.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (lead.role, lead.state),
            (MembershipRole::Facilitator, MembershipState::Active)
        );
        for w in &f.waiting {
            assert_eq!(
                state_in(conn, f.circle.id, w.id).await,
                MembershipState::Left
            );
            assert_eq!(
                state_in(conn, sibling.id, w.id).await,
                MembershipState::Active
            );
        }
        let mut told = kit::emailed(conn, MessageKind::GrowMoved).await;
        told.sort();
        let mut waiting: Vec<_> = f.waiting.iter().map(|w| w.id).collect();
        waiting.sort();
        assert_eq!(told, waiting);
        let coming = sessions::upcoming(conn, sibling.id, now, 10).await.unwrap();
        assert_eq!(coming.len(), 1);
        assert_eq!(coming[0].facilitator_id, Some(f.lea.id));
        let twice = answer(conn, p.id, f.lea.id, true, Shift::default(), now).await;
        assert!(
            matches!(twice.unwrap(), Answered::Decided(d) if d.state == ProposalState::Accepted)
        );
    }

    #[tokio::test]
    async fn someone_moved_who_leaves_before_taking_part_goes_back_to_their_place() {
        let conn = &mut kit::fresh_connection().await;
        let f = full(conn).await;
        let now = Utc::now();
        let by = ProposalStart::Organiser;
        let p = propose(conn, f.circle.id, by, Request::default(), now)
            .await
            .unwrap();
        let Answered::Accepted { sibling, .. } =
            answer(conn, p.id, f.lea.id, true, Shift::default(), now)
                .await
                .unwrap()
        else {
            panic!("Lea accepts");
        };
        let wes = f.waiting[0].id;

        let back = leave_sibling(conn, sibling.id, wes).await.unwrap();

        assert_eq!(back, Some((f.circle.name.clone(), 1)));
        assert_eq!(state_in(conn, sibling.id, wes).await, MembershipState::Left);
        let place = memberships::find(conn, f.circle.id, wes)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (place.state, place.waitlist_position),
            (MembershipState::Waitlisted, Some(1))
        );
        assert_eq!(kit::emailed(conn, MessageKind::Waitlisted).await, [wes]);
    }

    #[tokio::test]
    async fn not_now_from_the_last_in_line_leaves_the_proposal_unled() {
        let conn = &mut kit::fresh_connection().await;
        let f = full(conn).await;
        let ora = kit::organiser(conn, "Ora").await;
        let now = Utc::now();
        let by = ProposalStart::Organiser;
        let p = propose(conn, f.circle.id, by, Request::default(), now)
            .await
            .unwrap();

        let answered = answer(conn, p.id, f.lea.id, false, Shift::default(), now).await;

        assert!(matches!(answered.unwrap(), Answered::Passed));
        let p = growing::find(conn, p.id).await.unwrap().unwrap();
        assert_eq!((p.state, p.passed), (ProposalState::Unled, vec![f.lea.id]));
        assert_eq!(kit::emailed(conn, MessageKind::GrowNotice).await, [ora.id]);
        for w in &f.waiting {
            assert_eq!(
                state_in(conn, f.circle.id, w.id).await,
                MembershipState::Waitlisted
            );
        }
    }

    #[tokio::test]
    async fn an_organiser_withdraws_a_proposal_only_while_it_asks() {
        let conn = &mut kit::fresh_connection().await;
        let f = full(conn).await;
        let now = Utc::now();
        let by = ProposalStart::Organiser;
        let p = propose(conn, f.circle.id, by, Request::default(), now)
            .await
            .unwrap();

        let withdrawn = withdraw(conn, p.id, now).await.unwrap();
        let again = withdraw(conn, p.id, now).await;

        assert_eq!(withdrawn.state, ProposalState::Withdrawn);
        assert!(matches!(again, Err(AppError::Conflict(_))));
        let late = answer(conn, p.id, f.lea.id, true, Shift::default(), now).await;
        assert!(matches!(late.unwrap(), Answered::Decided(_)));
    }
}
