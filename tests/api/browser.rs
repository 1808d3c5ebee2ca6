//! A real browser (headless Chromium through chromedriver's WebDriver API) walks through
//! signup → confirmation link from the outbox → RSVP, on a phone-sized window, saving
//! screenshots under target/screenshots/.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: std::path::PathBuf,
}

fn find_program(names: &[&str]) -> Option<String> {
    for name in names {
        for dir in std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .chain(["/usr/bin", "/usr/lib/chromium"])
        {
            let candidate = std::path::Path::new(dir).join(name);
            if candidate.is_file() {
                return Some(candidate.to_string_lossy().into_owned());
            }
        }
    }
    None
}

impl Browser {
    /// Start chromedriver and a headless Chromium, or say why not.
    pub async fn start() -> Result<Self, String> {
        let driver_bin = find_program(&["chromedriver"]).ok_or("chromedriver is not installed")?;
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
            .ok_or("chromium is not installed")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting chromedriver: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "roundtable-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                         "--disable-dev-shm-usage", "--window-size=412,915",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .map_err(|e| format!("creating a browser session: {e}"))?
            .json()
            .await
            .map_err(|e| format!("reading the session: {e}"))?;
        let session = res["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no browser session: {res}"))?
            .to_string();
        Ok(Self {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            profile,
        })
    }

    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (String, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        match res["value"]["error"].as_str() {
            Some(err) => Err((err.to_string(), res["value"]["message"].clone())),
            None => Ok(res["value"].clone()),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_call(method, path, body).await {
            Ok(v) => v,
            Err((err, message)) => panic!("webdriver {path}: {err}: {message}"),
        }
    }

    /// Act on the element `css` finds; when the page was still being replaced (the element
    /// went stale between finding and acting), find it again on the new page.
    async fn on_element(&self, css: &str, action: &str, body: Value) {
        for _ in 0..50 {
            let el = self.find(css).await;
            match self
                .try_call(
                    reqwest::Method::POST,
                    &format!("/element/{el}/{action}"),
                    Some(body.clone()),
                )
                .await
            {
                Ok(_) => return,
                Err((err, _)) if err == "stale element reference" => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err((err, message)) => panic!("webdriver {action} on {css}: {err}: {message}"),
            }
        }
        panic!("{css} kept going stale");
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "value", json!({ "text": text })).await;
    }

    /// Set a field's value as a date or time picker would (typing into one depends on the
    /// browser's locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.script(
            "var el = document.querySelector(arguments[0]); el.value = arguments[1]; \
             el.dispatchEvent(new Event('input', { bubbles: true })); return el.value;",
            json!([css, value]),
        )
        .await;
    }

    /// Run `js` in the page (its `arguments` are `args`) and return what it returns.
    pub async fn script(&self, js: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": js, "args": args })),
        )
        .await
    }

    /// What axe-core finds wrong with the page (every violation, as "rule: help (nodes)"). Without the checker (see scripts/fetch-axe) it checks nothing,
    /// except in CI, where it must be there.
    /// Send a Chrome DevTools Protocol command to the page (e.g. freeze it as a phone does
    /// when the screen sleeps).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    pub async fn accessibility_problems(&self) -> Vec<String> {
        let Some(source) =
            std::env::var_os("AXE_CORE_JS").and_then(|path| std::fs::read_to_string(path).ok())
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "the browser tests need axe-core in CI: run scripts/fetch-axe"
            );
            return Vec::new();
        };
        let loaded = self
            .script(&format!("{source}\n;return typeof window.axe;"), json!([]))
            .await;
        assert_eq!(loaded, "object", "axe-core did not load");
        let found = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({
                    "script": "var done = arguments[arguments.length - 1]; \
                        axe.run(document, { resultTypes: ['violations'] }).then(function (r) { \
                          done(r.violations.map(function (v) { return v.id + ': ' + v.help + ' (' + v.nodes.map(function (n) { return n.target.join(' '); }).join(', ') + ')'; })); \
                        }, function (e) { done(['axe failed: ' + e]); });",
                    "args": [],
                })),
            )
            .await;
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// Fail when axe-core finds a problem on the page, naming the page.
    pub async fn assert_accessible(&self, page: &str) {
        let problems = self.accessibility_problems().await;
        assert!(problems.is_empty(), "{page}: {problems:#?}");
        let small = self.small_fields().await;
        assert!(
            small.is_empty(),
            "{page}: fields a phone would zoom into or that are left unstyled: {small:#?}"
        );
    }

    /// Text fields shown on the page whose text is under 16 px (a phone zooms in to type) or
    /// that the stylesheet left at the browser's default look.
    pub async fn small_fields(&self) -> Vec<String> {
        let found = self
            .script(
                "var out = []; \
                 document.querySelectorAll('input, textarea, select').forEach(function (el) { \
                   var t = (el.getAttribute('type') || 'text').toLowerCase(); \
                   if (['hidden', 'checkbox', 'radio', 'submit', 'button'].indexOf(t) >= 0) return; \
                   if (!el.offsetParent) return; \
                   var cs = getComputedStyle(el); \
                   var size = parseFloat(cs.fontSize); \
                   if (size < 16 || cs.borderTopStyle === 'inset') { \
                     out.push((el.id || el.name || el.tagName) + ': ' + size + 'px, ' + cs.borderTopStyle + ' border'); \
                   } \
                 }); \
                 return out;",
                json!([]),
            )
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, "click", json!({})).await;
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Wait (up to ten seconds) until the page shows `text`; a click that submits a form
    /// returns before the next page has necessarily loaded.
    pub async fn wait_for(&self, text: &str) -> String {
        let mut page = String::new();
        for _ in 0..100 {
            page = self.source().await;
            if page.contains(text) {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {text:?}:\n{page}");
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A browser, or `None` (with a note) where none is installed; in CI a missing browser fails.
pub async fn browser_or_skip() -> Option<Browser> {
    match Browser::start().await {
        Ok(b) => Some(b),
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "skipping the browser test: {why} (apt-get install chromium chromium-driver)"
            );
            None
        }
        Err(why) => panic!("the browser test needs Chromium in CI: {why}"),
    }
}

#[tokio::test]
async fn signup_confirmation_and_rsvp_in_a_real_browser_on_a_phone() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let circle = app
        .create_circle(
            json!({ "name": "Slow Reading", "timezone": "Europe/London", "capacity": 8,
                               "description": "We read slowly and talk about it." }),
        )
        .await;
    let id = circle["id"].as_str().unwrap();
    let sessions = app
        .schedule(id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 3 }))
        .await;

    browser
        .goto(&format!("{}/c/slow-reading", app.address))
        .await;
    browser.screenshot("1-circle-page").await;
    browser.type_into("#display_name", "Ada Lovelace").await;
    browser.type_into("#email", "ada@example.org").await;
    browser
        .click("form[action$='/join#join'] button[type=submit]")
        .await;
    browser.wait_for("Check your email").await;
    browser.screenshot("2-check-your-email").await;

    app.run_pending_jobs().await;
    let confirm = app
        .sent_emails()
        .into_iter()
        .find(|m| m.subject.starts_with("Confirm your place"))
        .expect("a confirmation email");
    browser
        .goto(&format!(
            "{}{}",
            app.address,
            app.link_in(&confirm, "/confirm/")
        ))
        .await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("You are in").await;
    browser.screenshot("3-confirmed").await;

    app.run_pending_jobs().await;
    let invite = app
        .sent_emails()
        .into_iter()
        .find(|m| m.invites())
        .expect("an invitation");
    browser
        .goto(&format!(
            "{}{}",
            app.address,
            app.link_in(&invite, "/rsvp/")
        ))
        .await;
    // The browser told the page its zone (UTC in this headless run), and it is labelled.
    browser.wait_for("Will you come?").await;
    browser.click("button[value=yes]").await;
    browser.wait_for("Saved: Yes, I will come").await;
    browser.screenshot("4-rsvp-saved").await;

    // Exactly one of the three sessions has Ada's yes.
    let mut yes = 0;
    for s in &sessions {
        let answers = app
            .get(&format!(
                "/api/v1/sessions/{}/rsvps",
                s["id"].as_str().unwrap()
            ))
            .await
            .expect(200);
        yes += answers["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["display_name"] == "Ada Lovelace" && r["response"] == "yes")
            .count();
    }
    assert_eq!(yes, 1);
    browser.quit().await;
}

