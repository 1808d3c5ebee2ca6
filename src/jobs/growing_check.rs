//! `grow_check`: a circle whose waitlist just grew is looked at again soon (one job per circle
//! while one waits), so a sibling is proposed the moment the waitlist reaches its threshold
//! rather than at the clock's next tick. The check is a use case, `actions::growing::check`,
//! which the worker calls.

use serde::{Deserialize, Serialize};

use crate::db::jobs::{self, NewJob};
use crate::db::Connection;
use crate::domain::CircleId;

/// The stored kind.
pub const KIND: &str = "grow_check";

/// The payload: `{"circle_id": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckJob {
    pub circle_id: CircleId,
}

impl CheckJob {
    /// One check per circle while one waits: `grow_check:<circle>`.
    pub fn dedupe_key(&self) -> String {
        format!("{KIND}:{}", self.circle_id)
    }
}

/// Queue a check of `circle` in the caller's transaction.
pub async fn enqueue(conn: &mut Connection, circle: CircleId) -> diesel::QueryResult<()> {
    let check = CheckJob { circle_id: circle };
    let job = NewJob::now(
        KIND,
        serde_json::to_value(&check).expect("check jobs serialise"),
        check.dedupe_key(),
    );
    jobs::enqueue(conn, job).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_shape_stays_the_same() {
        let id = uuid::Uuid::from_u128(9);
        let check = CheckJob {
            circle_id: CircleId(id),
        };
        assert_eq!(
            serde_json::to_value(&check).unwrap(),
            serde_json::json!({ "circle_id": id })
        );
        assert_eq!(check.dedupe_key(), format!("grow_check:{id}"));
    }
}
