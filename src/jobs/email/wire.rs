//! How an email job is stored in the queue: one flat JSON object, the same shape every
//! version of Roundtable has written, so jobs queued by an older version still run. The typed
//! families of `super` convert to and from it; a payload that fits no family is unreadable.

use serde::{Deserialize, Serialize};

use super::{
    AgreementsMail, EmailJob, FeedbackMail, GrowingMail, LinkMail, MembershipMail, RoleMail,
    SessionMail,
};
use crate::domain::roles::Notice;
use crate::domain::{
    CircleId, FeedbackRequestId, MemberId, ProposalId, RoleId, RoundId, SessionId, SwapId,
};
use crate::email::messages::MessageKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
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

impl Payload {
    fn bare(message: MessageKind, member_id: MemberId) -> Self {
        Self {
            message,
            member_id,
            circle_id: None,
            session_id: None,
            sequence: None,
            role_id: None,
            swap_id: None,
            notice: None,
            stamp: None,
            round_id: None,
            request_id: None,
            proposal_id: None,
        }
    }

    /// The fields this message's family does not use, that are set anyway.
    fn stray(&self, used: &[&str]) -> Option<&'static str> {
        let set = [
            ("circle_id", self.circle_id.is_some()),
            ("session_id", self.session_id.is_some()),
            ("sequence", self.sequence.is_some()),
            ("role_id", self.role_id.is_some()),
            ("swap_id", self.swap_id.is_some()),
            ("notice", self.notice.is_some()),
            ("stamp", self.stamp.is_some()),
            ("round_id", self.round_id.is_some()),
            ("request_id", self.request_id.is_some()),
            ("proposal_id", self.proposal_id.is_some()),
        ];
        set.into_iter()
            .find(|(name, is_set)| *is_set && !used.contains(name))
            .map(|(name, _)| name)
    }
}

fn need<T>(value: Option<T>, field: &str, message: MessageKind) -> Result<T, String> {
    value.ok_or_else(|| format!("a {message} email needs `{field}`"))
}

impl TryFrom<Payload> for EmailJob {
    type Error = String;

    fn try_from(p: Payload) -> Result<Self, String> {
        use MessageKind as K;
        let m = p.message;
        let used: &[&str] = match m {
            K::Confirmation | K::Welcome | K::Waitlisted | K::Promoted => &["circle_id"],
            K::WaitlistStanding => &["circle_id", "stamp"],
            K::Invitation
            | K::SessionUpdate
            | K::SessionCancelled
            | K::Reminder
            | K::ReflectionPrompt
            | K::FacilitatorDigest => &["circle_id", "session_id", "sequence"],
            K::LoginLink | K::PersonalLink => &[],
            K::RoleAsk | K::RoleConfirmed | K::RoleNotice | K::SwapOffer | K::QuestionsAsk => &[
                "circle_id",
                "session_id",
                "role_id",
                "swap_id",
                "notice",
                "stamp",
            ],
            K::ConsentRound | K::ConsentReminder | K::ConsentOutcome => &["circle_id", "round_id"],
            K::FeedbackClosed | K::FeedbackReported => {
                &["circle_id", "session_id", "request_id", "stamp"]
            }
            K::GrowAsk | K::GrowMoved | K::GrowNotice => &["circle_id", "proposal_id", "stamp"],
        };
        if let Some(field) = p.stray(used) {
            return Err(format!("a {m} email has no `{field}`"));
        }
        let member_id = p.member_id;
        Ok(match m {
            K::Confirmation | K::Welcome | K::Waitlisted | K::Promoted => {
                EmailJob::Membership(MembershipMail {
                    message: m,
                    member_id,
                    circle_id: need(p.circle_id, "circle_id", m)?,
                    stamp: None,
                })
            }
            K::WaitlistStanding => EmailJob::Membership(MembershipMail {
                message: m,
                member_id,
                circle_id: need(p.circle_id, "circle_id", m)?,
                stamp: Some(need(p.stamp, "stamp", m)?),
            }),
            K::Invitation
            | K::SessionUpdate
            | K::SessionCancelled
            | K::Reminder
            | K::ReflectionPrompt
            | K::FacilitatorDigest => EmailJob::Session(SessionMail {
                message: m,
                member_id,
                circle_id: need(p.circle_id, "circle_id", m)?,
                session_id: need(p.session_id, "session_id", m)?,
                sequence: p.sequence,
            }),
            K::LoginLink | K::PersonalLink => EmailJob::Link(LinkMail {
                message: m,
                member_id,
            }),
            K::RoleAsk | K::RoleConfirmed | K::RoleNotice | K::SwapOffer | K::QuestionsAsk => {
                EmailJob::Role(RoleMail {
                    message: m,
                    member_id,
                    circle_id: need(p.circle_id, "circle_id", m)?,
                    session_id: need(p.session_id, "session_id", m)?,
                    role_id: need(p.role_id, "role_id", m)?,
                    swap_id: p.swap_id,
                    notice: p.notice,
                    stamp: p.stamp,
                })
            }
            K::ConsentRound | K::ConsentReminder | K::ConsentOutcome => {
                EmailJob::Agreements(AgreementsMail {
                    message: m,
                    member_id,
                    circle_id: need(p.circle_id, "circle_id", m)?,
                    round_id: need(p.round_id, "round_id", m)?,
                })
            }
            K::FeedbackClosed | K::FeedbackReported => EmailJob::Feedback(FeedbackMail {
                message: m,
                member_id,
                circle_id: need(p.circle_id, "circle_id", m)?,
                session_id: need(p.session_id, "session_id", m)?,
                request_id: need(p.request_id, "request_id", m)?,
                stamp: p.stamp,
            }),
            K::GrowAsk | K::GrowMoved | K::GrowNotice => EmailJob::Growing(GrowingMail {
                message: m,
                member_id,
                circle_id: need(p.circle_id, "circle_id", m)?,
                proposal_id: need(p.proposal_id, "proposal_id", m)?,
                stamp: p.stamp,
            }),
        })
    }
}

impl From<EmailJob> for Payload {
    fn from(job: EmailJob) -> Self {
        match job {
            EmailJob::Membership(j) => Self {
                circle_id: Some(j.circle_id),
                stamp: j.stamp,
                ..Self::bare(j.message, j.member_id)
            },
            EmailJob::Session(j) => Self {
                circle_id: Some(j.circle_id),
                session_id: Some(j.session_id),
                sequence: j.sequence,
                ..Self::bare(j.message, j.member_id)
            },
            EmailJob::Link(j) => Self::bare(j.message, j.member_id),
            EmailJob::Role(j) => Self {
                circle_id: Some(j.circle_id),
                session_id: Some(j.session_id),
                role_id: Some(j.role_id),
                swap_id: j.swap_id,
                notice: j.notice,
                stamp: j.stamp,
                ..Self::bare(j.message, j.member_id)
            },
            EmailJob::Agreements(j) => Self {
                circle_id: Some(j.circle_id),
                round_id: Some(j.round_id),
                ..Self::bare(j.message, j.member_id)
            },
            EmailJob::Feedback(j) => Self {
                circle_id: Some(j.circle_id),
                session_id: Some(j.session_id),
                request_id: Some(j.request_id),
                stamp: j.stamp,
                ..Self::bare(j.message, j.member_id)
            },
            EmailJob::Growing(j) => Self {
                circle_id: Some(j.circle_id),
                proposal_id: Some(j.proposal_id),
                stamp: j.stamp,
                ..Self::bare(j.message, j.member_id)
            },
        }
    }
}
