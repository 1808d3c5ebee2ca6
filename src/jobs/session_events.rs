//! The mail that session changes cause, queued in the transaction of the change: invitations,
//! reminders and reflection prompts for new sessions; updates for edits, which also move the
//! pending reminder and prompt; cancellations, which drop everything still pending.

use chrono::{DateTime, Duration, Utc};
use diesel::{ExpressionMethods, PgAnyJsonExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::fanout::SessionFanout;
use crate::db::circles::Circle;
use crate::db::jobs::{self, NewJob};
use crate::db::schema::jobs as jobs_t;
use crate::db::sessions::{self, Session};
use crate::domain::JobState;
use crate::email::MessageKind;

fn fanout(session: &Session, message: MessageKind, run_at: DateTime<Utc>) -> NewJob {
    SessionFanout {
        session_id: session.id,
        message,
        sequence: session.ics_sequence,
    }
    .into_job(run_at)
}

/// When the reminder goes out: `reminder_offset` before the start, or now if that has passed;
/// none once the session has started.
pub fn reminder_at(
    circle: &Circle,
    session: &Session,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    (session.starts_at > now).then(|| {
        (session.starts_at - Duration::minutes(i64::from(circle.reminder_offset_minutes))).max(now)
    })
}

/// When a session's invitation goes out: `invite_lead_days` before it, or now if that time
/// has passed or the circle sends every invitation as soon as a session is scheduled (0).
/// A time that falls while the circle's previous session is on (from an hour before it
/// until its reflection prompt) moves to just after that prompt, which then carries it: in a
/// weekly circle, next week's invitation is part of this week's "How was Thursday?" letter
/// and never arrives during the session. It never moves past the session's own reminder.
pub async fn invitation_at(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    session: &Session,
    now: DateTime<Utc>,
) -> diesel::QueryResult<DateTime<Utc>> {
    let days = match circle.invite_lead_days {
        0 => return Ok(now),
        days => i64::from(days),
    };
    let at = session.starts_at - Duration::days(days);
    let moved = match sessions::previous(conn, session).await? {
        Some(p) => {
            let after_prompt = reflection_at(circle, &p) + AFTER_PROMPT;
            let on = p.starts_at - Duration::hours(1) <= at && at < after_prompt;
            let before_reminder =
                session.starts_at - Duration::minutes(i64::from(circle.reminder_offset_minutes));
            if on && after_prompt < before_reminder {
                after_prompt
            } else {
                at
            }
        }
        None => at,
    };
    Ok(moved.max(now))
}

/// How long after a session's reflection prompt the next session's invitation is due when it
/// rides with the prompt: enough for the prompt to go first.
const AFTER_PROMPT: Duration = Duration::minutes(5);

/// When the reflection prompt goes out: `reflection_delay` after the end.
pub fn reflection_at(circle: &Circle, session: &Session) -> DateTime<Utc> {
    session.ends_at + Duration::minutes(i64::from(circle.reflection_delay_minutes))
}

fn timed_jobs(circle: &Circle, session: &Session, now: DateTime<Utc>) -> Vec<NewJob> {
    let mut out = Vec::new();
    if let Some(at) = reminder_at(circle, session, now) {
        out.push(fanout(session, MessageKind::Reminder, at));
    }
    out.push(fanout(
        session,
        MessageKind::ReflectionPrompt,
        reflection_at(circle, session),
    ));
    out
}

fn timed_keys(session: &Session) -> Vec<String> {
    [MessageKind::Reminder, MessageKind::ReflectionPrompt]
        .into_iter()
        .map(|message| {
            SessionFanout {
                session_id: session.id,
                message,
                sequence: session.ics_sequence,
            }
            .dedupe_key()
        })
        .collect()
}

fn invitation_key(session: &Session) -> String {
    SessionFanout {
        session_id: session.id,
        message: MessageKind::Invitation,
        sequence: session.ics_sequence,
    }
    .dedupe_key()
}

/// New sessions: invite the members `invite_lead_days` before each one, remind and prompt
/// them later. Sessions that are already over (a facilitator recording history) send nothing.
pub async fn sessions_created(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    sessions: &[Session],
) -> diesel::QueryResult<()> {
    let now = Utc::now();
    let mut batch = Vec::new();
    for s in sessions.iter().filter(|s| s.ends_at > now) {
        batch.push(fanout(
            s,
            MessageKind::Invitation,
            invitation_at(conn, circle, s, now).await?,
        ));
        batch.extend(timed_jobs(circle, s, now));
    }
    jobs::enqueue_many(conn, batch).await.map(drop)
}

/// An edited session: tell whoever was invited already, and move the pending reminder, prompt
/// and (when it has not gone out yet) invitation to the new time.
pub async fn session_changed(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
    session: &Session,
) -> diesel::QueryResult<()> {
    let now = Utc::now();
    let mut keys = timed_keys(session);
    keys.push(invitation_key(session));
    let waiting = jobs::delete_queued(conn, &keys).await?;
    if session.ends_at <= now {
        return Ok(());
    }
    let mut batch = vec![fanout(session, MessageKind::SessionUpdate, now)];
    if waiting.contains(&invitation_key(session)) {
        batch.push(fanout(
            session,
            MessageKind::Invitation,
            invitation_at(conn, circle, session, now).await?,
        ));
    }
    batch.extend(timed_jobs(circle, session, now));
    jobs::enqueue_many(conn, batch).await.map(drop)
}

/// The circle's invitation lead changed: its invitations still waiting move to the new time.
pub async fn invitation_lead_changed(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
) -> diesel::QueryResult<usize> {
    let now = Utc::now();
    let coming = sessions::upcoming(conn, circle.id, now, 10_000).await?;
    let keys: Vec<String> = coming.iter().map(invitation_key).collect();
    let waiting: Vec<(crate::domain::JobId, Option<String>)> = jobs_t::table
        .filter(jobs_t::dedupe_key.eq_any(&keys))
        .filter(jobs_t::state.eq(JobState::Queued))
        .select((jobs_t::id, jobs_t::dedupe_key))
        .load(conn)
        .await?;
    let mut moved = 0;
    for (job, key) in waiting {
        let Some(session) = coming.iter().find(|s| Some(invitation_key(s)) == key) else {
            continue;
        };
        let at = invitation_at(conn, circle, session, now).await?;
        moved += diesel::update(jobs_t::table.find(job))
            .set((jobs_t::run_at.eq(at), jobs_t::updated_at.eq(now)))
            .execute(conn)
            .await?;
    }
    Ok(moved)
}

/// A cancelled session: drop its pending mail and tell the members.
pub async fn session_cancelled(
    conn: &mut AsyncPgConnection,
    session: &Session,
) -> diesel::QueryResult<()> {
    let now = Utc::now();
    let id = session.id.to_string();
    diesel::delete(
        jobs_t::table
            .filter(jobs_t::state.eq(JobState::Queued))
            .filter(jobs_t::payload.retrieve_as_text("session_id").eq(&id))
            .filter(jobs_t::kind.eq_any([super::email::KIND, super::fanout::SESSION_KIND])),
    )
    .execute(conn)
    .await?;
    if session.ends_at > now {
        jobs::enqueue_many(
            conn,
            vec![fanout(session, MessageKind::SessionCancelled, now)],
        )
        .await?;
    }
    Ok(())
}
