//! Someone typed an address into the sign-in form or the personal-link form. The form's
//! handler does the same work whatever the address (it queues one of these), so neither the
//! answer nor its timing tells whether the address is known; this job, off the request path,
//! looks the person up and mails the link only if they may have one.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::email::{self, EmailJob};
use super::queue::{JobError, NewDelivery};
use super::JobContext;
use crate::db::jobs::NewJob;
use crate::db::members;
use crate::domain::EmailAddress;
use crate::email::MessageKind;

pub const KIND: &str = "link_request";

/// Which link was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestedLink {
    /// A dashboard sign-in link: only for organisers and facilitators.
    SignIn,
    /// A personal-page link: for anyone Roundtable knows.
    Personal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub address: String,
    pub link: RequestedLink,
}

impl LinkRequest {
    pub fn new(address: &EmailAddress, link: RequestedLink) -> Self {
        Self {
            address: address.as_str().to_lowercase(),
            link,
        }
    }

    /// Asking twice while the first request waits sends one link.
    pub fn into_job(self) -> NewJob {
        let link = match self.link {
            RequestedLink::SignIn => "sign_in",
            RequestedLink::Personal => "personal",
        };
        NewJob {
            kind: KIND,
            dedupe_key: Some(format!("{KIND}:{link}:{}", self.address)),
            payload: serde_json::to_value(&self).expect("link requests serialise"),
            run_at: Utc::now(),
        }
    }
}

pub async fn run(ctx: &JobContext, request: LinkRequest) -> Result<Option<NewDelivery>, JobError> {
    let Ok(address) = EmailAddress::parse(&request.address) else {
        return Ok(None);
    };
    let member = {
        let mut conn = ctx.pool.get().await?;
        let Some(member) = members::find_by_email(&mut conn, &address).await? else {
            return Ok(None);
        };
        if request.link == RequestedLink::SignIn && !members::is_staff(&mut conn, member.id).await?
        {
            return Ok(None);
        }
        member
    };
    let message = match request.link {
        RequestedLink::SignIn => MessageKind::LoginLink,
        RequestedLink::Personal => MessageKind::PersonalLink,
    };
    email::run(ctx, EmailJob::link(message, member.id)).await
}
