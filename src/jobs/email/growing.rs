//! Growing mail: the ask to lead a sibling circle, the seat someone was moved to, and the
//! organisers' notice of how a proposal ended. Each is a letter (see
//! `templates/email/letter.*`) worded by `email::letters` from the facts gathered here, and
//! each is dropped when it no longer holds: an ask that moved on, a seat given up.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, wording, Prepared, Recipient};
use crate::db::growing::{self, Proposal};
use crate::db::{circles, members};
use crate::domain::{CircleId, JobState, MemberId, ProposalId, ProposalState};
use crate::email::letters::Sibling;
use crate::email::messages::{LetterView, MessageKind};
use crate::links::{Holder, Links};
use crate::views::growing::{coming_dates, reading_titles};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowingMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    /// The circle that grows, or for someone moved, the sibling.
    pub circle_id: CircleId,
    pub proposal_id: ProposalId,
    /// Tells two notices about one proposal apart.
    pub stamp: Option<i64>,
}

impl GrowingMail {
    pub fn dedupe_key(&self) -> String {
        format!(
            "email:{}:{}:{}:{}",
            self.message,
            self.proposal_id,
            self.member_id,
            self.stamp.unwrap_or(0)
        )
    }
}

/// How long an ask to lead a sibling may wait for the reader's next letter about the circle.
const ASK_RIDES_WITHIN: Duration = Duration::hours(24);
/// How long the reader still has to answer once the letter carrying the ask goes.
const ANSWER_AFTER_RIDE: Duration = Duration::hours(48);
/// How long after its carrier a waiting ask looks again (it is then delivered).
const AFTER_CARRIER: Duration = Duration::minutes(10);

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &GrowingMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    prepare_letter(ctx, conn, job, to, false).await
}

