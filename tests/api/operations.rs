use std::time::{Duration, Instant};

use reqwest::Method;
use roundtable::config::DatabaseUrl;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_with_pool, test_settings};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let health = app
        .request_as(None, Method::GET, "/healthz", None)
        .await
        .expect(200);
    assert_eq!(health["status"], "ok");
    let ready = app
        .request_as(None, Method::GET, "/readyz", None)
        .await
        .expect(200);
    assert_eq!(ready["database"], "ok");

    let circle = app.circle_with_capacity(Some(1)).await;
    let id = circle["id"].as_str().unwrap();
    app.get(&format!("/api/v1/circles/{id}")).await.expect(200);
    app.add_member(id, "a@example.org").await.expect(201);

    let metrics = app.request_as(None, Method::GET, "/metrics", None).await;
    assert_eq!(metrics.status, 200);
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains(r#"roundtable_http_requests_total{method="GET",route="/api/v1/circles/{id}",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"roundtable_http_request_duration_seconds_count{method="POST",route="/api/v1/circles",} "#.trim_end_matches(", ")) || text.contains(r#"roundtable_http_request_duration_seconds_count{method="POST",route="/api/v1/circles"} 1"#), "{text}");
    assert!(
        text.contains(r#"roundtable_jobs{state="queued"} 2"#),
        "{text}"
    );
    assert!(
        text.contains("roundtable_db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_document_lists_every_route_with_bearer_security() {
    let app = spawn_app().await;
    let doc = app
        .request_as(None, Method::GET, "/api/openapi.json", None)
        .await
        .expect(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/circles", "get"),
        ("/api/v1/circles", "post"),
        ("/api/v1/circles/{id}", "patch"),
        ("/api/v1/circles/{id}/archive", "post"),
        ("/api/v1/circles/{id}/readings", "post"),
        ("/api/v1/circles/{id}/schedules", "post"),
        ("/api/v1/circles/{id}/sessions", "get"),
        ("/api/v1/circles/{id}/members", "post"),
        ("/api/v1/circles/{id}/members/{member_id}", "delete"),
        ("/api/v1/sessions/{id}", "patch"),
        ("/api/v1/sessions/{id}/cancel", "post"),
        ("/api/v1/sessions/{id}/rsvps/{member_id}", "put"),
        ("/api/v1/sessions/{id}/attendance", "put"),
        ("/api/v1/sessions/{id}/reflections", "get"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{id}/retry", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Circle",
        "Session",
        "CircleCreate",
        "ScheduleCreate",
        "ErrorBody",
        "Rsvp",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Zones and slugs are typed in rows and read as plain text in JSON.
    for field in ["timezone", "slug"] {
        let schema = &schemas["Circle"]["properties"][field];
        let schema = match schema.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => &schemas[r.rsplit('/').next().unwrap()],
            None => schema,
        };
        assert_eq!(schema["type"], "string", "{field}: {schema}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn database_outage_answers_503_quickly_and_readyz_reports_it() {
    // Nothing listens on this port: every connection attempt fails at once.
    let dead = DatabaseUrl::new("postgres://postgres@127.0.0.1:1/roundtable");
    let settings = test_settings(&dead);
    let pool = roundtable::db::build_pool(&settings.database).unwrap();
    let app = spawn_with_pool(settings, pool, dead).await;

    let started = Instant::now();
    let ready = app.request_as(None, Method::GET, "/readyz", None).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["database"], "unreachable");
    let r = app
        .request_as(
            Some("rt_anything"),
            Method::POST,
            "/api/v1/circles",
            Some(&json!({ "name": "X", "timezone": "UTC" })),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.error_code(), "unavailable");
    assert!(r.headers.contains_key("retry-after"));
    let r = app
        .request_as(Some("rt_anything"), Method::GET, "/api/v1/circles", None)
        .await;
    assert_eq!(r.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "outage answers must not hang"
    );
    // Liveness and metrics do not depend on the database.
    app.request_as(None, Method::GET, "/healthz", None)
        .await
        .expect(200);
    assert_eq!(
        app.request_as(None, Method::GET, "/metrics", None)
            .await
            .status,
        200
    );
}
