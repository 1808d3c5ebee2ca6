//! Leadership spread across an organisation: how many different people led, how much of the
//! leading the most active fifth did, and how soon newcomers took a role.

use serde::Deserialize;

/// `part / whole`, to three decimals; none when there is no whole.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

/// The share of sessions led by the most active 20 % of `members` (at least one person):
/// `led` holds how many sessions each person who led led. None when nobody led.
pub fn top20_share(led: &[u32], members: u64) -> Option<f64> {
    let total: u64 = led.iter().map(|&n| u64::from(n)).sum();
    if total == 0 {
        return None;
    }
    let top = ((members as f64 * 0.2).ceil() as usize).max(1);
    let mut sorted = led.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let most: u64 = sorted.iter().take(top).map(|&n| u64::from(n)).sum();
    ratio(most, total)
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
    fn the_top_fifth_and_plain_ratios() {
        // Ten members; two are the top fifth. Leads: 6, 2, 1, 1 → the top two led 8 of 10.
        assert_eq!(top20_share(&[1, 6, 1, 2], 10), Some(0.8));
        // Three members: the top fifth is one person.
        assert_eq!(top20_share(&[3, 1], 3), Some(0.75));
        assert_eq!(top20_share(&[], 5), None);
        assert_eq!(ratio(4, 10), Some(0.4));
        assert_eq!(ratio(1, 3), Some(0.333));
        assert_eq!(ratio(1, 0), None);
    }
}
