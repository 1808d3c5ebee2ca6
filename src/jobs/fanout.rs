//! Fan-out jobs: a session-level message becomes one email job per current member when it
//! runs (so people who joined since are included and people who left are not), and a new
//! member gets invitations to the circle's upcoming sessions.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::email::{versioned, EmailJob};
use super::queue::JobError;
use super::JobContext;
use crate::db::jobs::{self, NewJob};
use crate::db::schema::{memberships, sessions as sessions_t};
use crate::db::sessions::Session;
use crate::db::{circles, deliveries, sessions};
use crate::domain::{
    CircleId, MemberId, MembershipRole, MembershipState, SessionId, SessionStatus,
};
use crate::email::MessageKind;

pub const SESSION_KIND: &str = "session_fanout";
pub const MEMBER_KIND: &str = "member_invitations";

/// Upcoming sessions a new member is invited to at most.
const MAX_INVITATIONS: i64 = 52;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFanout {
    pub session_id: SessionId,
    pub message: MessageKind,
    pub sequence: i32,
}

impl SessionFanout {
    pub fn dedupe_key(&self) -> String {
        match self.message {
            MessageKind::SessionUpdate | MessageKind::SessionCancelled => {
                format!(
                    "fanout:{}:{}:{}",
                    self.message, self.session_id, self.sequence
                )
            }
            _ => super::email::fanout_key(self.message, self.session_id),
        }
    }

