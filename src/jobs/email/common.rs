//! What every family of email shares: the recipient and whether they still want this kind
//! of mail, the circle and their place in it, the session as the message describes it, the
//! parts of the context every message has, and the envelope around the rendered message.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use lettre::message::Mailbox;

use super::super::queue::JobError;
use super::super::JobContext;
use crate::db::circles::{self, Circle};
use crate::db::members::{self, Member};
use crate::db::memberships::{self, Membership};
use crate::db::sessions::{self, Session};
use crate::domain::{
    CircleId, MemberId, MembershipRole, MembershipState, SessionId, SessionStatus,
};
use crate::email::ics;
use crate::email::messages::{self, EmailContext, MessageKind};
use crate::email::OutgoingEmail;
use crate::links::{Holder, Links};

/// The key of a membership message to `member` about `circle` (its family's
/// `MembershipMail::dedupe_key`, before any window), for the session family to look for.
pub(super) fn membership_key(message: MessageKind, member: MemberId, circle: CircleId) -> String {
    format!("email:{message}:{circle}:{member}")
}

/// The key of a session's fan-out of `message` for a message sent once per session (an
/// invitation, a reminder, a prompt); `jobs::fanout` keys its jobs with it.
pub fn fanout_key(message: MessageKind, session: SessionId) -> String {
    format!("fanout:{message}:{session}")
}

/// When the circle's next reminder or reflection prompt goes (of those `member` gets), if
/// one is queued to go by `until`: the letter another letter can ride with.
pub async fn next_session_letter(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: &Member,
    until: DateTime<Utc>,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let since = Utc::now() - chrono::Duration::days(2);
    let mut keys = Vec::new();
    for s in sessions::upcoming(conn, circle, since, 50).await? {
        if s.starts_at > until + chrono::Duration::days(2) {
            break;
        }
        if member.reminders_enabled {
            keys.push(fanout_key(MessageKind::Reminder, s.id));
        }
        if member.reflection_prompts_enabled {
            keys.push(fanout_key(MessageKind::ReflectionPrompt, s.id));
        }
    }
    Ok(crate::db::jobs::pending(conn, &keys)
        .await?
        .into_iter()
        .map(|j| j.run_at)
        .find(|at| *at <= until))
}

/// Who the message is for, and the versions their links carry.
pub(super) struct Recipient {
    pub member: Member,
    pub holder: Holder,
}

impl Recipient {
    /// The person, or `None` when they are gone or no longer want this kind of mail
    /// (unsubscribed from everything but what they asked for, or turned it off).
    pub async fn load(
        conn: &mut AsyncPgConnection,
        id: MemberId,
        kind: MessageKind,
    ) -> Result<Option<Self>, JobError> {
        let Some(member) = members::find(conn, id).await? else {
            return Ok(None);
        };
        let unwanted = (!kind.is_transactional() && member.unsubscribed_at.is_some())
            || (kind == MessageKind::Reminder && !member.reminders_enabled)
            || (kind == MessageKind::ReflectionPrompt && !member.reflection_prompts_enabled)
            || (kind == MessageKind::ConsentReminder && !member.consent_reminders_enabled);
        if unwanted {
            return Ok(None);
        }
        Ok(Some(Self {
            holder: Holder::of(&member),
            member,
        }))
    }

    /// The member's own zone when they chose one, else the session's, else the circle's.
    pub fn zone(&self, session: Option<&Session>, circle: Option<&Circle>) -> Tz {
        self.member
            .timezone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .or(session.map(|s| s.timezone.tz()))
            .or(circle.map(|c| c.timezone.tz()))
            .unwrap_or(chrono_tz::UTC)
    }
}

/// A message ready to render: its context, and for session mail a calendar part.
pub(super) struct Prepared {
    pub context: EmailContext,
    pub calendar: Option<(ics::Method, String)>,
    /// (kind, dedupe key) of the messages this one carries, recorded as delivered with it.
    pub carried: Vec<(MessageKind, String)>,
}

impl From<EmailContext> for Prepared {
    fn from(context: EmailContext) -> Self {
        Self {
            context,
            calendar: None,
            carried: Vec::new(),
        }
    }
}

/// The circle a message is about and the recipient's membership in it, when the circle
/// still exists and the message is still for them (`still_for`).
pub(super) async fn place(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    to: &Recipient,
    kind: MessageKind,
    session: Option<&Session>,
) -> Result<Option<(Circle, Option<Membership>)>, JobError> {
    let Some(circle) = circles::find(conn, circle).await? else {
        return Ok(None);
    };
    let membership = memberships::find(conn, circle.id, to.member.id).await?;
    if !still_for(kind, &to.member, membership.as_ref(), session) {
        return Ok(None);
    }
    Ok(Some((circle, membership)))
}

