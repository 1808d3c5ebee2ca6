//! Circles that grow circles: a full circle whose waitlist reaches its threshold proposes a
//! sibling, asks a member who has led it twice (in the fairness order) by link, and on
//! Accept creates the sibling and moves the people waiting, each told once. Concurrent
//! accepts move the waitlist once; someone who left the waitlist meanwhile is not moved.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_for_races, SentEmail, TestApp};

async fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn)
        .await
        .unwrap();
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(app: &TestApp, query: &str) -> i64 {
    let mut conn = app.conn().await;
    let c: Count = diesel_async::RunQueryDsl::get_result(diesel::sql_query(query), &mut conn)
        .await
        .unwrap();
    c.n
}

pub(crate) struct Full {
    pub circle: String,
    /// Active members: m0 led twice, m1 three times, m2 once, m3 never.
    pub seated: Vec<String>,
    /// In waitlist order.
    pub waiting: Vec<String>,
    pub coming: Vec<Value>,
}

/// "Small Room": four seats, five waiting, a reading, four sessions to come and three
/// that have been held.
pub(crate) async fn full_circle(app: &TestApp) -> Full {
    let c = app
        .create_circle(json!({ "name": "Small Room", "timezone": "UTC", "capacity": 4 }))
        .await;
    let circle = c["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/circles/{circle}/readings"),
        &json!({ "title": "Braiding Sweetgrass", "author": "Robin Wall Kimmerer" }),
    )
    .await
    .expect(201);
    let mut seated = Vec::new();
    let mut waiting = Vec::new();
    for i in 0..9 {
        let m = app
            .add_member(&circle, &format!("p{i}@example.org"))
            .await
            .expect(201);
        let id = m["member_id"].as_str().unwrap().to_string();
        if i < 4 {
            assert_eq!(m["state"], "active");
            seated.push(id);
        } else {
            assert_eq!(m["state"], "waitlisted");
            waiting.push(id);
        }
    }
    let day = |d: i64| (Utc::now() + Duration::days(d)).date_naive().to_string();
    let held = app
        .schedule(&circle, json!({ "freq": "weekly", "first_date": day(-42), "local_time": "18:00", "duration_minutes": 90, "count": 6 }))
        .await;
    let coming = app
        .schedule(&circle, json!({ "freq": "weekly", "first_date": day(7), "local_time": "18:00", "duration_minutes": 90, "count": 4 }))
        .await;
    // m1 led three times, m0 twice, m2 once.
    for (i, who) in [1, 0, 1, 2, 0, 1].iter().enumerate() {
        let session = held[i]["id"].as_str().unwrap();
        sql(
            app,
            &format!(
                "INSERT INTO session_roles (id, session_id, circle_id, role_key, slot, member_id, state) \
                 VALUES (gen_random_uuid(), '{session}', '{circle}', 'facilitator', 1, '{}', 'confirmed')",
                seated[*who]
            ),
        )
        .await;
    }
    Full {
        circle,
        seated,
        waiting,
        coming,
    }
}

async fn sweep(app: &TestApp) -> roundtable::actions::growing::Swept {
    let mut conn = app.conn().await;
    roundtable::actions::growing::sweep(&mut conn, Utc::now())
        .await
        .unwrap()
}

/// Let time pass until the next reminder of the circle's sessions goes: an ask to lead that
/// the circle's growth started waits for its reader's next letter and comes inside it.
/// Nothing asked `who` before.
async fn until_the_next_reminder(app: &TestApp, who: &str, subject: &str) {
    use diesel_async::RunQueryDsl;
    app.run_pending_jobs().await;
    assert!(
        mails_to(&app.sent_emails(), who, subject).is_empty(),
        "the ask waits for their next letter"
    );
    let moved = diesel::sql_query(
        "UPDATE jobs SET run_at = now() WHERE id = (SELECT id FROM jobs WHERE state = 'queued' \
         AND dedupe_key LIKE 'fanout:reminder:%' ORDER BY run_at LIMIT 1)",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(moved, 1, "a reminder is queued");
    app.run_pending_jobs().await;
    let inside: Vec<String> = mails_to(&app.sent_emails(), who, subject)
        .iter()
        .map(|m| m.subject.clone())
        .collect();
    assert!(
        inside.len() == 1 && inside[0].starts_with("Reminder:"),
        "the ask came inside the reminder: {inside:?}"
    );
}

fn mails_to<'a>(mails: &'a [SentEmail], who: &str, subject: &str) -> Vec<&'a SentEmail> {
    mails
        .iter()
        .filter(|m| m.to.contains(who) && m.subject.contains(subject))
        .collect()
}

#[derive(diesel::QueryableByName)]
struct Place {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    waitlist_position: Option<i32>,
}

/// A membership's state and waitlist place ("none" when there is no membership).
async fn member_state(app: &TestApp, circle: &str, member: &str) -> (String, Option<i64>) {
    let mut conn = app.conn().await;
    let found: Vec<Place> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(format!(
            "SELECT state, waitlist_position FROM memberships WHERE circle_id = '{circle}' AND member_id = '{member}'"
        )),
        &mut conn,
    )
    .await
    .unwrap();
    match found.first() {
        Some(p) => (p.state.clone(), p.waitlist_position.map(i64::from)),
        None => ("none".into(), None),
    }
}

