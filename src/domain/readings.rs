//! A reading as the API and the dashboard take it, parsed once into a valid new reading.

use serde::Deserialize;

use crate::domain::Invalid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingCreate {
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    pub isbn: Option<String>,
    pub notes: Option<String>,
}

/// A valid new reading, ready to append to a circle's list.
#[derive(Debug, Clone)]
pub struct NewReading {
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    pub isbn: Option<String>,
    pub notes: Option<String>,
}

fn optional_text(
    v: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, Invalid> {
    let v = v
        .map(|s| crate::domain::text::lines(field, &s))
        .transpose()?
        .filter(|s| !s.is_empty());
    if v.as_ref().is_some_and(|s| s.chars().count() > max) {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

impl ReadingCreate {
    pub fn parse(self) -> Result<NewReading, Invalid> {
        let title = crate::domain::text::line("title", &self.title)?;
        if title.is_empty() || title.chars().count() > 300 {
            return Err(Invalid::new("title", "must be 1 to 300 characters"));
        }
        let url = optional_text(self.url, "url", 2000)?;
        if url
            .as_ref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(Invalid::new("url", "must start with http:// or https://"));
        }
        let isbn = optional_text(self.isbn, "isbn", 20)?;
        if isbn.as_ref().is_some_and(|i| {
            !i.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == 'X')
        }) {
            return Err(Invalid::new("isbn", "may hold only digits, hyphens and X"));
        }
        Ok(NewReading {
            title,
            author: optional_text(self.author, "author", 300)?,
            url,
            isbn,
            notes: optional_text(self.notes, "notes", 10_000)?,
        })
    }
}
