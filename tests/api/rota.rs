//! The rota's fairness against real life, over the real database: whatever members accept,
//! decline, swap, answer "no", join or leave, and however the clock moves, nobody is asked for
//! (or offered) a second turn of a role while someone who could take that session has had none.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};
use roundtable::actions::{membership, rota, rsvps, swaps};
use roundtable::db::roles::{self, SessionRole};
use roundtable::db::{sessions, Connection};
use roundtable::domain::{
    CircleId, FeedbackMode, MemberId, RoleState, RsvpResponse, SessionId, SwapId,
};

/// A rotating circle of six with a facilitator, a timekeeper and a discussion lead, and six
/// weekly sessions from two days on; the first three are inside the asking window.
async fn circle_of_six(app: &TestApp) -> (CircleId, Vec<MemberId>) {
    let circle = app
        .create_circle(json!({
            "name": "Six weeks", "timezone": "Europe/London", "facilitation": "rotating",
            "role_ask_days": 20
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    for name in ["Timekeeper", "Discussion lead"] {
        app.post(
            &format!("/api/v1/circles/{id}/roles"),
            &json!({ "name": name }),
        )
        .await
        .expect(201);
    }
    app.anyone_may_take_roles(&id).await;
    let mut members = Vec::new();
    for name in ["ada", "bo", "cy", "di", "ed", "flo"] {
        let m = app
            .add_member(&id, &format!("{name}@example.org"))
            .await
            .expect(201);
        members.push(MemberId(m["member_id"].as_str().unwrap().parse().unwrap()));
    }
    let first = (Utc::now() + Duration::days(2)).date_naive();
    app.schedule(
        &id,
        json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                "duration_minutes": 90, "count": 6 }),
    )
    .await;
    app.run_pending_jobs().await;
    (CircleId(id.parse().unwrap()), members)
}

/// Every slot of the circle's coming sessions.
async fn slots(conn: &mut Connection, circle: CircleId, now: DateTime<Utc>) -> Vec<SessionRole> {
    let ids: Vec<SessionId> = sessions::upcoming(conn, circle, now, 50)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    roles::for_sessions(conn, &ids).await.unwrap()
}

/// Who holds a turn (accepted or asked) of each role.
fn turns(rows: &[SessionRole]) -> HashMap<(MemberId, String), Vec<&SessionRole>> {
    let mut out: HashMap<(MemberId, String), Vec<&SessionRole>> = HashMap::new();
    for r in rows {
        if let (Some(m), RoleState::Confirmed | RoleState::Asked) = (r.member_id, r.state) {
            out.entry((m, r.role_key.clone())).or_default().push(r);
        }
    }
    out
}

/// Whoever could take `key` in `session`: active and taking part, no "no", no decline of it
/// (nor a swap out of it), and no other role in that session.
async fn could_take(
    conn: &mut Connection,
    circle: CircleId,
    rows: &[SessionRole],
    session: SessionId,
    key: &str,
    now: DateTime<Utc>,
) -> Vec<MemberId> {
    let said_no: HashSet<(SessionId, MemberId)> = roles::answered_no(conn, &[session])
        .await
        .unwrap()
        .into_iter()
        .collect();
    let declined: HashSet<(SessionId, String, MemberId)> = roles::declines(conn, &[session])
        .await
        .unwrap()
        .into_iter()
        .collect();
    roles::planner_members(conn, circle, now)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.opted_in && m.weight > 0 && m.paused_until.is_none())
        .map(|m| MemberId(m.member_id))
        .filter(|m| !said_no.contains(&(session, *m)))
        .filter(|m| !declined.contains(&(session, key.to_string(), *m)))
        .filter(|m| {
            !rows.iter().any(|r| {
                r.session_id == session
                    && r.role_key != key
                    && r.member_id == Some(*m)
                    && matches!(r.state, RoleState::Confirmed | RoleState::Asked)
            })
        })
        .collect()
}

/// What the checker has seen so far: every ask and every swap offer.
#[derive(Default)]
struct Seen {
    asks: HashSet<(uuid::Uuid, MemberId, Option<DateTime<Utc>>)>,
    offers: HashSet<(uuid::Uuid, uuid::Uuid)>,
}

