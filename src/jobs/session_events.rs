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
use crate::db::sessions::Session;
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
pub fn invitation_at(circle: &Circle, session: &Session, now: DateTime<Utc>) -> DateTime<Utc> {
    match circle.invite_lead_days {
        0 => now,
        days => (session.starts_at - Duration::days(i64::from(days))).max(now),
    }
}

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
            invitation_at(circle, s, now),
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
            invitation_at(circle, session, now),
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
    diesel::sql_query(
        "UPDATE jobs j SET run_at = CASE WHEN $2 = 0 THEN now() \
                ELSE greatest(now(), s.starts_at - make_interval(days => $2)) END, \
              updated_at = now() \
         FROM sessions s \
         WHERE j.kind = $3 AND j.state = 'queued' AND j.payload->>'message' = 'invitation' \
           AND j.payload->>'session_id' = s.id::text AND s.circle_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.id.0)
    .bind::<diesel::sql_types::Integer, _>(circle.invite_lead_days)
    .bind::<diesel::sql_types::Text, _>(super::fanout::SESSION_KIND)
    .execute(conn)
    .await
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
