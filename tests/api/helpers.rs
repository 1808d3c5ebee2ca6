//! The test harness: each test gets its own database (`roundtable::testkit`: a copy of a
//! migrated template) and the real application on a free port, plus typed helpers for the API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel_async::RunQueryDsl;
use figment::Figment;
use reqwest::{Method, StatusCode};
use roundtable::config::{DatabaseUrl, Profile, Settings};
use roundtable::db::{self, Pool};
use roundtable::domain::{DisplayName, EmailAddress, MemberId};
use roundtable::email::Mailer;
use roundtable::jobs::JobContext;
use roundtable::startup::Application;
pub use roundtable::testkit::{empty_database, fresh_database};
use roundtable::worker::{self, DrainReport, WorkerConfig};
use serde_json::{json, Value};

pub fn test_settings(db_url: &DatabaseUrl) -> Settings {
    let figment: Figment = Settings::figment(Profile::Test, std::path::Path::new("config"))
        .merge(("database.url", db_url.expose()))
        .merge(("http.bind", "127.0.0.1:0"))
        .merge(("http.workers", 2));
    Settings::from_figment(figment, Profile::Test).expect("test settings")
}

pub struct TestApp {
    pub settings: Settings,
    /// Messages handed to the in-memory mailer by `run_pending_jobs`.
    pub mail: Arc<Mutex<Vec<Vec<u8>>>>,
    pub address: String,
    pub db_url: DatabaseUrl,
    pub pool: Pool,
    pub client: reqwest::Client,
    /// An organiser's API token.
    pub token: String,
    pub organiser_id: MemberId,
}

/// Start the application against a fresh database, with one organiser.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The application with a pool that counts every SQL statement it runs.
pub async fn spawn_app_counting() -> (TestApp, Arc<std::sync::atomic::AtomicU64>) {
    let db_url = fresh_database().await;
    let settings = test_settings(&db_url);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let pool = db::build_pool_counting(&settings.database, Some(counter.clone())).unwrap();
    (spawn_with_pool(settings, pool, db_url).await, counter)
}

/// The application for a test that proves the outcome of a race: many requests at once
/// against a pool of 8. What such a test shows is who wins and what is stored, not how fast a
/// busy machine serves them, so every request may wait as long as it needs for a connection
/// and for the row locks the race is about (the test's own HTTP client gives up after two
/// minutes, far beyond any real wait).
pub async fn spawn_app_for_races() -> TestApp {
    spawn_app_with(|s| {
        s.database.pool_size = 8;
        s.database.acquire_timeout_ms = 120_000;
        s.database.statement_timeout_ms = 120_000;
    })
    .await
}

/// The same, with settings adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db_url = fresh_database().await;
    let mut settings = test_settings(&db_url);
    adjust(&mut settings);
    let pool = db::build_pool(&settings.database).unwrap();
    spawn_with_pool(settings, pool, db_url).await
}

pub async fn spawn_with_pool(settings: Settings, pool: Pool, db_url: DatabaseUrl) -> TestApp {
    roundtable::telemetry::init(&settings.log);
    let app =
        Application::build_with_pool(settings.clone(), pool.clone()).expect("building the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let mut test_app = TestApp {
        settings,
        mail: Arc::default(),
        address,
        db_url,
        pool,
        // Idle connections are dropped well before the server's keep-alive (5 s) closes
        // them, so a test that pauses never reuses one the server is closing.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        token: String::new(),
        organiser_id: MemberId::new(),
    };
    if test_app.pool.get().await.is_ok() {
        let (id, token) = test_app
            .member_with_token("organiser@example.org", true)
            .await;
        test_app.organiser_id = id;
        test_app.token = token;
    }
    test_app
}

