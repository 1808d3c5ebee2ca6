//! Growing mail: the ask to lead a sibling circle, the seat someone was moved to, and the
//! organisers' notice of how a proposal ended. The words are in `jobs/growing_mail.rs`.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::domain::{CircleId, MemberId, ProposalId};
use crate::email::messages::MessageKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowingMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    /// The circle that grows, or for someone moved, the sibling.
    pub circle_id: CircleId,
    pub proposal_id: ProposalId,
    /// Tells two notices about one proposal apart.
    pub stamp: Option<i64>,
}

impl GrowingMail {
    pub fn dedupe_key(&self) -> String {
        format!(
            "email:{}:{}:{}:{}",
            self.message,
            self.proposal_id,
            self.member_id,
            self.stamp.unwrap_or(0)
        )
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &GrowingMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some((circle, _)) = common::place(conn, job.circle_id, to, kind, None).await? else {
        return Ok(None);
    };
    let Some(proposal) = crate::db::growing::find(conn, job.proposal_id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let links = &ctx.links;
    let zone = to.zone(None, Some(&circle));
    let Some((letter, url)) = super::super::growing_mail::letter(
        conn, kind, &proposal, &to.member, to.holder, links, zone, now,
    )
    .await?
    else {
        return Ok(None);
    };
    let mut c = common::context(kind, to, Some(&circle), links, now);
    c.action_url = Some(url);
    c.letter = Some(letter);
    Ok(Some(c.into()))
}
