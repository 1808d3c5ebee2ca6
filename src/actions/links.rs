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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit as kit;

    #[tokio::test]
    async fn a_request_queues_one_job_whoever_asks_and_however_often() {
        let conn = &mut kit::fresh_connection().await;
        let stranger = EmailAddress::parse("Nobody@Example.org").unwrap();
        let ada = kit::member(conn, "Ada").await;
        let known = EmailAddress::parse(&ada.email).unwrap();

        request(conn, &stranger, RequestedLink::SignIn)
            .await
            .unwrap();
        request(conn, &stranger, RequestedLink::SignIn)
            .await
            .unwrap();
        request(conn, &known, RequestedLink::Personal)
            .await
            .unwrap();

        let jobs = kit::queued(conn).await;
        assert_eq!(jobs.len(), 2, "{jobs:?}");
        assert!(jobs
            .iter()
            .all(|j| j.kind == crate::jobs::link_request::KIND));
        assert_eq!(jobs[0].payload["address"], "nobody@example.org");
        assert_eq!(jobs[1].payload["address"], "ada@example.org");
        // Nothing else happens here: the stranger is not made a member.
        let found = crate::db::members::find_by_email(conn, &stranger).await;
        assert!(found.unwrap().is_none());
    }
}
