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
    let token = roundtable::auth::random_token(32);
    roundtable::db::logins::create(
        &mut conn,
        member.id,
        &roundtable::auth::hash_token(&token),
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
