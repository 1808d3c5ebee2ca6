//! Agreements mail, about one consent round: it opened, it closes soon (to those who have not
//! answered), and how it ended. The words are in `jobs/letters.rs`.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::db::agreements;
use crate::domain::{CircleId, MemberId, RoundId};
use crate::email::messages::MessageKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementsMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
    pub round_id: RoundId,
}

impl AgreementsMail {
    /// Once per message, round and person.
    pub fn dedupe_key(&self) -> String {
        format!(
            "email:{}:{}:{}",
            self.message, self.round_id, self.member_id
        )
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &AgreementsMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some((circle, _)) = common::place(conn, job.circle_id, to, kind, None).await? else {
        return Ok(None);
    };
    let Some(round) = agreements::find_round(conn, job.round_id).await? else {
        return Ok(None);
    };
    let wanted = match kind {
        MessageKind::ConsentRound => round.is_open(),
        // Only the undecided are reminded.
        MessageKind::ConsentReminder => {
            round.is_open()
                && agreements::stance_of(conn, round.id, to.member.id)
                    .await?
                    .is_none()
        }
        _ => true,
    };
    if !wanted {
        return Ok(None);
    }
    let zone = to.zone(None, Some(&circle));
    let Some(letter) =
        super::super::letters::consent(conn, kind, &round, &circle.name, &to.member, zone).await?
    else {
        return Ok(None);
    };
    let mut c = common::context(kind, to, Some(&circle), &ctx.links, Utc::now());
    c.action_url = Some(ctx.links.consent(to.holder, round.id.0, round.closes_at));
    c.letter = Some(letter);
    Ok(Some(c.into()))
}