#[tokio::test]
async fn a_facilitator_runs_a_circle_from_the_dashboard_in_a_real_browser() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;

    // Sign in with the link from the outbox.
    browser.goto(&format!("{}/login", app.address)).await;
    browser.type_into("#email", "organiser@example.org").await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("a sign-in link is on its way").await;
    app.run_pending_jobs().await;
    let mail = app
        .sent_emails()
        .into_iter()
        .find(|m| m.subject == "Your Roundtable sign-in link")
        .expect("a sign-in email");
    browser
        .goto(&format!("{}{}", app.address, app.link_in(&mail, "/login/")))
        .await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("Your circles").await;

    // Create a circle in New York.
    browser
        .goto(&format!("{}/dashboard/circles/new", app.address))
        .await;
    browser.assert_accessible("new circle form").await;
    // Everything wrong at once: no name, no seats, a reminder of thirty days.
    browser.set_value("#capacity", "0").await;
    browser.set_value("#reminder_offset_minutes", "30").await;
    browser
        .click("form[action='/dashboard/circles'] button[type=submit]")
        .await;
    let page = browser.wait_for("3 things need correcting").await;
    for label in ["Name", "Seats", "Reminder before each session"] {
        assert!(page.contains(&format!(">{label}</a>:")), "{label}");
    }
    browser.assert_accessible("circle form with errors").await;
    browser.screenshot("dashboard-0-form-errors").await;
    browser.type_into("#name", "Spring Readers").await;
    browser.set_value("#capacity", "").await;
    browser.set_value("#reminder_offset_minutes", "1").await;
    // The zone list narrows as one types, then the zone is picked from it.
    browser.type_into("#timezone-filter", "new york").await;
    browser
        .click("#timezone option[value='America/New_York']")
        .await;
    browser
        .click("form[action='/dashboard/circles'] button[type=submit]")
        .await;
    browser.wait_for("Created Spring Readers.").await;
    browser.screenshot("dashboard-1-circle").await;
    let url = browser.url().await;
    let id = url
        .split("/dashboard/circles/")
        .nth(1)
        .unwrap()
        .split(['?', '/'])
        .next()
        .unwrap()
        .to_string();

    // Six weekly sessions at 19:00 that cross the change to daylight saving on 9 March 2031.
    browser
        .goto(&format!("{}/dashboard/circles/{id}/sessions", app.address))
        .await;
    browser.set_value("#first_date", "2031-02-20").await;
    browser.click("button[value=preview]").await;
    browser.wait_for("<h3>Preview</h3>").await;
    browser.click("button[value=create]").await;
    let page = browser.wait_for("6 sessions created").await;
    for date in [
        "Thursday 20 February 2031",
        "Thursday 6 March 2031",
        "Thursday 13 March 2031",
        "Thursday 27 March 2031",
    ] {
        assert!(
            page.contains(&format!("{date}, 19:00–20:30 (America/New_York)")),
            "{date}"
        );
    }
    browser.assert_accessible("sessions").await;
    browser.screenshot("dashboard-2-sessions").await;
    let sessions = app
        .get(&format!("/api/v1/circles/{id}/sessions"))
        .await
        .expect(200);
    let starts: Vec<&str> = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(starts[2], "2031-03-07T00:00:00Z", "19:00 EST");
    assert_eq!(starts[3], "2031-03-13T23:00:00Z", "19:00 EDT");

    // Thirty members, and Ada marked present at the first session from a phone: the page
    // comes back to her row, not to the top.
    browser
        .goto(&format!("{}/dashboard/circles/{id}/members", app.address))
        .await;
    let mut people: Vec<String> = (1..=29)
        .map(|i| format!("Reader {i:02} <reader{i:02}@example.org>"))
        .collect();
    people.push("Ada Lovelace <ada@example.org>".into());
    browser.type_into("#people", &people.join("\n")).await;
    browser
        .click("form[action$='/members'] button[type=submit]")
        .await;
    browser.wait_for("30 added").await;
    browser.assert_accessible("members").await;
    // The rota of six sessions fits a phone.
    browser
        .goto(&format!("{}/dashboard/circles/{id}/rota", app.address))
        .await;
    browser.wait_for("Rota").await;
    browser.assert_accessible("rota on a phone").await;
    let first = sessions["items"][0]["id"].as_str().unwrap();
    browser
        .goto(&format!("{}/dashboard/sessions/{first}", app.address))
        .await;
    browser.assert_accessible("session").await;
    // The last row of the roster, far below the first screen on a phone.
    let last = browser
        .script(
            "var rows = document.querySelectorAll('tr[id^=m-]'); var r = rows[rows.length - 1]; \
             return [r.id, r.querySelector('td').textContent.trim()];",
            json!([]),
        )
        .await;
    let (row, name) = (
        last[0].as_str().unwrap().to_string(),
        last[1].as_str().unwrap().to_string(),
    );
    browser.click(&format!("#{row} button[value=yes]")).await;
    browser.wait_for(&format!("{name} marked present.")).await;
    assert!(browser.url().await.ends_with(&format!("#{row}")));
    let place = browser
        .script(
            "var r = document.getElementById(arguments[0]).getBoundingClientRect(); \
             return [window.scrollY, r.top, r.bottom, window.innerHeight];",
            json!([row]),
        )
        .await;
    let [scrolled, top, bottom, height] = [0, 1, 2, 3].map(|i| place[i].as_f64().unwrap());
    assert!(scrolled > 0.0, "the page did not jump to the top: {place}");
    assert!(
        // A fraction of a pixel either way is rounding, not a jump.
        top >= -1.0 && bottom <= height + 1.0,
        "Ada's row is in view: {place}"
    );
    browser.screenshot("dashboard-3-attendance").await;
    let att = app
        .get(&format!("/api/v1/sessions/{first}/attendance"))
        .await
        .expect(200);
    assert!(att["items"].as_array().unwrap().iter().any(|a| format!(
        "m-{}",
        a["member_id"].as_str().unwrap()
    ) == row
        && a["attended"] == true));

    // The chart.
    browser
        .goto(&format!("{}/dashboard/circles/{id}/insights", app.address))
        .await;
    browser.wait_for("People present at each session").await;
    browser.assert_accessible("insights").await;
    browser.screenshot("dashboard-4-insights").await;
    browser.quit().await;
}

