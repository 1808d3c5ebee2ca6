//! What a link in an email acts on, as far as membership goes: the circle its object belongs
//! to. One query per kind of link, so every link page can check that its member is still
//! active in that circle before it shows or does anything.

use diesel::sql_types::Uuid as SqlUuid;
use diesel::OptionalExtension;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::tokens::Purpose;
use crate::domain::CircleId;

/// The circle a link's object belongs to; `None` for links that act on no circle (the
/// personal page, unsubscribe, the calendar feed) and for a signup not yet confirmed, and
/// when the object no longer exists.
pub async fn circle_of(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    object: uuid::Uuid,
) -> diesel::QueryResult<Option<CircleId>> {
    let query = match purpose {
        Purpose::Rsvp
        | Purpose::Reflect
        | Purpose::Handoff
        | Purpose::Agenda
        | Purpose::Attendance => {
            "SELECT circle_id FROM sessions WHERE id = $1"
        }
        Purpose::Role => "SELECT circle_id FROM session_roles WHERE id = $1",
        Purpose::Swap => {
            "SELECT r.circle_id FROM swap_requests s JOIN session_roles r ON r.id = s.session_role_id \
             WHERE s.id = $1"
        }
        Purpose::Feedback => "SELECT circle_id FROM feedback_requests WHERE id = $1",
        Purpose::Consent => "SELECT circle_id FROM consent_rounds WHERE id = $1",
        Purpose::Grow => "SELECT circle_id FROM sibling_proposals WHERE id = $1",
        Purpose::Confirm | Purpose::Me | Purpose::Unsubscribe | Purpose::Calendar => {
            return Ok(None)
        }
    };
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        circle_id: uuid::Uuid,
    }
    Ok(diesel::sql_query(query)
        .bind::<SqlUuid, _>(object)
        .get_result::<Row>(conn)
        .await
        .optional()?
        .map(|r| CircleId(r.circle_id)))
}
