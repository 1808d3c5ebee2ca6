//! Session mail: invitations, changes and cancellations (with a calendar part), reminders,
//! reflection prompts, and the facilitator's digest of who is coming.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::{self, JobError};
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::db::circles::Circle;
use crate::db::sessions::Session;
use crate::db::{feedback, jobs, members, readings, roles, rsvps, sessions};
use crate::domain::{CircleId, MemberId, RoleState, RsvpResponse, SessionId};
use crate::email::ics::{self, CalendarEvent};
use crate::email::messages::{
    self, Digest, EmailContext, MessageKind, NextView, RsvpLinks, SessionView,
};
use crate::email::when::{describe_day, describe_time};
use crate::links::{Holder, Links};
use crate::views::agenda;

/// The role whose holder keeps time, and always gets the agenda page with a timer.
const TIMEKEEPER: &str = "timekeeper";
/// The restorative circle's keeper, who runs the talking-piece rounds when nobody keeps time.
const KEEPER: &str = "keeper";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
    pub session_id: SessionId,
    /// The session's `ics_sequence` the message describes, for messages sent again when the
    /// session changes (updates, cancellations, reminders, digests).
    pub sequence: Option<i32>,
}

impl SessionMail {
    /// Invitations and reflection prompts once per session; updates, cancellations,
    /// reminders and digests once per version of the session.
    pub fn dedupe_key(&self) -> String {
        let (message, session, member) = (self.message, self.session_id, self.member_id);
        match (versioned(message), self.sequence) {
            (true, Some(seq)) => format!("email:{message}:{session}:{member}:{seq}"),
            _ => format!("email:{message}:{session}:{member}"),
        }
    }
}

/// Messages sent again for each version of the session.
pub fn versioned(message: MessageKind) -> bool {
    matches!(
        message,
        MessageKind::SessionUpdate
            | MessageKind::SessionCancelled
            | MessageKind::Reminder
            | MessageKind::FacilitatorDigest
    )
}

/// Messages that ask "will you come?" and show the talking-piece agenda. The facilitator's
/// digest is their reminder too (they get it instead of the reminder).
fn answers_invited(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::Invitation
            | MessageKind::SessionUpdate
            | MessageKind::Reminder
            | MessageKind::FacilitatorDigest
    )
}

/// How long an invitation waits for the letter that may carry it before it looks again.
const WAIT_FOR_CARRIER: chrono::Duration = chrono::Duration::minutes(10);

/// Agreement letters waiting to ride are due again this soon after their carrier goes.
const RIDERS_WITHIN: chrono::Duration = chrono::Duration::minutes(15);

