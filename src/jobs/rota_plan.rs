//! `rota_plan`: re-plan one rotating circle. Queued by changes the planner must see (RSVPs,
//! joins, departures); many requests while one waits become one run. The planning itself is a
//! use case, `actions::rota::replan`, which the worker calls.

use serde::{Deserialize, Serialize};

use crate::db::jobs::{self, NewJob};
use crate::db::Connection;
use crate::domain::CircleId;

/// The stored kind.
pub const KIND: &str = "rota_plan";

/// The payload: `{"circle_id": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanJob {
    pub circle_id: CircleId,
}

impl PlanJob {
    /// One re-plan per circle while one waits: `rota_plan:<circle>`.
    pub fn dedupe_key(&self) -> String {
        format!("{KIND}:{}", self.circle_id)
    }
}

/// Queue a re-plan of `circle` in the caller's transaction.
pub async fn enqueue(conn: &mut Connection, circle: CircleId) -> diesel::QueryResult<()> {
    let plan = PlanJob { circle_id: circle };
    let job = NewJob::now(
        KIND,
        serde_json::to_value(&plan).expect("plan jobs serialise"),
        plan.dedupe_key(),
    );
    jobs::enqueue(conn, job).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_shape_stays_the_same() {
        let id = uuid::Uuid::from_u128(7);
        let plan = PlanJob {
            circle_id: CircleId(id),
        };
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            serde_json::json!({ "circle_id": id })
        );
        assert_eq!(plan.dedupe_key(), format!("rota_plan:{id}"));
    }
}
