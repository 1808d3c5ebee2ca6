//! Who may lead: the members who led a circle often enough, in the rotation's order (growing
//! a sibling asks them one at a time).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::circles::Circle;
use crate::db::roles::{self, FACILITATOR};
use crate::db::Connection;
use crate::domain::rota::{self, Candidate, RoleWords, Slot};
use crate::domain::{MemberId, SessionId};
use crate::error::AppResult;

use super::role_draw_seed;

/// Someone who may lead: a member of the circle who led it often enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub member: MemberId,
    pub name: String,
    /// Sessions of the circle they led.
    pub led: u32,
}

/// The circle's active members who led it at least `min_led` times and take part (opted in,
/// not paused, not opted out of leading), best first by the rotation's order: the largest
/// shortfall against a fair share of leading (counting roles held in other circles), then
/// who led least recently, then the circle's seeded draw.
pub async fn leads_in_order(
    conn: &mut Connection,
    circle: &Circle,
    min_led: u32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Lead>> {
    let members = roles::planner_members(conn, circle.id, now).await?;
    let led: HashMap<MemberId, (u32, DateTime<Utc>)> = roles::held(conn, circle.id, None, now)
        .await?
        .into_iter()
        .filter(|h| h.role_key == FACILITATOR)
        .map(|h| (MemberId(h.member_id), (h.count.max(0) as u32, h.last_at)))
        .collect();
    let today = now.date_naive();
    let people: Vec<Candidate> = members
        .iter()
        .filter(|m| m.opted_in && !m.opted_out_roles.iter().any(|r| r == FACILITATOR))
        .filter(|m| m.paused_until.is_none_or(|until| until <= today))
        .filter_map(|m| {
            let id = MemberId(m.member_id);
            let (held, last) = led.get(&id).copied()?;
            (held >= min_led).then(|| Candidate {
                member: id,
                name: m.display_name.clone(),
                weight: m.weight.max(1) as u32,
                attended: m.attended.max(0) as u32,
                held,
                last_held: Some(last),
                elsewhere: m.elsewhere.max(0) as u32,
            })
        })
        .collect();
    let slot = Slot {
        session: SessionId(circle.id.0),
        starts_at: now,
        confirmed: None,
        excluded: Vec::new(),
    };
    let order = rota::rank(
        &RoleWords::facilitator(),
        &people,
        &slot,
        role_draw_seed(circle.id),
    );
    Ok(order
        .into_iter()
        .filter_map(|id| people.iter().find(|c| c.member == id))
        .map(|c| Lead {
            member: c.member,
            name: c.name.clone(),
            led: c.held,
        })
        .collect())
}
