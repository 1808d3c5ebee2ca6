//! The per-recipient email job: load what the message needs, check it is still wanted,
//! render it, hand it to the mailer, and report the delivery.
//!
//! A job names its message and what it is about, by family: a membership (`membership`, which
//! also tells someone waiting where they stand), a session (`session`), a role slot (`role`), an
//! agreement's consent round (`agreements`), a feedback request (`feedback`), a sibling
//! proposal (`growing`), or a link the person asked for (`link`). Each family has its own dedupe key and its own `prepare`, which decides
//! whether the message is still wanted and what it says; this module holds what they share.
//! In the queue every family is stored in one flat shape (`wire`), so jobs queued earlier
//! still run.

mod agreements;
mod common;
mod feedback;
mod growing;
mod link;
mod membership;
mod role;
mod session;
pub mod wire;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::queue::{self, JobError, NewDelivery};
use super::JobContext;
use crate::db::agreements::Round;
use crate::db::feedback::FeedbackRequest;
use crate::db::jobs::NewJob;
use crate::db::roles::SessionRole;
use crate::domain::roles::Notice;

use crate::domain::{CircleId, MemberId, ProposalId, SessionId};
use crate::email::messages::MessageKind;
use crate::email::OutgoingEmail;

pub use agreements::AgreementsMail;
pub use common::{fanout_key, next_session_letter};
pub use feedback::FeedbackMail;
pub use growing::GrowingMail;
pub use link::LinkMail;
pub use membership::MembershipMail;
pub use role::{role_phrase, RoleMail};
pub use session::{versioned, SessionMail};

pub const KIND: &str = "email";

/// One email to one person, by what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "wire::Payload", into = "wire::Payload")]
pub enum EmailJob {
    /// Confirm, welcome, waitlisted, a seat opened, where someone waiting stands.
    Membership(MembershipMail),
    /// Invitations, changes, cancellations, reminders, reflection prompts, digests.
    Session(SessionMail),
    /// A sign-in link or a personal page link the person asked for.
    Link(LinkMail),
    /// Role asks, confirmations, questions, notices and swap offers.
    Role(RoleMail),
    /// An agreement's consent round opened, closes soon, or closed.
    Agreements(AgreementsMail),
    /// Feedback closed for its lead, or an answer was reported.
    Feedback(FeedbackMail),
    /// The ask to lead a sibling, a seat someone was moved to, how a proposal ended.
    Growing(GrowingMail),
}

impl EmailJob {
    /// A membership message (confirm, welcome, waitlisted, promoted) about `circle`.
    pub fn membership(message: MessageKind, member_id: MemberId, circle_id: CircleId) -> Self {
        Self::Membership(MembershipMail {
            message,
            member_id,
            circle_id,
            stamp: None,
        })
    }

    /// Where `member_id` stands on `circle_id`'s waitlist, in the three-week window `window`
    /// (`domain::growing::tell_window`): one letter per window.
    pub fn waitlist_standing(member_id: MemberId, circle_id: CircleId, window: i64) -> Self {
        Self::Membership(MembershipMail {
            message: MessageKind::WaitlistStanding,
            member_id,
            circle_id,
            stamp: Some(window),
        })
    }

    /// A message about one session; `sequence` is the version of the session it describes,
    /// for the messages that are sent again when the session changes.
    pub fn session(
        message: MessageKind,
        member_id: MemberId,
        circle_id: CircleId,
        session_id: SessionId,
        sequence: Option<i32>,
    ) -> Self {
        Self::Session(SessionMail {
            message,
            member_id,
            circle_id,
            session_id,
            sequence,
        })
    }

    /// A sign-in link or a personal page link.
    pub fn link(message: MessageKind, member_id: MemberId) -> Self {
        Self::Link(LinkMail { message, member_id })
    }

