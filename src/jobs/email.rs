//! The per-recipient email job: load what the message needs, check it is still wanted,
//! render it, hand it to the mailer, and report the delivery.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::queue::{self, JobError, NewDelivery};
use super::JobContext;
use crate::db::agreements::Round;
use crate::db::feedback::FeedbackRequest;
use crate::db::roles::SessionRole;
use crate::db::{
    agreements, circles, feedback, jobs::NewJob, members, memberships, readings, roles, rsvps,
    sessions, swaps,
};
use crate::domain::roles::Notice;
use crate::domain::{
    CircleId, FeedbackRequestId, MemberId, MembershipRole, MembershipState, ProposalId, RoleId,
    RoleState, RoundId, RsvpResponse, SessionId, SessionStatus, SwapId,
};
use crate::email::ics::{self, CalendarEvent};
use crate::email::messages::{
    self, Digest, EmailContext, MessageKind, NoticeView, RoleView, RsvpLinks, SessionView,
};
use crate::email::when::{describe_day, describe_time};
use crate::email::OutgoingEmail;
use crate::links::Holder;

pub const KIND: &str = "email";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailJob {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: Option<CircleId>,
    pub session_id: Option<SessionId>,
    /// The session's `ics_sequence` the message is about (updates, cancellations, reminders).
    pub sequence: Option<i32>,
    /// The role slot a role message is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<RoleId>,
    /// The swap a swap offer is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_id: Option<SwapId>,
    /// Why organisers are told about a slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// When the thing told about happened (unix seconds): two notices about one slot at
    /// different times are two messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<i64>,
    /// The consent round a consent message is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_id: Option<RoundId>,
    /// The feedback request a feedback message is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<FeedbackRequestId>,
    /// The sibling proposal a growing message is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<ProposalId>,
}

impl EmailJob {
    /// A message about a session, with no role or swap in it.
    pub fn about_session(
        message: MessageKind,
        member_id: MemberId,
        circle_id: Option<CircleId>,
        session_id: Option<SessionId>,
        sequence: Option<i32>,
    ) -> Self {
        Self {
            message,
            member_id,
            circle_id,
            session_id,
            sequence,
            role_id: None,
            swap_id: None,
            notice: None,
            stamp: None,
            round_id: None,
            request_id: None,
            proposal_id: None,
        }
    }

    /// A message about a consent round: it opened, closes soon, or closed.
    pub fn about_round(message: MessageKind, member_id: MemberId, round: &Round) -> Self {
        Self {
            round_id: Some(round.id),
            ..Self::about_session(message, member_id, Some(round.circle_id), None, None)
        }
    }

    /// A message about a feedback request: its results, or a reported answer. `stamp`
    /// tells two reports apart.
    pub fn about_feedback(
        message: MessageKind,
        member_id: MemberId,
        request: &FeedbackRequest,
        stamp: Option<i64>,
    ) -> Self {
        Self {
            request_id: Some(request.id),
            stamp,
            ..Self::about_session(
                message,
                member_id,
                Some(request.circle_id),
                Some(request.session_id),
                None,
            )
        }
    }

    /// A message about a sibling proposal, concerning `circle` (the circle that grows, or for
    /// someone moved, the sibling). `stamp` tells two notices apart.
    pub fn about_proposal(
        message: MessageKind,
        member_id: MemberId,
        circle: CircleId,
        proposal: ProposalId,
        stamp: i64,
    ) -> Self {
        Self {
            proposal_id: Some(proposal),
            stamp: Some(stamp),
            ..Self::about_session(message, member_id, Some(circle), None, None)
        }
    }

    /// A message about one role slot: the ask, a confirmation, or a notice to organisers.
    pub fn about_role(
        message: MessageKind,
        member_id: MemberId,
        row: &SessionRole,
        notice: Option<Notice>,
    ) -> Self {
        Self {
            message,
            member_id,
            circle_id: Some(row.circle_id),
            session_id: Some(row.session_id),
            sequence: None,
            role_id: Some(row.id),
            swap_id: None,
            notice,
            stamp: Some(Utc::now().timestamp()),
            round_id: None,
            request_id: None,
            proposal_id: None,
        }
    }

