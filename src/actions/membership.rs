//! Joining, confirming, adding vouched people, leaving, roles, the waitlist and circle
//! settings: each a transaction that takes the circle's row lock, writes, and queues the mail
//! it causes.
//!
//! Capacity counts active members with the `member` role; facilitators host and never take a
//! seat or wait. Every change of seats happens while the circle's row is locked, so
//! concurrent joins can never seat more than the capacity.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::circles::{self, Circle};
use crate::db::memberships::{self, Membership};
use crate::db::{jobs, members};
use crate::domain::{
    CircleId, CircleStatus, DisplayName, EmailAddress, MemberId, MembershipRole, MembershipState,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::EmailJob;
use crate::jobs::fanout::MemberInvitations;

#[derive(Debug, Clone)]
pub struct AddOutcome {
    pub membership: Membership,
    /// False when the person already held a seat or a waitlist place: nothing changed.
    pub changed: bool,
}

/// Read the circle and hold its row `FOR NO KEY UPDATE` until the transaction ends
/// (`db::circles::lock`; "Locks" in docs/architecture.md says why not `FOR UPDATE`): every
/// change of who holds a seat takes this lock first. A missing circle is `NotFound`.
pub(crate) async fn lock_seats(conn: &mut AsyncPgConnection, id: CircleId) -> AppResult<Circle> {
    circles::lock(conn, id)
        .await?
        .ok_or(AppError::NotFound("circle"))
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
        let circle = lock_seats(conn, circle_id).await?;
        if circle.status == CircleStatus::Archived {
            return Err(AppError::Conflict("this circle is archived".into()));
        }
        let member = members::find_or_create(conn, email, display_name, None).await?;
        if let Some(existing) = memberships::find(conn, circle_id, member.id).await? {
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
        enqueue_email(conn, arrival(&membership), circle_id, member.id).await?;
        super::rota::changed(conn, &circle).await?;
        Ok(AddOutcome {
            membership,
            changed: true,
        })
    })
    .await
}

/// The email for someone who has just been seated or put on the waitlist.
fn arrival(membership: &Membership) -> MessageKind {
    match membership.state {
        MembershipState::Waitlisted => MessageKind::Waitlisted,
        _ => MessageKind::Welcome,
    }
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
            memberships::seated_count(conn, circle.id).await? >= i64::from(cap)
        }
        _ => false,
    };
    let (state, position) = if full {
        let last = memberships::last_waitlist_position(conn, circle.id).await?;
        crate::jobs::growing_check::enqueue(conn, circle.id).await?;
        (MembershipState::Waitlisted, Some(last.unwrap_or(0) + 1))
    } else {
        (MembershipState::Active, None)
    };
    memberships::upsert(conn, circle.id, member, role, state, position).await
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
    conn.transaction::<_, AppError, _>(async |conn| leave_locked(conn, circle_id, member_id).await)
        .await
}

/// [`leave_and_refill`] inside a transaction the caller opened.
pub(crate) async fn leave_locked(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
) -> AppResult<(Membership, Vec<MemberId>)> {
    let circle = lock_seats(conn, circle_id).await?;
    let existing = memberships::find(conn, circle_id, member_id)
        .await?
        .ok_or(AppError::NotFound("membership"))?;
    if existing.state == MembershipState::Left {
        return Ok((existing, Vec::new()));
    }
    let left = memberships::set(
        conn,
        circle_id,
        member_id,
        existing.role,
        MembershipState::Left,
        None,
    )
    .await?;
    memberships::renumber_waitlist(conn, circle_id).await?;
    let promoted = promote_waitlist(conn, &circle).await?;
    super::rota::release_leaver(conn, &circle, member_id, Utc::now()).await?;
    // Feedback they could still answer now has fewer people who could: its lead reads none.
    crate::db::feedback::note_departure(conn, circle_id, member_id, Utc::now()).await?;
    Ok((left, promoted))
}