/// Check every ask and offer made since the last look against the rule.
async fn check(
    conn: &mut Connection,
    circle: CircleId,
    now: DateTime<Utc>,
    seen: &mut Seen,
    step: &str,
) {
    let rows = slots(conn, circle, now).await;
    // Turns count as the planner counts them: those coming, and those held in sessions that
    // have started (once the clock has passed the first session, its holders have had one).
    let coming: HashSet<SessionId> = rows.iter().map(|r| r.session_id).collect();
    let since = slots(conn, circle, now - Duration::days(365)).await;
    let past = since
        .into_iter()
        .filter(|r| !coming.contains(&r.session_id) && r.state == RoleState::Confirmed);
    let counted: Vec<SessionRole> = rows.iter().cloned().chain(past).collect();
    let held = turns(&counted);
    for r in rows.iter().filter(|r| r.state == RoleState::Asked) {
        let member = r.member_id.unwrap();
        if !seen.asks.insert((r.id.0, member, r.asked_at)) {
            continue;
        }
        let others = held[&(member, r.role_key.clone())]
            .iter()
            .filter(|o| o.id != r.id)
            .count();
        if others == 0 {
            continue;
        }
        for m in could_take(conn, circle, &rows, r.session_id, &r.role_key, now).await {
            assert!(
                held.contains_key(&(m, r.role_key.clone())),
                "after {step}: {member:?} was asked for a second turn of {} while {m:?}, \
                 who could take it, had none",
                r.role_key
            );
        }
    }
    use roundtable::db::schema::{swap_offers, swap_requests as swap_table};
    let offers: Vec<(uuid::Uuid, uuid::Uuid, uuid::Uuid)> = swap_offers::table
        .inner_join(swap_table::table)
        .select((
            swap_offers::swap_id,
            swap_offers::member_id,
            swap_table::session_role_id,
        ))
        .load(conn)
        .await
        .unwrap();
    for (swap, member, role) in offers {
        if !seen.offers.insert((swap, member)) {
            continue;
        }
        let row = rows
            .iter()
            .find(|r| r.id.0 == role)
            .expect("the swapped slot");
        let member = MemberId(member);
        assert!(
            !held.contains_key(&(member, row.role_key.clone())),
            "after {step}: a swap of {} was offered to {member:?}, who holds a turn of it",
            row.role_key
        );
    }
}

/// One thing a member (or the clock) does.
#[derive(Debug, Clone)]
enum Step {
    Accept(usize),
    Decline(usize),
    AskSwap(usize),
    TakeSwap(usize),
    SayNo(usize, usize),
    Join,
    Leave(usize),
    Tick(i64),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0usize..20).prop_map(Step::Accept),
        2 => (0usize..20).prop_map(Step::Decline),
        2 => (0usize..20).prop_map(Step::AskSwap),
        3 => (0usize..20).prop_map(Step::TakeSwap),
        1 => (0usize..9, 0usize..6).prop_map(|(m, s)| Step::SayNo(m, s)),
        1 => Just(Step::Join),
        1 => (0usize..9).prop_map(Step::Leave),
        1 => (1i64..30).prop_map(Step::Tick),
    ]
}

