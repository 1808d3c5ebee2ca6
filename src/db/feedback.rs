//! Feedback for whoever held a role: requests, the receipts that stop anyone answering twice,
//! and the answers. An anonymous answer row holds no member and no time; nothing here joins it
//! to a receipt (the two tables share only the request).

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Uuid as SqlUuid};
use diesel::{
    ExpressionMethods, JoinOnDsl, NullableExpressionMethods, OptionalExtension, QueryDsl,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{feedback_answers, feedback_receipts, feedback_requests, members, rsvps};
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
}

impl FeedbackRequest {
    pub fn is_closed(&self, now: DateTime<Utc>) -> bool {
        self.closes_at <= now
    }
}

/// Open a request for every confirmed holder of a role in `session` who asked for feedback.
/// A request that exists already stays as it is (its mode cannot change once open).
pub async fn open_for_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    min_answers: i32,
    closes_at: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO feedback_requests (id, session_id, circle_id, subject_id, role_key, mode, min_answers, closes_at) \
         SELECT gen_random_uuid(), sr.session_id, sr.circle_id, sr.member_id, sr.role_key, sr.feedback, $2, $3 \
         FROM session_roles sr \
         WHERE sr.session_id = $1 AND sr.state = 'confirmed' AND sr.member_id IS NOT NULL \
           AND sr.feedback <> 'none' \
         ON CONFLICT (session_id, role_key, subject_id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(session.0)
    .bind::<diesel::sql_types::Integer, _>(min_answers)
    .bind::<diesel::sql_types::Timestamptz, _>(closes_at)
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

/// How many people answered.
pub async fn answered(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
) -> diesel::QueryResult<i64> {
    feedback_receipts::table
        .filter(feedback_receipts::request_id.eq(request))
        .count()
        .get_result(conn)
        .await
}

pub async fn has_answered(
    conn: &mut AsyncPgConnection,
    request: FeedbackRequestId,
    member: MemberId,
) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        feedback_receipts::table
            .filter(feedback_receipts::request_id.eq(request))
            .filter(feedback_receipts::member_id.eq(member)),
    ))
    .get_result(conn)
    .await
}

/// Store one answer: the receipt names who answered, the answer names them only when the
/// request is named. Returns false (and stores nothing) when they had answered already.
pub async fn record(
    conn: &mut AsyncPgConnection,
    request: &FeedbackRequest,
    member: MemberId,
    answer: &Answer,
) -> diesel::QueryResult<bool> {
    let receipt = diesel::insert_into(feedback_receipts::table)
        .values((
            feedback_receipts::request_id.eq(request.id),
            feedback_receipts::member_id.eq(member),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if receipt == 0 {
        return Ok(false);
    }
    let author = (request.mode == FeedbackMode::Named).then_some(member);
    diesel::insert_into(feedback_answers::table)
        .values((
            // Random, not time-ordered: the id says nothing about when or in which order.
            feedback_answers::id.eq(uuid::Uuid::new_v4()),
            feedback_answers::request_id.eq(request.id),
            feedback_answers::author_id.eq(author),
            feedback_answers::helped.eq(&answer.helped),
            feedback_answers::try_next.eq(&answer.try_next),
            feedback_answers::rating.eq(answer.rating),
        ))
        .execute(conn)
        .await?;
    Ok(true)
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

/// The mean rating of a request's answers, and how many answered (with or without a rating).
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
                (SELECT count(*) FROM feedback_receipts WHERE request_id = $1) AS n \
         FROM feedback_answers WHERE request_id = $1",
    )
    .bind::<SqlUuid, _>(request.0)
    .get_result(conn)
    .await?;
    Ok((row.mean, row.n))
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