/// The CSRF token a dashboard page carries in its `<meta name="csrf">`.
pub fn csrf_in(html: &str) -> String {
    let needle = "name=\"csrf\" content=\"";
    let start = html.find(needle).expect("a csrf meta tag") + needle.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A signed-in dashboard user.
/// The note a dashboard redirect carries (`?note=...`), decoded.
pub fn note_of(res: &Response) -> String {
    let location = res.headers["location"].to_str().unwrap();
    let url = reqwest::Url::parse(&format!("http://x{location}")).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub struct Dashboard {
    pub client: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Dashboard {
    pub async fn get(&self, path: &str) -> Response {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        Response::text_of(res).await
    }

    /// POST a form; the CSRF token is added unless the form names one.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            fields.push(("csrf", &self.csrf));
        }
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        Response::text_of(res).await
    }
}

/// A sent message, parsed as MIME.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub raw: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
    /// (method, body) of the text/calendar part.
    pub calendar: Option<(String, String)>,
}

impl SentEmail {
    /// Whether the message invites its reader to a session: an invitation, or a letter that
    /// carries one with its calendar entry (a welcome, a reflection prompt).
    pub fn invites(&self) -> bool {
        self.subject.starts_with("Invitation")
            || (!self.subject.starts_with("Changed")
                && self
                    .calendar
                    .as_ref()
                    .is_some_and(|(method, _)| method == "REQUEST"))
    }

