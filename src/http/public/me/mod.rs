//! A member's own page, reached from a personal link: their circles, upcoming sessions and
//! answers, reflections, feedback received, agreements, calendar feed, email preferences,
//! leaving, exporting everything, and deleting themselves. Changes are POSTs that redirect
//! back to the page. One file per page or feature on it: asking for a link (`request`), the
//! page itself (`page`), its settings forms (`settings`), leaving a circle (`leave`), one
//! circle as the member sees it (`circle`), their data (`data`: export and deletion), the
//! feedback they received and the form to report an answer (`feedback`), and their circles'
//! agreements and open consent rounds with the forms to acknowledge and propose
//! (`agreements`).

mod agreements;
mod circle;
mod data;
mod feedback;
mod leave;
mod page;
mod request;
mod settings;
mod waiting;

use actix_web::HttpResponse;

use crate::domain::{CircleId, MembershipState, RsvpResponse};
use crate::error::AppError;
use crate::http::public::PageError;

pub use agreements::{acknowledge, propose};
pub use circle::circle;
pub use data::{confirm_delete, delete, export};
pub use feedback::report;
pub use leave::{confirm_leave, leave};
pub use page::show;
pub use request::{request_form, request_link};
pub use settings::{preferences, reset_calendar, retire_links, rotation};

/// A coming session with the member's answer, on the page and on a circle's page.
struct SessionLine {
    circle: String,
    when: String,
    answer: &'static str,
    rsvp_url: String,
}

/// A membership's state as its member reads it on their own pages (the dashboard's roster
/// words it for staff: `roster_state_label`).
fn membership_label(s: MembershipState, position: Option<i32>) -> String {
    match s {
        MembershipState::Active => "member".into(),
        MembershipState::Pending => "waiting for your confirmation".into(),
        MembershipState::Waitlisted => format!("waitlist position {}", position.unwrap_or(1)),
        MembershipState::Left => "left".into(),
    }
}

fn back_to_page(token: &str, saved: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/me/{token}?saved={saved}")))
        .finish()
}

fn circle_of(form: &str) -> Result<CircleId, PageError> {
    form.parse()
        .map(CircleId)
        .map_err(|_| AppError::invalid("circle_id", "is not a circle").into())
}

fn answer_label(answer: Option<RsvpResponse>) -> &'static str {
    match answer {
        Some(RsvpResponse::Yes) => "yes",
        Some(RsvpResponse::No) => "no",
        Some(RsvpResponse::Maybe) => "maybe",
        None => "none yet",
    }
}
