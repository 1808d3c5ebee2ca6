//! A reading split over the sessions that read it: chapters in, a plan out, boundaries moved
//! by hand, re-flow when sessions are cancelled or added (never touching a session that has
//! started), and the segment in the invitation and its calendar entry.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

fn chapters(pages: &[i64]) -> Value {
    let mut first = 1;
    let list: Vec<Value> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = json!({ "number": i + 1, "title": format!("Chapter {}", i + 1),
                            "first_page": first, "last_page": first + p - 1 });
            first += p;
            c
        })
        .collect();
    json!({ "chapters": list })
}

fn covers(plan: &Value, last: i64) -> Vec<i64> {
    let mut next = 1;
    let mut sizes = Vec::new();
    for s in plan["segments"].as_array().unwrap() {
        assert_eq!(s["from"], next, "segments follow on: {plan}");
        next = s["to"].as_i64().unwrap() + 1;
        sizes.push(s["pages"].as_i64().unwrap());
    }
    assert_eq!(next - 1, last, "every page is read: {plan}");
    sizes
}

async fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_book_is_split_over_its_sessions_and_reflows_when_they_change() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Slow Books", "timezone": "Europe/London" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.add_member(&id, "ada@example.org").await.expect(201);
    let first = (Utc::now() + Duration::days(3)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 4 }),
        )
        .await;
    let reading = app
        .post(
            &format!("/api/v1/circles/{id}/readings"),
            &json!({ "title": "Braiding Sweetgrass" }),
        )
        .await
        .expect(201);
    let rid = reading["id"].as_str().unwrap();

    let before = app.snapshot().await;
    for (body, field) in [
        (json!({ "chapters": [] }), "chapters"),
        (
            json!({ "chapters": [{ "number": 1, "first_page": 1, "last_page": 20 },
                                 { "number": 2, "first_page": 10, "last_page": 30 }] }),
            "first_page",
        ),
        (
            json!({ "contents": "1 Skywoman 1\n2 Pecans 20" }),
            "last_page",
        ),
        (json!({}), "chapters"),
    ] {
        let res = app
            .put(&format!("/api/v1/readings/{rid}/chapters"), &body)
            .await;
        assert_eq!(res.status.as_u16(), 422, "{body}");
        assert_eq!(res.body["error"]["field"], field, "{body}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused chapters change nothing"
    );

    let plan = app
        .put(
            &format!("/api/v1/readings/{rid}/chapters"),
            &chapters(&[20, 30, 25, 25, 40, 10]),
        )
        .await
        .expect(200);
    let sizes = covers(&plan, 150);
    assert_eq!(sizes.len(), 4);
    assert_eq!(
        *sizes.iter().max().unwrap(),
        50,
        "the largest session is as small as it can be"
    );
    let labels: Vec<&str> = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert!(labels[0].starts_with("Read chapter"), "{labels:?}");
    let got = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    assert_eq!(got["segments"], plan["segments"]);

    // The invitation says what to read, and so does its calendar entry.
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let invitation = mails
        .iter()
        .find(|m| m.invites() && m.to.contains("ada@example.org"))
        .expect("an invitation");
    assert!(
        invitation
            .text
            .contains(&format!("Reading: Braiding Sweetgrass. {}", labels[0])),
        "{}",
        invitation.text
    );
    let ics = &invitation.calendar.as_ref().expect("a calendar part").1;
    assert!(
        ics.contains(&format!("SUMMARY:Slow Books: {}", labels[0]).replace(',', "\\,")),
        "{ics}"
    );

    // So does the member's subscribed calendar feed.
    let holder = app.holder("ada@example.org").await;
    let feed_url = app.path_of(&app.links().calendar(holder));
    let feed = app.browser(reqwest::Method::GET, &feed_url, None).await;
    assert_eq!(feed.status.as_u16(), 200);
    let folded = feed.text().replace("\r\n ", "");
    assert!(
        folded.contains(&format!("SUMMARY:Slow Books: {}", labels[0]).replace(',', "\\,")),
        "{folded}"
    );
    assert!(folded.contains("DESCRIPTION:Reading: Read chapter"));

    // The organiser moves a boundary; a gap is refused.
    let segs = plan["segments"].as_array().unwrap();
    let moved: Vec<Value> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (from, to) = match i {
                0 => (1, 40),
                1 => (41, s["to"].as_i64().unwrap()),
                _ => (s["from"].as_i64().unwrap(), s["to"].as_i64().unwrap()),
            };
            json!({ "session_id": s["session_id"], "reading_id": s["reading_id"], "from": from, "to": to })
        })
        .collect();
    let mut gap = moved.clone();
    gap[1]["from"] = json!(45);
    let before = app.snapshot().await;
    let res = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": gap }),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(app.snapshot().await, before);
    // A segment that runs to the largest page number is refused, not a crash.
    let mut huge = moved.clone();
    let last = huge.len() - 1;
    huge[last]["to"] = json!(i32::MAX);
    let res = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": huge }),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.body);
    assert_eq!(app.snapshot().await, before);
    let plan = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": moved }),
        )
        .await
        .expect(200);
    assert_eq!(plan["segments"][0]["to"], 40);
    assert_eq!(plan["segments"][0]["pages"], 40);
    covers(&plan, 150);

    // The first session takes place; the third is cancelled: only the future re-flows.
    let s0 = sessions[0]["id"].as_str().unwrap();
    sql(&app, &format!("UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{s0}'")).await;
    let s2 = sessions[2]["id"].as_str().unwrap();
    app.post(&format!("/api/v1/sessions/{s2}/cancel"), &json!({}))
        .await
        .expect(200);
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    let segs = plan["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[0]["session_id"], s0);
    assert_eq!(
        (segs[0]["from"].clone(), segs[0]["to"].clone()),
        (json!(1), json!(40)),
        "a started session keeps its segment"
    );
    assert!(segs.iter().all(|s| s["session_id"] != s2));
    covers(&plan, 150);

    // Two more sessions: they continue the book and the rest spreads over them.
    let more = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": (Utc::now() + Duration::days(40)).date_naive().to_string(),
                    "local_time": "19:00", "duration_minutes": 90, "count": 2 }),
        )
        .await;
    assert_eq!(more[0]["reading_id"], Value::Null, "as created");
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    let segs = plan["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 5, "{plan}");
    assert_eq!(
        (segs[0]["from"].clone(), segs[0]["to"].clone()),
        (json!(1), json!(40))
    );
    let sizes = covers(&plan, 150);
    assert!(sizes[1..].iter().all(|s| *s <= 40), "{sizes:?}");
    // A moved boundary may not touch the started session.
    let mut touch: Vec<Value> = segs
        .iter()
        .map(|s| json!({ "session_id": s["session_id"], "reading_id": s["reading_id"], "from": s["from"], "to": s["to"] }))
        .collect();
    touch[0]["to"] = json!(30);
    touch[1]["from"] = json!(31);
    let res = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": touch }),
        )
        .await;
    assert_eq!(res.status.as_u16(), 409);
}