    pub fn parse(raw: &[u8]) -> Self {
        let mail = mailparse::parse_mail(raw).expect("a well-formed message");
        let header = |name: &str| {
            mail.headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        let mut text = String::new();
        let mut html = String::new();
        let mut calendar = None;
        for part in mail.parts() {
            let ctype = &part.ctype;
            match ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().unwrap(),
                "text/html" => html = part.get_body().unwrap(),
                "text/calendar" => {
                    let method = ctype.params.get("method").cloned().unwrap_or_default();
                    calendar = Some((method, part.get_body().unwrap()));
                }
                _ => {}
            }
        }
        Self {
            raw: String::from_utf8_lossy(raw).into_owned(),
            to: header("To"),
            subject: header("Subject"),
            message_id: header("Message-ID"),
            headers: mail
                .headers
                .iter()
                .map(|h| (h.get_key(), h.get_value()))
                .collect(),
            text,
            html,
            calendar,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Response {
    /// The answer with its body as text (pages, CSV, calendars).
    pub async fn text_of(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let body = Value::String(res.text().await.unwrap());
        Self {
            status,
            body,
            headers,
        }
    }

    /// The answer with its body parsed as JSON when it is JSON.
    pub async fn json_of(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            body,
            headers,
        }
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// The body of an HTML (or other text) response.
    pub fn text(&self) -> &str {
        self.body.as_str().unwrap_or("")
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// A job context whose mailer is `mailer`.
    pub fn job_context(&self, mailer: Mailer) -> JobContext {
        JobContext::new(&self.settings, self.pool.clone(), Arc::new(mailer)).unwrap()
    }

    /// A job context that sends through an SMTP server.
    pub fn smtp_job_context(&self, smtp_url: &str) -> JobContext {
        let mut email = self.settings.email.clone();
        email.transport = roundtable::config::EmailTransport::Smtp;
        email.smtp_url = Some(roundtable::config::Secret::new(smtp_url));
        self.job_context(Mailer::from_settings(&email, 4).unwrap())
    }

    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig::from(&self.settings.worker)
    }

    /// Run every due job with the in-memory mailer; a job that dies, or a dashboard link sent
    /// to a member who cannot open the dashboard, fails the test.
    pub async fn run_pending_jobs(&self) -> DrainReport {
        let from = self.mail.lock().unwrap().len();
        let ctx = self.job_context(Mailer::Memory {
            sent: self.mail.clone(),
        });
        let report = worker::drain(&ctx, &self.worker_config()).await.unwrap();
        assert_eq!(
            report.dead,
            0,
            "a job died: {:?}",
            self.jobs_in_state("dead").await
        );
        let to_members = self.dashboard_links_to_members(from).await;
        assert!(
            to_members.is_empty(),
            "a member's link leads to the dashboard: {to_members:?}"
        );
        report
    }

    /// The messages from the `from`th sent on that carry a `/dashboard` link to someone who
    /// cannot open it (neither an organiser nor a circle's facilitator), as (to, subject).
    pub async fn dashboard_links_to_members(&self, from: usize) -> Vec<(String, String)> {
        let mut conn = None;
        let mut out = Vec::new();
        for mail in self.sent_emails().into_iter().skip(from) {
            if !mail.text.contains("/dashboard") && !mail.html.contains("/dashboard") {
                continue;
            }
            let address = mail.to.rsplit('<').next().unwrap_or_default();
            let Ok(address) = EmailAddress::parse(address.trim_end_matches('>').trim()) else {
                panic!("a message to an unreadable address: {}", mail.to);
            };
            if conn.is_none() {
                conn = Some(self.conn().await);
            }
            let conn = conn.as_mut().unwrap();
            let Some(member) = db::members::find_by_email(conn, &address).await.unwrap() else {
                continue;
            };
            if !db::members::is_staff(conn, member.id).await.unwrap() {
                out.push((mail.to, mail.subject));
            }
        }
        out
    }

    /// Messages the in-memory mailer was handed, parsed.
    pub fn sent_emails(&self) -> Vec<SentEmail> {
        self.mail
            .lock()
            .unwrap()
            .iter()
            .map(|raw| SentEmail::parse(raw))
            .collect()
    }

    /// The first link in a message's text part that starts with `prefix` (e.g. "/rsvp/"),
    /// as a path on this test server.
    pub fn link_in(&self, mail: &SentEmail, prefix: &str) -> String {
        let base = self.settings.public_base().to_string();
        let start = mail
            .text
            .find(&format!("{base}{prefix}"))
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{}", mail.text));
        let url: String = mail.text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        url[base.len()..].to_string()
    }

    /// A plain request without the API token, as a browser or mail client would send it.
    pub async fn browser(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(form) = form {
            req = req.form(form);
        }
        let res = req.send().await.expect("request failed");
        Response::text_of(res).await
    }

    /// A browser-like client signed in to the dashboard as `email` (who must be staff).
    pub async fn dashboard_as(&self, email: &str) -> Dashboard {
        let mut conn = self.conn().await;
        let member = db::members::find_by_email(&mut conn, &EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
            .expect("a member");
        let token = roundtable::secrets::random_token(32);
        db::logins::create(
            &mut conn,
            member.id,
            &roundtable::secrets::hash_token(&token),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let res = client
            .post(format!("{}/login/{token}", self.address))
            .form(&[("next", "/dashboard")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "signing in");
        let page = client
            .get(format!("{}/dashboard", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csrf = csrf_in(&page.text().await.unwrap());
        Dashboard {
            client,
            base: self.address.clone(),
            csrf,
        }
    }

    /// The links the app would put in email, signed with its key.
    pub fn links(&self) -> roundtable::links::Links {
        let key = self.settings.token_key().unwrap();
        roundtable::links::Links::new(
            self.settings.public_base(),
            roundtable::domain::tokens::TokenKeys::new(key.expose(), &[]),
        )
    }

    /// Who a link for `email` is issued to, with their current versions.
    pub async fn holder(&self, email: &str) -> roundtable::links::Holder {
        let mut conn = self.conn().await;
        let member = db::members::find_by_email(&mut conn, &EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
            .expect("a member");
        roundtable::links::Holder::of(&member)
    }

    /// A link as a path on this test server.
    pub fn path_of(&self, url: &str) -> String {
        url[self.settings.public_base().len()..].to_string()
    }

    pub async fn jobs_in_state(&self, state: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/jobs?state={state}&limit=200"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn conn(&self) -> db::Connection {
        roundtable::testkit::connect(&self.db_url).await
    }

    /// A member (organiser or not) with an API token of their own.
    pub async fn member_with_token(&self, email: &str, organiser: bool) -> (MemberId, String) {
        let mut conn = self.conn().await;
        let email = EmailAddress::parse(email).unwrap();
        let name = DisplayName::parse(email.as_str().split('@').next().unwrap()).unwrap();
        let member = db::members::find_or_create(&mut conn, &email, &name, None)
            .await
            .unwrap();
        if organiser {
            db::members::set_organiser(&mut conn, member.id, true)
                .await
                .unwrap();
        }
        let (token, hash) = roundtable::secrets::new_api_token();
        db::api_tokens::create(&mut conn, member.id, "test", &hash)
            .await
            .unwrap();
        (member.id, token)
    }

    pub async fn request_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.expect("request failed");
        Response::json_of(res).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request_as(Some(&self.token), Method::GET, path, None)
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request_as(Some(&self.token), Method::POST, path, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.request_as(Some(&self.token), Method::PATCH, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request_as(Some(&self.token), Method::PUT, path, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request_as(Some(&self.token), Method::DELETE, path, None)
            .await
    }

    /// Send raw bytes with a content type (for malformed-body tests).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        let res = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request failed");
        Response::json_of(res).await
    }

    pub async fn create_circle(&self, body: Value) -> Value {
        self.post("/api/v1/circles", &body).await.expect(201)
    }

    /// Let every role `circle` has now be asked of anyone, not only of people who came to a
    /// session (the default): for tests whose members stand for people who met before.
    pub async fn anyone_may_take_roles(&self, circle_id: &str) {
        let kinds = self
            .get(&format!("/api/v1/circles/{circle_id}/roles"))
            .await
            .expect(200);
        for k in kinds["items"].as_array().unwrap() {
            let key = k["key"].as_str().unwrap();
            self.patch(
                &format!("/api/v1/circles/{circle_id}/roles/{key}"),
                &json!({ "min_attended": 0 }),
            )
            .await
            .expect(200);
        }
    }

    pub async fn circle_with_capacity(&self, capacity: Option<i64>) -> Value {
        let mut body = json!({ "name": "Braiding Sweetgrass", "timezone": "America/New_York" });
        if let Some(c) = capacity {
            body["capacity"] = json!(c);
        }
        self.create_circle(body).await
    }

    pub async fn add_member(&self, circle_id: &str, email: &str) -> Response {
        self.post(
            &format!("/api/v1/circles/{circle_id}/members"),
            &json!({ "email": email, "display_name": email.split('@').next().unwrap() }),
        )
        .await
    }

    pub async fn schedule(&self, circle_id: &str, body: Value) -> Vec<Value> {
        let res = self
            .post(&format!("/api/v1/circles/{circle_id}/schedules"), &body)
            .await;
        res.expect(201)["sessions"].as_array().unwrap().clone()
    }

    /// Row counts of every table, to show a rejected request changed nothing.
    pub async fn table_counts(&self) -> Vec<(String, i64)> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn().await;
        let mut out = Vec::new();
        for table in [
            "members",
            "circles",
            "memberships",
            "readings",
            "schedules",
            "sessions",
            "rsvps",
            "reflections",
            "jobs",
            "deliveries",
            "api_tokens",
        ] {
            let c: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                .get_result(&mut conn)
                .await
                .unwrap();
            out.push((table.to_string(), c.n));
        }
        out
    }

    /// A digest of every row of the mutable tables, to show nothing changed at all.
    pub async fn snapshot(&self) -> String {
        #[derive(diesel::QueryableByName)]
        struct Dump {
            #[diesel(sql_type = diesel::sql_types::Text)]
            d: String,
        }
        #[derive(diesel::QueryableByName)]
        struct Table {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let mut conn = self.conn().await;
        // Every table of the schema, so a new table is covered the day it is created; the
        // dashboard's sign-in sessions and the API tokens keep clocks any staff request moves.
        let tables: Vec<Table> = diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
               AND table_name NOT IN ('__diesel_schema_migrations', 'staff_sessions', 'api_tokens') \
             ORDER BY table_name",
        )
        .load(&mut conn)
        .await
        .unwrap();
        let mut out = String::new();
        for Table { name: table } in tables {
            out.push_str(&format!("[{table}]\n"));
            let d: Dump = diesel::sql_query(format!(
                "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS d FROM {table} t"
            ))
            .get_result(&mut conn)
            .await
            .unwrap();
            out.push_str(&d.d);
            out.push('\n');
        }
        out
    }
}
