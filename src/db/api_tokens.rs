//! API bearer tokens. Only a SHA-256 hash of each token is stored.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{api_tokens, members};
use crate::domain::{MemberId, TokenId};

/// Who a valid token speaks for.
#[derive(Debug, Clone, Copy)]
pub struct TokenOwner {
    pub token_id: TokenId,
    pub member_id: MemberId,
    pub organiser: bool,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    member_id: MemberId,
    name: &str,
    token_hash: &[u8],
) -> diesel::QueryResult<TokenId> {
    let id = TokenId::new();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(id),
            api_tokens::member_id.eq(member_id),
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(token_hash),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// The owner of an unrevoked token with this hash.
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> diesel::QueryResult<Option<TokenOwner>> {
    let row: Option<(TokenId, MemberId, bool, Option<DateTime<Utc>>)> = api_tokens::table
        .inner_join(members::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .select((
            api_tokens::id,
            api_tokens::member_id,
            members::organizer,
            api_tokens::last_used_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((token_id, member_id, organiser, last_used)) = row else {
        return Ok(None);
    };
    // Record use at most once a minute, so reads do not turn into a write each.
    let stale = last_used.is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1));
    if stale {
        diesel::update(api_tokens::table.find(token_id))
            .set(api_tokens::last_used_at.eq(Utc::now()))
            .execute(conn)
            .await?;
    }
    Ok(Some(TokenOwner {
        token_id,
        member_id,
        organiser,
    }))
}

/// A token as the organisers' list shows it: id, name, owner's address, created, last used,
/// revoked.
pub type Listed = (
    TokenId,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// The newest `limit` tokens with their owners' addresses.
pub async fn list(conn: &mut AsyncPgConnection, limit: i64) -> diesel::QueryResult<Vec<Listed>> {
    api_tokens::table
        .inner_join(members::table)
        .order(api_tokens::created_at.desc())
        .limit(limit)
        .select((
            api_tokens::id,
            api_tokens::name,
            members::email,
            api_tokens::created_at,
            api_tokens::last_used_at,
            api_tokens::revoked_at,
        ))
        .load(conn)
        .await
}

/// Revoke a token; false when there was no such live token.
pub async fn revoke(conn: &mut AsyncPgConnection, id: TokenId) -> diesel::QueryResult<bool> {
    diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
    .map(|n| n > 0)
}
