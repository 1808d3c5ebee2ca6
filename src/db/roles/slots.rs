//! Slots: who holds each role of each session, and the reads over them (what the clock must
//! look at, a member's coming roles, a session's holders).

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::kinds::FACILITATOR;
use crate::db::schema::{session_roles, sessions};
use crate::domain::{CircleId, MemberId, RoleId, RoleSource, RoleState, SessionId};

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

/// The slots of `circle` that `member` is asked for and has not answered, in sessions still
/// to come, earliest session first.
pub async fn asked_of(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<SessionRole>> {
    session_roles::table
        .inner_join(sessions::table)
        .filter(session_roles::member_id.eq(member))
        .filter(session_roles::state.eq(RoleState::Asked))
        .filter(session_roles::circle_id.eq(circle))
        .filter(sessions::starts_at.gt(now))
        .order((sessions::starts_at, session_roles::id))
        .select(SessionRole::as_select())
        .limit(50)
        .load(conn)
        .await
}

/// The names of the people of `circle` asked for a role at `at` (by one re-plan), each once.
pub async fn asked_at(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Vec<String>> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        display_name: String,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT DISTINCT m.display_name FROM session_roles sr JOIN members m ON m.id = sr.member_id \
         WHERE sr.circle_id = $1 AND sr.state = 'asked' AND sr.asked_at = $2 \
         ORDER BY m.display_name",
    )
    .bind::<SqlUuid, _>(circle.0)
    .bind::<Timestamptz, _>(at)
    .load(conn)
    .await?;
    Ok(names.into_iter().map(|n| n.display_name).collect())
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
    write_chunk(conn, std::slice::from_ref(w), Utc::now())
        .await?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

/// Write many slots in one statement (insert or replace what each holds), as
/// [`write_slot`] writes one; returns how many were written. A re-plan writes every slot it
/// changes this way, so planning a circle takes the same statements however many sessions
/// and roles it has.
pub async fn write_slots(
    conn: &mut AsyncPgConnection,
    writes: &[SlotWrite],
) -> diesel::QueryResult<usize> {
    let now = Utc::now();
    let mut written = 0;
    // Twelve parameters a row; Postgres takes at most 65,535 in one statement.
    for chunk in writes.chunks(4096) {
        written += write_chunk(conn, chunk, now).await?.len();
    }
    Ok(written)
}

async fn write_chunk(
    conn: &mut AsyncPgConnection,
    writes: &[SlotWrite],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<SessionRole>> {
    use diesel::upsert::excluded;
    let rows: Vec<_> = writes
        .iter()
        .map(|w| {
            (
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
            )
        })
        .collect();
    diesel::insert_into(session_roles::table)
        .values(rows)
        .on_conflict((
            session_roles::session_id,
            session_roles::role_key,
            session_roles::slot,
        ))
        .do_update()
        .set((
            session_roles::member_id.eq(excluded(session_roles::member_id)),
            session_roles::state.eq(excluded(session_roles::state)),
            session_roles::source.eq(excluded(session_roles::source)),
            session_roles::why.eq(excluded(session_roles::why)),
            session_roles::seed.eq(excluded(session_roles::seed)),
            session_roles::asked_at.eq(excluded(session_roles::asked_at)),
            session_roles::answered_at.eq(excluded(session_roles::answered_at)),
            session_roles::reported_at.eq(None::<DateTime<Utc>>),
            session_roles::updated_at.eq(now),
        ))
        .returning(SessionRole::as_returning())
        .get_results(conn)
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

/// When an ask (`sr`, in circle `c`) must be answered: at the end of the day in the circle's
/// zone (23:59 there) once its `role_answer_hours` have passed. `domain::roles::answer_due`
/// says the same in Rust.
const ANSWER_BY: &str = "greatest(sr.asked_at + make_interval(hours => c.role_answer_hours), \
     (date_trunc('day', (sr.asked_at + make_interval(hours => c.role_answer_hours)) AT TIME ZONE c.timezone) \
      + interval '23 hours 59 minutes') AT TIME ZONE c.timezone)";

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
    diesel::sql_query(format!(
        "SELECT sr.id, sr.circle_id, sr.state FROM session_roles sr \
         JOIN sessions s ON s.id = sr.session_id JOIN circles c ON c.id = sr.circle_id \
         WHERE s.status = 'scheduled' AND s.starts_at > $1 AND ( \
           (sr.state = 'proposed' AND c.facilitation = 'rotating' \
              AND s.starts_at - make_interval(days => c.role_ask_days) <= $1) \
        OR (sr.state = 'asked' AND {ANSWER_BY} <= $1) \
        OR (sr.state IN ('open', 'declined') AND sr.reported_at IS NULL \
              AND s.starts_at - interval '48 hours' <= $1)) \
         ORDER BY s.starts_at LIMIT $2"
    ))
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
    /// For an ask: when an answer is due (after that it counts as a decline).
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    pub answer_by: Option<DateTime<Utc>>,
}

pub async fn upcoming_for_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Upcoming>> {
    diesel::sql_query(format!(
        "SELECT sr.id, sr.session_id, s.starts_at, s.ends_at, s.timezone, c.name AS circle_name, \
                k.name AS role_name, sr.state, sr.why, \
                CASE WHEN sr.state = 'asked' THEN {ANSWER_BY} END AS answer_by \
         FROM session_roles sr JOIN sessions s ON s.id = sr.session_id \
         JOIN circles c ON c.id = sr.circle_id \
         JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key \
         WHERE sr.member_id = $1 AND sr.state IN ('proposed', 'asked', 'confirmed') \
           AND s.status = 'scheduled' AND s.ends_at > $2 \
         ORDER BY s.starts_at LIMIT 50"
    ))
    .bind::<SqlUuid, _>(member.0)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// One slot of a session as the dashboard lists it: the role's name, who holds or is asked
/// for it, and where it stands.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct SlotLine {
    #[diesel(sql_type = Text)]
    pub role_key: String,
    #[diesel(sql_type = Text)]
    pub role_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub holder: Option<String>,
    #[diesel(sql_type = Text)]
    pub state: String,
}

/// Every slot of `session`, the facilitator first, in the circle's order of roles.
pub async fn slots_of_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Vec<SlotLine>> {
    diesel::sql_query(
        "SELECT sr.role_key, k.name AS role_name, m.display_name AS holder, sr.state \
         FROM session_roles sr \
         JOIN role_kinds k ON k.circle_id = sr.circle_id AND k.key = sr.role_key \
         LEFT JOIN members m ON m.id = sr.member_id \
         WHERE sr.session_id = $1 \
         ORDER BY (sr.role_key <> $2), k.position, sr.slot",
    )
    .bind::<SqlUuid, _>(session.0)
    .bind::<Text, _>(FACILITATOR)
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
    // A function (migration `rsvp_statements`), so each connection plans it once: the RSVP
    // page runs it on every view.
    let rows: Vec<Row> = diesel::sql_query("SELECT * FROM session_role_holders($1)")
        .bind::<SqlUuid, _>(session.0)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.holders)).collect())
}
