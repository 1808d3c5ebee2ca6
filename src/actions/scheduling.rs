//! Sessions, the same way from the API and the dashboard: creating them from a schedule rule
//! (and queueing their invitations), changing one (lock it, refuse a cancelled one, check that
//! its reading and facilitator belong to its circle, write the change bumping the calendar
//! sequence, queue the update), and cancelling one; each in one transaction.

use diesel_async::AsyncConnection;

use crate::db::circles::Circle;
use crate::db::sessions::{self, Session, SessionChanges};
use crate::db::{circles, memberships, readings, Connection};
use crate::domain::schedule::{resolve_local, ScheduleRule};
use crate::domain::{CircleStatus, Invalid, SessionEdit, SessionId, SessionStatus};
use crate::error::{AppError, AppResult};
use crate::jobs::session_events;

/// Create the sessions a rule describes in the circle's zone, at `location` or the circle's,
/// and queue what they cause (invitations now or at their lead time, reminders, prompts).
pub async fn create_sessions(
    conn: &mut Connection,
    circle: &Circle,
    rule: &ScheduleRule,
    location: Option<String>,
) -> AppResult<Vec<Session>> {
    if circle.status == CircleStatus::Archived {
        return Err(AppError::Conflict("this circle is archived".into()));
    }
    let timezone = circle.timezone;
    let location = location.or_else(|| circle.location.clone());
    conn.transaction::<_, AppError, _>(async |conn| {
        let created =
            sessions::create_from_schedule(conn, circle.id, timezone, rule, location.as_deref())
                .await?;
        session_events::sessions_created(conn, circle, &created).await?;
        super::rota::plan_in(conn, circle, chrono::Utc::now()).await?;
        super::reading_plan::sessions_scheduled(conn, circle.id, &created, chrono::Utc::now())
            .await?;
        Ok(created)
    })
    .await
}

/// The session as it will be after `edit`: unnamed fields keep their value, and the start
/// is found again from the (new) local date and time in the session's zone.
fn apply(current: &Session, edit: SessionEdit) -> AppResult<SessionChanges> {
    let tz = current.timezone;
    let date = edit.local_date.unwrap_or(current.local_date);
    let time = edit.local_time.unwrap_or(current.local_time);
    let duration_minutes = edit.duration_minutes.unwrap_or(current.duration_minutes);
    let (starts_at, _) = resolve_local(tz.tz(), date, time);
    Ok(SessionChanges {
        starts_at,
        ends_at: starts_at + chrono::Duration::minutes(i64::from(duration_minutes)),
        local_date: date,
        local_time: time,
        duration_minutes,
        location: edit.location.unwrap_or_else(|| current.location.clone()),
        reading_id: edit.reading_id.unwrap_or(current.reading_id),
        facilitator_id: edit.facilitator_id.unwrap_or(current.facilitator_id),
        prompts: edit.prompts.unwrap_or_else(|| current.prompts.clone()),
    })
}

/// Change one session as `edit` says, from its current, locked state.
pub async fn edit_session(
    conn: &mut Connection,
    id: SessionId,
    edit: SessionEdit,
) -> AppResult<Session> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = sessions::lock(conn, id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if current.status == SessionStatus::Cancelled {
            return Err(AppError::Conflict(
                "a cancelled session cannot be changed".into(),
            ));
        }
        let changes = apply(&current, edit)?;
        if let Some(reading) = changes.reading_id {
            if readings::find_in_circle(conn, current.circle_id, reading)
                .await?
                .is_none()
            {
                return Err(Invalid::new("reading_id", "is not a reading of this circle").into());
            }
        }
        if let Some(member) = changes
            .facilitator_id
            .filter(|m| Some(*m) != current.facilitator_id)
        {
            if memberships::active_among(conn, current.circle_id, &[member])
                .await?
                .is_empty()
            {
                return Err(Invalid::new(
                    "facilitator_id",
                    "is not an active member of this circle",
                )
                .into());
            }
        }
        let updated = sessions::update(conn, id, &changes).await?;
        let circle = circles::find(conn, updated.circle_id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        session_events::session_changed(conn, &circle, &updated).await?;
        let now = chrono::Utc::now();
        if updated.starts_at != current.starts_at {
            // A swap was asked for the old time: it no longer fits.
            super::swaps::void_for_session(conn, id, now).await?;
        }
        if updated.facilitator_id != current.facilitator_id {
            super::rota::facilitator_set(conn, &updated, None, now).await?;
        }
        super::rota::plan_in(conn, &circle, now).await?;
        if updated.reading_id != current.reading_id || updated.starts_at != current.starts_at {
            super::reading_plan::circle_changed(conn, circle.id, now).await?;
        }
        Ok(updated)
    })
    .await
}