/// Make `member` hold `role` (confirmed) in `session`.
async fn holds(app: &TestApp, session: &str, circle: &str, role: &str, member: &str) {
    sql(
        app,
        &format!(
            "INSERT INTO session_roles (id, session_id, circle_id, role_key, slot, member_id, state) \
             VALUES (gen_random_uuid(), '{session}', '{circle}', '{role}', 1, '{member}', 'confirmed')"
        ),
    )
    .await;
}

#[tokio::test]
async fn the_organisations_leadership_spread_matches_a_hand_computed_fixture() {
    let app = spawn_app().await;
    let mut circles = Vec::new();
    for (name, joined_days_ago) in [("Alpha", 45), ("Beta", 100)] {
        let c = app
            .create_circle(json!({ "name": name, "timezone": "UTC" }))
            .await;
        let id = c["id"].as_str().unwrap().to_string();
        let mut members = Vec::new();
        for i in 1..=5 {
            let m = app
                .add_member(&id, &format!("{}{i}@example.org", name.to_lowercase()))
                .await
                .expect(201);
            members.push(m["member_id"].as_str().unwrap().to_string());
        }
        sql(&app, &format!("UPDATE memberships SET joined_at = now() - interval '{joined_days_ago} days' WHERE circle_id = '{id}'")).await;
        circles.push((id, members));
    }
    let (a, am) = &circles[0];
    let (b, bm) = &circles[1];
    let past = |days: i64| (Utc::now() - Duration::days(days)).date_naive().to_string();
    let a_sessions = app
        .schedule(a, json!({ "freq": "weekly", "first_date": past(40), "local_time": "19:00", "duration_minutes": 60, "count": 4 }))
        .await;
    let old = app
        .schedule(a, json!({ "freq": "weekly", "first_date": past(200), "local_time": "19:00", "duration_minutes": 60, "count": 1 }))
        .await;
    let b_sessions = app
        .schedule(b, json!({ "freq": "weekly", "first_date": past(30), "local_time": "19:00", "duration_minutes": 60, "count": 2 }))
        .await;
    app.post(
        &format!("/api/v1/circles/{a}/roles"),
        &json!({ "name": "Note-taker" }),
    )
    .await
    .expect(201);
    app.anyone_may_take_roles(a).await;
    let sid = |s: &Value| s["id"].as_str().unwrap().to_string();
    // Alpha: a1 leads three sessions, a2 one, a3 takes notes once; a5 led long ago.
    for (i, who) in [0, 0, 0, 1].iter().enumerate() {
        holds(&app, &sid(&a_sessions[i]), a, "facilitator", &am[*who]).await;
    }
    holds(&app, &sid(&a_sessions[0]), a, "note_taker", &am[2]).await;
    holds(&app, &sid(&old[0]), a, "facilitator", &am[4]).await;
    // Beta: b1 and b2 lead one each.
    holds(&app, &sid(&b_sessions[0]), b, "facilitator", &bm[0]).await;
    holds(&app, &sid(&b_sessions[1]), b, "facilitator", &bm[1]).await;

    let s = app
        .get("/api/v1/leadership?window_days=90")
        .await
        .expect(200);
    // Ten active members, four led: 0.4.
    assert_eq!(s["active_members"], 10);
    assert_eq!(s["leaders"], 4);
    assert_eq!(s["spread"], 0.4);
    // Six sessions led; the top fifth (two people) led 3 + 1 of them.
    assert_eq!(s["sessions_led"], 6);
    assert_eq!(s["top20_share"], 0.667);
    // Alpha's five joined in the window; a1, a2 and a3 held a role within five sessions.
    assert_eq!(s["newcomers"], 5);
    assert_eq!(s["newcomer_role_share"], 0.6);
    let alpha = &s["circles"][0];
    assert_eq!(alpha["name"], "Alpha");
    assert_eq!(alpha["spread"], 0.4);
    // Roles 3, 1, 1, 0, 0: pair ratios sum to 2.667 over 10 pairs.
    assert_eq!(alpha["balance"], 0.267);
    assert_eq!(s["circles"][1]["spread"], 0.4);
    assert_eq!(s["circles"][1]["balance"], 0.4);

    // A year's window counts a5's old session too.
    let year = app
        .get("/api/v1/leadership?window_days=365")
        .await
        .expect(200);
    assert_eq!(year["leaders"], 5);
    let csv = app.get("/api/v1/leadership.csv").await;
    assert_eq!(csv.status.as_u16(), 200);
    assert!(csv.text().starts_with("scope,circle_id,name"));
    assert!(
        csv.text()
            .contains("organisation,,,10,4,0.400,0.667,0.600,"),
        "{}",
        csv.text()
    );
    // The organisers' page shows the same figures, a chart with labelled axes and the CSV.
    let dash = app.dashboard_as("organiser@example.org").await;
    let page = dash.get("/dashboard/leadership").await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(
        page.text().contains("4 of 10 active members led a session"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("led 67% of the 6 sessions led"));
    // What to do next: each circle where people haven't led, named, with its rota.
    assert!(
        page.text().contains(
            "In Alpha, alpha3, alpha4 and alpha5 haven&#39;t led in the last 90 days, of 5 active members"
        ),
        "{}",
        page.text()
    );
    // The chart follows the window chosen.
    assert!(page
        .text()
        .contains("/dashboard/leadership/spread.svg?window_days=90"));
    let svg = dash.get("/dashboard/leadership/spread.svg").await;
    assert_eq!(svg.status.as_u16(), 200);
    assert!(svg.text().contains("Month") && svg.text().contains("active members"));
    let year = dash
        .get("/dashboard/leadership/spread.svg?window_days=365")
        .await;
    assert!(
        year.text().contains("the 365 days to each point"),
        "{}",
        year.text()
    );
    let latest = Utc::now().format("%b %Y").to_string();
    assert!(
        year.text().contains(&latest),
        "the latest month is labelled"
    );
    let bad = dash
        .get("/dashboard/leadership/spread.svg?window_days=0")
        .await;
    assert!(bad.status.is_client_error());
    let csv = dash.get("/dashboard/leadership.csv?window_days=90").await;
    assert!(csv.text().contains("organisation,,,10,4,0.400"));
    for bad in ["0", "731", "x"] {
        let res = app
            .get(&format!("/api/v1/leadership?window_days={bad}"))
            .await;
        assert!(res.status.is_client_error(), "{bad}");
    }

    // The chart's series, in two statements, says what twelve separate answers say.
    let ends = roundtable::http::dashboard::chart_ends(Utc::now());
    let mut conn = app.conn().await;
    let series = roundtable::views::leadership::spread_series(&mut conn, &ends, 30)
        .await
        .unwrap();
    assert_eq!(series.len(), 12);
    let mut seen_some = false;
    for (to, v) in &series {
        let one = roundtable::views::leadership::spread_until(&mut conn, 30, *to)
            .await
            .unwrap();
        assert_eq!(*v, one.spread, "at {to}");
        seen_some |= v.is_some_and(|v| v > 0.0);
    }
    assert!(seen_some, "the fixture's recent sessions show in the chart");
    drop(conn);

    // Newcomers are people, not joins: alpha1 joining Beta too is still one newcomer.
    app.add_member(b, "alpha1@example.org").await.expect(201);
    let s = app
        .get("/api/v1/leadership?window_days=90")
        .await
        .expect(200);
    assert_eq!(s["newcomers"], 5);
    // A circle where nobody led reads so, not as a perfect balance.
    let quiet = app
        .create_circle(json!({ "name": "Quiet", "timezone": "UTC" }))
        .await;
    let quiet = quiet["id"].as_str().unwrap().to_string();
    app.add_member(&quiet, "q1@example.org").await.expect(201);
    let page = dash.get("/dashboard/leadership").await;
    assert!(
        page.text()
            .contains("Quiet</a></th><td>1</td><td>0</td><td>0%</td><td>nobody has led yet</td>"),
        "{}",
        page.text()
    );
}

#[tokio::test]
async fn the_leadership_table_pages_orders_and_finds_circles() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 1..=27 {
        let c = app
            .create_circle(json!({ "name": format!("Circle {i:02}"), "timezone": "UTC" }))
            .await;
        let id = c["id"].as_str().unwrap().to_string();
        app.add_member(&id, &format!("m{i}@example.org"))
            .await
            .expect(201);
        ids.push(id);
    }
    // In Circle 07 its one member led last week: the only circle with everyone leading.
    let seven = &ids[6];
    let past = (Utc::now() - Duration::days(7)).date_naive().to_string();
    let sessions = app
        .schedule(seven, json!({ "freq": "weekly", "first_date": past, "local_time": "09:00", "duration_minutes": 60, "count": 1 }))
        .await;
    let member: Value = app
        .get(&format!("/api/v1/circles/{seven}/members"))
        .await
        .expect(200);
    let member = member["items"][0]["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    holds(
        &app,
        sessions[0]["id"].as_str().unwrap(),
        seven,
        "facilitator",
        &member,
    )
    .await;
    let dash = app.dashboard_as("organiser@example.org").await;

    // Lowest spread first, 25 to a page: Circle 07 comes last, on the second page.
    let first = dash.get("/dashboard/leadership").await;
    assert_eq!(first.status.as_u16(), 200);
    assert!(
        first
            .text()
            .contains("Circles 1 to 25 of 27, lowest spread first"),
        "{}",
        first.text()
    );
    assert!(!first.text().contains("Circle 07</a>"));
    assert!(first.text().contains("Page 1 of 2"));
    let next = "/dashboard/leadership?window_days=90&#38;q=&#38;sort=spread&#38;page=2#circles";
    assert!(first.text().contains(next), "{}", first.text());
    let second = dash
        .get("/dashboard/leadership?window_days=90&q=&sort=spread&page=2")
        .await;
    assert!(second.text().contains("Circles 26 to 27 of 27"));
    assert!(
        second
            .text()
            .contains("Circle 07</a></th><td>1</td><td>1</td><td>100%</td>"),
        "{}",
        second.text()
    );
    // The organisation's figures are the whole organisation's on every page.
    assert!(second
        .text()
        .contains("1 of 27 active members led a session"));

    // By name; and found by a part of its name.
    let by_name = dash.get("/dashboard/leadership?sort=name&page=2").await;
    assert!(by_name.text().contains("Circle 26</a>") && by_name.text().contains("Circle 27</a>"));
    assert!(!by_name.text().contains("Circle 01</a>"));
    let found = dash.get("/dashboard/leadership?q=le%2007").await;
    assert!(
        found.text().contains("Circles 1 to 1 of 1"),
        "{}",
        found.text()
    );
    assert!(found.text().contains("Circle 07</a>"));
    // A percent sign is a character to find, not a wildcard.
    let none = dash.get("/dashboard/leadership?q=%25").await;
    assert!(
        none.text()
            .contains("No circle with active members has “%” in its name"),
        "{}",
        none.text()
    );
    let past_the_end = dash.get("/dashboard/leadership?page=9").await;
    assert!(past_the_end
        .text()
        .contains("this page is past the last of them"));

    for bad in [
        "sort=spread%3B",
        "page=0",
        "page=100001",
        "page=x",
        "q=a%00b",
        "colour=red",
        "window_days=731",
    ] {
        let res = dash.get(&format!("/dashboard/leadership?{bad}")).await;
        assert!(
            matches!(res.status.as_u16(), 400 | 422),
            "{bad}: {}",
            res.status
        );
    }
}

