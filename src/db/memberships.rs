//! Who belongs to which circle, in which role and state, and the waitlist's order: the rows
//! and the queries over them. The rules that change seats (and the mail they cause) are in
//! `actions::membership`, which runs these inside one transaction holding the circle's lock.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{members as members_t, memberships};
use crate::domain::{CircleId, Facilitation, MemberId, MembershipRole, MembershipState};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub struct Membership {
    pub circle_id: CircleId,
    pub member_id: MemberId,
    pub role: MembershipRole,
    pub state: MembershipState,
    pub waitlist_position: Option<i32>,
    pub joined_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A membership with the person's name and address, as a circle's roster shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RosterEntry {
    pub member_id: MemberId,
    /// Empty while `email_withheld`.
    pub email: String,
    pub display_name: String,
    pub role: MembershipRole,
    pub state: MembershipState,
    pub waitlist_position: Option<i32>,
    pub joined_at: DateTime<Utc>,
    /// Someone moved here from a full circle's waitlist who has not yet come to a session:
    /// whoever runs the circle (unless an organiser) reads their name, not their address.
    pub email_withheld: bool,
}

/// A roster row as the database holds it.
#[derive(diesel::Queryable)]
struct RosterRow {
    member_id: MemberId,
    email: String,
    display_name: String,
    role: MembershipRole,
    state: MembershipState,
    waitlist_position: Option<i32>,
    joined_at: DateTime<Utc>,
}

impl From<RosterRow> for RosterEntry {
    fn from(r: RosterRow) -> Self {
        Self {
            member_id: r.member_id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            state: r.state,
            waitlist_position: r.waitlist_position,
            joined_at: r.joined_at,
            email_withheld: false,
        }
    }
}

/// Blank the addresses of roster rows [`addresses_withheld`] names, for whoever runs the
/// circle without being an organiser.
pub async fn withhold_addresses(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    rows: &mut [RosterEntry],
) -> diesel::QueryResult<()> {
    let withheld = addresses_withheld(conn, circle).await?;
    for row in rows.iter_mut().filter(|r| withheld.contains(&r.member_id)) {
        row.email.clear();
        row.email_withheld = true;
    }
    Ok(())
}

/// People moved into `circle` from another circle's waitlist when it was grown, who have not
/// yet come to one of its sessions: whoever runs it (unless an organiser) reads their names,
/// not their addresses. They did not choose its lead; coming to a session is choosing.
pub async fn addresses_withheld(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<std::collections::HashSet<MemberId>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        member_id: uuid::Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT m.member_id FROM sibling_moves m \
         JOIN sibling_proposals p ON p.id = m.proposal_id \
         WHERE p.sibling_id = $1 AND NOT EXISTS ( \
           SELECT 1 FROM rsvps r JOIN sessions s ON s.id = r.session_id \
           WHERE s.circle_id = $1 AND r.member_id = m.member_id AND r.attended)",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| MemberId(r.member_id)).collect())
}

/// How many people wait for a seat.
pub async fn waitlist_length(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<i64> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .count()
        .get_result(conn)
        .await
}

/// Record that `member`, waiting for a seat in `circle`, was told where they stand at `at`.
pub async fn waitlist_told(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::update(memberships::table.find((circle, member)))
        .set(memberships::waitlist_told_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// Open circles with a session still to come where someone waits who has not been told where
/// they stand since `since` (nor joined the waitlist since) and still takes mail.
pub async fn circles_with_waiting_to_tell(
    conn: &mut AsyncPgConnection,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<CircleId>> {
    #[derive(diesel::QueryableByName)]
    struct CircleRow {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        circle_id: uuid::Uuid,
    }
    let rows: Vec<CircleRow> = diesel::sql_query(
        "SELECT DISTINCT ms.circle_id FROM memberships ms \
         JOIN circles c ON c.id = ms.circle_id AND c.status = 'open' \
         JOIN members m ON m.id = ms.member_id AND m.unsubscribed_at IS NULL \
         WHERE ms.state = 'waitlisted' AND coalesce(ms.waitlist_told_at, ms.joined_at) <= $1 \
           AND EXISTS (SELECT 1 FROM sessions s WHERE s.circle_id = c.id \
                 AND s.status = 'scheduled' AND s.starts_at > $2) \
         ORDER BY ms.circle_id",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| CircleId(r.circle_id)).collect())
}

/// Mark as told at `now` the people waiting in `circle` who were last told (or joined the
/// waitlist) no later than `since` and still take mail; who they are. A second call with the
/// same `since` finds nobody: the mark is the guard.
pub async fn tell_waiting(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<MemberId>> {
    #[derive(diesel::QueryableByName)]
    struct Told {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        member_id: uuid::Uuid,
    }
    let told: Vec<Told> = diesel::sql_query(
        "UPDATE memberships ms SET waitlist_told_at = $3 FROM members m \
         WHERE ms.circle_id = $1 AND m.id = ms.member_id AND m.unsubscribed_at IS NULL \
           AND ms.state = 'waitlisted' AND coalesce(ms.waitlist_told_at, ms.joined_at) <= $2 \
         RETURNING ms.member_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok(told.into_iter().map(|t| MemberId(t.member_id)).collect())
}

/// The display name of whoever is first on the waitlist.
pub async fn waitlist_head(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Option<String>> {
    memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .order((memberships::waitlist_position, memberships::joined_at))
        .select(members_t::display_name)
        .first(conn)
        .await
        .optional()
}

/// Active members holding a seat (facilitators excluded).
pub async fn seated_count(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<i64> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Active))
        .filter(memberships::role.eq(MembershipRole::Member))
        .count()
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<Option<Membership>> {
    memberships::table
        .find((circle, member))
        .select(Membership::as_select())
        .first(conn)
        .await
        .optional()
}

/// Someone's membership, its row share-locked until the transaction ends: whatever acts for
/// them in the circle then sees a leave that committed first, and a leave waits for it.
pub async fn lock_shared(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<Option<Membership>> {
    memberships::table
        .find((circle, member))
        .select(Membership::as_select())
        .for_share()
        .first(conn)
        .await
        .optional()
}

/// Someone's membership state in a circle together with how the circle is led, in one
/// query: what an RSVP needs to decide whether it is allowed and whether roles re-plan.
pub async fn state_and_facilitation(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<Option<(MembershipState, Facilitation)>> {
    use super::schema::circles;
    memberships::table
        .inner_join(circles::table)
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::member_id.eq(member))
        .select((memberships::state, circles::facilitation))
        .first(conn)
        .await
        .optional()
}

/// Make waitlist positions 1..n again, keeping their order.
pub async fn renumber_waitlist(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE memberships m SET waitlist_position = r.rn \
         FROM (SELECT member_id, row_number() OVER (ORDER BY waitlist_position, joined_at) AS rn \
               FROM memberships WHERE circle_id = $1 AND state = 'waitlisted') r \
         WHERE m.circle_id = $1 AND m.member_id = r.member_id \
           AND m.waitlist_position IS DISTINCT FROM r.rn",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .execute(conn)
    .await
    .map(drop)
}

/// What a roster row reads: the membership and the person's name and address.
const ROSTER_COLUMNS: (
    memberships::member_id,
    members_t::email,
    members_t::display_name,
    memberships::role,
    memberships::state,
    memberships::waitlist_position,
    memberships::joined_at,
) = (
    memberships::member_id,
    members_t::email,
    members_t::display_name,
    memberships::role,
    memberships::state,
    memberships::waitlist_position,
    memberships::joined_at,
);

/// A page of a circle's roster, ordered by member id, optionally in one state.
pub async fn roster(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    state: Option<MembershipState>,
    after: Option<MemberId>,
    limit: i64,
) -> diesel::QueryResult<Vec<RosterEntry>> {
    let mut query = memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .select(ROSTER_COLUMNS)
        .order(memberships::member_id)
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(memberships::state.eq(state));
    }
    if let Some(after) = after {
        query = query.filter(memberships::member_id.gt(after));
    }
    Ok(query
        .load::<RosterRow>(conn)
        .await?
        .into_iter()
        .map(RosterEntry::from)
        .collect())
}

/// Of `candidates`, those who are active in the circle.
pub async fn active_among(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    candidates: &[MemberId],
) -> diesel::QueryResult<Vec<MemberId>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::member_id.eq_any(candidates))
        .filter(memberships::state.eq(MembershipState::Active))
        .select(memberships::member_id)
        .load(conn)
        .await
}

/// Every membership of one member, any state.
pub async fn of_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> diesel::QueryResult<Vec<Membership>> {
    memberships::table
        .filter(memberships::member_id.eq(member))
        .order(memberships::joined_at)
        .select(Membership::as_select())
        .load(conn)
        .await
}

/// A page of the roster in a useful order: facilitators, members, the waitlist in order,
/// then people who have not confirmed; 1-based `page` of `per_page`.
pub async fn roster_page(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    page: i64,
    per_page: i64,
) -> diesel::QueryResult<(Vec<RosterEntry>, i64)> {
    // `roster_rank` is NULL exactly for people who left (see its migration).
    let total: i64 = memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::roster_rank.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    // Facilitators, seated members, the waitlist in order, then the unconfirmed: the stored
    // `roster_rank` and its index give this order without sorting the circle.
    let rows = memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::roster_rank.is_not_null())
        .order((
            memberships::roster_rank,
            memberships::waitlist_position,
            memberships::joined_at,
            memberships::member_id,
        ))
        .limit(per_page)
        .offset((page.max(1) - 1) * per_page)
        .select(ROSTER_COLUMNS)
        .load::<RosterRow>(conn)
        .await?;
    Ok((rows.into_iter().map(RosterEntry::from).collect(), total))
}

/// The last place on the circle's waitlist, if anyone waits.
pub async fn last_waitlist_position(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Option<i32>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .select(diesel::dsl::max(memberships::waitlist_position))
        .first(conn)
        .await
}

/// Write a membership in the given role, state and waitlist place, as joined now (a new
/// row, or a returning person's old one).
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    role: MembershipRole,
    state: MembershipState,
    position: Option<i32>,
) -> diesel::QueryResult<Membership> {
    let now = Utc::now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::circle_id.eq(circle),
            memberships::member_id.eq(member),
            memberships::role.eq(role),
            memberships::state.eq(state),
            memberships::waitlist_position.eq(position),
            memberships::joined_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .on_conflict((memberships::circle_id, memberships::member_id))
        .do_update()
        .set((
            memberships::role.eq(role),
            memberships::state.eq(state),
            memberships::waitlist_position.eq(position),
            memberships::joined_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)
        .await
}

/// Change a membership's role, state and waitlist place.
pub async fn set(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    role: MembershipRole,
    state: MembershipState,
    position: Option<i32>,
) -> diesel::QueryResult<Membership> {
    diesel::update(memberships::table.find((circle, member)))
        .set((
            memberships::role.eq(role),
            memberships::state.eq(state),
            memberships::waitlist_position.eq(position),
            memberships::updated_at.eq(Utc::now()),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)
        .await
}

/// The first `limit` people on the waitlist, in order.
pub async fn waitlist_heads(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<MemberId>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .order(memberships::waitlist_position)
        .limit(limit)
        .select(memberships::member_id)
        .load(conn)
        .await
}

/// Give these people a seat (active, no waitlist place).
pub async fn activate(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    members: &[MemberId],
) -> diesel::QueryResult<usize> {
    diesel::update(
        memberships::table
            .filter(memberships::circle_id.eq(circle))
            .filter(memberships::member_id.eq_any(members)),
    )
    .set((
        memberships::state.eq(MembershipState::Active),
        memberships::waitlist_position.eq(None::<i32>),
        memberships::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await
}

/// Who holds waitlist place `position`.
pub async fn at_waitlist_position(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    position: i32,
) -> diesel::QueryResult<Option<MemberId>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::waitlist_position.eq(position))
        .select(memberships::member_id)
        .first(conn)
        .await
        .optional()
}

/// Put someone at waitlist place `position` (the caller keeps the places distinct).
pub async fn set_waitlist_position(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    position: i32,
) -> diesel::QueryResult<()> {
    diesel::update(memberships::table.find((circle, member)))
        .set(memberships::waitlist_position.eq(position))
        .execute(conn)
        .await
        .map(drop)
}

/// The names of the circle's active facilitators, alphabetically.
pub async fn facilitator_names(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<String>> {
    memberships::table
        .inner_join(members_t::table)
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::role.eq(MembershipRole::Facilitator))
        .filter(memberships::state.eq(MembershipState::Active))
        .order(members_t::display_name)
        .select(members_t::display_name)
        .load(conn)
        .await
}

/// How many people with the member role hold a seat and how many wait (facilitators take no
/// seat), read from the roster index: unconfirmed signups, however many, are never read.
pub async fn member_counts(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<(MembershipState, i64)>> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: MembershipState,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // roster_rank 1 is a seated member, 2 one waiting (migration 2026-11-28-000004).
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT state, count(*) AS n FROM memberships \
         WHERE circle_id = $1 AND roster_rank IN (1, 2) GROUP BY state",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .load(conn)
    .await?;
    Ok(counts.into_iter().map(|c| (c.state, c.n)).collect())
}

/// What a public signup needs to know, read in one statement that holds the circle's row
/// `FOR SHARE` until the transaction ends (and nothing else).
#[derive(Debug, diesel::QueryableByName)]
pub struct SignupFacts {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status: crate::domain::CircleStatus,
    /// The person with this address, if known.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub member_id: Option<MemberId>,
    /// Their membership of the circle, if any.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub state: Option<MembershipState>,
    /// The circle holds `cap` unconfirmed signups or more.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub full_of_pending: bool,
}

/// [`SignupFacts`] for `email` in `circle`; `None` when there is no such circle. (The
/// function `signup_facts`, migration `signup_facts`, planned once per connection.)
pub async fn signup_facts(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    email: &crate::domain::EmailAddress,
    cap: i64,
) -> diesel::QueryResult<Option<SignupFacts>> {
    diesel::sql_query("SELECT * FROM signup_facts($1, $2, $3)")
        .bind::<diesel::sql_types::Uuid, _>(circle.0)
        .bind::<diesel::sql_types::Text, _>(email.as_str().to_lowercase())
        .bind::<diesel::sql_types::BigInt, _>(cap)
        .get_result(conn)
        .await
        .optional()
}

/// A signup by someone Roundtable does not know yet, in one statement: the person (with the
/// id `member`, made by the caller), their pending membership of `circle`, and `confirmation`
/// queued for them. False, with nothing written, when someone with the address was added
/// meanwhile (the caller then takes the longer way).
pub async fn sign_up_new_person(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    email: &crate::domain::EmailAddress,
    display_name: &crate::domain::DisplayName,
    timezone: Option<&str>,
    circle: CircleId,
    confirmation: &crate::db::jobs::NewJob,
) -> diesel::QueryResult<bool> {
    use diesel::sql_types::{Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    #[derive(diesel::QueryableByName)]
    struct Written {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        people: i64,
    }
    let written: Written = diesel::sql_query(
        "WITH person AS (INSERT INTO members (id, email, display_name, timezone) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id), \
              membership AS (INSERT INTO memberships (circle_id, member_id, role, state, joined_at, updated_at) \
                             SELECT $5, id, 'member', 'pending', now(), now() FROM person \
                             RETURNING member_id), \
              job AS (INSERT INTO jobs (id, kind, payload, dedupe_key, run_at, max_attempts) \
                      SELECT $6, $7, $8, $9, $10, $11 FROM membership \
                      ON CONFLICT DO NOTHING) \
         SELECT count(*) AS people FROM person",
    )
    .bind::<SqlUuid, _>(member.0)
    .bind::<Text, _>(email.as_str())
    .bind::<Text, _>(display_name.as_str())
    .bind::<Nullable<Text>, _>(timezone)
    .bind::<SqlUuid, _>(circle.0)
    .bind::<SqlUuid, _>(crate::domain::JobId::new().0)
    .bind::<Text, _>(confirmation.kind)
    .bind::<Jsonb, _>(&confirmation.payload)
    .bind::<Nullable<Text>, _>(confirmation.dedupe_key.as_deref())
    .bind::<Timestamptz, _>(confirmation.run_at)
    .bind::<Integer, _>(crate::db::jobs::DEFAULT_MAX_ATTEMPTS)
    .get_result(conn)
    .await?;
    Ok(written.people == 1)
}

/// Delete up to `limit` signups nobody confirmed that were made before `before`; how many.
pub async fn purge_pending(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM memberships WHERE (circle_id, member_id) IN ( \
           SELECT circle_id, member_id FROM memberships \
           WHERE state = 'pending' AND joined_at < $1 ORDER BY joined_at LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .execute(conn)
    .await
}

/// The members of a circle with `role` in `state`.
pub async fn with_role(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    role: MembershipRole,
    state: MembershipState,
) -> diesel::QueryResult<Vec<MemberId>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::role.eq(role))
        .filter(memberships::state.eq(state))
        .select(memberships::member_id)
        .order(memberships::member_id)
        .load(conn)
        .await
}

/// The first `limit` people waiting for `circle`, in order, with their places.
pub async fn waitlist_places(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<(MemberId, i32)>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Waitlisted))
        .order((memberships::waitlist_position, memberships::joined_at))
        .limit(limit)
        .select((
            memberships::member_id,
            diesel::dsl::sql::<diesel::sql_types::Integer>("coalesce(waitlist_position, 0)"),
        ))
        .load(conn)
        .await
}

/// Make room at waitlist place `place` of `circle` (everyone from there moves down one).
pub async fn make_waitlist_room(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    place: i32,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE memberships SET waitlist_position = waitlist_position + 1 \
         WHERE circle_id = $1 AND state = 'waitlisted' AND waitlist_position >= $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .bind::<diesel::sql_types::Integer, _>(place)
    .execute(conn)
    .await
    .map(drop)
}
