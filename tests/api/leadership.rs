//! Shared leadership end to end: a rotating circle's rota, asking by email, accepting,
//! declining, swapping, handoff notes and the ledger, against real Postgres and (for the
//! asking flow) a real SMTP listener.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, SentEmail, TestApp};
use crate::smtp::SmtpServer;
use roundtable::worker;

const NAMES: [&str; 6] = ["ada", "bo", "cy", "di", "ed", "flo"];

/// A rotating circle of six with twelve weekly sessions, the first `first_in_days` from now.
async fn rotating_circle(
    app: &TestApp,
    first_in_days: i64,
) -> (String, HashMap<String, String>, Vec<Value>) {
    let circle = app
        .create_circle(json!({
            "name": "Turns", "timezone": "Europe/London", "facilitation": "rotating"
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.anyone_may_take_roles(&id).await;
    assert_eq!(circle["planning_horizon"], 12);
    assert_eq!(circle["role_ask_days"], 10);
    let mut ids = HashMap::new();
    for name in NAMES {
        let m = app
            .add_member(&id, &format!("{name}@example.org"))
            .await
            .expect(201);
        ids.insert(
            m["member_id"].as_str().unwrap().to_string(),
            name.to_string(),
        );
    }
    let first = (Utc::now() + Duration::days(first_in_days)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 12 }),
        )
        .await;
    assert_eq!(sessions.len(), 12);
    (id, ids, sessions)
}

fn facilitators(rota: &Value) -> Vec<(String, String, String)> {
    rota["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let f = s["roles"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["role"] == "facilitator")
                .expect("a facilitator slot");
            (
                f["member_id"].as_str().unwrap_or("").to_string(),
                f["state"].as_str().unwrap().to_string(),
                f["why"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The ask sent to whoever holds the facilitator role of the circle's `index`-th session.
async fn ask_for(
    app: &TestApp,
    circle: &str,
    names: &HashMap<String, String>,
    index: usize,
) -> SentEmail {
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let holder = &facilitators(&rota)[index].0;
    let address = format!("{}@example.org", names[holder]);
    asks(&app.sent_emails())
        .into_iter()
        .find(|m| m.to.contains(&address))
        .cloned()
        .unwrap_or_else(|| panic!("no ask for {address}"))
}

/// The holder accepts the turn on `role_link`, then asks for a swap: the first offer sent.
async fn accept_then_offer_swap(app: &TestApp, role_link: &str) -> SentEmail {
    app.browser(Method::POST, role_link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    app.browser(Method::POST, role_link, Some(&[("action", "swap")]))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    app.sent_emails()
        .into_iter()
        .find(|m| m.subject.starts_with("Could you take over"))
        .expect("a swap offer")
}

/// Take the swap `offer` offers, from its link.
async fn take_swap(app: &TestApp, offer: &SentEmail) -> Value {
    app.browser(
        Method::POST,
        &app.link_in(offer, "/swap/"),
        Some(&[("action", "take")]),
    )
    .await
    .expect(200)
}

fn asks(mails: &[SentEmail]) -> Vec<&SentEmail> {
    mails
        .iter()
        .filter(|m| m.subject.starts_with("Would you facilitate"))
        .collect()
}

#[tokio::test]
async fn six_members_twelve_sessions_each_leads_twice_and_the_first_is_asked_by_real_email() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    let ctx = app.smtp_job_context(&smtp.url());
    let (circle, names, sessions) = rotating_circle(&app, 2).await;

    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota?limit=12"))
        .await
        .expect(200);
    let plan = facilitators(&rota);
    assert_eq!(plan.len(), 12);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (member, _, why) in &plan {
        assert!(
            names.contains_key(member),
            "a member of the circle holds it"
        );
        assert!(!why.is_empty(), "every proposal says why");
        *counts.entry(member.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 2),
        "each leads twice: {counts:?}"
    );
    // Inside the ten-day window: the first two sessions (2 and 9 days away) are asked.
    assert_eq!(plan[0].1, "asked");
    assert_eq!(plan[1].1, "asked");
    assert!(
        plan[2..].iter().all(|(_, s, _)| s == "proposed"),
        "{plan:?}"
    );
    assert_eq!(
        sessions[0]["facilitator_id"],
        Value::Null,
        "nobody is the facilitator until they accept"
    );

    let report = worker::drain(&ctx, &app.worker_config()).await.unwrap();
    assert_eq!(report.dead, 0);
    let mails: Vec<SentEmail> = smtp
        .received()
        .iter()
        .map(|r| SentEmail::parse(&r.data))
        .collect();
    let asked = asks(&mails);
    assert_eq!(
        asked.len(),
        2,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let first_holder = &names[&plan[0].0];
    let ask = asked
        .iter()
        .find(|m| m.to.contains(&format!("{first_holder}@")))
        .expect("the first holder's ask");
    assert!(ask.text.contains("Why you:"), "{}", ask.text);
    let read = roundtable::domain::rota::why_for_holder(&plan[0].2, first_holder);
    assert!(
        ask.text.contains(&format!("Why you: {read}")),
        "the why of the rota is in the email, addressed to its reader: {read}\n{}",
        ask.text
    );
    assert!(
        ask.text.contains("Open the session"),
        "the role's guide is in the email"
    );
    let role_link = app.link_in(ask, "/role/");

    // GET shows and changes nothing.
    let before = app.snapshot().await;
    let page = app.browser(Method::GET, &role_link, None).await.expect(200);
    assert!(page.as_str().unwrap().contains("Accept"));
    assert_eq!(before, app.snapshot().await);

    // Accept: confirmed, and the session's facilitator.
    let page = app
        .browser(Method::POST, &role_link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    assert!(
        page.as_str().unwrap().contains("confirmed"),
        "{}",
        page.as_str().unwrap()
    );
    let session = app
        .get(&format!(
            "/api/v1/sessions/{}",
            sessions[0]["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(session["facilitator_id"], plan[0].0.as_str());
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    assert_eq!(facilitators(&rota)[0].1, "confirmed");

    // The second holder declines: the next person is asked at once, by email.
    let second_holder = &names[&plan[1].0];
    let second_ask = asked
        .iter()
        .find(|m| m.to.contains(&format!("{second_holder}@")))
        .expect("the second holder's ask");
    let second_link = app.link_in(second_ask, "/role/");
    app.browser(Method::POST, &second_link, Some(&[("action", "decline")]))
        .await
        .expect(200);
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let after = facilitators(&rota);
    assert_eq!(
        after[0],
        (plan[0].0.clone(), "confirmed".into(), plan[0].2.clone()),
        "confirmed holders never change"
    );
    assert_ne!(
        after[1].0, plan[1].0,
        "someone else holds the declined session"
    );
    assert_eq!(after[1].1, "asked");
    assert_ne!(
        after[1].0, plan[0].0,
        "not the person already leading the week before"
    );
    worker::drain(&ctx, &app.worker_config()).await.unwrap();
    let mails: Vec<SentEmail> = smtp
        .received()
        .iter()
        .map(|r| SentEmail::parse(&r.data))
        .collect();
    let next = &names[&after[1].0];
    assert!(
        asks(&mails)
            .iter()
            .any(|m| m.to.contains(&format!("{next}@"))),
        "the next person is asked by email"
    );
    // Answering again from the old link: the role moved on.
    let res = app
        .browser(Method::POST, &second_link, Some(&[("action", "accept")]))
        .await;
    assert_eq!(res.status.as_u16(), 410, "{}", res.text());

    // The ledger: nobody has led yet (the sessions are still to come), balance even.
    let ledger = app
        .get(&format!("/api/v1/circles/{circle}/ledger"))
        .await
        .expect(200);
    assert_eq!(ledger["items"].as_array().unwrap().len(), 6);
    assert_eq!(ledger["balance"], 1.0);
}

#[tokio::test]
async fn a_role_link_does_only_its_own_job() {
    let app = spawn_app().await;
    let (circle, _, sessions) = rotating_circle(&app, 2).await;
    app.run_pending_jobs().await;
    let mails = app.sent_emails();
    let ask = asks(&mails)[0].clone();
    let role_link = app.link_in(&ask, "/role/");
    let token = role_link.trim_start_matches("/role/");
    let before = app.snapshot().await;
    for (path, form) in [
        (format!("/rsvp/{token}"), vec![("response", "yes")]),
        (format!("/swap/{token}"), vec![("action", "take")]),
        (format!("/unsubscribe/{token}"), vec![]),
        (
            format!("/handoff/{token}"),
            vec![("stopped_at", "x"), ("visibility", "circle")],
        ),
    ] {
        let res = app.browser(Method::POST, &path, Some(&form)).await;
        assert!(
            (400..500).contains(&res.status.as_u16()),
            "{path}: {} {}",
            res.status,
            res.text()
        );
    }
    let res = app
        .browser(Method::POST, &role_link, Some(&[("action", "maybe")]))
        .await;
    assert_eq!(
        res.status,
        422,
        "an unknown action is refused: {}",
        res.text()
    );
    let res = app.browser(Method::GET, "/role/not-a-token", None).await;
    assert!((400..500).contains(&res.status.as_u16()));
    assert_eq!(before, app.snapshot().await, "nothing changed");
    let _ = (circle, sessions);
}

#[tokio::test]
async fn two_people_take_one_swap_at_once_and_exactly_one_wins() {
    let app = spawn_app().await;
    let (circle, names, _) = rotating_circle(&app, 2).await;
    app.run_pending_jobs().await;
    let ask = ask_for(&app, &circle, &names, 0).await;
    let role_link = app.link_in(&ask, "/role/");
    app.browser(Method::POST, &role_link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    let page = app
        .browser(Method::POST, &role_link, Some(&[("action", "swap")]))
        .await
        .expect(200);
    assert!(
        page.as_str().unwrap().contains("Asked 3 people"),
        "{}",
        page.as_str().unwrap()
    );
    app.run_pending_jobs().await;
    let offers: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("Could you take over"))
        .collect();
    assert_eq!(offers.len(), 3, "offered to three people first");
    let a = app.link_in(&offers[0], "/swap/");
    let b = app.link_in(&offers[1], "/swap/");
    let (ra, rb) = tokio::join!(
        app.browser(Method::POST, &a, Some(&[("action", "take")])),
        app.browser(Method::POST, &b, Some(&[("action", "take")])),
    );
    let mut statuses = vec![ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{} / {}", ra.text(), rb.text());
    let loser = if ra.status.as_u16() == 409 { &ra } else { &rb };
    assert!(loser.text().contains("already took"), "{}", loser.text());
    let winner_mail = if ra.status.as_u16() == 200 {
        &offers[0]
    } else {
        &offers[1]
    };
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let first = &facilitators(&rota)[0];
    assert_eq!(first.1, "confirmed");
    assert!(
        winner_mail.to.contains(&format!("{}@", names[&first.0])),
        "the winner holds it"
    );
    // A third take after that: 409 and nothing changes.
    let before = app.snapshot().await;
    let c = app.link_in(&offers[2], "/swap/");
    let rc = app
        .browser(Method::POST, &c, Some(&[("action", "take")]))
        .await;
    assert_eq!(rc.status.as_u16(), 409);
    assert_eq!(before, app.snapshot().await);
    // The requester is told.
    app.run_pending_jobs().await;
    assert!(app
        .sent_emails()
        .iter()
        .any(|m| m.subject.starts_with("Swap taken") && m.to == ask.to));
}

#[tokio::test]
async fn the_member_whose_swap_was_taken_is_linked_to_their_role_page_not_the_dashboard() {
    let app = spawn_app().await;
    let (circle, names, _) = rotating_circle(&app, 2).await;
    app.run_pending_jobs().await;
    let ask = ask_for(&app, &circle, &names, 0).await;
    let role_link = app.link_in(&ask, "/role/");
    let offer = accept_then_offer_swap(&app, &role_link).await;
    let taker = offer.to.clone();
    take_swap(&app, &offer).await;
    let from = app.sent_emails().len();
    app.run_pending_jobs().await;
    let told: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .skip(from)
        .filter(|m| m.subject.starts_with("Swap taken"))
        .collect();
    // The member who asked, and the organiser (the circle has no facilitators): two notices.
    assert_eq!(
        told.len(),
        2,
        "{:?}",
        told.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    let mine = told
        .iter()
        .find(|m| m.to == ask.to)
        .expect("the member who asked is told");
    for part in [&mine.text, &mine.html] {
        assert!(!part.contains("/dashboard"), "{part}");
    }
    let page = app
        .browser(Method::GET, &app.link_in(mine, "/role/"), None)
        .await
        .expect(200);
    // Members added by address are named after it: bo@example.org is "bo".
    let taker_name = taker.rsplit('<').next().unwrap().split('@').next().unwrap();
    let page = page.as_str().unwrap();
    assert!(
        page.contains(&format!("{taker_name} took it over from you in a swap")),
        "{page}"
    );
    assert!(!page.contains("value=\"accept\"") && !page.contains("value=\"swap\""));
    // The organiser runs the circle and keeps the rota on the dashboard.
    let theirs = told.iter().find(|m| m.to != ask.to).unwrap();
    assert!(theirs.to.contains("organiser@example.org"), "{}", theirs.to);
    assert!(
        theirs
            .text
            .contains(&format!("/dashboard/circles/{circle}/rota")),
        "{}",
        theirs.text
    );
    assert!(app.dashboard_links_to_members(0).await.is_empty());
}

#[tokio::test]
async fn roles_and_preferences_refuse_bad_input_and_change_nothing() {
    let app = spawn_app().await;
    let (circle, names, sessions) = rotating_circle(&app, 2).await;
    let other = app
        .create_circle(json!({ "name": "Other", "timezone": "UTC" }))
        .await;
    let stranger = app
        .add_member(other["id"].as_str().unwrap(), "zed@example.org")
        .await
        .expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = names.keys().next().unwrap().clone();
    let sid = sessions[3]["id"].as_str().unwrap();
    let before = app.snapshot().await;
    let cases: Vec<(Method, String, Value, u16)> = vec![
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({"name": "Notes", "slots": 0}),
            422,
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({"name": ""}),
            422,
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({"name": "X", "key": "Bad Key"}),
            422,
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({"name": "X", "min_attended": -1}),
            422,
        ),
        (
            Method::POST,
            format!("/api/v1/circles/{circle}/roles"),
            json!({"name": "Facilitator"}),
            409,
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/roles/nope"),
            json!({"name": "X"}),
            404,
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/roles/facilitator"),
            json!({"slots": 2}),
            422,
        ),
        (
            Method::DELETE,
            format!("/api/v1/circles/{circle}/roles/facilitator"),
            Value::Null,
            409,
        ),
        (
            Method::PUT,
            format!("/api/v1/sessions/{sid}/roles/nope"),
            json!({"member_id": member}),
            404,
        ),
        (
            Method::PUT,
            format!("/api/v1/sessions/{sid}/roles/facilitator"),
            json!({"member_id": stranger}),
            422,
        ),
        (
            Method::PUT,
            format!("/api/v1/sessions/{sid}/roles/facilitator"),
            json!({"member_id": member, "slot": 2}),
            422,
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/members/{member}"),
            json!({"rotation": {"weight": -50}}),
            422,
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/members/{member}"),
            json!({"rotation": {"opted_out_roles": ["nope"]}}),
            422,
        ),
        (
            Method::PATCH,
            format!("/api/v1/circles/{circle}/members/{member}"),
            json!({"rotation": {"paused_until": "soon"}}),
            400,
        ),
        (
            Method::GET,
            format!("/api/v1/circles/{circle}/rota?limit=0"),
            Value::Null,
            422,
        ),
    ];
    for (method, path, body, status) in cases {
        let body = (!body.is_null()).then_some(body);
        let res = app
            .request_as(Some(&app.token), method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(
            res.status.as_u16(),
            status,
            "{method} {path}: {:?}",
            res.body
        );
    }
    assert_eq!(
        before,
        app.snapshot().await,
        "no bad input changed anything"
    );
}

#[tokio::test]
async fn preferences_micro_roles_and_direct_assignment_shape_the_rota() {
    let app = spawn_app().await;
    let (circle, names, sessions) = rotating_circle(&app, 20).await;
    let by_name: HashMap<&str, &str> = names
        .iter()
        .map(|(id, n)| (n.as_str(), id.as_str()))
        .collect();
    // Ada opts out of facilitating, Bo pauses past the whole horizon: neither is proposed.
    app.patch(
        &format!("/api/v1/circles/{circle}/members/{}", by_name["ada"]),
        &json!({"rotation": {"opted_out_roles": ["facilitator"]}}),
    )
    .await
    .expect(200);
    let pause = (Utc::now() + Duration::days(200)).date_naive().to_string();
    let res = app
        .patch(
            &format!("/api/v1/circles/{circle}/members/{}", by_name["bo"]),
            &json!({"rotation": {"paused_until": pause, "weight": 50}}),
        )
        .await
        .expect(200);
    assert_eq!(res["rotation"]["weight"], 50);
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let holders: Vec<String> = facilitators(&rota).into_iter().map(|f| f.0).collect();
    assert!(!holders.contains(&by_name["ada"].to_string()));
    assert!(!holders.contains(&by_name["bo"].to_string()));
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for h in &holders {
        *counts.entry(h).or_default() += 1;
    }
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|n| *n == 3), "12 over 4: {counts:?}");

    // A micro-role with two slots: nobody holds two roles in one session.
    let role = app
        .post(
            &format!("/api/v1/circles/{circle}/roles"),
            &json!({"name": "Note-taker", "guide": "Keep notes.", "slots": 2, "min_attended": 0}),
        )
        .await
        .expect(201);
    assert_eq!(role["key"], "note_taker");
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    for s in rota["items"].as_array().unwrap() {
        let held: Vec<&str> = s["roles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["member_id"].as_str())
            .collect();
        assert_eq!(s["roles"].as_array().unwrap().len(), 3);
        let mut unique = held.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            held.len(),
            "one role per person per session: {s}"
        );
    }

    // An organiser assigns Ada directly: confirmed, and she is told.
    let sid = sessions[5]["id"].as_str().unwrap();
    let slot = app
        .put(
            &format!("/api/v1/sessions/{sid}/roles/facilitator"),
            &json!({"member_id": by_name["ada"]}),
        )
        .await
        .expect(200);
    assert_eq!(slot["state"], "confirmed");
    let session = app
        .get(&format!("/api/v1/sessions/{sid}"))
        .await
        .expect(200);
    assert_eq!(session["facilitator_id"], by_name["ada"]);
    app.run_pending_jobs().await;
    assert!(app
        .sent_emails()
        .iter()
        .any(|m| m.to.contains("ada@") && m.subject.starts_with("You're facilitating")));
    // Removing the micro-role clears its slots.
    app.delete(&format!("/api/v1/circles/{circle}/roles/note_taker"))
        .await
        .expect(204);
    let roles = app
        .get(&format!("/api/v1/circles/{circle}/roles"))
        .await
        .expect(200);
    assert_eq!(roles["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unanswered_asks_count_as_declines_and_organisers_hear_of_open_roles() {
    let app = spawn_app().await;
    // Five days ahead: asked now, and three days later still before the session.
    let (circle, _, _) = rotating_circle(&app, 5).await;
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let first = facilitators(&rota)[0].clone();
    assert_eq!(first.1, "asked");
    let mut conn = app.conn().await;
    // Four days on (past the 72 hours and the end of that day), nobody answered: a decline
    // for planning, and someone else is asked.
    let later = Utc::now() + Duration::hours(97);
    let swept = roundtable::actions::rota::sweep(&mut conn, later)
        .await
        .unwrap();
    assert!(swept.timed_out >= 1, "{swept:?}");
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let now_first = facilitators(&rota)[0].clone();
    assert_ne!(now_first.0, first.0);
    app.run_pending_jobs().await;
    assert!(
        app.sent_emails()
            .iter()
            .any(|m| m.subject.starts_with("No answer:")),
        "organisers are told: {:?}",
        app.sent_emails()
            .iter()
            .map(|m| m.subject.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_handoff_reaches_the_next_lead_in_their_ask() {
    let app = spawn_app().await;
    let (circle, names, sessions) = rotating_circle(&app, 2).await;
    app.run_pending_jobs().await;
    let ask = ask_for(&app, &circle, &names, 0).await;
    let link = app.link_in(&ask, "/role/");
    app.browser(Method::POST, &link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    // The first session happens (moved into the past), and its lead writes a handoff.
    let first = sessions[0]["id"].as_str().unwrap();
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(first).unwrap()),
        &mut conn,
    )
    .await
    .unwrap();
    let lead = app
        .get(&format!("/api/v1/sessions/{first}"))
        .await
        .expect(200)["facilitator_id"]
        .as_str()
        .unwrap()
        .to_string();
    let holder = app.holder(&format!("{}@example.org", names[&lead])).await;
    let handoff = app.path_of(&app.links().handoff(
        holder,
        uuid::Uuid::parse_str(first).unwrap(),
        Utc::now(),
    ));
    let before = app.snapshot().await;
    app.browser(Method::GET, &handoff, None).await.expect(200);
    assert_eq!(before, app.snapshot().await);
    let res = app
        .browser(Method::POST, &handoff, Some(&[("visibility", "next_lead")]))
        .await;
    assert_eq!(res.status.as_u16(), 422, "an empty note is refused");
    app.browser(
        Method::POST,
        &handoff,
        Some(&[
            ("stopped_at", "Chapter 4, the gift economy"),
            ("visibility", "next_lead"),
        ]),
    )
    .await
    .expect(200);
    // Whoever holds the next session's facilitator role is told, and their page shows it.
    app.run_pending_jobs().await;
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let next_lead = facilitators(&rota)[0].0.clone();
    assert_ne!(next_lead, lead);
    let next_email = format!("{}@example.org", names[&next_lead]);
    let note = app
        .sent_emails()
        .into_iter()
        .find(|m| m.to.contains(&next_email) && m.subject.starts_with("A handoff"))
        .unwrap_or_else(|| {
            panic!(
                "the next lead ({next_email}) is sent the note: {:?}",
                app.sent_emails()
                    .iter()
                    .map(|m| (m.to.clone(), m.subject.clone()))
                    .collect::<Vec<_>>()
            )
        });
    assert!(
        note.text.contains("Chapter 4, the gift economy"),
        "{}",
        note.text
    );
    let page = app
        .browser(Method::GET, &app.link_in(&note, "/role/"), None)
        .await
        .expect(200);
    assert!(page
        .as_str()
        .unwrap()
        .contains("Chapter 4, the gift economy"));
    // Nobody else was sent it (visibility: the next lead only).
    let others = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("A handoff") && !m.to.contains(&next_email))
        .count();
    assert_eq!(others, 0);

    // The next lead hands the turn on; whoever takes it over is told it is theirs, reads the
    // note there, and has a way on to their page.
    let offer = accept_then_offer_swap(&app, &app.link_in(&note, "/role/")).await;
    let taken = take_swap(&app, &offer).await;
    let html = taken.as_str().unwrap();
    assert!(html.contains("<h1>You're the facilitator on "), "{html}");
    assert!(!html.contains("Take over as"), "not the question again");
    assert!(html.contains("Chapter 4, the gift economy"), "{html}");
    assert!(html.contains("Go to your page"));
}

#[tokio::test]
async fn the_dashboard_rota_shows_holders_why_and_the_ledger() {
    let app = spawn_app().await;
    let (circle, names, _) = rotating_circle(&app, 2).await;
    app.member_with_token("org@example.org", true).await;
    let dash = app.dashboard_as("org@example.org").await;
    // A session's page names every holder with where they stand, one not answering included.
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let first_session = rota["items"][0]["session_id"].as_str().unwrap().to_string();
    let (asked, state, _) = facilitators(&rota)[0].clone();
    assert_eq!(state, "asked");
    // Home lists what needs attention: the two asks inside the window are not answered yet.
    let home = dash.get("/dashboard").await.expect(200);
    let home = home.as_str().unwrap();
    assert!(
        home.contains("Turns: 2 asks to take a role not answered yet"),
        "{home}"
    );
    let page = dash
        .get(&format!("/dashboard/sessions/{first_session}"))
        .await
        .expect(200);
    let html = page.as_str().unwrap();
    assert!(
        html.contains(&format!(
            "<dt>Facilitator</dt><dd>{} <span class=\"muted\">· asked, no answer yet</span></dd>",
            names[&asked]
        )),
        "{html}"
    );
    let page = dash
        .get(&format!("/dashboard/circles/{circle}/rota"))
        .await
        .expect(200);
    let html = page.as_str().unwrap();
    assert!(html.contains("asked, no answer yet"), "{html}");
    assert!(
        html.contains("led yet") || html.contains("hasn't"),
        "the why is shown"
    );
    assert!(html.contains("Balance"));
    let before = app.snapshot().await;
    dash.get(&format!("/dashboard/circles/{circle}/export/ledger.csv"))
        .await
        .expect(200);
    assert_eq!(before, app.snapshot().await);
    // Reassign from the grid: confirmed, and a bad choice changes nothing.
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let session = rota["items"][4]["session_id"].as_str().unwrap().to_string();
    let someone = facilitators(&rota)[0].0.clone();
    // The grid links each slot's own page, which says who holds it and what Assign sends.
    assert!(html.contains(&format!(
        "/dashboard/sessions/{session}/roles/facilitator?slot=1"
    )));
    let before = app.snapshot().await;
    let change = dash
        .get(&format!(
            "/dashboard/sessions/{session}/roles/facilitator?slot=1"
        ))
        .await
        .expect(200);
    let change = change.as_str().unwrap();
    assert!(change.contains("Facilitator on "), "{change}");
    assert!(change.contains("gets one email saying so"), "{change}");
    dash.get(&format!(
        "/dashboard/sessions/{session}/roles/facilitator?slot=9"
    ))
    .await
    .expect(422);
    assert_eq!(before, app.snapshot().await, "looking changes nothing");
    let res = dash
        .post(
            &format!("/dashboard/sessions/{session}/roles/facilitator"),
            &[("member_id", "not-an-id"), ("slot", "1")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(before, app.snapshot().await);
    let res = dash
        .post(
            &format!("/dashboard/sessions/{session}/roles/facilitator"),
            &[("member_id", someone.as_str()), ("slot", "1")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    // Back to the session's row, the person named in the notice.
    let to = res.headers["location"].to_str().unwrap().to_string();
    assert!(to.ends_with(&format!("#s-{session}")), "{to}");
    assert!(
        to.contains(&format!(
            "{}%20is%20the%20facilitator%20on",
            names[&someone]
        )),
        "{to}"
    );
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let fifth = &facilitators(&rota)[4];
    assert_eq!(
        (fifth.0.as_str(), fifth.1.as_str()),
        (someone.as_str(), "confirmed")
    );
    let page = dash
        .get(&format!("/dashboard/circles/{circle}/rota"))
        .await
        .expect(200);
    assert!(page.as_str().unwrap().contains("Sessions led"));
    // Adding the suggested roles asks first: which roles (as many as leave a third of the six
    // free), and whom Roundtable would email at once; nothing changes until it is confirmed.
    let before = app.snapshot().await;
    let res = dash
        .post(&format!("/dashboard/circles/{circle}/roles/suggested"), &[])
        .await
        .expect(200);
    let ask = res.as_str().unwrap();
    assert!(
        ask.contains("Add Discussion lead, Timekeeper and Note-taker?"),
        "{ask}"
    );
    assert!(ask.contains("With 6 people taking part"), "{ask}");
    assert!(
        ask.contains("by email now") || ask.contains("Nobody is emailed now"),
        "{ask}"
    );
    assert_eq!(before, app.snapshot().await, "the question changes nothing");
    let res = dash
        .post(
            &format!("/dashboard/circles/{circle}/roles/suggested"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let roles = app
        .get(&format!("/api/v1/circles/{circle}/roles"))
        .await
        .expect(200);
    let items = roles["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "facilitator and three suggested");
    assert!(
        items
            .iter()
            .all(|r| r["key"] == "facilitator" || r["min_attended"] == 1),
        "suggested roles wait until someone came once: {roles}"
    );
    // Asked again, there is no room left: nothing is added.
    let res = dash
        .post(
            &format!("/dashboard/circles/{circle}/roles/suggested"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let to = res.headers["location"].to_str().unwrap();
    assert!(
        to.contains("No%20roles%20added") || to.contains("No+roles+added"),
        "{to}"
    );
}

#[tokio::test]
async fn a_no_answer_replans_a_rotating_circle_and_queues_nothing_for_a_fixed_one() {
    let app = spawn_app().await;
    let (rotating, names, sessions) = rotating_circle(&app, 20).await;
    app.run_pending_jobs().await;
    let fixed = app
        .create_circle(json!({ "name": "Fixed", "timezone": "UTC" }))
        .await;
    let fixed_id = fixed["id"].as_str().unwrap();
    let grace = app
        .add_member(fixed_id, "grace@example.org")
        .await
        .expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let fixed_sessions = app
        .schedule(
            fixed_id,
            json!({ "freq": "weekly", "first_date": (Utc::now() + Duration::days(20)).date_naive().to_string(),
                    "local_time": "19:00", "duration_minutes": 60, "count": 1 }),
        )
        .await;
    app.run_pending_jobs().await;
    let queued = |jobs: Vec<Value>| jobs.iter().filter(|j| j["kind"] == "rota_plan").count();

    let fid = fixed_sessions[0]["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/sessions/{fid}/rsvps/{grace}"),
        &json!({"response": "no"}),
    )
    .await
    .expect(200);
    assert_eq!(
        queued(app.jobs_in_state("queued").await),
        0,
        "a fixed circle is not re-planned"
    );

    // In the rotating circle, the proposed facilitator of a session says no: re-planned.
    let rota = app
        .get(&format!("/api/v1/circles/{rotating}/rota"))
        .await
        .expect(200);
    let (holder, _, _) = facilitators(&rota)[0].clone();
    let sid = sessions[0]["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/sessions/{sid}/rsvps/{holder}"),
        &json!({"response": "no"}),
    )
    .await
    .expect(200);
    assert_eq!(queued(app.jobs_in_state("queued").await), 1);
    app.run_pending_jobs().await;
    let rota = app
        .get(&format!("/api/v1/circles/{rotating}/rota"))
        .await
        .expect(200);
    let now_holder = &facilitators(&rota)[0].0;
    assert_ne!(
        now_holder, &holder,
        "someone who will not come is not proposed"
    );
    assert!(names.contains_key(now_holder));
}

#[tokio::test]
async fn a_member_sees_their_roles_and_sets_their_turns_from_their_page() {
    let app = spawn_app().await;
    let (circle, names, _) = rotating_circle(&app, 2).await;
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let (holder_id, _, why) = facilitators(&rota)[0].clone();
    let email = format!("{}@example.org", names[&holder_id]);
    let holder = app.holder(&email).await;
    let me = app.path_of(&app.links().me(holder, Utc::now()));
    let before = app.snapshot().await;
    let page = app.browser(Method::GET, &me, None).await.expect(200);
    let html = page.as_str().unwrap();
    assert!(html.contains("Your roles"));
    assert!(html.contains("waiting for your answer"), "{html}");
    // Addressed to them: "You haven't led yet …".
    let read =
        roundtable::domain::rota::why_for_holder(&why, &names[&holder_id]).replace('\'', "&#39;");
    assert!(read.starts_with("You "), "{read}");
    assert!(html.contains(&read), "the why is shown: {read} in {html}");
    assert!(html.contains("/role/"), "with the link to answer");
    assert!(html.contains("Taking turns in Turns"));
    assert_eq!(before, app.snapshot().await, "the page changes nothing");

    // Half as often, and not before a date: saved, and the holder is released from nothing
    // they accepted (the asked slot stays theirs until they answer).
    let pause = (Utc::now() + Duration::days(30)).date_naive().to_string();
    let res = app
        .browser(
            Method::POST,
            &format!("{me}/rotation"),
            Some(&[
                ("circle_id", circle.as_str()),
                ("opted_in", "on"),
                ("half", "on"),
                ("paused_until", pause.as_str()),
            ]),
        )
        .await;
    // The redirect back to the page is followed: it says what was saved.
    assert_eq!(res.status.as_u16(), 200);
    assert!(res
        .text()
        .contains("Your preferences for taking turns are saved."));
    let prefs = app
        .patch(
            &format!("/api/v1/circles/{circle}/members/{holder_id}"),
            &json!({"rotation": {}}),
        )
        .await
        .expect(200);
    assert_eq!(prefs["rotation"]["weight"], 50);
    assert_eq!(prefs["rotation"]["paused_until"], pause.as_str());
    assert_eq!(
        prefs["rotation"]["opted_out_roles"],
        json!(["facilitator"]),
        "the facilitator box was left unticked"
    );

    // Bad input: an unreadable date or a circle they are not in changes nothing.
    let other = app
        .create_circle(json!({ "name": "Elsewhere", "timezone": "UTC" }))
        .await;
    let before = app.snapshot().await;
    let res = app
        .browser(
            Method::POST,
            &format!("{me}/rotation"),
            Some(&[("circle_id", circle.as_str()), ("paused_until", "soon")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422);
    let res = app
        .browser(
            Method::POST,
            &format!("{me}/rotation"),
            Some(&[("circle_id", other["id"].as_str().unwrap())]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 404);
    assert_eq!(before, app.snapshot().await);
}

#[tokio::test]
async fn a_swap_nobody_takes_widens_to_three_more_a_day_later_and_a_move_voids_it() {
    let app = spawn_app().await;
    let (circle, names, sessions) = rotating_circle(&app, 5).await;
    app.run_pending_jobs().await;
    let ask = ask_for(&app, &circle, &names, 0).await;
    let link = app.link_in(&ask, "/role/");
    app.browser(Method::POST, &link, Some(&[("action", "swap")]))
        .await
        .expect(200);
    let offers = |app: &TestApp| {
        app.sent_emails()
            .into_iter()
            .filter(|m| m.subject.starts_with("Could you take over"))
            .collect::<Vec<_>>()
    };
    app.run_pending_jobs().await;
    assert_eq!(offers(&app).len(), 3);
    let mut conn = app.conn().await;
    // Within the day: nobody new. A day later: the rest (two are left of the other five).
    let soon = Utc::now() + Duration::hours(2);
    assert_eq!(
        roundtable::actions::swaps::widen_stale(&mut conn, soon)
            .await
            .unwrap(),
        0
    );
    let later = Utc::now() + Duration::hours(25);
    assert_eq!(
        roundtable::actions::swaps::widen_stale(&mut conn, later)
            .await
            .unwrap(),
        2
    );
    app.run_pending_jobs().await;
    let all = offers(&app);
    assert_eq!(all.len(), 5, "everyone but the requester, each once");
    let mut to: Vec<&String> = all.iter().map(|m| &m.to).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 5, "nobody is offered it twice");
    assert!(!to.contains(&&ask.to), "never the requester");

    // The session moves: the swap is void, and taking it is refused with nothing changed.
    let sid = sessions[0]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({"local_time": "20:00"}),
    )
    .await
    .expect(200);
    let before = app.snapshot().await;
    let take = app.link_in(&all[0], "/swap/");
    let res = app
        .browser(Method::POST, &take, Some(&[("action", "take")]))
        .await;
    assert_eq!(res.status.as_u16(), 409);
    assert!(
        res.text().contains("no longer applies") || res.text().contains("closed"),
        "{}",
        res.text()
    );
    assert_eq!(before, app.snapshot().await);
}

#[tokio::test]
async fn members_read_the_rota_ledger_and_shared_notes_on_their_circle_page() {
    let app = spawn_app().await;
    let (circle, names, sessions) = rotating_circle(&app, 2).await;
    let (member_id, name) = names.iter().next().unwrap();
    let mut conn = app.conn().await;
    let first = roundtable::domain::SessionId(
        uuid::Uuid::parse_str(sessions[0]["id"].as_str().unwrap()).unwrap(),
    );
    let author = roundtable::domain::MemberId(uuid::Uuid::parse_str(member_id).unwrap());
    let circle_id = roundtable::domain::CircleId(uuid::Uuid::parse_str(&circle).unwrap());
    let text = |t: &str| roundtable::db::handoffs::HandoffText {
        stopped_at: t.into(),
        ..Default::default()
    };
    roundtable::db::handoffs::save(
        &mut conn,
        circle_id,
        first,
        author,
        &text("Shared: chapter 2"),
        roundtable::domain::HandoffVisibility::Circle,
    )
    .await
    .unwrap();
    roundtable::db::handoffs::save(
        &mut conn,
        circle_id,
        roundtable::domain::SessionId(
            uuid::Uuid::parse_str(sessions[1]["id"].as_str().unwrap()).unwrap(),
        ),
        author,
        &text("Private: for the next lead"),
        roundtable::domain::HandoffVisibility::NextLead,
    )
    .await
    .unwrap();
    let holder = app.holder(&format!("{name}@example.org")).await;
    let me = app.path_of(&app.links().me(holder, Utc::now()));
    let page = app
        .browser(Method::GET, &format!("{me}/circles/{circle}"), None)
        .await
        .expect(200);
    let html = page.as_str().unwrap();
    assert!(html.contains("Who leads"));
    assert!(html.contains("Facilitator: "), "{html}");
    assert!(html.contains("not confirmed yet"));
    assert!(html.contains("Who has held what"));
    assert!(
        html.contains("Shared: chapter 2"),
        "a note shared with the circle"
    );
    assert!(
        !html.contains("Private: for the next lead"),
        "a note for the next lead only"
    );
}

#[tokio::test]
async fn organisers_add_edit_and_remove_roles_from_the_dashboard() {
    let app = spawn_app().await;
    let (circle, _, _) = rotating_circle(&app, 20).await;
    app.member_with_token("org@example.org", true).await;
    let dash = app.dashboard_as("org@example.org").await;
    let base = format!("/dashboard/circles/{circle}/roles");
    let before = app.snapshot().await;
    let res = dash
        .post(&base, &[("name", "Scribe"), ("slots", "0")])
        .await;
    assert_eq!(res.status.as_u16(), 422, "slots 0 is refused");
    let res = dash
        .post(&base, &[("name", "Scribe"), ("slots", "two")])
        .await;
    assert_eq!(res.status.as_u16(), 422, "a word is not a number");
    assert_eq!(before, app.snapshot().await);
    let res = dash
        .post(
            &base,
            &[
                ("name", "Scribe"),
                ("guide", "Write it down."),
                ("slots", "1"),
                ("rotates", "on"),
            ],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let res = dash
        .post(
            &format!("{base}/scribe/edit"),
            &[
                ("name", "Scribe"),
                ("guide", "Notes, shared after."),
                ("slots", "2"),
                ("min_attended", "1"),
            ],
        )
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let roles = app
        .get(&format!("/api/v1/circles/{circle}/roles"))
        .await
        .expect(200);
    let scribe = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "scribe")
        .unwrap()
        .clone();
    assert_eq!(
        (
            scribe["slots"].as_i64(),
            scribe["rotates"].as_bool(),
            scribe["min_attended"].as_i64()
        ),
        (Some(2), Some(false), Some(1))
    );
    // Removing asks first; the page alone changes nothing.
    let before = app.snapshot().await;
    let page = dash.post(&format!("{base}/scribe/remove"), &[]).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text().contains("Remove the role Scribe?"));
    assert_eq!(before, app.snapshot().await);
    let res = dash
        .post(&format!("{base}/scribe/remove"), &[("confirm", "yes")])
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let roles = app
        .get(&format!("/api/v1/circles/{circle}/roles"))
        .await
        .expect(200);
    assert_eq!(roles["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_rota_sweep_keeps_itself_scheduled() {
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    roundtable::jobs::clock::schedule(&mut conn, Utc::now())
        .await
        .unwrap();
    // A second worker starting in the same slot queues nothing more.
    roundtable::jobs::clock::schedule(&mut conn, Utc::now())
        .await
        .unwrap();
    let sweeps = |jobs: Vec<Value>| {
        jobs.into_iter()
            .filter(|j| j["kind"] == "rota_sweep")
            .collect::<Vec<_>>()
    };
    assert_eq!(sweeps(app.jobs_in_state("queued").await).len(), 1);
    app.run_pending_jobs().await;
    assert_eq!(sweeps(app.jobs_in_state("done").await).len(), 1, "it ran");
    let next = sweeps(app.jobs_in_state("queued").await);
    assert_eq!(
        next.len(),
        1,
        "and queued the next one while it was running"
    );
    let at: chrono::DateTime<Utc> = next[0]["run_at"].as_str().unwrap().parse().unwrap();
    assert!(
        at > Utc::now() + Duration::minutes(4),
        "about five minutes on: {at}"
    );
}

#[tokio::test]
async fn asking_for_a_swap_again_offers_it_to_nobody_new() {
    let app = spawn_app().await;
    let (circle, names, _) = rotating_circle(&app, 2).await;
    app.run_pending_jobs().await;
    let ask = ask_for(&app, &circle, &names, 0).await;
    let role_link = app.link_in(&ask, "/role/");
    app.browser(Method::POST, &role_link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    let sent = app.sent_emails().len();
    for press in 0..3 {
        let page = app
            .browser(Method::POST, &role_link, Some(&[("action", "swap")]))
            .await;
        assert_eq!(page.status.as_u16(), 200);
        if press > 0 {
            assert!(
                page.text()
                    .contains("Your swap is already open: 3 people have been asked"),
                "{}",
                page.text()
            );
        }
    }
    app.run_pending_jobs().await;
    let offers: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .skip(sent)
        .filter(|m| m.subject.starts_with("Could you take over"))
        .collect();
    assert_eq!(
        offers.len(),
        3,
        "three presses still offer it to the first three"
    );
    let mut to: Vec<&str> = offers.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 3, "to three different people");
}

/// Every calendar entry sent so far, as its recipient holds it: (to, unfolded body).
fn calendar_entries(mails: &[SentEmail]) -> Vec<(String, String)> {
    mails
        .iter()
        .filter_map(|m| {
            let (_, body) = m.calendar.as_ref()?;
            Some((m.to.clone(), body.replace("\r\n ", "")))
        })
        .collect()
}

fn description(entry: &str) -> &str {
    entry
        .lines()
        .find(|l| l.starts_with("DESCRIPTION"))
        .unwrap_or_else(|| panic!("no DESCRIPTION in:\n{entry}"))
}

#[tokio::test]
async fn after_a_swap_is_taken_no_calendar_entry_names_the_previous_holder() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({
            "name": "Turns", "timezone": "Europe/London", "facilitation": "rotating"
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/circles/{id}/roles"),
        &json!({ "name": "Note-taker" }),
    )
    .await
    .expect(201);
    app.anyone_may_take_roles(&id).await;
    // Full names with a space, which no link token can hold: a name found is a name written.
    let people = [
        ("ada", "Ada Lovelace"),
        ("bo", "Bo Diddley"),
        ("cy", "Cy Twombly"),
        ("di", "Di Fortune"),
        ("ed", "Ed Ruscha"),
        ("flo", "Flo Kennedy"),
    ];
    // member id → short name, and short name → full name.
    let mut short = HashMap::new();
    let mut full = HashMap::new();
    for (name, display) in people {
        let m = app
            .post(
                &format!("/api/v1/circles/{id}/members"),
                &json!({ "email": format!("{name}@example.org"), "display_name": display }),
            )
            .await
            .expect(201);
        short.insert(
            m["member_id"].as_str().unwrap().to_string(),
            name.to_string(),
        );
        full.insert(name.to_string(), display.to_string());
    }
    let first = (Utc::now() + Duration::days(2)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 6 }),
        )
        .await;
    let sid = sessions[0]["id"].as_str().unwrap().to_string();
    app.run_pending_jobs().await;

    // The first session's facilitator accepts, and someone else is made its note-taker.
    let rota = app
        .get(&format!("/api/v1/circles/{id}/rota"))
        .await
        .expect(200);
    let previous = short[&facilitators(&rota)[0].0].clone();
    let previous_name = full[&previous].clone();
    let ask = ask_for(&app, &id, &short, 0).await;
    let role_link = app.link_in(&ask, "/role/");
    app.browser(Method::POST, &role_link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    let (noter_id, noter) = short
        .iter()
        .find(|(_, name)| **name != previous)
        .map(|(m, name)| (m.clone(), name.clone()))
        .unwrap();
    app.put(
        &format!("/api/v1/sessions/{sid}/roles/note_taker"),
        &json!({ "member_id": noter_id }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;

    // The session moves room: an update with its calendar entry to each of the six invited,
    // while the previous holder still holds the role.
    let sent = app.sent_emails().len();
    app.patch(
        &format!("/api/v1/sessions/{sid}"),
        &json!({ "location": "Room 9" }),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let updates = app.sent_emails()[sent..].to_vec();
    assert_eq!(updates.len(), 6, "one update per member");
    assert!(updates
        .iter()
        .all(|m| m.subject.starts_with("Changed") && m.calendar.is_some()));

    // The previous holder asks for a swap and the first person offered it (not the
    // note-taker, who already holds a role that evening) takes it.
    app.browser(Method::POST, &role_link, Some(&[("action", "swap")]))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    let offers: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("Could you take over"))
        .collect();
    assert_eq!(offers.len(), 3, "offered to three people first");
    let offer = offers
        .iter()
        .find(|m| !m.to.contains(&format!("{noter}@")))
        .unwrap();
    let taker = short
        .values()
        .find(|name| offer.to.contains(&format!("{name}@")))
        .unwrap()
        .clone();
    let sent = app.sent_emails().len();
    app.browser(
        Method::POST,
        &app.link_in(offer, "/swap/"),
        Some(&[("action", "take")]),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;

    // Three emails and no calendar: the taker's confirmation, and "swap taken" to the previous
    // holder and to the organiser (the circle has no facilitators). The circle is not emailed.
    let told = app.sent_emails()[sent..].to_vec();
    let subjects: Vec<(&str, &str)> = told
        .iter()
        .map(|m| (m.to.as_str(), m.subject.as_str()))
        .collect();
    assert_eq!(told.len(), 3, "{subjects:?}");
    assert!(told.iter().all(|m| m.calendar.is_none()), "{subjects:?}");
    assert!(told
        .iter()
        .any(|m| m.to.contains(&format!("{previous}@")) && m.subject.starts_with("Swap taken")));

    // Twelve entries were sent (six invitations, six updates). None describes who holds what,
    // and only the previous holder's own entries (as their ATTENDEE) name them.
    let entries = calendar_entries(&app.sent_emails());
    assert_eq!(entries.len(), 12);
    for (to, entry) in &entries {
        let said = description(entry);
        for name in full.values() {
            assert!(
                !said.contains(name.as_str()),
                "{to}'s entry names {name}: {said}"
            );
        }
        assert!(
            !said.contains("Facilitating") && !said.contains("Note-taker"),
            "{said}"
        );
        if !to.contains(&format!("{previous}@")) {
            assert!(
                !entry.contains(&previous_name),
                "{to} holds an entry naming {previous_name}:\n{entry}"
            );
        }
    }
    // Nor does anyone's subscribed calendar.
    for name in short.values().filter(|n| **n != previous) {
        let holder = app.holder(&format!("{name}@example.org")).await;
        let feed_url = app.path_of(&app.links().calendar(holder));
        let feed = app.browser(Method::GET, &feed_url, None).await;
        assert_eq!(feed.status.as_u16(), 200);
        assert!(!feed.text().contains(&previous_name), "{}", feed.text());
    }

    // The entry points to the session's page, which names who holds each role now.
    let (_, entry) = entries
        .iter()
        .rev()
        .find(|(to, _)| to.contains(&format!("{noter}@")))
        .unwrap();
    let said = description(entry);
    assert!(
        said.contains("Who leads\\, who holds each role\\, and your answer: http"),
        "{said}"
    );
    let url: String = said[said.find("http").unwrap()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '\\')
        .collect();
    let page = app
        .browser(Method::GET, &app.path_of(&url), None)
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    assert!(
        page.contains(&format!("<dt>Facilitating</dt><dd>{}</dd>", full[&taker])),
        "{page}"
    );
    assert!(
        page.contains(&format!("<dt>Note-taker</dt><dd>{}</dd>", full[&noter])),
        "{page}"
    );
    assert!(!page.contains(&previous_name), "{page}");
}

#[tokio::test]
async fn two_turns_asked_at_once_come_in_one_letter_with_an_answer_for_each() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({
            "name": "Solo", "timezone": "Europe/London", "facilitation": "rotating"
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.anyone_may_take_roles(&id).await;
    app.add_member(&id, "ada@example.org").await.expect(201);
    let first = (Utc::now() + Duration::days(2)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 2 }),
        )
        .await;
    assert_eq!(sessions.len(), 2);

    // Both sessions are inside the asking window, and Ada is the only one to ask.
    app.run_pending_jobs().await;
    // However the two asks were ordered, the later one now finds itself carried.
    diesel::sql_query(
        "UPDATE jobs SET run_at = now() WHERE state = 'queued' \
         AND dedupe_key LIKE 'email:role_ask:%'",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let asks: Vec<SentEmail> = app
        .sent_emails()
        .into_iter()
        .filter(|m| m.subject.starts_with("Would you"))
        .collect();
    assert_eq!(
        asks.len(),
        1,
        "{:?}",
        asks.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let ask = &asks[0];
    assert!(
        ask.subject.contains(", and facilitate "),
        "the subject names both turns: {}",
        ask.subject
    );
    assert!(
        ask.text.contains("Also: would you facilitate"),
        "{}",
        ask.text
    );

    // Each turn has its own answer: the second link answers the second session.
    let base = app.settings.public_base().to_string();
    let links: Vec<String> = ask
        .text
        .split_whitespace()
        .filter(|w| w.starts_with(&format!("{base}/role/")))
        .map(|w| w[base.len()..].to_string())
        .collect();
    assert_eq!(links.len(), 2, "{}", ask.text);
    assert_ne!(links[0], links[1]);
    for link in &links {
        let page = app.browser(Method::GET, link, None).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(page.text().contains("Accept"), "{}", page.text());
    }
    app.browser(Method::POST, &links[1], Some(&[("action", "accept")]))
        .await
        .expect(200);
    let rota = app
        .get(&format!("/api/v1/circles/{id}/rota?limit=2"))
        .await
        .expect(200);
    let states: Vec<String> = facilitators(&rota)
        .into_iter()
        .map(|(_, state, _)| state)
        .collect();
    assert_eq!(
        states,
        ["asked", "confirmed"],
        "only the second turn answered"
    );
}

#[tokio::test]
async fn giving_up_an_accepted_turn_asks_first_and_says_who_is_emailed() {
    let app = spawn_app().await;
    let (circle, names, _) = rotating_circle(&app, 2).await;
    app.run_pending_jobs().await;
    let ask = ask_for(&app, &circle, &names, 0).await;
    let link = app.link_in(&ask, "/role/");
    app.browser(Method::POST, &link, Some(&[("action", "accept")]))
        .await
        .expect(200);
    app.run_pending_jobs().await;
    let sent = app.sent_emails().len();

    // "Can't make it" on a turn they accepted asks first; asking changes and sends nothing.
    let before = app.snapshot().await;
    let page = app
        .browser(Method::POST, &link, Some(&[("action", "decline")]))
        .await
        .expect(200);
    let html = page.as_str().unwrap();
    assert!(html.contains("<h1>Give up facilitating "), "{html}");
    assert!(
        html.contains("the next person in the rotation is asked by email"),
        "{html}"
    );
    assert!(html.contains("Ask someone to swap instead"));
    assert_eq!(app.snapshot().await, before, "asking changes nothing");
    app.run_pending_jobs().await;
    assert_eq!(app.sent_emails().len(), sent, "and sends nothing");

    // Only the confirmation gives it up: the turn goes to the next person, who is asked.
    app.browser(
        Method::POST,
        &link,
        Some(&[("action", "decline"), ("confirm", "yes")]),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let rota = app
        .get(&format!("/api/v1/circles/{circle}/rota"))
        .await
        .expect(200);
    let (now_holder, state, _) = facilitators(&rota)[0].clone();
    assert!(!ask.to.contains(&format!("{}@", names[&now_holder])));
    assert_eq!(state, "asked");
    let new_asks = app.sent_emails()[sent..]
        .iter()
        .filter(|m| m.subject.starts_with("Would you"))
        .count();
    assert_eq!(new_asks, 1, "one person is asked in their place");
}