    /// A message about a consent round: it opened, closes soon, or closed.
    pub fn about_round(message: MessageKind, member_id: MemberId, round: &Round) -> Self {
        Self::Agreements(AgreementsMail {
            message,
            member_id,
            circle_id: round.circle_id,
            round_id: round.id,
        })
    }

    /// A message about a feedback request: its results, or a reported answer. `stamp`
    /// tells two reports apart.
    pub fn about_feedback(
        message: MessageKind,
        member_id: MemberId,
        request: &FeedbackRequest,
        stamp: Option<i64>,
    ) -> Self {
        Self::Feedback(FeedbackMail {
            message,
            member_id,
            circle_id: request.circle_id,
            session_id: request.session_id,
            request_id: request.id,
            stamp,
        })
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
        Self::Growing(GrowingMail {
            message,
            member_id,
            circle_id: circle,
            proposal_id: proposal,
            // A proposal asks each person at most once, and moves each at most once, so its
            // ask and its seat letter need no stamp (and another letter can find either by
            // its key: a session letter carries the ask, an invitation waits for the seat
            // letter that carries it).
            stamp: (!matches!(message, MessageKind::GrowAsk | MessageKind::GrowMoved))
                .then_some(stamp),
        })
    }

    /// A message about one role slot: the ask, a confirmation, or a notice to organisers.
    pub fn about_role(
        message: MessageKind,
        member_id: MemberId,
        row: &SessionRole,
        notice: Option<Notice>,
    ) -> Self {
        // An ask is stamped with the time of asking, so that another ask's letter can name
        // (and carry) it.
        let at = match message {
            MessageKind::RoleAsk => row.asked_at.unwrap_or_else(Utc::now),
            _ => Utc::now(),
        };
        Self::Role(RoleMail {
            message,
            member_id,
            circle_id: row.circle_id,
            session_id: row.session_id,
            role_id: row.id,
            swap_id: None,
            notice,
            stamp: Some(at.timestamp()),
        })
    }

    /// An offer to take over `row` from whoever asked for a swap.
    pub fn swap_offer(member_id: MemberId, row: &SessionRole, swap: crate::domain::SwapId) -> Self {
        Self::Role(RoleMail {
            message: MessageKind::SwapOffer,
            member_id,
            circle_id: row.circle_id,
            session_id: row.session_id,
            role_id: row.id,
            swap_id: Some(swap),
            notice: None,
            stamp: Some(Utc::now().timestamp()),
        })
    }

    pub fn message(&self) -> MessageKind {
        match self {
            Self::Membership(j) => j.message,
            Self::Session(j) => j.message,
            Self::Link(j) => j.message,
            Self::Role(j) => j.message,
            Self::Agreements(j) => j.message,
            Self::Feedback(j) => j.message,
            Self::Growing(j) => j.message,
        }
    }

    pub fn member_id(&self) -> MemberId {
        match self {
            Self::Membership(j) => j.member_id,
            Self::Session(j) => j.member_id,
            Self::Link(j) => j.member_id,
            Self::Role(j) => j.member_id,
            Self::Agreements(j) => j.member_id,
            Self::Feedback(j) => j.member_id,
            Self::Growing(j) => j.member_id,
        }
    }

    /// The circle the message is about (none for links).
    pub fn circle_id(&self) -> Option<CircleId> {
        match self {
            Self::Membership(j) => Some(j.circle_id),
            Self::Session(j) => Some(j.circle_id),
            Self::Link(_) => None,
            Self::Role(j) => Some(j.circle_id),
            Self::Agreements(j) => Some(j.circle_id),
            Self::Feedback(j) => Some(j.circle_id),
            Self::Growing(j) => Some(j.circle_id),
        }
    }