    /// One key per message and recipient. Invitations and reflection prompts are sent once per
    /// session; updates, cancellations, reminders and digests once per version of the session.
    pub fn dedupe_key(&self) -> String {
        let object = self
            .session_id
            .map(|s| s.to_string())
            .or(self.circle_id.map(|c| c.to_string()))
            .unwrap_or_else(|| "-".into());
        if let Some(round) = self.round_id {
            return format!("email:{}:{round}:{}", self.message, self.member_id);
        }
        if let Some(proposal) = self.proposal_id {
            return format!(
                "email:{}:{proposal}:{}:{}",
                self.message,
                self.member_id,
                self.stamp.unwrap_or(0)
            );
        }
        if let Some(request) = self.request_id {
            return format!(
                "email:{}:{request}:{}:{}",
                self.message,
                self.member_id,
                self.stamp.unwrap_or(0)
            );
        }
        if let Some(role) = self.role_id {
            let swap = self.swap_id.map(|s| s.to_string()).unwrap_or_default();
            let notice = self
                .notice
                .map(|n| serde_json::to_string(&n).unwrap_or_default())
                .unwrap_or_default();
            return format!(
                "email:{}:{role}:{swap}:{}:{notice}:{}",
                self.message,
                self.member_id,
                self.stamp.unwrap_or(0)
            );
        }
        let versioned = matches!(
            self.message,
            MessageKind::SessionUpdate
                | MessageKind::SessionCancelled
                | MessageKind::Reminder
                | MessageKind::FacilitatorDigest
        );
        match (versioned, self.sequence) {
            (true, Some(seq)) => {
                format!("email:{}:{object}:{}:{seq}", self.message, self.member_id)
            }
            _ => format!("email:{}:{object}:{}", self.message, self.member_id),
        }
    }

    pub fn into_job(self, run_at: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: KIND,
            dedupe_key: Some(self.dedupe_key()),
            payload: serde_json::to_value(&self).expect("email jobs serialise"),
            run_at,
        }
    }
}

/// Queue one email now, in the caller's transaction.
pub async fn enqueue(conn: &mut AsyncPgConnection, job: EmailJob) -> diesel::QueryResult<()> {
    crate::db::jobs::enqueue(conn, job.into_job(Utc::now()))
        .await
        .map(drop)
}