#[tokio::test]
async fn a_full_circle_grows_a_sibling_led_by_a_member_asked_by_link() {
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;

    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    assert_eq!(
        outlook["threshold"], 2,
        "a third of four seats, at least two"
    );
    assert_eq!(outlook["waiting"], 5);
    let leads: Vec<&str> = outlook["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        leads,
        vec![full.seated[0].as_str(), full.seated[1].as_str()],
        "only those who led twice or more, whoever led least against their share first"
    );

    // The sweep proposes it by itself, and only once.
    assert_eq!(sweep(&app).await.proposed, 1);
    assert_eq!(sweep(&app).await.proposed, 0);
    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    let proposal = &outlook["proposals"][0];
    assert_eq!(proposal["state"], "asking");
    assert_eq!(proposal["name"], "Small Room II");
    assert_eq!(proposal["started_by"], "threshold");
    assert_eq!(proposal["asked"]["member_id"], full.seated[0].as_str());

    until_the_next_reminder(&app, "p0@", "Would you lead Small Room II?").await;
    let mails = app.sent_emails();
    let ask = mails_to(&mails, "p0@", "Would you lead Small Room II?");
    assert_eq!(ask.len(), 1, "one ask, to p0");
    assert!(
        ask[0].text.contains("5 people are waiting"),
        "{}",
        ask[0].text
    );
    assert!(ask[0].text.contains("You have led Small Room 2 times"));
    let p0_link = app.link_in(ask[0], "/grow/");
    let page = app.browser(Method::GET, &p0_link, None).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text().contains("Would you lead Small Room II?"));
    assert!(page.text().contains("value=\"accept\""));
    assert!(page.text().contains("Braiding Sweetgrass"));

    // Not now: the next in line is asked.
    let before = app.snapshot().await;
    let bad = app
        .browser(Method::POST, &p0_link, Some(&[("answer", "maybe")]))
        .await;
    assert_eq!(bad.status.as_u16(), 422);
    assert_eq!(app.snapshot().await, before, "a bad answer changes nothing");
    let passed = app
        .browser(Method::POST, &p0_link, Some(&[("answer", "not_now")]))
        .await;
    assert_eq!(passed.status.as_u16(), 200);
    assert!(
        passed.text().contains("next person who has led"),
        "{}",
        passed.text()
    );
    // p1's ask waits to ride with their next letter when one goes within the week (the first
    // session's reflection prompt is a week away, give or take the time of day this runs): its
    // moment comes now.
    sql(
        &app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND dedupe_key LIKE 'email:grow_ask:%'",
    )
    .await;
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let ask = mails_to(&mails, "p1@", "Would you lead Small Room II?");
    assert_eq!(ask.len(), 1, "p1 is asked next");
    let p1_link = app.link_in(ask[0], "/grow/");
    let stale = app
        .browser(Method::POST, &p0_link, Some(&[("answer", "accept")]))
        .await;
    assert_eq!(stale.status.as_u16(), 410, "p0's ask has passed on");

    // A day or time that cannot be is refused, and changes nothing.
    let before = app.snapshot().await;
    for bad in [
        [("answer", "accept"), ("days", "9"), ("time", "")],
        [("answer", "accept"), ("days", "1"), ("time", "25:61")],
    ] {
        let res = app.browser(Method::POST, &p1_link, Some(&bad)).await;
        assert_eq!(res.status.as_u16(), 422, "{bad:?}");
    }
    assert!(app.snapshot().await == before);

    // Accept, moving the sibling a day later at 19:30 so p1 can keep coming to Small Room:
    // the sibling exists, with the waitlist moved up to its seats.
    let accepted = app
        .browser(
            Method::POST,
            &p1_link,
            Some(&[("answer", "accept"), ("days", "1"), ("time", "19:30")]),
        )
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.text());
    assert!(accepted
        .text()
        .contains("You lead Small Room II now. 4 people moved"));
    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    let proposal = &outlook["proposals"][0];
    assert_eq!(proposal["state"], "accepted");
    assert_eq!(proposal["moved"], 4);
    let sibling = proposal["sibling_id"].as_str().unwrap().to_string();
    let families: Vec<&str> = outlook["family"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["circle_id"].as_str().unwrap())
        .collect();
    assert_eq!(families, vec![circle.as_str(), sibling.as_str()]);

    let s = app
        .get(&format!("/api/v1/circles/{sibling}"))
        .await
        .expect(200);
    assert_eq!(s["name"], "Small Room II");
    assert_eq!(s["capacity"], 4);
    assert_eq!(s["kind"], "book_club");
    assert_eq!(s["family_id"], circle.as_str());
    assert_eq!(s["parent_id"], circle.as_str());
    let (lead_state, _) = member_state(&app, &sibling, &full.seated[1]).await;
    assert_eq!(lead_state, "active");
    assert_eq!(
        count(&app, &format!("SELECT count(*) AS n FROM memberships WHERE circle_id = '{sibling}' AND member_id = '{}' AND role = 'facilitator'", full.seated[1])).await,
        1,
        "the lead leads the sibling"
    );
    assert_eq!(
        member_state(&app, circle, &full.seated[1]).await.0,
        "active",
        "the lead keeps their seat"
    );
    for w in &full.waiting[..4] {
        assert_eq!(member_state(&app, &sibling, w).await.0, "active");
        assert_eq!(member_state(&app, circle, w).await.0, "left");
    }
    assert_eq!(
        member_state(&app, circle, &full.waiting[4]).await,
        ("waitlisted".to_string(), Some(1)),
        "the fifth waits on, first in line now"
    );
    // Same readings and dates.
    let readings = app
        .get(&format!("/api/v1/circles/{sibling}/readings"))
        .await
        .expect(200);
    assert!(readings.to_string().contains("Braiding Sweetgrass"));
    let sessions = app
        .get(&format!("/api/v1/circles/{sibling}/sessions?limit=50"))
        .await
        .expect(200);
    let starts = |v: &Value| -> Vec<String> {
        let list = v.get("items").or(v.get("sessions")).unwrap_or(v);
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["starts_at"].as_str().unwrap().to_string())
            .collect()
    };
    let expected: Vec<String> = full
        .coming
        .iter()
        .map(|s| {
            let day: chrono::NaiveDate = s["local_date"].as_str().unwrap().parse().unwrap();
            format!("{}T19:30:00Z", day + chrono::Days::new(1))
        })
        .collect();
    let got: Vec<String> = starts(&sessions)
        .iter()
        .map(|t| {
            t.parse::<chrono::DateTime<Utc>>()
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        })
        .collect();
    assert_eq!(
        got, expected,
        "a day later, at 19:30 in the circle's zone (UTC)"
    );

    // Everyone moved is told once; the one still waiting is not; organisers hear.
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    for i in 4..8 {
        let told = mails_to(&mails, &format!("p{i}@"), "A seat for you in Small Room II");
        assert_eq!(told.len(), 1, "p{i} is told once");
        assert!(told[0]
            .text
            .contains(&format!("You were number {} on the waitlist", i - 3)));
    }
    assert!(mails_to(&mails, "p8@", "A seat for you").is_empty());
    assert!(mails
        .iter()
        .any(|m| m.subject.contains("p1 will lead Small Room II")));
    // Each sibling session's invitation is on its way (at the circle's lead time), as for any
    // member.
    assert_eq!(
        count(&app, &format!(
            "SELECT count(*) AS n FROM jobs WHERE kind = 'session_fanout' AND payload->>'message' = 'invitation' \
             AND (payload->>'session_id')::uuid IN (SELECT id FROM sessions WHERE circle_id = '{sibling}')"
        ))
        .await,
        4,
        "the moved get their invitations"
    );

    // Answering again changes nothing.
    let before = app.snapshot().await;
    let again = app
        .browser(Method::POST, &p1_link, Some(&[("answer", "accept")]))
        .await;
    assert_eq!(again.status.as_u16(), 409);
    assert_eq!(app.snapshot().await, before);

    // The organisation's leadership page reads the family together.
    let spread = app
        .get("/api/v1/leadership?window_days=90")
        .await
        .expect(200);
    let families = spread["families"].as_array().unwrap();
    assert_eq!(families.len(), 1, "{spread}");
    assert_eq!(families[0]["family_id"], circle.as_str());
    assert_eq!(families[0]["name"], "Small Room");
    assert_eq!(families[0]["circles"].as_array().unwrap().len(), 2);
    // Active across the family: p0–p3 in Small Room, p1 and p4–p7 in the sibling: 8 people.
    assert_eq!(families[0]["active_members"], 8);
    assert_eq!(families[0]["leaders"], 3, "p0, p1 and p2 led in the window");
    let row = spread["circles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["circle_id"] == sibling.as_str())
        .unwrap();
    assert_eq!(row["family_id"], circle.as_str());
}

