//! Who belongs to which circle, in which role and state, and the waitlist's order.
//!
//! Capacity counts active members with the `member` role; facilitators host and never take
//! a seat or wait. Every change of seats happens in one transaction holding the circle's
//! row lock, so concurrent joins can never seat more than the capacity.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::circles::{self, Circle};
use super::jobs;
use super::members;
use super::schema::{members as members_t, memberships};
use crate::domain::{
    CircleId, CircleStatus, DisplayName, EmailAddress, MemberId, MembershipRole, MembershipState,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::EmailJob;
use crate::jobs::fanout::MemberInvitations;

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub struct Membership {
    pub circle_id: CircleId,
    pub member_id: MemberId,
    pub role: MembershipRole,
    pub state: MembershipState,
    pub waitlist_position: Option<i32>,
    pub joined_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A membership with the person's name and address, as a circle's roster shows it.
#[derive(Debug, Clone, diesel::Queryable, Serialize, utoipa::ToSchema)]
pub struct RosterEntry {
    pub member_id: MemberId,
    pub email: String,
    pub display_name: String,
    pub role: MembershipRole,
    pub state: MembershipState,
    pub waitlist_position: Option<i32>,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AddOutcome {
    pub membership: Membership,
    /// False when the person already held a seat or a waitlist place: nothing changed.
    pub changed: bool,
}

/// Add a person vouched for by a facilitator or organiser: active at once when a seat is
/// free, else at the end of the waitlist; a welcome or waitlisted email is queued.
pub async fn add_vouched(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    email: &EmailAddress,
    display_name: &DisplayName,
    role: MembershipRole,
) -> AppResult<AddOutcome> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        if circle.status == CircleStatus::Archived {
            return Err(AppError::Conflict("this circle is archived".into()));
        }
        let member = members::find_or_create(conn, email, display_name, None).await?;
        if let Some(existing) = find(conn, circle_id, member.id).await? {
            if matches!(
                existing.state,
                MembershipState::Active | MembershipState::Waitlisted
            ) {
                return Ok(AddOutcome {
                    membership: existing,
                    changed: false,
                });
            }
        }
        let membership = seat(conn, &circle, member.id, role).await?;
        let kind = match membership.state {
            MembershipState::Waitlisted => MessageKind::Waitlisted,
            _ => MessageKind::Welcome,
        };
        enqueue_email(conn, kind, circle_id, member.id).await?;
        Ok(AddOutcome {
            membership,
            changed: true,
        })
    })
    .await
}

/// Give `member` a seat, or the next waitlist place, in a circle whose row the caller locked.
async fn seat(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    member: MemberId,
    role: MembershipRole,
) -> diesel::QueryResult<Membership> {
    let full = match circle.capacity {
        Some(cap) if role == MembershipRole::Member => {
            seated_count(conn, circle.id).await? >= i64::from(cap)
        }
        _ => false,
    };
    let (state, position) = if full {
        let last: Option<i32> = memberships::table
            .filter(memberships::circle_id.eq(circle.id))
            .filter(memberships::state.eq(MembershipState::Waitlisted))
            .select(diesel::dsl::max(memberships::waitlist_position))
            .first(conn)
            .await?;
        (MembershipState::Waitlisted, Some(last.unwrap_or(0) + 1))
    } else {
        (MembershipState::Active, None)
    };
    let now = Utc::now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::circle_id.eq(circle.id),
            memberships::member_id.eq(member),
            memberships::role.eq(role),
            memberships::state.eq(state),
            memberships::waitlist_position.eq(position),
            memberships::joined_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .on_conflict((memberships::circle_id, memberships::member_id))
        .do_update()
        .set((
            memberships::role.eq(role),
            memberships::state.eq(state),
            memberships::waitlist_position.eq(position),
            memberships::joined_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)
        .await
}

/// How many people wait for a seat.
pub async fn waitlist_length(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<i64> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .count()
        .get_result(conn)
        .await
}

/// The display name of whoever is first on the waitlist.
pub async fn waitlist_head(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Option<String>> {
    memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .order((memberships::waitlist_position, memberships::joined_at))
        .select(members_t::display_name)
        .first(conn)
        .await
        .optional()
}

/// Active members holding a seat (facilitators excluded).
pub async fn seated_count(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<i64> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Active))
        .filter(memberships::role.eq(MembershipRole::Member))
        .count()
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<Option<Membership>> {
    memberships::table
        .find((circle, member))
        .select(Membership::as_select())
        .first(conn)
        .await
        .optional()
}

/// Leave a circle. A freed seat goes to the head of the waitlist; a freed waitlist place
/// closes up. Leaving twice changes nothing.
pub async fn leave(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
) -> AppResult<Membership> {
    leave_and_refill(conn, circle_id, member_id)
        .await
        .map(|(m, _)| m)
}

/// Leave a circle, and say who got the freed seat (if anyone).
pub async fn leave_and_refill(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
) -> AppResult<(Membership, Vec<MemberId>)> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        let existing = find(conn, circle_id, member_id)
            .await?
            .ok_or(AppError::NotFound("membership"))?;
        if existing.state == MembershipState::Left {
            return Ok((existing, Vec::new()));
        }
        let left = diesel::update(memberships::table.find((circle_id, member_id)))
            .set((
                memberships::state.eq(MembershipState::Left),
                memberships::waitlist_position.eq(None::<i32>),
                memberships::updated_at.eq(Utc::now()),
            ))
            .returning(Membership::as_returning())
            .get_result(conn)
            .await?;
        renumber_waitlist(conn, circle_id).await?;
        let promoted = promote_waitlist(conn, &circle).await?;
        Ok((left, promoted))
    })
    .await
}