/// A Message-ID that is the same on every attempt, so a resend is recognisably a resend.
pub fn message_id(dedupe_key: &str, host: &str) -> String {
    let digest = Sha256::digest(dedupe_key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("<{hex}@{host}>")
}

pub async fn run(ctx: &JobContext, job: EmailJob) -> Result<Option<NewDelivery>, JobError> {
    let key = job.dedupe_key();
    let Some(outgoing) = ({
        let mut conn = ctx.pool.get().await?;
        // A session message that already reached the mail server is not sent twice, even if
        // a second fan-out queued it again.
        if job.message.is_about_a_session() && queue::already_delivered(&mut conn, &key).await? {
            return Ok(None);
        }
        prepare(ctx, &mut conn, &job, &key).await?
        // The connection goes back to the pool before the (slow) send.
    }) else {
        return Ok(None);
    };
    let message = outgoing
        .to_message()
        .map_err(|e| JobError::Permanent(format!("building the message: {e}")))?;
    ctx.mailer.send(&message).await?;
    Ok(Some(NewDelivery {
        member_id: Some(job.member_id),
        circle_id: job.circle_id,
        recipient: outgoing.to.email.to_string(),
        kind: job.message.to_string(),
        message_id: outgoing.message_id,
        dedupe_key: Some(key),
    }))
}

/// Build the message, or `None` when it is no longer wanted (the person left, unsubscribed,
/// turned this kind of mail off, or the session changed since).
async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &EmailJob,
    key: &str,
) -> Result<Option<OutgoingEmail>, JobError> {
    let now = Utc::now();
    let Some(member) = members::find(conn, job.member_id).await? else {
        return Ok(None);
    };
    let kind = job.message;
    let unwanted = (!kind.is_transactional() && member.unsubscribed_at.is_some())
        || (kind == MessageKind::Reminder && !member.reminders_enabled)
        || (kind == MessageKind::ReflectionPrompt && !member.reflection_prompts_enabled);
    if unwanted {
        return Ok(None);
    }
    let session = match job.session_id {
        Some(id) => match sessions::find(conn, id).await? {
            Some(s) => Some(s),
            None => return Ok(None),
        },
        None => None,
    };
    let circle_id = job.circle_id.or(session.as_ref().map(|s| s.circle_id));
    let circle = match circle_id {
        Some(id) => match circles::find(conn, id).await? {
            Some(c) => Some(c),
            None => return Ok(None),
        },
        None => None,
    };
    let membership = match &circle {
        Some(c) => memberships::find(conn, c.id, member.id).await?,
        None => None,
    };
    let state = membership.as_ref().map(|m| m.state);
    let still_relevant = match kind {
        MessageKind::Confirmation => state == Some(MembershipState::Pending),
        MessageKind::Waitlisted => state == Some(MembershipState::Waitlisted),
        MessageKind::LoginLink | MessageKind::PersonalLink => true,
        // Organisers need not be members of the circle they are told about.
        MessageKind::RoleNotice | MessageKind::FeedbackReported | MessageKind::GrowNotice => {
            state == Some(MembershipState::Active) || member.organizer
        }
        MessageKind::FacilitatorDigest => {
            let hosts_session = session.as_ref().and_then(|s| s.facilitator_id) == Some(member.id);
            state == Some(MembershipState::Active)
                && (hosts_session
                    || membership.as_ref().map(|m| m.role) == Some(MembershipRole::Facilitator))
        }
        _ => state == Some(MembershipState::Active),
    };
    if !still_relevant {
        return Ok(None);
    }
    let role_row = match job.role_id {
        Some(id) => match roles::find(conn, id).await? {
            Some(r) => Some(r),
            None => return Ok(None),
        },
        None => None,
    };
    let swap = match job.swap_id {
        Some(id) => match swaps::find(conn, id).await? {
            Some(sw) if sw.status == "open" => Some(sw),
            _ => return Ok(None),
        },
        None => None,
    };
    let round = match job.round_id {
        Some(id) => match agreements::find_round(conn, id).await? {
            Some(r) => Some(r),
            None => return Ok(None),
        },
        None => None,
    };
    if let Some(r) = &round {
        let wanted = match kind {
            MessageKind::ConsentRound => r.is_open(),
            // Only the undecided are reminded.
            MessageKind::ConsentReminder => {
                r.is_open()
                    && agreements::stance_of(conn, r.id, member.id)
                        .await?
                        .is_none()
            }
            _ => true,
        };
        if !wanted {
            return Ok(None);
        }
    }
    let request = match job.request_id {
        Some(id) => match feedback::find(conn, id).await? {
            Some(r) => Some(r),
            None => return Ok(None),
        },
        None => None,
    };
    if let Some(row) = &role_row {
        let holds = row.member_id == Some(member.id);
        let wanted = match kind {
            MessageKind::RoleAsk => holds && row.state == RoleState::Asked,
            MessageKind::RoleConfirmed | MessageKind::QuestionsAsk => {
                holds && row.state == RoleState::Confirmed
            }
            _ => true,
        };
        if !wanted {
            return Ok(None);
        }
    }
    if let Some(s) = &session {
        let cancelled = s.status == SessionStatus::Cancelled;
        let stale_version = job.sequence.is_some_and(|seq| seq != s.ics_sequence)
            && kind != MessageKind::SessionCancelled;
        if (cancelled && kind != MessageKind::SessionCancelled) || stale_version {
            return Ok(None);
        }
    }

    let mut holder = Holder::of(&member);
    if kind == MessageKind::PersonalLink {
        // Only the newest personal link works: mailing one retires every earlier one.
        holder.me_version = members::retire_personal_links(conn, member.id).await?;
    }
    let links = &ctx.links;
    // The member's own zone when they chose one, else the session's, else the circle's.
    let zone: Tz = member
        .timezone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .or(session.as_ref().map(|s| s.timezone.tz()))
        .or(circle.as_ref().map(|c| c.timezone.tz()))
        .unwrap_or(chrono_tz::UTC);

    // What this session reads of its reading, when the reading is split over sessions: the
    // session's lines and its calendar title both carry it.
    let segment = match &session {
        Some(s) => readings::segment_of(conn, s.id)
            .await?
            .filter(|seg| Some(seg.reading_id) == s.reading_id)
            .map(|seg| seg.label),
        None => None,
    };
    let session_view = match &session {
        Some(s) => {
            let reading = match s.reading_id {
                Some(r) => readings::find_in_circle(conn, s.circle_id, r)
                    .await?
                    .map(|r| match r.author {
                        Some(author) => format!("{}, by {author}", r.title),
                        None => r.title,
                    }),
                None => None,
            };
            let reading = match (reading, &segment) {
                (Some(r), Some(label)) => Some(format!("{r}. {label}")),
                (r, _) => r,
            };
            let facilitator = match s.facilitator_id {
                Some(f) => members::find(conn, f).await?.map(|m| m.display_name),
                None => None,
            };
            let agenda = match (&circle, kind) {
                (
                    Some(c),
                    MessageKind::Invitation | MessageKind::SessionUpdate | MessageKind::Reminder,
                ) => super::agenda::for_session(conn, s, c)
                    .await?
                    .map(|a| super::agenda::lines(&a))
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let questions = match kind {
                MessageKind::Reminder | MessageKind::FacilitatorDigest => {
                    roles::questions_of(conn, s.id)
                        .await?
                        .map(|(by, list)| messages::QuestionsView { by, list })
                }
                _ => None,
            };
            Some(SessionView {
                questions,
                agenda,
                when: describe_time(s.starts_at, s.ends_at, zone),
                day: describe_day(s.starts_at, zone),
                location: s.location.clone(),
                reading,
                facilitator,
                roles: roles::holders(conn, s.id).await?,
            })
        }
        None => None,
    };
    let rsvp = match (&session, kind) {
        (Some(s), MessageKind::Invitation | MessageKind::SessionUpdate | MessageKind::Reminder) => {
            let link = |r| links.rsvp(holder, s.id.0, s.ends_at, Some(r));
            Some(RsvpLinks {
                yes: link(RsvpResponse::Yes),
                no: link(RsvpResponse::No),
                maybe: link(RsvpResponse::Maybe),
            })
        }
        _ => None,
    };
    let digest = match (&session, kind) {
        (Some(s), MessageKind::FacilitatorDigest) => {
            let mut d = Digest::default();
            for entry in rsvps::for_session(conn, s.id, None, 10_000).await? {
                let list = match entry.response {
                    Some(RsvpResponse::Yes) => &mut d.yes,
                    Some(RsvpResponse::No) => &mut d.no,
                    Some(RsvpResponse::Maybe) => &mut d.maybe,
                    None => &mut d.unanswered,
                };
                list.push(entry.display_name);
            }
            Some(d)
        }
        _ => None,
    };
    let action_url = match (kind, &session, &circle) {
        (MessageKind::LoginLink, _, _) => {
            let link = crate::db::logins::new_link(conn, links.base(), member.id).await?;
            if ctx.log_sign_in_links {
                tracing::info!(member = %member.id, link = %link, "sign-in link (logged in development only)");
            }
            Some(link)
        }
        (MessageKind::Confirmation, _, Some(c)) => Some(links.confirm(holder, c.id.0, now)),
        (MessageKind::ReflectionPrompt, Some(s), _) => Some(links.reflect(holder, s.id.0, now)),
        (MessageKind::PersonalLink, _, _) => Some(links.me(holder, now)),
        (MessageKind::SwapOffer, Some(s), _) => swap
            .as_ref()
            .map(|sw| links.swap(holder, sw.id.0, s.starts_at)),
        (k, _, _) if k.is_about_a_round() => round
            .as_ref()
            .map(|r| links.consent(holder, r.id.0, r.closes_at)),
        (MessageKind::FeedbackClosed, _, _) => Some(links.me(holder, now)),
        (MessageKind::FeedbackReported, _, Some(c)) => {
            Some(format!("{}/dashboard/circles/{}", links.base(), c.id))
        }
        (k, Some(s), Some(c)) if k.is_about_a_role() => match &role_row {
            Some(row) if row.member_id == Some(member.id) => {
                Some(links.role(holder, row.id.0, s.ends_at))
            }
            _ => Some(format!("{}/dashboard/circles/{}/rota", links.base(), c.id)),
        },
        _ => None,
    };
    let role = match (&role_row, &session, &circle) {
        (Some(row), Some(s), Some(c)) => role_view(conn, row, s, c.id)
            .await?
            .map(|mut r| {
                // The why was written for the holder; someone offered a swap gets no "why you".
                if kind == MessageKind::SwapOffer {
                    r.why.clear();
                    r.handoff = None;
                }
                r
            })
            // Organisers' notices carry no "why you"; only a handoff notice shows the role.
            .filter(|_| kind != MessageKind::RoleNotice || job.notice == Some(Notice::Handoff)),
        _ => None,
    };
    let notice = match (&role_row, &session) {
        (Some(row), Some(s)) => {
            notice_view(conn, job, row, s, swap.as_ref(), &circle, zone).await?
        }
        _ => None,
    };
    let handoff_url = match (kind, &session) {
        (MessageKind::ReflectionPrompt, Some(s)) if s.facilitator_id == Some(member.id) => {
            Some(links.handoff(holder, s.id.0, now))
        }
        _ => None,
    };
    // The timekeeper (and whoever leads) gets the agenda page with its countdown.
    let agenda_url = match (kind, &session, &session_view) {
        (MessageKind::Reminder, Some(s), Some(v)) if !v.agenda.is_empty() => {
            let keeps_time = roles::for_sessions(conn, &[s.id]).await?.iter().any(|r| {
                r.member_id == Some(member.id)
                    && matches!(r.state, RoleState::Confirmed | RoleState::Asked)
                    && TIME_ROLES.contains(&r.role_key.as_str())
            });
            (keeps_time || s.facilitator_id == Some(member.id))
                .then(|| links.agenda(holder, s.id.0, s.ends_at))
        }
        _ => None,
    };
    let prompts = match (kind, &session, &circle) {
        (MessageKind::ReflectionPrompt, Some(s), Some(c)) => {
            messages::prompts_for(c.kind, s.prompts.as_deref())
        }
        _ => Vec::new(),
    };
    let circle_name = circle.as_ref().map_or("", |c| c.name.as_str());
    let grown = match job.proposal_id {
        Some(id) => match crate::db::growing::find(conn, id).await? {
            Some(p) => {
                super::growing_mail::letter(conn, kind, &p, &member, holder, links, zone, now)
                    .await?
            }
            None => None,
        },
        None => None,
    };
    let (letter, action_url) = match (&round, &request, grown) {
        (Some(r), _, _) => (
            super::letters::consent(conn, kind, r, circle_name, &member, zone).await?,
            action_url,
        ),
        (None, Some(q), _) => (
            super::letters::feedback(conn, kind, q, job.stamp, circle_name, zone).await?,
            action_url,
        ),
        (None, None, Some((view, url))) => (Some(view), Some(url)),
        _ => (None, action_url),
    };
    let needs_letter = kind.is_about_a_round() || request.is_some() || job.proposal_id.is_some();
    if needs_letter && letter.is_none() {
        return Ok(None);
    }
    let feedback_links = match (kind, &session) {
        (MessageKind::ReflectionPrompt, Some(s)) => {
            feedback_links(conn, s, &member, holder, links).await?
        }
        _ => Vec::new(),
    };
    let welcomes = matches!(kind, MessageKind::Welcome | MessageKind::Promoted);
    let adopted = match (&circle, welcomes) {
        (Some(c), true) => agreements::adopted(conn, c.id)
            .await?
            .into_iter()
            .map(|a| (a.title, a.body))
            .collect(),
        _ => Vec::new(),
    };
    let upcoming = match (&circle, welcomes) {
        (Some(c), true) => sessions::list(conn, c.id, Some(now), None, UPCOMING_IN_WELCOME)
            .await?
            .into_iter()
            .filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > now)
            .map(|s| describe_time(s.starts_at, s.ends_at, zone))
            .collect(),
        _ => Vec::new(),
    };
    let unsubscribe_url = (!kind.is_transactional()).then(|| links.unsubscribe(holder));
    let context = EmailContext {
        kind,
        recipient_name: member.display_name.clone(),
        circle_name: circle
            .as_ref()
            .map_or_else(|| "Dashboard".to_string(), |c| c.name.clone()),
        circle_url: circle.as_ref().map_or_else(
            || links.base().to_string(),
            |c| links.circle(c.slug.as_str()),
        ),
        session: session_view,
        waitlist_position: membership.as_ref().and_then(|m| m.waitlist_position),
        action_url,
        rsvp,
        prompts,
        digest,
        upcoming,
        invite_lead_days: circle.as_ref().map_or(0, |c| c.invite_lead_days),
        calendar: welcomes.then(|| (links.calendar(holder), links.webcal(holder))),
        manage_url: Some(links.me(holder, now)),
        unsubscribe_url: unsubscribe_url.clone(),
        role,
        notice,
        handoff_url,
        agenda_url,
        letter,
        feedback_links,
        agreements: adopted,
    };
    let rendered = messages::render(&context)
        .map_err(|e| JobError::Permanent(format!("rendering {kind}: {e}")))?;

    let calendar = match (&session, &circle, kind) {
        (
            Some(s),
            Some(c),
            MessageKind::Invitation | MessageKind::SessionUpdate | MessageKind::SessionCancelled,
        ) => {
            let method = if kind == MessageKind::SessionCancelled {
                ics::Method::Cancel
            } else {
                ics::Method::Request
            };
            let event = CalendarEvent {
                uid: ics::session_uid(s.id.0, links.host()),
                sequence: s.ics_sequence.max(0) as u32,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                summary: match &segment {
                    Some(label) => format!("{}: {label}", c.name),
                    None => c.name.clone(),
                },
                description: calendar_description(
                    &context,
                    links.rsvp(holder, s.id.0, s.ends_at, None),
                ),
                location: s.location.clone(),
                url: Some(links.circle(c.slug.as_str())),
                organizer_name: "Roundtable".into(),
                organizer_email: ctx.from.email.to_string(),
                attendee: Some((member.display_name.clone(), member.email.clone())),
                cancelled: kind == MessageKind::SessionCancelled,
            };
            Some((method, ics::calendar(method, &[event], now)))
        }
        _ => None,
    };

    let to = Mailbox::new(
        Some(member.display_name.clone()),
        member.email.parse().map_err(|e| {
            JobError::Permanent(format!(
                "the address {} is not deliverable: {e}",
                member.email
            ))
        })?,
    );
    Ok(Some(OutgoingEmail {
        to,
        from: ctx.from.clone(),
        message_id: message_id(key, links.host()),
        rendered,
        unsubscribe_url,
        calendar,
    }))
}

