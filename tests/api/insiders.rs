//! Shared leadership tried by the people its promises protect against: a curious lead, a
//! member who left, someone who clicks too often, a careless export. Each test reproduces a
//! defect found that way and shows it closed.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

async fn sql(app: &TestApp, statement: &str) {
    diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut app.conn().await)
        .await
        .unwrap();
}

/// A circle of `n` members in London with `sessions` weekly sessions at 19:00 from `first`.
async fn london_circle(app: &TestApp, name: &str, first: &str, sessions: i64) -> String {
    let circle = app
        .create_circle(json!({ "name": name, "timezone": "Europe/London" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.schedule(
        &id,
        json!({ "freq": "weekly", "first_date": first, "local_time": "19:00",
                "duration_minutes": 90, "count": sessions }),
    )
    .await;
    id
}

/// The ids of a circle's sessions, in time order.
async fn sessions_of(app: &TestApp, circle: &str) -> Vec<String> {
    app.get(&format!("/api/v1/circles/{circle}/sessions"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Add `names` (as name@example.org) to a circle; their member ids, in order.
async fn members_of(app: &TestApp, circle: &str, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for who in names {
        let m = app
            .add_member(circle, &format!("{who}@example.org"))
            .await
            .expect(201);
        ids.push(m["member_id"].as_str().unwrap().to_string());
    }
    ids
}

#[tokio::test]
async fn a_welcome_through_the_worker_reads_in_the_circles_zone_in_separate_paragraphs() {
    let app = spawn_app().await;
    // Summer: 19:00 in London is 18:00 UTC, so a welcome in UTC would say so.
    let plain = london_circle(&app, "Summer Reading", "2027-07-01", 2).await;
    let agreed = london_circle(&app, "Agreed Reading", "2027-07-02", 2).await;
    sql(
        &app,
        &format!(
            "WITH a AS (INSERT INTO agreements (id, circle_id, title, status, current_version, adopted_version, adopted_at) \
             VALUES (gen_random_uuid(), '{agreed}', 'We start on time', 'adopted', 1, 1, now()) RETURNING id) \
             INSERT INTO agreement_versions (agreement_id, version, body) SELECT id, 1, 'We begin at the hour.' FROM a"
        ),
    )
    .await;
    app.add_member(&plain, "ada@example.org").await.expect(201);
    app.add_member(&agreed, "bo@example.org").await.expect(201);
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let welcome = |to: &str, circle: &str| {
        mails
            .iter()
            .find(|m| m.to.contains(to) && m.subject == format!("Welcome to {circle}"))
            .unwrap_or_else(|| panic!("a welcome to {to}"))
            .text
            .replace("\r\n", "\n")
    };

    let ada = welcome("ada@", "Summer Reading");
    assert!(
        ada.contains("Thursday 1 July 2027, 19:00–20:30 (Europe/London)"),
        "the circle's zone, not UTC:\n{ada}"
    );
    assert!(!ada.contains("UTC"), "{ada}");
    assert!(
        ada.contains(".ics)\n\nIn Roundtable circles"),
        "without agreements the calendar and the next paragraph stay apart:\n{ada}"
    );

    let bo = welcome("bo@", "Agreed Reading");
    assert!(
        bo.contains("Friday 2 July 2027, 19:00–20:30 (Europe/London)"),
        "{bo}"
    );
    assert!(
        bo.contains(".ics)\n\nThe circle's agreements, adopted by consent:\n- We start on time: We begin at the hour.\n"),
        "{bo}"
    );
    assert!(bo.contains("\n\nIn Roundtable circles"), "{bo}");
    for text in [&ada, &bo] {
        assert!(!text.contains("\n\n\n"), "no empty paragraphs:\n{text}");
    }
}

#[tokio::test]
async fn a_circle_name_cannot_put_a_formula_into_the_leadership_spreadsheet() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Quiet Room", "timezone": "UTC" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let (fac, token) = app.member_with_token("fac@example.org", false).await;
    app.add_member(&id, "fac@example.org").await.expect(201);
    app.patch(
        &format!("/api/v1/circles/{id}/members/{fac}"),
        &json!({ "role": "facilitator" }),
    )
    .await
    .expect(200);
    // The facilitator renames their circle to a formula.
    let formula = "=HYPERLINK(\"http://evil.example\",\"Click\")";
    let renamed = app
        .request_as(
            Some(&token),
            Method::PATCH,
            &format!("/api/v1/circles/{id}"),
            Some(&json!({ "name": formula })),
        )
        .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.body);

    let api = app.get("/api/v1/leadership.csv").await;
    let dash = app
        .dashboard_as("organiser@example.org")
        .await
        .get("/dashboard/leadership.csv?window_days=90")
        .await;
    for csv in [api.text(), dash.text()] {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let names: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[2].to_string())
            .filter(|n| n.contains("HYPERLINK"))
            .collect();
        assert_eq!(names.len(), 1, "{csv}");
        assert!(
            names[0].starts_with('\''),
            "a spreadsheet reads the name as text: {csv}"
        );
        for record in csv::Reader::from_reader(csv.as_bytes()).records() {
            for cell in record.unwrap().iter() {
                assert!(
                    !cell.starts_with(['=', '+', '@', '\t', '\r']),
                    "{cell:?} in {csv}"
                );
            }
        }
    }
}

/// A uuid from the first row of a query with a column `id`.
async fn id_of(app: &TestApp, query: &str) -> uuid::Uuid {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let row: Row =
        diesel_async::RunQueryDsl::get_result(diesel::sql_query(query), &mut app.conn().await)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
    row.id
}

#[tokio::test]
async fn nul_control_characters_and_far_dates_are_refused_with_a_4xx_everywhere() {
    let app = spawn_app().await;
    let first = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let circle = london_circle(&app, "Odd Input", &first.to_string(), 2).await;
    let sessions = sessions_of(&app, &circle).await;
    let (s0, s1) = (sessions[0].clone(), sessions[1].clone());
    let ids = members_of(&app, &circle, &["ada", "bo", "cy"]).await;
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "name": "Discussion lead" }),
    )
    .await
    .expect(201);
    app.put(
        &format!("/api/v1/sessions/{s1}/roles/discussion_lead"),
        &json!({ "member_id": ids[0] }),
    )
    .await
    .expect(200);
    // Ada led the first session, which is over.
    app.put(
        &format!("/api/v1/sessions/{s0}/roles/facilitator"),
        &json!({ "member_id": ids[0] }),
    )
    .await
    .expect(200);
    sql(&app, &format!("UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{s0}'")).await;
    sql(
        &app,
        &format!("UPDATE rsvps SET attended = true WHERE session_id = '{s0}'"),
    )
    .await;
    sql(&app, &format!(
        "INSERT INTO feedback_requests (id, session_id, circle_id, subject_id, role_key, mode, min_answers, closes_at) \
         VALUES (gen_random_uuid(), '{s0}', '{circle}', '{}', 'facilitator', 'anonymous', 3, now() + interval '7 days')",
        ids[0]
    )).await;
    let reading = app
        .post(
            &format!("/api/v1/circles/{circle}/readings"),
            &json!({ "title": "Middlemarch" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let agreement = app
        .post(
            &format!("/api/v1/circles/{circle}/agreements"),
            &json!({ "title": "We start on time", "body": "At the hour." }),
        )
        .await
        .expect(201);
    let round = agreement["rounds"][0]["id"].as_str().unwrap().to_string();
    app.run_pending_jobs().await;

    let links = app.links();
    let now = chrono::Utc::now();
    let later = now + chrono::Duration::days(7);
    let (ada, bo) = (
        app.holder("ada@example.org").await,
        app.holder("bo@example.org").await,
    );
    let role = id_of(&app, &format!("SELECT id FROM session_roles WHERE session_id = '{s1}' AND role_key = 'discussion_lead'")).await;
    let request = id_of(&app, "SELECT id FROM feedback_requests").await;
    let role_link = app.path_of(&links.role(ada, role, later));
    let handoff_link = app.path_of(&links.handoff(ada, uuid::Uuid::parse_str(&s0).unwrap(), now));
    let feedback_link = app.path_of(&links.feedback(bo, request, later));
    let consent_link =
        app.path_of(&links.consent(bo, uuid::Uuid::parse_str(&round).unwrap(), later));
    let reflect_link = app.path_of(&links.reflect(bo, uuid::Uuid::parse_str(&s0).unwrap(), now));
    let me_link = app.path_of(&links.me(bo, now));
    let dash = app.dashboard_as("organiser@example.org").await;
    let before = app.snapshot().await;

    let nul = "Chapter\u{0}one";
    let api: Vec<(reqwest::Method, String, serde_json::Value, &str)> = vec![
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({ "name": nul }),
            "name",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({ "name": "Scribe\nNotes" }),
            "name",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({ "name": "Scribe", "guide": nul }),
            "guide",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/roles/discussion_lead"),
            json!({ "guide": nul }),
            "guide",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/agreements"),
            json!({ "title": nul, "body": "x" }),
            "title",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/agreements"),
            json!({ "title": "Two\u{1b}lines", "body": "x" }),
            "title",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/agreements"),
            json!({ "title": "Phones", "body": nul }),
            "body",
        ),
        (
            Method::POST,
            format!(
                "/api/v1/agreements/{}/versions",
                agreement["id"].as_str().unwrap()
            ),
            json!({ "body": "x", "note": nul }),
            "note",
        ),
        (
            Method::PUT,
            format!("/api/v1/readings/{reading}/chapters"),
            json!({ "chapters": [{ "number": 1, "title": nul, "first_page": 1, "last_page": 9 }] }),
            "title",
        ),
        (
            Method::PUT,
            format!("/api/v1/readings/{reading}/chapters"),
            json!({ "contents": "1 Intro\u{0} 1-9", "last_page": 9 }),
            "contents",
        ),
        (
            Method::PUT,
            format!("/api/v1/circles/{circle}/agenda"),
            json!({ "enabled": true, "rounds": [{ "kind": "check_in", "prompt": nul, "minutes": 5 }] }),
            "prompt",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}"),
            json!({ "description": nul }),
            "description",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}"),
            json!({ "location": "Room\u{0}4" }),
            "location",
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{s1}"),
            json!({ "location": "Room\u{0}4" }),
            "location",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/readings"),
            json!({ "title": nul }),
            "title",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/readings"),
            json!({ "title": "M", "notes": nul }),
            "notes",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/siblings"),
            json!({ "name": "Small\u{0}Room" }),
            "name",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/members/{}", ids[1]),
            json!({ "rotation": { "paused_until": "-200000-01-01" } }),
            "paused_until",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/members/{}", ids[1]),
            json!({ "rotation": { "paused_until": "+200000-01-01" } }),
            "paused_until",
        ),
        (
            Method::GET,
            format!("/api/v1/circles/{circle}/sessions?from=-200000-01-01T00:00:00Z"),
            json!(null),
            "from",
        ),
    ];
    for (method, path, body, field) in &api {
        let body = (!body.is_null()).then_some(body);
        let res = app
            .request_as(Some(&app.token), method.clone(), path, body)
            .await;
        assert!(
            res.status.is_client_error(),
            "{method} {path} {body:?}: {} {}",
            res.status,
            res.body
        );
        assert!(
            res.body.to_string().contains(field),
            "{method} {path}: the error names {field}: {}",
            res.body
        );
    }

    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            role_link.clone(),
            vec![
                ("action", "questions"),
                ("q1", nul),
                ("q2", "Why?"),
                ("q3", ""),
            ],
        ),
        (
            handoff_link,
            vec![("stopped_at", nul), ("visibility", "circle")],
        ),
        (
            feedback_link,
            vec![("helped", nul), ("try_next", ""), ("rating", "")],
        ),
        (
            consent_link,
            vec![
                ("action", "answer"),
                ("stance", "objection"),
                ("reason", nul),
            ],
        ),
        (reflect_link, vec![("body", nul), ("visibility", "private")]),
        (
            format!("{me_link}/circles/{circle}/agreements"),
            vec![("title", nul), ("body", "x")],
        ),
        (
            format!("{me_link}/circles/{circle}/agreements"),
            vec![("title", "Quiet"), ("body", nul)],
        ),
        (
            format!("{me_link}/rotation"),
            vec![
                ("circle_id", &circle),
                ("opted_in", "on"),
                ("paused_until", "-200000-01-01"),
            ],
        ),
    ];
    for (path, form) in &forms {
        let res = app.browser(Method::POST, path, Some(form)).await;
        assert!(
            res.status.is_client_error(),
            "{path} {form:?}: {} {}",
            res.status,
            res.text()
        );
    }
    let dashboard: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/dashboard/circles/{circle}/roles"),
            vec![("name", nul), ("slots", "1"), ("min_attended", "0")],
        ),
        (
            format!("/dashboard/readings/{reading}/chapters"),
            vec![("contents", "1 Intro\u{0} 1-9"), ("last_page", "9")],
        ),
        (
            format!("/dashboard/circles/{circle}/agenda"),
            vec![
                ("enabled", "on"),
                ("kind_0", "check_in"),
                ("prompt_0", nul),
                ("minutes_0", "5"),
            ],
        ),
        (
            format!("/dashboard/circles/{circle}/siblings"),
            vec![("name", "Small\u{0}Room"), ("lead_id", "")],
        ),
    ];
    for (path, form) in &dashboard {
        let res = dash.post(path, form).await;
        assert!(
            !res.status.is_server_error(),
            "{path} {form:?}: {} {}",
            res.status,
            res.text()
        );
    }
    assert_eq!(app.snapshot().await, before, "nothing was stored");
}

