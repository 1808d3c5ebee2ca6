use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_for_races};

fn waitlist(items: &[Value]) -> Vec<(String, i64)> {
    let mut w: Vec<(String, i64)> = items
        .iter()
        .filter(|m| m["state"] == "waitlisted")
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_string(),
                m["waitlist_position"].as_i64().unwrap(),
            )
        })
        .collect();
    w.sort_by_key(|(_, p)| *p);
    w
}

async fn roster(app: &crate::helpers::TestApp, circle: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/circles/{circle}/members?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn fifty_concurrent_joins_fill_ten_seats_and_waitlist_the_rest_in_order() {
    let app = spawn_app_for_races().await;
    let circle = app.circle_with_capacity(Some(10)).await;
    let id = circle["id"].as_str().unwrap();

    let joins = (0..50).map(|i| {
        let app = &app;
        async move { app.add_member(id, &format!("reader{i}@example.org")).await }
    });
    let results = join_all(joins).await;
    for r in &results {
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    }
    let active = results
        .iter()
        .filter(|r| r.body["state"] == "active")
        .count();
    assert_eq!(active, 10);

    let items = roster(&app, id).await;
    assert_eq!(items.len(), 50);
    assert_eq!(items.iter().filter(|m| m["state"] == "active").count(), 10);
    let waiting = waitlist(&items);
    let positions: Vec<i64> = waiting.iter().map(|(_, p)| *p).collect();
    assert_eq!(positions, (1..=40).collect::<Vec<_>>());

    // Arrival order: positions follow the order in which joins committed.
    let mut by_join: Vec<&Value> = items
        .iter()
        .filter(|m| m["state"] == "waitlisted")
        .collect();
    by_join.sort_by_key(|m| m["joined_at"].as_str().unwrap().to_string());
    let order: Vec<i64> = by_join
        .iter()
        .map(|m| m["waitlist_position"].as_i64().unwrap())
        .collect();
    assert_eq!(order, (1..=40).collect::<Vec<_>>());

    // Each answer agrees with the roster.
    for r in &results {
        let member = items
            .iter()
            .find(|m| m["member_id"] == r.body["member_id"])
            .unwrap();
        assert_eq!(member["state"], r.body["state"]);
        assert_eq!(member["waitlist_position"], r.body["waitlist_position"]);
    }
    let jobs = app.jobs_in_state("queued").await;
    let emails: Vec<&Value> = jobs.iter().filter(|j| j["kind"] == "email").collect();
    assert_eq!(emails.len(), 50, "one welcome or waitlisted email per join");
    assert_eq!(
        emails
            .iter()
            .filter(|j| j["payload"]["message"] == "welcome")
            .count(),
        10
    );
    assert_eq!(
        emails
            .iter()
            .filter(|j| j["payload"]["message"] == "waitlisted")
            .count(),
        40
    );
    let invitations = jobs
        .iter()
        .filter(|j| j["kind"] == "member_invitations")
        .count();
    assert_eq!(
        invitations, 10,
        "seated members are invited to upcoming sessions"
    );
}

#[tokio::test]
async fn joining_twice_changes_nothing() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(1)).await;
    let id = circle["id"].as_str().unwrap();
    app.add_member(id, "ada@example.org").await.expect(201);
    app.add_member(id, "grace@example.org").await.expect(201);
    let before = app.snapshot().await;

    let again = app.add_member(id, "ADA@example.org").await.expect(200);
    assert_eq!(again["state"], "active");
    let again = app.add_member(id, "grace@example.org").await.expect(200);
    assert_eq!(again["state"], "waitlisted");
    assert_eq!(again["waitlist_position"], 1);
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn leaving_promotes_the_head_of_the_waitlist_and_queues_an_email() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(2)).await;
    let id = circle["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let r = app
            .add_member(id, &format!("{name}@example.org"))
            .await
            .expect(201);
        ids.push(r["member_id"].as_str().unwrap().to_string());
    }
    // d (position 2) leaves the waitlist: e moves up to 2... then a leaves a seat: c is promoted.
    let left = app
        .delete(&format!("/api/v1/circles/{id}/members/{}", ids[3]))
        .await
        .expect(200);
    assert_eq!(left["state"], "left");
    let w = waitlist(&roster(&app, id).await);
    assert_eq!(
        w,
        vec![("c@example.org".into(), 1), ("e@example.org".into(), 2)]
    );

    app.delete(&format!("/api/v1/circles/{id}/members/{}", ids[0]))
        .await
        .expect(200);
    let items = roster(&app, id).await;
    let c = items
        .iter()
        .find(|m| m["email"] == "c@example.org")
        .unwrap();
    assert_eq!(c["state"], "active");
    assert_eq!(waitlist(&items), vec![("e@example.org".into(), 1)]);

    let jobs = app.get("/api/v1/jobs?limit=200").await.expect(200);
    let promoted: Vec<&Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "email" && j["payload"]["message"] == "promoted")
        .collect();
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0]["payload"]["member_id"], ids[2].as_str());
    assert_eq!(promoted[0]["state"], "queued");

    // Leaving again changes nothing; a stranger cannot leave.
    let before = app.snapshot().await;
    app.delete(&format!("/api/v1/circles/{id}/members/{}", ids[0]))
        .await
        .expect(200);
    assert_eq!(app.snapshot().await, before);
    let stranger = uuid::Uuid::now_v7();
    let r = app
        .delete(&format!("/api/v1/circles/{id}/members/{stranger}"))
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn raising_capacity_admits_waitlisted_people_and_facilitators_never_wait() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(1)).await;
    let id = circle["id"].as_str().unwrap();
    for name in ["a", "b", "c"] {
        app.add_member(id, &format!("{name}@example.org"))
            .await
            .expect(201);
    }
    let host = app
        .post(
            &format!("/api/v1/circles/{id}/members"),
            &json!({ "email": "host@example.org", "display_name": "Host", "role": "facilitator" }),
        )
        .await
        .expect(201);
    assert_eq!(host["state"], "active");
    assert_eq!(host["role"], "facilitator");

    app.patch(&format!("/api/v1/circles/{id}"), &json!({ "capacity": 2 }))
        .await
        .expect(200);
    let items = roster(&app, id).await;
    assert_eq!(waitlist(&items), vec![("c@example.org".into(), 1)]);

    // Making the waitlisted person a facilitator seats them without taking a member's seat.
    let c = items
        .iter()
        .find(|m| m["email"] == "c@example.org")
        .unwrap();
    let patched = app
        .patch(
            &format!(
                "/api/v1/circles/{id}/members/{}",
                c["member_id"].as_str().unwrap()
            ),
            &json!({ "role": "facilitator" }),
        )
        .await
        .expect(200);
    assert_eq!(patched["state"], "active");
    assert_eq!(patched["waitlist_position"], Value::Null);

    // Removing the limit admits everyone.
    app.add_member(id, "d@example.org").await.expect(201);
    app.patch(
        &format!("/api/v1/circles/{id}"),
        &json!({ "capacity": null }),
    )
    .await
    .expect(200);
    assert!(waitlist(&roster(&app, id).await).is_empty());
}

