//! Sessions: one meeting of a circle. Its truth is a local date and time in its zone;
//! `starts_at` is derived, and every change bumps `ics_sequence` for calendar clients.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{memberships, schedules, sessions};
use crate::domain::schedule::{Frequency, ScheduleRule};
use crate::domain::{
    CircleId, MemberId, MembershipState, ReadingId, ScheduleId, SessionId, SessionStatus,
};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: SessionId,
    pub circle_id: CircleId,
    pub schedule_id: Option<ScheduleId>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    #[serde(with = "crate::domain::hhmm")]
    #[schema(value_type = String, example = "19:00")]
    pub local_time: NaiveTime,
    pub timezone: crate::domain::Timezone,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub reading_id: Option<ReadingId>,
    pub facilitator_id: Option<MemberId>,
    pub status: SessionStatus,
    pub ics_sequence: i32,
    pub prompts: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Store a schedule and the sessions it expands to, in `timezone`.
pub async fn create_from_schedule(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    timezone: crate::domain::Timezone,
    rule: &ScheduleRule,
    location: Option<&str>,
) -> diesel::QueryResult<Vec<Session>> {
    let schedule_id = ScheduleId::new();
    let (interval, week_of_month, weekday) = match rule.frequency() {
        Frequency::Weekly { interval_weeks } => (interval_weeks as i32, None, None),
        Frequency::Monthly {
            week_of_month,
            weekday,
        } => (
            1,
            Some(week_of_month.number()),
            Some(weekday.number_from_monday() as i32),
        ),
    };
    let (count, until) = match rule.end() {
        crate::domain::schedule::End::Count(n) => (Some(n as i32), None),
        crate::domain::schedule::End::Until(d) => (None, Some(d)),
    };
    let freq = match rule.frequency() {
        Frequency::Weekly { .. } => "weekly",
        Frequency::Monthly { .. } => "monthly",
    };
    diesel::insert_into(schedules::table)
        .values((
            schedules::id.eq(schedule_id),
            schedules::circle_id.eq(circle),
            schedules::freq.eq(freq),
            schedules::interval_weeks.eq(interval),
            schedules::week_of_month.eq(week_of_month),
            schedules::weekday.eq(weekday),
            schedules::first_date.eq(rule.first_date()),
            schedules::local_time.eq(rule.local_time()),
            schedules::duration_minutes.eq(rule.duration_minutes() as i32),
            schedules::count.eq(count),
            schedules::until.eq(until),
        ))
        .execute(conn)
        .await?;
    let rows: Vec<_> = rule
        .expand(timezone.tz())
        .into_iter()
        .map(|o| {
            (
                sessions::id.eq(SessionId::new()),
                sessions::circle_id.eq(circle),
                sessions::schedule_id.eq(Some(schedule_id)),
                sessions::starts_at.eq(o.starts_at),
                sessions::ends_at.eq(o.ends_at),
                sessions::local_date.eq(o.local_date),
                sessions::local_time.eq(o.local_time),
                sessions::timezone.eq(timezone),
                sessions::duration_minutes.eq(rule.duration_minutes() as i32),
                sessions::location.eq(location),
            )
        })
        .collect();
    let mut created: Vec<Session> = diesel::insert_into(sessions::table)
        .values(rows)
        .returning(Session::as_returning())
        .get_results(conn)
        .await?;
    created.sort_by_key(|s| (s.starts_at, s.id));
    Ok(created)
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: SessionId,
) -> diesel::QueryResult<Option<Session>> {
    sessions::table
        .find(id)
        .select(Session::as_select())
        .first(conn)
        .await
        .optional()
}

/// Lock one session for a change.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: SessionId,
) -> diesel::QueryResult<Option<Session>> {
    sessions::table
        .find(id)
        .select(Session::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A page of a circle's sessions in time order, optionally only those ending after `from`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    from: Option<DateTime<Utc>>,
    after: Option<(DateTime<Utc>, SessionId)>,
    limit: i64,
) -> diesel::QueryResult<Vec<Session>> {
    let mut query = sessions::table
        .filter(sessions::circle_id.eq(circle))
        .select(Session::as_select())
        .order((sessions::starts_at, sessions::id))
        .limit(limit)
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(sessions::ends_at.gt(from));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            sessions::starts_at
                .gt(at)
                .or(sessions::starts_at.eq(at).and(sessions::id.gt(id))),
        );
    }
    query.load(conn).await
}

/// The new values of a session after an edit; the caller has worked out times and zone.
#[derive(Debug, Clone)]
pub struct SessionChanges {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub local_time: NaiveTime,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub reading_id: Option<ReadingId>,
    pub facilitator_id: Option<MemberId>,
    pub prompts: Option<String>,
}

/// Write an edit and bump the calendar sequence.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: SessionId,
    changes: &SessionChanges,
) -> diesel::QueryResult<Session> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::starts_at.eq(changes.starts_at),
            sessions::ends_at.eq(changes.ends_at),
            sessions::local_date.eq(changes.local_date),
            sessions::local_time.eq(changes.local_time),
            sessions::duration_minutes.eq(changes.duration_minutes),
            sessions::location.eq(&changes.location),
            sessions::reading_id.eq(changes.reading_id),
            sessions::facilitator_id.eq(changes.facilitator_id),
            sessions::prompts.eq(&changes.prompts),
            sessions::ics_sequence.eq(sessions::ics_sequence + 1),
            sessions::updated_at.eq(Utc::now()),
        ))
        .returning(Session::as_returning())
        .get_result(conn)
        .await
}

