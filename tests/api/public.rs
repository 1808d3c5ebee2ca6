use std::collections::HashSet;

use chrono::{Duration, Utc};
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_for_races, spawn_app_with, SentEmail, TestApp};

async fn open_circle(app: &TestApp, capacity: Option<i64>) -> Value {
    let mut body = json!({ "name": "Slow Reading", "timezone": "Europe/London",
                           "description": "We read slowly.\n\nAnd talk about it.", "location": "Room 4" });
    if let Some(c) = capacity {
        body["capacity"] = json!(c);
    }
    app.create_circle(body).await
}

async fn sign_up(app: &TestApp, slug: &str, name: &str, email: &str) -> crate::helpers::Response {
    app.browser(
        Method::POST,
        &format!("/c/{slug}/join"),
        Some(&[
            ("display_name", name),
            ("email", email),
            ("timezone", "America/New_York"),
            ("website", ""),
        ]),
    )
    .await
}

/// The newest message to `email`.
fn last_mail_to(app: &TestApp, email: &str) -> SentEmail {
    app.sent_emails()
        .into_iter()
        .rev()
        .find(|m| m.to.contains(email))
        .unwrap_or_else(|| panic!("no mail to {email}"))
}

/// Sign up and confirm; returns the confirmation page.
async fn join_and_confirm(app: &TestApp, slug: &str, name: &str, email: &str) -> String {
    sign_up(app, slug, name, email).await.expect(200);
    app.run_pending_jobs().await;
    let link = app.link_in(&last_mail_to(app, email), "/confirm/");
    app.browser(Method::POST, &link, None)
        .await
        .expect(200)
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn directory_lists_only_open_public_circles() {
    let app = spawn_app().await;
    open_circle(&app, None).await;
    for (name, extra) in [
        ("Drafty", json!({ "status": "draft" })),
        ("Closed Book", json!({ "status": "closed" })),
        ("By Invitation", json!({ "visibility": "invite_only" })),
    ] {
        let mut body = json!({ "name": name, "timezone": "UTC" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        app.create_circle(body).await;
    }
    let page = app.browser(Method::GET, "/", None).await.expect(200);
    let html = page.as_str().unwrap();
    assert!(html.contains("Slow Reading"));
    for hidden in ["Drafty", "Closed Book", "By Invitation"] {
        assert!(!html.contains(hidden), "{hidden} should not be listed");
    }
    for slug in ["drafty", "closed-book", "by-invitation", "no-such-circle"] {
        let r = app.browser(Method::GET, &format!("/c/{slug}"), None).await;
        assert_eq!(r.status, 404, "{slug}");
        assert!(r.text().contains("Page not found"));
    }
}

#[tokio::test]
async fn circle_page_shows_sessions_in_a_labelled_zone_readings_and_seats() {
    let app = spawn_app().await;
    let circle = open_circle(&app, Some(2)).await;
    let id = circle["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/circles/{id}/members"),
        &json!({ "email": "host@example.org", "display_name": "Hana Host", "role": "facilitator" }),
    )
    .await
    .expect(201);
    app.add_member(id, "a@example.org").await.expect(201);
    app.post(
        &format!("/api/v1/circles/{id}/readings"),
        &json!({ "title": "Braiding Sweetgrass", "author": "Robin Wall Kimmerer" }),
    )
    .await
    .expect(201);
    app.schedule(id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 2 }))
        .await;
    let html = app
        .browser(Method::GET, "/c/slow-reading", None)
        .await
        .expect(200);
    let html = html.as_str().unwrap();
    assert!(html.contains("Hana Host"));
    assert!(
        html.contains("Thursday 5 June 2031, 19:00–20:30 (Europe/London)"),
        "{html}"
    );
    assert!(html.contains("Times are shown in Europe/London"));
    assert!(html.contains("Braiding Sweetgrass, by Robin Wall Kimmerer"));
    assert!(html.contains("1 of 2 seats are free"));
    assert!(html.contains("<label for=\"email\">"));

    // A browser that told us its zone sees times in it.
    let res = app
        .client
        .get(format!("{}/c/slow-reading", app.address))
        .header("Cookie", "tz=America/New_York")
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Thursday 5 June 2031, 14:00–15:30 (America/New_York)"),
        "{html}"
    );
}

