//! RFC 5545 calendar entries for session email and the member's feed. Times are written in
//! UTC (`…Z`) so no VTIMEZONE block is needed; the UID is stable per session and SEQUENCE
//! follows the session's `ics_sequence`, so calendar clients replace rather than duplicate.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

/// METHOD of a calendar part: a new or changed invitation, or a cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
    /// A subscribed feed (no iTIP method).
    Publish,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
            Self::Publish => "PUBLISH",
        }
    }
}

/// One session as a calendar event, for one attendee (never anyone else's address).
#[derive(Debug, Clone)]
pub struct CalendarEvent {
    pub uid: String,
    pub sequence: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
    pub url: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub attendee: Option<(String, String)>,
    pub cancelled: bool,
}

/// The stable UID of a session's calendar entry.
pub fn session_uid(session_id: uuid::Uuid, host: &str) -> String {
    format!("session-{session_id}@{host}")
}

pub fn calendar(method: Method, events: &[CalendarEvent], stamp: DateTime<Utc>) -> String {
    let mut cal = Calendar::new();
    cal.append_property(Property::new("PRODID", "-//Roundtable//Circles//EN"));
    cal.append_property(Property::new("METHOD", method.as_str()));
    for e in events {
        let mut event = Event::new();
        event
            .uid(&e.uid)
            .sequence(e.sequence)
            .timestamp(stamp)
            .starts(e.starts_at)
            .ends(e.ends_at)
            .summary(&e.summary)
            .description(&e.description);
        if let Some(location) = &e.location {
            event.location(location);
        }
        if let Some(url) = &e.url {
            event.url(url);
        }
        let mut organizer = Property::new("ORGANIZER", format!("mailto:{}", e.organizer_email));
        organizer.add_parameter("CN", &e.organizer_name);
        event.append_property(organizer);
        if let Some((name, email)) = &e.attendee {
            let mut attendee = Property::new("ATTENDEE", format!("mailto:{email}"));
            attendee
                .add_parameter("CN", name)
                .add_parameter("ROLE", "REQ-PARTICIPANT")
                .add_parameter("RSVP", "FALSE");
            event.append_multi_property(attendee);
        }
        if e.cancelled {
            event.status(EventStatus::Cancelled);
        } else {
            event.status(EventStatus::Confirmed);
        }
        cal.push(event.done());
    }
    cal.to_string()
}
