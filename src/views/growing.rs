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

/// The circle's scheduled sessions starting after `after`, in order.
async fn scheduled_after(
    conn: &mut AsyncPgConnection,
    circle: crate::domain::CircleId,
    after: DateTime<Utc>,
) -> diesel::QueryResult<Vec<sessions::Session>> {
    Ok(sessions::list(conn, circle, Some(after), None, 200)
        .await?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > after)
        .collect())
}

/// The first few of `coming` as `line` writes them, then "and N more".
fn first_few(
    coming: &[sessions::Session],
    line: impl Fn(&sessions::Session) -> String,
) -> Vec<String> {
    let mut out: Vec<String> = coming.iter().take(DATES_SHOWN).map(line).collect();
    if coming.len() > DATES_SHOWN {
        out.push(format!("and {} more", coming.len() - DATES_SHOWN));
    }
    out
}

/// The circle's coming dates, the first few in full, then "and N more".
pub async fn coming_dates(
    conn: &mut AsyncPgConnection,
    circle: crate::domain::CircleId,
    zone: Tz,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<String>> {
    let coming = scheduled_after(conn, circle, now).await?;
    Ok(first_few(&coming, |s| {
        describe_time(s.starts_at, s.ends_at, zone)
    }))
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
    let coming = scheduled_after(conn, circle.id, after).await?;
    Ok(first_few(&coming, |s| {
        let (date, time) = shift.apply(s.local_date, s.local_time);
        let (starts, _) = crate::domain::schedule::resolve_local(circle.timezone.tz(), date, time);
        let ends = starts + chrono::Duration::minutes(i64::from(s.duration_minutes));
        describe_time(starts, ends, zone)
    }))
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