#[tokio::test]
async fn signup_validates_inline_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    open_circle(&app, None).await;
    let before = app.snapshot().await;
    let r = app
        .browser(
            Method::POST,
            "/c/slow-reading/join",
            Some(&[
                ("display_name", "  "),
                ("email", "ada-at-example"),
                ("timezone", ""),
            ]),
        )
        .await;
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(html.contains("Your name is required."), "{html}");
    assert!(
        html.contains("The email address must contain an @"),
        "{html}"
    );
    assert!(
        html.contains("value=\"ada-at-example\""),
        "what was typed is kept"
    );
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn signup_confirmation_and_waitlist_through_the_emailed_link() {
    let app = spawn_app().await;
    open_circle(&app, Some(1)).await;
    let answer = sign_up(&app, "slow-reading", "Ada", "ada@example.org")
        .await
        .expect(200);
    assert!(answer.as_str().unwrap().contains("Check your email"));
    app.run_pending_jobs().await;
    let mail = last_mail_to(&app, "ada@example.org");
    assert!(mail.subject.contains("Confirm your place in Slow Reading"));
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "confirmation mail carries no unsubscribe header"
    );
    let link = app.link_in(&mail, "/confirm/");

    // GET shows a button and changes nothing.
    let before = app.snapshot().await;
    let page = app.browser(Method::GET, &link, None).await.expect(200);
    assert!(page.as_str().unwrap().contains("Confirm my place"));
    assert_eq!(app.snapshot().await, before);

    let confirmed = app.browser(Method::POST, &link, None).await.expect(200);
    assert!(
        confirmed.as_str().unwrap().contains("You are in"),
        "{confirmed}"
    );
    let again = app.browser(Method::POST, &link, None).await.expect(200);
    assert!(again.as_str().unwrap().contains("You are in"));
    app.run_pending_jobs().await;
    assert!(app
        .sent_emails()
        .iter()
        .any(|m| m.to.contains("ada@") && m.subject.starts_with("Welcome")));

    // The circle is now full: the next person is waitlisted at position 1.
    let page = join_and_confirm(&app, "slow-reading", "Grace", "grace@example.org").await;
    assert!(page.contains("waitlist at position 1"), "{page}");
    let circle = app.get("/api/v1/circles?limit=1").await.expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let roster = app
        .get(&format!("/api/v1/circles/{circle}/members"))
        .await
        .expect(200);
    let states: HashSet<(String, String)> = roster["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(states.contains(&("ada@example.org".into(), "active".into())));
    assert!(states.contains(&("grace@example.org".into(), "waitlisted".into())));
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer_and_bots_get_nothing() {
    let app = spawn_app().await;
    let circle = open_circle(&app, None).await;
    app.add_member(circle["id"].as_str().unwrap(), "member@example.org")
        .await
        .expect(201);
    let known = sign_up(&app, "slow-reading", "M", "member@example.org")
        .await
        .expect(200);
    let unknown = sign_up(&app, "slow-reading", "N", "new@example.org")
        .await
        .expect(200);
    let strip = |v: &Value, email: &str| v.as_str().unwrap().replace(email, "ADDRESS");
    assert_eq!(
        strip(&known, "member@example.org"),
        strip(&unknown, "new@example.org")
    );

    let before = app.snapshot().await;
    let bot = app
        .browser(
            Method::POST,
            "/c/slow-reading/join",
            Some(&[
                ("display_name", "Bot"),
                ("email", "bot@example.org"),
                ("website", "http://spam"),
            ]),
        )
        .await
        .expect(200);
    assert!(bot.as_str().unwrap().contains("Check your email"));
    assert_eq!(app.snapshot().await, before, "the honeypot creates nothing");
}

#[tokio::test]
async fn hundred_concurrent_identical_signups_make_one_member_one_membership_one_email() {
    let app = spawn_app_for_races().await;
    open_circle(&app, Some(5)).await;
    let results =
        join_all((0..100).map(|_| sign_up(&app, "slow-reading", "Ada", "ada@example.org"))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let counts = app.table_counts().await;
    let count = |t: &str| counts.iter().find(|(n, _)| n == t).unwrap().1;
    assert_eq!(count("members"), 2, "the organiser and Ada");
    assert_eq!(count("memberships"), 1);
    app.run_pending_jobs().await;
    assert_eq!(app.sent_emails().len(), 1);
}

#[tokio::test]
async fn signups_are_rate_limited_per_address_and_per_ip() {
    let app = spawn_app_with(|s| {
        s.limits.signups_per_address_per_hour = 2;
        s.limits.signups_per_ip_per_hour = 4;
    })
    .await;
    open_circle(&app, None).await;
    sign_up(&app, "slow-reading", "Ada", "ada@example.org")
        .await
        .expect(200);
    sign_up(&app, "slow-reading", "Ada", "ada@example.org")
        .await
        .expect(200);
    let limited = sign_up(&app, "slow-reading", "Ada", "ada@example.org").await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600);
    assert!(limited.text().contains("try again"));
    sign_up(&app, "slow-reading", "Bo", "bo@example.org")
        .await
        .expect(200);
    let by_ip = sign_up(&app, "slow-reading", "Cy", "cy@example.org").await;
    assert_eq!(
        by_ip.status, 429,
        "the fifth attempt from one address is refused"
    );
}

async fn member_with_session(app: &TestApp) -> (String, String, SentEmail) {
    let circle = open_circle(app, None).await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.add_member(&id, "ada@example.org").await.expect(201);
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 1 }))
        .await;
    app.run_pending_jobs().await;
    let invite = app
        .sent_emails()
        .into_iter()
        .find(|m| m.invites())
        .expect("an invitation");
    (id, sessions[0]["id"].as_str().unwrap().to_string(), invite)
}

