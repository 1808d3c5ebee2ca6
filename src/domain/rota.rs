//! Fair rotation of a circle's roles (the facilitator, and micro-roles such as note-taker)
//! over its coming sessions, as `../LEADERSHIP.md` §2.1 designs it: the pick is explained in
//! plain words from the same facts that made it, can be re-run from its seed, and never
//! touches a holder who accepted or was asked.
//!
//! Every turn already held, accepted or asked counts before anything is planned, wherever in
//! the horizon it falls. Then sessions are filled in start order, and within a session each
//! role in the circle's order. For one slot:
//! - eligible: the candidate is available (active, opted in, not paused: the caller's filter),
//!   has attended at least the role's minimum, is not excluded from that session (a "no"
//!   answer, a decline of it) and holds no other role in it;
//! - first whoever has never had a turn of this role (so nobody is asked for a second turn
//!   while someone who can has had none), then whoever has no turn of any role yet;
//! - then the largest **shortfall** against a weighted fair share of this role: with `total`
//!   the role's turns among the eligible plus the one being filled, member *i*'s share is
//!   `total × wᵢ / Σw`, and their load is their turns here plus the roles they hold in their
//!   other circles in the same fortnight;
//! - then the fewest turns across all the circle's roles, each weighted by the role
//!   ([`Role::load`]: leading counts double), so the work is shared and not only each role;
//! - then whoever held the role least recently (never first), then a draw seeded by `seed`
//!   and the session, so the same inputs give the same plan.
//!
//! Each pick counts for the slots after it (planned holders are assumed to serve). Declines
//! are exclusions, never service.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{MemberId, SessionId};

/// A member who could hold a role, with their history of it.
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
    /// One of the circle's facilitators: they may be asked before they attended (a new
    /// circle's first sessions are theirs to lead).
    pub lead: bool,
}

/// One role of the circle as the planner sees it.
#[derive(Debug, Clone)]
pub struct Role {
    pub words: RoleWords,
    /// What one turn weighs in a member's total across roles: 2 for leading, 1 for the rest.
    pub load: u32,
    /// Who could hold it, with their history of it.
    pub candidates: Vec<Candidate>,
}

/// One session to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub session: SessionId,
    pub starts_at: DateTime<Utc>,
    /// One entry per role and slot number, in the order they are filled.
    pub slots: Vec<RoleSlot>,
}

/// One slot of one role in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSlot {
    /// The role, as an index into the roles given to [`plan_circle`].
    pub role: usize,
    /// A holder who accepted, was asked or was assigned: kept as they are.
    pub confirmed: Option<MemberId>,
    /// Who cannot take this one: answered "no", declined it, or is paused.
    pub excluded: Vec<MemberId>,
}

/// One session of a single role to fill (see [`plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub session: SessionId,
    pub starts_at: DateTime<Utc>,
    /// A holder who accepted (or was assigned): kept as they are.
    pub confirmed: Option<MemberId>,
    /// Who cannot take this one: answered "no", holds another role in it, or declined it.
    pub excluded: Vec<MemberId>,
}

/// What the plan says for one slot.
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

/// What the planner knows of one member as it goes: turns per role and in all.
#[derive(Debug, Clone, Default)]
struct Tally {
    /// Per role: turns, and when the latest was.
    roles: HashMap<usize, (u32, Option<DateTime<Utc>>)>,
    /// Turns of every role, each weighted by its role's load.
    load: u32,
    /// Turns of every role.
    turns: u32,
}

impl Tally {
    fn held(&self, role: usize) -> u32 {
        self.roles.get(&role).map_or(0, |r| r.0)
    }

    fn last(&self, role: usize) -> Option<DateTime<Utc>> {
        self.roles.get(&role).and_then(|r| r.1)
    }

    fn count(&mut self, role: usize, load: u32, at: DateTime<Utc>) {
        let entry = self.roles.entry(role).or_insert((0, None));
        entry.0 += 1;
        entry.1 = entry.1.max(Some(at));
        self.load += load;
        self.turns += 1;
    }
}

