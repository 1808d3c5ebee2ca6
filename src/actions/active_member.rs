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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MembershipRole;
    use crate::testkit as kit;

    #[tokio::test]
    async fn only_an_active_member_may_act_for_a_circle() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let (role, left) = (MembershipRole::Member, MembershipState::Left);
        kit::join(conn, &circle, bo.id, role, left).await;
        let stranger = kit::member(conn, "Cy").await;

        let active = require(conn, circle.id, ada.id).await.unwrap();
        assert_eq!(active.member_id, ada.id);
        let gone = require(conn, circle.id, bo.id).await;
        assert!(matches!(gone, Err(AppError::Gone(m)) if m == NO_LONGER_A_MEMBER));
        let unknown = require(conn, circle.id, stranger.id).await;
        assert!(matches!(unknown, Err(AppError::NotFound(_))));
    }
}