#[tokio::test]
async fn a_newcomer_joins_reads_what_the_circle_shared_and_leaves_on_a_phone() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let circle = app
        .create_circle(
            json!({ "name": "Braiding Sweetgrass", "timezone": "Europe/London",
                               "description": "We read slowly.\n\nEveryone leads once." }),
        )
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 8 }))
        .await;
    // Bo has been in the circle a while: the first session took place and he shared a
    // reflection on it.
    app.add_member(&id, "bo@example.org").await.expect(201);
    let first = sessions[0]["id"].as_str().unwrap();
    crate::experience::took_place(&app, first, 3).await;
    let links = app.links();
    let now = chrono::Utc::now();
    let bo = app.holder("bo@example.org").await;
    app.browser(
        reqwest::Method::POST,
        &app.path_of(&links.reflect(bo, first.parse().unwrap(), now)),
        Some(&[
            ("body", "The chapter on gifts changed how I see our garden."),
            ("visibility", "circle"),
        ]),
    )
    .await
    .expect(200);
    app.run_pending_jobs().await;
    let already_sent = app.sent_emails().len();

    // The public page: the way in comes first; Ada joins.
    browser
        .goto(&format!("{}/c/braiding-sweetgrass", app.address))
        .await;
    browser.assert_accessible("circle page").await;
    browser.type_into("#display_name", "Ada Lovelace").await;
    browser.type_into("#email", "ada@example.org").await;
    browser
        .click("form[action$='/join#join'] button[type=submit]")
        .await;
    browser.wait_for("Check your email").await;
    browser.assert_accessible("check your email").await;
    app.run_pending_jobs().await;
    let confirm = app
        .sent_emails()
        .into_iter()
        .find(|m| m.to.contains("ada@example.org") && m.subject.starts_with("Confirm your place"))
        .expect("a confirmation email");
    browser
        .goto(&format!(
            "{}{}",
            app.address,
            app.link_in(&confirm, "/confirm/")
        ))
        .await;
    browser.assert_accessible("confirm").await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("You are in").await;
    browser.assert_accessible("confirmed").await;
    browser.screenshot("member-1-confirmed").await;

    // Exactly one welcome arrives, however many sessions are scheduled, and it carries the
    // first session's invitation with its calendar entry: no second letter a minute later.
    app.run_pending_jobs().await;
    let to_ada: Vec<_> = app.sent_emails()[already_sent..]
        .iter()
        .filter(|m| m.to.contains("ada@example.org") && !m.subject.starts_with("Confirm"))
        .cloned()
        .collect();
    let subjects: Vec<&str> = to_ada.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["Welcome to Braiding Sweetgrass"]);
    assert!(to_ada[0].invites(), "the welcome carries the invitation");

    // From the confirmation, her view of the circle: where she stands and what was shared.
    browser.click("a[href*='/circles/']").await;
    let page = browser
        .wait_for("The chapter on gifts changed how I see our garden.")
        .await;
    assert!(page.contains("bo ·"), "with the author's name");
    browser.assert_accessible("member circle page").await;
    browser.screenshot("member-2-shared-reflections").await;

    // Leaving asks first and names what happens; only the confirmation acts.
    browser.click("a[href*='/leave?circle_id=']").await;
    browser.wait_for("Leave Braiding Sweetgrass?").await;
    browser.assert_accessible("leave confirmation").await;
    browser.screenshot("member-3-leave-confirmation").await;
    let ada = app.holder("ada@example.org").await.member;
    assert_eq!(
        member_state(&app, &id, ada).await.as_deref(),
        Some("active"),
        "asking changes nothing"
    );
    browser.click("form button[type=submit]").await;
    browser.wait_for("You have left Braiding Sweetgrass.").await;
    browser.assert_accessible("left").await;
    assert_ne!(
        member_state(&app, &id, ada).await.as_deref(),
        Some("active")
    );
    browser.quit().await;
}

