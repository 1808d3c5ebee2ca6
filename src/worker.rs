//! The worker loop: claim as many due jobs as there are free slots, run them concurrently,
//! record completions in batches, sleep until NOTIFY or the poll interval says there is more.
//! On shutdown it stops claiming, lets in-flight jobs finish, records them, and returns.
//! Any number of workers may run against one database.
//!
//! The worker is a front end like the API and the CLI: it stands above `actions`, so a job
//! kind may run a use case (re-plans, consent closes, the clock's tasks). A claimed job is
//! read into a `jobs::Job` once (`Job::parse`) and dispatched on that enum.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, Notify, Semaphore};

use chrono::{DateTime, Utc};

use crate::actions::{agreements, feedback, growing, questions, rota, swaps};
use crate::config::{DatabaseUrl, WorkerSettings};
use crate::db::Connection;
use crate::domain::{JobId, JobState};
use crate::jobs::clock::{self, Task};
use crate::jobs::queue::{self, ClaimedJob, JobError, NewDelivery, RetryPolicy};
use crate::jobs::{agenda, email, fanout, link_request, Job, JobContext};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub lease: Duration,
    pub retry: RetryPolicy,
}

impl From<&WorkerSettings> for WorkerConfig {
    fn from(s: &WorkerSettings) -> Self {
        Self {
            concurrency: s.concurrency,
            poll_interval: Duration::from_millis(s.poll_interval_ms),
            lease: Duration::from_secs(s.lease_seconds),
            retry: RetryPolicy {
                base: Duration::from_millis(s.retry_base_ms),
                max: Duration::from_millis(s.retry_max_ms),
            },
        }
    }
}

type Completion = (JobId, Option<NewDelivery>);

