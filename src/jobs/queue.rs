//! The Postgres job queue: batched claims with `FOR UPDATE SKIP LOCKED` and a lease,
//! completion with a delivery record, retries with capped exponential backoff and jitter,
//! and reclaiming the jobs of workers that died. Its one tie to email is turning a send
//! error into a retry decision ([`JobError`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;

use crate::db::schema::{deliveries, jobs};
use crate::domain::{CircleId, JobId, JobState, MemberId};

/// A job this worker holds until `locked_until`.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct ClaimedJob {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: JobId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub max_attempts: i32,
}

/// What a job that sent an email records, for the outbox and the audit trail.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub member_id: Option<MemberId>,
    pub circle_id: Option<CircleId>,
    pub recipient: String,
    pub kind: String,
    pub message_id: String,
    pub dedupe_key: Option<String>,
    /// Keys of other messages this one carried (the next session's invitation riding with a
    /// reflection prompt or a welcome): each is recorded as delivered by the same message.
    pub carried: Vec<(String, String)>,
}

/// Why a job did not finish, and whether another attempt can help.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Temporary(String),
    #[error("{0}")]
    Permanent(String),
    /// Not yet: the job is put back for `at` without using up an attempt (a message waiting
    /// for the letter that may carry it).
    #[error("waiting until {0}: {1}")]
    Later(DateTime<Utc>, &'static str),
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Temporary(format!("database: {e}"))
    }
}

impl From<crate::db::PoolError> for JobError {
    fn from(e: crate::db::PoolError) -> Self {
        Self::Temporary(format!("database pool: {e}"))
    }
}

impl From<crate::email::SendError> for JobError {
    fn from(e: crate::email::SendError) -> Self {
        match e {
            crate::email::SendError::Temporary(m) => Self::Temporary(m),
            crate::email::SendError::Permanent(m) => Self::Permanent(m),
        }
    }
}

/// Capped exponential backoff with ±25 % jitter, so retries of a burst spread out.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn delay(&self, attempts: i32) -> Duration {
        let exp = attempts.clamp(1, 30) as u32 - 1;
        let raw = self.base.saturating_mul(1u32 << exp.min(20)).min(self.max);
        let jitter = rand::rng().random_range(0.75..1.25);
        raw.mul_f64(jitter).min(self.max)
    }
}

/// Claim up to `n` due jobs for `lease`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    n: usize,
    lease: Duration,
) -> diesel::QueryResult<Vec<ClaimedJob>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        relaxed_commit(conn).await?;
        // Walk the due-jobs index in order and stop after `n`: the plan a queue wants whatever
        // the statistics say. A bitmap scan would sort every queued row, dead ones included.
        diesel::sql_query("SET LOCAL enable_bitmapscan TO OFF")
            .execute(conn)
            .await?;
        diesel::sql_query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
                    locked_until = now() + make_interval(secs => $2), updated_at = now() \
             WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now() \
                          ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, payload, attempts, max_attempts",
        )
        .bind::<diesel::sql_types::BigInt, _>(n as i64)
        .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
        .load(conn)
        .await
    })
    .await
}

/// The queue's own bookkeeping (claims, completions) does not wait for the WAL flush. If
/// Postgres itself crashes, the last fraction of a second of claims and completions may be
/// lost: a lost claim is claimed again, a lost completion makes the job run again. Both are
/// already possible at-least-once outcomes, and WAL order means a lost completion never
/// survives the jobs it queued. Enqueueing, done in the caller's transaction, stays durable.
async fn relaxed_commit(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SET LOCAL synchronous_commit TO OFF")
        .execute(conn)
        .await
        .map(drop)
}

/// Put jobs whose lease ran out (their worker died) back in the queue, or bury those that
/// used up their attempts. Returns how many were touched.
pub async fn reclaim_expired(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE jobs SET \
            state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
            finished_at = CASE WHEN attempts >= max_attempts THEN now() END, \
            last_error = coalesce(last_error, 'the worker holding this job stopped'), \
            locked_until = NULL, run_at = now(), updated_at = now() \
         WHERE state = 'running' AND locked_until < now()",
    )
    .execute(conn)
    .await
}

