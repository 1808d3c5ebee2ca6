//! What a circle offers someone who might join it: its coming dates and its first readings.
//! The growing letters and the growing page show them.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;

use crate::db::{readings, sessions};
use crate::domain::SessionStatus;
use crate::email::when::describe_time;

/// How many dates a message lists before "and N more".
const DATES_SHOWN: usize = 6;

/// The circle's coming dates, the first few in full, then "and N more".
pub async fn coming_dates(
    conn: &mut AsyncPgConnection,
    circle: crate::domain::CircleId,
    zone: Tz,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<String>> {
    let coming: Vec<_> = sessions::list(conn, circle, Some(now), None, 200)
        .await?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > now)
        .collect();
    let mut out: Vec<String> = coming
        .iter()
        .take(DATES_SHOWN)
        .map(|s| describe_time(s.starts_at, s.ends_at, zone))
        .collect();
    if coming.len() > DATES_SHOWN {
        out.push(format!("and {} more", coming.len() - DATES_SHOWN));
    }
    Ok(out)
}

/// The sibling's dates if its lead moves them by `shift`: the circle's sessions it would copy
/// (those more than `after` from now), moved as accepting would move them, the first few in
/// full, then "and N more".
pub async fn shifted_dates(
    conn: &mut AsyncPgConnection,
    circle: &crate::db::circles::Circle,
    zone: Tz,
    after: DateTime<Utc>,
    shift: crate::domain::growing::Shift,
) -> diesel::QueryResult<Vec<String>> {
    let coming: Vec<_> = sessions::list(conn, circle.id, Some(after), None, 200)
        .await?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > after)
        .collect();
    let mut out: Vec<String> = coming
        .iter()
        .take(DATES_SHOWN)
        .map(|s| {
            let (date, time) = shift.apply(s.local_date, s.local_time);
            let (starts, _) =
                crate::domain::schedule::resolve_local(circle.timezone.tz(), date, time);
            let ends = starts + chrono::Duration::minutes(i64::from(s.duration_minutes));
            describe_time(starts, ends, zone)
        })
        .collect();
    if coming.len() > DATES_SHOWN {
        out.push(format!("and {} more", coming.len() - DATES_SHOWN));
    }
    Ok(out)
}

/// The circle's first readings, "Title, by Author".
pub async fn reading_titles(
    conn: &mut AsyncPgConnection,
    circle: crate::domain::CircleId,
) -> diesel::QueryResult<Vec<String>> {
    readings::list(conn, circle, None, 5).await.map(|list| {
        list.into_iter()
            .map(|r| match r.author {
                Some(a) => format!("{}, by {a}", r.title),
                None => r.title,
            })
            .collect()
    })
}
