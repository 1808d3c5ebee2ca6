//! Circles: the groups people join, with their seats, zone and email timing.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{circles, memberships};
use crate::domain::{
    CircleId, CircleKind, CircleStatus, Facilitation, MemberId, MembershipRole, MembershipState,
    Slug, Timezone, Visibility,
};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = circles, check_for_backend(diesel::pg::Pg))]
pub struct Circle {
    pub id: CircleId,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub kind: CircleKind,
    pub visibility: Visibility,
    pub capacity: Option<i32>,
    pub timezone: Timezone,
    pub location: Option<String>,
    pub status: CircleStatus,
    pub facilitation: Facilitation,
    pub reminder_offset_minutes: i32,
    pub reflection_delay_minutes: i32,
    /// Days before a session its invitation goes out; 0 sends it as soon as it is scheduled.
    pub invite_lead_days: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many coming sessions a rotating circle plans its roles for.
    pub planning_horizon: i32,
    /// Days before a session its proposed role holders are asked by email.
    pub role_ask_days: i32,
    /// Hours an ask waits for an answer before it counts as a decline.
    pub role_answer_hours: i32,
    /// Feedback reaches whoever led only when at least this many answered.
    pub feedback_min_answers: i32,
    /// The roles whose holders (who came) are asked about in feedback: the facilitator's
    /// unless the circle adds others.
    pub feedback_roles: Vec<String>,
    /// A consent round adopts only when at least this share (per cent) of active members answered.
    pub consent_quorum_percent: i32,
    /// How long a consent round stays open, in days.
    pub consent_round_days: i32,
    /// The first circle of the family this one belongs to (none until a circle grows).
    pub family_id: Option<CircleId>,
    /// The circle this one grew from.
    pub parent_id: Option<CircleId>,
    /// People waiting before a sibling is proposed; none means a third of the
    /// capacity (at least 2), 0 never.
    pub grow_threshold: Option<i32>,
}

#[derive(Debug, Clone, diesel::Insertable)]
#[diesel(table_name = circles)]
pub struct NewCircle {
    pub id: CircleId,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub kind: CircleKind,
    pub visibility: Visibility,
    pub capacity: Option<i32>,
    pub timezone: Timezone,
    pub location: Option<String>,
    pub status: CircleStatus,
    pub facilitation: Facilitation,
    pub reminder_offset_minutes: i32,
    pub reflection_delay_minutes: i32,
    pub invite_lead_days: i32,
    pub planning_horizon: i32,
    pub role_ask_days: i32,
    pub role_answer_hours: i32,
    pub feedback_min_answers: i32,
    pub feedback_roles: Vec<String>,
    pub consent_quorum_percent: i32,
    pub consent_round_days: i32,
    pub grow_threshold: Option<i32>,
}

