//! Membership mail: confirm your place, welcome, you are on the waitlist, a seat opened, and
//! every few weeks, where someone waiting stands (a letter, worded by `email::letters`).

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::super::queue::JobError;
use super::super::JobContext;
use super::common::{self, wording, Prepared, Recipient};
use crate::db::circles::Circle;
use crate::db::memberships::{self, Membership};
use crate::db::{agreements, growing, sessions};
use crate::domain::growing::threshold;
use crate::domain::{CircleId, CircleStatus, MemberId, SessionStatus};
use crate::email::letters::Standing;
use crate::email::messages::{LetterView, MessageKind};
use crate::email::when::describe_time;

/// Coming sessions a welcome lists at most.
const UPCOMING_IN_WELCOME: i64 = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipMail {
    pub message: MessageKind,
    pub member_id: MemberId,
    pub circle_id: CircleId,
    /// For a standing letter: its three-week window (`domain::growing::tell_window`).
    pub stamp: Option<i64>,
}

impl MembershipMail {
    /// Once per message, person and circle; a standing letter once per three-week window.
    pub fn dedupe_key(&self) -> String {
        let key = common::membership_key(self.message, self.member_id, self.circle_id);
        match self.stamp {
            Some(window) => format!("{key}:{window}"),
            None => key,
        }
    }
}

pub(super) async fn prepare(
    ctx: &JobContext,
    conn: &mut AsyncPgConnection,
    job: &MembershipMail,
    to: &mut Recipient,
) -> Result<Option<Prepared>, JobError> {
    let kind = job.message;
    let Some((circle, membership)) = common::place(conn, job.circle_id, to, kind, None).await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let links = &ctx.links;
    let mut c = common::context(kind, to, Some(&circle), links, now);
    c.waitlist_position = membership.as_ref().and_then(|m| m.waitlist_position);
    if kind == MessageKind::WaitlistStanding {
        let Some(letter) = standing(conn, &circle, membership.as_ref()).await? else {
            return Ok(None);
        };
        c.letter = Some(letter);
        c.action_url = Some(links.me(to.holder, now));
        return Ok(Some(c.into()));
    }
    if kind == MessageKind::Confirmation {
        c.action_url = Some(links.confirm(to.holder, circle.id.0, now));
    }
    if matches!(kind, MessageKind::Welcome | MessageKind::Promoted) {
        let zone = to.zone(None, Some(&circle));
        c.agreements = agreements::adopted(conn, circle.id)
            .await?
            .into_iter()
            .map(|a| (a.title, a.body))
            .collect();
        c.upcoming = sessions::list(conn, circle.id, Some(now), None, UPCOMING_IN_WELCOME)
            .await?
            .into_iter()
            .filter(|s| s.status == SessionStatus::Scheduled && s.starts_at > now)
            .map(|s| describe_time(s.starts_at, s.ends_at, zone))
            .collect();
        c.calendar = Some((links.calendar(to.holder), links.webcal(to.holder)));
        // The first session's invitation comes in this letter, not a minute after it.
        let letter = super::session::with_first_invitation(ctx, conn, &circle, to, now, c);
        return Ok(Some(letter.await?));
    }
    Ok(Some(c.into()))
}

/// Where someone waiting stands, as it is when the letter goes: their place, how many wait,
/// what would start a new circle, and whether someone is being asked to lead one. `None` when
/// they no longer wait or the circle is no longer open.
async fn standing(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    membership: Option<&Membership>,
) -> Result<Option<LetterView>, JobError> {
    let Some(place) = membership.and_then(|m| m.waitlist_position) else {
        return Ok(None);
    };
    if circle.status != CircleStatus::Open {
        return Ok(None);
    }
    let standing = Standing {
        circle: circle.name.clone(),
        place,
        waiting: memberships::waitlist_length(conn, circle.id).await?,
        threshold: threshold(circle.capacity, circle.grow_threshold),
        asking: growing::asking(conn, circle.id).await?.is_some(),
    };
    standing.letter().map(Some).map_err(wording)
}
