//! Role kinds as people type them: keys, names, guides and counts, checked on the way in,
//! and the roles each kind of circle is offered to start with.

use serde::Deserialize;

use super::{CircleKind, Invalid};

pub const MAX_SLOTS: i64 = 10;
pub const MAX_MIN_ATTENDED: i64 = 100;

/// A role key: lower-case letters, digits and `_`, starting with a letter, at most 40.
pub fn key(value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            "key",
            "must be 1 to 40 lower-case letters, digits or _, starting with a letter (e.g. note_taker)",
        ))
    }
}

/// A key made from a name: "Note-taker" → "note_taker".
pub fn key_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    let out = if out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out
    } else {
        format!("role_{out}")
    };
    out.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('_')
        .to_string()
}

pub fn name(value: &str) -> Result<String, Invalid> {
    let v = super::text::line("name", value)?;
    if v.is_empty() || v.chars().count() > 80 {
        return Err(Invalid::new("name", "must be 1 to 80 characters"));
    }
    Ok(v)
}

pub fn guide(value: &str) -> Result<String, Invalid> {
    let v = super::text::lines("guide", value)?;
    if v.chars().count() > 2000 {
        return Err(Invalid::new("guide", "must be at most 2000 characters"));
    }
    Ok(v)
}

pub fn slots(value: i64) -> Result<i32, Invalid> {
    if (1..=MAX_SLOTS).contains(&value) {
        Ok(value as i32)
    } else {
        Err(Invalid::new(
            "slots",
            format!("must be between 1 and {MAX_SLOTS} people per session"),
        ))
    }
}

pub fn min_attended(value: i64) -> Result<i32, Invalid> {
    if (0..=MAX_MIN_ATTENDED).contains(&value) {
        Ok(value as i32)
    } else {
        Err(Invalid::new(
            "min_attended",
            format!("must be between 0 and {MAX_MIN_ATTENDED} sessions"),
        ))
    }
}

/// A rotation weight: 100 is a full share, 50 half as often, 200 twice as often.
pub fn weight(value: i64) -> Result<i32, Invalid> {
    if (1..=200).contains(&value) {
        Ok(value as i32)
    } else {
        Err(Invalid::new(
            "rotation.weight",
            "must be a whole number from 1 to 200 (100 is a full share, 50 half as often)",
        ))
    }
}

/// Why someone is told about a role slot that is not theirs to answer (organisers, or the
/// holder about a handoff).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The person asked did not answer in time; the next person is asked.
    Unanswered,
    /// Nobody holds the role 48 hours before the session.
    StillOpen,
    /// A swap was taken.
    SwapTaken,
    /// The previous lead left a handoff note for the holder.
    Handoff,
}

/// When an ask made at `asked_at` must be answered: at the end of the day in the circle's
/// zone once `hours` have passed (after that it counts as a decline). The sweep's query says
/// the same in SQL (`db::roles::slots::ANSWER_BY`).
pub fn answer_due(
    asked_at: chrono::DateTime<chrono::Utc>,
    hours: i32,
    zone: chrono_tz::Tz,
) -> chrono::DateTime<chrono::Utc> {
    super::clock::end_of_day(asked_at + chrono::Duration::hours(i64::from(hours)), zone)
}

/// Sessions someone must have come to before a role is asked of them, unless the organiser
/// says otherwise: one for a role that rotates (nobody is asked before they know the circle),
/// none for one an organiser gives.
pub fn default_min_attended(rotates: bool) -> i32 {
    i32::from(rotates)
}

