//! Roles: the kinds a circle's sessions need (the facilitator and micro-roles), who holds each
//! slot of each session, the append-only log of changes of holder, and members' rotation
//! preferences.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::{
    ExpressionMethods, JoinOnDsl, NullableExpressionMethods, OptionalExtension,
    PgExpressionMethods, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{role_events, role_kinds, rotation_prefs, session_roles, sessions};
use crate::domain::{CircleId, MemberId, RoleId, RoleSource, RoleState, SessionId};

/// The key of the role every circle has.
pub const FACILITATOR: &str = "facilitator";

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = role_kinds, check_for_backend(diesel::pg::Pg))]
pub struct RoleKind {
    #[serde(skip)]
    pub circle_id: CircleId,
    /// Lower-case letters, digits and `_`; `facilitator` always exists.
    pub key: String,
    pub name: String,
    /// What to do, in a few sentences: in the holder's email and on the role page.
    pub guide: String,
    /// How many people hold it in each session.
    pub slots: i32,
    /// Whether a rotating circle proposes holders for it.
    pub rotates: bool,
    /// Sessions someone must have attended before they are asked.
    pub min_attended: i32,
    #[serde(skip)]
    pub position: i32,
}

#[derive(Debug, Clone, diesel::Insertable)]
#[diesel(table_name = role_kinds)]
pub struct NewRoleKind {
    pub circle_id: CircleId,
    pub key: String,
    pub name: String,
    pub guide: String,
    pub slots: i32,
    pub rotates: bool,
    pub min_attended: i32,
    pub position: i32,
}

#[derive(Debug, Clone, Default, diesel::AsChangeset)]
#[diesel(table_name = role_kinds)]
pub struct RoleKindChanges {
    pub name: Option<String>,
    pub guide: Option<String>,
    pub slots: Option<i32>,
    pub rotates: Option<bool>,
    pub min_attended: Option<i32>,
}

