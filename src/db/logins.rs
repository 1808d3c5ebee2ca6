//! One-time sign-in links for the dashboard. Only hashes are stored; a link works once,
//! for 15 minutes.

use chrono::{DateTime, Duration, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::facilitator_logins;
use crate::domain::MemberId;

pub const LIFETIME: Duration = Duration::minutes(15);

/// A fresh one-time sign-in link for `member` under `base` (the service's public address):
/// a random token whose hash is stored, so the link in the email is the only copy.
pub async fn new_link(
    conn: &mut AsyncPgConnection,
    base: &str,
    member: MemberId,
) -> diesel::QueryResult<String> {
    let token = crate::secrets::random_token(32);
    create(
        conn,
        member,
        &crate::secrets::hash_token(&token),
        Utc::now(),
    )
    .await?;
    Ok(format!("{base}/login/{token}"))
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::insert_into(facilitator_logins::table)
        .values((
            facilitator_logins::id.eq(uuid::Uuid::now_v7()),
            facilitator_logins::member_id.eq(member),
            facilitator_logins::token_hash.eq(token_hash),
            facilitator_logins::expires_at.eq(now + LIFETIME),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The member an unused, unexpired link belongs to (without using it up).
pub async fn peek(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> diesel::QueryResult<Option<MemberId>> {
    facilitator_logins::table
        .filter(facilitator_logins::token_hash.eq(token_hash))
        .filter(facilitator_logins::used_at.is_null())
        .filter(facilitator_logins::expires_at.gt(Utc::now()))
        .select(facilitator_logins::member_id)
        .first(conn)
        .await
        .optional()
}

/// Use a link up: succeeds once, atomically, while it is valid, and retires every other
/// unused link of the same person (an older email lying in an inbox signs nobody in).
pub async fn consume(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> diesel::QueryResult<Option<MemberId>> {
    let now = Utc::now();
    let member = diesel::update(
        facilitator_logins::table
            .filter(facilitator_logins::token_hash.eq(token_hash))
            .filter(facilitator_logins::used_at.is_null())
            .filter(facilitator_logins::expires_at.gt(now)),
    )
    .set(facilitator_logins::used_at.eq(Some(now)))
    .returning(facilitator_logins::member_id)
    .get_result(conn)
    .await
    .optional()?;
    if let Some(member) = member {
        diesel::update(
            facilitator_logins::table
                .filter(facilitator_logins::member_id.eq(member))
                .filter(facilitator_logins::used_at.is_null()),
        )
        .set(facilitator_logins::used_at.eq(Some(now)))
        .execute(conn)
        .await?;
    }
    Ok(member)
}