/// Run until `shutdown` turns true, then drain and return.
pub async fn run(
    ctx: Arc<JobContext>,
    config: WorkerConfig,
    listen_url: Option<DatabaseUrl>,
    mut shutdown: watch::Receiver<bool>,
) {
    let wake = Arc::new(Notify::new());
    let listener = listen_url.map(|url| tokio::spawn(listen(url, wake.clone(), shutdown.clone())));
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let (done_tx, done_rx) = mpsc::channel::<Completion>(config.concurrency * 4 + 64);
    let recorder = tokio::spawn(record_completions(ctx.clone(), done_rx));
    let reclaim_every = (config.lease / 4).max(Duration::from_secs(1));
    let mut last_reclaim: Option<Instant> = None;
    tracing::info!(concurrency = config.concurrency, "worker started");
    // The clock: each tick queues the next; this starts the chain if no tick is waiting.
    match ctx.pool.get().await {
        Ok(mut conn) => {
            if let Err(e) = clock::start(&mut conn, Utc::now()).await {
                tracing::warn!(error = %e, "could not start the clock");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not start the clock"),
    }

    while !*shutdown.borrow() {
        if last_reclaim.is_none_or(|t| t.elapsed() >= reclaim_every) {
            last_reclaim = Some(Instant::now());
            match ctx.pool.get().await {
                Ok(mut conn) => match queue::reclaim_expired(&mut conn).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(jobs = n, "reclaimed jobs whose worker stopped"),
                    Err(e) => tracing::warn!(error = %e, "reclaiming expired leases failed"),
                },
                Err(e) => tracing::warn!(error = %e, "worker cannot reach the database"),
            }
        }
        // Claim in batches: wait until half the slots are free (or none are busy), so a
        // busy worker makes a few large claims rather than many single-row ones.
        let free = slots.available_permits();
        let half = config.concurrency.div_ceil(2);
        if free < half {
            tokio::select! {
                permits = slots.acquire_many(half as u32) => drop(permits),
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let claimed = match ctx.pool.get().await {
            Ok(mut conn) => queue::claim(&mut conn, free, config.lease).await,
            Err(e) => Err(diesel::result::Error::QueryBuilderError(
                e.to_string().into(),
            )),
        };
        match claimed {
            Ok(jobs) if !jobs.is_empty() => {
                for job in jobs {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        break;
                    };
                    let ctx = ctx.clone();
                    let done = done_tx.clone();
                    let retry = config.retry;
                    tokio::spawn(async move {
                        process(&ctx, job, &done, &retry).await;
                        drop(permit);
                    });
                }
            }
            Ok(_) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs failed");
                tokio::select! {
                    _ = tokio::time::sleep(config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    tracing::info!("worker stopping: finishing jobs in flight");
    let _all = slots.acquire_many(config.concurrency as u32).await;
    drop(done_tx);
    let _ = recorder.await;
    if let Some(l) = listener {
        l.abort();
    }
    tracing::info!("worker stopped");
}

async fn process(
    ctx: &JobContext,
    job: ClaimedJob,
    done: &mpsc::Sender<Completion>,
    retry: &RetryPolicy,
) {
    match run_job(ctx, &job).await {
        Ok(delivery) => {
            let _ = done.send((job.id, delivery)).await;
        }
        Err(error) => record_failure(ctx, &job, &error, retry).await,
    }
}

async fn record_failure(ctx: &JobContext, job: &ClaimedJob, error: &JobError, retry: &RetryPolicy) {
    let result = match ctx.pool.get().await {
        Ok(mut conn) => queue::fail(&mut conn, job, error, retry)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(_) if matches!(error, JobError::Later(..)) => {
            tracing::debug!(job = %job.id, kind = %job.kind, error = %error, "job put back")
        }
        Ok(JobState::Dead) => {
            tracing::error!(job = %job.id, kind = %job.kind, error = %error, "job failed for good")
        }
        Ok(_) => {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job failed; will retry")
        }
        // The lease will expire and another attempt will follow.
        Err(e) => tracing::error!(job = %job.id, error = %e, "could not record a job failure"),
    }
}

/// Write completions in batches: whatever has arrived is flushed together.
async fn record_completions(ctx: Arc<JobContext>, mut rx: mpsc::Receiver<Completion>) {
    let mut batch = Vec::with_capacity(256);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        for attempt in 0..5u64 {
            let result = match ctx.pool.get().await {
                Ok(mut conn) => queue::complete(&mut conn, &batch)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) => break,
                Err(e) if attempt < 4 => {
                    tracing::warn!(error = %e, "recording completed jobs failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
                }
                // The leases will expire and the jobs run again: at-least-once.
                Err(e) => {
                    tracing::error!(error = %e, jobs = batch.len(), "could not record completed jobs")
                }
            }
        }
        batch.clear();
    }
}

/// LISTEN for new jobs on a dedicated connection, reconnecting after failures.
async fn listen(url: DatabaseUrl, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match AsyncPgConnection::establish(url.expose()).await {
            Ok(mut conn) => {
                if diesel::sql_query("LISTEN roundtable_jobs")
                    .execute(&mut conn)
                    .await
                    .is_ok()
                {
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    loop {
                        tokio::select! {
                            n = stream.next() => match n {
                                Some(Ok(_)) => wake.notify_one(),
                                _ => break,
                            },
                            _ = shutdown.changed() => return,
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "job listener cannot connect"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// What `drain` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
    /// Jobs put back for later without using an attempt (`JobError::Later`).
    pub postponed: usize,
}

/// Run every due job, one batch after another, until none is due (for tests and one-off
/// runs from the command line). Jobs retried for later are not waited for.
pub async fn drain(ctx: &JobContext, config: &WorkerConfig) -> anyhow::Result<DrainReport> {
    let mut report = DrainReport::default();
    loop {
        let mut conn = ctx.pool.get().await?;
        queue::reclaim_expired(&mut conn).await?;
        let jobs = queue::claim(&mut conn, config.concurrency.max(1), config.lease).await?;
        drop(conn);
        if jobs.is_empty() {
            return Ok(report);
        }
        let results =
            futures_util::future::join_all(jobs.iter().map(|job| run_job(ctx, job))).await;
        let mut completions = Vec::new();
        for (job, result) in jobs.iter().zip(results) {
            match result {
                Ok(delivery) => completions.push((job.id, delivery)),
                Err(error) => {
                    let mut conn = ctx.pool.get().await?;
                    match queue::fail(&mut conn, job, &error, &config.retry).await? {
                        _ if matches!(error, JobError::Later(..)) => report.postponed += 1,
                        JobState::Dead => report.dead += 1,
                        _ => report.retried += 1,
                    }
                }
            }
        }
        report.done += completions.len();
        let mut conn = ctx.pool.get().await?;
        queue::complete(&mut conn, &completions).await?;
    }
}

/// An action's failure as a job failure: the database's are worth retrying, the rest not.
fn app_error(e: crate::error::AppError) -> JobError {
    match e {
        crate::error::AppError::Internal(e) | crate::error::AppError::Unavailable(e) => {
            JobError::Temporary(e.to_string())
        }
        other => JobError::Permanent(other.to_string()),
    }
}

/// Run one claimed job to its end (success or an error that says whether to retry).
pub async fn run_job(ctx: &JobContext, job: &ClaimedJob) -> Result<Option<NewDelivery>, JobError> {
    match Job::parse(&job.kind, &job.payload)? {
        Job::Noop => Ok(None),
        Job::Email(email) => email::run(ctx, email).await,
        Job::LinkRequest(request) => link_request::run(ctx, request).await,
        Job::SessionFanout(f) => fanout::run_session(ctx, f).await.map(|_| None),
        Job::MemberInvitations(i) => fanout::run_member(ctx, i).await.map(|_| None),
        Job::RotaPlan(plan) => {
            let mut conn = ctx.pool.get().await?;
            rota::replan(&mut conn, plan.circle_id, Utc::now())
                .await
                .map_err(app_error)?;
            Ok(None)
        }
        Job::GrowCheck(check) => {
            let mut conn = ctx.pool.get().await?;
            growing::check(&mut conn, check.circle_id, Utc::now())
                .await
                .map_err(app_error)?;
            Ok(None)
        }
        Job::Clock => tick(ctx).await.map(|()| None),
        Job::AgreementsClose(round) => {
            let mut conn = ctx.pool.get().await?;
            agreements::close(&mut conn, round.round_id, Utc::now())
                .await
                .map_err(app_error)?;
            Ok(None)
        }
        Job::AgreementsRemind(round) => {
            let mut conn = ctx.pool.get().await?;
            agreements::remind(&mut conn, round.round_id, Utc::now())
                .await
                .map_err(app_error)?;
            Ok(None)
        }
    }
}

/// One tick of the clock: every periodic task in `clock::TASKS`, in order, then the next tick.
/// A task that fails fails the tick, which is retried like any job.
async fn tick(ctx: &JobContext) -> Result<(), JobError> {
    let now = Utc::now();
    let mut conn = ctx.pool.get().await?;
    for periodic in clock::TASKS {
        run_task(ctx, &mut conn, periodic.task, now).await?;
    }
    clock::schedule(&mut conn, now + clock::EVERY).await?;
    Ok(())
}

/// The use case behind each of the clock's tasks.
async fn run_task(
    ctx: &JobContext,
    conn: &mut Connection,
    task: Task,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    match task {
        Task::RotaAsks => rota::sweep(conn, now).await.map(drop).map_err(app_error),
        Task::FreezeAgendas => Ok(agenda::freeze_due(conn, now).await.map(drop)?),
        Task::ConsentRounds => agreements::sweep(conn, now)
            .await
            .map(drop)
            .map_err(app_error),
        Task::FeedbackCloses => feedback::send_due(conn, ctx.links.keys(), now)
            .await
            .map(drop)
            .map_err(app_error),
        Task::WidenSwaps => swaps::widen_stale(conn, now)
            .await
            .map(drop)
            .map_err(app_error),
        Task::Growing => growing::sweep(conn, now).await.map(drop).map_err(app_error),
        Task::Questions => questions::ask_due(conn, now)
            .await
            .map(drop)
            .map_err(app_error),
        Task::UnconfirmedSignups => {
            crate::actions::membership::purge_unconfirmed(conn, now, ctx.unconfirmed_signup_days)
                .await
                .map(drop)
                .map_err(app_error)
        }
        Task::Attention => Ok(crate::db::dashboard::refresh_attention(conn)
            .await
            .map(drop)?),
    }
}
