//! Role kinds: the roles a circle's sessions need (the facilitator and micro-roles).

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::{role_kinds, session_roles, sessions};
use crate::domain::CircleId;

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

/// Give `to` every role kind of `from` (the facilitator and micro-roles) it does not have.
/// Everyone is new to a new circle, so a role that rotates waits there until someone has
/// come to one of its sessions (its facilitators lead before that).
pub async fn copy_kinds(
    conn: &mut AsyncPgConnection,
    from: CircleId,
    to: CircleId,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO role_kinds (circle_id, key, name, guide, slots, rotates, min_attended, position) \
         SELECT $2, key, name, guide, slots, rotates, \
                CASE WHEN rotates THEN greatest(min_attended, 1) ELSE min_attended END, position \
         FROM role_kinds \
         WHERE circle_id = $1 ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Uuid, _>(from.0)
    .bind::<diesel::sql_types::Uuid, _>(to.0)
    .execute(conn)
    .await
    .map(drop)
}
