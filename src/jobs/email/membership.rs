//! Membership mail: confirm your place, welcome, you are on the waitlist, a seat opened.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::db::{agreements, sessions};
use crate::domain::{CircleId, MemberId, SessionStatus};
use crate::email::messages::MessageKind;
use crate::email::when::describe_time;

/// Coming sessions a welcome lists at most.
const UPCOMING_IN_WELCOME: i64 = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
}

impl MembershipMail {
    /// Once per message, person and circle.
    pub fn dedupe_key(&self) -> String {
        format!(
            "email:{}:{}:{}",
            self.message, self.circle_id, self.member_id
        )
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &MembershipMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some((circle, membership)) = common::place(conn, job.circle_id, to, kind, None).await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let links = &ctx.links;
    let mut c = common::context(kind, to, Some(&circle), links, now);
    c.waitlist_position = membership.and_then(|m| m.waitlist_position);
    if kind == MessageKind::Confirmation {
        c.action_url = Some(links.confirm(to.holder, circle.id.0, now));
    }
    if matches!(kind, MessageKind::Welcome | MessageKind::Promoted) {
        let zone = to.zone(None, Some(&circle));
        c.agreements = agreements::adopted(conn, circle.id)
            .await?
            .into_iter()
            .map(|a| (a.title, a.body))
            .collect();
        c.upcoming = sessions::list(conn, circle.id, Some(now), None, UPCOMING_IN_WELCOME)
            .await?
            .into_iter()
            .filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > now)
            .map(|s| describe_time(s.starts_at, s.ends_at, zone))
            .collect();
        c.calendar = Some((links.calendar(to.holder), links.webcal(to.holder)));
    }
    Ok(Some(c.into()))
}