/// How soon an invitation must be due for a letter to carry it.
const CARRY_WITHIN: chrono::Duration = chrono::Duration::hours(1);

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &SessionMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some(s) = common::session_as_sent(conn, job.session_id, kind, job.sequence).await? else {
        return Ok(None);
    };
    let Some((circle, membership)) = common::place(conn, job.circle_id, to, kind, Some(&s)).await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    // Only someone who joined within the hour can have a welcome about to go.
    let joined_lately = membership.is_some_and(|m| m.joined_at > now - CARRY_WITHIN);
    if kind == MessageKind::Invitation
        && carrier_pending(conn, &s, to.member.id, joined_lately, now).await?
    {
        // The welcome or the previous session's reflection prompt carries this invitation;
        // look again once it went (it is then delivered, and not sent twice).
        return Err(JobError::Later(
            now + WAIT_FOR_CARRIER,
            "a letter about to go carries this invitation",
        ));
    }
    let links = &ctx.links;
    let holder = to.holder;
    let zone = to.zone(Some(&s), Some(&circle));
    let segment = segment_label(conn, &s).await?;
    let mut view = view(conn, &s, Some(&circle), kind, segment.as_deref(), zone).await?;
    let mut c = common::context(kind, to, Some(&circle), links, now);
    if answers_invited(kind) {
        let link = |r| links.rsvp(holder, s.id.0, s.ends_at, Some(r));
        c.rsvp = Some(RsvpLinks {
            yes: link(RsvpResponse::Yes),
            no: link(RsvpResponse::No),
            maybe: link(RsvpResponse::Maybe),
        });
    }
    match kind {
        MessageKind::FacilitatorDigest => c.digest = Some(digest(conn, &s).await?),
        MessageKind::ReflectionPrompt => {
            // "How was Thursday 11 March?": the day the circle met, wherever the reader is.
            view.day = describe_day(s.starts_at, circle.timezone.tz());
            c.action_url = Some(links.reflect(holder, s.id.0, now));
            // A handoff goes to whoever leads next; after the last session there is nobody.
            if s.facilitator_id == Some(to.member.id) {
                c.attendance_url = Some(links.attendance(holder, s.id.0, now));
                if has_next(conn, &s).await? {
                    c.handoff_url = Some(links.handoff(holder, s.id.0, now));
                }
            }
            c.prompts = messages::prompts_for(circle.kind, s.prompts.as_deref());
            c.feedback_links = feedback_links(conn, &s, &to.member, holder, links).await?;
        }
        _ => {}
    }
    let mut carried = None;
    if kind == MessageKind::ReflectionPrompt {
        if let Some(next) = next_due(conn, &s, to.member.id, now).await? {
            carried = carry_invitation(ctx, conn, &circle, &next, to, now).await?;
        }
    }
    // Whoever keeps time gets the agenda page: its rounds' countdowns, or a plain session timer.
    if matches!(kind, MessageKind::Reminder | MessageKind::FacilitatorDigest)
        && keeps_time(conn, &s, to.member.id, !view.agenda.is_empty()).await?
    {
        c.agenda_url = Some(links.agenda(holder, s.id.0, s.ends_at));
    }
    c.session = Some(view);
    if !matches!(
        kind,
        MessageKind::SessionUpdate | MessageKind::SessionCancelled
    ) {
        c.notes = quiet_closes(conn, &circle, to, &job.dedupe_key(), zone).await?;
    }
    let mut rider_keys = Vec::new();
    if matches!(
        kind,
        MessageKind::Reminder | MessageKind::FacilitatorDigest | MessageKind::ReflectionPrompt
    ) {
        (c.riders, rider_keys) = riders(ctx, conn, &circle, to, now).await?;
    }
    let mut calendar = calendar(ctx, &c, &s, &circle, to, segment.as_deref(), now);
    let mut keys = rider_keys;
    if let Some(carry) = carried {
        c.next = Some(carry.view);
        calendar = Some(carry.calendar);
        keys.push((MessageKind::Invitation, carry.key));
    }
    Ok(Some(Prepared {
        context: c,
        calendar,
        carried: keys,
    }))
}

/// The agreement letters (and an ask to lead a sibling) to the reader about `circle` that
/// wait to ride with this letter: each letter with its link, and (kind, key) to record them
/// as delivered with it.
async fn riders(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    to: &mut Recipient,
    now: DateTime<Utc>,
) -> Result<
    (
        Vec<(messages::LetterView, String)>,
        Vec<(MessageKind, String)>,
    ),
    JobError,
> {
    let (mut letters, mut keys) = (Vec::new(), Vec::new());
    for rider in
        super::agreements::waiting(conn, circle.id, to.member.id, now + RIDERS_WITHIN).await?
    {
        let key = rider.dedupe_key();
        if queue::already_delivered(conn, &key).await? {
            continue;
        }
        if let Some(p) = super::agreements::prepare_letter(ctx, conn, &rider, to, true).await? {
            if let (Some(letter), Some(url)) = (p.context.letter, p.context.action_url) {
                letters.push((letter, url));
                keys.push((rider.message, key));
            }
        }
    }
    // An ask to lead a sibling of the circle rides the same way.
    if let Some(ask) = super::growing::waiting_ask(conn, circle.id, to.member.id).await? {
        let key = ask.dedupe_key();
        if !queue::already_delivered(conn, &key).await? {
            if let Some(p) = super::growing::prepare_letter(ctx, conn, &ask, to, true).await? {
                if let (Some(letter), Some(url)) = (p.context.letter, p.context.action_url) {
                    letters.push((letter, url));
                    keys.push((ask.message, key));
                }
            }
        }
    }
    Ok((letters, keys))
}

