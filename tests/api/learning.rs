//! The learning loop end to end: talking-piece agendas built from RSVPs, consent rounds run by
//! email links, and feedback for whoever led behind its k-answer threshold, against real
//! Postgres.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const NAMES: [&str; 6] = ["ada", "bo", "cy", "di", "ed", "flo"];

/// A circle of `kind` with the first `n` of NAMES as active members, and `sessions` weekly
/// sessions, the first `first_in_days` from now. Returns the circle, member ids (in NAMES
/// order) and the sessions.
async fn circle_with(
    app: &TestApp,
    kind: &str,
    n: usize,
    sessions: i64,
    first_in_days: i64,
) -> (String, Vec<String>, Vec<Value>) {
    let circle = app
        .create_circle(
            json!({ "name": format!("Circle {kind}"), "kind": kind, "timezone": "Europe/London" }),
        )
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let mut members = Vec::new();
    for name in &NAMES[..n] {
        let m = app
            .add_member(&id, &format!("{name}@example.org"))
            .await
            .expect(201);
        members.push(m["member_id"].as_str().unwrap().to_string());
    }
    let first = (Utc::now() + Duration::days(first_in_days)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": sessions }),
        )
        .await;
    (id, members, sessions)
}

async fn rsvp(app: &TestApp, session: &str, member: &str, response: &str) {
    app.put(
        &format!("/api/v1/sessions/{session}/rsvps/{member}"),
        &json!({ "response": response }),
    )
    .await
    .expect(200);
}

/// The link with one character of its token changed.
fn damaged(path: &str) -> String {
    let mut chars: Vec<char> = path.chars().collect();
    let i = path.rfind('/').unwrap() + 10;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn order_of(agenda: &Value, round: usize) -> Vec<String> {
    agenda["rounds"][round]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["member_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_restorative_circles_speaking_order_follows_rsvps_until_it_freezes() {
    let app = spawn_app().await;
    let (circle, m, sessions) = circle_with(&app, "restorative_circle", 5, 2, 3).await;
    let sid = sessions[0]["id"].as_str().unwrap();

    let template = app
        .get(&format!("/api/v1/circles/{circle}/agenda"))
        .await
        .expect(200);
    assert_eq!(
        template["enabled"], true,
        "restorative circles run rounds by default"
    );
    let kinds: Vec<&str> = template["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["check_in", "reading", "open", "check_out"]);

    // Ada leads; four say yes, one says no.
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "facilitator_id": m[0] }),
    )
    .await
    .expect(200);
    for who in &m[..4] {
        rsvp(&app, sid, who, "yes").await;
    }
    rsvp(&app, sid, &m[4], "no").await;

    let before = app.snapshot().await;
    let agenda = app
        .get(&format!("/api/v1/sessions/{sid}/agenda"))
        .await
        .expect(200);
    assert_eq!(
        app.snapshot().await,
        before,
        "reading an agenda changes nothing"
    );
    assert_eq!(agenda["frozen"], false);
    assert!(agenda["seed"].is_i64());
    let order = order_of(&agenda, 0);
    assert_eq!(order.len(), 4, "only the yes RSVPs speak: {agenda}");
    assert!(!order.contains(&m[4]));
    assert_ne!(order[0], m[0], "the facilitator never goes first");
    // Check-in: 10 minutes for four people is 150 s each.
    assert_eq!(agenda["rounds"][0]["per_speaker_seconds"], 150);
    assert_eq!(agenda["rounds"][0]["minutes"], 10);
    // Open round: 30 minutes for four is 450 s, clamped to five minutes.
    assert_eq!(agenda["rounds"][2]["per_speaker_seconds"], 300);

    // Ed changes to yes: the order follows.
    rsvp(&app, sid, &m[4], "yes").await;
    let agenda = app
        .get(&format!("/api/v1/sessions/{sid}/agenda"))
        .await
        .expect(200);
    assert_eq!(order_of(&agenda, 0).len(), 5);

    // Two hours before, the sweep freezes it; later RSVPs no longer move it.
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE sessions SET starts_at = now() + interval '90 minutes', \
                                 ends_at = now() + interval '180 minutes' WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(sid).unwrap()),
        &mut conn,
    )
    .await
    .unwrap();
    let frozen = roundtable::jobs::agenda::freeze_due(&mut conn, Utc::now())
        .await
        .unwrap();
    assert_eq!(frozen, 1);
    let at_freeze = app
        .get(&format!("/api/v1/sessions/{sid}/agenda"))
        .await
        .expect(200);
    assert_eq!(at_freeze["frozen"], true);
    rsvp(&app, sid, &m[1], "no").await;
    let later = app
        .get(&format!("/api/v1/sessions/{sid}/agenda"))
        .await
        .expect(200);
    assert_eq!(later, at_freeze, "a frozen order never changes");
    assert_eq!(
        roundtable::jobs::agenda::freeze_due(&mut conn, Utc::now())
            .await
            .unwrap(),
        0
    );

    // The next session rotates: whoever went first last time goes last.
    let next = sessions[1]["id"].as_str().unwrap();
    for who in &m[..5] {
        rsvp(&app, next, who, "yes").await;
    }
    let agenda = app
        .get(&format!("/api/v1/sessions/{next}/agenda"))
        .await
        .expect(200);
    let first_last_time = &order_of(&at_freeze, 0)[0];
    assert_eq!(order_of(&agenda, 0).last().unwrap(), first_last_time);
    assert_ne!(&order_of(&agenda, 0)[0], first_last_time);
}

