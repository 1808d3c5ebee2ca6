//! What a circle reads, in the order it reads it.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods,
    OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{reading_segments, readings, sessions};
use crate::domain::{CircleId, ReadingId, SessionId};

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

pub use crate::domain::readings::NewReading;

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

/// A reading's chapters, as stored (JSON), and its circle.
pub async fn chapters(
    conn: &mut AsyncPgConnection,
    reading: ReadingId,
) -> diesel::QueryResult<Option<(CircleId, serde_json::Value)>> {
    readings::table
        .find(reading)
        .select((readings::circle_id, readings::chapters))
        .first(conn)
        .await
        .optional()
}

pub async fn set_chapters(
    conn: &mut AsyncPgConnection,
    reading: ReadingId,
    chapters: &serde_json::Value,
) -> diesel::QueryResult<()> {
    diesel::update(readings::table.find(reading))
        .set(readings::chapters.eq(chapters))
        .execute(conn)
        .await
        .map(drop)
}

/// The circle's readings that have chapters.
pub async fn with_chapters(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<(ReadingId, serde_json::Value)>> {
    readings::table
        .filter(readings::circle_id.eq(circle))
        .filter(readings::chapters.ne(serde_json::json!([])))
        .order(readings::position)
        .select((readings::id, readings::chapters))
        .load(conn)
        .await
}

/// The circle's readings that no scheduled session reads, coming or past (never attached, or
/// only to sessions since cancelled), in list order, each with whether it has chapters.
pub async fn unread(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<(ReadingId, bool)>> {
    readings::table
        .filter(readings::circle_id.eq(circle))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            sessions::table
                .filter(sessions::reading_id.eq(readings::id.nullable()))
                .filter(sessions::status.eq(crate::domain::SessionStatus::Scheduled)),
        )))
        .order((readings::position, readings::id))
        .select((readings::id, readings::chapters.ne(serde_json::json!([]))))
        .load(conn)
        .await
}

/// One session's share of a reading.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = reading_segments, check_for_backend(diesel::pg::Pg))]
pub struct SegmentRow {
    pub session_id: SessionId,
    pub reading_id: ReadingId,
    pub position: i32,
    pub first_page: i32,
    pub last_page: i32,
    pub label: String,
}