/// A member's state in a circle, as the API reports it.
async fn member_state(
    app: &crate::helpers::TestApp,
    circle: &str,
    member: uuid::Uuid,
) -> Option<String> {
    let list = app
        .get(&format!("/api/v1/circles/{circle}/members"))
        .await
        .expect(200);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == member.to_string())
        .map(|m| m["state"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn the_timekeepers_page_counts_down_each_speaker_on_a_phone() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let circle = app
        .create_circle(
            json!({ "name": "Restore", "kind": "restorative_circle", "timezone": "Europe/London" }),
        )
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 1 }))
        .await;
    let sid = sessions[0]["id"].as_str().unwrap();
    for who in ["ada", "bo", "cy"] {
        let m = app
            .add_member(&id, &format!("{who}@example.org"))
            .await
            .expect(201);
        app.put(
            &format!(
                "/api/v1/sessions/{sid}/rsvps/{}",
                m["member_id"].as_str().unwrap()
            ),
            &json!({ "response": "yes" }),
        )
        .await
        .expect(200);
    }
    let ends = sessions[0]["ends_at"].as_str().unwrap().parse().unwrap();
    let link = app.links().agenda(
        app.holder("bo@example.org").await,
        sid.parse().unwrap(),
        ends,
    );
    browser
        .goto(&format!("{}{}", app.address, app.path_of(&link)))
        .await;
    let page = browser.wait_for("Rounds for Restore").await;
    assert!(!page.contains("Seed"), "members never see the draw's seed");
    browser.assert_accessible("agenda page").await;
    // Check-in: 10 minutes for three people is 3:20 each.
    browser.click(".start-round[data-round='0']").await;
    let started = std::time::Instant::now();
    // A tick may land between a click and the read, so each check allows one second.
    let seconds = |t: &str| {
        let (m, s) = t.split_once(':').expect("m:ss");
        m.parse::<i32>().unwrap() * 60 + s.parse::<i32>().unwrap()
    };
    let first = seconds(&text_of(&browser, "timer-clock").await);
    assert!((199..=200).contains(&first), "starts at 3:20: {first}");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let later = seconds(&text_of(&browser, "timer-clock").await);
    // A busy machine may run a tick late, but the clock only goes down, a second a tick.
    assert!(
        later < first && later >= first - 4,
        "the clock counts down: {first} → {later}"
    );
    // The phone sleeps for ten seconds (the page is frozen: no timer runs); when it wakes,
    // the clock shows the time that really passed.
    browser
        .cdp("Page.setWebLifecycleState", json!({ "state": "frozen" }))
        .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    browser
        .cdp("Page.setWebLifecycleState", json!({ "state": "active" }))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The clock shows whole seconds rounded up, from a tick a quarter of a second or so
    // before it is read: at least the time left after the read and at most a second more than
    // the time left before it, each with a second's allowance for a busy machine, as above. A
    // clock that slept with the phone would read ten seconds more.
    let before_read = 200.0 - started.elapsed().as_secs_f64();
    let woke = seconds(&text_of(&browser, "timer-clock").await);
    let after_read = 200.0 - started.elapsed().as_secs_f64();
    assert!(
        f64::from(woke) >= after_read - 1.0 && f64::from(woke) <= before_read + 2.0,
        "after ten seconds asleep the clock shows {woke}, not between {:.1} and {:.1}",
        after_read - 1.0,
        before_read + 2.0
    );
    // The speaker whose turn it is stands out in the order.
    let speaker = text_of(&browser, "timer-name").await;
    let current = browser
        .script(
            "var li = document.querySelector('.speakers li.current'); \
             return li ? [li.textContent, li.getAttribute('aria-current')] : null;",
            json!([]),
        )
        .await;
    assert_eq!(current, json!([speaker, "true"]));
    browser.click("#timer-next").await;
    assert_ne!(
        text_of(&browser, "timer-name").await,
        speaker,
        "the next speaker's turn"
    );
    let fresh = seconds(&text_of(&browser, "timer-clock").await);
    assert!(fresh >= 199, "each speaker gets the full time: {fresh}");
    browser.screenshot("timekeeper-countdown").await;

    // Reopening the page keeps the timer; Stop asks first, and only "Yes, stop" stops.
    browser
        .goto(&format!("{}{}", app.address, app.path_of(&link)))
        .await;
    browser.wait_for("Rounds for Restore").await;
    assert!(shown(&browser, "timer").await, "the timer carries on");
    let kept = seconds(&text_of(&browser, "timer-clock").await);
    assert!(
        (195..=200).contains(&kept),
        "the second speaker's time: {kept}"
    );
    browser.click("#timer-stop").await;
    assert!(shown(&browser, "timer-ask-stop").await, "Stop asks first");
    browser.assert_accessible("asking before stopping").await;
    browser.click("#timer-stop-no").await;
    assert!(!shown(&browser, "timer-ask-stop").await);
    assert!(shown(&browser, "timer").await, "keep going");
    browser.click("#timer-stop").await;
    browser.click("#timer-stop-yes").await;
    assert!(!shown(&browser, "timer").await, "stopped");
    browser.quit().await;
}