/// Fill free seats from the head of the waitlist, queueing a "you're in" email for each
/// person promoted. The caller holds the circle's lock.
pub async fn promote_waitlist(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
) -> diesel::QueryResult<Vec<MemberId>> {
    let free = match circle.capacity {
        Some(cap) => i64::from(cap) - seated_count(conn, circle.id).await?,
        None => i64::MAX,
    };
    if free <= 0 {
        return Ok(Vec::new());
    }
    let promoted: Vec<MemberId> = memberships::table
        .filter(memberships::circle_id.eq(circle.id))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .order(memberships::waitlist_position)
        .limit(free)
        .select(memberships::member_id)
        .load(conn)
        .await?;
    if promoted.is_empty() {
        return Ok(promoted);
    }
    diesel::update(
        memberships::table
            .filter(memberships::circle_id.eq(circle.id))
            .filter(memberships::member_id.eq_any(&promoted)),
    )
    .set((
        memberships::state.eq(MembershipState::Active),
        memberships::waitlist_position.eq(None::<i32>),
        memberships::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    renumber_waitlist(conn, circle.id).await?;
    for member in &promoted {
        enqueue_email(conn, MessageKind::Promoted, circle.id, *member).await?;
    }
    Ok(promoted)
}

/// Make waitlist positions 1..n again, keeping their order.
pub async fn renumber_waitlist(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE memberships m SET waitlist_position = r.rn \
         FROM (SELECT member_id, row_number() OVER (ORDER BY waitlist_position, joined_at) AS rn \
               FROM memberships WHERE circle_id = $1 AND state = 'waitlisted') r \
         WHERE m.circle_id = $1 AND m.member_id = r.member_id \
           AND m.waitlist_position IS DISTINCT FROM r.rn",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .execute(conn)
    .await
    .map(drop)
}

/// Change someone's role. A new facilitator never waits, and a seat they free is refilled.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
    role: MembershipRole,
) -> AppResult<Membership> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        let existing = find(conn, circle_id, member_id)
            .await?
            .filter(|m| m.state != MembershipState::Left)
            .ok_or(AppError::NotFound("membership"))?;
        let state = if role == MembershipRole::Facilitator
            && existing.state == MembershipState::Waitlisted
        {
            MembershipState::Active
        } else {
            existing.state
        };
        let position = if state == MembershipState::Waitlisted {
            existing.waitlist_position
        } else {
            None
        };
        let updated = diesel::update(memberships::table.find((circle_id, member_id)))
            .set((
                memberships::role.eq(role),
                memberships::state.eq(state),
                memberships::waitlist_position.eq(position),
                memberships::updated_at.eq(Utc::now()),
            ))
            .returning(Membership::as_returning())
            .get_result(conn)
            .await?;
        renumber_waitlist(conn, circle_id).await?;
        promote_waitlist(conn, &circle).await?;
        Ok(updated)
    })
    .await
}

