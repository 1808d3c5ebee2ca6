//! Background work: the queue and one module per kind of job. Every email is a job, queued in
//! the transaction of the change that causes it. The loop that runs them is `crate::worker`.

pub mod agenda;
pub mod email;
pub mod fanout;
pub mod growing_mail;
pub mod letters;
pub mod link_request;
pub mod queue;
pub mod session_events;

use std::sync::Arc;

use lettre::message::Mailbox;

use crate::config::Settings;
use crate::db::Pool;
use crate::email::Mailer;
use crate::links::Links;

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
