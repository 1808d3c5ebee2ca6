use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn circle_in(app: &TestApp, tz: &str) -> String {
    app.create_circle(json!({ "name": "Sessions", "timezone": tz }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn weekly_schedule_keeps_wall_time_across_the_dst_change() {
    let app = spawn_app().await;
    let id = circle_in(&app, "America/New_York").await;
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": "2026-10-22", "local_time": "19:00",
                    "duration_minutes": 90, "count": 3 }),
        )
        .await;
    let starts: Vec<&str> = sessions
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-10-22T23:00:00Z",
            "2026-10-29T23:00:00Z",
            "2026-11-06T00:00:00Z"
        ]
    );
    for s in &sessions {
        assert_eq!(s["local_time"], "19:00");
        assert_eq!(s["timezone"], "America/New_York");
        assert_eq!(s["duration_minutes"], 90);
        assert_eq!(s["ics_sequence"], 0);
        assert_eq!(s["status"], "scheduled");
    }
    assert_eq!(sessions[2]["ends_at"], "2026-11-06T01:30:00Z");

    let listed = app
        .get(&format!("/api/v1/circles/{id}/sessions"))
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    let upcoming = app
        .get(&format!(
            "/api/v1/circles/{id}/sessions?from=2026-10-30T01:00:00Z"
        ))
        .await
        .expect(200);
    assert_eq!(upcoming["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn monthly_schedule_lands_on_the_last_thursday_and_nonexistent_times_move_forward() {
    let app = spawn_app().await;
    let id = circle_in(&app, "America/New_York").await;
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "monthly", "week_of_month": -1, "weekday": "thu", "first_date": "2027-01-01",
                    "local_time": "18:30", "duration_minutes": 60, "until": "2027-04-30" }),
        )
        .await;
    let dates: Vec<&str> = sessions
        .iter()
        .map(|s| s["local_date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2027-01-28", "2027-02-25", "2027-03-25", "2027-04-29"]
    );

    // 02:30 on the spring-forward Sunday does not exist: read with the offset before the gap
    // (RFC 5545 §3.3.5), the session starts at 03:30 EDT.
    let gap = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": "2027-03-14", "local_time": "02:30",
                    "duration_minutes": 60, "count": 2 }),
        )
        .await;
    assert_eq!(gap[0]["starts_at"], "2027-03-14T07:30:00Z");
    assert_eq!(gap[0]["local_time"], "02:30");
    assert_eq!(gap[1]["starts_at"], "2027-03-21T06:30:00Z");
}

