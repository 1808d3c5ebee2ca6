//! Leadership spread across an organisation: how many different people led, how much of the
//! leading the most active fifth did (counted in the database: `db::leadership::organisation`),
//! and how soon newcomers took a role.

use serde::Deserialize;

/// `part / whole`, to three decimals; none when there is no whole.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

/// The window the figures cover, as the API and the dashboard take it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Days back from now (1–730, default 90).
    pub window_days: Option<i64>,
}

/// The window in days: 90 unless given, 1 to 730.
pub fn window(query: &WindowQuery) -> Result<i64, super::Invalid> {
    let days = query.window_days.unwrap_or(90);
    if !(1..=730).contains(&days) {
        return Err(super::Invalid::new(
            "window_days",
            "must be between 1 and 730 days",
        ));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ratios() {
        assert_eq!(ratio(4, 10), Some(0.4));
        assert_eq!(ratio(1, 3), Some(0.333));
        assert_eq!(ratio(1, 0), None);
    }
}
