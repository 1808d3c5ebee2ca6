//! The one access rule for running a circle, whoever asks (an API caller with a token, a
//! signed-in dashboard user): organisers run every circle, facilitators the circles they
//! facilitate. A circle someone may not run reads as not found, so ids reveal nothing.

use crate::db::circles::{self, Circle};
use crate::db::Connection;
use crate::domain::{CircleId, MemberId};

/// Who asks to run a circle.
#[derive(Debug, Clone, Copy)]
pub struct Runner {
    pub member: MemberId,
    pub organiser: bool,
}

impl Runner {
    /// Whether they may run circle `id`.
    pub async fn may_run(self, conn: &mut Connection, id: CircleId) -> diesel::QueryResult<bool> {
        Ok(self.organiser || circles::is_facilitator(conn, id, self.member).await?)
    }

    /// Circle `id`, when it exists and they may run it.
    pub async fn circle(
        self,
        conn: &mut Connection,
        id: CircleId,
    ) -> diesel::QueryResult<Option<Circle>> {
        let Some(circle) = circles::find(conn, id).await? else {
            return Ok(None);
        };
        Ok(self.may_run(conn, id).await?.then_some(circle))
    }
}