/// A form's fields, as a browser sends them.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// Put `who` in `session`'s `role` directly.
async fn assign(app: &TestApp, session: &str, role: &str, who: &str) {
    app.put(
        &format!("/api/v1/sessions/{session}/roles/{role}"),
        &json!({ "member_id": who }),
    )
    .await
    .expect(200);
}

/// "member/state" of `session`'s `key` slot.
async fn slot(app: &TestApp, session: &str, key: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let v: V = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT coalesce(member_id::text, '') || '/' || state AS v FROM session_roles \
             WHERE session_id = '{session}' AND role_key = '{key}'"
        )),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    v.v
}

#[tokio::test]
async fn someone_who_left_acts_through_no_link_and_their_coming_roles_open_again() {
    let app = spawn_app().await;
    let first = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    // A circle whose facilitation is fixed: leaving must release roles here too.
    let circle = london_circle(&app, "Fixed Hands", &first.to_string(), 3).await;
    let sessions = sessions_of(&app, &circle).await;
    let ids = members_of(&app, &circle, &["ada", "bo", "cy", "di"]).await;
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "name": "Discussion lead" }),
    )
    .await
    .expect(201);
    // Ada led the first session (now over), leads the third and is the second's discussion
    // lead; Cy facilitates the second, and asks for a swap.
    assign(&app, &sessions[0], "facilitator", &ids[0]).await;
    assign(&app, &sessions[1], "discussion_lead", &ids[0]).await;
    assign(&app, &sessions[2], "facilitator", &ids[0]).await;
    assign(&app, &sessions[1], "facilitator", &ids[2]).await;
    sql(&app, &format!("UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{}'", sessions[0])).await;
    let role_of = |session: &str, key: &str| {
        format!(
            "SELECT id FROM session_roles WHERE session_id = '{session}' AND role_key = '{key}'"
        )
    };
    let questions_role = id_of(&app, &role_of(&sessions[1], "discussion_lead")).await;
    let cy_role = id_of(&app, &role_of(&sessions[1], "facilitator")).await;
    let links = app.links();
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let ada = app.holder("ada@example.org").await;
    let ada_role = app.path_of(&links.role(ada, questions_role, later));
    let ada_handoff = app.path_of(&links.handoff(
        ada,
        uuid::Uuid::parse_str(&sessions[0]).unwrap(),
        chrono::Utc::now(),
    ));
    let cy_role_link = app.path_of(&links.role(app.holder("cy@example.org").await, cy_role, later));
    app.browser(Method::POST, &cy_role_link, Some(&[("action", "swap")]))
        .await
        .expect(200);
    let swap = id_of(&app, "SELECT id FROM swap_requests").await;
    let bo_swap = app.path_of(&links.swap(app.holder("bo@example.org").await, swap, later));
    app.run_pending_jobs().await;

    // Ada and Bo leave (an organiser removes them).
    for who in [&ids[0], &ids[1]] {
        app.delete(&format!("/api/v1/circles/{circle}/members/{who}"))
            .await
            .expect(200);
    }
    app.run_pending_jobs().await;

    // Leaving opened Ada's coming roles, though the circle's facilitation is fixed.
    assert_eq!(slot(&app, &sessions[1], "discussion_lead").await, "/open");
    assert_eq!(slot(&app, &sessions[2], "facilitator").await, "/open");
    let third = app
        .get(&format!("/api/v1/sessions/{}", sessions[2]))
        .await
        .expect(200);
    assert!(third["facilitator_id"].is_null(), "{third}");
    assert_eq!(
        slot(&app, &sessions[0], "facilitator").await,
        format!("{}/confirmed", ids[0]),
        "a session that took place keeps who led it"
    );

    let before = app.snapshot().await;
    let sent = app.sent_emails().len();
    let attempts: Vec<(Method, String, Form)> = vec![
        (Method::GET, ada_role.clone(), vec![]),
        (
            Method::POST,
            ada_role.clone(),
            vec![("action", "questions"), ("q1", "Why?"), ("q2", "How?")],
        ),
        (Method::POST, ada_role.clone(), vec![("action", "swap")]),
        (Method::POST, ada_role.clone(), vec![("action", "decline")]),
        (Method::GET, ada_handoff.clone(), vec![]),
        (
            Method::POST,
            ada_handoff.clone(),
            vec![("stopped_at", "Chapter 3"), ("visibility", "circle")],
        ),
        (Method::GET, bo_swap.clone(), vec![]),
        (Method::POST, bo_swap.clone(), vec![("action", "take")]),
    ];
    for (method, path, form) in &attempts {
        let res = app
            .browser(
                method.clone(),
                path,
                (!form.is_empty()).then_some(&form[..]),
            )
            .await;
        assert_eq!(
            res.status.as_u16(),
            410,
            "{method} {path} {form:?}: {}",
            res.text()
        );
        assert!(
            res.text().contains("no longer a member of this circle"),
            "{}",
            res.text()
        );
        assert!(
            !res.text().contains("Fixed Hands") && !res.text().contains("Discussion lead"),
            "someone who left is shown nothing of the circle: {}",
            res.text()
        );
    }
    app.run_pending_jobs().await;
    assert_eq!(app.snapshot().await, before, "nothing was saved or opened");
    assert_eq!(app.sent_emails().len(), sent, "and nobody was mailed");
}

