//! The HTML kit that public pages and the dashboard share: the error page (and the frame an
//! error is shown in, by where the person was), rendering a template with a status, the form
//! limits, and how a session's time reads.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::tokens::TokenError;
use crate::error::AppError;

/// Form bodies: at most [`super::MAX_BODY_BYTES`], and a page of our own when one cannot be read.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(super::MAX_BODY_BYTES)
        .error_handler(|err, _req| {
            use actix_web::error::UrlencodedError;
            match err {
                UrlencodedError::Overflow { .. } => PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "That was more than a form can hold",
                    format!(
                        "A form can carry up to {} KB. Nothing was saved: go back, shorten the \
                         longest field (a long description or a pasted list) and send it again.",
                        super::MAX_BODY_BYTES / 1024
                    ),
                ),
                other => PageError::new(
                    StatusCode::BAD_REQUEST,
                    "That form could not be read",
                    format!("Nothing was saved. Please go back and try again ({other})."),
                ),
            }
            .into()
        })
}

/// A page's address that cannot be read (an unknown key, a word where a number goes): a page
/// of our own saying which part, with 400. The API answers in JSON instead (its own config).
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        use actix_web::error::QueryPayloadError;
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        PageError::new(
            StatusCode::BAD_REQUEST,
            "That address could not be read",
            format!("Part of the address after the question mark is not one this page knows ({detail}). Nothing was changed."),
        )
        .into()
    })
}

/// What an error page said, kept on the response so [`error_context`] can put it in the
/// frame of the part of Roundtable the person was using.
#[derive(Debug, Clone)]
struct Shown {
    title: String,
    message: String,
}

#[derive(Template)]
#[template(path = "pages/dashboard/error.html")]
struct DashErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    back: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct MemberErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    links: Vec<(&'static str, &'static str)>,
}

/// The page a dashboard user came from, when it is one of this site's dashboard pages.
fn came_from(req: &HttpRequest) -> Option<String> {
    let referer = req
        .headers()
        .get(actix_web::http::header::REFERER)?
        .to_str()
        .ok()?;
    let host = req.connection_info().host().to_ascii_lowercase();
    let after_scheme = referer.split_once("://")?.1;
    let (origin, path) = after_scheme.split_at(after_scheme.find('/')?);
    // A page that failed to load is no way back; a form posted from a page is.
    let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    let reloads = req.method() == actix_web::http::Method::GET && path == here;
    (origin.eq_ignore_ascii_case(&host) && path.starts_with("/dashboard") && !reloads)
        .then(|| path.to_string())
}

/// The pages members reach from links in their email: an error on one says what happened and
/// how to get a working link.
const MEMBER_LINKS: [&str; 13] = [
    "/me/",
    "/rsvp/",
    "/reflect/",
    "/confirm/",
    "/unsubscribe/",
    "/role/",
    "/swap/",
    "/handoff/",
    "/feedback/",
    "/consent/",
    "/agenda/",
    "/grow/",
    "/attendance/",
];

/// Error pages that know where the person was: under `/dashboard` they keep the dashboard's
/// navigation and link back to the page the person came from; on a member's link they point
/// to asking for a new personal link.
pub fn error_context<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<
    Output = Result<
        actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>,
        actix_web::Error,
    >,
> + use<S, B>
where
    S: actix_web::dev::Service<
        actix_web::dev::ServiceRequest,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let path = req.path().to_string();
    let dashboard = path.starts_with("/dashboard");
    let member_link = MEMBER_LINKS.iter().any(|p| path.starts_with(p));
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        let shown = res.response().extensions().get::<Shown>().cloned();
        let Some(shown) = shown.filter(|_| dashboard || member_link) else {
            return Ok(res.map_into_left_body());
        };
        let body = if dashboard {
            DashErrorPage {
                title: &shown.title,
                message: &shown.message,
                back: came_from(res.request()),
            }
            .render()
        } else {
            MemberErrorPage {
                title: &shown.title,
                message: &shown.message,
                links: vec![
                    ("/me", "Get a new link to your page"),
                    ("/", "See all open circles"),
                ],
            }
            .render()
        };
        let Ok(body) = body else {
            return Ok(res.map_into_left_body());
        };
        let mut page = HttpResponse::build(res.status())
            .content_type("text/html; charset=utf-8")
            .body(body);
        for (name, value) in res.headers() {
            if name != actix_web::http::header::CONTENT_TYPE
                && name != actix_web::http::header::CONTENT_LENGTH
            {
                page.headers_mut().append(name.clone(), value.clone());
            }
        }
        Ok(res.into_response(page).map_into_right_body())
    }
}