/// The tallies of everyone in `roles` before planning: what they held, plus every turn kept
/// in `sessions` (accepted or asked), wherever it falls.
fn tallies(roles: &[Role], sessions: &[Session]) -> HashMap<MemberId, Tally> {
    let mut out: HashMap<MemberId, Tally> = HashMap::new();
    for (r, role) in roles.iter().enumerate() {
        for c in &role.candidates {
            let t = out.entry(c.member).or_default();
            t.roles.insert(r, (c.held, c.last_held));
            t.load += c.held * role.load;
            t.turns += c.held;
        }
    }
    for s in sessions {
        for slot in &s.slots {
            if let Some(m) = slot.confirmed {
                out.entry(m)
                    .or_default()
                    .count(slot.role, roles[slot.role].load, s.starts_at);
            }
        }
    }
    out
}

/// Plan every role of a circle over `sessions` (in start order), drawing ties from `seed`.
/// The answer has one proposal per slot, in the order of `sessions` and their slots.
pub fn plan_circle(roles: &[Role], sessions: &[Session], seed: u64) -> Vec<Vec<Proposal>> {
    let mut tally = tallies(roles, sessions);
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        let mut busy: Vec<MemberId> = s.slots.iter().filter_map(|x| x.confirmed).collect();
        let mut filled = Vec::with_capacity(s.slots.len());
        for slot in &s.slots {
            if let Some(holder) = slot.confirmed {
                filled.push(Proposal {
                    session: s.session,
                    member: Some(holder),
                    confirmed: true,
                    why: "Accepted.".into(),
                });
                continue;
            }
            let role = &roles[slot.role];
            let pick = Pick::new(role, slot.role, &tally, &slot.excluded, &busy);
            let Some((i, why)) = pick
                .choose(s.session, seed)
                .map(|(i, reason)| (i, pick.explain(i, reason)))
            else {
                filled.push(Proposal {
                    session: s.session,
                    member: None,
                    confirmed: false,
                    why:
                        "Nobody can take it: everyone is away, answered no, or holds another role."
                            .into(),
                });
                continue;
            };
            let member = role.candidates[i].member;
            tally
                .entry(member)
                .or_default()
                .count(slot.role, role.load, s.starts_at);
            busy.push(member);
            filled.push(Proposal {
                session: s.session,
                member: Some(member),
                confirmed: false,
                why,
            });
        }
        out.push(filled);
    }
    out
}

/// Plan one role alone over `slots` (in start order) from `candidates`, drawing ties from
/// `seed`: [`plan_circle`] with a single role.
pub fn plan(
    role: &RoleWords,
    candidates: &[Candidate],
    slots: &[Slot],
    seed: u64,
) -> Vec<Proposal> {
    let roles = [Role {
        words: role.clone(),
        load: 1,
        candidates: candidates.to_vec(),
    }];
    let sessions: Vec<Session> = slots
        .iter()
        .map(|s| Session {
            session: s.session,
            starts_at: s.starts_at,
            slots: vec![RoleSlot {
                role: 0,
                confirmed: s.confirmed,
                excluded: s.excluded.clone(),
            }],
        })
        .collect();
    plan_circle(&roles, &sessions, seed)
        .into_iter()
        .flatten()
        .collect()
}