#[tokio::test]
async fn the_discussion_lead_is_asked_for_questions_that_go_into_the_reminder() {
    use reqwest::Method;
    let app = spawn_app().await;
    let c = app
        .create_circle(json!({ "name": "Questions Club", "timezone": "UTC" }))
        .await;
    let circle = c["id"].as_str().unwrap().to_string();
    let mut people = Vec::new();
    for who in ["ada", "bo", "cy"] {
        let m = app
            .add_member(&circle, &format!("{who}@example.org"))
            .await
            .expect(201);
        people.push(m["member_id"].as_str().unwrap().to_string());
    }
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "key": "discussion_lead", "name": "Discussion lead", "rotates": false }),
    )
    .await
    .expect(201);
    let day = |d: i64| (Utc::now() + Duration::days(d)).date_naive().to_string();
    let sessions = app
        .schedule(&circle, json!({ "freq": "weekly", "first_date": day(4), "local_time": "18:00", "duration_minutes": 60, "count": 2 }))
        .await;
    let first = sessions[0]["id"].as_str().unwrap().to_string();
    let second = sessions[1]["id"].as_str().unwrap().to_string();
    for (session, who) in [(&first, &people[0]), (&second, &people[1])] {
        app.put(
            &format!("/api/v1/sessions/{session}/roles/discussion_lead"),
            &json!({ "member_id": who }),
        )
        .await
        .expect(200);
    }
    let ask = || async {
        let mut conn = app.conn().await;
        roundtable::actions::questions::ask_due(&mut conn, Utc::now())
            .await
            .unwrap()
    };
    assert_eq!(ask().await, 1, "only the session five days away or nearer");
    assert_eq!(ask().await, 0, "asked once");
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let asked: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.starts_with("Your questions for"))
        .collect();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].to.contains("ada@"));
    let link = app.link_in(asked[0], "/role/");
    let page = app.browser(Method::GET, &link, None).await;
    assert!(page.text().contains("Your questions for the discussion"));

    let before = app.snapshot().await;
    let one = app
        .browser(
            Method::POST,
            &link,
            Some(&[("action", "questions"), ("q1", "Only one?"), ("q2", " ")]),
        )
        .await;
    assert_eq!(one.status.as_u16(), 422);
    assert!(
        app.snapshot().await == before,
        "a refused answer changes nothing"
    );
    let saved = app
        .browser(
            Method::POST,
            &link,
            Some(&[
                ("action", "questions"),
                ("q1", "What does the author mean by a gift?"),
                ("q2", "Where have you seen it at work?"),
                ("q3", ""),
            ]),
        )
        .await;
    assert_eq!(saved.status.as_u16(), 200, "{}", saved.text());
    assert!(saved.text().contains("your two questions go into everyone"));
    assert!(saved
        .text()
        .contains("value=\"Where have you seen it at work?\""));

    // The session's dashboard page shows them too.
    let organiser = app.dashboard_as("organiser@example.org").await;
    let page = organiser.get(&format!("/dashboard/sessions/{first}")).await;
    assert!(
        page.text()
            .contains("Questions from ada, the discussion lead"),
        "{}",
        page.text()
    );
    assert!(
        page.text().contains(
            "<dt>Discussion lead</dt><dd>ada <span class=\"muted\">· confirmed</span></dd>"
        ),
        "every holder with where they stand: {}",
        page.text()
    );

    // The reminder carries them, to everyone.
    sql(&app, &format!("UPDATE jobs SET run_at = now() WHERE kind = 'session_fanout' AND payload->>'message' = 'reminder' AND payload->>'session_id' = '{first}'")).await;
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let reminders: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.starts_with("Reminder: Questions Club"))
        .collect();
    assert_eq!(reminders.len(), 3, "one each");
    for r in &reminders {
        assert!(
            r.text.contains("Questions from ada, the discussion lead"),
            "{}",
            r.text
        );
        assert!(r.text.contains("- What does the author mean by a gift?"));
    }

    // A new holder is asked afresh and never inherits the questions.
    app.put(
        &format!("/api/v1/sessions/{first}/roles/discussion_lead"),
        &json!({ "member_id": people[2] }),
    )
    .await
    .expect(200);
    assert_eq!(ask().await, 1, "cy is asked");
    let mut conn = app.conn().await;
    let shown = roundtable::db::roles::questions_of(
        &mut conn,
        roundtable::domain::SessionId(first.parse().unwrap()),
    )
    .await
    .unwrap();
    assert!(shown.is_none(), "ada's questions are not cy's");
}

