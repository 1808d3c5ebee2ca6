//! A circle whose waitlist just grew is looked at again soon: a `grow_check` job (one per
//! circle while one waits) runs `actions::growing::check`, so a sibling is proposed the moment
//! the waitlist reaches its threshold rather than at the next sweep.

use crate::db::jobs::{self, NewJob};
use crate::db::Connection;
use crate::domain::CircleId;

/// The job that checks one circle's waitlist against its threshold.
pub const KIND: &str = "grow_check";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CheckJob {
    pub circle_id: CircleId,
}

/// Queue a check of `circle` in the caller's transaction.
pub async fn request(conn: &mut Connection, circle: CircleId) -> diesel::QueryResult<()> {
    let job = NewJob::now(
        KIND,
        serde_json::to_value(CheckJob { circle_id: circle }).expect("check jobs serialise"),
        format!("{KIND}:{circle}"),
    );
    jobs::enqueue(conn, job).await.map(drop)
}
