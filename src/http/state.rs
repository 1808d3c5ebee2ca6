//! `AppState`: what every handler may reach, built once by `startup.rs`.

use std::sync::Arc;

use super::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::db::Pool;
use crate::links::Links;
use crate::metrics::Metrics;

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub links: Links,
    pub limiter: Arc<RateLimiter>,
}
