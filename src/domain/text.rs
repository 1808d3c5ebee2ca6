//! Text people type into forms. Browsers submit line breaks as CRLF; Roundtable stores LF
//! only, so a blank line means the same thing whoever typed it.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