/// Cancel a session and tell its members; cancelling again changes nothing.
pub async fn cancel_session(conn: &mut Connection, id: SessionId) -> AppResult<Session> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = sessions::lock(conn, id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        if current.status == SessionStatus::Cancelled {
            return Ok(current);
        }
        let cancelled = sessions::cancel(conn, id).await?;
        session_events::session_cancelled(conn, &cancelled).await?;
        let now = chrono::Utc::now();
        super::swaps::void_for_session(conn, id, now).await?;
        if let Some(circle) = circles::find(conn, cancelled.circle_id).await? {
            super::rota::plan_in(conn, &circle, now).await?;
            super::reading_plan::circle_changed(conn, circle.id, now).await?;
        }
        Ok(cancelled)
    })
    .await
}

/// How many people a cancellation or change of `session` would email now: the active members
/// whose invitation to it was delivered. The dashboard says so before it cancels.
pub async fn reach(conn: &mut Connection, session: &Session) -> diesel::QueryResult<usize> {
    crate::jobs::fanout::invited_count(conn, session).await
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveTime, Utc};

    use super::*;
    use crate::db::roles::FACILITATOR;
    use crate::db::swaps;
    use crate::domain::schedule::{End, Frequency};
    use crate::domain::{RoleState, SessionId};
    use crate::jobs::fanout;
    use crate::testkit as kit;

    /// `count` weekly sessions at 19:00, the first two weeks from today in `circle`'s zone.
    fn weekly(circle: &Circle, count: u32) -> ScheduleRule {
        let today = Utc::now().with_timezone(&circle.timezone.tz()).date_naive();
        let seven = NaiveTime::from_hms_opt(19, 0, 0).unwrap();
        let every_week = Frequency::Weekly { interval_weeks: 1 };
        ScheduleRule::new(
            every_week,
            today + Duration::days(14),
            seven,
            90,
            End::Count(count),
        )
        .unwrap()
    }

    /// The queued fan-outs of `message` (e.g. "invitation") about `session`.
    async fn fanouts(conn: &mut Connection, message: &str, session: SessionId) -> usize {
        let all = kit::queued_of(conn, fanout::SESSION_KIND).await;
        all.iter()
            .filter(|j| j.payload["message"] == message)
            .filter(|j| j.payload["session_id"] == session.to_string())
            .count()
    }

    #[tokio::test]
    async fn an_archived_circle_gets_no_new_sessions() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle()
            .status(CircleStatus::Archived)
            .create(conn)
            .await;

        let created = create_sessions(conn, &circle, &weekly(&circle, 2), None).await;

        assert!(matches!(created, Err(AppError::Conflict(_))));
        let coming = sessions::upcoming(conn, circle.id, Utc::now(), 10).await;
        assert!(coming.unwrap().is_empty());
    }

    #[tokio::test]
    async fn new_sessions_meet_in_the_circle_s_zone_and_invite_a_week_ahead() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle()
            .timezone("Europe/London")
            .with(|c| c.location = Some("Library".into()))
            .create(conn)
            .await;

        let created = create_sessions(conn, &circle, &weekly(&circle, 3), None)
            .await
            .unwrap();

        assert_eq!(created.len(), 3);
        let seven = NaiveTime::from_hms_opt(19, 0, 0).unwrap();
        for s in &created {
            assert_eq!((s.timezone.name(), s.local_time), ("Europe/London", seven));
            assert_eq!(s.location.as_deref(), Some("Library"));
        }
        let invitations: Vec<_> = kit::queued_of(conn, fanout::SESSION_KIND)
            .await
            .into_iter()
            .filter(|j| j.payload["message"] == "invitation")
            .collect();
        assert_eq!(invitations.len(), 3);
        for (i, session) in created.iter().enumerate() {
            let job = invitations
                .iter()
                .find(|j| j.payload["session_id"] == session.id.to_string())
                .expect("an invitation for every session");
            // A week ahead, which in a weekly circle is while the session before is on: then
            // just after that session's reflection prompt, which carries it.
            let expected = match i {
                0 if session.starts_at - Duration::days(7) <= Utc::now() => {
                    assert!(job.run_at <= Utc::now(), "due now");
                    job.run_at
                }
                0 => session.starts_at - Duration::days(7),
                _ => {
                    created[i - 1].ends_at
                        + Duration::minutes(i64::from(circle.reflection_delay_minutes))
                        + Duration::minutes(5)
                }
            };
            assert_eq!(job.run_at, expected, "session {i}");
            assert_eq!(fanouts(conn, "reminder", session.id).await, 1);
        }
    }

    #[tokio::test]
    async fn a_new_invitation_lead_moves_the_invitations_still_waiting() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let created = create_sessions(conn, &circle, &weekly(&circle, 2), None)
            .await
            .unwrap();
        let changes = crate::db::circles::CircleChanges {
            invite_lead_days: Some(3),
            ..Default::default()
        };
        crate::actions::circles::update_circle(conn, circle.id, changes)
            .await
            .unwrap();
        let invitations: Vec<_> = kit::queued_of(conn, fanout::SESSION_KIND)
            .await
            .into_iter()
            .filter(|j| j.payload["message"] == "invitation")
            .collect();
        assert_eq!(invitations.len(), 2);
        for session in &created {
            let job = invitations
                .iter()
                .find(|j| j.payload["session_id"] == session.id.to_string())
                .unwrap();
            assert_eq!(job.run_at, session.starts_at - Duration::days(3));
        }
    }

    #[tokio::test]
    async fn cancelling_tells_the_members_once_and_cancelling_again_changes_nothing() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let created = create_sessions(conn, &circle, &weekly(&circle, 1), None)
            .await
            .unwrap();
        let id = created[0].id;

        let cancelled = cancel_session(conn, id).await.unwrap();
        assert_eq!(cancelled.status, SessionStatus::Cancelled);
        assert_eq!(fanouts(conn, "invitation", id).await, 0);
        assert_eq!(fanouts(conn, "reminder", id).await, 0);
        assert_eq!(fanouts(conn, "session_cancelled", id).await, 1);
        let queued = kit::queued(conn).await.len();

        let again = cancel_session(conn, id).await.unwrap();
        assert_eq!(again.ics_sequence, cancelled.ics_sequence);
        assert_eq!(kit::queued(conn).await.len(), queued);
        let edit = SessionEdit {
            location: Some(Some("Elsewhere".into())),
            ..Default::default()
        };
        let edited = edit_session(conn, id, edit).await;
        assert!(matches!(edited, Err(AppError::Conflict(_))));
    }

    #[tokio::test]
    async fn a_session_reads_and_is_led_only_within_its_own_circle() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let other = kit::circle().named("Other").create(conn).await;
        let theirs = kit::reading(conn, &other, "Not ours").await;
        let stranger = kit::seated(conn, &other, "Cy").await;
        let session = kit::session().create(conn, &circle).await;

        let reading = SessionEdit {
            reading_id: Some(Some(theirs.id)),
            ..Default::default()
        };
        let by_reading = edit_session(conn, session.id, reading).await;
        let led = SessionEdit {
            facilitator_id: Some(Some(stranger.id)),
            ..Default::default()
        };
        let by_lead = edit_session(conn, session.id, led).await;

        assert!(
            matches!(by_reading, Err(AppError::Invalid { ref field, .. }) if field == "reading_id")
        );
        assert!(
            matches!(by_lead, Err(AppError::Invalid { ref field, .. }) if field == "facilitator_id")
        );
        let stored = sessions::find(conn, session.id).await.unwrap().unwrap();
        assert_eq!(stored.ics_sequence, session.ics_sequence);
        assert_eq!((stored.reading_id, stored.facilitator_id), (None, None));
    }

    #[tokio::test]
    async fn moving_a_session_voids_its_open_swaps_and_a_new_place_does_not() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().create(conn, &circle).await;
        let slot = kit::slot(
            conn,
            &session,
            FACILITATOR,
            Some(ada.id),
            RoleState::Confirmed,
        )
        .await;
        let swap = swaps::open(conn, slot.id, ada.id, session.ics_sequence)
            .await
            .unwrap()
            .unwrap();

        let elsewhere = SessionEdit {
            location: Some(Some("Library".into())),
            ..Default::default()
        };
        let moved = edit_session(conn, session.id, elsewhere).await.unwrap();
        assert_eq!(moved.ics_sequence, session.ics_sequence + 1);
        assert_eq!(
            swaps::find(conn, swap.id).await.unwrap().unwrap().status,
            "open"
        );

        let later = SessionEdit {
            local_time: NaiveTime::from_hms_opt(20, 0, 0),
            ..Default::default()
        };
        let moved = edit_session(conn, session.id, later).await.unwrap();
        assert_eq!(moved.starts_at, session.starts_at + Duration::hours(1));
        assert_eq!(
            swaps::find(conn, swap.id).await.unwrap().unwrap().status,
            "void"
        );
    }
}
