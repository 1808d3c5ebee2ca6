use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_for_races, SentEmail, TestApp};
use crate::smtp::SmtpServer;
use roundtable::worker;

/// (name, value, parameters) of one iCalendar property.
type Prop = (String, String, Vec<(String, Vec<String>)>);

/// Properties of the single VEVENT in a calendar part, read with a different iCalendar crate
/// (`ical`) than the one that wrote it.
fn parse_calendar(body: &str) -> (Vec<(String, String)>, Vec<Prop>) {
    let mut reader = ical::IcalParser::new(body.as_bytes());
    let cal = reader
        .next()
        .expect("one calendar")
        .expect("a parseable calendar");
    let top = cal
        .properties
        .iter()
        .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(cal.events.len(), 1, "one event per session message");
    let event = cal.events[0]
        .properties
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.value.clone().unwrap_or_default(),
                p.params.clone().unwrap_or_default(),
            )
        })
        .collect();
    (top, event)
}

fn prop<'a>(props: &'a [Prop], name: &str) -> Vec<&'a str> {
    props
        .iter()
        .filter(|(n, _, _)| n == name)
        .map(|(_, v, _)| v.as_str())
        .collect()
}

async fn circle_with_member(app: &TestApp, email: &str) -> (String, String) {
    let circle = app
        .create_circle(
            json!({ "name": "Slow Reading", "timezone": "Europe/London", "location": "Room 4" }),
        )
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let member = app.add_member(&id, email).await.expect(201);
    (id, member["member_id"].as_str().unwrap().to_string())
}

async fn weekly(app: &TestApp, circle: &str, first_date: &str, count: u32) -> Vec<Value> {
    app.schedule(
        circle,
        json!({ "freq": "weekly", "first_date": first_date, "local_time": "19:00", "duration_minutes": 90, "count": count }),
    )
    .await
}