fn calendar_description(c: &EmailContext, rsvp_url: String) -> String {
    let mut lines = Vec::new();
    if let Some(s) = &c.session {
        if let Some(reading) = &s.reading {
            lines.push(format!("Reading: {reading}"));
        }
        if let Some(host) = &s.facilitator {
            lines.push(format!("Facilitating: {host}"));
        }
        for (role, holders) in &s.roles {
            lines.push(format!("{role}: {holders}"));
        }
        if !s.agenda.is_empty() {
            lines.push("Rounds and speaking order:".into());
            lines.extend(s.agenda.iter().map(|l| format!("- {l}")));
        }
    }
    lines.push(format!("Answer yes, no or maybe: {rsvp_url}"));
    lines.join("\n")
}

/// The role as its holder's mail shows it, with the handoff the holder inherits when its
/// author let them see it.
async fn role_view(
    conn: &mut AsyncPgConnection,
    row: &SessionRole,
    session: &sessions::Session,
    circle: CircleId,
) -> Result<Option<RoleView>, JobError> {
    let Some(kind) = roles::kind(conn, circle, &row.role_key).await? else {
        return Ok(None);
    };
    let handoff = crate::views::handoff::handoff_for(conn, session, circle, &row.role_key).await?;
    Ok(Some(RoleView {
        ask: role_phrase(&kind, true),
        holding: role_phrase(&kind, false),
        name: kind.name,
        guide: kind.guide,
        why: row.why.clone(),
        handoff,
    }))
}

