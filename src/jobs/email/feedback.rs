//! Feedback mail: to the person who led, that their feedback closed (the answers are on
//! their page); to organisers, an answer that was reported. Each is a letter
//! (`templates/email/letter.*`) worded by `email::letters` from the facts gathered here.

use chrono::Utc;
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, wording, Prepared, Recipient};
use crate::db::feedback::{self, FeedbackRequest};
use crate::db::{members, sessions};
use crate::domain::feedback::{compared_with_own, visible, Visible};
use crate::domain::{CircleId, FeedbackRequestId, MemberId, SessionId};
use crate::email::letters::{self, Closed};
use crate::email::messages::{LetterView, MessageKind};
use crate::email::when::describe_day;

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
    let Some(letter) = letter(conn, kind, &request, job.stamp, &circle.name, zone).await? else {
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

/// What a feedback message says: to the person who led, that their feedback closed (the
/// answers themselves are on their page); to organisers, the answers that were reported.
async fn letter(
    conn: &mut AsyncPgConnection,
    kind: MessageKind,
    request: &FeedbackRequest,
    stamp: Option<i64>,
    circle: &str,
    zone: Tz,
) -> Result<Option<LetterView>, JobError> {
    let Some(session) = sessions::find(conn, request.session_id).await? else {
        return Ok(None);
    };
    let day = describe_day(session.starts_at, zone);
    let (mean, answered) = feedback::summary(conn, request.id).await?;
    let view = match kind {
        MessageKind::FeedbackClosed => {
            let closed = match visible(request.standing(answered, chrono::Utc::now())) {
                Visible::Changed { .. } => Closed::Changed,
                Visible::Shown { .. } => Closed::Shown {
                    compared: compared_with_own(mean, &earlier_means(conn, request).await?),
                },
                _ => Closed::TooFew {
                    min: request.min_answers,
                },
            };
            letters::feedback_closed(circle, &day, answered, &closed)
        }
        MessageKind::FeedbackReported => {
            let lead = members::find(conn, request.subject_id)
                .await?
                .map_or_else(|| "The person who led".into(), |m| m.display_name);
            let reported: Vec<String> = feedback::answers(conn, request.id)
                .await?
                .into_iter()
                .filter(|a| {
                    a.reported_at.is_some()
                        && stamp.is_none_or(|s| crate::domain::feedback::report_stamp(a.id) == s)
                })
                .flat_map(|a| [a.helped, a.try_next])
                .filter(|t| !t.is_empty())
                .collect();
            let anonymous = request.mode == crate::domain::FeedbackMode::Anonymous;
            letters::feedback_reported(circle, &day, &lead, anonymous, reported)
        }
        _ => return Ok(None),
    };
    Ok(Some(view.map_err(wording)?))
}

/// The mean ratings of the same person's earlier results that were shown (closed, with
/// enough answers), for comparing with this one.
async fn earlier_means(
    conn: &mut AsyncPgConnection,
    request: &FeedbackRequest,
) -> Result<Vec<f64>, JobError> {
    let mut out = Vec::new();
    for earlier in feedback::about_member(conn, request.subject_id, 50).await? {
        if earlier.id == request.id || earlier.closes_at >= request.closes_at {
            continue;
        }
        let (mean, n) = feedback::summary(conn, earlier.id).await?;
        let shown = matches!(
            crate::domain::feedback::visible(earlier.standing(n, chrono::Utc::now())),
            crate::domain::feedback::Visible::Shown { .. }
        );
        if let (Some(mean), true) = (mean, shown) {
            out.push(mean);
        }
    }
    Ok(out)
}
