//! Holders set from outside the rotation: an organiser assigns someone, the session's
//! facilitator is set the old way, or a holder leaves the circle.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::circles::{self, Circle};
use crate::db::roles::{self, EventKind, SessionRole, SlotWrite, FACILITATOR};
use crate::db::sessions::{self, Session};
use crate::db::{memberships, Connection};
use crate::domain::{MemberId, RoleId, RoleSource, RoleState, SessionId, SessionStatus};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

use super::changed;
use super::plan::plan_in;

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

/// How many of a new sibling's first sessions its lead facilitates, unasked: by then others
/// have come to one and can be asked.
pub const LEAD_OPENS: usize = 2;

/// The person who accepted to lead a new circle facilitates its first sessions: confirmed at
/// once (they said yes to leading it), with no ask and no letter of its own.
pub async fn lead_opens(
    conn: &mut Connection,
    coming: &[Session],
    lead: MemberId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for session in coming.iter().take(LEAD_OPENS) {
        let write = SlotWrite {
            why: "Leads the new circle's first sessions: they accepted to lead it.".into(),
            ..assigned(session, FACILITATOR, 1, lead, now)
        };
        let row = roles::write_slot(conn, &write).await?;
        roles::log(conn, &row, Some(lead), EventKind::Assigned, Some(lead), now).await?;
        sessions::set_facilitator(conn, session.id, Some(lead)).await?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::swaps;
    use crate::jobs::rota_plan;
    use crate::testkit as kit;

    #[tokio::test]
    async fn an_assigned_holder_is_confirmed_and_told_unless_they_assigned_themselves() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, "timekeeper", "Timekeeper").await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;
        let now = Utc::now();

        let row = assign(conn, session.id, FACILITATOR, 1, ada.id, fay.id, now)
            .await
            .unwrap();
        assign(conn, session.id, "timekeeper", 1, fay.id, fay.id, now)
            .await
            .unwrap();

        assert_eq!(
            (row.member_id, row.state),
            (Some(ada.id), RoleState::Confirmed)
        );
        assert_eq!(row.source, RoleSource::Organiser);
        let session = sessions::find(conn, session.id).await.unwrap().unwrap();
        assert_eq!(session.facilitator_id, Some(ada.id));
        assert_eq!(
            kit::emailed(conn, MessageKind::RoleConfirmed).await,
            [ada.id]
        );
    }

    #[tokio::test]
    async fn nobody_is_assigned_two_roles_in_one_session_or_a_slot_that_does_not_exist() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::role(conn, &circle, "timekeeper", "Timekeeper").await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let stranger = kit::member(conn, "Cy").await;
        let session = kit::session().create(conn, &circle).await;
        kit::slot(
            conn,
            &session,
            FACILITATOR,
            Some(ada.id),
            RoleState::Confirmed,
        )
        .await;
        let now = Utc::now();

        let second = assign(conn, session.id, "timekeeper", 1, ada.id, fay.id, now).await;
        let no_slot = assign(conn, session.id, "timekeeper", 2, fay.id, fay.id, now).await;
        let outsider = assign(conn, session.id, "timekeeper", 1, stranger.id, fay.id, now).await;

        assert!(matches!(second, Err(AppError::Conflict(_))));
        assert!(matches!(no_slot, Err(AppError::Invalid { ref field, .. }) if field == "slot"));
        assert!(
            matches!(outsider, Err(AppError::Invalid { ref field, .. }) if field == "member_id")
        );
        let rows = roles::for_sessions(conn, &[session.id]).await.unwrap();
        assert_eq!(rows.len(), 1);
    }

    #[tokio::test]
    async fn a_leaver_s_coming_roles_open_again_and_their_swaps_are_void() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let confirmed = RoleState::Confirmed;
        let past = kit::session().started().create(conn, &circle).await;
        let led = kit::slot(conn, &past, FACILITATOR, Some(ada.id), confirmed).await;
        let coming = kit::session().create(conn, &circle).await;
        let held = kit::slot(conn, &coming, FACILITATOR, Some(ada.id), confirmed).await;
        let swap = swaps::open(conn, held.id, ada.id, coming.ics_sequence)
            .await
            .unwrap()
            .unwrap();

        let opened = release_leaver(conn, &circle, ada.id, Utc::now())
            .await
            .unwrap();

        assert_eq!(opened, 1);
        let held = roles::find(conn, held.id).await.unwrap().unwrap();
        assert_eq!((held.member_id, held.state), (None, RoleState::Open));
        let led = roles::find(conn, led.id).await.unwrap().unwrap();
        assert_eq!((led.member_id, led.state), (Some(ada.id), confirmed));
        let coming = sessions::find(conn, coming.id).await.unwrap().unwrap();
        assert_eq!(coming.facilitator_id, None);
        assert_eq!(
            swaps::find(conn, swap.id).await.unwrap().unwrap().status,
            "void"
        );
        assert_eq!(kit::queued_of(conn, rota_plan::KIND).await.len(), 1);
    }

    #[tokio::test]
    async fn the_facilitator_slot_follows_the_session_s_facilitator() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;
        let now = Utc::now();

        let led = Session {
            facilitator_id: Some(ada.id),
            ..session.clone()
        };
        facilitator_set(conn, &led, None, now).await.unwrap();
        let row = roles::find_slot(conn, session.id, FACILITATOR, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.member_id, row.state),
            (Some(ada.id), RoleState::Confirmed)
        );

        facilitator_set(conn, &session, None, now).await.unwrap();
        let row = roles::find_slot(conn, session.id, FACILITATOR, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, RoleState::Open);
    }
}