/// A suggested role: (key, name, guide).
pub type Suggestion = (&'static str, &'static str, &'static str);

/// The micro-roles a kind of circle is offered in one step, most useful first.
pub fn suggested(kind: CircleKind) -> &'static [Suggestion] {
    const DISCUSSION: Suggestion = ("discussion_lead", "Discussion lead", "Bring two or three questions about the reading and open the discussion with the first one.");
    const QUESTIONS: Suggestion = (
        "question_bringer",
        "Question-bringer",
        "Bring one question you can't answer yet, and ask it when the conversation slows.",
    );
    const NOTES: Suggestion = (
        "note_taker",
        "Note-taker",
        "Keep short notes of what was said and decided, and share them with the circle afterwards.",
    );
    const TIME: Suggestion = ("timekeeper", "Timekeeper", "Keep an eye on the clock: tell the circle when half the time has gone and when five minutes are left.");
    const WELCOME: Suggestion = (
        "welcomer",
        "Welcomer",
        "Arrive a few minutes early, greet people as they come, and introduce anyone new.",
    );
    const KEEPER: Suggestion = ("keeper", "Keeper", "Hold the talking piece and the circle's agreements: open each round, and bring the circle back to them when needed.");
    match kind {
        CircleKind::BookClub => &[DISCUSSION, TIME, NOTES, QUESTIONS, WELCOME],
        CircleKind::LearningCircle => &[TIME, NOTES, QUESTIONS, WELCOME],
        CircleKind::RestorativeCircle => &[KEEPER, TIME, WELCOME],
    }
}

/// How many people a session's roles may take in a circle of `size`: at least a third of
/// the circle holds no role in a session, so there is someone free to swap with and
/// everyone gets sessions where they simply take part.
pub fn role_seats(size: usize) -> usize {
    size - size.div_ceil(3)
}

/// The suggested roles for a circle of `size` people whose sessions already need `taken`
/// people in roles and which has the roles `have`: in order, as many as keep a third of
/// the circle free.
pub fn suggested_for(
    kind: CircleKind,
    size: usize,
    taken: usize,
    have: &[&str],
) -> Vec<Suggestion> {
    let room = role_seats(size).saturating_sub(taken);
    suggested(kind)
        .iter()
        .filter(|(key, _, _)| !have.contains(key))
        .take(room)
        .copied()
        .collect()
}

/// Whether sessions needing `taken` people in roles leave a circle of `size` with nobody
/// (or too few) free: everyone would hold a role every time and swaps would find nobody.
pub fn too_many_roles(size: usize, taken: usize) -> bool {
    size > 0 && taken > role_seats(size)
}

/// How evenly roles are spread: the mean over every pair of members of
/// `min(a, b) / max(a, b)` of the roles they held (a pair who both held none counts as
/// even). 1 is perfectly even; near 0, a few hold everything.
pub fn balance(counts: &[u32]) -> f64 {
    if counts.len() < 2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut pairs = 0u64;
    for i in 0..counts.len() {
        for j in i + 1..counts.len() {
            let (a, b) = (counts[i], counts[j]);
            sum += if a.max(b) == 0 {
                1.0
            } else {
                f64::from(a.min(b)) / f64::from(a.max(b))
            };
            pairs += 1;
        }
    }
    (sum / pairs as f64 * 1000.0).round() / 1000.0
}

/// How long before a session its discussion lead is asked for questions.
pub const QUESTIONS_AHEAD_DAYS: i64 = 5;
/// The most characters one question may have.
pub const QUESTION_MAX: usize = 300;

/// A discussion lead's questions: two or three, each on one line and at most 300 characters;
/// blank answers are left out.
pub fn questions(inputs: &[&str]) -> Result<Vec<String>, Invalid> {
    let mut list = Vec::new();
    for q in inputs {
        let q = q.split_whitespace().collect::<Vec<_>>().join(" ");
        let q = super::text::line("questions", &q)?;
        if !q.is_empty() {
            list.push(q);
        }
    }
    if list.iter().any(|q| q.chars().count() > QUESTION_MAX) {
        return Err(Invalid::new(
            "questions",
            format!("each question must be at most {QUESTION_MAX} characters"),
        ));
    }
    if !(2..=3).contains(&list.len()) {
        return Err(Invalid::new("questions", "write two or three questions"));
    }
    Ok(list)
}

