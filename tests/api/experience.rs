//! What members and organisers meet when they use Roundtable: messages in their words,
//! confirmation before anything destructive, paragraphs as typed, a way on from every page.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

/// An open circle `slow-reading` in London.
async fn open_circle(app: &TestApp) -> String {
    app.create_circle(json!({ "name": "Slow Reading", "timezone": "Europe/London" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn blank_lines_typed_in_a_browser_start_paragraphs() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    app.patch(
        &format!("/api/v1/circles/{id}"),
        &json!({ "description": "We read slowly.\r\n\r\nEveryone leads once." }),
    )
    .await
    .expect(200);
    let page = app
        .browser(Method::GET, "/c/slow-reading", None)
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    assert!(page.contains("<p>We read slowly.</p>"), "{page}");
    assert!(page.contains("<p>Everyone leads once.</p>"));
    let circle = app.get(&format!("/api/v1/circles/{id}")).await.expect(200);
    assert_eq!(
        circle["description"],
        "We read slowly.\n\nEveryone leads once."
    );
}

/// Move a session into the past, as if it had taken place `days_ago`.
pub async fn took_place(app: &TestApp, session: &str, days_ago: i64) {
    use diesel_async::RunQueryDsl;
    let mut conn = app.conn().await;
    diesel::sql_query(format!(
        "UPDATE sessions SET starts_at = now() - interval '{days_ago} days' - interval '2 hours', \
         ends_at = now() - interval '{days_ago} days' - interval '1 hour' WHERE id = '{session}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn reflections_shared_with_the_circle_reach_its_members_newest_session_first() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    for email in ["ada@example.org", "bo@example.org"] {
        app.add_member(&id, email).await.expect(201);
    }
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 2 }))
        .await;
    let (older, newer) = (
        sessions[0]["id"].as_str().unwrap(),
        sessions[1]["id"].as_str().unwrap(),
    );
    took_place(&app, older, 8).await;
    took_place(&app, newer, 1).await;
    let links = app.links();
    let now = chrono::Utc::now();
    let reflect =
        |holder, session: &str| app.path_of(&links.reflect(holder, session.parse().unwrap(), now));
    let ada = app.holder("ada@example.org").await;
    let bo = app.holder("bo@example.org").await;
    for (holder, session, body, visibility) in [
        (ada, older, "First week.\r\n\r\nSlow is good.", "circle"),
        (ada, newer, "Second week: the river chapter.", "circle"),
        (bo, newer, "Only for me.", "private"),
    ] {
        app.browser(
            Method::POST,
            &reflect(holder, session),
            Some(&[("body", body), ("visibility", visibility)]),
        )
        .await
        .expect(200);
    }

    // Bo reads what Ada shared from his personal page, newest session first.
    let me = app.path_of(&links.me(bo, now));
    let page = app.browser(Method::GET, &me, None).await.expect(200);
    let circle_page = format!("{me}/circles/{id}");
    assert!(page.as_str().unwrap().contains(&circle_page));
    let page = app
        .browser(Method::GET, &circle_page, None)
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    let second = page
        .find("Second week: the river chapter.")
        .expect("Ada's newer reflection");
    let first = page
        .find("<p>First week.</p>")
        .expect("Ada's older one, in paragraphs");
    assert!(second < first, "newest session first");
    assert!(page.contains("<p>Slow is good.</p>"));
    assert!(page.contains("ada ·"), "with the author's name");
    assert!(!page.contains("Only for me."), "private stays private");
    let own = app
        .browser(
            Method::GET,
            &format!("{}/circles/{id}", app.path_of(&links.me(ada, now))),
            None,
        )
        .await
        .expect(200);
    assert!(!own.as_str().unwrap().contains("Only for me."));

    // Someone who has not confirmed sees where they stand, not the circle's reflections.
    app.browser(
        Method::POST,
        "/c/slow-reading/join",
        Some(&[("display_name", "Cy"), ("email", "cy@example.org")]),
    )
    .await
    .expect(200);
    let cy = app.holder("cy@example.org").await;
    let cy_page = app
        .browser(
            Method::GET,
            &format!("{}/circles/{id}", app.path_of(&links.me(cy, now))),
            None,
        )
        .await
        .expect(200);
    let cy_page = cy_page.as_str().unwrap();
    assert!(cy_page.contains("waiting for your confirmation"));
    assert!(!cy_page.contains("river chapter"));

    // Someone who left sees nothing of it.
    app.delete(&format!("/api/v1/circles/{id}/members/{}", bo.member))
        .await
        .expect(200);
    let gone = app.browser(Method::GET, &circle_page, None).await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn every_member_page_says_where_to_go_next() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 12 }))
        .await;

    // The circle page: the way in comes before the long list of dates, with the seats.
    let page = app
        .browser(Method::GET, "/c/slow-reading", None)
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    let cta = page.find("href=\"#join\"").expect("a Join call to action");
    assert!(cta < page.find("Upcoming sessions").unwrap());
    assert!(page.contains("Everyone who signs up gets a place."));
    assert!(
        page.contains("href=\"/me\"") && page.contains("href=\"/login\""),
        "header links"
    );

    // Confirming leads to the member's view of the circle and the calendar, not the form.
    app.browser(
        Method::POST,
        "/c/slow-reading/join",
        Some(&[("display_name", "Ada"), ("email", "ada@example.org")]),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let mail = app.sent_emails().pop().unwrap();
    let confirmed = app
        .browser(Method::POST, &app.link_in(&mail, "/confirm/"), None)
        .await
        .expect(200);
    let confirmed = confirmed.as_str().unwrap();
    assert!(
        confirmed.contains("invitation to the next one"),
        "{confirmed}"
    );
    assert!(confirmed.contains("webcal://"));
    let start = confirmed
        .find("href=\"/me/")
        .expect("a link to the member's own view")
        + 6;
    let see: String = confirmed[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    assert!(see.contains("/circles/"));
    let view = app.browser(Method::GET, &see, None).await.expect(200);
    let view = view.as_str().unwrap();
    assert!(view.contains("You are: <strong>member</strong>"), "{view}");
    assert!(
        !view.contains("name=\"display_name\""),
        "not the join form again"
    );

    // The RSVP page points on to the calendar, the circle and the member's page.
    let holder = app.holder("ada@example.org").await;
    let starts: chrono::DateTime<chrono::Utc> =
        sessions[0]["ends_at"].as_str().unwrap().parse().unwrap();
    let rsvp = app.path_of(&app.links().rsvp(
        holder,
        sessions[0]["id"].as_str().unwrap().parse().unwrap(),
        starts,
        None,
    ));
    let page = app.browser(Method::GET, &rsvp, None).await.expect(200);
    let page = page.as_str().unwrap();
    assert!(page.contains("webcal://") && page.contains("/circles/") && page.contains("Your page"));
}

#[tokio::test]
async fn cancelling_a_session_and_removing_a_member_ask_first_and_say_what_happened() {
    let app = spawn_app().await;
    let id = app
        .create_circle(json!({ "name": "Small Room", "timezone": "Europe/London", "capacity": 1 }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.member_with_token("organiser@example.org", true).await;
    for email in ["ada@example.org", "bo@example.org"] {
        app.add_member(&id, email).await.expect(201);
    }
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-12-11", "local_time": "19:00", "duration_minutes": 90, "count": 1 }))
        .await;
    let session = sessions[0]["id"].as_str().unwrap().to_string();
    app.run_pending_jobs().await;
    let o = app.dashboard_as("organiser@example.org").await;

    // One POST of the Cancel button asks, naming the day and who will hear of it.
    let before = app.snapshot().await;
    let cancel = format!("/dashboard/sessions/{session}/cancel");
    let ask = o.post(&cancel, &[]).await;
    assert_eq!(ask.status, 200);
    assert!(
        ask.text().contains("Cancel Thursday 11 December?"),
        "{}",
        ask.text()
    );
    assert!(ask.text().contains("1 person will get a cancellation."));
    assert!(ask.text().contains(r#"name="confirm" value="yes""#));
    assert_eq!(app.snapshot().await, before, "asking changes nothing");
    let done = o.post(&cancel, &[("confirm", "yes")]).await;
    assert_eq!(done.status, 303);
    let note = crate::helpers::note_of(&done);
    assert_eq!(note, "Cancelled Thursday 11 December; 1 person is told.");
    let s = app
        .get(&format!("/api/v1/sessions/{session}"))
        .await
        .expect(200);
    assert_eq!(s["status"], "cancelled");

    // Removing Ada asks first and names who gets her seat; the result says it happened.
    let ada = app.holder("ada@example.org").await.member;
    let remove = format!("/dashboard/circles/{id}/members/{}", ada);
    let before = app.snapshot().await;
    let ask = o.post(&remove, &[("action", "remove")]).await;
    assert_eq!(ask.status, 200);
    assert!(
        ask.text().contains("Remove ada from Small Room?"),
        "{}",
        ask.text()
    );
    assert!(ask
        .text()
        .contains("Their seat goes to bo, first on the waitlist."));
    assert_eq!(app.snapshot().await, before, "asking changes nothing");
    let done = o
        .post(&remove, &[("action", "remove"), ("confirm", "yes")])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        crate::helpers::note_of(&done),
        "Removed ada from Small Room. bo has the seat now."
    );
}

#[tokio::test]
async fn attendance_returns_to_the_row_and_people_who_left_stay_on_sessions_they_attended() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    app.member_with_token("organiser@example.org", true).await;
    for email in ["ada@example.org", "bo@example.org"] {
        app.add_member(&id, email).await.expect(201);
    }
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 2 }))
        .await;
    let (past, future) = (
        sessions[0]["id"].as_str().unwrap().to_string(),
        sessions[1]["id"].as_str().unwrap().to_string(),
    );
    took_place(&app, &past, 3).await;
    let o = app.dashboard_as("organiser@example.org").await;
    let ada = app.holder("ada@example.org").await.member;

    let r = o
        .post(
            &format!("/dashboard/sessions/{past}/attendance"),
            &[("member_id", &ada.to_string()), ("attended", "yes")],
        )
        .await;
    assert_eq!(r.status, 303);
    let location = r.headers["location"].to_str().unwrap();
    assert!(
        location.ends_with(&format!("#m-{}", ada)),
        "back to Ada's row: {location}"
    );
    assert_eq!(crate::helpers::note_of(&r), "ada marked present.");

    // The roster comes before the edit form, the ended session reads as completed, and the
    // row carries the anchor the redirect points at.
    let page = o
        .get(&format!("/dashboard/sessions/{past}"))
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    assert!(page.contains(&format!(r#"id="m-{}""#, ada)));
    assert!(page.contains(r#"<p class="muted">completed"#), "{page}");
    let roster = page.find("<h2>Attendance</h2>").unwrap();
    let form = page.find("<h2>Change this session</h2>").unwrap();
    assert!(roster < form);
    assert!(
        !page.contains("Cancel this session"),
        "a completed session is not cancelled"
    );

    // Ada leaves: she stays on the session she attended, and off the one to come.
    app.browser(
        Method::POST,
        &format!(
            "{}/leave",
            app.path_of(
                &app.links()
                    .me(app.holder("ada@example.org").await, chrono::Utc::now())
            )
        ),
        Some(&[("circle_id", &id), ("confirm", "yes")]),
    )
    .await
    .expect(200);
    let att = app
        .get(&format!("/api/v1/sessions/{past}/attendance"))
        .await
        .expect(200);
    let row = att["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["member_id"] == ada.to_string())
        .expect("ada stays on the roster she attended")
        .clone();
    assert_eq!(
        (row["attended"].as_bool(), row["active"].as_bool()),
        (Some(true), Some(false))
    );
    let page = o
        .get(&format!("/dashboard/sessions/{past}"))
        .await
        .expect(200);
    assert!(page.as_str().unwrap().contains("(has left)"));
    let upcoming = app
        .get(&format!("/api/v1/sessions/{future}/attendance"))
        .await
        .expect(200);
    assert!(!upcoming["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["member_id"] == ada.to_string()));
    // A mistake can still be put right; someone who never came cannot be added after leaving.
    let r = o
        .post(
            &format!("/dashboard/sessions/{past}/attendance"),
            &[("member_id", &ada.to_string()), ("attended", "no")],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = o
        .post(
            &format!("/dashboard/sessions/{future}/attendance"),
            &[("member_id", &ada.to_string()), ("attended", "yes")],
        )
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn the_circle_form_lists_every_problem_by_its_label_and_takes_delays_in_hours_or_days() {
    let app = spawn_app().await;
    app.member_with_token("organiser@example.org", true).await;
    app.create_circle(json!({ "name": "Tokyo Readers", "timezone": "Asia/Tokyo" }))
        .await;
    let o = app.dashboard_as("organiser@example.org").await;

    // The zone is chosen from a list, with zones in use offered first.
    let form = o.get("/dashboard/circles/new").await.expect(200);
    let form = form.as_str().unwrap();
    let likely = form
        .find(r#"<optgroup label="Likely">"#)
        .expect("likely zones");
    let all = form.find(r#"<optgroup label="All zones">"#).unwrap();
    let tokyo = form.find(r#"<option value="Asia/Tokyo""#).unwrap();
    assert!(likely < tokyo && tokyo < all, "a zone in use comes first");
    assert!(form.contains(r#"<option value="America/New_York">"#));
    assert!(form.contains(r#"name="reminder_unit""#) && form.contains(r#"maxlength="120""#));

    let before = app.snapshot().await;
    let fields =
        |name: &'static str, capacity: &'static str, zone: &'static str, reminder: &'static str| {
            vec![
                ("name", name),
                ("kind", "book_club"),
                ("visibility", "open"),
                ("status", "open"),
                ("facilitation", "fixed"),
                ("capacity", capacity),
                ("timezone", zone),
                ("reminder_before", reminder),
                ("reminder_unit", "days"),
                ("reflection_after", "3"),
                ("reflection_unit", "hours"),
                ("invite_lead_days", "7"),
            ]
        };
    let bad = o
        .post(
            "/dashboard/circles",
            &fields("", "lots", "Nowhere/Land", "30"),
        )
        .await;
    assert_eq!(bad.status, 422);
    let page = bad.text();
    assert!(page.contains("4 things need correcting"), "{page}");
    for problem in [
        r##"<a href="#name">Name</a>"##,
        r##"<a href="#capacity">Seats</a>: must be a whole number"##,
        r##"<a href="#timezone">Time zone</a>"##,
        r##"<a href="#reminder_offset_minutes">Reminder before each session</a>: must be between 0 and 20160 minutes"##,
    ] {
        assert!(page.contains(problem), "{problem} in {page}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused form changes nothing"
    );

    let ok = o
        .post(
            "/dashboard/circles",
            &fields("Paris Readers", "", "Europe/Paris", "2"),
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    let id = ok.headers["location"]
        .to_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let circle = app.get(&format!("/api/v1/circles/{id}")).await.expect(200);
    assert_eq!(
        (
            circle["timezone"].as_str(),
            circle["reminder_offset_minutes"].as_i64(),
            circle["reflection_delay_minutes"].as_i64()
        ),
        (Some("Europe/Paris"), Some(2880), Some(180))
    );
    let edit = o.get(&format!("/dashboard/circles/{id}")).await.expect(200);
    let edit = edit.as_str().unwrap();
    assert!(
        edit.contains(r#"name="reminder_before" value="2""#),
        "{edit}"
    );
    assert!(edit.contains(r#"<option value="days" selected>"#));
    assert!(edit.contains(r#"<option value="Europe/Paris" selected>"#));
}

#[tokio::test]
async fn error_pages_keep_the_dashboard_around_them_and_members_are_pointed_to_a_new_link() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    app.member_with_token("organiser@example.org", true).await;
    let o = app.dashboard_as("organiser@example.org").await;
    let from = format!("{}/dashboard/circles/{id}", o.base);

    // A body over the limit gets Roundtable's own page, inside the dashboard, with a way back.
    let huge = "x".repeat(70 * 1024);
    let res = o
        .client
        .post(format!("{}/dashboard/circles/{id}", o.base))
        .header("Referer", &from)
        .form(&[("csrf", o.csrf.as_str()), ("description", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("That was more than a form can hold"),
        "{page}"
    );
    assert!(page.contains("up to 64 KB"));
    assert!(
        page.contains(r#"aria-label="Dashboard""#),
        "the dashboard's navigation"
    );
    assert!(page.contains(&format!(
        r#"<a href="/dashboard/circles/{id}">Back to the page you came from</a>"#
    )));

    // Not found, inside the dashboard.
    let res = o
        .client
        .get(format!(
            "{}/dashboard/sessions/{}",
            o.base,
            uuid::Uuid::new_v4()
        ))
        .header("Referer", &from)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(r#"aria-label="Dashboard""#)
            && page.contains("Back to the page you came from")
    );

    // A signed-out visitor is sent to sign in and told they will come back.
    let page = app
        .browser(Method::GET, "/login?next=/dashboard/circles", None)
        .await
        .expect(200);
    assert!(page.as_str().unwrap().contains("brings you straight back"));

    // A member's broken link points to asking for a new one.
    let page = app.browser(Method::GET, "/me/not-a-token", None).await;
    assert_eq!(page.status, 400);
    assert!(page
        .text()
        .contains(r#"<a href="/me">Get a new link to your page</a>"#));
    // So does every other page a link in an email opens: no dead end.
    for page in [
        "role",
        "swap",
        "handoff",
        "feedback",
        "consent",
        "agenda",
        "grow",
        "attendance",
    ] {
        let res = app
            .browser(Method::GET, &format!("/{page}/not-a-token"), None)
            .await;
        assert!(res.status.is_client_error(), "/{page}: {}", res.status);
        assert!(
            res.text()
                .contains(r#"<a href="/me">Get a new link to your page</a>"#),
            "/{page}: {}",
            res.text()
        );
    }
}

#[tokio::test]
async fn insights_show_only_sessions_that_took_place_with_the_numbers_in_a_table() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    app.member_with_token("organiser@example.org", true).await;
    app.add_member(&id, "ada@example.org").await.expect(201);
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 3 }))
        .await;
    let past = sessions[0]["id"].as_str().unwrap();
    took_place(&app, past, 2).await;
    let ada = app.holder("ada@example.org").await.member;
    app.put(
        &format!("/api/v1/sessions/{past}/attendance"),
        &json!({ "attendance": [{ "member_id": ada, "attended": true }] }),
    )
    .await
    .expect(200);
    let o = app.dashboard_as("organiser@example.org").await;
    let page = o
        .get(&format!("/dashboard/circles/{id}/insights"))
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    let rows = page.matches(r#"<tr><th scope="row">"#).count();
    assert_eq!(rows, 1, "only the session that took place: {page}");
    assert!(
        !page.contains("2031"),
        "future sessions do not pad the page"
    );
    assert!(
        page.contains("<td>0</td><td>1</td>"),
        "said yes 0, came 1: {page}"
    );
    let svg = o
        .get(&format!("/dashboard/circles/{id}/insights/attendance.svg"))
        .await
        .expect(200);
    let svg = svg.as_str().unwrap();
    assert!(svg.contains("Session date") && svg.contains("People present"));
}
