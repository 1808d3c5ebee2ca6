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
async fn took_place(app: &TestApp, session: &str, days_ago: i64) {
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
