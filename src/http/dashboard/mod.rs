//! The facilitators' dashboard under `/dashboard`: server-rendered pages behind a magic-link
//! sign-in and a signed, encrypted cookie session. Every form carries a CSRF token and every
//! state change checks that the request came from this site's own pages.

mod agreements;
mod circles;
mod growing;
mod home;
mod insights;
mod leadership;
pub use leadership::chart_ends;
pub mod login;
mod members;
mod outbox;
mod readings;
mod reflections;
mod rota;
mod sessions;
mod tokens;

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use chrono::Utc;

use super::pages::PageError;
use super::AppState;
use crate::db::circles::Circle;
use crate::db::members as member_queries;
use crate::db::sessions::{self as session_queries, Session as CircleSession};
use crate::db::staff_sessions;
use crate::db::Connection;
use crate::domain::{CircleId, MemberId, SessionId};
use crate::error::AppError;
use crate::secrets::{constant_time_eq, random_token};

/// Who may use a route, for the authorisation matrix test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any organiser or facilitator.
    Staff,
    /// Organisers only.
    Organiser,
    /// Organisers, and facilitators of the circle (or session, reading, job) in the path.
    Circle,
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

macro_rules! dashboard_routes {
    ($($method:ident $path:literal => $handler:path, $access:ident;)*) => {
        /// Every dashboard route; `configure` registers exactly these.
        pub const ROUTES: &[RouteSpec] = &[
            $(RouteSpec { method: stringify!($method), path: $path, access: Access::$access },)*
        ];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

dashboard_routes! {
    get "/dashboard" => home::show, Staff;
    get "/dashboard/circles/new" => circles::new_form, Organiser;
    post "/dashboard/circles" => circles::create, Organiser;
    get "/dashboard/circles/{id}" => circles::show, Circle;
    post "/dashboard/circles/{id}" => circles::update, Circle;
    get "/dashboard/circles/{id}/members" => members::list, Circle;
    post "/dashboard/circles/{id}/members" => members::add, Circle;
    post "/dashboard/circles/{id}/members/import" => members::import, Circle;
    post "/dashboard/circles/{id}/members/{member_id}" => members::change, Circle;
    get "/dashboard/circles/{id}/sessions" => sessions::list, Circle;
    post "/dashboard/circles/{id}/schedules" => sessions::schedule, Circle;
    get "/dashboard/sessions/{id}" => sessions::show, Circle;
    post "/dashboard/sessions/{id}" => sessions::update, Circle;
    post "/dashboard/sessions/{id}/cancel" => sessions::cancel, Circle;
    post "/dashboard/sessions/{id}/attendance" => sessions::attendance, Circle;
    get "/dashboard/circles/{id}/readings" => readings::list, Circle;
    post "/dashboard/circles/{id}/readings" => readings::add, Circle;
    post "/dashboard/readings/{id}/move" => readings::move_reading, Circle;
    post "/dashboard/readings/{id}/chapters" => readings::chapters, Circle;
    post "/dashboard/circles/{id}/reading-plan" => readings::set_plan, Circle;
    get "/dashboard/circles/{id}/reflections" => reflections::page, Circle;
    get "/dashboard/circles/{id}/rota" => rota::page, Circle;
    post "/dashboard/circles/{id}/agenda" => rota::save_agenda, Circle;
    post "/dashboard/circles/{id}/roles" => rota::add_role, Circle;
    post "/dashboard/circles/{id}/roles/suggested" => rota::add_suggested, Circle;
    post "/dashboard/circles/{id}/roles/{key}/edit" => rota::edit_role, Circle;
    post "/dashboard/circles/{id}/roles/{key}/remove" => rota::remove_role, Circle;
    get "/dashboard/sessions/{id}/roles/{role}" => rota::slot_page, Circle;
    post "/dashboard/sessions/{id}/roles/{role}" => rota::assign, Circle;
    get "/dashboard/circles/{id}/export/ledger.csv" => rota::export_ledger, Circle;
    get "/dashboard/circles/{id}/outbox" => outbox::page, Circle;
    post "/dashboard/jobs/{id}/retry" => outbox::retry_job, Circle;
    get "/dashboard/circles/{id}/insights" => insights::page, Circle;
    get "/dashboard/circles/{id}/insights/attendance.svg" => insights::attendance_svg, Circle;
    get "/dashboard/circles/{id}/insights/rsvps.svg" => insights::rsvp_svg, Circle;
    get "/dashboard/circles/{id}/export/members.csv" => circles::export_members, Circle;
    get "/dashboard/circles/{id}/export/attendance.csv" => circles::export_attendance, Circle;
    get "/dashboard/circles/{id}/agreements" => agreements::page, Circle;
    post "/dashboard/agreements/{id}/rounds" => agreements::open_round, Circle;
    get "/dashboard/circles/{id}/growing" => growing::page, Circle;
    post "/dashboard/circles/{id}/growing" => growing::set_threshold, Circle;
    post "/dashboard/circles/{id}/siblings" => growing::start, Organiser;
    post "/dashboard/circles/{id}/siblings/withdraw" => growing::withdraw, Organiser;
    get "/dashboard/leadership" => leadership::page, Organiser;
    get "/dashboard/leadership/spread.svg" => leadership::chart, Organiser;
    get "/dashboard/leadership.csv" => leadership::csv, Organiser;
    get "/dashboard/tokens" => tokens::list, Organiser;
    post "/dashboard/tokens" => tokens::create, Organiser;
    post "/dashboard/tokens/{id}/revoke" => tokens::revoke, Organiser;
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login::form))
        .route("/login", web::post().to(login::request))
        .route("/login/{token}", web::get().to(login::show))
        .route("/login/{token}", web::post().to(login::sign_in))
        .route("/logout", web::post().to(login::sign_out));
    register(cfg);
}