#[tokio::test]
async fn invitation_update_and_cancellation_reach_a_real_smtp_server_with_calendar_parts() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    let ctx = app.smtp_job_context(&smtp.url());
    let config = app.worker_config();
    let (circle, _) = circle_with_member(&app, "ada@example.org").await;
    app.add_member(&circle, "grace@example.org")
        .await
        .expect(201);
    // Their welcomes go before anything is scheduled (else each would carry the invitation).
    worker::drain(&ctx, &config).await.unwrap();
    let sessions = weekly(&app, &circle, "2031-06-05", 1).await;
    let sid = sessions[0]["id"].as_str().unwrap().to_string();
    // A week before the session (simulated): its invitation is due.
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE jobs SET run_at = now() WHERE state = 'queued' \
             AND payload->>'message' = 'invitation'",
        ),
        &mut app.conn().await,
    )
    .await
    .unwrap();

    let report = worker::drain(&ctx, &config).await.unwrap();
    assert_eq!(report.dead, 0);
    let received = smtp.received();
    let mails: Vec<SentEmail> = received.iter().map(|r| SentEmail::parse(&r.data)).collect();
    assert_eq!(
        mails.len(),
        4,
        "two welcomes and two invitations: {:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let invite = mails
        .iter()
        .find(|m| m.subject.starts_with("Invitation") && m.to.contains("ada@example.org"))
        .expect("ada's invitation");
    assert!(received
        .iter()
        .any(|r| r.to == vec!["<ada@example.org>".to_string()]));
    assert!(received
        .iter()
        .all(|r| r.from.contains("circles@localhost")));
    assert!(
        invite
            .subject
            .contains("Thursday 5 June 2031, 19:00–20:30 (Europe/London)"),
        "{}",
        invite.subject
    );
    assert!(invite
        .header("List-Unsubscribe")
        .unwrap()
        .starts_with("<http://circles.test/unsubscribe/"));
    assert_eq!(
        invite.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(invite.message_id.starts_with('<') && invite.message_id.ends_with("@circles.test>"));
    assert!(
        invite.text.contains("http://circles.test/rsvp/"),
        "{}",
        invite.text
    );
    assert!(invite.html.contains("http://circles.test/rsvp/"));
    assert!(
        !invite.raw.contains("grace@example.org"),
        "no other member's address in ada's mail"
    );

    let (method, body) = invite.calendar.clone().expect("a calendar part");
    assert_eq!(method, "REQUEST");
    let (top, event) = parse_calendar(&body);
    assert!(top.contains(&("METHOD".into(), "REQUEST".into())));
    let uid = prop(&event, "UID")[0].to_string();
    assert_eq!(uid, format!("session-{sid}@circles.test"));
    assert_eq!(prop(&event, "SEQUENCE"), ["0"]);
    assert_eq!(prop(&event, "DTSTART"), ["20310605T180000Z"]);
    assert_eq!(prop(&event, "DTEND"), ["20310605T193000Z"]);
    assert_eq!(prop(&event, "LOCATION"), ["Room 4"]);
    assert_eq!(prop(&event, "ATTENDEE"), ["mailto:ada@example.org"]);
    assert!(!prop(&event, "DTSTAMP").is_empty());
    assert!(prop(&event, "ORGANIZER")[0].starts_with("mailto:"));
    assert!(prop(&event, "DESCRIPTION")[0].contains("circles.test/rsvp/"));

    // Reschedule: an update with the same UID and the next SEQUENCE.
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "local_time": "18:30" }),
    )
    .await
    .expect(200);
    worker::drain(&ctx, &config).await.unwrap();
    let updates: Vec<SentEmail> = smtp.received()[4..]
        .iter()
        .map(|r| SentEmail::parse(&r.data))
        .collect();
    assert_eq!(updates.len(), 2);
    for update in &updates {
        assert!(update.subject.starts_with("Changed"), "{}", update.subject);
        let (method, body) = update.calendar.clone().unwrap();
        assert_eq!(method, "REQUEST");
        let (_, event) = parse_calendar(&body);
        assert_eq!(prop(&event, "UID"), [uid.as_str()]);
        assert_eq!(prop(&event, "SEQUENCE"), ["1"]);
        assert_eq!(prop(&event, "DTSTART"), ["20310605T173000Z"]);
    }

    // Cancel: METHOD:CANCEL, same UID, next SEQUENCE.
    app.post(&format!("/api/v1/sessions/{sid}/cancel"), &json!({}))
        .await
        .expect(200);
    worker::drain(&ctx, &config).await.unwrap();
    let cancels: Vec<SentEmail> = smtp.received()[6..]
        .iter()
        .map(|r| SentEmail::parse(&r.data))
        .collect();
    assert_eq!(cancels.len(), 2);
    let (method, body) = cancels[0].calendar.clone().unwrap();
    assert_eq!(method, "CANCEL");
    let (top, event) = parse_calendar(&body);
    assert!(top.contains(&("METHOD".into(), "CANCEL".into())));
    assert_eq!(prop(&event, "UID"), [uid.as_str()]);
    assert_eq!(prop(&event, "SEQUENCE"), ["2"]);
    assert_eq!(prop(&event, "STATUS"), ["CANCELLED"]);

    // Every message was recorded as a delivery, and none was sent twice.
    let ids: HashSet<String> = smtp
        .received()
        .iter()
        .map(|r| SentEmail::parse(&r.data).message_id)
        .collect();
    assert_eq!(ids.len(), 8);
    let mut conn = app.conn().await;
    let deliveries: i64 = roundtable::db::schema::deliveries::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(deliveries, 8);
}

use diesel::QueryDsl;

#[tokio::test]
async fn temporary_smtp_failure_is_retried_and_delivered_once() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    smtp.reply_next_with(&[451]);
    let ctx = app.smtp_job_context(&smtp.url());
    let config = app.worker_config();
    circle_with_member(&app, "ada@example.org").await;

    let first = worker::drain(&ctx, &config).await.unwrap();
    assert_eq!(
        (first.done, first.retried, first.dead),
        (1, 1, 0),
        "member invitations done, welcome retried"
    );
    assert!(smtp.received().is_empty());
    let queued = app.jobs_in_state("queued").await;
    assert_eq!(queued.len(), 1);
    assert!(
        queued[0]["last_error"].as_str().unwrap().contains("451"),
        "{}",
        queued[0]
    );
    assert_eq!(queued[0]["attempts"], 1);

    tokio::time::sleep(Duration::from_millis(900)).await;
    let second = worker::drain(&ctx, &config).await.unwrap();
    assert_eq!((second.done, second.dead), (1, 0));
    assert_eq!(smtp.received().len(), 1);
    assert!(app.jobs_in_state("queued").await.is_empty());
}