#[tokio::test]
async fn rescheduling_bumps_the_sequence_and_cancelled_sessions_are_frozen() {
    let app = spawn_app().await;
    let id = circle_in(&app, "Europe/London").await;
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": "2027-05-03", "local_time": "19:00",
                    "duration_minutes": 60, "count": 1 }),
        )
        .await;
    let sid = sessions[0]["id"].as_str().unwrap();
    let moved = app
        .patch(
            &format!("/api/v1/sessions/{sid}"),
            &json!({ "local_date": "2027-05-04", "local_time": "18:15", "duration_minutes": 75, "location": "Library" }),
        )
        .await
        .expect(200);
    assert_eq!(moved["starts_at"], "2027-05-04T17:15:00Z");
    assert_eq!(moved["ends_at"], "2027-05-04T18:30:00Z");
    assert_eq!(moved["ics_sequence"], 1);
    assert_eq!(moved["location"], "Library");

    let again = app
        .patch(
            &format!("/api/v1/sessions/{sid}"),
            &json!({ "location": null }),
        )
        .await
        .expect(200);
    assert_eq!(again["ics_sequence"], 2);
    assert_eq!(again["location"], Value::Null);
    assert_eq!(again["starts_at"], moved["starts_at"]);

    let cancelled = app
        .post(&format!("/api/v1/sessions/{sid}/cancel"), &json!({}))
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["ics_sequence"], 3);
    let twice = app
        .post(&format!("/api/v1/sessions/{sid}/cancel"), &json!({}))
        .await
        .expect(200);
    assert_eq!(twice["ics_sequence"], 3, "cancelling twice changes nothing");

    let before = app.snapshot().await;
    let r = app
        .patch(
            &format!("/api/v1/sessions/{sid}"),
            &json!({ "local_time": "20:00" }),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{sid}"))
            .await
            .expect(200)["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn sessions_only_point_at_their_own_circles_readings_and_members() {
    let app = spawn_app().await;
    let a = circle_in(&app, "UTC").await;
    let b = circle_in(&app, "UTC").await;
    let reading_a = app
        .post(
            &format!("/api/v1/circles/{a}/readings"),
            &json!({ "title": "Ours" }),
        )
        .await
        .expect(201);
    let reading_b = app
        .post(
            &format!("/api/v1/circles/{b}/readings"),
            &json!({ "title": "Theirs" }),
        )
        .await
        .expect(201);
    let member_b = app.add_member(&b, "bee@example.org").await.expect(201);
    let member_a = app.add_member(&a, "ay@example.org").await.expect(201);
    let s = app
        .schedule(&a, json!({ "freq": "weekly", "first_date": "2027-01-04", "local_time": "12:00", "duration_minutes": 30, "count": 1 }))
        .await;
    let sid = s[0]["id"].as_str().unwrap();

    let before = app.snapshot().await;
    let r = app
        .patch(
            &format!("/api/v1/sessions/{sid}"),
            &json!({ "reading_id": reading_b["id"] }),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("reading_id"))
    );
    let r = app
        .patch(
            &format!("/api/v1/sessions/{sid}"),
            &json!({ "facilitator_id": member_b["member_id"] }),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("facilitator_id"))
    );
    let r = app
        .put(
            &format!(
                "/api/v1/sessions/{sid}/rsvps/{}",
                member_b["member_id"].as_str().unwrap()
            ),
            &json!({ "response": "yes" }),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = app
        .put(
            &format!("/api/v1/sessions/{sid}/attendance"),
            &json!({ "attendance": [{ "member_id": member_b["member_id"], "attended": true }] }),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(app.snapshot().await, before);

    let ok = app
        .patch(
            &format!("/api/v1/sessions/{sid}"),
            &json!({ "reading_id": reading_a["id"], "facilitator_id": member_a["member_id"] }),
        )
        .await
        .expect(200);
    assert_eq!(ok["reading_id"], reading_a["id"]);
    assert_eq!(ok["facilitator_id"], member_a["member_id"]);
}

#[tokio::test]
async fn rsvps_attendance_and_shared_reflections() {
    let app = spawn_app().await;
    let id = circle_in(&app, "UTC").await;
    let ada = app.add_member(&id, "ada@example.org").await.expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let bo = app.add_member(&id, "bo@example.org").await.expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2027-01-04", "local_time": "12:00", "duration_minutes": 30, "count": 1 }))
        .await;
    let sid = s[0]["id"].as_str().unwrap();

    let rsvp = app
        .put(
            &format!("/api/v1/sessions/{sid}/rsvps/{ada}"),
            &json!({ "response": "maybe" }),
        )
        .await
        .expect(200);
    assert_eq!(rsvp["response"], "maybe");
    let rsvp = app
        .put(
            &format!("/api/v1/sessions/{sid}/rsvps/{ada}"),
            &json!({ "response": "yes" }),
        )
        .await
        .expect(200);
    assert_eq!(rsvp["response"], "yes");
    assert!(rsvp["responded_at"].is_string());
    let r = app
        .put(
            &format!("/api/v1/sessions/{sid}/rsvps/{ada}"),
            &json!({ "response": "perhaps" }),
        )
        .await;
    assert_eq!(r.status, 400);

    let list = app
        .get(&format!("/api/v1/sessions/{sid}/rsvps"))
        .await
        .expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "every active member is listed");
    let find = |m: &str| items.iter().find(|i| i["member_id"] == m).unwrap().clone();
    assert_eq!(find(&ada)["response"], "yes");
    assert_eq!(find(&bo)["response"], Value::Null);

    app.put(
        &format!("/api/v1/sessions/{sid}/attendance"),
        &json!({ "attendance": [{ "member_id": ada, "attended": true }, { "member_id": bo, "attended": false }] }),
    )
    .await
    .expect(200);
    let att = app
        .get(&format!("/api/v1/sessions/{sid}/attendance"))
        .await
        .expect(200);
    let items = att["items"].as_array().unwrap();
    let ada_row = items
        .iter()
        .find(|i| i["member_id"] == ada.as_str())
        .unwrap();
    assert_eq!(
        (ada_row["attended"].clone(), ada_row["response"].clone()),
        (json!(true), json!("yes"))
    );

    // One shared and one private reflection: only the shared one is listed.
    let mut conn = app.conn().await;
    use roundtable::domain::{MemberId, ReflectionVisibility, SessionId};
    let session_id = SessionId(sid.parse().unwrap());
    roundtable::db::reflections::upsert(
        &mut conn,
        session_id,
        MemberId(ada.parse().unwrap()),
        "We should read slower.",
        ReflectionVisibility::Circle,
    )
    .await
    .unwrap();
    roundtable::db::reflections::upsert(
        &mut conn,
        session_id,
        MemberId(bo.parse().unwrap()),
        "Just for me.",
        ReflectionVisibility::Private,
    )
    .await
    .unwrap();
    let refl = app
        .get(&format!("/api/v1/sessions/{sid}/reflections"))
        .await
        .expect(200);
    let items = refl["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["body"], "We should read slower.");
    assert_eq!(items[0]["display_name"], "ada");
    assert!(!refl.to_string().contains("Just for me"));
}

#[tokio::test]
async fn answers_close_when_the_session_starts_from_the_api_as_from_the_link() {
    let app = spawn_app().await;
    let id = app
        .create_circle(json!({ "name": "Closing", "timezone": "UTC" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ada = app.add_member(&id, "ada@example.org").await.expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-01-06", "local_time": "12:00", "duration_minutes": 30, "count": 1 }))
        .await;
    let sid = s[0]["id"].as_str().unwrap().to_string();
    crate::experience::took_place(&app, &sid, 0).await;
    let before = app.snapshot().await;
    let r = app
        .put(
            &format!("/api/v1/sessions/{sid}/rsvps/{ada}"),
            &json!({ "response": "yes" }),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert!(r.body.to_string().contains("answers close when it starts"));
    let holder = app.holder("ada@example.org").await;
    let link = app.path_of(&app.links().rsvp(
        holder,
        sid.parse().unwrap(),
        chrono::Utc::now() + chrono::Duration::days(1),
        None,
    ));
    let page = app
        .browser(reqwest::Method::POST, &link, Some(&[("response", "yes")]))
        .await;
    assert_eq!(page.status, 409);
    assert_eq!(
        app.snapshot().await,
        before,
        "neither front end saved the answer"
    );
}
