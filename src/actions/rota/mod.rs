//! Taking turns: planning who holds each rotating role of a circle's coming sessions, asking
//! them by email when a session comes within the circle's asking window, and what follows an
//! answer (accept confirms; a decline or an ask left unanswered moves the role to the next
//! person, who is asked at once). Organisers can assign a holder directly. The rule itself is
//! `domain::rota`; this module feeds it the circle's facts and writes what it says.
//!
//! Re-planning only ever rewrites slots that are proposed, open or declined: a holder who
//! accepted or was asked keeps the slot until they answer, leave the circle or say they will
//! not come.
//!
//! `plan` proposes holders, `asks` asks and records answers, `holders` covers holders set
//! from outside the rotation, `leads` orders who may lead, and `sweep` is the clock's part.

mod answers;
mod ask;
mod holders;
mod leads;
mod plan;
mod sweep;

pub use crate::domain::roles::Notice;
pub use answers::{accept, decline, Reply};
pub use holders::{assign, facilitator_set, lead_opens, release_leaver, LEAD_OPENS};
pub use leads::{leads_in_order, Lead};
pub use plan::{plan_in, ranked_for, replan, Planned};
pub use sweep::{organisers_of, sweep, tell_organisers_of_role, Swept, OPEN_WARNING};

use sha2::{Digest, Sha256};

use crate::db::circles::Circle;
use crate::db::roles::{RoleKind, FACILITATOR};
use crate::db::Connection;
use crate::domain::rota::RoleWords;
use crate::domain::{CircleId, Facilitation};
use crate::jobs::rota_plan;

/// Queue a re-plan when `circle` rotates (its roster changed); nothing for one that does not.
pub async fn changed(conn: &mut Connection, circle: &Circle) -> diesel::QueryResult<()> {
    if circle.facilitation == Facilitation::Rotating {
        rota_plan::enqueue(conn, circle.id).await?;
    }
    Ok(())
}

/// The seed of a circle's role draws (not its speaking order: `views::agenda::speaking_order_seed`), recorded on every slot it fills so a pick can be re-run.
pub fn role_draw_seed(circle: CircleId) -> u64 {
    let digest = Sha256::digest(format!("rota:{circle}").as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// How a role reads in a why-line.
pub fn words(kind: &RoleKind) -> RoleWords {
    RoleWords {
        done: if kind.key == FACILITATOR {
            "led".into()
        } else {
            format!("been {}", kind.name.to_lowercase())
        },
        min_attended: kind.min_attended.max(0) as u32,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A role kind of a circle, with the defaults the tests do not care about.
    pub(in crate::actions::rota) fn kind(key: &str, name: &str) -> RoleKind {
        RoleKind {
            circle_id: CircleId(uuid::Uuid::nil()),
            key: key.into(),
            name: name.into(),
            guide: String::new(),
            slots: 1,
            rotates: true,
            min_attended: 0,
            position: 0,
        }
    }

    #[test]
    fn a_facilitator_has_led_and_other_holders_have_been_their_role() {
        assert_eq!(words(&kind(FACILITATOR, "Facilitator")).done, "led");
        assert_eq!(
            words(&kind("timekeeper", "Timekeeper")).done,
            "been timekeeper"
        );
    }

    #[test]
    fn a_negative_attendance_threshold_reads_as_none() {
        let mut k = kind("scribe", "Scribe");
        k.min_attended = -3;
        assert_eq!(words(&k).min_attended, 0);
        k.min_attended = 4;
        assert_eq!(words(&k).min_attended, 4);
    }

    #[test]
    fn a_circle_always_draws_with_the_same_seed() {
        let a = CircleId(uuid::Uuid::from_u128(1));
        let b = CircleId(uuid::Uuid::from_u128(2));
        assert_eq!(role_draw_seed(a), role_draw_seed(a));
        assert_ne!(role_draw_seed(a), role_draw_seed(b));
    }
}