#[tokio::test]
async fn roster_pages_with_a_cursor_and_filters_by_state() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(3)).await;
    let id = circle["id"].as_str().unwrap();
    for i in 0..5 {
        app.add_member(id, &format!("p{i}@example.org"))
            .await
            .expect(201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/circles/{id}/members?limit=2&cursor={c}"),
            None => format!("/api/v1/circles/{id}/members?limit=2"),
        };
        let page = app.get(&path).await.expect(200);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["email"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5);
    let waiting = app
        .get(&format!("/api/v1/circles/{id}/members?state=waitlisted"))
        .await
        .expect(200);
    assert_eq!(waiting["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn archiving_a_circle_lets_nobody_in_from_its_waitlist() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(1)).await;
    let id = circle["id"].as_str().unwrap();
    for name in ["a", "b", "c"] {
        app.add_member(id, &format!("{name}@example.org"))
            .await
            .expect(201);
    }
    app.run_pending_jobs().await;
    let before = app.sent_emails().len();

    // More seats and archived in one change: nobody is seated in (or told of) a closed circle.
    app.patch(
        &format!("/api/v1/circles/{id}"),
        &json!({ "capacity": 3, "status": "archived" }),
    )
    .await
    .expect(200);
    let items = roster(&app, id).await;
    assert_eq!(
        waitlist(&items),
        vec![("b@example.org".into(), 1), ("c@example.org".into(), 2)]
    );
    app.post(&format!("/api/v1/circles/{id}/archive"), &json!({}))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    assert_eq!(
        app.sent_emails().len(),
        before,
        "no email for an archived circle"
    );
    assert_eq!(waitlist(&roster(&app, id).await).len(), 2);
}
