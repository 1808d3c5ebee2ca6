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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MembershipRole, MembershipState, RoleState};
    use crate::testkit as kit;

    #[tokio::test]
    async fn those_who_led_often_enough_and_take_part_may_lead_fewest_turns_first() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let cy = kit::seated(conn, &circle, "Cy").await;
        let dee = kit::seated(conn, &circle, "Dee").await;
        let eve = kit::seated(conn, &circle, "Eve").await;
        // Nine past sessions: Bo led three, Ada, Dee and Eve two each, Cy one.
        let past = kit::session().in_days(-64).weekly(conn, &circle, 10).await;
        let turns = [&bo, &bo, &bo, &ada, &ada, &dee, &dee, &eve, &eve, &cy];
        for (session, who) in past.iter().zip(turns) {
            kit::slot(
                conn,
                session,
                FACILITATOR,
                Some(who.id),
                RoleState::Confirmed,
            )
            .await;
        }
        let mut prefs = roles::prefs(conn, circle.id, dee.id).await.unwrap();
        prefs.opted_out_roles = vec![FACILITATOR.into()];
        roles::set_prefs(conn, &prefs).await.unwrap();
        let left = MembershipState::Left;
        kit::join(conn, &circle, eve.id, MembershipRole::Member, left).await;

        let leads = leads_in_order(conn, &circle, 2, Utc::now()).await.unwrap();

        let order: Vec<_> = leads.iter().map(|l| (l.member, l.led)).collect();
        assert_eq!(order, [(ada.id, 2), (bo.id, 3)]);
    }
}
