//! Talking-piece agendas: a circle's rounds (check-in, reading, open round, check-out, each
//! with a prompt and minutes) and, for each session, who speaks in which order and for how
//! long.
//!
//! The order comes from the session's "yes" RSVPs. Whoever has gone first least recently goes
//! first, except the facilitator and newcomers, who are never first; last session's first
//! speaker goes last; everyone else follows a draw seeded by the circle and the session, so
//! the same RSVPs always give the same order and the seed shown lets anyone re-run it.

use serde::{Deserialize, Serialize};

use super::rota::draw;
use super::{AgendaStep, CircleKind, Invalid, MemberId, SessionId};

/// Most rounds a template may have.
pub const MAX_ROUNDS: usize = 10;
/// Per-speaker time boxes are clamped to this range (seconds).
pub const MIN_SPEAKER_SECONDS: i32 = 60;
pub const MAX_SPEAKER_SECONDS: i32 = 300;
/// Orders are frozen this long before the session starts.
pub const FREEZE_BEFORE_MINUTES: i64 = 120;

/// One round of a circle's agenda template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRound {
    pub kind: AgendaStep,
    pub prompt: String,
    pub minutes: i32,
}

/// A circle's agenda: whether its sessions run talking-piece rounds, and which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub enabled: bool,
    pub rounds: Vec<TemplateRound>,
}

fn round(kind: AgendaStep, prompt: &str, minutes: i32) -> TemplateRound {
    TemplateRound {
        kind,
        prompt: prompt.into(),
        minutes,
    }
}

/// The agenda a circle has until someone changes it: restorative circles run talking-piece
/// rounds by default; book clubs and learning circles can switch them on.
pub fn default_for(kind: CircleKind) -> Template {
    let rounds = match kind {
        CircleKind::RestorativeCircle => vec![
            round(
                AgendaStep::CheckIn,
                "Your name, and how you are arriving today.",
                10,
            ),
            round(
                AgendaStep::Reading,
                "What stayed with you from the reading or the last circle?",
                25,
            ),
            round(AgendaStep::Open, "What needs to be said here today?", 30),
            round(
                AgendaStep::CheckOut,
                "One word or sentence for how you are leaving.",
                10,
            ),
        ],
        CircleKind::BookClub | CircleKind::LearningCircle => vec![
            round(AgendaStep::CheckIn, "How are you arriving today?", 10),
            round(
                AgendaStep::Reading,
                "One passage or idea from the reading you want to talk about.",
                40,
            ),
            round(AgendaStep::Open, "What else is on your mind?", 20),
            round(AgendaStep::CheckOut, "What are you taking with you?", 10),
        ],
    };
    Template {
        enabled: kind == CircleKind::RestorativeCircle,
        rounds,
    }
}

/// Check a template's rounds: 1–10 rounds, each prompt 1–300 characters, 1–120 minutes.
pub fn check(rounds: Vec<TemplateRound>) -> Result<Vec<TemplateRound>, Invalid> {
    if rounds.is_empty() || rounds.len() > MAX_ROUNDS {
        return Err(Invalid::new(
            "rounds",
            format!("must have between 1 and {MAX_ROUNDS} rounds"),
        ));
    }
    rounds
        .into_iter()
        .map(|r| {
            let prompt = super::text::lines("prompt", &r.prompt)?;
            if prompt.is_empty() || prompt.chars().count() > 300 {
                return Err(Invalid::new(
                    "prompt",
                    "each round needs a prompt of 1 to 300 characters",
                ));
            }
            if !(1..=120).contains(&r.minutes) {
                return Err(Invalid::new(
                    "minutes",
                    "each round takes between 1 and 120 minutes",
                ));
            }
            Ok(TemplateRound {
                kind: r.kind,
                prompt,
                minutes: r.minutes,
            })
        })
        .collect()
}