/// Mark finished jobs done and record their deliveries, in one transaction.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    done: &[(JobId, Option<NewDelivery>)],
) -> diesel::QueryResult<()> {
    if done.is_empty() {
        return Ok(());
    }
    let ids: Vec<JobId> = done.iter().map(|(id, _)| *id).collect();
    let rows: Vec<_> = done
        .iter()
        .filter_map(|(job, d)| d.as_ref().map(|d| (job, d)))
        .flat_map(|(job, d)| {
            let own = (d.kind.clone(), d.dedupe_key.clone());
            let carried = d
                .carried
                .iter()
                .map(|(k, key)| (k.clone(), Some(key.clone())));
            std::iter::once(own).chain(carried).map(move |(kind, key)| {
                (
                    deliveries::id.eq(uuid::Uuid::now_v7()),
                    deliveries::job_id.eq(Some(job.0)),
                    deliveries::member_id.eq(d.member_id),
                    deliveries::circle_id.eq(d.circle_id),
                    deliveries::recipient.eq(Some(d.recipient.clone())),
                    deliveries::kind.eq(kind),
                    deliveries::message_id.eq(d.message_id.clone()),
                    deliveries::dedupe_key.eq(key),
                )
            })
        })
        .collect();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        relaxed_commit(conn).await?;
        let now = Utc::now();
        diesel::update(
            jobs::table
                .filter(jobs::id.eq_any(&ids))
                .filter(jobs::state.eq(JobState::Running)),
        )
        .set((
            jobs::state.eq(JobState::Done),
            jobs::finished_at.eq(Some(now)),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
        if !rows.is_empty() {
            diesel::insert_into(deliveries::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Record a failed attempt: retry later, or bury the job when retrying cannot help or its
/// attempts are used up. Returns the job's new state.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    job: &ClaimedJob,
    error: &JobError,
    retry: &RetryPolicy,
) -> diesel::QueryResult<JobState> {
    let now = Utc::now();
    if let JobError::Later(at, _) = error {
        diesel::update(
            jobs::table
                .find(job.id)
                .filter(jobs::state.eq(JobState::Running)),
        )
        .set((
            jobs::state.eq(JobState::Queued),
            jobs::run_at.eq(*at),
            jobs::attempts.eq(job.attempts - 1),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
        return Ok(JobState::Queued);
    }
    let message: String = error.to_string().chars().take(2000).collect();
    let dead = matches!(error, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
    let (state, run_at, finished) = if dead {
        (JobState::Dead, now, Some(now))
    } else {
        let delay = chrono::Duration::from_std(retry.delay(job.attempts)).unwrap_or_default();
        (JobState::Queued, now + delay, None)
    };
    diesel::update(
        jobs::table
            .find(job.id)
            .filter(jobs::state.eq(JobState::Running)),
    )
    .set((
        jobs::state.eq(state),
        jobs::run_at.eq(run_at),
        jobs::finished_at.eq(finished),
        jobs::last_error.eq(Some(message)),
        jobs::locked_until.eq(None::<DateTime<Utc>>),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    Ok(state)
}

/// Whether a message with this key was already handed to the mail server.
pub async fn already_delivered(
    conn: &mut AsyncPgConnection,
    dedupe_key: &str,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        deliveries::table.filter(deliveries::dedupe_key.eq(dedupe_key)),
    ))
    .get_result(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(3600),
        };
        for attempt in 1..=40 {
            let d = policy.delay(attempt);
            let nominal = (10.0 * 2f64.powi(attempt.min(30) - 1)).min(3600.0);
            assert!(
                d.as_secs_f64() >= nominal * 0.75 - 0.001,
                "{attempt}: {d:?}"
            );
            assert!(
                d.as_secs_f64() <= (nominal * 1.25).min(3600.0) + 0.001,
                "{attempt}: {d:?}"
            );
        }
        let spread: std::collections::HashSet<u128> =
            (0..20).map(|_| policy.delay(3).as_millis()).collect();
        assert!(spread.len() > 1, "jitter spreads retries");
    }
}
