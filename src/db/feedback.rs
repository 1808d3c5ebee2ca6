//! Feedback for whoever held a role: requests, who may answer them (frozen when they open),
//! the answers held apart while a request is open, and at its close the answers and the
//! receipts that say who answered. A held answer names nobody: a keyed fingerprint of who gave
//! it stops a second answer. At the close the held answers and their receipts are written out
//! in random order in one transaction, so nothing pairs an answer with its receipt.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Uuid as SqlUuid};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods,
    OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{
    feedback_answers, feedback_eligible, feedback_held, feedback_receipts, feedback_requests,
    members, rsvps,
};
use crate::domain::feedback::Answer;
use crate::domain::{CircleId, FeedbackMode, FeedbackRequestId, MemberId, SessionId};

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize)]
#[diesel(table_name = feedback_requests, check_for_backend(diesel::pg::Pg))]
pub struct FeedbackRequest {
    pub id: FeedbackRequestId,
    pub session_id: SessionId,
    pub circle_id: CircleId,
    pub subject_id: MemberId,
    pub role_key: String,
    pub mode: FeedbackMode,
    pub min_answers: i32,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub results_sent_at: Option<DateTime<Utc>>,
    /// When who may answer was frozen; `None` while attendance was not marked yet.
    pub frozen_at: Option<DateTime<Utc>>,
    /// When who may answer changed after the freeze: the lead is then shown nothing.
    pub eligibility_changed_at: Option<DateTime<Utc>>,
    /// When the held answers were written out, at the close.
    pub sealed_at: Option<DateTime<Utc>>,
}

impl FeedbackRequest {
    pub fn is_closed(&self, now: DateTime<Utc>) -> bool {
        self.closes_at <= now
    }

    /// Where it stands for its lead at `now`, with `answered` answers so far.
    pub fn standing(&self, answered: i64, now: DateTime<Utc>) -> crate::domain::feedback::Standing {
        crate::domain::feedback::Standing {
            closed: self.is_closed(now),
            sealed: self.sealed_at.is_some(),
            changed: self.eligibility_changed_at.is_some(),
            answered: answered.max(0) as u32,
            needed: self.min_answers.max(0) as u32,
        }
    }
}

/// Who may answer a request of `session`, as things stand now: marked as attending, an active
/// member who joined before the session ended, and not the person the feedback is about.
const ELIGIBLE_NOW: &str = "SELECT r.member_id FROM rsvps r \
     JOIN sessions s ON s.id = r.session_id \
     JOIN memberships m ON m.circle_id = s.circle_id AND m.member_id = r.member_id \
     WHERE r.session_id = q.session_id AND r.attended AND m.state = 'active' \
       AND m.joined_at <= s.ends_at AND r.member_id <> q.subject_id";

