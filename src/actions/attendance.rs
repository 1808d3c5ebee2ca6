//! Who came to a session, marked from the API or the dashboard under one rule. Attendance
//! decides who may answer feedback on the session, so whoever that feedback is about cannot
//! change it once their feedback has opened; anyone else who runs the circle can, and a change
//! that alters who may answer a request still open leaves that request's lead shown nothing.
//! Feedback is asked only about holders who came: marking one as not there withdraws the
//! requests still open about them. A rotating circle re-plans after a marking: who came may
//! now be asked for a role.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::rsvps::{self, Rsvp};
use crate::db::sessions::Session;
use crate::db::{feedback, Connection};
use crate::domain::{MemberId, SessionStatus};
use crate::error::{AppError, AppResult};

/// Mark each of `marks` (member, attended) for `session`, as `actor`, in one transaction.
pub async fn mark(
    conn: &mut Connection,
    session: &Session,
    actor: MemberId,
    marks: &[(MemberId, bool)],
    now: DateTime<Utc>,
) -> AppResult<Vec<Rsvp>> {
    if session.status == SessionStatus::Cancelled {
        return Err(AppError::Conflict("the session is cancelled".into()));
    }
    conn.transaction::<_, AppError, _>(async |conn| {
        // Whoever the feedback is about may mark attendance once, when nobody has yet (from
        // the link in their reflection prompt): that first marking is what freezes who may
        // answer. After it, only someone else can change it.
        if feedback::is_subject(conn, session.id, actor).await?
            && rsvps::attendance_recorded(conn, session.id).await?
        {
            return Err(AppError::Forbidden(
                "Feedback about you on this session has opened, and who came decides who may answer it, so you can no longer change its attendance. Another facilitator or an organiser can."
                    .into(),
            ));
        }
        let ids: Vec<MemberId> = marks.iter().map(|(m, _)| *m).collect();
        let markable = rsvps::markable_among(conn, session.id, &ids).await?;
        if let Some(stranger) = ids.iter().find(|m| !markable.contains(m)) {
            return Err(AppError::invalid(
                "attendance",
                format!("{stranger} is not an active member of this circle"),
            ));
        }
        let mut stored = Vec::with_capacity(marks.len());
        for (member, attended) in marks {
            stored.push(rsvps::set_attended(conn, session.id, *member, *attended).await?);
        }
        feedback::withdraw_for_absent(conn, session.id, now).await?;
        feedback::note_eligibility_change(conn, session.id, now).await?;
        // Someone who came for the first time may now be asked for a role.
        if let Some(circle) = crate::db::circles::find(conn, session.circle_id).await? {
            super::rota::changed(conn, &circle).await?;
        }
        Ok(stored)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::roles::FACILITATOR;
    use crate::domain::RoleState;
    use crate::testkit as kit;

    async fn attended(conn: &mut Connection, session: &Session, member: MemberId) -> Option<bool> {
        let row = rsvps::find(conn, session.id, member).await.unwrap();
        row.and_then(|r| r.attended)
    }

    #[tokio::test]
    async fn marks_are_kept_for_members_and_refused_whole_for_a_stranger() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let stranger = kit::member(conn, "Cy").await;
        let session = kit::session().under_way().create(conn, &circle).await;
        let now = Utc::now();

        let stored = mark(
            conn,
            &session,
            fay.id,
            &[(ada.id, true), (bo.id, false)],
            now,
        )
        .await
        .unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(attended(conn, &session, ada.id).await, Some(true));
        assert_eq!(attended(conn, &session, bo.id).await, Some(false));

        let refused = mark(
            conn,
            &session,
            fay.id,
            &[(ada.id, false), (stranger.id, true)],
            now,
        )
        .await;
        assert!(
            matches!(refused, Err(AppError::Invalid { ref field, .. }) if field == "attendance")
        );
        assert_eq!(attended(conn, &session, ada.id).await, Some(true));
        assert_eq!(attended(conn, &session, stranger.id).await, None);
    }

    #[tokio::test]
    async fn a_cancelled_session_takes_no_attendance() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let session = kit::session().under_way().create(conn, &circle).await;
        let session = crate::db::sessions::cancel(conn, session.id).await.unwrap();

        let marked = mark(conn, &session, fay.id, &[(ada.id, true)], Utc::now()).await;

        assert!(matches!(marked, Err(AppError::Conflict(_))));
        assert_eq!(attended(conn, &session, ada.id).await, None);
    }

    #[tokio::test]
    async fn whoever_feedback_is_about_cannot_change_who_came_but_others_can() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let fay = kit::facilitator(conn, &circle, "Fay").await;
        let lea = kit::seated(conn, &circle, "Lea").await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let session = kit::session().under_way().create(conn, &circle).await;
        kit::slot(
            conn,
            &session,
            FACILITATOR,
            Some(lea.id),
            RoleState::Confirmed,
        )
        .await;
        let now = Utc::now();
        mark(
            conn,
            &session,
            fay.id,
            &[(ada.id, true), (bo.id, true)],
            now,
        )
        .await
        .unwrap();
        let closes = now + chrono::Duration::days(7);
        feedback::open_for_session(conn, session.id, circle.feedback_min_answers, closes)
            .await
            .unwrap();

        let by_lead = mark(conn, &session, lea.id, &[(bo.id, false)], now).await;
        assert!(matches!(by_lead, Err(AppError::Forbidden(_))));
        assert_eq!(attended(conn, &session, bo.id).await, Some(true));

        mark(conn, &session, fay.id, &[(bo.id, false)], now)
            .await
            .unwrap();
        assert_eq!(attended(conn, &session, bo.id).await, Some(false));
        let request = feedback::for_session(conn, session.id)
            .await
            .unwrap()
            .remove(0);
        assert!(request.frozen_at.is_some());
        assert!(
            request.eligibility_changed_at.is_some(),
            "the lead of a request whose answerers changed is shown nothing"
        );
    }
}