/// The bodies that add and change a role kind, as the API and the dashboard take them.
/// A role kind to add, already checked.
#[derive(Debug, Clone)]
pub struct RoleInput {
    pub key: String,
    pub name: String,
    pub guide: String,
    pub slots: i32,
    pub rotates: bool,
    pub min_attended: i32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    /// Made from the name when absent ("Note-taker" → `note_taker`).
    pub key: Option<String>,
    pub name: String,
    pub guide: Option<String>,
    /// People per session (default 1).
    pub slots: Option<i64>,
    /// Whether a rotating circle proposes holders (default true).
    pub rotates: Option<bool>,
    /// Sessions attended before someone is asked (default 1 for a role that rotates, else 0).
    pub min_attended: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    pub name: Option<String>,
    pub guide: Option<String>,
    pub slots: Option<i64>,
    pub rotates: Option<bool>,
    pub min_attended: Option<i64>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_discussion_lead_brings_two_or_three_questions() {
        assert_eq!(
            questions(&["  What did the gift\neconomy cost? ", "", "Who pays?"]).unwrap(),
            vec![
                "What did the gift economy cost?".to_string(),
                "Who pays?".to_string()
            ]
        );
        assert!(questions(&["Only one?", " ", ""]).is_err());
        assert!(questions(&["a", "b", "c", "d"]).is_err());
        assert!(questions(&["a", &"x".repeat(301)]).is_err());
        assert!(
            questions(&["a", &"é".repeat(300)]).is_ok(),
            "characters, not bytes"
        );
    }

    use super::*;

    #[test]
    fn suggested_roles_leave_a_third_of_the_circle_free() {
        assert_eq!(role_seats(7), 4);
        assert_eq!(role_seats(6), 4);
        assert_eq!(role_seats(3), 2);
        assert_eq!(role_seats(1), 0);
        assert_eq!(role_seats(0), 0);
        let keys = |v: Vec<Suggestion>| v.into_iter().map(|s| s.0).collect::<Vec<_>>();
        // Seven people and a facilitator: three more roles, most useful first.
        assert_eq!(
            keys(suggested_for(CircleKind::BookClub, 7, 1, &["facilitator"])),
            ["discussion_lead", "timekeeper", "note_taker"]
        );
        // Those it has already count, and are not suggested again.
        assert_eq!(
            keys(suggested_for(
                CircleKind::BookClub,
                7,
                2,
                &["facilitator", "timekeeper"]
            )),
            ["discussion_lead", "note_taker"]
        );
        assert!(suggested_for(CircleKind::LearningCircle, 3, 2, &[]).is_empty());
        assert_eq!(suggested_for(CircleKind::BookClub, 40, 1, &[]).len(), 5);
        assert!(too_many_roles(7, 5));
        assert!(!too_many_roles(7, 4));
        assert!(
            !too_many_roles(0, 3),
            "a circle nobody joined yet warns of nothing"
        );
    }

    #[test]
    fn keys_are_checked_and_made_from_names() {
        assert!(key("note_taker").is_ok());
        assert!(key("Note").is_err());
        assert!(key("1st").is_err());
        assert!(key("").is_err());
        assert_eq!(key_from_name("Note-taker"), "note_taker");
        assert_eq!(
            key_from_name("  Keeper of the Circle "),
            "keeper_of_the_circle"
        );
        assert_eq!(key_from_name("42"), "role_42");
    }

    #[test]
    fn counts_and_weights_have_bounds() {
        assert!(slots(0).is_err());
        assert!(slots(1).is_ok());
        assert!(min_attended(-1).is_err());
        assert!(weight(-50).is_err());
        assert!(weight(0).is_err());
        assert_eq!(weight(50), Ok(50));
    }

    #[test]
    fn balance_is_one_when_even_and_falls_as_few_hold_everything() {
        assert_eq!(balance(&[2, 2, 2]), 1.0);
        assert_eq!(balance(&[0, 0]), 1.0);
        assert_eq!(balance(&[4, 0, 0]), 0.333);
        assert!(balance(&[3, 1, 1]) < balance(&[2, 2, 1]));
    }
}
