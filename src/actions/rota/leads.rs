//! Who may lead: the members who led a circle often enough (`domain::growing::Seasoned`), in
//! the rotation's order (growing a sibling asks them one at a time).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::circles::Circle;
use crate::db::roles::{self, FACILITATOR};
use crate::db::Connection;
use crate::domain::growing::Seasoned;
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
    /// Sessions of the circle they came to (marked as attending).
    pub attended: u32,
}

/// Who may lead a circle's sibling, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leads {
    /// Led twice, or (when nobody who takes part did) led once and came three times.
    pub rule: Seasoned,
    /// Best first.
    pub people: Vec<Lead>,
}

/// The circle's active members who take part in leading (opted in, not paused, not opted out
/// of leading) and led it often enough: at least twice, or, when none of them has, once with
/// three sessions attended. Best first by the rotation's order: the largest shortfall against
/// a fair share of leading (counting roles held in other circles), then who led least
/// recently, then the circle's seeded draw.
pub async fn leads_in_order(
    conn: &mut Connection,
    circle: &Circle,
    now: DateTime<Utc>,
) -> AppResult<Leads> {
    let members = roles::planner_members(conn, circle.id, now).await?;
    let led: HashMap<MemberId, (u32, DateTime<Utc>)> = roles::held(conn, circle.id, None, now)
        .await?
        .into_iter()
        .filter(|h| h.role_key == FACILITATOR)
        .map(|h| (MemberId(h.member_id), (h.count.max(0) as u32, h.last_at)))
        .collect();
    let today = now.date_naive();
    let taking_part: Vec<Candidate> = members
        .iter()
        .filter(|m| m.opted_in && !m.opted_out_roles.iter().any(|r| r == FACILITATOR))
        .filter(|m| m.paused_until.is_none_or(|until| until <= today))
        .filter_map(|m| {
            let id = MemberId(m.member_id);
            let (held, last) = led.get(&id).copied()?;
            Some(Candidate {
                member: id,
                name: m.display_name.clone(),
                weight: m.weight.max(1) as u32,
                attended: m.attended.max(0) as u32,
                held,
                last_held: Some(last),
                elsewhere: m.elsewhere.max(0) as u32,
                lead: m.lead,
            })
        })
        .collect();
    let rule = Seasoned::of(taking_part.iter().map(|c| (c.held, c.attended)));
    // Ranked among those the rule admits only: a fair share is a share among them.
    let people: Vec<Candidate> = taking_part
        .into_iter()
        .filter(|c| rule.admits(c.held, c.attended))
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
    let people = order
        .into_iter()
        .filter_map(|id| people.iter().find(|c| c.member == id))
        .map(|c| Lead {
            member: c.member,
            name: c.name.clone(),
            led: c.held,
            attended: c.attended,
        })
        .collect();
    Ok(Leads { rule, people })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::members::Member;
    use crate::db::rsvps;
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

        let leads = leads_in_order(conn, &circle, Utc::now()).await.unwrap();

        assert_eq!(leads.rule, Seasoned::LedTwice);
        let order: Vec<_> = leads.people.iter().map(|l| (l.member, l.led)).collect();
        assert_eq!(order, [(ada.id, 2), (bo.id, 3)]);
    }

    #[tokio::test]
    async fn when_nobody_led_twice_who_led_once_and_came_three_times_may_lead() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(6).create(conn).await;
        let names = ["Ada", "Bo", "Cy", "Dee", "Eve", "Fay"];
        let mut six = Vec::new();
        for name in names {
            six.push(kit::seated(conn, &circle, name).await);
        }
        let quiet = kit::seated(conn, &circle, "Gus").await;
        // A fair rotation of six sessions: each of the six led one. Gus led none.
        let past = kit::session().in_days(-43).weekly(conn, &circle, 6).await;
        for (session, who) in past.iter().zip(&six) {
            let lead = Some(who.id);
            kit::slot(conn, session, FACILITATOR, lead, RoleState::Confirmed).await;
        }
        // Marked as attending: Ada, Bo and Dee every time, Cy twice, Eve and Fay once (the
        // session each led), and Gus, who never led, every time.
        let came: [(&Member, usize); 7] = [
            (&six[0], 6),
            (&six[1], 6),
            (&six[2], 2),
            (&six[3], 6),
            (&six[4], 0),
            (&six[5], 0),
            (&quiet, 6),
        ];
        for (who, times) in came {
            for session in &past[..times] {
                rsvps::set_attended(conn, session.id, who.id, true)
                    .await
                    .unwrap();
            }
        }
        for (session, who) in past[4..].iter().zip(&six[4..]) {
            rsvps::set_attended(conn, session.id, who.id, true)
                .await
                .unwrap();
        }
        let mut prefs = roles::prefs(conn, circle.id, six[3].id).await.unwrap();
        prefs.opted_out_roles = vec![FACILITATOR.into()];
        roles::set_prefs(conn, &prefs).await.unwrap();

        let leads = leads_in_order(conn, &circle, Utc::now()).await.unwrap();

        assert_eq!(leads.rule, Seasoned::LedOnceAndCame);
        let mut may: Vec<_> = leads
            .people
            .iter()
            .map(|l| (l.name.as_str(), l.led, l.attended))
            .collect();
        may.sort();
        assert_eq!(may, [("Ada", 1, 6), ("Bo", 1, 6)]);

        // Once Cy has led a second time, only Cy may.
        let next = kit::session().in_days(-1).create(conn, &circle).await;
        let cy = Some(six[2].id);
        kit::slot(conn, &next, FACILITATOR, cy, RoleState::Confirmed).await;

        let leads = leads_in_order(conn, &circle, Utc::now()).await.unwrap();

        assert_eq!(leads.rule, Seasoned::LedTwice);
        let may: Vec<_> = leads.people.iter().map(|l| (l.member, l.led)).collect();
        assert_eq!(may, [(six[2].id, 2)]);
    }
}