#[tokio::test]
async fn the_waitlist_moves_once_under_concurrent_accepts_and_never_moves_who_left() {
    let app = spawn_app_for_races().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;
    let proposal = app
        .post(&format!("/api/v1/circles/{circle}/siblings"), &json!({}))
        .await
        .expect(201);
    assert_eq!(proposal["started_by"], "organiser");
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let link = app.link_in(mails_to(&mails, "p0@", "Would you lead")[0], "/grow/");

    // p5 (second in line) gives up their place meanwhile.
    app.delete(&format!(
        "/api/v1/circles/{circle}/members/{}",
        full.waiting[1]
    ))
    .await;
    assert_eq!(member_state(&app, circle, &full.waiting[1]).await.0, "left");

    let answers = futures_util::future::join_all(
        (0..8).map(|_| app.browser(Method::POST, &link, Some(&[("answer", "accept")]))),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one accept wins: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM circles WHERE name = 'Small Room II'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM sibling_moves").await,
        4
    );
    let sibling = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200)["proposals"][0]["sibling_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        member_state(&app, &sibling, &full.waiting[1]).await.0,
        "none",
        "who left the waitlist is not moved"
    );
    assert_eq!(member_state(&app, circle, &full.waiting[1]).await.0, "left");
    for w in [0, 2, 3, 4] {
        assert_eq!(
            member_state(&app, &sibling, &full.waiting[w]).await.0,
            "active"
        );
    }
    assert_eq!(
        count(&app, &format!("SELECT count(*) AS n FROM memberships WHERE circle_id = '{circle}' AND state = 'waitlisted'")).await,
        0
    );
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let told: Vec<&SentEmail> = mails
        .iter()
        .filter(|m| m.subject == "A seat for you in Small Room II")
        .collect();
    let mut to: Vec<&str> = told.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    to.dedup();
    assert_eq!((told.len(), to.len()), (4, 4), "one email each: {to:?}");
    assert!(told.iter().all(|m| !m.to.contains("p5@")));

    // Free to decline: p6 leaves the sibling from their page and goes back to Small Room's
    // waitlist at their old place (second: p5 had left, so p6 was second of those moved).
    let p6 = told.iter().find(|m| m.to.contains("p6@")).unwrap();
    let me = app.link_in(p6, "/me/");
    let ask = app
        .browser(
            Method::GET,
            &format!("{me}/leave?circle_id={sibling}"),
            None,
        )
        .await;
    assert_eq!(ask.status.as_u16(), 200);
    assert!(
        ask.text()
            .contains("You go back to Small Room&#39;s waitlist, at number 1")
            || ask
                .text()
                .contains("You go back to Small Room's waitlist, at number 1"),
        "{}",
        ask.text()
    );
    let left = app
        .browser(
            Method::POST,
            &format!("{me}/leave"),
            Some(&[("circle_id", sibling.as_str()), ("confirm", "yes")]),
        )
        .await;
    assert!(
        left.text().contains("back on the waitlist you came from"),
        "{}",
        left.text()
    );
    assert_eq!(
        member_state(&app, &sibling, &full.waiting[2]).await.0,
        "left"
    );
    assert_eq!(
        member_state(&app, circle, &full.waiting[2]).await,
        ("waitlisted".to_string(), Some(1))
    );
    // A moved member who leaves after taking part just leaves.
    let p7 = told.iter().find(|m| m.to.contains("p7@")).unwrap();
    let me7 = app.link_in(p7, "/me/");
    let first = app
        .get(&format!("/api/v1/circles/{sibling}/sessions"))
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    sql(
        &app,
        &format!(
            "INSERT INTO rsvps (session_id, member_id, attended) VALUES ('{first}', '{}', true)",
            full.waiting[3]
        ),
    )
    .await;
    app.browser(
        Method::POST,
        &format!("{me7}/leave"),
        Some(&[("circle_id", sibling.as_str()), ("confirm", "yes")]),
    )
    .await;
    assert_eq!(member_state(&app, circle, &full.waiting[3]).await.0, "left");
}

