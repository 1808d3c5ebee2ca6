//! People: one row per address, however many circles they join.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::members;
use crate::domain::{DisplayName, EmailAddress, MemberId};

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    pub id: MemberId,
    pub email: String,
    pub display_name: String,
    pub timezone: Option<String>,
    pub organizer: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub reminders_enabled: bool,
    pub reflection_prompts_enabled: bool,
    #[serde(skip)]
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(diesel::Insertable)]
#[diesel(table_name = members)]
struct NewMember<'a> {
    id: MemberId,
    email: &'a str,
    display_name: &'a str,
    timezone: Option<&'a str>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: MemberId,
) -> diesel::QueryResult<Option<Member>> {
    members::table
        .find(id)
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
) -> diesel::QueryResult<Option<Member>> {
    members::table
        .filter(lower(members::email).eq(email.as_str().to_lowercase()))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

/// The member with this address, created with the given name when there is none yet.
/// Safe under concurrency: a racing insert of the same address yields the same row.
pub async fn find_or_create(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    display_name: &DisplayName,
    timezone: Option<&str>,
) -> diesel::QueryResult<Member> {
    let inserted = diesel::insert_into(members::table)
        .values(NewMember {
            id: MemberId::new(),
            email: email.as_str(),
            display_name: display_name.as_str(),
            timezone,
        })
        .on_conflict_do_nothing()
        .returning(Member::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(member) => Ok(member),
        None => find_by_email(conn, email)
            .await?
            .ok_or(diesel::result::Error::NotFound),
    }
}

pub async fn set_organizer(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    organizer: bool,
) -> diesel::QueryResult<()> {
    diesel::update(members::table.find(id))
        .set(members::organizer.eq(organizer))
        .execute(conn)
        .await
        .map(drop)
}

/// Display names for a set of members, in one query.
pub async fn display_names(
    conn: &mut AsyncPgConnection,
    ids: &[MemberId],
) -> diesel::QueryResult<Vec<(MemberId, String)>> {
    members::table
        .filter(members::id.eq_any(ids))
        .select((members::id, members::display_name))
        .load(conn)
        .await
}
