//! The one check every link page, and every action behind one, makes before it acts for
//! someone in a circle: they are still an active member of it. Kept apart from membership's
//! use cases (joining, leaving), which call the actions that call this.

use diesel_async::AsyncPgConnection;

use crate::db::memberships::{self, Membership};
use crate::domain::{CircleId, MemberId, MembershipState};
use crate::error::{AppError, AppResult};

/// What a link page says to someone who left the circle it acts in.
pub const NO_LONGER_A_MEMBER: &str =
    "You are no longer a member of this circle, so this link no longer works.";

/// That `member` is still active in `circle`. Their membership row stays share-locked until
/// the caller's transaction ends, so a leave cannot slip in between the check and the act.
/// Someone who left is told so (410); a stranger finds nothing (404).
pub async fn require(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> AppResult<Membership> {
    match memberships::lock_shared(conn, circle, member).await? {
        Some(m) if m.state == MembershipState::Active => Ok(m),
        Some(_) => Err(AppError::Gone(NO_LONGER_A_MEMBER.into())),
        None => Err(AppError::NotFound("membership")),
    }
}
