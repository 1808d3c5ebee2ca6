//! Archiving a circle. (Changing a circle's settings, archived status included when the
//! dashboard's form sets it, is `membership::update_circle`.)

use diesel_async::AsyncPgConnection;

use crate::db::circles::{self, Circle, CircleChanges};
use crate::domain::{CircleId, CircleStatus};
use crate::error::AppResult;

/// Set the circle's status to archived.
pub async fn archive(conn: &mut AsyncPgConnection, id: CircleId) -> AppResult<Circle> {
    let changes = CircleChanges {
        status: Some(CircleStatus::Archived),
        ..Default::default()
    };
    Ok(circles::update(conn, id, changes).await?)
}
