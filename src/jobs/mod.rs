//! Background work: the queue and one module per kind of job. Every email is a job, queued in
//! the transaction of the change that causes it. The loop that runs them is `crate::worker`.

pub mod agenda;
pub mod agreements_close;
pub mod agreements_remind;
pub mod clock;
pub mod email;
pub mod fanout;
pub mod growing_check;
pub mod link_request;
pub mod queue;
pub mod rota_plan;
pub mod session_events;

use std::sync::Arc;

use lettre::message::Mailbox;

use crate::config::Settings;
use crate::db::Pool;
use crate::email::Mailer;
use crate::links::Links;

/// A job that does nothing, for measuring the queue itself.
pub const NOOP: &str = "noop";

/// A job read from its row: one variant per kind, with its typed payload. The worker
/// dispatches on this.
#[derive(Debug)]
pub enum Job {
    Email(email::EmailJob),
    LinkRequest(link_request::LinkRequest),
    SessionFanout(fanout::SessionFanout),
    MemberInvitations(fanout::MemberInvitations),
    RotaPlan(rota_plan::PlanJob),
    GrowCheck(growing_check::CheckJob),
    /// A tick of the clock (stored as `rota_sweep`); its payload is not read.
    Clock,
    /// Close a consent round (stored as `consent_close`).
    AgreementsClose(agreements_close::CloseJob),
    /// Remind the undecided before a round closes (stored as `consent_remind`).
    AgreementsRemind(agreements_remind::RemindJob),
    Noop,
}

impl Job {
    /// Read a job from its stored `kind` and `payload`. An unknown kind or an unreadable
    /// payload is a permanent error: no retry can help.
    pub fn parse(kind: &str, payload: &serde_json::Value) -> Result<Self, queue::JobError> {
        fn read<T: serde::de::DeserializeOwned>(
            kind: &str,
            payload: &serde_json::Value,
        ) -> Result<T, queue::JobError> {
            serde_json::from_value(payload.clone())
                .map_err(|e| queue::JobError::Permanent(format!("unreadable {kind} payload: {e}")))
        }
        Ok(match kind {
            NOOP => Self::Noop,
            email::KIND => Self::Email(read(kind, payload)?),
            link_request::KIND => Self::LinkRequest(read(kind, payload)?),
            fanout::SESSION_KIND => Self::SessionFanout(read(kind, payload)?),
            fanout::MEMBER_KIND => Self::MemberInvitations(read(kind, payload)?),
            rota_plan::KIND => Self::RotaPlan(read(kind, payload)?),
            growing_check::KIND => Self::GrowCheck(read(kind, payload)?),
            clock::KIND => Self::Clock,
            agreements_close::KIND => Self::AgreementsClose(read(kind, payload)?),
            agreements_remind::KIND => Self::AgreementsRemind(read(kind, payload)?),
            other => {
                return Err(queue::JobError::Permanent(format!(
                    "unknown job kind `{other}`"
                )))
            }
        })
    }
}

/// What jobs need to run.
pub struct JobContext {
    pub pool: Pool,
    pub mailer: Arc<Mailer>,
    pub links: Links,
    pub from: Mailbox,
    /// Development only: also log dashboard sign-in links, so no mail client is needed.
    pub log_sign_in_links: bool,
    /// The least time between two letters to one person (`email.letter_gap_minutes`).
    pub letter_gap: chrono::Duration,
    /// Days after which a signup nobody confirmed is deleted (`limits.unconfirmed_signup_days`).
    pub unconfirmed_signup_days: u32,
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
            letter_gap: chrono::Duration::minutes(i64::from(settings.email.letter_gap_minutes)),
            unconfirmed_signup_days: settings.limits.unconfirmed_signup_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::JobError;

    #[test]
    fn a_clock_tick_is_read_whatever_its_payload() {
        assert!(matches!(
            Job::parse("rota_sweep", &serde_json::json!({})),
            Ok(Job::Clock)
        ));
        assert!(matches!(
            Job::parse("noop", &serde_json::Value::Null),
            Ok(Job::Noop)
        ));
    }

    #[test]
    fn stored_kinds_read_into_their_variants() {
        let id = uuid::Uuid::from_u128(1);
        let circle = serde_json::json!({ "circle_id": id });
        let round = serde_json::json!({ "round_id": id });
        assert!(matches!(
            Job::parse("rota_plan", &circle),
            Ok(Job::RotaPlan(p)) if p.circle_id.0 == id
        ));
        assert!(matches!(
            Job::parse("grow_check", &circle),
            Ok(Job::GrowCheck(c)) if c.circle_id.0 == id
        ));
        assert!(matches!(
            Job::parse("consent_close", &round),
            Ok(Job::AgreementsClose(r)) if r.round_id.0 == id
        ));
        assert!(matches!(
            Job::parse("consent_remind", &round),
            Ok(Job::AgreementsRemind(r)) if r.round_id.0 == id
        ));
    }

    #[test]
    fn unknown_kinds_and_unreadable_payloads_fail_for_good() {
        match Job::parse("telegram", &serde_json::json!({})) {
            Err(JobError::Permanent(m)) => assert_eq!(m, "unknown job kind `telegram`"),
            other => panic!("expected a permanent error, got {other:?}"),
        }
        match Job::parse("consent_close", &serde_json::json!({ "circle_id": 1 })) {
            Err(JobError::Permanent(m)) => {
                assert!(m.starts_with("unreadable consent_close payload"))
            }
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }
}
