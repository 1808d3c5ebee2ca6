//! Absolute links that go into email and pages, each carrying a signed token for the one
//! thing it allows. Lifetimes: RSVP until a day after the session ends, reflection 14 days,
//! personal page 30 days (and only the newest mailed one works), confirmation 7 days;
//! unsubscribe and calendar feed never expire but die when their version is bumped
//! (`docs/links-and-tokens.md`).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::db::members::Member;
use crate::domain::tokens::{Claims, Purpose, TokenKeys};
use crate::domain::RsvpResponse;

#[derive(Debug, Clone)]
pub struct Links {
    base: String,
    keys: TokenKeys,
}

/// Who a link is for: the member's id and the versions their links must carry now.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub member: Uuid,
    /// For every link but the personal page and the calendar feed.
    pub token_version: i32,
    /// For personal-page links: bumped whenever a new one is mailed.
    pub me_version: i32,
    /// For the calendar feed: bumped when the member resets it.
    pub calendar_version: i32,
}

impl Holder {
    pub fn of(member: &Member) -> Self {
        Self {
            member: member.id.0,
            token_version: member.token_version,
            me_version: member.me_token_version,
            calendar_version: member.calendar_token_version,
        }
    }

    /// The version a link for `purpose` carries.
    pub fn version_for(&self, purpose: Purpose) -> i32 {
        match purpose {
            Purpose::Me => self.me_version,
            Purpose::Calendar => self.calendar_version,
            _ => self.token_version,
        }
    }
}

pub const RSVP_GRACE: Duration = Duration::days(1);
pub const REFLECTION_LIFETIME: Duration = Duration::days(14);
pub const ME_LIFETIME: Duration = Duration::days(30);
pub const CONFIRM_LIFETIME: Duration = Duration::days(7);
pub const HANDOFF_LIFETIME: Duration = Duration::days(21);
/// Feedback links outlive the request a little, so a late click is told it closed.
pub const FEEDBACK_GRACE: Duration = Duration::days(7);
pub const CONSENT_GRACE: Duration = Duration::days(30);

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
            token_version: holder.version_for(purpose).max(0) as u32,
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

    /// The role page for one slot: works until the session ends.
    pub fn role(&self, holder: Holder, role: Uuid, session_ends: DateTime<Utc>) -> String {
        let t = self.token(Purpose::Role, holder, role, Some(session_ends));
        format!("{}/role/{t}", self.base)
    }

    /// A swap offer: works until the session starts (the page refuses closed swaps).
    pub fn swap(&self, holder: Holder, swap: Uuid, session_starts: DateTime<Utc>) -> String {
        let t = self.token(Purpose::Swap, holder, swap, Some(session_starts));
        format!("{}/swap/{t}", self.base)
    }

    /// The handoff form for the session `holder` led.
    /// The page where whoever led marks who came: works as long as a handoff link.
    pub fn attendance(&self, holder: Holder, session: Uuid, now: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Attendance,
            holder,
            session,
            Some(now + HANDOFF_LIFETIME),
        );
        format!("{}/attendance/{t}", self.base)
    }

    pub fn handoff(&self, holder: Holder, session: Uuid, now: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Handoff,
            holder,
            session,
            Some(now + HANDOFF_LIFETIME),
        );
        format!("{}/handoff/{t}", self.base)
    }

    /// The feedback form about one role holder: works a week past the close, to say it closed.
    pub fn feedback(&self, holder: Holder, request: Uuid, closes: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Feedback,
            holder,
            request,
            Some(closes + FEEDBACK_GRACE),
        );
        format!("{}/feedback/{t}", self.base)
    }

    /// A consent round: answering until it closes, then its outcome (and, for the proposer
    /// after an objection, the revision form) for a month more.
    pub fn consent(&self, holder: Holder, round: Uuid, closes: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Consent,
            holder,
            round,
            Some(closes + CONSENT_GRACE),
        );
        format!("{}/consent/{t}", self.base)
    }

    /// The timekeeper's agenda page for a session: works until a day after it ends.
    pub fn agenda(&self, holder: Holder, session: Uuid, session_ends: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Agenda,
            holder,
            session,
            Some(session_ends + RSVP_GRACE),
        );
        format!("{}/agenda/{t}", self.base)
    }

    /// An ask to lead a sibling circle: works until the ask's answer time (the page then says
    /// it passed to someone else).
    pub fn grow(&self, holder: Holder, proposal: Uuid, answer_by: DateTime<Utc>) -> String {
        let t = self.token(
            Purpose::Grow,
            holder,
            proposal,
            Some(answer_by + RSVP_GRACE),
        );
        format!("{}/grow/{t}", self.base)
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

    /// The same feed for calendar apps to subscribe to: `webcal://` opens the app directly.
    pub fn webcal(&self, holder: Holder) -> String {
        let https = self.calendar(holder);
        let rest = https.split_once("://").map_or(https.as_str(), |(_, r)| r);
        format!("webcal://{rest}")
    }
}
