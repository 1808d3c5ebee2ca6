//! Members' rotation preferences.

use chrono::{NaiveDate, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::rotation_prefs;
use crate::domain::{CircleId, MemberId};

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
