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
    pub organiser_name: String,
    pub organiser_email: String,
    pub attendee: Option<(String, String)>,
    pub cancelled: bool,
}

/// The stable UID of a session's calendar entry.
pub fn session_uid(session_id: uuid::Uuid, host: &str) -> String {
    format!("session-{session_id}@{host}")
}

/// Text as RFC 5545 allows it in a TEXT value: line breaks become LF (written as `\n`),
/// other control characters, which the format forbids, are dropped, and so is whitespace at
/// either end (calendar clients trim it when reading).
pub fn text(value: &str) -> String {
    let kept: String = value
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    kept.trim().to_string()
}

/// A person's name as a parameter value (`CN=`): parameters cannot hold double quotes or
/// control characters at all, so quotes become apostrophes and line breaks spaces.
pub fn parameter(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\r' | '\n' | '\t' => ' ',
            c => c,
        })
        .filter(|c| !c.is_control())
        .collect()
}

/// A calendar part for email (an invitation, update or cancellation).
pub fn calendar(method: Method, events: &[CalendarEvent], stamp: DateTime<Utc>) -> String {
    build(method, None, events, stamp)
}

/// A subscribable feed: named (RFC 7986 `NAME`, and `X-WR-CALNAME`, which Apple and Google
/// read), and asking to be fetched again every hour (`REFRESH-INTERVAL`, `X-PUBLISHED-TTL`).
pub fn feed(name: &str, events: &[CalendarEvent], stamp: DateTime<Utc>) -> String {
    build(Method::Publish, Some(name), events, stamp)
}

fn build(
    method: Method,
    name: Option<&str>,
    events: &[CalendarEvent],
    stamp: DateTime<Utc>,
) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", "-//Roundtable//Circles//EN"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", method.as_str()));
    if let Some(name) = name {
        let name = text(name);
        cal.append_property(Property::new("NAME", &name));
        cal.append_property(Property::new("X-WR-CALNAME", &name));
        let mut refresh = Property::new("REFRESH-INTERVAL", "PT1H");
        refresh.add_parameter("VALUE", "DURATION");
        cal.append_property(refresh);
        cal.append_property(Property::new("X-PUBLISHED-TTL", "PT1H"));
    }
    for e in events {
        let mut event = Event::new();
        event
            .uid(&e.uid)
            .sequence(e.sequence)
            .timestamp(stamp)
            .starts(e.starts_at)
            .ends(e.ends_at)
            .summary(&text(&e.summary))
            .description(&text(&e.description));
        if let Some(location) = &e.location {
            event.location(&text(location));
        }
        if let Some(url) = &e.url {
            event.url(url);
        }
        let mut organiser = Property::new("ORGANIZER", format!("mailto:{}", e.organiser_email));
        organiser.add_parameter("CN", &parameter(&e.organiser_name));
        event.append_property(organiser);
        if let Some((name, email)) = &e.attendee {
            let mut attendee = Property::new("ATTENDEE", format!("mailto:{email}"));
            attendee
                .add_parameter("CN", &parameter(name))
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
    fold(&cal.to_string())
}

/// Content lines of at most 75 octets (RFC 5545 §3.1), continued after CRLF and a space,
/// never splitting a character. `icalendar`'s own folding lets the last piece of a long line
/// reach 76 octets, so its output is unfolded and folded again here.
fn fold(calendar: &str) -> String {
    const LIMIT: usize = 75;
    let unfolded = calendar.replace("\r\n ", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 25);
    for line in unfolded.split_terminator("\r\n") {
        let mut rest = line;
        let mut room = LIMIT;
        while rest.len() > room {
            let mut cut = room;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&rest[..cut]);
            out.push_str("\r\n ");
            rest = &rest[cut..];
            room = LIMIT - 1;
        }
        out.push_str(rest);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(summary: &str, organiser: &str) -> CalendarEvent {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        CalendarEvent {
            uid: "session-1@roundtable.example".into(),
            sequence: 0,
            starts_at: start,
            ends_at: start + chrono::Duration::hours(1),
            summary: summary.into(),
            description: String::new(),
            location: None,
            url: None,
            organiser_name: organiser.into(),
            organiser_email: "circles@roundtable.example".into(),
            attendee: None,
            cancelled: false,
        }
    }

    #[test]
    fn long_lines_fold_at_75_octets_on_character_boundaries() {
        // Two-byte characters: icalendar alone wrote a last piece of 76 octets here.
        let summary = "é".repeat(100);
        let ics = calendar(Method::Request, &[event(&summary, "Ada")], Utc::now());
        for line in ics.split_terminator("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("\r\nSUMMARY:{summary}\r\n")));
    }

    #[test]
    fn a_feed_is_named_and_asks_to_be_refreshed_hourly() {
        let ics = feed(
            "Roundtable: Ada's circles",
            &[event("Week 1", "Ada")],
            Utc::now(),
        );
        for line in [
            "METHOD:PUBLISH",
            "NAME:Roundtable: Ada's circles",
            "X-WR-CALNAME:Roundtable: Ada's circles",
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            "X-PUBLISHED-TTL:PT1H",
        ] {
            assert!(ics.contains(&format!("\r\n{line}\r\n")), "{line} in {ics}");
        }
        let invitation = calendar(Method::Request, &[event("Week 1", "Ada")], Utc::now());
        assert!(
            !invitation.contains("NAME:"),
            "invitations carry no feed name"
        );
    }

    #[test]
    fn one_prodid_and_no_control_characters() {
        let ics = calendar(
            Method::Request,
            &[event(
                " Week 1\r\nChapter\u{c} 2 \u{1}",
                "Ada \"the\" Reader\n",
            )],
            Utc::now(),
        );
        assert_eq!(ics.matches("PRODID:").count(), 1, "{ics}");
        assert!(ics.contains("SUMMARY:Week 1\\nChapter 2\r\n"), "{ics}");
        assert!(
            ics.contains("ORGANIZER;CN=Ada 'the' Reader :mailto:"),
            "{ics}"
        );
    }
}
