//! How widely leadership is spread: over a window, over the chart's points, and as CSV. The
//! API and the dashboard show these figures.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, Utc};
use serde::Serialize;

use crate::db::{leadership, Connection};
use crate::domain::spread::{ratio, top20_share};
use crate::domain::{CircleId, MemberId};
use crate::error::AppResult;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CircleSpread {
    pub circle_id: CircleId,
    pub name: String,
    /// The family the circle belongs to: the id of the family's first circle (the circle's
    /// own id when it never grew a sibling).
    pub family_id: CircleId,
    /// Distinct people who led ÷ active members (null with no members).
    pub spread: Option<f64>,
    /// How evenly roles were held (1 = even).
    pub balance: f64,
    pub active_members: u64,
    pub leaders: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Spread {
    pub window_days: i64,
    /// Distinct people who led a session ÷ active members.
    pub spread: Option<f64>,
    /// Share of sessions led by the most active 20 % of members.
    pub top20_share: Option<f64>,
    /// Share of people who joined in the window who held a role within their first five sessions.
    pub newcomer_role_share: Option<f64>,
    pub active_members: u64,
    pub leaders: u64,
    pub sessions_led: u64,
    pub newcomers: u64,
    pub circles: Vec<CircleSpread>,
    /// Circles that grew siblings, read together (families of two or more circles).
    pub families: Vec<FamilySpread>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FamilySpread {
    pub family_id: CircleId,
    /// The family's first circle's name.
    pub name: String,
    pub circles: Vec<CircleId>,
    /// Distinct people who led in any of the family's circles ÷ its distinct active members.
    pub spread: Option<f64>,
    /// How evenly roles were held across the family (a member's roles in each circle summed).
    pub balance: f64,
    pub active_members: u64,
    pub leaders: u64,
}

/// The figures over the `days` up to now, in three statements.
pub async fn spread_over(conn: &mut Connection, days: i64) -> diesel::QueryResult<Spread> {
    spread_until(conn, days, Utc::now()).await
}

/// The figures over the `days` up to `to`.
pub async fn spread_until(
    conn: &mut Connection,
    days: i64,
    to: chrono::DateTime<Utc>,
) -> diesel::QueryResult<Spread> {
    let from = to - Duration::days(days);
    let led = leadership::led(conn, from, to).await?;
    let members = leadership::active_roles(conn, from, to).await?;
    let newcomers = leadership::newcomers(conn, from, to).await?;
    let active: HashSet<MemberId> = members.iter().map(|m| m.member_id).collect();
    let mut per_person: HashMap<MemberId, u32> = HashMap::new();
    for l in &led {
        *per_person.entry(l.member_id).or_default() += l.sessions as u32;
    }
    let counts: Vec<u32> = per_person.values().copied().collect();
    let mut circles: BTreeMap<(String, CircleId), (Vec<u32>, HashSet<MemberId>)> = BTreeMap::new();
    for m in &members {
        circles
            .entry((m.circle_name.clone(), m.circle_id))
            .or_default()
            .0
            .push(m.roles as u32);
    }
    let families_of: HashMap<CircleId, CircleId> =
        members.iter().map(|m| (m.circle_id, m.family_id)).collect();
    let names: HashMap<CircleId, String> = members
        .iter()
        .map(|m| (m.circle_id, m.circle_name.clone()))
        .collect();
    for l in &led {
        if let Some(name) = names.get(&l.circle_id) {
            if let Some(c) = circles.get_mut(&(name.clone(), l.circle_id)) {
                c.1.insert(l.member_id);
            }
        }
    }
    let families = families(&members, &led);
    Ok(Spread {
        families,
        window_days: days,
        spread: ratio(per_person.len() as u64, active.len() as u64),
        top20_share: top20_share(&counts, active.len() as u64),
        newcomer_role_share: ratio(newcomers.with_role as u64, newcomers.joined as u64),
        active_members: active.len() as u64,
        leaders: per_person.len() as u64,
        sessions_led: counts.iter().map(|&n| u64::from(n)).sum(),
        newcomers: newcomers.joined as u64,
        circles: circles
            .into_iter()
            .map(|((name, id), (roles, leaders))| CircleSpread {
                family_id: families_of.get(&id).copied().unwrap_or(id),
                circle_id: id,
                name,
                spread: ratio(leaders.len() as u64, roles.len() as u64),
                balance: crate::domain::roles::balance(&roles),
                active_members: roles.len() as u64,
                leaders: leaders.len() as u64,
            })
            .collect(),
    })
}

/// Each family of two or more circles with its figures: members and leaders counted once
/// however many of its circles they are in.
fn families(members: &[leadership::MemberRoles], led: &[leadership::Led]) -> Vec<FamilySpread> {
    let mut circles_of: BTreeMap<CircleId, Vec<CircleId>> = BTreeMap::new();
    let mut family_of: HashMap<CircleId, CircleId> = HashMap::new();
    let mut names: HashMap<CircleId, String> = HashMap::new();
    for m in members {
        family_of.insert(m.circle_id, m.family_id);
        names.insert(m.circle_id, m.circle_name.clone());
        let list = circles_of.entry(m.family_id).or_default();
        if !list.contains(&m.circle_id) {
            list.push(m.circle_id);
        }
    }
    let mut out = Vec::new();
    for (family, circles) in circles_of.into_iter().filter(|(_, c)| c.len() > 1) {
        let mut roles: BTreeMap<MemberId, u32> = BTreeMap::new();
        for m in members.iter().filter(|m| m.family_id == family) {
            *roles.entry(m.member_id).or_default() += m.roles as u32;
        }
        let leaders: HashSet<MemberId> = led
            .iter()
            .filter(|l| family_of.get(&l.circle_id) == Some(&family))
            .map(|l| l.member_id)
            .filter(|m| roles.contains_key(m))
            .collect();
        let counts: Vec<u32> = roles.values().copied().collect();
        let name = names
            .get(&family)
            .or_else(|| circles.first().and_then(|c| names.get(c)))
            .cloned()
            .unwrap_or_default();
        out.push(FamilySpread {
            family_id: family,
            name,
            spread: ratio(leaders.len() as u64, roles.len() as u64),
            balance: crate::domain::roles::balance(&counts),
            active_members: roles.len() as u64,
            leaders: leaders.len() as u64,
            circles,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.family_id.0.cmp(&b.family_id.0)));
    out
}

/// Spread over the `days` up to each of `ends` (the dashboard's chart), in two statements
/// however many points: who led in each window, and how many people are active members.
pub async fn spread_series(
    conn: &mut Connection,
    ends: &[chrono::DateTime<Utc>],
    days: i64,
) -> diesel::QueryResult<Vec<(chrono::DateTime<Utc>, Option<f64>)>> {
    let leaders = leadership::leaders_until(conn, ends, days).await?;
    let active = leadership::active_members(conn).await?;
    Ok(leaders
        .into_iter()
        .map(|l| (l.until, ratio(l.leaders as u64, active as u64)))
        .collect())
}

fn figure(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// The figures as CSV: the organisation first, then one row per circle and per family. Names
/// are typed by whoever runs a circle, so every cell goes through the one neutralising writer
/// the other exports use.
pub fn csv(s: &Spread) -> AppResult<Vec<u8>> {
    let header = [
        "scope",
        "circle_id",
        "name",
        "active_members",
        "leaders",
        "spread",
        "top20_share",
        "newcomer_role_share",
        "balance",
        "family_id",
    ];
    let mut rows = vec![vec![
        "organisation".to_string(),
        String::new(),
        String::new(),
        s.active_members.to_string(),
        s.leaders.to_string(),
        figure(s.spread),
        figure(s.top20_share),
        figure(s.newcomer_role_share),
        String::new(),
        String::new(),
    ]];
    for c in &s.circles {
        rows.push(vec![
            "circle".into(),
            c.circle_id.to_string(),
            c.name.clone(),
            c.active_members.to_string(),
            c.leaders.to_string(),
            figure(c.spread),
            String::new(),
            String::new(),
            format!("{:.3}", c.balance),
            c.family_id.to_string(),
        ]);
    }
    for f in &s.families {
        rows.push(vec![
            "family".into(),
            String::new(),
            f.name.clone(),
            f.active_members.to_string(),
            f.leaders.to_string(),
            figure(f.spread),
            String::new(),
            String::new(),
            format!("{:.3}", f.balance),
            f.family_id.to_string(),
        ]);
    }
    crate::exports::table_csv(&header, &rows)
}
