//! What a person may do with their own data: take it with them, or have it erased.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::members;
use crate::domain::MemberId;
use crate::error::{AppError, AppResult};

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
