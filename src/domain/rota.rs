//! Fair rotation of a role (the facilitator, or a micro-role such as note-taker) over a
//! circle's coming sessions, as `../LEADERSHIP.md` §2.1 designs it: the pick is explained in
//! plain words, can be re-run from its seed, and never touches a confirmed holder.
//!
//! For each session, in start order:
//! - eligible: the candidate is available (active, opted in, not paused: the caller's filter),
//!   has attended at least the role's minimum, and is not excluded from that session (a "no"
//!   answer, another role in it, a decline of it);
//! - choose the largest **shortfall** against a weighted fair share: with `total` the role's
//!   holdings among the eligible plus the one being filled, member *i*'s share is
//!   `total × wᵢ / Σw`, and their load is what they held here plus the roles they hold in
//!   their other circles in the same fortnight;
//! - ties go to someone who never held the role, then to whoever held it least recently, then
//!   to a draw seeded by `seed` and the session, so the same inputs give the same plan.
//!
//! Each pick counts for the sessions after it (planned holders are assumed to serve). Declines
//! are exclusions, never service.

use chrono::{DateTime, Utc};

use super::{MemberId, SessionId};

/// A member who could hold the role, with their history of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub member: MemberId,
    pub name: String,
    /// Relative share: 100 is a full share, 50 half as often.
    pub weight: u32,
    /// Sessions of the circle they attended so far.
    pub attended: u32,
    /// Times they held this role in the circle (confirmed and attended).
    pub held: u32,
    /// When they last held it.
    pub last_held: Option<DateTime<Utc>>,
    /// Roles they hold in their other circles in the same fortnight.
    pub elsewhere: u32,
}

/// One session to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub session: SessionId,
    pub starts_at: DateTime<Utc>,
    /// A holder who accepted (or was assigned): kept as they are.
    pub confirmed: Option<MemberId>,
    /// Who cannot take this one: answered "no", holds another role in it, or declined it.
    pub excluded: Vec<MemberId>,
}

/// What the plan says for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub session: SessionId,
    /// `None` when nobody is eligible: the role stays open.
    pub member: Option<MemberId>,
    /// Whether this is the confirmed holder, untouched.
    pub confirmed: bool,
    /// One line, in plain words, on why this person ("Ada hasn't led yet; everyone else has").
    pub why: String,
}

/// How the role reads in a sentence: "led", "been note-taker".
#[derive(Debug, Clone)]
pub struct RoleWords {
    /// Past participle after "has": "led", "been note-taker".
    pub done: String,
    /// Minimum sessions attended before someone is asked.
    pub min_attended: u32,
}

impl RoleWords {
    pub fn facilitator() -> Self {
        Self {
            done: "led".into(),
            min_attended: 0,
        }
    }
}

struct State {
    held: u32,
    last: Option<DateTime<Utc>>,
}

/// Plan `slots` (in start order) from `candidates`, drawing ties from `seed`.
pub fn plan(
    role: &RoleWords,
    candidates: &[Candidate],
    slots: &[Slot],
    seed: u64,
) -> Vec<Proposal> {
    let mut state: Vec<State> = candidates
        .iter()
        .map(|c| State {
            held: c.held,
            last: c.last_held,
        })
        .collect();
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        if let Some(holder) = slot.confirmed {
            if let Some(i) = candidates.iter().position(|c| c.member == holder) {
                state[i].held += 1;
                state[i].last = Some(slot.starts_at);
            }
            out.push(Proposal {
                session: slot.session,
                member: Some(holder),
                confirmed: true,
                why: "Accepted.".into(),
            });
            continue;
        }
        let eligible: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                let c = &candidates[i];
                c.weight > 0
                    && c.attended >= role.min_attended
                    && !slot.excluded.contains(&c.member)
            })
            .collect();
        let Some(pick) = choose(candidates, &state, &eligible, slot.session, seed) else {
            out.push(Proposal {
                session: slot.session,
                member: None,
                confirmed: false,
                why: "Nobody can take it: everyone is away, answered no, or holds another role."
                    .into(),
            });
            continue;
        };
        let why = explain(role, candidates, &state, &eligible, pick.0, pick.1);
        state[pick.0].held += 1;
        state[pick.0].last = Some(slot.starts_at);
        out.push(Proposal {
            session: slot.session,
            member: Some(candidates[pick.0].member),
            confirmed: false,
            why,
        });
    }
    out
}