/// What a roster row reads: the membership and the person's name and address.
const ROSTER_COLUMNS: (
    memberships::member_id,
    members_t::email,
    members_t::display_name,
    memberships::role,
    memberships::state,
    memberships::waitlist_position,
    memberships::joined_at,
) = (
    memberships::member_id,
    members_t::email,
    members_t::display_name,
    memberships::role,
    memberships::state,
    memberships::waitlist_position,
    memberships::joined_at,
);

/// A page of a circle's roster, ordered by member id, optionally in one state.
pub async fn roster(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    state: Option<MembershipState>,
    after: Option<MemberId>,
    limit: i64,
) -> diesel::QueryResult<Vec<RosterEntry>> {
    let mut query = memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .select(ROSTER_COLUMNS)
        .order(memberships::member_id)
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(memberships::state.eq(state));
    }
    if let Some(after) = after {
        query = query.filter(memberships::member_id.gt(after));
    }
    query.load(conn).await
}

/// Of `candidates`, those who are active in the circle.
pub async fn active_among(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    candidates: &[MemberId],
) -> diesel::QueryResult<Vec<MemberId>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::member_id.eq_any(candidates))
        .filter(memberships::state.eq(MembershipState::Active))
        .select(memberships::member_id)
        .load(conn)
        .await
}

/// Queue the membership email and, for someone who now holds a seat, their invitations to
/// the circle's upcoming sessions.
async fn enqueue_email(
    conn: &mut AsyncPgConnection,
    message: MessageKind,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<()> {
    let email = EmailJob {
        message,
        member_id: member,
        circle_id: Some(circle),
        session_id: None,
        sequence: None,
    };
    let mut batch = vec![email.into_job(Utc::now())];
    if matches!(message, MessageKind::Welcome | MessageKind::Promoted) {
        batch.push(
            MemberInvitations {
                circle_id: circle,
                member_id: member,
            }
            .into_job(),
        );
    }
    jobs::enqueue_many(conn, batch).await.map(drop)
}

/// Every membership of one member, any state.
pub async fn of_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> diesel::QueryResult<Vec<Membership>> {
    memberships::table
        .filter(memberships::member_id.eq(member))
        .order(memberships::joined_at)
        .select(Membership::as_select())
        .load(conn)
        .await
}

/// A public signup: the person becomes (or stays) a pending member and gets a confirmation
/// email. Someone already seated or waiting is left exactly as they are.
pub async fn sign_up(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    email: &EmailAddress,
    display_name: &DisplayName,
    timezone: Option<&str>,
) -> AppResult<()> {
    let circle = circles::lock(conn, circle_id)
        .await?
        .ok_or(AppError::NotFound("circle"))?;
    if circle.status != CircleStatus::Open {
        return Err(AppError::NotFound("circle"));
    }
    let member = members::find_or_create(conn, email, display_name, timezone).await?;
    let existing = find(conn, circle_id, member.id).await?.map(|m| m.state);
    match existing {
        Some(MembershipState::Active | MembershipState::Waitlisted) => return Ok(()),
        Some(MembershipState::Pending) => {}
        None | Some(MembershipState::Left) => {
            let now = Utc::now();
            diesel::insert_into(memberships::table)
                .values((
                    memberships::circle_id.eq(circle_id),
                    memberships::member_id.eq(member.id),
                    memberships::role.eq(MembershipRole::Member),
                    memberships::state.eq(MembershipState::Pending),
                    memberships::joined_at.eq(now),
                    memberships::updated_at.eq(now),
                ))
                .on_conflict((memberships::circle_id, memberships::member_id))
                .do_update()
                .set((
                    memberships::role.eq(MembershipRole::Member),
                    memberships::state.eq(MembershipState::Pending),
                    memberships::waitlist_position.eq(None::<i32>),
                    memberships::joined_at.eq(now),
                    memberships::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
        }
    }
    let job = EmailJob {
        message: MessageKind::Confirmation,
        member_id: member.id,
        circle_id: Some(circle_id),
        session_id: None,
        sequence: None,
    };
    jobs::enqueue(conn, job.into_job(Utc::now())).await?;
    Ok(())
}

/// Confirm a pending signup: a seat if one is free, else the end of the waitlist. Confirming
/// again changes nothing; `None` means there is no signup to confirm.
pub async fn confirm_signup(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
) -> AppResult<Option<Membership>> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        let Some(existing) = find(conn, circle_id, member_id).await? else {
            return Ok(None);
        };
        match existing.state {
            MembershipState::Active | MembershipState::Waitlisted => return Ok(Some(existing)),
            MembershipState::Left => return Ok(None),
            MembershipState::Pending => {}
        }
        if circle.status == CircleStatus::Archived {
            return Err(AppError::Conflict("this circle is archived".into()));
        }
        members::mark_verified(conn, member_id).await?;
        let membership = seat(conn, &circle, member_id, existing.role).await?;
        let kind = match membership.state {
            MembershipState::Waitlisted => MessageKind::Waitlisted,
            _ => MessageKind::Welcome,
        };
        enqueue_email(conn, kind, circle_id, member_id).await?;
        Ok(Some(membership))
    })
    .await
}