#[tokio::test]
async fn without_rounds_the_timekeepers_page_counts_down_the_session() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let circle = app
        .create_circle(
            json!({ "name": "Slow Reading", "kind": "book_club", "timezone": "Europe/London" }),
        )
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let sessions = app
        .schedule(&id, json!({ "freq": "weekly", "first_date": "2031-06-05", "local_time": "19:00", "duration_minutes": 90, "count": 1 }))
        .await;
    let sid = sessions[0]["id"].as_str().unwrap();
    app.add_member(&id, "bo@example.org").await.expect(201);
    let ends = sessions[0]["ends_at"].as_str().unwrap().parse().unwrap();
    let link = app.links().agenda(
        app.holder("bo@example.org").await,
        sid.parse().unwrap(),
        ends,
    );
    browser
        .goto(&format!("{}{}", app.address, app.path_of(&link)))
        .await;
    browser.wait_for("Timer for Slow Reading").await;
    browser.assert_accessible("session timer page").await;
    browser.click(".start-round").await;
    let seconds = |t: &str| {
        let (m, s) = t.split_once(':').expect("m:ss");
        m.parse::<i32>().unwrap() * 60 + s.parse::<i32>().unwrap()
    };
    // The whole session, 90 minutes; a tick may land between the click and the read.
    let first = seconds(&text_of(&browser, "timer-clock").await);
    assert!((5399..=5400).contains(&first), "starts at 90:00: {first}");
    assert_eq!(text_of(&browser, "timer-round").await, "The session");
    assert_eq!(text_of(&browser, "timer-next").await, "End");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let later = seconds(&text_of(&browser, "timer-clock").await);
    assert!(
        later < first && later >= first - 4,
        "the clock counts down: {first} → {later}"
    );
    browser.screenshot("timekeeper-session-timer").await;
    browser.quit().await;
}

