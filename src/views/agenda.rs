//! A session's talking-piece agenda as reminders, calendar entries, the API and the
//! timekeeper's page show it: built from the "yes" RSVPs until two hours before the start,
//! then frozen (by the sweep, `jobs::agenda::freeze_due`) and never changed again.

use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::agendas;
use crate::db::circles::Circle;
use crate::db::sessions::Session;
use crate::domain::agenda::{self as rules, Attendee, Template, TemplateRound};
use crate::domain::{AgendaStep, CircleId, MemberId};

/// Earlier first speakers the rotation looks back over.
const HISTORY: i64 = 200;

/// One speaker in a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Speaker {
    pub member_id: MemberId,
    pub display_name: String,
}

/// One round of a session's agenda, with its speaking order and time per speaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Round {
    pub kind: AgendaStep,
    pub prompt: String,
    pub minutes: i32,
    /// The round's minutes shared by its speakers, clamped to 60–300; absent with no speakers.
    pub per_speaker_seconds: Option<i32>,
    pub order: Vec<Speaker>,
}

/// A session's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionAgenda {
    /// Whether the circle runs talking-piece rounds (a frozen agenda always shows).
    pub enabled: bool,
    pub rounds: Vec<Round>,
    /// Frozen two hours before the start: the order no longer follows RSVPs.
    pub frozen: bool,
    /// The draw's seed: the same seed and RSVPs give the same order.
    pub seed: i64,
}

/// The seed of a circle's speaking-order draws; not the role draws' seed
/// (`actions::rota::role_draw_seed`), which hashes a different prefix.
pub fn speaking_order_seed(circle: CircleId) -> i64 {
    let digest = Sha256::digest(format!("agenda:{circle}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The circle's template: the one it saved, else its kind's default.
pub async fn template_of(
    conn: &mut AsyncPgConnection,
    circle: &Circle,
) -> diesel::QueryResult<Template> {
    let stored = agendas::template(conn, circle.id).await?;
    Ok(match stored {
        Some((enabled, rounds)) => Template {
            enabled,
            rounds: serde_json::from_value::<Vec<TemplateRound>>(rounds)
                .unwrap_or_else(|_| rules::default_for(circle.kind).rounds),
        },
        None => rules::default_for(circle.kind),
    })
}

/// Build `session`'s agenda from its RSVPs now; returns the rounds and the first speaker.
pub async fn build(
    conn: &mut AsyncPgConnection,
    session: &Session,
    template: &Template,
) -> diesel::QueryResult<(Vec<Round>, Option<MemberId>)> {
    let coming = agendas::coming(conn, session.id).await?;
    let history =
        agendas::first_speakers(conn, session.circle_id, session.starts_at, HISTORY).await?;
    let attendees: Vec<Attendee> = coming
        .iter()
        .map(|c| Attendee {
            member: c.member_id,
            newcomer: c.newcomer,
        })
        .collect();
    let order = rules::speaking_order(
        &attendees,
        session.facilitator_id,
        &history,
        speaking_order_seed(session.circle_id) as u64,
        session.id,
    );
    let speakers: Vec<Speaker> = order
        .iter()
        .filter_map(|m| coming.iter().find(|c| c.member_id == *m))
        .map(|c| Speaker {
            member_id: c.member_id,
            display_name: c.display_name.clone(),
        })
        .collect();
    let mut steps = template.rounds.clone();
    let revisit = agendas::open_rounds(conn, session.circle_id).await?;
    if !revisit.is_empty() {
        let prompt = format!("Revisit agreements: {}", revisit.join("; "));
        match steps.iter_mut().find(|s| s.kind == AgendaStep::Consent) {
            Some(step) => step.prompt = format!("{} ({prompt})", step.prompt),
            None => {
                let at = steps
                    .iter()
                    .position(|s| s.kind == AgendaStep::CheckOut)
                    .unwrap_or(steps.len());
                steps.insert(
                    at,
                    TemplateRound {
                        kind: AgendaStep::Consent,
                        prompt,
                        minutes: 10,
                    },
                );
            }
        }
    }
    let rounds = steps
        .into_iter()
        .map(|s| Round {
            per_speaker_seconds: rules::per_speaker_seconds(s.minutes, speakers.len()),
            kind: s.kind,
            prompt: s.prompt,
            minutes: s.minutes,
            order: speakers.clone(),
        })
        .collect();
    Ok((rounds, order.first().copied()))
}

/// The session's agenda: frozen if it was, else built from the RSVPs as they stand; `None`
/// when the circle does not run talking-piece rounds.
pub async fn for_session(
    conn: &mut AsyncPgConnection,
    session: &Session,
    circle: &Circle,
) -> diesel::QueryResult<Option<SessionAgenda>> {
    let template = template_of(conn, circle).await?;
    if let Some(frozen) = agendas::frozen(conn, session.id).await? {
        return Ok(Some(SessionAgenda {
            enabled: template.enabled,
            rounds: serde_json::from_value(frozen.rounds).unwrap_or_default(),
            frozen: true,
            seed: frozen.seed,
        }));
    }
    if !template.enabled {
        return Ok(None);
    }
    let (rounds, _) = build(conn, session, &template).await?;
    Ok(Some(SessionAgenda {
        enabled: true,
        rounds,
        frozen: false,
        seed: speaking_order_seed(circle.id),
    }))
}

/// "Check-in, 10 min, 2:30 each: Ana, Bo, Cy" for mail and calendar entries.
pub fn lines(agenda: &SessionAgenda) -> Vec<String> {
    agenda
        .rounds
        .iter()
        .map(|r| {
            let names: Vec<&str> = r.order.iter().map(|s| s.display_name.as_str()).collect();
            let each = r
                .per_speaker_seconds
                .map(|s| format!(", {}:{:02} each", s / 60, s % 60))
                .unwrap_or_default();
            let who = if names.is_empty() {
                "nobody has said yes yet".to_string()
            } else {
                names.join(" → ")
            };
            format!("{} ({} min{each}): {who}", step_name(r.kind), r.minutes)
        })
        .collect()
}

pub fn step_name(kind: AgendaStep) -> &'static str {
    match kind {
        AgendaStep::CheckIn => "Check-in",
        AgendaStep::Reading => "Reading and discussion",
        AgendaStep::Open => "Open round",
        AgendaStep::Consent => "Agreements",
        AgendaStep::CheckOut => "Check-out",
    }
}
