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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit as kit;

    async fn position(conn: &mut Connection, reading: ReadingId) -> i32 {
        readings::place(conn, reading).await.unwrap().unwrap().1
    }

    #[tokio::test]
    async fn a_reading_swaps_places_with_its_neighbour_and_stops_at_either_end() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let first = kit::reading(conn, &circle, "Braiding Sweetgrass").await.id;
        let second = kit::reading(conn, &circle, "Gathering Moss").await.id;
        let third = kit::reading(conn, &circle, "The Overstory").await.id;

        move_reading(conn, second, true).await.unwrap();
        assert_eq!(position(conn, second).await, 1);
        assert_eq!(position(conn, first).await, 2);

        move_reading(conn, second, true).await.unwrap();
        move_reading(conn, third, false).await.unwrap();
        assert_eq!(position(conn, second).await, 1);
        assert_eq!(position(conn, first).await, 2);
        assert_eq!(position(conn, third).await, 3);

        let missing = move_reading(conn, ReadingId::new(), true).await;
        assert!(matches!(missing, Err(AppError::NotFound("reading"))));
    }
}
