//! How widely leadership is spread: over a window, over the chart's points, and as CSV. The
//! API and the dashboard show these figures.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, Utc};
use serde::Serialize;

pub use crate::db::leadership::{CircleFilter, CircleOrder};
use crate::db::{leadership, Connection};
use crate::domain::spread::ratio;
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

/// The figures over the `days` up to now, every circle listed by name.
pub async fn spread_over(conn: &mut Connection, days: i64) -> diesel::QueryResult<Spread> {
    spread_until(conn, days, Utc::now()).await
}

/// The figures over the `days` up to `to`, every circle listed by name.
pub async fn spread_until(
    conn: &mut Connection,
    days: i64,
    to: chrono::DateTime<Utc>,
) -> diesel::QueryResult<Spread> {
    let listing = Listing {
        filter: CircleFilter::default(),
        order: CircleOrder::Name,
        limit: None,
        offset: 0,
    };
    Ok(spread_listing(conn, days, to, &listing).await?.0)
}

/// Which circles a view of the figures lists.
#[derive(Debug, Clone)]
pub struct Listing {
    pub filter: CircleFilter,
    pub order: CircleOrder,
    /// At most this many (all when none).
    pub limit: Option<i64>,
    pub offset: i64,
}

/// The figures over the `days` up to `to` with the circles `listing` asks for, and how many
/// circles matched in all: the organisation's totals, its newcomers, the circles, their
/// members' roles (for balance) and the families, in five statements whatever the
/// organisation's size. What they read grows with the window and the circles listed.
pub async fn spread_listing(
    conn: &mut Connection,
    days: i64,
    to: chrono::DateTime<Utc>,
    listing: &Listing,
) -> diesel::QueryResult<(Spread, i64)> {
    let from = to - Duration::days(days);
    let org = leadership::organisation(conn, from, to).await?;
    let newcomers = leadership::newcomers(conn, from, to).await?;
    let rows = leadership::circles(
        conn,
        from,
        to,
        &listing.filter,
        listing.order,
        listing.limit,
        listing.offset,
    )
    .await?;
    let matched = match rows.first() {
        Some(r) => r.matched,
        // Past the last page: how many there are, for the way back.
        None if listing.offset > 0 => {
            leadership::circles(conn, from, to, &listing.filter, listing.order, Some(1), 0)
                .await?
                .first()
                .map_or(0, |r| r.matched)
        }
        None => 0,
    };
    let listed: Vec<CircleId> = rows.iter().map(|r| r.circle_id).collect();
    let members = leadership::member_roles(conn, from, to, &listed).await?;
    let mut roles_in: HashMap<CircleId, Vec<u32>> = HashMap::new();
    for m in &members {
        roles_in
            .entry(m.circle_id)
            .or_default()
            .push(m.roles as u32);
    }
    let mut family_circles: HashMap<CircleId, HashSet<CircleId>> = HashMap::new();
    for m in &members {
        family_circles
            .entry(m.family_id)
            .or_default()
            .insert(m.circle_id);
    }
    let in_families: Vec<CircleId> = family_circles
        .into_values()
        .filter(|c| c.len() > 1)
        .flatten()
        .collect();
    let led = leadership::led(conn, Some(&in_families), from, to).await?;
    let top =
        (org.sessions_led > 0).then(|| ratio(org.led_by_top_fifth as u64, org.sessions_led as u64));
    Ok((
        Spread {
            families: families(&members, &led),
            window_days: days,
            spread: ratio(org.leaders as u64, org.active_members as u64),
            top20_share: top.flatten(),
            newcomer_role_share: ratio(newcomers.with_role as u64, newcomers.joined as u64),
            active_members: org.active_members as u64,
            leaders: org.leaders as u64,
            sessions_led: org.sessions_led as u64,
            newcomers: newcomers.joined as u64,
            circles: rows
                .into_iter()
                .map(|r| CircleSpread {
                    spread: ratio(r.leaders as u64, r.active_members as u64),
                    balance: crate::domain::roles::balance(
                        roles_in.get(&r.circle_id).map_or(&[][..], |v| v.as_slice()),
                    ),
                    active_members: r.active_members as u64,
                    leaders: r.leaders as u64,
                    family_id: r.family_id,
                    circle_id: r.circle_id,
                    name: r.name,
                })
                .collect(),
        },
        matched,
    ))
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
