//! Bounded, cursor-based pages: `?limit=N&cursor=C` in, `{"items": [...], "next_cursor": ...}` out.
//! A cursor is an opaque base64url string holding the sort key of the last item returned.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Invalid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page request whose limit is in bounds.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest, Invalid> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Invalid::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(PageRequest {
            limit,
            cursor: self.cursor.clone().filter(|c| !c.is_empty()),
        })
    }
}

/// The highest page number a numbered page (the dashboard's lists) accepts.
pub const MAX_PAGE_NUMBER: i64 = 100_000;

/// A numbered page's `page` (from 1; 1 when absent), refused outside 1 to
/// [`MAX_PAGE_NUMBER`].
pub fn page_number(page: Option<i64>) -> Result<i64, Invalid> {
    let page = page.unwrap_or(1);
    if !(1..=MAX_PAGE_NUMBER).contains(&page) {
        return Err(Invalid::new(
            "page",
            format!("must be between 1 and {MAX_PAGE_NUMBER}"),
        ));
    }
    Ok(page)
}

impl PageRequest {
    /// Cursor holding one id (lists ordered by a time-ordered id).
    pub fn after_id(&self) -> Result<Option<Uuid>, Invalid> {
        self.cursor
            .as_deref()
            .map(|c| {
                let raw = decode(c)?;
                Uuid::parse_str(&raw).map_err(|_| bad_cursor())
            })
            .transpose()
    }

    /// Cursor holding an instant and an id (lists ordered by time, then id).
    pub fn after_time_id(&self) -> Result<Option<(DateTime<Utc>, Uuid)>, Invalid> {
        self.cursor
            .as_deref()
            .map(|c| {
                let raw = decode(c)?;
                let (micros, id) = raw.split_once('|').ok_or_else(bad_cursor)?;
                let micros: i64 = micros.parse().map_err(|_| bad_cursor())?;
                let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad_cursor)?;
                let id = Uuid::parse_str(id).map_err(|_| bad_cursor())?;
                Ok((at, id))
            })
            .transpose()
    }

    /// Cursor holding a position and an id (lists in a chosen order).
    pub fn after_int_id(&self) -> Result<Option<(i32, Uuid)>, Invalid> {
        self.cursor
            .as_deref()
            .map(|c| {
                let raw = decode(c)?;
                let (n, id) = raw.split_once('#').ok_or_else(bad_cursor)?;
                let n: i32 = n.parse().map_err(|_| bad_cursor())?;
                let id = Uuid::parse_str(id).map_err(|_| bad_cursor())?;
                Ok((n, id))
            })
            .transpose()
    }

    /// The page out of `limit + 1` fetched rows: the extra row only says another page exists.
    pub fn page<T>(&self, mut rows: Vec<T>, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// How many rows to fetch.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

pub fn id_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

pub fn time_id_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

pub fn int_id_cursor(n: i32, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{n}#{id}"))
}

fn decode(c: &str) -> Result<String, Invalid> {
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
    String::from_utf8(bytes).map_err(|_| bad_cursor())
}

fn bad_cursor() -> Invalid {
    Invalid::new("cursor", "is not a cursor this list handed out")
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        let q = |limit| {
            PageQuery {
                limit: Some(limit),
                cursor: None,
            }
            .parse()
        };
        assert!(q(0).is_err());
        assert!(q(201).is_err());
        assert_eq!(q(200).unwrap().limit, 200);
        assert_eq!(PageQuery::default().parse().unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        let at = Utc::now();
        let req = |c: String| PageRequest {
            limit: 5,
            cursor: Some(c),
        };
        assert_eq!(req(id_cursor(id)).after_id().unwrap(), Some(id));
        let (t, i) = req(time_id_cursor(at, id))
            .after_time_id()
            .unwrap()
            .unwrap();
        assert_eq!((t.timestamp_micros(), i), (at.timestamp_micros(), id));
        assert!(req("!!".into()).after_id().is_err());
        assert!(req(id_cursor(id)).after_time_id().is_err());
    }

    #[test]
    fn extra_row_makes_a_next_cursor() {
        let req = PageRequest {
            limit: 2,
            cursor: None,
        };
        let page = req.page(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = req.page(vec![1, 2], |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