#[tokio::test]
async fn a_member_retires_the_links_in_their_email_and_a_used_sign_in_link_retires_the_others() {
    let app = spawn_app().await;
    let first = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let circle = london_circle(&app, "Old Links", &first.to_string(), 1).await;
    let session = sessions_of(&app, &circle).await.remove(0);
    app.add_member(&circle, "ada@example.org").await.expect(201);
    app.add_member(&circle, "bo@example.org").await.expect(201);
    let agreement = app
        .post(
            &format!("/api/v1/circles/{circle}/agreements"),
            &json!({ "title": "We start on time", "body": "At the hour." }),
        )
        .await
        .expect(201);
    let round = uuid::Uuid::parse_str(agreement["rounds"][0]["id"].as_str().unwrap()).unwrap();
    let session_id = uuid::Uuid::parse_str(&session).unwrap();
    app.run_pending_jobs().await;

    let links = app.links();
    let now = chrono::Utc::now();
    let later = now + chrono::Duration::days(30);
    let ada = app.holder("ada@example.org").await;
    let old = [
        app.path_of(&links.rsvp(ada, session_id, later, None)),
        app.path_of(&links.consent(ada, round, later)),
        app.path_of(&links.agenda(ada, session_id, later)),
        app.path_of(&links.me(ada, now)),
    ];
    let unsubscribe = app.path_of(&links.unsubscribe(ada));
    let calendar = app.path_of(&links.calendar(ada));
    let bo_rsvp =
        app.path_of(&links.rsvp(app.holder("bo@example.org").await, session_id, later, None));
    for path in old.iter().chain([&unsubscribe, &calendar, &bo_rsvp]) {
        let res = app.browser(Method::GET, path, None).await;
        assert_eq!(res.status.as_u16(), 200, "{path} works before");
    }

    let sent = app.sent_emails().len();
    let res = app
        .browser(Method::POST, &format!("{}/links", old[3]), None)
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    assert!(res
        .text()
        .contains("A fresh link to your page is on its way to ada@example.org"));
    for path in &old {
        let res = app.browser(Method::GET, path, None).await;
        assert_eq!(res.status.as_u16(), 410, "{path} is retired");
    }
    for path in [&unsubscribe, &calendar, &bo_rsvp] {
        let res = app.browser(Method::GET, path, None).await;
        assert_eq!(res.status.as_u16(), 200, "{path} still works");
    }
    app.run_pending_jobs().await;
    let mails: Vec<_> = app.sent_emails().into_iter().skip(sent).collect();
    assert_eq!(mails.len(), 1, "one email: the fresh link");
    assert!(mails[0].to.contains("ada@example.org"));
    let fresh = app.link_in(&mails[0], "/me/");
    assert_eq!(
        app.browser(Method::GET, &fresh, None).await.status.as_u16(),
        200
    );

    // Two sign-in links in an inbox: using the newer one retires the older.
    let client = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let mut conn = app.conn().await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let token = roundtable::secrets::random_token(32);
        roundtable::db::logins::create(
            &mut conn,
            app.organiser_id,
            &roundtable::secrets::hash_token(&token),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        tokens.push(token);
    }
    let sign_in = |token: &str| {
        let url = format!("{}/login/{token}", app.address);
        let origin = app.address.clone();
        async move {
            client()
                .post(url)
                .header("Origin", origin)
                .form(&[("next", "/dashboard")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(sign_in(&tokens[1]).await, 303, "the newer link signs in");
    assert_eq!(
        sign_in(&tokens[0]).await,
        410,
        "the older one no longer does"
    );
}

#[tokio::test]
async fn one_member_cannot_mail_the_whole_circle_again_and_again() {
    let app = spawn_app().await;
    // Far enough that no reminder goes within two days, whatever the time of day: each
    // round's letter then comes on its own (it would ride with a reminder due sooner).
    let first = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive();
    let circle = london_circle(&app, "Calm Inbox", &first.to_string(), 1).await;
    members_of(&app, &circle, &["ada", "bo", "cy", "di"]).await;
    app.run_pending_jobs().await;
    let now = chrono::Utc::now();
    let me = |who: &'static str| {
        let app = &app;
        async move {
            let holder = app.holder(&format!("{who}@example.org")).await;
            app.path_of(&app.links().me(holder, now))
        }
    };
    let propose = |path: String, title: &'static str| {
        let app = &app;
        let circle = circle.clone();
        async move {
            app.browser(
                Method::POST,
                &format!("{path}/circles/{circle}/agreements"),
                Some(&[("title", title), ("body", "As it says.")]),
            )
            .await
        }
    };
    let rounds_mailed = |app: &TestApp| {
        app.sent_emails()
            .iter()
            .filter(|m| m.subject.starts_with("Consent round:"))
            .count()
    };

    let bo = me("bo").await;
    let res = propose(bo.clone(), "Phones away").await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    app.run_pending_jobs().await;
    assert_eq!(
        rounds_mailed(&app),
        4,
        "one round: every active member asked once"
    );

    // Bo again, with the first still open: refused, saying why and until when.
    let before = app.snapshot().await;
    for title in ["Phones away again", "Tea at seven", "Start on time"] {
        let res = propose(bo.clone(), title).await;
        assert_eq!(res.status.as_u16(), 429, "{}", res.text());
        assert!(
            res.text()
                .contains("Your proposal “Phones away” is still in its consent round"),
            "{}",
            res.text()
        );
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused proposals change nothing"
    );

    // Two more people propose: three rounds this week, the circle's limit.
    for (who, title) in [("cy", "Tea at seven"), ("di", "Start on time")] {
        propose(me(who).await, title).await.expect(200);
    }
    app.run_pending_jobs().await;
    assert_eq!(rounds_mailed(&app), 12);
    let before = app.snapshot().await;
    let res = propose(me("ada").await, "Chairs in a circle").await;
    assert_eq!(res.status.as_u16(), 429, "{}", res.text());
    assert!(
        res.text()
            .contains("Calm Inbox has opened 3 consent rounds in the past week"),
        "{}",
        res.text()
    );
    // Organisers are held to the circle's week too, through the API, with Retry-After.
    let api = app
        .post(
            &format!("/api/v1/circles/{circle}/agreements"),
            &json!({ "title": "Chairs in a circle", "body": "As it says." }),
        )
        .await;
    assert_eq!(api.status.as_u16(), 429, "{}", api.body);
    assert_eq!(api.error_code(), "rate_limited");
    let retry: u64 = api.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 6 * 24 * 3600 && retry <= 7 * 24 * 3600, "{retry}");
    app.run_pending_jobs().await;
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        rounds_mailed(&app),
        12,
        "nobody was mailed for a refused round"
    );
}