#[tokio::test]
async fn permanent_smtp_failure_buries_the_job_with_its_error_and_it_can_be_retried() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    smtp.reply_next_with(&[550]);
    let ctx = app.smtp_job_context(&smtp.url());
    circle_with_member(&app, "ada@example.org").await;

    let report = worker::drain(&ctx, &app.worker_config()).await.unwrap();
    assert_eq!(report.dead, 1);
    let dead = app.jobs_in_state("dead").await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]["last_error"].as_str().unwrap().contains("550"),
        "{}",
        dead[0]
    );
    assert!(smtp.received().is_empty());

    let id = dead[0]["id"].as_str().unwrap();
    let retried = app
        .post(&format!("/api/v1/jobs/{id}/retry"), &json!({}))
        .await
        .expect(200);
    assert_eq!(retried["state"], "queued");
    assert_eq!(retried["attempts"], 0);
    let again = app
        .post(&format!("/api/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(again.status, 409);
    worker::drain(&ctx, &app.worker_config()).await.unwrap();
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_delivered_by_another() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    circle_with_member(&app, "ada@example.org").await;
    // A worker claims both jobs with a one-second lease, then vanishes.
    let mut conn = app.pool.get().await.unwrap();
    let claimed = roundtable::jobs::queue::claim(&mut conn, 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    drop(conn);
    let ctx = app.smtp_job_context(&smtp.url());
    let early = worker::drain(&ctx, &app.worker_config()).await.unwrap();
    assert_eq!(
        early.done, 0,
        "leased jobs are not taken while the lease holds"
    );

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let report = worker::drain(&ctx, &app.worker_config()).await.unwrap();
    assert_eq!(report.done, 2);
    assert_eq!(smtp.received().len(), 1);
    let jobs = app.get("/api/v1/jobs?state=done").await.expect(200);
    assert!(jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["attempts"] == 2));
}

#[tokio::test]
async fn two_workers_deliver_a_thousand_messages_exactly_once() {
    let app = spawn_app_for_races().await;
    let smtp = SmtpServer::start().await;
    let circle = app.circle_with_capacity(None).await;
    let cid = circle["id"].as_str().unwrap();
    // A thousand members, and a welcome email queued for each, written directly.
    let mut conn = app.conn().await;
    diesel::sql_query(format!(
        "WITH m AS (INSERT INTO members (id, email, display_name) \
                    SELECT gen_random_uuid(), 'reader' || i || '@example.org', 'Reader ' || i FROM generate_series(1, 1000) i \
                    RETURNING id) \
         INSERT INTO memberships (circle_id, member_id, state) SELECT '{cid}', id, 'active' FROM m"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO jobs (id, kind, payload, dedupe_key) \
         SELECT gen_random_uuid(), 'email', \
                jsonb_build_object('message', 'welcome', 'member_id', member_id, 'circle_id', circle_id, 'session_id', null, 'sequence', null), \
                'email:welcome:' || circle_id || ':' || member_id \
         FROM memberships WHERE circle_id = '{cid}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    for _ in 0..2 {
        let ctx = std::sync::Arc::new(app.smtp_job_context(&smtp.url()));
        handles.push(tokio::spawn(worker::run(
            ctx,
            app.worker_config(),
            Some(app.db_url.clone()),
            stopped.clone(),
        )));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        // The rota sweep the workers start always waits for its next run: it is not work.
        let work = |page: Value| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|j| j["kind"] != "rota_sweep")
                .count()
        };
        let queued = work(
            app.get("/api/v1/jobs?state=queued&limit=2")
                .await
                .expect(200),
        );
        let running = work(
            app.get("/api/v1/jobs?state=running&limit=2")
                .await
                .expect(200),
        );
        if queued == 0 && running == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "workers did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    for h in handles {
        h.await.unwrap();
    }
    let received = smtp.received();
    assert_eq!(received.len(), 1000);
    let recipients: HashSet<String> = received.iter().map(|r| r.to[0].clone()).collect();
    assert_eq!(
        recipients.len(),
        1000,
        "each member got exactly one message"
    );
    let ids: HashSet<String> = received
        .iter()
        .map(|r| SentEmail::parse(&r.data).message_id)
        .collect();
    assert_eq!(ids.len(), 1000);
}

