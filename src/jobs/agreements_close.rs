//! Close an agreement's consent round at its close time. Queued when the round opens; the
//! close (count the answers, adopt or not, mail the outcome) is a use case,
//! `actions::agreements::close`, which the worker calls.
//!
//! The stored kind is `consent_close`, as every earlier version wrote it: jobs already queued
//! (and their dedupe keys, `consent_close:<round>`) must still run and still block a second
//! close.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::jobs::{self, NewJob};
use crate::db::Connection;
use crate::domain::RoundId;

/// The stored kind (see the module doc for why it says consent).
pub const KIND: &str = "consent_close";

/// The payload: `{"round_id": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseJob {
    pub round_id: RoundId,
}

impl CloseJob {
    /// One close per round: `consent_close:<round>`.
    pub fn dedupe_key(&self) -> String {
        format!("{KIND}:{}", self.round_id)
    }
}

/// Queue the close of `round` at `at`, in the caller's transaction.
pub async fn enqueue(
    conn: &mut Connection,
    round: RoundId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let close = CloseJob { round_id: round };
    let job = NewJob {
        kind: KIND,
        payload: serde_json::to_value(&close).expect("close jobs serialise"),
        dedupe_key: Some(close.dedupe_key()),
        run_at: at,
    };
    jobs::enqueue(conn, job).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_shape_stays_the_same() {
        let id = uuid::Uuid::from_u128(3);
        let close = CloseJob {
            round_id: RoundId(id),
        };
        assert_eq!(
            serde_json::to_value(&close).unwrap(),
            serde_json::json!({ "round_id": id })
        );
        assert_eq!(
            close.dedupe_key(),
            "consent_close:00000000-0000-0000-0000-000000000003"
        );
    }
}
