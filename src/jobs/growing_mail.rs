//! What the growing messages say: the ask to lead a sibling, the seat someone was moved to,
//! and the organisers' notice of how a proposal ended. Each is a letter (see
//! `templates/email/letter.*`), and each is dropped when it no longer holds: an ask that
//! moved on, a seat given up.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;

use super::queue::JobError;
use crate::db::growing::{self, Proposal};
use crate::db::{circles, members};
use crate::domain::{MemberId, ProposalState};
use crate::email::messages::{LetterView, MessageKind};
use crate::email::when::describe_moment;
use crate::links::{Holder, Links};
use crate::views::growing as views;

/// The letter and its button's link, or `None` when the message is no longer wanted.
#[allow(clippy::too_many_arguments)]
pub async fn letter(
    conn: &mut AsyncPgConnection,
    kind: MessageKind,
    proposal: &Proposal,
    member: &members::Member,
    holder: Holder,
    links: &Links,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Option<(LetterView, String)>, JobError> {
    let Some(circle) = circles::find(conn, proposal.circle_id).await? else {
        return Ok(None);
    };
    let name = &proposal.name;
    let original = &circle.name;
    let view = match kind {
        MessageKind::GrowAsk => {
            let asked = proposal.asked_member_id == Some(member.id);
            let Some(answer_by) = proposal.answer_by.filter(|_| asked) else {
                return Ok(None);
            };
            if proposal.state != ProposalState::Asking {
                return Ok(None);
            }
            let waiting = crate::db::memberships::waitlist_length(conn, circle.id).await?;
            let dates = views::coming_dates(conn, proposal.circle_id, zone, now).await?;
            let reads = views::reading_titles(conn, proposal.circle_id).await?;
            let led = crate::db::roles::held(conn, circle.id, Some(member.id), now)
                .await?
                .into_iter()
                .find(|h| h.role_key == crate::db::roles::FACILITATOR)
                .map_or(0, |h| h.count);
            let mut lines = vec![
                format!(
                    "{original} is full and {waiting} {} waiting for a seat. A sibling circle, {name}, would give them one: the same kind of circle, with the same readings and the same dates.",
                    if waiting == 1 { "person is" } else { "people are" }
                ),
                format!(
                    "You have led {original} {led} times, so you are one of the people who could lead it, and it's your turn to be asked."
                ),
                format!(
                    "If you accept, {name} is created with you as its lead, the people waiting move to it and are told, and your own seat in {original} stays yours. When you accept you can move {name} to another day or time, so you can keep coming to {original}."
                ),
            ];
            if !reads.is_empty() {
                lines.push(format!("Readings: {}.", reads.join("; ")));
            }
            let after = vec![format!(
                "Answer by {}. If you say not now, or don't answer by then, the next person who has led {original} is asked. Nobody in the circle is told who passed; only the organisers can see it.",
                describe_moment(answer_by, zone)
            )];
            (
                LetterView {
                    subject: format!("Would you lead {name}? ({original})"),
                    lines,
                    quote: dates,
                    after,
                    action: Some("Accept, or say not now".into()),
                },
                links.grow(holder, proposal.id.0, answer_by),
            )
        }
        MessageKind::GrowMoved => {
            let Some(sibling) = proposal.sibling_id else {
                return Ok(None);
            };
            let moves = growing::moves(conn, proposal.id).await?;
            let Some((_, place)) = moves.iter().find(|(m, _)| *m == member.id) else {
                return Ok(None);
            };
            let lead = lead_name(conn, proposal).await?;
            let dates = views::coming_dates(conn, sibling, zone, now).await?;
            let reads = views::reading_titles(conn, sibling).await?;
            let mut lines = vec![
                format!(
                    "{original} is full, so {lead} is leading a sibling circle, {name}, for the people waiting. You were number {place} on the waitlist, and you now have a seat in {name}."
                ),
                if dates.is_empty() {
                    "It has no sessions scheduled yet; an invitation with a calendar entry comes for each one once they are.".to_string()
                } else {
                    "Its sessions are below; an invitation with a calendar entry follows for each, so you can answer yes or no to each one.".to_string()
                },
            ];
            if !reads.is_empty() {
                lines.push(format!(
                    "It reads what {original} reads: {}.",
                    reads.join("; ")
                ));
            }
            let after = vec![
                format!(
                    "Your place on {original}'s waitlist went to this seat. If {name} isn't for you, leave it from your page: until you have been to one of its sessions, leaving puts you back on {original}'s waitlist, at your old place."
                ),
                format!(
                    "{lead} sees your name on {name}'s members; your email address only once you have come to one of its sessions."
                ),
            ];
            (
                LetterView {
                    subject: format!("A seat for you in {name}"),
                    lines,
                    quote: dates,
                    after,
                    action: Some("Open your page".into()),
                },
                links.me(holder, now),
            )
        }
        MessageKind::GrowNotice => {
            let (subject, line) = match proposal.state {
                ProposalState::Accepted => {
                    let lead = lead_name(conn, proposal).await?;
                    (
                        format!("{lead} will lead {name} ({original})"),
                        format!(
                            "{lead} accepted to lead {name}, a sibling of {original}. {} {} moved from the waitlist and {} told.",
                            proposal.moved,
                            if proposal.moved == 1 { "person" } else { "people" },
                            if proposal.moved == 1 { "was" } else { "were" },
                        ),
                    )
                }
                ProposalState::Unled => (
                    format!("Nobody could take on {name} ({original})"),
                    format!(
                        "Everyone who has led {original} often enough was asked to lead {name}, and nobody could take it on now. The waitlist stays as it is; you can start a sibling again from the circle's page."
                    ),
                ),
                _ => return Ok(None),
            };
            (
                LetterView {
                    subject,
                    lines: vec![line],
                    quote: Vec::new(),
                    after: Vec::new(),
                    action: Some("See the circle".into()),
                },
                format!("{}/dashboard/circles/{}", links.base(), circle.id),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(view))
}

async fn lead_name(conn: &mut AsyncPgConnection, proposal: &Proposal) -> Result<String, JobError> {
    let lead: Option<MemberId> = proposal.asked_member_id;
    Ok(match lead {
        Some(m) => members::find(conn, m).await?.map(|m| m.display_name),
        None => None,
    }
    .unwrap_or_else(|| "a member".into()))
}
