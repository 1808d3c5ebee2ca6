//! Sibling proposals (a circle's ask for someone to lead a new circle for its waitlist), who
//! moved to the sibling from which waitlist place, and circle families. What growing writes
//! to other nouns (sessions, readings, waitlist places) lives in their modules.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{circles, sibling_moves, sibling_proposals};
use crate::domain::growing as rules;
use crate::domain::{CircleId, MemberId, ProposalId, ProposalStart, ProposalState};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = sibling_proposals, check_for_backend(diesel::pg::Pg))]
pub struct Proposal {
    pub id: ProposalId,
    pub circle_id: CircleId,
    pub name: String,
    pub state: ProposalState,
    pub started_by: ProposalStart,
    /// Who may lead, best first, when the proposal was made.
    pub lead_order: Vec<MemberId>,
    /// Who said "not now" or let the ask lapse.
    pub passed: Vec<MemberId>,
    pub asked_member_id: Option<MemberId>,
    pub asked_at: Option<DateTime<Utc>>,
    pub answer_by: Option<DateTime<Utc>>,
    pub sibling_id: Option<CircleId>,
    pub moved: i32,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Insert a proposal that asks nobody yet; `None` when the circle already has one asking.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
    circle: CircleId,
    name: &str,
    started_by: ProposalStart,
    lead_order: &[MemberId],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Proposal>> {
    diesel::insert_into(sibling_proposals::table)
        .values((
            sibling_proposals::id.eq(id),
            sibling_proposals::circle_id.eq(circle),
            sibling_proposals::name.eq(name),
            sibling_proposals::state.eq(ProposalState::Asking),
            sibling_proposals::started_by.eq(started_by),
            sibling_proposals::lead_order.eq(lead_order),
            sibling_proposals::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .returning(Proposal::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
) -> diesel::QueryResult<Option<Proposal>> {
    sibling_proposals::table
        .find(id)
        .select(Proposal::as_select())
        .first(conn)
        .await
        .optional()
}

/// Read a proposal and hold it until the transaction ends: answers to it take turns.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
) -> diesel::QueryResult<Option<Proposal>> {
    sibling_proposals::table
        .find(id)
        .select(Proposal::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The circle's proposal that is asking for a lead, if any (there is at most one).
pub async fn asking(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Option<Proposal>> {
    sibling_proposals::table
        .filter(sibling_proposals::circle_id.eq(circle))
        .filter(sibling_proposals::state.eq(ProposalState::Asking))
        .select(Proposal::as_select())
        .first(conn)
        .await
        .optional()
}

/// A circle's proposals, newest first.
pub async fn for_circle(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<Proposal>> {
    sibling_proposals::table
        .filter(sibling_proposals::circle_id.eq(circle))
        .order((
            sibling_proposals::created_at.desc(),
            sibling_proposals::id.desc(),
        ))
        .limit(limit)
        .select(Proposal::as_select())
        .load(conn)
        .await
}

/// Ask `member` (or nobody) to lead, answering by `answer_by`.
pub async fn set_asked(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
    member: Option<MemberId>,
    now: DateTime<Utc>,
    answer_by: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Proposal> {
    diesel::update(sibling_proposals::table.find(id))
        .set((
            sibling_proposals::asked_member_id.eq(member),
            sibling_proposals::asked_at.eq(member.map(|_| now)),
            sibling_proposals::answer_by.eq(answer_by),
        ))
        .returning(Proposal::as_returning())
        .get_result(conn)
        .await
}

/// Record that `member` passed (said "not now", or let the ask lapse).
pub async fn pass(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
    member: MemberId,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE sibling_proposals SET passed = array_append(passed, $2) \
         WHERE id = $1 AND NOT ($2 = ANY (passed))",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<SqlUuid, _>(member.0)
    .execute(conn)
    .await
    .map(drop)
}

/// Close a proposal: accepted (with its sibling and how many moved), unled or withdrawn.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
    state: ProposalState,
    sibling: Option<CircleId>,
    moved: i32,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Proposal> {
    diesel::update(sibling_proposals::table.find(id))
        .set((
            sibling_proposals::state.eq(state),
            sibling_proposals::sibling_id.eq(sibling),
            sibling_proposals::moved.eq(moved),
            sibling_proposals::decided_at.eq(now),
            sibling_proposals::answer_by.eq(None::<DateTime<Utc>>),
        ))
        .returning(Proposal::as_returning())
        .get_result(conn)
        .await
}

/// Proposals whose ask has gone unanswered past its time.
pub async fn lapsed(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<ProposalId>> {
    sibling_proposals::table
        .filter(sibling_proposals::state.eq(ProposalState::Asking))
        .filter(sibling_proposals::answer_by.lt(now))
        .select(sibling_proposals::id)
        .load(conn)
        .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Waiting {
    #[diesel(sql_type = SqlUuid)]
    pub circle_id: CircleId,
    #[diesel(sql_type = BigInt)]
    pub waiting: i64,
    #[diesel(sql_type = Nullable<Integer>)]
    pub capacity: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub grow_threshold: Option<i32>,
}

/// Open circles whose waitlist has reached their threshold (`domain::growing::threshold`: their
/// own setting, else a share of the capacity), with nobody being asked to lead a sibling, and
/// no proposal that came to nothing since `quiet_since`.
pub async fn due(
    conn: &mut AsyncPgConnection,
    quiet_since: DateTime<Utc>,
    only: Option<CircleId>,
) -> diesel::QueryResult<Vec<Waiting>> {
    let waiting: Vec<Waiting> = diesel::sql_query(
        "SELECT c.id AS circle_id, count(*) AS waiting, c.capacity, c.grow_threshold FROM circles c \
         JOIN memberships ms ON ms.circle_id = c.id AND ms.state = 'waitlisted' \
         WHERE c.status = 'open' AND c.grow_threshold IS DISTINCT FROM 0 \
           AND ($2::uuid IS NULL OR c.id = $2) \
           AND NOT EXISTS (SELECT 1 FROM sibling_proposals p WHERE p.circle_id = c.id \
                 AND (p.state = 'asking' OR (p.state IN ('unled', 'withdrawn') AND p.created_at > $1))) \
         GROUP BY c.id \
         ORDER BY c.id",
    )
    .bind::<Timestamptz, _>(quiet_since)
    .bind::<Nullable<SqlUuid>, _>(only.map(|c| c.0))
    .load(conn)
    .await?;
    // The threshold is one rule, in Rust; the circles with a waitlist are few.
    Ok(waiting
        .into_iter()
        .filter(|w| rules::reached(w.waiting, rules::threshold(w.capacity, w.grow_threshold)))
        .collect())
}

/// Record who moved to the sibling and from which waitlist place.
pub async fn add_moves(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
    moved: &[(MemberId, i32)],
) -> diesel::QueryResult<()> {
    let rows: Vec<_> = moved
        .iter()
        .map(|(m, pos)| {
            (
                sibling_moves::proposal_id.eq(id),
                sibling_moves::member_id.eq(*m),
                sibling_moves::from_position.eq(*pos),
            )
        })
        .collect();
    diesel::insert_into(sibling_moves::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// Who moved to the sibling, in their old waitlist order.
pub async fn moves(
    conn: &mut AsyncPgConnection,
    id: ProposalId,
) -> diesel::QueryResult<Vec<(MemberId, i32)>> {
    sibling_moves::table
        .filter(sibling_moves::proposal_id.eq(id))
        .order(sibling_moves::from_position)
        .select((sibling_moves::member_id, sibling_moves::from_position))
        .load(conn)
        .await
}

/// The proposal that moved `member` into `sibling`, if one did.
pub async fn moved_into(
    conn: &mut AsyncPgConnection,
    sibling: CircleId,
    member: MemberId,
) -> diesel::QueryResult<Option<(Proposal, i32)>> {
    sibling_proposals::table
        .inner_join(sibling_moves::table)
        .filter(sibling_proposals::sibling_id.eq(sibling))
        .filter(sibling_moves::member_id.eq(member))
        .select((Proposal::as_select(), sibling_moves::from_position))
        .first(conn)
        .await
        .optional()
}

/// The circles of `family` (its first circle and every circle grown from it), oldest first.
pub async fn family(
    conn: &mut AsyncPgConnection,
    family: CircleId,
) -> diesel::QueryResult<Vec<(CircleId, String)>> {
    circles::table
        .filter(circles::family_id.eq(family).or(circles::id.eq(family)))
        .order((circles::created_at, circles::id))
        .select((circles::id, circles::name))
        .load(conn)
        .await
}

/// Put `circle` into `family`.
pub async fn join_family(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    family: CircleId,
    parent: Option<CircleId>,
) -> diesel::QueryResult<()> {
    let target = circles::table.find(circle);
    match parent {
        Some(p) => {
            diesel::update(target)
                .set((circles::family_id.eq(family), circles::parent_id.eq(p)))
                .execute(conn)
                .await
        }
        None => {
            diesel::update(target)
                .set(circles::family_id.eq(family))
                .execute(conn)
                .await
        }
    }
    .map(drop)
}