/// Feedback about the reader that closed with nothing to read, as lines of this letter (the
/// first letter about the circle after the close carries them, and they come no other way).
async fn quiet_closes(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    to: &Recipient,
    key: &str,
    zone: Tz,
) -> Result<Vec<String>, JobError> {
    let mut lines = Vec::new();
    for close in feedback::take_quiet_closes(conn, to.member.id, circle.id, key).await? {
        let Some(session) = sessions::find(conn, close.session_id).await? else {
            continue;
        };
        let role = roles::kind(conn, circle.id, &close.role_key)
            .await?
            .map_or_else(|| close.role_key.clone(), |k| k.name.to_lowercase());
        let why = if close.changed {
            crate::domain::feedback::CHANGED
        } else {
            crate::domain::feedback::TOO_FEW
        };
        lines.push(format!(
            "Feedback about you as {role} on {}: {why}",
            describe_day(session.starts_at, zone)
        ));
    }
    Ok(lines)
}

/// An invitation another letter carries: its lines, its calendar entry and its key.
pub(super) struct Carried {
    pub view: NextView,
    pub calendar: (ics::Method, String),
    pub key: String,
}

/// The invitation to `next` as part of another letter to `to`, unless it was delivered
/// already (on its own, or by an earlier letter).
pub(super) async fn carry_invitation(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    next: &Session,
    to: &Recipient,
    now: DateTime<Utc>,
) -> Result<Option<Carried>, JobError> {
    let key = SessionMail {
        message: MessageKind::Invitation,
        member_id: to.member.id,
        circle_id: circle.id,
        session_id: next.id,
        sequence: None,
    }
    .dedupe_key();
    if next.starts_at <= now || queue::already_delivered(conn, &key).await? {
        return Ok(None);
    }
    let links = &ctx.links;
    let segment = segment_label(conn, next).await?;
    let zone = to.zone(Some(next), Some(circle));
    let kind = MessageKind::Invitation;
    let view = view(conn, next, Some(circle), kind, segment.as_deref(), zone).await?;
    let link = |r| links.rsvp(to.holder, next.id.0, next.ends_at, Some(r));
    let rsvp = RsvpLinks {
        yes: link(RsvpResponse::Yes),
        no: link(RsvpResponse::No),
        maybe: link(RsvpResponse::Maybe),
    };
    let mut c = common::context(kind, to, Some(circle), links, now);
    c.session = Some(view.clone());
    let Some(calendar) = calendar(ctx, &c, next, circle, to, segment.as_deref(), now) else {
        return Ok(None);
    };
    Ok(Some(Carried {
        view: NextView {
            session: view,
            rsvp,
        },
        calendar,
        key,
    }))
}

/// The letter `c` to `to` about joining `circle` (a welcome, a seat opened, a seat in a new
/// circle), carrying the invitation to the circle's first session to come unless that went
/// already: one letter, not two a minute apart.
pub(super) async fn with_first_invitation(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    to: &Recipient,
    now: DateTime<Utc>,
    mut c: EmailContext,
) -> Result<Prepared, JobError> {
    let first = sessions::upcoming(conn, circle.id, now, 1).await?;
    let Some(first) = first.first() else {
        return Ok(c.into());
    };
    let Some(carry) = carry_invitation(ctx, conn, circle, first, to, now).await? else {
        return Ok(c.into());
    };
    c.next = Some(carry.view);
    Ok(Prepared {
        context: c,
        calendar: Some(carry.calendar),
        carried: vec![(MessageKind::Invitation, carry.key)],
    })
}