/// A dashboard failure: sign in first, or a page explaining what went wrong.
#[derive(Debug)]
pub enum DashError {
    SignIn(String),
    Page(PageError),
}

impl std::fmt::Display for DashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn(_) => f.write_str("sign in first"),
            Self::Page(p) => p.fmt(f),
        }
    }
}

impl ResponseError for DashError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) => StatusCode::SEE_OTHER,
            Self::Page(p) => p.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn(next) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/login?next={}", urlencode(next))))
                .finish(),
            Self::Page(p) => p.error_response(),
        }
    }
}

impl<E: Into<PageError>> From<E> for DashError {
    fn from(e: E) -> Self {
        Self::Page(e.into())
    }
}

pub type DashResult = Result<HttpResponse, DashError>;

fn forbidden(message: &str) -> DashError {
    DashError::Page(PageError::new(
        StatusCode::FORBIDDEN,
        "Not allowed",
        message,
    ))
}

fn not_found() -> DashError {
    DashError::Page(PageError::not_found())
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A signed-in organiser or facilitator.
pub struct Staff {
    /// The `staff_sessions` row this request was accepted under.
    pub session_id: uuid::Uuid,
    pub member_id: MemberId,
    pub name: String,
    pub organiser: bool,
    pub csrf: String,
}

/// Staff pages (the dashboard and sign-in) tell our own server where a form came from: with
/// `no-referrer` browsers send `Origin: null`, which the origin check (rightly) refuses.
/// Cross-origin requests still get no referrer, so sign-in links never leak.
pub fn same_origin_referrer<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: actix_web::dev::Service<
        actix_web::dev::ServiceRequest,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let path = req.path();
    let staff_page =
        path.starts_with("/dashboard") || path.starts_with("/login") || path == "/logout";
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        if staff_page {
            res.headers_mut().insert(
                header::REFERRER_POLICY,
                header::HeaderValue::from_static("same-origin"),
            );
        }
        Ok(res)
    }
}

/// A state change must come from one of our own pages: if the browser names an origin, its
/// host must be the host the request was sent to (`Origin: null` names none, so it fails).
pub(crate) fn same_origin(req: &HttpRequest) -> bool {
    let host = req.connection_info().host().to_ascii_lowercase();
    let named = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match named {
        None => true,
        Some(origin) => {
            let after_scheme = origin.split("://").nth(1).unwrap_or("");
            let origin_host = after_scheme
                .split('/')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            origin_host == host
        }
    }
}

