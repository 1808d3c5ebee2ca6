//! Names people give things: circle names, display names, slugs and seat counts.

use super::Invalid;

fn clean_text(input: &str, field: &'static str, max: usize) -> Result<String, Invalid> {
    let s = input.trim();
    if s.is_empty() {
        return Err(Invalid::new(field, "is required"));
    }
    if s.chars().count() > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(s.to_string())
}

/// A circle's name: 1 to 120 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircleName(String);

impl CircleName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        clean_text(input, "name", 120).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a member is shown to others: 1 to 100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        clean_text(input, "display_name", 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The circle's address in URLs: lowercase letters and digits in hyphen-separated words.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
    utoipa::ToSchema,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[schema(value_type = String, example = "slow-reading")]
pub struct Slug(String);

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for Slug {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
            self.0.as_str(),
            &mut out.reborrow(),
        )
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for Slug {
    fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = <String as diesel::deserialize::FromSql<
            diesel::sql_types::Text,
            diesel::pg::Pg,
        >>::from_sql(bytes)?;
        Slug::parse(&text).map_err(|e| e.message.into())
    }
}

impl serde::Serialize for Slug {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MAX_SLUG_LEN: usize = 60;

impl Slug {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        let words_ok = !s.is_empty()
            && s.split('-').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if !words_ok {
            return Err(Invalid::new(
                "slug",
                "must be lowercase letters and digits separated by single hyphens",
            ));
        }
        if s.len() > MAX_SLUG_LEN {
            return Err(Invalid::new(
                "slug",
                format!("must be at most {MAX_SLUG_LEN} characters"),
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// A slug made from a name: "Reading *Braiding Sweetgrass*!" → "reading-braiding-sweetgrass".
    pub fn from_name(name: &CircleName) -> Self {
        let mut out = String::new();
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            let c = fold_accent(c);
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.truncate(MAX_SLUG_LEN);
        let trimmed = out.trim_end_matches('-');
        if trimmed.is_empty() {
            Self("circle".into())
        } else {
            Self(trimmed.to_string())
        }
    }

    /// The same slug with a numeric suffix, still within the length limit.
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let mut base = self.0.clone();
        base.truncate(MAX_SLUG_LEN - suffix.len());
        Self(format!("{}{suffix}", base.trim_end_matches('-')))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// How many active members a circle seats: 1 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity(i32);

impl Capacity {
    pub const MAX: i64 = 10_000;

    pub fn parse(n: i64) -> Result<Self, Invalid> {
        if n < 1 {
            return Err(Invalid::new(
                "capacity",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if n > Self::MAX {
            return Err(Invalid::new(
                "capacity",
                format!("must be at most {}", Self::MAX),
            ));
        }
        Ok(Self(n as i32))
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(CircleName::parse("  Dune  ").unwrap().as_str(), "Dune");
        assert!(CircleName::parse("   ").is_err());
        assert!(CircleName::parse(&"x".repeat(121)).is_err());
        assert!(CircleName::parse("bad\u{0}name").is_err());
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn slugs_from_names() {
        let slug = |s: &str| {
            Slug::from_name(&CircleName::parse(s).unwrap())
                .as_str()
                .to_string()
        };
        assert_eq!(
            slug("Reading *Braiding Sweetgrass*!"),
            "reading-braiding-sweetgrass"
        );
        assert_eq!(slug("Café Philosophique"), "cafe-philosophique");
        assert_eq!(slug("日本語"), "circle");
        assert_eq!(
            Slug::parse("book-club-2").unwrap().with_suffix(3).as_str(),
            "book-club-2-3"
        );
    }

    #[test]
    fn slug_parse_refuses_odd_shapes() {
        for bad in ["", "Caps", "a--b", "-a", "a-", "a b", "ünï"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert!(Slug::parse(&"a".repeat(61)).is_err());
    }

    #[test]
    fn capacity_bounds() {
        assert!(Capacity::parse(0).is_err());
        assert!(Capacity::parse(-3).is_err());
        assert_eq!(Capacity::parse(12).unwrap().get(), 12);
        assert!(Capacity::parse(10_001).is_err());
    }

    proptest! {
        #[test]
        fn derived_slugs_always_parse(name in "\\PC{1,200}") {
            if let Ok(name) = CircleName::parse(&name) {
                let slug = Slug::from_name(&name);
                prop_assert!(Slug::parse(slug.as_str()).is_ok(), "{:?}", slug);
                prop_assert!(Slug::parse(slug.with_suffix(12345).as_str()).is_ok());
            }
        }
    }
}
