//! What a person may do with their own data: take it with them, retire the links in their
//! email, or have it erased.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::members;
use crate::domain::MemberId;
use crate::email::MessageKind;
use crate::error::{AppError, AppResult};
use crate::jobs::email::{self as email_job, EmailJob};

/// Someone forwarded an email, or lost a phone: every link in the email they were sent so far
/// stops working (RSVP, reflection, role, swap, handoff, feedback, consent, agenda, grow,
/// confirmation and personal-page links), and a fresh personal-page link is mailed to them.
/// Unsubscribe links keep working (they can only stop email), and so does the calendar feed,
/// which has its own reset.
pub async fn retire_links(conn: &mut AsyncPgConnection, id: MemberId) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        members::retire_links(conn, id).await?;
        email_job::enqueue(conn, EmailJob::link(MessageKind::PersonalLink, id)).await?;
        Ok(())
    })
    .await
}

/// Erase a member and every row that names them, in one transaction: seats are given up
/// first (so waitlists move up, and whoever gets a seat is told), then memberships, answers,
/// reflections, tokens and every job about them go, and delivery records lose the address.
pub async fn erase(conn: &mut AsyncPgConnection, id: MemberId) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        for circle in members::circles_held(conn, id).await? {
            super::membership::leave_locked(conn, circle, id).await?;
        }
        members::delete_rows(conn, id).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::memberships;
    use crate::domain::{MembershipRole, MembershipState};
    use crate::testkit as kit;

    #[tokio::test]
    async fn retiring_links_moves_every_link_version_on_and_mails_a_fresh_personal_link() {
        let conn = &mut kit::fresh_connection().await;
        let ada = kit::member(conn, "Ada").await;

        retire_links(conn, ada.id).await.unwrap();

        let after = members::find(conn, ada.id).await.unwrap().unwrap();
        assert_eq!(after.token_version, ada.token_version + 1);
        assert_eq!(after.me_token_version, ada.me_token_version + 1);
        // The calendar feed has its own reset.
        assert_eq!(after.calendar_token_version, ada.calendar_token_version);
        assert_eq!(
            kit::emailed(conn, MessageKind::PersonalLink).await,
            [ada.id]
        );
    }

    #[tokio::test]
    async fn erasing_someone_gives_up_their_seat_first_and_forgets_them() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(1).create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::waiting(conn, &circle, "Bo").await;
        retire_links(conn, ada.id).await.unwrap();

        erase(conn, ada.id).await.unwrap();

        assert!(members::find(conn, ada.id).await.unwrap().is_none());
        assert!(memberships::find(conn, circle.id, ada.id)
            .await
            .unwrap()
            .is_none());
        let bo_now = memberships::find(conn, circle.id, bo.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bo_now.state, MembershipState::Active);
        let emails = kit::emails(conn).await;
        assert!(emails.iter().all(|e| e.member_id != ada.id), "{emails:?}");
        assert_eq!(kit::emailed(conn, MessageKind::Promoted).await, [bo.id]);
    }

    #[tokio::test]
    async fn two_people_who_share_circles_are_erased_at_once_without_a_deadlock() {
        let url = kit::fresh_database().await;
        let conn = &mut kit::connect(&url).await;
        for round in 0..5 {
            let (x, y) = (
                kit::circle().create(conn).await,
                kit::circle().create(conn).await,
            );
            // Ada joined x then y, Bo y then x: the order their seats were written in.
            let (member, active) = (MembershipRole::Member, MembershipState::Active);
            let ada = kit::seated(conn, &x, &format!("Ada{round}")).await;
            kit::join(conn, &y, ada.id, member, active).await;
            let bo = kit::seated(conn, &y, &format!("Bo{round}")).await;
            kit::join(conn, &x, bo.id, member, active).await;
            let (mut one, mut two) = (kit::connect(&url).await, kit::connect(&url).await);
            let (a, b) = tokio::join!(erase(&mut one, ada.id), erase(&mut two, bo.id));
            a.unwrap();
            b.unwrap();
            assert!(members::find(conn, ada.id).await.unwrap().is_none());
            assert!(members::find(conn, bo.id).await.unwrap().is_none());
        }
    }
}