/// The circle's segments, in session order.
pub async fn segments(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<SegmentRow>> {
    reading_segments::table
        .inner_join(sessions::table)
        .filter(reading_segments::circle_id.eq(circle))
        .order((sessions::starts_at, reading_segments::position))
        .select(SegmentRow::as_select())
        .load(conn)
        .await
}

/// The segment a session reads, if any.
pub async fn segment_of(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Option<SegmentRow>> {
    reading_segments::table
        .filter(reading_segments::session_id.eq(session))
        .order(reading_segments::position)
        .select(SegmentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// What each of `ids` reads of its reading, when the reading is split: (session, label).
pub async fn labels_for(
    conn: &mut AsyncPgConnection,
    ids: &[SessionId],
) -> diesel::QueryResult<Vec<(SessionId, String)>> {
    reading_segments::table
        .inner_join(sessions::table)
        .filter(reading_segments::session_id.eq_any(ids))
        .filter(sessions::reading_id.eq(reading_segments::reading_id.nullable()))
        .select((reading_segments::session_id, reading_segments::label))
        .load(conn)
        .await
}

/// Replace `reading`'s segments for `sessions` with `rows` (the others stay).
pub async fn replace_segments(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    reading: ReadingId,
    sessions_in: &[SessionId],
    rows: &[(SessionId, i32, i32, i32, String)],
) -> diesel::QueryResult<()> {
    diesel::delete(
        reading_segments::table
            .filter(reading_segments::reading_id.eq(reading))
            .filter(reading_segments::session_id.eq_any(sessions_in)),
    )
    .execute(conn)
    .await?;
    let values: Vec<_> = rows
        .iter()
        .map(|(session, position, first, last, label)| {
            (
                reading_segments::session_id.eq(*session),
                reading_segments::reading_id.eq(reading),
                reading_segments::circle_id.eq(circle),
                reading_segments::position.eq(*position),
                reading_segments::first_page.eq(*first),
                reading_segments::last_page.eq(*last),
                reading_segments::label.eq(label),
            )
        })
        .collect();
    if !values.is_empty() {
        diesel::insert_into(reading_segments::table)
            .values(values)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The scheduled sessions that read `reading`, in start order: (id, start).
pub async fn sessions_reading(
    conn: &mut AsyncPgConnection,
    reading: ReadingId,
) -> diesel::QueryResult<Vec<(SessionId, DateTime<Utc>)>> {
    sessions::table
        .filter(sessions::reading_id.eq(reading))
        .filter(sessions::status.eq(crate::domain::SessionStatus::Scheduled))
        .order(sessions::starts_at)
        .select((sessions::id, sessions::starts_at))
        .load(conn)
        .await
}

/// Every session (any status) with a segment of `reading`: (id, start).
pub async fn sessions_with_segments(
    conn: &mut AsyncPgConnection,
    reading: ReadingId,
) -> diesel::QueryResult<Vec<(SessionId, DateTime<Utc>, i32, i32)>> {
    reading_segments::table
        .inner_join(sessions::table)
        .filter(reading_segments::reading_id.eq(reading))
        .order(sessions::starts_at)
        .select((
            sessions::id,
            sessions::starts_at,
            reading_segments::first_page,
            reading_segments::last_page,
        ))
        .load(conn)
        .await
}

/// Give `reading` to the circle's coming scheduled sessions that have no reading; returns how
/// many.
pub async fn give_to_coming_sessions(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    reading: ReadingId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::circle_id.eq(circle))
            .filter(sessions::reading_id.is_null())
            .filter(sessions::status.eq(crate::domain::SessionStatus::Scheduled))
            .filter(sessions::starts_at.gt(now)),
    )
    .set(sessions::reading_id.eq(reading))
    .execute(conn)
    .await
}

/// The reading with chapters that the circle's latest session (by start) reads: new sessions
/// continue it.
pub async fn current_planned(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    except: &[SessionId],
) -> diesel::QueryResult<Option<ReadingId>> {
    sessions::table
        .inner_join(readings::table.on(readings::id.nullable().eq(sessions::reading_id)))
        .filter(sessions::circle_id.eq(circle))
        .filter(sessions::id.ne_all(except))
        .filter(readings::chapters.ne(serde_json::json!([])))
        .order(sessions::starts_at.desc())
        .select(readings::id)
        .first(conn)
        .await
        .optional()
}

pub async fn set_session_reading(
    conn: &mut AsyncPgConnection,
    sessions_in: &[SessionId],
    reading: ReadingId,
) -> diesel::QueryResult<usize> {
    diesel::update(sessions::table.filter(sessions::id.eq_any(sessions_in)))
        .set(sessions::reading_id.eq(reading))
        .execute(conn)
        .await
}

/// Copy every reading of `from` (with its chapters, in order) into `to`: old id → new id.
pub async fn copy_all(
    conn: &mut AsyncPgConnection,
    from: CircleId,
    to: CircleId,
) -> diesel::QueryResult<Vec<(ReadingId, ReadingId)>> {
    let old: Vec<ReadingId> = readings::table
        .filter(readings::circle_id.eq(from))
        .order((readings::position, readings::id))
        .select(readings::id)
        .load(conn)
        .await?;
    let pairs: Vec<(ReadingId, ReadingId)> =
        old.into_iter().map(|o| (o, ReadingId::new())).collect();
    if pairs.is_empty() {
        return Ok(pairs);
    }
    diesel::sql_query(
        "INSERT INTO readings (id, circle_id, title, author, url, isbn, notes, position, chapters) \
         SELECT m.new_id, $3, r.title, r.author, r.url, r.isbn, r.notes, r.position, r.chapters \
         FROM unnest($1::uuid[], $2::uuid[]) AS m(old_id, new_id) JOIN readings r ON r.id = m.old_id",
    )
    .bind::<Array<SqlUuid>, _>(pairs.iter().map(|p| p.0 .0).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(pairs.iter().map(|p| p.1 .0).collect::<Vec<_>>())
    .bind::<SqlUuid, _>(to.0)
    .execute(conn)
    .await?;
    Ok(pairs)
}