/// Whether the message is still for this person, given their place in the circle.
fn still_for(
    kind: MessageKind,
    member: &Member,
    membership: Option<&Membership>,
    session: Option<&Session>,
) -> bool {
    let state = membership.map(|m| m.state);
    match kind {
        MessageKind::Confirmation => state == Some(MembershipState::Pending),
        MessageKind::Waitlisted | MessageKind::WaitlistStanding => {
            state == Some(MembershipState::Waitlisted)
        }
        MessageKind::LoginLink | MessageKind::PersonalLink => true,
        // Organisers need not be members of the circle they are told about.
        MessageKind::RoleNotice | MessageKind::FeedbackReported | MessageKind::GrowNotice => {
            state == Some(MembershipState::Active) || member.organiser
        }
        MessageKind::FacilitatorDigest => {
            let hosts_session = session.and_then(|s| s.facilitator_id) == Some(member.id);
            state == Some(MembershipState::Active)
                && (hosts_session
                    || membership.map(|m| m.role) == Some(MembershipRole::Facilitator))
        }
        _ => state == Some(MembershipState::Active),
    }
}

/// The session a message is about, when it still is as the message describes it: not gone,
/// not cancelled (unless the message says so), and at the version the message was written for.
pub(super) async fn session_as_sent(
    conn: &mut AsyncPgConnection,
    id: SessionId,
    kind: MessageKind,
    sequence: Option<i32>,
) -> Result<Option<Session>, JobError> {
    let Some(s) = sessions::find(conn, id).await? else {
        return Ok(None);
    };
    let cancelled = s.status == SessionStatus::Cancelled;
    let stale_version =
        sequence.is_some_and(|seq| seq != s.ics_sequence) && kind != MessageKind::SessionCancelled;
    if (cancelled && kind != MessageKind::SessionCancelled) || stale_version {
        return Ok(None);
    }
    Ok(Some(s))
}

/// What every message has: who it is to, the circle (or the dashboard), and the links to
/// the person's page and to unsubscribe. The families fill in the rest.
pub(super) fn context(
    kind: MessageKind,
    to: &Recipient,
    circle: Option<&Circle>,
    links: &Links,
    now: DateTime<Utc>,
) -> EmailContext {
    EmailContext {
        kind,
        recipient_name: to.member.display_name.clone(),
        circle_name: circle.map_or_else(|| "Dashboard".to_string(), |c| c.name.clone()),
        circle_url: circle.map_or_else(
            || links.base().to_string(),
            |c| links.circle(c.slug.as_str()),
        ),
        session: None,
        waitlist_position: None,
        action_url: None,
        rsvp: None,
        prompts: Vec::new(),
        digest: None,
        upcoming: Vec::new(),
        invite_lead_days: circle.map_or(0, |c| c.invite_lead_days),
        calendar: None,
        manage_url: Some(links.me(to.holder, now)),
        unsubscribe_url: (!kind.is_transactional()).then(|| links.unsubscribe(to.holder)),
        role: None,
        notice: None,
        handoff_url: None,
        attendance_url: None,
        agenda_url: None,
        letter: None,
        feedback_links: Vec::new(),
        agreements: Vec::new(),
        next: None,
        riders: Vec::new(),
        notes: Vec::new(),
        also_asked: Vec::new(),
    }
}

/// Render the message and address it.
pub(super) fn envelope(
    ctx: &JobContext,
    to: &Recipient,
    key: &str,
    prepared: Prepared,
) -> Result<OutgoingEmail, JobError> {
    let Prepared {
        context, calendar, ..
    } = prepared;
    let kind = context.kind;
    let rendered = messages::render(&context)
        .map_err(|e| JobError::Permanent(format!("rendering {kind}: {e}")))?;
    let member = &to.member;
    let address = Mailbox::new(
        Some(member.display_name.clone()),
        member.email.parse().map_err(|e| {
            JobError::Permanent(format!(
                "the address {} is not deliverable: {e}",
                member.email
            ))
        })?,
    );
    Ok(OutgoingEmail {
        to: address,
        from: ctx.from.clone(),
        message_id: super::message_id(key, ctx.links.host()),
        rendered,
        unsubscribe_url: context.unsubscribe_url,
        calendar,
    })
}

/// A letter whose template would not render: a fault in Roundtable, not worth retrying.
pub(super) fn wording(e: askama::Error) -> JobError {
    JobError::Permanent(format!("wording a letter: {e}"))
}

#[cfg(test)]
mod quiet_tests {
    use super::*;
    use crate::db::members::Quiet;
    use crate::testkit as kit;

    #[tokio::test]
    async fn a_member_who_turned_consent_reminders_off_gets_none() {
        let conn = &mut kit::fresh_connection().await;
        let ada = kit::member(conn, "Ada").await;
        let quiet = Quiet {
            feedback_requests: true,
            consent_reminders: false,
        };
        members::set_preferences(conn, ada.id, true, true, quiet, true)
            .await
            .unwrap();
        let reminded = Recipient::load(conn, ada.id, MessageKind::ConsentReminder).await;
        assert!(reminded.unwrap().is_none());
        let round = Recipient::load(conn, ada.id, MessageKind::ConsentRound).await;
        assert!(round.unwrap().is_some(), "the round itself still comes");
    }
}