    /// One key per message and recipient. Invitations and reflection prompts are sent once per
    /// session; updates, cancellations, reminders and digests once per version of the session.
    pub fn dedupe_key(&self) -> String {
        match self {
            Self::Membership(j) => j.dedupe_key(),
            Self::Session(j) => j.dedupe_key(),
            Self::Link(j) => j.dedupe_key(),
            Self::Role(j) => j.dedupe_key(),
            Self::Agreements(j) => j.dedupe_key(),
            Self::Feedback(j) => j.dedupe_key(),
            Self::Growing(j) => j.dedupe_key(),
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
    let Some((outgoing, carried)) = ({
        let mut conn = ctx.pool.get().await?;
        // A session message (or a standing letter, keyed by its window) that already reached
        // the mail server is not sent twice, even if it was queued again.
        // So is an agreement letter (or an ask to lead a sibling) that rode with a session
        // letter, and an ask that an earlier ask's letter carried.
        let once = job.message().is_about_a_session()
            || matches!(
                job.message(),
                MessageKind::WaitlistStanding
                    | MessageKind::ConsentRound
                    | MessageKind::ConsentOutcome
                    | MessageKind::RoleAsk
                    | MessageKind::GrowAsk
            );
        if once && queue::already_delivered(&mut conn, &key).await? {
            return Ok(None);
        }
        let prepared = prepare(ctx, &mut conn, &job, &key).await?;
        if prepared.is_some() {
            take_turn(ctx, &mut conn, &job).await?;
        }
        prepared
        // The connection goes back to the pool before the (slow) send.
    }) else {
        return Ok(None);
    };
    let message = outgoing
        .to_message()
        .map_err(|e| JobError::Permanent(format!("building the message: {e}")))?;
    ctx.mailer.send(&message).await?;
    Ok(Some(NewDelivery {
        member_id: Some(job.member_id()),
        circle_id: job.circle_id(),
        recipient: outgoing.to.email.to_string(),
        kind: job.message().to_string(),
        message_id: outgoing.message_id,
        dedupe_key: Some(key),
        carried: carried
            .into_iter()
            .map(|(kind, key)| (kind.to_string(), key))
            .collect(),
    }))
}

/// At most one letter per `letter_gap` to one person: claim this letter's turn, or wait for it.
/// Replies and cancellations take their turn without waiting.
async fn take_turn(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &EmailJob,
) -> Result<(), JobError> {
    if ctx.letter_gap <= chrono::Duration::zero() {
        return Ok(());
    }
    let waits = !job.message().may_follow_closely();
    let key = job.dedupe_key();
    match crate::db::members::take_letter_turn(conn, job.member_id(), ctx.letter_gap, waits, &key)
        .await?
    {
        None => Ok(()),
        Some(last) => Err(JobError::Later(
            last + ctx.letter_gap,
            "at most one letter an hour to one person",
        )),
    }
}

/// Build the message, or `None` when it is no longer wanted (the person left, unsubscribed,
/// turned this kind of mail off, or what it is about changed since).
async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &EmailJob,
    key: &str,
) -> Result<Option<(OutgoingEmail, Vec<(MessageKind, String)>)>, JobError> {
    let Some(mut to) = common::Recipient::load(conn, job.member_id(), job.message()).await? else {
        return Ok(None);
    };
    let prepared = match job {
        EmailJob::Membership(j) => membership::prepare(ctx, conn, j, &mut to).await?,
        EmailJob::Session(j) => session::prepare(ctx, conn, j, &mut to).await?,
        EmailJob::Link(j) => link::prepare(ctx, conn, j, &mut to).await?,
        EmailJob::Role(j) => role::prepare(ctx, conn, j, &mut to).await?,
        EmailJob::Agreements(j) => agreements::prepare(ctx, conn, j, &mut to).await?,
        EmailJob::Feedback(j) => feedback::prepare(ctx, conn, j, &mut to).await?,
        EmailJob::Growing(j) => match growing::prepare(ctx, conn, j, &mut to).await? {
            // The seat in a new circle carries its first invitation, as a welcome does.
            Some(p) if j.message == MessageKind::GrowMoved => {
                let circle = crate::db::circles::find(conn, j.circle_id).await?;
                match circle {
                    Some(c) => Some(
                        session::with_first_invitation(ctx, conn, &c, &to, Utc::now(), p.context)
                            .await?,
                    ),
                    None => Some(p),
                }
            }
            other => other,
        },
    };
    match prepared {
        Some(p) => {
            let carried = p.carried.clone();
            common::envelope(ctx, &to, key, p).map(|e| Some((e, carried)))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FeedbackRequestId, RoleId, RoundId, SwapId};
    use crate::email::when::describe_time;
    use uuid::Uuid;

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
        let nil = Uuid::nil();
        let job = |message, sequence| {
            EmailJob::session(
                message,
                MemberId(nil),
                CircleId(nil),
                SessionId(nil),
                sequence,
            )
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

    /// The dedupe key as every earlier version computed it, from the stored payload.
    fn key_as_before(p: &wire::Payload) -> String {
        let object = p
            .session_id
            .map(|s| s.to_string())
            .or(p.circle_id.map(|c| c.to_string()))
            .unwrap_or_else(|| "-".into());
        if let Some(round) = p.round_id {
            return format!("email:{}:{round}:{}", p.message, p.member_id);
        }
        if let Some(proposal) = p.proposal_id {
            return format!(
                "email:{}:{proposal}:{}:{}",
                p.message,
                p.member_id,
                p.stamp.unwrap_or(0)
            );
        }
        if let Some(request) = p.request_id {
            return format!(
                "email:{}:{request}:{}:{}",
                p.message,
                p.member_id,
                p.stamp.unwrap_or(0)
            );
        }
        if let Some(role) = p.role_id {
            let swap = p.swap_id.map(|s| s.to_string()).unwrap_or_default();
            let notice = p
                .notice
                .map(|n| serde_json::to_string(&n).unwrap_or_default())
                .unwrap_or_default();
            return format!(
                "email:{}:{role}:{swap}:{}:{notice}:{}",
                p.message,
                p.member_id,
                p.stamp.unwrap_or(0)
            );
        }
        // New with the standing letter: one per person, circle and three-week window.
        if p.message == MessageKind::WaitlistStanding {
            let window = p.stamp.unwrap_or(0);
            return format!("email:{}:{object}:{}:{window}", p.message, p.member_id);
        }
        match (versioned(p.message), p.sequence) {
            (true, Some(seq)) => format!("email:{}:{object}:{}:{seq}", p.message, p.member_id),
            _ => format!("email:{}:{object}:{}", p.message, p.member_id),
        }
    }

    /// One job of every message, as the code that queues them builds it.
    fn every_message() -> Vec<EmailJob> {
        let id = |n: u128| Uuid::from_u128(n);
        let (member, circle, session) = (MemberId(id(1)), CircleId(id(2)), SessionId(id(3)));
        let role = RoleMail {
            message: MessageKind::RoleAsk,
            member_id: member,
            circle_id: circle,
            session_id: session,
            role_id: RoleId(id(4)),
            swap_id: None,
            notice: None,
            stamp: Some(1_700_000_000),
        };
        MessageKind::ALL
            .into_iter()
            .flat_map(|m| {
                use MessageKind as K;
                match m {
                    K::Confirmation | K::Welcome | K::Waitlisted | K::Promoted => {
                        vec![EmailJob::membership(m, member, circle)]
                    }
                    K::WaitlistStanding => vec![EmailJob::waitlist_standing(member, circle, 1_345)],
                    K::Invitation
                    | K::SessionUpdate
                    | K::SessionCancelled
                    | K::Reminder
                    | K::ReflectionPrompt
                    | K::FacilitatorDigest => vec![
                        EmailJob::session(m, member, circle, session, None),
                        EmailJob::session(m, member, circle, session, Some(7)),
                    ],
                    K::LoginLink | K::PersonalLink => vec![EmailJob::link(m, member)],
                    K::RoleAsk
                    | K::RoleConfirmed
                    | K::RoleNotice
                    | K::SwapOffer
                    | K::QuestionsAsk => {
                        vec![
                            EmailJob::Role(RoleMail {
                                message: m,
                                ..role.clone()
                            }),
                            EmailJob::Role(RoleMail {
                                message: m,
                                swap_id: Some(SwapId(id(5))),
                                notice: Some(Notice::StillOpen),
                                ..role.clone()
                            }),
                        ]
                    }
                    K::ConsentRound | K::ConsentReminder | K::ConsentOutcome => {
                        vec![EmailJob::Agreements(AgreementsMail {
                            message: m,
                            member_id: member,
                            circle_id: circle,
                            round_id: RoundId(id(6)),
                        })]
                    }
                    K::FeedbackClosed | K::FeedbackReported => [None, Some(42)]
                        .into_iter()
                        .map(|stamp| {
                            EmailJob::Feedback(FeedbackMail {
                                message: m,
                                member_id: member,
                                circle_id: circle,
                                session_id: session,
                                request_id: FeedbackRequestId(id(7)),
                                stamp,
                            })
                        })
                        .collect(),
                    K::GrowAsk | K::GrowMoved | K::GrowNotice => {
                        vec![EmailJob::about_proposal(
                            m,
                            member,
                            circle,
                            ProposalId(id(8)),
                            9,
                        )]
                    }
                }
            })
            .collect()
    }

    #[test]
    fn every_family_keeps_the_key_and_the_stored_shape_it_always_had() {
        let jobs = every_message();
        assert!(jobs.len() >= MessageKind::ALL.len());
        for job in jobs {
            let stored = serde_json::to_value(&job).unwrap();
            let flat: wire::Payload = serde_json::from_value(stored.clone()).unwrap();
            assert_eq!(job.dedupe_key(), key_as_before(&flat), "{stored}");
            let back: EmailJob = serde_json::from_value(stored.clone()).unwrap();
            assert_eq!(back, job);
            assert_eq!(serde_json::to_value(&back).unwrap(), stored);
        }
    }

    #[test]
    fn a_job_queued_by_an_earlier_version_still_reads() {
        let stored = serde_json::json!({
            "message": "reminder",
            "member_id": "00000000-0000-0000-0000-000000000001",
            "circle_id": "00000000-0000-0000-0000-000000000002",
            "session_id": "00000000-0000-0000-0000-000000000003",
            "sequence": 2
        });
        let job: EmailJob = serde_json::from_value(stored.clone()).unwrap();
        assert!(matches!(&job, EmailJob::Session(s) if s.sequence == Some(2)));
        assert_eq!(serde_json::to_value(&job).unwrap(), stored);
        let link = serde_json::json!({
            "message": "personal_link",
            "member_id": "00000000-0000-0000-0000-000000000001",
            "circle_id": null,
            "session_id": null,
            "sequence": null
        });
        let job: EmailJob = serde_json::from_value(link.clone()).unwrap();
        assert_eq!(serde_json::to_value(&job).unwrap(), link);
    }

    #[test]
    fn a_payload_that_fits_no_family_is_unreadable() {
        let missing = serde_json::json!({
            "message": "role_ask",
            "member_id": "00000000-0000-0000-0000-000000000001",
            "circle_id": "00000000-0000-0000-0000-000000000002",
            "session_id": "00000000-0000-0000-0000-000000000003",
            "sequence": null
        });
        let err = serde_json::from_value::<EmailJob>(missing).unwrap_err();
        assert!(err.to_string().contains("role_id"), "{err}");
        let stray = serde_json::json!({
            "message": "welcome",
            "member_id": "00000000-0000-0000-0000-000000000001",
            "circle_id": "00000000-0000-0000-0000-000000000002",
            "session_id": null,
            "sequence": null,
            "round_id": "00000000-0000-0000-0000-000000000004"
        });
        let err = serde_json::from_value::<EmailJob>(stray).unwrap_err();
        assert!(err.to_string().contains("round_id"), "{err}");
    }
}
