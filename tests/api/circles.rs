use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn organiser_creates_reads_edits_and_archives_a_circle() {
    let app = spawn_app().await;
    let created = app
        .create_circle(json!({
            "name": "Reading *Braiding Sweetgrass*!",
            "timezone": "Europe/London",
            "kind": "learning_circle",
            "capacity": 12,
            "location": "Room 4",
            "description": "Slow reading, shared leading.",
        }))
        .await;
    assert_eq!(created["slug"], "reading-braiding-sweetgrass");
    assert_eq!(created["status"], "open");
    assert_eq!(created["visibility"], "open");
    assert_eq!(created["facilitation"], "fixed");
    assert_eq!(created["reminder_offset_minutes"], 1440);
    assert_eq!(created["reflection_delay_minutes"], 60);
    let id = created["id"].as_str().unwrap();

    let fetched = app.get(&format!("/api/v1/circles/{id}")).await.expect(200);
    assert_eq!(fetched, created);

    let patched = app
        .patch(
            &format!("/api/v1/circles/{id}"),
            &json!({ "name": "Sweetgrass", "location": null, "facilitation": "rotating" }),
        )
        .await
        .expect(200);
    assert_eq!(patched["name"], "Sweetgrass");
    assert_eq!(patched["location"], Value::Null);
    assert_eq!(patched["facilitation"], "rotating");
    assert_eq!(patched["capacity"], 12, "fields not named are kept");

    let archived = app
        .post(&format!("/api/v1/circles/{id}/archive"), &json!({}))
        .await
        .expect(200);
    assert_eq!(archived["status"], "archived");
    let r = app.add_member(id, "late@example.org").await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn derived_slugs_get_suffixes_but_explicit_duplicates_conflict() {
    let app = spawn_app().await;
    let a = app
        .create_circle(json!({ "name": "Dune", "timezone": "UTC" }))
        .await;
    let b = app
        .create_circle(json!({ "name": "Dune", "timezone": "UTC" }))
        .await;
    assert_eq!(a["slug"], "dune");
    assert_eq!(b["slug"], "dune-2");
    let before = app.snapshot().await;
    let r = app
        .post(
            "/api/v1/circles",
            &json!({ "name": "Other", "slug": "dune", "timezone": "UTC" }),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "conflict");
    let r = app
        .patch(
            &format!("/api/v1/circles/{}", b["id"].as_str().unwrap()),
            &json!({ "slug": "dune" }),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn circles_list_pages_through_everything_once() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_circle(json!({ "name": format!("Circle {i}"), "timezone": "UTC" }))
            .await;
    }
    let first = app.get("/api/v1/circles?limit=2").await.expect(200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let mut names: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        page = app
            .get(&format!("/api/v1/circles?limit=2&cursor={cursor}"))
            .await
            .expect(200);
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("Circle {i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn facilitators_see_only_their_circles_and_cannot_do_organiser_work() {
    let app = spawn_app().await;
    let mine = app
        .create_circle(json!({ "name": "Mine", "timezone": "UTC" }))
        .await;
    let other = app
        .create_circle(json!({ "name": "Other", "timezone": "UTC" }))
        .await;
    let mine_id = mine["id"].as_str().unwrap();
    let other_id = other["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/circles/{mine_id}/members"),
        &json!({ "email": "fac@example.org", "display_name": "Fac", "role": "facilitator" }),
    )
    .await
    .expect(201);
    let (_, fac) = app.member_with_token("fac@example.org", false).await;
    let (_, plain) = app.member_with_token("plain@example.org", false).await;

    let list = app
        .request_as(Some(&fac), Method::GET, "/api/v1/circles", None)
        .await
        .expect(200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine_id]);
    let list = app
        .request_as(Some(&plain), Method::GET, "/api/v1/circles", None)
        .await
        .expect(200);
    assert!(list["items"].as_array().unwrap().is_empty());

    let before = app.snapshot().await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/circles/{other_id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/circles/{other_id}"),
            Some(json!({ "name": "Mine now" })),
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{other_id}/members"),
            Some(json!({ "email": "x@example.org" })),
        ),
        (
            Method::GET,
            format!("/api/v1/circles/{other_id}/members"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{other_id}/archive"),
            Some(json!({})),
        ),
    ] {
        let r = app
            .request_as(Some(&fac), method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    let r = app
        .request_as(
            Some(&fac),
            Method::POST,
            "/api/v1/circles",
            Some(&json!({ "name": "N", "timezone": "UTC" })),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .request_as(Some(&fac), Method::GET, "/api/v1/jobs", None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(app.snapshot().await, before);

    // Their own circle works.
    app.request_as(
        Some(&fac),
        Method::PATCH,
        &format!("/api/v1/circles/{mine_id}"),
        Some(&json!({ "description": "ours" })),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_refused() {
    let app = spawn_app().await;
    for token in [None, Some("rt_not-a-real-token"), Some("")] {
        let r = app
            .request_as(token, Method::GET, "/api/v1/circles", None)
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.error_code(), "unauthorized");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn readings_are_listed_in_order() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(None).await;
    let id = circle["id"].as_str().unwrap();
    for title in [
        "Skywoman Falling",
        "The Council of Pecans",
        "The Gift of Strawberries",
    ] {
        app.post(
            &format!("/api/v1/circles/{id}/readings"),
            &json!({ "title": title, "author": "Robin Wall Kimmerer", "isbn": "978-1571313560" }),
        )
        .await
        .expect(201);
    }
    let page1 = app
        .get(&format!("/api/v1/circles/{id}/readings?limit=2"))
        .await
        .expect(200);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(&format!(
            "/api/v1/circles/{id}/readings?limit=2&cursor={cursor}"
        ))
        .await
        .expect(200);
    let titles: Vec<&str> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Skywoman Falling",
            "The Council of Pecans",
            "The Gift of Strawberries"
        ]
    );
    assert_eq!(page2["next_cursor"], Value::Null);
}

#[tokio::test]
async fn feedback_is_asked_about_the_facilitator_unless_the_circle_adds_roles() {
    let app = spawn_app().await;
    let created = app
        .create_circle(json!({ "name": "Feedback", "timezone": "UTC" }))
        .await;
    assert_eq!(created["feedback_roles"], json!(["facilitator"]));
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/circles/{id}");

    let patched = app
        .patch(
            &path,
            &json!({ "feedback_roles": ["facilitator", "timekeeper", "timekeeper"] }),
        )
        .await
        .expect(200);
    assert_eq!(
        patched["feedback_roles"],
        json!(["facilitator", "timekeeper"])
    );

    let too_many: Vec<String> = (0..21).map(|i| format!("role_{i}")).collect();
    for bad in [
        json!({ "feedback_roles": ["Time Keeper"] }),
        json!({ "feedback_roles": ["a\u{0}b"] }),
        json!({ "feedback_roles": too_many }),
        json!({ "feedback_roles": "facilitator" }),
    ] {
        let r = app.patch(&path, &bad).await;
        assert!(
            r.status == 400 || r.status == 422,
            "{bad}: {} {}",
            r.status,
            r.text()
        );
    }
    let after = app.get(&path).await.expect(200);
    assert_eq!(
        after["feedback_roles"],
        json!(["facilitator", "timekeeper"])
    );
    let empty = app
        .patch(&path, &json!({ "feedback_roles": [] }))
        .await
        .expect(200);
    assert_eq!(empty["feedback_roles"], json!([]));
}