/// Everyone who could take the role in `slot`, best first by the same order a plan uses
/// (largest shortfall, never held, least recently held, the seeded draw): whom to offer a
/// swap to.
pub fn rank(role: &RoleWords, candidates: &[Candidate], slot: &Slot, seed: u64) -> Vec<MemberId> {
    let state: Vec<State> = candidates
        .iter()
        .map(|c| State {
            held: c.held,
            last: c.last_held,
        })
        .collect();
    let mut eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            let c = &candidates[i];
            c.weight > 0
                && c.attended >= role.min_attended
                && !slot.excluded.contains(&c.member)
                && slot.confirmed != Some(c.member)
        })
        .collect();
    let key = |i: usize| {
        (
            std::cmp::Reverse(shortfall(candidates, &state, &eligible, i)),
            state[i].last.is_some(),
            state[i].last,
            std::cmp::Reverse(draw(seed, slot.session, candidates[i].member)),
        )
    };
    let mut keyed: Vec<_> = eligible.iter().map(|&i| (key(i), i)).collect();
    keyed.sort();
    eligible = keyed.into_iter().map(|(_, i)| i).collect();
    eligible.into_iter().map(|i| candidates[i].member).collect()
}

/// How a tie was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Shortfall,
    NeverHeld,
    LeastRecent,
    Draw,
}

/// Shortfall × Σw (an integer, so comparisons are exact).
fn shortfall(candidates: &[Candidate], state: &[State], eligible: &[usize], i: usize) -> i128 {
    let total: i128 = eligible
        .iter()
        .map(|&j| i128::from(state[j].held))
        .sum::<i128>()
        + 1;
    let weights: i128 = eligible
        .iter()
        .map(|&j| i128::from(candidates[j].weight))
        .sum();
    let load = i128::from(state[i].held) + i128::from(candidates[i].elsewhere);
    total * i128::from(candidates[i].weight) - load * weights
}

/// A stable draw for `member` in `session`: SplitMix64 over the seed and both ids.
pub fn draw(seed: u64, session: SessionId, member: MemberId) -> u64 {
    let fold = |u: uuid::Uuid| {
        let (hi, lo) = u.as_u64_pair();
        hi ^ lo.rotate_left(32)
    };
    let mut z = seed ^ fold(session.0) ^ fold(member.0).rotate_left(17);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn choose(
    candidates: &[Candidate],
    state: &[State],
    eligible: &[usize],
    session: SessionId,
    seed: u64,
) -> Option<(usize, Reason)> {
    let best = eligible
        .iter()
        .map(|&i| shortfall(candidates, state, eligible, i))
        .max()?;
    let mut pool: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| shortfall(candidates, state, eligible, i) == best)
        .collect();
    if pool.len() == 1 {
        return Some((pool[0], Reason::Shortfall));
    }
    let never: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| state[i].last.is_none())
        .collect();
    let reason = if never.len() == 1 {
        return Some((never[0], Reason::NeverHeld));
    } else if never.is_empty() {
        let oldest = pool.iter().map(|&i| state[i].last).min().flatten();
        pool.retain(|&i| state[i].last == oldest);
        if pool.len() == 1 {
            return Some((pool[0], Reason::LeastRecent));
        }
        Reason::Draw
    } else {
        pool = never;
        Reason::Draw
    };
    let pick = pool
        .into_iter()
        .max_by_key(|&i| (draw(seed, session, candidates[i].member), i))?;
    Some((pick, reason))
}

