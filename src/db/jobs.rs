//! The job table as rows: enqueueing inside a caller's transaction, listing and retrying.
//! Claiming and running jobs belong to the worker.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::jobs;
use crate::domain::{JobId, JobState};

pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub state: JobState,
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: serde_json::Value,
    /// While a job with this key is queued or running, another with the same key is dropped.
    pub dedupe_key: Option<String>,
    pub run_at: DateTime<Utc>,
}

impl NewJob {
    pub fn now(kind: &'static str, payload: serde_json::Value, dedupe_key: String) -> Self {
        Self {
            kind,
            payload,
            dedupe_key: Some(dedupe_key),
            run_at: Utc::now(),
        }
    }
}

/// Queue a job in the caller's transaction. `None` means an identical job was already pending.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    job: NewJob,
) -> diesel::QueryResult<Option<JobId>> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::id.eq(JobId::new()),
            jobs::kind.eq(job.kind),
            jobs::payload.eq(job.payload),
            jobs::dedupe_key.eq(job.dedupe_key),
            jobs::run_at.eq(job.run_at),
            jobs::max_attempts.eq(DEFAULT_MAX_ATTEMPTS),
        ))
        .on_conflict_do_nothing()
        .returning(jobs::id)
        .get_result(conn)
        .await
        .optional()
}

/// How many jobs of `kind` are queued or running.
pub async fn pending_of_kind(conn: &mut AsyncPgConnection, kind: &str) -> diesel::QueryResult<i64> {
    jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::state.eq_any([JobState::Queued, JobState::Running]))
        .count()
        .get_result(conn)
        .await
}

/// A job queued or running, found by its key.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct Pending {
    pub key: Option<String>,
    pub state: JobState,
    pub run_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

/// The jobs queued or running under any of `keys`, soonest first (by the keys' index: the
/// cost follows the keys asked for, not the queue).
pub async fn pending(
    conn: &mut AsyncPgConnection,
    keys: &[String],
) -> diesel::QueryResult<Vec<Pending>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    jobs::table
        .filter(jobs::dedupe_key.eq_any(keys))
        .filter(jobs::state.eq_any([JobState::Queued, JobState::Running]))
        .order(jobs::run_at)
        .select((jobs::dedupe_key, jobs::state, jobs::run_at, jobs::payload))
        .load(conn)
        .await
}

/// Queue many jobs in one statement (in chunks); duplicates of pending jobs are dropped.
pub async fn enqueue_many(
    conn: &mut AsyncPgConnection,
    batch: Vec<NewJob>,
) -> diesel::QueryResult<usize> {
    let mut inserted = 0;
    for chunk in batch.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|job| {
                (
                    jobs::id.eq(JobId::new()),
                    jobs::kind.eq(job.kind),
                    jobs::payload.eq(job.payload.clone()),
                    jobs::dedupe_key.eq(job.dedupe_key.clone()),
                    jobs::run_at.eq(job.run_at),
                    jobs::max_attempts.eq(DEFAULT_MAX_ATTEMPTS),
                )
            })
            .collect();
        inserted += diesel::insert_into(jobs::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// Drop queued jobs with these keys (a rescheduled or cancelled session's pending mail); the
/// answer is the keys of the jobs that were still waiting.
pub async fn delete_queued(
    conn: &mut AsyncPgConnection,
    keys: &[String],
) -> diesel::QueryResult<Vec<String>> {
    let deleted: Vec<Option<String>> = diesel::delete(
        jobs::table
            .filter(jobs::dedupe_key.eq_any(keys))
            .filter(jobs::state.eq(JobState::Queued)),
    )
    .returning(jobs::dedupe_key)
    .get_results(conn)
    .await?;
    Ok(deleted.into_iter().flatten().collect())
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    state: Option<JobState>,
    after: Option<JobId>,
    limit: i64,
) -> diesel::QueryResult<Vec<Job>> {
    let mut query = jobs::table
        .select(Job::as_select())
        .order(jobs::id)
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(jobs::state.eq(state));
    }
    if let Some(after) = after {
        query = query.filter(jobs::id.gt(after));
    }
    query.load(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: JobId) -> diesel::QueryResult<Option<Job>> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .await
        .optional()
}

/// Put a dead job back in the queue with a fresh set of attempts.
pub async fn retry_dead(
    conn: &mut AsyncPgConnection,
    id: JobId,
) -> diesel::QueryResult<Option<Job>> {
    let now = Utc::now();
    diesel::update(jobs::table.find(id).filter(jobs::state.eq(JobState::Dead)))
        .set((
            jobs::state.eq(JobState::Queued),
            jobs::attempts.eq(0),
            jobs::run_at.eq(now),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::finished_at.eq(None::<DateTime<Utc>>),
            jobs::updated_at.eq(now),
        ))
        .returning(Job::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// How many jobs are in each state (every state listed, zero included).
pub async fn counts_by_state(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<Vec<(JobState, i64)>> {
    let rows: Vec<(JobState, i64)> = jobs::table
        .group_by(jobs::state)
        .select((jobs::state, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(JobState::ALL
        .iter()
        .map(|s| (*s, rows.iter().find(|(r, _)| r == s).map_or(0, |(_, n)| *n)))
        .collect())
}

/// A job as a circle's outbox lists it: id, kind, payload, due, attempts, last error.
pub type OutboxRow = (
    JobId,
    String,
    serde_json::Value,
    DateTime<Utc>,
    i32,
    Option<String>,
);

/// The first `limit` jobs about `circle` in `state`, soonest due first.
pub async fn of_circle(
    conn: &mut AsyncPgConnection,
    circle: crate::domain::CircleId,
    state: JobState,
    limit: i64,
) -> diesel::QueryResult<Vec<OutboxRow>> {
    use diesel::PgAnyJsonExpressionMethods;
    jobs::table
        .filter(jobs::state.eq(state))
        .filter(
            jobs::payload
                .retrieve_as_text("circle_id")
                .eq(circle.to_string()),
        )
        .order(jobs::run_at)
        .limit(limit)
        .select((
            jobs::id,
            jobs::kind,
            jobs::payload,
            jobs::run_at,
            jobs::attempts,
            jobs::last_error,
        ))
        .load(conn)
        .await
}