impl FromRequest for Staff {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, DashError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let next = req.uri().to_string();
        let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD);
        let cross_site = unsafe_method && !same_origin(req);
        Box::pin(async move {
            if cross_site {
                return Err(forbidden(
                    "This request came from another site, so it was refused.",
                ));
            }
            let state = state.ok_or_else(|| {
                DashError::Page(AppError::Internal(anyhow::anyhow!("no app state")).into())
            })?;
            let sign_in = || {
                DashError::SignIn(if unsafe_method {
                    "/dashboard".into()
                } else {
                    next.clone()
                })
            };
            let id: Option<uuid::Uuid> = session.get("sid").unwrap_or(None);
            let seen: Option<i64> = session.get("seen").unwrap_or(None);
            let now = Utc::now();
            let (Some(id), Some(seen)) = (id, seen) else {
                return Err(sign_in());
            };
            let idle_limit = i64::from(state.settings.http.session_idle_hours) * 3600;
            if now.timestamp() - seen > idle_limit {
                session.purge();
                return Err(sign_in());
            }
            let mut conn = state.pool.get().await?;
            // The row, not the cookie, decides: a session that was signed out (here or
            // everywhere) or is past its absolute lifetime is refused even if the cookie is not.
            let Some(m) = staff_sessions::live_member(&mut conn, id, now).await? else {
                session.purge();
                return Err(sign_in());
            };
            let member_id = m.id;
            if !m.organiser && !member_queries::is_staff(&mut conn, member_id).await? {
                staff_sessions::end(&mut conn, id).await?;
                session.purge();
                return Err(forbidden(
                    "You no longer organise or facilitate any circle.",
                ));
            }
            let _ = session.insert("seen", now.timestamp());
            let csrf = match session.get::<String>("csrf").unwrap_or(None) {
                Some(t) => t,
                None => {
                    let t = random_token(24);
                    let _ = session.insert("csrf", &t);
                    t
                }
            };
            Ok(Staff {
                session_id: id,
                member_id,
                name: m.display_name,
                organiser: m.organiser,
                csrf,
            })
        })
    }
}

impl Staff {
    /// Refuse a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), DashError> {
        if constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes()) {
            Ok(())
        } else {
            Err(forbidden(
                "This form has expired or came from elsewhere. Reload the page and try again.",
            ))
        }
    }

    pub fn require_organiser(&self) -> Result<(), DashError> {
        if self.organiser {
            Ok(())
        } else {
            Err(forbidden("Only organisers can do this."))
        }
    }

    /// A circle this person runs (anything else reads as not found).
    pub async fn circle(&self, conn: &mut Connection, id: CircleId) -> Result<Circle, DashError> {
        let runner = crate::http::access::Runner {
            member: self.member_id,
            organiser: self.organiser,
        };
        runner.circle(conn, id).await?.ok_or_else(not_found)
    }

    pub async fn session(
        &self,
        conn: &mut Connection,
        id: SessionId,
    ) -> Result<(CircleSession, Circle), DashError> {
        let session = session_queries::find(conn, id)
            .await?
            .ok_or_else(not_found)?;
        let circle = self.circle(conn, session.circle_id).await?;
        Ok((session, circle))
    }
}

/// Where the layout's navigation points and what it shows.
pub struct Nav {
    pub user: String,
    pub organiser: bool,
    pub csrf: String,
    pub circle: Option<(String, String)>,
    pub tab: &'static str,
}

pub struct Tab {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

impl Nav {
    pub fn tabs(&self) -> Vec<Tab> {
        [
            ("overview", "Overview", ""),
            ("members", "Members", "/members"),
            ("sessions", "Sessions", "/sessions"),
            ("readings", "Readings", "/readings"),
            ("reflections", "Reflections", "/reflections"),
            ("rota", "Rota", "/rota"),
            ("agreements", "Agreements", "/agreements"),
            ("outbox", "Outbox", "/outbox"),
            ("insights", "Insights", "/insights"),
            ("growing", "Growing", "/growing"),
        ]
        .into_iter()
        .map(|(key, label, href)| Tab {
            label,
            href,
            current: key == self.tab,
        })
        .collect()
    }