#[tokio::test]
async fn rsvp_link_shows_a_choice_and_only_post_saves_it() {
    let app = spawn_app().await;
    let (_, sid, invite) = member_with_session(&app).await;
    let link = app.link_in(&invite, "/rsvp/");
    assert!(link.ends_with("?response=yes"));

    let before = app.snapshot().await;
    let page = app
        .browser(
            Method::GET,
            &link.replace("response=yes", "response=no"),
            None,
        )
        .await
        .expect(200);
    let html = page.as_str().unwrap();
    assert!(
        html.contains("Thursday 5 June 2031, 14:00–15:30 (America/New_York)")
            || html.contains("(Europe/London)"),
        "{html}"
    );
    assert!(html.contains("No answer yet"));
    assert!(
        html.contains("value=\"no\" aria-pressed=\"true\""),
        "the emailed choice is pre-selected"
    );
    assert_eq!(app.snapshot().await, before, "GET changes nothing");

    let path = link.split('?').next().unwrap();
    let saved = app
        .browser(Method::POST, path, Some(&[("response", "maybe")]))
        .await
        .expect(200);
    assert!(saved.as_str().unwrap().contains("Saved: Maybe"));
    let rsvps = app
        .get(&format!("/api/v1/sessions/{sid}/rsvps"))
        .await
        .expect(200);
    assert_eq!(
        rsvps["items"][0]["response"], "maybe",
        "the facilitator sees it at once"
    );

    let r = app
        .browser(Method::POST, path, Some(&[("response", "perhaps")]))
        .await;
    assert_eq!(r.status, 422);

    // Once the session has started, the page is read-only and answers are refused.
    let mut conn = app.conn().await;
    diesel::sql_query(format!("UPDATE sessions SET starts_at = now() - interval '1 hour', ends_at = now() + interval '1 hour' WHERE id = '{sid}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    let page = app.browser(Method::GET, path, None).await.expect(200);
    assert!(page.as_str().unwrap().contains("can no longer be changed"));
    let before = app.snapshot().await;
    let late = app
        .browser(Method::POST, path, Some(&[("response", "no")]))
        .await;
    assert_eq!(late.status, 409);
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn tampered_wrong_purpose_and_expired_tokens_get_a_friendly_page_and_change_nothing() {
    let app = spawn_app().await;
    let (_, _, invite) = member_with_session(&app).await;
    let rsvp = app.link_in(&invite, "/rsvp/");
    let rsvp = rsvp.split('?').next().unwrap().to_string();
    let token = rsvp.trim_start_matches("/rsvp/").to_string();
    let before = app.snapshot().await;

    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (method, path, form) in [
        (Method::GET, format!("/rsvp/{tampered}"), None),
        (
            Method::POST,
            format!("/rsvp/{tampered}"),
            Some(vec![("response", "yes")]),
        ),
        (Method::GET, format!("/unsubscribe/{token}"), None),
        (
            Method::POST,
            format!("/unsubscribe/{token}"),
            Some(vec![("List-Unsubscribe", "One-Click")]),
        ),
        (Method::GET, format!("/me/{token}"), None),
        (Method::POST, format!("/confirm/{token}"), None),
        (Method::GET, format!("/calendar/{token}.ics"), None),
        (Method::GET, "/rsvp/short".to_string(), None),
    ] {
        let r = app.browser(method.clone(), &path, form.as_deref()).await;
        assert_eq!(r.status, 400, "{method} {path}");
        assert!(
            r.text().contains("This link is not valid"),
            "{method} {path}: {}",
            r.text()
        );
    }

    // An expired RSVP token (signed with the right key).
    let keys =
        roundtable::domain::tokens::TokenKeys::new(app.settings.token_key().unwrap().expose(), &[]);
    let claims = keys
        .verify(
            &token,
            roundtable::domain::tokens::Purpose::Rsvp,
            Utc::now(),
        )
        .unwrap();
    let expired = keys.sign(&roundtable::domain::tokens::Claims {
        expires: Some(Utc::now() - Duration::hours(1)),
        ..claims
    });
    let r = app
        .browser(
            Method::POST,
            &format!("/rsvp/{expired}"),
            Some(&[("response", "yes")]),
        )
        .await;
    assert_eq!(r.status, 410);
    assert!(r.text().contains("expired"));
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn every_token_link_get_changes_nothing_and_pages_carry_security_headers() {
    let app = spawn_app().await;
    let (_, _, invite) = member_with_session(&app).await;
    let mut paths = vec![
        app.link_in(&invite, "/rsvp/"),
        app.link_in(&invite, "/unsubscribe/"),
        app.link_in(&invite, "/me/"),
    ];
    let me = paths[2].clone();
    paths.push(format!("{me}/delete"));
    paths.push(format!("{me}/export.json"));
    let me_page = app.browser(Method::GET, &me, None).await.expect(200);
    let feed_start = me_page.as_str().unwrap().find("/calendar/").unwrap();
    let feed: String = me_page.as_str().unwrap()[feed_start..]
        .chars()
        .take_while(|c| *c != '<')
        .collect();
    paths.push(feed);
    let before = app.snapshot().await;
    for path in &paths {
        let r = app.browser(Method::GET, path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.headers["referrer-policy"], "no-referrer", "{path}");
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
        );
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn reflections_are_private_by_default_shareable_and_editable() {
    let app = spawn_app().await;
    let (_, sid, _) = member_with_session(&app).await;
    // Move the session into the past and let the prompt go out.
    let mut conn = app.conn().await;
    diesel::sql_query(format!("UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '2 hours' WHERE id = '{sid}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query("UPDATE jobs SET run_at = now() WHERE state = 'queued'")
        .execute(&mut conn)
        .await
        .unwrap();
    app.run_pending_jobs().await;
    let prompt = app
        .sent_emails()
        .into_iter()
        .find(|m| m.subject.contains("A moment to reflect"))
        .expect("a reflection prompt");
    assert!(prompt.to.contains("ada@example.org"));
    let link = app.link_in(&prompt, "/reflect/");
    let page = app.browser(Method::GET, &link, None).await.expect(200);
    assert!(page
        .as_str()
        .unwrap()
        .contains("What from this reading stayed with you?"));

    let r = app
        .browser(
            Method::POST,
            &link,
            Some(&[("body", "   "), ("visibility", "private")]),
        )
        .await;
    assert_eq!(r.status, 422);
    app.browser(Method::POST, &link, Some(&[("body", "Just for me.")]))
        .await
        .expect(200);
    let shared = app
        .get(&format!("/api/v1/sessions/{sid}/reflections"))
        .await
        .expect(200);
    assert!(
        shared["items"].as_array().unwrap().is_empty(),
        "private by default"
    );

    let saved = app
        .browser(
            Method::POST,
            &link,
            Some(&[("body", "We should read slower."), ("visibility", "circle")]),
        )
        .await
        .expect(200);
    assert!(saved.as_str().unwrap().contains("shared with your circle"));
    let shared = app
        .get(&format!("/api/v1/sessions/{sid}/reflections"))
        .await
        .expect(200);
    assert_eq!(shared["items"][0]["body"], "We should read slower.");

    // After 14 days it is kept as it is.
    diesel::sql_query("UPDATE reflections SET created_at = now() - interval '15 days'")
        .execute(&mut conn)
        .await
        .unwrap();
    let r = app
        .browser(Method::POST, &link, Some(&[("body", "Changed my mind")]))
        .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn personal_page_preferences_leaving_and_export() {
    let app = spawn_app().await;
    let circle = open_circle(&app, Some(1)).await;
    let id = circle["id"].as_str().unwrap();
    app.add_member(id, "ada@example.org").await.expect(201);
    app.add_member(id, "grace@example.org").await.expect(201);

    // Asking for a link answers the same for known and unknown addresses.
    let known = app
        .browser(Method::POST, "/me", Some(&[("email", "ada@example.org")]))
        .await
        .expect(200);
    let unknown = app
        .browser(
            Method::POST,
            "/me",
            Some(&[("email", "nobody@example.org")]),
        )
        .await
        .expect(200);
    assert_eq!(known, unknown);
    app.run_pending_jobs().await;
    let links: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject == "Your Roundtable page")
        .collect();
    assert_eq!(
        links.len(),
        1,
        "a link for the member, nothing for the unknown address"
    );
    assert!(links[0].to.contains("ada@example.org"));
    let me = app.link_in(&links[0], "/me/");

    let page = app.browser(Method::GET, &me, None).await.expect(200);
    let html = page.as_str().unwrap();
    assert!(html.contains("Slow Reading") && html.contains("/calendar/"));

    let after = app
        .browser(
            Method::POST,
            &format!("{me}/preferences"),
            Some(&[("reflection_prompts", "on"), ("subscribed", "on")]),
        )
        .await
        .expect(200);
    assert!(after.as_str().unwrap().contains("preferences are saved"));
    let mut conn = app.conn().await;
    #[derive(diesel::QueryableByName)]
    struct Prefs {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        reminders_enabled: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        reflection_prompts_enabled: bool,
    }
    let prefs: Prefs = diesel::sql_query("SELECT reminders_enabled, reflection_prompts_enabled FROM members WHERE email = 'ada@example.org'")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(!prefs.reminders_enabled && prefs.reflection_prompts_enabled);

    let export = app
        .browser(Method::GET, &format!("{me}/export.json"), None)
        .await;
    assert_eq!(export.status, 200);
    let doc: Value = serde_json::from_str(export.text()).unwrap();
    assert_eq!(doc["member"]["email"], "ada@example.org");
    assert_eq!(doc["memberships"][0]["circle"], "Slow Reading");

    // Leaving asks first: the first POST only shows what will happen.
    let before = app.snapshot().await;
    let asked = app
        .browser(
            Method::POST,
            &format!("{me}/leave"),
            Some(&[("circle_id", id)]),
        )
        .await
        .expect(200);
    assert!(asked
        .as_str()
        .unwrap()
        .contains("Your seat goes to the next person waiting"));
    assert_eq!(app.snapshot().await, before, "asking changes nothing");
    // Confirmed, leaving gives Grace the seat, and the notice names the circle.
    let left = app
        .browser(
            Method::POST,
            &format!("{me}/leave"),
            Some(&[("circle_id", id), ("confirm", "yes")]),
        )
        .await
        .expect(200);
    assert!(left
        .as_str()
        .unwrap()
        .contains("You have left Slow Reading"));
    let roster = app
        .get(&format!("/api/v1/circles/{id}/members?state=active"))
        .await
        .expect(200);
    assert_eq!(roster["items"][0]["email"], "grace@example.org");
}

#[tokio::test]
async fn deleting_a_member_leaves_no_row_that_names_them() {
    let app = spawn_app().await;
    let (circle, sid, invite) = member_with_session(&app).await;
    let ada = app
        .get(&format!("/api/v1/circles/{circle}/members"))
        .await
        .expect(200)["items"][0]["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(
        &format!("/api/v1/sessions/{sid}/rsvps/{ada}"),
        &json!({ "response": "yes" }),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "facilitator_id": ada }),
    )
    .await
    .expect(200);
    let me = app.link_in(&invite, "/me/");

    let before = app.snapshot().await;
    app.browser(Method::GET, &format!("{me}/delete"), None)
        .await
        .expect(200);
    let refused = app
        .browser(Method::POST, &format!("{me}/delete"), Some(&[]))
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        app.snapshot().await,
        before,
        "nothing is deleted without the confirmation"
    );

    let done = app
        .browser(
            Method::POST,
            &format!("{me}/delete"),
            Some(&[("confirm", "yes")]),
        )
        .await
        .expect(200);
    assert!(done.as_str().unwrap().contains("Your account is deleted"));
    let everything = app.snapshot().await + &dump_deliveries(&app).await;
    assert!(
        !everything.contains("ada@example.org"),
        "the address is gone everywhere"
    );
    assert!(!everything.contains(&ada), "the id is gone everywhere");
    let gone = app.browser(Method::GET, &me, None).await;
    assert_eq!(gone.status, 410);
}

async fn dump_deliveries(app: &TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        d: String,
    }
    let mut conn = app.conn().await;
    let d: Dump = diesel::sql_query(
        "SELECT coalesce(string_agg(t::text, E'\\n'), '') AS d FROM deliveries t",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    d.d
}

#[tokio::test]
async fn unsubscribe_by_button_or_one_click_post() {
    let app = spawn_app().await;
    let (circle, _, invite) = member_with_session(&app).await;
    let link = app.link_in(&invite, "/unsubscribe/");
    let page = app.browser(Method::GET, &link, None).await.expect(200);
    assert!(page
        .as_str()
        .unwrap()
        .contains("Unsubscribe ada@example.org?"));

    // RFC 8058: a bare POST with List-Unsubscribe=One-Click and no cookies.
    let res = app
        .client
        .post(format!("{}{link}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("You are unsubscribed"));

    let sent = app.sent_emails().len();
    app.schedule(&circle, json!({ "freq": "weekly", "first_date": "2031-07-03", "local_time": "19:00", "duration_minutes": 60, "count": 1 }))
        .await;
    app.run_pending_jobs().await;
    assert_eq!(app.sent_emails().len(), sent, "no more invitations");
}

#[tokio::test]
async fn calendar_feed_uses_the_invitation_uids_and_marks_cancellations() {
    let app = spawn_app().await;
    let (circle, sid, invite) = member_with_session(&app).await;
    let extra = app
        .schedule(&circle, json!({ "freq": "weekly", "first_date": "2031-07-03", "local_time": "19:00", "duration_minutes": 60, "count": 1 }))
        .await;
    let cancelled = extra[0]["id"].as_str().unwrap();
    app.post(&format!("/api/v1/sessions/{cancelled}/cancel"), &json!({}))
        .await
        .expect(200);
    let me = app.link_in(&invite, "/me/");
    let page = app.browser(Method::GET, &me, None).await.expect(200);
    let html = page.as_str().unwrap();
    let start = html.find("/calendar/").unwrap();
    let feed: String = html[start..].chars().take_while(|c| *c != '<').collect();
    let res = app.browser(Method::GET, &feed, None).await;
    assert_eq!(res.status, 200);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let body = res.text().to_string();
    let mut parser = ical::IcalParser::new(body.as_bytes());
    let cal = parser.next().unwrap().unwrap();
    assert_eq!(cal.events.len(), 2);
    let uid = |e: &ical::parser::ical::component::IcalEvent| {
        e.properties
            .iter()
            .find(|p| p.name == "UID")
            .unwrap()
            .value
            .clone()
            .unwrap()
    };
    let status = |e: &ical::parser::ical::component::IcalEvent| {
        e.properties
            .iter()
            .find(|p| p.name == "STATUS")
            .unwrap()
            .value
            .clone()
            .unwrap()
    };
    let invite_uid = {
        let (_, ics) = invite.calendar.clone().unwrap();
        let mut p = ical::IcalParser::new(ics.as_bytes());
        uid(&p.next().unwrap().unwrap().events[0])
    };
    assert_eq!(invite_uid, format!("session-{sid}@circles.test"));
    assert!(cal
        .events
        .iter()
        .any(|e| uid(e) == invite_uid && status(e) == "CONFIRMED"));
    assert!(
        cal.events
            .iter()
            .any(|e| uid(e) == format!("session-{cancelled}@circles.test")
                && status(e) == "CANCELLED")
    );
}