/// Fields to change; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, diesel::AsChangeset)]
#[diesel(table_name = circles)]
pub struct CircleChanges {
    pub slug: Option<Slug>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: Option<CircleKind>,
    pub visibility: Option<Visibility>,
    pub capacity: Option<Option<i32>>,
    pub timezone: Option<Timezone>,
    pub location: Option<Option<String>>,
    pub status: Option<CircleStatus>,
    pub facilitation: Option<Facilitation>,
    pub reminder_offset_minutes: Option<i32>,
    pub reflection_delay_minutes: Option<i32>,
    pub invite_lead_days: Option<i32>,
    pub planning_horizon: Option<i32>,
    pub role_ask_days: Option<i32>,
    pub role_answer_hours: Option<i32>,
    pub feedback_min_answers: Option<i32>,
    pub feedback_roles: Option<Vec<String>>,
    pub consent_quorum_percent: Option<i32>,
    pub consent_round_days: Option<i32>,
    pub grow_threshold: Option<Option<i32>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Insert a circle. When the slug was derived from the name (`explicit_slug` false), a taken
/// slug gets a numeric suffix; an explicit slug that is taken yields `None`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    mut new: NewCircle,
    slug: &Slug,
    explicit_slug: bool,
) -> diesel::QueryResult<Option<Circle>> {
    for attempt in 1..=50u32 {
        new.slug = if attempt == 1 {
            slug.clone()
        } else {
            slug.with_suffix(attempt)
        };
        let inserted = diesel::insert_into(circles::table)
            .values(&new)
            .on_conflict(circles::slug)
            .do_nothing()
            .returning(Circle::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if inserted.is_some() || explicit_slug {
            return Ok(inserted);
        }
    }
    Ok(None)
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: CircleId,
) -> diesel::QueryResult<Option<Circle>> {
    circles::table
        .find(id)
        .select(Circle::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> diesel::QueryResult<Option<Circle>> {
    circles::table
        .filter(circles::slug.eq(slug))
        .select(Circle::as_select())
        .first(conn)
        .await
        .optional()
}

/// Lock the circle row for the rest of the transaction: every change to who holds a seat
/// goes through this lock, so capacity cannot be exceeded by concurrent joins.
///
/// The lock is `FOR NO KEY UPDATE`: it excludes every other holder of this lock and every
/// `FOR SHARE` (signups), but not the key-share locks that inserting a row which references
/// the circle takes. A worker recording deliveries for the circle therefore never waits for a
/// join in progress, which could otherwise wait for that worker in turn (on a job's dedupe
/// key) and deadlock.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: CircleId,
) -> diesel::QueryResult<Option<Circle>> {
    circles::table
        .find(id)
        .select(Circle::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Circles visible to a caller: all of them for organisers, else those they facilitate.
pub async fn list(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    after: Option<CircleId>,
    limit: i64,
) -> diesel::QueryResult<Vec<Circle>> {
    let mut query = circles::table
        .select(Circle::as_select())
        .order(circles::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(circles::id.gt(after));
    }
    if let Some(member) = viewer {
        query = query.filter(
            circles::id.eq_any(
                memberships::table
                    .filter(memberships::member_id.eq(member))
                    .filter(memberships::role.eq(MembershipRole::Facilitator))
                    .filter(memberships::state.eq(MembershipState::Active))
                    .select(memberships::circle_id),
            ),
        );
    }
    query.load(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: CircleId,
    mut changes: CircleChanges,
) -> diesel::QueryResult<Circle> {
    changes.updated_at = Some(Utc::now());
    diesel::update(circles::table.find(id))
        .set(&changes)
        .returning(Circle::as_returning())
        .get_result(conn)
        .await
}

/// Whether `member` facilitates `circle` (an active membership with the facilitator role).
pub async fn is_facilitator(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::circle_id.eq(circle))
            .filter(memberships::member_id.eq(member))
            .filter(memberships::role.eq(MembershipRole::Facilitator))
            .filter(memberships::state.eq(MembershipState::Active)),
    ))
    .get_result(conn)
    .await
}

/// Circles anyone may see and join, by name.
pub async fn list_public(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> diesel::QueryResult<Vec<Circle>> {
    circles::table
        .filter(circles::status.eq(CircleStatus::Open))
        .filter(circles::visibility.eq(Visibility::Open))
        .order((circles::name, circles::id))
        .limit(limit)
        .select(Circle::as_select())
        .load(conn)
        .await
}

/// (id, name, slug) of the given circles, in one query.
pub async fn names(
    conn: &mut AsyncPgConnection,
    ids: &[CircleId],
) -> diesel::QueryResult<Vec<(CircleId, String, String)>> {
    circles::table
        .filter(circles::id.eq_any(ids))
        .select((circles::id, circles::name, circles::slug))
        .load(conn)
        .await
}

/// The given circles, in one query (in no particular order; absent ones are left out).
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[CircleId],
) -> diesel::QueryResult<Vec<Circle>> {
    circles::table
        .filter(circles::id.eq_any(ids))
        .select(Circle::as_select())
        .load(conn)
        .await
}

/// The time zones circles are scheduled in, most used first.
pub async fn zones_in_use(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> diesel::QueryResult<Vec<String>> {
    use diesel::dsl::count_star;
    circles::table
        .group_by(circles::timezone)
        .select(circles::timezone)
        .order((count_star().desc(), circles::timezone))
        .limit(limit)
        .load(conn)
        .await
}
