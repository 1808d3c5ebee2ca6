//! Links a person asked for: a sign-in link to the dashboard, or their personal page.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::db::members;
use crate::domain::MemberId;
use crate::email::messages::MessageKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkMail {
    pub message: MessageKind,
    pub member_id: MemberId,
}

impl LinkMail {
    /// Once per message and person while one is waiting.
    pub fn dedupe_key(&self) -> String {
        format!("email:{}:-:{}", self.message, self.member_id)
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &LinkMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let now = Utc::now();
    let links = &ctx.links;
    let action_url = match job.message {
        MessageKind::LoginLink => {
            let link = crate::db::logins::new_link(conn, links.base(), to.member.id).await?;
            if ctx.log_sign_in_links {
                tracing::info!(member = %to.member.id, link = %link, "sign-in link (logged in development only)");
            }
            link
        }
        MessageKind::PersonalLink => {
            // Only the newest personal link works: mailing one retires every earlier one.
            to.holder.me_version = members::retire_personal_links(conn, to.member.id).await?;
            links.me(to.holder, now)
        }
        _ => return Ok(None),
    };
    let mut c = common::context(job.message, to, None, links, now);
    c.action_url = Some(action_url);
    Ok(Some(c.into()))
}
