//! What a circle reads, in the order it reads it.

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::readings;
use crate::domain::{CircleId, ReadingId};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = readings, check_for_backend(diesel::pg::Pg))]
pub struct Reading {
    pub id: ReadingId,
    pub circle_id: CircleId,
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    pub isbn: Option<String>,
    pub notes: Option<String>,
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewReading {
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    pub isbn: Option<String>,
    pub notes: Option<String>,
}

/// Append a reading at the end of the circle's list.
pub async fn create(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    new: NewReading,
) -> diesel::QueryResult<Reading> {
    let last: Option<i32> = readings::table
        .filter(readings::circle_id.eq(circle))
        .select(diesel::dsl::max(readings::position))
        .first(conn)
        .await?;
    diesel::insert_into(readings::table)
        .values((
            readings::id.eq(ReadingId::new()),
            readings::circle_id.eq(circle),
            readings::title.eq(new.title),
            readings::author.eq(new.author),
            readings::url.eq(new.url),
            readings::isbn.eq(new.isbn),
            readings::notes.eq(new.notes),
            readings::position.eq(last.unwrap_or(0) + 1),
        ))
        .returning(Reading::as_returning())
        .get_result(conn)
        .await
}

/// A page of a circle's readings in reading order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    after: Option<(i32, ReadingId)>,
    limit: i64,
) -> diesel::QueryResult<Vec<Reading>> {
    let mut query = readings::table
        .filter(readings::circle_id.eq(circle))
        .select(Reading::as_select())
        .order((readings::position, readings::id))
        .limit(limit)
        .into_boxed();
    if let Some((position, id)) = after {
        query = query.filter(
            readings::position
                .gt(position)
                .or(readings::position.eq(position).and(readings::id.gt(id))),
        );
    }
    query.load(conn).await
}

/// The reading, if it belongs to `circle`.
pub async fn find_in_circle(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    id: ReadingId,
) -> diesel::QueryResult<Option<Reading>> {
    readings::table
        .find(id)
        .filter(readings::circle_id.eq(circle))
        .select(Reading::as_select())
        .first(conn)
        .await
        .optional()
}

/// A reading's circle and place in its list.
pub async fn place(
    conn: &mut AsyncPgConnection,
    id: ReadingId,
) -> diesel::QueryResult<Option<(CircleId, i32)>> {
    readings::table
        .find(id)
        .select((readings::circle_id, readings::position))
        .first(conn)
        .await
        .optional()
}

/// The reading just before (`up`) or after `position` in the circle's list.
pub async fn neighbour(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    position: i32,
    up: bool,
) -> diesel::QueryResult<Option<(ReadingId, i32)>> {
    let query = readings::table
        .filter(readings::circle_id.eq(circle))
        .select((readings::id, readings::position))
        .into_boxed();
    let query = if up {
        query
            .filter(readings::position.lt(position))
            .order(readings::position.desc())
    } else {
        query
            .filter(readings::position.gt(position))
            .order(readings::position.asc())
    };
    query.first(conn).await.optional()
}

/// Put a reading at `position` (the caller keeps places distinct).
pub async fn set_position(
    conn: &mut AsyncPgConnection,
    id: ReadingId,
    position: i32,
) -> diesel::QueryResult<()> {
    diesel::update(readings::table.find(id))
        .set(readings::position.eq(position))
        .execute(conn)
        .await
        .map(drop)
}