/// Whether the element with this id is shown (not `hidden`).
async fn shown(browser: &Browser, id: &str) -> bool {
    browser
        .script(
            "return !document.getElementById(arguments[0]).hidden;",
            json!([id]),
        )
        .await
        == json!(true)
}

async fn text_of(browser: &Browser, id: &str) -> String {
    browser
        .script(
            "return document.getElementById(arguments[0]).textContent;",
            json!([id]),
        )
        .await
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_member_who_led_accepts_to_lead_a_sibling_on_a_phone() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let full = crate::growing::full_circle(&app).await;
    let proposal = app
        .post(
            &format!("/api/v1/circles/{}/siblings", full.circle),
            &json!({}),
        )
        .await
        .expect(201);
    let answer_by = proposal["asked"]["answer_by"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let link = app.links().grow(
        app.holder("p0@example.org").await,
        proposal["id"].as_str().unwrap().parse().unwrap(),
        answer_by,
    );
    browser
        .goto(&format!("{}{}", app.address, app.path_of(&link)))
        .await;
    browser.wait_for("Would you lead Small Room II?").await;
    browser.assert_accessible("grow page").await;
    // Item 7: the dates for the day and time chosen, shown before accepting.
    let before = app.snapshot().await;
    browser.set_value("#days", "2").await;
    browser.set_value("#time", "19:30").await;
    browser.click("button[value='preview']").await;
    let page = browser
        .wait_for("Small Room II's dates on the day and time you chose")
        .await;
    let first: chrono::DateTime<chrono::Utc> = full.coming[0]["starts_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let moved = (first + chrono::Duration::days(2))
        .format("%A %-d %B %Y")
        .to_string();
    assert!(
        page.contains(&format!("{moved}, 19:30–21:00 (UTC)")),
        "{moved}: {page}"
    );
    assert_eq!(
        browser
            .script("return document.getElementById('days').value;", json!([]))
            .await,
        json!("2"),
        "the choice is kept"
    );
    assert_eq!(before, app.snapshot().await, "a preview answers nothing");
    browser
        .assert_accessible("grow page, dates previewed")
        .await;
    browser.click("button[value='accept']").await;
    browser.wait_for("You lead Small Room II now").await;
    browser.assert_accessible("grow page, accepted").await;
    browser.screenshot("grow-accepted").await;
    browser.quit().await;
}

#[tokio::test]
async fn a_members_page_shows_what_waits_for_them_on_the_first_screen_of_a_phone() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({ "name": "Slow Reading", "timezone": "Europe/London" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let first = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    app.schedule(
        &id,
        json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                "duration_minutes": 90, "count": 8 }),
    )
    .await;
    app.add_member(&id, "ada@example.org").await.expect(201);
    let me = app
        .links()
        .me(app.holder("ada@example.org").await, chrono::Utc::now());
    browser
        .goto(&format!("{}{}", app.address, app.path_of(&me)))
        .await;
    let page = browser.wait_for("Waiting for you").await;
    assert!(page.contains("Will you come to Slow Reading on"), "{page}");
    browser.assert_accessible("member page").await;
    let placed = browser
        .script(
            "var w = document.getElementById('waiting').getBoundingClientRect(); \
             var first = document.querySelector('ul.waiting a.button').getBoundingClientRect(); \
             return [w.top < window.innerHeight, first.bottom <= window.innerHeight, \
                     document.querySelectorAll('details.more li').length];",
            json!([]),
        )
        .await;
    assert_eq!(
        placed,
        json!([true, true, 5]),
        "what waits, and its first button, on the first screen; three sessions, five more folded"
    );
    browser.screenshot("member-waiting-for-you").await;
    browser.quit().await;
}

/// Sign in to the dashboard as `email` (an organiser) with the link from the outbox.
async fn sign_in(browser: &Browser, app: &crate::helpers::TestApp, email: &str) {
    browser.goto(&format!("{}/login", app.address)).await;
    browser.type_into("#email", email).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("a sign-in link is on its way").await;
    app.run_pending_jobs().await;
    let mail = app
        .sent_emails()
        .into_iter()
        .rfind(|m| m.subject == "Your Roundtable sign-in link" && m.to.contains(email))
        .expect("a sign-in email");
    browser
        .goto(&format!("{}{}", app.address, app.link_in(&mail, "/login/")))
        .await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("Your circles").await;
}

/// Whether the page is wider than the window (it would scroll sideways on a phone).
async fn scrolls_sideways(browser: &Browser) -> bool {
    browser
        .script(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            json!([]),
        )
        .await
        .as_bool()
        .unwrap()
}

/// Issue 25, items 6, 8, 11 and 13 on a phone: the suggested roles ask first and name who
/// would be emailed; the rota of twelve sessions has no sideways scroll; a slot's Change page
/// says what Assign sends and Assign comes back to the session's block naming the person; the
/// session's page lists every holder; a tampered role link offers a new link to the member's
/// page. Axe runs on every page.
#[tokio::test]
async fn an_organiser_shapes_the_rota_on_a_phone() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let app = spawn_app().await;
    let circle = app
        .create_circle(json!({
            "name": "Seven", "timezone": "Europe/London", "facilitation": "rotating"
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/circles/{id}/members"),
        &json!({ "email": "fay@example.org", "display_name": "Fay Okafor", "role": "facilitator" }),
    )
    .await
    .expect(201);
    for name in ["Ada", "Bo", "Cy", "Di", "Ed", "Flo"] {
        app.post(
            &format!("/api/v1/circles/{id}/members"),
            &json!({ "email": format!("{}@example.org", name.to_lowercase()), "display_name": format!("{name} Longsurname-Hyphenated") }),
        )
        .await
        .expect(201);
    }
    let first = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let sessions = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 12 }),
        )
        .await;
    app.run_pending_jobs().await;
    sign_in(&browser, &app, "organiser@example.org").await;

    // Item 8 and 10: the suggested roles ask first, naming them and who would be emailed.
    browser
        .goto(&format!("{}/dashboard/circles/{id}/rota", app.address))
        .await;
    browser.wait_for("Add the suggested roles").await;
    let before = app.snapshot().await;
    browser
        .click(&format!(
            "form[action='/dashboard/circles/{id}/roles/suggested'] button"
        ))
        .await;
    let ask = browser
        .wait_for("Add Discussion lead, Timekeeper and Note-taker?")
        .await;
    assert!(ask.contains("With 7 people taking part"), "{ask}");
    assert_eq!(before, app.snapshot().await, "asking changed nothing");
    browser
        .assert_accessible("add the suggested roles, asked first")
        .await;
    browser.click("form.confirm button[type=submit]").await;
    browser
        .wait_for("Added Discussion lead, Timekeeper and Note-taker.")
        .await;

    // Item 11: twelve sessions, four roles each, no sideways scroll.
    assert!(!scrolls_sideways(&browser).await, "the rota fits a phone");
    browser.assert_accessible("rota on a phone").await;
    browser.screenshot("rota-phone").await;
    let third = sessions[2]["id"].as_str().unwrap();
    browser
        .click(&format!(
            "a[href='/dashboard/sessions/{third}/roles/timekeeper?slot=1']"
        ))
        .await;
    let page = browser.wait_for("Timekeeper on ").await;
    assert!(page.contains("gets one email saying so"), "{page}");
    assert!(!scrolls_sideways(&browser).await);
    browser.assert_accessible("a slot's change page").await;
    let ada = browser
        .script(
            "var o = Array.from(document.querySelectorAll('#member option')).find(o => o.textContent.startsWith('Ada')); return o.value;",
            json!([]),
        )
        .await;
    browser.set_value("#member", ada.as_str().unwrap()).await;
    let sent = app.sent_emails().len();
    browser.click("form.card button[type=submit]").await;
    browser
        .wait_for("Ada Longsurname-Hyphenated is the timekeeper on")
        .await;
    assert!(browser.url().await.ends_with(&format!("#s-{third}")));
    let place = browser
        .script(
            "var r = document.getElementById(arguments[0]).getBoundingClientRect(); \
             return [window.scrollY, r.top, window.innerHeight];",
            json!([format!("s-{third}")]),
        )
        .await;
    let [scrolled, top, height] = [0, 1, 2].map(|i| place[i].as_f64().unwrap());
    assert!(
        scrolled > 0.0 && top >= -1.0 && top < height,
        "the third session's block is in view: {place}"
    );
    app.run_pending_jobs().await;
    let told: Vec<String> = app.sent_emails()[sent..]
        .iter()
        .map(|m| format!("{} → {}", m.subject, m.to))
        .collect();
    assert_eq!(told.len(), 1, "one email, to Ada: {told:?}");
    assert!(told[0].contains("ada@example.org"), "{told:?}");

    // Item 8 for a member: Ada can't make the turn she holds; her page asks first and says
    // who will be emailed, and nothing changes until she says yes.
    let letter = app.sent_emails()[sent..][0].clone();
    let role_link = app.link_in(&letter, "/role/");
    browser.goto(&format!("{}{}", app.address, role_link)).await;
    browser.wait_for("you're confirmed").await;
    browser.assert_accessible("a held turn's page").await;
    let before = app.snapshot().await;
    browser.click("button[value='decline']").await;
    let ask = browser.wait_for("Give up").await;
    assert!(ask.contains("Ask someone to swap instead"), "{ask}");
    assert!(!scrolls_sideways(&browser).await);
    browser
        .assert_accessible("giving up a turn, asked first")
        .await;
    assert_eq!(before, app.snapshot().await, "asking first changes nothing");
    browser.click("form.confirm button[value='decline']").await;
    browser.wait_for("Thanks for letting us know").await;
    browser.assert_accessible("a turn given up").await;

    // Item 13: the session's page names every holder and where they stand.
    browser
        .goto(&format!("{}/dashboard/sessions/{third}", app.address))
        .await;
    let page = browser.wait_for("Timekeeper").await;
    assert!(page.contains("Ada Longsurname-Hyphenated"), "{page}");
    assert!(!scrolls_sideways(&browser).await);
    browser
        .assert_accessible("session page with its roles")
        .await;

    // Item 6: a tampered role link says what happened and offers a way back.
    browser
        .goto(&format!("{}/role/not-a-real-token", app.address))
        .await;
    let page = browser.wait_for("Get a new link to your page").await;
    assert!(
        !page.contains("See all open circles</a></p>\n</main>"),
        "{page}"
    );
    browser.assert_accessible("a tampered role link").await;
    browser.quit().await;
}
