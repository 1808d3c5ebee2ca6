//! Taking turns across several circles at once: the role kinds and one member's rotation
//! preferences in each, one query apiece however many circles (a member's page). The
//! single-circle queries are in `kinds` and `prefs`.

use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{RoleKind, RotationPrefs};
use crate::db::schema::{role_kinds, rotation_prefs};
use crate::domain::{CircleId, MemberId};

/// The role kinds of every circle in `circles`, each circle's in its own order.
pub async fn kinds_of(
    conn: &mut AsyncPgConnection,
    circles: &[CircleId],
) -> diesel::QueryResult<Vec<RoleKind>> {
    role_kinds::table
        .filter(role_kinds::circle_id.eq_any(circles))
        .order((role_kinds::circle_id, role_kinds::position, role_kinds::key))
        .select(RoleKind::as_select())
        .load(conn)
        .await
}

/// The preferences `member` saved in any of `circles` (a circle with none saved is absent:
/// `RotationPrefs::default_for` stands in for it).
pub async fn prefs_of(
    conn: &mut AsyncPgConnection,
    circles: &[CircleId],
    member: MemberId,
) -> diesel::QueryResult<Vec<RotationPrefs>> {
    rotation_prefs::table
        .filter(rotation_prefs::circle_id.eq_any(circles))
        .filter(rotation_prefs::member_id.eq(member))
        .select(RotationPrefs::as_select())
        .load(conn)
        .await
}
