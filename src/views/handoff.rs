//! The handoff note a role holder may read before a session: the role's email and the role
//! page show it.

use diesel_async::AsyncPgConnection;

use crate::db::{handoffs, roles, sessions};
use crate::domain::{CircleId, HandoffVisibility};
use crate::email::messages::HandoffView;

/// The note the previous lead left, if the holder of `role_key` in `session` may read it:
/// the next lead always, other role holders when the author shared it with them.
pub async fn handoff_for(
    conn: &mut AsyncPgConnection,
    session: &sessions::Session,
    circle: CircleId,
    role_key: &str,
) -> diesel::QueryResult<Option<HandoffView>> {
    let Some((note, author)) = handoffs::latest_before(conn, circle, session.starts_at).await?
    else {
        return Ok(None);
    };
    let allowed = match note.visibility() {
        HandoffVisibility::NextLead => role_key == roles::FACILITATOR,
        HandoffVisibility::RoleHolders | HandoffVisibility::Circle => true,
    };
    let parts = note.parts();
    if !allowed || parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(HandoffView {
        author: author.unwrap_or_else(|| "The previous lead".into()),
        parts,
    }))
}