/// Do `step` as of `now` (moved by a tick), then let the worker run.
async fn act(
    app: &TestApp,
    circle: CircleId,
    members: &mut Vec<MemberId>,
    now: &mut DateTime<Utc>,
    step: &Step,
) {
    let mut conn = app.conn().await;
    let rows = slots(&mut conn, circle, *now).await;
    let pick = |i: usize, states: &[RoleState]| {
        let some: Vec<&SessionRole> = rows.iter().filter(|r| states.contains(&r.state)).collect();
        (!some.is_empty()).then(|| some[i % some.len()].clone())
    };
    match step {
        Step::Accept(i) => {
            if let Some(r) = pick(*i, &[RoleState::Asked]) {
                rota::accept(
                    &mut conn,
                    r.id,
                    r.member_id.unwrap(),
                    FeedbackMode::Off,
                    *now,
                )
                .await
                .unwrap();
            }
        }
        Step::Decline(i) => {
            if let Some(r) = pick(*i, &[RoleState::Asked]) {
                rota::decline(&mut conn, r.id, r.member_id.unwrap(), *now)
                    .await
                    .unwrap();
            }
        }
        Step::AskSwap(i) => {
            if let Some(r) = pick(*i, &[RoleState::Asked, RoleState::Confirmed]) {
                swaps::ask(&mut conn, r.id, r.member_id.unwrap(), *now)
                    .await
                    .unwrap();
            }
        }
        Step::TakeSwap(i) => {
            use roundtable::db::schema::{swap_offers, swap_requests as swap_table};
            let open: Vec<(uuid::Uuid, uuid::Uuid)> = swap_offers::table
                .inner_join(swap_table::table)
                .filter(swap_table::status.eq("open"))
                .order((swap_offers::swap_id, swap_offers::rank))
                .select((swap_offers::swap_id, swap_offers::member_id))
                .load(&mut conn)
                .await
                .unwrap();
            if !open.is_empty() {
                let (swap, member) = open[i % open.len()];
                // Someone who left since the offer is refused; that is not this test's point.
                let _ = swaps::take(&mut conn, SwapId(swap), MemberId(member), *now).await;
            }
        }
        Step::SayNo(m, s) => {
            let coming = sessions::upcoming(&mut conn, circle, *now, 50)
                .await
                .unwrap();
            if let (Some(member), Some(session)) = (
                members.get(*m % members.len()),
                coming.get(*s % coming.len().max(1)),
            ) {
                rsvps::answer(&mut conn, session, *member, RsvpResponse::No, *now)
                    .await
                    .unwrap();
            }
        }
        Step::Join => {
            let who = uuid::Uuid::new_v4().simple();
            let m = app
                .add_member(&circle.0.to_string(), &format!("new-{who}@example.org"))
                .await
                .expect(201);
            members.push(MemberId(m["member_id"].as_str().unwrap().parse().unwrap()));
        }
        Step::Leave(m) => {
            if members.len() > 3 {
                let member = members.remove(*m % members.len());
                membership::leave(&mut conn, circle, member).await.unwrap();
            }
        }
        Step::Tick(hours) => {
            *now += Duration::hours(*hours);
            rota::sweep(&mut conn, *now).await.unwrap();
        }
    }
    app.run_pending_jobs().await;
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 12,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Under any sequence of accepts, declines, swaps, "no" answers, joins, leaves and clock
    /// ticks, nobody is asked for (or offered) a second turn of a role while someone who could
    /// take that session has had none.
    #[test]
    fn nobody_is_asked_for_a_second_turn_while_someone_who_can_has_none(
        steps in proptest::collection::vec(step(), 1..14),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let app = spawn_app().await;
            let (circle, mut members) = circle_of_six(&app).await;
            let mut now = Utc::now();
            let mut seen = Seen::default();
            let mut conn = app.conn().await;
            check(&mut conn, circle, now, &mut seen, "planning").await;
            for (i, s) in steps.iter().enumerate() {
                act(&app, circle, &mut members, &mut now, s).await;
                check(&mut conn, circle, now, &mut seen, &format!("step {i} {s:?} of {steps:?}")).await;
            }
        });
    }
}

#[tokio::test]
async fn taking_a_swap_moves_the_takers_later_turn_to_someone_who_has_had_none() {
    let app = spawn_app().await;
    let (circle, _) = circle_of_six(&app).await;
    let now = Utc::now();
    let mut conn = app.conn().await;
    let rows = slots(&mut conn, circle, now).await;
    let first = rows
        .iter()
        .find(|r| r.role_key == "facilitator" && r.state == RoleState::Asked)
        .unwrap()
        .clone();
    let holder = first.member_id.unwrap();
    swaps::ask(&mut conn, first.id, holder, now).await.unwrap();
    use roundtable::db::schema::swap_offers;
    let offered: Vec<(uuid::Uuid, uuid::Uuid)> = swap_offers::table
        .select((swap_offers::swap_id, swap_offers::member_id))
        .load(&mut conn)
        .await
        .unwrap();
    // Six people, three roles a week, the next three weeks asked: only those who neither hold
    // a role that week nor have an accepted or asked turn at leading are offered it.
    assert!((1..=3).contains(&offered.len()), "{offered:?}");
    let (swap, taker) = offered[0];
    let taker = MemberId(taker);
    let taken = swaps::take(&mut conn, SwapId(swap), taker, now)
        .await
        .unwrap();
    assert!(matches!(taken, swaps::Take::Taken(_)), "{taken:?}");
    app.run_pending_jobs().await;

    // The taker leads once in the six weeks; the one who gave it up still gets a turn.
    let rows = slots(&mut conn, circle, now).await;
    let leads = |m: MemberId| {
        rows.iter()
            .filter(|r| r.role_key == "facilitator" && r.member_id == Some(m))
            .filter(|r| r.state != RoleState::Declined)
            .count()
    };
    assert_eq!(leads(taker), 1, "{rows:#?}");
    assert_eq!(
        leads(holder),
        1,
        "the holder who swapped out leads another week"
    );
}