/// Freeze who may answer the requests of `session` that are not frozen yet, when its
/// attendance has been marked; returns how many were frozen.
pub async fn freeze(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<usize> {
    if !super::rsvps::attendance_recorded(conn, session).await? {
        return Ok(0);
    }
    diesel::sql_query(format!(
        "INSERT INTO feedback_eligible (request_id, member_id) \
         SELECT q.id, e.member_id FROM feedback_requests q, LATERAL ({ELIGIBLE_NOW}) e \
         WHERE q.session_id = $1 AND q.frozen_at IS NULL ON CONFLICT DO NOTHING"
    ))
    .bind::<SqlUuid, _>(session.0)
    .execute(conn)
    .await?;
    diesel::update(
        feedback_requests::table
            .filter(feedback_requests::session_id.eq(session))
            .filter(feedback_requests::frozen_at.is_null()),
    )
    .set(feedback_requests::frozen_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
}

/// After an attendance change in `session`: every frozen request still open whose answerers
/// would now be someone else is marked changed, and its lead will be shown nothing.
pub async fn note_eligibility_change(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(format!(
        "UPDATE feedback_requests q SET eligibility_changed_at = $2 \
         WHERE q.session_id = $1 AND q.frozen_at IS NOT NULL \
           AND q.eligibility_changed_at IS NULL AND q.closes_at > $2 \
           AND EXISTS ( \
             (({ELIGIBLE_NOW}) EXCEPT SELECT member_id FROM feedback_eligible WHERE request_id = q.id) \
             UNION ALL \
             (SELECT member_id FROM feedback_eligible WHERE request_id = q.id EXCEPT ({ELIGIBLE_NOW})))"
    ))
    .bind::<SqlUuid, _>(session.0)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// `member` left `circle`: requests still open that they could answer are marked changed
/// (fewer people can answer than when they opened).
pub async fn note_departure(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::update(
        feedback_requests::table
            .filter(feedback_requests::circle_id.eq(circle))
            .filter(feedback_requests::closes_at.gt(now))
            .filter(feedback_requests::eligibility_changed_at.is_null())
            .filter(
                feedback_requests::id.eq_any(
                    feedback_eligible::table
                        .filter(feedback_eligible::member_id.eq(member))
                        .select(feedback_eligible::request_id),
                ),
            ),
    )
    .set(feedback_requests::eligibility_changed_at.eq(Some(now)))
    .execute(conn)
    .await
}

/// How many were asked to answer `request`: those frozen as able to, or while it is not
/// frozen, those marked as attending but the person it is about.
pub async fn asked(
    conn: &mut AsyncPgConnection,
    request: &FeedbackRequest,
) -> diesel::QueryResult<i64> {
    if request.frozen_at.is_some() {
        return feedback_eligible::table
            .filter(feedback_eligible::request_id.eq(request.id))
            .count()
            .get_result(conn)
            .await;
    }
    rsvps::table
        .filter(rsvps::session_id.eq(request.session_id))
        .filter(rsvps::attended.eq(true))
        .filter(rsvps::member_id.ne(request.subject_id))
        .count()
        .get_result(conn)
        .await
}

/// An open request a member may answer: who it is about, for which session.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct ToGive {
    #[diesel(sql_type = SqlUuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub closes_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub starts_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub circle_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub subject_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role_name: String,
}

/// The open requests `member` may answer (as frozen), about someone else, soonest close first;
/// whether they answered already is for the caller to ask (`has_answered`).
pub async fn to_give(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<ToGive>> {
    diesel::sql_query(
        "SELECT fr.id, fr.closes_at, s.starts_at, c.name AS circle_name, \
                m.display_name AS subject_name, coalesce(k.name, fr.role_key) AS role_name \
         FROM feedback_eligible fe JOIN feedback_requests fr ON fr.id = fe.request_id \
         JOIN sessions s ON s.id = fr.session_id JOIN circles c ON c.id = fr.circle_id \
         JOIN members m ON m.id = fr.subject_id \
         LEFT JOIN role_kinds k ON k.circle_id = fr.circle_id AND k.key = fr.role_key \
         WHERE fe.member_id = $1 AND fr.closes_at > $2 AND fr.subject_id <> $1 \
         ORDER BY fr.closes_at LIMIT 20",
    )
    .bind::<SqlUuid, _>(member.0)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .load(conn)
    .await
}

/// Whether `member` is among those who may answer `request` as frozen.
pub async fn is_eligible(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        feedback_eligible::table
            .filter(feedback_eligible::request_id.eq(request))
            .filter(feedback_eligible::member_id.eq(member)),
    ))
    .get_result(conn)
    .await
}

/// Whether `member` is the person some feedback on `session` is about.
pub async fn is_subject(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        feedback_requests::table
            .filter(feedback_requests::session_id.eq(session))
            .filter(feedback_requests::subject_id.eq(member)),
    ))
    .get_result(conn)
    .await
}

/// Open a request for every confirmed holder of a role in `session` who asked for feedback,
/// and freeze who may answer it when attendance is marked. A request that exists already stays
/// as it is (its mode cannot change once open).
pub async fn open_for_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    min_answers: i32,
    closes_at: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    let opened = diesel::sql_query(
        "INSERT INTO feedback_requests (id, session_id, circle_id, subject_id, role_key, mode, min_answers, closes_at) \
         SELECT gen_random_uuid(), sr.session_id, sr.circle_id, sr.member_id, sr.role_key, sr.feedback, $2, $3 \
         FROM session_roles sr JOIN circles c ON c.id = sr.circle_id \
         WHERE sr.session_id = $1 AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL \
           AND sr.feedback <> 'none' AND sr.role_key = ANY (c.feedback_roles) \
           AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.session_id = sr.session_id \
                             AND r.member_id = sr.member_id AND r.attended = false) \
         ON CONFLICT (session_id, role_key, subject_id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(session.0)
    .bind::<diesel::sql_types::Integer, _>(min_answers)
    .bind::<diesel::sql_types::Timestamptz, _>(closes_at)
    .execute(conn)
    .await?;
    freeze(conn, session).await?;
    Ok(opened)
}

