//! A circle's reading list: its order.

use diesel_async::AsyncConnection;

use crate::db::{readings, Connection};
use crate::domain::ReadingId;
use crate::error::{AppError, AppResult};

/// Swap a reading with its neighbour above (`up`) or below; at either end nothing moves.
pub async fn move_reading(conn: &mut Connection, reading: ReadingId, up: bool) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let (circle, position) = readings::place(conn, reading)
            .await?
            .ok_or(AppError::NotFound("reading"))?;
        if let Some((other, other_position)) =
            readings::neighbour(conn, circle, position, up).await?
        {
            readings::set_position(conn, other, position).await?;
            readings::set_position(conn, reading, other_position).await?;
        }
        Ok(())
    })
    .await
}