/// Time per speaker: the round's minutes shared by the speakers, clamped to 1–5 minutes; none
/// when nobody is coming.
pub fn per_speaker_seconds(minutes: i32, speakers: usize) -> Option<i32> {
    (speakers > 0).then(|| {
        let share = i64::from(minutes) * 60 / speakers as i64;
        share.clamp(
            i64::from(MIN_SPEAKER_SECONDS),
            i64::from(MAX_SPEAKER_SECONDS),
        ) as i32
    })
}

/// Someone who answered "yes".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub member: MemberId,
    /// Has not attended a session of the circle yet.
    pub newcomer: bool,
}

/// The speaking order for `session`. `history` holds the first speakers of the circle's
/// earlier sessions, newest first.
pub fn speaking_order(
    attendees: &[Attendee],
    facilitator: Option<MemberId>,
    history: &[MemberId],
    seed: u64,
    session: SessionId,
) -> Vec<MemberId> {
    let mut people: Vec<&Attendee> = attendees.iter().collect();
    people.sort_by_key(|a| std::cmp::Reverse(draw(seed, session, a.member)));
    people.dedup_by_key(|a| a.member);
    if people.is_empty() {
        return Vec::new();
    }
    let not_facilitator = |a: &&&Attendee| Some(a.member) != facilitator;
    let candidates: Vec<&&Attendee> = {
        let regulars: Vec<_> = people
            .iter()
            .filter(not_facilitator)
            .filter(|a| !a.newcomer)
            .collect();
        if !regulars.is_empty() {
            regulars
        } else {
            let others: Vec<_> = people.iter().filter(not_facilitator).collect();
            if others.is_empty() {
                people.iter().collect()
            } else {
                others
            }
        }
    };
    // Sessions since each last went first: never counts as longest ago.
    let since = |m: MemberId| history.iter().position(|&h| h == m).unwrap_or(usize::MAX);
    // `candidates` is in draw order, so the first of the longest-ago wins a tie.
    let first = candidates
        .iter()
        .copied()
        .fold(None::<&&Attendee>, |best, a| match best {
            Some(b) if since(b.member) >= since(a.member) => Some(b),
            _ => Some(a),
        })
        .expect("at least one candidate")
        .member;
    let mut order: Vec<MemberId> = std::iter::once(first)
        .chain(people.iter().map(|a| a.member).filter(|&m| m != first))
        .collect();
    if let Some(&last_first) = history.first() {
        if let Some(i) = order.iter().skip(1).position(|&m| m == last_first) {
            let m = order.remove(i + 1);
            order.push(m);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn member(n: u8) -> MemberId {
        MemberId(uuid::Uuid::from_bytes([n; 16]))
    }

    fn session(n: u32) -> SessionId {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_be_bytes());
        SessionId(uuid::Uuid::from_bytes(b))
    }

    fn regular(n: u8) -> Attendee {
        Attendee {
            member: member(n),
            newcomer: false,
        }
    }

    #[test]
    fn per_speaker_time_is_shared_and_clamped() {
        assert_eq!(per_speaker_seconds(10, 4), Some(150));
        assert_eq!(per_speaker_seconds(10, 20), Some(60));
        assert_eq!(per_speaker_seconds(60, 2), Some(300));
        assert_eq!(per_speaker_seconds(10, 0), None);
    }

    #[test]
    fn templates_are_checked() {
        assert!(check(Vec::new()).is_err());
        let ok = check(vec![round(AgendaStep::CheckIn, " Hello ", 5)]).unwrap();
        assert_eq!(ok[0].prompt, "Hello");
        assert_eq!(
            check(vec![round(AgendaStep::Open, "x", 0)])
                .unwrap_err()
                .field,
            "minutes"
        );
        assert_eq!(
            check(vec![round(AgendaStep::Open, "", 5)])
                .unwrap_err()
                .field,
            "prompt"
        );
        assert!(check(vec![round(AgendaStep::Open, "x", 5); 11]).is_err());
        assert!(default_for(CircleKind::RestorativeCircle).enabled);
        assert!(!default_for(CircleKind::BookClub).enabled);
    }

    #[test]
    fn last_sessions_first_speaker_goes_last_and_newcomers_wait() {
        let people = [regular(1), regular(2), regular(3), regular(4)];
        let order = speaking_order(&people, None, &[member(2)], 7, session(1));
        assert_eq!(order.len(), 4);
        assert_eq!(*order.last().unwrap(), member(2));
        let with_new = [
            Attendee {
                member: member(9),
                newcomer: true,
            },
            regular(1),
        ];
        for seed in 0..50 {
            let order = speaking_order(&with_new, Some(member(1)), &[], seed, session(seed as u32));
            // The facilitator is never first; a newcomer goes first only when nobody else can.
            assert_eq!(order[0], member(9));
        }
        assert_eq!(
            speaking_order(&[regular(5)], Some(member(5)), &[], 1, session(1)),
            vec![member(5)]
        );
    }

    proptest! {
        /// Over consecutive sessions every regular attendee is first at most once before
        /// anyone is first twice; the facilitator and newcomers are never first; the order
        /// holds exactly the people who said yes.
        #[test]
        fn first_place_rotates_fairly(
            regulars in 2u8..9,
            sessions in 1u32..30,
            seed in any::<u64>(),
            visitors in proptest::collection::vec(proptest::option::of(20u8..26), 30),
        ) {
            let facilitator = member(100);
            let mut history: Vec<MemberId> = Vec::new();
            let mut attended: HashMap<MemberId, u32> = HashMap::new();
            let mut firsts: HashMap<MemberId, u32> = HashMap::new();
            for s in 0..sessions {
                let mut people: Vec<Attendee> = (1..=regulars).map(regular).collect();
                people.push(Attendee { member: facilitator, newcomer: false });
                if let Some(v) = visitors[s as usize] {
                    let m = member(v);
                    people.push(Attendee { member: m, newcomer: !attended.contains_key(&m) });
                }
                let order = speaking_order(&people, Some(facilitator), &history, seed, session(s));
                let mut said_yes: Vec<MemberId> = people.iter().map(|a| a.member).collect();
                let mut got = order.clone();
                said_yes.sort();
                got.sort();
                prop_assert_eq!(said_yes, got);
                let first = order[0];
                prop_assert_ne!(first, facilitator);
                let newcomer = people.iter().any(|a| a.member == first && a.newcomer);
                prop_assert!(!newcomer);
                *firsts.entry(first).or_default() += 1;
                if firsts.get(&first) == Some(&2) {
                    for r in 1..=regulars {
                        prop_assert!(
                            firsts.get(&member(r)).copied().unwrap_or(0) >= 1,
                            "{:?} went first twice before regular {} went first once", first, r
                        );
                    }
                }
                // Regulars go first in turn: once each before a second time.
                if (1..=regulars).any(|r| member(r) == first) {
                    let max = (1..=regulars).map(|r| firsts.get(&member(r)).copied().unwrap_or(0)).max().unwrap();
                    let min = (1..=regulars).map(|r| firsts.get(&member(r)).copied().unwrap_or(0)).min().unwrap();
                    prop_assert!(max - min <= 1);
                }
                for a in &people {
                    *attended.entry(a.member).or_default() += 1;
                }
                history.insert(0, first);
            }
        }

        /// The same inputs give the same order (a frozen order can be re-run from its seed).
        #[test]
        fn the_same_seed_gives_the_same_order(n in 1u8..12, seed in any::<u64>()) {
            let people: Vec<Attendee> = (1..=n).map(regular).collect();
            let a = speaking_order(&people, Some(member(1)), &[member(2)], seed, session(3));
            let b = speaking_order(&people, Some(member(1)), &[member(2)], seed, session(3));
            prop_assert_eq!(a, b);
        }
    }
}