/// "facilitate" / "be the note-taker on" (asking), "facilitating" / "the note-taker on".
pub fn role_phrase(kind: &roles::RoleKind, asking: bool) -> String {
    match (kind.key == roles::FACILITATOR, asking) {
        (true, true) => "facilitate".into(),
        (true, false) => "facilitating".into(),
        (false, true) => format!("be the {} on", kind.name.to_lowercase()),
        (false, false) => format!("the {} on", kind.name.to_lowercase()),
    }
}

/// What organisers (or someone offered a swap) are told, in the recipient's zone.
async fn notice_view(
    conn: &mut AsyncPgConnection,
    job: &EmailJob,
    row: &SessionRole,
    session: &sessions::Session,
    swap: Option<&swaps::Swap>,
    circle: &Option<circles::Circle>,
    zone: Tz,
) -> Result<Option<NoticeView>, JobError> {
    let circle_name = circle.as_ref().map_or("", |c| c.name.as_str());
    let kind = roles::kind(conn, row.circle_id, &row.role_key).await?;
    let role = kind
        .as_ref()
        .map_or(row.role_key.clone(), |k| k.name.clone());
    let day = describe_day(session.starts_at, zone);
    let name_of =
        async |conn: &mut AsyncPgConnection, m: Option<MemberId>| -> Result<String, JobError> {
            Ok(match m {
                Some(m) => members::find(conn, m)
                    .await?
                    .map_or_else(|| "Someone".into(), |m| m.display_name),
                None => "Nobody".into(),
            })
        };
    let view = match (job.message, job.notice) {
        (MessageKind::SwapOffer, _) => {
            let requester = name_of(conn, swap.and_then(|s| s.requester_id)).await?;
            NoticeView {
                subject: format!("Could you take over as {role}, {day}? ({circle_name})"),
                lines: vec![format!(
                    "{requester} can't be {} on {day} and asked whether someone could take it over. You are one of the people it fits best now.",
                    role.to_lowercase()
                )],
                action: Some("Take it over".into()),
            }
        }
        (_, Some(Notice::Unanswered)) => NoticeView {
            subject: format!("No answer: {role} for {circle_name}, {day}"),
            lines: vec![
                format!("The ask to be {} on {day} went unanswered, so it counts as a decline.", role.to_lowercase()),
                match (row.state, row.member_id) {
                    (RoleState::Asked | RoleState::Proposed, Some(m)) => {
                        format!("{} is asked next.", name_of(conn, Some(m)).await?)
                    }
                    _ => "Nobody else can take it yet: the role is open.".into(),
                },
            ],
            action: Some("See the rota".into()),
        },
        (_, Some(Notice::StillOpen)) => NoticeView {
            subject: format!("Still open: {role} for {circle_name}, {day}"),
            lines: vec![format!(
                "Nobody holds the role of {} for {day} yet, and the session is less than two days away. You can assign someone from the rota.",
                role.to_lowercase()
            )],
            action: Some("See the rota".into()),
        },
        (_, Some(Notice::SwapTaken)) => {
            let holder = name_of(conn, row.member_id).await?;
            NoticeView {
                subject: format!("Swap taken: {role}, {day} ({circle_name})"),
                lines: vec![format!(
                    "{holder} took over as {} for {day}.",
                    role.to_lowercase()
                )],
                action: None,
            }
        }
        (_, Some(Notice::Handoff)) => NoticeView {
            subject: format!("A handoff for {day} ({circle_name})"),
            lines: vec![format!(
                "The previous lead left a note for you as {} on {day}.",
                role.to_lowercase()
            )],
            action: Some("Your role page".into()),
        },
        _ => return Ok(None),
    };
    Ok(Some(view))
}

