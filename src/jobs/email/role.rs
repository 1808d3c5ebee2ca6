//! Role mail: the ask to take a role (a discussion lead's also asks for their questions), its
//! confirmation, the ask for questions (to a holder whose ask did not), notices to organisers
//! about a slot, and the offer to take over a role someone cannot keep.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, Prepared, Recipient};
use crate::db::roles::{self, SessionRole};
use crate::db::sessions::Session;
use crate::db::{circles, jobs, members, sessions, swaps};
use crate::domain::roles::Notice;
use crate::domain::{CircleId, MemberId, RoleId, RoleState, SessionId, SwapId};
use crate::email::letters::{Slot, Told};
use crate::email::messages::{AlsoAsked, MessageKind, NoticeView, RoleView};
use crate::email::when::describe_day;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
    pub session_id: SessionId,
    /// The role slot the message is about.
    pub role_id: RoleId,
    /// The swap a swap offer is about.
    pub swap_id: Option<SwapId>,
    /// Why organisers are told about the slot.
    pub notice: Option<Notice>,
    /// When the thing told about happened (unix seconds): two notices about one slot at
    /// different times are two messages.
    pub stamp: Option<i64>,
}

impl RoleMail {
    pub fn dedupe_key(&self) -> String {
        let swap = self.swap_id.map(|s| s.to_string()).unwrap_or_default();
        let notice = self
            .notice
            .map(|n| serde_json::to_string(&n).unwrap_or_default())
            .unwrap_or_default();
        format!(
            "email:{}:{}:{swap}:{}:{notice}:{}",
            self.message,
            self.role_id,
            self.member_id,
            self.stamp.unwrap_or(0)
        )
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &RoleMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some(s) = common::session_as_sent(conn, job.session_id, kind, None).await? else {
        return Ok(None);
    };
    let Some((circle, _)) = common::place(conn, job.circle_id, to, kind, Some(&s)).await? else {
        return Ok(None);
    };
    let Some(row) = roles::find(conn, job.role_id).await? else {
        return Ok(None);
    };
    let swap = match job.swap_id {
        Some(id) => match swaps::find(conn, id).await? {
            Some(sw) if sw.status == "open" => Some(sw),
            _ => return Ok(None),
        },
        None => None,
    };
    let me = to.member.id;
    let holds = row.member_id == Some(me);
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
    let now = Utc::now();
    let links = &ctx.links;
    let zone = to.zone(Some(&s), Some(&circle));
    let segment = super::session::segment_label(conn, &s).await?;
    let mut c = common::context(kind, to, Some(&circle), links, now);
    c.session =
        Some(super::session::view(conn, &s, Some(&circle), kind, segment.as_deref(), zone).await?);
    // Only those who run the circle can open the dashboard; a member (someone who swapped
    // the role away, say) is sent to the role's page instead.
    let runs_circle = to.member.organiser || circles::is_facilitator(conn, circle.id, me).await?;
    c.action_url = match (kind, &swap) {
        (MessageKind::SwapOffer, swap) => swap
            .as_ref()
            .map(|sw| links.swap(to.holder, sw.id.0, s.starts_at)),
        _ if holds || !runs_circle => Some(links.role(to.holder, row.id.0, s.ends_at)),
        _ => Some(format!(
            "{}/dashboard/circles/{}/rota",
            links.base(),
            circle.id
        )),
    };
    // A discussion lead's ask says what the role brings and where to write it; asks queued
    // before the ask carried that request say what they always said.
    let brings_questions = kind == MessageKind::RoleAsk
        && row.role_key == roles::QUESTIONS_ROLE
        && roles::questions_in_ask(conn, row.id, me).await?;
    c.role = role_view(
        conn,
        &row,
        &s,
        circle.id,
        brings_questions,
        &to.member.display_name,
    )
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
    .filter(|_| kind != MessageKind::RoleNotice || job.notice == Some(Notice::Handoff));
    c.notice = notice_view(conn, job, &row, &s, swap.as_ref(), &circle.name, zone).await?;
    let mut carried = Vec::new();
    if kind == MessageKind::RoleAsk {
        let Some(others) = asked_together(conn, &row, me, now).await? else {
            // The earliest turn's letter carries this one; look again once it went.
            return Err(JobError::Later(
                now + WAIT_FOR_FIRST_ASK,
                "an earlier ask to the same person carries this one",
            ));
        };
        for (other, key) in others {
            if let Some(also) = also_asked(ctx, conn, &other, &circle, to, zone).await? {
                c.also_asked.push(also);
                carried.push((MessageKind::RoleAsk, key));
            }
        }
    }
    Ok(Some(Prepared {
        context: c,
        calendar: None,
        carried,
    }))
}

/// How soon a later ask looks again while the earliest ask's letter (which carries it) waits.
const WAIT_FOR_FIRST_ASK: chrono::Duration = chrono::Duration::minutes(10);

/// How soon another ask must be due for this letter to carry it.
const ASKS_TOGETHER_WITHIN: chrono::Duration = chrono::Duration::hours(1);

/// The key of the ask to `member` for `row`, as `EmailJob::about_role` queued it.
fn ask_key(row: &SessionRole, member: MemberId) -> Option<String> {
    let at = row.asked_at?;
    Some(
        RoleMail {
            message: MessageKind::RoleAsk,
            member_id: member,
            circle_id: row.circle_id,
            session_id: row.session_id,
            role_id: row.id,
            swap_id: None,
            notice: None,
            stamp: Some(at.timestamp()),
        }
        .dedupe_key(),
    )
}

/// The other asks to `member` in `row`'s circle whose letters are about to go, with their
/// keys, so that one letter asks for them all: `None` when an ask for an earlier turn is among
/// them (its letter carries this one), else the later ones, earliest first.
async fn asked_together(
    conn: &mut AsyncPgConnection,
    row: &SessionRole,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<Vec<(SessionRole, String)>>, JobError> {
    // Earliest session first; this row among them.
    let asked = roles::asked_of(conn, row.circle_id, member, now).await?;
    let Some(own) = asked.iter().position(|r| r.id == row.id) else {
        return Ok(Some(Vec::new()));
    };
    let keyed: Vec<(usize, SessionRole, String)> = asked
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != own)
        .filter_map(|(i, r)| ask_key(&r, member).map(|k| (i, r, k)))
        .collect();
    let keys: Vec<String> = keyed.iter().map(|(_, _, k)| k.clone()).collect();
    let due: HashSet<String> = jobs::pending(conn, &keys)
        .await?
        .into_iter()
        .filter(|j| j.run_at <= now + ASKS_TOGETHER_WITHIN)
        .filter_map(|j| j.key)
        .collect();
    let mut later = Vec::new();
    for (i, r, key) in keyed {
        if !due.contains(&key) {
            continue;
        }
        if i < own {
            return Ok(None);
        }
        later.push((r, key));
    }
    Ok(Some(later))
}

/// Another turn asked of `to`, as part of this ask's letter: the role, its session, its page.
async fn also_asked(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    row: &SessionRole,
    circle: &crate::db::circles::Circle,
    to: &Recipient,
    zone: Tz,
) -> Result<Option<AlsoAsked>, JobError> {
    let Some(s) = sessions::find(conn, row.session_id).await? else {
        return Ok(None);
    };
    let kind = MessageKind::RoleAsk;
    let brings_questions = row.role_key == roles::QUESTIONS_ROLE
        && roles::questions_in_ask(conn, row.id, to.member.id).await?;
    let Some(role) = role_view(
        conn,
        row,
        &s,
        circle.id,
        brings_questions,
        &to.member.display_name,
    )
    .await?
    else {
        return Ok(None);
    };
    let segment = super::session::segment_label(conn, &s).await?;
    let session =
        super::session::view(conn, &s, Some(circle), kind, segment.as_deref(), zone).await?;
    Ok(Some(AlsoAsked {
        role,
        session,
        url: ctx.links.role(to.holder, row.id.0, s.ends_at),
    }))
}

/// The role as its holder's mail shows it, with the handoff the holder inherits when its
/// author let them see it; `brings_questions` for a discussion lead's ask that also asks for
/// their questions; the why addressed to `reader`.
async fn role_view(
    conn: &mut AsyncPgConnection,
    row: &SessionRole,
    session: &Session,
    circle: CircleId,
    brings_questions: bool,
    reader: &str,
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
        // Addressed to the reader: "You haven't led yet …".
        why: crate::domain::rota::why_for_holder(&row.why, reader),
        handoff,
        brings_questions,
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

async fn name_of(conn: &mut AsyncPgConnection, m: Option<MemberId>) -> Result<String, JobError> {
    Ok(match m {
        Some(m) => members::find(conn, m)
            .await?
            .map_or_else(|| "Someone".into(), |m| m.display_name),
        None => "Nobody".into(),
    })
}

/// What organisers (or someone offered a swap) are told, in the recipient's zone.
async fn notice_view(
    conn: &mut AsyncPgConnection,
    job: &RoleMail,
    row: &SessionRole,
    session: &Session,
    swap: Option<&swaps::Swap>,
    circle_name: &str,
    zone: Tz,
) -> Result<Option<NoticeView>, JobError> {
    let kind = roles::kind(conn, row.circle_id, &row.role_key).await?;
    let slot = Slot {
        role: kind
            .as_ref()
            .map_or(row.role_key.clone(), |k| k.name.clone()),
        day: describe_day(session.starts_at, zone),
        circle: circle_name.to_string(),
    };
    let told = match (job.message, job.notice) {
        (MessageKind::SwapOffer, _) => Told::SwapOffer {
            requester: name_of(conn, swap.and_then(|s| s.requester_id)).await?,
        },
        (_, Some(Notice::Unanswered)) => Told::Unanswered {
            next: match (row.state, row.member_id) {
                (RoleState::Asked | RoleState::Proposed, Some(m)) => {
                    Some(name_of(conn, Some(m)).await?)
                }
                _ => None,
            },
        },
        (_, Some(Notice::StillOpen)) => Told::StillOpen,
        (_, Some(Notice::SwapTaken)) => Told::SwapTaken {
            holder: name_of(conn, row.member_id).await?,
        },
        (_, Some(Notice::Handoff)) => Told::Handoff,
        _ => return Ok(None),
    };
    crate::email::letters::notice(&slot, &told)
        .map(Some)
        .map_err(common::wording)
}
