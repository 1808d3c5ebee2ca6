//! A reading split over the sessions that read it: chapters in, a plan out, boundaries moved
//! by hand, re-flow when sessions are cancelled or added (never touching a session that has
//! started), and the segment in the invitation and its calendar entry.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

fn chapters(pages: &[i64]) -> Value {
    let mut first = 1;
    let list: Vec<Value> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = json!({ "number": i + 1, "title": format!("Chapter {}", i + 1),
                            "first_page": first, "last_page": first + p - 1 });
            first += p;
            c
        })
        .collect();
    json!({ "chapters": list })
}

fn covers(plan: &Value, last: i64) -> Vec<i64> {
    let mut next = 1;
    let mut sizes = Vec::new();
    for s in plan["segments"].as_array().unwrap() {
        assert_eq!(s["from"], next, "segments follow on: {plan}");
        next = s["to"].as_i64().unwrap() + 1;
        sizes.push(s["pages"].as_i64().unwrap());
    }
    assert_eq!(next - 1, last, "every page is read: {plan}");
    sizes
}

async fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_book_is_split_over_its_sessions_and_reflows_when_they_change() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Slow Books", "timezone": "Europe/London" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.add_member(&id, "ada@example.org").await.expect(201);
    let first = (Utc::now() + Duration::days(3)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 4 }),
        )
        .await;
    let reading = app
        .post(
            &format!("/api/v1/circles/{id}/readings"),
            &json!({ "title": "Braiding Sweetgrass" }),
        )
        .await
        .expect(201);
    let rid = reading["id"].as_str().unwrap();

    let before = app.snapshot().await;
    for (body, field) in [
        (json!({ "chapters": [] }), "chapters"),
        (
            json!({ "chapters": [{ "number": 1, "first_page": 1, "last_page": 20 },
                                 { "number": 2, "first_page": 10, "last_page": 30 }] }),
            "first_page",
        ),
        (
            json!({ "contents": "1 Skywoman 1\n2 Pecans 20" }),
            "last_page",
        ),
        (json!({}), "chapters"),
    ] {
        let res = app
            .put(&format!("/api/v1/readings/{rid}/chapters"), &body)
            .await;
        assert_eq!(res.status.as_u16(), 422, "{body}");
        assert_eq!(res.body["error"]["field"], field, "{body}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused chapters change nothing"
    );

    let plan = app
        .put(
            &format!("/api/v1/readings/{rid}/chapters"),
            &chapters(&[20, 30, 25, 25, 40, 10]),
        )
        .await
        .expect(200);
    let sizes = covers(&plan, 150);
    assert_eq!(sizes.len(), 4);
    assert_eq!(
        *sizes.iter().max().unwrap(),
        50,
        "the largest session is as small as it can be"
    );
    let labels: Vec<&str> = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert!(labels[0].starts_with("Read chapter"), "{labels:?}");
    let got = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    assert_eq!(got["segments"], plan["segments"]);

    // The invitation says what to read, and so does its calendar entry.
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let invitation = mails
        .iter()
        .find(|m| m.subject.starts_with("Invitation") && m.to.contains("ada@example.org"))
        .expect("an invitation");
    assert!(
        invitation
            .text
            .contains(&format!("Reading: Braiding Sweetgrass. {}", labels[0])),
        "{}",
        invitation.text
    );
    let ics = &invitation.calendar.as_ref().expect("a calendar part").1;
    assert!(
        ics.contains(&format!("SUMMARY:Slow Books: {}", labels[0]).replace(',', "\\,")),
        "{ics}"
    );

    // The organiser moves a boundary; a gap is refused.
    let segs = plan["segments"].as_array().unwrap();
    let moved: Vec<Value> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (from, to) = match i {
                0 => (1, 40),
                1 => (41, s["to"].as_i64().unwrap()),
                _ => (s["from"].as_i64().unwrap(), s["to"].as_i64().unwrap()),
            };
            json!({ "session_id": s["session_id"], "reading_id": s["reading_id"], "from": from, "to": to })
        })
        .collect();
    let mut gap = moved.clone();
    gap[1]["from"] = json!(45);
    let before = app.snapshot().await;
    let res = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": gap }),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(app.snapshot().await, before);
    let plan = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": moved }),
        )
        .await
        .expect(200);
    assert_eq!(plan["segments"][0]["to"], 40);
    assert_eq!(plan["segments"][0]["pages"], 40);
    covers(&plan, 150);

    // The first session takes place; the third is cancelled: only the future re-flows.
    let s0 = sessions[0]["id"].as_str().unwrap();
    sql(&app, &format!("UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{s0}'")).await;
    let s2 = sessions[2]["id"].as_str().unwrap();
    app.post(&format!("/api/v1/sessions/{s2}/cancel"), &json!({}))
        .await
        .expect(200);
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    let segs = plan["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[0]["session_id"], s0);
    assert_eq!(
        (segs[0]["from"].clone(), segs[0]["to"].clone()),
        (json!(1), json!(40)),
        "a started session keeps its segment"
    );
    assert!(segs.iter().all(|s| s["session_id"] != s2));
    covers(&plan, 150);

    // Two more sessions: they continue the book and the rest spreads over them.
    let more = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": (Utc::now() + Duration::days(40)).date_naive().to_string(),
                    "local_time": "19:00", "duration_minutes": 90, "count": 2 }),
        )
        .await;
    assert_eq!(more[0]["reading_id"], Value::Null, "as created");
    let plan = app
        .get(&format!("/api/v1/circles/{id}/reading-plan"))
        .await
        .expect(200);
    let segs = plan["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 5, "{plan}");
    assert_eq!(
        (segs[0]["from"].clone(), segs[0]["to"].clone()),
        (json!(1), json!(40))
    );
    let sizes = covers(&plan, 150);
    assert!(sizes[1..].iter().all(|s| *s <= 40), "{sizes:?}");
    // A moved boundary may not touch the started session.
    let mut touch: Vec<Value> = segs
        .iter()
        .map(|s| json!({ "session_id": s["session_id"], "reading_id": s["reading_id"], "from": s["from"], "to": s["to"] }))
        .collect();
    touch[0]["to"] = json!(30);
    touch[1]["from"] = json!(31);
    let res = app
        .put(
            &format!("/api/v1/circles/{id}/reading-plan"),
            &json!({ "segments": touch }),
        )
        .await;
    assert_eq!(res.status.as_u16(), 409);
}