/// A circle whose last session ended an hour and a half ago, led by Ada (also one of its
/// facilitators, with an API token) who asked for anonymous feedback, with Bo, Cy, Di and Ed
/// as members from before it. Its reflection prompt, which opens the feedback, is not sent yet.
struct Led {
    circle: String,
    session: String,
    /// Ada's API token.
    lead: String,
    /// Member ids by name: ada, bo, cy, di, ed.
    ids: std::collections::HashMap<&'static str, String>,
}

async fn led_session(app: &TestApp) -> Led {
    let first = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let circle = london_circle(app, "Honest Answers", &first.to_string(), 1).await;
    let session = sessions_of(app, &circle).await.remove(0);
    let (ada, lead) = app.member_with_token("ada@example.org", false).await;
    let mut ids = std::collections::HashMap::new();
    ids.insert("ada", ada.to_string());
    app.add_member(&circle, "ada@example.org").await.expect(201);
    app.patch(
        &format!("/api/v1/circles/{circle}/members/{ada}"),
        &json!({ "role": "facilitator" }),
    )
    .await
    .expect(200);
    let names = ["bo", "cy", "di", "ed"];
    for (who, id) in names
        .into_iter()
        .zip(members_of(app, &circle, &names).await)
    {
        ids.insert(who, id);
    }
    assign(app, &session, "facilitator", &ids["ada"]).await;
    sql(app, &format!(
        "UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{session}'"
    )).await;
    sql(
        app,
        &format!(
        "UPDATE memberships SET joined_at = now() - interval '1 day' WHERE circle_id = '{circle}'"
    ),
    )
    .await;
    Led {
        circle,
        session,
        lead,
        ids,
    }
}

