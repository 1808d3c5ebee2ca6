//! Swaps by link: a role holder asks someone to take over; the role is offered to the next
//! three people by the rotation's order (then three more each day nobody takes it), never to
//! someone who already holds an accepted or asked turn of it; the first to take it wins, the
//! rota is planned again (so the taker's later proposed turns can go to others), and everyone
//! after sees it taken. A session that moves or is cancelled
//! voids its open swaps.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;

use super::rota::{self, Notice};
use crate::db::roles::{self, EventKind, SessionRole, FACILITATOR};
use crate::db::swaps::{self, Swap};
use crate::db::{circles, sessions, Connection};
use crate::domain::{MemberId, RoleId, RoleSource, RoleState, SessionId, SessionStatus, SwapId};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

/// How many people each round of offers reaches.
pub const OFFERS_PER_ROUND: usize = 3;
/// How long a round waits before the offer widens.
pub const WIDEN_AFTER: Duration = Duration::hours(24);

/// What asking for a swap came to.
#[derive(Debug)]
pub enum Asked {
    /// Offered to these many people (0: nobody else can take it now).
    Offered(Swap, usize),
    /// It was asked for already and is offered to these many people; asking again offers it
    /// to nobody new (the offer widens by itself once a day).
    AlreadyOpen(Swap, usize),
    NotYours,
    Closed,
}

/// `member`, holding slot `id`, asks someone to take it over.
pub async fn ask(
    conn: &mut Connection,
    id: RoleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Asked> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(row) = roles::lock(conn, id).await? else {
            return Ok(Asked::NotYours);
        };
        if row.member_id != Some(member)
            || !matches!(row.state, RoleState::Confirmed | RoleState::Asked)
        {
            return Ok(Asked::NotYours);
        }
        super::active_member::require(conn, row.circle_id, member).await?;
        let session = sessions::find(conn, row.session_id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if session.status != SessionStatus::Scheduled || session.starts_at <= now {
            return Ok(Asked::Closed);
        }
        let Some(swap) = swaps::open(conn, row.id, member, session.ics_sequence).await? else {
            // A second press (or a reload) offers it to nobody new.
            let swap = swaps::open_for(conn, row.id)
                .await?
                .ok_or(AppError::Conflict("the swap could not be opened".into()))?;
            let offered = swaps::offered(conn, swap.id).await?.len();
            return Ok(Asked::AlreadyOpen(swap, offered));
        };
        let offered = offer_more(conn, &swap, &row, now).await?;
        Ok(Asked::Offered(swap, offered))
    })
    .await
}