fn times(n: u32) -> String {
    match n {
        0 => "not yet".into(),
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

fn explain(
    role: &RoleWords,
    candidates: &[Candidate],
    state: &[State],
    eligible: &[usize],
    pick: usize,
    reason: Reason,
) -> String {
    let name = &candidates[pick].name;
    let done = &role.done;
    let held = state[pick].held;
    let others: Vec<usize> = eligible.iter().copied().filter(|&i| i != pick).collect();
    let fewest_others = others.iter().map(|&i| state[i].held).min();
    let everyone_else_has = others.iter().all(|&i| state[i].held > 0);
    let elsewhere = match candidates[pick].elsewhere {
        0 => String::new(),
        n => format!(" (and holds {} elsewhere this fortnight)", plural_roles(n)),
    };
    match reason {
        Reason::NeverHeld | Reason::Shortfall if held == 0 && everyone_else_has => {
            if others.is_empty() {
                format!("{name} hasn't {done} yet and is the only one who can.")
            } else {
                format!("{name} hasn't {done} yet; everyone else has.")
            }
        }
        Reason::NeverHeld => format!("{name} hasn't {done} yet."),
        Reason::Shortfall => match fewest_others {
            Some(f) if held < f => format!(
                "{name} has {done} {}{elsewhere}; everyone else has {done} at least {}.",
                times(held),
                times(f)
            ),
            Some(_) => format!(
                "{name} has {done} {}{elsewhere}, the furthest below a fair share.",
                times(held)
            ),
            None => format!("{name} is the only one who can."),
        },
        Reason::LeastRecent => format!(
            "{name} has {done} {}, as often as others, and longest ago.",
            times(held)
        ),
        Reason::Draw if held == 0 => format!(
            "{name} hasn't {done} yet, nor have others; a draw (seeded, so it can be re-run) chose {name}."
        ),
        Reason::Draw => format!(
            "{name} has {done} {}, as often and as long ago as others; a draw (seeded, so it can be re-run) chose {name}.",
            times(held)
        ),
    }
}

fn plural_roles(n: u32) -> String {
    if n == 1 {
        "1 role".into()
    } else {
        format!("{n} roles")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u128) -> MemberId {
        MemberId(uuid::Uuid::from_u128(n + 1))
    }

    fn people(names: &[&str]) -> Vec<Candidate> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Candidate {
                member: id(i as u128),
                name: n.to_string(),
                weight: 100,
                attended: 3,
                held: 0,
                last_held: None,
                elsewhere: 0,
            })
            .collect()
    }

    fn slots(n: usize) -> Vec<Slot> {
        let start = chrono::DateTime::parse_from_rfc3339("2031-06-05T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        (0..n)
            .map(|k| Slot {
                session: SessionId(uuid::Uuid::from_u128(1000 + k as u128)),
                starts_at: start + chrono::Duration::weeks(k as i64),
                confirmed: None,
                excluded: Vec::new(),
            })
            .collect()
    }

    fn counts(candidates: &[Candidate], plan: &[Proposal]) -> Vec<u32> {
        candidates
            .iter()
            .map(|c| c.held + plan.iter().filter(|p| p.member == Some(c.member)).count() as u32)
            .collect()
    }

    #[test]
    fn the_one_who_has_not_led_goes_first_and_is_told_why() {
        let mut c = people(&["Ada", "Bo", "Cy"]);
        let earlier = Utc::now() - chrono::Duration::weeks(3);
        for p in c.iter_mut().skip(1) {
            p.held = 1;
            p.last_held = Some(earlier);
        }
        let plan = plan(&RoleWords::facilitator(), &c, &slots(1), 7);
        assert_eq!(plan[0].member, Some(c[0].member));
        assert_eq!(plan[0].why, "Ada hasn't led yet; everyone else has.");
    }

    #[test]
    fn declines_and_no_answers_exclude_and_an_empty_pool_leaves_the_role_open() {
        let c = people(&["Ada", "Bo"]);
        let mut s = slots(2);
        s[0].excluded = vec![c[0].member];
        s[1].excluded = vec![c[0].member, c[1].member];
        let plan = plan(&RoleWords::facilitator(), &c, &s, 1);
        assert_eq!(plan[0].member, Some(c[1].member));
        assert_eq!(plan[1].member, None);
        assert!(plan[1].why.starts_with("Nobody can take it"));
    }

    #[test]
    fn a_minimum_of_sessions_attended_is_required() {
        let mut c = people(&["Ada", "Bo"]);
        c[0].attended = 0;
        let role = RoleWords {
            done: "been note-taker".into(),
            min_attended: 1,
        };
        let plan = plan(&role, &c, &slots(3), 3);
        assert!(plan.iter().all(|p| p.member == Some(c[1].member)));
    }

    #[test]
    fn roles_held_elsewhere_count_against_a_member() {
        let mut c = people(&["Ada", "Bo"]);
        c[0].elsewhere = 2;
        let plan = plan(&RoleWords::facilitator(), &c, &slots(1), 9);
        assert_eq!(plan[0].member, Some(c[1].member));
    }

    #[test]
    fn ties_go_to_whoever_led_longest_ago() {
        let mut c = people(&["Ada", "Bo"]);
        let now = Utc::now();
        c[0].held = 1;
        c[0].last_held = Some(now - chrono::Duration::weeks(2));
        c[1].held = 1;
        c[1].last_held = Some(now - chrono::Duration::weeks(5));
        let plan = plan(&RoleWords::facilitator(), &c, &slots(1), 0);
        assert_eq!(plan[0].member, Some(c[1].member));
        assert!(plan[0].why.contains("longest ago"), "{}", plan[0].why);
    }

    proptest! {
        #[test]
        fn equal_weights_spread_the_role_within_one(
            n in 2usize..12, k in 1usize..40, seed in any::<u64>()
        ) {
            let names: Vec<String> = (0..n).map(|i| format!("M{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let c = people(&refs);
            let plan = plan(&RoleWords::facilitator(), &c, &slots(k), seed);
            let counts = counts(&c, &plan);
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "{counts:?}");
        }

        #[test]
        fn weights_are_followed_within_one(
            weights in proptest::collection::vec(prop_oneof![Just(50u32), Just(100u32), Just(200u32)], 2..8),
            k in 1usize..60, seed in any::<u64>()
        ) {
            let names: Vec<String> = (0..weights.len()).map(|i| format!("M{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut c = people(&refs);
            for (p, w) in c.iter_mut().zip(&weights) {
                p.weight = *w;
            }
            let plan = plan(&RoleWords::facilitator(), &c, &slots(k), seed);
            let counts = counts(&c, &plan);
            let sum: u32 = weights.iter().sum();
            for (count, w) in counts.iter().zip(&weights) {
                let share = k as f64 * f64::from(*w) / f64::from(sum);
                prop_assert!((f64::from(*count) - share).abs() <= 1.0 + 1e-9,
                    "count {count} share {share:.2} weights {weights:?} counts {counts:?}");
            }
        }

        #[test]
        fn confirmed_holders_never_change_and_the_same_seed_gives_the_same_plan(
            n in 2usize..8, k in 1usize..20, seed in any::<u64>(), fixed in proptest::collection::vec(any::<bool>(), 20)
        ) {
            let names: Vec<String> = (0..n).map(|i| format!("M{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let c = people(&refs);
            let mut s = slots(k);
            for (i, slot) in s.iter_mut().enumerate() {
                if fixed[i] {
                    slot.confirmed = Some(c[i % n].member);
                }
            }
            let first = plan(&RoleWords::facilitator(), &c, &s, seed);
            let again = plan(&RoleWords::facilitator(), &c, &s, seed);
            prop_assert_eq!(&first, &again);
            for (slot, p) in s.iter().zip(&first) {
                if let Some(holder) = slot.confirmed {
                    prop_assert_eq!(p.member, Some(holder));
                    prop_assert!(p.confirmed);
                }
            }
        }

        #[test]
        fn declines_are_never_counted_as_service(
            n in 2usize..8, k in 1usize..20, seed in any::<u64>()
        ) {
            let names: Vec<String> = (0..n).map(|i| format!("M{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let c = people(&refs);
            let mut s = slots(k);
            // M0 declines every session: M0 is never planned and the others share evenly.
            for slot in &mut s {
                slot.excluded.push(c[0].member);
            }
            let plan = plan(&RoleWords::facilitator(), &c, &s, seed);
            let counts = counts(&c, &plan);
            prop_assert_eq!(counts[0], 0);
            let rest = &counts[1..];
            prop_assert!(rest.iter().max().unwrap() - rest.iter().min().unwrap() <= 1, "{counts:?}");
        }
    }
}