/// The feedback forms a reflection prompt carries: one per role holder of the session who
/// asked for feedback, except the recipient, to those who may answer it (when attendance was
/// not marked yet, to everyone not marked absent).
async fn feedback_links(
    conn: &mut AsyncPgConnection,
    session: &sessions::Session,
    member: &members::Member,
    holder: Holder,
    links: &crate::links::Links,
) -> Result<Vec<(String, String)>, JobError> {
    if feedback::attendance(conn, session.id, member.id).await? == Some(false) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for request in feedback::for_session(conn, session.id).await? {
        if request.subject_id == member.id {
            continue;
        }
        // Once who may answer is frozen, only they get the form.
        if request.frozen_at.is_some()
            && !feedback::is_eligible(conn, request.id, member.id).await?
        {
            continue;
        }
        let name = members::find(conn, request.subject_id)
            .await?
            .map_or_else(|| "the person who led".into(), |m| m.display_name);
        let role = roles::kind(conn, request.circle_id, &request.role_key)
            .await?
            .map_or_else(|| request.role_key.clone(), |k| k.name.to_lowercase());
        let what = if request.role_key == roles::FACILITATOR {
            "who facilitated".to_string()
        } else {
            format!("the {role}")
        };
        out.push((
            format!("Feedback for {name}, {what}"),
            links.feedback(holder, request.id.0, request.closes_at),
        ));
    }
    Ok(out)
}