/// Send the session's reflection prompt now: the feedback opens with it.
async fn open_feedback(app: &TestApp, session: &str) {
    sql(app, &format!(
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND payload->>'session_id' = '{session}' \
         AND payload->>'message' = 'reflection_prompt'"
    )).await;
    app.run_pending_jobs().await;
}

/// Close every open request and tell the leads, as the sweep does at the close.
async fn close_feedback(app: &TestApp) {
    sql(app, "UPDATE feedback_requests SET closes_at = now() - interval '1 second' WHERE results_sent_at IS NULL").await;
    roundtable::actions::feedback::send_due(
        &mut app.conn().await,
        app.links().keys(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
}

/// `who`'s answer to the feedback on `session`, through their own link.
async fn give_feedback(app: &TestApp, who: &str, text: &str) -> u16 {
    let request = id_of(app, "SELECT id FROM feedback_requests").await;
    let holder = app.holder(&format!("{who}@example.org")).await;
    let link = app.path_of(&app.links().feedback(
        holder,
        request,
        chrono::Utc::now() + chrono::Duration::days(30),
    ));
    app.browser(
        Method::POST,
        &link,
        Some(&[("helped", text), ("try_next", ""), ("rating", "2")]),
    )
    .await
    .status
    .as_u16()
}

/// What Ada's own page shows her.
async fn leads_page(app: &TestApp) -> String {
    let holder = app.holder("ada@example.org").await;
    let me = app.path_of(&app.links().me(holder, chrono::Utc::now()));
    app.browser(Method::GET, &me, None).await.text().to_string()
}

async fn mark_as(app: &TestApp, token: &str, session: &str, marks: &[(&str, bool)]) -> u16 {
    let marks: Vec<serde_json::Value> = marks
        .iter()
        .map(|(m, a)| json!({ "member_id": m, "attended": a }))
        .collect();
    app.request_as(
        Some(token),
        Method::PUT,
        &format!("/api/v1/sessions/{session}/attendance"),
        Some(&json!({ "attendance": marks })),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn whoever_the_feedback_is_about_cannot_shrink_who_answers_to_one_real_person() {
    let app = spawn_app().await;
    let led = led_session(&app).await;
    let (circle, session, ids) = (&led.circle, &led.session, &led.ids);
    // Bo, Cy, Di and Ed came.
    let came: Vec<(&str, bool)> = ["bo", "cy", "di", "ed"]
        .iter()
        .map(|w| (ids[w].as_str(), true))
        .collect();
    assert_eq!(mark_as(&app, &led.lead, session, &came).await, 200);

    // The lead tries to lower k to two: refused, three is the floor.
    let res = app
        .request_as(
            Some(&led.lead),
            Method::PATCH,
            &format!("/api/v1/circles/{circle}"),
            Some(&json!({ "feedback_min_answers": 2 })),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.body);
    open_feedback(&app, session).await;

    // A member the lead controls, added after the session, marked present: refused, both
    // for the lead (the feedback is about them) and as an answerer (not there in time).
    let puppet = app
        .request_as(
            Some(&led.lead),
            Method::POST,
            &format!("/api/v1/circles/{circle}/members"),
            Some(&json!({ "email": "puppet@example.org" })),
        )
        .await
        .expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead_dash = app.dashboard_as("ada@example.org").await;
    let before = app.snapshot().await;
    let shrink = [
        (puppet.as_str(), true),
        (ids["cy"].as_str(), false),
        (ids["di"].as_str(), false),
        (ids["ed"].as_str(), false),
    ];
    assert_eq!(mark_as(&app, &led.lead, session, &shrink).await, 403);
    let res = lead_dash
        .post(
            &format!("/dashboard/sessions/{session}/attendance"),
            &[("member_id", ids["cy"].as_str()), ("attended", "no")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 403, "{}", res.text());
    assert_eq!(
        app.snapshot().await,
        before,
        "the attendance stays as it was"
    );
    assert_eq!(give_feedback(&app, "puppet", "PUPPET").await, 403);

    // Three of the four who came answer: Ada reads the three, and only after the close.
    for who in ["bo", "cy", "di"] {
        assert_eq!(
            give_feedback(&app, who, &format!("ANSWER-{who}")).await,
            200
        );
    }
    assert!(!leads_page(&app).await.contains("ANSWER-"));
    close_feedback(&app).await;
    let page = leads_page(&app).await;
    for who in ["bo", "cy", "di"] {
        assert!(page.contains(&format!("ANSWER-{who}")), "{page}");
    }
}

#[tokio::test]
async fn an_attendance_change_after_the_feedback_opened_leaves_its_lead_shown_nothing() {
    let app = spawn_app().await;
    let led = led_session(&app).await;
    let (session, ids) = (&led.session, &led.ids);
    let came: Vec<(&str, bool)> = ["bo", "cy", "di", "ed"]
        .iter()
        .map(|w| (ids[w].as_str(), true))
        .collect();
    assert_eq!(mark_as(&app, &led.lead, session, &came).await, 200);
    open_feedback(&app, session).await;
    for who in ["bo", "cy", "di"] {
        assert_eq!(
            give_feedback(&app, who, &format!("ANSWER-{who}")).await,
            200
        );
    }
    // Another runner (an organiser) marks Ed absent after it opened: who could answer changed.
    assert_eq!(
        mark_as(&app, &app.token, session, &[(ids["ed"].as_str(), false)]).await,
        200
    );
    assert_eq!(
        give_feedback(&app, "ed", "ANSWER-ed").await,
        200,
        "Ed was there when it opened"
    );
    close_feedback(&app).await;
    let page = leads_page(&app).await;
    assert!(!page.contains("ANSWER-"), "{page}");
    assert!(
        page.contains("Who could answer changed after the feedback opened"),
        "{page}"
    );
    // Nothing to read: no letter of its own (a line in Ada's next letter, see learning.rs).
    assert!(!app
        .sent_emails()
        .iter()
        .any(|m| m.to.contains("ada@") && m.subject.starts_with("Your feedback from")));
    assert!(app
        .sent_emails()
        .iter()
        .all(|m| !m.text.contains("ANSWER-")));
    let noted: (bool, Option<String>) = {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            closed_quietly: bool,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            noted_in: Option<String>,
        }
        let row: Row = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query("SELECT closed_quietly, noted_in FROM feedback_requests"),
            &mut app.conn().await,
        )
        .await
        .unwrap();
        (row.closed_quietly, row.noted_in)
    };
    assert_eq!(noted, (true, None), "waiting for Ada's next letter");
}

#[tokio::test]
async fn an_answer_and_its_receipt_cannot_be_paired_in_the_database() {
    let app = spawn_app().await;
    let led = led_session(&app).await;
    let (session, ids) = (&led.session, &led.ids);
    let came: Vec<(&str, bool)> = ["bo", "cy", "di", "ed"]
        .iter()
        .map(|w| (ids[w].as_str(), true))
        .collect();
    assert_eq!(mark_as(&app, &led.lead, session, &came).await, 200);
    open_feedback(&app, session).await;

    // Each answer while it is open writes one held row and nothing else: no receipt, no job,
    // nothing that names who answered.
    for who in ["bo", "cy", "di", "ed"] {
        let before = app.snapshot().await;
        assert_eq!(
            give_feedback(&app, who, &format!("ANSWER-{who}")).await,
            200
        );
        let after = app.snapshot().await;
        let changed: Vec<&str> = before
            .split("\n[")
            .zip(after.split("\n["))
            .filter(|(b, a)| b != a)
            .map(|(_, a)| a.split(']').next().unwrap())
            .collect();
        assert_eq!(changed, vec!["feedback_held"], "{who}'s answer");
        let held = after
            .split("[feedback_held]")
            .nth(1)
            .unwrap()
            .split("\n[")
            .next()
            .unwrap();
        assert!(
            ids.values().all(|id| !held.contains(id.as_str())),
            "the held answers name nobody: {held}"
        );
    }
    assert_eq!(
        give_feedback(&app, "bo", "AGAIN").await,
        409,
        "one answer each"
    );

    close_feedback(&app).await;
    #[derive(diesel::QueryableByName)]
    struct Tx {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let txs: Vec<Tx> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT DISTINCT xmin::text AS t FROM feedback_answers \
             UNION SELECT DISTINCT xmin::text FROM feedback_receipts",
        ),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    assert_eq!(
        txs.len(),
        1,
        "every answer and every receipt written by one transaction at the close"
    );
    let held: Tx = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*)::text AS t FROM feedback_held"),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    assert_eq!(held.t, "0", "nothing is held after the close");
    let page = leads_page(&app).await;
    for who in ["bo", "cy", "di", "ed"] {
        assert!(page.contains(&format!("ANSWER-{who}")));
    }
}

/// What the person the feedback is about, and others, do in one run of the property below.
#[derive(Debug, Clone)]
enum Step {
    /// The lead asks the circle to show feedback with `k` answers.
    SetK(i64),
    /// The lead marks a member present or absent.
    LeadMarks(usize, bool),
    /// The lead adds a member they control and marks them present.
    LeadAddsPuppet,
    /// An organiser marks a member present or absent.
    OrganiserMarks(usize, bool),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (0i64..7).prop_map(Step::SetK),
        (0usize..4, any::<bool>()).prop_map(|(m, a)| Step::LeadMarks(m, a)),
        Just(Step::LeadAddsPuppet),
        (0usize..4, any::<bool>()).prop_map(|(m, a)| Step::OrganiserMarks(m, a)),
    ]
}

/// The rule the lead's page must follow, worked out from what was done: answers show only
/// when at least k of the people marked present as it opened (members before the session
/// ended, the lead aside) answered, k at least three, and nobody's attendance changed after.
struct Model {
    k: i64,
    present: std::collections::BTreeSet<String>,
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 10,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Whatever attendance edits, threshold changes and member additions the person the
    /// feedback is about makes (before it opens and after), and whatever another runner
    /// changes, they never read an answer unless at least k of the people able to answer
    /// when it opened answered, k is at least three, and who could answer never changed.
    #[test]
    fn the_lead_reads_answers_only_when_k_people_frozen_at_opening_answered(
        marked in proptest::collection::vec(proptest::bool::ANY, 4),
        before in proptest::collection::vec(step(), 0..5),
        after in proptest::collection::vec(step(), 0..5),
        answering in proptest::collection::vec(proptest::bool::ANY, 4),
        puppets_answer: bool,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let app = spawn_app().await;
            let led = led_session(&app).await;
            let names = ["bo", "cy", "di", "ed"];
            let mut model = Model { k: 3, present: Default::default() };
            let mut puppets: Vec<String> = Vec::new();
            let initial: Vec<(&str, bool)> = names
                .iter()
                .zip(&marked)
                .map(|(n, m)| (led.ids[n].as_str(), *m))
                .collect();
            assert_eq!(mark_as(&app, &led.lead, &led.session, &initial).await, 200);
            for (n, m) in names.iter().zip(&marked) {
                if *m {
                    model.present.insert(n.to_string());
                }
            }
            let mut changed_after = false;
            for (phase, steps) in [(0, &before), (1, &after)] {
                if phase == 1 {
                    open_feedback(&app, &led.session).await;
                }
                let opened = phase == 1;
                for s in steps {
                    match s {
                        Step::SetK(k) => {
                            let res = app.request_as(
                                Some(&led.lead),
                                Method::PATCH,
                                &format!("/api/v1/circles/{}", led.circle),
                                Some(&json!({ "feedback_min_answers": k })),
                            ).await;
                            if *k >= 3 {
                                assert_eq!(res.status.as_u16(), 200);
                                if !opened { model.k = *k; }
                            } else {
                                assert_eq!(res.status.as_u16(), 422, "k = {k} is refused");
                            }
                        }
                        Step::LeadMarks(i, a) => {
                            let status = mark_as(&app, &led.lead, &led.session, &[(led.ids[names[*i]].as_str(), *a)]).await;
                            if opened {
                                assert_eq!(status, 403, "the lead cannot change attendance once it opened");
                            } else {
                                assert_eq!(status, 200);
                                if *a { model.present.insert(names[*i].to_string()); } else { model.present.remove(names[*i]); }
                            }
                        }
                        Step::OrganiserMarks(i, a) => {
                            assert_eq!(mark_as(&app, &app.token, &led.session, &[(led.ids[names[*i]].as_str(), *a)]).await, 200);
                            let was = model.present.contains(names[*i]);
                            if opened && was != *a { changed_after = true; }
                            if !opened {
                                if *a { model.present.insert(names[*i].to_string()); } else { model.present.remove(names[*i]); }
                            }
                        }
                        Step::LeadAddsPuppet => {
                            let email = format!("puppet{}@example.org", puppets.len());
                            let id = app.request_as(
                                Some(&led.lead),
                                Method::POST,
                                &format!("/api/v1/circles/{}/members", led.circle),
                                Some(&json!({ "email": email })),
                            ).await.expect(201)["member_id"].as_str().unwrap().to_string();
                            let status = mark_as(&app, &led.lead, &led.session, &[(id.as_str(), true)]).await;
                            assert_eq!(status, if opened { 403 } else { 200 });
                            puppets.push(email);
                        }
                    }
                }
            }
            if before.is_empty() && after.is_empty() {
                open_feedback(&app, &led.session).await;
            }
            // Everyone tries to answer; only who could when it opened is heard.
            let mut heard = 0;
            for (n, a) in names.iter().zip(&answering) {
                if *a {
                    let status = give_feedback(&app, n, &format!("ANSWER-{n}")).await;
                    if model.present.contains(*n) {
                        assert_eq!(status, 200, "{n} was there when it opened");
                        heard += 1;
                    } else {
                        assert_eq!(status, 403, "{n} was not marked present when it opened");
                    }
                }
            }
            if puppets_answer {
                for p in &puppets {
                    let who = p.split('@').next().unwrap();
                    assert_eq!(give_feedback(&app, who, "PUPPET").await, 403, "members added after the session never count");
                }
            }
            close_feedback(&app).await;
            let page = leads_page(&app).await;
            let shown = page.contains("ANSWER-");
            let should = heard >= model.k.max(3) && !changed_after;
            assert_eq!(
                shown, should,
                "heard {heard}, k {}, changed after opening: {changed_after}; page:\n{page}", model.k
            );
            assert!(!page.contains("PUPPET"));
        });
    }
}