    pub fn into_job(self, run_at: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: SESSION_KIND,
            dedupe_key: Some(self.dedupe_key()),
            payload: serde_json::to_value(&self).expect("fan-out jobs serialise"),
            run_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInvitations {
    pub circle_id: CircleId,
    pub member_id: MemberId,
}

impl MemberInvitations {
    pub fn into_job(self) -> NewJob {
        NewJob {
            kind: MEMBER_KIND,
            dedupe_key: Some(format!("invitations:{}:{}", self.circle_id, self.member_id)),
            payload: serde_json::to_value(&self).expect("fan-out jobs serialise"),
            run_at: Utc::now(),
        }
    }
}

/// Of `members`, those whose invitation to `session` was delivered.
pub async fn invited_among(
    conn: &mut AsyncPgConnection,
    session: &Session,
    members: &[MemberId],
) -> diesel::QueryResult<std::collections::HashSet<MemberId>> {
    let key = |member: MemberId| {
        EmailJob::session(
            MessageKind::Invitation,
            member,
            session.circle_id,
            session.id,
            None,
        )
        .dedupe_key()
    };
    let keys: Vec<String> = members.iter().map(|m| key(*m)).collect();
    let delivered: std::collections::HashSet<String> = deliveries::delivered_among(conn, &keys)
        .await?
        .into_iter()
        .collect();
    Ok(members
        .iter()
        .copied()
        .filter(|m| delivered.contains(&key(*m)))
        .collect())
}

/// How many active members a cancellation or change of `session` would reach now.
pub async fn invited_count(
    conn: &mut AsyncPgConnection,
    session: &Session,
) -> diesel::QueryResult<usize> {
    let members: Vec<MemberId> = memberships::table
        .filter(memberships::circle_id.eq(session.circle_id))
        .filter(memberships::state.eq(MembershipState::Active))
        .select(memberships::member_id)
        .load(conn)
        .await?;
    Ok(invited_among(conn, session, &members).await?.len())
}

pub async fn run_session(ctx: &JobContext, fanout: SessionFanout) -> Result<(), JobError> {
    let mut conn = ctx.pool.get().await?;
    let Some(session) = sessions::find(&mut conn, fanout.session_id).await? else {
        return Ok(());
    };
    let now = Utc::now();
    let message = fanout.message;
    let obsolete = (message != MessageKind::SessionCancelled
        && session.status == SessionStatus::Cancelled)
        || (message == MessageKind::SessionUpdate && session.ics_sequence != fanout.sequence)
        || (message == MessageKind::Reminder && session.starts_at <= now);
    if obsolete {
        return Ok(());
    }
    if message == MessageKind::ReflectionPrompt {
        // Feedback for whoever held a role and asked for it opens with the prompt, and the
        // prompt carries its forms.
        if let Some(circle) = circles::find(&mut conn, session.circle_id).await? {
            crate::db::feedback::open_for_session(
                &mut conn,
                session.id,
                circle.feedback_min_answers,
                crate::domain::clock::end_of_day(
                    now + chrono::Duration::days(crate::domain::feedback::OPEN_DAYS),
                    circle.timezone.tz(),
                ),
            )
            .await?;
        }
    }
    let mut members: Vec<(MemberId, MembershipRole)> = memberships::table
        .filter(memberships::circle_id.eq(session.circle_id))
        .filter(memberships::state.eq(MembershipState::Active))
        .select((memberships::member_id, memberships::role))
        .load(&mut conn)
        .await?;
    let email = |message: MessageKind, member: MemberId| {
        EmailJob::session(
            message,
            member,
            session.circle_id,
            session.id,
            versioned(message).then_some(session.ics_sequence),
        )
    };
    if matches!(
        message,
        MessageKind::SessionUpdate | MessageKind::SessionCancelled
    ) {
        // A change is news only to people whose calendar has the session: those whose
        // invitation went out. Everyone else's invitation, when it comes, is already current.
        let ids: Vec<MemberId> = members.iter().map(|(m, _)| *m).collect();
        let invited = invited_among(&mut conn, &session, &ids).await?;
        members.retain(|(m, _)| invited.contains(m));
    }
    // Whoever hosts (the circle's facilitators and the session's) gets the digest of who is
    // coming instead of the reminder: one letter that is both.
    let mut hosts: Vec<MemberId> = Vec::new();
    if message == MessageKind::Reminder {
        hosts = members
            .iter()
            .filter(|(_, role)| *role == MembershipRole::Facilitator)
            .map(|(m, _)| *m)
            .collect();
        if let Some(host) = session.facilitator_id {
            if !hosts.contains(&host) && members.iter().any(|(m, _)| *m == host) {
                hosts.push(host);
            }
        }
    }
    let mut batch: Vec<NewJob> = members
        .iter()
        .filter(|(member, _)| !hosts.contains(member))
        .map(|(member, _)| email(message, *member).into_job(now))
        .collect();
    batch.extend(
        hosts
            .into_iter()
            .map(|h| email(MessageKind::FacilitatorDigest, h).into_job(now)),
    );
    jobs::enqueue_many(&mut conn, batch).await?;
    Ok(())
}

/// Someone just got a seat: the invitation to the next session at once, and to any later
/// session whose invitation has already gone out to the others (all upcoming ones when the
/// circle sends every invitation as soon as it is scheduled). The rest arrive with everyone
/// else's, `invite_lead_days` before each session.
pub async fn run_member(ctx: &JobContext, invite: MemberInvitations) -> Result<(), JobError> {
    let mut conn = ctx.pool.get().await?;
    let now = Utc::now();
    let Some(circle) = circles::find(&mut conn, invite.circle_id).await? else {
        return Ok(());
    };
    let upcoming: Vec<(SessionId, DateTime<Utc>)> = sessions_t::table
        .filter(sessions_t::circle_id.eq(invite.circle_id))
        .filter(sessions_t::status.eq(SessionStatus::Scheduled))
        .filter(sessions_t::starts_at.gt(now))
        .order(sessions_t::starts_at)
        .limit(MAX_INVITATIONS)
        .select((sessions_t::id, sessions_t::starts_at))
        .load(&mut conn)
        .await?;
    let all_at_once = circle.invite_lead_days == 0;
    let lead = chrono::Duration::days(i64::from(circle.invite_lead_days));
    let batch = upcoming
        .into_iter()
        .enumerate()
        .filter(|(i, (_, starts))| all_at_once || *i == 0 || *starts - lead <= now)
        .map(|(_, (session, _))| {
            EmailJob::session(
                MessageKind::Invitation,
                invite.member_id,
                invite.circle_id,
                session,
                None,
            )
            .into_job(now)
        })
        .collect();
    jobs::enqueue_many(&mut conn, batch).await?;
    Ok(())
}