/// Roles whose holders run the talking-piece rounds and get the agenda page.
const TIME_ROLES: [&str; 2] = ["timekeeper", "keeper"];

/// Coming sessions a welcome lists at most.
const UPCOMING_IN_WELCOME: i64 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_described_in_the_readers_zone() {
        let starts = "2027-03-04T19:00:00Z".parse().unwrap();
        let ends = "2027-03-04T20:30:00Z".parse().unwrap();
        assert_eq!(
            describe_time(starts, ends, chrono_tz::Europe::London),
            "Thursday 4 March 2027, 19:00–20:30 (Europe/London)"
        );
        assert_eq!(
            describe_time(starts, ends, chrono_tz::Asia::Kolkata),
            "Friday 5 March 2027, 00:30–02:00 (Asia/Kolkata)"
        );
    }

    #[test]
    fn keys_version_only_what_changes_with_the_session() {
        let job = |message, sequence| EmailJob {
            role_id: None,
            swap_id: None,
            notice: None,
            stamp: None,
            round_id: None,
            request_id: None,
            proposal_id: None,
            message,
            member_id: MemberId(uuid::Uuid::nil()),
            circle_id: None,
            session_id: Some(SessionId(uuid::Uuid::nil())),
            sequence,
        };
        assert_eq!(
            job(MessageKind::Invitation, Some(3)).dedupe_key(),
            job(MessageKind::Invitation, Some(4)).dedupe_key()
        );
        assert_ne!(
            job(MessageKind::SessionUpdate, Some(3)).dedupe_key(),
            job(MessageKind::SessionUpdate, Some(4)).dedupe_key()
        );
        assert_eq!(message_id("a", "h"), message_id("a", "h"));
        assert_ne!(message_id("a", "h"), message_id("b", "h"));
    }
}
