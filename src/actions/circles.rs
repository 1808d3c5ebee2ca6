//! Archiving a circle, and the seat lock every change of seats takes. (Changing a circle's
//! settings, archived status included when the dashboard's form sets it, is
//! `membership::update_circle`.)

use diesel_async::AsyncPgConnection;

use crate::db::circles::{self, Circle, CircleChanges};
use crate::domain::{CircleId, CircleStatus};
use crate::error::{AppError, AppResult};

/// Read the circle and hold its row `FOR NO KEY UPDATE` until the transaction ends
/// (`db::circles::lock`; "Locks" in docs/architecture.md says why not `FOR UPDATE`): every
/// change of who holds a seat takes this lock first. A missing circle is `NotFound`.
pub(crate) async fn lock_seats(conn: &mut AsyncPgConnection, id: CircleId) -> AppResult<Circle> {
    circles::lock(conn, id)
        .await?
        .ok_or(AppError::NotFound("circle"))
}

/// Set the circle's status to archived.
pub async fn archive(conn: &mut AsyncPgConnection, id: CircleId) -> AppResult<Circle> {
    let changes = CircleChanges {
        status: Some(CircleStatus::Archived),
        ..Default::default()
    };
    Ok(circles::update(conn, id, changes).await?)
}