pub async fn kinds(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<RoleKind>> {
    role_kinds::table
        .filter(role_kinds::circle_id.eq(circle))
        .order((role_kinds::position, role_kinds::key))
        .select(RoleKind::as_select())
        .load(conn)
        .await
}

pub async fn kind(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    key: &str,
) -> diesel::QueryResult<Option<RoleKind>> {
    role_kinds::table
        .find((circle, key))
        .select(RoleKind::as_select())
        .first(conn)
        .await
        .optional()
}

/// Add a role kind; `None` when the circle already has one with that key.
pub async fn add_kind(
    conn: &mut AsyncPgConnection,
    new: &NewRoleKind,
) -> diesel::QueryResult<Option<RoleKind>> {
    diesel::insert_into(role_kinds::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(RoleKind::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn next_position(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<i32> {
    let max: Option<i32> = role_kinds::table
        .filter(role_kinds::circle_id.eq(circle))
        .select(diesel::dsl::max(role_kinds::position))
        .first(conn)
        .await?;
    Ok(max.unwrap_or(0) + 1)
}

pub async fn update_kind(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    key: &str,
    changes: RoleKindChanges,
) -> diesel::QueryResult<Option<RoleKind>> {
    diesel::update(role_kinds::table.find((circle, key)))
        .set(&changes)
        .returning(RoleKind::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Remove a role kind and every holder of it in sessions that have not started; past holders
/// stay in the log.
pub async fn delete_kind(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    key: &str,
) -> diesel::QueryResult<bool> {
    diesel::delete(role_kinds::table.find((circle, key)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Drop slots above a role's (lowered) slot count in sessions that have not started.
pub async fn trim_slots(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    key: &str,
    slots: i32,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::delete(
        session_roles::table
            .filter(session_roles::circle_id.eq(circle))
            .filter(session_roles::role_key.eq(key))
            .filter(session_roles::slot.gt(slots))
            .filter(
                session_roles::session_id.eq_any(
                    sessions::table
                        .filter(sessions::circle_id.eq(circle))
                        .filter(sessions::starts_at.gt(now))
                        .select(sessions::id),
                ),
            ),
    )
    .execute(conn)
    .await
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = session_roles, check_for_backend(diesel::pg::Pg))]
pub struct SessionRole {
    pub id: RoleId,
    pub session_id: SessionId,
    pub circle_id: CircleId,
    pub role_key: String,
    pub slot: i32,
    pub member_id: Option<MemberId>,
    pub state: RoleState,
    pub source: RoleSource,
    pub why: String,
    pub seed: Option<i64>,
    pub asked_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub reported_at: Option<DateTime<Utc>>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: RoleId,
) -> diesel::QueryResult<Option<SessionRole>> {
    session_roles::table
        .find(id)
        .select(SessionRole::as_select())
        .first(conn)
        .await
        .optional()
}

/// The row, locked until the end of the transaction (two answers to one ask take turns).
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: RoleId,
) -> diesel::QueryResult<Option<SessionRole>> {
    session_roles::table
        .find(id)
        .select(SessionRole::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn for_sessions(
    conn: &mut AsyncPgConnection,
    ids: &[SessionId],
) -> diesel::QueryResult<Vec<SessionRole>> {
    session_roles::table
        .filter(session_roles::session_id.eq_any(ids))
        .order((
            session_roles::session_id,
            session_roles::role_key,
            session_roles::slot,
        ))
        .select(SessionRole::as_select())
        .load(conn)
        .await
}

pub async fn find_slot(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    key: &str,
    slot: i32,
) -> diesel::QueryResult<Option<SessionRole>> {
    session_roles::table
        .filter(session_roles::session_id.eq(session))
        .filter(session_roles::role_key.eq(key))
        .filter(session_roles::slot.eq(slot))
        .select(SessionRole::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// What to write into one slot.
#[derive(Debug, Clone)]
pub struct SlotWrite {
    pub session_id: SessionId,
    pub circle_id: CircleId,
    pub role_key: String,
    pub slot: i32,
    pub member_id: Option<MemberId>,
    pub state: RoleState,
    pub source: RoleSource,
    pub why: String,
    pub seed: Option<i64>,
    pub asked_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// Write a slot (insert or replace what it holds), returning the row.
pub async fn write_slot(
    conn: &mut AsyncPgConnection,
    w: &SlotWrite,
) -> diesel::QueryResult<SessionRole> {
    let now = Utc::now();
    diesel::insert_into(session_roles::table)
        .values((
            session_roles::id.eq(RoleId::new()),
            session_roles::session_id.eq(w.session_id),
            session_roles::circle_id.eq(w.circle_id),
            session_roles::role_key.eq(&w.role_key),
            session_roles::slot.eq(w.slot),
            session_roles::member_id.eq(w.member_id),
            session_roles::state.eq(w.state),
            session_roles::source.eq(w.source),
            session_roles::why.eq(&w.why),
            session_roles::seed.eq(w.seed),
            session_roles::asked_at.eq(w.asked_at),
            session_roles::answered_at.eq(w.answered_at),
        ))
        .on_conflict((
            session_roles::session_id,
            session_roles::role_key,
            session_roles::slot,
        ))
        .do_update()
        .set((
            session_roles::member_id.eq(w.member_id),
            session_roles::state.eq(w.state),
            session_roles::source.eq(w.source),
            session_roles::why.eq(&w.why),
            session_roles::seed.eq(w.seed),
            session_roles::asked_at.eq(w.asked_at),
            session_roles::answered_at.eq(w.answered_at),
            session_roles::reported_at.eq(None::<DateTime<Utc>>),
            session_roles::updated_at.eq(now),
        ))
        .returning(SessionRole::as_returning())
        .get_result(conn)
        .await
}

/// Open again every slot `member` holds or is asked or proposed for in `circle`'s sessions
/// still to come; returns the slots as they were.
pub async fn release_ahead(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<SessionRole>> {
    let coming = sessions::table
        .filter(sessions::circle_id.eq(circle))
        .filter(sessions::starts_at.gt(now))
        .select(sessions::id);
    let held: Vec<SessionRole> = session_roles::table
        .filter(session_roles::circle_id.eq(circle))
        .filter(session_roles::member_id.eq(member))
        .filter(session_roles::state.eq_any([
            RoleState::Proposed,
            RoleState::Asked,
            RoleState::Confirmed,
        ]))
        .filter(session_roles::session_id.eq_any(coming))
        .select(SessionRole::as_select())
        .for_update()
        .load(conn)
        .await?;
    let ids: Vec<RoleId> = held.iter().map(|r| r.id).collect();
    diesel::update(session_roles::table.filter(session_roles::id.eq_any(&ids)))
        .set((
            session_roles::member_id.eq(None::<MemberId>),
            session_roles::state.eq(RoleState::Open),
            session_roles::why.eq(""),
            session_roles::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(held)
}

/// Move a slot to `state`, stamping when it was asked or answered.
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    state: RoleState,
    at: DateTime<Utc>,
) -> diesel::QueryResult<SessionRole> {
    let row = session_roles::table.find(id);
    let common = (
        session_roles::state.eq(state),
        session_roles::updated_at.eq(at),
    );
    let query = match state {
        RoleState::Asked => diesel::update(row)
            .set((common, session_roles::asked_at.eq(at)))
            .returning(SessionRole::as_returning())
            .get_result(conn),
        RoleState::Confirmed | RoleState::Declined => diesel::update(row)
            .set((common, session_roles::answered_at.eq(at)))
            .returning(SessionRole::as_returning())
            .get_result(conn),
        _ => diesel::update(row)
            .set(common)
            .returning(SessionRole::as_returning())
            .get_result(conn),
    };
    query.await
}

/// What the holder of a slot asked for: feedback anonymous, named, or none.
pub async fn set_feedback(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    mode: crate::domain::FeedbackMode,
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set(session_roles::feedback.eq(mode))
        .execute(conn)
        .await
        .map(drop)
}

/// The feedback the holder of a slot asked for.
pub async fn feedback_of(
    conn: &mut AsyncPgConnection,
    id: RoleId,
) -> diesel::QueryResult<Option<crate::domain::FeedbackMode>> {
    session_roles::table
        .find(id)
        .select(session_roles::feedback)
        .first(conn)
        .await
        .optional()
}

pub async fn mark_reported(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set(session_roles::reported_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// Remove proposals for sessions that have not started (a circle stopped rotating).
pub async fn drop_unconfirmed(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::delete(
        session_roles::table
            .filter(session_roles::circle_id.eq(circle))
            .filter(session_roles::state.ne(RoleState::Confirmed))
            .filter(
                session_roles::session_id.eq_any(
                    sessions::table
                        .filter(sessions::circle_id.eq(circle))
                        .filter(sessions::starts_at.gt(now))
                        .select(sessions::id),
                ),
            ),
    )
    .execute(conn)
    .await
}

/// What happened to a slot, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Asked,
    Confirmed,
    Declined,
    TimedOut,
    Released,
    Assigned,
    SwappedOut,
    SwappedIn,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asked => "asked",
            Self::Confirmed => "confirmed",
            Self::Declined => "declined",
            Self::TimedOut => "timed_out",
            Self::Released => "released",
            Self::Assigned => "assigned",
            Self::SwappedOut => "swapped_out",
            Self::SwappedIn => "swapped_in",
        }
    }
}

pub async fn log(
    conn: &mut AsyncPgConnection,
    row: &SessionRole,
    member: Option<MemberId>,
    kind: EventKind,
    actor: Option<MemberId>,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::insert_into(role_events::table)
        .values((
            role_events::session_id.eq(row.session_id),
            role_events::circle_id.eq(row.circle_id),
            role_events::role_key.eq(&row.role_key),
            role_events::slot.eq(row.slot),
            role_events::member_id.eq(member),
            role_events::kind.eq(kind.as_str()),
            role_events::actor_id.eq(actor),
            role_events::at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Who turned a role of a session down (or let the ask run out), per session and role.
pub async fn declines(
    conn: &mut AsyncPgConnection,
    sessions_: &[SessionId],
) -> diesel::QueryResult<Vec<(SessionId, String, MemberId)>> {
    role_events::table
        .filter(role_events::session_id.eq_any(sessions_))
        .filter(role_events::kind.eq_any(["declined", "timed_out", "swapped_out", "released"]))
        .filter(role_events::member_id.is_not_null())
        .select((
            role_events::session_id,
            role_events::role_key,
            role_events::member_id.assume_not_null(),
        ))
        .load(conn)
        .await
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = rotation_prefs, check_for_backend(diesel::pg::Pg))]
pub struct RotationPrefs {
    #[serde(skip)]
    pub circle_id: CircleId,
    #[serde(skip)]
    pub member_id: MemberId,
    /// Whether the member takes part in the rotation at all.
    pub opted_in: bool,
    /// 100 is a full share; 50 asks half as often, 200 twice as often.
    pub weight: i32,
    /// Not asked for sessions before this date.
    pub paused_until: Option<NaiveDate>,
    /// Role keys the member is never asked for.
    pub opted_out_roles: Vec<String>,
}

impl RotationPrefs {
    pub fn default_for(circle_id: CircleId, member_id: MemberId) -> Self {
        Self {
            circle_id,
            member_id,
            opted_in: true,
            weight: 100,
            paused_until: None,
            opted_out_roles: Vec::new(),
        }
    }
}

pub async fn prefs(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<RotationPrefs> {
    Ok(rotation_prefs::table
        .find((circle, member))
        .select(RotationPrefs::as_select())
        .first(conn)
        .await
        .optional()?
        .unwrap_or_else(|| RotationPrefs::default_for(circle, member)))
}

pub async fn set_prefs(
    conn: &mut AsyncPgConnection,
    p: &RotationPrefs,
) -> diesel::QueryResult<RotationPrefs> {
    diesel::insert_into(rotation_prefs::table)
        .values((
            rotation_prefs::circle_id.eq(p.circle_id),
            rotation_prefs::member_id.eq(p.member_id),
            rotation_prefs::opted_in.eq(p.opted_in),
            rotation_prefs::weight.eq(p.weight),
            rotation_prefs::paused_until.eq(p.paused_until),
            rotation_prefs::opted_out_roles.eq(&p.opted_out_roles),
        ))
        .on_conflict((rotation_prefs::circle_id, rotation_prefs::member_id))
        .do_update()
        .set((
            rotation_prefs::opted_in.eq(p.opted_in),
            rotation_prefs::weight.eq(p.weight),
            rotation_prefs::paused_until.eq(p.paused_until),
            rotation_prefs::opted_out_roles.eq(&p.opted_out_roles),
            rotation_prefs::updated_at.eq(Utc::now()),
        ))
        .returning(RotationPrefs::as_returning())
        .get_result(conn)
        .await
}

/// One active member of a circle as the planner sees them.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct PlannerMember {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub display_name: String,
    #[diesel(sql_type = Bool)]
    pub opted_in: bool,
    #[diesel(sql_type = Integer)]
    pub weight: i32,
    #[diesel(sql_type = Nullable<diesel::sql_types::Date>)]
    pub paused_until: Option<NaiveDate>,
    #[diesel(sql_type = Array<Text>)]
    pub opted_out_roles: Vec<String>,
    /// Sessions of the circle they attended.
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
    /// Roles they hold (confirmed or asked) in other circles within a fortnight of `now`.
    #[diesel(sql_type = BigInt)]
    pub elsewhere: i64,
}

/// The circle's active members with their preferences, attendance and load elsewhere, in
/// one statement.
pub async fn planner_members(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<PlannerMember>> {
    diesel::sql_query(
        "SELECT m.id AS member_id, m.display_name, \
                coalesce(p.opted_in, true) AS opted_in, coalesce(p.weight, 100) AS weight, \
                p.paused_until, coalesce(p.opted_out_roles, '{}') AS opted_out_roles, \
                (SELECT count(*) FROM rsvps r JOIN sessions s ON s.id = r.session_id \
                  WHERE r.member_id = m.id AND s.circle_id = $1 AND r.attended) AS attended, \
                (SELECT count(*) FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
                  WHERE sr.member_id = m.id AND sr.circle_id <> $1 \
                    AND sr.state IN ('confirmed', 'asked') AND s.status = 'scheduled' \
                    AND s.starts_at BETWEEN $2 AND $2 + interval '14 days') AS elsewhere \
         FROM memberships ms JOIN members m ON m.id = ms.member_id \
         LEFT JOIN rotation_prefs p ON p.circle_id = ms.circle_id AND p.member_id = ms.member_id \
         WHERE ms.circle_id = $1 AND ms.state = 'active' \
         ORDER BY ms.joined_at, m.id",
    )
    .bind::<SqlUuid, _>(circle.0)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// Per member and role: times held (confirmed, in a session that has started, and not marked
/// absent) and when last.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Held {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub role_key: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Timestamptz)]
    pub first_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_at: DateTime<Utc>,
}

pub async fn held(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: Option<MemberId>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Held>> {
    diesel::sql_query(
        "SELECT sr.member_id, sr.role_key, count(*) AS count, min(s.starts_at) AS first_at, \
                max(s.starts_at) AS last_at \
         FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
         LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id \
         WHERE sr.circle_id = $1 AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL \
           AND ($2::uuid IS NULL OR sr.member_id = $2) \
           AND s.status <> 'cancelled' AND s.starts_at <= $3 AND r.attended IS DISTINCT FROM false \
         GROUP BY sr.member_id, sr.role_key",
    )
    .bind::<SqlUuid, _>(circle.0)
    .bind::<Nullable<SqlUuid>, _>(member.map(|m| m.0))
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// A member's held roles across every circle: (circle, role key, count, first, last).
pub async fn held_by_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<MemberHeld>> {
    diesel::sql_query(
        "SELECT sr.circle_id, c.name AS circle_name, sr.role_key, k.name AS role_name, \
                count(*) AS count, min(s.starts_at) AS first_at, max(s.starts_at) AS last_at \
         FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
         JOIN circles c ON c.id = sr.circle_id \
         JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key \
         LEFT JOIN rsvps r ON r.session_id = sr.session_id AND r.member_id = sr.member_id \
         WHERE sr.member_id = $1 AND sr.state = 'confirmed' \
           AND s.status <> 'cancelled' AND s.starts_at <= $2 AND r.attended IS DISTINCT FROM false \
         GROUP BY sr.circle_id, c.name, sr.role_key, k.name ORDER BY min(s.starts_at)",
    )
    .bind::<SqlUuid, _>(member.0)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct MemberHeld {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub circle_name: String,
    #[diesel(sql_type = Text)]
    pub role_key: String,
    #[diesel(sql_type = Text)]
    pub role_name: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Timestamptz)]
    pub first_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_at: DateTime<Utc>,
}

/// A slot that needs the sweep's attention: ask time reached, answer overdue, or still open
/// close to the session.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Due {
    #[diesel(sql_type = SqlUuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub state: String,
}

/// Slots the clock has made due at `now`, oldest first, at most `limit`.
pub async fn due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<Vec<Due>> {
    diesel::sql_query(
        "SELECT sr.id, sr.circle_id, sr.state FROM session_roles sr \
         JOIN sessions s ON s.id = sr.session_id JOIN circles c ON c.id = sr.circle_id \
         WHERE s.status = 'scheduled' AND s.starts_at > $1 AND ( \
           (sr.state = 'proposed' AND c.facilitation = 'rotating' \
              AND s.starts_at - make_interval(days => c.role_ask_days) <= $1) \
        OR (sr.state = 'asked' AND sr.asked_at + make_interval(hours => c.role_answer_hours) <= $1) \
        OR (sr.state IN ('open', 'declined') AND sr.reported_at IS NULL \
              AND s.starts_at - interval '48 hours' <= $1)) \
         ORDER BY s.starts_at LIMIT $2",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Roles a member holds or is asked for in sessions that have not ended, across circles.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Upcoming {
    #[diesel(sql_type = SqlUuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub session_id: uuid::Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub starts_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub ends_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub timezone: String,
    #[diesel(sql_type = Text)]
    pub circle_name: String,
    #[diesel(sql_type = Text)]
    pub role_name: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub why: String,
}

pub async fn upcoming_for_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Upcoming>> {
    diesel::sql_query(
        "SELECT sr.id, sr.session_id, s.starts_at, s.ends_at, s.timezone, c.name AS circle_name, \
                k.name AS role_name, sr.state, sr.why \
         FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
         JOIN circles c ON c.id = sr.circle_id \
         JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key \
         WHERE sr.member_id = $1 AND sr.state IN ('proposed', 'asked', 'confirmed') \
           AND s.status = 'scheduled' AND s.ends_at > $2 \
         ORDER BY s.starts_at LIMIT 50",
    )
    .bind::<SqlUuid, _>(member.0)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// Who answered "no" for any of `sessions_`.
pub async fn answered_no(
    conn: &mut AsyncPgConnection,
    sessions_: &[SessionId],
) -> diesel::QueryResult<Vec<(SessionId, MemberId)>> {
    use super::schema::rsvps;
    rsvps::table
        .filter(rsvps::session_id.eq_any(sessions_))
        .filter(rsvps::response.eq(crate::domain::RsvpResponse::No))
        .select((rsvps::session_id, rsvps::member_id))
        .load(conn)
        .await
}

/// The confirmed holders of a session's roles other than the facilitator, as
/// (role name, holder names), in the circle's order of roles.
pub async fn holders(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Vec<(String, String)>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        holders: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT k.name, string_agg(m.display_name, ', ' ORDER BY sr.slot) AS holders \
         FROM session_roles sr JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key \
         JOIN members m ON m.id = sr.member_id \
         WHERE sr.session_id = $1 AND sr.state = 'confirmed' AND sr.role_key <> 'facilitator' \
         GROUP BY k.name, k.position ORDER BY k.position, k.name",
    )
    .bind::<SqlUuid, _>(session.0)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.holders)).collect())
}

/// The role whose holder is asked for questions before a session.
pub const QUESTIONS_ROLE: &str = "discussion_lead";

/// Discussion-lead slots whose holder has not been asked for questions yet, in sessions that
/// start between `now` and `until`.
pub async fn questions_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> diesel::QueryResult<Vec<SessionRole>> {
    session_roles::table
        .inner_join(sessions::table)
        .filter(session_roles::role_key.eq(QUESTIONS_ROLE))
        .filter(session_roles::state.eq(RoleState::Confirmed))
        .filter(session_roles::member_id.is_not_null())
        .filter(session_roles::questions_asked_of.is_distinct_from(session_roles::member_id))
        .filter(sessions::status.eq(crate::domain::SessionStatus::Scheduled))
        .filter(sessions::starts_at.gt(now))
        .filter(sessions::starts_at.le(until))
        .select(SessionRole::as_select())
        .load(conn)
        .await
}

/// Record that the slot's current holder was asked for questions.
pub async fn mark_questions_asked(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set(session_roles::questions_asked_of.eq(Some(member)))
        .execute(conn)
        .await
        .map(drop)
}

/// Keep `member`'s questions for the slot (one per line).
pub async fn set_questions(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
    questions: &[String],
) -> diesel::QueryResult<()> {
    diesel::update(session_roles::table.find(id))
        .set((
            session_roles::questions.eq(Some(questions.join("\n"))),
            session_roles::questions_by.eq(Some(member)),
            session_roles::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The questions the current holder of a discussion-lead slot wrote, with their name.
pub async fn questions_of(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Option<(String, Vec<String>)>> {
    use super::schema::members;
    let found: Option<(String, Option<String>)> = session_roles::table
        .inner_join(members::table.on(members::id.nullable().eq(session_roles::member_id)))
        .filter(session_roles::session_id.eq(session))
        .filter(session_roles::role_key.eq(QUESTIONS_ROLE))
        .filter(session_roles::state.eq(RoleState::Confirmed))
        .filter(session_roles::questions_by.eq(session_roles::member_id))
        .order(session_roles::slot)
        .select((members::display_name, session_roles::questions))
        .first(conn)
        .await
        .optional()?;
    Ok(found.and_then(|(name, q)| {
        let list: Vec<String> = q?.lines().map(str::to_string).collect();
        (!list.is_empty()).then_some((name, list))
    }))
}

/// What the slot's holder wrote, if they wrote it.
pub async fn own_questions(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    member: MemberId,
) -> diesel::QueryResult<Vec<String>> {
    let q: Option<Option<String>> = session_roles::table
        .find(id)
        .filter(session_roles::questions_by.eq(member))
        .select(session_roles::questions)
        .first(conn)
        .await
        .optional()?;
    Ok(q.flatten()
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default())
}