/// Issue 25's "done when": a new rotating circle of seven (its convener and six members)
/// takes the suggested roles and lives six weeks. Every session leaves at least two people
/// without a role, and nobody is asked for a role before they came to a session (the
/// convener, the circle's facilitator, leads the first).
#[tokio::test]
async fn a_new_circle_of_seven_with_the_suggested_roles_leaves_people_free_and_asks_only_who_came()
{
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({
            "name": "Seven", "timezone": "Europe/London", "facilitation": "rotating"
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let fay = app
        .post(
            &format!("/api/v1/circles/{id}/members"),
            &json!({ "email": "fay@example.org", "display_name": "fay", "role": "facilitator" }),
        )
        .await
        .expect(201);
    let fay = MemberId(fay["member_id"].as_str().unwrap().parse().unwrap());
    let mut people = vec![fay];
    for name in ["ada", "bo", "cy", "di", "ed", "flo"] {
        let m = app
            .add_member(&id, &format!("{name}@example.org"))
            .await
            .expect(201);
        people.push(MemberId(m["member_id"].as_str().unwrap().parse().unwrap()));
    }
    app.member_with_token("org@example.org", true).await;
    let dash = app.dashboard_as("org@example.org").await;
    let ask = dash
        .post(&format!("/dashboard/circles/{id}/roles/suggested"), &[])
        .await
        .expect(200);
    let ask = ask.as_str().unwrap();
    assert!(ask.contains("With 7 people taking part"), "{ask}");
    assert!(
        ask.contains("Nobody is emailed now."),
        "no sessions yet: {ask}"
    );
    let res = dash
        .post(
            &format!("/dashboard/circles/{id}/roles/suggested"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let kinds = app
        .get(&format!("/api/v1/circles/{id}/roles"))
        .await
        .expect(200);
    let slots_each: u64 = kinds["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["slots"].as_u64().unwrap())
        .sum();
    assert_eq!(slots_each, 4, "the facilitator and three more: {kinds}");
    let first = (Utc::now() + Duration::days(2)).date_naive();
    let sessions: Vec<SessionId> = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 6 }),
        )
        .await
        .iter()
        .map(|s| SessionId(s["id"].as_str().unwrap().parse().unwrap()))
        .collect();
    let circle_id = CircleId(id.parse().unwrap());
    let name_of: HashMap<String, MemberId> = ["fay", "ada", "bo", "cy", "di", "ed", "flo"]
        .iter()
        .map(|n| format!("{n}@example.org"))
        .zip(people.iter().copied())
        .collect();

    let mut came: HashSet<MemberId> = HashSet::new();
    let mut asked: HashSet<MemberId> = HashSet::new();
    let mut seen = 0;
    let mut elapsed = Duration::zero();
    for (week, session) in sessions.iter().enumerate() {
        app.run_pending_jobs().await;
        let mut conn = app.conn().await;
        let rows = slots(&mut conn, circle_id, Utc::now()).await;
        // Nobody holds, or is asked for, a role before they came (the convener aside).
        for r in &rows {
            if let (Some(m), RoleState::Confirmed | RoleState::Asked) = (r.member_id, r.state) {
                assert!(
                    m == fay || came.contains(&m),
                    "week {week}: {} asked of someone who has not come yet",
                    r.role_key
                );
            }
        }
        let mails = app.sent_emails();
        for m in &mails[seen..] {
            if m.subject.starts_with("Would you") {
                let to = name_of
                    .iter()
                    .find(|(address, _)| m.to.contains(address.as_str()))
                    .map(|(_, id)| *id)
                    .expect("an ask to a member");
                assert!(
                    to == fay || came.contains(&to),
                    "week {week}: {} went to {} before they came",
                    m.subject,
                    m.to
                );
                asked.insert(to);
            }
        }
        seen = mails.len();
        // This week's session leaves at least two of the seven without a role.
        let holding: HashSet<MemberId> = rows
            .iter()
            .filter(|r| r.session_id == *session && r.state != RoleState::Declined)
            .filter_map(|r| r.member_id)
            .collect();
        assert!(
            people.len() - holding.len() >= 2,
            "week {week}: {} of 7 hold a role",
            holding.len()
        );
        if week == 0 {
            let lead = rows
                .iter()
                .find(|r| r.session_id == *session && r.role_key == "facilitator")
                .unwrap();
            assert_eq!(lead.member_id, Some(fay), "the convener leads the first");
        }
        drop(conn);
        // The week passes; everyone but one came (a different one each week).
        let step = if week == 0 {
            Duration::days(3)
        } else {
            Duration::days(7)
        };
        crate::six_weeks::travel(&app, step, elapsed.num_days(), (elapsed + step).num_days()).await;
        elapsed += step;
        let marks: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, m)| json!({ "member_id": m.to_string(), "attended": i != (week + 1) % 7 }))
            .collect();
        app.put(
            &format!("/api/v1/sessions/{session}/attendance"),
            &json!({ "attendance": marks }),
        )
        .await
        .expect(200);
        for (i, m) in people.iter().enumerate() {
            if i != (week + 1) % 7 {
                came.insert(*m);
            }
        }
    }
    assert!(came.len() == 7, "everyone came at least once");
    assert!(
        asked.len() >= 4,
        "once they came, people were asked: {} asked",
        asked.len()
    );
}

