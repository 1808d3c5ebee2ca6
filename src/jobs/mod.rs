//! Background work: the queue, the worker loop, and one module per kind of job. Every email
//! is a job, queued in the transaction of the change that causes it.

pub mod email;
pub mod fanout;
pub mod link_request;
pub mod queue;
pub mod session_events;
pub mod worker;

use std::sync::Arc;

use lettre::message::Mailbox;

use crate::actions::rotation;
use crate::config::Settings;
use crate::db::Pool;
use crate::email::Mailer;
use crate::links::Links;
use queue::{ClaimedJob, JobError, NewDelivery};

/// An action's failure as a job failure: the database's are worth retrying, the rest not.
fn app_error(e: crate::error::AppError) -> JobError {
    match e {
        crate::error::AppError::Internal(e) | crate::error::AppError::Unavailable(e) => {
            JobError::Temporary(e.to_string())
        }
        other => JobError::Permanent(other.to_string()),
    }
}

/// A job that does nothing, for measuring the queue itself.
pub const NOOP: &str = "noop";

/// What jobs need to run.
pub struct JobContext {
    pub pool: Pool,
    pub mailer: Arc<Mailer>,
    pub links: Links,
    pub from: Mailbox,
    /// Development only: also log dashboard sign-in links, so no mail client is needed.
    pub log_sign_in_links: bool,
}

impl JobContext {
    pub fn new(settings: &Settings, pool: Pool, mailer: Arc<Mailer>) -> anyhow::Result<Self> {
        let keys = crate::domain::tokens::TokenKeys::new(settings.token_key()?.expose(), &[]);
        Ok(Self {
            pool,
            mailer,
            links: Links::new(settings.public_base(), keys),
            from: settings
                .email
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("email.from: {e}"))?,
            log_sign_in_links: settings.profile == crate::config::Profile::Development,
        })
    }
}

/// Run one claimed job to its end (success or an error that says whether to retry).
pub async fn run(ctx: &JobContext, job: &ClaimedJob) -> Result<Option<NewDelivery>, JobError> {
    fn payload<T: serde::de::DeserializeOwned>(job: &ClaimedJob) -> Result<T, JobError> {
        serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("unreadable {} payload: {e}", job.kind)))
    }
    match job.kind.as_str() {
        NOOP => Ok(None),
        email::KIND => email::run(ctx, payload(job)?).await,
        link_request::KIND => link_request::run(ctx, payload(job)?).await,
        fanout::SESSION_KIND => fanout::run_session(ctx, payload(job)?).await.map(|_| None),
        fanout::MEMBER_KIND => fanout::run_member(ctx, payload(job)?).await.map(|_| None),
        rotation::PLAN_KIND => {
            let plan: rotation::PlanJob = payload(job)?;
            let mut conn = ctx.pool.get().await?;
            rotation::replan(&mut conn, plan.circle_id, chrono::Utc::now())
                .await
                .map_err(app_error)?;
            Ok(None)
        }
        rotation::SWEEP_KIND => {
            let now = chrono::Utc::now();
            let mut conn = ctx.pool.get().await?;
            rotation::sweep(&mut conn, now).await.map_err(app_error)?;
            crate::actions::swaps::widen_stale(&mut conn, now)
                .await
                .map_err(app_error)?;
            rotation::schedule_sweep(&mut conn, now).await?;
            Ok(None)
        }
        other => Err(JobError::Permanent(format!("unknown job kind `{other}`"))),
    }
}
