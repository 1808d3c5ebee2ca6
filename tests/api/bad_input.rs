use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_bad_request_gets_a_clear_4xx_and_changes_nothing() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(5)).await;
    let id = circle["id"].as_str().unwrap().to_string();
    let s = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2027-01-04", "local_time": "12:00", "duration_minutes": 30, "count": 2 }))
        .await;
    let sid = s[0]["id"].as_str().unwrap().to_string();
    let member = app.add_member(&id, "ada@example.org").await.expect(201);
    let mid = member["member_id"].as_str().unwrap().to_string();
    let before = app.snapshot().await;

    let circles = "/api/v1/circles".to_string();
    let schedules = format!("/api/v1/circles/{id}/schedules");
    let weekly = |extra: serde_json::Value| {
        let mut base = json!({ "freq": "weekly", "first_date": "2027-01-04", "local_time": "12:00", "duration_minutes": 30, "count": 2 });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    };
    // (method, path, body, expected status, expected error field or message fragment)
    let cases: Vec<(Method, String, serde_json::Value, u16, &str)> = vec![
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "Mars/Olympus" }),
            422,
            "timezone",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "capacity": 0 }),
            422,
            "capacity",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "capacity": -4 }),
            422,
            "capacity",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "   ", "timezone": "UTC" }),
            422,
            "name",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "slug": "Not A Slug" }),
            422,
            "slug",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "kind": "poetry" }),
            400,
            "unknown variant",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "capacity": "ten" }),
            400,
            "invalid type",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "colour": "red" }),
            400,
            "unknown field",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "timezone": "UTC" }),
            400,
            "missing field `name`",
        ),
        (
            Method::POST,
            circles.clone(),
            json!({ "name": "X", "timezone": "UTC", "reminder_offset_minutes": -1 }),
            422,
            "reminder_offset_minutes",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{id}"),
            json!({ "capacity": 0 }),
            422,
            "capacity",
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{id}"),
            json!({ "timezone": "Nowhere" }),
            422,
            "timezone",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{id}/members"),
            json!({ "email": "not-an-address" }),
            422,
            "email",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{id}/members"),
            json!({ "email": "a@b.org", "role": "king" }),
            400,
            "unknown variant",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{id}/readings"),
            json!({ "title": "" }),
            422,
            "title",
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{id}/readings"),
            json!({ "title": "T", "url": "javascript:alert(1)" }),
            422,
            "url",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "freq": "daily" })),
            422,
            "freq",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "first_date": "2027-02-30" })),
            422,
            "first_date",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "local_time": "25:00" })),
            422,
            "local_time",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "duration_minutes": 0 })),
            422,
            "duration_minutes",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "count": 0 })),
            422,
            "count",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "count": 5000 })),
            422,
            "count",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "until": "2027-03-01" })),
            422,
            "count",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "count": null })),
            422,
            "count",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "interval": 0 })),
            422,
            "interval",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "freq": "monthly", "weekday": "thu" })),
            422,
            "week_of_month",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "freq": "monthly", "week_of_month": 5, "weekday": "thu" })),
            422,
            "week_of_month",
        ),
        (
            Method::POST,
            schedules.clone(),
            weekly(json!({ "freq": "monthly", "week_of_month": 1, "weekday": "someday" })),
            422,
            "weekday",
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{sid}"),
            json!({}),
            422,
            "body",
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{sid}"),
            json!({ "duration_minutes": 2000 }),
            422,
            "duration_minutes",
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{sid}"),
            json!({ "reading_id": "not-a-uuid" }),
            400,
            "UUID",
        ),
        (
            Method::PUT,
            format!("/api/v1/sessions/{sid}/rsvps/{mid}"),
            json!({ "response": "perhaps" }),
            400,
            "unknown variant",
        ),
        (
            Method::PUT,
            format!("/api/v1/sessions/{sid}/attendance"),
            json!({ "attendance": [] }),
            422,
            "attendance",
        ),
        (
            Method::GET,
            "/api/v1/circles/not-a-uuid".into(),
            json!(null),
            400,
            "UUID",
        ),
        (
            Method::GET,
            format!("/api/v1/circles/{}", uuid::Uuid::now_v7()),
            json!(null),
            404,
            "circle not found",
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{}", uuid::Uuid::now_v7()),
            json!(null),
            404,
            "session not found",
        ),
        (
            Method::GET,
            "/api/v1/circles?limit=0".into(),
            json!(null),
            422,
            "limit",
        ),
        (
            Method::GET,
            "/api/v1/circles?limit=100000".into(),
            json!(null),
            422,
            "limit",
        ),
        (
            Method::GET,
            "/api/v1/circles?cursor=%%%".into(),
            json!(null),
            422,
            "cursor",
        ),
        (
            Method::GET,
            "/api/v1/circles?cursor=bm9wZQ".into(),
            json!(null),
            422,
            "cursor",
        ),
        (
            Method::GET,
            "/api/v1/circles?color=red".into(),
            json!(null),
            400,
            "unknown field",
        ),
        (
            Method::GET,
            "/api/v1/jobs?state=lost".into(),
            json!(null),
            400,
            "unknown variant",
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{}/retry", uuid::Uuid::now_v7()),
            json!({}),
            404,
            "job not found",
        ),
        (
            Method::GET,
            "/api/v1/no-such-thing".into(),
            json!(null),
            404,
            "route not found",
        ),
    ];
    for (method, path, body, status, hint) in cases {
        let body = (!body.is_null()).then_some(body);
        let r = app
            .request_as(Some(&app.token), method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path} {body:?}: {}",
            r.body
        );
        let error = &r.body["error"];
        assert!(
            error["code"].is_string(),
            "{method} {path}: no error code in {}",
            r.body
        );
        let text = format!(
            "{} {}",
            error["field"].as_str().unwrap_or(""),
            error["message"].as_str().unwrap_or("")
        );
        assert!(
            text.contains(hint),
            "{method} {path}: expected {hint:?} in {text:?}"
        );
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    let r = app
        .post_raw(
            "/api/v1/circles",
            "application/json",
            b"{\"name\": \"X\", ".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid JSON"));
    let r = app
        .post_raw("/api/v1/circles", "text/plain", b"name=X".to_vec())
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("application/json"));
    let huge = format!(
        "{{\"name\": \"X\", \"timezone\": \"UTC\", \"description\": \"{}\"}}",
        "a".repeat(70 * 1024)
    );
    let r = app
        .post_raw("/api/v1/circles", "application/json", huge.into_bytes())
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "payload_too_large");
    let long_but_small =
        json!({ "name": "X", "timezone": "UTC", "description": "d".repeat(10_001) });
    let r = app.post("/api/v1/circles", &long_but_small).await;
    assert_eq!(r.status, 422);
    assert_eq!(app.snapshot().await, before);
}
