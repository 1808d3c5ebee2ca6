//! Swaps: a role holder asks someone else to take their role; offers go to a few members at
//! a time, in the rotation's order, and the first to take it wins.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{swap_offers, swap_requests};
use crate::domain::{MemberId, RoleId, SwapId};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = swap_requests, check_for_backend(diesel::pg::Pg))]
pub struct Swap {
    pub id: SwapId,
    pub session_role_id: RoleId,
    pub requester_id: Option<MemberId>,
    /// `open`, `taken` or `void`.
    pub status: String,
    pub taken_by: Option<MemberId>,
    pub session_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: SwapId) -> diesel::QueryResult<Option<Swap>> {
    swap_requests::table
        .find(id)
        .select(Swap::as_select())
        .first(conn)
        .await
        .optional()
}

/// The swap, locked: two people taking it at once take turns, and the second sees it taken.
pub async fn lock(conn: &mut AsyncPgConnection, id: SwapId) -> diesel::QueryResult<Option<Swap>> {
    swap_requests::table
        .find(id)
        .select(Swap::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn open_for(
    conn: &mut AsyncPgConnection,
    role: RoleId,
) -> diesel::QueryResult<Option<Swap>> {
    swap_requests::table
        .filter(swap_requests::session_role_id.eq(role))
        .filter(swap_requests::status.eq("open"))
        .select(Swap::as_select())
        .first(conn)
        .await
        .optional()
}

/// The latest swap of slot `role` that `requester` asked for and someone took: they gave
/// the role away.
pub async fn taken_from(
    conn: &mut AsyncPgConnection,
    role: RoleId,
    requester: MemberId,
) -> diesel::QueryResult<Option<Swap>> {
    swap_requests::table
        .filter(swap_requests::session_role_id.eq(role))
        .filter(swap_requests::requester_id.eq(requester))
        .filter(swap_requests::status.eq("taken"))
        .order(swap_requests::closed_at.desc())
        .select(Swap::as_select())
        .first(conn)
        .await
        .optional()
}

/// Open a swap for a slot; `None` when one is already open.
pub async fn open(
    conn: &mut AsyncPgConnection,
    role: RoleId,
    requester: MemberId,
    sequence: i32,
) -> diesel::QueryResult<Option<Swap>> {
    diesel::insert_into(swap_requests::table)
        .values((
            swap_requests::id.eq(SwapId::new()),
            swap_requests::session_role_id.eq(role),
            swap_requests::requester_id.eq(requester),
            swap_requests::session_sequence.eq(sequence),
        ))
        .on_conflict_do_nothing()
        .returning(Swap::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn close(
    conn: &mut AsyncPgConnection,
    id: SwapId,
    status: &str,
    taken_by: Option<MemberId>,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::update(swap_requests::table.find(id))
        .set((
            swap_requests::status.eq(status),
            swap_requests::taken_by.eq(taken_by),
            swap_requests::closed_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Void every open swap of the given slots (their session moved or was cancelled).
pub async fn void_for(
    conn: &mut AsyncPgConnection,
    roles: &[RoleId],
    at: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::update(
        swap_requests::table
            .filter(swap_requests::session_role_id.eq_any(roles))
            .filter(swap_requests::status.eq("open")),
    )
    .set((
        swap_requests::status.eq("void"),
        swap_requests::closed_at.eq(at),
    ))
    .execute(conn)
    .await
}

/// Who has been offered the swap, in order.
pub async fn offered(
    conn: &mut AsyncPgConnection,
    swap: SwapId,
) -> diesel::QueryResult<Vec<(MemberId, i32, DateTime<Utc>)>> {
    swap_offers::table
        .filter(swap_offers::swap_id.eq(swap))
        .order(swap_offers::rank)
        .select((
            swap_offers::member_id,
            swap_offers::rank,
            swap_offers::offered_at,
        ))
        .load(conn)
        .await
}

pub async fn offer(
    conn: &mut AsyncPgConnection,
    swap: SwapId,
    member: MemberId,
    rank: i32,
    at: DateTime<Utc>,
) -> diesel::QueryResult<bool> {
    diesel::insert_into(swap_offers::table)
        .values((
            swap_offers::swap_id.eq(swap),
            swap_offers::member_id.eq(member),
            swap_offers::rank.eq(rank),
            swap_offers::offered_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Open swaps whose last offers went out before `before`: time to offer to more people.
pub async fn stale_open(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> diesel::QueryResult<Vec<SwapId>> {
    swap_requests::table
        .filter(swap_requests::status.eq("open"))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            swap_offers::table
                .filter(swap_offers::swap_id.eq(swap_requests::id))
                .filter(swap_offers::offered_at.ge(before)),
        )))
        .select(swap_requests::id)
        .limit(200)
        .load(conn)
        .await
}
