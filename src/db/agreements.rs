//! Agreements, their versions, consent rounds and the stances given in them, and who has
//! acknowledged which adopted version. Stances are read by count while a round is open; who
//! said what is only ever loaded for a closed round.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Integer, Timestamptz, Uuid as SqlUuid};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods,
    OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{
    agreement_acks, agreement_versions, agreements, consent_outcomes_carried, consent_rounds,
    consent_stances, members, memberships,
};
use crate::domain::{
    AgreementId, AgreementStatus, CircleId, MemberId, MembershipState, RoundId, RoundKind,
    RoundOutcome, Stance,
};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = agreements, check_for_backend(diesel::pg::Pg))]
pub struct Agreement {
    pub id: AgreementId,
    pub circle_id: CircleId,
    pub title: String,
    pub status: AgreementStatus,
    /// The newest version (the one a round is about, or was last about).
    pub current_version: i32,
    /// The version the circle adopted, when it has one.
    pub adopted_version: Option<i32>,
    pub adopted_at: Option<DateTime<Utc>>,
    /// Sessions between reviews; none means it is not reviewed on a cadence.
    pub review_every_sessions: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = agreement_versions, check_for_backend(diesel::pg::Pg))]
pub struct Version {
    pub version: i32,
    pub body: String,
    /// What changed and why (for a revision).
    pub note: String,
    pub proposed_by: Option<MemberId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = consent_rounds, check_for_backend(diesel::pg::Pg))]
pub struct Round {
    pub id: RoundId,
    pub agreement_id: AgreementId,
    pub circle_id: CircleId,
    pub version: i32,
    pub kind: RoundKind,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Active members when the round opened.
    pub eligible: i32,
    /// Answers it needs to adopt.
    pub quorum: i32,
    pub outcome: Option<RoundOutcome>,
}

