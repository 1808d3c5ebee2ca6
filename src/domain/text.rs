//! Text people type into forms. Browsers submit line breaks as CRLF; Roundtable stores LF
//! only, so a blank line means the same thing whoever typed it.

use super::Invalid;

/// Text typed into a box of several lines, as Roundtable keeps it: line breaks as LF and
/// surrounding whitespace trimmed. Line breaks and tabs are welcome; NUL and every other
/// control character are refused (nobody types them, and the database cannot store NUL).
pub fn lines(field: &'static str, input: &str) -> Result<String, Invalid> {
    let text = normalise_newlines(input.trim());
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Invalid::new(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(text)
}

/// Text typed into a one-line box (a name, a title), trimmed. Every control character is
/// refused, line breaks and tabs included.
pub fn line(field: &'static str, input: &str) -> Result<String, Invalid> {
    let text = input.trim();
    if text.chars().any(char::is_control) {
        return Err(Invalid::new(
            field,
            "must be one line, without control characters",
        ));
    }
    Ok(text.to_string())
}

/// What a refused box held, to show it again for correcting: line breaks normalised and
/// control characters other than line breaks and tabs left out.
pub fn shown_again(input: &str) -> String {
    normalise_newlines(input)
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// `text` with every CRLF and lone CR turned into LF.
pub fn normalise_newlines(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_string();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The paragraphs of a text: blank lines (with or without spaces on them) separate them,
/// and single line breaks stay inside a paragraph.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line.trim_end());
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n"));
    }
    out
}

/// The possessive of a name, as text built around it reads: "Ada's", "Thursday Readers'",
/// "JAMES'". A name that already ends in a possessive ("Nando's") stays as it is, so
/// "Nando's waitlist" does not become "Nando's's" or "Nando's'".
pub fn possessive(name: &str) -> String {
    let name = name.trim_end();
    let already = ["'s", "'S", "\u{2019}s", "\u{2019}S"];
    if already.iter().any(|end| name.ends_with(end)) {
        name.to_string()
    } else if name.ends_with(['s', 'S']) {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

/// "1 of 7 has answered", "3 of 7 have answered", "nobody of 7 has answered yet": a count
/// of answers as a person says it.
pub fn answered_of(answered: i64, of: i64) -> String {
    match answered {
        0 => format!("Nobody of {of} has answered yet"),
        1 => format!("1 of {of} has answered"),
        n => format!("{n} of {of} have answered"),
    }
}

/// "Ada", "Ada and Bo", "Ada, Bo and Cy": names (or anything) listed as a sentence says them.
pub fn listed<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => format!(
            "{} and {}",
            rest.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// Where a role slot stands, in the words of whoever reads it: an organiser reading the rota
/// or a session ("asked, no answer yet"), or the person it is about ("waiting for your
/// answer"). Every page and letter that says where a turn stands says it with these.
pub fn role_state(state: super::RoleState, to_holder: bool) -> &'static str {
    use super::RoleState;
    match (state, to_holder) {
        (RoleState::Confirmed, false) => "confirmed",
        (RoleState::Confirmed, true) => "you accepted",
        (RoleState::Asked, false) => "asked, no answer yet",
        (RoleState::Asked, true) => "waiting for your answer",
        (RoleState::Proposed, false) => "proposed, to be asked nearer the time",
        (RoleState::Proposed, true) => "proposed; you will be asked nearer the time",
        (RoleState::Declined, _) => "declined, so open",
        (RoleState::Open, _) => "open: nobody holds it",
    }
}

/// What a balance figure (1: turns spread evenly over the members) means, in words.
pub fn balance_in_words(balance: f64) -> &'static str {
    if balance >= 0.9 {
        "turns are shared evenly"
    } else if balance >= 0.7 {
        "turns are shared fairly evenly; a few people hold a few more"
    } else if balance >= 0.4 {
        "turns are shared unevenly: some people hold many more than others"
    } else {
        "a few people hold almost every turn"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_a_sentence() {
        assert_eq!(listed::<&str>(&[]), "");
        assert_eq!(listed(&["Ada"]), "Ada");
        assert_eq!(listed(&["Ada", "Bo"]), "Ada and Bo");
        assert_eq!(listed(&["Ada", "Bo", "Cy"]), "Ada, Bo and Cy");
    }

    #[test]
    fn counts_and_balance_read_as_words() {
        assert_eq!(answered_of(0, 7), "Nobody of 7 has answered yet");
        assert_eq!(answered_of(1, 7), "1 of 7 has answered");
        assert_eq!(answered_of(3, 7), "3 of 7 have answered");
        assert_eq!(balance_in_words(1.0), "turns are shared evenly");
        assert_eq!(
            balance_in_words(0.5),
            "turns are shared unevenly: some people hold many more than others"
        );
        assert_eq!(balance_in_words(0.1), "a few people hold almost every turn");
    }

    #[test]
    fn text_boxes_refuse_nul_and_one_line_boxes_refuse_every_control_character() {
        assert_eq!(lines("body", " a\r\n\tb ").unwrap(), "a\n\tb");
        assert_eq!(lines("body", "a\u{0}b").unwrap_err().field, "body");
        assert!(lines("body", "a\u{1b}[31m").is_err());
        assert!(lines("body", "a\u{7f}").is_err());
        assert_eq!(line("name", "  Small Room  ").unwrap(), "Small Room");
        for bad in ["a\u{0}", "a\nb", "a\tb", "a\u{85}b"] {
            assert_eq!(line("name", bad).unwrap_err().field, "name", "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn nothing_kept_holds_a_nul(s in "\\PC{0,40}[\\x00-\\x1f]?\\PC{0,40}") {
            if let Ok(kept) = lines("body", &s) {
                proptest::prop_assert!(!kept.contains('\0'));
            }
            if let Ok(kept) = line("name", &s) {
                proptest::prop_assert!(!kept.chars().any(char::is_control));
            }
        }
    }

    #[test]
    fn browser_line_breaks_become_plain_newlines() {
        assert_eq!(normalise_newlines("a\r\n\r\nb\rc\n"), "a\n\nb\nc\n");
        assert_eq!(normalise_newlines("plain"), "plain");
    }

    #[test]
    fn blank_lines_start_paragraphs_whoever_typed_them() {
        let typed = "First line.\r\nStill first.\r\n \r\n\r\nSecond.";
        assert_eq!(
            paragraphs(&normalise_newlines(typed)),
            vec![
                "First line.\nStill first.".to_string(),
                "Second.".to_string()
            ]
        );
        assert!(paragraphs("  \n\n").is_empty());
    }

    #[test]
    fn a_possessive_adds_only_an_apostrophe_after_an_s() {
        assert_eq!(possessive("Ada"), "Ada's");
        assert_eq!(possessive("Small Room II"), "Small Room II's");
        assert_eq!(possessive("Thursday Readers"), "Thursday Readers'");
        assert_eq!(possessive("JAMES"), "JAMES'");
        assert_eq!(possessive("Chris "), "Chris'");
        assert_eq!(possessive("Nando's"), "Nando's");
        assert_eq!(possessive("Nando\u{2019}s"), "Nando\u{2019}s");
        assert_eq!(possessive("Liz"), "Liz's");
        assert_eq!(possessive("Readers!"), "Readers!'s");
    }
}