#[tokio::test]
async fn stopping_a_worker_finishes_what_it_started_and_leaves_the_rest_queued() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    smtp.delay_each_message(300);
    let circle = app.circle_with_capacity(None).await;
    let cid = circle["id"].as_str().unwrap();
    for i in 0..12 {
        app.add_member(cid, &format!("p{i}@example.org"))
            .await
            .expect(201);
    }
    let mut config = app.worker_config();
    config.concurrency = 4;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ctx = std::sync::Arc::new(app.smtp_job_context(&smtp.url()));
    let handle = tokio::spawn(worker::run(ctx, config, None, stopped));
    tokio::time::sleep(Duration::from_millis(450)).await;
    stop.send(true).unwrap();
    handle.await.unwrap();

    assert!(
        app.jobs_in_state("running").await.is_empty(),
        "nothing left half-done"
    );
    let done_emails: Vec<Value> = app
        .jobs_in_state("done")
        .await
        .into_iter()
        .filter(|j| j["kind"] == "email")
        .collect();
    let received = smtp.received();
    assert!(
        !received.is_empty() && received.len() < 12,
        "stopped mid-way: {}",
        received.len()
    );
    assert_eq!(
        done_emails.len(),
        received.len(),
        "every message sent is recorded, once"
    );
    let queued = app
        .jobs_in_state("queued")
        .await
        .into_iter()
        .filter(|j| j["kind"] == "email")
        .count();
    assert_eq!(
        queued + received.len(),
        12,
        "the rest wait for the next worker"
    );
}

#[tokio::test]
async fn a_message_queued_twice_is_one_job() {
    let app = spawn_app().await;
    let (circle, member) = circle_with_member(&app, "ada@example.org").await;
    let mut conn = app.conn().await;
    let job = roundtable::jobs::email::EmailJob::membership(
        roundtable::email::MessageKind::Welcome,
        roundtable::domain::MemberId(member.parse().unwrap()),
        roundtable::domain::CircleId(circle.parse().unwrap()),
    );
    let before = app.table_counts().await;
    roundtable::jobs::email::enqueue(&mut conn, job.clone())
        .await
        .unwrap();
    roundtable::jobs::email::enqueue(&mut conn, job)
        .await
        .unwrap();
    assert_eq!(
        app.table_counts().await,
        before,
        "the welcome was already pending"
    );
}

#[tokio::test]
async fn reminders_and_reflection_prompts_are_timed_in_absolute_minutes_across_dst() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Spring", "timezone": "America/New_York", "reminder_offset_minutes": 1440, "reflection_delay_minutes": 90 }))
        .await;
    let cid = circle["id"].as_str().unwrap();
    // 2031-03-06 is a Thursday before the change on 9 March, the 13th after it.
    let sessions = weekly(&app, cid, "2031-03-06", 2).await;
    assert_eq!(sessions[0]["starts_at"], "2031-03-07T00:00:00Z");
    assert_eq!(sessions[1]["starts_at"], "2031-03-13T23:00:00Z");
    let queued = app.jobs_in_state("queued").await;
    let run_at = |message: &str, session: &Value| -> DateTime<Utc> {
        let j = queued
            .iter()
            .find(|j| {
                j["kind"] == "session_fanout"
                    && j["payload"]["message"] == message
                    && j["payload"]["session_id"] == session["id"]
            })
            .unwrap_or_else(|| panic!("no {message} job in {queued:#?}"));
        j["run_at"].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(
        run_at("reminder", &sessions[0]).to_rfc3339(),
        "2031-03-06T00:00:00+00:00"
    );
    assert_eq!(
        run_at("reminder", &sessions[1]).to_rfc3339(),
        "2031-03-12T23:00:00+00:00"
    );
    assert_eq!(
        run_at("reflection_prompt", &sessions[0]).to_rfc3339(),
        "2031-03-07T03:00:00+00:00"
    );
    assert_eq!(
        run_at("reflection_prompt", &sessions[1]).to_rfc3339(),
        "2031-03-14T02:00:00+00:00"
    );

    // Moving the session moves its pending reminder and prompt.
    let sid = sessions[1]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "local_date": "2031-03-14" }),
    )
    .await
    .expect(200);
    let queued = app.jobs_in_state("queued").await;
    let reminders: Vec<&Value> = queued
        .iter()
        .filter(|j| j["payload"]["message"] == "reminder" && j["payload"]["session_id"] == sid)
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0]["run_at"], "2031-03-13T23:00:00Z");
}