/// Offer the swap to the next people in order who have not been offered it yet.
async fn offer_more(
    conn: &mut Connection,
    swap: &Swap,
    row: &SessionRole,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let session = sessions::find(conn, row.session_id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    let circle = circles::find(conn, row.circle_id)
        .await?
        .ok_or(AppError::NotFound("circle"))?;
    let already: Vec<MemberId> = swaps::offered(conn, swap.id)
        .await?
        .into_iter()
        .map(|(m, _, _)| m)
        .collect();
    let rank_base = already.len() as i32;
    let next: Vec<MemberId> =
        rota::ranked_for(conn, &circle, &session, &row.role_key, row.slot, now)
            .await?
            .into_iter()
            .filter(|m| !already.contains(m) && Some(*m) != swap.requester_id)
            .take(OFFERS_PER_ROUND)
            .collect();
    for (i, m) in next.iter().enumerate() {
        swaps::offer(conn, swap.id, *m, rank_base + i as i32 + 1, now).await?;
        email_job::enqueue(conn, EmailJob::swap_offer(*m, row, swap.id)).await?;
    }
    Ok(next.len())
}

/// Widen open swaps nobody took within a day to the next three people.
pub async fn widen_stale(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<usize> {
    let mut widened = 0;
    for id in swaps::stale_open(conn, now - WIDEN_AFTER).await? {
        widened += conn
            .transaction::<_, AppError, _>(async |conn| {
                let Some(swap) = swaps::lock(conn, id).await? else {
                    return Ok(0);
                };
                let Some(row) = roles::find(conn, swap.session_role_id).await? else {
                    return Ok(0);
                };
                if swap.status != "open" {
                    return Ok(0);
                }
                // Once everyone has been offered it, this finds nobody new and the swap
                // simply stays open to them.
                offer_more(conn, &swap, &row, now).await
            })
            .await?;
    }
    Ok(widened)
}

/// What taking a swap came to.
#[derive(Debug)]
pub enum Take {
    Taken(SessionRole),
    /// Someone else took it first (or the requester withdrew it).
    AlreadyTaken,
    /// The session moved or was cancelled, or has started.
    Void,
    /// The person cannot take it: they left, or already hold a role in that session.
    NotEligible(&'static str),
}

/// `member` takes swap `id`: the first to do so wins.
pub async fn take(
    conn: &mut Connection,
    id: SwapId,
    member: MemberId,
    now: DateTime<Utc>,
) -> AppResult<Take> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let swap = swaps::lock(conn, id)
            .await?
            .ok_or(AppError::NotFound("swap"))?;
        match swap.status.as_str() {
            "open" => {}
            "taken" => return Ok(Take::AlreadyTaken),
            _ => return Ok(Take::Void),
        }
        let Some(row) = roles::lock(conn, swap.session_role_id).await? else {
            return Ok(Take::Void);
        };
        let session = sessions::find(conn, row.session_id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if session.status != SessionStatus::Scheduled
            || session.starts_at <= now
            || session.ics_sequence != swap.session_sequence
        {
            swaps::close(conn, swap.id, "void", None, now).await?;
            return Ok(Take::Void);
        }
        if Some(member) == swap.requester_id {
            return Ok(Take::NotEligible(
                "You asked for this swap; someone else needs to take it.",
            ));
        }
        super::active_member::require(conn, row.circle_id, member).await?;
        let holds_another = roles::for_sessions(conn, &[session.id])
            .await?
            .iter()
            .any(|r| {
                r.member_id == Some(member)
                    && r.id != row.id
                    && matches!(r.state, RoleState::Confirmed | RoleState::Asked)
            });
        if holds_another {
            return Ok(Take::NotEligible(
                "You already hold another role in this session.",
            ));
        }
        let previous = row.member_id;
        let taken = roles::write_slot(
            conn,
            &roles::SlotWrite {
                session_id: row.session_id,
                circle_id: row.circle_id,
                role_key: row.role_key.clone(),
                slot: row.slot,
                member_id: Some(member),
                state: RoleState::Confirmed,
                source: RoleSource::Swap,
                why: format!(
                    "Took over by swap{}.",
                    if previous.is_some() {
                        " from the previous holder"
                    } else {
                        ""
                    }
                ),
                seed: row.seed,
                asked_at: row.asked_at,
                answered_at: Some(now),
            },
        )
        .await?;
        roles::log(conn, &row, previous, EventKind::SwappedOut, previous, now).await?;
        roles::log(
            conn,
            &taken,
            Some(member),
            EventKind::SwappedIn,
            Some(member),
            now,
        )
        .await?;
        swaps::close(conn, swap.id, "taken", Some(member), now).await?;
        if taken.role_key == FACILITATOR {
            sessions::set_facilitator(conn, taken.session_id, Some(member)).await?;
        }
        email_job::enqueue(
            conn,
            EmailJob::about_role(MessageKind::RoleConfirmed, member, &taken, None),
        )
        .await?;
        let circle = circles::find(conn, taken.circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        let mut told = rota::organisers_of(conn, circle.id).await?;
        if let Some(p) = previous {
            told.push(p);
        }
        told.sort();
        told.dedup();
        for m in told.into_iter().filter(|m| *m != member) {
            email_job::enqueue(
                conn,
                EmailJob::about_role(MessageKind::RoleNotice, m, &taken, Some(Notice::SwapTaken)),
            )
            .await?;
        }
        // The taker now has a turn: their later proposed turns of the role go to others when
        // that keeps the rule.
        rota::plan_in(conn, &circle, now).await?;
        Ok(Take::Taken(taken))
    })
    .await
}

/// Void the open swaps of a session that moved or was cancelled.
pub async fn void_for_session(
    conn: &mut Connection,
    session: SessionId,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let ids: Vec<RoleId> = roles::for_sessions(conn, &[session])
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    Ok(swaps::void_for(conn, &ids, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::members::Member;
    use crate::db::sessions::Session;
    use crate::testkit as kit;

    /// Ada leads next week's session of a circle with four other members.
    async fn held(conn: &mut Connection) -> (Session, SessionRole, Member, Vec<Member>) {
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let mut others = Vec::new();
        for name in ["Bo", "Cy", "Dee", "Eve"] {
            others.push(kit::seated(conn, &circle, name).await);
        }
        let session = kit::session().create(conn, &circle).await;
        let slot = kit::slot(
            conn,
            &session,
            FACILITATOR,
            Some(ada.id),
            RoleState::Confirmed,
        )
        .await;
        (session, slot, ada, others)
    }

    #[tokio::test]
    async fn a_swap_is_offered_to_three_people_at_a_time() {
        let conn = &mut kit::fresh_connection().await;
        let (_, slot, ada, others) = held(conn).await;
        let now = Utc::now();

        let Asked::Offered(swap, offered) = ask(conn, slot.id, ada.id, now).await.unwrap() else {
            panic!("the swap opens");
        };
        assert_eq!(offered, OFFERS_PER_ROUND);
        let told = kit::emailed(conn, MessageKind::SwapOffer).await;
        assert_eq!(told.len(), 3);
        assert!(told.iter().all(|m| others.iter().any(|o| o.id == *m)));

        let again = ask(conn, slot.id, ada.id, now).await.unwrap();
        assert!(matches!(again, Asked::AlreadyOpen(ref s, 3) if s.id == swap.id));
        assert_eq!(widen_stale(conn, now).await.unwrap(), 0);
        let a_day_later = now + WIDEN_AFTER + Duration::seconds(1);
        assert_eq!(widen_stale(conn, a_day_later).await.unwrap(), 1);
        assert_eq!(kit::emailed(conn, MessageKind::SwapOffer).await.len(), 4);
        assert!(!kit::emailed(conn, MessageKind::SwapOffer)
            .await
            .contains(&ada.id));
    }

    #[tokio::test]
    async fn the_first_to_take_a_swap_wins() {
        let conn = &mut kit::fresh_connection().await;
        let (session, slot, ada, others) = held(conn).await;
        let now = Utc::now();
        let Asked::Offered(swap, _) = ask(conn, slot.id, ada.id, now).await.unwrap() else {
            panic!("the swap opens");
        };
        let (bo, cy) = (others[0].id, others[1].id);

        let own = take(conn, swap.id, ada.id, now).await.unwrap();
        assert!(matches!(own, Take::NotEligible(_)));
        let Take::Taken(row) = take(conn, swap.id, bo, now).await.unwrap() else {
            panic!("Bo takes it");
        };
        let second = take(conn, swap.id, cy, now).await.unwrap();

        assert!(matches!(second, Take::AlreadyTaken));
        assert_eq!((row.member_id, row.state), (Some(bo), RoleState::Confirmed));
        assert_eq!(row.source, RoleSource::Swap);
        let session = sessions::find(conn, session.id).await.unwrap().unwrap();
        assert_eq!(session.facilitator_id, Some(bo));
        assert_eq!(kit::emailed(conn, MessageKind::RoleConfirmed).await, [bo]);
        assert_eq!(kit::emailed(conn, MessageKind::RoleNotice).await, [ada.id]);
        assert_eq!(
            swaps::find(conn, swap.id).await.unwrap().unwrap().taken_by,
            Some(bo)
        );
    }

    #[tokio::test]
    async fn a_swap_of_a_session_that_moved_is_void() {
        let conn = &mut kit::fresh_connection().await;
        let (session, slot, ada, others) = held(conn).await;
        let now = Utc::now();
        let Asked::Offered(swap, _) = ask(conn, slot.id, ada.id, now).await.unwrap() else {
            panic!("the swap opens");
        };

        assert_eq!(void_for_session(conn, session.id, now).await.unwrap(), 1);
        let taken = take(conn, swap.id, others[0].id, now).await.unwrap();

        assert!(matches!(taken, Take::Void));
        let row = roles::find(conn, slot.id).await.unwrap().unwrap();
        assert_eq!(row.member_id, Some(ada.id));
    }
}
