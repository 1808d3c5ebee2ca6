//! IANA time zones, the frame in which a circle's sessions are scheduled.

use std::io::Write;

use chrono_tz::Tz;
use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Text;

use super::Invalid;

/// Stored as its IANA name in a `text` column and written in JSON as that name, so rows
/// carry a zone that is known to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow, utoipa::ToSchema)]
#[diesel(sql_type = Text)]
#[schema(value_type = String, example = "Europe/London")]
pub struct Timezone(#[schema(inline)] Tz);

impl ToSql<Text, Pg> for Timezone {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        out.write_all(self.name().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for Timezone {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Timezone::parse(&name).map_err(|e| e.message.into())
    }
}

impl serde::Serialize for Timezone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::fmt::Display for Timezone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Timezone {
    /// Accepts IANA names such as `Europe/London` or `America/Sao_Paulo`.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        s.parse::<Tz>().map(Self).map_err(|_| {
            Invalid::new(
                "timezone",
                format!("`{s}` is not an IANA time zone such as Europe/London"),
            )
        })
    }

    pub const UTC: Timezone = Timezone(chrono_tz::UTC);

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The zones offered in a list, by name: the current regional IANA names (Europe/London,
/// America/New_York, ...) and UTC, leaving out the old aliases (US/Eastern, GB, Etc/GMT+5)
/// that `parse` still accepts.
pub fn choices() -> &'static [&'static str] {
    static CHOICES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    CHOICES.get_or_init(|| {
        const REGIONS: &[&str] = &[
            "Africa/",
            "America/",
            "Antarctica/",
            "Asia/",
            "Atlantic/",
            "Australia/",
            "Europe/",
            "Indian/",
            "Pacific/",
        ];
        let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|n| REGIONS.iter().any(|r| n.starts_with(r)))
            .collect();
        names.sort_unstable();
        names.insert(0, "UTC");
        names
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_parse_and_others_do_not() {
        assert_eq!(
            Timezone::parse("Australia/Lord_Howe").unwrap().name(),
            "Australia/Lord_Howe"
        );
        assert!(Timezone::parse("UTC").is_ok());
        for bad in ["", "Mars/Olympus", "GMT+25", "europe/london "] {
            assert!(Timezone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_list_offers_regional_names_and_utc_and_each_parses() {
        let list = choices();
        assert_eq!(list[0], "UTC");
        assert!(list.contains(&"Europe/London") && list.contains(&"America/Sao_Paulo"));
        assert!(!list.contains(&"US/Eastern") && !list.contains(&"Etc/GMT+5"));
        assert!(list.iter().all(|n| Timezone::parse(n).is_ok()));
        assert!(list.len() > 300, "{}", list.len());
    }
}