#[tokio::test]
async fn late_joiners_are_invited_leavers_hear_nothing_more_and_unsubscribed_people_get_nothing() {
    let app = spawn_app().await;
    let (circle, ada) = circle_with_member(&app, "ada@example.org").await;
    // A circle that sends every invitation at once (the default spreads them out: see
    // `a_new_member_gets_one_welcome_and_one_invitation_then_one_a_week_before_each_session`).
    app.patch(
        &format!("/api/v1/circles/{circle}"),
        &json!({ "invite_lead_days": 0 }),
    )
    .await
    .expect(200);
    weekly(&app, &circle, "2031-06-05", 3).await;
    app.run_pending_jobs().await;
    let to_ada = |app: &TestApp| {
        app.sent_emails()
            .into_iter()
            .filter(|m| m.to.contains("ada@"))
            .count()
    };
    assert_eq!(
        to_ada(&app),
        3,
        "a welcome that carries the first invitation, and two more invitations"
    );

    // Grace joins later: she is invited to all three upcoming sessions, once each.
    app.add_member(&circle, "grace@example.org")
        .await
        .expect(201);
    app.run_pending_jobs().await;
    let grace: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.to.contains("grace@"))
        .collect();
    assert_eq!(
        grace.iter().filter(|m| m.invites()).count(),
        3,
        "the welcome carries the first of three invitations"
    );
    assert_eq!(
        grace
            .iter()
            .filter(|m| m.subject.starts_with("Welcome"))
            .count(),
        1
    );

    // Ada leaves; an update to a session goes to Grace only.
    app.delete(&format!("/api/v1/circles/{circle}/members/{ada}"))
        .await
        .expect(200);
    let sessions = app
        .get(&format!("/api/v1/circles/{circle}/sessions"))
        .await
        .expect(200);
    let sid = sessions["items"][0]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "location": "Garden" }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    assert_eq!(to_ada(&app), 3, "nothing more for someone who left");
    assert_eq!(
        app.sent_emails()
            .iter()
            .filter(|m| m.subject.starts_with("Changed"))
            .count(),
        1
    );

    // An unsubscribed member gets nothing but what they ask for.
    let mut conn = app.conn().await;
    diesel::sql_query(
        "UPDATE members SET unsubscribed_at = now() WHERE email = 'grace@example.org'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let before = app.sent_emails().len();
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "location": "Library" }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    assert_eq!(app.sent_emails().len(), before);
}