/// Whoever led marks who came from the link in their reflection prompt: once, while nobody
/// has, and only they; the feedback forms then reach those who came.
#[tokio::test]
async fn whoever_led_marks_who_came_from_the_emailed_link_once() {
    let app = spawn_app().await;
    let led = led_session(&app).await;
    open_feedback(&app, &led.session).await;
    let mails = app.sent_emails();
    let prompt = mails
        .iter()
        .find(|m| m.to.contains("ada@example.org") && m.subject.contains("reflect"))
        .expect("the lead's reflection prompt");
    let link = app.link_in(prompt, "/attendance/");
    for m in mails.iter().filter(|m| !m.to.contains("ada@example.org")) {
        assert!(
            !m.text.contains("/attendance/"),
            "only the lead gets the link"
        );
    }
    let page = app.browser(Method::GET, &link, None).await.expect(200);
    assert!(page.as_str().unwrap().contains("Who came to"));

    // Bad input changes nothing.
    let stranger = format!("came_{}", uuid::Uuid::new_v4());
    let bo = format!("came_{}", led.ids["bo"]);
    for bad in [
        vec![(stranger.as_str(), "yes")],
        vec![(bo.as_str(), "yes\u{0}")],
        vec![("came_not-an-id", "yes")],
    ] {
        let r = app.browser(Method::POST, &link, Some(&bad)).await;
        assert_eq!(r.status, 422, "{bad:?}");
    }
    let marked = |v: &serde_json::Value| -> Vec<String> {
        let mut out: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["attended"] == true)
            .map(|e| e["member_id"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    };
    let path = format!("/api/v1/sessions/{}/attendance", led.session);
    assert!(marked(&app.get(&path).await.expect(200)).is_empty());

    // Another member's link to the same page is refused.
    let holder = app.holder("bo@example.org").await;
    let session_id: uuid::Uuid = led.session.parse().unwrap();
    let theirs = app.path_of(
        &app.links()
            .attendance(holder, session_id, chrono::Utc::now()),
    );
    assert_eq!(app.browser(Method::GET, &theirs, None).await.status, 403);

    let before = app.sent_emails().len();
    let names: Vec<String> = ["ada", "bo", "cy", "di"]
        .iter()
        .map(|n| format!("came_{}", led.ids[n]))
        .collect();
    let form: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "yes")).collect();
    let saved = app
        .browser(Method::POST, &link, Some(&form))
        .await
        .expect(200);
    assert!(saved.as_str().unwrap().contains("Saved: 4 people came."));
    let mut expected: Vec<String> = ["ada", "bo", "cy", "di"]
        .iter()
        .map(|n| led.ids[n].clone())
        .collect();
    expected.sort();
    assert_eq!(marked(&app.get(&path).await.expect(200)), expected);

    // Once marked, the person the feedback is about cannot change it.
    let again = app.browser(Method::POST, &link, Some(&form[..2])).await;
    assert_eq!(again.status, 403);
    assert_eq!(marked(&app.get(&path).await.expect(200)), expected);
    app.run_pending_jobs().await;
    assert_eq!(
        app.sent_emails().len(),
        before,
        "marking who came sends nothing"
    );
}