/// Change a circle's settings; more seats (or no limit) let people in from the waitlist.
pub async fn update_circle(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    changes: circles::CircleChanges,
) -> AppResult<Circle> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let before = circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        let circle = circles::update(conn, circle_id, changes)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict(_) => AppError::Conflict("that slug is taken".into()),
                other => other,
            })?;
        promote_waitlist(conn, &circle).await?;
        if circle.invite_lead_days != before.invite_lead_days {
            crate::jobs::session_events::invitation_lead_changed(conn, &circle).await?;
        }
        Ok(circle)
    })
    .await
}

/// Move a waitlisted person one place up or down.
pub async fn move_in_waitlist(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
    up: bool,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        let me = find(conn, circle_id, member_id)
            .await?
            .filter(|m| m.state == MembershipState::Waitlisted)
            .ok_or(AppError::NotFound("waitlist place"))?;
        let position = me.waitlist_position.unwrap_or(1);
        let other_position = if up { position - 1 } else { position + 1 };
        let other: Option<MemberId> = memberships::table
            .filter(memberships::circle_id.eq(circle_id))
            .filter(memberships::waitlist_position.eq(other_position))
            .select(memberships::member_id)
            .first(conn)
            .await
            .optional()?;
        if let Some(other) = other {
            diesel::update(memberships::table.find((circle_id, other)))
                .set(memberships::waitlist_position.eq(position))
                .execute(conn)
                .await?;
            diesel::update(memberships::table.find((circle_id, member_id)))
                .set(memberships::waitlist_position.eq(other_position))
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Give a waitlisted person a seat now, even beyond the capacity (a facilitator's call).
pub async fn promote_now(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        circles::lock(conn, circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        find(conn, circle_id, member_id)
            .await?
            .filter(|m| m.state == MembershipState::Waitlisted)
            .ok_or(AppError::NotFound("waitlist place"))?;
        diesel::update(memberships::table.find((circle_id, member_id)))
            .set((
                memberships::state.eq(MembershipState::Active),
                memberships::waitlist_position.eq(None::<i32>),
                memberships::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        renumber_waitlist(conn, circle_id).await?;
        enqueue_email(conn, MessageKind::Promoted, circle_id, member_id).await?;
        Ok(())
    })
    .await
}

/// A page of the roster in a useful order: facilitators, members, the waitlist in order,
/// then people who have not confirmed; 1-based `page` of `per_page`.
pub async fn roster_page(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    page: i64,
    per_page: i64,
) -> diesel::QueryResult<(Vec<RosterEntry>, i64)> {
    // `roster_rank` is NULL exactly for people who left (see its migration).
    let total: i64 = memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::roster_rank.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    // Facilitators, seated members, the waitlist in order, then the unconfirmed: the stored
    // `roster_rank` and its index give this order without sorting the circle.
    let rows = memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::roster_rank.is_not_null())
        .order((
            memberships::roster_rank,
            memberships::waitlist_position,
            memberships::joined_at,
            memberships::member_id,
        ))
        .limit(per_page)
        .offset((page.max(1) - 1) * per_page)
        .select(ROSTER_COLUMNS)
        .load(conn)
        .await?;
    Ok((rows, total))
}
