//! The learning loop end to end: talking-piece agendas built from RSVPs, consent rounds run by
//! email links, and feedback for whoever led behind its k-answer threshold, against real
//! Postgres.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_for_races, TestApp};

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

/// Make the reminders of every session due now, send them, and return them.
async fn reminders_now(app: &TestApp) -> Vec<crate::helpers::SentEmail> {
    let from = app.sent_emails().len();
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
    app.sent_emails()
        .into_iter()
        .skip(from)
        // Whoever facilitates gets the digest of who is coming, which is their reminder.
        .filter(|m| m.subject.starts_with("Reminder") || m.subject.starts_with("Before your"))
        .collect()
}

#[tokio::test]
async fn the_timekeeper_has_a_timer_without_rounds_and_only_the_timekeeper_keeps_time() {
    let app = spawn_app().await;
    // A book club: no talking-piece rounds. Ada facilitates, Bo keeps time.
    let (circle, m, sessions) = circle_with(&app, "book_club", 3, 1, 3).await;
    let sid = sessions[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "name": "Timekeeper" }),
    )
    .await
    .expect(201);
    for (role, who) in [("facilitator", &m[0]), ("timekeeper", &m[1])] {
        app.put(
            &format!("/api/v1/sessions/{sid}/roles/{role}"),
            &json!({ "member_id": who }),
        )
        .await
        .expect(200);
    }
    app.run_pending_jobs().await;
    let reminders = reminders_now(&app).await;
    assert_eq!(reminders.len(), 3, "one reminder per member, no more");
    let to = |who: &str| {
        reminders
            .iter()
            .find(|r| r.to.contains(&format!("{who}@example.org")))
            .unwrap()
    };
    let bo = to("bo");
    assert!(
        bo.text
            .contains("You're keeping time: a countdown of the session, on your phone:"),
        "{}",
        bo.text
    );
    for who in ["ada", "cy"] {
        let text = &to(who).text;
        assert!(!text.contains("keeping time"), "{who}: {text}");
        assert!(!text.contains("/agenda/"), "{who}: {text}");
    }
    // Bo's page counts down the whole session: 90 minutes.
    let page = app
        .browser(Method::GET, &app.link_in(bo, "/agenda/"), None)
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    assert!(page.contains("data-plain data-seconds=\"5400\""), "{page}");
    assert!(page.contains("· 90 min"), "{page}");
    assert!(page.contains("Start the timer"), "{page}");
    assert!(page.contains("/static/agenda.js"));
    assert!(
        !page.contains("Seed "),
        "no speaking order to explain: {page}"
    );
    let js = app.browser(Method::GET, "/static/agenda.js", None).await;
    assert!(js.text().contains("data-plain"));
}

#[tokio::test]
async fn with_rounds_the_facilitator_keeps_time_only_when_nobody_holds_the_timekeeper_role() {
    let app = spawn_app().await;
    let (circle, m, sessions) = circle_with(&app, "restorative_circle", 3, 2, 3).await;
    let (first, second) = (
        sessions[0]["id"].as_str().unwrap(),
        sessions[1]["id"].as_str().unwrap(),
    );
    app.post(
        &format!("/api/v1/circles/{circle}/roles"),
        &json!({ "name": "Timekeeper" }),
    )
    .await
    .expect(201);
    // Ada facilitates both sessions; Bo keeps time at the first only.
    for sid in [first, second] {
        app.put(
            &format!("/api/v1/sessions/{sid}/roles/facilitator"),
            &json!({ "member_id": m[0] }),
        )
        .await
        .expect(200);
    }
    app.put(
        &format!("/api/v1/sessions/{first}/roles/timekeeper"),
        &json!({ "member_id": m[1] }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let reminders = reminders_now(&app).await;
    assert_eq!(reminders.len(), 6, "three members, two sessions");
    let keeping: Vec<(String, String)> = reminders
        .iter()
        .filter(|r| r.text.contains("You're keeping time: the speaking order"))
        .map(|r| (r.to.clone(), r.subject.clone()))
        .collect();
    assert_eq!(keeping.len(), 2, "{keeping:?}");
    let first_day = reminders
        .iter()
        .find(|r| r.to.contains("bo@example.org") && r.text.contains("keeping time"))
        .expect("Bo keeps time at the first session")
        .subject
        .clone();
    let ada = reminders
        .iter()
        .find(|r| r.to.contains("ada@example.org") && r.text.contains("keeping time"))
        .expect("Ada keeps time where nobody else does");
    assert_ne!(
        ada.subject, first_day,
        "not at the session Bo keeps time at"
    );
    assert!(ada.text.contains("/agenda/"));
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

/// Run one statement against the test database.
async fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn)
        .await
        .unwrap();
}

/// Make the circle's open rounds due to close now, and run what is due.
async fn close_rounds(app: &TestApp) {
    sql(
        app,
        "UPDATE consent_rounds SET closes_at = now() - interval '1 second' WHERE closed_at IS NULL",
    )
    .await;
    sql(
        app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'consent_close'",
    )
    .await;
    app.run_pending_jobs().await;
}

/// The newest mail to `who` whose subject starts with `subject`.
fn mail_to<'a>(
    mails: &'a [crate::helpers::SentEmail],
    who: &str,
    subject: &str,
) -> &'a crate::helpers::SentEmail {
    mails
        .iter()
        .rev()
        .find(|m| {
            m.to.contains(&format!("{who}@example.org"))
                && (m.subject.starts_with(subject)
                    || m.text.contains(&format!("Also in this letter: {subject}")))
        })
        .unwrap_or_else(|| panic!("no “{subject}” mail to {who}"))
}

async fn me_path(app: &TestApp, who: &str) -> String {
    let holder = app.holder(&format!("{who}@example.org")).await;
    app.path_of(&app.links().me(holder, Utc::now()))
}

