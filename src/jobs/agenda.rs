//! The sweep's freeze of talking-piece agendas: two hours before a session starts, its agenda
//! is built once more from the RSVPs and stored, and never changed again. Building and
//! showing an agenda is `crate::views::agenda`.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::{agendas, circles, sessions};
use crate::domain::agenda as rules;
use crate::views::agenda::{build, speaking_order_seed, template_of};

/// Freeze every agenda due: sessions starting within two hours. Returns how many froze.
pub async fn freeze_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    let due =
        agendas::due_for_freeze(conn, now, Duration::minutes(rules::FREEZE_BEFORE_MINUTES)).await?;
    let mut frozen = 0;
    for id in due {
        let Some(session) = sessions::find(conn, id).await? else {
            continue;
        };
        let Some(circle) = circles::find(conn, session.circle_id).await? else {
            continue;
        };
        let template = template_of(conn, &circle).await?;
        let (rounds, first) = build(conn, &session, &template).await?;
        let json = serde_json::to_value(&rounds).expect("rounds serialise");
        if agendas::freeze(
            conn,
            id,
            circle.id,
            &json,
            first,
            speaking_order_seed(circle.id),
        )
        .await?
        {
            frozen += 1;
        }
    }
    Ok(frozen)
}