/// Everyone who could take the role in `slot`, best first by the same order a plan uses:
/// whom to offer a swap to. The `roles` and `sessions` are the circle's (with the plan's
/// proposals given as `confirmed`, so they count); `slot` names a session and a slot in them.
/// People who already hold a turn of the role in `sessions` come last: taking this one would
/// give them two while the others have fewer.
pub fn rank_for_swap(
    roles: &[Role],
    sessions: &[Session],
    at: (usize, usize),
    seed: u64,
) -> Vec<MemberId> {
    let (s, x) = at;
    let session = &sessions[s];
    let slot = &session.slots[x];
    let mut without: Vec<Session> = sessions.to_vec();
    without[s].slots[x].confirmed = None;
    let tally = tallies(roles, &without);
    let busy: Vec<MemberId> = without[s]
        .slots
        .iter()
        .filter_map(|y| y.confirmed)
        .collect();
    let role = &roles[slot.role];
    let holds_one = |m: MemberId| {
        without.iter().any(|w| {
            w.slots
                .iter()
                .any(|y| y.role == slot.role && y.confirmed == Some(m))
        })
    };
    let mut excluded = slot.excluded.clone();
    excluded.extend(slot.confirmed);
    let pick = Pick::new(role, slot.role, &tally, &excluded, &busy);
    let mut order = pick.ranked(session.session, seed);
    order.sort_by_key(|&i| holds_one(role.candidates[i].member));
    order
        .into_iter()
        .map(|i| role.candidates[i].member)
        .collect()
}

/// Everyone in `candidates` who could take the role, best first by the plan's order, with
/// nothing planned: whom to ask first (e.g. to lead a new circle).
pub fn rank(role: &RoleWords, candidates: &[Candidate], slot: &Slot, seed: u64) -> Vec<MemberId> {
    let roles = [Role {
        words: role.clone(),
        load: 1,
        candidates: candidates.to_vec(),
    }];
    let tally = tallies(&roles, &[]);
    let mut excluded = slot.excluded.clone();
    excluded.extend(slot.confirmed);
    let pick = Pick::new(&roles[0], 0, &tally, &excluded, &[]);
    pick.ranked(slot.session, seed)
        .into_iter()
        .map(|i| candidates[i].member)
        .collect()
}

/// How a pick was decided: the first rule that set the chosen person apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reason {
    /// The only one who could.
    Only,
    /// Never had a turn of this role, unlike the others.
    NeverHeld,
    /// No turn of any role yet, unlike the others.
    NoTurnYet,
    /// Furthest below a fair share of this role.
    Shortfall,
    /// Fewest turns across the circle's roles.
    LeastLoad,
    /// Held the role longest ago (or never).
    LeastRecent,
    /// A draw among equals.
    Draw,
}

/// Where one candidate stands before a pick, read once from their tally.
struct Standing {
    /// Turns of this role.
    held: u32,
    /// When the latest turn of this role was.
    last: Option<DateTime<Utc>>,
    /// Turns of every role.
    turns: u32,
    /// Turns of every role, weighted by role.
    load: u32,
}

/// One slot's choice: the eligible candidates of a role and where each stands.
struct Pick<'a> {
    role: &'a Role,
    /// Per candidate of the role, in the role's order.
    standing: Vec<Standing>,
    eligible: Vec<usize>,
    /// Candidates of the role who cannot take this slot.
    away: Vec<usize>,
    /// The eligible's turns of the role, plus the one being filled, and their weights.
    total: i128,
    weights: i128,
}

impl<'a> Pick<'a> {
    /// The role's candidates who can take the slot: not `excluded` from it (a "no", a
    /// decline, a pause) and not `busy` with another role in the session. Those excluded are
    /// `away`.
    fn new(
        role: &'a Role,
        index: usize,
        tally: &HashMap<MemberId, Tally>,
        excluded: &[MemberId],
        busy: &[MemberId],
    ) -> Self {
        let (eligible, away): (Vec<usize>, Vec<usize>) = (0..role.candidates.len())
            .filter(|&i| {
                let c = &role.candidates[i];
                c.weight > 0
                    && (c.attended >= role.words.min_attended || c.lead)
                    && !busy.contains(&c.member)
            })
            .partition(|&i| !excluded.contains(&role.candidates[i].member));
        let standing: Vec<Standing> = role
            .candidates
            .iter()
            .map(|c| match tally.get(&c.member) {
                Some(t) => Standing {
                    held: t.held(index),
                    last: t.last(index),
                    turns: t.turns,
                    load: t.load,
                },
                None => Standing {
                    held: 0,
                    last: None,
                    turns: 0,
                    load: 0,
                },
            })
            .collect();
        let total = eligible
            .iter()
            .map(|&j| i128::from(standing[j].held))
            .sum::<i128>()
            + 1;
        let weights = eligible
            .iter()
            .map(|&j| i128::from(role.candidates[j].weight))
            .sum();
        Self {
            role,
            standing,
            eligible,
            away,
            total,
            weights,
        }
    }