impl Round {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    title: &str,
    review_every_sessions: Option<i32>,
) -> diesel::QueryResult<Agreement> {
    diesel::insert_into(agreements::table)
        .values((
            agreements::id.eq(AgreementId::new()),
            agreements::circle_id.eq(circle),
            agreements::title.eq(title),
            agreements::review_every_sessions.eq(review_every_sessions),
            agreements::current_version.eq(0),
        ))
        .returning(Agreement::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: AgreementId,
) -> diesel::QueryResult<Option<Agreement>> {
    agreements::table
        .find(id)
        .select(Agreement::as_select())
        .first(conn)
        .await
        .optional()
}

/// The agreement, locked until the end of the transaction.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: AgreementId,
) -> diesel::QueryResult<Option<Agreement>> {
    agreements::table
        .find(id)
        .select(Agreement::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The circle's agreements, oldest first.
pub async fn for_circle(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<Agreement>> {
    agreements::table
        .filter(agreements::circle_id.eq(circle))
        .order((agreements::created_at, agreements::id))
        .select(Agreement::as_select())
        .load(conn)
        .await
}

/// Add the next version of `agreement`'s text; returns its number.
pub async fn add_version(
    conn: &mut AsyncPgConnection,
    agreement: &Agreement,
    body: &str,
    note: &str,
    proposed_by: Option<MemberId>,
) -> diesel::QueryResult<i32> {
    let version = agreement.current_version + 1;
    diesel::insert_into(agreement_versions::table)
        .values((
            agreement_versions::agreement_id.eq(agreement.id),
            agreement_versions::version.eq(version),
            agreement_versions::body.eq(body),
            agreement_versions::note.eq(note),
            agreement_versions::proposed_by.eq(proposed_by),
        ))
        .execute(conn)
        .await?;
    diesel::update(agreements::table.find(agreement.id))
        .set((
            agreements::current_version.eq(version),
            agreements::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(version)
}

pub async fn versions(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
) -> diesel::QueryResult<Vec<Version>> {
    agreement_versions::table
        .filter(agreement_versions::agreement_id.eq(agreement))
        .order(agreement_versions::version)
        .select(Version::as_select())
        .load(conn)
        .await
}

pub async fn version(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
    version: i32,
) -> diesel::QueryResult<Option<Version>> {
    agreement_versions::table
        .find((agreement, version))
        .select(Version::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
    status: AgreementStatus,
) -> diesel::QueryResult<()> {
    diesel::update(agreements::table.find(agreement))
        .set((
            agreements::status.eq(status),
            agreements::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Make `version` the circle's.
pub async fn adopt(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
    version: i32,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::update(agreements::table.find(agreement))
        .set((
            agreements::status.eq(AgreementStatus::Adopted),
            agreements::adopted_version.eq(version),
            agreements::adopted_at.eq(at),
            agreements::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A new round on `version`.
#[allow(clippy::too_many_arguments)]
pub async fn open_round(
    conn: &mut AsyncPgConnection,
    agreement: &Agreement,
    version: i32,
    kind: RoundKind,
    opened_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    eligible: i32,
    quorum: i32,
) -> diesel::QueryResult<Round> {
    diesel::insert_into(consent_rounds::table)
        .values((
            consent_rounds::id.eq(RoundId::new()),
            consent_rounds::agreement_id.eq(agreement.id),
            consent_rounds::circle_id.eq(agreement.circle_id),
            consent_rounds::version.eq(version),
            consent_rounds::kind.eq(kind),
            consent_rounds::opened_at.eq(opened_at),
            consent_rounds::closes_at.eq(closes_at),
            consent_rounds::eligible.eq(eligible),
            consent_rounds::quorum.eq(quorum),
        ))
        .returning(Round::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_round(
    conn: &mut AsyncPgConnection,
    id: RoundId,
) -> diesel::QueryResult<Option<Round>> {
    consent_rounds::table
        .find(id)
        .select(Round::as_select())
        .first(conn)
        .await
        .optional()
}

/// The round, locked: answers and the close take turns, so none is lost or counted late.
pub async fn lock_round(
    conn: &mut AsyncPgConnection,
    id: RoundId,
) -> diesel::QueryResult<Option<Round>> {
    consent_rounds::table
        .find(id)
        .select(Round::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The agreement's rounds, oldest first.
pub async fn rounds(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
) -> diesel::QueryResult<Vec<Round>> {
    consent_rounds::table
        .filter(consent_rounds::agreement_id.eq(agreement))
        .order(consent_rounds::opened_at)
        .select(Round::as_select())
        .load(conn)
        .await
}

pub async fn close_round(
    conn: &mut AsyncPgConnection,
    id: RoundId,
    outcome: RoundOutcome,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::update(consent_rounds::table.find(id))
        .set((
            consent_rounds::closed_at.eq(at),
            consent_rounds::outcome.eq(outcome),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// After an objection, the outcome letters to everyone but the proposer wait until `until`
/// for the revision's round to carry them.
pub async fn hold_outcome(
    conn: &mut AsyncPgConnection,
    round: RoundId,
    until: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::update(consent_rounds::table.find(round))
        .set(consent_rounds::outcome_held_until.eq(until))
        .execute(conn)
        .await
        .map(drop)
}

/// Until when the round's outcome was held back from everyone but its proposer, if it was.
pub async fn outcome_held_until(
    conn: &mut AsyncPgConnection,
    round: RoundId,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    consent_rounds::table
        .find(round)
        .select(consent_rounds::outcome_held_until)
        .first(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// The agreement's last closed round, when its outcome was held back for a revision.
pub async fn last_round_held(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
) -> diesel::QueryResult<Option<Round>> {
    let last: Option<(Round, Option<DateTime<Utc>>)> = consent_rounds::table
        .filter(consent_rounds::agreement_id.eq(agreement))
        .filter(consent_rounds::closed_at.is_not_null())
        .order(consent_rounds::closed_at.desc())
        .select((Round::as_select(), consent_rounds::outcome_held_until))
        .first(conn)
        .await
        .optional()?;
    Ok(last.and_then(|(round, held)| held.map(|_| round)))
}

/// `members` learn how round `outcome_of` ended from their letter for `round`.
pub async fn carry_outcome(
    conn: &mut AsyncPgConnection,
    round: RoundId,
    outcome_of: RoundId,
    members: &[MemberId],
) -> diesel::QueryResult<()> {
    if members.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = members
        .iter()
        .map(|m| {
            (
                consent_outcomes_carried::round_id.eq(round),
                consent_outcomes_carried::member_id.eq(*m),
                consent_outcomes_carried::outcome_of.eq(outcome_of),
            )
        })
        .collect();
    diesel::insert_into(consent_outcomes_carried::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// The earlier round whose outcome `member`'s letter for `round` carries, if any.
pub async fn carried_outcome(
    conn: &mut AsyncPgConnection,
    round: RoundId,
    member: MemberId,
) -> diesel::QueryResult<Option<RoundId>> {
    consent_outcomes_carried::table
        .find((round, member))
        .select(consent_outcomes_carried::outcome_of)
        .first(conn)
        .await
        .optional()
}

/// Active members of the circle now.
pub async fn active_members(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<MemberId>> {
    memberships::table
        .filter(memberships::circle_id.eq(circle))
        .filter(memberships::state.eq(MembershipState::Active))
        .order(memberships::member_id)
        .select(memberships::member_id)
        .load(conn)
        .await
}

/// A member's answer that counts now, if any.
pub async fn stance_of(
    conn: &mut AsyncPgConnection,
    round: RoundId,
    member: MemberId,
) -> diesel::QueryResult<Option<(Stance, String)>> {
    consent_stances::table
        .filter(consent_stances::round_id.eq(round))
        .filter(consent_stances::member_id.eq(member))
        .filter(consent_stances::latest.eq(true))
        .select((consent_stances::stance, consent_stances::reason))
        .first(conn)
        .await
        .optional()
}

/// Record an answer: the earlier one stays in the history, this one counts. The caller holds
/// the round's lock.
pub async fn set_stance(
    conn: &mut AsyncPgConnection,
    round: RoundId,
    member: MemberId,
    stance: Stance,
    reason: &str,
) -> diesel::QueryResult<()> {
    diesel::update(
        consent_stances::table
            .filter(consent_stances::round_id.eq(round))
            .filter(consent_stances::member_id.eq(member))
            .filter(consent_stances::latest.eq(true)),
    )
    .set(consent_stances::latest.eq(false))
    .execute(conn)
    .await?;
    diesel::insert_into(consent_stances::table)
        .values((
            consent_stances::round_id.eq(round),
            consent_stances::member_id.eq(member),
            consent_stances::stance.eq(stance),
            consent_stances::reason.eq(reason),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The answers that count, from people who are active members now.
pub async fn latest_stances(
    conn: &mut AsyncPgConnection,
    round: &Round,
) -> diesel::QueryResult<Vec<Stance>> {
    consent_stances::table
        .inner_join(
            memberships::table.on(memberships::member_id
                .eq(consent_stances::member_id)
                .and(memberships::circle_id.eq(round.circle_id))),
        )
        .filter(consent_stances::round_id.eq(round.id))
        .filter(consent_stances::latest.eq(true))
        .filter(memberships::state.eq(MembershipState::Active))
        .select(consent_stances::stance)
        .load(conn)
        .await
}

/// Who said what in a round, with names; for closed rounds only (the caller checks).
#[derive(Debug, Clone, diesel::Queryable, Serialize, utoipa::ToSchema)]
pub struct GivenStance {
    pub member_id: MemberId,
    pub display_name: String,
    pub stance: Stance,
    pub reason: String,
}

pub async fn stances_of_closed(
    conn: &mut AsyncPgConnection,
    round: &Round,
) -> diesel::QueryResult<Vec<GivenStance>> {
    if round.is_open() {
        return Ok(Vec::new());
    }
    consent_stances::table
        .inner_join(members::table)
        .filter(consent_stances::round_id.eq(round.id))
        .filter(consent_stances::latest.eq(true))
        .order(members::display_name)
        .select((
            consent_stances::member_id,
            members::display_name,
            consent_stances::stance,
            consent_stances::reason,
        ))
        .load(conn)
        .await
}

/// Active members who have not answered: the reminder goes to them only.
pub async fn undecided(
    conn: &mut AsyncPgConnection,
    round: &Round,
) -> diesel::QueryResult<Vec<MemberId>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        member_id: MemberId,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT ms.member_id FROM memberships ms \
         WHERE ms.circle_id = $1 AND ms.state = 'active' \
           AND NOT EXISTS (SELECT 1 FROM consent_stances cs WHERE cs.round_id = $2 \
                           AND cs.member_id = ms.member_id AND cs.latest) \
         ORDER BY ms.member_id",
    )
    .bind::<SqlUuid, _>(round.circle_id.0)
    .bind::<SqlUuid, _>(round.id.0)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.member_id).collect())
}

/// The open round of an agreement, if any.
pub async fn open_round_of(
    conn: &mut AsyncPgConnection,
    agreement: AgreementId,
) -> diesel::QueryResult<Option<Round>> {
    consent_rounds::table
        .filter(consent_rounds::agreement_id.eq(agreement))
        .filter(consent_rounds::closed_at.is_null())
        .select(Round::as_select())
        .first(conn)
        .await
        .optional()
}

/// An adopted agreement with the text the circle adopted.
#[derive(Debug, Clone, diesel::Queryable, Serialize, utoipa::ToSchema)]
pub struct Adopted {
    pub agreement_id: AgreementId,
    pub title: String,
    pub version: i32,
    pub body: String,
}

/// The circle's adopted agreements, oldest first.
pub async fn adopted(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<Vec<Adopted>> {
    agreements::table
        .inner_join(
            agreement_versions::table.on(agreement_versions::agreement_id
                .eq(agreements::id)
                .and(agreements::adopted_version.eq(agreement_versions::version.nullable()))),
        )
        .filter(agreements::circle_id.eq(circle))
        .filter(agreements::adopted_version.is_not_null())
        .filter(agreements::status.ne(AgreementStatus::Retired))
        .order((agreements::created_at, agreements::id))
        .select((
            agreements::id,
            agreements::title,
            agreement_versions::version,
            agreement_versions::body,
        ))
        .load(conn)
        .await
}

/// Record that `member` read the adopted versions given.
pub async fn acknowledge(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    versions: &[(AgreementId, i32)],
) -> diesel::QueryResult<usize> {
    let rows: Vec<_> = versions
        .iter()
        .map(|(a, v)| {
            (
                agreement_acks::agreement_id.eq(*a),
                agreement_acks::member_id.eq(member),
                agreement_acks::version.eq(*v),
            )
        })
        .collect();
    diesel::insert_into(agreement_acks::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

/// Which of the given adopted versions the member has acknowledged.
pub async fn acknowledged(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    agreements_in: &[AgreementId],
) -> diesel::QueryResult<Vec<(AgreementId, i32)>> {
    agreement_acks::table
        .filter(agreement_acks::member_id.eq(member))
        .filter(agreement_acks::agreement_id.eq_any(agreements_in))
        .select((agreement_acks::agreement_id, agreement_acks::version))
        .load(conn)
        .await
}

/// Rounds open in the circles where `member` is active, newest first.
pub async fn open_rounds_for_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> diesel::QueryResult<Vec<(Round, String)>> {
    consent_rounds::table
        .inner_join(agreements::table)
        .inner_join(
            memberships::table.on(memberships::circle_id
                .eq(consent_rounds::circle_id)
                .and(memberships::member_id.eq(member))),
        )
        .filter(memberships::state.eq(MembershipState::Active))
        .filter(consent_rounds::closed_at.is_null())
        .order(consent_rounds::opened_at.desc())
        .select((Round::as_select(), agreements::title))
        .load(conn)
        .await
}

/// Serialise opening rounds in one circle until the transaction ends.
pub async fn lock_new_rounds(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('rounds:' || $1::text, 0))")
        .bind::<SqlUuid, _>(circle.0)
        .execute(conn)
        .await
        .map(drop)
}

/// An open round in `circle` on a version `member` proposed: its title and close.
pub async fn open_proposal_by(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
) -> diesel::QueryResult<Option<(String, DateTime<Utc>)>> {
    consent_rounds::table
        .inner_join(agreements::table)
        .inner_join(
            agreement_versions::table.on(agreement_versions::agreement_id
                .eq(consent_rounds::agreement_id)
                .and(agreement_versions::version.eq(consent_rounds::version))),
        )
        .filter(consent_rounds::circle_id.eq(circle))
        .filter(consent_rounds::closed_at.is_null())
        .filter(agreement_versions::proposed_by.eq(member))
        .order(consent_rounds::closes_at)
        .select((agreements::title, consent_rounds::closes_at))
        .first(conn)
        .await
        .optional()
}

/// `circle`'s rounds opened since `since`, any kind.
pub async fn round_ids_since(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    since: DateTime<Utc>,
) -> diesel::QueryResult<Vec<RoundId>> {
    consent_rounds::table
        .filter(consent_rounds::circle_id.eq(circle))
        .filter(consent_rounds::opened_at.gt(since))
        .select(consent_rounds::id)
        .load(conn)
        .await
}

/// When `circle`'s rounds opened since `since`, oldest first, leaving out second rounds after
/// an objection (they answer the circle, they do not add to it).
pub async fn rounds_opened_since(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    since: DateTime<Utc>,
) -> diesel::QueryResult<Vec<DateTime<Utc>>> {
    consent_rounds::table
        .filter(consent_rounds::circle_id.eq(circle))
        .filter(consent_rounds::opened_at.gt(since))
        .filter(consent_rounds::kind.ne(RoundKind::Integration))
        .order(consent_rounds::opened_at)
        .select(consent_rounds::opened_at)
        .load(conn)
        .await
}

/// Rounds whose close time has passed but which are still open (the worker was away).
pub async fn overdue_rounds(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<RoundId>> {
    consent_rounds::table
        .filter(consent_rounds::closed_at.is_null())
        .filter(consent_rounds::closes_at.le(now))
        .order(consent_rounds::closes_at)
        .limit(200)
        .select(consent_rounds::id)
        .load(conn)
        .await
}

/// Adopted agreements due a review: at least `review_every_sessions` sessions of the circle
/// have ended since adoption (or since the last review round), and no round is open.
pub async fn due_for_review(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<AgreementId>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: AgreementId,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT a.id FROM agreements a \
         WHERE a.status = 'adopted' AND a.review_every_sessions IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM consent_rounds r WHERE r.agreement_id = a.id AND r.closed_at IS NULL) \
           AND (SELECT count(*) FROM sessions s WHERE s.circle_id = a.circle_id \
                  AND s.status <> 'cancelled' AND s.ends_at <= $1 \
                  AND s.starts_at > greatest(a.adopted_at, \
                        coalesce((SELECT max(r.opened_at) FROM consent_rounds r WHERE r.agreement_id = a.id AND r.kind = 'review'), a.adopted_at))) \
               >= a.review_every_sessions \
         LIMIT $2",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(200)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