#[tokio::test]
async fn asks_that_lapse_pass_on_and_bad_requests_change_nothing() {
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;
    let (_, facilitator) = app.member_with_token("f@example.org", false).await;
    let before = app.snapshot().await;
    for (body, status) in [
        (json!({ "lead_id": full.seated[2] }), 422),
        (json!({ "lead_id": full.seated[3] }), 422),
        (json!({ "name": "" }), 422),
        (json!({ "name": "x".repeat(121) }), 422),
        (json!({ "colour": "blue" }), 400),
        (json!({ "lead_id": "not-a-uuid" }), 400),
    ] {
        let res = app
            .post(&format!("/api/v1/circles/{circle}/siblings"), &body)
            .await;
        assert_eq!(res.status.as_u16(), status, "{body}: {}", res.text());
    }
    let res = app
        .request_as(
            Some(&facilitator),
            Method::POST,
            &format!("/api/v1/circles/{circle}/siblings"),
            Some(&json!({})),
        )
        .await;
    assert!(matches!(res.status.as_u16(), 403 | 404));
    for patch in [
        json!({ "grow_threshold": -1 }),
        json!({ "grow_threshold": 10_001 }),
    ] {
        let res = app
            .patch(&format!("/api/v1/circles/{circle}"), &patch)
            .await;
        assert_eq!(res.status.as_u16(), 422, "{patch}");
    }
    assert!(app.snapshot().await == before, "nothing changed");

    // An organiser picks the first to ask; a second proposal while one asks is refused.
    let p = app
        .post(
            &format!("/api/v1/circles/{circle}/siblings"),
            &json!({ "lead_id": full.seated[1], "name": "Small Room Evenings" }),
        )
        .await
        .expect(201);
    assert_eq!(p["asked"]["member_id"], full.seated[1].as_str());
    assert_eq!(p["lead_order"][1], full.seated[0].as_str());
    let twice = app
        .post(&format!("/api/v1/circles/{circle}/siblings"), &json!({}))
        .await;
    assert_eq!(twice.status.as_u16(), 409);

    // Unanswered past the answer time: the ask passes on, then nobody is left.
    sql(
        &app,
        "UPDATE sibling_proposals SET answer_by = now() - interval '1 minute'",
    )
    .await;
    assert_eq!(sweep(&app).await.passed_on, 1);
    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    assert_eq!(
        outlook["proposals"][0]["asked"]["member_id"],
        full.seated[0].as_str()
    );
    sql(
        &app,
        "UPDATE sibling_proposals SET answer_by = now() - interval '1 minute'",
    )
    .await;
    let swept = sweep(&app).await;
    assert_eq!(
        (swept.passed_on, swept.proposed),
        (1, 0),
        "no new proposal right after one came to nothing"
    );
    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    assert_eq!(outlook["proposals"][0]["state"], "unled");
    assert_eq!(outlook["waiting"], 5, "the waitlist stays as it was");
    app.run_pending_jobs().await;
    assert!(app.sent_emails().iter().any(|m| m
        .subject
        .contains("Nobody could take on Small Room Evenings")));

    // A threshold of 0 turns proposals off; the circle grows only by hand then.
    app.patch(
        &format!("/api/v1/circles/{circle}"),
        &json!({ "grow_threshold": 0 }),
    )
    .await
    .expect(200);
    sql(
        &app,
        "UPDATE sibling_proposals SET created_at = now() - interval '60 days'",
    )
    .await;
    assert_eq!(sweep(&app).await.proposed, 0);
    app.patch(
        &format!("/api/v1/circles/{circle}"),
        &json!({ "grow_threshold": null }),
    )
    .await
    .expect(200);
    assert_eq!(sweep(&app).await.proposed, 1, "back to the default");
    app.post(
        &format!("/api/v1/circles/{circle}/siblings/withdraw"),
        &json!({}),
    )
    .await
    .expect(200);
    let again = app
        .post(
            &format!("/api/v1/circles/{circle}/siblings/withdraw"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 409);
}

#[tokio::test]
async fn organisers_see_and_start_growth_from_the_dashboard() {
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;
    let organiser = app.dashboard_as("organiser@example.org").await;
    let res = organiser
        .get(&format!("/dashboard/circles/{circle}/growing"))
        .await;
    assert_eq!(res.status.as_u16(), 200);
    let page = res.text();
    assert!(
        page.contains("5 people are waiting for a seat in a circle of 4"),
        "{page}"
    );
    assert!(page.contains("The waitlist has reached the threshold"));
    assert!(page.contains("p0 <span class=\"muted\">(led 2 times)</span>"));
    let res = organiser
        .post(
            &format!("/dashboard/circles/{circle}/siblings"),
            &[("name", "")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let res = organiser
        .get(&format!("/dashboard/circles/{circle}/growing"))
        .await;
    let page = res.text();
    assert!(page.contains("Asking p0 to lead"), "{page}");
    // The deadline in words, in the circle's zone, named, with how far off it is.
    assert!(
        page.contains(", 23:59 UTC (in ") || page.contains(":00 UTC (in "),
        "{page}"
    );
    let res = organiser
        .post(
            &format!("/dashboard/circles/{circle}/growing"),
            &[("threshold", "abc")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert!(res.text().contains("whole number"));
    let twice = organiser
        .post(&format!("/dashboard/circles/{circle}/siblings"), &[])
        .await;
    assert_eq!(twice.status.as_u16(), 409, "one proposal asks at a time");
    // Calling it off asks first and says who is told; only the confirmation calls it off,
    // and the person being asked hears that it is off.
    let before = app.snapshot().await;
    let asked = organiser
        .post(
            &format!("/dashboard/circles/{circle}/siblings/withdraw"),
            &[],
        )
        .await;
    assert_eq!(asked.status.as_u16(), 200);
    assert!(
        asked.text().contains("Call off Small Room II?")
            && asked.text().contains("told by email that it is called off"),
        "{}",
        asked.text()
    );
    assert_eq!(app.snapshot().await, before, "asking changes nothing");
    let off = organiser
        .post(
            &format!("/dashboard/circles/{circle}/siblings/withdraw"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(off.status.as_u16(), 303);
    app.run_pending_jobs().await;
    let told: Vec<String> = app
        .sent_emails()
        .iter()
        .filter(|m| m.subject.starts_with("Small Room II is called off"))
        .map(|m| m.to.clone())
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("p0@"), "{told:?}");

    // The organiser picks who is asked first; someone who cannot lead is refused.
    let before = app.snapshot().await;
    let refused = organiser
        .post(
            &format!("/dashboard/circles/{circle}/siblings"),
            &[("lead_id", full.seated[2].as_str())],
        )
        .await;
    assert_eq!(refused.status.as_u16(), 422);
    assert!(refused
        .text()
        .contains("The first to ask must be an active member"));
    let garbled = organiser
        .post(
            &format!("/dashboard/circles/{circle}/siblings"),
            &[("lead_id", "someone")],
        )
        .await;
    assert_eq!(garbled.status.as_u16(), 422);
    assert!(app.snapshot().await == before);
    let picked = organiser
        .post(
            &format!("/dashboard/circles/{circle}/siblings"),
            &[
                ("lead_id", full.seated[1].as_str()),
                ("name", "Small Room Evenings"),
            ],
        )
        .await;
    assert_eq!(picked.status.as_u16(), 303);
    let page = organiser
        .get(&format!("/dashboard/circles/{circle}/growing"))
        .await;
    assert!(page.text().contains("Asking p1 to lead"), "{}", page.text());
    assert!(page.text().contains("Small Room Evenings"));
}

#[tokio::test]
async fn joining_a_full_waitlist_proposes_a_sibling_without_waiting_for_the_sweep() {
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    // Joining the waitlist queued a check of the circle; running it proposes the sibling.
    app.run_pending_jobs().await;
    let outlook = app
        .get(&format!("/api/v1/circles/{}/siblings", full.circle))
        .await
        .expect(200);
    assert_eq!(
        outlook["proposals"].as_array().unwrap().len(),
        1,
        "{outlook}"
    );
    assert_eq!(outlook["proposals"][0]["started_by"], "threshold");
    until_the_next_reminder(&app, "p0@", "Would you lead Small Room II?").await;
    assert_eq!(
        mails_to(&app.sent_emails(), "p0@", "Would you lead Small Room II?").len(),
        1
    );
    assert_eq!(sweep(&app).await.proposed, 0, "the sweep finds it done");
}

/// "Six Seats": six members who each led one of its six sessions (a fair rotation, so nobody
/// led twice); s2 came to four of them, the others only to the one they led. Returns the
/// circle, its members and its next session.
async fn six_fair_turns(app: &TestApp) -> (String, Vec<String>, String) {
    let c = app
        .create_circle(json!({ "name": "Six Seats", "timezone": "UTC", "capacity": 6 }))
        .await;
    let circle = c["id"].as_str().unwrap().to_string();
    let mut seated = Vec::new();
    for i in 0..6 {
        let m = app
            .add_member(&circle, &format!("s{i}@example.org"))
            .await
            .expect(201);
        assert_eq!(m["state"], "active");
        seated.push(m["member_id"].as_str().unwrap().to_string());
    }
    let day = |d: i64| (Utc::now() + Duration::days(d)).date_naive().to_string();
    let held = app
        .schedule(&circle, json!({ "freq": "weekly", "first_date": day(-42), "local_time": "18:00", "duration_minutes": 90, "count": 6 }))
        .await;
    let coming = app
        .schedule(&circle, json!({ "freq": "weekly", "first_date": day(7), "local_time": "18:00", "duration_minutes": 90, "count": 4 }))
        .await;
    for (i, session) in held.iter().enumerate() {
        let session = session["id"].as_str().unwrap();
        sql(
            app,
            &format!(
                "INSERT INTO session_roles (id, session_id, circle_id, role_key, slot, member_id, state) \
                 VALUES (gen_random_uuid(), '{session}', '{circle}', 'facilitator', 1, '{}', 'confirmed')",
                seated[i]
            ),
        )
        .await;
        let mut marks = vec![json!({ "member_id": seated[i], "attended": true })];
        if i != 2 && i < 4 {
            marks.push(json!({ "member_id": seated[2], "attended": true }));
        }
        app.put(
            &format!("/api/v1/sessions/{session}/attendance"),
            &json!({ "attendance": marks }),
        )
        .await
        .expect(200);
    }
    let next = coming[0]["id"].as_str().unwrap().to_string();
    (circle, seated, next)
}

#[tokio::test]
async fn a_circle_of_six_that_took_fair_turns_grows_when_two_wait() {
    let app = spawn_app().await;
    let (circle, seated, last) = six_fair_turns(&app).await;
    for who in ["w0@example.org", "w1@example.org"] {
        let m = app.add_member(&circle, who).await.expect(201);
        assert_eq!(m["state"], "waitlisted");
    }

    // The second person waiting reaches the default threshold, and the check their joining
    // queued asks s2, who led once and came to four sessions.
    app.run_pending_jobs().await;
    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    assert_eq!(outlook["threshold"], 2, "a third of six seats");
    assert_eq!(outlook["waiting"], 2);
    let leads: Vec<(&str, u64)> = outlook["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["member_id"].as_str().unwrap(), l["led"].as_u64().unwrap()))
        .collect();
    assert_eq!(leads, [(seated[2].as_str(), 1)], "nobody led twice");
    let proposal = &outlook["proposals"][0];
    assert_eq!(proposal["started_by"], "threshold");
    assert_eq!(proposal["asked"]["member_id"], seated[2].as_str());
    until_the_next_reminder(&app, "s2@", "Would you lead Six Seats II?").await;
    let mails = app.sent_emails();
    let ask = mails_to(&mails, "s2@", "Would you lead Six Seats II?");
    assert_eq!(ask.len(), 1);
    assert!(
        ask[0]
            .text
            .contains("You have led Six Seats once and come to 4 of its sessions"),
        "{}",
        ask[0].text
    );
    let organiser = app.dashboard_as("organiser@example.org").await;
    let page = organiser
        .get(&format!("/dashboard/circles/{circle}/growing"))
        .await
        .text()
        .to_string();
    assert!(
        page.contains("s2 <span class=\"muted\">(led once, came to 4 sessions)</span>"),
        "{page}"
    );
    assert!(page.contains("those who led it once and came to at least three"));

    // Someone who led once but came only to the session they led may not be asked first.
    app.post(
        &format!("/api/v1/circles/{circle}/siblings/withdraw"),
        &json!({}),
    )
    .await
    .expect(200);
    let before = app.snapshot().await;
    let refused = app
        .post(
            &format!("/api/v1/circles/{circle}/siblings"),
            &json!({ "lead_id": seated[0] }),
        )
        .await;
    let why = refused.body["error"]["message"].as_str().unwrap_or("");
    assert_eq!(refused.status.as_u16(), 422, "{}", refused.body);
    assert!(
        why.contains("led it once and come to at least three"),
        "{}",
        refused.body
    );
    assert!(app.snapshot().await == before);

    // Once s4 has led a second time, only those who led twice may: s4.
    sql(&app, &format!("UPDATE sessions SET starts_at = now() - interval '2 hours', ends_at = now() - interval '30 minutes' WHERE id = '{last}'")).await;
    sql(
        &app,
        &format!(
            "INSERT INTO session_roles (id, session_id, circle_id, role_key, slot, member_id, state) \
             VALUES (gen_random_uuid(), '{last}', '{circle}', 'facilitator', 1, '{}', 'confirmed')",
            seated[4]
        ),
    )
    .await;
    let outlook = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    let leads: Vec<(&str, u64)> = outlook["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["member_id"].as_str().unwrap(), l["led"].as_u64().unwrap()))
        .collect();
    assert_eq!(leads, [(seated[4].as_str(), 2)]);
}

#[tokio::test]
async fn many_people_join_a_full_circle_at_once_and_each_gets_a_place() {
    let app = spawn_app_for_races().await;
    let c = app
        .create_circle(json!({ "name": "Busy Room", "timezone": "UTC", "capacity": 4 }))
        .await;
    let circle = c["id"].as_str().unwrap().to_string();
    let emails: Vec<String> = (0..40).map(|i| format!("j{i}@example.org")).collect();
    let answers =
        futures_util::future::join_all(emails.iter().map(|e| app.add_member(&circle, e))).await;
    let failed: Vec<String> = answers
        .iter()
        .filter(|r| r.status.as_u16() != 201)
        .map(|r| format!("{} {}", r.status, r.body))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn whoever_runs_the_circle_learns_how_many_passed_but_never_who() {
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;
    // A facilitator of the circle who is not an organiser.
    let (fac, token) = app.member_with_token("fac@example.org", false).await;
    app.add_member(circle, "fac@example.org").await.expect(201);
    app.patch(
        &format!("/api/v1/circles/{circle}/members/{fac}"),
        &json!({ "role": "facilitator" }),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/circles/{circle}/siblings"), &json!({}))
        .await
        .expect(201);
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let p0_link = app.link_in(mails_to(&mails, "p0@", "Would you lead")[0], "/grow/");
    app.browser(Method::POST, &p0_link, Some(&[("answer", "not_now")]))
        .await
        .expect(200);

    let theirs = app
        .request_as(
            Some(&token),
            Method::GET,
            &format!("/api/v1/circles/{circle}/siblings"),
            None,
        )
        .await
        .expect(200);
    let p = &theirs["proposals"][0];
    assert_eq!(p["state"], "asking");
    assert_eq!(p["passed_count"], 1, "how many passed");
    assert_eq!(p["passed"], json!([]), "not who: {p}");
    assert_eq!(
        p["lead_order"],
        json!([]),
        "nor the order that would tell it"
    );
    assert!(p["asked"].is_null(), "nor who is asked now: {p}");
    let names: Vec<&str> = theirs["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["display_name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "who could lead, by name, not in asking order"
    );

    let organiser = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200);
    let p = &organiser["proposals"][0];
    assert_eq!(p["passed"], json!([full.seated[0]]), "organisers see who");
    assert_eq!(p["passed_count"], 1);
    assert_eq!(p["asked"]["member_id"], full.seated[1].as_str());

    // The facilitator's Growing page says the same.
    let dash = app.dashboard_as("fac@example.org").await;
    let page = dash
        .get(&format!("/dashboard/circles/{circle}/growing"))
        .await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(
        page.text()
            .contains("Asking someone who has led the circle to lead"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("1 passed so far"));
    assert!(!page.text().contains("In the order they would be asked"));
}

#[tokio::test]
async fn a_sibling_lead_reads_the_names_of_people_moved_to_them_and_their_addresses_once_they_come()
{
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;
    app.post(
        &format!("/api/v1/circles/{circle}/siblings"),
        &json!({ "lead_id": full.seated[0] }),
    )
    .await
    .expect(201);
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let link = app.link_in(mails_to(&mails, "p0@", "Would you lead")[0], "/grow/");
    app.browser(Method::POST, &link, Some(&[("answer", "accept")]))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    let sibling = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200)["proposals"][0]["sibling_id"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = mails_to(&app.sent_emails(), "p4@", "A seat for you in")[0]
        .text
        .clone();
    assert!(
        moved.contains("sees your name on Small Room II's members; your email address only once you have come to one of its sessions"),
        "{moved}"
    );

    // p0 leads the sibling: names of the people moved, no addresses.
    let (_, lead_token) = app.member_with_token("p0@example.org", false).await;
    let roster = |token: Option<String>| {
        let app = &app;
        let path = format!("/api/v1/circles/{sibling}/members?limit=200");
        async move {
            let token = token.unwrap_or_else(|| app.token.clone());
            app.request_as(Some(&token), Method::GET, &path, None)
                .await
                .expect(200)["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let theirs = roster(Some(lead_token.clone())).await;
    let moved_rows: Vec<&Value> = theirs
        .iter()
        .filter(|m| {
            full.waiting
                .contains(&m["member_id"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(moved_rows.len(), 4, "{theirs:?}");
    for m in &moved_rows {
        assert_eq!(m["email"], "", "{m}");
        assert_eq!(m["email_withheld"], true);
        assert!(!m["display_name"].as_str().unwrap().is_empty());
    }
    let lead_page = app.dashboard_as("p0@example.org").await;
    let page = lead_page
        .get(&format!("/dashboard/circles/{sibling}/members"))
        .await;
    assert!(page.text().contains("Shown once they come to a session"));
    let csv = lead_page
        .get(&format!("/dashboard/circles/{sibling}/export/members.csv"))
        .await;
    for who in ["p4@", "p5@", "p6@", "p7@"] {
        assert!(!page.text().contains(who), "{who} on the members page");
        assert!(
            !csv.text().contains(who),
            "{who} in the CSV: {}",
            csv.text()
        );
    }
    // Organisers read every address.
    let all = roster(None).await;
    assert!(all
        .iter()
        .all(|m| m["email_withheld"] == false && m["email"] != ""));

    // p4 comes to the sibling's first session: from then on the lead reads their address.
    let session = app
        .get(&format!("/api/v1/circles/{sibling}/sessions"))
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    sql(&app, &format!("UPDATE sessions SET starts_at = now() - interval '2 hours', ends_at = now() - interval '30 minutes' WHERE id = '{session}'")).await;
    app.put(
        &format!("/api/v1/sessions/{session}/attendance"),
        &json!({ "attendance": [{ "member_id": full.waiting[0], "attended": true }] }),
    )
    .await
    .expect(200);
    let theirs = roster(Some(lead_token)).await;
    let p4 = theirs
        .iter()
        .find(|m| m["member_id"] == full.waiting[0].as_str())
        .unwrap();
    assert_eq!(p4["email"], "p4@example.org");
    assert_eq!(p4["email_withheld"], false);
}

/// The letters telling someone where they stand ("You're 2nd on the waitlist for …") sent so
/// far, as (recipient, subject, text).
fn standing_letters(app: &TestApp) -> Vec<(String, String, String)> {
    app.sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("You're ") && m.subject.contains(" on the waitlist for "))
        .map(|m| (m.to, m.subject, m.text))
        .collect()
}

#[tokio::test]
async fn people_waiting_hear_where_they_stand_once_every_three_weeks_while_they_wait() {
    let app = spawn_app().await;
    let day = |d: i64| (Utc::now() + Duration::days(d)).date_naive().to_string();
    // Thursday Readers: six seats, its organiser's threshold four, w0 and w1 waiting from
    // today, and w2 as if they had joined on day 10.
    let c = app
        .create_circle(json!({ "name": "Thursday Readers", "timezone": "UTC", "capacity": 6, "grow_threshold": 4 }))
        .await;
    let circle = c["id"].as_str().unwrap().to_string();
    let mut seated = Vec::new();
    for i in 0..6 {
        let m = app
            .add_member(&circle, &format!("t{i}@example.org"))
            .await
            .expect(201);
        seated.push(m["member_id"].as_str().unwrap().to_string());
    }
    let mut waiting = Vec::new();
    for i in 0..3 {
        let m = app
            .add_member(&circle, &format!("w{i}@example.org"))
            .await
            .expect(201);
        assert_eq!(m["state"], "waitlisted");
        waiting.push(m["member_id"].as_str().unwrap().to_string());
    }
    app.schedule(&circle, json!({ "freq": "weekly", "first_date": day(2), "local_time": "18:00", "duration_minutes": 90, "count": 20 }))
        .await;
    // Closed Room: one seat, x0 waiting, archived.
    let closed = app
        .create_circle(json!({ "name": "Closed Room", "timezone": "UTC", "capacity": 1 }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_member(&closed, "c0@example.org").await.expect(201);
    let x0 = app.add_member(&closed, "x0@example.org").await.expect(201);
    assert_eq!(x0["state"], "waitlisted");
    app.schedule(&closed, json!({ "freq": "weekly", "first_date": day(2), "local_time": "18:00", "duration_minutes": 90, "count": 20 }))
        .await;
    app.post(&format!("/api/v1/circles/{closed}/archive"), &json!({}))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    assert_eq!(
        mails_to(&app.sent_emails(), "w0@", "You are on the waitlist").len(),
        1,
        "joining says where they stand"
    );
    let start = Utc::now();
    sql(
        &app,
        &format!(
            "UPDATE memberships SET waitlist_told_at = '{}' WHERE member_id = '{}'",
            (start + Duration::days(10)).to_rfc3339(),
            waiting[2]
        ),
    )
    .await;

    // Ten weeks of the clock, a tick a day, each run twice at once and once more after: w0
    // gets a seat on day 30, w1 leaves the waitlist on day 50.
    let mut got: Vec<(i64, String)> = Vec::new();
    let mut seen = 0;
    for d in 0..=70 {
        let now = start + Duration::days(d) + Duration::minutes(1);
        if d == 30 {
            app.delete(&format!("/api/v1/circles/{circle}/members/{}", seated[0]))
                .await;
        }
        if d == 50 {
            app.delete(&format!("/api/v1/circles/{circle}/members/{}", waiting[1]))
                .await;
        }
        let (mut a, mut b) = (app.conn().await, app.conn().await);
        let (x, y) = futures_util::future::join(
            roundtable::actions::growing::sweep(&mut a, now),
            roundtable::actions::growing::sweep(&mut b, now),
        )
        .await;
        let told = x.unwrap().told + y.unwrap().told + sweep_at(&app, now).await.told;
        app.run_pending_jobs().await;
        let letters = standing_letters(&app);
        assert_eq!(
            letters.len() - seen,
            told,
            "day {d}: one letter per person told"
        );
        for (to, _, _) in &letters[seen..] {
            got.push((d, to.clone()));
        }
        seen = letters.len();
    }

    let days = |who: &str| -> Vec<i64> {
        got.iter()
            .filter(|(_, to)| to.contains(who))
            .map(|(d, _)| *d)
            .collect()
    };
    assert_eq!(days("w0@"), [21], "none once seated on day 30");
    assert_eq!(days("w1@"), [21, 42], "none after leaving on day 50");
    assert_eq!(
        days("w2@"),
        [31, 52],
        "not told again within three weeks of day 10"
    );
    assert_eq!(
        days("x0@"),
        Vec::<i64>::new(),
        "an archived circle's waitlist hears nothing"
    );
    assert_eq!(got.len(), 5, "{got:?}");

    // What the first letter told w1, second in line.
    let letters = standing_letters(&app);
    let (_, subject, text) = letters
        .iter()
        .find(|(to, _, _)| to.contains("w1@"))
        .unwrap();
    assert_eq!(subject, "You're 2nd on the waitlist for Thursday Readers");
    assert!(
        text.contains("You're 2nd on the waitlist for Thursday Readers. A new circle starts when 4 are waiting (3 are now); you'll hear from us when it does."),
        "{text}"
    );
    assert!(
        text.contains("/me/"),
        "their page, to leave the waitlist: {text}"
    );

    // The same letter queued again after it was sent is not sent twice.
    let window =
        roundtable::domain::growing::tell_window(start + Duration::days(52) + Duration::minutes(1));
    let member: uuid::Uuid = waiting[2].parse().unwrap();
    let circle_id: uuid::Uuid = circle.parse().unwrap();
    let again = roundtable::jobs::email::EmailJob::waitlist_standing(
        roundtable::domain::MemberId(member),
        roundtable::domain::CircleId(circle_id),
        window,
    );
    let mut conn = app.conn().await;
    roundtable::jobs::email::enqueue(&mut conn, again)
        .await
        .unwrap();
    app.run_pending_jobs().await;
    assert_eq!(standing_letters(&app).len(), 5);
}

async fn sweep_at(
    app: &TestApp,
    now: chrono::DateTime<Utc>,
) -> roundtable::actions::growing::Swept {
    let mut conn = app.conn().await;
    roundtable::actions::growing::sweep(&mut conn, now)
        .await
        .unwrap()
}

/// Issue 25, item 9: in a rotating circle, the person who accepts to lead the sibling
/// facilitates its first sessions without being asked again; nobody moved from the waitlist
/// is asked to take a role before they came to a session; and each person moved gets one
/// letter, the seat letter, carrying their first invitation with its calendar entry.
#[tokio::test]
async fn a_rotating_sibling_is_led_first_by_its_lead_and_the_moved_get_one_letter() {
    let app = spawn_app().await;
    let full = full_circle(&app).await;
    let circle = &full.circle;
    app.patch(
        &format!("/api/v1/circles/{circle}"),
        &json!({ "facilitation": "rotating" }),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "name": "Timekeeper", "min_attended": 0 }),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/circles/{circle}/siblings"),
        &json!({ "lead_id": full.seated[1] }),
    )
    .await
    .expect(201);
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let link = app.link_in(mails_to(&mails, "p1@", "Would you lead")[0], "/grow/");
    let seen = app.sent_emails().len();
    let accepted = app
        .browser(Method::POST, &link, Some(&[("answer", "accept")]))
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.text());
    app.run_pending_jobs().await;
    let sibling = app
        .get(&format!("/api/v1/circles/{circle}/siblings"))
        .await
        .expect(200)["proposals"][0]["sibling_id"]
        .as_str()
        .unwrap()
        .to_string();

    // p1 facilitates the sibling's first two sessions, confirmed; nobody else holds a role
    // there yet (nobody has come to one of its sessions), not even the timekeeper's.
    let rota = app
        .get(&format!("/api/v1/circles/{sibling}/rota"))
        .await
        .expect(200);
    let items = rota["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for (i, s) in items.iter().enumerate() {
        for r in s["roles"].as_array().unwrap() {
            let (key, who, state) = (&r["role"], &r["member_id"], &r["state"]);
            if i < 2 && key == "facilitator" {
                assert_eq!(
                    (who.as_str(), state.as_str()),
                    (Some(full.seated[1].as_str()), Some("confirmed")),
                    "{rota}"
                );
            } else if who.as_str() != Some(full.seated[1].as_str()) {
                assert!(
                    who.is_null(),
                    "session {i}: nobody moved holds or is asked for {key}: {rota}"
                );
            }
        }
    }
    let roles = app
        .get(&format!("/api/v1/circles/{sibling}/roles"))
        .await
        .expect(200);
    for r in roles["items"].as_array().unwrap() {
        assert_eq!(r["min_attended"], 1, "{roles}");
    }

    // Each person moved gets one letter: the seat, carrying the first invitation.
    let new = &app.sent_emails()[seen..];
    for i in 4..8 {
        let theirs: Vec<&SentEmail> = new
            .iter()
            .filter(|m| m.to.contains(&format!("p{i}@")))
            .collect();
        let subjects: Vec<&str> = theirs.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(theirs.len(), 1, "p{i}: {subjects:?}");
        assert!(subjects[0].starts_with("A seat for you in Small Room II"));
        assert!(
            theirs[0].calendar.is_some(),
            "the first invitation rides along"
        );
        assert!(theirs[0].text.contains("/rsvp/"), "{}", theirs[0].text);
    }
    // p1 is not asked to facilitate what they already lead.
    assert!(
        new.iter()
            .filter(|m| m.to.contains("p1@"))
            .all(|m| !m.subject.starts_with("Would you")),
        "{:?}",
        new.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
}
