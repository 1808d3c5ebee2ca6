//! Feedback mail: to the person who led, that their feedback closed (the answers are on
//! their page); to organisers, an answer that was reported. The words are in
//! `jobs/letters.rs`.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::db::feedback;
use crate::domain::{CircleId, FeedbackRequestId, MemberId, SessionId};
use crate::email::messages::MessageKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
    pub session_id: SessionId,
    pub request_id: FeedbackRequestId,
    /// Tells two reports about one request apart.
    pub stamp: Option<i64>,
}

impl FeedbackMail {
    pub fn dedupe_key(&self) -> String {
        format!(
            "email:{}:{}:{}:{}",
            self.message,
            self.request_id,
            self.member_id,
            self.stamp.unwrap_or(0)
        )
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &FeedbackMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some(s) = common::session_as_sent(conn, job.session_id, kind, None).await? else {
        return Ok(None);
    };
    let Some((circle, _)) = common::place(conn, job.circle_id, to, kind, Some(&s)).await? else {
        return Ok(None);
    };
    let Some(request) = feedback::find(conn, job.request_id).await? else {
        return Ok(None);
    };
    let zone = to.zone(Some(&s), Some(&circle));
    let Some(letter) =
        super::super::letters::feedback(conn, kind, &request, job.stamp, &circle.name, zone)
            .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let links = &ctx.links;
    let mut c = common::context(kind, to, Some(&circle), links, now);
    c.action_url = match kind {
        MessageKind::FeedbackClosed => Some(links.me(to.holder, now)),
        _ => Some(format!("{}/dashboard/circles/{}", links.base(), circle.id)),
    };
    c.letter = Some(letter);
    Ok(Some(c.into()))
}
