//! "Waiting for you" at the top of a member's page: what they have to do, soonest first, each
//! with its deadline in words and the link that does it (roles to accept, consent rounds to
//! answer, feedback to give, sessions to answer, agreements to acknowledge).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::actions::feedback::tags;
use crate::db::members::Member;
use crate::db::roles::Upcoming;
use crate::db::{feedback, Connection};
use crate::domain::FeedbackRequestId;
use crate::email::when::describe_day;
use crate::http::AppState;
use crate::links::Holder;

/// Sessions this close without an answer ask for one.
const ANSWER_SESSIONS_WITHIN: Duration = Duration::days(14);

pub struct WaitingLine {
    /// What to do, in a sentence.
    pub what: String,
    /// By when, in words, with the zone named: "Answer by Friday 11 December, 19:00
    /// (Europe/London), in 2 days".
    pub due: String,
    pub url: String,
    /// The link's words.
    pub action: &'static str,
    /// For ordering: the deadline (or the session's start).
    at: Option<DateTime<Utc>>,
}

/// A coming session and the member's answer to it, as the page already read them.
pub struct SessionToAnswer {
    pub circle: String,
    pub starts_at: DateTime<Utc>,
    pub answered: bool,
    pub rsvp_url: String,
}

/// Everything waiting for `member`, soonest deadline first (agreements to acknowledge, which
/// have none, last).
#[allow(clippy::too_many_arguments)]
pub async fn load(
    conn: &mut Connection,
    state: &AppState,
    member: &Member,
    zone: Tz,
    now: DateTime<Utc>,
    roles: &[Upcoming],
    rounds: &[super::agreements::RoundLine],
    unacknowledged: &[(crate::domain::CircleId, String)],
    sessions: &[SessionToAnswer],
) -> diesel::QueryResult<Vec<WaitingLine>> {
    let by = |verb: &str, at: DateTime<Utc>| {
        format!("{verb} {}", crate::email::when::deadline(at, zone, now))
    };
    let holder = Holder::of(member);
    let mut lines = Vec::new();
    for r in roles.iter().filter(|r| r.state == "asked") {
        let day = describe_day(r.starts_at, zone);
        lines.push(WaitingLine {
            what: format!(
                "Would you be the {} in {} on {day}?",
                r.role_name.to_lowercase(),
                r.circle_name
            ),
            due: match r.answer_by {
                Some(at) => format!(
                    "{}; after that it goes to someone else",
                    by("Answer by", at)
                ),
                None => String::new(),
            },
            url: state.links.role(holder, r.id, r.ends_at),
            action: "Accept or say you can't make it",
            at: r.answer_by,
        });
    }
    for r in rounds.iter().filter(|r| !r.answered) {
        lines.push(WaitingLine {
            what: format!("Give your answer on “{}” in {}", r.title, r.circle),
            due: by("Closes", r.closes_at),
            url: r.url.clone(),
            action: "Give your answer",
            at: Some(r.closes_at),
        });
    }
    if member.feedback_requests_enabled {
        for f in feedback::to_give(conn, member.id, now).await? {
            let id = FeedbackRequestId(f.id);
            if feedback::has_answered(
                conn,
                id,
                member.id,
                &tags(state.links.keys(), id, member.id),
            )
            .await?
            {
                continue;
            }
            lines.push(WaitingLine {
                what: format!(
                    "Feedback for {}, {} on {} in {}",
                    f.subject_name,
                    f.role_name.to_lowercase(),
                    describe_day(f.starts_at, zone),
                    f.circle_name
                ),
                due: by("Closes", f.closes_at),
                url: state.links.feedback(holder, f.id, f.closes_at),
                action: "Give feedback",
                at: Some(f.closes_at),
            });
        }
    }
    for s in sessions
        .iter()
        .filter(|s| !s.answered && s.starts_at > now && s.starts_at <= now + ANSWER_SESSIONS_WITHIN)
    {
        lines.push(WaitingLine {
            what: format!(
                "Will you come to {} on {}?",
                s.circle,
                describe_day(s.starts_at, zone)
            ),
            due: by("Starts", s.starts_at),
            url: s.rsvp_url.clone(),
            action: "Answer",
            at: Some(s.starts_at),
        });
    }
    lines.sort_by_key(|l| (l.at.is_none(), l.at));
    for (_, circle) in unacknowledged {
        lines.push(WaitingLine {
            what: format!(
                "Read {} agreements and say you have",
                crate::domain::text::possessive(circle)
            ),
            due: String::new(),
            url: "#agreements".into(),
            action: "Read the agreements",
            at: None,
        });
    }
    Ok(lines)
}