#[tokio::test]
async fn a_circle_adopts_an_agreement_by_email_links_with_stances_hidden_until_close() {
    let app = spawn_app_for_races().await;
    let (circle, m, _) = circle_with(&app, "book_club", 4, 1, 10).await;
    app.run_pending_jobs().await;

    // Ada proposes from her page.
    let ada_me = me_path(&app, "ada").await;
    let before = app.snapshot().await;
    let res = app
        .browser(
            Method::POST,
            &format!("{ada_me}/circles/{circle}/agreements"),
            Some(&[
                ("agreement", ""),
                ("title", ""),
                ("body", "We start on time."),
            ]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422, "a title is needed");
    assert_eq!(app.snapshot().await, before, "nothing is stored");
    let res = app
        .browser(
            Method::POST,
            &format!("{ada_me}/circles/{circle}/agreements"),
            Some(&[
                ("agreement", ""),
                ("title", "We start on time"),
                ("body", "We begin at the hour, and wait for nobody."),
            ]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(res.text().contains("Your proposal is out"));
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let links: Vec<String> = ["ada", "bo", "cy", "di"]
        .iter()
        .map(|who| {
            app.link_in(
                mail_to(&mails, who, "Consent round: We start on time"),
                "/consent/",
            )
        })
        .collect();
    assert!(mail_to(&mails, "bo", "Consent round")
        .text
        .contains("Silence is never counted as consent"));

    // Bad answers are refused and store nothing.
    let before = app.snapshot().await;
    let res = app
        .browser(
            Method::POST,
            &links[1],
            Some(&[
                ("action", "answer"),
                ("stance", "objection"),
                ("reason", " "),
            ]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert!(
        res.text().contains("an objection needs a reason")
            || res.text().contains("An objection needs a reason")
    );
    let res = app
        .browser(
            Method::POST,
            &links[1],
            Some(&[("action", "answer"), ("stance", "maybe")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert!(app
        .browser(Method::GET, &damaged(&links[1]), None)
        .await
        .status
        .is_client_error());
    assert_eq!(app.snapshot().await, before);

    // Bo gives a concern with a reason, then changes it; Ada consents; Cy stands aside.
    for (i, stance, reason) in [
        (1, "concern", "PRIVATE-WORRY about buses"),
        (1, "consent", ""),
        (0, "consent", ""),
        (2, "stand_aside", "SECRET-ASIDE"),
    ] {
        let res = app
            .browser(
                Method::POST,
                &links[i],
                Some(&[("action", "answer"), ("stance", stance), ("reason", reason)]),
            )
            .await;
        assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    }
    // Concurrent answers from one person keep exactly one that counts.
    let posts = (0..8).map(|n| {
        let stance = if n % 2 == 0 { "consent" } else { "stand_aside" };
        let link = links[3].clone();
        let app = &app;
        async move {
            app.browser(
                Method::POST,
                &link,
                Some(&[("action", "answer"), ("stance", stance), ("reason", "")]),
            )
            .await
            .status
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let di = &m[3];
    let latest = count(
        &app,
        &format!("SELECT count(*) AS n FROM consent_stances WHERE member_id = '{di}' AND latest"),
    )
    .await;
    assert_eq!(latest, 1);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM consent_stances WHERE member_id = '{di}'")
        )
        .await,
        8,
        "the history keeps every answer"
    );

    // Before the close, no route shows who said what.
    let agreements = app
        .get(&format!("/api/v1/circles/{circle}/agreements"))
        .await
        .expect(200);
    let id = agreements["items"][0]["id"].as_str().unwrap().to_string();
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["rounds"][0]["answered"], 4);
    assert_eq!(one["rounds"][0]["stances"], json!([]));
    assert_eq!(one["status"], "in_round");
    let pages = [
        app.browser(Method::GET, &links[0], None)
            .await
            .text()
            .to_string(),
        app.browser(Method::GET, &ada_me, None)
            .await
            .text()
            .to_string(),
        app.browser(Method::GET, &format!("{ada_me}/circles/{circle}"), None)
            .await
            .text()
            .to_string(),
        one.to_string(),
        agreements.to_string(),
    ];
    for page in &pages {
        assert!(
            !page.contains("SECRET-ASIDE"),
            "a stance leaked before the close"
        );
        assert!(!page.contains("PRIVATE-WORRY"));
    }
    assert!(pages[0].contains("4 of 4 have answered"));

    // The undecided get the reminder; here nobody is undecided.
    sql(
        &app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'consent_remind'",
    )
    .await;
    app.run_pending_jobs().await;
    assert!(!app
        .sent_emails()
        .iter()
        .any(|m| m.subject.starts_with("Closes tomorrow")));

    close_rounds(&app).await;
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["status"], "adopted");
    assert_eq!(one["adopted_version"], 1);
    assert_eq!(one["rounds"][0]["outcome"], "adopted");
    assert_eq!(one["rounds"][0]["stances"].as_array().unwrap().len(), 4);
    let mails = app.sent_emails();
    let outcome = mail_to(&mails, "cy", "Adopted: We start on time");
    assert!(
        outcome.text.contains("4 of 4 answered: "),
        "{}",
        outcome.text
    );
    assert!(
        outcome.text.contains("0 objected (needed: 2)"),
        "{}",
        outcome.text
    );
    let closed = app.browser(Method::GET, &links[0], None).await;
    assert!(
        closed.text().contains("SECRET-ASIDE"),
        "after the close the reasons show"
    );
    let res = app
        .browser(
            Method::POST,
            &links[0],
            Some(&[
                ("action", "answer"),
                ("stance", "objection"),
                ("reason", "late"),
            ]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 409, "a closed round takes no answers");

    // The adopted agreement is on the members' pages, to acknowledge.
    let page = app.browser(Method::GET, &ada_me, None).await;
    assert!(page.text().contains("We begin at the hour"));
    assert!(page.text().contains("not acknowledged yet"));
    let page = app
        .browser(
            Method::POST,
            &format!("{ada_me}/circles/{circle}/acknowledge"),
            Some(&[]),
        )
        .await;
    assert!(!page.text().contains("not acknowledged yet"));

    // A new member sees it in the welcome, and must tick it when confirming a signup.
    let slug = app
        .get(&format!("/api/v1/circles/{circle}"))
        .await
        .expect(200)["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .browser(
            Method::POST,
            &format!("/c/{slug}/join"),
            Some(&[
                ("email", "gus@example.org"),
                ("display_name", "Gus"),
                ("timezone", "Europe/London"),
                ("website", ""),
            ]),
        )
        .await;
    assert!(res.status.is_success(), "{}", res.text());
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let confirm = app.link_in(mail_to(&mails, "gus", "Confirm"), "/confirm/");
    let page = app.browser(Method::GET, &confirm, None).await;
    assert!(page.text().contains("We begin at the hour"));
    let before = app.snapshot().await;
    let res = app.browser(Method::POST, &confirm, Some(&[])).await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(app.snapshot().await, before);
    let res = app
        .browser(Method::POST, &confirm, Some(&[("agreements", "read")]))
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    assert!(mail_to(&mails, "gus", "Welcome")
        .text
        .contains("We start on time: We begin at the hour"));
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM agreement_acks a JOIN members m ON m.id = a.member_id WHERE m.email = 'gus@example.org'").await,
        1
    );
}

async fn count(app: &TestApp, query: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn().await;
    let n: N = diesel_async::RunQueryDsl::get_result(diesel::sql_query(query), &mut conn)
        .await
        .unwrap();
    n.n
}

#[tokio::test]
async fn an_objection_goes_back_to_the_proposer_and_silence_never_adopts() {
    let app = spawn_app().await;
    let (circle, _, _) = circle_with(&app, "learning_circle", 4, 1, 10).await;
    let ada_me = me_path(&app, "ada").await;
    app.browser(
        Method::POST,
        &format!("{ada_me}/circles/{circle}/agreements"),
        Some(&[("title", "Phones away"), ("body", "Phones stay in bags.")]),
    )
    .await;
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let link = |who: &str| {
        app.link_in(
            mail_to(&mails, who, "Consent round: Phones away"),
            "/consent/",
        )
    };
    for (who, stance, reason) in [
        ("ada", "consent", ""),
        ("bo", "consent", ""),
        ("cy", "objection", "I am on call for work"),
    ] {
        let res = app
            .browser(
                Method::POST,
                &link(who),
                Some(&[("action", "answer"), ("stance", stance), ("reason", reason)]),
            )
            .await;
        assert_eq!(res.status.as_u16(), 200);
    }
    // Di is undecided: the reminder goes to her only.
    sql(
        &app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'consent_remind'",
    )
    .await;
    app.run_pending_jobs().await;
    let reminded: Vec<String> = app
        .sent_emails()
        .iter()
        .filter(|m| m.subject.starts_with("Closes tomorrow"))
        .map(|m| m.to.clone())
        .collect();
    assert_eq!(reminded.len(), 1, "{reminded:?}");
    assert!(reminded[0].contains("di@example.org"));

    close_rounds(&app).await;
    let list = app
        .get(&format!("/api/v1/circles/{circle}/agreements"))
        .await
        .expect(200);
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list["items"][0]["status"], "integrating");
    assert_eq!(list["items"][0]["rounds"][0]["outcome"], "objected");
    let mails = app.sent_emails();
    let to_ada = mail_to(&mails, "ada", "Objection: Phones away");
    assert!(to_ada.text.contains("Revise the text"));
    assert!(to_ada.text.contains("I am on call for work"));
    // Only the proposer revises (Bo's link to the round shows its outcome now).
    let bo_link = app.link_in(
        mail_to(&mails, "bo", "Consent round: Phones away"),
        "/consent/",
    );
    let res = app
        .browser(
            Method::POST,
            &bo_link,
            Some(&[("action", "revise"), ("body", "Mine instead")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 403);
    let ada_link = app.link_in(to_ada, "/consent/");
    let res = app
        .browser(
            Method::POST,
            &ada_link,
            Some(&[
                ("action", "revise"),
                ("body", "Phones stay in bags, except for people on call."),
                ("note", "For Cy"),
            ]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    app.run_pending_jobs().await;
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["current_version"], 2);
    let second = &one["rounds"][1];
    assert_eq!(second["kind"], "integration");
    let opened: chrono::DateTime<Utc> = second["opened_at"].as_str().unwrap().parse().unwrap();
    let closes: chrono::DateTime<Utc> = second["closes_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (closes - opened).num_days(),
        3,
        "a shorter second round (7 days halved)"
    );

    // Nobody answers the second round: silence is never consent.
    close_rounds(&app).await;
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["rounds"][1]["outcome"], "no_quorum");
    assert_eq!(one["status"], "not_adopted");
    assert_eq!(one["adopted_version"], Value::Null);

    // An organiser opens another round; now three consent and it is adopted.
    let round = app
        .post(&format!("/api/v1/agreements/{id}/rounds"), &json!({}))
        .await
        .expect(201);
    assert_eq!(round["version"], 2);
    assert_eq!(
        app.post(&format!("/api/v1/agreements/{id}/rounds"), &json!({}))
            .await
            .status
            .as_u16(),
        409,
        "one open round at a time"
    );
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    for who in ["ada", "bo", "cy"] {
        let m = mails
            .iter()
            .rev()
            .find(|m| {
                m.to.contains(&format!("{who}@example.org"))
                    && m.subject.starts_with("Consent round")
            })
            .unwrap();
        let res = app
            .browser(
                Method::POST,
                &app.link_in(m, "/consent/"),
                Some(&[("action", "answer"), ("stance", "consent")]),
            )
            .await;
        assert_eq!(res.status.as_u16(), 200);
    }
    close_rounds(&app).await;
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["status"], "adopted");
    assert_eq!(one["adopted_version"], 2);
    assert_eq!(
        one["adopted_body"],
        "Phones stay in bags, except for people on call."
    );
}

/// The agreement letters `who` got so far, by subject, oldest first.
fn agreement_letters(app: &TestApp, who: &str) -> Vec<String> {
    app.sent_emails()
        .into_iter()
        .filter(|m| m.to.contains(&format!("{who}@example.org")))
        .map(|m| m.subject)
        .filter(|s| {
            [
                "Consent round:",
                "Closes tomorrow:",
                "Objection:",
                "Adopted:",
                "Not adopted:",
            ]
            .iter()
            .any(|p| s.starts_with(p))
        })
        .collect()
}

/// Ada proposes "Phones away" to Ada, Bo, Cy and Di; Ada and Bo consent, Cy objects, Di says
/// nothing (and alone is reminded); the round closes.
async fn objected_round(app: &TestApp) -> String {
    let (circle, _, _) = circle_with(app, "learning_circle", 4, 1, 10).await;
    let ada_me = me_path(app, "ada").await;
    app.browser(
        Method::POST,
        &format!("{ada_me}/circles/{circle}/agreements"),
        Some(&[("title", "Phones away"), ("body", "Phones stay in bags.")]),
    )
    .await;
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    for (who, stance, reason) in [
        ("ada", "consent", ""),
        ("bo", "consent", ""),
        ("cy", "objection", "I am on call for work"),
    ] {
        let link = app.link_in(
            mail_to(&mails, who, "Consent round: Phones away"),
            "/consent/",
        );
        let res = app
            .browser(
                Method::POST,
                &link,
                Some(&[("action", "answer"), ("stance", stance), ("reason", reason)]),
            )
            .await;
        assert_eq!(res.status.as_u16(), 200);
    }
    sql(
        app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'consent_remind'",
    )
    .await;
    app.run_pending_jobs().await;
    close_rounds(app).await;
    // Only the proposer hears at once, with the link to revise.
    let told: Vec<String> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("Objection: Phones away"))
        .map(|m| m.to)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("ada@example.org"));
    circle
}

/// Make the outcome letters held back after an objection due now, and run what is due.
async fn end_the_wait(app: &TestApp) {
    sql(
        app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'email' \
         AND payload->>'message' = 'consent_outcome'",
    )
    .await;
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn an_objection_and_its_revision_reach_each_member_in_two_letters() {
    let app = spawn_app().await;
    objected_round(&app).await;
    let mails = app.sent_emails();
    let to_ada = mail_to(&mails, "ada", "Objection: Phones away");
    assert!(to_ada.text.contains("Revise the text"));
    let res = app
        .browser(
            Method::POST,
            &app.link_in(to_ada, "/consent/"),
            Some(&[
                ("action", "revise"),
                ("body", "Phones stay in bags, except for people on call."),
                ("note", "For those on call"),
            ]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    app.run_pending_jobs().await;

    // The revised round's letter tells everyone but Ada how the first round ended, at its top:
    // as much as the outcome letter showed them, then the new text.
    let mails = app.sent_emails();
    for who in ["bo", "cy", "di"] {
        let text = &mail_to(&mails, who, "Consent round: Phones away").text;
        let told = text
            .find("The previous round on “Phones away” found an objection, so it was not adopted.")
            .unwrap_or_else(|| {
                panic!(
                    "{who} is told the outcome:
{text}"
                )
            });
        let counts = text
            .find("3 of 4 answered: 2 consent, 0 with a concern, 0 stood aside, 1 objected (needed: 2).")
            .expect("the counts");
        let reason = text
            .find("(objection): I am on call for work")
            .expect("what the objection said");
        let revised = text
            .find("revised “Phones away” after the objection")
            .unwrap();
        let new_text = text
            .find("> Phones stay in bags, except for people on call.")
            .unwrap();
        assert!(told < counts && counts < reason && reason < revised && revised < new_text);
        assert!(text.contains("What changed: For those on call"));
    }
    let to_ada = &mail_to(&mails, "ada", "Consent round: Phones away").text;
    assert!(!to_ada.contains("The previous round"), "{to_ada}");
    assert!(to_ada.contains("revised “Phones away” after an objection"));

    // The held outcome letters never go; Bo and Cy answer, so only Ada and Di are reminded.
    end_the_wait(&app).await;
    for who in ["bo", "cy"] {
        let link = app.link_in(
            mail_to(&mails, who, "Consent round: Phones away"),
            "/consent/",
        );
        let res = app
            .browser(
                Method::POST,
                &link,
                Some(&[("action", "answer"), ("stance", "consent")]),
            )
            .await;
        assert_eq!(res.status.as_u16(), 200);
    }
    sql(
        &app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind = 'consent_remind'",
    )
    .await;
    app.run_pending_jobs().await;

    let rounds = vec![
        "Consent round: Phones away (Circle learning_circle)".to_string(),
        "Consent round: Phones away (Circle learning_circle)".to_string(),
    ];
    assert_eq!(
        agreement_letters(&app, "bo"),
        rounds,
        "two letters, not three"
    );
    assert_eq!(agreement_letters(&app, "cy"), rounds);
    let di = agreement_letters(&app, "di");
    let reminders = di
        .iter()
        .filter(|s| s.starts_with("Closes tomorrow"))
        .count();
    assert_eq!(reminders, 2, "Di never answered: {di:?}");
    let others: Vec<_> = di
        .into_iter()
        .filter(|s| !s.starts_with("Closes tomorrow"))
        .collect();
    assert_eq!(others, rounds);
}

#[tokio::test]
async fn an_objection_without_a_revision_reaches_everyone_else_when_the_wait_ends() {
    let app = spawn_app().await;
    objected_round(&app).await;
    // Everyone else's letter waits as long as a second round lasts: three days of seven.
    let waiting = count(
        &app,
        "SELECT count(*) AS n FROM jobs WHERE state = 'queued' AND kind = 'email' \
         AND payload->>'message' = 'consent_outcome' \
         AND run_at BETWEEN now() + interval '71 hours' AND now() + interval '73 hours'",
    )
    .await;
    assert_eq!(waiting, 3, "Bo, Cy and Di");

    end_the_wait(&app).await;
    let mails = app.sent_emails();
    for who in ["bo", "cy", "di"] {
        let text = &mail_to(&mails, who, "Objection: Phones away").text;
        assert!(
            text.contains("no revision came in the 3 days since the round closed"),
            "{text}"
        );
        assert!(text.contains("3 of 4 answered: 2 consent"), "{text}");
        assert!(text.contains("(objection): I am on call for work"));
        assert!(!text.contains("Revise the text"));
    }
    let to_ada = agreement_letters(&app, "ada");
    assert_eq!(
        to_ada
            .iter()
            .filter(|s| s.starts_with("Objection:"))
            .count(),
        1,
        "the proposer heard once, at the close: {to_ada:?}"
    );
    assert_eq!(
        agreement_letters(&app, "bo"),
        [
            "Consent round: Phones away (Circle learning_circle)",
            "Objection: Phones away (Circle learning_circle)"
        ]
    );
}

/// Session `sid` is over: it ran three hours ago, Ada led it, and `present` came (the rest
/// of `absent` were marked absent). Its reflection prompts, with their feedback forms, go out.
async fn led_by_ada(app: &TestApp, sid: &str, m: &[String], present: &[usize], absent: &[usize]) {
    app.put(
        &format!("/api/v1/sessions/{sid}/roles/facilitator"),
        &json!({ "member_id": m[0] }),
    )
    .await
    .expect(200);
    sql(
        app,
        &format!(
            "UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{sid}'"
        ),
    )
    .await;
    // Everyone was a member before it: feedback comes only from people who were.
    sql(
        app,
        &format!(
            "UPDATE memberships SET joined_at = now() - interval '1 day' \
             WHERE circle_id = (SELECT circle_id FROM sessions WHERE id = '{sid}') \
               AND joined_at > now() - interval '1 day'"
        ),
    )
    .await;
    let marks: Vec<Value> = present
        .iter()
        .map(|i| json!({ "member_id": m[*i], "attended": true }))
        .chain(
            absent
                .iter()
                .map(|i| json!({ "member_id": m[*i], "attended": false })),
        )
        .collect();
    app.put(
        &format!("/api/v1/sessions/{sid}/attendance"),
        &json!({ "attendance": marks }),
    )
    .await
    .expect(200);
    sql(
        app,
        &format!(
            "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND payload->>'session_id' = '{sid}' \
             AND payload->>'message' = 'reflection_prompt'"
        ),
    )
    .await;
    app.run_pending_jobs().await;
}

/// The feedback form link in the newest reflection prompt to `who` about session `sid`'s lead.
fn feedback_link(app: &TestApp, who: &str) -> Option<String> {
    let mails = app.sent_emails();
    let prompt = mails.iter().rev().find(|m| {
        m.to.contains(&format!("{who}@example.org")) && m.subject.starts_with("How was")
    })?;
    prompt
        .text
        .contains("/feedback/")
        .then(|| app.link_in(prompt, "/feedback/"))
}

async fn answer(app: &TestApp, link: &str, helped: &str) -> u16 {
    app.browser(
        Method::POST,
        link,
        Some(&[
            ("helped", helped),
            ("try_next", "More pauses"),
            ("rating", "3"),
        ]),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn the_lead_reads_anonymous_feedback_only_after_close_and_only_with_k_answers() {
    let app = spawn_app().await;
    let (_, m, sessions) = circle_with(&app, "book_club", 6, 2, 2).await;
    let first = sessions[0]["id"].as_str().unwrap();
    // Ada, Bo, Cy came; Di was absent; Ed and Flo were not marked.
    led_by_ada(&app, first, &m, &[0, 1, 2], &[3]).await;

    assert!(
        feedback_link(&app, "ada").is_none(),
        "the lead is not asked about themselves"
    );
    assert!(
        feedback_link(&app, "di").is_none(),
        "someone marked absent gets no form"
    );
    let bo = feedback_link(&app, "bo").expect("an attendee gets the form in the prompt");
    let cy = feedback_link(&app, "cy").unwrap();
    assert!(app
        .sent_emails()
        .iter()
        .any(|m| m.text.contains("Feedback for ada, who facilitated")));

    // A non-attendee's link is refused, whatever they do with it.
    let di = app.path_of(&app.links().feedback(
        app.holder("di@example.org").await,
        request_of(&app, first).await,
        Utc::now() + Duration::days(7),
    ));
    let before = app.snapshot().await;
    assert_eq!(
        app.browser(Method::GET, &di, None).await.status.as_u16(),
        403
    );
    assert_eq!(answer(&app, &di, "sneaky").await, 403);
    assert_eq!(
        app.browser(Method::GET, &bo, None).await.status.as_u16(),
        200
    );
    assert!(app
        .browser(Method::GET, &damaged(&bo), None)
        .await
        .status
        .is_client_error());
    let res = app
        .browser(
            Method::POST,
            &bo,
            Some(&[("helped", ""), ("try_next", ""), ("rating", "")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422, "an empty answer is refused");
    assert_eq!(
        answer_bad_rating(&app, &bo).await,
        422,
        "the scale is 1 to 3"
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "GETs and refused answers store nothing"
    );

    assert_eq!(answer(&app, &bo, "BO-SAYS clear opening").await, 200);
    assert_eq!(
        answer(&app, &bo, "again").await,
        409,
        "answering twice is refused"
    );
    assert_eq!(answer(&app, &cy, "CY-SAYS good questions").await, 200);

    // Whoever runs the circle sees counts on the session's page, never the words.
    let organiser = app.dashboard_as("organiser@example.org").await;
    let page = organiser.get(&format!("/dashboard/sessions/{first}")).await;
    assert!(
        page.text()
            .contains("For ada (facilitator, anonymous): 2 of 2 answered"),
        "{}",
        page.text()
    );
    assert!(!page.text().contains("BO-SAYS") && !page.text().contains("CY-SAYS"));

    // No query joins an anonymous answer to a member: while the feedback is open the answers
    // are held naming nobody, and no receipt says who answered.
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM feedback_held").await,
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM feedback_held WHERE author_id IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM feedback_answers").await
            + count(&app, "SELECT count(*) AS n FROM feedback_receipts").await,
        0,
        "nothing is written out before the close"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM information_schema.columns \
             WHERE table_name IN ('feedback_answers', 'feedback_held') \
             AND (data_type LIKE 'timestamp%' AND column_name <> 'reported_at' OR column_name LIKE '%member%')"
        )
        .await,
        0,
        "no time or member column to join on"
    );
    let mut conn = app.conn().await;
    let relax = diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE feedback_requests SET mode = 'named'"),
        &mut conn,
    )
    .await;
    assert!(
        relax.is_err(),
        "anonymous feedback cannot become named once open"
    );

    // Organisers see counts, never text.
    let counts = app
        .get(&format!("/api/v1/sessions/{first}/feedback"))
        .await
        .expect(200);
    assert_eq!(counts["requested"], 2, "Bo and Cy: the attendees but Ada");
    assert_eq!(counts["answered"], 2);
    assert!(!counts.to_string().contains("SAYS"));

    // Before the close Ada sees nothing but the count; at the close, with 2 of k = 3, no text.
    let ada_me = me_path(&app, "ada").await;
    let page = app.browser(Method::GET, &ada_me, None).await;
    assert!(page.text().contains("2 answered so far"), "{}", page.text());
    assert!(!page.text().contains("SAYS"));
    sql(
        &app,
        "UPDATE feedback_requests SET closes_at = now() - interval '1 second'",
    )
    .await;
    roundtable::actions::feedback::send_due(&mut app.conn().await, app.links().keys(), Utc::now())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    let page = app.browser(Method::GET, &ada_me, None).await;
    assert!(page
        .text()
        .contains("Not enough answers to keep this anonymous"));
    assert!(
        !page.text().contains("SAYS"),
        "fewer than k answers: no text at all"
    );
    // Nothing to read is no letter of its own: it is a line in Ada's next letter.
    let mails = app.sent_emails();
    assert!(
        !mails
            .iter()
            .any(|m| m.to.contains("ada@") && m.subject.starts_with("Your feedback from")),
        "no letter that only says too few answered"
    );
    // Whoever runs the circle sees it among what needs attention (a count, no words).
    let home = organiser.get("/dashboard").await;
    assert!(
        home.text()
            .contains("feedback for a lead closed this week with too few answers to show them"),
        "{}",
        home.text()
    );
    let told_from = mails.len();

    // The next session: exactly three answer, and Ada reads all three.
    let second = sessions[1]["id"].as_str().unwrap();
    led_by_ada(&app, second, &m, &[0, 1, 2, 3], &[]).await;
    let to_ada: Vec<_> = app
        .sent_emails()
        .into_iter()
        .skip(told_from)
        .filter(|m| m.to.contains("ada@"))
        .collect();
    let told: Vec<_> = to_ada
        .iter()
        .filter(|m| m.text.contains("Feedback about you as facilitator on"))
        .collect();
    assert_eq!(told.len(), 1, "one line in one letter");
    assert!(
        told[0].subject.starts_with("How was "),
        "{}",
        told[0].subject
    );
    assert!(told[0]
        .text
        .contains("Not enough answers to keep this anonymous"));
    assert!(!told[0].text.contains("SAYS"));
    for (who, text) in [
        ("bo", "BO-2 calm"),
        ("cy", "CY-2 warm"),
        ("di", "DI-2 focused"),
    ] {
        let link = feedback_link(&app, who).unwrap();
        assert_eq!(answer(&app, &link, text).await, 200, "{who}");
    }
    sql(&app, "UPDATE feedback_requests SET closes_at = now() - interval '1 second' WHERE results_sent_at IS NULL").await;
    roundtable::actions::feedback::send_due(&mut app.conn().await, app.links().keys(), Utc::now())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    let page = app.browser(Method::GET, &ada_me, None).await;
    for text in ["BO-2 calm", "CY-2 warm", "DI-2 focused"] {
        assert!(page.text().contains(text), "exactly k answers: all shown");
    }
    assert!(
        !page.text().contains("BO-SAYS"),
        "the first session's answers stay hidden"
    );
    assert!(page.text().contains("Average rating 3.0 of 3"));
    let bo_page = app
        .browser(Method::GET, &me_path(&app, "bo").await, None)
        .await;
    assert!(
        !bo_page.text().contains("CY-2"),
        "results go only to the lead"
    );

    // Ada reports one answer: the organiser is told, with the text but no author.
    let request = request_of(&app, second).await;
    let answer_id = {
        #[derive(diesel::QueryableByName)]
        struct A {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let a: A = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT id FROM feedback_answers WHERE request_id = '{request}' AND helped = 'DI-2 focused'"
            )),
            &mut app.conn().await,
        )
        .await
        .unwrap();
        a.id
    };
    // Reporting tells the organisers, so it asks first; asking changes nothing.
    let before = app.snapshot().await;
    let res = app
        .browser(
            Method::POST,
            &format!("{ada_me}/feedback/{request}/report"),
            Some(&[("answer", &answer_id.to_string())]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(
        res.text().contains("Report this answer as abusive?")
            && res.text().contains("The organisers of"),
        "{}",
        res.text()
    );
    assert_eq!(app.snapshot().await, before);
    let res = app
        .browser(
            Method::POST,
            &format!("{ada_me}/feedback/{request}/report"),
            Some(&[("answer", &answer_id.to_string()), ("confirm", "yes")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(res.text().contains("You reported this answer"));
    // Someone else's page cannot report it.
    let res = app
        .browser(
            Method::POST,
            &format!("{}/feedback/{request}/report", me_path(&app, "bo").await),
            Some(&[("answer", &answer_id.to_string())]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 404);
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let report = mails
        .iter()
        .find(|m| {
            m.to.contains("organiser@example.org")
                && m.subject.starts_with("A feedback answer was reported")
        })
        .expect("the organiser is told");
    assert!(report.text.contains("DI-2 focused"));
    assert!(!report.text.contains("BO-2"));
}

async fn answer_bad_rating(app: &TestApp, link: &str) -> u16 {
    app.browser(
        Method::POST,
        link,
        Some(&[("helped", "ok"), ("rating", "7")]),
    )
    .await
    .status
    .as_u16()
}

async fn request_of(app: &TestApp, session: &str) -> uuid::Uuid {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let r: R = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT id FROM feedback_requests WHERE session_id = '{session}'"
        )),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    r.id
}

#[tokio::test]
async fn a_review_comes_due_after_its_sessions_and_the_next_agenda_revisits_it() {
    let app = spawn_app().await;
    let (circle, m, sessions) = circle_with(&app, "restorative_circle", 3, 3, 2).await;
    let created = app
        .post(
            &format!("/api/v1/circles/{circle}/agreements"),
            &json!({ "title": "Confidentiality", "body": "What is said here stays here.", "review_every_sessions": 1 }),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    let before = app.snapshot().await;
    for (body, field) in [
        (json!({ "title": "", "body": "x" }), "title"),
        (json!({ "title": "x", "body": "" }), "body"),
        (
            json!({ "title": "x", "body": "y", "review_every_sessions": 0 }),
            "review_every_sessions",
        ),
    ] {
        let res = app
            .post(&format!("/api/v1/circles/{circle}/agreements"), &body)
            .await;
        assert_eq!(res.status.as_u16(), 422, "{body}");
        assert_eq!(res.body["error"]["field"], field);
    }
    assert_eq!(app.snapshot().await, before);
    app.run_pending_jobs().await;
    // The next session's reminder is due within two days: the round's letter rides with it.
    assert!(
        !app.sent_emails()
            .iter()
            .any(|m| m.subject.starts_with("Consent round: Confidentiality")),
        "the round's letter waits for the reminder"
    );
    sql(
        &app,
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND payload->>'message' = 'reminder'",
    )
    .await;
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    for who in ["ada", "bo", "cy"] {
        let letter = mail_to(&mails, who, "Consent round: Confidentiality");
        assert!(
            letter.subject.starts_with("Reminder:") || letter.subject.starts_with("Before your"),
            "{}",
            letter.subject
        );
        let link = app.link_in(
            mail_to(&mails, who, "Consent round: Confidentiality"),
            "/consent/",
        );
        let before = app.snapshot().await;
        assert_eq!(
            app.browser(Method::GET, &link, None).await.status.as_u16(),
            200
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "the consent page changes nothing"
        );
        app.browser(
            Method::POST,
            &link,
            Some(&[("action", "answer"), ("stance", "consent")]),
        )
        .await;
    }
    close_rounds(&app).await;
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["status"], "adopted");

    // Not due yet: no session has passed since.
    let mut conn = app.conn().await;
    let (_, opened) = roundtable::actions::agreements::sweep(&mut conn, Utc::now())
        .await
        .unwrap();
    assert_eq!(opened, 0);
    // One session passes: the review opens and the next session's agenda revisits it.
    let first = sessions[0]["id"].as_str().unwrap();
    sql(
        &app,
        "UPDATE agreements SET adopted_at = now() - interval '1 day'",
    )
    .await;
    sql(
        &app,
        &format!(
            "UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = '{first}'"
        ),
    )
    .await;
    let (_, opened) = roundtable::actions::agreements::sweep(&mut conn, Utc::now())
        .await
        .unwrap();
    assert_eq!(opened, 1);
    let one = app
        .get(&format!("/api/v1/agreements/{id}"))
        .await
        .expect(200);
    assert_eq!(one["rounds"][1]["kind"], "review");
    assert_eq!(
        one["status"], "adopted",
        "it stays in force while it is reviewed"
    );
    let next = sessions[1]["id"].as_str().unwrap();
    rsvp(&app, next, &m[0], "yes").await;
    let agenda = app
        .get(&format!("/api/v1/sessions/{next}/agenda"))
        .await
        .expect(200);
    let steps = agenda["rounds"].as_array().unwrap();
    let revisit = steps
        .iter()
        .find(|r| r["kind"] == "consent")
        .expect("a revisit step");
    assert_eq!(revisit["prompt"], "Revisit agreements: Confidentiality");
    assert_eq!(
        steps.last().unwrap()["kind"],
        "check_out",
        "before the check-out"
    );
    let (_, opened) = roundtable::actions::agreements::sweep(&mut conn, Utc::now())
        .await
        .unwrap();
    assert_eq!(opened, 0, "one review at a time");
}

#[tokio::test]
async fn the_holder_chooses_their_feedback_on_the_role_page_until_it_opens() {
    let app = spawn_app().await;
    let (_, m, sessions) = circle_with(&app, "book_club", 3, 1, 2).await;
    let sid = sessions[0]["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/sessions/{sid}/roles/facilitator"),
        &json!({ "member_id": m[0] }),
    )
    .await
    .expect(200);
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        feedback: String,
    }
    let row = || async {
        let r: Row = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT id, feedback FROM session_roles WHERE session_id = '{sid}' AND role_key = 'facilitator'"
            )),
            &mut app.conn().await,
        )
        .await
        .unwrap();
        r
    };
    let slot = row().await;
    assert_eq!(slot.feedback, "anonymous", "anonymous by default");
    let ends = sessions[0]["ends_at"].as_str().unwrap().parse().unwrap();
    let page = app.path_of(
        &app.links()
            .role(app.holder("ada@example.org").await, slot.id, ends),
    );
    let shown = app.browser(Method::GET, &page, None).await;
    assert!(shown.text().contains("Feedback after the session"));
    let before = app.snapshot().await;
    let res = app
        .browser(
            Method::POST,
            &page,
            Some(&[("action", "feedback"), ("feedback", "loud")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(app.snapshot().await, before);
    let res = app
        .browser(
            Method::POST,
            &page,
            Some(&[("action", "feedback"), ("feedback", "named")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert_eq!(row().await.feedback, "named");
    // Once the feedback opens its mode is fixed.
    sql(
        &app,
        &format!(
            "INSERT INTO feedback_requests (id, session_id, circle_id, subject_id, role_key, mode, min_answers, closes_at) \
             SELECT gen_random_uuid(), session_id, circle_id, member_id, role_key, feedback, 3, now() + interval '7 days' \
             FROM session_roles WHERE id = '{}'",
            slot.id
        ),
    )
    .await;
    let res = app
        .browser(
            Method::POST,
            &page,
            Some(&[("action", "feedback"), ("feedback", "none")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 409);
    assert_eq!(row().await.feedback, "named");
}

#[tokio::test]
async fn whoever_runs_the_circle_follows_its_agreements_on_the_dashboard() {
    let app = spawn_app().await;
    let (circle, _, _) = circle_with(&app, "book_club", 3, 1, 10).await;
    let ada_me = me_path(&app, "ada").await;
    app.browser(
        Method::POST,
        &format!("{ada_me}/circles/{circle}/agreements"),
        Some(&[
            ("title", "We start on time"),
            ("body", "We begin at the hour."),
        ]),
    )
    .await;
    app.run_pending_jobs().await;
    let organiser = app.dashboard_as("organiser@example.org").await;
    let page = organiser
        .get(&format!("/dashboard/circles/{circle}/agreements"))
        .await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text().contains("We start on time"));
    assert!(
        page.text()
            .contains("Nobody of 3 has answered yet; it needs 2"),
        "{}",
        page.text()
    );
    assert!(
        !page.text().contains("Open a round"),
        "a round is open already"
    );
    let id = app
        .get(&format!("/api/v1/circles/{circle}/agreements"))
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = organiser
        .post(
            &format!("/dashboard/agreements/{id}/rounds"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status.as_u16(), 409);
    assert!(refused.text().contains("No round was opened"));

    // Nobody answers: not adopted, and another round can be opened from the page.
    close_rounds(&app).await;
    let page = organiser
        .get(&format!("/dashboard/circles/{circle}/agreements"))
        .await;
    assert!(
        page.text()
            .contains("Not adopted: too few people answered. 0 of 3 answered; it needed 2."),
        "{}",
        page.text()
    );
    // Opening one emails everyone, so it asks first, saying who will be told; asking sends
    // nothing.
    let before = app.snapshot().await;
    let asked = organiser
        .post(&format!("/dashboard/agreements/{id}/rounds"), &[])
        .await;
    assert_eq!(asked.status.as_u16(), 200);
    assert!(
        asked
            .text()
            .contains("Open a consent round on “We start on time”?")
            && asked
                .text()
                .contains("will email all 3 of its active members"),
        "{}",
        asked.text()
    );
    assert_eq!(app.snapshot().await, before, "asking changes nothing");
    let opened = organiser
        .post(
            &format!("/dashboard/agreements/{id}/rounds"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(opened.status.as_u16(), 303);
    app.run_pending_jobs().await;
    let letters = app
        .sent_emails()
        .iter()
        .filter(|m| m.subject.contains("We start on time"))
        .count();
    assert!(letters >= 3, "the three members are asked: {letters}");
    let page = organiser
        .get(&format!("/dashboard/circles/{circle}/agreements"))
        .await;
    assert!(page.text().contains("Open round"));
}

#[tokio::test]
async fn the_talking_piece_rounds_are_set_from_the_rota_page() {
    let app = spawn_app().await;
    let (circle, _, _) = circle_with(&app, "book_club", 3, 1, 10).await;
    let organiser = app.dashboard_as("organiser@example.org").await;
    let page = organiser
        .get(&format!("/dashboard/circles/{circle}/rota"))
        .await;
    assert!(page.text().contains("Talking-piece rounds"));
    let before = app.snapshot().await;
    for bad in [
        vec![
            ("kind_0", "check_in"),
            ("prompt_0", "How are you?"),
            ("minutes_0", "ten"),
        ],
        vec![
            ("kind_0", "check_in"),
            ("prompt_0", "How are you?"),
            ("minutes_0", "500"),
        ],
        vec![
            ("kind_0", "gossip"),
            ("prompt_0", "Who said what?"),
            ("minutes_0", "5"),
        ],
        vec![("kind_0", "check_in"), ("prompt_0", ""), ("minutes_0", "5")],
    ] {
        let res = organiser
            .post(&format!("/dashboard/circles/{circle}/agenda"), &bad)
            .await;
        assert_eq!(res.status.as_u16(), 422, "{bad:?}");
        assert!(res.text().contains("Round 1") || res.text().contains("not saved"));
        let typed = bad[1].1;
        assert!(
            typed.is_empty() || res.text().contains(&format!("value=\"{typed}\"")),
            "the form comes back as typed: {typed}"
        );
    }
    assert!(
        app.snapshot().await == before,
        "refused forms change nothing"
    );
    let saved = organiser
        .post(
            &format!("/dashboard/circles/{circle}/agenda"),
            &[
                ("enabled", "on"),
                ("kind_0", "check_in"),
                ("prompt_0", "One word for how you arrive"),
                ("minutes_0", "6"),
                ("kind_1", ""),
                ("prompt_1", ""),
                ("kind_2", "check_out"),
                ("prompt_2", "One thing you take away"),
                ("minutes_2", "4"),
            ],
        )
        .await;
    assert_eq!(saved.status.as_u16(), 303);
    let template = app
        .get(&format!("/api/v1/circles/{circle}/agenda"))
        .await
        .expect(200);
    assert_eq!(template["enabled"], true);
    assert_eq!(template["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(
        template["rounds"][0]["prompt"],
        "One word for how you arrive"
    );
    assert_eq!(template["rounds"][1]["kind"], "check_out");
    assert_eq!(template["rounds"][1]["minutes"], 4);
}

/// The id of the answer of `request` whose "what helped" reads `helped`.
async fn answer_id(app: &TestApp, request: uuid::Uuid, helped: &str) -> uuid::Uuid {
    #[derive(diesel::QueryableByName)]
    struct A {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let a: A = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT id FROM feedback_answers WHERE request_id = '{request}' AND helped = '{helped}'"
        )),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    a.id
}

#[tokio::test]
async fn an_answer_reported_again_and_again_reaches_the_organisers_once() {
    let app = spawn_app().await;
    let (_, m, sessions) = circle_with(&app, "book_club", 5, 1, 2).await;
    let sid = sessions[0]["id"].as_str().unwrap();
    led_by_ada(&app, sid, &m, &[0, 1, 2, 3], &[]).await;
    for (who, text) in [("bo", "BO rude"), ("cy", "CY rude"), ("di", "DI fine")] {
        let link = feedback_link(&app, who).unwrap();
        assert_eq!(answer(&app, &link, text).await, 200, "{who}");
    }
    sql(
        &app,
        "UPDATE feedback_requests SET closes_at = now() - interval '1 second'",
    )
    .await;
    roundtable::actions::feedback::send_due(&mut app.conn().await, app.links().keys(), Utc::now())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    let request = request_of(&app, sid).await;
    let ada_me = me_path(&app, "ada").await;
    let reports = |app: &TestApp| {
        app.sent_emails()
            .into_iter()
            .filter(|m| m.subject.starts_with("A feedback answer was reported"))
            .collect::<Vec<_>>()
    };
    let bo = answer_id(&app, request, "BO rude").await;
    for _ in 0..3 {
        let res = app
            .browser(
                Method::POST,
                &format!("{ada_me}/feedback/{request}/report"),
                Some(&[("answer", &bo.to_string()), ("confirm", "yes")]),
            )
            .await;
        assert_eq!(res.status.as_u16(), 200);
        assert!(res.text().contains("You reported this answer"));
    }
    app.run_pending_jobs().await;
    let sent = reports(&app);
    assert_eq!(sent.len(), 1, "three reports of one answer: one email");
    assert!(sent[0].text.contains("BO rude"));

    // Another answer is another report, quoting that answer alone.
    let cy = answer_id(&app, request, "CY rude").await;
    app.browser(
        Method::POST,
        &format!("{ada_me}/feedback/{request}/report"),
        Some(&[("answer", &cy.to_string()), ("confirm", "yes")]),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let sent = reports(&app);
    assert_eq!(sent.len(), 2);
    assert!(sent[1].text.contains("CY rude") && !sent[1].text.contains("BO rude"));
}

#[tokio::test]
async fn a_members_page_opens_with_what_waits_for_them_soonest_first() {
    let app = spawn_app().await;
    let (circle, m, sessions) = circle_with(&app, "book_club", 4, 3, 2).await;
    let (first, second) = (
        sessions[0]["id"].as_str().unwrap(),
        sessions[1]["id"].as_str().unwrap(),
    );
    // Ada led the first session; Bo came, so he may give her feedback.
    led_by_ada(&app, first, &m, &[0, 1, 2], &[3]).await;
    // Bo is asked to facilitate the second session.
    app.put(
        &format!("/api/v1/sessions/{second}/roles/facilitator"),
        &json!({ "member_id": m[1] }),
    )
    .await
    .expect(200);
    sql(
        &app,
        &format!(
            "UPDATE session_roles SET state = 'asked', asked_at = now() \
             WHERE session_id = '{second}' AND role_key = 'facilitator'"
        ),
    )
    .await;
    // Ada proposes an agreement: a consent round is open to Bo.
    let ada_me = me_path(&app, "ada").await;
    app.browser(
        Method::POST,
        &format!("{ada_me}/circles/{circle}/agreements"),
        Some(&[
            ("agreement", ""),
            ("title", "We start on time"),
            ("body", "We begin at the hour."),
        ]),
    )
    .await
    .expect(200);

    let bo_me = me_path(&app, "bo").await;
    let page = app.browser(Method::GET, &bo_me, None).await;
    let page = page.text();
    let waiting = page.find("Waiting for you").expect("the section");
    let next = page.find("Next sessions").expect("the sessions");
    assert!(waiting < next, "what waits comes first");
    let section = &page[waiting..next];
    let ask = section
        .find("Would you be the facilitator in Circle book_club on")
        .unwrap_or_else(|| panic!("the role ask: {section}"));
    let feedback = section
        .find("Feedback for ada, facilitator on")
        .unwrap_or_else(|| panic!("feedback to give: {section}"));
    let round = section
        .find("Give your answer on “We start on time”")
        .unwrap_or_else(|| panic!("the consent round: {section}"));
    let come = section
        .find("Will you come to Circle book_club on")
        .unwrap_or_else(|| panic!("the next session: {section}"));
    assert!(
        section.contains("Answer by") && section.contains(" London time (in 3 days)"),
        "deadlines in words, with the zone and how far off: {section}"
    );
    assert!(
        ask < come && feedback < come && round < come,
        "soonest first"
    );
    assert!(!section.contains("Seed") && !section.contains("seed"));

    // What Bo did leaves the list: his feedback, his answer for the session.
    let link = feedback_link(&app, "bo").unwrap();
    assert_eq!(answer(&app, &link, "Calm and clear").await, 200);
    rsvp(&app, second, &m[1], "yes").await;
    let page = app.browser(Method::GET, &bo_me, None).await;
    let page = page.text();
    let section = &page[page.find("Waiting for you").unwrap()..page.find("Next sessions").unwrap()];
    assert!(!section.contains("Feedback for ada"), "{section}");
    assert!(!section.contains("Will you come"), "{section}");
    assert!(section.contains("Would you be the facilitator"));

    // Accepted, the role no longer offers Accept.
    sql(
        &app,
        &format!(
            "UPDATE session_roles SET state = 'confirmed', answered_at = now() \
             WHERE session_id = '{second}' AND role_key = 'facilitator'"
        ),
    )
    .await;
    let page = app.browser(Method::GET, &bo_me, None).await;
    let page = page.text();
    assert!(page.contains("make it, or ask someone to swap"), "{page}");
    assert!(!page.contains(">Accept, can"), "{page}");
}
