//! The clock's rota task: asks whose time came, asks left unanswered, roles still open close
//! to their session; and whom to tell about a slot.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;

use crate::db::circles::{self, Circle};
use crate::db::roles::{self, EventKind, SessionRole};
use crate::db::sessions;
use crate::db::{memberships, Connection};
use crate::domain::roles::Notice;
use crate::domain::{
    CircleId, Facilitation, MemberId, MembershipRole, MembershipState, RoleId, RoleState,
};
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

use super::plan::plan_in;

/// How long before a session an organiser is told that a role is still open.
pub const OPEN_WARNING: Duration = Duration::hours(48);

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
                            // Plan again before asking: the facts may have changed since the
                            // slot was proposed (a turn taken, someone joined), and an ask
                            // follows the rule as it stands now. Planning asks whoever is due.
                            let planned = plan_in(conn, &circle, now).await?;
                            return Ok(Some(("asked", planned.asked)));
                        }
                        Ok(None)
                    }
                    RoleState::Asked => {
                        let due = |at| {
                            crate::domain::roles::answer_due(
                                at,
                                circle.role_answer_hours,
                                circle.timezone.tz(),
                            )
                        };
                        if row.asked_at.is_none_or(|at| due(at) > now) {
                            return Ok(None);
                        }
                        let member = row.member_id;
                        let row = roles::set_state(conn, row.id, RoleState::Declined, now).await?;
                        roles::log(conn, &row, member, EventKind::TimedOut, None, now).await?;
                        tell_organisers_of_role(conn, &circle, &row, Notice::Unanswered).await?;
                        plan_in(conn, &circle, now).await?;
                        Ok(Some(("timed_out", 1)))
                    }
                    RoleState::Open | RoleState::Declined => {
                        if row.reported_at.is_some() || session.starts_at - OPEN_WARNING > now {
                            return Ok(None);
                        }
                        roles::mark_reported(conn, row.id, now).await?;
                        tell_organisers_of_role(conn, &circle, &row, Notice::StillOpen).await?;
                        Ok(Some(("reported", 1)))
                    }
                    RoleState::Confirmed => Ok(None),
                }
            })
            .await?;
        match result {
            Some(("asked", n)) => out.asked += n,
            Some(("timed_out", n)) => out.timed_out += n,
            Some(("reported", n)) => out.reported += n,
            _ => {}
        }
    }
    Ok(out)
}

/// Email the circle's facilitators (or, when it has none, the organisers) a role notice about
/// a slot; `growing::tell_organisers_of_proposal` is the notice about a sibling proposal.
pub async fn tell_organisers_of_role(
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
    Ok(crate::db::members::organisers(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::roles::FACILITATOR;
    use crate::testkit as kit;

    #[tokio::test]
    async fn an_ask_left_unanswered_past_the_answer_time_passes_to_the_next_person() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().in_days(5).create(conn, &circle).await;
        let slot = kit::slot(conn, &session, FACILITATOR, Some(ada.id), RoleState::Asked).await;
        let now = Utc::now();

        assert_eq!(sweep(conn, now).await.unwrap(), Swept::default());
        // The answer is due at the end of the day once the hours have passed, where the
        // circle meets: a minute before, it still waits.
        let due = crate::domain::roles::answer_due(
            slot.asked_at.unwrap(),
            circle.role_answer_hours,
            circle.timezone.tz(),
        );
        assert!(
            due >= slot.asked_at.unwrap() + Duration::hours(i64::from(circle.role_answer_hours))
        );
        assert_eq!(
            due.with_timezone(&circle.timezone.tz())
                .format("%H:%M")
                .to_string(),
            "23:59"
        );
        assert_eq!(
            sweep(conn, due - Duration::minutes(1)).await.unwrap(),
            Swept::default()
        );
        let late = due + Duration::minutes(1);
        let swept = sweep(conn, late).await.unwrap();

        assert_eq!(swept.timed_out, 1);
        let row = roles::find(conn, slot.id).await.unwrap().unwrap();
        assert_eq!((row.member_id, row.state), (Some(fay.id), RoleState::Asked));
        let notices = kit::emails(conn).await;
        let unanswered: Vec<_> = notices
            .iter()
            .filter(|e| e.notice == Some(Notice::Unanswered))
            .map(|e| e.member_id)
            .collect();
        assert_eq!(unanswered, [fay.id]);
        assert_eq!(kit::emailed(conn, MessageKind::RoleAsk).await, [fay.id]);
    }

    #[tokio::test]
    async fn a_role_still_open_two_days_ahead_is_reported_once() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let tomorrow = kit::session().in_days(1).create(conn, &circle).await;
        let next_week = kit::session().create(conn, &circle).await;
        kit::slot(conn, &tomorrow, FACILITATOR, None, RoleState::Open).await;
        kit::slot(conn, &next_week, FACILITATOR, None, RoleState::Open).await;
        let now = Utc::now();

        let first = sweep(conn, now).await.unwrap();
        let second = sweep(conn, now).await.unwrap();

        assert_eq!(first.reported, 1);
        assert_eq!(second, Swept::default());
        let emails = kit::emails(conn).await;
        assert_eq!(emails.len(), 1);
        assert_eq!(
            (emails[0].member_id, emails[0].notice),
            (fay.id, Some(Notice::StillOpen))
        );
        assert_eq!(emails[0].session_id, Some(tomorrow.id));
    }

    #[tokio::test]
    async fn without_facilitators_the_organisers_are_told() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        kit::seated(conn, &circle, "Ada").await;
        let ora = kit::organiser(conn, "Ora").await;

        assert_eq!(organisers_of(conn, circle.id).await.unwrap(), [ora.id]);
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        assert_eq!(organisers_of(conn, circle.id).await.unwrap(), [fay.id]);
    }
}