/// Withdraw the requests of `session` still open about someone now marked as not having come:
/// feedback is asked only about holders who came. Their held answers go with them.
pub async fn withdraw_for_absent(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM feedback_requests q USING rsvps r \
         WHERE q.session_id = $1 AND q.closes_at > $2 \
           AND r.session_id = q.session_id AND r.member_id = q.subject_id AND r.attended = false",
    )
    .bind::<SqlUuid, _>(session.0)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await
}

pub async fn for_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<Vec<FeedbackRequest>> {
    feedback_requests::table
        .filter(feedback_requests::session_id.eq(session))
        .order((feedback_requests::role_key, feedback_requests::id))
        .select(FeedbackRequest::as_select())
        .load(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: FeedbackRequestId,
) -> diesel::QueryResult<Option<FeedbackRequest>> {
    feedback_requests::table
        .find(id)
        .select(FeedbackRequest::as_select())
        .first(conn)
        .await
        .optional()
}

/// The request, locked: answers and the close take turns.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: FeedbackRequestId,
) -> diesel::QueryResult<Option<FeedbackRequest>> {
    feedback_requests::table
        .find(id)
        .select(FeedbackRequest::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// How many answered: the answers written out and those still held.
pub async fn answered(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
) -> diesel::QueryResult<i64> {
    let out: i64 = feedback_answers::table
        .filter(feedback_answers::request_id.eq(request))
        .count()
        .get_result(conn)
        .await?;
    let held: i64 = feedback_held::table
        .filter(feedback_held::request_id.eq(request))
        .count()
        .get_result(conn)
        .await?;
    Ok(out + held)
}

/// Whether someone answered already: a receipt names them, or a held answer carries one of
/// `tags` (their fingerprints for this request, one per signing key).
pub async fn has_answered(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
    member: MemberId,
    tags: &[Vec<u8>],
) -> diesel::QueryResult<bool> {
    let receipt = diesel::select(diesel::dsl::exists(
        feedback_receipts::table
            .filter(feedback_receipts::request_id.eq(request))
            .filter(feedback_receipts::member_id.eq(member)),
    ))
    .get_result::<bool>(conn)
    .await?;
    if receipt {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        feedback_held::table
            .filter(feedback_held::request_id.eq(request))
            .filter(feedback_held::tag.eq_any(tags)),
    ))
    .get_result(conn)
    .await
}

/// Hold one answer until the close, under `tag`; it names its author only when the request is
/// named. Returns false (and stores nothing) when an answer with that tag is held already.
pub async fn hold(
    conn: &mut AsyncPgConnection,
    request: &FeedbackRequest,
    tag: &[u8],
    member: MemberId,
    answer: &Answer,
) -> diesel::QueryResult<bool> {
    let author = (request.mode == FeedbackMode::Named).then_some(member);
    diesel::insert_into(feedback_held::table)
        .values((
            // Random, not time-ordered: the id says nothing about when or in which order.
            feedback_held::id.eq(uuid::Uuid::new_v4()),
            feedback_held::request_id.eq(request.id),
            feedback_held::tag.eq(tag),
            feedback_held::author_id.eq(author),
            feedback_held::helped.eq(&answer.helped),
            feedback_held::try_next.eq(&answer.try_next),
            feedback_held::rating.eq(answer.rating),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// A held answer, as the close reads it.
#[derive(Debug, Clone, diesel::Queryable)]
struct Held {
    tag: Vec<u8>,
    author_id: Option<MemberId>,
    helped: String,
    try_next: String,
    rating: Option<i16>,
}

/// Write out `request`'s held answers at its close, inside the caller's transaction: the
/// answers under new random ids and the receipts of whoever gave them (found by matching
/// `tags_of` each person who may answer against the held fingerprints), each shuffled, then
/// the held rows go. Every row written shares this transaction, and none is written in the
/// order anyone answered. Returns how many answers were written out.
pub async fn seal(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
    tags_of: impl Fn(MemberId) -> Vec<Vec<u8>>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    use rand::seq::SliceRandom;
    let mut held: Vec<Held> = feedback_held::table
        .filter(feedback_held::request_id.eq(request))
        .select((
            feedback_held::tag,
            feedback_held::author_id,
            feedback_held::helped,
            feedback_held::try_next,
            feedback_held::rating,
        ))
        .for_update()
        .load(conn)
        .await?;
    let eligible: Vec<MemberId> = feedback_eligible::table
        .filter(feedback_eligible::request_id.eq(request))
        .select(feedback_eligible::member_id)
        .load(conn)
        .await?;
    let mut receipts: Vec<MemberId> = eligible
        .into_iter()
        .filter(|m| {
            let tags = tags_of(*m);
            held.iter().any(|h| tags.contains(&h.tag))
        })
        .collect();
    {
        let mut rng = rand::rng();
        receipts.shuffle(&mut rng);
        held.shuffle(&mut rng);
    }
    let receipt_rows: Vec<_> = receipts
        .iter()
        .map(|m| {
            (
                feedback_receipts::request_id.eq(request),
                feedback_receipts::member_id.eq(*m),
            )
        })
        .collect();
    diesel::insert_into(feedback_receipts::table)
        .values(&receipt_rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let answer_rows: Vec<_> = held
        .iter()
        .map(|h| {
            (
                feedback_answers::id.eq(uuid::Uuid::new_v4()),
                feedback_answers::request_id.eq(request),
                feedback_answers::author_id.eq(h.author_id),
                feedback_answers::helped.eq(&h.helped),
                feedback_answers::try_next.eq(&h.try_next),
                feedback_answers::rating.eq(h.rating),
            )
        })
        .collect();
    diesel::insert_into(feedback_answers::table)
        .values(&answer_rows)
        .execute(conn)
        .await?;
    diesel::delete(feedback_held::table.filter(feedback_held::request_id.eq(request)))
        .execute(conn)
        .await?;
    diesel::update(feedback_requests::table.find(request))
        .set(feedback_requests::sealed_at.eq(Some(now)))
        .execute(conn)
        .await?;
    Ok(held.len())
}

/// Free the space the held answers took, once some were written out: ends the deleted rows'
/// life in the table's pages sooner than autovacuum would. Outside any transaction.
pub async fn vacuum_held(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("VACUUM feedback_held")
        .execute(conn)
        .await
        .map(drop)
}

/// An answer as the person who led reads it.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct GivenAnswer {
    pub id: uuid::Uuid,
    pub helped: String,
    pub try_next: String,
    pub rating: Option<i16>,
    pub reported_at: Option<DateTime<Utc>>,
    /// Only for named requests.
    pub author: Option<String>,
}

/// Every answer of a request, in an order that says nothing about who answered when.
pub async fn answers(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
) -> diesel::QueryResult<Vec<GivenAnswer>> {
    feedback_answers::table
        .left_join(members::table.on(members::id.nullable().eq(feedback_answers::author_id)))
        .filter(feedback_answers::request_id.eq(request))
        .order(feedback_answers::id)
        .select((
            feedback_answers::id,
            feedback_answers::helped,
            feedback_answers::try_next,
            feedback_answers::rating,
            feedback_answers::reported_at,
            members::display_name.nullable(),
        ))
        .load(conn)
        .await
}

/// Flag an answer of `request` as abusive; returns it, or `None` when it is not one of the
/// request's answers or was reported already (a report is sent once).
pub async fn report(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
    answer: uuid::Uuid,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Option<(String, String)>> {
    diesel::update(
        feedback_answers::table
            .filter(feedback_answers::id.eq(answer))
            .filter(feedback_answers::request_id.eq(request))
            .filter(feedback_answers::reported_at.is_null()),
    )
    .set(feedback_answers::reported_at.eq(at))
    .returning((feedback_answers::helped, feedback_answers::try_next))
    .get_result(conn)
    .await
    .optional()
}

/// Requests about `member`, newest first.
pub async fn about_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    limit: i64,
) -> diesel::QueryResult<Vec<FeedbackRequest>> {
    feedback_requests::table
        .filter(feedback_requests::subject_id.eq(member))
        .order(feedback_requests::closes_at.desc())
        .limit(limit)
        .select(FeedbackRequest::as_select())
        .load(conn)
        .await
}

/// The mean rating of a request's answers written out, and how many answered so far (held
/// answers included; with or without a rating).
pub async fn summary(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
) -> diesel::QueryResult<(Option<f64>, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
        mean: Option<f64>,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let row: Row = diesel::sql_query(
        "SELECT avg(rating)::float8 AS mean, \
                count(*) + (SELECT count(*) FROM feedback_held WHERE request_id = $1) AS n \
         FROM feedback_answers WHERE request_id = $1",
    )
    .bind::<SqlUuid, _>(request.0)
    .get_result(conn)
    .await?;
    Ok((row.mean, row.n))
}

/// Where `request` stands for its lead at `now`.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    request: &FeedbackRequest,
    now: DateTime<Utc>,
) -> diesel::QueryResult<crate::domain::feedback::Standing> {
    Ok(request.standing(answered(conn, request.id).await?, now))
}

/// Whether `member` was marked at `session`: `Some(true)` attended, `Some(false)` not,
/// `None` not recorded.
pub async fn attendance(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    member: MemberId,
) -> diesel::QueryResult<Option<bool>> {
    Ok(rsvps::table
        .filter(rsvps::session_id.eq(session))
        .filter(rsvps::member_id.eq(member))
        .select(rsvps::attended)
        .first::<Option<bool>>(conn)
        .await
        .optional()?
        .flatten())
}

/// How many were marked as attending `session`.
pub async fn attendees(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> diesel::QueryResult<i64> {
    rsvps::table
        .filter(rsvps::session_id.eq(session))
        .filter(rsvps::attended.eq(true))
        .count()
        .get_result(conn)
        .await
}

/// Requests whose feedback closed and whose lead has not been told yet.
pub async fn due_results(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<FeedbackRequest>> {
    feedback_requests::table
        .filter(feedback_requests::closes_at.le(now))
        .filter(feedback_requests::results_sent_at.is_null())
        .order(feedback_requests::closes_at)
        .limit(500)
        .select(FeedbackRequest::as_select())
        .load(conn)
        .await
}

/// Feedback that closed with nothing to read: told as a line in the lead's next letter.
pub async fn close_quietly(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
) -> diesel::QueryResult<()> {
    diesel::update(feedback_requests::table.find(request))
        .set(feedback_requests::closed_quietly.eq(true))
        .execute(conn)
        .await
        .map(drop)
}

/// A quiet close that waits for a line in the lead's next letter.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct QuietClose {
    pub session_id: SessionId,
    pub role_key: String,
    /// Who could answer changed after it opened (else too few answered).
    pub changed: bool,
}

/// The quiet closes about `member` in `circle` not yet told, now told by the letter keyed
/// `letter` (a letter sent again under the same key tells them again).
pub async fn take_quiet_closes(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    circle: CircleId,
    letter: &str,
) -> diesel::QueryResult<Vec<QuietClose>> {
    diesel::update(
        feedback_requests::table
            .filter(feedback_requests::subject_id.eq(member))
            .filter(feedback_requests::circle_id.eq(circle))
            .filter(feedback_requests::closed_quietly)
            .filter(
                feedback_requests::noted_in
                    .is_null()
                    .or(feedback_requests::noted_in.eq(letter).assume_not_null()),
            ),
    )
    .set(feedback_requests::noted_in.eq(letter))
    .returning((
        feedback_requests::session_id,
        feedback_requests::role_key,
        feedback_requests::eligibility_changed_at.is_not_null(),
    ))
    .get_results(conn)
    .await
}

pub async fn mark_results_sent(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<bool> {
    diesel::update(
        feedback_requests::table
            .find(request)
            .filter(feedback_requests::results_sent_at.is_null()),
    )
    .set(feedback_requests::results_sent_at.eq(at))
    .execute(conn)
    .await
    .map(|n| n == 1)
}