pub async fn cancel(conn: &mut AsyncPgConnection, id: SessionId) -> diesel::QueryResult<Session> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::status.eq(SessionStatus::Cancelled),
            sessions::ics_sequence.eq(sessions::ics_sequence + 1),
            sessions::updated_at.eq(Utc::now()),
        ))
        .returning(Session::as_returning())
        .get_result(conn)
        .await
}

/// The next scheduled session of each of the given circles (one query).
pub async fn next_for_circles(
    conn: &mut AsyncPgConnection,
    circles: &[CircleId],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::circle_id.eq_any(circles))
        .filter(sessions::status.eq(SessionStatus::Scheduled))
        .filter(sessions::starts_at.gt(now))
        .distinct_on(sessions::circle_id)
        .order((sessions::circle_id, sessions::starts_at))
        .select(Session::as_select())
        .load(conn)
        .await
}

/// Sessions ending after `from` in the circles where the member holds a seat, in time order.
pub async fn for_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    from: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<Vec<Session>> {
    sessions::table
        .filter(
            sessions::circle_id.eq_any(
                memberships::table
                    .filter(memberships::member_id.eq(member))
                    .filter(memberships::state.eq(MembershipState::Active))
                    .select(memberships::circle_id),
            ),
        )
        .filter(sessions::ends_at.gt(from))
        .order((sessions::starts_at, sessions::id))
        .limit(limit)
        .select(Session::as_select())
        .load(conn)
        .await
}

/// A circle's scheduled sessions that start after `now`, the first `limit` of them.
pub async fn upcoming(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    now: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::circle_id.eq(circle))
        .filter(sessions::status.eq(SessionStatus::Scheduled))
        .filter(sessions::starts_at.gt(now))
        .select(Session::as_select())
        .order((sessions::starts_at, sessions::id))
        .limit(limit)
        .load(conn)
        .await
}

/// The circle's scheduled session just before `session` (by start), if any.
pub async fn previous(
    conn: &mut AsyncPgConnection,
    session: &Session,
) -> diesel::QueryResult<Option<Session>> {
    sessions::table
        .filter(sessions::circle_id.eq(session.circle_id))
        .filter(sessions::status.eq(SessionStatus::Scheduled))
        .filter(sessions::id.ne(session.id))
        .filter(sessions::starts_at.le(session.starts_at))
        .select(Session::as_select())
        .order((sessions::starts_at.desc(), sessions::id.desc()))
        .first(conn)
        .await
        .optional()
}

/// Record the confirmed facilitator. A change of holder is not a change of the session:
/// the calendar sequence stays, so nobody is emailed an update for it.
pub async fn set_facilitator(
    conn: &mut AsyncPgConnection,
    id: SessionId,
    member: Option<MemberId>,
) -> diesel::QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::facilitator_id.eq(member),
            sessions::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Give `to` a session for each of `from`'s sessions still to come that start after
/// `after`: at the local date and time `at` gives for it (in `zone`), with the same length and
/// place, reading the copy of the same reading.
pub async fn copy_upcoming(
    conn: &mut AsyncPgConnection,
    from: CircleId,
    to: CircleId,
    readings: &[(ReadingId, ReadingId)],
    after: DateTime<Utc>,
    zone: crate::domain::Timezone,
    at: impl Fn(chrono::NaiveDate, chrono::NaiveTime) -> (chrono::NaiveDate, chrono::NaiveTime),
) -> diesel::QueryResult<Vec<Session>> {
    let old: Vec<Session> = sessions::table
        .filter(sessions::circle_id.eq(from))
        .filter(sessions::status.eq(SessionStatus::Scheduled))
        .filter(sessions::starts_at.gt(after))
        .order((sessions::starts_at, sessions::id))
        .select(Session::as_select())
        .load(conn)
        .await?;
    if old.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = old
        .iter()
        .map(|s| {
            let (date, time) = at(s.local_date, s.local_time);
            let (starts_at, _) = crate::domain::schedule::resolve_local(zone.tz(), date, time);
            let reading = s
                .reading_id
                .and_then(|r| readings.iter().find(|(o, _)| *o == r).map(|(_, n)| *n));
            (
                sessions::id.eq(SessionId::new()),
                sessions::circle_id.eq(to),
                sessions::starts_at.eq(starts_at),
                sessions::ends_at
                    .eq(starts_at + chrono::Duration::minutes(i64::from(s.duration_minutes))),
                sessions::local_date.eq(date),
                sessions::local_time.eq(time),
                sessions::timezone.eq(zone),
                sessions::duration_minutes.eq(s.duration_minutes),
                sessions::location.eq(s.location.clone()),
                sessions::reading_id.eq(reading),
                sessions::prompts.eq(s.prompts.clone()),
            )
        })
        .collect();
    let mut created: Vec<Session> = diesel::insert_into(sessions::table)
        .values(rows)
        .returning(Session::as_returning())
        .get_results(conn)
        .await?;
    created.sort_by_key(|s| (s.starts_at, s.id));
    Ok(created)
}
