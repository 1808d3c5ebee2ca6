//! Any circle name, description, place or person's name written into a calendar entry: the
//! entry is well-formed RFC 5545 (one PRODID, CRLF lines of at most 75 octets, folded without
//! splitting a character) and reading it back by the grammar gives the same text, less the
//! control characters the format forbids and whitespace at either end.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use roundtable::email::ics::{calendar, parameter, CalendarEvent, Method};

/// One content line (RFC 5545 §3.1), read strictly: name, parameters (quoted-string or
/// paramtext), value.
struct Line<'a> {
    name: &'a str,
    params: Vec<(&'a str, &'a str)>,
    value: &'a str,
}

fn read_line(line: &str) -> Line<'_> {
    let end = line.find([';', ':']).expect("a name");
    let name = &line[..end];
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{line:?}"
    );
    let mut rest = &line[end..];
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let (key, after) = after.split_once('=').expect("a parameter");
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let (value, after) = quoted.split_once('"').expect("closing quote");
                (value, after)
            }
            None => {
                let end = after.find([';', ':']).expect("a value after parameters");
                let value = &after[..end];
                assert!(!value.contains([',', '"']), "{line:?}");
                (value, &after[end..])
            }
        };
        assert!(
            !value.chars().any(|c| c == '"' || c.is_control()),
            "{line:?}"
        );
        params.push((key, value));
        rest = after;
    }
    let value = rest.strip_prefix(':').expect("a colon before the value");
    Line {
        name,
        params,
        value,
    }
}

/// RFC 5545 §3.3.11 TEXT unescaping; an unescaped `,` or `;` would split the value.
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(c @ ('\\' | ',' | ';')) => out.push(c),
                other => panic!("bad escape {other:?} in {value:?}"),
            },
            ',' | ';' => panic!("unescaped {c:?} in {value:?}"),
            c => {
                assert!(c == '\t' || !c.is_control(), "control in {value:?}");
                out.push(c);
            }
        }
    }
    out
}

/// What a TEXT value should read as: any line break is a newline, other controls are gone,
/// and so is whitespace at either end of what remains.
fn expected(input: &str) -> String {
    let mut out = String::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\u{1f}');
    let mut next = || fields.next().unwrap_or_default().to_string();
    let (summary, description, location, organiser) = (next(), next(), next(), next());
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("valid time");
    let event = CalendarEvent {
        uid: "session-fuzz@roundtable.example".into(),
        sequence: 1,
        starts_at: start,
        ends_at: start + chrono::Duration::hours(2),
        summary: summary.clone(),
        description: description.clone(),
        location: Some(location.clone()),
        url: None,
        organiser_name: organiser.clone(),
        organiser_email: "circles@roundtable.example".into(),
        attendee: Some(("Ada".into(), "ada@example.org".into())),
        cancelled: false,
    };
    let ics = calendar(Method::Request, &[event], start);

    assert!(ics.ends_with("\r\n"), "{ics:?}");
    for line in ics.split_terminator("\r\n") {
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
        assert!(!line.contains(['\r', '\n']), "bare line break in {line:?}");
    }
    let unfolded = ics.replace("\r\n ", "");
    let lines: Vec<Line> = unfolded.split_terminator("\r\n").map(read_line).collect();
    let one = |name: &str| {
        let found: Vec<&Line> = lines.iter().filter(|l| l.name == name).collect();
        assert_eq!(found.len(), 1, "{name} in {ics:?}");
        found[0]
    };
    one("PRODID");
    assert_eq!(unescape(one("SUMMARY").value), expected(&summary));
    assert_eq!(unescape(one("DESCRIPTION").value), expected(&description));
    assert_eq!(unescape(one("LOCATION").value), expected(&location));
    let organiser_line = one("ORGANIZER");
    assert_eq!(
        organiser_line.params,
        vec![("CN", parameter(&organiser).as_str())]
    );
    assert_eq!(organiser_line.value, "mailto:circles@roundtable.example");
});
