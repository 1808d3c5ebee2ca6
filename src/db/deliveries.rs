//! What was handed to the mail server: one row per delivered message, with its dedupe key.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::deliveries;

/// Of these message keys, the ones already delivered (in one query).
pub async fn delivered_among(
    conn: &mut AsyncPgConnection,
    keys: &[String],
) -> diesel::QueryResult<Vec<String>> {
    let found: Vec<Option<String>> = deliveries::table
        .filter(deliveries::dedupe_key.eq_any(keys))
        .select(deliveries::dedupe_key)
        .distinct()
        .load(conn)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// The latest `limit` messages delivered about `circle`: when, kind, recipient (gone for
/// people who were erased).
pub async fn recent_for_circle(
    conn: &mut AsyncPgConnection,
    circle: crate::domain::CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<(chrono::DateTime<chrono::Utc>, String, Option<String>)>> {
    deliveries::table
        .filter(deliveries::circle_id.eq(circle))
        .order(deliveries::sent_at.desc())
        .limit(limit)
        .select((deliveries::sent_at, deliveries::kind, deliveries::recipient))
        .load(conn)
        .await
}
