//! Adding many people at once, from pasted addresses or a CSV file (`email`, optional
//! `display_name` and `role` columns). Each person is vouched for: active or waitlisted at
//! once, with a welcome email. The dashboard and `roundtable import members` share this.

use crate::actions::membership::AddOutcome;
use crate::db::Connection;
use crate::domain::{CircleId, DisplayName, EmailAddress, MembershipRole, MembershipState};
use crate::error::AppError;

/// The most rows one import takes.
pub const MAX_ROWS: usize = 5_000;

#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    pub email: String,
    pub display_name: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub added: usize,
    pub waitlisted: usize,
    pub already: usize,
    pub skipped: Vec<(usize, String)>,
}

impl Summary {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} added, {} of them waitlisted; {} already in the circle; {} skipped",
            self.added,
            self.waitlisted,
            self.already,
            self.skipped.len()
        );
        for (line, reason) in self.skipped.iter().take(20) {
            s.push_str(&format!("\n  line {line}: {reason}"));
        }
        s
    }
}

/// Rows from a CSV with a header naming at least `email`.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("the file is not CSV: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let email = col("email").ok_or("the first line must name the columns, including `email`")?;
    let name = col("display_name").or_else(|| col("name"));
    let role = col("role");
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("line {}: {e}", i + 2))?;
        if rows.len() >= MAX_ROWS {
            return Err(format!("at most {MAX_ROWS} rows at a time"));
        }
        let field = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        rows.push(Row {
            line: i + 2,
            email: record.get(email).unwrap_or("").to_string(),
            display_name: field(name),
            role: field(role),
        });
    }
    Ok(rows)
}

/// Rows from pasted text: one person a line, `Name <address>` or just the address.
pub fn parse_pasted(text: &str) -> Vec<Row> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(MAX_ROWS)
        .map(|(i, l)| {
            let l = l.trim().trim_end_matches(',');
            let (name, email) = match (l.rfind('<'), l.rfind('>')) {
                (Some(a), Some(b)) if a < b => (
                    Some(l[..a].trim().trim_matches('"').to_string()).filter(|n| !n.is_empty()),
                    l[a + 1..b].to_string(),
                ),
                _ => (None, l.to_string()),
            };
            Row {
                line: i + 1,
                email,
                display_name: name,
                role: None,
            }
        })
        .collect()
}

/// Add every row, reporting progress after each; bad rows are skipped with a reason.
pub async fn import(
    conn: &mut Connection,
    circle: CircleId,
    rows: &[Row],
    mut progress: impl FnMut(usize),
) -> Result<Summary, AppError> {
    let mut summary = Summary::default();
    for (i, row) in rows.iter().enumerate() {
        progress(i + 1);
        let email = match EmailAddress::parse(&row.email) {
            Ok(e) => e,
            Err(e) => {
                summary
                    .skipped
                    .push((row.line, format!("email {}", e.message)));
                continue;
            }
        };
        let name = row.display_name.clone().unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or("member")
                .to_string()
        });
        let name = match DisplayName::parse(&name) {
            Ok(n) => n,
            Err(e) => {
                summary
                    .skipped
                    .push((row.line, format!("name {}", e.message)));
                continue;
            }
        };
        let role = match row.role.as_deref() {
            None => MembershipRole::Member,
            Some(r) => match MembershipRole::parse(r, "role") {
                Ok(r) => r,
                Err(e) => {
                    summary
                        .skipped
                        .push((row.line, format!("role {}", e.message)));
                    continue;
                }
            },
        };
        let AddOutcome {
            membership,
            changed,
        } = crate::actions::membership::add_vouched(conn, circle, &email, &name, role).await?;
        if !changed {
            summary.already += 1;
        } else {
            summary.added += 1;
            if membership.state == MembershipState::Waitlisted {
                summary.waitlisted += 1;
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_needs_an_email_column_and_keeps_line_numbers() {
        let rows = parse_csv(
            b"display_name,email,role\nAda,ada@example.org,facilitator\nBo, bo@example.org ,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].role.as_deref(), Some("facilitator"));
        assert_eq!(rows[1].email, "bo@example.org");
        assert_eq!(rows[1].line, 3);
        assert!(parse_csv(b"name\nAda\n").is_err());
    }

    #[test]
    fn pasted_lines_take_names_in_angle_brackets() {
        let rows = parse_pasted(
            "Ada Lovelace <ada@example.org>\n\n bo@example.org,\n\"Cy\" <cy@example.org>",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(rows[1].email, "bo@example.org");
        assert_eq!(rows[2].display_name.as_deref(), Some("Cy"));
    }
}