    fn held(&self, i: usize) -> u32 {
        self.standing[i].held
    }

    /// Shortfall × Σw (an integer, so comparisons are exact).
    fn shortfall(&self, i: usize) -> i128 {
        let c = &self.role.candidates[i];
        let load = i128::from(self.held(i)) + i128::from(c.elsewhere);
        self.total * i128::from(c.weight) - load * self.weights
    }

    /// The order of the rules, best first; the last part is the seeded draw.
    #[allow(clippy::type_complexity)]
    fn key(
        &self,
        i: usize,
        session: SessionId,
        seed: u64,
    ) -> (
        bool,
        bool,
        std::cmp::Reverse<i128>,
        u32,
        (bool, Option<DateTime<Utc>>),
        std::cmp::Reverse<(u64, usize)>,
    ) {
        let t = &self.standing[i];
        (
            t.held > 0,
            t.turns > 0,
            std::cmp::Reverse(self.shortfall(i)),
            t.load,
            (t.last.is_some(), t.last),
            std::cmp::Reverse((draw(seed, session, self.role.candidates[i].member), i)),
        )
    }

    /// The eligible, best first.
    fn ranked(&self, session: SessionId, seed: u64) -> Vec<usize> {
        let mut keyed: Vec<_> = self
            .eligible
            .iter()
            .map(|&i| (self.key(i, session, seed), i))
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    /// The best, and the first rule that set them apart from the runner-up.
    fn choose(&self, session: SessionId, seed: u64) -> Option<(usize, Reason)> {
        let order = self.ranked(session, seed);
        let best = *order.first()?;
        let Some(&next) = order.get(1) else {
            return Some((best, Reason::Only));
        };
        let (a, b) = (self.key(best, session, seed), self.key(next, session, seed));
        let reason = if a.0 != b.0 {
            Reason::NeverHeld
        } else if a.1 != b.1 {
            Reason::NoTurnYet
        } else if a.2 != b.2 {
            Reason::Shortfall
        } else if a.3 != b.3 {
            Reason::LeastLoad
        } else if a.4 != b.4 {
            Reason::LeastRecent
        } else {
            Reason::Draw
        };
        Some((best, reason))
    }

    /// Why `pick`, in plain words, from the facts that chose them.
    fn explain(&self, pick: usize, reason: Reason) -> String {
        let name = &self.role.candidates[pick].name;
        let done = &self.role.words.done;
        let held = self.held(pick);
        let others: Vec<usize> = self
            .eligible
            .iter()
            .copied()
            .filter(|&i| i != pick)
            .collect();
        let fewest = others.iter().map(|&i| self.held(i)).min();
        let elsewhere = match self.role.candidates[pick].elsewhere {
            0 => String::new(),
            n => format!(" (and holds {} elsewhere this fortnight)", plural_roles(n)),
        };
        let so_far = if held == 0 {
            format!("{name} hasn't {done} yet")
        } else {
            format!("{name} has {done} {}", times(held))
        };
        let main = match reason {
            Reason::Only => format!("{so_far} and is the only one who can that day."),
            Reason::NeverHeld if fewest.is_some_and(|f| f > 0) => {
                format!("{so_far}; everyone else who can has.")
            }
            Reason::NeverHeld => format!("{so_far}."),
            Reason::NoTurnYet => {
                format!("{so_far} and has no other role yet; the others who haven't have one.")
            }
            Reason::Shortfall => match fewest {
                Some(f) if held < f => format!(
                    "{so_far}{elsewhere}; everyone else who can has {done} at least {}.",
                    times(f)
                ),
                _ => format!("{so_far}{elsewhere}, the furthest below a fair share."),
            },
            Reason::LeastLoad => format!(
                "{so_far}, as often as others, and has taken fewer turns at the circle's roles."
            ),
            Reason::Draw | Reason::LeastRecent if held == 0 => {
                format!("{so_far}, nor have others who can; a draw chose {name}.")
            }
            Reason::LeastRecent => format!("{so_far}, as often as others, and longest ago."),
            Reason::Draw => {
                format!("{so_far}, as often and as long ago as others; a draw chose {name}.")
            }
        };
        // Say so when people with fewer turns were passed over only because they can't come.
        let fewer_away = self
            .away
            .iter()
            .filter(|&&i| self.held(i) < held || (held == 0 && self.held(i) == 0))
            .count();
        let (one, many) = if held == 0 {
            (format!("hasn't {done} yet"), format!("haven't {done} yet"))
        } else {
            (
                format!("has {done} fewer times"),
                format!("have {done} fewer times"),
            )
        };
        match fewer_away {
            0 => main,
            1 => format!("{main} One other who {one} can't take it that day."),
            n => format!("{main} {n} others who {many} can't take it that day."),
        }
    }
}

/// A why as its holder reads it: the planner writes it about them ("Ada hasn't led yet, nor
/// have others who can; a draw chose Ada."), for organisers; the holder reads it to them ("You
/// haven't led yet, nor have others who can; we drew lots and it came to you."). A why that
/// does not name `name` (they changed their name since) is left as written.
pub fn why_for_holder(why: &str, name: &str) -> String {
    match why {
        "Accepted." => return "You accepted.".into(),
        "Assigned by an organiser." => return "An organiser gave you this turn.".into(),
        w if w.starts_with("Took over by swap") => {
            return "You took it over in a swap.".into();
        }
        _ => {}
    }
    let rest = if let Some(r) = why.strip_prefix(&format!("{name} hasn't ")) {
        format!("You haven't {r}")
    } else if let Some(r) = why.strip_prefix(&format!("{name} has ")) {
        format!("You have {r}")
    } else {
        return why.to_string();
    };
    rest.replace(
        " and is the only one who can that day.",
        " and you're the only one who can that day.",
    )
    .replace(
        " and has no other role yet;",
        " and have no other role yet;",
    )
    .replace(" (and holds ", " (and hold ")
    .replace(
        ", and has taken fewer turns",
        ", and have taken fewer turns",
    )
    .replace(
        &format!("; a draw chose {name}."),
        "; we drew lots and it came to you.",
    )
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

fn times(n: u32) -> String {
    match n {
        0 => "not yet".into(),
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
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

    #[test]
    fn the_holder_reads_their_why_addressed_to_them() {
        let cases = [
            (
                "Ada hasn't led yet, nor have others who can; a draw chose Ada.",
                "You haven't led yet, nor have others who can; we drew lots and it came to you.",
            ),
            (
                "Ada hasn't led yet and is the only one who can that day.",
                "You haven't led yet and you're the only one who can that day.",
            ),
            (
                "Ada has led once (and holds 2 roles elsewhere this fortnight), the furthest below a fair share.",
                "You have led once (and hold 2 roles elsewhere this fortnight), the furthest below a fair share.",
            ),
            (
                "Ada has been note-taker once, as often as others, and has taken fewer turns at the circle's roles.",
                "You have been note-taker once, as often as others, and have taken fewer turns at the circle's roles.",
            ),
            ("Took over by swap from the previous holder.", "You took it over in a swap."),
            ("Assigned by an organiser.", "An organiser gave you this turn."),
            ("Bo hasn't led yet.", "Bo hasn't led yet."),
        ];
        for (written, read) in cases {
            assert_eq!(why_for_holder(written, "Ada"), read);
        }
        // Every why the planner writes reads in the second person, with no name or seed left.
        let mut c = people(&["Ada", "Bo", "Cy"]);
        c[1].held = 1;
        for seed in 0..20 {
            for p in plan(&RoleWords::facilitator(), &c, &slots(3), seed) {
                let Some(m) = p.member else { continue };
                let name = &c.iter().find(|x| x.member == m).unwrap().name;
                let read = why_for_holder(&p.why, name);
                assert!(read.starts_with("You "), "{} → {read}", p.why);
                assert!(!read.contains(name.as_str()), "{read}");
                assert!(!read.contains("seed"), "{read}");
            }
        }
    }

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
                lead: false,
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
        assert_eq!(
            plan[0].why,
            "Ada hasn't led yet; everyone else who can has."
        );
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

    /// A circle of `n` with a facilitator and `micro` micro-roles over `k` weekly sessions.
    fn circle(n: usize, micro: usize, k: usize) -> (Vec<Role>, Vec<Session>) {
        let names: Vec<String> = (0..n).map(|i| format!("M{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut roles = vec![Role {
            words: RoleWords::facilitator(),
            load: 2,
            candidates: people(&refs),
        }];
        for r in 0..micro {
            roles.push(Role {
                words: RoleWords {
                    done: format!("been role {r}"),
                    min_attended: 0,
                },
                load: 1,
                candidates: people(&refs),
            });
        }
        let sessions = slots(k)
            .into_iter()
            .map(|s| Session {
                session: s.session,
                starts_at: s.starts_at,
                slots: (0..roles.len())
                    .map(|role| RoleSlot {
                        role,
                        confirmed: None,
                        excluded: Vec::new(),
                    })
                    .collect(),
            })
            .collect();
        (roles, sessions)
    }

    /// Turns per member (by index) in `plan`, all roles together.
    fn turns(roles: &[Role], plan: &[Vec<Proposal>]) -> Vec<usize> {
        roles[0]
            .candidates
            .iter()
            .map(|c| {
                plan.iter()
                    .flatten()
                    .filter(|p| p.member == Some(c.member))
                    .count()
            })
            .collect()
    }

    #[test]
    fn six_people_three_roles_six_weeks_share_the_work() {
        let (roles, sessions) = circle(6, 2, 6);
        let plan = plan_circle(&roles, &sessions, 11);
        // Every week three different people; in two weeks everyone has had a turn.
        for week in &plan {
            let mut who: Vec<_> = week.iter().map(|p| p.member.unwrap()).collect();
            who.dedup();
            assert_eq!(who.len(), 3);
        }
        let first_two = turns(&roles, &plan[..2]);
        assert!(first_two.iter().all(|&t| t == 1), "{first_two:?}");
        // Each role once per person, so three turns each.
        assert_eq!(turns(&roles, &plan), vec![3; 6]);
    }

    #[test]
    fn a_turn_accepted_for_later_counts_now_and_the_why_says_so() {
        let c = people(&["Ada", "Bo", "Cy"]);
        let mut s = slots(3);
        // Ada accepted the third session: the first two go to Bo and Cy.
        s[2].confirmed = Some(c[0].member);
        let plan = plan(&RoleWords::facilitator(), &c, &s, 5);
        assert_ne!(plan[0].member, Some(c[0].member));
        assert_ne!(plan[1].member, Some(c[0].member));
        assert!(
            !plan[1].why.contains("nor have others"),
            "Ada has a turn coming: {}",
            plan[1].why
        );
    }

    #[test]
    fn people_passed_over_because_they_cannot_come_are_counted_in_the_why() {
        let mut c = people(&["Ada", "Bo", "Cy"]);
        let earlier = Utc::now() - chrono::Duration::weeks(3);
        c[1].held = 1;
        c[1].last_held = Some(earlier);
        let mut s = slots(1);
        // Ada and Cy haven't led; Ada said no.
        s[0].excluded = vec![c[0].member];
        let plan = plan(&RoleWords::facilitator(), &c, &s, 2);
        assert_eq!(plan[0].member, Some(c[2].member));
        assert_eq!(
            plan[0].why,
            "Cy hasn't led yet; everyone else who can has. \
             One other who hasn't led yet can't take it that day."
        );
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

        /// Everyone has a first turn before anyone has a second, whatever their weight; after
        /// that, once every share is at least one turn, weights are followed within one.
        #[test]
        fn a_first_turn_for_everyone_then_weights_within_one(
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
            let firsts: Vec<_> = plan.iter().take(weights.len()).map(|p| p.member).collect();
            let distinct: std::collections::HashSet<_> = firsts.iter().collect();
            prop_assert_eq!(distinct.len(), firsts.len(), "{:?}", counts);
            let sum: u32 = weights.iter().sum();
            let smallest = weights.iter().min().unwrap();
            if k as f64 * f64::from(*smallest) / f64::from(sum) >= 1.0 {
                for (count, w) in counts.iter().zip(&weights) {
                    let share = k as f64 * f64::from(*w) / f64::from(sum);
                    prop_assert!((f64::from(*count) - share).abs() <= 1.0 + 1e-9,
                        "count {count} share {share:.2} weights {weights:?} counts {counts:?}");
                }
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

    proptest! {
        /// Nobody gets a second turn of a role while someone who could take that slot has
        /// had none, whatever was accepted, declined or said before, across several roles.
        #[test]
        fn no_second_turn_while_someone_who_can_has_none(
            n in 2usize..9, micro in 0usize..3, k in 1usize..16, seed in any::<u64>(),
            held in proptest::collection::vec(0u32..3, 8),
            weights in proptest::collection::vec(prop_oneof![Just(50u32), Just(100u32), Just(200u32)], 8),
            elsewhere in proptest::collection::vec(0u32..3, 8),
            marks in proptest::collection::vec((0usize..9, 0u8..6), 48),
        ) {
            let (mut roles, mut sessions) = circle(n, micro, k);
            for role in &mut roles {
                for (i, c) in role.candidates.iter_mut().enumerate() {
                    c.weight = weights[i];
                    c.elsewhere = elsewhere[i];
                    c.held = held[i] % 2 * u32::from(i % 3 == 0);
                    if c.held > 0 {
                        c.last_held = Some(sessions[0].starts_at - chrono::Duration::weeks(8));
                    }
                }
            }
            // Scatter accepted turns and exclusions (a "no", a decline) over the slots.
            let mut m = marks.iter();
            for s in &mut sessions {
                let mut busy = Vec::new();
                for slot in &mut s.slots {
                    let Some(&(who, what)) = m.next() else { break };
                    let member = roles[slot.role].candidates[who % n].member;
                    match what {
                        0 if !busy.contains(&member) => {
                            slot.confirmed = Some(member);
                            busy.push(member);
                        }
                        1 | 2 => slot.excluded.push(member),
                        _ => {}
                    }
                }
            }
            let plan = plan_circle(&roles, &sessions, seed);
            // Count every turn as the planner must: held, accepted anywhere, then each pick.
            let mut count: HashMap<(usize, MemberId), u32> = HashMap::new();
            for (r, role) in roles.iter().enumerate() {
                for c in &role.candidates {
                    count.insert((r, c.member), c.held);
                }
            }
            for s in &sessions {
                for slot in &s.slots {
                    if let Some(m) = slot.confirmed {
                        *count.entry((slot.role, m)).or_default() += 1;
                    }
                }
            }
            for (s, proposals) in sessions.iter().zip(&plan) {
                let mut busy: Vec<MemberId> = s.slots.iter().filter_map(|x| x.confirmed).collect();
                for (slot, p) in s.slots.iter().zip(proposals) {
                    if p.confirmed { continue; }
                    let Some(who) = p.member else { continue };
                    let mine = count[&(slot.role, who)];
                    if mine > 0 {
                        for c in &roles[slot.role].candidates {
                            let free = !slot.excluded.contains(&c.member) && !busy.contains(&c.member);
                            prop_assert!(!free || count[&(slot.role, c.member)] > 0,
                                "{} got a second turn of role {} while {} had none", who.0, slot.role, c.name);
                        }
                    }
                    *count.get_mut(&(slot.role, who)).unwrap() += 1;
                    busy.push(who);
                }
            }
        }
    }
}
