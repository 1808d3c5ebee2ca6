//! Signing in to the dashboard with a one-time link.

use chrono::Utc;

use crate::auth::{hash_token, random_token};
use crate::db::{logins, Connection};
use crate::domain::MemberId;

/// A fresh one-time sign-in link for a member, under `base` (the service's public address).
/// Only the token's hash is stored.
pub async fn new_link(
    conn: &mut Connection,
    base: &str,
    member: MemberId,
) -> diesel::QueryResult<String> {
    let token = random_token(32);
    logins::create(conn, member, &hash_token(&token), Utc::now()).await?;
    Ok(format!("{base}/login/{token}"))
}
