//! Fixed-window rate limits for public forms, kept in memory per process. Several `serve`
//! processes each enforce the limit, so the effective limit is per process; that is enough
//! to stop a bot hammering a signup form, which is what it is for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count one attempt for `key`; `Err(seconds)` says how long until the next is allowed.
    pub fn check(&self, key: &str, limit: u32, window: Duration) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = window.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_then_says_how_long_to_wait() {
        let limiter = RateLimiter::new();
        let hour = Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(limiter.check("a", 3, hour).is_ok());
        }
        let wait = limiter.check("a", 3, hour).unwrap_err();
        assert!(wait > 3500 && wait <= 3600, "{wait}");
        assert!(limiter.check("b", 3, hour).is_ok(), "keys are independent");
        assert!(limiter.check("c", 1, Duration::from_millis(0)).is_ok());
        assert!(
            limiter.check("c", 1, Duration::from_millis(0)).is_ok(),
            "a new window starts"
        );
    }
}
