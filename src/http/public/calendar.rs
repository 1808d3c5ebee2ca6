//! The member's subscribable calendar: their circles' sessions from 30 days back onwards,
//! with the same UIDs as their invitations; cancelled sessions are marked cancelled. A session
//! that reads part of a split reading says which part in its title and description.

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};

use super::{holder, PageError, PageResult};
use crate::db::{circles, readings, sessions};
use crate::domain::tokens::Purpose;
use crate::domain::SessionStatus;
use crate::email::ics::{self, CalendarEvent};
use crate::http::AppState;

pub async fn feed(state: web::Data<AppState>, token: web::Path<String>) -> PageResult {
    let token = token
        .strip_suffix(".ics")
        .ok_or_else(PageError::not_found)?;
    // Whether the link still works is read where it was revoked; the sessions may be a moment
    // old (the replica's, when one is configured).
    let (_, member) = {
        let mut conn = state.pool.get().await?;
        holder(&state, &mut conn, token, Purpose::Calendar).await?
    };
    let now = Utc::now();
    let (rows, names, labels) = state
        .reads
        .read(async |conn| {
            let rows = sessions::for_member(conn, member.id, now - Duration::days(30), 500).await?;
            let circle_ids: Vec<_> = rows.iter().map(|s| s.circle_id).collect();
            let names = circles::names(conn, &circle_ids).await?;
            let ids: Vec<_> = rows.iter().map(|s| s.id).collect();
            let labels: std::collections::HashMap<_, _> = readings::labels_for(conn, &ids)
                .await?
                .into_iter()
                .collect();
            Ok::<_, PageError>((rows, names, labels))
        })
        .await?;
    let links = &state.links;
    let from = &state.settings.email.from;
    let organiser_email = from
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or_default();
    let events: Vec<CalendarEvent> = rows
        .iter()
        .map(|s| {
            let (name, slug) = names
                .iter()
                .find(|(id, _, _)| *id == s.circle_id)
                .map(|(_, n, slug)| (n.clone(), slug.clone()))
                .unwrap_or_default();
            CalendarEvent {
                uid: ics::session_uid(s.id.0, links.host()),
                sequence: s.ics_sequence.max(0) as u32,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                summary: match labels.get(&s.id) {
                    Some(label) => format!("{name}: {label}"),
                    None => name,
                },
                description: labels
                    .get(&s.id)
                    .map(|label| format!("Reading: {label}"))
                    .unwrap_or_default(),
                location: s.location.clone(),
                url: Some(links.circle(&slug)),
                organiser_name: "Roundtable".into(),
                organiser_email: organiser_email.clone(),
                attendee: Some((member.display_name.clone(), member.email.clone())),
                cancelled: s.status == SessionStatus::Cancelled,
            }
        })
        .collect();
    let name = format!(
        "Roundtable: {} circles",
        crate::domain::text::possessive(&member.display_name)
    );
    let body = ics::feed(&name, &events, now);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(body))
}
