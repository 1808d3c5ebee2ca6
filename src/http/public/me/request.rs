//! Asking for a personal link: the form, and the request (one queued job, whatever the
//! address).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use serde::Deserialize;

use crate::actions::links::{self, RequestedLink};
use crate::domain::EmailAddress;
use crate::http::public::{render, render_status, PageResult};
use crate::http::rate_limit::FormLimits;
use crate::http::AppState;

#[derive(Template)]
#[template(path = "pages/me_request.html")]
struct RequestPage {
    email: String,
    error: Option<String>,
    sent: bool,
}

pub async fn request_form() -> PageResult {
    render(RequestPage {
        email: String::new(),
        error: None,
        sent: false,
    })
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

/// Email a fresh personal link. The answer does not say whether the address is known.
pub async fn request_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RequestForm>,
) -> PageResult {
    let limits = FormLimits::new(&state.limiter, &state.settings.limits, "me", &req);
    limits.check_client()?;
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                RequestPage {
                    email: form.email.clone(),
                    error: Some(format!("The email address {}.", e.message)),
                    sent: false,
                },
            )
        }
    };
    limits.check_address(&email)?;
    // The same single insert whether or not the address is known; the job decides.
    let mut conn = state.pool.get().await?;
    links::request(&mut conn, &email, RequestedLink::Personal).await?;
    render(RequestPage {
        email: String::new(),
        error: None,
        sent: true,
    })
}
