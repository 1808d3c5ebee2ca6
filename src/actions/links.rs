//! Someone asks for a dashboard sign-in link or a personal link. Whatever the address, one
//! job is queued and nothing else happens here, so neither the answer nor its timing tells
//! whether the address is known; the job (`jobs::link_request`) looks the person up.

use diesel_async::AsyncPgConnection;

use crate::domain::EmailAddress;
use crate::error::AppResult;
use crate::jobs::link_request::LinkRequest;
pub use crate::jobs::link_request::RequestedLink;

/// Queue the request for `link` to `email`.
pub async fn request(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    link: RequestedLink,
) -> AppResult<()> {
    let request = LinkRequest::new(email, link);
    crate::db::jobs::enqueue(conn, request.into_job()).await?;
    Ok(())
}