#[tokio::test]
async fn a_discussion_lead_asked_by_the_rota_gets_one_email_and_a_swap_taker_is_still_asked() {
    use reqwest::Method;
    let app = spawn_app().await;
    let c = app
        .create_circle(
            json!({ "name": "Question Turns", "timezone": "UTC", "facilitation": "rotating" }),
        )
        .await;
    let circle = c["id"].as_str().unwrap().to_string();
    for who in ["ada", "bo", "cy", "di"] {
        app.add_member(&circle, &format!("{who}@example.org"))
            .await
            .expect(201);
    }
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "key": "discussion_lead", "name": "Discussion lead" }),
    )
    .await
    .expect(201);
    app.anyone_may_take_roles(&circle).await;
    let day = (Utc::now() + Duration::days(4)).date_naive().to_string();
    app.schedule(&circle, json!({ "freq": "weekly", "first_date": day, "local_time": "18:00", "duration_minutes": 60, "count": 1 }))
        .await;
    app.run_pending_jobs().await;

    // The rota asks someone to lead the discussion; the ask says what that brings, and where.
    let mails = app.sent_emails();
    let ask = mails
        .iter()
        .find(|m| m.subject.starts_with("Would you be the discussion lead on"))
        .expect("the rota asks a discussion lead");
    assert!(
        ask.text
            .contains("brings two or three questions about the reading"),
        "{}",
        ask.text
    );
    assert!(ask.text.contains("write them on your role page"));
    let lead = ask.to.rsplit('<').next().unwrap().trim_end_matches('>');
    let lead = lead.to_string();
    let role_link = app.link_in(ask, "/role/");
    let accepted = app
        .browser(
            Method::POST,
            &role_link,
            Some(&[("action", "accept"), ("feedback", "anonymous")]),
        )
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.text());
    assert!(accepted
        .text()
        .contains("Write your two or three questions below"));
    assert!(accepted
        .text()
        .contains("Your questions for the discussion"));

    // The clock ticks (its questions task among the rest), then the session's reminder goes.
    let mut conn = app.conn().await;
    roundtable::jobs::clock::schedule(&mut conn, Utc::now())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    let before_reminder: Vec<String> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.to.contains(&lead))
        .map(|m| m.subject)
        .collect();
    let about_the_role: Vec<&String> = before_reminder
        .iter()
        .filter(|s| !s.starts_with("Welcome to") && !s.starts_with("Invitation:"))
        .collect();
    assert_eq!(
        about_the_role.len(),
        1,
        "one email, not two: {before_reminder:?}"
    );
    assert!(about_the_role[0].starts_with("Would you be the discussion lead on"));
    assert_eq!(
        before_reminder.len(),
        2,
        "a welcome carrying the invitation, and the ask: {before_reminder:?}"
    );
    sql(&app, "UPDATE jobs SET run_at = now() WHERE kind = 'session_fanout' AND payload->>'message' = 'reminder'").await;
    app.run_pending_jobs().await;
    let reminded = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.to.contains(&lead) && m.subject.starts_with("Reminder:"))
        .count();
    assert_eq!(reminded, 1);

    // The lead asks for a swap; whoever takes it did not get that ask, so they are asked.
    let swap = app
        .browser(Method::POST, &role_link, Some(&[("action", "swap")]))
        .await;
    assert_eq!(swap.status.as_u16(), 200, "{}", swap.text());
    app.run_pending_jobs().await;
    let offers: Vec<_> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("Could you take over"))
        .collect();
    let mut taker = None;
    for offer in &offers {
        let link = app.link_in(offer, "/swap/");
        let res = app
            .browser(Method::POST, &link, Some(&[("action", "take")]))
            .await;
        if res.status.as_u16() == 200 {
            taker = Some(offer.to.clone());
            break;
        }
    }
    let taker = taker.expect("someone free takes the swap");
    assert_eq!(
        roundtable::actions::questions::ask_due(&mut conn, Utc::now())
            .await
            .unwrap(),
        1,
        "the new holder is asked"
    );
    app.run_pending_jobs().await;
    let asked: Vec<String> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("Your questions for"))
        .map(|m| m.to)
        .collect();
    assert_eq!(asked, [taker]);
}