/// The letter, `riding` inside another (a session letter), or alone. Alone, the ask to lead
/// a sibling waits for the reader's next letter about the circle when that goes within a day
/// and leaves two days to answer: one letter, not two.
pub(super) async fn prepare_letter(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &GrowingMail,
    to: &mut Recipient,
    riding: bool,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some((circle, _)) = common::place(conn, job.circle_id, to, kind, None).await? else {
        return Ok(None);
    };
    let Some(proposal) = growing::find(conn, job.proposal_id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    if kind == MessageKind::GrowAsk && !riding {
        if let Some(answer_by) = proposal.answer_by {
            let until = (now + ASK_RIDES_WITHIN).min(answer_by - ANSWER_AFTER_RIDE);
            if until > now {
                if let Some(at) =
                    common::next_session_letter(conn, circle.id, &to.member, until).await?
                {
                    return Err(JobError::Later(
                        at + AFTER_CARRIER,
                        "rides with the reader's next letter about the circle",
                    ));
                }
            }
        }
    }
    let links = &ctx.links;
    let zone = to.zone(None, Some(&circle));
    let Some((letter, url)) = letter(
        conn, kind, &proposal, &to.member, to.holder, links, zone, now,
    )
    .await?
    else {
        return Ok(None);
    };
    let mut c = common::context(kind, to, Some(&circle), links, now);
    c.action_url = Some(url);
    c.letter = Some(letter);
    Ok(Some(c.into()))
}

/// The ask to `member` to lead a sibling of `circle`, when it is still queued: it can ride
/// with a letter being written now. Found by its key, from the circle's one asking proposal.
pub(super) async fn waiting_ask(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> Result<Option<GrowingMail>, JobError> {
    let Some(proposal) = growing::asking(conn, circle).await? else {
        return Ok(None);
    };
    if proposal.asked_member_id != Some(member) {
        return Ok(None);
    }
    let mail = GrowingMail {
        message: MessageKind::GrowAsk,
        member_id: member,
        circle_id: circle,
        proposal_id: proposal.id,
        stamp: None,
    };
    let queued = crate::db::jobs::pending(conn, &[mail.dedupe_key()])
        .await?
        .iter()
        .any(|j| j.state == JobState::Queued);
    Ok(queued.then_some(mail))
}

/// The letter and its button's link, or `None` when the message is no longer wanted.
#[allow(clippy::too_many_arguments)]
async fn letter(
    conn: &mut AsyncPgConnection,
    kind: MessageKind,
    proposal: &Proposal,
    member: &members::Member,
    holder: Holder,
    links: &Links,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Option<(LetterView, String)>, JobError> {
    let Some(circle) = circles::find(conn, proposal.circle_id).await? else {
        return Ok(None);
    };
    let to = To {
        member,
        holder,
        links,
        zone,
        now,
    };
    match kind {
        MessageKind::GrowAsk => ask(conn, proposal, &circle, &to).await,
        MessageKind::GrowMoved => moved(conn, proposal, &circle, &to).await,
        MessageKind::GrowNotice => notice(conn, proposal, &circle, &to).await,
        _ => Ok(None),
    }
}

/// Who a growing letter is for, and how its dates and links are written for them.
struct To<'a> {
    member: &'a members::Member,
    holder: Holder,
    links: &'a Links,
    zone: Tz,
    now: DateTime<Utc>,
}

/// The sibling as its letters name it: its coming dates and readings are those of `of`.
async fn sibling(
    conn: &mut AsyncPgConnection,
    proposal: &Proposal,
    circle: &circles::Circle,
    of: crate::domain::CircleId,
    to: &To<'_>,
) -> Result<Sibling, JobError> {
    Ok(Sibling {
        name: proposal.name.clone(),
        original: circle.name.clone(),
        dates: coming_dates(conn, of, to.zone, to.now).await?,
        readings: reading_titles(conn, of).await?,
    })
}

/// The ask to lead the sibling, while it is this person's turn.
async fn ask(
    conn: &mut AsyncPgConnection,
    proposal: &Proposal,
    circle: &circles::Circle,
    to: &To<'_>,
) -> Result<Option<(LetterView, String)>, JobError> {
    let asked = proposal.asked_member_id == Some(to.member.id);
    let Some(answer_by) = proposal.answer_by.filter(|_| asked) else {
        return Ok(None);
    };
    if proposal.state != ProposalState::Asking {
        return Ok(None);
    }
    let waiting = crate::db::memberships::waitlist_length(conn, circle.id).await?;
    let sibling = sibling(conn, proposal, circle, proposal.circle_id, to).await?;
    let led = crate::db::roles::held(conn, circle.id, Some(to.member.id), to.now)
        .await?
        .into_iter()
        .find(|h| h.role_key == crate::db::roles::FACILITATOR)
        .map_or(0, |h| h.count);
    let attended = crate::db::rsvps::attended_count(conn, circle.id, to.member.id).await?;
    let letter = sibling.ask(
        waiting,
        led,
        attended,
        &crate::email::when::deadline(answer_by, to.zone, to.now),
    );
    Ok(Some((
        letter.map_err(wording)?,
        to.links.grow(to.holder, proposal.id.0, answer_by),
    )))
}

/// The seat someone on the waitlist was moved to, while it is still theirs.
async fn moved(
    conn: &mut AsyncPgConnection,
    proposal: &Proposal,
    circle: &circles::Circle,
    to: &To<'_>,
) -> Result<Option<(LetterView, String)>, JobError> {
    let Some(of) = proposal.sibling_id else {
        return Ok(None);
    };
    let moves = growing::moves(conn, proposal.id).await?;
    let Some((_, place)) = moves.iter().find(|(m, _)| *m == to.member.id) else {
        return Ok(None);
    };
    let lead = lead_name(conn, proposal).await?;
    let sibling = sibling(conn, proposal, circle, of, to).await?;
    Ok(Some((
        sibling.moved(&lead, *place).map_err(wording)?,
        to.links.me(to.holder, to.now),
    )))
}

/// How a proposal ended: to the organisers, led or nobody could; to whoever was being asked
/// to lead it, that the organisers called it off.
async fn notice(
    conn: &mut AsyncPgConnection,
    proposal: &Proposal,
    circle: &circles::Circle,
    to: &To<'_>,
) -> Result<Option<(LetterView, String)>, JobError> {
    let sibling = Sibling {
        name: proposal.name.clone(),
        original: circle.name.clone(),
        dates: Vec::new(),
        readings: Vec::new(),
    };
    let dashboard = format!("{}/dashboard/circles/{}", to.links.base(), circle.id);
    let (letter, url) = match proposal.state {
        ProposalState::Accepted => {
            let lead = lead_name(conn, proposal).await?;
            (sibling.ended(Some((&lead, proposal.moved))), dashboard)
        }
        ProposalState::Unled => (sibling.ended(None), dashboard),
        ProposalState::Withdrawn => (sibling.called_off(), to.links.me(to.holder, to.now)),
        _ => return Ok(None),
    };
    Ok(Some((letter.map_err(wording)?, url)))
}

async fn lead_name(conn: &mut AsyncPgConnection, proposal: &Proposal) -> Result<String, JobError> {
    let lead: Option<MemberId> = proposal.asked_member_id;
    Ok(match lead {
        Some(m) => members::find(conn, m).await?.map(|m| m.display_name),
        None => None,
    }
    .unwrap_or_else(|| "a member".into()))
}