/// Fill free seats from the head of the waitlist, queueing a "you're in" email for each
/// person promoted. The caller holds the circle's lock.
pub(crate) async fn promote_waitlist(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
) -> diesel::QueryResult<Vec<MemberId>> {
    let free = match circle.capacity {
        Some(cap) => i64::from(cap) - memberships::seated_count(conn, circle.id).await?,
        None => i64::MAX,
    };
    if free <= 0 {
        return Ok(Vec::new());
    }
    let promoted = memberships::waitlist_heads(conn, circle.id, free).await?;
    if promoted.is_empty() {
        return Ok(promoted);
    }
    memberships::activate(conn, circle.id, &promoted).await?;
    memberships::renumber_waitlist(conn, circle.id).await?;
    for member in &promoted {
        enqueue_email(conn, MessageKind::Promoted, circle.id, *member).await?;
    }
    Ok(promoted)
}

/// Change someone's role. A new facilitator never waits, and a seat they free is refilled.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
    role: MembershipRole,
) -> AppResult<Membership> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = lock_seats(conn, circle_id).await?;
        let existing = memberships::find(conn, circle_id, member_id)
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
        let updated = memberships::set(conn, circle_id, member_id, role, state, position).await?;
        memberships::renumber_waitlist(conn, circle_id).await?;
        promote_waitlist(conn, &circle).await?;
        Ok(updated)
    })
    .await
}

/// Queue the membership email and, for someone who now holds a seat, their invitations to
/// the circle's upcoming sessions. "You are on the waitlist" tells someone where they stand,
/// so their next standing letter is three weeks from now (`growing::tell_waiting`).
pub(crate) async fn enqueue_email(
    conn: &mut AsyncPgConnection,
    message: MessageKind,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<()> {
    let now = Utc::now();
    if message == MessageKind::Waitlisted {
        memberships::waitlist_told(conn, circle, member, now).await?;
    }
    let email = EmailJob::membership(message, member, circle);
    let mut batch = vec![email.into_job(now)];
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

/// A public signup: the person becomes (or stays) a pending member and gets a confirmation
/// email. Someone already seated or waiting is left exactly as they are. A pending signup
/// takes no seat (seats are decided at confirmation, under the circle's row lock), so the
/// circle is only held `FOR SHARE`: signups to one circle run side by side, and the circle
/// cannot close or change underneath them.
///
/// A circle holds at most `pending_cap` unconfirmed signups: a new one beyond it stores and
/// sends nothing, and the caller answers as usual (nobody learns which addresses signed up).
pub async fn sign_up(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    email: &EmailAddress,
    display_name: &DisplayName,
    timezone: Option<&str>,
    pending_cap: u32,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let facts = memberships::signup_facts(conn, circle_id, email, i64::from(pending_cap))
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        if facts.status != CircleStatus::Open {
            return Err(AppError::NotFound("circle"));
        }
        if matches!(facts.state, None | Some(MembershipState::Left)) && facts.full_of_pending {
            return Ok(());
        }
        let member = match facts.member_id {
            Some(id) => id,
            None => {
                // Someone new: the person, the membership and the confirmation in one
                // statement, unless someone with the address was added meanwhile.
                let id = MemberId::new();
                let job = EmailJob::membership(MessageKind::Confirmation, id, circle_id);
                let job = job.into_job(Utc::now());
                if memberships::sign_up_new_person(
                    conn,
                    id,
                    email,
                    display_name,
                    timezone,
                    circle_id,
                    &job,
                )
                .await?
                {
                    return Ok(());
                }
                members::find_or_create(conn, email, display_name, timezone)
                    .await?
                    .id
            }
        };
        match facts.state {
            Some(MembershipState::Active | MembershipState::Waitlisted) => return Ok(()),
            Some(MembershipState::Pending) => {}
            None | Some(MembershipState::Left) => {
                memberships::upsert(
                    conn,
                    circle_id,
                    member,
                    MembershipRole::Member,
                    MembershipState::Pending,
                    None,
                )
                .await?;
            }
        }
        let job = EmailJob::membership(MessageKind::Confirmation, member, circle_id);
        jobs::enqueue(conn, job.into_job(Utc::now())).await?;
        Ok(())
    })
    .await
}