/// A friendly HTML error page with a proper status.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: String,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    links: Vec<(&'static str, &'static str)>,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing at this address. The circle may have closed or moved.",
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "This link no longer works", message)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorPage {
            title: &self.title,
            message: &self.message,
            links: vec![("/", "See all open circles")],
        }
        .render()
        .unwrap_or_else(|_| self.message.clone());
        let mut res = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        let mut res = res.content_type("text/html; charset=utf-8").body(body);
        res.extensions_mut().insert(Shown {
            title: self.title.clone(),
            message: self.message.clone(),
        });
        res
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        let status = e.status_code();
        match &e {
            // Read again on the primary: the page may not fail at all (`db::replica`).
            AppError::Internal(_) | AppError::Unavailable(_)
                if crate::db::replica::reading_on_replica() =>
            {
                tracing::debug!(error = ?e, "a read failed on the replica")
            }
            AppError::Internal(_) => tracing::error!(error = ?e, "page failed"),
            AppError::Unavailable(_) => tracing::warn!(error = ?e, "page failed"),
            _ => {}
        }
        match e {
            AppError::NotFound(_) => Self::not_found(),
            AppError::TooManyRequests(secs) => Self {
                retry_after: Some(secs),
                ..Self::new(
                    status,
                    "Slow down, please",
                    format!(
                        "Too many attempts from here. Please try again in {} minutes.",
                        secs.div_ceil(60)
                    ),
                )
            },
            AppError::Gone(message) => Self::gone(message),
            AppError::Limited {
                message,
                retry_after,
            } => Self {
                retry_after: Some(retry_after),
                ..Self::new(status, "Not just now", message)
            },
            AppError::Unavailable(_) => Self::new(
                status,
                "Back in a moment",
                "Roundtable cannot reach its database right now. Please try again shortly.",
            ),
            AppError::Internal(_) => Self::new(
                status,
                "Something went wrong",
                "This is our fault, not yours. Please try again later.",
            ),
            other => Self::new(status, "That did not work", other.to_string()),
        }
    }
}

impl crate::db::replica::ReadFailure for PageError {
    fn on_replica(&self) -> crate::db::replica::OnReplica {
        use crate::db::replica::OnReplica;
        match self.status {
            StatusCode::NOT_FOUND => OnReplica::AskPrimary,
            s if s.is_server_error() => OnReplica::Distrust,
            _ => OnReplica::Answer,
        }
    }
}

impl From<diesel::result::Error> for PageError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl From<crate::db::PoolError> for PageError {
    fn from(e: crate::db::PoolError) -> Self {
        AppError::from(e).into()
    }
}

impl From<TokenError> for PageError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => Self::gone("This link has expired. Ask for a fresh one from your personal page or your circle's facilitator."),
            other => Self::new(
                StatusCode::BAD_REQUEST,
                "This link is not valid",
                format!("{}. Please use the link exactly as it arrived in your email.", capitalise(&other.to_string())),
            ),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub type PageResult = Result<HttpResponse, PageError>;

/// Render a page with status 200.
pub fn render(page: impl Template) -> PageResult {
    render_status(StatusCode::OK, page)
}

pub fn render_status(status: StatusCode, page: impl Template) -> PageResult {
    let body = page.render().map_err(|e| {
        PageError::from(AppError::Internal(anyhow::anyhow!("rendering a page: {e}")))
    })?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// "Thursday 4 March 2027, 19:00–20:30 (Europe/London)".
pub fn when(starts: DateTime<Utc>, ends: DateTime<Utc>, zone: Tz) -> String {
    crate::email::when::describe_time(starts, ends, zone)
}
