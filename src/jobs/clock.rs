//! The clock: one job that wakes every [`EVERY`] and does the periodic work of every feature
//! that acts on time rather than on a request ([`TASKS`], in the order each tick runs them).
//! Each tick queues the next, so there is one chain of ticks; a worker starting up starts the
//! chain when none is waiting ([`start`]).
//!
//! The stored kind is `rota_sweep`, its name from when only the rota used it. It stays so
//! because ticks queued by an older version (and their dedupe keys, `rota_sweep:<slot>`) must
//! still run and still block a second chain. The payload is `{}`.
//!
//! What each task does is a use case in `actions/` (or `jobs::agenda`); the worker runs them,
//! since `jobs/` does not import `actions/`.

use chrono::{DateTime, Duration, Utc};

use crate::db::jobs::{self, NewJob};
use crate::db::Connection;

/// The stored kind (see the module doc for why it names the rota).
pub const KIND: &str = "rota_sweep";
/// How often the clock ticks.
pub const EVERY: Duration = Duration::minutes(5);

/// One periodic task of the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Rota: ask proposed holders whose session entered the circle's asking window, treat
    /// asks unanswered past the circle's answer time as declines, and warn organisers of roles
    /// still open 48 hours before their session (`actions::rota::sweep`).
    RotaAsks,
    /// Agendas: freeze the talking-piece order of sessions starting within two hours
    /// (`jobs::agenda::freeze_due`).
    FreezeAgendas,
    /// Consent: close rounds whose close was missed and open the reviews that are due
    /// (`actions::agreements::sweep`).
    ConsentRounds,
    /// Feedback: write out the held answers of feedback that closed and tell each lead
    /// (`actions::feedback::send_due`).
    FeedbackCloses,
    /// Swaps: widen swap offers nobody took within a day to the next people
    /// (`actions::swaps::widen_stale`).
    WidenSwaps,
    /// Growing: pass sibling-lead asks that lapsed to the next person, propose a sibling for
    /// each circle whose waitlist reached its threshold, and tell people waiting where they
    /// stand when they have not heard for three weeks (`actions::growing::sweep`).
    Growing,
    /// Questions: ask discussion leads for their questions five days ahead
    /// (`actions::questions::ask_due`).
    Questions,
    /// Signups: delete those nobody confirmed within `limits.unconfirmed_signup_days`
    /// (`actions::membership::purge_unconfirmed`).
    UnconfirmedSignups,
    /// Dashboard: mark the circles that need attention, which its front page lists first
    /// (`db::dashboard::refresh_attention`). Last, so it sees what the other tasks did.
    Attention,
}

/// A task and how often it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periodic {
    pub task: Task,
    pub every: Duration,
}

/// Every periodic task, in the order a tick runs them. Each runs on every tick; a task whose
/// work is due only near an event (a session's start, a round's close) finds it by time.
pub const TASKS: [Periodic; 9] = [
    Periodic {
        task: Task::RotaAsks,
        every: EVERY,
    },
    Periodic {
        task: Task::FreezeAgendas,
        every: EVERY,
    },
    Periodic {
        task: Task::ConsentRounds,
        every: EVERY,
    },
    Periodic {
        task: Task::FeedbackCloses,
        every: EVERY,
    },
    Periodic {
        task: Task::WidenSwaps,
        every: EVERY,
    },
    Periodic {
        task: Task::Growing,
        every: EVERY,
    },
    Periodic {
        task: Task::Questions,
        every: EVERY,
    },
    Periodic {
        task: Task::UnconfirmedSignups,
        every: EVERY,
    },
    Periodic {
        task: Task::Attention,
        every: EVERY,
    },
];

/// The dedupe key of a tick at `at`: it names the `EVERY` slot the tick falls in, so the tick
/// that is running (an earlier slot) never blocks queueing its successor, while workers
/// starting side by side queue one tick between them.
pub fn dedupe_key(at: DateTime<Utc>) -> String {
    let slot = at.timestamp().div_euclid(EVERY.num_seconds());
    format!("{KIND}:{slot}")
}

/// Queue a tick to run at `at`.
pub async fn schedule(conn: &mut Connection, at: DateTime<Utc>) -> diesel::QueryResult<()> {
    jobs::enqueue(
        conn,
        NewJob {
            kind: KIND,
            payload: serde_json::json!({}),
            dedupe_key: Some(dedupe_key(at)),
            run_at: at,
        },
    )
    .await
    .map(drop)
}

/// Start the clock when no tick is waiting or running (a worker starting up): one chain of
/// ticks however often workers restart.
pub async fn start(conn: &mut Connection, now: DateTime<Utc>) -> diesel::QueryResult<()> {
    if jobs::pending_of_kind(conn, KIND).await? == 0 {
        schedule(conn, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_tick_is_keyed_by_its_five_minute_slot() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 10, 7, 30).unwrap();
        let slot = at.timestamp() / 300;
        assert_eq!(dedupe_key(at), format!("rota_sweep:{slot}"));
        assert_eq!(dedupe_key(at + Duration::minutes(2)), dedupe_key(at));
        assert_ne!(dedupe_key(at + EVERY), dedupe_key(at));
    }

    #[test]
    fn every_task_runs_on_every_tick_once() {
        // The tick runs the whole list; a task with another interval would need its own
        // schedule, which the clock does not have.
        assert!(TASKS.iter().all(|p| p.every == EVERY));
        for (i, p) in TASKS.iter().enumerate() {
            assert!(TASKS[i + 1..].iter().all(|q| q.task != p.task));
        }
    }
}