/// Delete the signups nobody confirmed within `days` (at most a thousand a run; the clock
/// runs again in five minutes). Their confirmation links then say to sign up again. How many.
pub async fn purge_unconfirmed(
    conn: &mut AsyncPgConnection,
    now: chrono::DateTime<Utc>,
    days: u32,
) -> AppResult<usize> {
    let before = now - chrono::Duration::days(i64::from(days));
    Ok(memberships::purge_pending(conn, before, 1000).await?)
}

/// Confirm a pending signup: a seat if one is free, else the end of the waitlist. Confirming
/// again changes nothing; `None` means there is no signup to confirm.
pub async fn confirm_signup(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    member_id: MemberId,
) -> AppResult<Option<Membership>> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let circle = lock_seats(conn, circle_id).await?;
        let Some(existing) = memberships::find(conn, circle_id, member_id).await? else {
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
        enqueue_email(conn, arrival(&membership), circle_id, member_id).await?;
        super::rota::changed(conn, &circle).await?;
        Ok(Some(membership))
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
        lock_seats(conn, circle_id).await?;
        let me = memberships::find(conn, circle_id, member_id)
            .await?
            .filter(|m| m.state == MembershipState::Waitlisted)
            .ok_or(AppError::NotFound("waitlist place"))?;
        let position = me.waitlist_position.unwrap_or(1);
        let other_position = if up { position - 1 } else { position + 1 };
        if let Some(other) =
            memberships::at_waitlist_position(conn, circle_id, other_position).await?
        {
            memberships::set_waitlist_position(conn, circle_id, other, position).await?;
            memberships::set_waitlist_position(conn, circle_id, member_id, other_position).await?;
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
        let circle = lock_seats(conn, circle_id).await?;
        memberships::find(conn, circle_id, member_id)
            .await?
            .filter(|m| m.state == MembershipState::Waitlisted)
            .ok_or(AppError::NotFound("waitlist place"))?;
        memberships::activate(conn, circle_id, &[member_id]).await?;
        memberships::renumber_waitlist(conn, circle_id).await?;
        enqueue_email(conn, MessageKind::Promoted, circle_id, member_id).await?;
        super::rota::changed(conn, &circle).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{fanout, growing_check, rota_plan};
    use crate::testkit as kit;

    #[tokio::test]
    async fn a_circle_holds_a_bounded_number_of_unconfirmed_signups_and_they_expire() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let name = DisplayName::parse("Someone").unwrap();
        let address = |i: usize| EmailAddress::parse(&format!("p{i}@example.org")).unwrap();
        for i in 0..2 {
            sign_up(conn, circle.id, &address(i), &name, None, 2)
                .await
                .unwrap();
        }
        // The third is answered as usual: nothing stored, nothing sent.
        sign_up(conn, circle.id, &address(2), &name, None, 2)
            .await
            .unwrap();
        assert!(members::find_by_email(conn, &address(2))
            .await
            .unwrap()
            .is_none());
        assert_eq!(kit::emailed(conn, MessageKind::Confirmation).await.len(), 2);
        // Someone already waiting to confirm may sign up again (their letter is still on its
        // way, so it is not queued twice).
        sign_up(conn, circle.id, &address(0), &name, None, 2)
            .await
            .unwrap();
        assert_eq!(kit::emailed(conn, MessageKind::Confirmation).await.len(), 2);
        // The seats and the waitlist are counted without them.
        let seated = kit::seated(conn, &circle, "Ada").await;
        let counts = memberships::member_counts(conn, circle.id).await.unwrap();
        assert_eq!(counts, [(MembershipState::Active, 1)]);

        // A week on, the unconfirmed are gone; the seated member stays.
        let now = Utc::now();
        assert_eq!(purge_unconfirmed(conn, now, 7).await.unwrap(), 0);
        let later = now + chrono::Duration::days(7) + chrono::Duration::minutes(1);
        assert_eq!(purge_unconfirmed(conn, later, 7).await.unwrap(), 2);
        assert_eq!(
            membership(conn, &circle, seated.id).await.state,
            MembershipState::Active
        );
        let p0 = members::find_by_email(conn, &address(0))
            .await
            .unwrap()
            .unwrap();
        assert!(confirm_signup(conn, circle.id, p0.id)
            .await
            .unwrap()
            .is_none());
        // Room again for new signups.
        sign_up(conn, circle.id, &address(2), &name, None, 2)
            .await
            .unwrap();
        assert!(members::find_by_email(conn, &address(2))
            .await
            .unwrap()
            .is_some());
    }

    async fn membership(
        conn: &mut AsyncPgConnection,
        circle: &Circle,
        member: MemberId,
    ) -> Membership {
        memberships::find(conn, circle.id, member)
            .await
            .unwrap()
            .expect("a membership")
    }

    #[tokio::test]
    async fn confirming_a_signup_in_a_full_circle_puts_them_on_the_waitlist() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        let email = EmailAddress::parse("bo@example.org").unwrap();
        let name = DisplayName::parse("Bo").unwrap();

        sign_up(conn, circle.id, &email, &name, None, 1000)
            .await
            .unwrap();
        let bo = members::find_by_email(conn, &email).await.unwrap().unwrap();
        assert_eq!(
            membership(conn, &circle, bo.id).await.state,
            MembershipState::Pending
        );
        assert_eq!(kit::emailed(conn, MessageKind::Confirmation).await, [bo.id]);

        let confirmed = confirm_signup(conn, circle.id, bo.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(confirmed.state, MembershipState::Waitlisted);
        assert_eq!(confirmed.waitlist_position, Some(1));
        assert_eq!(kit::emailed(conn, MessageKind::Waitlisted).await, [bo.id]);
        assert!(kit::emailed(conn, MessageKind::Welcome).await.is_empty());
        assert_eq!(kit::queued_of(conn, growing_check::KIND).await.len(), 1);
        let verified = members::find(conn, bo.id).await.unwrap().unwrap();
        assert!(verified.email_verified_at.is_some());

        // Confirming again changes nothing.
        let again = confirm_signup(conn, circle.id, bo.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.waitlist_position, Some(1));
        assert_eq!(kit::emailed(conn, MessageKind::Waitlisted).await.len(), 1);
    }

    #[tokio::test]
    async fn leaving_gives_the_seat_to_the_head_of_the_waitlist() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;
        let cy = kit::waiting(conn, &circle, "Cy").await;

        let (left, promoted) = leave_and_refill(conn, circle.id, ada.id).await.unwrap();

        assert_eq!(left.state, MembershipState::Left);
        assert_eq!(promoted, [bo.id]);
        let bo_now = membership(conn, &circle, bo.id).await;
        assert_eq!(
            (bo_now.state, bo_now.waitlist_position),
            (MembershipState::Active, None)
        );
        let cy_now = membership(conn, &circle, cy.id).await;
        assert_eq!(
            (cy_now.state, cy_now.waitlist_position),
            (MembershipState::Waitlisted, Some(1))
        );
        assert_eq!(kit::emailed(conn, MessageKind::Promoted).await, [bo.id]);
        assert_eq!(kit::queued_of(conn, fanout::MEMBER_KIND).await.len(), 1);

        // Leaving twice changes nothing.
        let again = leave(conn, circle.id, ada.id).await.unwrap();
        assert_eq!(again.state, MembershipState::Left);
        assert_eq!(kit::emailed(conn, MessageKind::Promoted).await, [bo.id]);
        assert_eq!(
            membership(conn, &circle, cy.id).await.waitlist_position,
            Some(1)
        );
    }

    #[tokio::test]
    async fn vouching_twice_for_someone_seats_and_welcomes_them_once() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        let email = EmailAddress::parse("ada@example.org").unwrap();
        let name = DisplayName::parse("Ada").unwrap();
        let role = MembershipRole::Member;

        let first = add_vouched(conn, circle.id, &email, &name, role)
            .await
            .unwrap();
        let second = add_vouched(conn, circle.id, &email, &name, role)
            .await
            .unwrap();

        assert!(first.changed);
        assert_eq!(first.membership.state, MembershipState::Active);
        assert!(!second.changed);
        assert_eq!(second.membership.state, MembershipState::Active);
        assert_eq!(
            kit::emailed(conn, MessageKind::Welcome).await,
            [first.membership.member_id]
        );
        assert_eq!(memberships::seated_count(conn, circle.id).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn only_a_rotating_circle_replans_when_someone_joins() {
        let conn = &mut kit::fresh_connection().await;
        let fixed = kit::circle().named("Fixed").create(conn).await;
        let rotating = kit::circle()
            .named("Rotating")
            .rotating()
            .create(conn)
            .await;
        let email = EmailAddress::parse("ada@example.org").unwrap();
        let name = DisplayName::parse("Ada").unwrap();

        add_vouched(conn, fixed.id, &email, &name, MembershipRole::Member)
            .await
            .unwrap();
        assert!(kit::queued_of(conn, rota_plan::KIND).await.is_empty());

        add_vouched(conn, rotating.id, &email, &name, MembershipRole::Member)
            .await
            .unwrap();
        let replans = kit::queued_of(conn, rota_plan::KIND).await;
        assert_eq!(replans.len(), 1);
        assert_eq!(replans[0].payload["circle_id"], rotating.id.to_string());
    }

    #[tokio::test]
    async fn a_member_who_becomes_a_facilitator_frees_their_seat() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;

        let ada_now = set_role(conn, circle.id, ada.id, MembershipRole::Facilitator)
            .await
            .unwrap();

        assert_eq!(ada_now.role, MembershipRole::Facilitator);
        assert_eq!(ada_now.state, MembershipState::Active);
        assert_eq!(
            membership(conn, &circle, bo.id).await.state,
            MembershipState::Active
        );
        assert_eq!(kit::emailed(conn, MessageKind::Promoted).await, [bo.id]);
    }

    #[tokio::test]
    async fn more_seats_let_the_waitlist_in_in_order() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;
        let cy = kit::waiting(conn, &circle, "Cy").await;
        let changes = crate::db::circles::CircleChanges {
            capacity: Some(Some(2)),
            ..Default::default()
        };

        let updated = crate::actions::circles::update_circle(conn, circle.id, changes)
            .await
            .unwrap();

        assert_eq!(updated.capacity, Some(2));
        assert_eq!(
            membership(conn, &circle, bo.id).await.state,
            MembershipState::Active
        );
        assert_eq!(
            membership(conn, &circle, cy.id).await.waitlist_position,
            Some(1)
        );
        assert_eq!(kit::emailed(conn, MessageKind::Promoted).await, [bo.id]);
    }

    #[tokio::test]
    async fn a_waitlist_place_moves_one_step_at_a_time() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;
        let cy = kit::waiting(conn, &circle, "Cy").await;

        move_in_waitlist(conn, circle.id, cy.id, true)
            .await
            .unwrap();
        assert_eq!(
            membership(conn, &circle, cy.id).await.waitlist_position,
            Some(1)
        );
        assert_eq!(
            membership(conn, &circle, bo.id).await.waitlist_position,
            Some(2)
        );

        // At the head there is nowhere further up to go.
        move_in_waitlist(conn, circle.id, cy.id, true)
            .await
            .unwrap();
        assert_eq!(
            membership(conn, &circle, cy.id).await.waitlist_position,
            Some(1)
        );
        assert_eq!(
            membership(conn, &circle, bo.id).await.waitlist_position,
            Some(2)
        );
    }

    #[tokio::test]
    async fn a_facilitator_can_seat_someone_beyond_the_capacity() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;

        promote_now(conn, circle.id, bo.id).await.unwrap();

        assert_eq!(
            membership(conn, &circle, bo.id).await.state,
            MembershipState::Active
        );
        assert_eq!(memberships::seated_count(conn, circle.id).await.unwrap(), 2);
        assert_eq!(kit::emailed(conn, MessageKind::Promoted).await, [bo.id]);
        let again = promote_now(conn, circle.id, bo.id).await;
        assert!(matches!(again, Err(AppError::NotFound(_))));
    }
}
