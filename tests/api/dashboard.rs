use std::sync::atomic::Ordering;

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_counting, TestApp};
use roundtable::http::dashboard::{Access, ROUTES};

/// An organiser (the app's), circle A run by F, circle B run by G, with a session, a reading,
/// a member and a dead email job in A.
struct Fixture {
    a: String,
    b: String,
    session: String,
    reading: String,
    member: String,
    job: String,
    token: String,
    f_token: String,
    g_token: String,
    agreement: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let a = app
        .create_circle(json!({ "name": "Circle A", "timezone": "Europe/London" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app
        .create_circle(json!({ "name": "Circle B", "timezone": "Europe/London" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (circle, email) in [(&a, "f@example.org"), (&b, "g@example.org")] {
        app.post(
            &format!("/api/v1/circles/{circle}/members"),
            &json!({ "email": email, "display_name": email, "role": "facilitator" }),
        )
        .await
        .expect(201);
    }
    let member = app.add_member(&a, "m@example.org").await.expect(201)["member_id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = app
        .schedule(&a, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 60, "count": 1 }))
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reading = app
        .post(
            &format!("/api/v1/circles/{a}/readings"),
            &json!({ "title": "A book" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let agreement = app
        .post(
            &format!("/api/v1/circles/{a}/agreements"),
            &json!({ "title": "On time", "body": "We start on time." }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = app.conn().await;
    diesel::sql_query(format!(
        "UPDATE jobs SET state = 'dead', last_error = '550 no' WHERE payload->>'circle_id' = '{a}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let job = app.jobs_in_state("dead").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, f_token) = app.member_with_token("f@example.org", false).await;
    let (_, g_token) = app.member_with_token("g@example.org", false).await;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    // A spare token for the revoke route, so the organiser's own keeps working.
    app.member_with_token("spare@example.org", false).await;
    let token_id: Id = diesel::sql_query("SELECT t.id::text AS id FROM api_tokens t JOIN members m ON m.id = t.member_id WHERE m.email = 'spare@example.org'")
        .get_result(&mut conn)
        .await
        .unwrap();
    Fixture {
        a,
        b,
        session,
        reading,
        member,
        job,
        token: token_id.id,
        f_token,
        g_token,
        agreement,
    }
}

fn fill(path: &str, fx: &Fixture) -> String {
    let id = if path.contains("/sessions/{id}") {
        &fx.session
    } else if path.contains("/readings/{id}") {
        &fx.reading
    } else if path.contains("/jobs/{id}") {
        &fx.job
    } else if path.contains("/tokens/{id}") {
        &fx.token
    } else if path.contains("/agreements/{id}") {
        &fx.agreement
    } else if path.starts_with("/api/v1/members/{id}") {
        &fx.member
    } else {
        &fx.a
    };
    path.replace("{id}", id)
        .replace("{member_id}", &fx.member)
        .replace("{key}", "facilitator")
        .replace("{role}", "facilitator")
}

async fn hit(who: &crate::helpers::Dashboard, post: bool, path: &str) -> u16 {
    if post {
        who.post(path, &[]).await.status.as_u16()
    } else {
        who.get(path).await.status.as_u16()
    }
}

#[tokio::test]
async fn every_dashboard_and_api_route_answers_each_role_as_it_should() {
    let app = spawn_app().await;
    let fx = fixture(&app).await;
    let organiser = app.dashboard_as("organiser@example.org").await;
    let f = app.dashboard_as("f@example.org").await;
    let g = app.dashboard_as("g@example.org").await;
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    assert!(ROUTES.len() >= 25);
    for route in ROUTES {
        let path = fill(route.path, &fx);
        let post = route.method == "post";
        // Anonymous: sent to sign in.
        let res = if post {
            anonymous
                .post(format!("{}{path}", app.address))
                .form(&[("csrf", "x")])
                .send()
                .await
        } else {
            anonymous.get(format!("{}{path}", app.address)).send().await
        }
        .unwrap();
        assert_eq!(res.status(), 303, "anonymous {} {path}", route.method);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));

        let g_status = hit(&g, post, &path).await;
        let f_status = hit(&f, post, &path).await;
        let o_status = hit(&organiser, post, &path).await;
        let allowed = |s: u16| !matches!(s, 401 | 403 | 404) && s < 500;
        match route.access {
            Access::Staff => {
                assert!(
                    allowed(g_status) && allowed(f_status) && allowed(o_status),
                    "{} {path}: {g_status} {f_status} {o_status}",
                    route.method
                );
            }
            Access::Organiser => {
                assert_eq!((g_status, f_status), (403, 403), "{} {path}", route.method);
                assert!(
                    allowed(o_status),
                    "organiser {} {path}: {o_status}",
                    route.method
                );
            }
            Access::Circle => {
                assert_eq!(
                    g_status, 404,
                    "facilitator of another circle, {} {path}",
                    route.method
                );
                assert!(
                    allowed(f_status),
                    "facilitator {} {path}: {f_status}",
                    route.method
                );
                assert!(
                    allowed(o_status),
                    "organiser {} {path}: {o_status}",
                    route.method
                );
            }
        }
    }

    // The JSON API, every operation its OpenAPI document lists.
    let doc = app
        .request_as(None, Method::GET, "/api/openapi.json", None)
        .await
        .expect(200);
    // Valid bodies, so that what decides the answer is who asks; changes that would end the
    // fixture's usefulness (leaving, cancelling, archiving) come last.
    let mut operations: Vec<(String, Method)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            operations.push((path.clone(), method.to_uppercase().parse().unwrap()));
        }
    }
    let destructive = |path: &str, method: &Method| {
        *method == Method::DELETE || path.ends_with("/cancel") || path.ends_with("/archive")
    };
    operations.sort_by_key(|(path, method)| destructive(path, method));
    let mut checked = 0;
    for (path, method) in operations {
        let path = path.as_str();
        let body = match (method.as_str(), path) {
            ("GET", _) => None,
            ("POST", "/api/v1/circles") => Some(json!({ "name": "Another", "timezone": "UTC" })),
            ("PATCH", "/api/v1/circles/{id}") => Some(json!({ "description": "changed" })),
            ("POST", "/api/v1/circles/{id}/readings") => Some(json!({ "title": "Another book" })),
            ("POST", "/api/v1/circles/{id}/schedules") => Some(
                json!({ "freq": "weekly", "first_date": "2031-09-04", "local_time": "19:00", "duration_minutes": 60, "count": 1 }),
            ),
            ("POST", "/api/v1/circles/{id}/members") => Some(json!({ "email": "new@example.org" })),
            ("PATCH", "/api/v1/circles/{id}/members/{member_id}") => {
                Some(json!({ "role": "member" }))
            }
            ("PATCH", "/api/v1/sessions/{id}") => Some(json!({ "location": "Library" })),
            ("POST", "/api/v1/circles/{id}/roles") => Some(json!({ "name": "Scribe" })),
            ("POST", "/api/v1/circles/{id}/agreements") => {
                Some(json!({ "title": "Phones away", "body": "Phones stay in bags." }))
            }
            ("POST", "/api/v1/agreements/{id}/versions") => {
                Some(json!({ "body": "We start on time, mostly." }))
            }
            ("PUT", "/api/v1/readings/{id}/chapters") => {
                Some(json!({ "chapters": [{ "number": 1, "first_page": 1, "last_page": 30 }] }))
            }
            ("PUT", "/api/v1/circles/{id}/reading-plan") => Some(json!({ "segments": [] })),
            ("PUT", "/api/v1/circles/{id}/agenda") => Some(
                json!({ "rounds": [{ "kind": "check_in", "prompt": "How are you?", "minutes": 5 }] }),
            ),
            ("PUT", "/api/v1/sessions/{id}/roles/{role}") => {
                Some(json!({ "member_id": fx.member }))
            }
            ("PUT", "/api/v1/sessions/{id}/rsvps/{member_id}") => {
                Some(json!({ "response": "yes" }))
            }
            ("PUT", "/api/v1/sessions/{id}/attendance") => {
                Some(json!({ "attendance": [{ "member_id": fx.member, "attended": true }] }))
            }
            _ => Some(json!({})),
        };
        {
            let concrete = fill(path, &fx);
            let status = |token: Option<String>| {
                let (method, concrete, body) = (method.clone(), concrete.clone(), body.clone());
                let app = &app;
                async move {
                    app.request_as(token.as_deref(), method, &concrete, body.as_ref())
                        .await
                        .status
                        .as_u16()
                }
            };
            assert_eq!(status(None).await, 401, "anonymous {method} {path}");
            let organiser_only = path == "/api/v1/jobs"
                || path.starts_with("/api/v1/jobs/")
                || path.starts_with("/api/v1/leadership")
                || (path == "/api/v1/circles" && method == Method::POST)
                || (path.contains("/siblings") && method == Method::POST);
            let listing = path == "/api/v1/circles" && method == Method::GET;
            let g_status = status(Some(fx.g_token.clone())).await;
            let f_status = status(Some(fx.f_token.clone())).await;
            let o_status = status(Some(app.token.clone())).await;
            let allowed = |s: u16| !matches!(s, 401 | 403 | 404) && s < 500;
            if organiser_only {
                assert_eq!((g_status, f_status), (403, 403), "{method} {path}");
            } else if listing {
                assert!(allowed(g_status) && allowed(f_status), "{method} {path}");
            } else {
                assert_eq!(
                    g_status, 404,
                    "facilitator of another circle, {method} {path}"
                );
                assert!(allowed(f_status), "facilitator {method} {path}: {f_status}");
            }
            assert!(allowed(o_status), "organiser {method} {path}: {o_status}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} API operations checked");
    // Circle B's own facilitator sees it; F does not.
    g.get(&format!("/dashboard/circles/{}", fx.b))
        .await
        .expect(200);
    assert_eq!(
        f.get(&format!("/dashboard/circles/{}", fx.b)).await.status,
        404
    );
}

#[tokio::test]
async fn magic_link_sign_in_works_once_and_the_cookie_is_locked_down() {
    let app = spawn_app().await;
    let unknown = app
        .browser(
            Method::POST,
            "/login",
            Some(&[("email", "nobody@example.org")]),
        )
        .await
        .expect(200);
    let known = app
        .browser(
            Method::POST,
            "/login",
            Some(&[("email", "organiser@example.org")]),
        )
        .await
        .expect(200);
    assert_eq!(
        unknown, known,
        "the same answer whether or not the address has access"
    );
    app.run_pending_jobs().await;
    let mail = app
        .sent_emails()
        .into_iter()
        .find(|m| m.subject == "Your Roundtable sign-in link")
        .expect("a sign-in email");
    assert!(mail.to.contains("organiser@example.org"));
    assert_eq!(app.sent_emails().len(), 1);
    let link = app.link_in(&mail, "/login/");

    let before = app.snapshot().await;
    let page = app.browser(Method::GET, &link, None).await.expect(200);
    assert!(page.as_str().unwrap().contains("Sign in as"));
    assert_eq!(app.snapshot().await, before);

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{}{link}", app.address))
        .form(&[("next", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("organiser@example.org"),
        "the session cookie is encrypted"
    );
    let home = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Your circles"));

    let again = client
        .post(format!("{}{link}", app.address))
        .form(&[("next", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410, "a link works once");

    // Signing out ends the session.
    let page = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::csrf_in(&page);
    client
        .post(format!("{}/logout", app.address))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let after = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303);
}

#[tokio::test]
async fn posts_without_the_csrf_token_or_from_another_origin_change_nothing() {
    let app = spawn_app().await;
    let fx = fixture(&app).await;
    let o = app.dashboard_as("organiser@example.org").await;
    let before = app.snapshot().await;
    let path = format!("/dashboard/circles/{}/members/{}", fx.a, fx.member);
    let r = o
        .post(&path, &[("csrf", "not-the-token"), ("action", "remove")])
        .await;
    assert_eq!(r.status, 403);
    let r = o
        .post(&path, &[("action", "remove"), ("confirm", "yes")])
        .await;
    assert_eq!(r.status, 303, "sanity: the real token works");
    let after_remove = app.snapshot().await;
    assert_ne!(after_remove, before);

    let res = o
        .client
        .post(format!("{}/dashboard/circles/{}/readings", o.base, fx.a))
        .header("Origin", "https://evil.example")
        .form(&[("csrf", o.csrf.as_str()), ("title", "Planted")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.snapshot().await, after_remove);
}

#[tokio::test]
async fn facilitators_run_their_circle_from_the_dashboard() {
    let app = spawn_app().await;
    let fx = fixture(&app).await;
    let f = app.dashboard_as("f@example.org").await;

    // Add people by pasting, and by uploading a CSV.
    let r = f
        .post(
            &format!("/dashboard/circles/{}/members", fx.a),
            &[(
                "people",
                "Ada <ada@example.org>\nnot-an-address\nbo@example.org",
            )],
        )
        .await;
    assert_eq!(r.status, 303);
    let note = r.headers["location"].to_str().unwrap().to_string();
    assert!(note.contains("2%20added"), "{note}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", f.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"email,display_name\ncy@example.org,Cy\n".to_vec())
                .file_name("people.csv"),
        );
    let res = f
        .client
        .post(format!(
            "{}/dashboard/circles/{}/members/import",
            f.base, fx.a
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let roster = f
        .get(&format!("/dashboard/circles/{}/members", fx.a))
        .await
        .expect(200);
    for name in ["Ada", "bo", "Cy"] {
        assert!(roster.as_str().unwrap().contains(name), "{name}");
    }

    // Edit the circle with inline validation.
    let bad = f
        .post(
            &format!("/dashboard/circles/{}", fx.a),
            &[
                ("name", "Circle A"),
                ("timezone", "Nowhere/Land"),
                ("kind", "book_club"),
                ("visibility", "open"),
                ("status", "open"),
                ("facilitation", "rotating"),
                ("reminder_offset_minutes", "1440"),
                ("reflection_delay_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("is not an IANA time zone"));
    let ok = f
        .post(
            &format!("/dashboard/circles/{}", fx.a),
            &[
                ("name", "Circle A"),
                ("timezone", "Europe/London"),
                ("kind", "book_club"),
                ("visibility", "open"),
                ("status", "open"),
                ("facilitation", "rotating"),
                ("capacity", "20"),
                ("reminder_offset_minutes", "1440"),
                ("reflection_delay_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    let circle = app
        .get(&format!("/api/v1/circles/{}", fx.a))
        .await
        .expect(200);
    assert_eq!(
        (circle["facilitation"].as_str(), circle["capacity"].as_i64()),
        (Some("rotating"), Some(20))
    );

    // Preview flags a date moved by the spring-forward gap, then create.
    let preview = f
        .post(
            &format!("/dashboard/circles/{}/schedules", fx.a),
            &[
                ("intent", "preview"),
                ("freq", "weekly"),
                ("interval", "1"),
                ("first_date", "2031-03-23"),
                ("local_time", "01:30"),
                ("duration_minutes", "60"),
                ("count", "2"),
            ],
        )
        .await
        .expect(200);
    assert!(
        preview.as_str().unwrap().contains(
            "01:30 does not exist that day (the clocks go forward), so it starts at 02:30"
        ),
        "{preview}"
    );
    let created = f
        .post(
            &format!("/dashboard/circles/{}/schedules", fx.a),
            &[
                ("intent", "create"),
                ("freq", "weekly"),
                ("interval", "1"),
                ("first_date", "2031-03-23"),
                ("local_time", "01:30"),
                ("duration_minutes", "60"),
                ("count", "2"),
            ],
        )
        .await;
    assert_eq!(created.status, 303);

    // Edit a session (an update goes out) and mark attendance with one click.
    let r = f
        .post(
            &format!("/dashboard/sessions/{}", fx.session),
            &[
                ("local_date", "2031-06-06"),
                ("local_time", "18:00"),
                ("duration_minutes", "75"),
                ("location", "Garden"),
                ("reading_id", &fx.reading),
                ("facilitator_id", &fx.member),
                ("prompts", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let session = app
        .get(&format!("/api/v1/sessions/{}", fx.session))
        .await
        .expect(200);
    assert_eq!(
        (
            session["ics_sequence"].as_i64(),
            session["location"].as_str()
        ),
        (Some(1), Some("Garden"))
    );
    assert!(app
        .jobs_in_state("queued")
        .await
        .iter()
        .any(|j| j["payload"]["message"] == "session_update"));
    let r = f
        .post(
            &format!("/dashboard/sessions/{}/attendance", fx.session),
            &[("member_id", &fx.member), ("attended", "yes")],
        )
        .await;
    assert_eq!(r.status, 303);
    let att = app
        .get(&format!("/api/v1/sessions/{}/attendance", fx.session))
        .await
        .expect(200);
    assert!(att["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["member_id"] == fx.member.as_str() && a["attended"] == true));

    // Charts are SVG, exports are CSV.
    let svg = f
        .get(&format!(
            "/dashboard/circles/{}/insights/attendance.svg",
            fx.a
        ))
        .await
        .expect(200);
    assert!(svg.as_str().unwrap().starts_with("<svg"));
    let csv = f
        .get(&format!(
            "/dashboard/circles/{}/export/attendance.csv",
            fx.a
        ))
        .await
        .expect(200);
    assert!(csv
        .as_str()
        .unwrap()
        .starts_with("session_local,email,display_name,rsvp,attended"));
    assert!(csv.as_str().unwrap().contains("m@example.org"));

    // The dead job can be retried from the outbox.
    let outbox = f
        .get(&format!("/dashboard/circles/{}/outbox", fx.a))
        .await
        .expect(200);
    assert!(outbox.as_str().unwrap().contains("550 no"));
    let r = f
        .post(&format!("/dashboard/jobs/{}/retry", fx.job), &[])
        .await;
    assert_eq!(r.status, 303);
    assert!(app
        .jobs_in_state("dead")
        .await
        .iter()
        .all(|j| j["id"] != fx.job.as_str()));
    assert!(app
        .jobs_in_state("queued")
        .await
        .iter()
        .any(|j| j["id"] == fx.job.as_str()));
}

#[tokio::test]
async fn the_circle_pages_run_a_fixed_number_of_statements_whatever_the_size() {
    let (app, counter) = spawn_app_counting().await;
    let small = app
        .create_circle(json!({ "name": "Small", "timezone": "UTC" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let big = app
        .create_circle(json!({ "name": "Big", "timezone": "UTC" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = app.conn().await;
    for (circle, members, sessions) in [(&small, 3, 2), (&big, 1000, 100)] {
        diesel::sql_query(format!(
            "WITH m AS (INSERT INTO members (id, email, display_name) SELECT gen_random_uuid(), '{circle}-' || i || '@example.org', 'Reader ' || i \
                        FROM generate_series(1, {members}) i RETURNING id) \
             INSERT INTO memberships (circle_id, member_id, state) SELECT '{circle}', id, 'active' FROM m"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes) \
             SELECT gen_random_uuid(), '{circle}', now() + i * interval '1 week', now() + i * interval '1 week' + interval '1 hour', \
                    (now() + i * interval '1 week')::date, '19:00', 'UTC', 60 FROM generate_series(1, {sessions}) i"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO rsvps (session_id, member_id, response, responded_at) \
             SELECT s.id, m.member_id, 'yes', now() FROM sessions s JOIN memberships m ON m.circle_id = s.circle_id WHERE s.circle_id = '{circle}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let o = app.dashboard_as("organiser@example.org").await;
    let mut counts = Vec::new();
    for circle in [&small, &big] {
        let mut per_page = Vec::new();
        for tab in [
            "",
            "/members",
            "/sessions",
            "/reflections",
            "/insights",
            "/outbox",
        ] {
            let before = std::sync::atomic::AtomicU64::load(&counter, Ordering::SeqCst);
            let page = o.get(&format!("/dashboard/circles/{circle}{tab}")).await;
            assert_eq!(page.status, 200, "{tab}");
            per_page.push(std::sync::atomic::AtomicU64::load(&counter, Ordering::SeqCst) - before);
        }
        counts.push(per_page);
    }
    assert_eq!(
        counts[0], counts[1],
        "the same statements for 3 members and for 1,000"
    );
    assert!(counts[1].iter().all(|n| *n <= 12), "{counts:?}");
    for bad in ["0", "-1", "100001", "9223372036854775807"] {
        let res = o
            .get(&format!("/dashboard/circles/{big}/members?page={bad}"))
            .await;
        assert_eq!(res.status.as_u16(), 422, "page={bad}");
    }
    let roster = o.get(&format!("/dashboard/circles/{big}/members")).await;
    let rows = roster.text().matches("<tr>").count();
    assert!(rows <= 101, "the roster is paginated: {rows} rows");
}

#[tokio::test]
async fn organisers_manage_api_tokens_shown_once() {
    let app = spawn_app().await;
    let o = app.dashboard_as("organiser@example.org").await;
    let page = o
        .post("/dashboard/tokens", &[("name", "calendar sync")])
        .await
        .expect(200);
    let html = page.as_str().unwrap();
    let start = html.find("rt_").unwrap();
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    app.request_as(Some(&token), Method::GET, "/api/v1/circles", None)
        .await
        .expect(200);
    let list = o.get("/dashboard/tokens").await.expect(200);
    assert!(
        !list.as_str().unwrap().contains(&token),
        "the secret is shown once"
    );
    let id_start = list.as_str().unwrap().find("/dashboard/tokens/").unwrap() + 18;
    let id: String = list.as_str().unwrap()[id_start..]
        .chars()
        .take_while(|c| *c != '/')
        .collect();
    // The newest token is listed first.
    o.post(&format!("/dashboard/tokens/{id}/revoke"), &[]).await;
    let after = app
        .request_as(Some(&token), Method::GET, "/api/v1/circles", None)
        .await;
    assert_eq!(after.status, 401, "a revoked token no longer works");
}

#[tokio::test]
async fn the_roster_lists_facilitators_members_the_waitlist_in_order_then_the_unconfirmed() {
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Order", "timezone": "UTC" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = app.conn().await;
    // Inserted in the opposite of the expected order, with joined_at rising, so neither
    // insertion order nor join time alone would give the right answer.
    diesel::sql_query(format!(
        "WITH m AS (INSERT INTO members (id, email, display_name) VALUES \
            (gen_random_uuid(), 'p@example.org', 'Pending Pat'), \
            (gen_random_uuid(), 'w2@example.org', 'Second Waiting'), \
            (gen_random_uuid(), 'w1@example.org', 'First Waiting'), \
            (gen_random_uuid(), 'a@example.org', 'Active Ash'), \
            (gen_random_uuid(), 'l@example.org', 'Left Lee'), \
            (gen_random_uuid(), 'f@example.org', 'Facilitator Fay') RETURNING id, email) \
         INSERT INTO memberships (circle_id, member_id, role, state, waitlist_position, joined_at) \
         SELECT '{circle}', id, CASE WHEN email = 'f@example.org' THEN 'facilitator' ELSE 'member' END, \
                CASE email WHEN 'p@example.org' THEN 'pending' WHEN 'l@example.org' THEN 'left' \
                           WHEN 'w1@example.org' THEN 'waitlisted' WHEN 'w2@example.org' THEN 'waitlisted' \
                           ELSE 'active' END, \
                CASE email WHEN 'w1@example.org' THEN 1 WHEN 'w2@example.org' THEN 2 END, \
                now() + (CASE email WHEN 'p@example.org' THEN 1 WHEN 'w2@example.org' THEN 2 \
                    WHEN 'w1@example.org' THEN 3 WHEN 'a@example.org' THEN 4 ELSE 5 END) * interval '1 minute' \
         FROM m"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let o = app.dashboard_as("organiser@example.org").await;
    let page = o.get(&format!("/dashboard/circles/{circle}/members")).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    let at = |name: &str| html.find(name).unwrap_or_else(|| panic!("{name} missing"));
    let order = [
        "Facilitator Fay",
        "Active Ash",
        "First Waiting",
        "Second Waiting",
        "Pending Pat",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    assert!(!html.contains("Left Lee"), "people who left are not listed");
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Kept {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    active_members: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    waitlisted_members: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    active: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    waitlisted: i32,
}

/// The seats and waitlist kept on the circle's row, beside a count of the memberships.
async fn kept(app: &TestApp, circle: &str) -> Kept {
    diesel::sql_query(format!(
        "SELECT c.active_members, c.waitlisted_members, \
                (SELECT count(*) FROM memberships m WHERE m.circle_id = c.id AND m.state = 'active')::int AS active, \
                (SELECT count(*) FROM memberships m WHERE m.circle_id = c.id AND m.state = 'waitlisted')::int AS waitlisted \
         FROM circles c WHERE c.id = '{circle}'"
    ))
    .get_result(&mut app.conn().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_seats_and_waitlist_kept_on_the_circle_row_follow_every_change_of_membership() {
    let app = spawn_app().await;
    let circle = app.circle_with_capacity(Some(2)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let check = |k: Kept, active: i32, waitlisted: i32| {
        assert_eq!(
            (k.active_members, k.waitlisted_members),
            (k.active, k.waitlisted)
        );
        assert_eq!((k.active, k.waitlisted), (active, waitlisted));
    };
    check(kept(&app, &circle).await, 0, 0);
    let mut ids = Vec::new();
    for who in ["a", "b", "c", "d"] {
        let added = app
            .add_member(&circle, &format!("{who}@example.org"))
            .await
            .expect(201);
        ids.push(added["member_id"].as_str().unwrap().to_string());
    }
    check(kept(&app, &circle).await, 2, 2);
    // A public signup is pending: neither a seat nor a place on the waitlist.
    let circle_id = roundtable::domain::CircleId(circle.parse().unwrap());
    let mut conn = app.conn().await;
    let email = roundtable::domain::EmailAddress::parse("e@example.org").unwrap();
    roundtable::actions::membership::sign_up(
        &mut conn,
        circle_id,
        &email,
        &roundtable::domain::DisplayName::parse("E").unwrap(),
        None,
        1000,
    )
    .await
    .unwrap();
    check(kept(&app, &circle).await, 2, 2);
    // Someone seated leaves: the first on the waitlist takes the seat.
    app.delete(&format!("/api/v1/circles/{circle}/members/{}", ids[0]))
        .await
        .expect(200);
    check(kept(&app, &circle).await, 2, 1);
    // Someone is erased: their seat goes to the last one waiting.
    roundtable::actions::people::erase(
        &mut conn,
        roundtable::domain::MemberId(ids[1].parse().unwrap()),
    )
    .await
    .unwrap();
    check(kept(&app, &circle).await, 2, 0);
    // The one who signed up confirms: the circle is full, so they wait.
    let e = roundtable::db::members::find_by_email(&mut conn, &email)
        .await
        .unwrap()
        .unwrap();
    roundtable::actions::membership::confirm_signup(&mut conn, circle_id, e.id)
        .await
        .unwrap();
    check(kept(&app, &circle).await, 2, 1);
    // The circle's row is recounted when a membership moves outside the application, too.
    diesel::sql_query(format!(
        "UPDATE memberships SET state = 'left' WHERE circle_id = '{circle}' AND member_id = '{}'",
        ids[2]
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    check(kept(&app, &circle).await, 1, 1);
    // Counts written behind the triggers' back are put right by a recount.
    diesel::sql_query(format!(
        "UPDATE circles SET active_members = 99 WHERE id = '{circle}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert!(
        roundtable::db::dashboard::recount_members(&mut conn)
            .await
            .unwrap()
            >= 1
    );
    check(kept(&app, &circle).await, 1, 1);
    assert_eq!(
        roundtable::db::dashboard::recount_members(&mut conn)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_front_page_lists_circles_needing_attention_first_a_page_at_a_time_at_a_fixed_cost() {
    let (app, counter) = spawn_app_counting().await;
    let mut conn = app.conn().await;
    let add_circles = |from: i32, to: i32| {
        format!(
            "INSERT INTO circles (id, slug, name, timezone, status) \
             SELECT gen_random_uuid(), 'front-' || i, 'Circle ' || lpad(i::text, 3, '0'), 'UTC', 'open' \
             FROM generate_series({from}, {to}) i"
        )
    };
    diesel::sql_query(add_circles(1, 30))
        .execute(&mut conn)
        .await
        .unwrap();
    // Circle 029 had a session yesterday and nobody marked who came.
    diesel::sql_query(
        "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes) \
         SELECT gen_random_uuid(), id, now() - interval '1 day', now() - interval '23 hours', \
                (now() - interval '1 day')::date, '19:00', 'UTC', 60 FROM circles WHERE slug = 'front-29'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let o = app.dashboard_as("organiser@example.org").await;
    let cards = |html: &str| {
        html.match_indices("<div class=\"card\">")
            .map(|(i, _)| {
                let name = &html[i..];
                let start = name.find("\">Circle ").unwrap() + 2;
                name[start..start + 10].to_string()
            })
            .collect::<Vec<_>>()
    };
    // Before the clock's check the circles are in name order; a circle on the page shows
    // what it needs at once.
    let first = o.get("/dashboard").await;
    assert_eq!(first.status, 200);
    let names = cards(first.text());
    assert_eq!(names.len(), 25);
    assert_eq!(names[0], "Circle 001");
    assert!(!first.text().contains("Circle 029: attendance not marked"));
    assert!(first.text().contains("href=\"/dashboard?page=2\""));
    let second = o.get("/dashboard?page=2").await;
    assert_eq!(cards(second.text()).len(), 5);
    assert!(second
        .text()
        .contains("Circle 029: attendance not marked for 1 recent session(s)"));
    assert!(second.text().contains("href=\"/dashboard?page=1\""));
    assert!(!second.text().contains("page=3"));
    // The clock's check puts it first.
    let changed = roundtable::db::dashboard::refresh_attention(&mut conn)
        .await
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(
        roundtable::db::dashboard::refresh_attention(&mut conn)
            .await
            .unwrap(),
        0,
        "a second check changes nothing"
    );
    let first = o.get("/dashboard").await;
    let names = cards(first.text());
    assert_eq!(names[0], "Circle 029");
    assert_eq!(names[1], "Circle 001");
    assert!(first
        .text()
        .contains("Circle 029: attendance not marked for 1 recent session(s)"));
    // Whoever marks attendance clears it at the next check.
    diesel::sql_query(
        "INSERT INTO rsvps (session_id, member_id, response, responded_at, attended) \
         SELECT s.id, m.id, 'yes', now(), true FROM sessions s, members m \
         WHERE s.circle_id = (SELECT id FROM circles WHERE slug = 'front-29') \
           AND m.email = 'organiser@example.org'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        roundtable::db::dashboard::refresh_attention(&mut conn)
            .await
            .unwrap(),
        1
    );
    let statements = |path: &'static str| {
        let o = &o;
        let counter = counter.clone();
        async move {
            let before = std::sync::atomic::AtomicU64::load(&counter, Ordering::SeqCst);
            assert_eq!(o.get(path).await.status, 200);
            std::sync::atomic::AtomicU64::load(&counter, Ordering::SeqCst) - before
        }
    };
    let small = statements("/dashboard").await;
    diesel::sql_query(add_circles(31, 330))
        .execute(&mut conn)
        .await
        .unwrap();
    let large = statements("/dashboard").await;
    assert_eq!(small, large, "the same statements for 30 circles and 330");
    assert_eq!(cards(o.get("/dashboard?page=14").await.text()).len(), 5);
    // Unconfirmed signups are counted on the card, up to a hundred.
    for (n, shown) in [(3, "3 unconfirmed"), (120, "100 or more unconfirmed")] {
        diesel::sql_query(format!(
            "WITH m AS (INSERT INTO members (id, email, display_name) \
                        SELECT gen_random_uuid(), 'pending-{n}-' || i || '@example.org', 'P' || i \
                        FROM generate_series(1, {n}) i RETURNING id) \
             INSERT INTO memberships (circle_id, member_id, state) \
             SELECT (SELECT id FROM circles WHERE slug = 'front-{n}'), id, 'pending' FROM m"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let page = o
            .get(&format!("/dashboard?page={}", if n < 26 { 1 } else { 5 }))
            .await;
        assert!(page.text().contains(shown), "{shown}");
    }
    for bad in [
        "page=0",
        "page=100001",
        "page=two",
        "page=-1",
        "sort=name",
        "page=1%00",
    ] {
        let res = o.get(&format!("/dashboard?{bad}")).await;
        assert!(
            matches!(res.status.as_u16(), 400 | 422),
            "{bad}: {}",
            res.status
        );
        assert!(
            res.text().contains("That did not work")
                || res.text().contains("That address could not be read"),
            "{bad}"
        );
    }
}
