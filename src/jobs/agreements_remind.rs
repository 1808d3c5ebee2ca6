//! A day before an agreement's consent round closes, remind the active members who have not
//! answered. Queued when the round opens (unless it closes sooner); the reminder is a use
//! case, `actions::agreements::remind`, which the worker calls.
//!
//! The stored kind is `consent_remind`, as every earlier version wrote it: jobs already queued
//! (and their dedupe keys, `consent_remind:<round>`) must still run and still block a second
//! reminder.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::jobs::{self, NewJob};
use crate::db::Connection;
use crate::domain::RoundId;

/// The stored kind (see the module doc for why it says consent).
pub const KIND: &str = "consent_remind";

/// The payload: `{"round_id": ...}`, the same shape as `agreements_close`'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindJob {
    pub round_id: RoundId,
}

impl RemindJob {
    /// One reminder per round: `consent_remind:<round>`.
    pub fn dedupe_key(&self) -> String {
        format!("{KIND}:{}", self.round_id)
    }
}

/// Queue the reminder for `round` at `at`, in the caller's transaction.
pub async fn enqueue(
    conn: &mut Connection,
    round: RoundId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let remind = RemindJob { round_id: round };
    let job = NewJob {
        kind: KIND,
        payload: serde_json::to_value(&remind).expect("remind jobs serialise"),
        dedupe_key: Some(remind.dedupe_key()),
        run_at: at,
    };
    jobs::enqueue(conn, job).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_shape_stays_the_same() {
        let id = uuid::Uuid::from_u128(4);
        let remind = RemindJob {
            round_id: RoundId(id),
        };
        assert_eq!(
            serde_json::to_value(&remind).unwrap(),
            serde_json::json!({ "round_id": id })
        );
        assert_eq!(
            remind.dedupe_key(),
            "consent_remind:00000000-0000-0000-0000-000000000004"
        );
    }
}
