//! CSV exports of a circle, the same from the dashboard and the command line. Every cell
//! goes through [`cell`]: names and addresses are typed by strangers on the public signup
//! form, and a spreadsheet would run one that starts like a formula.

use std::borrow::Cow;

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::db::circles::Circle;
use crate::db::schema::{members, rsvps, sessions};
use crate::db::{memberships, Connection};
use crate::domain::RsvpResponse;
use crate::error::{AppError, AppResult};

/// A cell as a spreadsheet will read it as text: one that begins with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP's rule for CSV injection).
pub fn cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// A CSV document written row by row, every cell neutralised.
struct Sheet(csv::Writer<Vec<u8>>);

impl Sheet {
    fn new(header: &[&str]) -> AppResult<Self> {
        let mut sheet = Self(csv::Writer::from_writer(Vec::new()));
        sheet.row(header.iter().copied())?;
        Ok(sheet)
    }

    fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> AppResult<()> {
        self.0
            .write_record(cells.into_iter().map(cell).map(|c| c.into_owned()))
            .map_err(|e| AppError::Internal(e.into()))
    }

    fn finish(self) -> AppResult<Vec<u8>> {
        self.0
            .into_inner()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
    }
}

/// Any table as CSV, every cell neutralised.
pub fn table_csv(header: &[&str], rows: &[Vec<String>]) -> AppResult<Vec<u8>> {
    let mut sheet = Sheet::new(header)?;
    for row in rows {
        sheet.row(row.iter().map(String::as_str))?;
    }
    sheet.finish()
}

/// Everyone on the circle's roster, any state; with `withhold`, without the addresses of
/// people moved in from a full circle who have not come to a session yet.
pub async fn members_csv(
    conn: &mut Connection,
    circle: &Circle,
    withhold: bool,
) -> AppResult<Vec<u8>> {
    let mut roster = memberships::roster(conn, circle.id, None, None, 100_000).await?;
    if withhold {
        memberships::withhold_addresses(conn, circle.id, &mut roster).await?;
    }
    let mut sheet = Sheet::new(&[
        "email",
        "display_name",
        "role",
        "state",
        "waitlist_position",
        "joined_at",
    ])?;
    for r in roster {
        let position = r
            .waitlist_position
            .map(|p| p.to_string())
            .unwrap_or_default();
        sheet.row([
            r.email.as_str(),
            r.display_name.as_str(),
            r.role.as_str(),
            r.state.as_str(),
            position.as_str(),
            r.joined_at.to_rfc3339().as_str(),
        ])?;
    }
    sheet.finish()
}

/// (session start, member, email, name, answer, attended)
type AttendanceRow = (
    chrono::DateTime<chrono::Utc>,
    crate::domain::MemberId,
    String,
    String,
    Option<RsvpResponse>,
    Option<bool>,
);

/// One row per session and member who answered or was marked, in the circle's local time;
/// with `withhold`, as [`members_csv`].
pub async fn attendance_csv(
    conn: &mut Connection,
    circle: &Circle,
    withhold: bool,
) -> AppResult<Vec<u8>> {
    let withheld = if withhold {
        memberships::addresses_withheld(conn, circle.id).await?
    } else {
        Default::default()
    };
    let rows: Vec<AttendanceRow> = rsvps::table
        .inner_join(sessions::table)
        .inner_join(members::table)
        .filter(sessions::circle_id.eq(circle.id))
        .order((sessions::starts_at, members::display_name))
        .select((
            sessions::starts_at,
            members::id,
            members::email,
            members::display_name,
            rsvps::response,
            rsvps::attended,
        ))
        .load(conn)
        .await?;
    let zone = circle.timezone.tz();
    let mut sheet = Sheet::new(&["session_local", "email", "display_name", "rsvp", "attended"])?;
    for (starts, member, email, name, response, attended) in rows {
        let email = if withheld.contains(&member) {
            String::new()
        } else {
            email
        };
        let local = starts
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        sheet.row([
            local.as_str(),
            email.as_str(),
            name.as_str(),
            response.map_or("", RsvpResponse::as_str),
            attended.map_or("", |a| if a { "yes" } else { "no" }),
        ])?;
    }
    sheet.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_become_text() {
        for risky in [
            "=HYPERLINK(\"http://evil.example/?x\",\"open\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(cell(risky), format!("'{risky}"), "{risky:?}");
        }
        for plain in ["Ada", "ada@example.org", "2027-03-04 19:00", "", "a=b"] {
            assert_eq!(cell(plain), plain);
        }
    }
}