#[tokio::test]
async fn reminder_goes_to_members_and_the_digest_to_the_facilitator() {
    let app = spawn_app().await;
    let (circle, ada) = circle_with_member(&app, "ada@example.org").await;
    app.post(
        &format!("/api/v1/circles/{circle}/members"),
        &json!({ "email": "host@example.org", "display_name": "Host", "role": "facilitator" }),
    )
    .await
    .expect(201);
    // A session starting within the reminder window: its reminder is due at once.
    let soon = (Utc::now() + chrono::Duration::hours(3)).with_timezone(&chrono_tz::Europe::London);
    let sessions = app
        .schedule(
            &circle,
            json!({ "freq": "weekly", "first_date": soon.format("%Y-%m-%d").to_string(),
                    "local_time": soon.format("%H:%M").to_string(), "duration_minutes": 60, "count": 1 }),
        )
        .await;
    let sid = sessions[0]["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/sessions/{sid}/rsvps/{ada}"),
        &json!({ "response": "yes" }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let reminders: Vec<&SentEmail> = mails
        .iter()
        .filter(|m| m.subject.starts_with("Reminder"))
        .collect();
    assert_eq!(reminders.len(), 1, "the member is reminded");
    assert!(reminders[0].to.contains("ada@example.org"));
    // The facilitator gets one letter that is both: who is coming, and their own answer.
    let digest = mails
        .iter()
        .find(|m| m.subject.starts_with("Before your session"))
        .expect("a digest");
    assert!(digest.to.contains("host@example.org"));
    assert!(digest.text.contains("Will you come?"), "{}", digest.text);
    assert_eq!(
        mails.iter().filter(|m| m.to.contains("host@")).count(),
        2,
        "the host's welcome and the digest, no separate reminder"
    );
    assert!(digest.text.contains("Yes (1): ada"), "{}", digest.text);
    assert!(
        digest.text.contains("No answer yet (1): Host"),
        "{}",
        digest.text
    );
}

#[tokio::test]
async fn the_file_outbox_holds_one_eml_per_message() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!(
        "roundtable-outbox-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut email = app.settings.email.clone();
    email.outbox_dir = dir.clone();
    let ctx = app.job_context(roundtable::email::Mailer::from_settings(&email, 1).unwrap());
    circle_with_member(&app, "ada@example.org").await;
    worker::drain(&ctx, &app.worker_config()).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let mail = SentEmail::parse(&std::fs::read(&files[0]).unwrap());
    assert!(mail.subject.starts_with("Welcome to Slow Reading"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Subjects of the mail `email` received since `from` messages were sent.
fn subjects_to(app: &TestApp, email: &str, from: usize) -> Vec<String> {
    app.sent_emails()
        .into_iter()
        .skip(from)
        .filter(|m| m.to.contains(email))
        .map(|m| m.subject)
        .collect()
}

#[tokio::test]
async fn a_new_member_gets_one_welcome_and_one_invitation_then_one_a_week_before_each_session() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Slow Reading", "timezone": "UTC" }))
        .await;
    assert_eq!(circle["invite_lead_days"], 7, "a week by default");
    let id = circle["id"].as_str().unwrap().to_string();
    app.add_member(&id, "ada@example.org").await.expect(201);
    app.run_pending_jobs().await;
    let welcome = app.sent_emails().pop().unwrap();
    assert!(
        welcome.text.contains("No sessions are scheduled yet"),
        "{}",
        welcome.text
    );

    // Seventeen weekly sessions, the first three days from now.
    let first = (Utc::now() + chrono::Duration::days(3)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 17 }),
        )
        .await;
    let sent = app.sent_emails().len();
    app.run_pending_jobs().await;
    let ada_now = subjects_to(&app, "ada@", sent);
    assert_eq!(
        ada_now.len(),
        1,
        "only the first session's invitation: {ada_now:?}"
    );
    assert!(ada_now[0].starts_with("Invitation: Slow Reading"));

    // Grace signs up and confirms: one welcome listing the dates, one invitation.
    let sent = app.sent_emails().len();
    app.browser(
        reqwest::Method::POST,
        "/c/slow-reading/join",
        Some(&[("display_name", "Grace"), ("email", "grace@example.org")]),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let confirmation = app.sent_emails().pop().unwrap();
    let link = app.link_in(&confirmation, "/confirm/");
    app.browser(reqwest::Method::POST, &link, None)
        .await
        .expect(200);
    let confirmed_at = app.sent_emails().len();
    app.run_pending_jobs().await;
    let grace = subjects_to(&app, "grace@", confirmed_at);
    assert_eq!(
        grace.len(),
        1,
        "a welcome carrying the next session's invitation, not 17: {grace:?}"
    );
    assert_eq!(
        subjects_to(&app, "grace@", sent).len(),
        2,
        "with the confirmation"
    );
    let welcome = app
        .sent_emails()
        .into_iter()
        .skip(confirmed_at)
        .find(|m| m.subject == "Welcome to Slow Reading")
        .unwrap();
    assert_eq!(welcome.text.matches("  - ").count(), 8, "{}", welcome.text);
    assert!(welcome
        .text
        .contains("each later invitation arrives 7 days before its session"));
    assert!(welcome.text.contains("webcal://"));
    let first_day = first.format("%A %-d %B").to_string();
    assert!(welcome.invites(), "the welcome carries the calendar entry");
    assert!(welcome
        .text
        .contains(&format!("Your first session is on {first_day}.")));
    assert!(welcome.text.contains("Will you come?"));

    // The second session's invitation waits until a week before it.
    let second = sessions[1]["id"].as_str().unwrap();
    #[derive(diesel::QueryableByName)]
    struct When {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        run_at: DateTime<Utc>,
    }
    let mut conn = app.conn().await;
    let when: When = diesel::sql_query(format!(
        "SELECT run_at FROM jobs WHERE state = 'queued' AND payload->>'message' = 'invitation' \
         AND payload->>'session_id' = '{second}'"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    // A week before it falls while the first session is on: it goes just after the first
    // session's reflection prompt (an hour after its end), which carries it.
    let first_ends: DateTime<Utc> = sessions[0]["ends_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(when.run_at, first_ends + chrono::Duration::minutes(65));

    // A change to a session nobody was invited to yet sends nothing; its invitation, when
    // it comes, is current. A change to the first goes to both.
    let sent = app.sent_emails().len();
    app.patch(
        &format!("/api/v1/sessions/{second}"),
        &json!({ "location": "Garden" }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    assert_eq!(
        app.sent_emails().len(),
        sent,
        "no update for an uninvited session"
    );
    let first_id = sessions[0]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/sessions/{first_id}"),
        &json!({ "location": "Library" }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let changed: Vec<String> = app
        .sent_emails()
        .into_iter()
        .skip(sent)
        .filter(|m| m.subject.starts_with("Changed"))
        .map(|m| m.to)
        .collect();
    assert_eq!(changed.len(), 2, "{changed:?}");

    // A week before the second session (simulated), both are invited to it.
    diesel::sql_query(format!(
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND payload->>'message' = 'invitation' \
         AND payload->>'session_id' = '{second}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let sent = app.sent_emails().len();
    app.run_pending_jobs().await;
    let invited: Vec<SentEmail> = app.sent_emails().into_iter().skip(sent).collect();
    assert_eq!(invited.len(), 2);
    assert!(invited.iter().all(|m| m.subject.starts_with("Invitation")
        && m.calendar.as_ref().unwrap().1.contains("LOCATION:Garden")));

    // "All at once": the rest go out now, once each.
    app.patch(
        &format!("/api/v1/circles/{id}"),
        &json!({ "invite_lead_days": 0 }),
    )
    .await
    .expect(200);
    let sent = app.sent_emails().len();
    app.run_pending_jobs().await;
    assert_eq!(subjects_to(&app, "ada@", sent).len(), 15);
    assert_eq!(subjects_to(&app, "grace@", sent).len(), 15);
    let bad = app
        .patch(
            &format!("/api/v1/circles/{id}"),
            &json!({ "invite_lead_days": -1 }),
        )
        .await;
    assert_eq!(bad.status, 422);
}

/// Set a session's times directly: `starts` (UTC, RFC 3339) and an hour and a half after.
async fn held_at(app: &TestApp, session: &str, starts: &str) {
    let mut conn = app.conn().await;
    diesel::sql_query(format!(
        "UPDATE sessions SET starts_at = '{starts}', ends_at = timestamptz '{starts}' + interval '90 minutes' \
         WHERE id = '{session}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_reflection_prompt_names_the_day_and_only_a_lead_with_a_successor_is_asked_for_a_handoff(
) {
    let app = spawn_app().await;
    // Breakfast in Auckland is the evening before in UTC.
    let circle = app
        .create_circle(json!({ "name": "Thursday Readers", "timezone": "Pacific/Auckland" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ids = Vec::new();
    for email in ["ada@example.org", "bo@example.org"] {
        let member = app.add_member(&circle, email).await.expect(201);
        ids.push(member["member_id"].as_str().unwrap().to_string());
    }
    let sessions = weekly(&app, &circle, "2031-06-05", 2).await;
    let (first, last) = (
        sessions[0]["id"].as_str().unwrap(),
        sessions[1]["id"].as_str().unwrap(),
    );
    // Ada leads the first session, Bo the last.
    for (sid, who) in [(first, &ids[0]), (last, &ids[1])] {
        app.put(
            &format!("/api/v1/sessions/{sid}/roles/facilitator"),
            &json!({ "member_id": who }),
        )
        .await
        .expect(200);
    }
    // Both took place: Thursday 13 and Thursday 20 March 2025, at 08:00 in Auckland.
    held_at(&app, first, "2025-03-12T19:00:00Z").await;
    held_at(&app, last, "2025-03-19T19:00:00Z").await;
    let mut conn = app.conn().await;
    // Bo reads mail in Los Angeles, where the session began on Wednesday.
    diesel::sql_query(
        "UPDATE members SET timezone = 'America/Los_Angeles' WHERE email = 'bo@example.org'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let before = app.sent_emails().len();
    diesel::sql_query(
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND payload->>'message' = 'reflection_prompt'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let prompts: Vec<SentEmail> = app.sent_emails().into_iter().skip(before).collect();
    assert_eq!(
        prompts.len(),
        4,
        "one prompt per member per session, nothing else: {:?}",
        prompts.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let prompt = |who: &str, day: &str| {
        let subject = format!("How was {day}? A moment to reflect (Thursday Readers)");
        prompts
            .iter()
            .find(|m| m.to.contains(who) && m.subject == subject)
            .unwrap_or_else(|| {
                panic!(
                    "{who} is asked {subject:?}: {:?}",
                    prompts
                        .iter()
                        .map(|m| (&m.to, &m.subject))
                        .collect::<Vec<_>>()
                )
            })
    };
    for who in ["ada@", "bo@"] {
        for day in ["Thursday 13 March", "Thursday 20 March"] {
            let mail = prompt(who, day);
            assert!(
                mail.text.contains(&format!("How was {day}? Thank you")),
                "{}",
                mail.text
            );
        }
    }
    // Ada led the first session and Bo leads next: Ada is asked for a handoff.
    let ada_first = prompt("ada@", "Thursday 13 March");
    let handoff = app.link_in(ada_first, "/handoff/");
    let page = app.browser(Method::GET, &handoff, None).await.expect(200);
    assert!(page.as_str().unwrap().contains("Hand off to the next lead"));
    // Bo led the last session: nobody leads after him, so he is not asked.
    let bo_last = prompt("bo@", "Thursday 20 March");
    for part in [&bo_last.text, &bo_last.html] {
        assert!(!part.contains("/handoff/"), "{part}");
        assert!(!part.to_lowercase().contains("handoff"), "{part}");
    }
    // Nor is anyone who did not lead.
    for (who, day) in [("bo@", "Thursday 13 March"), ("ada@", "Thursday 20 March")] {
        assert!(!prompt(who, day).text.contains("/handoff/"));
    }
    // An old handoff link to the last session says there is no next session, and a note
    // left there emails nobody.
    let bo = app.holder("bo@example.org").await;
    let last_handoff = app.path_of(&app.links().handoff(bo, last.parse().unwrap(), Utc::now()));
    let page = app
        .browser(Method::GET, &last_handoff, None)
        .await
        .expect(200);
    assert!(
        page.as_str()
            .unwrap()
            .contains("No session is scheduled after this one"),
        "{}",
        page.as_str().unwrap()
    );
    let sent = app.sent_emails().len();
    let saved = app
        .browser(
            Method::POST,
            &last_handoff,
            Some(&[
                ("stopped_at", "The last chapter"),
                ("visibility", "next_lead"),
            ]),
        )
        .await
        .expect(200);
    assert!(saved
        .as_str()
        .unwrap()
        .contains("No session is scheduled after this one yet"));
    app.run_pending_jobs().await;
    assert_eq!(
        app.sent_emails().len(),
        sent,
        "a note to nobody is sent to nobody"
    );
}

#[tokio::test]
async fn the_reflection_prompt_carries_next_weeks_invitation_and_nobody_gets_it_twice() {
    let app = spawn_app().await;
    let (circle, _) = circle_with_member(&app, "ada@example.org").await;
    let di = app.add_member(&circle, "di@example.org").await.expect(201);
    let di: uuid::Uuid = di["member_id"].as_str().unwrap().parse().unwrap();
    // Di turned reflection prompts off: her invitation comes on its own.
    let mut conn = app.conn().await;
    let quiet = roundtable::db::members::Quiet {
        feedback_requests: true,
        consent_reminders: true,
    };
    roundtable::db::members::set_preferences(
        &mut conn,
        roundtable::domain::MemberId(di),
        true,
        false,
        quiet,
        true,
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let first = (Utc::now() + chrono::Duration::days(3)).date_naive();
    let sessions = weekly(&app, &circle, &first.to_string(), 2).await;
    app.run_pending_jobs().await;
    let (one, two) = (
        sessions[0]["id"].as_str().unwrap(),
        sessions[1]["id"].as_str().unwrap(),
    );

    // The first session ended an hour ago (simulated): its prompt, and five minutes later the
    // second session's invitation, are due together.
    let sent = app.sent_emails().len();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND \
             ((payload->>'message' = 'reflection_prompt' AND payload->>'session_id' = '{one}') \
              OR (payload->>'message' = 'invitation' AND payload->>'session_id' = '{two}'))"
        )),
        &mut conn,
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    // Invitations that waited for the prompt look again (ten minutes later, simulated).
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'email' \
             AND payload->>'message' = 'invitation'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let to_ada: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .skip(sent)
        .filter(|m| m.to.contains("ada@"))
        .collect();
    assert_eq!(
        to_ada.len(),
        1,
        "one letter: {:?}",
        to_ada.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let letter = &to_ada[0];
    assert!(letter.subject.starts_with("How was "), "{}", letter.subject);
    assert!(letter.invites(), "it carries the calendar entry");
    let (_, calendar) = letter.calendar.clone().unwrap();
    assert!(
        calendar.contains(&format!("UID:session-{two}")),
        "{calendar}"
    );
    assert!(letter.text.contains("Will you come?"));
    let to_di: Vec<String> = app
        .sent_emails()
        .into_iter()
        .skip(sent)
        .filter(|m| m.to.contains("di@"))
        .map(|m| m.subject)
        .collect();
    assert_eq!(to_di.len(), 1, "{to_di:?}");
    assert!(to_di[0].starts_with("Invitation"), "{to_di:?}");
}
