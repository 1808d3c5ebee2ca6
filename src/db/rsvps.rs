//! Answers to "will you come?" and, afterwards, who came.

use chrono::{DateTime, Utc};
use diesel::deserialize::QueryableByName;
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods,
    OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{circles, members, memberships, readings, rsvps, sessions};
use crate::domain::{CircleId, MemberId, MembershipState, RsvpResponse, SessionId};

#[derive(
    Debug,
    Clone,
    diesel::Queryable,
    diesel::QueryableByName,
    diesel::Selectable,
    Serialize,
    utoipa::ToSchema,
)]
#[diesel(table_name = rsvps, check_for_backend(diesel::pg::Pg))]
pub struct Rsvp {
    pub session_id: SessionId,
    pub member_id: MemberId,
    pub response: Option<RsvpResponse>,
    pub responded_at: Option<DateTime<Utc>>,
    pub attended: Option<bool>,
}

/// One person on the session's roster with their answer and attendance, if any: every active
/// member of the circle, and anyone who has left since but whose attendance was marked.
#[derive(Debug, Clone, diesel::Queryable, Serialize, utoipa::ToSchema)]
pub struct RsvpEntry {
    pub member_id: MemberId,
    pub display_name: String,
    pub response: Option<RsvpResponse>,
    pub responded_at: Option<DateTime<Utc>>,
    pub attended: Option<bool>,
    /// False for someone who has left the circle since (they stay on the rosters of the
    /// sessions they attended).
    pub active: bool,
}

pub async fn set_response(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
    response: RsvpResponse,
) -> diesel::QueryResult<Rsvp> {
    let now = Utc::now();
    diesel::insert_into(rsvps::table)
        .values((
            rsvps::session_id.eq(session),
            rsvps::member_id.eq(member),
            rsvps::response.eq(response),
            rsvps::responded_at.eq(now),
            rsvps::updated_at.eq(now),
        ))
        .on_conflict((rsvps::session_id, rsvps::member_id))
        .do_update()
        .set((
            rsvps::response.eq(response),
            rsvps::responded_at.eq(now),
            rsvps::updated_at.eq(now),
        ))
        .returning(Rsvp::as_returning())
        .get_result(conn)
        .await
}

/// An answer saved by [`set_response_if_open`], with how its circle shares leadership (a "no"
/// in a rotating circle re-plans it).
#[derive(Debug, diesel::QueryableByName)]
pub struct Saved {
    #[diesel(embed)]
    pub rsvp: Rsvp,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub facilitation: crate::domain::Facilitation,
}

/// Save `member`'s answer for `session` of `circle` only if, as the statement runs, they are
/// an active member of the circle and the session is neither cancelled nor started at `now`:
/// the check and the write are one statement, and the membership row is held `FOR SHARE`
/// until the caller's transaction ends, so a departure either came first (nothing is saved)
/// or waits. `None` when a check failed.
pub async fn set_response_if_open(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    circle: CircleId,
    member: MemberId,
    response: RsvpResponse,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Saved>> {
    use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
    // A function (migration `rsvp_statements`), so each connection plans it once.
    diesel::sql_query("SELECT * FROM rsvp_answer($1, $4, $2, $3, $5)")
        .bind::<SqlUuid, _>(session.0)
        .bind::<SqlUuid, _>(member.0)
        .bind::<Text, _>(response.as_str())
        .bind::<SqlUuid, _>(circle.0)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
        .await
        .optional()
}

pub async fn set_attended(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
    attended: bool,
) -> diesel::QueryResult<Rsvp> {
    let now = Utc::now();
    diesel::insert_into(rsvps::table)
        .values((
            rsvps::session_id.eq(session),
            rsvps::member_id.eq(member),
            rsvps::attended.eq(attended),
            rsvps::updated_at.eq(now),
        ))
        .on_conflict((rsvps::session_id, rsvps::member_id))
        .do_update()
        .set((rsvps::attended.eq(attended), rsvps::updated_at.eq(now)))
        .returning(Rsvp::as_returning())
        .get_result(conn)
        .await
}

/// Whether anyone's attendance at `session` has been marked yet.
pub async fn attendance_recorded(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        rsvps::table
            .filter(rsvps::session_id.eq(session))
            .filter(rsvps::attended.is_not_null()),
    ))
    .get_result(conn)
    .await
}

/// A page of the session's roster (see [`RsvpEntry`]), by member id.
pub async fn for_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    after: Option<MemberId>,
    limit: i64,
) -> diesel::QueryResult<Vec<RsvpEntry>> {
    let circle = sessions::table
        .find(session)
        .select(sessions::circle_id)
        .single_value()
        .assume_not_null();
    let mut query = memberships::table
        .inner_join(members::table)
        .left_join(
            rsvps::table.on(rsvps::member_id
                .eq(memberships::member_id)
                .and(rsvps::session_id.eq(session))),
        )
        .filter(memberships::circle_id.eq(circle))
        .filter(
            memberships::state
                .eq(MembershipState::Active)
                .or(rsvps::attended.is_not_null()),
        )
        .select((
            memberships::member_id,
            members::display_name,
            rsvps::response.nullable(),
            rsvps::responded_at.nullable(),
            rsvps::attended.nullable(),
            memberships::state.eq(MembershipState::Active),
        ))
        .order(memberships::member_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(memberships::member_id.gt(after));
    }
    query.load(conn).await
}