/// The circle's next session after `s`, when its invitation to `member` falls due within the
/// hour (still queued), so that `s`'s reflection prompt carries it.
async fn next_due(
    conn: &mut AsyncPgConnection,
    s: &Session,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<Session>, JobError> {
    let Some(next) = sessions::upcoming(conn, s.circle_id, s.starts_at, 1)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let keys = [
        common::fanout_key(MessageKind::Invitation, next.id),
        SessionMail {
            message: MessageKind::Invitation,
            member_id: member,
            circle_id: s.circle_id,
            session_id: next.id,
            sequence: None,
        }
        .dedupe_key(),
    ];
    let due = due_within(conn, &keys, now + CARRY_WITHIN).await?;
    Ok(due.then_some(next))
}

/// Whether a letter that will carry the invitation to `s` for `member` is about to go: their
/// welcome (or "a seat opened up", which carries their first session's) when they joined
/// within the hour, or the previous session's reflection prompt due within the hour.
async fn carrier_pending(
    conn: &mut AsyncPgConnection,
    s: &Session,
    member: MemberId,
    joined_lately: bool,
    now: DateTime<Utc>,
) -> Result<bool, JobError> {
    let mut keys = Vec::new();
    if joined_lately {
        for message in [MessageKind::Welcome, MessageKind::Promoted] {
            keys.push(common::membership_key(message, member, s.circle_id));
        }
        // Moved from a waitlist to a new circle: the seat letter carries the invitation.
        if let Some((proposal, _)) =
            crate::db::growing::moved_into(conn, s.circle_id, member).await?
        {
            keys.push(
                super::growing::GrowingMail {
                    message: MessageKind::GrowMoved,
                    member_id: member,
                    circle_id: s.circle_id,
                    proposal_id: proposal.id,
                    stamp: None,
                }
                .dedupe_key(),
            );
        }
    }
    if let Some(p) = sessions::previous(conn, s).await? {
        keys.push(common::fanout_key(MessageKind::ReflectionPrompt, p.id));
        keys.push(
            SessionMail {
                message: MessageKind::ReflectionPrompt,
                member_id: member,
                circle_id: s.circle_id,
                session_id: p.id,
                sequence: None,
            }
            .dedupe_key(),
        );
    }
    due_within(conn, &keys, now + CARRY_WITHIN).await
}

/// Whether a job under one of `keys` is queued or running, due by `by`.
async fn due_within(
    conn: &mut AsyncPgConnection,
    keys: &[String],
    by: DateTime<Utc>,
) -> Result<bool, JobError> {
    Ok(jobs::pending(conn, keys)
        .await?
        .iter()
        .any(|j| j.run_at <= by))
}

/// Whether the circle has a scheduled session after `s`: someone to hand off to.
async fn has_next(conn: &mut AsyncPgConnection, s: &Session) -> Result<bool, JobError> {
    Ok(!sessions::upcoming(conn, s.circle_id, s.starts_at, 1)
        .await?
        .is_empty())
}

/// What this session reads of its reading, when the reading is split over sessions: the
/// session's lines and its calendar title both carry it.
pub(super) async fn segment_label(
    conn: &mut AsyncPgConnection,
    s: &Session,
) -> Result<Option<String>, JobError> {
    Ok(readings::segment_of(conn, s.id)
        .await?
        .filter(|seg| Some(seg.reading_id) == s.reading_id)
        .map(|seg| seg.label))
}

/// The session as a message shows it, in the recipient's zone: with the talking-piece
/// agenda in invitations, updates and reminders, and the discussion lead's questions in
/// reminders and the digest.
pub(super) async fn view(
    conn: &mut AsyncPgConnection,
    s: &Session,
    circle: Option<&Circle>,
    kind: MessageKind,
    segment: Option<&str>,
    zone: Tz,
) -> Result<SessionView, JobError> {
    let reading = match s.reading_id {
        Some(r) => readings::find_in_circle(conn, s.circle_id, r)
            .await?
            .map(|r| match r.author {
                Some(author) => format!("{}, by {author}", r.title),
                None => r.title,
            }),
        None => None,
    };
    let reading = match (reading, segment) {
        (Some(r), Some(label)) => Some(format!("{r}. {label}")),
        (r, _) => r,
    };
    let facilitator = match s.facilitator_id {
        Some(f) => members::find(conn, f).await?.map(|m| m.display_name),
        None => None,
    };
    let agenda = match circle {
        Some(c) if answers_invited(kind) => agenda::for_session(conn, s, c)
            .await?
            .map(|a| agenda::lines(&a))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let questions = match kind {
        MessageKind::Reminder | MessageKind::FacilitatorDigest => roles::questions_of(conn, s.id)
            .await?
            .map(|(by, list)| messages::QuestionsView { by, list }),
        _ => None,
    };
    Ok(SessionView {
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

/// Who answered what, for the facilitator's digest.
async fn digest(conn: &mut AsyncPgConnection, s: &Session) -> Result<Digest, JobError> {
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
    Ok(d)
}

/// Whether the member keeps time in this session and gets the agenda page. The timekeeper
/// always does (with talking-piece rounds off the page is a plain session timer). Without
/// one, whoever runs the rounds does when there are rounds: the keeper, and whoever leads.
async fn keeps_time(
    conn: &mut AsyncPgConnection,
    s: &Session,
    member: MemberId,
    rounds: bool,
) -> Result<bool, JobError> {
    let holders: Vec<(String, MemberId)> = roles::for_sessions(conn, &[s.id])
        .await?
        .into_iter()
        .filter(|r| matches!(r.state, RoleState::Confirmed | RoleState::Asked))
        .filter_map(|r| r.member_id.map(|m| (r.role_key, m)))
        .collect();
    let holds = |key: &str| holders.iter().any(|(k, m)| k == key && *m == member);
    if holders.iter().any(|(k, _)| k == TIMEKEEPER) {
        return Ok(holds(TIMEKEEPER));
    }
    Ok(rounds && (holds(KEEPER) || s.facilitator_id == Some(member)))
}

/// The calendar part of an invitation, an update or a cancellation.
fn calendar(
    ctx: &JobContext,
    context: &EmailContext,
    s: &Session,
    circle: &Circle,
    to: &Recipient,
    segment: Option<&str>,
    now: DateTime<Utc>,
) -> Option<(ics::Method, String)> {
    let kind = context.kind;
    let method = match kind {
        MessageKind::Invitation | MessageKind::SessionUpdate => ics::Method::Request,
        MessageKind::SessionCancelled => ics::Method::Cancel,
        _ => return None,
    };
    let links = &ctx.links;
    let event = CalendarEvent {
        uid: ics::session_uid(s.id.0, links.host()),
        sequence: s.ics_sequence.max(0) as u32,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        summary: match segment {
            Some(label) => format!("{}: {label}", circle.name),
            None => circle.name.clone(),
        },
        description: calendar_description(context, links.rsvp(to.holder, s.id.0, s.ends_at, None)),
        location: s.location.clone(),
        url: Some(links.circle(circle.slug.as_str())),
        organiser_name: "Roundtable".into(),
        organiser_email: ctx.from.email.to_string(),
        attendee: Some((to.member.display_name.clone(), to.member.email.clone())),
        cancelled: kind == MessageKind::SessionCancelled,
    };
    Some((method, ics::calendar(method, &[event], now)))
}

/// A calendar entry stays in people's calendars until a new SEQUENCE replaces it, and a change
/// of role holder (or of who said yes, which orders the talking piece) bumps none: so the
/// description names nobody and points to the session's page, which is always current
/// (docs/email-and-jobs.md, "What a calendar entry says").
fn calendar_description(c: &EmailContext, rsvp_url: String) -> String {
    let mut lines = Vec::new();
    if let Some(reading) = c.session.as_ref().and_then(|s| s.reading.as_ref()) {
        lines.push(format!("Reading: {reading}"));
    }
    lines.push(format!(
        "Who leads, who holds each role, and your answer: {rsvp_url}"
    ));
    lines.join("\n")
}

/// The feedback forms a reflection prompt carries: one per role holder of the session who
/// asked for feedback, except the recipient, to those who may answer it (when attendance was
/// not marked yet, to everyone not marked absent).
async fn feedback_links(
    conn: &mut AsyncPgConnection,
    session: &Session,
    member: &members::Member,
    holder: Holder,
    links: &Links,
) -> Result<Vec<(String, String)>, JobError> {
    if !member.feedback_requests_enabled
        || feedback::attendance(conn, session.id, member.id).await? == Some(false)
    {
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