    pub fn new(staff: &Staff) -> Self {
        Self {
            user: staff.name.clone(),
            organiser: staff.organiser,
            csrf: staff.csrf.clone(),
            circle: None,
            tab: "",
        }
    }

    pub fn circle(staff: &Staff, circle: &Circle, tab: &'static str) -> Self {
        Self {
            circle: Some((circle.id.to_string(), circle.name.clone())),
            tab,
            ..Self::new(staff)
        }
    }
}

/// Back to a page after a change, with a short note for it to show.
pub fn see_other(location: &str, note: &str) -> HttpResponse {
    see_other_at(location, note, None)
}

/// [`see_other`], scrolled to the element `row` (an id on the page), so a long page on a phone
/// comes back where the person was.
pub fn see_other_at(location: &str, note: &str, row: Option<&str>) -> HttpResponse {
    let sep = if location.contains('?') { '&' } else { '?' };
    let fragment = row.map(|r| format!("#{r}")).unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{location}{sep}note={}{fragment}", urlencode(note)),
        ))
        .finish()
}

#[derive(Debug, serde::Deserialize)]
pub struct NoteQuery {
    pub note: Option<String>,
    pub page: Option<i64>,
}

/// The dashboard's session cookie: encrypted and signed with a key derived from the token key,
/// `HttpOnly`, `SameSite=Lax`, `Secure` over https, kept by the browser for the idle timeout.
/// It holds only the id of a `staff_sessions` row, which the server checks on every request.
pub fn session_middleware(
    key_material: &str,
    https: bool,
    idle_hours: u32,
) -> actix_session::SessionMiddleware<actix_session::storage::CookieSessionStore> {
    use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
    use sha2::{Digest, Sha512};
    let mut hasher = Sha512::new();
    hasher.update(b"roundtable dashboard sessions\0");
    hasher.update(key_material.as_bytes());
    let key = actix_web::cookie::Key::from(&hasher.finalize()[..]);
    actix_session::SessionMiddleware::builder(
        actix_session::storage::CookieSessionStore::default(),
        key,
    )
    .cookie_name("roundtable_session".into())
    .cookie_secure(https)
    .cookie_http_only(true)
    .cookie_same_site(actix_web::cookie::SameSite::Lax)
    .cookie_content_security(CookieContentSecurity::Private)
    .session_lifecycle(
        PersistentSession::default()
            .session_ttl(actix_web::cookie::time::Duration::hours(i64::from(
                idle_hours,
            )))
            .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
    )
    .build()
}

/// The session of a request, for handlers that start or end one.
pub fn session_of(req: &HttpRequest) -> Session {
    req.get_session()
}

/// "Are you sure?" for an action that cannot be undone: the first POST shows this page, and
/// only its own form (which adds `confirm=yes`) acts.
#[derive(askama::Template)]
#[template(path = "pages/dashboard/confirm.html")]
pub struct ConfirmPage {
    pub nav: Nav,
    pub note: Option<String>,
    pub title: String,
    pub paragraphs: Vec<String>,
    /// Where the confirming form posts, and the fields it carries besides `csrf`.
    pub action: String,
    pub fields: Vec<(&'static str, String)>,
    pub confirm_label: String,
    pub back: String,
    pub back_label: &'static str,
}

/// Whether a form came from a [`ConfirmPage`].
pub fn confirmed(value: &str) -> bool {
    value == "yes"
}

/// Every problem of a submitted form, each named by its field's label, so the page can list
/// them all at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<(&'static str, String)>);

impl Problems {
    /// The value, or `None` with the problem noted under `label`.
    pub fn check<T>(
        &mut self,
        label: &'static str,
        r: Result<T, crate::domain::Invalid>,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push((label, e.message));
                None
            }
        }
    }
}

/// A form that carries nothing but its CSRF token (a button that acts).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}
