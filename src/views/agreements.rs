//! An agreement with its versions and consent rounds, as the API and the dashboard show it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::agreements::{self, Agreement, GivenStance, Round, Version};
use crate::db::Connection;
use crate::domain::{RoundKind, RoundOutcome};

/// A round with its progress. `stances` is empty until the round closes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoundView {
    pub id: crate::domain::RoundId,
    pub version: i32,
    pub kind: RoundKind,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub outcome: Option<RoundOutcome>,
    /// Active members when it opened.
    pub eligible: i32,
    pub quorum: i32,
    /// How many have answered (never what, while it is open).
    pub answered: i64,
    pub stances: Vec<GivenStance>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementDetail {
    #[serde(flatten)]
    pub agreement: Agreement,
    /// The adopted text, when there is one.
    pub adopted_body: Option<String>,
    pub versions: Vec<Version>,
    pub rounds: Vec<RoundView>,
}

pub async fn round_view(conn: &mut Connection, round: Round) -> diesel::QueryResult<RoundView> {
    let answered = agreements::latest_stances(conn, &round).await?.len() as i64;
    let stances = agreements::stances_of_closed(conn, &round).await?;
    Ok(RoundView {
        id: round.id,
        version: round.version,
        kind: round.kind,
        opened_at: round.opened_at,
        closes_at: round.closes_at,
        closed_at: round.closed_at,
        outcome: round.outcome,
        eligible: round.eligible,
        quorum: round.quorum,
        answered,
        stances,
    })
}

pub async fn detail(
    conn: &mut Connection,
    agreement: Agreement,
) -> diesel::QueryResult<AgreementDetail> {
    let versions = agreements::versions(conn, agreement.id).await?;
    let adopted_body = agreement.adopted_version.and_then(|v| {
        versions
            .iter()
            .find(|x| x.version == v)
            .map(|x| x.body.clone())
    });
    let mut rounds = Vec::new();
    for round in agreements::rounds(conn, agreement.id).await? {
        rounds.push(round_view(conn, round).await?);
    }
    Ok(AgreementDetail {
        agreement,
        adopted_body,
        versions,
        rounds,
    })
}