/// A member who turned off feedback forms gets the reflection prompt without them; others
/// still get theirs.
#[tokio::test]
async fn a_member_can_turn_off_feedback_forms_and_consent_reminders() {
    let app = spawn_app().await;
    let led = led_session(&app).await;
    let holder = app.holder("bo@example.org").await;
    let me = app.path_of(&app.links().me(holder, chrono::Utc::now()));
    app.browser(
        Method::POST,
        &format!("{me}/preferences"),
        Some(&[
            ("reminders", "on"),
            ("reflection_prompts", "on"),
            ("subscribed", "on"),
        ]),
    )
    .await
    .expect(200);
    let page = app.browser(Method::GET, &me, None).await.expect(200);
    let html = page.as_str().unwrap();
    assert!(
        html.contains("name=\"feedback_requests\" value=\"on\">"),
        "unticked"
    );
    assert!(
        html.contains("name=\"consent_reminders\" value=\"on\">"),
        "unticked"
    );

    open_feedback(&app, &led.session).await;
    let prompts: Vec<_> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.contains("reflect"))
        .collect();
    let to = |who: &str| {
        prompts
            .iter()
            .find(|m| m.to.contains(&format!("{who}@example.org")))
            .unwrap_or_else(|| panic!("a prompt to {who}"))
    };
    assert!(
        !to("bo").text.contains("/feedback/"),
        "bo turned the forms off"
    );
    assert!(to("cy").text.contains("/feedback/"), "cy still gets them");
}
