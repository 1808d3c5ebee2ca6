//! Fixed-window rate limits for public forms, kept in memory per process. Several `serve`
//! processes each enforce the limit, so the effective limit is per process; that is enough
//! to stop a bot hammering a signup form, which is what it is for.
//!
//! Every public form that mails someone (signup, personal link, sign-in link) has two limits:
//! per client IP, and per typed address *from that IP*. The second is keyed by both, so a
//! stranger who exhausts it for someone else's address stops only their own requests: the
//! owner, asking from their own network, still gets their link (`docs/links-and-tokens.md`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;

use crate::config::LimitSettings;
use crate::domain::EmailAddress;
use crate::error::AppError;

const HOUR: Duration = Duration::from_secs(3600);

/// The address a request came from, for rate limits.
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The limits of one public form (`form` names it in the keys: `signup`, `me`, `login`).
pub struct FormLimits<'a> {
    limiter: &'a RateLimiter,
    limits: &'a LimitSettings,
    form: &'static str,
    ip: String,
}

impl<'a> FormLimits<'a> {
    pub fn new(
        limiter: &'a RateLimiter,
        limits: &'a LimitSettings,
        form: &'static str,
        req: &HttpRequest,
    ) -> Self {
        Self {
            limiter,
            limits,
            form,
            ip: client_ip(req),
        }
    }

    /// Count one request from this client; 429 once it has sent too many this hour.
    pub fn check_client(&self) -> Result<(), AppError> {
        self.limiter
            .check(
                &format!("{}-ip:{}", self.form, self.ip),
                self.limits.signups_per_ip_per_hour,
                HOUR,
            )
            .map_err(AppError::TooManyRequests)
    }

    /// Count one request for `address` from this client; 429 once this client has asked for
    /// it too often this hour. Requests for the same address from elsewhere are not affected.
    pub fn check_address(&self, address: &EmailAddress) -> Result<(), AppError> {
        self.limiter
            .check(
                &format!(
                    "{}-address:{}:{}",
                    self.form,
                    address.as_str().to_lowercase(),
                    self.ip
                ),
                self.limits.signups_per_address_per_hour,
                HOUR,
            )
            .map_err(AppError::TooManyRequests)
    }
}

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