#[tokio::test]
async fn organisers_paste_chapters_and_move_a_boundary_from_the_dashboard() {
    let app = spawn_app().await;
    let c = app
        .create_circle(json!({ "name": "Dashboard Books", "timezone": "UTC" }))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let reading = app
        .post(
            &format!("/api/v1/circles/{id}/readings"),
            &json!({ "title": "Braiding Sweetgrass" }),
        )
        .await
        .expect(201);
    let rid = reading["id"].as_str().unwrap().to_string();
    let day = |d: i64| (Utc::now() + Duration::days(d)).date_naive().to_string();
    app.schedule(&id, json!({ "freq": "weekly", "first_date": day(7), "local_time": "19:00", "duration_minutes": 60, "count": 3 }))
        .await;
    let organiser = app.dashboard_as("organiser@example.org").await;

    let before = app.snapshot().await;
    let bad = organiser
        .post(
            &format!("/dashboard/readings/{rid}/chapters"),
            &[
                ("contents", "1 One 1\n2 Two 40\n3 Three 80"),
                ("last_page", "ten"),
            ],
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422);
    // The form comes back open, as typed, with the problem beside it.
    let html = bad.text();
    assert!(
        html.contains("Not saved: the last page must be the book&#39;s last page, a number."),
        "{html}"
    );
    assert!(html.contains("<details open>"), "{html}");
    assert!(
        html.contains(">1 One 1\n2 Two 40\n3 Three 80</textarea>"),
        "{html}"
    );
    assert!(html.contains("value=\"ten\""), "{html}");
    assert!(
        app.snapshot().await == before,
        "a refused form changes nothing"
    );

    let saved = organiser
        .post(
            &format!("/dashboard/readings/{rid}/chapters"),
            &[
                ("contents", "1 One 1\n2 Two 40\n3 Three 80"),
                ("last_page", "120"),
            ],
        )
        .await;
    assert_eq!(saved.status.as_u16(), 303);
    let res = organiser
        .get(&format!("/dashboard/circles/{id}/readings"))
        .await;
    let page = res.text();
    assert!(page.contains("3 chapters, pp. 1–120"), "{page}");
    assert!(page.contains("Reading plan"));
    // The chapters box shows what the reading has; the plan shows where chapters end, to
    // choose a boundary from.
    assert!(
        page.contains(">1 One 1–39\n2 Two 40–79\n3 Three 80–120</textarea>"),
        "{page}"
    );
    assert!(page.contains("chapters end on p. 39"), "{page}");
    assert!(
        page.contains(&format!("list=\"ends-{rid}\""))
            && page.contains("label=\"end of chapter 2, 2 Two\""),
        "{page}"
    );
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    let segs = plan["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(covers(&plan, 120), vec![39, 40, 41]);
    let field = |i: usize| {
        format!(
            "to:{}:{}",
            segs[i]["session_id"].as_str().unwrap(),
            segs[i]["reading_id"].as_str().unwrap()
        )
    };

    // Moving the first boundary to page 20 gives the second session pages 21–79.
    let (f0, f1) = (field(0), field(1));
    let moved = organiser
        .post(
            &format!("/dashboard/circles/{id}/reading-plan"),
            &[(f0.as_str(), "20"), (f1.as_str(), "79")],
        )
        .await;
    assert_eq!(moved.status.as_u16(), 303, "{}", moved.text());
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    assert_eq!(covers(&plan, 120), vec![20, 59, 41]);
    assert_eq!(plan["segments"][1]["uneven"], false);
    let page = organiser
        .get(&format!("/dashboard/circles/{id}/readings"))
        .await;
    assert!(page.text().contains("value=\"20\""));

    // An end before the start, or not a number, is refused and changes nothing.
    let before = app.snapshot().await;
    for value in ["abc", "0"] {
        let res = organiser
            .post(
                &format!("/dashboard/circles/{id}/reading-plan"),
                &[(f0.as_str(), value)],
            )
            .await;
        assert_eq!(res.status.as_u16(), 422, "{value}: {}", res.text());
        assert!(res.text().contains("Not saved") || res.text().contains("not a page number"));
        // The typed value stays, on the row marked to check.
        assert!(
            res.text().contains(&format!(
                "value=\"{value}\" list=\"ends-{rid}\" aria-invalid=\"true\""
            )),
            "{}",
            res.text()
        );
    }
    assert!(app.snapshot().await == before);
}

#[tokio::test]
async fn chapters_pasted_before_any_session_are_split_over_the_sessions_scheduled_later() {
    let app = spawn_app().await;
    let c = app
        .create_circle(json!({ "name": "Early Books", "timezone": "UTC" }))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    app.add_member(&id, "ada@example.org").await.expect(201);
    let reading = app
        .post(
            &format!("/api/v1/circles/{id}/readings"),
            &json!({ "title": "Braiding Sweetgrass" }),
        )
        .await
        .expect(201);
    let rid = reading["id"].as_str().unwrap().to_string();
    let organiser = app.dashboard_as("organiser@example.org").await;
    let contents = "1 One 1\n2 Two 21\n3 Three 41\n4 Four 61\n5 Five 81\n6 Six 101";
    let saved = organiser
        .post(
            &format!("/dashboard/readings/{rid}/chapters"),
            &[("contents", contents), ("last_page", "120")],
        )
        .await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.text());
    assert_eq!(
        crate::helpers::note_of(&saved),
        "Saved 6 chapters. No session reads this reading yet."
    );
    let flag = "No session reads this yet.";
    let page = organiser
        .get(&format!("/dashboard/circles/{id}/readings"))
        .await;
    assert!(page.text().contains(flag), "{}", page.text());
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    assert_eq!(plan["segments"], json!([]), "nothing to split over yet");
    app.run_pending_jobs().await;
    let welcomed = app.sent_emails().len();
    assert_eq!(welcomed, 1, "ada's welcome");

    let first = (Utc::now() + Duration::days(3)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 6 }),
        )
        .await;
    assert_eq!(sessions.len(), 6);

    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    assert_eq!(covers(&plan, 120), vec![20; 6], "{plan}");
    let segs = plan["segments"].as_array().unwrap();
    for (i, (seg, session)) in segs.iter().zip(&sessions).enumerate() {
        assert_eq!(seg["session_id"], session["id"], "in session order");
        assert_eq!(seg["reading_id"], rid.as_str());
        let part = format!("Read chapter {} (pp. ", i + 1);
        assert!(seg["label"].as_str().unwrap().starts_with(&part), "{seg}");
        let sid = session["id"].as_str().unwrap();
        let stored = app
            .get(&format!("/api/v1/sessions/{sid}"))
            .await
            .expect(200);
        assert_eq!(stored["reading_id"], rid.as_str(), "every session reads it");
    }
    let page = organiser
        .get(&format!("/dashboard/circles/{id}/readings"))
        .await;
    assert!(!page.text().contains(flag), "{}", page.text());
    assert!(page
        .text()
        .contains("Read chapter 6 (pp. 101–120, 20 pages)"));

    // One email: the first session's invitation (three days away, inside the week's lead);
    // the other five wait for theirs. It says which part to read.
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    assert_eq!(
        mails.len() - welcomed,
        1,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let invitation = mails.last().unwrap();
    assert!(
        invitation.subject.starts_with("Invitation"),
        "{}",
        invitation.subject
    );
    assert!(
        invitation
            .text
            .contains("Reading: Braiding Sweetgrass. Read chapter 1 (pp. 1–20, 20 pages)"),
        "{}",
        invitation.text
    );
}
