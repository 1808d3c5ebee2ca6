//! Absolute links that go into email and pages, each carrying a signed token for the one
//! thing it allows. Lifetimes: RSVP until a day after the session ends, reflection 14 days,
//! personal page 30 days, confirmation 7 days; unsubscribe and calendar feed never expire but
//! die when the member's token version is bumped.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::domain::tokens::{Claims, Purpose, TokenKeys};
use crate::domain::RsvpResponse;

#[derive(Debug, Clone)]
pub struct Links {
    base: String,
    keys: TokenKeys,
}

/// Who a link is for: the member's id and their current token version.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub member: Uuid,
    pub token_version: i32,
}

pub const RSVP_GRACE: Duration = Duration::days(1);
pub const REFLECTION_LIFETIME: Duration = Duration::days(14);
pub const ME_LIFETIME: Duration = Duration::days(30);
pub const CONFIRM_LIFETIME: Duration = Duration::days(7);

impl Links {
    pub fn new(public_base: &str, keys: TokenKeys) -> Self {
        Self {
            base: public_base.trim_end_matches('/').to_string(),
            keys,
        }
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The host name of the public URL, used in Message-IDs and calendar UIDs.
    pub fn host(&self) -> &str {
        let rest = self.base.split("://").nth(1).unwrap_or(&self.base);
        rest.split(['/', ':']).next().unwrap_or("localhost")
    }

    fn token(
        &self,
        purpose: Purpose,
        holder: Holder,
        object: Uuid,
        expires: Option<DateTime<Utc>>,
    ) -> String {
        self.keys.sign(&Claims {
            purpose,
            member: holder.member,
            object,
            expires,
            token_version: holder.token_version.max(0) as u32,
        })
    }

    pub fn circle(&self, slug: &str) -> String {
        format!("{}/c/{slug}", self.base)
    }

    pub fn confirm(&self, holder: Holder, circle: Uuid, now: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Confirm,
            holder,
            circle,
            Some(now + CONFIRM_LIFETIME),
        );
        format!("{}/confirm/{t}", self.base)
    }

    pub fn rsvp(
        &self,
        holder: Holder,
        session: Uuid,
        session_ends: DateTime<Utc>,
        response: Option<RsvpResponse>,
    ) -> String {
        let t = self.token(
            Purpose::Rsvp,
            holder,
            session,
            Some(session_ends + RSVP_GRACE),
        );
        match response {
            Some(r) => format!("{}/rsvp/{t}?response={r}", self.base),
            None => format!("{}/rsvp/{t}", self.base),
        }
    }

    pub fn reflect(&self, holder: Holder, session: Uuid, now: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Reflect,
            holder,
            session,
            Some(now + REFLECTION_LIFETIME),
        );
        format!("{}/reflect/{t}", self.base)
    }

    pub fn me(&self, holder: Holder, now: DateTime<Utc>) -> String {
        let t = self.token(Purpose::Me, holder, Uuid::nil(), Some(now + ME_LIFETIME));
        format!("{}/me/{t}", self.base)
    }

    pub fn unsubscribe(&self, holder: Holder) -> String {
        let t = self.token(Purpose::Unsubscribe, holder, Uuid::nil(), None);
        format!("{}/unsubscribe/{t}", self.base)
    }

    pub fn calendar(&self, holder: Holder) -> String {
        let t = self.token(Purpose::Calendar, holder, Uuid::nil(), None);
        format!("{}/calendar/{t}.ics", self.base)
    }
}