/// A rotating circle of four with a timekeeper, and `sessions` weekly sessions a month away
/// (outside the asking window, so planning asks nobody).
async fn far_circle(app: &TestApp, name: &str, sessions: u32) -> CircleId {
    let circle = app
        .create_circle(json!({
            "name": name, "timezone": "Europe/London", "facilitation": "rotating",
            "role_ask_days": 7, "planning_horizon": 20
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/circles/{id}/roles"),
        &json!({ "name": "Timekeeper" }),
    )
    .await
    .expect(201);
    app.anyone_may_take_roles(&id).await;
    for who in ["ada", "bo", "cy", "di"] {
        app.add_member(&id, &format!("{who}-{name}@example.org"))
            .await
            .expect(201);
    }
    let first = (Utc::now() + Duration::days(30)).date_naive();
    app.schedule(
        &id,
        json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                "duration_minutes": 90, "count": sessions }),
    )
    .await;
    CircleId(id.parse().unwrap())
}

#[tokio::test]
async fn a_first_plan_takes_the_same_statements_for_two_sessions_or_twenty() {
    let app = spawn_app().await;
    let small = far_circle(&app, "small", 2).await;
    let large = far_circle(&app, "large", 20).await;
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let pool =
        roundtable::db::build_pool_counting(&app.settings.database, Some(counter.clone())).unwrap();
    let mut conn = pool.get().await.unwrap();
    let mut statements = Vec::new();
    for (circle, sessions) in [(small, 2), (large, 20)] {
        // As if the circle had never been planned.
        diesel::delete(
            roundtable::db::schema::session_roles::table
                .filter(roundtable::db::schema::session_roles::circle_id.eq(circle)),
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let before =
            std::sync::atomic::AtomicU64::load(&counter, std::sync::atomic::Ordering::SeqCst);
        let planned = rota::replan(&mut conn, circle, Utc::now()).await.unwrap();
        statements.push(
            std::sync::atomic::AtomicU64::load(&counter, std::sync::atomic::Ordering::SeqCst)
                - before,
        );
        assert_eq!(
            planned.changed,
            sessions * 2,
            "a facilitator and a timekeeper each session"
        );
        assert_eq!(planned.asked, 0);
        let proposed = slots(&mut conn, circle, Utc::now()).await;
        assert_eq!(proposed.len(), sessions * 2);
        assert!(proposed
            .iter()
            .all(|r| r.state == RoleState::Proposed && r.member_id.is_some()));
    }
    assert_eq!(
        statements[0], statements[1],
        "the same statements for 2 sessions and for 20"
    );
    assert!(statements[0] <= 12, "{statements:?}");
}
