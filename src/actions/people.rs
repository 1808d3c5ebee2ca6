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