#[tokio::test]
async fn the_reminder_lists_the_order_and_the_timekeepers_page_counts_down() {
    let app = spawn_app().await;
    let (circle, m, sessions) = circle_with(&app, "restorative_circle", 4, 1, 3).await;
    let sid = sessions[0]["id"].as_str().unwrap();
    // The circle gets its suggested roles (keeper, timekeeper, welcomer); Bo keeps time.
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "name": "Timekeeper" }),
    )
    .await
    .expect(201);
    app.put(
        &format!("/api/v1/sessions/{sid}/roles/timekeeper"),
        &json!({ "member_id": m[1] }),
    )
    .await
    .expect(200);
    for who in &m {
        rsvp(&app, sid, who, "yes").await;
    }
    // The reminder is due now.
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND payload->>'message' = 'reminder'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let reminders: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.starts_with("Reminder"))
        .collect();
    assert_eq!(
        reminders.len(),
        4,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    for r in &reminders {
        assert!(r.text.contains("Rounds and speaking order:"), "{}", r.text);
        assert!(
            r.text.contains("Check-in (10 min, 2:30 each): "),
            "{}",
            r.text
        );
    }
    let bo = reminders
        .iter()
        .find(|r| r.to.contains("bo@example.org"))
        .unwrap();
    assert!(
        !reminders
            .iter()
            .find(|r| r.to.contains("cy@example.org"))
            .unwrap()
            .text
            .contains("/agenda/"),
        "only the timekeeper gets the agenda page"
    );
    let page = app.link_in(bo, "/agenda/");
    let before = app.snapshot().await;
    let res = app.browser(Method::GET, &page, None).await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(res.text().contains("/static/agenda.js"));
    assert!(
        res.text().contains("data-seconds=\"150\""),
        "{}",
        res.text()
    );
    assert!(res.text().contains("Start this round"));
    assert_eq!(app.snapshot().await, before, "the page changes nothing");
    // A POST is not a thing this page does; a damaged token is refused.
    let post = app.browser(Method::POST, &page, Some(&[])).await;
    assert!(post.status.is_client_error(), "{}", post.status);
    assert_eq!(app.snapshot().await, before);
    let bad = damaged(&page);
    assert!(app.browser(Method::GET, &bad, None).await.status.as_u16() >= 400);
    let js = app.browser(Method::GET, "/static/agenda.js", None).await;
    assert_eq!(js.status.as_u16(), 200);
    assert!(js.text().contains("setInterval"));
}

#[tokio::test]
async fn agenda_templates_are_checked_and_a_book_club_can_switch_rounds_on() {
    let app = spawn_app().await;
    let (circle, m, sessions) = circle_with(&app, "book_club", 3, 1, 3).await;
    let sid = sessions[0]["id"].as_str().unwrap();
    let off = app
        .get(&format!("/api/v1/sessions/{sid}/agenda"))
        .await
        .expect(200);
    assert_eq!(off["enabled"], false);
    assert_eq!(off["rounds"], json!([]));

    let before = app.snapshot().await;
    for (body, field) in [
        (json!({ "rounds": [] }), "rounds"),
        (
            json!({ "rounds": [{ "kind": "check_in", "prompt": "", "minutes": 5 }] }),
            "prompt",
        ),
        (
            json!({ "rounds": [{ "kind": "check_in", "prompt": "Hi", "minutes": 0 }] }),
            "minutes",
        ),
    ] {
        let res = app
            .put(&format!("/api/v1/circles/{circle}/agenda"), &body)
            .await;
        assert_eq!(res.status.as_u16(), 422, "{body}");
        assert_eq!(res.body["error"]["field"], field);
    }
    let res = app
        .put(
            &format!("/api/v1/circles/{circle}/agenda"),
            &json!({ "rounds": [{ "kind": "talking", "prompt": "Hi", "minutes": 5 }] }),
        )
        .await;
    assert_eq!(res.status.as_u16(), 400);
    assert_eq!(
        app.snapshot().await,
        before,
        "refused templates store nothing"
    );

    app.put(
        &format!("/api/v1/circles/{circle}/agenda"),
        &json!({ "rounds": [{ "kind": "check_in", "prompt": "How are you arriving?", "minutes": 6 }] }),
    )
    .await
    .expect(200);
    for who in &m {
        rsvp(&app, sid, who, "yes").await;
    }
    let on = app
        .get(&format!("/api/v1/sessions/{sid}/agenda"))
        .await
        .expect(200);
    assert_eq!(on["enabled"], true);
    assert_eq!(on["rounds"].as_array().unwrap().len(), 1);
    assert_eq!(on["rounds"][0]["per_speaker_seconds"], 120);
    assert_eq!(order_of(&on, 0).len(), 3);
}