/// Of `candidates`, those whose attendance at `session` may be marked: the circle's active
/// members, and people who have left since but whose attendance was marked (so a mistake can
/// still be put right).
pub async fn markable_among(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    candidates: &[MemberId],
) -> diesel::QueryResult<Vec<MemberId>> {
    let circle = sessions::table
        .find(session)
        .select(sessions::circle_id)
        .single_value()
        .assume_not_null();
    memberships::table
        .left_join(
            rsvps::table.on(rsvps::member_id
                .eq(memberships::member_id)
                .and(rsvps::session_id.eq(session))),
        )
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::member_id.eq_any(candidates))
        .filter(
            memberships::state
                .eq(MembershipState::Active)
                .or(rsvps::attended.is_not_null()),
        )
        .select(memberships::member_id)
        .load(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
) -> diesel::QueryResult<Option<Rsvp>> {
    rsvps::table
        .find((session, member))
        .select(Rsvp::as_select())
        .first(conn)
        .await
        .optional()
}

/// The member's answers for the given sessions.
pub async fn of_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    sessions: &[SessionId],
) -> diesel::QueryResult<Vec<(SessionId, Option<RsvpResponse>)>> {
    rsvps::table
        .filter(rsvps::member_id.eq(member))
        .filter(rsvps::session_id.eq_any(sessions))
        .select((rsvps::session_id, rsvps::response))
        .load(conn)
        .await
}

/// Everything an RSVP link's page shows, read in one statement: the link holder (with the
/// token version their links must carry) and, when the session still exists, the session
/// with its circle, reading, facilitator and the holder's current answer.
#[derive(Debug, diesel::Queryable)]
pub struct LinkView {
    pub member_name: String,
    pub member_timezone: Option<String>,
    pub token_version: i32,
    pub me_token_version: i32,
    pub calendar_token_version: i32,
    pub circle_id: Option<crate::domain::CircleId>,
    pub circle_name: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub session_timezone: Option<crate::domain::Timezone>,
    pub location: Option<String>,
    pub status: Option<crate::domain::SessionStatus>,
    pub response: Option<RsvpResponse>,
    pub reading: Option<String>,
    pub facilitator: Option<String>,
    /// The holder's membership of the session's circle (`None` when they never had one).
    pub membership: Option<crate::domain::MembershipState>,
}

/// `None` when the member no longer exists; `circle_name` is `None` when the session does
/// not. Built with the query builder, not SQL text, so each connection prepares it once:
/// planning this six-table join took longer than running it.
pub async fn link_view(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    session: SessionId,
) -> diesel::QueryResult<Option<LinkView>> {
    let facilitators = diesel::alias!(members as facilitators);
    members::table
        .left_join(sessions::table.on(sessions::id.eq(session)))
        .left_join(circles::table.on(circles::id.eq(sessions::circle_id)))
        .left_join(
            rsvps::table.on(rsvps::session_id
                .eq(sessions::id)
                .and(rsvps::member_id.eq(members::id))),
        )
        .left_join(
            readings::table.on(readings::id
                .nullable()
                .eq(sessions::reading_id)
                .and(readings::circle_id.eq(sessions::circle_id))),
        )
        .left_join(
            facilitators.on(facilitators
                .field(members::id)
                .nullable()
                .eq(sessions::facilitator_id)),
        )
        .left_join(
            memberships::table.on(memberships::circle_id
                .eq(sessions::circle_id)
                .and(memberships::member_id.eq(members::id))),
        )
        .filter(members::id.eq(member))
        .select((
            members::display_name,
            members::timezone,
            members::token_version,
            members::me_token_version,
            members::calendar_token_version,
            circles::id.nullable(),
            circles::name.nullable(),
            sessions::starts_at.nullable(),
            sessions::ends_at.nullable(),
            sessions::timezone.nullable(),
            sessions::location.nullable(),
            sessions::status.nullable(),
            rsvps::response.nullable(),
            readings::title.nullable(),
            facilitators.field(members::display_name).nullable(),
            memberships::state.nullable(),
        ))
        .first::<LinkView>(conn)
        .await
        .optional()
}

/// How many sessions of `circle` `member` was marked present at.
pub async fn attended_count(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<i64> {
    rsvps::table
        .inner_join(sessions::table)
        .filter(sessions::circle_id.eq(circle))
        .filter(rsvps::member_id.eq(member))
        .filter(rsvps::attended.eq(Some(true)))
        .count()
        .get_result(conn)
        .await
}

/// Whether `member` was marked present at any session of `circle`.
pub async fn attended_any(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        rsvps::table
            .inner_join(sessions::table)
            .filter(sessions::circle_id.eq(circle))
            .filter(rsvps::member_id.eq(member))
            .filter(rsvps::attended.eq(Some(true))),
    ))
    .get_result(conn)
    .await
}
