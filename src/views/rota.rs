//! A circle's rota of coming sessions and its ledger of who held what: the API, the dashboard
//! and a member's own page show them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{members, memberships, roles, sessions, Connection};
use crate::domain::roles as rules;
use crate::domain::{CircleId, MemberId, RoleState, SessionId};
use crate::error::AppResult;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotaSlot {
    pub role: String,
    pub slot: i32,
    pub member_id: Option<MemberId>,
    pub display_name: Option<String>,
    /// `proposed`, `asked`, `confirmed`, `declined` or `open`.
    pub state: RoleState,
    /// Why this person, in plain words.
    pub why: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotaSession {
    pub session_id: SessionId,
    pub starts_at: DateTime<Utc>,
    pub roles: Vec<RotaSlot>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rota {
    pub items: Vec<RotaSession>,
}

/// The rota of a circle's coming sessions: every slot of every role, filled or not.
pub async fn rota_of(
    conn: &mut Connection,
    circle: CircleId,
    limit: i64,
) -> diesel::QueryResult<Vec<RotaSession>> {
    let now = Utc::now();
    let kinds = roles::kinds(conn, circle).await?;
    let upcoming = sessions::upcoming(conn, circle, now, limit).await?;
    let ids: Vec<SessionId> = upcoming.iter().map(|s| s.id).collect();
    let rows = roles::for_sessions(conn, &ids).await?;
    let holder_ids: Vec<MemberId> = rows.iter().filter_map(|r| r.member_id).collect();
    let names: HashMap<MemberId, String> = members::display_names(conn, &holder_ids)
        .await?
        .into_iter()
        .collect();
    let by_slot: HashMap<(SessionId, &str, i32), &roles::SessionRole> = rows
        .iter()
        .map(|r| ((r.session_id, r.role_key.as_str(), r.slot), r))
        .collect();
    Ok(upcoming
        .iter()
        .map(|s| RotaSession {
            session_id: s.id,
            starts_at: s.starts_at,
            roles: kinds
                .iter()
                .flat_map(|k| (1..=k.slots).map(move |slot| (k, slot)))
                .map(
                    |(k, slot)| match by_slot.get(&(s.id, k.key.as_str(), slot)) {
                        Some(r) => RotaSlot {
                            role: k.key.clone(),
                            slot,
                            member_id: r.member_id,
                            display_name: r.member_id.and_then(|m| names.get(&m).cloned()),
                            state: r.state,
                            why: r.why.clone(),
                        },
                        None => RotaSlot {
                            role: k.key.clone(),
                            slot,
                            member_id: None,
                            display_name: None,
                            state: RoleState::Open,
                            why: String::new(),
                        },
                    },
                )
                .collect(),
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Held {
    pub count: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerRow {
    pub member_id: MemberId,
    pub display_name: String,
    /// Per role key: times held (confirmed, and not marked absent), first and last time.
    pub roles: BTreeMap<String, Held>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ledger {
    pub items: Vec<LedgerRow>,
    /// How evenly roles are spread over the active members: the mean over every pair of
    /// min/max of the roles they held; 1 is perfectly even.
    pub balance: f64,
}

/// The circle's ledger: its active members (and anyone who held a role), with their roles.
pub async fn ledger_of(conn: &mut Connection, circle: CircleId) -> diesel::QueryResult<Ledger> {
    let held = roles::held(conn, circle, None, Utc::now()).await?;
    let roster = memberships::roster(
        conn,
        circle,
        Some(crate::domain::MembershipState::Active),
        None,
        10_000,
    )
    .await?;
    let mut rows: Vec<LedgerRow> = roster
        .iter()
        .map(|r| LedgerRow {
            member_id: r.member_id,
            display_name: r.display_name.clone(),
            roles: BTreeMap::new(),
        })
        .collect();
    let active = rows.len();
    let missing: Vec<MemberId> = held
        .iter()
        .map(|h| MemberId(h.member_id))
        .filter(|m| !rows.iter().any(|r| r.member_id == *m))
        .collect();
    for (id, name) in members::display_names(conn, &missing).await? {
        if !rows.iter().any(|r| r.member_id == id) {
            rows.push(LedgerRow {
                member_id: id,
                display_name: name,
                roles: BTreeMap::new(),
            });
        }
    }
    for h in held {
        if let Some(row) = rows.iter_mut().find(|r| r.member_id.0 == h.member_id) {
            row.roles.insert(
                h.role_key,
                Held {
                    count: h.count,
                    first_at: h.first_at,
                    last_at: h.last_at,
                },
            );
        }
    }
    let counts: Vec<u32> = rows[..active]
        .iter()
        .map(|r| r.roles.values().map(|h| h.count.max(0) as u32).sum())
        .collect();
    Ok(Ledger {
        balance: rules::balance(&counts),
        items: rows,
    })
}

/// The ledger as CSV: one line per member and role.
pub fn ledger_csv(ledger: &Ledger) -> AppResult<Vec<u8>> {
    let rows: Vec<Vec<String>> = ledger
        .items
        .iter()
        .flat_map(|row| {
            row.roles.iter().map(|(key, h)| {
                vec![
                    row.member_id.to_string(),
                    row.display_name.clone(),
                    key.clone(),
                    h.count.to_string(),
                    h.first_at.to_rfc3339(),
                    h.last_at.to_rfc3339(),
                ]
            })
        })
        .collect();
    crate::exports::table_csv(
        &[
            "member_id",
            "display_name",
            "role",
            "count",
            "first_at",
            "last_at",
        ],
        &rows,
    )
}
